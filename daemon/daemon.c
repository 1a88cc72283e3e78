/* SPDX-License-Identifier: MIT */
/* Start-up in DESIGN's order, the loop's housekeeping, status, reload, teardown. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "common/frame.h"
#include "common/handshake.h"
#include "common/mactable.h"
#include "common/ratelimit.h"
#include "common/wire.h"
#include "daemon/capture.h"
#include "daemon/control.h"
#include "daemon/daemon.h"
#include "daemon/inject.h"
#include "daemon/link.h"
#include "daemon/log.h"
#include "daemon/peer.h"
#include "daemon/router.h"
#include "daemon/udp.h"

#define TICK_SECONDS 0.1
#define MAC_EXPIRE_BUDGET 256

static const char *const drop_names[WEFT_DROP_COUNT] = {
	[WEFT_DROP_GARBAGE] = "garbage",
	[WEFT_DROP_UNKNOWN_INDEX] = "unknown_index",
	[WEFT_DROP_HANDSHAKE_RATE] = "handshake_rate",
	[WEFT_DROP_HANDSHAKE_AUTH] = "handshake_auth",
	[WEFT_DROP_HANDSHAKE_STALE] = "handshake_stale",
	[WEFT_DROP_HANDSHAKE_REPLAY] = "handshake_replay",
	[WEFT_DROP_HANDSHAKE_REFUSED] = "handshake_refused",
	[WEFT_DROP_FRAME_RUNT] = "frame_runt",
	[WEFT_DROP_FRAME_TOO_BIG] = "frame_too_big",
	[WEFT_DROP_FRAME_LINK_LOCAL] = "frame_link_local",
	[WEFT_DROP_NO_SESSION] = "no_session",
	[WEFT_DROP_INJECT_FULL] = "inject_ring_full",
	[WEFT_DROP_INJECT_BAD] = "inject_bad_frame",
};

const char *weft_drop_name(enum weft_drop d)
{
	return d < WEFT_DROP_COUNT ? drop_names[d] : "?";
}

uint64_t weft_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t weft_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- keys ---------------------------------------------------------------- */

static void load_keys(struct weftd *d)
{
	const struct weft_config *cfg = d->cfg;
	char err[WEFT_ERRLEN];
	int ret;

	d->secret = weft_key_alloc();
	d->private_key = weft_key_alloc();
	if (!d->secret || !d->private_key)
		weft_fatal("out of memory for keys");
	ret = weft_key_load(cfg->secret_file, d->secret, err);
	if (ret < 0)
		weft_fatal("network secret: %s%s", err,
			   ret == -ENOENT ? " (create it with `weftd genpsk')" : "");
	ret = weft_key_load(cfg->private_key_file, d->private_key, err);
	if (ret == -ENOENT) {
		weft_key_generate_private(d->private_key);
		if (weft_key_save(cfg->private_key_file, d->private_key, err) < 0)
			weft_fatal("private key: %s", err);
		log_info("created a new private key in %s", cfg->private_key_file);
	} else if (ret < 0) {
		weft_fatal("private key: %s", err);
	}
	if (weft_key_public(d->public_key, d->private_key) < 0)
		weft_fatal("private key in %s is not a usable X25519 key", cfg->private_key_file);
	weft_key_fingerprint(d->fingerprint, d->public_key);
}

/* The configured nickname, else the host name cut to what a nickname allows. */
static void set_nickname(struct weftd *d)
{
	char host[256] = "";
	size_t n = 0;

	if (d->cfg->nickname[0]) {
		snprintf(d->nickname, sizeof(d->nickname), "%s", d->cfg->nickname);
		return;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	for (const char *c = host; *c && *c != '.' && n < sizeof(d->nickname) - 1; c++)
		if (weft_handshake_nickname_valid((char[]){*c, '\0'}))
			d->nickname[n++] = *c;
	if (n == 0)
		snprintf(d->nickname, sizeof(d->nickname), "%.8s", d->fingerprint);
	if (!weft_handshake_nickname_valid(d->nickname))
		snprintf(d->nickname, sizeof(d->nickname), "host");
}

/* ---- one weftd per bridge -------------------------------------------------- */

/* An abstract UNIX socket name lives in the network namespace and vanishes
 * with the process, so a crash never leaves a stale lock behind. */
static void take_instance_lock(struct weftd *d)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int n;

	n = snprintf(sun.sun_path + 1, sizeof(sun.sun_path) - 1, "weftd/bridge/%s", d->cfg->bridge);
	d->lock_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (d->lock_fd < 0)
		weft_fatal("instance lock: %s", strerror(errno));
	if (bind(d->lock_fd, (struct sockaddr *)&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n)) < 0) {
		if (errno == EADDRINUSE)
			weft_fatal("another weftd already runs on bridge %s in this network namespace",
				   d->cfg->bridge);
		weft_fatal("instance lock: %s", strerror(errno));
	}
}

