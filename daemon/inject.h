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
	X(QUEUED, queued)             /* frames put into the ring */                               \
	X(RING_FULL, ring_full)       /* frames refused with -ENOBUFS (ring full) */               \
	X(BAD_LENGTH, bad_length)     /* frames refused with -EMSGSIZE */                          \
	X(WRONG_FORMAT, wrong_format) /* slots the kernel refused (TP_STATUS_WRONG_FORMAT) */      \
	X(KICKS, kicks)               /* send() calls */                                           \
	X(KICK_BUSY, kick_busy)       /* kicks that met EAGAIN/ENOBUFS (a later kick sends) */     \
	X(KICK_ERRORS, kick_errors)   /* kicks that failed otherwise */
/* clang-format on */
struct weft_inject_stats {
	WEFT_INJECT_STAT_LIST(WEFT_COUNTER_FIELD)
};

/* Open a transmit ring on interface @ifindex. The socket never receives.
 * @frames: slots in the ring (rounded up to fill whole blocks).
 * @max_frame_len: the longest frame accepted, Ethernet header included
 * (MTU + 14); a frame whose EtherType is 802.1Q may be 4 bytes longer, as
 * the kernel allows. Frames the device refuses anyway are skipped
 * (PACKET_LOSS), never left to stall the ring.
 * On success *out owns the socket and ring; free with weft_inject_free(). */
int weft_inject_new(struct weft_inject **out, int ifindex, unsigned frames, size_t max_frame_len,
		     char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Closes the socket (frames not yet kicked are lost), unmaps, frees; accepts NULL. */
void weft_inject_free(struct weft_inject *inj);

/* The socket; there is nothing to watch on it in normal operation. */
int weft_inject_fd(const struct weft_inject *inj);

/* Copy @frame into the next free slot and mark it for sending; it leaves
 * at the next weft_inject_flush(). Returns 0, -ENOBUFS when the ring is full
 * (drop the frame), or -EMSGSIZE when @len is shorter than an Ethernet
 * header or longer than the maximum. Never blocks, never allocates. */
int weft_inject_put(struct weft_inject *inj, const uint8_t *frame, size_t len) WEFT_WUR;

/* Kick the ring (one send()) if frames were put since the last kick. A
 * busy device (EAGAIN/ENOBUFS) is not an error: the kernel keeps the slots
 * and weft_inject_pending() stays true so that a later flush sends them.
 * Returns 0 or a negative errno for any other failure (counted). */
int weft_inject_flush(struct weft_inject *inj) WEFT_WUR;

/* Frames are waiting for a kick. */
bool weft_inject_pending(const struct weft_inject *inj);

void weft_inject_stats(const struct weft_inject *inj, struct weft_inject_stats *stats);

/* PACKET_QDISC_BYPASS on or off (off by default; see the report in inject.c). */
int weft_inject_set_qdisc_bypass(struct weft_inject *inj, bool on) WEFT_WUR;

#endif
