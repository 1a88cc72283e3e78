/* SPDX-License-Identifier: MIT */
/* The peers table: slots (stable ids for the MAC table) plus a dense list
 * (cheap iteration), each peer's configuration, endpoint, sessions and
 * liveness. Removing a peer takes everything it owns with it: its initiator
 * handshake, its sessions and their indices, its MAC entries. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/gossip.h"
#include "common/handshake.h"
#include "common/mactable.h"
#include "daemon/log.h"
#include "daemon/peers.h"
#include "daemon/resolve.h"

/* The key we know @p by: its pin, else the one it proved first. */
static const uint8_t *known_key(const struct weft_peer *p)
{
	return p->has_pin ? p->pin : p->has_static ? p->remote_static : NULL;
}

int weft_peers_new(struct weft_peers **out, unsigned max, struct weft_index *index,
		   struct weft_mactable *macs, char err[static WEFT_ERRLEN])
{
	struct weft_peers *ps = calloc(1, sizeof(*ps));

	*out = NULL;
	if (!ps || !(ps->slot = calloc(max, sizeof(*ps->slot))) ||
	    !(ps->list = calloc(max, sizeof(*ps->list)))) {
		weft_peers_free(ps);
		snprintf(err, WEFT_ERRLEN, "out of memory for %u peers", max);
		return -ENOMEM;
	}
	ps->max = max;
	ps->index = index;
	ps->macs = macs;
	*out = ps;
	return 0;
}

void weft_peers_free(struct weft_peers *ps)
{
	struct weft_peer *p;

	if (!ps)
		return;
	if (ps->list)
		weft_peers_foreach(ps, p) weft_peers_remove(ps, p);
	free(ps->slot);
	free(ps->list);
	free(ps);
}

struct weft_peer *weft_peers_add(struct weft_peers *ps, const char *name)
{
	struct weft_peer *p;
	unsigned id;

	if (ps->n == ps->max)
		return NULL;
	for (id = 0; ps->slot[id]; id++)
		;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->id = id;
	p->serial = ++ps->next_serial;
	snprintf(p->name, sizeof(p->name), "%s", name);
	weft_session_set_init(&p->sessions, ps->index);
	ps->slot[id] = p;
	p->pos = ps->n;
	ps->list[ps->n++] = p;
	return p;
}

unsigned weft_peers_count_members(const struct weft_peers *ps)
{
	const struct weft_peer *p;
	unsigned n = 0;

	weft_peers_foreach(ps, p) n += !p->configured;
	return n;
}

struct weft_peer *weft_peers_add_member(struct weft_peers *ps, const char *name,
					enum weft_peer_origin origin)
{
	struct weft_peer *p;

	/* Each member costs a slot, handshakes and a copy of every broadcast:
	 * one member making up identities must not take them all. */
	if (weft_peers_count_members(ps) >= ps->cfg->max_learned_members)
		return NULL;
	p = weft_peers_add(ps, name);
	if (p)
		p->origin = origin;
	return p;
}

void weft_peer_end_initiation(struct weft_peers *ps, struct weft_peer *p)
{
	if (!p->init.hs)
		return;
	weft_index_remove(ps->index, &p->init.entry);
	weft_handshake_free(p->init.hs);
	p->init.hs = NULL;
}

const char *weft_peer_endpoint_text(const struct weft_peer *p,
				    char buf[static WEFT_SOCKADDR_STRLEN])
{
	return weft_sockaddr_is_set(&p->endpoint) ? weft_sockaddr_format(buf, &p->endpoint) : NULL;
}

void weft_peer_confirmed(struct weft_peer *p)
{
	struct weft_initiation *in = &p->init;

	if (in->warned)
		weft_peer_log(LOG_INFO, p,
			      "peer %s (%s) reached: session established after %u failed handshake "
			      "attempts",
			      p->name, p->fingerprint, in->failed);
	in->failed = 0;
	in->warned = false;
	/* The CONFIRM needs no more tries; the next handshake starts quick. */
	in->tries = 0;
	/* What we heard of it before says nothing of it from now on: a peer that
	 * dies later gets the unreachable peer's slow wait. */
	in->heard_ms = 0;
}

void weft_peers_remove(struct weft_peers *ps, struct weft_peer *p)
{
	struct weft_peer *last = ps->list[ps->n - 1], *q;

	/* Nobody relays through it any more. */
	weft_peers_foreach(ps, q) if (q->via == p) q->via = NULL;

	weft_peer_end_initiation(ps, p);
	weft_session_set_clear(&p->sessions);
	weft_mactable_forget_peer(ps->macs, p->id);
	last->pos = p->pos;
	ps->list[p->pos] = last;
	ps->n--;
	ps->slot[p->id] = NULL;
	free(p);
}

