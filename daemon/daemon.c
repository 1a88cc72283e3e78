/* SPDX-License-Identifier: MIT */
/* Start-up in the design's order (configuration, keys, socket, links,
 * rings, then the modules that use them), the 100 ms housekeeping tick,
 * reload, and teardown in the reverse order. A start-up failure after the
 * links were made removes them again before the daemon exits. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>
#include <systemd/sd-daemon.h>

#include "common/frame.h"
#include "common/index.h"
#include "common/mactable.h"
#include "common/pmtu.h"
#include "common/wire.h"
#include "daemon/capture.h"
#include "daemon/clock.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/egress.h"
#include "daemon/handshakes.h"
#include "daemon/http.h"
#include "daemon/identity.h"
#include "daemon/inject.h"
#include "daemon/link.h"
#include "daemon/log.h"
#include "daemon/membership.h"
#include "daemon/mesh.h"
#include "daemon/metrics.h"
#include "daemon/netwatch.h"
#include "daemon/offload.h"
#include "daemon/paths.h"
#include "daemon/peers.h"
#include "daemon/resolve.h"
#include "daemon/router.h"
#include "daemon/status.h"
#include "daemon/udp.h"

#define TICK_SECONDS	  0.1
#define MAC_EXPIRE_BUDGET 256
/* Start-up waits at most this long for host-name endpoints when the MTU is
 * to be sized from a peer's address and no other peer has one; later
 * answers are applied when they come. */
#define RESOLVE_SETTLE_S 3.0
/* A host name that did not resolve is asked again this often while its peer
 * has no address (a host that starts before its DNS server is reachable). */
#define RESOLVE_RETRY_MS 30000u
/* The capture ring holds at least a whole 1500-byte packet's frame. */
#define CAPTURE_MIN_FRAME (WEFT_FRAME_HDR_LEN + 1500)

/* ---- one weftd per bridge -------------------------------------------------- */

/* An abstract UNIX socket name lives in the network namespace and vanishes
 * with the process, so a crash never leaves a stale lock behind. */
static int take_instance_lock(struct weftd *d, char err[static WEFT_ERRLEN])
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int n;

	n = snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "weftd/bridge/%s", d->cfg->bridge);
	d->lock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->lock_fd < 0)
		return weft_errorf(err, -errno, "instance lock");
	if (bind(d->lock_fd, (struct sockaddr *)&sun,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0) {
		if (errno == EADDRINUSE)
			return weft_failf(err, -EADDRINUSE,
					  "another weftd already runs on bridge %s in this "
					  "network namespace",
					  d->cfg->bridge);
		return weft_errorf(err, -errno, "instance lock");
	}
	return 0;
}

/* ---- links and MTU ----------------------------------------------------------- */

/* The underlay's MTU: the named interface's, else that of the route to the
 * first peer with an address (in configuration order), whose family sets
 * the IP header size. Fails (with @err) when there is no such interface or
 * no peer has a route yet. */
static int find_underlay(struct weftd *d, char ifname[static IFNAMSIZ], unsigned *mtu, bool *ipv6,
			 char err[static WEFT_ERRLEN])
{
	const struct weft_config *cfg = d->cfg;
	int ret = weft_errorf(err, -ENETUNREACH, "no peer with an address");

	*ipv6 = cfg->listen.addr.sa.sa_family == AF_INET6;
	if (cfg->underlay[0]) {
		snprintf(ifname, IFNAMSIZ, "%s", cfg->underlay);
		return weft_link_mtu_by_name(d->link, cfg->underlay, mtu, err);
	}
	for (unsigned i = 0; i < d->peers->n && ret < 0; i++) {
		const struct weft_peer *p = d->peers->list[i];

		if (!weft_sockaddr_is_set(&p->endpoint))
			continue;
		ret = weft_link_route_mtu(d->link, &p->endpoint.sa, ifname, mtu, err);
		if (ret == 0)
			*ipv6 = p->endpoint.sa.sa_family == AF_INET6;
	}
	return ret;
}

/* The overlay MTU at start-up: configured, or the underlay's minus weft's
 * overhead. A host may boot before its routes: without one, a 1500-byte
 * underlay is assumed until the netwatch says routes changed (resize()). */
