/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/config.h"
#include "common/endpoint.h"
#include "common/key.h"
#include "common/mactable.h"
#include "common/sockaddr.h"
#include "daemon/clock.h"
#include "daemon/handshakes.h"
#include "daemon/log.h"
#include "daemon/membership.h"
#include "daemon/mesh.h"
#include "daemon/peers.h"
#include "daemon/statefile.h"

struct weft_membership {
	struct weft_membership_deps d;
	struct weft_banlist bans;
};

static json_t *refuse(const char *fmt, ...) WEFT_PRINTF(1, 2);

static json_t *refuse(const char *fmt, ...)
{
	char why[WEFT_ERRLEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return json_pack("{s:s}", "error", why);
}

/* ---- the ban file ---------------------------------------------------------------- */

static void load(struct weft_membership *m)
{
	const char *path = m->d.cfg->banned_file;
	char err[WEFT_ERRLEN], *text;
	size_t len;
	int ret, skipped;

	if (!path[0])
		return;
	ret = weft_statefile_read(path, &text, &len, err);
	if (ret < 0) {
		if (ret != -ENOENT)
			log_warn("ban list %s: not read (%s); no key is banned", path, err);
		return;
	}
	skipped = weft_banlist_parse(&m->bans, text, len, err);
	free(text);
	if (skipped < 0)
		log_warn("ban list %s: out of memory", path);
	else if (skipped > 0)
		log_warn("ban list %s: %d malformed lines skipped (first: %s)", path, skipped, err);
	if (m->bans.n)
		log_info("%zu keys banned (%s)", m->bans.n, path);
}

static void save(struct weft_membership *m)
{
	const char *path = m->d.cfg->banned_file;
	char err[WEFT_ERRLEN], *text;

	if (!path[0])
		return;
	text = weft_banlist_format(&m->bans);
	if (!text) {
		log_warn("ban list %s: out of memory; not saved", path);
		return;
	}
	if (weft_statefile_write(path, text, strlen(text), err) < 0)
		log_warn("ban list %s: not saved (%s)", path, err);
	free(text);
}

/* ---- life ------------------------------------------------------------------------- */

int weft_membership_new(struct weft_membership **out, const struct weft_membership_deps *deps,
			char err[static WEFT_ERRLEN])
{
	struct weft_membership *m = calloc(1, sizeof(*m));

	*out = NULL;
	if (!m)
		return weft_errorf(err, -ENOMEM, "membership");
	m->d = *deps;
	weft_banlist_init(&m->bans);
	load(m);
	*out = m;
	return 0;
}

void weft_membership_free(struct weft_membership *m)
{
	if (!m)
		return;
	weft_banlist_free(&m->bans);
	free(m);
}

void weft_membership_attach(struct weft_membership *m, struct weft_handshakes *handshakes,
			    struct weft_mesh *mesh)
{
	m->d.handshakes = handshakes;
	m->d.mesh = mesh;
}

const struct weft_banlist *weft_membership_bans(const struct weft_membership *m)
{
	return &m->bans;
}

/* ---- banning ------------------------------------------------------------------------ */

/* The key that identifies @p: the one it proved, else the one pinned. */
static const uint8_t *peer_key(const struct weft_peer *p)
{
	return p->has_static ? p->remote_static : p->has_pin ? p->pin : NULL;
}

static uint64_t wall_seconds(void)
{
	return weft_clock_wall_ms() / 1000u;
}

/* Bans @key under @name and forgets what the mesh knows of it. */
static int ban(struct weft_membership *m, const uint8_t key[static WEFT_KEY_LEN],
	       const char *name)
{
	int ret = weft_banlist_add(&m->bans, key, name, wall_seconds());

	if (ret < 0)
		ret = weft_banlist_add(&m->bans, key, NULL, wall_seconds());
	if (m->d.mesh)
		weft_mesh_forget(m->d.mesh, key);
	return ret;
}

/* A configured peer stays (its section names it) but has nothing left:
 * no session, no MACs, no handshake; the handshakes skip it while banned. */
static void silence(struct weft_peers *ps, struct weft_peer *p)
{
	weft_peer_end_initiation(ps, p);
	weft_session_set_clear(&p->sessions);
	weft_mactable_forget_peer(ps->macs, p->id);
	p->up = false;
	p->in_mesh = false;
	p->via = NULL;
}

/* The peer named, or whose key or fingerprint is @who. */
static struct weft_peer *find_peer(struct weft_peers *ps, const char *who)
{
	uint8_t key[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN], fpr[WEFT_KEY_FPR_LEN];
	struct weft_peer *p;

	if ((p = weft_peers_find_name(ps, who)))
		return p;
	if (strlen(who) == WEFT_KEY_B64_LEN - 1 && weft_key_decode(key, who, err) == 0)
		return weft_peers_find_key(ps, key);
	weft_peers_foreach(ps, p)
	{
		const uint8_t *k = peer_key(p);

		if (!k)
			continue;
		weft_key_fingerprint(fpr, k);
		if (!strcmp(fpr, who))
			return p;
	}
	return NULL;
}

static const char *argument(json_t *request, const char *name)
{
	const char *v = NULL;

	if (json_unpack(request, "{s:s}", name, &v) < 0)
		return NULL;
	return v;
}

json_t *weft_membership_forget(struct weft_membership *m, json_t *request, uint64_t now)
{
	const char *who = argument(request, "peer");
	char name[WEFT_CONFIG_NAME_MAX + 1] = "-", fpr[WEFT_KEY_FPR_LEN], b64[WEFT_KEY_B64_LEN];
	uint8_t key[WEFT_KEY_LEN], err_key[WEFT_ERRLEN];
	struct weft_peer *p;
	bool configured = false;
	int ret;

	(void)now;
	if (!who)
		return refuse("forget: name a peer, its public key or its fingerprint");
	p = find_peer(m->d.peers, who);
	if (p) {
		const uint8_t *k = peer_key(p);

		if (!k)
			return refuse("forget: peer %s has not shown a key yet; nothing to ban "
				      "(remove its [peer] section instead)",
				      p->name);
		memcpy(key, k, WEFT_KEY_LEN);
		snprintf(name, sizeof(name), "%s", p->name);
		configured = p->configured;
	} else if (strlen(who) != WEFT_KEY_B64_LEN - 1 ||
		   weft_key_decode(key, who, (char *)err_key) < 0) {
		return refuse("forget: no peer %s (give a peer name, a fingerprint of a known "
			      "peer, or a whole public key to ban one not known yet)",
			      who);
	}
	ret = ban(m, key, name);
	if (ret == -ENOSPC)
		return refuse("forget: the ban list is full (%d keys)", WEFT_BANLIST_MAX);
	if (ret < 0)
		return refuse("forget: out of memory");
	if (p) {
		if (configured)
			silence(m->d.peers, p);
		else
			weft_peers_remove(m->d.peers, p);
	}
	save(m);
	weft_key_fingerprint(fpr, key);
	weft_key_encode(b64, key);
	log_warn("%s (key %s) forgotten by the operator: its key is banned until `weftctl "
		 "unforget %s'%s",
		 name, fpr, fpr, configured ? " (its [peer] section stays)" : "");
	return json_pack("{s:s,s:s,s:s,s:b}", "forgotten", name, "fingerprint", fpr, "key", b64,
			 "already_banned", ret == 0);
}

json_t *weft_membership_unpin(struct weft_membership *m, json_t *request, uint64_t now)
{
	const char *who = argument(request, "peer");
	char err[WEFT_ERRLEN], fpr[WEFT_KEY_FPR_LEN];
	struct weft_peer *p;

	if (!who)
		return refuse("unpin: name a peer, its public key or its fingerprint");
	p = find_peer(m->d.peers, who);
	if (!p)
		return refuse("unpin: no peer %s (`weftctl peers' lists them)", who);
	snprintf(fpr, sizeof(fpr), "%s", p->fingerprint);
	if (weft_peer_unpin(m->d.peers, p, err) < 0)
		return refuse("unpin: %s", err);
	/* A configured peer handshakes again now and keeps the key it proves. */
	if (m->d.handshakes)
		weft_handshakes_reconfigure(m->d.handshakes, m->d.cfg, now);
	return json_pack("{s:s,s:s}", "unpinned", p->name, "fingerprint", fpr);
}

/* The ban on the key, fingerprint or name @who. */
static const struct weft_ban *find_ban(const struct weft_membership *m, const char *who)
{
	uint8_t key[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN], fpr[WEFT_KEY_FPR_LEN];
	const struct weft_ban *b;

	if (strlen(who) == WEFT_KEY_B64_LEN - 1 && weft_key_decode(key, who, err) == 0)
		return weft_banlist_find(&m->bans, key);
	for (size_t i = 0; i < m->bans.n; i++) {
		weft_key_fingerprint(fpr, m->bans.bans[i].key);
		if (!strcmp(fpr, who))
			return &m->bans.bans[i];
	}
	if (strcmp(who, "-") && (b = weft_banlist_find_name(&m->bans, who)))
		return b;
	return NULL;
}

json_t *weft_membership_unforget(struct weft_membership *m, json_t *request, uint64_t now)
{
	const char *who = argument(request, "peer");
	const struct weft_ban *b;
	char name[WEFT_BANLIST_NAME_MAX + 1], fpr[WEFT_KEY_FPR_LEN], b64[WEFT_KEY_B64_LEN];
	uint8_t key[WEFT_KEY_LEN];

	if (!who)
		return refuse("unforget: name a banned key, its fingerprint or its peer's name");
	b = find_ban(m, who);
	if (!b)
		return refuse("unforget: %s is not banned (`weftctl peers' lists the bans)", who);
	memcpy(key, b->key, WEFT_KEY_LEN);
	snprintf(name, sizeof(name), "%s", b->name);
	weft_banlist_remove(&m->bans, key);
	save(m);
	weft_key_fingerprint(fpr, key);
	weft_key_encode(b64, key);
	log_info("%s (key %s) let in again by the operator", name, fpr);
	/* A configured peer it belongs to handshakes again now. */
	if (m->d.handshakes)
		weft_handshakes_reconfigure(m->d.handshakes, m->d.cfg, now);
	return json_pack("{s:s,s:s,s:s}", "unforgotten", name, "fingerprint", fpr, "key", b64);
}

json_t *weft_membership_bans_json(const struct weft_membership *m)
{
	json_t *a = json_array();

	for (size_t i = 0; i < m->bans.n; i++) {
		const struct weft_ban *b = &m->bans.bans[i];
		char fpr[WEFT_KEY_FPR_LEN], b64[WEFT_KEY_B64_LEN];

		weft_key_fingerprint(fpr, b->key);
		weft_key_encode(b64, b->key);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:I}", "name", b->name,
						   "fingerprint", fpr, "key", b64, "since",
						   (json_int_t)b->since));
	}
	return a;
}

