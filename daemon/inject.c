/* SPDX-License-Identifier: MIT */
/* PACKET_TX_RING, TPACKET_V2, two of them. The frame ring takes every frame
 * as it is; the superframe ring (PACKET_VNET_HDR, WEFT_INJECT_SUPERFRAME_SLOTS
 * slots of 64 KiB: 2 MiB) takes the superframes that common/coalesce makes
 * of consecutive segments of one TCP flow. One ring of 64 KiB slots for
 * everything would cost tx_ring_frames x 64 KiB (256 MiB at the default
 * 4096). A superframe is built in place in the head slot of its ring and
 * queued when it ends; a "superframe" of one segment is copied to the
 * frame ring instead, so the superframe ring only ever carries GSO frames.
 * Whenever a frame is queued on one ring while the other holds frames not
 * yet kicked, that other ring is kicked first: frames leave in the order
 * they were put.
 *
 * A refused slot never stalls a ring. PACKET_LOSS skips slots the kernel
 * finds malformed. But a frame the device drops at the kick (veth drops a
 * frame above its peer's MTU, which with a virtio-net header the kernel no
 * longer checks, or one that an MTU lowered by hand made too long) makes
 * tpacket_snd() put the slot back to SEND_REQUEST, leave its head there and
 * return -ENOBUFS: every later kick retries that slot first, forever. So
 * after such a kick the slot at the kernel's head (the first one still
 * SEND_REQUEST) is rewritten with a length the kernel refuses as malformed
 * (0), which PACKET_LOSS then skips, and the ring is kicked again. Lengths
 * and virtio-net fields are checked before a slot is filled, so the kernel
 * has no other reason to refuse one.
 *
 * Both rings carry a virtio-net header. The frame ring's asks for no offload
 * and its hdr_len covers the whole frame, so tpacket_snd copies the frame
 * into the skb's own buffer. Without it the kernel copies only the link
 * header and points page fragments at the ring, and a ring's fragments are
 * zero-copy to the kernel: veth, forwarding them to the bridge, copies them
 * again into a page it allocates for each frame however short
 * (skb_copy_ubufs), which is what the 64-byte rate and a lone ping paid.
 * ringtool bench (1400-byte frames inject -> veth -> capture): 0.48-0.50M
 * against 0.62-0.64M frames/s (2026-12-03, 2-core VM, kernel 6.18). With a
 * virtio-net header the kernel no longer checks a frame against the device
 * MTU: put() checks it against max_len, and a frame the device still drops
 * (an MTU lowered by hand) is a refused slot, below. The superframe ring
 * sets hdr_len to the headers alone, so the payload goes as page fragments
 * (at most 16 pages: a slot is 64 KiB) that veth copies into pages of its
 * own, instead of into one 64 KiB allocation of contiguous memory.
 *
 * A frame put alone, with nothing else queued by the time of the flush,
 * leaves without the ring: it is held in a buffer of our own and sent with
 * send() on a third packet socket, which has no ring (a socket with a TX
 * ring sends only from it). It costs the same one system call as a kick,
 * and it spares the lone frame the ring: on a VM the first write of a
 * userspace process to a ring page the kernel has used since (the slot,
 * then the kernel's status word back in it) can cost 5-13 us, paid once
 * per page and round of a ring of thousands of pages, so nearly every frame
 * at low rates paid it and a batch pays it once per two frames
 * (docs/design.md, "A ping's gap, found"). A second frame put before the
 * flush sends the held one through the rings first, in order.
 *
 * PACKET_QDISC_BYPASS stays off: with `ringtool bench` (1400-byte frames
 * inject → veth → capture, loaded 2-core VM, kernel 6.18) two series of
 * alternating 2 s runs (6 and 10 pairs) gave medians of 797k vs 929k
 * frames/s (off vs on), then 791k vs 673k: nothing beyond the noise, as
 * DESIGN.md's 0-7 % says. Bypassing also hides injected frames from taps
 * (tcpdump on the port) and skips tc; weft_inject_set_qdisc_bypass() is
 * there to measure again. */
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
#include <unistd.h>

