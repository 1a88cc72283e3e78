/* SPDX-License-Identifier: MIT */
/* Peers: their configuration, egress batches, liveness and timers. The
 * handshake exchange itself is in daemon/handshake_io.c. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/handshake.h"
#include "common/mactable.h"
#include "daemon/log.h"
#include "daemon/peer.h"
#include "daemon/udp.h"

#define PEER_BATCH_DATAGRAMS 64

/* ---- life and death ----------------------------------------------------------- */

struct weft_peer *weft_peer_new(struct weftd *d, const char *name)
{
	struct weft_peer *p;
	unsigned id;

	for (id = 0; id < d->max_peers && d->peers[id]; id++)
		;
	if (id == d->max_peers)
		return NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->d = d;
	p->id = id;
	snprintf(p->name, sizeof(p->name), "%s", name);
	weft_session_set_init(&p->sessions, d->index);
	d->peers[id] = p;
	return p;
}

void weft_peer_free(struct weft_peer *p)
{
	struct weftd *d;

	if (!p)
		return;
	d = p->d;
	weft_peer_abort_handshake(p);
	weft_session_set_clear(&p->sessions);
	weft_mactable_forget_peer(d->macs, p->id);
	weft_udp_batch_free(p->batch);
	d->peers[p->id] = NULL;
	/* A peer on the dirty list is skipped by flush once its slot is empty. */
	free(p);
}

static void apply_config(struct weftd *d, struct weft_peer *p, const struct weft_config_peer *cp)
{
	p->configured = true;
	p->has_pin = cp->has_public_key;
	if (p->has_pin)
		memcpy(p->pin, cp->public_key, WEFT_KEY_LEN);
	p->has_cfg_endpoint = cp->has_endpoint;
	if (cp->has_endpoint) {
		p->cfg_endpoint = cp->endpoint;
		if (weft_resolve_endpoint(&cp->endpoint,
					  d->cfg->listen.addr.ss_family == AF_INET ? AF_INET : AF_UNSPEC,
					  &p->endpoint, &p->endpoint_len) == 0) {
			p->has_endpoint = true;
			/* A new address may want another source; the peer's
			 * next datagram tells. */
			memset(&p->local, 0, sizeof(p->local));
		}
	}
	/* A learned key that the new pin contradicts is dropped with its sessions. */
	if (p->has_pin && p->has_static && sodium_memcmp(p->pin, p->remote_static, WEFT_KEY_LEN)) {
		log_warn("peer %s: pinned key changed; dropping its sessions", p->name);
		weft_session_set_clear(&p->sessions);
		weft_mactable_forget_peer(d->macs, p->id);
		p->has_static = false;
		p->up = false;
	}
}

void weft_peers_init(struct weftd *d)
{
	d->dirty = calloc(d->max_peers, sizeof(*d->dirty));
	if (!d->dirty || weft_udp_batch_new(&d->hs_batch, 8, WEFT_WIRE_HANDSHAKE_MAX_LEN) < 0)
		weft_fatal("out of memory for peers");
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		const struct weft_config_peer *cp = &d->cfg->peers[i];
		struct weft_peer *p = weft_peer_new(d, cp->name);

		if (!p)
			weft_fatal("out of memory for peer %s", cp->name);
		apply_config(d, p, cp);
	}
}

void weft_peers_start(struct weftd *d, uint64_t now)
{
	for (unsigned i = 0; i < d->max_peers; i++) {
		struct weft_peer *p = d->peers[i];

		if (p && p->has_endpoint)
			weft_peer_initiate(p, now);
	}
	weft_peers_flush(d, now);
}

void weft_peers_free(struct weftd *d)
{
	if (!d->peers)
		return;
	for (unsigned i = 0; i < d->max_peers; i++)
		weft_peer_free(d->peers[i]);
	free(d->peers);
	free(d->dirty);
	weft_udp_batch_free(d->hs_batch);
	d->peers = NULL;
}

