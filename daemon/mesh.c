/* SPDX-License-Identifier: MIT */
/* The mesh. Every tick: our own entry is rebuilt from the live sessions
 * (links), the addresses peers reached us at and those they say they see us
 * at (OBSERVED, which each mesh peer is told in turn); routes are recomputed when
 * anything changed (at least once a second); every member the table holds
 * as reachable gets a peer (and so direct handshake attempts, up to the
 * cap); a peer without a direct session gets the first hop of its route as
 * its relay; changed entries go to every mesh peer within a second, the
 * whole table every gossip_interval and on every new session. The pure
 * parts (codec, merge rules, routes) are common/gossip.c and members.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/banlist.h"
#include "common/config.h"
#include "common/endpoint.h"
#include "common/handshake.h"
#include "common/key.h"
#include "common/members.h"
#include "common/wire.h"
#include "daemon/clock.h"
#include "daemon/egress.h"
#include "daemon/handshakes.h"
#include "daemon/identity.h"
#include "daemon/log.h"
#include "daemon/mesh.h"
#include "daemon/peers.h"

/* Changed entries go out at most this often. */
#define CHANGE_INTERVAL_MS 1000
/* Routes are recomputed at least this often (unreachability is timed). */
#define ROUTE_INTERVAL_MS 1000
/* The members file is written at most this often. */
#define SAVE_INTERVAL_MS 10000

struct weft_mesh {
	struct weft_mesh_deps d;
	struct weft_members *members;
	struct weft_mesh_counters count;
	bool routes_dirty;
	uint64_t routed_ms;
	uint64_t gossiped_ms; /* the last round of changes */
	uint64_t next_full_ms;
	bool file_dirty;
	uint64_t saved_ms;
	uint8_t (*links)[WEFT_GOSSIP_ID_LEN]; /* scratch: our own links */
	uint8_t *record;		      /* scratch: one MEMBERS record body */
	size_t record_cap;
};

/* ---- policy ------------------------------------------------------------------ */

/* Gossip never brings in a key that a handshake from it would be refused
 * for: never a banned key; with require_pinned_keys only pinned keys (and
 * those are known peers already); never another key under a pinned peer's
 * name. */
static bool policy(void *ctx, const uint8_t key[static WEFT_KEY_LEN], const char *nickname)
{
	struct weft_mesh *m = ctx;
	const struct weft_peer *p;

	if (m->d.bans && weft_banlist_find(m->d.bans, key))
		return false;
	if (weft_peers_find_key(m->d.peers, key))
		return true;
	if (m->d.cfg->require_pinned_keys)
		return false;
	p = weft_peers_find_name(m->d.peers, nickname);
	return !(p && p->has_pin);
}

/* ---- our own entry --------------------------------------------------------------- */

static bool is_wildcard(const union weft_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == htonl(INADDR_ANY);
	return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
}

/* @local with @port as a socket address; false for one no other host can use. */
static bool local_to_sockaddr(union weft_sockaddr *out, const struct weft_udp_local_addr *local,
			      uint16_t port)
{
	memset(out, 0, sizeof(*out));
	if (local->family == AF_INET ||
	    (local->family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&local->v6))) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(port);
		if (local->family == AF_INET)
			out->in4.sin_addr = local->v4;
		else
			memcpy(&out->in4.sin_addr, &local->v6.s6_addr[12], 4);
		return true;
	}
	if (local->family != AF_INET6 || IN6_IS_ADDR_LINKLOCAL(&local->v6))
		return false;
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = htons(port);
	out->in6.sin6_addr = local->v6;
	return true;
}

static void add_addr(union weft_sockaddr *addrs, unsigned *n, const union weft_sockaddr *a)
{
	for (unsigned i = 0; i < *n; i++)
		if (weft_sockaddr_equal(&addrs[i], a))
			return;
	if (*n < WEFT_GOSSIP_MAX_ADDRS)
		addrs[(*n)++] = *a;
}

/* Where we can be reached: the listen address when it names one, each
 * address of ours that a peer's datagrams arrived at, then each address a
 * peer says our datagrams come from (behind a NAT, the only ones a member
 * elsewhere can reach; they go last, as a member tries them in order).
 * Links: every member we have a live session with. */