#include "common/coalesce.h"
#include "common/gso.h"
#include "daemon/log.h"
#include "daemon/ring.h"

/* Without PACKET_TX_HAS_OFF the kernel reads the frame right after the header. */
#define TX_DATA_OFFSET (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))
/* A superframe slot: 16 pages, so the payload never needs more page
 * fragments than an skb holds (MAX_SKB_FRAGS, 17). */
#define SUPER_SLOT  65536u
#define SUPER_FRAME (SUPER_SLOT - TX_DATA_OFFSET - WEFT_GSO_HDR_LEN)
/* Superframes queued and not yet freed by the kernel are charged to the
 * socket: room for every slot. */
#define SUPER_SNDBUF (WEFT_INJECT_SUPERFRAME_SLOTS * SUPER_SLOT * 2)
/* Refused frames skipped per flush; the next flush goes on. */
#define MAX_SKIPS 16

/* One TX ring and what inject knows of it. */
struct tx {
	struct weft_ring ring; /* ring.head: the next slot to fill */
	unsigned kernel_head;  /* the oldest slot queued and not seen sent */
	bool pending;	       /* slots queued since the last kick */
};

struct weft_inject {
	struct tx plain;
	struct tx super; /* ring.fd < 0 while superframes are off */
	/* The lone frame (see the top): a socket without a ring, the frame
	 * behind room for its virtio-net header, held until the flush. */
	int lone_fd;
	uint8_t *lone;
	size_t lone_len; /* the frame's; 0: none held */
	bool lone_partial;
	int ifindex;
	size_t max_len;
	bool open; /* a superframe is being built in super's head slot */
	bool open_partial; /* its first segment's checksum is partial */
	bool kick_when_full;
	struct weft_coalesce co;
	struct weft_inject_stats st;
};