struct weft_peer *weft_peers_find_name(const struct weft_peers *ps, const char *name)
{
	struct weft_peer *p;

	weft_peers_foreach(ps, p) if (!strcmp(p->name, name)) return p;
	return NULL;
}

struct weft_peer *weft_peers_find_key(const struct weft_peers *ps,
				      const uint8_t key[static WEFT_KEY_LEN])
{
	struct weft_peer *p;

	weft_peers_foreach(ps, p)
	{
		const uint8_t *known = known_key(p);

		if (known && !sodium_memcmp(known, key, WEFT_KEY_LEN))
			return p;
	}
	return NULL;
}

struct weft_peer *weft_peers_find_id(const struct weft_peers *ps, const uint8_t *id)
{
	struct weft_peer *p;

	weft_peers_foreach(ps, p) if (p->has_static &&
				      !memcmp(p->remote_static, id, WEFT_GOSSIP_ID_LEN)) return p;
	return NULL;
}

struct weft_peer *weft_peers_find_endpoint(const struct weft_peers *ps,
					   const union weft_sockaddr *addr)
{
	struct weft_peer *p;

	weft_peers_foreach(ps, p) if (weft_sockaddr_is_set(&p->endpoint) &&
				      weft_sockaddr_equal(&p->endpoint, addr)) return p;
	return NULL;
}

/* ---- configuration ----------------------------------------------------------- */

static void apply_config(struct weft_peers *ps, struct weft_peer *p,
			 const struct weft_config_peer *cp)
{
	const struct weft_config *cfg = ps->cfg;
	char err[WEFT_ERRLEN];

	p->configured = true;
	p->origin = WEFT_PEER_FROM_CONFIG;
	p->has_pin = cp->has_public_key;
	if (p->has_pin)
		memcpy(p->pin, cp->public_key, WEFT_KEY_LEN);
	if (cp->has_endpoint) {
		int family = cfg->listen.addr.sa.sa_family == AF_INET ? AF_INET : AF_UNSPEC;
		union weft_sockaddr addr;

		if (weft_resolve_endpoint(&cp->endpoint, family, &addr, err) == 0) {
			p->endpoint = addr;
			/* A new address may want another source; the peer's
			 * next datagram tells. */
			memset(&p->local, 0, sizeof(p->local));
		} else {
			weft_log_peer(LOG_WARNING, p->name, NULL, "peer %s: %s", p->name, err);
		}
	}
	/* A learned key that the new pin contradicts is dropped with its sessions. */
	if (p->has_pin && p->has_static && sodium_memcmp(p->pin, p->remote_static, WEFT_KEY_LEN)) {
		weft_peer_log(LOG_WARNING, p, "peer %s: pinned key changed; dropping its sessions",
			      p->name);
		weft_session_set_clear(&p->sessions);
		weft_mactable_forget_peer(ps->macs, p->id);
		p->has_static = false;
		p->up = false;
	}
}

unsigned weft_peers_configure(struct weft_peers *ps, const struct weft_config *cfg)
{
	struct weft_peer *p;
	unsigned refused = 0;

	ps->cfg = cfg;
	/* Configured peers that the file no longer names go away. */
	weft_peers_foreach(ps, p)
	{
		if (p->configured && !weft_config_find_peer(cfg, p->name)) {
			weft_log_peer(LOG_INFO, p->name, NULL,
				      "peer %s removed from the configuration", p->name);
			weft_peers_remove(ps, p);
		}
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct weft_config_peer *cp = &cfg->peers[i];

		p = weft_peers_find_name(ps, cp->name);
		if (!p) {
			p = weft_peers_add(ps, cp->name);
			if (!p) {
				log_err("no room for peer %s", cp->name);
				refused++;
				continue;
			}
		}
		apply_config(ps, p, cp);
	}
	return refused;
}

/* ---- liveness ---------------------------------------------------------------- */

bool weft_peer_can_send(const struct weft_peer *p, uint64_t now)
{
	return weft_sockaddr_is_set(&p->endpoint) && weft_session_set_send(&p->sessions, now);
}

struct weft_peer *weft_peer_relay(const struct weft_peer *p, uint64_t now)
{
	struct weft_peer *via = p->via;

	return via && via != p && (via->capabilities & WEFT_HANDSHAKE_CAP_MESH) &&
		       weft_peer_can_send(via, now)
		   ? via
		   : NULL;
}