static int size_overlay(struct weftd *d, char err[static WEFT_ERRLEN])
{
	const struct weft_config *cfg = d->cfg;
	unsigned underlay_mtu = 1500;
	char ifname[IFNAMSIZ] = "", why[WEFT_ERRLEN];
	bool ipv6;
	int ret;

	if (cfg->mtu) {
		d->mtu = cfg->mtu;
		return 0;
	}
	ret = find_underlay(d, ifname, &underlay_mtu, &ipv6, why);
	if (ret < 0 && cfg->underlay[0])
		return weft_failf(err, ret, "underlay %s: %.200s", cfg->underlay, why);
	if (ret < 0) {
		log_warn("no route toward any peer to size the MTU; assuming a 1500-byte "
			 "underlay until one appears");
		underlay_mtu = 1500;
		ifname[0] = '\0';
	}
	d->mtu = weft_frame_overlay_mtu(underlay_mtu, ipv6);
	if (!d->mtu)
		return weft_failf(err, -EINVAL, "underlay %s MTU %u leaves no room for an overlay",
				  ifname, underlay_mtu);
	log_info("overlay MTU %u (underlay %s MTU %u, %s)", d->mtu, ifname[0] ? ifname : "?",
		 underlay_mtu, ipv6 ? "IPv6" : "IPv4");
	return 0;
}

static int setup_links(struct weftd *d, char err[static WEFT_ERRLEN])
{
	struct weft_link_spec spec = {
		.bridge = d->cfg->bridge,
		.create_bridge = d->cfg->create_bridge,
		/* Frames too big for the overlay reach weftd, which answers them
		 * (ICMP) instead of the bridge dropping them unseen. */
		.port_mtu = WEFT_LINK_PORT_MTU,
	};
	char why[WEFT_ERRLEN];
	int ret;

	if ((ret = weft_link_new(&d->link, why)) < 0)
		return weft_failf(err, ret, "rtnetlink: %.200s", why);
	if ((ret = size_overlay(d, err)) < 0)
		return ret;
	/* The largest datagram that the underlay carries without fragments. */
	d->max_datagram = d->mtu + WEFT_FRAME_HDR_LEN + WEFT_WIRE_OVERHEAD;
	spec.mtu = d->mtu;
	if ((ret = weft_link_setup(d->link, &spec, &d->dp_ifindex, why)) < 0)
		return weft_failf(err, ret, "links: %.200s", why);
	/* Superframes in: the port keeps the offloads whose frames the capture
	 * cuts or completes (daemon/capture.c); the kernel does the rest. */
	if (d->cfg->superframes) {
		char port[IFNAMSIZ], dp[IFNAMSIZ];

		if ((ret = weft_link_veth_names(d->cfg->bridge, port, dp, why)) < 0 ||
		    (ret = weft_offload_superframes(port, why)) < 0)
			return weft_failf(err, ret, "superframes: %.200s", why);
	}
	/* A CNI plugin makes the bridge when the first pod starts. */
	if (!weft_link_plugged(d->link))
		log_warn("waiting for bridge %s (it does not exist and create_bridge = no)",
			 d->cfg->bridge);
	return 0;
}

/* ---- watching links and routes ---------------------------------------------------- */

/*
 * What the daemon does when the kernel's links, routes or addresses change
 * (daemon/netwatch): plug weft's port into the bridge when the bridge
 * appears again, follow the underlay's MTU when [network] mtu = auto, and
 * hurry the handshakes toward peers whose path has come back.
 * The data path (rings, send batches, the router's frame limit) is sized
 * at start-up for the overlay MTU of that moment, so the MTU follows the
 * underlay down and back up to that size, not above it.
 */
/* The path toward the peer in one slot, as last looked at. */
struct path_seen {
	uint64_t serial; /* the peer's: a later peer in the slot is a change */
	struct weft_link_path path;
};

struct watch {
	struct weftd *d;
	struct weft_netwatch *netwatch;
	unsigned mtu_max;	 /* the overlay MTU the data path was sized for */
	unsigned said_mtu;	 /* the last underlay MTU a resize() message was about */
	int plug_error;		 /* the last weft_link_plug() failure logged, 0: none */
	struct path_seen *paths; /* by peer slot (WEFT_PEERS_MAX) */
};

