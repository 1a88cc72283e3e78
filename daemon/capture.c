/* SPDX-License-Identifier: MIT */
/* PACKET_RX_RING, TPACKET_V2: V2 wakes the reader per frame yet still
 * batches under load (see DESIGN.md, Kernel notes); V3's block retire timer
 * would add milliseconds to every frame at low rates. */
#include "config.h"

#include "daemon/capture.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

struct weft_capture {
	int fd;
	uint8_t *ring;
	size_t ring_len;
	unsigned block_size;
	unsigned frame_size;
	unsigned frames_per_block;
	unsigned frame_nr;
	unsigned head; /* the next slot to look at */
	unsigned snap_len;
	struct weft_capture_stats totals;
};

/* Largest block we ask for: the kernel allocates each block as one
 * physically contiguous chunk (or falls back to vmalloc); stay modest. */
#define MAX_BLOCK_SIZE (1U << 17)

/* The kernel puts the frame at tp_mac = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14
 * for an Ethernet header: the slot must hold that offset plus the frame. */
static unsigned rx_mac_offset(void)
{
	return TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - ETH_HLEN;
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

static uint8_t *slot(const struct weft_capture *cap, unsigned i)
{
	return cap->ring + (size_t)(i / cap->frames_per_block) * cap->block_size +
	       (size_t)(i % cap->frames_per_block) * cap->frame_size;
}

int weft_capture_open(struct weft_capture **out, int ifindex, unsigned frames, size_t max_frame_len,
		      char err[static WEFT_ERRLEN])
{
	struct weft_capture *cap;
	struct tpacket_req req;
	struct packet_mreq mreq;
	struct sockaddr_ll sll;
	unsigned need, blocks;
	int one = 1, version = TPACKET_V2, r;

	*out = NULL;
	if (ifindex <= 0 || frames == 0 || max_frame_len < ETH_HLEN || max_frame_len > 65536) {
		snprintf(err, WEFT_ERRLEN,
			 "capture: bad ring parameters (ifindex %d, %u frames, %zu bytes)", ifindex,
			 frames, max_frame_len);
		return -EINVAL;
	}
	cap = calloc(1, sizeof(*cap));
	if (!cap) {
		snprintf(err, WEFT_ERRLEN, "capture: out of memory");
		return -ENOMEM;
	}
	cap->ring = MAP_FAILED;

	/* Protocol 0: nothing is queued to the socket before the ring exists. */
	cap->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (cap->fd < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: socket(AF_PACKET): %s", strerror(-r));
		goto fail;
	}
	if (setsockopt(cap->fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: PACKET_VERSION TPACKET_V2: %s", strerror(-r));
		goto fail;
	}

	/* Room for a VLAN tag the kernel did not strip, too. */
	need = rx_mac_offset() + (unsigned)max_frame_len + 4;
	cap->frame_size = TPACKET_ALIGN(need);
	cap->block_size = pick_block_size(cap->frame_size);
	cap->frames_per_block = cap->block_size / cap->frame_size;
	/* Spread the slack at the end of each block over its frames: longer snaps, same memory. */
	cap->frame_size = (cap->block_size / cap->frames_per_block) & ~(TPACKET_ALIGNMENT - 1U);
	blocks = (frames + cap->frames_per_block - 1) / cap->frames_per_block;
	cap->frame_nr = blocks * cap->frames_per_block;
	cap->snap_len = cap->frame_size - rx_mac_offset();

	memset(&req, 0, sizeof(req));
	req.tp_block_size = cap->block_size;
	req.tp_block_nr = blocks;
	req.tp_frame_size = cap->frame_size;
	req.tp_frame_nr = cap->frame_nr;
	if (setsockopt(cap->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN,
			 "capture: PACKET_RX_RING (%u blocks of %u, %u frames of %u): %s", blocks,
			 cap->block_size, cap->frame_nr, cap->frame_size, strerror(-r));
		goto fail;
	}
	cap->ring_len = (size_t)blocks * cap->block_size;
	cap->ring = mmap(NULL, cap->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 cap->fd, 0);
	if (cap->ring == MAP_FAILED) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: mmap of %zu bytes: %s", cap->ring_len,
			 strerror(-r));
		goto fail;
	}
	/* Frames our own TX ring injects leave through this interface too. */
	if (setsockopt(cap->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: PACKET_IGNORE_OUTGOING: %s", strerror(-r));
		goto fail;
	}

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(cap->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: bind to ifindex %d: %s", ifindex,
			 strerror(-r));
		goto fail;
	}

	/* The bridge sends us unicast for MACs it learned behind our port: not ours. */
	memset(&mreq, 0, sizeof(mreq));
	mreq.mr_ifindex = ifindex;
	mreq.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(cap->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: PACKET_MR_PROMISC on ifindex %d: %s", ifindex,
			 strerror(-r));
		goto fail;
	}

	*out = cap;
	return 0;