static int open_tx(struct tx *t, int ifindex, bool super, unsigned frames, unsigned slot,
		   char err[static WEFT_ERRLEN])
{
	const char *who = super ? "inject (superframes)" : "inject";
	struct sockaddr_ll sll;
	int one = 1, r;

	memset(t, 0, sizeof(*t));
	/* Protocol 0 and bound with protocol 0: this socket never receives. */
	r = weft_ring_open(&t->ring, who, err);
	if (r < 0)
		return r;
	/* The kernel takes PACKET_LOSS and PACKET_VNET_HDR only before the ring exists. */
	if (setsockopt(t->ring.fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: PACKET_LOSS: %s", who, strerror(-r));
		return r;
	}
	if (setsockopt(t->ring.fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: PACKET_VNET_HDR: %s", who, strerror(-r));
		return r;
	}
	if (super &&
	    setsockopt(t->ring.fd, SOL_SOCKET, SO_SNDBUFFORCE, &(int){SUPER_SNDBUF}, sizeof(int)) < 0)
		(void)setsockopt(t->ring.fd, SOL_SOCKET, SO_SNDBUF, &(int){SUPER_SNDBUF},
				 sizeof(int));
	r = weft_ring_map(&t->ring, who, PACKET_TX_RING, frames, slot, 0, err);
	if (r < 0)
		return r;
	memset(&sll, 0, sizeof(sll));
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = 0;
	sll.sll_ifindex = ifindex;
	if (bind(t->ring.fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: bind to ifindex %d: %s", who, ifindex,
			 strerror(-r));
		return r;
	}
	return 0;
}

/* The lone frame's socket: bound like the rings' (protocol 0: it never
 * receives), with a virtio-net header as the frame ring has, so the kernel
 * builds the same skb (hdr_len over the frame: copied whole). */
static int open_lone(struct weft_inject *inj, char err[static WEFT_ERRLEN])
{
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_ifindex = inj->ifindex};
	int one = 1, r;

	inj->lone = malloc(WEFT_GSO_HDR_LEN + inj->max_len + 4);
	if (!inj->lone) {
		snprintf(err, WEFT_ERRLEN, "inject: out of memory");
		return -ENOMEM;
	}
	inj->lone_fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (inj->lone_fd < 0 ||
	    setsockopt(inj->lone_fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
	    bind(inj->lone_fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "inject: the socket for lone frames: %s", strerror(-r));
		return r;
	}
	return 0;
}

int weft_inject_new(struct weft_inject **out, int ifindex, unsigned frames, size_t max_frame_len,
		    char err[static WEFT_ERRLEN])
{
	struct weft_inject *inj;
	int r;

	*out = NULL;
	r = weft_ring_check("inject", ifindex, frames, max_frame_len, err);
	if (r < 0)
		return r;
	inj = calloc(1, sizeof(*inj));
	if (!inj) {
		snprintf(err, WEFT_ERRLEN, "inject: out of memory");
		return -ENOMEM;
	}
	inj->ifindex = ifindex;
	inj->max_len = max_frame_len;
	inj->super.ring.fd = -1;
	inj->lone_fd = -1;
	r = open_tx(&inj->plain, ifindex, false, frames,
		    (unsigned)(TX_DATA_OFFSET + WEFT_GSO_HDR_LEN + max_frame_len + 4), err);
	if (r == 0)
		r = open_lone(inj, err);
	if (r < 0) {
		weft_inject_free(inj);
		return r;
	}
	*out = inj;
	return 0;
}

int weft_inject_superframes(struct weft_inject *inj, bool on, char err[static WEFT_ERRLEN])
{
	int r;

	if (on == (inj->super.ring.fd >= 0))
		return 0;
	if (!on) {
		/* Whatever is open or queued goes out first. */
		r = weft_inject_flush(inj);
		weft_ring_close(&inj->super.ring);
		inj->super.ring.fd = -1;
		return r < 0 ? weft_errorf(err, r, "inject: last superframes") : 0;
	}
	r = open_tx(&inj->super, inj->ifindex, true, WEFT_INJECT_SUPERFRAME_SLOTS, SUPER_SLOT, err);
	if (r < 0) {
		weft_ring_close(&inj->super.ring);
		inj->super.ring.fd = -1;
	}
	return r;
}

void weft_inject_free(struct weft_inject *inj)
{
	if (!inj)
		return;
	weft_ring_close(&inj->plain.ring);
	if (inj->super.ring.fd >= 0)
		weft_ring_close(&inj->super.ring);
	if (inj->lone_fd >= 0)
		close(inj->lone_fd);
	free(inj->lone);
	free(inj);
}

int weft_inject_fd(const struct weft_inject *inj)
{
	return inj->plain.ring.fd;
}

static struct tpacket2_hdr *head_slot(const struct tx *t)
{
	return (struct tpacket2_hdr *)weft_ring_slot(&t->ring, t->ring.head);
}

/* The head slot is free (acquire: the kernel is done with its bytes). */
static bool slot_free(struct weft_inject *inj, const struct tx *t)
{
	uint32_t status = __atomic_load_n(&head_slot(t)->tp_status, __ATOMIC_ACQUIRE);

	if (status == TP_STATUS_WRONG_FORMAT) {
		/* Only without PACKET_LOSS; the slot is ours again either way. */
		inj->st.wrong_format++;
		return true;
	}
	return status == TP_STATUS_AVAILABLE;
}

/* Moves kernel_head past the slots the kernel has taken. */
static void follow_kernel(struct tx *t)
{
	while (t->kernel_head != t->ring.head) {
		struct tpacket2_hdr *h =
		    (struct tpacket2_hdr *)weft_ring_slot(&t->ring, t->kernel_head);

		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST)
			break;
		if (++t->kernel_head == t->ring.frame_nr)
			t->kernel_head = 0;
	}
}

/* One send() on @t, skipping frames the device refuses (see the top). */
static int kick(struct weft_inject *inj, struct tx *t)
{
	for (unsigned skips = 0;; skips++) {
		struct tpacket2_hdr *h;
		int e;

		inj->st.kicks++;
		/* MSG_DONTWAIT: hand the frames over, do not wait for their completion. */
		if (send(t->ring.fd, NULL, 0, MSG_DONTWAIT) >= 0) {
			t->pending = false;
			follow_kernel(t);
			return 0;
		}
		e = errno;
		follow_kernel(t);
		if (e == ENOBUFS && skips < MAX_SKIPS && t->kernel_head != t->ring.head) {
			/* The device dropped the frame at the kernel's head, which
			 * the kernel would retry first on every kick: make it one
			 * that PACKET_LOSS skips, and kick again. */
			h = (struct tpacket2_hdr *)weft_ring_slot(&t->ring, t->kernel_head);
			h->tp_len = 0;
			h->tp_snaplen = 0;
			inj->st.refused++;
			continue;
		}
		if (e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS || e == EINTR) {
			/* The slots wait for a later kick; keep pending. */
			inj->st.kick_busy++;
			return 0;
		}
		inj->st.kick_errors++;
		/* The kernel stopped at the failing slot; the next kick resumes there. */
		return -e;
	}
}

/* Before queueing on @t: whatever the other ring holds unkicked leaves first. */
static void order_before(struct weft_inject *inj, struct tx *t)
{
	struct tx *other = t == &inj->plain ? &inj->super : &inj->plain;

	if (other->pending && kick(inj, other) < 0)
		return; /* counted; its frames wait for the next flush */
}

/* Marks the head slot of @t, filled with @len bytes, for sending. */
static void queue_slot(struct weft_inject *inj, struct tx *t, uint32_t len)
{
	struct tpacket2_hdr *h = head_slot(t);

	h->tp_len = len;
	h->tp_snaplen = len;
	/* Release: the frame is in place before the kernel may see the request. */
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	weft_ring_advance(&t->ring);
	t->pending = true;
	inj->st.queued++;
}

/* The head slot of @t is free, after a kick if that is allowed and helps. */
static bool room_in(struct weft_inject *inj, struct tx *t)
{
	if (slot_free(inj, t))
		return true;
	if (!inj->kick_when_full || !t->pending)
		return false;
	/* Only one ring ever holds frames not yet kicked: the order stays. */
	(void)kick(inj, t);
	return slot_free(inj, t);
}

/* @partial: the copy's checksum is completed in the slot (where it is was
 * checked before weft_inject_put_partial()). */
/* The frame of @len bytes behind @at, as the frame ring and the lone socket
 * send it: a virtio-net header at @at that asks for no offload, its hdr_len
 * over the whole frame (the kernel copies it into the skb; see the top),
 * and the frame's checksum completed when @partial. */
static void finish_plain(struct weft_inject *inj, uint8_t *at, size_t len, bool partial)
{
	const struct weft_gso_hdr h = {
	    .gso_type = WEFT_GSO_NONE,
	    .hdr_len = (uint16_t)(len > UINT16_MAX ? UINT16_MAX : len),
	};

	weft_gso_hdr_put(at, &h);
	if (partial) {
		WEFT_BUG_ON(weft_csum_partial_complete(at + WEFT_GSO_HDR_LEN, len) < 0);
		inj->st.csum_completed++;
	}
}

static int put_plain(struct weft_inject *inj, const uint8_t *frame, size_t len, bool partial)
{
	uint8_t *slot;

	if (!room_in(inj, &inj->plain)) {
		inj->st.ring_full++;
		return -ENOBUFS;
	}
	order_before(inj, &inj->plain);
	slot = (uint8_t *)head_slot(&inj->plain) + TX_DATA_OFFSET;
	memcpy(slot + WEFT_GSO_HDR_LEN, frame, len);
	finish_plain(inj, slot, len, partial);
	queue_slot(inj, &inj->plain, (uint32_t)(WEFT_GSO_HDR_LEN + len));
	return 0;
}

/* What the kernel must accept of a superframe slot, checked before it is
 * queued: a frame within the slot, TCP GSO with a segment size, headers
 * within the frame and the checksum field within the headers. */
static bool super_ok(const struct weft_gso_hdr *h, size_t len)
{
	return len <= SUPER_FRAME && h->flags == WEFT_GSO_F_NEEDS_CSUM &&
	       (h->gso_type == WEFT_GSO_TCPV4 || h->gso_type == WEFT_GSO_TCPV6) &&
	       h->gso_size > 0 && h->hdr_len >= ETH_HLEN && h->hdr_len < len &&
	       (size_t)h->csum_start + h->csum_offset + 2 <= h->hdr_len;
}

/* A superframe that failed super_ok(), cut back into its segments. */
static void recut(struct weft_inject *inj, uint8_t *frame, size_t len, const struct weft_gso_hdr *h)
{
	struct weft_gso g;
	uint8_t *seg;
	size_t n;

	inj->st.recut++;
	if (weft_gso_start(&g, frame, len, h) < 0)
		return;
	while (weft_gso_next(&g, &seg, &n))
		(void)put_plain(inj, seg, n, false); /* a full ring is counted there */
}

/* Ends the open superframe: queued on the superframe ring, or, of one
 * segment, copied to the frame ring. */
static void close_super(struct weft_inject *inj)
{
	uint8_t *slot = (uint8_t *)head_slot(&inj->super);
	uint8_t *frame = slot + TX_DATA_OFFSET + WEFT_GSO_HDR_LEN;
	struct weft_gso_hdr h;
	size_t len;

	if (!inj->open)
		return;
	inj->open = false;
	len = weft_coalesce_finish(&inj->co, &h);
	if (inj->co.segs < 2) {
		(void)put_plain(inj, frame, len, inj->open_partial);
		return;
	}
	if (!super_ok(&h, len)) {
		recut(inj, frame, len, &h);
		return;
	}
	order_before(inj, &inj->super);
	weft_gso_hdr_put(slot + TX_DATA_OFFSET, &h);
	queue_slot(inj, &inj->super, (uint32_t)(WEFT_GSO_HDR_LEN + len));
	inj->st.superframes++;
	inj->st.coalesced += inj->co.segs;
}

/* A frame of max_len or less (checked) into the rings. */
static int put_rings(struct weft_inject *inj, const uint8_t *frame, size_t len, bool partial)
{
	struct weft_coalesce_seg s;

	if (inj->super.ring.fd < 0)
		return put_plain(inj, frame, len, partial);
	/* A partial checksum is not checked: the superframe's replaces it. */
	if (!(partial ? weft_coalesce_parse_partial(&s, frame, len)
		      : weft_coalesce_parse(&s, frame, len))) {
		close_super(inj);
		return put_plain(inj, frame, len, partial);
	}
	if (inj->open && weft_coalesce_append(&inj->co, frame, &s)) {
		if (inj->co.closed)
			close_super(inj);
		return 0;
	}
	close_super(inj);
	if (len > SUPER_FRAME || !room_in(inj, &inj->super))
		return put_plain(inj, frame, len, partial);
	weft_coalesce_start(&inj->co,
			    (uint8_t *)head_slot(&inj->super) + TX_DATA_OFFSET + WEFT_GSO_HDR_LEN,
			    SUPER_FRAME, frame, len, &s);
	inj->open = true;
	inj->open_partial = partial;
	if (inj->co.closed)
		close_super(inj);
	return 0;
}

/* The held lone frame goes into the rings after all: another follows. A
 * full ring is counted there. */
static void spill_lone(struct weft_inject *inj)
{
	size_t len = inj->lone_len;

	inj->lone_len = 0;
	(void)put_rings(inj, inj->lone + WEFT_GSO_HDR_LEN, len, inj->lone_partial);
}

/* The held lone frame leaves with one send(); nothing else is queued (a
 * put after it spilled it into the rings). A frame the device refuses is
 * skipped and counted, as a refused slot is. */
static int send_lone(struct weft_inject *inj)
{
	size_t len = inj->lone_len;
	int e;

	/* Completed now, so that a spill below takes it as it is. */
	finish_plain(inj, inj->lone, len, inj->lone_partial);
	inj->lone_partial = false;
	inj->st.kicks++;
	if (send(inj->lone_fd, inj->lone, WEFT_GSO_HDR_LEN + len, MSG_DONTWAIT) >= 0) {
		inj->lone_len = 0;
		inj->st.queued++;
		inj->st.alone++;
		return 0;
	}
	e = errno;
	if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR) {
		/* The socket's buffer is full: the ring takes it (and counts it). */
		inj->st.kick_busy++;
		spill_lone(inj);
		return inj->plain.pending ? kick(inj, &inj->plain) : 0;
	}
	inj->st.queued++;
	inj->lone_len = 0;
	if (e == ENOBUFS) {
		inj->st.refused++;
		return 0;
	}
	inj->st.kick_errors++;
	return -e;
}