static void replug(struct watch *w)
{
	struct weftd *d = w->d;
	bool was = weft_link_plugged(d->link);
	char why[WEFT_ERRLEN];
	int ret = weft_link_plug(d->link, why);

	if (ret == 1) {
		log_info("bridge %s is there: weft's port plugged in", d->cfg->bridge);
	} else if (ret == -ENODEV && !d->cfg->create_bridge) {
		if (was)
			log_warn("bridge %s is gone; waiting for it to come back", d->cfg->bridge);
	} else if (ret < 0 && ret != w->plug_error) {
		log_warn("bridge %s: %s", d->cfg->bridge, why);
	}
	w->plug_error = ret < 0 ? ret : 0;
}

/* A peer's path MTU is no larger than our own underlay's: searches start
 * again under the new ceiling. */
static void retarget_paths(struct weftd *d)
{
	struct weft_peer *p;

	weft_peers_foreach(d->peers, p)
	{
		if (p->pmtu.ceiling)
			weft_pmtu_set_ceiling(&p->pmtu, d->max_datagram);
	}
}

static void resize(struct watch *w)
{
	struct weftd *d = w->d;
	char ifname[IFNAMSIZ] = "", why[WEFT_ERRLEN];
	unsigned underlay_mtu, mtu, was = d->mtu;
	bool ipv6;

	/* No route (yet, or any more): the MTU stays what it is. */
	if (find_underlay(d, ifname, &underlay_mtu, &ipv6, why) < 0)
		return;
	mtu = weft_frame_overlay_mtu(underlay_mtu, ipv6);
	if (!mtu || mtu > w->mtu_max) {
		if (w->said_mtu != underlay_mtu)
			log_warn("underlay %s MTU %u: %s; the overlay MTU is held at %u", ifname,
				 underlay_mtu,
				 mtu ? "weftd's buffers were sized at start-up for a smaller one "
				       "(restart weftd to use it)"
				     : "leaves no room for an overlay",
				 mtu ? w->mtu_max : d->mtu);
		w->said_mtu = underlay_mtu;
		if (!mtu)
			return;
		mtu = w->mtu_max;
	}
	if (mtu == d->mtu)
		return;
	if (weft_link_set_mtu(d->link, mtu, why) < 0) {
		log_warn("overlay MTU %u: %s", mtu, why);
		return;
	}
	d->mtu = mtu;
	d->max_datagram = mtu + WEFT_FRAME_HDR_LEN + WEFT_WIRE_OVERHEAD;
	retarget_paths(d);
	w->said_mtu = underlay_mtu;
	log_info("overlay MTU %u, was %u (underlay %s MTU %u, %s)", mtu, was, ifname, underlay_mtu,
		 ipv6 ? "IPv6" : "IPv4");
}

static bool same_path(const struct weft_link_path *a, const struct weft_link_path *b)
{
	return a->ifindex == b->ifindex && a->usable == b->usable &&
	       !memcmp(a->gateway, b->gateway, sizeof(a->gateway)) &&
	       !memcmp(a->prefsrc, b->prefsrc, sizeof(a->prefsrc));
}

/*
 * Looks at the path toward every peer with an address. A peer without a
 * working session whose path is usable and differs from the last look (an
 * interface up or its carrier back, a route or source address that
 * appeared, another way out) may be reachable again: with @kick its
 * handshake goes now instead of when its retry timer says. Every peer is
 * looked at, also those up now, so that a path lost while a session still
 * worked counts as a change when it comes back. Two rtnetlink round trips
 * per peer, once per settled burst of notifications.
 */
static void follow_underlay(struct watch *w, bool kick)
{
	struct weftd *d = w->d;
	uint64_t now = weft_clock_now_ms();
	char why[WEFT_ERRLEN];
	struct weft_peer *p;

	weft_peers_foreach(d->peers, p)
	{
		struct path_seen *seen = &w->paths[p->id];
		struct weft_link_path path;
		bool changed;

		if (!weft_sockaddr_is_set(&p->endpoint))
			continue;
		if (weft_link_path(d->link, &p->endpoint.sa, &path, why) < 0)
			memset(&path, 0, sizeof(path));
		changed = seen->serial != p->serial || !same_path(&seen->path, &path);
		seen->serial = p->serial;
		seen->path = path;
		if (kick && changed && path.usable && (!p->up || !weft_peer_can_send(p, now))) {
			weft_peer_log(LOG_DEBUG, p, "peer %s: the underlay changed; handshaking now",
				      p->name);
			weft_handshakes_kick(d->handshakes, p, now);
		}
	}
}

static void on_netwatch(void *ctx, unsigned what)
{
	struct watch *w = ctx;

	if (what & WEFT_NETWATCH_LINK)
		replug(w);
	/* An interface's MTU is a link change, a new path a route change. */
	if (!w->d->cfg->mtu)
		resize(w);
	follow_underlay(w, true);
}

