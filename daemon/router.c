/* SPDX-License-Identifier: MIT */
/* The hot path. Egress: drain the capture ring, pick a peer per frame by
 * destination MAC (or every member, for a flood), and put each frame as a
 * record into that peer's open datagram: a FRAME to a peer with a session,
 * a RELAY to the relay of one without (daemon/egress.c seals and sends them,
 * one batched send per peer). A frame larger than its path carries is
 * answered (ICMP, ICMPv6) or fragmented instead (common/toobig.c).
 * A member that no session reaches gets a handshake started instead
 * (weft_handshakes_want, at most one a second).
 * Ingress: recvmmsg a batch, open each DATA datagram in place, hand its
 * records out: frames are filtered, learned and copied into the TX ring (one
 * kick per batch), relayed frames delivered or passed on, gossip and probes
 * to their modules. Nothing here allocates.
 * A frame from a peer is dropped (counted against that peer) when it could
 * not have been sent on one segment with our bridge (common/frame.c's
 * ingress filter), or when its source MAC is new and the peer has used up
 * its share of the MAC table ([network] max_macs_per_peer, mac_learn_rate):
 * a frame whose source cannot be learned would be answered by a flood, so
 * it is not injected either. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/frame.h"
#include "common/gso.h"
#include "common/handshake.h"
#include "common/index.h"
#include "common/mactable.h"
#include "common/pmtu.h"
#include "common/relay.h"
#include "common/session.h"
#include "common/toobig.h"
#include "common/wire.h"
#include "daemon/capture.h"
#include "daemon/clock.h"
#include "daemon/egress.h"
#include "daemon/handshakes.h"
#include "daemon/inject.h"
#include "daemon/log.h"
#include "daemon/mesh.h"
#include "daemon/paths.h"
#include "daemon/peers.h"
#include "daemon/router.h"
#include "daemon/udp.h"

/* Per wakeup, so that one busy direction cannot starve the other. */
#define CAPTURE_BUDGET	 1024
#define UDP_BATCH_BUDGET 16
/* What the frames one receive wakeup injected call forth (see on_udp); more
 * waits for the capture's own wakeup, one loop round later. */
#define CAPTURE_REPLY_BUDGET 64
/* Frames that overtake superframes (weft_capture_next_early()): looked for
 * every so many frames of a burst, so many at most each time. */
#define CAPTURE_EARLY_EVERY  64
#define CAPTURE_EARLY_BUDGET 64
/* New MACs refused: one warning this often at most, whichever the peer. */
#define REFUSED_LOG_INTERVAL_MS 10000

_Static_assert(WEFT_CONFIG_MAX_PEERS <= WEFT_MACTABLE_MAX_PEERS, "peer slots are MAC table ids");
_Static_assert(WEFT_CONFIG_MAX_MACS == WEFT_MACTABLE_DEFAULT_CAPACITY, "max_macs_per_peer's range");

/* A frame on its way out: captured, or a fragment weftd made of one. The
 * data is untagged; a tag, if any, goes back in when the frame is copied. */
struct frame_view {
	const uint8_t *data;
	size_t len;
	bool truncated; /* the capture slot held only the first len bytes */
	bool vlan;
	uint16_t tpid, tci;
	/* Not NULL: data, writable, a segment whose TCP or UDP checksum holds
	 * only the pseudo-header sum. It goes so as a FRAME_PARTIAL to a peer
	 * that takes them directly; anything else completes it first. */
	uint8_t *partial;
};

/* The MAC table's answer about one MAC (and peer), kept for the rest of a
 * wakeup. A superframe's segments (45 for 64 KiB of TCP) share their MACs,
 * and while a wakeup runs the table changes only through the router's own
 * calls (ageing and removing peers run from timers and the control socket),
 * so the answer for the previous frame still holds for the next: asking
 * again cost weftd 1-2 % of its CPU (a keyed SipHash and a bucket walk per
 * segment, twice on the capture side). Cleared when its wakeup starts and
 * whenever the table may have changed under it. */
struct mac_memo {
	bool valid;
	uint8_t mac[6];
	uint32_t peer;
};