/* ---- addresses ------------------------------------------------------------- */

int weft_resolve_endpoint(const struct weft_endpoint *ep, int family,
			  struct sockaddr_storage *out, socklen_t *out_len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = family};
	struct addrinfo *res;
	char port[8];
	int ret;

	if (ep->numeric) {
		memcpy(out, &ep->addr, ep->addr_len);
		*out_len = ep->addr_len;
		return 0;
	}
	snprintf(port, sizeof(port), "%u", ep->port);
	ret = getaddrinfo(ep->host, port, &hints, &res);
	if (ret != 0) {
		log_warn("cannot resolve %s: %s", ep->host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	memcpy(out, res->ai_addr, res->ai_addrlen);
	*out_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

void weft_format_addr(char *buf, size_t len, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN];

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(sin->sin_port));
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		snprintf(buf, len, "-");
	}
}

/* ---- links and MTU ----------------------------------------------------------- */

static void setup_links(struct weftd *d)
{
	const struct weft_config *cfg = d->cfg;
	bool ipv6 = cfg->listen.addr.ss_family == AF_INET6;
	unsigned underlay_mtu = 1500;
	char ifname[IFNAMSIZ] = "", err[WEFT_ERRLEN];
	struct weft_link_spec spec;

	if (weft_link_open(&d->link, err) < 0)
		weft_fatal("rtnetlink: %s", err);
	if (cfg->mtu) {
		d->mtu = cfg->mtu;
	} else {
		int ret = -ENOENT;

		if (cfg->underlay[0]) {
			ret = weft_link_mtu_by_name(d->link, cfg->underlay, &underlay_mtu, err);
			if (ret < 0)
				weft_fatal("underlay %s: %s", cfg->underlay, err);
			snprintf(ifname, sizeof(ifname), "%s", cfg->underlay);
		} else {
			/* The path toward the first peer with an address tells the underlay. */
			for (unsigned i = 0; i < d->max_peers && ret < 0; i++) {
				struct weft_peer *p = d->peers[i];

				if (p && p->has_endpoint) {
					ret = weft_link_route_mtu(d->link, (struct sockaddr *)&p->endpoint,
								  ifname, &underlay_mtu, err);
					/* The peers' family sets the IP header size. */
					ipv6 = p->endpoint.ss_family == AF_INET6;
				}
			}
			if (ret < 0)
				log_warn("no route toward any peer to size the MTU; assuming a 1500-byte underlay");
		}
		d->mtu = weft_frame_overlay_mtu(underlay_mtu, ipv6);
		if (!d->mtu)
			weft_fatal("underlay MTU %u leaves no room for an overlay", underlay_mtu);
		log_info("overlay MTU %u (underlay %s MTU %u, %s)", d->mtu, ifname[0] ? ifname : "?",
			 underlay_mtu, ipv6 ? "IPv6" : "IPv4");
	}
	/* The largest datagram that the underlay carries without fragments. */
	d->max_datagram = d->mtu + WEFT_FRAME_HDR_LEN + WEFT_WIRE_OVERHEAD;
	d->max_frame_len = d->mtu + WEFT_FRAME_HDR_LEN;

	memset(&spec, 0, sizeof(spec));
	spec.bridge = cfg->bridge;
	spec.mtu = d->mtu;
	spec.create_bridge = cfg->create_bridge;
	if (weft_link_setup(d->link, &spec, &d->dp_ifindex, err) < 0) {
		/* Undo whatever part of the set-up did happen. */
		log_err("links: %s", err);
		(void)weft_link_teardown(d->link);
		exit(1);
	}
}

