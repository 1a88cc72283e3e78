/* SPDX-License-Identifier: MIT */
/* The status document. Every counter group is emitted from its module's
 * X(ID, field) list, so a counter added there shows up here unasked. */
#include "config.h"

#include <string.h>

#include "common/frame.h"
#include "common/key.h"
#include "common/mactable.h"
#include "common/session.h"
#include "common/sockaddr.h"
#include "daemon/capture.h"
#include "daemon/clock.h"
#include "daemon/daemon.h"
#include "daemon/identity.h"
#include "daemon/inject.h"
#include "daemon/log.h"
#include "daemon/mesh.h"
#include "daemon/paths.h"
#include "daemon/peers.h"
#include "daemon/router.h"
#include "daemon/status.h"
#include "daemon/udp.h"

static void set_int(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}

static json_t *drops_json(const struct weft_drops *drops)
{
	json_t *o = json_object();

	for (int i = 0; i < WEFT_DROP_COUNT; i++)
		set_int(o, weft_drop_name(i), drops->n[i]);
	return o;
}

/* The address alone, as status shows a local address. */
static void format_local(char out[static WEFT_SOCKADDR_STRLEN], const struct weft_udp_local_addr *l)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	if (l->family == AF_INET) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_addr = l->v4;
	} else {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_addr = l->v6;
		a.in6.sin6_scope_id = (uint32_t)l->ifindex;
	}
	weft_sockaddr_format_host(out, &a);
}

static const char *const origin_names[] = {
	[WEFT_PEER_FROM_CONFIG] = "config",
	[WEFT_PEER_FROM_HANDSHAKE] = "handshake",
	[WEFT_PEER_FROM_GOSSIP] = "gossip",
	[WEFT_PEER_FROM_CONTROL] = "connect",
};

/* How frames reach it now, through whom, and the largest IP packet they
 * may carry (the path MTU, less a relay's record header when relayed). */
static void route_json(json_t *o, const struct weft_peer *p, size_t max_frame_len, uint64_t now)
{
	struct weft_peer *via;
	bool reached = weft_peer_route(p, now, &via);
	size_t frame = weft_path_frame_max_via(p, via, max_frame_len);

	json_object_set_new(o, "route",
			    json_string(!reached ? "none" : via ? "relayed" : "direct"));
	if (via)
		json_object_set_new(o, "via", json_string(via->name));
	set_int(o, "path_mtu", frame - WEFT_FRAME_HDR_LEN);
	json_object_set_new(o, "path_mtu_probed", json_boolean(p->pmtu.known));
	json_object_set_new(o, "learned", json_string(origin_names[p->origin]));
}

static json_t *peer_json(const struct weft_peer *p, size_t max_frame_len, uint64_t now)
{
	static const char *const session_drop_names[] = {WEFT_SESSION_DROP_LIST(WEFT_COUNTER_NAME)};
	static const char *const drop_names[] = {WEFT_PEER_DROP_LIST(WEFT_COUNTER_NAME)};
	char endpoint[WEFT_SOCKADDR_STRLEN];
	const char *state = p->up ? "up" : p->init.hs ? "handshaking" : "down";
	json_t *o, *drops = json_object();

	for (int i = 0; i < WEFT_PEER_DROP_COUNT; i++)
		set_int(drops, drop_names[i], p->drops[i]);
	for (int i = 0; i < WEFT_SESSION_DROP_COUNT; i++)
		set_int(drops, session_drop_names[i], p->session_drops[i]);
	o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "name", p->name, "fingerprint",
		      p->has_static ? p->fingerprint : "-", "endpoint",
		      weft_sockaddr_format(endpoint, &p->endpoint), "state", state, "configured",
		      p->configured);
#define PEER_COUNTER(id, name) set_int(o, #name, p->count.name);
	WEFT_PEER_COUNTER_LIST(PEER_COUNTER)
#undef PEER_COUNTER
	json_object_set_new(o, "drops", drops);
	if (weft_sockaddr_is_set(&p->sees_us_at))
		json_object_set_new(o, "sees_us_at",
				    json_string(weft_sockaddr_format(endpoint, &p->sees_us_at)));
	route_json(o, p, max_frame_len, now);
	/* Whole, so that pinning it is one copy into a [peer] public_key. */
	if (p->has_static || p->has_pin) {
		char key[WEFT_KEY_B64_LEN];

		weft_key_encode(key, p->has_static ? p->remote_static : p->pin);
		json_object_set_new(o, "public_key", json_string(key));
	}
	json_object_set_new(o, "key_source", json_string(p->has_pin	 ? "pinned"
							 : p->has_static ? "learned"
									 : "none"));
	if (p->local.family) {
		char local[WEFT_SOCKADDR_STRLEN];

		format_local(local, &p->local);
		json_object_set_new(o, "local_address", json_string(local));
	}
	/* an age on the monotonic clock: a wall-clock step does not change it */
	if (p->last_handshake_wall_ms)
		set_int(o, "last_handshake_ago_s", (now - p->last_handshake_ms) / 1000);
	return o;
}