struct weft_router {
	struct weft_router_deps d;
	ev_io capture_io;
	ev_io udp_io;
	struct weft_router_counters count;
	/* Of this capture burst: the smallest path of a flood, found at the
	 * burst's first flood (0: not yet), so that a burst without one does
	 * not walk every peer. */
	size_t flood_limit;
	/* Capture wakeup: the source last removed from the table (peer unused),
	 * the destination last looked up (peer: the answer). Receive wakeup:
	 * the source last learned from that peer. */
	struct mac_memo home, dst, learned;
	struct weft_log_ratelimit refused_said;
	uint8_t answer[WEFT_TOOBIG_ANSWER_MAX + WEFT_FRAME_VLAN_LEN];
	/* One fragment as it is built: max_frame_len bytes, the largest frame
	 * any path carries (a fragment is untagged, its tag out of band). */
	uint8_t *fragment;
};

static bool memo_holds(const struct mac_memo *m, const uint8_t *mac)
{
	return m->valid && !memcmp(m->mac, mac, sizeof(m->mac));
}

static void memo_set(struct mac_memo *m, const uint8_t *mac, uint32_t peer)
{
	m->valid = true;
	memcpy(m->mac, mac, sizeof(m->mac));
	m->peer = peer;
}

static size_t out_len(const struct frame_view *f)
{
	return f->len + (f->vlan ? WEFT_FRAME_VLAN_LEN : 0);
}

/* The frame as it was sent, tag and all, at @body (out_len bytes). */
static void put_frame(uint8_t *body, const struct frame_view *f)
{
	if (f->vlan)
		/* out_len counts the tag: it always fits. */
		WEFT_BUG_ON(weft_frame_copy_with_vlan(body, out_len(f), f->data, f->len, f->tpid,
						      f->tci) < 0);
	else
		memcpy(body, f->data, f->len);
}

/* The largest frame toward @p, directly or through @via. */
static size_t limit_for(const struct weft_router *r, const struct weft_peer *p,
			const struct weft_peer *via)
{
	return weft_path_frame_max_via(p, via, r->d.max_frame_len);
}

static void clamp(struct weft_router *r, uint8_t *frame, const struct frame_view *f, size_t limit)
{
	if (r->d.clamp_mss && !f->vlan &&
	    weft_toobig_clamp_mss(frame, f->len, (unsigned)(limit - WEFT_FRAME_HDR_LEN)))
		r->count.mss_clamped++;
}

/* The checksum of a partial @f completed in place (once, whoever gets the
 * frame): false when it cannot be, which a segment cut by common/gso never
 * is (dropped, counted). */
static bool complete(struct weft_router *r, struct frame_view *f)
{
	if (!f->partial)
		return true;
	if (weft_csum_partial_complete(f->partial, f->len) < 0) {
		r->d.drops->n[WEFT_DROP_SUPERFRAME_BAD]++;
		return false;
	}
	f->partial = NULL;
	r->count.partial_completed++;
	return true;
}

static void send_direct(struct weft_router *r, struct weft_peer *p, const struct frame_view *f,
			uint64_t now)
{
	uint8_t kind = f->partial ? WEFT_WIRE_REC_FRAME_PARTIAL : WEFT_WIRE_REC_FRAME;
	uint8_t *body;

	if (weft_egress_reserve(r->d.egress, p, kind, out_len(f), &body, now) < 0)
		return; /* counted by the egress */
	put_frame(body, f);
	/* Only SYNs are clamped, and a SYN is never left partial (capture). */
	clamp(r, body, f, limit_for(r, p, NULL));
	p->count.tx_frames++;
	r->count.frames_sent++;
	if (f->partial)
		r->count.partial_sent++;
}

static void send_relayed(struct weft_router *r, struct weft_peer *p, struct weft_peer *via,
			 const struct frame_view *f, uint64_t now)
{
	uint8_t *body;

	if (weft_egress_reserve(r->d.egress, via, WEFT_WIRE_REC_RELAY,
				WEFT_RELAY_HDR_LEN + out_len(f), &body, now) < 0)
		return;
	weft_relay_put_header(body, p->remote_static, weft_mesh_own_id(r->d.mesh),
			      WEFT_RELAY_HOPS_INIT);
	put_frame(body + WEFT_RELAY_HDR_LEN, f);
	clamp(r, body + WEFT_RELAY_HDR_LEN, f, limit_for(r, p, via));
	p->count.tx_frames++;
	r->count.frames_sent++;
	r->count.relay_sent++;
}