void weft_membership_reconfigure(struct weft_membership *m, const struct weft_config *old,
				 const struct weft_config *cfg)
{
	bool changed = false;

	for (size_t i = 0; i < old->n_peers; i++) {
		const struct weft_config_peer *cp = &old->peers[i];
		struct weft_peer *p;
		const uint8_t *key;
		char fpr[WEFT_KEY_FPR_LEN];

		if (weft_config_find_peer(cfg, cp->name))
			continue;
		p = weft_peers_find_name(m->d.peers, cp->name);
		key = p ? peer_key(p) : cp->has_public_key ? cp->public_key : NULL;
		if (!key) {
			log_info("peer %s removed from the configuration; it never showed a key, "
				 "so none is banned",
				 cp->name);
			continue;
		}
		if (ban(m, key, cp->name) > 0) {
			weft_key_fingerprint(fpr, key);
			log_info("peer %s removed from the configuration: key %s banned until "
				 "`weftctl unforget %s' or a [peer] names it again",
				 cp->name, fpr, fpr);
			changed = true;
		}
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct weft_config_peer *cp = &cfg->peers[i];
		const struct weft_ban *b;

		if (weft_config_find_peer(old, cp->name))
			continue;
		while ((b = weft_banlist_find_name(&m->bans, cp->name)) ||
		       (cp->has_public_key && (b = weft_banlist_find(&m->bans, cp->public_key)))) {
			char fpr[WEFT_KEY_FPR_LEN];
			uint8_t key[WEFT_KEY_LEN];

			memcpy(key, b->key, WEFT_KEY_LEN);
			weft_key_fingerprint(fpr, key);
			weft_banlist_remove(&m->bans, key);
			log_info("peer %s named in the configuration again: key %s no longer banned",
				 cp->name, fpr);
			changed = true;
		}
	}
	m->d.cfg = cfg;
	if (changed)
		save(m);
}

