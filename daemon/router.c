/* SPDX-License-Identifier: MIT */
/* The hot path. Egress: drain the capture ring, pick a peer per frame by
 * destination MAC (or flood), and put each frame as a record into that
 * peer's open datagram (daemon/egress.c seals and sends them, one batched
 * send per peer). Ingress: recvmmsg a batch, open each DATA datagram in
 * place, learn source MACs, copy frames into the TX ring, kick it once.
 * Nothing here allocates. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"
#include "common/index.h"
#include "common/mactable.h"
#include "common/session.h"
#include "common/wire.h"
#include "daemon/capture.h"
#include "daemon/clock.h"
#include "daemon/egress.h"
#include "daemon/handshakes.h"
#include "daemon/inject.h"
#include "daemon/log.h"
#include "daemon/peers.h"
#include "daemon/router.h"
#include "daemon/udp.h"

/* Per wakeup, so that one busy direction cannot starve the other. */
#define CAPTURE_BUDGET	 1024
#define UDP_BATCH_BUDGET 16

struct weft_router {
	struct weft_router_deps d;
	ev_io capture_io;
	ev_io udp_io;
	struct weft_router_counters count;
};

static void send_frame(struct weft_router *r, struct weft_peer *p,
		       const struct weft_capture_frame *f, size_t out_len, uint64_t now)
{
	uint8_t *body;

	if (weft_egress_reserve(r->d.egress, p, WEFT_WIRE_REC_FRAME, out_len, &body, now) < 0)
		return; /* counted by the egress */
	if (f->vlan_valid) {
		/* out_len was computed for the tag: it always fits. */
		WEFT_BUG_ON(weft_frame_copy_with_vlan(body, out_len, f->data, f->len, f->vlan_tpid,
						      f->vlan_tci) < 0);
	} else {
		memcpy(body, f->data, f->len);
	}
	p->count.tx_frames++;
	r->count.frames_sent++;
}

static void route_captured(struct weft_router *r, const struct weft_capture_frame *f,
			   uint64_t now)
{
	struct weft_drops *drops = r->d.drops;
	const uint8_t *dst, *src;
	struct weft_peer *p;
	size_t out_len;
	unsigned sent = 0;

	if (f->truncated) {
		drops->n[WEFT_DROP_FRAME_TOO_BIG]++;
		return;
	}
	if (weft_frame_is_runt(f->len)) {
		drops->n[WEFT_DROP_FRAME_RUNT]++;
		return;
	}
	dst = weft_frame_dst(f->data);
	src = weft_frame_src(f->data);
	if (weft_frame_is_link_local_control(dst)) {
		drops->n[WEFT_DROP_FRAME_LINK_LOCAL]++;
		return;
	}
	out_len = f->len + (f->vlan_valid ? WEFT_FRAME_VLAN_LEN : 0);
	if (out_len > r->d.max_frame_len) {
		drops->n[WEFT_DROP_FRAME_TOO_BIG]++;
		return;
	}
	/* A source the table places behind a peer has come home: forget the
	 * remote entry at once so replies are not sent away (no blackout). */
	if (!weft_frame_is_multicast(src) && weft_mactable_remove(r->d.macs, src, now) == 0)
		log_debug("a MAC moved home from a peer");

	p = weft_frame_is_multicast(dst)
		? NULL
		: weft_peers_get(r->d.peers, weft_mactable_lookup(r->d.macs, dst, now));
	if (p && weft_peer_can_send(p, now)) {
		send_frame(r, p, f, out_len, now);
		return;
	}
	/* Broadcast, multicast, unknown unicast, or an owner without a session:
	 * every peer with a live session gets a copy. */
	weft_peers_foreach(r->d.peers, p)
	{
		if (weft_peer_can_send(p, now)) {
			send_frame(r, p, f, out_len, now);
			sent++;
		}
	}
	if (sent)
		r->count.floods++;
	else
		drops->n[WEFT_DROP_NO_SESSION]++;
}

static void on_capture(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weft_router *r = container_of(w, struct weft_router, capture_io);
	uint64_t now = weft_clock_now_ms();
	struct weft_capture_frame f;

	for (int n = 0; n < CAPTURE_BUDGET && weft_capture_next(r->d.capture, &f); n++) {
		route_captured(r, &f, now);
		weft_capture_release(r->d.capture);
	}
	weft_egress_flush(r->d.egress, now);
}

static void deliver_records(struct weft_router *r, struct weft_peer *p, const uint8_t *plain,
			    size_t len, uint64_t now)
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
		if (rec.kind != WEFT_WIRE_REC_FRAME)
			continue; /* keepalive: its arrival already counted as life */
		const uint8_t *src = weft_frame_src(rec.body);
		int learned = weft_mactable_learn(r->d.macs, src, p->id, now);
		if (learned < 0) {
			/* A group or zero source MAC is not a valid frame. */
			p->drops[WEFT_PEER_DROP_BAD_RECORD]++;
			continue;
		}
		if (learned == WEFT_MACTABLE_MOVED && weft_log_enabled(LOG_DEBUG)) {
			char mac[WEFT_FRAME_MAC_STRLEN];

			log_debug("MAC %s moved to peer %s", weft_frame_format_mac(mac, src), p->name);
		}
		ret = weft_inject_put(r->d.inject, rec.body, rec.len);
		if (ret == -ENOBUFS) {
			r->d.drops->n[WEFT_DROP_INJECT_FULL]++;
		} else if (ret < 0) {
			r->d.drops->n[WEFT_DROP_INJECT_BAD]++;
		} else {
			p->count.rx_frames++;
			r->count.frames_injected++;
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
	deliver_records(r, p, dg->data + WEFT_WIRE_DATA_HEADER_LEN, plain_len, now);
}

static void on_udp(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weft_router *r = container_of(w, struct weft_router, udp_io);
	uint64_t now = weft_clock_now_ms();
	struct weft_udp_dgram dg;
	struct weft_wire_msg msg;

	for (int b = 0; b < UDP_BATCH_BUDGET; b++) {
		int n = weft_udp_recv_batch(r->d.udp);

		if (n <= 0)
			break;
		while (weft_udp_recv_next(r->d.udp, &dg)) {
			if (weft_wire_parse(&msg, dg.data, dg.len) < 0) {
				r->d.drops->n[WEFT_DROP_GARBAGE]++;
				continue;
			}
			if (msg.type == WEFT_WIRE_DATA)
				handle_data(r, &msg, &dg, now);
			else
				weft_handshakes_receive(r->d.handshakes, &msg, &dg, now);
		}
		if (weft_inject_flush(r->d.inject) < 0)
			log_debug("inject ring kick failed");
		if (weft_udp_recv_drained(r->d.udp))
			break;
	}
	/* Handshake answers and keepalives queued while receiving. */
	weft_egress_flush(r->d.egress, now);
}

int weft_router_new(struct weft_router **out, const struct weft_router_deps *deps,
		    char err[static WEFT_ERRLEN])
{
	struct weft_router *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (!r)
		return weft_errorf(err, -ENOMEM, "router");
	r->d = *deps;
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
	free(r);
}

const struct weft_router_counters *weft_router_counters(const struct weft_router *r)
{
	return &r->count;
}