static void update_own(struct weft_mesh *m, uint64_t now)
{
	const union weft_sockaddr *listen = &m->d.cfg->listen.addr;
	uint16_t port = weft_sockaddr_port(listen);
	union weft_sockaddr addrs[WEFT_GOSSIP_MAX_ADDRS], a;
	unsigned n_addrs = 0, n_links = 0;
	struct weft_peer *p;

	if (!is_wildcard(listen))
		add_addr(addrs, &n_addrs, listen);
	weft_peers_foreach(m->d.peers, p)
	{
		if (!p->up || !p->has_static)
			continue;
		if (local_to_sockaddr(&a, &p->local, port))
			add_addr(addrs, &n_addrs, &a);
		if (n_links < WEFT_GOSSIP_MAX_LINKS)
			memcpy(m->links[n_links++], p->remote_static, WEFT_GOSSIP_ID_LEN);
	}
	weft_peers_foreach(m->d.peers, p)
	{
		if (p->up && p->has_static && weft_sockaddr_is_set(&p->sees_us_at))
			add_addr(addrs, &n_addrs, &p->sees_us_at);
	}
	if (weft_members_set_own(m->members, addrs, n_addrs,
				 (const uint8_t(*)[WEFT_GOSSIP_ID_LEN])m->links, n_links, now))
		m->routes_dirty = true;
}

/* ---- members to peers ------------------------------------------------------------ */

static unsigned direct_learned(const struct weft_peers *ps)
{
	const struct weft_peer *p;
	unsigned n = 0;

	weft_peers_foreach(ps, p) n += !p->configured && weft_sockaddr_is_set(&p->endpoint);
	return n;
}

static bool direct_allowed(const struct weft_mesh *m)
{
	unsigned cap = m->d.cfg->max_direct;

	return cap == 0 || direct_learned(m->d.peers) < cap;
}

/* Whether the member with @key, calling itself @nickname, is a peer already:
 * by its key, or by its name when that peer's key is not known yet (a
 * configured peer that has not handshaken: its handshake will tell, and a
 * second peer for it would only fight the first). */
static bool is_peer(const struct weft_mesh *m, const uint8_t key[static WEFT_KEY_LEN],
		    const char *nickname)
{
	const struct weft_peer *p;

	if (weft_peers_find_key(m->d.peers, key))
		return true;
	p = weft_peers_find_name(m->d.peers, nickname);
	return p && !p->has_static;
}

/* A peer for a member first learned by gossip (or from the members file),
 * named by its nickname, or nickname-XXXX (its id) when that is taken. */
static struct weft_peer *adopt(struct weft_mesh *m, const uint8_t key[static WEFT_KEY_LEN],
			       const char *nickname, const union weft_sockaddr *addr,
			       uint64_t now)
{
	char name[WEFT_CONFIG_NAME_MAX + 1];
	struct weft_peer *p;

	snprintf(name, sizeof(name), "%s", nickname);
	if (weft_peers_find_name(m->d.peers, name))
		snprintf(name, sizeof(name), "%.27s-%02x%02x", nickname, key[0], key[1]);
	p = weft_peers_add_member(m->d.peers, name, WEFT_PEER_FROM_GOSSIP);
	if (!p)
		return NULL;
	p->has_static = true;
	memcpy(p->remote_static, key, WEFT_KEY_LEN);
	weft_key_fingerprint(p->fingerprint, key);
	/* The clock for forget_member_after starts now. */
	p->last_rx_ms = now;
	if (addr && direct_allowed(m))
		p->endpoint = *addr;
	m->count.members_learned++;
	return p;
}

/* A learned peer whose HELLO goes unanswered sends it again to the
 * member's next gossiped address, one address a try: the tries go at 0, 1,
 * 2.5 and 5.5 s, so a member with two addresses (the one behind its NAT and
 * the one the NAT shows) is tried at both within a second. Only while a
 * HELLO is in flight: a CONFIRM goes where the WELCOME came from. */
static void rotate_address(struct weft_peer *p, const struct weft_member *mb)
{
	if (p->configured || p->up || mb->n_addrs < 2 || !p->init.hs ||
	    p->init.tries == p->addr_turn)
		return;
	p->addr_turn = p->init.tries;
	p->endpoint = mb->addrs[p->init.tries % mb->n_addrs];
	memset(&p->local, 0, sizeof(p->local));
}

/* FNV-1a over @mb's addresses: tells a changed list from the one seen before. */
static uint64_t addrs_hash(const struct weft_member *mb)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (unsigned i = 0; i < mb->n_addrs; i++) {
		const union weft_sockaddr *a = &mb->addrs[i];
		const uint8_t *b = (const uint8_t *)a;
		size_t len = a->sa.sa_family == AF_INET ? sizeof(a->in4) : sizeof(a->in6);

		for (size_t j = 0; j < len; j++)
			h = (h ^ b[j]) * UINT64_C(0x100000001b3);
	}
	return h;
}

