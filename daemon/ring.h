/* SPDX-License-Identifier: MIT */
/* A TPACKET_V2 ring on an AF_PACKET socket: the plumbing capture (RX) and
 * inject (TX) share. Binding, options and the slot protocol stay with them. */
#ifndef WEFT_RING_H
#define WEFT_RING_H

#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

/* Embedded in its owner. Between weft_ring_open() and weft_ring_close()
 * @fd is the socket and @map the ring (MAP_FAILED until weft_ring_map()). */
struct weft_ring {
	int fd;
	uint8_t *map;
	size_t map_len;
	unsigned block_size;
	unsigned frame_size;
	unsigned frames_per_block;
	unsigned frame_nr;
	unsigned head; /* the owner's next slot */
};

/* Spread the slack at the end of each block over its frames (longer slots,
 * same memory). */
#define WEFT_RING_SPREAD (1U << 0)

/* The parameters both rings accept: -EINVAL with a reason prefixed by @who
 * ("capture", "inject") otherwise. */
int weft_ring_check(const char *who, int ifindex, unsigned frames, size_t max_frame_len,
		    char err[static WEFT_ERRLEN]) WEFT_WUR;

/* A non-blocking AF_PACKET socket with protocol 0 (nothing is queued to it
 * before it is bound) switched to TPACKET_V2. Options that must precede the
 * ring (PACKET_LOSS) go between this and weft_ring_map(). On failure the
 * ring is closed already; weft_ring_close() is still safe. */
int weft_ring_open(struct weft_ring *ring, const char *who, char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Set up @opt (PACKET_RX_RING or PACKET_TX_RING) with at least @frames
 * slots of at least @slot_need bytes each (rounded up to whole blocks of at
 * most 128 KiB unless a slot needs more), and map it. @flags: WEFT_RING_SPREAD. */
int weft_ring_map(struct weft_ring *ring, const char *who, int opt, unsigned frames,
		  unsigned slot_need, unsigned flags, char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Unmaps and closes; safe on a ring that weft_ring_open() failed or never
 * mapped, and twice. */
void weft_ring_close(struct weft_ring *ring);

/* Slot @i (< frame_nr): its tpacket2_hdr. */
static inline uint8_t *weft_ring_slot(const struct weft_ring *ring, unsigned i)
{
	return ring->map + (size_t)(i / ring->frames_per_block) * ring->block_size +
	       (size_t)(i % ring->frames_per_block) * ring->frame_size;
}

/* Move @head to the next slot, wrapping. */
static inline void weft_ring_advance(struct weft_ring *ring)
{
	if (++ring->head == ring->frame_nr)
		ring->head = 0;
}

#endif
