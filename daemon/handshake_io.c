/* SPDX-License-Identifier: MIT */
/* The handshake exchange on the wire: HELLO/WELCOME/CONFIRM for our own
 * handshakes (initiator, one per peer) and for others' (responder, a small
 * table of pending handshakes keyed by our index), mapping a finished
 * handshake to a peer, and the retry/rekey timers. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "common/handshake.h"
#include "common/key.h"
#include "common/mactable.h"
#include "common/ratelimit.h"
#include "daemon/log.h"
#include "daemon/peer.h"
#include "daemon/udp.h"

/* A handshake unanswered this long is retried. */
#define HANDSHAKE_TIMEOUT_MS 5000
/* Backoff between attempts: 1 s doubling up to 30 s, plus up to 1/4 jitter. */
#define BACKOFF_MIN_MS 1000
#define BACKOFF_MAX_MS 30000
/* Responder handshakes waiting for their CONFIRM. */
#define PENDING_MAX WEFT_PENDING_HANDSHAKES
#define PENDING_TIMEOUT_MS 10000
/* Index table kind for a responder handshake (beside HANDSHAKE and SESSION). */
#define INDEX_RESPONDER 3


/* Rate limits for logs triggered by remote input. */
static struct weft_log_ratelimit hs_log_rl = WEFT_LOG_RATELIMIT_INIT(10000, 10);


static void hs_config(struct weftd *d, struct weft_handshake_config *hc)
{
	memset(hc, 0, sizeof(*hc));
	hc->static_priv = d->private_key;
	hc->static_pub = d->public_key;
	hc->psk = d->secret;
	hc->network = d->cfg->name;
	hc->nickname = d->nickname;
	hc->listen_port = d->cfg->listen.port;
}

/* @from: our address to send from (see weft_udp_flush); NULL: any. */
static void send_handshake(struct weftd *d, const uint8_t *buf, size_t len,
			   const struct sockaddr *dst, socklen_t dst_len,
			   struct weft_udp_local_addr *from)
{
	size_t room;
	uint8_t *slot = weft_udp_batch_reserve(d->hs_batch, &room);

	if (!slot || len > room) {
		log_warn("handshake datagram does not fit its batch; dropped");
		return;
	}
	memcpy(slot, buf, len);
	weft_udp_batch_commit(d->hs_batch, len);
	if (weft_udp_flush(d->udp, d->hs_batch, dst, dst_len, from) < 0)
		log_debug("handshake datagram not sent");
}

static uint64_t backoff_ms(unsigned attempts)
{
	uint64_t ms = BACKOFF_MIN_MS;

	for (unsigned i = 1; i < attempts && ms < BACKOFF_MAX_MS; i++)
		ms *= 2;
	if (ms > BACKOFF_MAX_MS)
		ms = BACKOFF_MAX_MS;
	return ms + randombytes_uniform((uint32_t)(ms / 4) + 1);
}

/* ---- initiator ----------------------------------------------------------------- */

void weft_peer_abort_handshake(struct weft_peer *p)
{
	if (!p->hs)
		return;
	(void)weft_session_index_remove(p->d->index, p->hs_index);
	weft_handshake_free(p->hs);
	p->hs = NULL;
}