/* A learned peer without a session whose member now gossips other
 * addresses (it was told where a NAT shows it, or it moved) tries one it
 * was not trying, now, and its tries start quick again: the last address
 * that differs from its endpoint, as a member lists what its peers told it
 * last. Otherwise a peer in the slow wait of an unreachable one would try
 * the new address only 30 s or more later. */
static void follow_new_addresses(struct weft_mesh *m, struct weft_peer *p,
				 const struct weft_member *mb, uint64_t now)
{
	uint64_t h = addrs_hash(mb);

	if (h == p->addrs_hash)
		return;
	p->addrs_hash = h;
	if (p->configured || p->up || !weft_sockaddr_is_set(&p->endpoint))
		return;
	for (unsigned i = mb->n_addrs; i-- > 0;) {
		if (!weft_sockaddr_equal(&mb->addrs[i], &p->endpoint)) {
			p->endpoint = mb->addrs[i];
			memset(&p->local, 0, sizeof(p->local));
			p->addr_turn = 0;
			weft_handshakes_kick(m->d.handshakes, p, now);
			return;
		}
	}
}

static void update_peers(struct weft_mesh *m, uint64_t now)
{
	struct weft_peers *ps = m->d.peers;
	struct weft_peer *p;

	for (unsigned i = 0; i < weft_members_count(m->members); i++) {
		const struct weft_member *mb = weft_members_at(m->members, i);

		if (!mb->reachable || is_peer(m, mb->key, mb->nickname))
			continue;
		p = adopt(m, mb->key, mb->nickname, mb->n_addrs ? &mb->addrs[0] : NULL, now);
		if (!p) {
			m->count.gossip_full++;
			continue;
		}
		p->addrs_hash = addrs_hash(mb);
		log_info("member %s (%s) learned by gossip%s", p->name, p->fingerprint,
			 weft_sockaddr_is_set(&p->endpoint) ? "" : "; reached through relays");
	}
	weft_peers_foreach(ps, p)
	{
		const struct weft_member *mb =
		    p->has_static ? weft_members_find(m->members, p->remote_static) : NULL;

		p->in_mesh = mb && mb->reachable;
		p->via = p->in_mesh && mb->hops > 1 ? weft_peers_find_id(ps, mb->next_hop) : NULL;
		if (!mb || p->configured)
			continue;
		/* A member reached by `weftctl connect' was named after its
		 * address; its own entry tells the name it goes by. */
		if (p->origin == WEFT_PEER_FROM_CONTROL && strcmp(p->name, mb->nickname) &&
		    !weft_peers_find_name(ps, mb->nickname)) {
			log_info("peer %s is member %s", p->name, mb->nickname);
			snprintf(p->name, sizeof(p->name), "%s", mb->nickname);
		}
		if (!weft_sockaddr_is_set(&p->endpoint) && mb->n_addrs && direct_allowed(m)) {
			p->endpoint = mb->addrs[0];
			p->addrs_hash = addrs_hash(mb);
		}
		follow_new_addresses(m, p, mb, now);
		rotate_address(p, mb);
	}
}

/* ---- gossip in and out ------------------------------------------------------------ */

void weft_mesh_receive(struct weft_mesh *m, struct weft_peer *from, const uint8_t *body,
		       size_t len, uint64_t now)
{
	struct weft_gossip_reader r;
	struct weft_gossip_entry e;
	int n = weft_gossip_check(body, len);

	m->count.gossip_records_received++;
	if (n == -EPROTONOSUPPORT) {
		m->count.gossip_unknown++;
		return;
	}
	if (n < 0 || !from->has_static) {
		m->count.gossip_malformed++;
		return;
	}
	weft_gossip_reader_init(&r, body, len);
	while (weft_gossip_reader_next(&r, &e)) {
		switch (weft_members_merge(m->members, &e, from->remote_static, now)) {
		case WEFT_MEMBERS_NEW:
			m->file_dirty = true;
			/* fall through */
		case WEFT_MEMBERS_UPDATED:
			m->routes_dirty = true;
			break;
		case WEFT_MEMBERS_UNCHANGED:
		case WEFT_MEMBERS_OWN_OLD:
			break;
		case WEFT_MEMBERS_STALE:
			m->count.gossip_stale++;
			break;
		case WEFT_MEMBERS_CONFLICT:
			m->count.gossip_conflict++;
			break;
		case WEFT_MEMBERS_OWN:
			m->count.gossip_own_bumped++;
			break;
		case WEFT_MEMBERS_REFUSED:
			m->count.gossip_refused++;
			break;
		case WEFT_MEMBERS_FULL:
			m->count.gossip_full++;
			break;
		}
	}
}