/* Directly or through @via (weft_peer_route()). */
static void send_to(struct weft_router *r, struct weft_peer *p, struct weft_peer *via,
		    const struct frame_view *f, uint64_t now)
{
	if (via)
		send_relayed(r, p, via, f, now);
	else
		send_direct(r, p, f, now);
}

/* The smallest path among the members a flood goes to (SIZE_MAX: none). */
static size_t flood_limit(const struct weft_router *r, uint64_t now)
{
	size_t limit = SIZE_MAX;
	struct weft_peer *p, *via;

	weft_peers_foreach(r->d.peers, p)
	{
		size_t l = weft_peer_route(p, now, &via) ? limit_for(r, p, via) : SIZE_MAX;

		if (l < limit)
			limit = l;
	}
	return limit;
}

static void route_frame(struct weft_router *r, struct frame_view *f, uint64_t now);

struct fragment_ctx {
	struct weft_router *r;
	const struct frame_view *f;
	uint64_t now;
};

static void emit_fragment(void *ctx, const uint8_t *frag, size_t len)
{
	struct fragment_ctx *c = ctx;
	struct frame_view fv = *c->f;

	fv.data = frag;
	fv.len = len;
	route_frame(c->r, &fv, c->now);
}

static void inject_answer(struct weft_router *r, const struct frame_view *f, size_t len)
{
	uint8_t tagged[sizeof(r->answer)];
	const uint8_t *frame = r->answer;
	int ret;

	if (f->vlan) {
		if (weft_frame_copy_with_vlan(tagged, len + WEFT_FRAME_VLAN_LEN, r->answer, len,
					      f->tpid, f->tci) < 0)
			return;
		frame = tagged;
		len += WEFT_FRAME_VLAN_LEN;
	}
	ret = weft_inject_put(r->d.inject, frame, len);
	if (ret == -ENOBUFS)
		r->d.drops->n[WEFT_DROP_INJECT_FULL]++;
	else if (ret < 0)
		r->d.drops->n[WEFT_DROP_INJECT_BAD]++;
}

/* @f is larger than @limit, the largest frame its path carries: answer its
 * sender, fragment it, or drop it. */
static void too_big(struct weft_router *r, struct frame_view *f, size_t limit, uint64_t now)
{
	unsigned mtu = (unsigned)(limit - WEFT_FRAME_HDR_LEN - (f->vlan ? WEFT_FRAME_VLAN_LEN : 0));
	struct fragment_ctx ctx = {.r = r, .f = f, .now = now};
	enum weft_toobig_action action = weft_toobig_classify(f->data, f->len);
	size_t len;

	/* Quoted in an answer or cut into fragments: complete either way. */
	if (!complete(r, f))
		return;
	switch (action) {
	case WEFT_TOOBIG_ICMP4:
	case WEFT_TOOBIG_ICMP6:
		len = weft_toobig_answer(r->answer, f->data, f->len, mtu);
		if (!len)
			break;
		inject_answer(r, f, len);
		if (action == WEFT_TOOBIG_ICMP4)
			r->count.too_big_icmp4++;
		else
			r->count.too_big_icmp6++;
		return;
	case WEFT_TOOBIG_FRAGMENT:
		if (f->truncated)
			break;
		/* Every limit is at most max_frame_len, the scratch's size. */
		WEFT_BUG_ON(WEFT_FRAME_HDR_LEN + (size_t)mtu > r->d.max_frame_len);
		if (weft_toobig_fragment(f->data, f->len, mtu, r->fragment, emit_fragment, &ctx) > 0) {
			r->count.too_big_fragmented++;
			return;
		}
		break;
	case WEFT_TOOBIG_DROP:
		break;
	}
	r->d.drops->n[WEFT_DROP_FRAME_TOO_BIG]++;
}

