/* SPDX-License-Identifier: MIT */
/* PACKET_RX_RING, TPACKET_V2: V2 wakes the reader per frame yet still
 * batches under load (see DESIGN.md, Kernel notes); V3's block retire timer
 * would add milliseconds to every frame at low rates.
 *
 * PACKET_VNET_HDR puts the kernel's virtio-net header before each frame, so
 * weft's bridge port can keep TSO and checksum offload on: a container's
 * TCP hands over one 64 KiB superframe instead of 45 frames, and weftd
 * cuts it here (common/gso). Slots stay sized for ordinary frames (a ring
 * of 64 KiB slots would cost 4096 x 64 KiB); a frame longer than its slot
 * is flagged TP_STATUS_COPY and the kernel queues a clone of the whole skb
 * (PACKET_COPY_THRESH) on the socket, in ring order, which recvmsg() reads
 * here: a superframe to cut, or an ordinary frame too big for the overlay,
 * which the router answers or, IPv4 without DF, fragments whole.
 *
 * Handing a slot back is a write to the ring page the kernel wrote the frame
 * into, and on some VMs a process's first write to such a page costs 5-13
 * us (docs/design.md, "A ping's gap, found"; tests/bench/ring_touch). With
 * weft_capture_defer() the router hands a burst's slots back after its
 * sends, so on a machine with a core to spare that write no longer delays
 * the frame. */
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
#include <sys/socket.h>
#include <sys/uio.h>

#include "common/frame.h"
#include "common/gso.h"
#include "daemon/ring.h"

#define TCP_FLAG_SYN 0x02

/* A GSO superframe is at most 64 KiB of IP packet (veth's gso_max_size)
 * behind an Ethernet header and two tags. */
#define WHOLE_MAX (65536 + 14 + 8)
/* Clones of superframes waiting in the socket's queue, charged at their
 * truesize: some fifty 64 KiB ones. */
#define COPY_RCVBUF (8 << 20)
/* The look-ahead of weft_capture_next_early(): slots beyond the head, and
 * the bits of the map of flows that must keep their place. */
#define EARLY_SCAN_MAX	512
#define EARLY_FLOW_BITS 1024

struct weft_capture {
	struct weft_ring ring; /* ring.head: the next slot to look at */
	unsigned snap_len;
	struct weft_capture_stats totals;
	struct weft_drops own_drops, *drops;
	/* A superframe being handed out, one segment per next()/release(). */
	bool cutting;
	struct weft_capture_frame seg;
	struct weft_gso gso;
	bool leave_partial; /* segments keep their L4 checksum partial */
	uint8_t *whole; /* a superframe longer than its slot, read from the queue */
	/* weft_capture_defer(): slots released but not yet handed back, the
	 * oldest at ring.head - deferred. */
	bool defer;
	unsigned deferred;
	/* weft_capture_next_early(): the slots from the head to head +
	 * scan_len - 1 were looked at; those taken ahead of their turn are
	 * marked in @early_taken (one bit per slot) for next() to pass over,
	 * and the flows of those left in place in @blocked, so that no later
	 * frame of theirs overtakes them. Both start again once the head has
	 * caught up with the look-ahead. */
	unsigned scan_len;
	uint64_t *early_taken;
	uint64_t blocked[EARLY_FLOW_BITS / 64];
};

/* The kernel puts the frame at tp_mac = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) +
 * the virtio-net header - 14 for an Ethernet header: the slot must hold that
 * offset plus the frame. The header sits right before the frame. */
static unsigned rx_mac_offset(void)
{
	return TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + WEFT_GSO_HDR_LEN - ETH_HLEN;
}