static int put(struct weft_inject *inj, const uint8_t *frame, size_t len, bool partial)
{
	size_t max = inj->max_len;

	/* The kernel lets a frame carrying an 802.1Q tag be 4 bytes longer. */
	if (len >= ETH_HLEN && frame[12] == 0x81 && frame[13] == 0x00)
		max += 4;
	if (len < ETH_HLEN || len > max) {
		inj->st.bad_length++;
		return -EMSGSIZE;
	}
	/* Alone so far: held (see the top). */
	if (!weft_inject_pending(inj)) {
		memcpy(inj->lone + WEFT_GSO_HDR_LEN, frame, len);
		inj->lone_len = len;
		inj->lone_partial = partial;
		return 0;
	}
	if (inj->lone_len)
		spill_lone(inj);
	return put_rings(inj, frame, len, partial);
}

int weft_inject_put(struct weft_inject *inj, const uint8_t *frame, size_t len)
{
	return put(inj, frame, len, false);
}

int weft_inject_put_partial(struct weft_inject *inj, const uint8_t *frame, size_t len)
{
	return put(inj, frame, len, true);
}

int weft_inject_flush(struct weft_inject *inj)
{
	int r = 0, r2 = 0;

	if (inj->lone_len)
		return send_lone(inj);
	close_super(inj);
	if (inj->plain.pending)
		r = kick(inj, &inj->plain);
	if (inj->super.pending)
		r2 = kick(inj, &inj->super);
	return r < 0 ? r : r2;
}

void weft_inject_kick_when_full(struct weft_inject *inj, bool on)
{
	inj->kick_when_full = on;
}

bool weft_inject_pending(const struct weft_inject *inj)
{
	return inj->plain.pending || inj->super.pending || inj->open || inj->lone_len;
}

void weft_inject_stats(const struct weft_inject *inj, struct weft_inject_stats *stats)
{
	*stats = inj->st;
}

int weft_inject_set_qdisc_bypass(struct weft_inject *inj, bool on)
{
	int v = on;

	if (setsockopt(inj->plain.ring.fd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof(v)) < 0)
		return -errno;
	if (inj->super.ring.fd >= 0 &&
	    setsockopt(inj->super.ring.fd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof(v)) < 0)
		return -errno;
	if (setsockopt(inj->lone_fd, SOL_PACKET, PACKET_QDISC_BYPASS, &v, sizeof(v)) < 0)
		return -errno;
	return 0;
}