/* Before the links are set up, so no change after it is missed; the loop
 * hands the first notifications over once it runs. */
static int start_watch(struct watch *w, char err[static WEFT_ERRLEN])
{
	char why[WEFT_ERRLEN];
	int ret;

	w->paths = calloc(WEFT_PEERS_MAX, sizeof(*w->paths));
	if (!w->paths)
		return weft_failf(err, -ENOMEM, "out of memory for the underlay paths");
	ret = weft_netwatch_new(&w->netwatch, w->d->loop, on_netwatch, w, why);
	return ret < 0 ? weft_failf(err, ret, "%.200s", why) : 0;
}

static void stop_watch(struct watch *w)
{
	weft_netwatch_free(w->netwatch);
	free(w->paths);
}

/* ---- peers from the configuration ------------------------------------------------ */

/* The family host names are looked up for: only IPv4 on an IPv4 socket. */
static int lookup_family(const struct weft_config *cfg)
{
	return cfg->listen.addr.sa.sa_family == AF_INET ? AF_INET : AF_UNSPEC;
}

static void lookup(struct weftd *d, const struct weft_endpoint *ep, unsigned flags)
{
	int ret = weft_resolver_lookup(d->resolver, ep, lookup_family(d->cfg), flags);

	if (ret < 0 && !(flags & WEFT_RESOLVER_RETRY))
		log_warn("cannot look %s up now: %s", ep->host,
			 ret == -EBUSY ? "too many lookups under way" : strerror(-ret));
}

/* @cp's endpoint is the one @old wrote for that peer. */
static bool same_endpoint(const struct weft_config *old, const struct weft_config_peer *cp)
{
	const struct weft_config_peer *was = old ? weft_config_find_peer(old, cp->name) : NULL;

	return was && was->has_endpoint && was->endpoint.port == cp->endpoint.port &&
	       !strcmp(was->endpoint.host, cp->endpoint.host);
}

/*
 * Applies @cfg's [peer] sections; @old is the configuration they replace
 * (NULL at start-up). The peers table sets every endpoint it is given, so it
 * is given only those that change now: numeric ones that are new or that
 * differ from @old's. An endpoint the file did not change stays where the
 * peer is, which may be an address it roamed to. Host names are never given:
 * they are looked up in the background, every reload again (a reload is how
 * an operator makes weftd follow a changed DNS record), and found() applies
 * the answer. Returns how many peers could not be added.
 */
static unsigned configure_peers(struct weftd *d, const struct weft_config *old,
				const struct weft_config *cfg)
{
	struct weft_config_peer *list = calloc(cfg->n_peers + 1, sizeof(*list));

	if (!list) {
		log_err("out of memory for the configured peers");
		return (unsigned)cfg->n_peers;
	}
	for (size_t i = 0; i < cfg->n_peers; i++) {
		const struct weft_config_peer *cp = &cfg->peers[i];
		const struct weft_peer *p = weft_peers_find_name(d->peers, cp->name);
		bool kept = p && p->configured && weft_sockaddr_is_set(&p->endpoint) &&
			    same_endpoint(old, cp);

		list[i] = *cp;
		list[i].has_endpoint = cp->has_endpoint && cp->endpoint.numeric && !kept;
		if (cp->has_endpoint && !cp->endpoint.numeric)
			lookup(d, &cp->endpoint, kept ? 0 : WEFT_RESOLVER_FRESH);
	}
	free(d->peers_cfg.peers);
	d->peers_cfg = *cfg;
	d->peers_cfg.peers = list;
	return weft_peers_configure(d->peers, &d->peers_cfg);
}

/* The answer to a host-name lookup, for every configured peer at that name:
 * a peer without an address goes there; one with an address moves only when
 * the name's address changed, so a peer that roamed away from the address
 * the name still has stays where it is. */