int weft_capture_new(struct weft_capture **out, int ifindex, unsigned frames, size_t max_frame_len,
		     char err[static WEFT_ERRLEN])
{
	struct weft_capture *cap;
	struct packet_mreq mreq;
	struct sockaddr_ll sll;
	int one = 1, r;

	*out = NULL;
	r = weft_ring_check("capture", ifindex, frames, max_frame_len, err);
	if (r < 0)
		return r;
	cap = calloc(1, sizeof(*cap));
	if (!cap || !(cap->whole = malloc(WHOLE_MAX))) {
		free(cap);
		snprintf(err, WEFT_ERRLEN, "capture: out of memory");
		return -ENOMEM;
	}
	cap->drops = &cap->own_drops;

	/* Protocol 0: nothing is queued to the socket before the ring exists. */
	r = weft_ring_open(&cap->ring, "capture", err);
	if (r < 0)
		goto fail;
	/* The kernel takes PACKET_VNET_HDR only before the ring exists. */
	if (setsockopt(cap->ring.fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: PACKET_VNET_HDR: %s", strerror(-r));
		goto fail;
	}
	/* Room for a VLAN tag the kernel did not strip, too; the slack of each
	 * block goes to longer snaps. */
	r = weft_ring_map(&cap->ring, "capture", PACKET_RX_RING, frames,
			  rx_mac_offset() + (unsigned)max_frame_len + 4, WEFT_RING_SPREAD, err);
	if (r < 0)
		goto fail;
	cap->early_taken = calloc((cap->ring.frame_nr + 63) / 64, sizeof(uint64_t));
	if (!cap->early_taken) {
		r = -ENOMEM;
		snprintf(err, WEFT_ERRLEN, "capture: out of memory");
		goto fail;
	}
	cap->snap_len = cap->ring.frame_size - rx_mac_offset();
	/* A frame longer than its slot also goes, whole, to the socket's queue. */
	if (setsockopt(cap->ring.fd, SOL_PACKET, PACKET_COPY_THRESH, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: PACKET_COPY_THRESH: %s", strerror(-r));
		goto fail;
	}
	if (setsockopt(cap->ring.fd, SOL_SOCKET, SO_RCVBUFFORCE, &(int){COPY_RCVBUF}, sizeof(int)) <
		0 &&
	    setsockopt(cap->ring.fd, SOL_SOCKET, SO_RCVBUF, &(int){COPY_RCVBUF}, sizeof(int)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: SO_RCVBUF: %s", strerror(-r));
		goto fail;
	}
	/* Frames our own TX ring injects leave through this interface too. */
	if (setsockopt(cap->ring.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: PACKET_IGNORE_OUTGOING: %s", strerror(-r));
		goto fail;
	}

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(cap->ring.fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: bind to ifindex %d: %s", ifindex,
			 strerror(-r));
		goto fail;
	}

	/* The bridge sends us unicast for MACs it learned behind our port: not ours. */
	memset(&mreq, 0, sizeof(mreq));
	mreq.mr_ifindex = ifindex;
	mreq.mr_type = PACKET_MR_PROMISC;
	if (setsockopt(cap->ring.fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "capture: PACKET_MR_PROMISC on ifindex %d: %s", ifindex,
			 strerror(-r));
		goto fail;
	}

	*out = cap;
	return 0;
fail:
	weft_capture_free(cap);
	return r;
}

void weft_capture_free(struct weft_capture *cap)
{
	if (!cap)
		return;
	weft_ring_close(&cap->ring);
	free(cap->early_taken);
	free(cap->whole);
	free(cap);
}

void weft_capture_set_drops(struct weft_capture *cap, struct weft_drops *drops)
{
	cap->drops = drops;
}

void weft_capture_leave_partial(struct weft_capture *cap, bool on)
{
	cap->leave_partial = on;
}

int weft_capture_fd(const struct weft_capture *cap)
{
	return cap->ring.fd;
}

/* Slot @i back to the kernel. */
static void hand_back_slot(struct weft_capture *cap, unsigned i)
{
	struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)weft_ring_slot(&cap->ring, i);

	/* Release: our reads of the frame complete before the kernel may refill it. */
	__atomic_store_n(&hdr->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
}

static void release_slot(struct weft_capture *cap)
{
	if (cap->defer)
		cap->deferred++;
	else
		hand_back_slot(cap, cap->ring.head);
	weft_ring_advance(&cap->ring);
	if (cap->scan_len && --cap->scan_len == 0)
		memset(cap->blocked, 0, sizeof(cap->blocked));
}

static bool bit_test(const uint64_t *map, unsigned i)
{
	return map[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *map, unsigned i)
{
	map[i / 64] |= (uint64_t)1 << (i % 64);
}

static void bit_clear(uint64_t *map, unsigned i)
{
	map[i / 64] &= ~((uint64_t)1 << (i % 64));
}

/* The clone queued for a TP_STATUS_COPY slot, into cap->whole (its
 * virtio-net header into *@vh). The length read, or a negative errno
 * (nothing queued, or longer than WHOLE_MAX). */
static ssize_t read_copy(struct weft_capture *cap, struct weft_gso_hdr *vh)
{
	uint8_t raw[WEFT_GSO_HDR_LEN];
	struct iovec iov[2] = {{raw, sizeof(raw)}, {cap->whole, WHOLE_MAX}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;

	n = recvmsg(cap->ring.fd, &mh, MSG_DONTWAIT | MSG_TRUNC);
	if (n < 0)
		return -errno;
	if (n < (ssize_t)sizeof(raw))
		return -EBADMSG;
	n -= (ssize_t)sizeof(raw);
	if (n > WHOLE_MAX)
		return -EMSGSIZE;
	weft_gso_hdr_parse(vh, raw);
	return n;
}

/* @f (@vh its virtio-net header) is a superframe: hand out its first
 * segment. False when it cannot be cut (counted). */
static bool start_cutting(struct weft_capture *cap, struct weft_capture_frame *f, uint8_t *data,
			  const struct weft_gso_hdr *vh)
{
	uint8_t *seg;
	size_t len;

	if (f->truncated) {
		cap->drops->n[WEFT_DROP_SUPERFRAME_LOST]++;
		return false;
	}
	if (weft_gso_start(&cap->gso, data, f->len, vh) < 0) {
		cap->drops->n[WEFT_DROP_SUPERFRAME_BAD]++;
		return false;
	}
	/* Never a SYN: clamping its MSS patches a complete checksum. */
	f->csum_partial = cap->leave_partial &&
			  !(cap->gso.tcp && (data[cap->gso.l4 + 13] & TCP_FLAG_SYN));
	if (f->csum_partial)
		weft_gso_leave_partial(&cap->gso);
	if (!weft_gso_next(&cap->gso, &seg, &len)) {
		cap->drops->n[WEFT_DROP_SUPERFRAME_BAD]++;
		return false;
	}
	cap->seg = *f;
	cap->seg.data = seg;
	cap->seg.len = cap->seg.wire_len = (uint32_t)len;
	cap->cutting = true;
	cap->totals.superframes++;
	cap->totals.segments++;
	*f = cap->seg;
	return true;
}

/* Whether the kernel put the frame of slot @hdr where the slot holds it. */
static bool mac_offset_ok(const struct weft_capture *cap, const struct tpacket2_hdr *hdr)
{
	return hdr->tp_mac < cap->ring.frame_size && hdr->tp_mac >= rx_mac_offset();
}

/* The frame in the head slot: false when it was dropped (the slot is
 * released, look at the next). */
static bool take_slot(struct weft_capture *cap, uint8_t *s, uint32_t status,
		      struct weft_capture_frame *frame)
{
	struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)s;
	const struct sockaddr_ll *sll;
	struct weft_gso_hdr vh = {0};
	uint8_t *data;

	sll = (const struct sockaddr_ll *)(s + TPACKET_ALIGN(sizeof(struct tpacket2_hdr)));
	data = s + hdr->tp_mac;
	frame->len = hdr->tp_snaplen;
	frame->wire_len = hdr->tp_len;
	/* A bogus offset would be a kernel bug, but never hand out bytes past the slot. */
	if (!mac_offset_ok(cap, hdr))
		frame->len = 0;
	else if (frame->len > cap->ring.frame_size - hdr->tp_mac)
		frame->len = cap->ring.frame_size - hdr->tp_mac;
	else
		weft_gso_hdr_parse(&vh, data - WEFT_GSO_HDR_LEN);
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
	frame->csum_partial = false;

	if (status & TP_STATUS_COPY) {
		ssize_t n = read_copy(cap, &vh);

		/* The clone is the slot's frame, whole, unless the queue lost step. */
		if (n == (ssize_t)frame->wire_len) {
			data = cap->whole;
			frame->len = (uint32_t)n;
			frame->truncated = false;
		}
	}
	frame->data = data;
	if (vh.gso_type != WEFT_GSO_NONE)
		return start_cutting(cap, frame, data, &vh);
	if ((vh.flags & WEFT_GSO_F_NEEDS_CSUM) && !frame->truncated) {
		if (weft_gso_complete_csum(data, frame->len, &vh) < 0) {
			cap->drops->n[WEFT_DROP_SUPERFRAME_BAD]++;
			return false;
		}
		cap->totals.csum_left++;
	}
	return true;
}

bool weft_capture_next(struct weft_capture *cap, struct weft_capture_frame *frame)
{
	if (cap->cutting) {
		*frame = cap->seg;
		return true;
	}
	/* Dropped superframes release their slot: at most one pass of the ring,
	 * and never onto a slot released but not handed back. */
	for (unsigned i = 0; i < cap->ring.frame_nr && cap->deferred < cap->ring.frame_nr; i++) {
		uint8_t *s = weft_ring_slot(&cap->ring, cap->ring.head);
		struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)s;
		/* Acquire: the frame's bytes are read only after the kernel's status store. */
		uint32_t status = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);

		if (!(status & TP_STATUS_USER))
			return false;
		/* Taken slots lie within the look-ahead: without one, the map
		 * (another cache line for a lone frame) is not read. */
		if (cap->scan_len && bit_test(cap->early_taken, cap->ring.head))
			bit_clear(cap->early_taken, cap->ring.head);
		else if (take_slot(cap, s, status, frame))
			return true;
		release_slot(cap);
	}
	return false;
}

/* Whether the frame in slot @s must keep its place: a superframe, a frame
 * the slot truncated, or one whose flow has a frame left in place ahead
 * of it. Its flow is then blocked for the frames behind it. */
static bool keeps_place(struct weft_capture *cap, uint8_t *s, uint32_t status, bool head)
{
	struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)s;
	struct weft_gso_hdr vh;
	uint32_t len = hdr->tp_snaplen, flow;
	uint8_t *data;

	/* take_slot() judges a bogus offset; it stays in place here. */
	if (!mac_offset_ok(cap, hdr) || len > cap->ring.frame_size - hdr->tp_mac)
		return true;
	data = s + hdr->tp_mac;
	weft_gso_hdr_parse(&vh, data - WEFT_GSO_HDR_LEN);
	flow = weft_frame_flow_hash(data, len,
				    (status & TP_STATUS_VLAN_VALID) ? hdr->tp_vlan_tci : 0) %
	       EARLY_FLOW_BITS;
	if (head || (status & TP_STATUS_COPY) || len < hdr->tp_len ||
	    vh.gso_type != WEFT_GSO_NONE || bit_test(cap->blocked, flow)) {
		bit_set(cap->blocked, flow);
		return true;
	}
	return false;
}

bool weft_capture_next_early(struct weft_capture *cap, struct weft_capture_frame *frame)
{
	/* A look-ahead starts only behind a superframe being cut: otherwise
	 * ring order already serves every flow in turn. */
	if (!cap->cutting && cap->scan_len == 0)
		return false;
	/* Never into the slots released but not yet handed back. */
	while (cap->scan_len < EARLY_SCAN_MAX && cap->scan_len < cap->ring.frame_nr - cap->deferred) {
		unsigned i = (cap->ring.head + cap->scan_len) % cap->ring.frame_nr;
		uint8_t *s = weft_ring_slot(&cap->ring, i);
		struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)s;
		uint32_t status = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);

		if (!(status & TP_STATUS_USER))
			return false;
		cap->scan_len++;
		if (keeps_place(cap, s, status, cap->scan_len == 1))
			continue;
		bit_set(cap->early_taken, i);
		cap->totals.early++;
		/* A frame take_slot() drops is counted there, and done with. */
		if (take_slot(cap, s, status, frame))
			return true;
	}
	return false;
}

void weft_capture_defer(struct weft_capture *cap, bool on)
{
	weft_capture_hand_back(cap);
	cap->defer = on;
}

void weft_capture_hand_back(struct weft_capture *cap)
{
	unsigned i = (cap->ring.head + cap->ring.frame_nr - cap->deferred) % cap->ring.frame_nr;

	for (; cap->deferred; cap->deferred--) {
		hand_back_slot(cap, i);
		if (++i == cap->ring.frame_nr)
			i = 0;
	}
}

void weft_capture_release(struct weft_capture *cap)
{
	if (cap->cutting) {
		uint8_t *seg;
		size_t len;

		if (weft_gso_next(&cap->gso, &seg, &len)) {
			cap->seg.data = seg;
			cap->seg.len = cap->seg.wire_len = (uint32_t)len;
			cap->totals.segments++;
			return;
		}
		cap->cutting = false;
	}
	release_slot(cap);
}

int weft_capture_stats(struct weft_capture *cap, struct weft_capture_stats *stats)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (getsockopt(cap->ring.fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0)
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
		*frames = cap->ring.frame_nr;
	if (frame_size)
		*frame_size = cap->ring.frame_size;
	if (snap_len)
		*snap_len = cap->snap_len;
}