unsigned weft_peers_count(const struct weftd *d)
{
	unsigned n = 0;

	for (unsigned i = 0; i < d->max_peers; i++)
		n += d->peers[i] != NULL;
	return n;
}

struct weft_peer *weft_peer_find(struct weftd *d, const char *name)
{
	for (unsigned i = 0; i < d->max_peers; i++)
		if (d->peers[i] && !strcmp(d->peers[i]->name, name))
			return d->peers[i];
	return NULL;
}

void weft_peers_reconfigure(struct weftd *d, const struct weft_config *cfg)
{
	/* Configured peers that the new file no longer names go away. */
	for (unsigned i = 0; i < d->max_peers; i++) {
		struct weft_peer *p = d->peers[i];

		if (p && p->configured && !weft_config_find_peer(cfg, p->name)) {
			log_info("peer %s removed from the configuration", p->name);
			weft_peer_free(p);
		}
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct weft_config_peer *cp = &cfg->peers[i];
		struct weft_peer *p = weft_peer_find(d, cp->name);

		if (!p) {
			p = weft_peer_new(d, cp->name);
			if (!p) {
				log_err("no room for peer %s", cp->name);
				continue;
			}
			log_info("peer %s added", cp->name);
		}
		apply_config(d, p, cp);
		if (p->has_endpoint && !weft_peer_can_send(p, weft_now_ms()))
			p->hs_next_ms = 0;
	}
}

/* ---- egress --------------------------------------------------------------------- */

bool weft_peer_can_send(const struct weft_peer *p, uint64_t now)
{
	return p->has_endpoint && weft_session_set_send(&p->sessions, now) != NULL;
}

static void mark_dirty(struct weft_peer *p)
{
	struct weftd *d = p->d;

	if (!p->dirty) {
		p->dirty = true;
		d->dirty[d->n_dirty++] = p->id;
	}
}

static int open_dgram(struct weft_peer *p)
{
	struct weftd *d = p->d;
	size_t room;

	if (!p->batch && weft_udp_batch_new(&p->batch, PEER_BATCH_DATAGRAMS, d->max_datagram) < 0)
		return -ENOMEM;
	p->dgram = weft_udp_batch_reserve(p->batch, &room);
	if (!p->dgram) {
		weft_peer_send_batch(p);
		p->dgram = weft_udp_batch_reserve(p->batch, &room);
		if (!p->dgram)
			return -ENOBUFS;
	}
	p->dgram_room = room;
	weft_wire_writer_init(&p->writer, p->dgram + WEFT_WIRE_DATA_HEADER_LEN,
			      room - WEFT_WIRE_DATA_OVERHEAD);
	mark_dirty(p);
	return 0;
}

static void seal_dgram(struct weft_peer *p, uint64_t now)
{
	struct weft_session *s;
	size_t out_len;
	int ret;

	if (!p->dgram)
		return;
	s = weft_session_set_send(&p->sessions, now);
	if (!s) {
		p->drops[WEFT_PEER_DROP_NO_SESSION]++;
		p->dgram = NULL;
		return;
	}
	ret = weft_session_seal(s, p->dgram, p->writer.len, now, &out_len);
	p->dgram = NULL;
	if (ret < 0) {
		p->drops[WEFT_PEER_DROP_SEAL]++;
		return;
	}
	weft_udp_batch_commit(p->batch, out_len);
	p->tx_packets++;
	p->tx_bytes += out_len;
	p->last_tx_ms = now;
}

void weft_peer_send_batch(struct weft_peer *p)
{
	struct weftd *d = p->d;

	if (!p->batch || weft_udp_batch_count(p->batch) == 0)
		return;
	if (!p->has_endpoint) {
		/* Cannot happen for data (can_send checks it); drop the batch. */
		p->drops[WEFT_PEER_DROP_SEND] += weft_udp_batch_count(p->batch);
		struct sockaddr_storage none = {.ss_family = AF_UNSPEC};

		if (weft_udp_flush(d->udp, p->batch, (struct sockaddr *)&none, sizeof(none), NULL) < 0)
			log_debug("peer %s: batch dropped: no endpoint", p->name);
		return;
	}
	unsigned n = weft_udp_batch_count(p->batch);
	struct weft_udp_stats before, after;

	weft_udp_stats(d->udp, &before);
	if (weft_udp_flush(d->udp, p->batch, (struct sockaddr *)&p->endpoint, p->endpoint_len,
			   &p->local) < 0) {
		weft_udp_stats(d->udp, &after);
		uint64_t lost = n - (after.tx_datagrams - before.tx_datagrams);
		p->drops[WEFT_PEER_DROP_SEND] += lost;
	}
}