static void found(void *ctx, const char *host, uint16_t port, int family,
		  const union weft_sockaddr *addr, bool changed, const char *why, unsigned flags)
{
	struct weftd *d = ctx;
	bool moved = false;

	(void)family;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		const struct weft_config_peer *cp = &d->cfg->peers[i];
		struct weft_peer *p;
		char text[WEFT_SOCKADDR_STRLEN];
		bool has = false;

		if (!cp->has_endpoint || cp->endpoint.numeric || cp->endpoint.port != port ||
		    strcmp(cp->endpoint.host, host))
			continue;
		p = weft_peers_find_name(d->peers, cp->name);
		if (!p || !p->configured)
			continue;
		has = weft_sockaddr_is_set(&p->endpoint);
		if (!addr) {
			weft_peer_log((flags & WEFT_RESOLVER_RETRY) ? LOG_DEBUG : LOG_WARNING, p,
				      "peer %s: cannot resolve %s: %s; %s", p->name, host, why,
				      has ? "it keeps its address"
					  : "it has no address until the name resolves");
			continue;
		}
		if (has && (!changed || weft_sockaddr_equal(&p->endpoint, addr)))
			continue;
		p->endpoint = *addr;
		/* A new address may want another source; the peer's next
		 * datagram tells. */
		memset(&p->local, 0, sizeof(p->local));
		weft_peer_log(LOG_INFO, p, "peer %s: %s is %s", p->name, host,
			      weft_sockaddr_format(text, addr));
		moved = true;
	}
	/* a peer given an address need not wait out its backoff */
	if (moved && d->handshakes)
		weft_handshakes_reconfigure(d->handshakes, d->cfg, weft_clock_now_ms());
}

static bool any_endpoint(const struct weft_peers *ps)
{
	const struct weft_peer *p;

	weft_peers_foreach(ps, p) if (weft_sockaddr_is_set(&p->endpoint)) return true;
	return false;
}

/* Host names that did not resolve are asked again while their peer has no
 * address. */
static void retry_unresolved(struct weftd *d, uint64_t now)
{
	if (now < d->resolve_retry_ms)
		return;
	d->resolve_retry_ms = now + RESOLVE_RETRY_MS;
	for (size_t i = 0; i < d->cfg->n_peers; i++) {
		const struct weft_config_peer *cp = &d->cfg->peers[i];
		const struct weft_peer *p;

		if (!cp->has_endpoint || cp->endpoint.numeric)
			continue;
		p = weft_peers_find_name(d->peers, cp->name);
		if (p && p->configured && !weft_sockaddr_is_set(&p->endpoint))
			lookup(d, &cp->endpoint, WEFT_RESOLVER_RETRY);
	}
}

/* require_pinned_keys lets pinned keys in only: members that came in without
 * a pin (by handshake, gossip or weftctl connect) lose their sessions now,
 * not when those expire, and their handshakes are refused from then on.
 * (A [peer] whose pin changed lost a session with another key in
 * weft_peers_configure().) */
static void revoke_unpinned(struct weftd *d)
{
	struct weft_peer *p;

	if (!d->cfg->require_pinned_keys)
		return;
	weft_peers_foreach(d->peers, p)
	{
		if (p->has_pin)
			continue;
		weft_peer_log(LOG_WARNING, p,
			      "member %s (%s) has no pinned key and require_pinned_keys = yes: its "
			      "sessions end now and its handshakes are refused",
			      p->name, p->has_static ? p->fingerprint : "no key yet");
		if (p->has_static)
			weft_mesh_forget(d->mesh, p->remote_static);
		weft_peers_remove(d->peers, p);
	}
}

/* ---- control, signals, reload, tick ---------------------------------------------- */

static json_t *metrics_reply(struct weftd *d)
{
	size_t len;
	char *text = weft_metrics_text(d, &len);
	json_t *reply;

	if (!text)
		return json_pack("{s:s}", "error", "out of memory");
	reply = json_pack("{s:s%}", "metrics", text, len);
	free(text);
	return reply;
}

static json_t *peers_reply(struct weftd *d)
{
	json_t *status = weft_status_json(d), *reply;

	reply = json_pack("{s:O,s:o}", "peers", json_object_get(status, "peers"), "banned",
			  weft_membership_bans_json(d->membership));
	json_decref(status);
	return reply;
}

static json_t *on_control(void *ctx, const char *command, json_t *request)
{
	struct weftd *d = ctx;
	uint64_t now = weft_clock_now_ms();
	json_t *reply = NULL;

	if (!strcmp(command, "status"))
		return weft_status_json(d);
	if (!strcmp(command, "metrics"))
		return metrics_reply(d);
	if (!strcmp(command, "peers"))
		return peers_reply(d);
	if (!strcmp(command, "connect"))
		reply = weft_membership_connect(d->membership, request, now);
	else if (!strcmp(command, "forget"))
		reply = weft_membership_forget(d->membership, request, now);
	else if (!strcmp(command, "unforget"))
		reply = weft_membership_unforget(d->membership, request, now);
	else if (!strcmp(command, "unpin"))
		reply = weft_membership_unpin(d->membership, request, now);
	else
		return NULL;
	/* What changed goes out now, not at the next tick. */
	weft_egress_flush(d->egress, now);
	return reply;
}