/* ---- status ------------------------------------------------------------------ */

static json_t *status_json(struct weftd *d)
{
	uint64_t now = weft_now_ms();
	struct weft_capture_stats cs = {0};
	struct weft_inject_stats is = {0};
	struct weft_udp_stats us = {0};
	struct weft_mactable_stats ms;
	json_t *root, *peers, *macs, *drops;
	char buf[128];

	if (weft_capture_stats(d->capture, &cs) < 0)
		log_debug("capture statistics unavailable");
	weft_inject_stats(d->inject, &is);
	weft_udp_stats(d->udp, &us);
	weft_mactable_get_stats(d->macs, &ms);
	weft_format_addr(buf, sizeof(buf), (struct sockaddr *)&d->cfg->listen.addr);

	drops = json_object();
	for (int i = 0; i < WEFT_DROP_COUNT; i++)
		json_object_set_new(drops, weft_drop_name(i), json_integer((json_int_t)d->drops[i]));

	peers = json_array();
	for (unsigned i = 0; i < d->max_peers; i++)
		if (d->peers[i])
			json_array_append_new(peers, weft_peer_status(d->peers[i], now));

	macs = json_array();
	size_t cursor = 0;
	struct weft_mactable_entry e;
	while (weft_mactable_next(d->macs, &cursor, now, &e)) {
		char mac[WEFT_FRAME_MAC_STRLEN];
		struct weft_peer *p = e.peer < d->max_peers ? d->peers[e.peer] : NULL;

		weft_frame_format_mac(mac, e.mac);
		json_array_append_new(macs, json_pack("{s:s,s:s,s:I}", "mac", mac, "peer",
						      p ? p->name : "?", "idle_s",
						      (json_int_t)(e.age_ms / 1000)));
	}

	root = json_pack("{s:s,s:s,s:s,s:s,s:i,s:I}", "network", d->cfg->name, "fingerprint",
			 d->fingerprint, "listen", buf, "bridge", d->cfg->bridge, "mtu", (int)d->mtu,
			 "uptime_s", (json_int_t)((now - d->started_ms) / 1000));
	weft_key_encode(buf, d->public_key);
	json_object_set_new(root, "public_key", json_string(buf));
	json_object_set_new(root, "capture",
			    json_pack("{s:I,s:I,s:I,s:I}", "kernel_packets", (json_int_t)cs.packets,
				      "kernel_drops", (json_int_t)cs.drops, "frames_sent",
				      (json_int_t)d->tx_frames, "floods", (json_int_t)d->floods));
	json_object_set_new(root, "inject",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "queued", (json_int_t)is.queued,
				      "ring_full", (json_int_t)is.ring_full, "bad_length",
				      (json_int_t)is.bad_length, "wrong_format",
				      (json_int_t)is.wrong_format, "kicks", (json_int_t)is.kicks,
				      "kick_errors", (json_int_t)is.kick_errors));
	json_object_set_new(
		root, "udp",
		json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:b}", "rx_datagrams",
			  (json_int_t)us.rx_datagrams, "rx_bytes", (json_int_t)us.rx_bytes,
			  "tx_datagrams", (json_int_t)us.tx_datagrams, "tx_bytes",
			  (json_int_t)us.tx_bytes, "tx_gso_sends", (json_int_t)us.tx_gso_sends,
			  "tx_eagain", (json_int_t)us.tx_eagain, "tx_emsgsize",
			  (json_int_t)us.tx_emsgsize, "tx_source_lost", (json_int_t)us.tx_source_lost,
			  "rx_truncated", (json_int_t)us.rx_truncated,
			  "gso", weft_udp_gso(d->udp), "gro", weft_udp_gro(d->udp)));
	json_object_set_new(root, "mactable",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "count", (json_int_t)ms.count,
				      "capacity", (json_int_t)ms.capacity, "moved",
				      (json_int_t)ms.moved, "removed", (json_int_t)ms.removed,
				      "expired", (json_int_t)ms.expired, "evicted",
				      (json_int_t)ms.evicted));
	json_object_set_new(root, "drops", drops);
	json_object_set_new(root, "peers", peers);
	json_object_set_new(root, "macs", macs);
	return root;
}