void weft_mesh_observed(struct weft_mesh *m, struct weft_peer *from, const uint8_t *body,
			size_t len)
{
	union weft_sockaddr seen;
	int ret = weft_gossip_observed_parse(body, len, &seen);

	m->count.observed_received++;
	if (ret == -EPROTONOSUPPORT) {
		m->count.observed_unknown++;
		return;
	}
	if (ret < 0 || !from->has_static) {
		m->count.observed_malformed++;
		return;
	}
	from->sees_us_at = seen;
}

/* Tells @p where its datagrams come from, once per session generation and
 * again whenever that changes (it roamed, or its NAT moved it). */
static void tell_observed(struct weft_mesh *m, struct weft_peer *p, uint64_t now)
{
	uint8_t record[WEFT_OBSERVED_MAX_LEN], *body;
	size_t len;

	if (p->told_handshakes == p->count.handshakes &&
	    weft_sockaddr_equal(&p->told_at, &p->endpoint))
		return;
	len = weft_gossip_observed_encode(record, &p->endpoint);
	if (len == 0)
		return; /* nowhere to tell */
	if (weft_egress_reserve(m->d.egress, p, WEFT_WIRE_REC_OBSERVED, len, &body, now) < 0)
		return; /* counted by the egress */
	memcpy(body, record, len);
	p->told_at = p->endpoint;
	p->told_handshakes = p->count.handshakes;
	m->count.observed_sent++;
}

/* The entries changed at or after @since (0: all) as MEMBERS records for @p. */
static void gossip_to(struct weft_mesh *m, struct weft_peer *p, uint64_t since, uint64_t now)
{
	unsigned cursor = 0;
	uint8_t *body;
	size_t len;

	while ((len = weft_members_encode(m->members, m->record, m->record_cap, &cursor, since))) {
		if (weft_egress_reserve(m->d.egress, p, WEFT_WIRE_REC_MEMBERS, len, &body, now) < 0)
			return; /* counted by the egress */
		memcpy(body, m->record, len);
		m->count.gossip_records_sent++;
	}
}

static void gossip(struct weft_mesh *m, uint64_t now)
{
	bool full = now >= m->next_full_ms, changes = now - m->gossiped_ms >= CHANGE_INTERVAL_MS;
	struct weft_peer *p;

	weft_peers_foreach(m->d.peers, p)
	{
		if (!(p->capabilities & WEFT_HANDSHAKE_CAP_MESH) || !weft_peer_can_send(p, now))
			continue;
		tell_observed(m, p, now);
		/* A new session: it may have missed everything. */
		if (full || p->synced_handshakes != p->count.handshakes) {
			gossip_to(m, p, 0, now);
			p->synced_handshakes = p->count.handshakes;
		} else if (changes) {
			gossip_to(m, p, m->gossiped_ms, now);
		}
	}
	if (changes)
		m->gossiped_ms = now;
	if (full)
		m->next_full_ms = now + (uint64_t)m->d.cfg->gossip_interval * 1000u;
}

/* ---- the members file ----------------------------------------------------------- */

/* One member a line: public key, nickname, then its addresses. */
static void save(struct weft_mesh *m)
{
	const char *path = m->d.cfg->members_file;
	char tmp[WEFT_CONFIG_PATH_MAX + 8], key[WEFT_KEY_B64_LEN], addr[WEFT_SOCKADDR_STRLEN];
	FILE *f;
	int fd;

	m->file_dirty = false;
	if (!path[0])
		return;
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		log_warn_errno(errno, "members file %s", tmp);
		if (fd >= 0)
			close(fd);
		return;
	}
	fprintf(f, "# weft members learned by gossip; rewritten by weftd\n");
	for (unsigned i = 0; i < weft_members_count(m->members); i++) {
		const struct weft_member *mb = weft_members_at(m->members, i);

		weft_key_encode(key, mb->key);
		fprintf(f, "%s %s", key, mb->nickname);
		for (unsigned j = 0; j < mb->n_addrs; j++)
			fprintf(f, " %s", weft_sockaddr_format(addr, &mb->addrs[j]));
		fputc('\n', f);
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
		log_warn_errno(errno, "members file %s", path);
		unlink(tmp);
	}
}

/* The members of an earlier run: a peer for each (unless known already),
 * tried at its first address; gossip then tells the rest. */