static char *metrics_body(void *ctx, size_t *len)
{
	return weft_metrics_text(ctx, len);
}

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("received %s, shutting down", strsignal(w->signum));
	ev_break(loop, EVBREAK_ALL);
}

/* Parse the file again; apply what can change live, keep the running value
 * of every restart-only key (and say which ones wait), or keep everything
 * when the file is invalid. */
static void reload(struct weftd *d)
{
	struct weft_config_errors errs;
	struct weft_config *cfg;
	char warning[WEFT_ERRLEN];

	sd_notify(0, "RELOADING=1");
	weft_config_errors_init(&errs);
	cfg = weft_config_load_file(d->config_path, &errs);
	for (size_t i = 0; i < errs.count; i++)
		log_err("%s", errs.msg[i]);
	weft_config_errors_free(&errs);
	if (!cfg) {
		log_err("reload: %s is invalid; keeping the running configuration", d->config_path);
		sd_notify(0, "READY=1");
		return;
	}
	if (weft_config_reload_merge(cfg, d->cfg, warning))
		log_warn("%s", warning);
	weft_membership_reconfigure(d->membership, d->cfg, cfg);
	configure_peers(d, d->cfg, cfg);
	weft_handshakes_reconfigure(d->handshakes, cfg, weft_clock_now_ms());
	weft_mesh_reconfigure(d->mesh, cfg);
	weft_router_reconfigure(d->router, cfg->clamp_mss);
	weft_mactable_set_ageing(d->macs, (uint64_t)cfg->mac_ageing * 1000u);
	weft_log_init(cfg->log_level);
	log_debug("reload: logging at debug level");
	weft_config_free(d->cfg);
	d->cfg = cfg;
	revoke_unpinned(d);
	log_info("reloaded %s: %u peers", d->config_path, weft_peers_count(d->peers));
	sd_notify(0, "READY=1");
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	reload(container_of(w, struct weftd, sighup));
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct weftd *d = container_of(w, struct weftd, tick);
	uint64_t now = weft_clock_now_ms();

	weft_peers_tick(d->peers, now);
	weft_mesh_tick(d->mesh, now);
	weft_handshakes_tick(d->handshakes, now);
	weft_paths_tick(d->peers, d->egress, d->max_datagram, now);
	weft_egress_tick(d->egress, (uint64_t)d->cfg->keepalive_interval * 1000u, now);
	weft_mactable_expire(d->macs, now, MAC_EXPIRE_BUDGET);
	retry_unresolved(d, now);
	/* Frames left in the TX ring by a busy kick go out now at the latest. */
	if (weft_inject_pending(d->inject) && weft_inject_flush(d->inject) < 0)
		log_debug("inject ring kick failed");
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	sd_notify(0, "WATCHDOG=1");
}

/* ---- start-up and teardown ------------------------------------------------------ */

/* What needs no kernel object: keys, tables, peers. */
static int open_state(struct weftd *d, char err[static WEFT_ERRLEN])
{
	const struct weft_config *cfg = d->cfg;
	int ret;

	if ((ret = weft_identity_new(&d->identity, cfg, err)) < 0)
		return ret;
	log_info("network %s, key %s, bridge %s", cfg->name, d->identity->fingerprint, cfg->bridge);
	if ((ret = take_instance_lock(d, err)) < 0 ||
	    (ret = weft_control_claim(cfg->control_socket, err)) < 0)
		return ret;
	if (weft_index_new(&d->index, 4 * WEFT_PEERS_MAX + 256, NULL, NULL) < 0 ||
	    weft_mactable_new(&d->macs, WEFT_MACTABLE_DEFAULT_CAPACITY,
			      (uint64_t)cfg->mac_ageing * 1000u, NULL) < 0)
		return weft_errorf(err, -ENOMEM, "receiver index and MAC tables");
	if ((ret = weft_peers_new(&d->peers, WEFT_PEERS_MAX, d->index, d->macs, err)) < 0)
		return ret;
	if ((ret = weft_resolver_new(&d->resolver, d->loop, found, d, err)) < 0)
		return ret;
	if (configure_peers(d, NULL, cfg) > 0)
		return weft_errorf(err, -ENOMEM, "peers");
	/* The overlay MTU follows the route to the first peer with an address:
	 * when only host names could give one, they get a moment. */
	if (!cfg->mtu && !cfg->underlay[0] && !any_endpoint(d->peers))
		weft_resolver_settle(d->resolver, RESOLVE_SETTLE_S);
	d->resolve_retry_ms = weft_clock_now_ms() + RESOLVE_RETRY_MS;
	return weft_membership_new(&d->membership,
				   &(struct weft_membership_deps){.cfg = cfg, .peers = d->peers}, err);
}