/* One frame to its destination member, or to every member. */
static void route_frame(struct weft_router *r, struct frame_view *f, uint64_t now)
{
	const uint8_t *dst = weft_frame_dst(f->data);
	struct weft_peer *p = NULL, *via = NULL;
	unsigned sent = 0;

	if (!weft_frame_is_multicast(dst)) {
		if (!memo_holds(&r->dst, dst))
			memo_set(&r->dst, dst, weft_mactable_lookup(r->d.macs, dst, now));
		p = weft_peers_get(r->d.peers, r->dst.peer);
	}
	if (p && weft_peer_route(p, now, &via)) {
		size_t limit = limit_for(r, p, via);

		/* A relay's frame is always complete (docs/protocol.md 7.1). */
		if (f->partial && (via || !(p->capabilities & WEFT_HANDSHAKE_CAP_CSUM_PARTIAL)) &&
		    !complete(r, f))
			return;
		if (out_len(f) > limit || f->truncated)
			too_big(r, f, limit, now);
		else
			send_to(r, p, via, f, now);
		return;
	}
	/* Broadcast, multicast, unknown unicast, or an owner out of reach:
	 * every member gets one copy, directly or through its relay. */
	if (!complete(r, f))
		return;
	if (!r->flood_limit)
		r->flood_limit = flood_limit(r, now);
	if (out_len(f) > r->flood_limit || f->truncated) {
		too_big(r, f, r->flood_limit == SIZE_MAX ? r->d.max_frame_len : r->flood_limit, now);
		return;
	}
	weft_peers_foreach(r->d.peers, p)
	{
		if (weft_peer_route(p, now, &via)) {
			send_to(r, p, via, f, now);
			sent++;
		} else {
			/* Its copy is lost, but the next need not be. */
			weft_handshakes_want(r->d.handshakes, p, now);
		}
	}
	if (sent)
		r->count.floods++;
	else
		r->d.drops->n[WEFT_DROP_NO_SESSION]++;
}

static void route_captured(struct weft_router *r, const struct weft_capture_frame *c,
			   uint64_t now)
{
	struct frame_view f = {
		.data = c->data,
		.len = c->len,
		.truncated = c->truncated,
		.vlan = c->vlan_valid,
		.tpid = c->vlan_tpid,
		.tci = c->vlan_tci,
		.partial = c->csum_partial ? c->data : NULL,
	};
	const uint8_t *src;

	if (weft_frame_is_runt(f.len)) {
		r->d.drops->n[WEFT_DROP_FRAME_RUNT]++;
		return;
	}
	src = weft_frame_src(f.data);
	if (weft_frame_is_link_local_control(weft_frame_dst(f.data))) {
		r->d.drops->n[WEFT_DROP_FRAME_LINK_LOCAL]++;
		return;
	}
	/* A source the table places behind a peer has come home: forget the
	 * remote entry at once so replies are not sent away (no blackout). */
	if (!weft_frame_is_multicast(src) && !memo_holds(&r->home, src)) {
		if (weft_mactable_remove(r->d.macs, src, now) == 0) {
			log_debug("a MAC moved home from a peer");
			r->dst.valid = false;
		}
		memo_set(&r->home, src, WEFT_MACTABLE_NO_PEER);
	}
	route_frame(r, &f, now);
}

/* Routes the frames that may go ahead of the superframe being cut
 * (weft_capture_next_early()): a ping must not wait behind megabytes of
 * other flows' superframes (docs/design.md, "Frames ahead of superframes"). */
static void capture_early(struct weft_router *r, uint64_t now)
{
	struct weft_capture_frame f;

	for (int n = 0; n < CAPTURE_EARLY_BUDGET && weft_capture_next_early(r->d.capture, &f); n++)
		route_captured(r, &f, now);
}

/* Routes what the capture ring holds, up to @budget frames, into the egress
 * batch; the caller flushes it. */
static void capture_burst(struct weft_router *r, int budget, uint64_t now)
{
	struct weft_capture_frame f;

	r->flood_limit = 0;
	r->home.valid = r->dst.valid = false;
	capture_early(r, now);
	for (int n = 0; n < budget && weft_capture_next(r->d.capture, &f); n++) {
		route_captured(r, &f, now);
		weft_capture_release(r->d.capture);
		if (n % CAPTURE_EARLY_EVERY == CAPTURE_EARLY_EVERY - 1)
			capture_early(r, now);
	}
}

static void on_capture(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weft_router *r = container_of(w, struct weft_router, capture_io);
	uint64_t now = weft_clock_now_ms();

	capture_burst(r, CAPTURE_BUDGET, now);
	weft_egress_flush(r->d.egress, now);
	/* ICMP answers to our own bridge. */
	if (weft_inject_pending(r->d.inject) && weft_inject_flush(r->d.inject) < 0)
		log_debug("inject ring kick failed");
	/* The slots' status words last: after the sends (capture.c). */
	weft_capture_hand_back(r->d.capture);
}

/* ---- ingress --------------------------------------------------------------------- */