static json_t *on_control(void *ctx, const char *command)
{
	struct weftd *d = ctx;

	if (!strcmp(command, "status"))
		return status_json(d);
	return NULL;
}

/* ---- signals, reload ------------------------------------------------------------ */

static void on_stop(struct ev_loop *loop, ev_signal *w, int revents)
{
	log_info("received %s, shutting down", strsignal(w->signum));
	ev_break(loop, EVBREAK_ALL);
}

static void reload(struct weftd *d)
{
	struct weft_config_errors errs;
	struct weft_config *cfg;

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
	if (strcmp(cfg->name, d->cfg->name) || strcmp(cfg->bridge, d->cfg->bridge) ||
	    strcmp(cfg->secret_file, d->cfg->secret_file) ||
	    strcmp(cfg->private_key_file, d->cfg->private_key_file) ||
	    memcmp(&cfg->listen.addr, &d->cfg->listen.addr, sizeof(cfg->listen.addr)) ||
	    cfg->mtu != d->cfg->mtu || strcmp(cfg->control_socket, d->cfg->control_socket))
		log_warn("reload: [network] and [control] changes take effect at the next restart; "
			 "peers, timers and log level are applied now");
	weft_peers_reconfigure(d, cfg);
	weft_mactable_set_ageing(d->macs, (uint64_t)cfg->mac_ageing * 1000u);
	weft_log_init(cfg->log_level);
	weft_config_free(d->cfg);
	d->cfg = cfg;
	log_info("reloaded %s: %u peers", d->config_path, weft_peers_count(d));
	sd_notify(0, "READY=1");
}

static void on_hup(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct weftd *d = container_of(w, struct weftd, sighup);

	reload(d);
}

static void on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct weftd *d = container_of(w, struct weftd, tick);
	uint64_t now = weft_now_ms();

	weft_peers_tick(d, now);
	weft_mactable_expire(d->macs, now, MAC_EXPIRE_BUDGET);
	/* Frames left in the TX ring by a busy kick go out now at the latest. */
	if (weft_inject_pending(d->inject) && weft_inject_flush(d->inject) < 0)
		log_debug("inject ring kick failed");
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
	sd_notify(0, "WATCHDOG=1");
}

/* ---- start-up and teardown ------------------------------------------------------ */

static void open_udp(struct weftd *d)
{
	const struct weft_config *cfg = d->cfg;
	struct weft_udp_config ucfg = {0};
	char err[WEFT_ERRLEN];

	memcpy(&ucfg.listen, &cfg->listen.addr, cfg->listen.addr_len);
	ucfg.listen_len = cfg->listen.addr_len;
	ucfg.sndbuf = (int)cfg->udp_sndbuf;
	ucfg.rcvbuf = (int)cfg->udp_rcvbuf;
	ucfg.max_datagram = 65535;
	if (weft_udp_open(&d->udp, &ucfg, err) < 0)
		weft_fatal("UDP %s", err);
}

/* Rings and control socket come after the links: a failure here must undo them. */
static int open_rings_and_control(struct weftd *d, char err[static WEFT_ERRLEN])
{
	const struct weft_config *cfg = d->cfg;
	char why[WEFT_ERRLEN];

	if (weft_capture_open(&d->capture, d->dp_ifindex, cfg->rx_ring_frames,
			      d->max_frame_len + WEFT_FRAME_VLAN_LEN, why) < 0) {
		snprintf(err, WEFT_ERRLEN, "capture ring: %.200s", why);
		return -1;
	}
	if (weft_inject_open(&d->inject, d->dp_ifindex, cfg->tx_ring_frames, d->max_frame_len,
			     why) < 0) {
		snprintf(err, WEFT_ERRLEN, "inject ring: %.200s", why);
		return -1;
	}
	if (weft_control_open(&d->control, d->loop, cfg->control_socket, on_control, d, err) < 0)
		return -1;
	return 0;
}