void weft_peer_initiate(struct weft_peer *p, uint64_t now)
{
	struct weftd *d = p->d;
	struct weft_handshake_config hc;
	uint8_t *noise = d->hs_buf + WEFT_WIRE_HELLO_HEADER_LEN;
	char err[WEFT_ERRLEN];
	size_t noise_len, len;

	weft_peer_abort_handshake(p);
	p->hs_attempts++;
	p->hs_next_ms = now + backoff_ms(p->hs_attempts);
	if (!p->has_endpoint)
		return;
	p->hs = weft_handshake_new();
	if (!p->hs) {
		log_warn("peer %s: out of memory for a handshake", p->name);
		return;
	}
	if (weft_session_index_insert(d->index, WEFT_SESSION_INDEX_HANDSHAKE, p, &p->hs_index) < 0) {
		log_warn("peer %s: no free index for a handshake", p->name);
		weft_handshake_free(p->hs);
		p->hs = NULL;
		return;
	}
	hs_config(d, &hc);
	if (weft_handshake_write_hello(p->hs, &hc, p->hs_index, weft_wall_ms(), noise,
				       sizeof(d->hs_buf) - WEFT_WIRE_HELLO_HEADER_LEN, &noise_len,
				       err) < 0 ||
	    weft_wire_build_hello(d->hs_buf, sizeof(d->hs_buf), p->hs_index, noise, noise_len,
				  &len) < 0) {
		log_err("peer %s: cannot build a HELLO: %s", p->name, err);
		weft_peer_abort_handshake(p);
		return;
	}
	p->hs_sent_ms = now;
	log_debug("peer %s: HELLO (attempt %u)", p->name, p->hs_attempts);
	send_handshake(d, d->hs_buf, len, (struct sockaddr *)&p->endpoint, p->endpoint_len,
		       &p->local);
}

static void learn_static(struct weft_peer *p, const uint8_t key[static WEFT_KEY_LEN])
{
	if (p->has_static && sodium_memcmp(p->remote_static, key, WEFT_KEY_LEN) != 0) {
		/* A member (it knows the secret) took over this unpinned name. */
		log_warn("peer %s: its key changed", p->name);
		weft_session_set_clear(&p->sessions);
		weft_mactable_forget_peer(p->d->macs, p->id);
	}
	memcpy(p->remote_static, key, WEFT_KEY_LEN);
	p->has_static = true;
	weft_key_fingerprint(p->fingerprint, key);
}

/* Hands the finished handshake's keys to a new session of @p. */
static int install_session(struct weft_peer *p, struct weft_handshake *hs, uint32_t index,
			   bool confirmed, uint64_t now)
{
	struct weftd *d = p->d;
	struct weft_session_limits limits = {
		.rekey_after_ms = (uint64_t)d->cfg->rekey_after * 1000u,
		.reject_after_ms = (uint64_t)d->cfg->reject_after * 1000u,
	};
	struct weft_handshake_result res;
	uint8_t *keys = sodium_malloc(2 * WEFT_KEY_LEN);
	struct weft_session *s = NULL;

	if (!keys)
		return -ENOMEM;
	if (weft_handshake_finish(hs, &res, keys, keys + WEFT_KEY_LEN) == 0)
		s = weft_session_new(keys, keys + WEFT_KEY_LEN, res.local_index, res.remote_index,
				     res.initiator, &limits, now);
	sodium_free(keys);
	if (!s)
		return -ENOMEM;
	s->owner = p;
	if (weft_session_index_replace(d->index, index, WEFT_SESSION_INDEX_SESSION, s) < 0) {
		weft_session_free(s);
		return -ENOENT;
	}
	weft_session_set_install(&p->sessions, s, confirmed);
	p->handshakes++;
	p->hs_attempts = 0;
	p->last_handshake_wall_ms = weft_wall_ms();
	log_info("peer %s (%s): session established as %s", p->name, p->fingerprint,
		 res.initiator ? "initiator" : "responder");
	return 0;
}

