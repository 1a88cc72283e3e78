/* SPDX-License-Identifier: MIT */
/* The capture side of the data path: a PACKET_RX_RING (TPACKET_V2) on one interface. */
#ifndef WEFT_CAPTURE_H
#define WEFT_CAPTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"
#include "daemon/counters.h"

struct weft_capture;

/* One frame in the ring, handed out by weft_capture_next(). */
struct weft_capture_frame {
	/* Borrowed: points into the ring (or the capture's own buffer), valid
	 * until weft_capture_release(). */
	uint8_t *data;
	uint32_t len;	   /* bytes at data (the kernel's tp_snaplen) */
	uint32_t wire_len; /* the frame's length on the wire, tag stripped (tp_len) */
	/* len < wire_len: the frame did not fit the slot. Drop and count it. */
	bool truncated;
	/* The kernel stripped an 802.1Q/802.1ad tag into the ring header: the
	 * frame at data has no tag; put vlan_tpid/vlan_tci back after the MAC
	 * addresses to rebuild the frame as it was sent. */
	bool vlan_valid;
	uint16_t vlan_tci;
	uint16_t vlan_tpid; /* 0x8100 when the kernel did not report the TPID */
	uint8_t pkttype;    /* PACKET_HOST, PACKET_BROADCAST, PACKET_OTHERHOST, ... */
	/* A segment cut with its TCP or UDP checksum left partial (see
	 * weft_capture_leave_partial()): the field holds the pseudo-header sum.
	 * It can be completed in place (weft_csum_partial_complete()). */
	bool csum_partial;
};

/* What the kernel handed over, accumulated since open: its own counters
 * (PACKET_STATISTICS, which it resets on every read) and the superframes it
 * passed whole. */
/* clang-format off */
#define WEFT_CAPTURE_STAT_LIST(X)                                                                  \
	X(PACKETS, packets)         /* frames the socket saw, including dropped ones */            \
	X(DROPS, drops)             /* frames lost because the ring was full */                    \
	X(SUPERFRAMES, superframes) /* GSO frames handed over whole, cut into segments by weftd */ \
	X(SEGMENTS, segments)       /* the segments cut from them */                               \
	X(CSUM_LEFT, csum_left)     /* frames whose checksum weftd completed (NEEDS_CSUM) */      \
	X(EARLY, early)             /* frames taken ahead of superframes queued before them */
/* clang-format on */
struct weft_capture_stats {
	WEFT_CAPTURE_STAT_LIST(WEFT_COUNTER_FIELD)
};

/* Open a capture ring on interface @ifindex: a packet socket in promiscuous
 * mode that ignores frames sent from this host (PACKET_IGNORE_OUTGOING).
 * @frames: slots in the ring (rounded up to fill whole blocks).
 * @max_frame_len: the longest frame to capture whole, Ethernet header
 * included, VLAN tag excluded (MTU + 14); 4 more bytes fit so that a frame
 * whose tag stayed inline is not truncated either.
 * Each frame comes with its virtio-net header (PACKET_VNET_HDR): a GSO
 * superframe, whatever its length, is handed out as the segments the
 * kernel would have cut it into (common/gso), and a checksum the kernel
 * left for a device is completed, so every frame out of the ring is
 * whole and valid (but see weft_capture_leave_partial()). A superframe
 * longer than a slot arrives through the socket's queue
 * (PACKET_COPY_THRESH), which holds up to 8 MiB of them.
 * On success *out owns the socket and ring; free with weft_capture_free(). */
int weft_capture_new(struct weft_capture **out, int ifindex, unsigned frames, size_t max_frame_len,
		     char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Closes the socket, unmaps the ring, frees; accepts NULL. */
void weft_capture_free(struct weft_capture *cap);

/* Where superframes that cannot be cut are counted (WEFT_DROP_SUPERFRAME_*);
 * borrowed for the capture's lifetime. Until set they are counted nowhere
 * else but still dropped. */
void weft_capture_set_drops(struct weft_capture *cap, struct weft_drops *drops);

/* When @on, the segments of superframes (but a SYN) are handed out with
 * their TCP or UDP checksum left partial (csum_partial), for a peer that
 * completes it itself: a cut then never reads the payload. Off by default:
 * every frame out of the ring carries a complete checksum. */
void weft_capture_leave_partial(struct weft_capture *cap, bool on);

/* The socket to watch for EV_READ (level-triggered: readable while a frame
 * is ready). */
int weft_capture_fd(const struct weft_capture *cap);

/* The next ready frame, without consuming it: false when the ring is empty.
 * Each true return must be followed by exactly one weft_capture_release()
 * before the next call. A segment of a superframe is built in place over
 * the previous one's tail: it is valid only until that release. Never
 * blocks, never allocates; a superframe longer than a slot costs one
 * recvmsg(). */
bool weft_capture_next(struct weft_capture *cap, struct weft_capture_frame *frame);

/* A frame that may go ahead of its turn, or false. While a superframe is
 * being cut, the ring behind it is looked at (up to 512 slots, each once):
 * a frame that is no superframe itself and whose flow
 * (weft_frame_flow_hash()) has no frame waiting ahead of it is handed out
 * now, so that a ping or a lone ACK does not wait behind megabytes of other
 * flows' superframes. weft_capture_next() later passes over its slot. The
 * frame is valid until the head reaches its slot, and it is not released:
 * call this between a release and the next weft_capture_next(). */
bool weft_capture_next_early(struct weft_capture *cap, struct weft_capture_frame *frame);
/* Hand the frame returned by weft_capture_next() back to the kernel (or,
 * deferred, mark it done: the caller is through with its bytes). */
void weft_capture_release(struct weft_capture *cap);

/* When @on, released slots go back to the kernel only at
 * weft_capture_hand_back(), so that writing their status words, which on
 * some VMs costs microseconds per ring page the kernel has written since,
 * comes after the caller's sends instead of before them (see capture.c).
 * Slots not yet handed back are no room for the kernel: hand back after
 * every burst. Off by default; turning it off hands back what waits. */
void weft_capture_defer(struct weft_capture *cap, bool on);
void weft_capture_hand_back(struct weft_capture *cap);

/* Read the kernel's counters (PACKET_STATISTICS) and add them to the totals. */
int weft_capture_stats(struct weft_capture *cap, struct weft_capture_stats *stats) WEFT_WUR;

/* The ring geometry chosen by weft_capture_new() (for logs and tests). */
void weft_capture_geometry(const struct weft_capture *cap, unsigned *frames, unsigned *frame_size,
			   unsigned *snap_len);

#endif