fail:
	weft_capture_close(cap);
	return r;
}

void weft_capture_close(struct weft_capture *cap)
{
	if (!cap)
		return;
	if (cap->ring != MAP_FAILED && cap->ring)
		munmap(cap->ring, cap->ring_len);
	if (cap->fd >= 0)
		close(cap->fd);
	free(cap);
}

int weft_capture_fd(const struct weft_capture *cap)
{
	return cap->fd;
}

bool weft_capture_next(struct weft_capture *cap, struct weft_capture_frame *frame)
{
	uint8_t *s = slot(cap, cap->head);
	struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)s;
	const struct sockaddr_ll *sll;
	uint32_t status;

	/* Acquire: the frame's bytes are read only after the kernel's status store. */
	status = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);
	if (!(status & TP_STATUS_USER))
		return false;

	sll = (const struct sockaddr_ll *)(s + TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
	frame->data = s + hdr->tp_mac;
	frame->len = hdr->tp_snaplen;
	frame->wire_len = hdr->tp_len;
	/* A bogus offset would be a kernel bug, but never hand out bytes past the slot. */
	if (hdr->tp_mac >= cap->frame_size)
		frame->len = 0;
	else if (frame->len > cap->frame_size - hdr->tp_mac)
		frame->len = cap->frame_size - hdr->tp_mac;
	frame->truncated = frame->len < frame->wire_len;
	frame->vlan_valid = (status & TP_STATUS_VLAN_VALID) != 0;
	frame->vlan_tci = frame->vlan_valid ? hdr->tp_vlan_tci : 0;
	if (!frame->vlan_valid)
		frame->vlan_tpid = 0;
	else if (status & TP_STATUS_VLAN_TPID_VALID)
		frame->vlan_tpid = hdr->tp_vlan_tpid;
	else
		frame->vlan_tpid = ETH_P_8021Q;
	frame->pkttype = sll->sll_pkttype;
	return true;
}

void weft_capture_release(struct weft_capture *cap)
{
	struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)slot(cap, cap->head);

	/* Release: our reads of the frame complete before the kernel may refill it. */
	__atomic_store_n(&hdr->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	if (++cap->head == cap->frame_nr)
		cap->head = 0;
}

int weft_capture_stats(struct weft_capture *cap, struct weft_capture_stats *stats)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(cap->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
		return -errno;
	/* The kernel already counts drops in tp_packets. */
	cap->totals.packets += st.tp_packets;
	cap->totals.drops += st.tp_drops;
	*stats = cap->totals;
	return 0;
}

void weft_capture_geometry(const struct weft_capture *cap, unsigned *frames, unsigned *frame_size,
			   unsigned *snap_len)
{
	if (frames)
		*frames = cap->frame_nr;
	if (frame_size)
		*frame_size = cap->frame_size;
	if (snap_len)
		*snap_len = cap->snap_len;
}