/* Where a frame the ingress filter refused is counted. */
static const enum weft_peer_drop filtered_drop[] = {
    [WEFT_FRAME_RUNT] = WEFT_PEER_DROP_BAD_RECORD,
    [WEFT_FRAME_TOO_BIG] = WEFT_PEER_DROP_FRAME_TOO_BIG,
    [WEFT_FRAME_LINK_LOCAL] = WEFT_PEER_DROP_FRAME_LINK_LOCAL,
    [WEFT_FRAME_BAD_SOURCE] = WEFT_PEER_DROP_FRAME_BAD_SOURCE,
};

static uint64_t table_capacity(const struct weft_router *r)
{
	struct weft_mactable_stats st;

	weft_mactable_get_stats(r->d.macs, &st);
	return st.capacity;
}

/* weft_mactable_learn() refused @src of @p's frame (@why < 0): count it,
 * and tell the operator, rate-limited, which bound it was. */
static void refused(struct weft_router *r, struct weft_peer *p, const uint8_t *src, int why,
		    uint64_t now)
{
	const struct weft_config *cfg = r->d.peers->cfg;
	char mac[WEFT_FRAME_MAC_STRLEN], ep[WEFT_SOCKADDR_STRLEN], bound[80];
	enum weft_peer_drop d;

	switch (why) {
	case -EDQUOT:
		d = WEFT_PEER_DROP_MAC_LIMIT;
		break;
	case -EAGAIN:
		d = WEFT_PEER_DROP_MAC_RATE;
		break;
	case -ENOSPC:
		d = WEFT_PEER_DROP_MAC_TABLE_FULL;
		break;
	default:
		d = WEFT_PEER_DROP_BAD_RECORD;
		break;
	}
	p->drops[d]++;
	if (d == WEFT_PEER_DROP_BAD_RECORD || !weft_log_enabled(LOG_WARNING))
		return;
	weft_frame_format_mac(mac, src);
	if (d == WEFT_PEER_DROP_MAC_LIMIT)
		snprintf(bound, sizeof(bound), "the peer has max_macs_per_peer = %u live MACs",
			 cfg->max_macs_per_peer);
	else if (d == WEFT_PEER_DROP_MAC_RATE)
		snprintf(bound, sizeof(bound),
			 "the peer is over mac_learn_rate = %u new MACs a second",
			 cfg->mac_learn_rate);
	else
		snprintf(bound, sizeof(bound), "all %llu entries of the MAC table are live",
			 (unsigned long long)table_capacity(r));
	weft_log_peer_ratelimited(
	    &r->refused_said, now, LOG_WARNING, p->name, weft_peer_endpoint_text(p, ep),
	    "peer %s: new MAC %s not learned, its frames dropped: %s", p->name, mac, bound);
}

/* A frame from member @p (directly or relayed) into our bridge; @partial:
 * a FRAME_PARTIAL's, its checksum still to complete (docs/protocol.md 7.1). */
static void deliver_frame(struct weft_router *r, struct weft_peer *p, const uint8_t *frame,
			  size_t len, bool partial, uint64_t now)
{
	enum weft_frame_verdict v = weft_frame_check_ingress(frame, len, r->d.max_frame_len);
	size_t l4, field, end;
	const uint8_t *src;
	int learned, ret;

	if (v != WEFT_FRAME_OK) {
		p->drops[filtered_drop[v]]++;
		return;
	}
	/* No checksum where 7.1 says: dropped before its source is learned. */
	if (partial && weft_csum_partial_locate(frame, len, &l4, &field, &end) < 0) {
		p->drops[WEFT_PEER_DROP_BAD_RECORD]++;
		return;
	}
	src = weft_frame_src(frame);
	if (memo_holds(&r->learned, src) && r->learned.peer == p->id) {
		learned = WEFT_MACTABLE_REFRESHED; /* at this same time already */
	} else {
		learned = weft_mactable_learn(r->d.macs, src, p->id, now);
		if (learned < 0) {
			refused(r, p, src, learned, now);
			return;
		}
		memo_set(&r->learned, src, p->id);
	}
	if (learned == WEFT_MACTABLE_MOVED && weft_log_enabled(LOG_DEBUG)) {
		char mac[WEFT_FRAME_MAC_STRLEN];

		log_debug("MAC %s moved to peer %s", weft_frame_format_mac(mac, src), p->name);
	}
	ret = partial ? weft_inject_put_partial(r->d.inject, frame, len)
		      : weft_inject_put(r->d.inject, frame, len);
	if (ret == -ENOBUFS) {
		r->d.drops->n[WEFT_DROP_INJECT_FULL]++;
	} else if (ret < 0) {
		r->d.drops->n[WEFT_DROP_INJECT_BAD]++;
	} else {
		p->count.rx_frames++;
		r->count.frames_injected++;
	}
}