static int open_udp(struct weftd *d, char err[static WEFT_ERRLEN])
{
	const struct weft_config *cfg = d->cfg;
	struct weft_udp_config ucfg = {
		.listen = cfg->listen.addr,
		.sndbuf = (int)cfg->udp_sndbuf,
		.rcvbuf = (int)cfg->udp_rcvbuf,
		.max_datagram = 65535,
	};
	char why[WEFT_ERRLEN];
	int ret = weft_udp_new(&d->udp, &ucfg, why);

	return ret < 0 ? weft_failf(err, ret, "UDP %.200s", why) : 0;
}

/* The data path on top of the links: rings, egress, handshakes, router,
 * control socket. */
static int open_data_path(struct weftd *d, char err[static WEFT_ERRLEN])
{
	const struct weft_config *cfg = d->cfg;
	size_t max_frame_len = d->mtu + WEFT_FRAME_HDR_LEN;
	/* Slots hold a 1500-byte packet, the containers' usual MTU, even on a
	 * smaller overlay: what weftd fragments then comes in its slot; a
	 * longer frame costs a read of its clone (daemon/capture.c). */
	size_t capture_len = max_frame_len > CAPTURE_MIN_FRAME ? max_frame_len : CAPTURE_MIN_FRAME;
	char why[WEFT_ERRLEN];
	int ret;

	if ((ret = weft_capture_new(&d->capture, d->dp_ifindex, cfg->rx_ring_frames,
				    capture_len + WEFT_FRAME_VLAN_LEN,
				    why)) < 0)
		return weft_failf(err, ret, "capture ring: %.200s", why);
	weft_capture_set_drops(d->capture, &d->drops);
	/* Finished by the peer (or by the router, for one that does not take them). */
	weft_capture_leave_partial(d->capture, cfg->partial_checksums);
	if ((ret = weft_inject_new(&d->inject, d->dp_ifindex, cfg->tx_ring_frames, max_frame_len,
				    why)) < 0)
		return weft_failf(err, ret, "inject ring: %.200s", why);
	if ((ret = weft_inject_superframes(d->inject, cfg->superframes, why)) < 0)
		return weft_failf(err, ret, "inject ring: %.200s", why);
	/* A receive batch may carry more frames than the ring has slots. */
	weft_inject_kick_when_full(d->inject, true);
	if ((ret = weft_egress_new(&d->egress, d->udp, d->peers, d->max_datagram, err)) < 0)
		return ret;
	ret = weft_handshakes_new(&d->handshakes,
				  &(struct weft_handshakes_deps){
				      .cfg = cfg,
				      .identity = d->identity,
				      .udp = d->udp,
				      .peers = d->peers,
				      .egress = d->egress,
				      .index = d->index,
				      .drops = &d->drops,
				      .bans = weft_membership_bans(d->membership),
				  },
				  err);
	if (ret < 0)
		return ret;
	ret = weft_mesh_new(&d->mesh,
			    &(struct weft_mesh_deps){
				.cfg = cfg,
				.identity = d->identity,
				.peers = d->peers,
				.egress = d->egress,
				.handshakes = d->handshakes,
				.max_datagram = d->max_datagram,
				.bans = weft_membership_bans(d->membership),
			    },
			    err);
	if (ret < 0)
		return ret;
	ret = weft_router_new(&d->router,
			      &(struct weft_router_deps){
				  .loop = d->loop,
				  .capture = d->capture,
				  .inject = d->inject,
				  .udp = d->udp,
				  .macs = d->macs,
				  .peers = d->peers,
				  .egress = d->egress,
				  .handshakes = d->handshakes,
				  .mesh = d->mesh,
				  .index = d->index,
				  .drops = &d->drops,
				  .max_frame_len = max_frame_len,
				  .clamp_mss = cfg->clamp_mss,
			      },
			      err);
	if (ret < 0)
		return ret;
	weft_membership_attach(d->membership, d->handshakes, d->mesh);
	ret = weft_control_new(&d->control, d->loop, cfg->control_socket, on_control, d, &d->drops,
			       err);
	if (ret < 0 || !cfg->metrics_listen.host[0])
		return ret;
	return weft_http_new(&d->metrics, d->loop, &cfg->metrics_listen.addr, "/metrics",
			     WEFT_METRICS_CONTENT_TYPE, metrics_body, d, err);
}