int weft_peer_reserve_record(struct weft_peer *p, uint8_t kind, size_t len, uint8_t **body,
			     uint64_t now)
{
	int ret;

	if (!p->dgram && (ret = open_dgram(p)) < 0)
		goto drop;
	ret = weft_wire_writer_reserve(&p->writer, kind, len, body);
	if (ret == -ENOBUFS) {
		seal_dgram(p, now);
		if ((ret = open_dgram(p)) < 0)
			goto drop;
		ret = weft_wire_writer_reserve(&p->writer, kind, len, body);
	}
	if (ret == 0)
		return 0;
drop:
	p->drops[WEFT_PEER_DROP_SEND]++;
	return ret;
}

void weft_peers_flush(struct weftd *d, uint64_t now)
{
	for (unsigned i = 0; i < d->n_dirty; i++) {
		struct weft_peer *p = d->peers[d->dirty[i]];

		if (!p)
			continue;
		seal_dgram(p, now);
		weft_peer_send_batch(p);
		p->dirty = false;
	}
	d->n_dirty = 0;
}

void weft_peer_send_keepalive(struct weft_peer *p, uint64_t now)
{
	uint8_t *body;

	if (weft_peer_reserve_record(p, WEFT_WIRE_REC_KEEPALIVE, 0, &body, now) == 0)
		seal_dgram(p, now);
}

/* ---- ingress --------------------------------------------------------------------- */

