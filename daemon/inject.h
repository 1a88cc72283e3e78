/* SPDX-License-Identifier: MIT */
/* The inject side of the data path: a PACKET_TX_RING (TPACKET_V2) on one interface. */
#ifndef WEFT_INJECT_H
#define WEFT_INJECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"
#include "daemon/counters.h"

struct weft_inject;

/* clang-format off */
#define WEFT_INJECT_STAT_LIST(X)                                                                   \
	X(QUEUED, queued)             /* frames put into the rings (a superframe counts once) */   \
	X(ALONE, alone)               /* of them, lone frames sent without the ring */            \
	X(RING_FULL, ring_full)       /* frames refused with -ENOBUFS (ring full) */               \
	X(BAD_LENGTH, bad_length)     /* frames refused with -EMSGSIZE */                          \
	X(WRONG_FORMAT, wrong_format) /* slots the kernel refused (TP_STATUS_WRONG_FORMAT) */      \
	X(REFUSED, refused)           /* frames the device dropped at a kick, skipped (no stall) */ \
	X(SUPERFRAMES, superframes)   /* superframes injected, two received segments or more */   \
	X(COALESCED, coalesced)       /* received segments merged into them */                     \
	X(RECUT, recut)               /* superframes that failed the checks, injected as frames */ \
	X(CSUM_COMPLETED, csum_completed) /* partial segments injected alone, checksum completed */ \
	X(KICKS, kicks)               /* send() calls */                                           \
	X(KICK_BUSY, kick_busy)       /* kicks that met EAGAIN (a later kick sends) */             \
	X(KICK_ERRORS, kick_errors)   /* kicks that failed otherwise */
/* clang-format on */
struct weft_inject_stats {
	WEFT_INJECT_STAT_LIST(WEFT_COUNTER_FIELD)
};

/* Open a transmit ring on interface @ifindex. The socket never receives.
 * @frames: slots in the ring (rounded up to fill whole blocks).
 * @max_frame_len: the longest frame accepted, Ethernet header included
 * (MTU + 14); a frame whose EtherType is 802.1Q may be 4 bytes longer, as
 * the kernel allows. Frames the device refuses anyway are skipped, never
 * left to stall the ring: the kernel's own checks (PACKET_LOSS), and a
 * frame the device drops when the ring is kicked (say the MTU was lowered
 * by hand) is taken out of the ring's head and the kick goes on.
 * On success *out owns the socket and ring; free with weft_inject_free(). */
int weft_inject_new(struct weft_inject **out, int ifindex, unsigned frames, size_t max_frame_len,
		    char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Superframes out, when @on: consecutive in-order segments of one TCP flow
 * put one after the other are merged (common/coalesce) into one superframe,
 * injected through a second ring of WEFT_INJECT_SUPERFRAME_SLOTS 64 KiB
 * slots with a virtio-net header (PACKET_VNET_HDR), so that the bridge and
 * the container's TCP carry 64 KiB at a time. A superframe ends at a gap, a
 * flag, another flow or frame, and at the latest at weft_inject_flush():
 * nothing waits for a later batch, and frames leave in the order they were
 * put. Off by default; 0 or a negative errno with @err filled. */
int weft_inject_superframes(struct weft_inject *inj, bool on,
			    char err[static WEFT_ERRLEN]) WEFT_WUR;
#define WEFT_INJECT_SUPERFRAME_SLOTS 32

/* Closes the sockets (frames not yet sent are lost), unmaps, frees; accepts NULL. */
void weft_inject_free(struct weft_inject *inj);

/* The socket; there is nothing to watch on it in normal operation. */
int weft_inject_fd(const struct weft_inject *inj);

/* When @on, a put that finds the ring full kicks it first (one send(),
 * which hands every queued frame to the device and so frees their slots)
 * and tries once more, instead of refusing at once: a receive batch may
 * carry more frames than the ring has slots (64 GRO messages of 64
 * datagrams of 64-byte frames). Off by default: a put never makes a
 * syscall then. */
void weft_inject_kick_when_full(struct weft_inject *inj, bool on);

/* Copy @frame into the next free slot and mark it for sending, or merge it
 * into the open superframe; it leaves at the next weft_inject_flush(). A
 * frame put while nothing else waits is held aside instead, and leaves
 * alone without the ring if nothing follows it before the flush (see
 * inject.c).
 * Returns 0, -ENOBUFS when the ring is full (drop the frame), or -EMSGSIZE
 * when @len is shorter than an Ethernet header or longer than the maximum.
 * Never blocks, never allocates; may kick the other ring first, so that
 * frames leave in order. */
int weft_inject_put(struct weft_inject *inj, const uint8_t *frame, size_t len) WEFT_WUR;

/* The same for a frame whose TCP or UDP checksum holds only the pseudo-header
 * sum (a peer's FRAME_PARTIAL, docs/protocol.md 7.1), which the caller found
 * with weft_csum_partial_locate() (the router, before it learns the source):
 * merged into a superframe, whose checksum the kernel finishes, or else
 * completed in its slot. */
int weft_inject_put_partial(struct weft_inject *inj, const uint8_t *frame, size_t len) WEFT_WUR;

/* Sends a lone frame held aside (one send(), no ring), or ends the open
 * superframe and kicks the rings (one send() each) that have frames put
 * since their last kick. A busy socket (EAGAIN) is not an
 * error: the kernel keeps the slots and weft_inject_pending() stays true
 * so that a later flush sends them. A frame the device drops is skipped
 * and the kick repeated (refused). Returns 0 or a negative errno for any
 * other failure (counted). */
int weft_inject_flush(struct weft_inject *inj) WEFT_WUR;

/* Frames are waiting for a kick (or an open superframe for its end). */
bool weft_inject_pending(const struct weft_inject *inj);

void weft_inject_stats(const struct weft_inject *inj, struct weft_inject_stats *stats);

/* PACKET_QDISC_BYPASS on or off (off by default; see the report in inject.c). */
int weft_inject_set_qdisc_bypass(struct weft_inject *inj, bool on) WEFT_WUR;

#endif