static void start_timers(struct weftd *d)
{
	uint64_t wd_usec = 0;

	ev_timer_init(&d->tick, on_tick, TICK_SECONDS, TICK_SECONDS);
	ev_timer_start(d->loop, &d->tick);
	ev_signal_init(&d->sigterm, on_stop, SIGTERM);
	ev_signal_init(&d->sigint, on_stop, SIGINT);
	ev_signal_init(&d->sighup, on_hup, SIGHUP);
	ev_signal_start(d->loop, &d->sigterm);
	ev_signal_start(d->loop, &d->sigint);
	ev_signal_start(d->loop, &d->sighup);
	ev_timer_init(&d->watchdog, on_watchdog, 0, 0);
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		ev_timer_set(&d->watchdog, (double)wd_usec / 2e6, (double)wd_usec / 2e6);
		ev_timer_start(d->loop, &d->watchdog);
	}
}

/* Undoes whatever part of the start-up happened, in reverse order. */
static void teardown(struct weftd *d)
{
	ev_timer_stop(d->loop, &d->tick);
	ev_timer_stop(d->loop, &d->watchdog);
	ev_signal_stop(d->loop, &d->sigterm);
	ev_signal_stop(d->loop, &d->sigint);
	ev_signal_stop(d->loop, &d->sighup);
	weft_http_free(d->metrics);
	weft_control_free(d->control);
	weft_router_free(d->router);
	weft_mesh_free(d->mesh);
	weft_membership_free(d->membership);
	weft_handshakes_free(d->handshakes);
	weft_egress_free(d->egress);
	weft_resolver_free(d->resolver);
	weft_peers_free(d->peers);
	free(d->peers_cfg.peers);
	weft_capture_free(d->capture);
	weft_inject_free(d->inject);
	weft_udp_free(d->udp);
	if (d->link) {
		if (weft_link_teardown(d->link) < 0)
			log_warn("could not remove every link weftd created");
		weft_link_free(d->link);
	}
	weft_index_free(d->index);
	weft_mactable_free(d->macs);
	weft_identity_free(d->identity);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	weft_config_free(d->cfg);
}

int weft_daemon_run(struct weft_config *cfg, const char *path)
{
	struct weftd d = {.cfg = cfg, .config_path = path, .lock_fd = -1};
	struct watch watch = {.d = &d};
	char err[WEFT_ERRLEN] = "";
	uint64_t now;

	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (!d.loop) {
		log_err("libev: cannot create the event loop");
		weft_config_free(cfg);
		return 1;
	}
	d.started_ms = weft_clock_now_ms();
	/* The socket before any link: a port in use must fail before any
	 * link is made. */
	if (open_state(&d, err) < 0 || open_udp(&d, err) < 0 || start_watch(&watch, err) < 0 ||
	    setup_links(&d, err) < 0 || open_data_path(&d, err) < 0) {
		log_err("%s", err);
		stop_watch(&watch);
		teardown(&d);
		ev_loop_destroy(d.loop);
		return 1;
	}
	watch.mtu_max = d.mtu;
	start_timers(&d);
	/* The paths as they are now: the links weftd just made are no news. */
	follow_underlay(&watch, false);
	now = weft_clock_now_ms();
	weft_handshakes_start(d.handshakes, now);
	weft_egress_flush(d.egress, now);
	log_info("ready: listening on UDP port %u, overlay MTU %u, %u peers",
		 weft_sockaddr_port(&cfg->listen.addr), d.mtu, weft_peers_count(d.peers));
	sd_notify(0, "READY=1");

	ev_run(d.loop, 0);

	sd_notify(0, "STOPPING=1");
	stop_watch(&watch);
	teardown(&d);
	ev_loop_destroy(d.loop);
	log_info("stopped");
	return 0;
}