static json_t *macs_json(const struct weftd *d, uint64_t now)
{
	json_t *macs = json_array();
	struct weft_mactable_entry e;
	size_t cursor = 0;

	while (weft_mactable_next(d->macs, &cursor, now, &e)) {
		const struct weft_peer *p = weft_peers_get(d->peers, e.peer);
		char mac[WEFT_FRAME_MAC_STRLEN];

		weft_frame_format_mac(mac, e.mac);
		json_array_append_new(macs, json_pack("{s:s,s:s,s:I}", "mac", mac, "peer",
						      p ? p->name : "?", "idle_s",
						      (json_int_t)(e.age_ms / 1000)));
	}
	return macs;
}

/* The ring, socket and table counters, each group from its list. */
static void counters_json(struct weftd *d, json_t *root)
{
	const struct weft_router_counters *rc = weft_router_counters(d->router);
	const struct weft_mesh_counters *mc = weft_mesh_counters(d->mesh);
	struct weft_capture_stats cs = {0};
	struct weft_inject_stats is;
	struct weft_udp_stats us;
	struct weft_mactable_stats ms;
	json_t *capture = json_object(), *inject = json_object(), *udp = json_object(),
	       *mactable = json_object(), *router = json_object(), *mesh = json_object();

	if (weft_capture_stats(d->capture, &cs) < 0)
		log_debug("capture statistics unavailable");
	weft_inject_stats(d->inject, &is);
	weft_udp_stats(d->udp, &us);
	weft_mactable_get_stats(d->macs, &ms);
	/* The capture counters are the kernel's (PACKET_STATISTICS). */
#define CAPTURE(id, name) set_int(capture, "kernel_" #name, cs.name);
	WEFT_CAPTURE_STAT_LIST(CAPTURE)
#undef CAPTURE
#define COUNTER(id, name) set_int(OBJ, #name, SRC.name);
#define OBJ inject
#define SRC is
	WEFT_INJECT_STAT_LIST(COUNTER)
#undef OBJ
#undef SRC
#define OBJ udp
#define SRC us
	WEFT_UDP_STAT_LIST(COUNTER)
#undef OBJ
#undef SRC
#define OBJ mactable
#define SRC ms
	WEFT_MACTABLE_STAT_LIST(COUNTER)
#undef OBJ
#undef SRC
#define OBJ router
#define SRC (*rc)
	WEFT_ROUTER_COUNTER_LIST(COUNTER)
#undef OBJ
#undef SRC
#define OBJ mesh
#define SRC (*mc)
	WEFT_MESH_COUNTER_LIST(COUNTER)
#undef OBJ
#undef SRC
#undef COUNTER
	json_object_set_new(udp, "gso", json_boolean(weft_udp_gso(d->udp)));
	json_object_set_new(udp, "gro", json_boolean(weft_udp_gro(d->udp)));
	json_object_set_new(root, "capture", capture);
	json_object_set_new(root, "inject", inject);
	json_object_set_new(root, "udp", udp);
	json_object_set_new(root, "mactable", mactable);
	json_object_set_new(root, "router", router);
	json_object_set_new(root, "mesh", mesh);
}

/* Where members are told to reach us (our own gossip entry). */
static json_t *addresses_json(const struct weftd *d)
{
	union weft_sockaddr addrs[WEFT_GOSSIP_MAX_ADDRS];
	char text[WEFT_SOCKADDR_STRLEN];
	unsigned n = weft_mesh_own_addrs(d->mesh, addrs);
	json_t *a = json_array();

	for (unsigned i = 0; i < n; i++)
		json_array_append_new(a, json_string(weft_sockaddr_format(text, &addrs[i])));
	return a;
}

json_t *weft_status_json(struct weftd *d)
{
	const struct weft_config *cfg = d->cfg;
	uint64_t now = weft_clock_now_ms();
	char listen[WEFT_SOCKADDR_STRLEN], key[WEFT_KEY_B64_LEN];
	json_t *root, *peers = json_array();

	weft_key_encode(key, d->identity->public_key);
	root = json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:I}", "network", cfg->name, "fingerprint",
			 d->identity->fingerprint, "public_key", key, "listen",
			 weft_sockaddr_format(listen, &cfg->listen.addr), "bridge", cfg->bridge,
			 "mtu", (int)d->mtu, "uptime_s", (json_int_t)((now - d->started_ms) / 1000));
	counters_json(d, root);
	json_object_set_new(root, "addresses", addresses_json(d));
	json_object_set_new(root, "drops", drops_json(&d->drops));
	/* In the table's list order, oldest first (foreach goes the other way). */
	for (unsigned i = 0; i < d->peers->n; i++)
		json_array_append_new(peers, peer_json(d->peers->list[i],
						       d->mtu + WEFT_FRAME_HDR_LEN, now));
	json_object_set_new(root, "peers", peers);
	json_object_set_new(root, "macs", macs_json(d, now));
	return root;
}