static void load(struct weft_mesh *m, uint64_t now)
{
	const char *path = m->d.cfg->members_file;
	char line[1024], err[WEFT_ERRLEN];
	unsigned n = 0, lineno = 0;
	FILE *f;

	if (!path[0] || !(f = fopen(path, "re")))
		return;
	while (fgets(line, sizeof(line), f)) {
		char *save_ptr = NULL, *key_text, *nick, *addr_text;
		uint8_t key[WEFT_KEY_LEN];
		struct weft_endpoint ep;
		union weft_sockaddr addr = {0};

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		key_text = strtok_r(line, " \t\n", &save_ptr);
		nick = strtok_r(NULL, " \t\n", &save_ptr);
		addr_text = strtok_r(NULL, " \t\n", &save_ptr);
		if (!key_text || !nick || weft_key_decode(key, key_text, err) < 0 ||
		    !weft_handshake_nickname_valid(nick) ||
		    (addr_text && weft_endpoint_parse(&ep, addr_text, true, err) < 0)) {
			log_warn("members file %s:%u: not a member line; skipped", path, lineno);
			continue;
		}
		if (addr_text && weft_sockaddr_from(&addr, &ep.addr.sa, weft_sockaddr_len(&ep.addr)) < 0)
			continue;
		if (!memcmp(key, m->d.identity->public_key, WEFT_KEY_LEN) || is_peer(m, key, nick) ||
		    !policy(m, key, nick))
			continue;
		if (adopt(m, key, nick, addr_text ? &addr : NULL, now))
			n++;
	}
	fclose(f);
	if (n)
		log_info("%u members from %s, tried again", n, path);
}

/* ---- life ------------------------------------------------------------------------ */

int weft_mesh_new(struct weft_mesh **out, const struct weft_mesh_deps *deps,
		  char err[static WEFT_ERRLEN])
{
	struct weft_mesh *m = calloc(1, sizeof(*m));
	int ret;

	*out = NULL;
	if (!m)
		return weft_errorf(err, -ENOMEM, "mesh");
	m->d = *deps;
	m->record_cap = deps->max_datagram - WEFT_WIRE_OVERHEAD;
	m->record = malloc(m->record_cap);
	m->links = calloc(WEFT_GOSSIP_MAX_LINKS, sizeof(*m->links));
	if (!m->record || !m->links) {
		weft_mesh_free(m);
		return weft_errorf(err, -ENOMEM, "mesh");
	}
	/* As many members as one member's links can name on the wire. */
	ret = weft_members_new(&m->members, deps->identity->public_key, deps->identity->nickname,
			       WEFT_GOSSIP_MAX_LINKS, policy, m);
	if (ret < 0) {
		weft_mesh_free(m);
		return weft_errorf(err, ret, "member table");
	}
	load(m, weft_clock_now_ms());
	*out = m;
	return 0;
}

void weft_mesh_free(struct weft_mesh *m)
{
	if (!m)
		return;
	if (m->members && m->file_dirty)
		save(m);
	weft_members_free(m->members);
	free(m->record);
	free(m->links);
	free(m);
}

void weft_mesh_reconfigure(struct weft_mesh *m, const struct weft_config *cfg)
{
	m->d.cfg = cfg;
	m->routes_dirty = true;
}

void weft_mesh_tick(struct weft_mesh *m, uint64_t now)
{
	update_own(m, now);
	if (m->routes_dirty || now - m->routed_ms >= ROUTE_INTERVAL_MS) {
		weft_members_route(m->members, now);
		if (weft_members_expire(m->members, now))
			m->file_dirty = true;
		update_peers(m, now);
		m->routes_dirty = false;
		m->routed_ms = now;
	}
	gossip(m, now);
	if (m->file_dirty && now - m->saved_ms >= SAVE_INTERVAL_MS) {
		save(m);
		m->saved_ms = now;
	}
}

void weft_mesh_forget(struct weft_mesh *m, const uint8_t key[static WEFT_KEY_LEN])
{
	if (weft_members_remove(m->members, key)) {
		m->file_dirty = true;
		m->routes_dirty = true;
	}
}

unsigned weft_mesh_own_addrs(const struct weft_mesh *m, union weft_sockaddr *out)
{
	struct weft_gossip_entry own;

	weft_members_own(m->members, &own);
	memcpy(out, own.addrs, own.n_addrs * sizeof(*out));
	return own.n_addrs;
}

const uint8_t *weft_mesh_own_id(const struct weft_mesh *m)
{
	return m->d.identity->public_key;
}

const struct weft_mesh_counters *weft_mesh_counters(const struct weft_mesh *m)
{
	return &m->count;
}