bool weft_peer_route(const struct weft_peer *p, uint64_t now, struct weft_peer **via)
{
	bool direct = weft_peer_can_send(p, now);

	*via = NULL;
	if (direct && p->up)
		return true;
	*via = p->has_static ? weft_peer_relay(p, now) : NULL;
	return direct || *via;
}

bool weft_peer_silent(const struct weft_peers *ps, const struct weft_peer *p, uint64_t now)
{
	return now - p->last_rx_ms >= (uint64_t)ps->cfg->peer_timeout * 1000u;
}

/* ---- identities ---------------------------------------------------------------- */

static int refuse_other_key(struct weft_peer *p, const uint8_t key[static WEFT_KEY_LEN],
			    char err[static WEFT_ERRLEN])
{
	char fpr[WEFT_KEY_FPR_LEN], was[WEFT_KEY_FPR_LEN];

	p->count.key_conflicts++;
	weft_key_fingerprint(fpr, key);
	weft_key_fingerprint(was, known_key(p));
	/* The same words as weft_handshake_check_pin(), both keys named. */
	if (p->has_pin)
		return weft_failf(err, -EKEYREJECTED, "pinned key differs: pinned %s, presented %s",
				  was, fpr);
	return weft_failf(err, -EKEYREJECTED,
			  "key differs from the one it proved first: known %s, presented %s "
			  "(`weftctl unpin %s' accepts a new one)",
			  was, fpr, p->name);
}

/* -ELOOP when @key is @own: someone reflects our own handshake at us. */
static int refuse_own_key(const uint8_t key[static WEFT_KEY_LEN],
			  const uint8_t own[static WEFT_KEY_LEN], char err[static WEFT_ERRLEN])
{
	if (sodium_memcmp(key, own, WEFT_KEY_LEN))
		return 0;
	return weft_failf(err, -ELOOP, "it has our own key (a reflected handshake)");
}

int weft_peer_check_key(struct weft_peer *p, const uint8_t key[static WEFT_KEY_LEN],
			const uint8_t own[static WEFT_KEY_LEN], char err[static WEFT_ERRLEN])
{
	const uint8_t *known = known_key(p);
	int ret = refuse_own_key(key, own, err);

	if (ret < 0)
		return ret;
	if (known && sodium_memcmp(known, key, WEFT_KEY_LEN))
		return refuse_other_key(p, key, err);
	return 0;
}

int weft_peers_identify(const struct weft_peers *ps, const uint8_t key[static WEFT_KEY_LEN],
			const uint8_t own[static WEFT_KEY_LEN], const char *nickname,
			const union weft_sockaddr *src, struct weft_peer **out,
			char err[static WEFT_ERRLEN])
{
	struct weft_peer *p;
	int ret = refuse_own_key(key, own, err);

	*out = NULL;
	if (ret < 0)
		return ret;
	if ((p = weft_peers_find_key(ps, key))) {
		*out = p;
		return 0;
	}
	/* The nickname is the sender's claim, not a proof: a name that has a
	 * key is that key's, whoever asks. */
	p = weft_peers_find_name(ps, nickname);
	if (p && known_key(p)) {
		*out = p; /* whose name it claimed, for the log */
		return refuse_other_key(p, key, err);
	}
	/* A configured peer we never met is the one at its configured address;
	 * one configured without an address (it only calls us), or any with
	 * trust_nicknames, is whoever claims its name first. */
	if (p && p->configured && !ps->cfg->trust_nicknames && weft_sockaddr_is_set(&p->endpoint) &&
	    !weft_sockaddr_equal(&p->endpoint, src)) {
		p->count.key_conflicts++;
		*out = p;
		return weft_failf(err, -EKEYREJECTED,
				  "it calls itself %s, a configured peer whose key is unknown, "
				  "from an address that is not that peer's (pin its public_key, "
				  "or let this host reach it first)",
				  nickname);
	}
	if (!p)
		p = weft_peers_find_endpoint(ps, src);
	if (p && known_key(p))
		p = NULL; /* that address's peer has another key: a new member */
	*out = p;
	return 0;
}

void weft_peer_set_endpoint(struct weft_peer *p, const union weft_sockaddr *src,
			    const struct weft_udp_local_addr *local)
{
	p->endpoint = *src;
	p->local = *local;
}

/* Roaming follows authenticated datagrams, but a member alternating its
 * source addresses must not make us chase it at packet rate (or send every
 * reply somewhere new): one move per ROAM_INTERVAL_MS. The first move is
 * always allowed. */
#define ROAM_INTERVAL_MS 1000u