static bool same_addr(const struct sockaddr *a, socklen_t alen, const struct sockaddr_storage *b,
		      socklen_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

void weft_peer_received(struct weft_peer *p, struct weft_session *s, bool newest,
			const struct weft_udp_dgram *dg, uint64_t now)
{
	const struct sockaddr *src = dg->src;
	socklen_t src_len = dg->src_len;
	bool follow = weft_session_set_received(&p->sessions, s) == WEFT_SESSION_SLOT_CURRENT &&
		      newest;

	if (follow)
		p->local = dg->local;
	if (follow && !same_addr(src, src_len, &p->endpoint, p->endpoint_len) &&
	    src_len <= sizeof(p->endpoint)) {
		char was[64], is[64];

		weft_format_addr(was, sizeof(was), (struct sockaddr *)&p->endpoint);
		weft_format_addr(is, sizeof(is), src);
		log_info("peer %s (%s) moved from %s to %s", p->name, p->fingerprint,
			 p->has_endpoint ? was : "nowhere", is);
		memcpy(&p->endpoint, src, src_len);
		p->endpoint_len = src_len;
		p->has_endpoint = true;
	}
	p->rx_packets++;
	p->rx_bytes += dg->len;
	p->last_rx_ms = now;
	if (!p->up) {
		p->up = true;
		log_info("peer %s (%s) is up", p->name, p->fingerprint);
	}
}

/* ---- timers ------------------------------------------------------------------------ */

static void peer_tick(struct weft_peer *p, uint64_t now)
{
	struct weftd *d = p->d;
	const struct weft_config *cfg = d->cfg;
	uint64_t timeout = (uint64_t)cfg->peer_timeout * 1000u;
	uint64_t keepalive = (uint64_t)cfg->keepalive_interval * 1000u;
	bool silent = now - p->last_rx_ms >= timeout;

	weft_session_set_expire(&p->sessions, now);
	if (p->up && (silent || !weft_session_set_send(&p->sessions, now))) {
		p->up = false;
		log_info("peer %s (%s) is down: %s", p->name, p->fingerprint,
			 silent ? "no traffic" : "no session");
		weft_mactable_forget_peer(d->macs, p->id);
	}
	weft_peer_handshake_tick(p, now, silent);
	if (weft_peer_can_send(p, now) && now - p->last_tx_ms >= keepalive)
		weft_peer_send_keepalive(p, now);
}

/* A member that joined by handshake and has been silent this long is gone
 * for good (a host removed, re-keyed or renamed): its slot and its handshake
 * retries go too. If it comes back, it joins again. */
static bool forgotten(const struct weft_peer *p, uint64_t now)
{
	uint64_t after = (uint64_t)p->d->cfg->forget_member_after * 1000u;

	return !p->configured && !p->up && now - p->last_rx_ms >= after;
}

void weft_peers_tick(struct weftd *d, uint64_t now)
{
	for (unsigned i = 0; i < d->max_peers; i++) {
		struct weft_peer *p = d->peers[i];

		if (!p)
			continue;
		peer_tick(p, now);
		if (forgotten(p, now)) {
			log_info("member %s (%s) forgotten: silent for %llu s", p->name,
				 p->fingerprint, (unsigned long long)((now - p->last_rx_ms) / 1000));
			weft_peer_free(p);
		}
	}
	weft_peers_flush(d, now);
}

/* ---- status ------------------------------------------------------------------------ */

json_t *weft_peer_status(const struct weft_peer *p, uint64_t now)
{
	char endpoint[64];
	json_t *o, *drops;
	const char *state;

	if (p->up)
		state = "up";
	else if (p->hs)
		state = "handshaking";
	else
		state = "down";
	if (p->has_endpoint)
		weft_format_addr(endpoint, sizeof(endpoint), (const struct sockaddr *)&p->endpoint);
	else
		snprintf(endpoint, sizeof(endpoint), "-");
	drops = json_pack("{s:I,s:I,s:I,s:I}", "bad_record",
			  (json_int_t)p->drops[WEFT_PEER_DROP_BAD_RECORD], "no_session",
			  (json_int_t)p->drops[WEFT_PEER_DROP_NO_SESSION], "seal",
			  (json_int_t)p->drops[WEFT_PEER_DROP_SEAL], "send",
			  (json_int_t)p->drops[WEFT_PEER_DROP_SEND]);
	for (int i = 0; i < WEFT_SESSION_DROP_COUNT; i++)
		json_object_set_new(drops, weft_session_drop_name(i),
				    json_integer((json_int_t)p->session_drops[i]));
	o = json_pack("{s:s,s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "name", p->name,
		      "fingerprint", p->has_static ? p->fingerprint : "-", "endpoint", endpoint,
		      "state", state, "configured", p->configured, "rx_packets",
		      (json_int_t)p->rx_packets, "rx_bytes", (json_int_t)p->rx_bytes, "tx_packets",
		      (json_int_t)p->tx_packets, "tx_bytes", (json_int_t)p->tx_bytes, "rx_frames",
		      (json_int_t)p->rx_frames, "tx_frames", (json_int_t)p->tx_frames,
		      "handshakes", (json_int_t)p->handshakes, "drops", drops);
	if (p->local.family) {
		char local[INET6_ADDRSTRLEN] = "?";

		/* An IPv4-mapped address (dual-stack socket) shows as IPv4. */
		if (p->local.family == AF_INET)
			inet_ntop(AF_INET, &p->local.v4, local, sizeof(local));
		else if (IN6_IS_ADDR_V4MAPPED(&p->local.v6))
			inet_ntop(AF_INET, &p->local.v6.s6_addr[12], local, sizeof(local));
		else
			inet_ntop(AF_INET6, &p->local.v6, local, sizeof(local));
		json_object_set_new(o, "local_address", json_string(local));
	}
	if (p->last_handshake_wall_ms) {
		uint64_t wall = weft_wall_ms();

		json_object_set_new(o, "last_handshake_ago_s",
				    json_integer((json_int_t)((wall - p->last_handshake_wall_ms) / 1000)));
	}
	return o;
}
