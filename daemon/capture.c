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
#include <sys/socket.h>

#include "daemon/ring.h"

struct weft_capture {
	struct weft_ring ring; /* ring.head: the next slot to look at */
	unsigned snap_len;
	struct weft_capture_stats totals;
};

/* The kernel puts the frame at tp_mac = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - 14
 * for an Ethernet header: the slot must hold that offset plus the frame. */
static unsigned rx_mac_offset(void)
{
	return TPACKET_ALIGN(TPACKET2_HDRLEN + 16) - ETH_HLEN;
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
	if (!cap) {
		snprintf(err, WEFT_ERRLEN, "capture: out of memory");
		return -ENOMEM;
	}

	/* Protocol 0: nothing is queued to the socket before the ring exists. */
	r = weft_ring_open(&cap->ring, "capture", err);
	if (r < 0)
		goto fail;
	/* Room for a VLAN tag the kernel did not strip, too; the slack of each
	 * block goes to longer snaps. */
	r = weft_ring_map(&cap->ring, "capture", PACKET_RX_RING, frames,
			  rx_mac_offset() + (unsigned)max_frame_len + 4, WEFT_RING_SPREAD, err);
	if (r < 0)
		goto fail;
	cap->snap_len = cap->ring.frame_size - rx_mac_offset();
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
	free(cap);
}

int weft_capture_fd(const struct weft_capture *cap)
{
	return cap->ring.fd;
}

bool weft_capture_next(struct weft_capture *cap, struct weft_capture_frame *frame)
{
	uint8_t *s = weft_ring_slot(&cap->ring, cap->ring.head);
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
	if (hdr->tp_mac >= cap->ring.frame_size)
		frame->len = 0;
	else if (frame->len > cap->ring.frame_size - hdr->tp_mac)
		frame->len = cap->ring.frame_size - hdr->tp_mac;
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
	struct tpacket2_hdr *hdr =
	    (struct tpacket2_hdr *)weft_ring_slot(&cap->ring, cap->ring.head);

	/* Release: our reads of the frame complete before the kernel may refill it. */
	__atomic_store_n(&hdr->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	weft_ring_advance(&cap->ring);
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