static bool may_move(struct weft_peer *p, uint64_t now)
{
	if (p->count.endpoint_moves && now - p->moved_ms < ROAM_INTERVAL_MS) {
		p->count.endpoint_moves_limited++;
		return false;
	}
	p->count.endpoint_moves++;
	p->moved_ms = now;
	return true;
}

void weft_peer_received(struct weft_peer *p, struct weft_session *s, bool newest,
			const struct weft_udp_dgram *dg, uint64_t now)
{
	bool pending = p->sessions.next == s;
	enum weft_session_slot slot = weft_session_set_received(&p->sessions, s);
	bool follow = slot == WEFT_SESSION_SLOT_CURRENT && newest;
	char was[WEFT_SOCKADDR_STRLEN], is[WEFT_SOCKADDR_STRLEN];

	/* Our handshake's session carried its first datagram: confirmed. */
	if (pending && slot == WEFT_SESSION_SLOT_CURRENT)
		weft_peer_confirmed(p);
	if (follow)
		p->local = dg->local;
	if (follow && !weft_sockaddr_equal(dg->src, &p->endpoint) && may_move(p, now)) {
		weft_log_peer(LOG_INFO, p->name, weft_sockaddr_format(is, dg->src),
			      "peer %s (%s) moved from %s to %s", p->name, p->fingerprint,
			      weft_sockaddr_is_set(&p->endpoint)
				  ? weft_sockaddr_format(was, &p->endpoint)
				  : "nowhere",
			      is);
		p->endpoint = *dg->src;
	}
	p->count.rx_packets++;
	p->count.rx_bytes += dg->len;
	p->last_rx_ms = now;
	if (!p->up) {
		p->up = true;
		/* What it saw of us before may be stale: it tells again. */
		memset(&p->sees_us_at, 0, sizeof(p->sees_us_at));
		weft_peer_log(LOG_INFO, p, "peer %s (%s) is up", p->name, p->fingerprint);
	}
}

int weft_peer_unpin(struct weft_peers *ps, struct weft_peer *p, char err[static WEFT_ERRLEN])
{
	if (p->has_pin)
		return weft_failf(err, -EPERM,
				  "peer %s has a configured public_key: change the configuration",
				  p->name);
	if (!p->has_static)
		return weft_failf(err, -ENOENT, "peer %s has no learned key", p->name);
	weft_peer_log(LOG_NOTICE, p,
		      "peer %s: learned key %s cleared; the next key it proves is "
		      "accepted",
		      p->name, p->fingerprint);
	weft_session_set_clear(&p->sessions);
	weft_peer_end_initiation(ps, p);
	weft_mactable_forget_peer(ps->macs, p->id);
	p->has_static = false;
	p->up = false;
	memset(p->fingerprint, 0, sizeof(p->fingerprint));
	return 0;
}

void weft_peer_learn_key(struct weft_peer *p, const uint8_t key[static WEFT_KEY_LEN])
{
	memcpy(p->remote_static, key, WEFT_KEY_LEN);
	p->has_static = true;
	weft_key_fingerprint(p->fingerprint, key);
}

static void update_liveness(struct weft_peers *ps, struct weft_peer *p, uint64_t now)
{
	bool silent = weft_peer_silent(ps, p, now);

	weft_session_set_expire(&p->sessions, now);
	if (p->up && (silent || !weft_session_set_send(&p->sessions, now))) {
		p->up = false;
		weft_peer_log(LOG_INFO, p, "peer %s (%s) is down: %s", p->name, p->fingerprint,
			      silent ? "no traffic" : "no session");
		weft_mactable_forget_peer(ps->macs, p->id);
	}
}

/* A member that joined by handshake or gossip, that no member reaches any
 * more and that has been silent this long is gone for good (a host removed,
 * re-keyed or renamed): its slot and its handshake retries go too. If it
 * comes back, it joins again. */
static bool forgotten(const struct weft_peers *ps, const struct weft_peer *p, uint64_t now)
{
	uint64_t after = (uint64_t)ps->cfg->forget_member_after * 1000u;

	return !p->configured && !p->up && !p->in_mesh && now - p->last_rx_ms >= after;
}

void weft_peers_tick(struct weft_peers *ps, uint64_t now)
{
	struct weft_peer *p;

	weft_peers_foreach(ps, p)
	{
		update_liveness(ps, p, now);
		if (forgotten(ps, p, now)) {
			weft_log_peer(LOG_INFO, p->name, NULL,
				      "member %s (%s) forgotten: silent for %llu s", p->name,
				      p->fingerprint,
				      (unsigned long long)((now - p->last_rx_ms) / 1000));
			weft_peers_remove(ps, p);
		}
	}
}
