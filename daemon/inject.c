/* SPDX-License-Identifier: MIT */
/* PACKET_TX_RING, TPACKET_V2. PACKET_LOSS is on: without it a slot the
 * kernel refuses (TP_STATUS_WRONG_FORMAT) stops the ring for good while every
 * later send() returns 0 (DESIGN.md, Kernel notes). Lengths are still checked
 * here so that the caller learns about them.
 *
 * PACKET_QDISC_BYPASS stays off: with `ringtool bench` (1400-byte frames
 * inject → veth → capture, loaded 2-core VM, kernel 6.18) two series of
 * alternating 2 s runs (6 and 10 pairs) gave medians of 797k vs 929k
 * frames/s (off vs on), then 791k vs 673k: nothing beyond the noise, as DESIGN.md's
 * 0-7 % says. Bypassing also hides injected frames from taps (tcpdump on
 * the port) and skips tc; weft_inject_set_qdisc_bypass() is there to
 * measure again.
 *
 * PACKET_VNET_HDR stays off too. With it, a header whose hdr_len covers the
 * whole frame makes tpacket_snd copy the frame into a linear skb instead of
 * pointing page fragments at the ring, which veth then copies again
 * (skb_copy_ubufs, 2 % of the receiving weftd in `perf`). Measured
 * (2026-11-26): ringtool bench medians 1.20M vs 0.92M frames/s, but end to
 * end (overlay-bench.sh, 3 alternating pairs) TCP 1384 vs 1346 Mbit/s and
 * daemon CPU/GB 7.62 vs 7.96 s: within the noise. The price is real: with
 * a virtio header the kernel no longer checks frames against the device
 * MTU, and a frame the device then drops is retried at the ring's head on
 * every kick, so an MTU lowered by hand at run time would stall the ring
 * for good. Not worth it for per-frame injection; superframes (GSO through
 * the ring) need the header and must solve that first. */
#include "config.h"

#include "daemon/inject.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/ring.h"

struct weft_inject {
	struct weft_ring ring; /* ring.head: the next slot to fill */
	size_t max_len;
	bool pending;
	struct weft_inject_stats st;
};

/* Without PACKET_TX_HAS_OFF the kernel reads the frame right after the header. */
#define TX_DATA_OFFSET (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

int weft_inject_new(struct weft_inject **out, int ifindex, unsigned frames, size_t max_frame_len,
		     char err[static WEFT_ERRLEN])
{
	struct weft_inject *inj;
	struct sockaddr_ll sll;
	int one = 1, r;

	*out = NULL;
	r = weft_ring_check("inject", ifindex, frames, max_frame_len, err);
	if (r < 0)
		return r;
	inj = calloc(1, sizeof(*inj));
	if (!inj) {
		snprintf(err, WEFT_ERRLEN, "inject: out of memory");
		return -ENOMEM;
	}
	inj->max_len = max_frame_len;

	/* Protocol 0 and bound with protocol 0: this socket never receives. */
	r = weft_ring_open(&inj->ring, "inject", err);
	if (r < 0)
		goto fail;
	/* The kernel takes PACKET_LOSS only before the ring exists. */
	if (setsockopt(inj->ring.fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "inject: PACKET_LOSS: %s", strerror(-r));
		goto fail;
	}
	r = weft_ring_map(&inj->ring, "inject", PACKET_TX_RING, frames,
			  (unsigned)(TX_DATA_OFFSET + max_frame_len + 4), 0, err);
	if (r < 0)
		goto fail;

	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0;
	sll.sll_ifindex = ifindex;
	if (bind(inj->ring.fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "inject: bind to ifindex %d: %s", ifindex, strerror(-r));
		goto fail;
	}

	*out = inj;
	return 0;
fail:
	weft_inject_free(inj);
	return r;
}

void weft_inject_free(struct weft_inject *inj)
{
	if (!inj)
		return;
	weft_ring_close(&inj->ring);
	free(inj);
}

int weft_inject_fd(const struct weft_inject *inj)
{
	return inj->ring.fd;
}

int weft_inject_put(struct weft_inject *inj, const uint8_t *frame, size_t len)
{
	struct tpacket2_hdr *hdr;
	size_t max = inj->max_len;
	uint32_t status;

	/* The kernel lets a frame carrying an 802.1Q tag be 4 bytes longer. */
	if (len >= ETH_HLEN && frame[12] == 0x81 && frame[13] == 0x00)
		max += 4;
	if (len < ETH_HLEN || len > max) {
		inj->st.bad_length++;
		return -EMSGSIZE;
	}

	hdr = (struct tpacket2_hdr *)weft_ring_slot(&inj->ring, inj->ring.head);
	/* Acquire: the kernel is done with the slot's bytes before we overwrite them. */
	status = __atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE);
	if (status == TP_STATUS_WRONG_FORMAT) {
		/* Only without PACKET_LOSS; the slot is ours again either way. */
		inj->st.wrong_format++;
	} else if (status != TP_STATUS_AVAILABLE) {
		inj->st.ring_full++;
		return -ENOBUFS;
	}

	memcpy((uint8_t *)hdr + TX_DATA_OFFSET, frame, len);
	hdr->tp_len = (uint32_t)len;
	hdr->tp_snaplen = (uint32_t)len;
	/* Release: the frame is in place before the kernel may see the request. */
	__atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	weft_ring_advance(&inj->ring);
	inj->pending = true;
	inj->st.queued++;
	return 0;
}

int weft_inject_flush(struct weft_inject *inj)
{
	if (!inj->pending)
		return 0;
	inj->st.kicks++;
	/* MSG_DONTWAIT: hand the frames over, do not wait for their completion. */
	if (send(inj->ring.fd, NULL, 0, MSG_DONTWAIT) < 0) {
		int e = errno;

		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR) {
			/* The refused slot went back to SEND_REQUEST; keep pending. */
			inj->st.kick_busy++;
			return 0;
		}
		inj->st.kick_errors++;
		/* The kernel stopped at the failing slot; the next kick resumes there. */
		return -e;
	}
	inj->pending = false;
	return 0;
}

bool weft_inject_pending(const struct weft_inject *inj)
{
	return inj->pending;
}

void weft_inject_stats(const struct weft_inject *inj, struct weft_inject_stats *stats)
{
	*stats = inj->st;
}

int weft_inject_set_qdisc_bypass(struct weft_inject *inj, bool on)
{
	int v = on;

	if (setsockopt(inj->ring.fd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof(v)) < 0)
		return -errno;
	return 0;
}
