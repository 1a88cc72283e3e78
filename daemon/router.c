/* SPDX-License-Identifier: MIT */
/* The hot path. Egress: drain the capture ring, pick a peer per frame by
 * destination MAC (or flood), pack frames as records into that peer's open
 * datagram, seal, and send each peer's batch with one GSO send. Ingress:
 * recvmmsg a batch, open each DATA datagram in place, learn source MACs, copy
 * frames into the TX ring, kick it once. Nothing here allocates. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "common/frame.h"
#include "common/mactable.h"
#include "common/session.h"
#include "common/wire.h"
#include "daemon/capture.h"
#include "daemon/daemon.h"
#include "daemon/inject.h"
#include "daemon/log.h"
#include "daemon/peer.h"
#include "daemon/router.h"
#include "daemon/udp.h"

/* Per wakeup, so that one busy direction cannot starve the other. */
#define CAPTURE_BUDGET 1024
#define UDP_BATCH_BUDGET 16

static void send_frame(struct weftd *d, struct weft_peer *p, const struct weft_capture_frame *f,
		       size_t out_len, uint64_t now)
{
	uint8_t *body;

	if (weft_peer_reserve_record(p, WEFT_WIRE_REC_FRAME, out_len, &body, now) < 0)
		return; /* counted by the peer */
	if (f->vlan_valid) {
		if (weft_frame_copy_with_vlan(body, out_len, f->data, f->len, f->vlan_tpid,
					      f->vlan_tci) < 0) {
			/* Cannot happen: out_len was computed for the tag. */
			log_err("BUG: VLAN reinsertion did not fit");
			return;
		}
	} else {
		memcpy(body, f->data, f->len);
	}
	p->tx_frames++;
	d->tx_frames++;
}

static void route_captured(struct weftd *d, const struct weft_capture_frame *f, uint64_t now)
{
	const uint8_t *dst, *src;
	size_t out_len;
	uint32_t id;

	if (f->truncated) {
		d->drops[WEFT_DROP_FRAME_TOO_BIG]++;
		return;
	}
	if (weft_frame_is_runt(f->len)) {
		d->drops[WEFT_DROP_FRAME_RUNT]++;
		return;
	}
	dst = weft_frame_dst(f->data);
	src = weft_frame_src(f->data);
	if (weft_frame_is_link_local_control(dst)) {
		d->drops[WEFT_DROP_FRAME_LINK_LOCAL]++;
		return;
	}
	out_len = f->len + (f->vlan_valid ? WEFT_FRAME_VLAN_LEN : 0);
	if (out_len > d->max_datagram - WEFT_WIRE_OVERHEAD) {
		d->drops[WEFT_DROP_FRAME_TOO_BIG]++;
		return;
	}
	/* A source the table places behind a peer has come home: forget the
	 * remote entry at once so replies are not sent away (no blackout). */
	if (!weft_frame_is_multicast(src) && weft_mactable_remove(d->macs, src, now) == 0)
		log_debug("a MAC moved home from a peer");

	id = weft_frame_is_multicast(dst) ? WEFT_MACTABLE_NO_PEER
					   : weft_mactable_lookup(d->macs, dst, now);
	if (id != WEFT_MACTABLE_NO_PEER && id < d->max_peers && d->peers[id] &&
	    weft_peer_can_send(d->peers[id], now)) {
		send_frame(d, d->peers[id], f, out_len, now);
		return;
	}
	/* Broadcast, multicast, unknown unicast, or an owner without a session:
	 * every peer with a live session gets a copy. */
	unsigned sent = 0;
	for (unsigned i = 0; i < d->max_peers; i++) {
		struct weft_peer *p = d->peers[i];

		if (p && weft_peer_can_send(p, now)) {
			send_frame(d, p, f, out_len, now);
			sent++;
		}
	}
	if (sent)
		d->floods++;
	else
		d->drops[WEFT_DROP_NO_SESSION]++;
}

void weft_router_on_capture(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weftd *d = container_of(w, struct weftd, capture_io);
	uint64_t now = weft_now_ms();
	struct weft_capture_frame f;

	for (int n = 0; n < CAPTURE_BUDGET && weft_capture_next(d->capture, &f); n++) {
		route_captured(d, &f, now);
		weft_capture_release(d->capture);
	}
	weft_peers_flush(d, now);
}

static void deliver_records(struct weftd *d, struct weft_peer *p, const uint8_t *plain,
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
		int learned = weft_mactable_learn(d->macs, src, p->id, now);
		if (learned < 0) {
			/* A group or zero source MAC is not a valid frame. */
			p->drops[WEFT_PEER_DROP_BAD_RECORD]++;
			continue;
		}
		if (learned == WEFT_MACTABLE_MOVED && weft_log_enabled(LOG_DEBUG)) {
			char mac[WEFT_FRAME_MAC_STRLEN];

			log_debug("MAC %s moved to peer %s", weft_frame_format_mac(mac, src), p->name);
		}
		ret = weft_inject_put(d->inject, rec.body, rec.len);
		if (ret == -ENOBUFS) {
			d->drops[WEFT_DROP_INJECT_FULL]++;
		} else if (ret < 0) {
			d->drops[WEFT_DROP_INJECT_BAD]++;
		} else {
			p->rx_frames++;
			d->rx_frames++;
		}
	}
}

static void handle_data(struct weftd *d, const struct weft_wire_msg *msg, struct weft_udp_dgram *dg,
			uint64_t now)
{
	unsigned kind = 0;
	struct weft_session *s = weft_session_index_lookup(d->index, msg->receiver_index, &kind);
	struct weft_peer *p;
	size_t plain_len;
	int ret;

	if (!s || kind != WEFT_SESSION_INDEX_SESSION) {
		d->drops[WEFT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	p = s->owner;
	ret = weft_session_open(s, dg->data, dg->len, now, &plain_len);
	if (ret < 0) {
		p->session_drops[weft_session_drop_reason(ret)]++;
		return;
	}
	weft_peer_received(p, s, ret == 1, dg, now);
	deliver_records(d, p, dg->data + WEFT_WIRE_DATA_HEADER_LEN, plain_len, now);
}

void weft_router_on_udp(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weftd *d = container_of(w, struct weftd, udp_io);
	uint64_t now = weft_now_ms();
	struct weft_udp_dgram dg;
	struct weft_wire_msg msg;

	for (int b = 0; b < UDP_BATCH_BUDGET; b++) {
		int n = weft_udp_recv_batch(d->udp);

		if (n <= 0)
			break;
		while (weft_udp_recv_next(d->udp, &dg)) {
			if (weft_wire_parse(&msg, dg.data, dg.len) < 0) {
				d->drops[WEFT_DROP_GARBAGE]++;
				continue;
			}
			if (msg.type == WEFT_WIRE_DATA)
				handle_data(d, &msg, &dg, now);
			else
				weft_peers_handle_handshake(d, &msg, &dg, now);
		}
		if (weft_inject_flush(d->inject) < 0)
			log_debug("inject ring kick failed");
		if (weft_udp_recv_drained(d->udp))
			break;
	}
	/* Handshake answers and keepalives queued while receiving. */
	weft_peers_flush(d, now);
}