/* The largest frame we can pass on to @to: it goes on in a RELAY record
 * to the next hop, @to itself or @via. */
static size_t relay_frame_max(const struct weft_router *r, const struct weft_peer *to,
			      const struct weft_peer *via)
{
	return weft_path_frame_max_via(to, via ? via : to, r->d.max_frame_len);
}

/* A frame relayed to us for @to that our path on cannot carry: refused,
 * and the member it came from told the largest that passes, @max (at most
 * every RELAY_TOO_BIG_GAP_MS per destination: a burst of them is one
 * answer), so that it answers its own senders with the size (protocol.md
 * 13.10). */
#define RELAY_TOO_BIG_GAP_MS 100
static void relay_too_big(struct weft_router *r, struct weft_peer *from, struct weft_peer *to,
			  size_t max, const uint8_t *dst, uint64_t now)
{
	uint8_t *body;

	r->count.relay_too_big++;
	if (max < WEFT_RELAY_TOO_BIG_MIN || max > UINT16_MAX ||
	    (to->relay_too_big_told_ms && now - to->relay_too_big_told_ms < RELAY_TOO_BIG_GAP_MS))
		return;
	if (weft_egress_reserve(r->d.egress, from, WEFT_WIRE_REC_RELAY_TOO_BIG,
				WEFT_RELAY_TOO_BIG_LEN, &body, now) < 0)
		return;
	weft_relay_put_too_big(body, dst, (uint16_t)max);
	to->relay_too_big_told_ms = now;
}

/* A relay of ours says it cannot pass frames as large as ours on to a
 * member: frames to that member through it stay within its size. */
static void handle_relay_too_big(struct weft_router *r, struct weft_peer *from,
				 const uint8_t *body, size_t len, uint64_t now)
{
	struct weft_peer *to, *via = NULL;
	const uint8_t *dst;
	uint16_t max;

	if (weft_relay_parse_too_big(body, len, &dst, &max) < 0) {
		r->count.relay_malformed++;
		return;
	}
	to = weft_peers_find_id(r->d.peers, dst);
	/* Only the relay we use for it speaks for the path on. */
	if (!to || !weft_peer_route(to, now, &via) || via != from)
		return;
	weft_paths_relay_limit(to, from, max, now);
	r->count.relay_limited++;
}

/* A RELAY record from @from: ours to deliver, or to pass on (never back). */
static void handle_relay(struct weft_router *r, struct weft_peer *from, const uint8_t *body,
			 size_t len, uint64_t now)
{
	struct weft_peer *to, *via = NULL;
	struct weft_relay rl;
	uint8_t *out;
	size_t max;

	if (weft_relay_parse(&rl, body, len) < 0) {
		r->count.relay_malformed++;
		return;
	}
	if (!memcmp(rl.dst, weft_mesh_own_id(r->d.mesh), WEFT_GOSSIP_ID_LEN)) {
		struct weft_peer *origin = weft_peers_find_id(r->d.peers, rl.origin);

		if (!origin) {
			r->count.relay_unknown_origin++;
			return;
		}
		deliver_frame(r, origin, rl.frame, rl.frame_len, false, now);
		r->count.relay_delivered++;
		return;
	}
	to = weft_peers_find_id(r->d.peers, rl.dst);
	if (rl.hops <= 1 || !to || to == from || !weft_peer_route(to, now, &via) || via == from) {
		r->count.relay_no_route++;
		return;
	}
	max = relay_frame_max(r, to, via);
	if (rl.frame_len > max) {
		relay_too_big(r, from, to, max, rl.dst, now);
		return;
	}
	if (weft_egress_reserve(r->d.egress, via ? via : to, WEFT_WIRE_REC_RELAY, len, &out, now) <
	    0)
		return;
	memcpy(out, body, len);
	out[WEFT_RELAY_HDR_LEN - 1] = (uint8_t)(rl.hops - 1);
	r->count.relay_forwarded++;
}