static void teardown(struct weftd *d)
{
	ev_timer_stop(d->loop, &d->tick);
	ev_timer_stop(d->loop, &d->watchdog);
	ev_io_stop(d->loop, &d->capture_io);
	ev_io_stop(d->loop, &d->udp_io);
	ev_signal_stop(d->loop, &d->sigterm);
	ev_signal_stop(d->loop, &d->sigint);
	ev_signal_stop(d->loop, &d->sighup);
	weft_control_free(d->control);
	weft_handshakes_free(d);
	weft_peers_free(d);
	weft_capture_close(d->capture);
	weft_inject_close(d->inject);
	weft_udp_close(d->udp);
	if (d->link) {
		if (weft_link_teardown(d->link) < 0)
			log_warn("could not remove every link weftd created");
		weft_link_free(d->link);
	}
	weft_session_index_free(d->index);
	weft_mactable_free(d->macs);
	weft_ratelimit_free(d->ratelimit);
	weft_handshake_replay_free(d->hello_replay);
	weft_key_free(d->private_key);
	weft_key_free(d->secret);
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	weft_config_free(d->cfg);
}

int weft_daemon_run(struct weft_config *cfg, const char *path)
{
	struct weftd d = {.cfg = cfg, .config_path = path, .lock_fd = -1};
	char err[WEFT_ERRLEN];

	d.loop = ev_default_loop(EVFLAG_AUTO);
	if (!d.loop)
		weft_fatal("libev: cannot create the event loop");
	d.started_ms = weft_now_ms();

	load_keys(&d);
	set_nickname(&d);
	log_info("network %s, key %s, bridge %s", cfg->name, d.fingerprint, cfg->bridge);
	take_instance_lock(&d);

	d.max_peers = WEFT_CONFIG_MAX_PEERS;
	d.peers = calloc(d.max_peers, sizeof(*d.peers));
	d.index = weft_session_index_new(4 * d.max_peers + 256, NULL, NULL);
	if (!d.peers || !d.index)
		weft_fatal("out of memory");
	if (weft_mactable_new(&d.macs, WEFT_MACTABLE_DEFAULT_CAPACITY,
			      (uint64_t)cfg->mac_ageing * 1000u, NULL) < 0)
		weft_fatal("out of memory for the MAC table");
	d.ratelimit = weft_ratelimit_new(cfg->handshake_rate, cfg->handshake_burst,
					 WEFT_RATELIMIT_ENTRIES);
	d.hello_replay = weft_handshake_replay_new(WEFT_HANDSHAKE_REPLAY_CAPACITY,
						   WEFT_HANDSHAKE_REPLAY_KEEP_MS);
	if (!d.ratelimit || !d.hello_replay)
		weft_fatal("out of memory for handshake state");
	weft_peers_init(&d);

	/* The socket first: a port in use must fail before any link is made. */
	open_udp(&d);
	setup_links(&d);
	if (open_rings_and_control(&d, err) < 0) {
		log_err("%s", err);
		teardown(&d);
		ev_loop_destroy(d.loop);
		return 1;
	}

	ev_io_init(&d.capture_io, weft_router_on_capture, weft_capture_fd(d.capture), EV_READ);
	ev_io_init(&d.udp_io, weft_router_on_udp, weft_udp_fd(d.udp), EV_READ);
	ev_io_start(d.loop, &d.capture_io);
	ev_io_start(d.loop, &d.udp_io);
	ev_timer_init(&d.tick, on_tick, TICK_SECONDS, TICK_SECONDS);
	ev_timer_start(d.loop, &d.tick);
	ev_signal_init(&d.sigterm, on_stop, SIGTERM);
	ev_signal_init(&d.sigint, on_stop, SIGINT);
	ev_signal_init(&d.sighup, on_hup, SIGHUP);
	ev_signal_start(d.loop, &d.sigterm);
	ev_signal_start(d.loop, &d.sigint);
	ev_signal_start(d.loop, &d.sighup);

	uint64_t wd_usec = 0;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec > 0) {
		ev_timer_init(&d.watchdog, on_watchdog, (double)wd_usec / 2e6, (double)wd_usec / 2e6);
		ev_timer_start(d.loop, &d.watchdog);
	}

	weft_peers_start(&d, weft_now_ms());
	log_info("ready: listening on UDP port %u, overlay MTU %u, %u peers", cfg->listen.port,
		 d.mtu, weft_peers_count(&d));
	sd_notify(0, "READY=1");

	ev_run(d.loop, 0);

	sd_notify(0, "STOPPING=1");
	teardown(&d);
	ev_loop_destroy(d.loop);
	log_info("stopped");
	return 0;
}