/* ---- connect -------------------------------------------------------------------------- */

/* A peer name from an address: "192.0.2.7-6783", "fd00--7-6783" (what the
 * name alphabet cannot hold becomes '-'); made unique with a suffix. */
static void name_for(const struct weft_peers *ps, const union weft_sockaddr *a,
		     char name[static WEFT_CONFIG_NAME_MAX + 1])
{
	char text[WEFT_SOCKADDR_STRLEN], base[WEFT_CONFIG_NAME_MAX + 1];
	size_t n = 0;

	weft_sockaddr_format(text, a);
	for (const char *c = text; *c && n < WEFT_CONFIG_NAME_MAX - 3; c++) {
		if (*c == '[' || *c == ']')
			continue;
		base[n++] = strchr(WEFT_NAME_CHARS, *c) ? *c : '-';
	}
	base[n] = '\0';
	/* base is at most 29 characters: "-99" still fits */
	snprintf(name, WEFT_CONFIG_NAME_MAX + 1, "%s", base);
	for (unsigned i = 2; i < 100 && weft_peers_find_name(ps, name); i++)
		snprintf(name, WEFT_CONFIG_NAME_MAX + 1, "%.29s-%u", base, i % 100);
}

json_t *weft_membership_connect(struct weft_membership *m, json_t *request, uint64_t now)
{
	const char *text = argument(request, "endpoint");
	char err[WEFT_ERRLEN], name[WEFT_CONFIG_NAME_MAX + 1], shown[WEFT_SOCKADDR_STRLEN];
	struct weft_endpoint ep;
	union weft_sockaddr addr;
	struct weft_peer *p;

	if (!text)
		return refuse("connect: give an address: IPv4[:PORT] or [IPv6][:PORT]");
	/* Numeric only: resolving a host name would stall the data path. */
	if (weft_endpoint_parse(&ep, text, true, err) < 0)
		return refuse("connect: `%s': %s", text, err);
	if (weft_sockaddr_from(&addr, &ep.addr.sa, weft_sockaddr_len(&ep.addr)) < 0)
		return refuse("connect: `%s': not an address weftd can send to", text);
	weft_sockaddr_format(shown, &addr);
	p = weft_peers_find_endpoint(m->d.peers, &addr);
	if (p) {
		weft_handshakes_reconfigure(m->d.handshakes, m->d.cfg, now);
		return json_pack("{s:s,s:s,s:b}", "peer", p->name, "endpoint", shown, "new", 0);
	}
	name_for(m->d.peers, &addr, name);
	p = weft_peers_add_member(m->d.peers, name, WEFT_PEER_FROM_CONTROL);
	if (!p)
		return refuse("connect: no room for another member (%u known; max_learned_members "
			      "= %u)",
			      weft_peers_count_members(m->d.peers), m->d.cfg->max_learned_members);
	p->endpoint = addr;
	/* The clock for forget_member_after starts now: a member that never
	 * answers is forgotten like any learned one. */
	p->last_rx_ms = now;
	log_info("peer %s: connecting to %s (weftctl connect)", name, shown);
	weft_handshakes_reconfigure(m->d.handshakes, m->d.cfg, now);
	return json_pack("{s:s,s:s,s:b}", "peer", name, "endpoint", shown, "new", 1);
}
