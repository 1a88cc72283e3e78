/* SPDX-License-Identifier: MIT */
/* TPACKET_V2 for both directions: see capture.c for why not V3. */
#include "config.h"

#include "daemon/ring.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* Largest block we ask for: the kernel allocates each block as one
 * physically contiguous chunk (or falls back to vmalloc); stay modest. */
#define MAX_BLOCK_SIZE (1U << 17)

int weft_ring_check(const char *who, int ifindex, unsigned frames, size_t max_frame_len,
		    char err[static WEFT_ERRLEN])
{
	if (ifindex <= 0 || frames == 0 || max_frame_len < ETH_HLEN || max_frame_len > 65536) {
		snprintf(err, WEFT_ERRLEN,
			 "%s: bad ring parameters (ifindex %d, %u frames, %zu bytes)", who, ifindex,
			 frames, max_frame_len);
		return -EINVAL;
	}
	return 0;
}

int weft_ring_open(struct weft_ring *ring, const char *who, char err[static WEFT_ERRLEN])
{
	int version = TPACKET_V2, r;

	memset(ring, 0, sizeof(*ring));
	ring->map = MAP_FAILED;
	ring->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ring->fd < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: socket(AF_PACKET): %s", who, strerror(-r));
		return r;
	}
	if (setsockopt(ring->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: PACKET_VERSION TPACKET_V2: %s", who, strerror(-r));
		weft_ring_close(ring);
		return r;
	}
	return 0;
}

/* Pick a block size (pages, a power of two: the kernel allocates blocks by
 * page order) that wastes little of itself on slack after the last frame. */
static unsigned pick_block_size(unsigned frame_size)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned block = page > 0 ? (unsigned)page : 4096;

	while (block < frame_size)
		block <<= 1;
	while (block < MAX_BLOCK_SIZE && (block % frame_size) * 8 > block)
		block <<= 1;
	return block;
}

int weft_ring_map(struct weft_ring *ring, const char *who, int opt, unsigned frames,
		  unsigned slot_need, unsigned flags, char err[static WEFT_ERRLEN])
{
	struct tpacket_req req;
	unsigned blocks;
	int r;

	ring->frame_size = TPACKET_ALIGN(slot_need);
	ring->block_size = pick_block_size(ring->frame_size);
	ring->frames_per_block = ring->block_size / ring->frame_size;
	if (flags & WEFT_RING_SPREAD)
		ring->frame_size =
		    (ring->block_size / ring->frames_per_block) & ~(TPACKET_ALIGNMENT - 1U);
	blocks = (frames + ring->frames_per_block - 1) / ring->frames_per_block;
	ring->frame_nr = blocks * ring->frames_per_block;
	ring->head = 0;

	memset(&req, 0, sizeof(req));
	req.tp_block_size = ring->block_size;
	req.tp_block_nr = blocks;
	req.tp_frame_size = ring->frame_size;
	req.tp_frame_nr = ring->frame_nr;
	if (setsockopt(ring->fd, SOL_PACKET, opt, &req, sizeof(req)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: %s (%u blocks of %u, %u frames of %u): %s", who,
			 opt == PACKET_RX_RING ? "PACKET_RX_RING" : "PACKET_TX_RING", blocks,
			 ring->block_size, ring->frame_nr, ring->frame_size, strerror(-r));
		return r;
	}
	ring->map_len = (size_t)blocks * ring->block_size;
	ring->map = mmap(NULL, ring->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 ring->fd, 0);
	if (ring->map == MAP_FAILED) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: mmap of %zu bytes: %s", who, ring->map_len,
			 strerror(-r));
		return r;
	}
	return 0;
}

void weft_ring_close(struct weft_ring *ring)
{
	if (ring->map != MAP_FAILED && ring->map)
		munmap(ring->map, ring->map_len);
	ring->map = MAP_FAILED;
	if (ring->fd >= 0)
		close(ring->fd);
	ring->fd = -1;
}