static void handle_probe(struct weft_router *r, struct weft_peer *p, const uint8_t *body,
			 size_t len, size_t dgram_len, uint64_t now)
{
	uint8_t *ack;
	uint32_t id;

	if (weft_pmtu_parse_probe(body, len, &id) < 0) {
		r->count.probe_malformed++;
		return;
	}
	/* A datagram this long could only carry frames longer than our bridge
	 * port takes, which we must drop: unanswered, it is lost to the peer's
	 * search, which settles at what the path and we both carry (a host
	 * with a smaller MTU in a mesh, docs/protocol.md 13.7). */
	if (dgram_len > r->d.max_frame_len + WEFT_FRAME_WIRE_OVERHEAD) {
		r->count.probe_too_big++;
		return;
	}
	if (weft_egress_reserve(r->d.egress, p, WEFT_WIRE_REC_PROBE_ACK, WEFT_PMTU_ACK_LEN, &ack,
				now) < 0)
		return;
	weft_pmtu_put_ack(ack, id, (uint16_t)dgram_len);
	r->count.probes_answered++;
}

static void handle_probe_ack(struct weft_router *r, struct weft_peer *p, const uint8_t *body,
			     size_t len, uint64_t now)
{
	uint32_t id;
	uint16_t size;

	if (weft_pmtu_parse_ack(body, len, &id, &size) < 0) {
		r->count.probe_malformed++;
		return;
	}
	weft_paths_ack(p, id, size, now);
}

static void deliver_records(struct weft_router *r, struct weft_peer *p, const uint8_t *plain,
			    size_t len, size_t dgram_len, uint64_t now)
{
	struct weft_wire_records it;
	struct weft_wire_record rec;
	int ret;

	weft_wire_records_init(&it, plain, len);
	while ((ret = weft_wire_records_next(&it, &rec)) != 0) {
		if (ret < 0) {
			p->drops[WEFT_PEER_DROP_BAD_RECORD]++;
			if (ret == -EBADMSG)
				break;
			continue;
		}
		/* Only frames leave the MAC table as it was. */
		if (rec.kind != WEFT_WIRE_REC_FRAME && rec.kind != WEFT_WIRE_REC_FRAME_PARTIAL)
			r->learned.valid = false;
		switch (rec.kind) {
		case WEFT_WIRE_REC_FRAME:
			deliver_frame(r, p, rec.body, rec.len, false, now);
			break;
		case WEFT_WIRE_REC_FRAME_PARTIAL:
			r->count.partial_received++;
			deliver_frame(r, p, rec.body, rec.len, true, now);
			break;
		case WEFT_WIRE_REC_RELAY:
			handle_relay(r, p, rec.body, rec.len, now);
			break;
		case WEFT_WIRE_REC_MEMBERS:
			weft_mesh_receive(r->d.mesh, p, rec.body, rec.len, now);
			break;
		case WEFT_WIRE_REC_PROBE:
			handle_probe(r, p, rec.body, rec.len, dgram_len, now);
			break;
		case WEFT_WIRE_REC_PROBE_ACK:
			handle_probe_ack(r, p, rec.body, rec.len, now);
			break;
		case WEFT_WIRE_REC_OBSERVED:
			weft_mesh_observed(r->d.mesh, p, rec.body, rec.len);
			break;
		case WEFT_WIRE_REC_RELAY_TOO_BIG:
			handle_relay_too_big(r, p, rec.body, rec.len, now);
			break;
		default:
			break; /* keepalive: its arrival already counted as life */
		}
	}
}

static void handle_data(struct weft_router *r, const struct weft_wire_msg *msg,
			struct weft_udp_dgram *dg, uint64_t now)
{
	struct weft_index_entry *e = weft_index_lookup(r->d.index, msg->receiver_index,
						       WEFT_INDEX_SESSION);
	struct weft_session *s;
	struct weft_peer *p;
	size_t plain_len;
	int ret;