static void handle_welcome(struct weftd *d, const struct weft_wire_msg *msg,
			   const struct weft_udp_dgram *dg, uint64_t now)
{
	const struct sockaddr *src = dg->src;
	socklen_t src_len = dg->src_len;
	unsigned kind = 0;
	struct weft_peer *p = weft_session_index_lookup(d->index, msg->receiver_index, &kind);
	uint8_t remote[WEFT_KEY_LEN];
	uint8_t *noise = d->hs_buf + WEFT_WIRE_CONFIRM_HEADER_LEN;
	char err[WEFT_ERRLEN];
	size_t noise_len, len;
	int ret;

	if (!p || kind != WEFT_SESSION_INDEX_HANDSHAKE || !p->hs || p->hs_index != msg->receiver_index) {
		d->drops[WEFT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	ret = weft_handshake_read_welcome(p->hs, msg->sender_index, msg->body, msg->body_len, err);
	if (ret < 0) {
		d->drops[WEFT_DROP_HANDSHAKE_AUTH]++;
		weft_log_ratelimited(&hs_log_rl, now, LOG_INFO, "peer %s: bad WELCOME: %s", p->name, err);
		return;
	}
	if (weft_handshake_remote_static(p->hs, remote) < 0 ||
	    weft_handshake_check_pin(p->has_pin ? p->pin : NULL, d->cfg->require_pinned_keys, remote,
				     err) < 0) {
		d->drops[WEFT_DROP_HANDSHAKE_REFUSED]++;
		weft_log_ratelimited(&hs_log_rl, now, LOG_WARNING, "peer %s: refused: %s", p->name, err);
		weft_peer_abort_handshake(p);
		return;
	}
	const struct weft_handshake_identity *id = weft_handshake_remote_identity(p->hs);
	if (id && strcmp(id->nickname, p->name))
		log_debug("peer %s calls itself %s", p->name, id->nickname);
	if (weft_handshake_write_confirm(p->hs, noise, sizeof(d->hs_buf) - WEFT_WIRE_CONFIRM_HEADER_LEN,
					 &noise_len, err) < 0 ||
	    weft_wire_build_confirm(d->hs_buf, sizeof(d->hs_buf), msg->sender_index, noise,
				    noise_len, &len) < 0) {
		log_err("peer %s: cannot build a CONFIRM: %s", p->name, err);
		weft_peer_abort_handshake(p);
		return;
	}
	/* The WELCOME is authenticated: answer, and from now on send, from
	 * the address it came to. */
	p->local = dg->local;
	send_handshake(d, d->hs_buf, len, src, src_len, &p->local);
	learn_static(p, remote);
	if (install_session(p, p->hs, p->hs_index, false, now) < 0) {
		log_warn("peer %s: could not install the new session", p->name);
		weft_peer_abort_handshake(p);
		return;
	}
	/* The index now belongs to the session. */
	weft_handshake_free(p->hs);
	p->hs = NULL;
}

/* ---- responder ------------------------------------------------------------------ */

static void pending_drop(struct weftd *d, struct weft_pending_handshake *pd)
{
	(void)weft_session_index_remove(d->index, pd->local_index);
	weft_handshake_free(pd->hs);
	memset(pd, 0, sizeof(*pd));
}

static struct weft_pending_handshake *pending_slot(struct weftd *d, uint64_t now)
{
	struct weft_pending_handshake *oldest = &d->pending[0];

	for (int i = 0; i < PENDING_MAX; i++) {
		if (d->pending[i].hs && now - d->pending[i].created_ms >= PENDING_TIMEOUT_MS)
			pending_drop(d, &d->pending[i]);
		if (!d->pending[i].hs)
			return &d->pending[i];
		if (d->pending[i].created_ms < oldest->created_ms)
			oldest = &d->pending[i];
	}
	pending_drop(d, oldest);
	return oldest;
}

static void count_hs_error(struct weftd *d, int err)
{
	switch (weft_handshake_drop_reason(err)) {
	case WEFT_HANDSHAKE_DROP_TIMESTAMP:
		d->drops[WEFT_DROP_HANDSHAKE_STALE]++;
		break;
	case WEFT_HANDSHAKE_DROP_REPLAY:
		d->drops[WEFT_DROP_HANDSHAKE_REPLAY]++;
		break;
	case WEFT_HANDSHAKE_DROP_PIN:
		d->drops[WEFT_DROP_HANDSHAKE_REFUSED]++;
		break;
	default:
		d->drops[WEFT_DROP_HANDSHAKE_AUTH]++;
	}
}

static void handle_hello(struct weftd *d, const struct weft_wire_msg *msg,
			 const struct weft_udp_dgram *dg, uint64_t now)
{
	const struct sockaddr *src = dg->src;
	socklen_t src_len = dg->src_len;
	struct weft_udp_local_addr local = dg->local;
	struct weft_handshake_config hc;
	uint8_t *noise = d->hs_buf + WEFT_WIRE_WELCOME_HEADER_LEN;
	char err[WEFT_ERRLEN], from[64];
	struct weft_pending_handshake *pd;
	size_t noise_len, len;
	int ret;

	if (!weft_ratelimit_allow(d->ratelimit, src, now)) {
		d->drops[WEFT_DROP_HANDSHAKE_RATE]++;
		return;
	}
	if (!d->spare_hs && !(d->spare_hs = weft_handshake_new()))
		return;
	hs_config(d, &hc);
	ret = weft_handshake_read_hello(d->spare_hs, &hc, d->hello_replay, msg->sender_index,
					msg->body, msg->body_len, weft_wall_ms(), err);
	if (ret < 0) {
		count_hs_error(d, ret);
		weft_format_addr(from, sizeof(from), src);
		weft_log_ratelimited(&hs_log_rl, now, LOG_INFO, "HELLO from %s refused: %s", from, err);
		return;
	}
	pd = pending_slot(d, now);
	if (weft_session_index_insert(d->index, INDEX_RESPONDER, pd, &pd->local_index) < 0) {
		d->drops[WEFT_DROP_HANDSHAKE_REFUSED]++;
		return;
	}
	pd->hs = d->spare_hs;
	d->spare_hs = NULL;
	pd->remote_index = msg->sender_index;
	pd->created_ms = now;
	if (weft_handshake_write_welcome(pd->hs, pd->local_index, weft_wall_ms(), noise,
					 sizeof(d->hs_buf) - WEFT_WIRE_WELCOME_HEADER_LEN,
					 &noise_len, err) < 0 ||
	    weft_wire_build_welcome(d->hs_buf, sizeof(d->hs_buf), pd->local_index,
				    msg->sender_index, noise, noise_len, &len) < 0) {
		log_warn("cannot build a WELCOME: %s", err);
		pending_drop(d, pd);
		return;
	}
	send_handshake(d, d->hs_buf, len, src, src_len, &local);
}

static bool same_addr(const struct sockaddr_storage *a, socklen_t alen, const struct sockaddr *b,
		      socklen_t blen)
{
	return alen == blen && memcmp(a, b, alen) == 0;
}

/* Which peer a finished responder handshake is: the one with this key (pinned
 * or learned), else the one of that nickname, else the one configured at the
 * source address, else a new member (unless every peer must be pinned). */
static struct weft_peer *match_peer(struct weftd *d, const uint8_t key[static WEFT_KEY_LEN],
				    const char *nickname, const struct sockaddr *src,
				    socklen_t src_len)
{
	struct weft_peer *p;

	for (unsigned i = 0; i < d->max_peers; i++) {
		p = d->peers[i];
		if (p && ((p->has_pin && !sodium_memcmp(p->pin, key, WEFT_KEY_LEN)) ||
			  (!p->has_pin && p->has_static &&
			   !sodium_memcmp(p->remote_static, key, WEFT_KEY_LEN))))
			return p;
	}
	if ((p = weft_peer_find(d, nickname)))
		return p;
	for (unsigned i = 0; i < d->max_peers; i++) {
		p = d->peers[i];
		if (p && p->has_endpoint && same_addr(&p->endpoint, p->endpoint_len, src, src_len))
			return p;
	}
	return NULL;
}

static void handle_confirm(struct weftd *d, const struct weft_wire_msg *msg,
			   const struct weft_udp_dgram *dg, uint64_t now)
{
	const struct sockaddr *src = dg->src;
	socklen_t src_len = dg->src_len;
	unsigned kind = 0;
	struct weft_pending_handshake *pd = weft_session_index_lookup(d->index, msg->receiver_index, &kind);
	const struct weft_handshake_identity *id;
	uint8_t remote[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN], from[64];
	struct weft_peer *p;
	int ret;

	if (!pd || kind != INDEX_RESPONDER) {
		d->drops[WEFT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	ret = weft_handshake_read_confirm(pd->hs, msg->body, msg->body_len, err);
	if (ret < 0) {
		count_hs_error(d, ret);
		weft_log_ratelimited(&hs_log_rl, now, LOG_INFO, "bad CONFIRM: %s", err);
		return;
	}
	id = weft_handshake_remote_identity(pd->hs);
	if (weft_handshake_remote_static(pd->hs, remote) < 0 || !id) {
		pending_drop(d, pd);
		return;
	}
	weft_format_addr(from, sizeof(from), src);
	p = match_peer(d, remote, id->nickname, src, src_len);
	ret = weft_handshake_check_pin(p && p->has_pin ? p->pin : NULL, d->cfg->require_pinned_keys,
				       remote, err);
	if (ret < 0) {
		d->drops[WEFT_DROP_HANDSHAKE_REFUSED]++;
		weft_log_ratelimited(&hs_log_rl, now, LOG_WARNING, "%s (%s at %s) refused: %s",
				     p ? p->name : "unknown member", id->nickname, from, err);
		pending_drop(d, pd);
		return;
	}
	if (!p) {
		p = weft_peer_new(d, id->nickname);
		if (!p) {
			d->drops[WEFT_DROP_HANDSHAKE_REFUSED]++;
			pending_drop(d, pd);
			return;
		}
		log_info("new member %s at %s", id->nickname, from);
		/* Its CONFIRM is its first authenticated datagram: the clock for
		 * forget_member_after starts now, not at the epoch. */
		p->last_rx_ms = now;
	}
	learn_static(p, remote);
	/* The endpoint follows the newest authenticated datagram. */
	memcpy(&p->endpoint, src, src_len);
	p->endpoint_len = src_len;
	p->has_endpoint = true;
	p->local = dg->local;
	if (install_session(p, pd->hs, pd->local_index, true, now) < 0) {
		log_warn("peer %s: could not install the new session", p->name);
		pending_drop(d, pd);
		return;
	}
	weft_handshake_free(pd->hs);
	memset(pd, 0, sizeof(*pd));
	/* Our own handshake toward it is moot now. */
	weft_peer_abort_handshake(p);
	/* The initiator holds this session as unconfirmed until something
	 * arrives on it: answer at once. */
	weft_peer_send_keepalive(p, now);
}

void weft_peers_handle_handshake(struct weftd *d, const struct weft_wire_msg *msg,
				 const struct weft_udp_dgram *dg, uint64_t now)
{
	switch (msg->type) {
	case WEFT_WIRE_HELLO:
		handle_hello(d, msg, dg, now);
		break;
	case WEFT_WIRE_WELCOME:
		handle_welcome(d, msg, dg, now);
		break;
	case WEFT_WIRE_CONFIRM:
		handle_confirm(d, msg, dg, now);
		break;
	default:
		d->drops[WEFT_DROP_GARBAGE]++;
	}
}

void weft_handshakes_free(struct weftd *d)
{
	for (int i = 0; i < PENDING_MAX; i++)
		if (d->pending[i].hs)
			pending_drop(d, &d->pending[i]);
	weft_handshake_free(d->spare_hs);
	d->spare_hs = NULL;
}

/* ---- timers ---------------------------------------------------------------------- */

void weft_peer_handshake_tick(struct weft_peer *p, uint64_t now, bool silent)
{
	if (p->hs && now - p->hs_sent_ms >= HANDSHAKE_TIMEOUT_MS) {
		log_debug("peer %s: handshake unanswered", p->name);
		weft_peer_abort_handshake(p);
	}
	/* Our new session never carried anything back: its CONFIRM was lost or
	 * refused, and a peer that does not know our address would never start
	 * over. Treat the handshake as failed. */
	struct weft_session *next = p->sessions.next;
	if (next && next->rx_packets == 0 && now - next->created_ms >= HANDSHAKE_TIMEOUT_MS) {
		log_info("peer %s: new session never confirmed; handshaking again", p->name);
		weft_session_set_drop_next(&p->sessions);
	}
	if (p->hs || !p->has_endpoint || now < p->hs_next_ms)
		return;
	/* No session, one due for rekeying, or a peer gone quiet (it may have
	 * restarted and lost its sessions). */
	if (weft_session_set_needs_rekey(&p->sessions, now) || (silent && p->last_rx_ms))
		weft_peer_initiate(p, now);
}