	if (!e) {
		r->d.drops->n[WEFT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	s = container_of(e, struct weft_session, entry);
	p = container_of(s->set, struct weft_peer, sessions);
	ret = weft_session_open(s, dg->data, dg->len, now, &plain_len);
	if (ret < 0) {
		p->session_drops[weft_session_drop_reason(ret)]++;
		return;
	}
	weft_peer_received(p, s, ret == 1, dg, now);
	deliver_records(r, p, dg->data + WEFT_WIRE_DATA_HEADER_LEN, plain_len, dg->len, now);
}

static void on_udp(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weft_router *r = container_of(w, struct weft_router, udp_io);
	uint64_t now = weft_clock_now_ms();
	struct weft_udp_dgram dg;
	struct weft_wire_msg msg;

	r->learned.valid = false;
	for (int b = 0; b < UDP_BATCH_BUDGET; b++) {
		int n = weft_udp_recv_batch(r->d.udp);

		if (n <= 0)
			break;
		while (weft_udp_recv_next(r->d.udp, &dg)) {
			if (weft_wire_parse(&msg, dg.data, dg.len) < 0) {
				r->d.drops->n[WEFT_DROP_GARBAGE]++;
				continue;
			}
			if (msg.type == WEFT_WIRE_DATA) {
				handle_data(r, &msg, &dg, now);
			} else {
				/* A handshake may replace or forget a peer. */
				r->learned.valid = false;
				weft_handshakes_receive(r->d.handshakes, &msg, &dg, now);
			}
		}
		if (weft_inject_flush(r->d.inject) < 0)
			log_debug("inject ring kick failed");
		if (weft_udp_recv_drained(r->d.udp))
			break;
	}
	/* The ring kicks ran the bridge's side synchronously: whatever the
	 * frames just injected called forth (a ping's echo reply, TCP's ACKs)
	 * is in the capture ring already. Taking it now saves the loop a
	 * round through epoll_wait, and it leaves in the same batch as the
	 * handshake answers, keepalives, relayed frames and probe answers
	 * queued while receiving. Only that much, though: on a host that
	 * sends a bulk stream the capture ring is never empty, and a full
	 * CAPTURE_BUDGET here as well as in on_capture() left the UDP socket
	 * (the stream's ACKs, every reply from the peers) unread for two
	 * bursts, about 2048 segments or 3 ms on the 2-core VM: with 64, a
	 * ping beside eight TCP streams took 8.3 ms instead of 11.2, and one
	 * stream's TCP was level (docs/design.md, "Latency under load, many
	 * streams"). */
	capture_burst(r, CAPTURE_REPLY_BUDGET, now);
	weft_egress_flush(r->d.egress, now);
	if (weft_inject_pending(r->d.inject) && weft_inject_flush(r->d.inject) < 0)
		log_debug("inject ring kick failed");
	weft_capture_hand_back(r->d.capture);
}

/* The MAC learning bounds of the configuration the peers table runs with. */
static void set_mac_limits(struct weft_router *r)
{
	const struct weft_config *cfg = r->d.peers->cfg;

	weft_mactable_set_limits(r->d.macs, &(struct weft_mactable_limits){
						.per_peer = cfg->max_macs_per_peer,
						.rate = cfg->mac_learn_rate,
						.burst = cfg->mac_learn_burst,
					    });
}

int weft_router_new(struct weft_router **out, const struct weft_router_deps *deps,
		    char err[static WEFT_ERRLEN])
{
	struct weft_router *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r || !(r->fragment = malloc(deps->max_frame_len))) {
		free(r);
		return weft_errorf(err, -ENOMEM, "router");
	}
	r->d = *deps;
	r->refused_said =
	    (struct weft_log_ratelimit)WEFT_LOG_RATELIMIT_INIT(REFUSED_LOG_INTERVAL_MS, 1);
	set_mac_limits(r);
	/* Every handler that takes captured frames hands their slots back at
	 * its end, after its sends. */
	weft_capture_defer(deps->capture, true);
	ev_io_init(&r->capture_io, on_capture, weft_capture_fd(deps->capture), EV_READ);
	ev_io_init(&r->udp_io, on_udp, weft_udp_fd(deps->udp), EV_READ);
	ev_io_start(deps->loop, &r->capture_io);
	ev_io_start(deps->loop, &r->udp_io);
	*out = r;
	return 0;
}

void weft_router_free(struct weft_router *r)
{
	if (!r)
		return;
	ev_io_stop(r->d.loop, &r->capture_io);
	ev_io_stop(r->d.loop, &r->udp_io);
	free(r->fragment);
	free(r);
}

const struct weft_router_counters *weft_router_counters(const struct weft_router *r)
{
	return &r->count;
}

void weft_router_reconfigure(struct weft_router *r, bool clamp_mss)
{
	r->d.clamp_mss = clamp_mss;
	set_mac_limits(r);
}
