/* SPDX-License-Identifier: MIT */
/* The daemon: start-up in the design's order, the loop's housekeeping,
 * reload and teardown. struct weftd owns one of each module; each module
 * keeps its own state behind its own header. */
#ifndef WEFT_DAEMON_H
#define WEFT_DAEMON_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "common/config.h"
#include "daemon/counters.h"

struct weft_capture;
struct weft_control;
struct weft_egress;
struct weft_handshakes;
struct weft_identity;
struct weft_index;
struct weft_inject;
struct weft_link;
struct weft_http;
struct weft_mactable;
struct weft_membership;
struct weft_mesh;
struct weft_peers;
struct weft_resolver;
struct weft_router;
struct weft_udp;

struct weftd {
	struct ev_loop *loop;
	const char *config_path;
	/* What the daemon runs with: the file as last loaded, with every
	 * restart-only key at the value it started with. Replaced on reload. */
	struct weft_config *cfg;
	/* What the peers table is configured with (it borrows it): cfg, with
	 * only the endpoints that a start-up or reload sets now (see
	 * configure_peers() in daemon.c); the peers array is owned. */
	struct weft_config peers_cfg;
	struct weft_resolver *resolver; /* host-name endpoints, in the background */
	uint64_t resolve_retry_ms;	/* when unresolved host names are tried again */
	uint64_t started_ms;
	int lock_fd; /* abstract socket: one weftd per bridge per netns */

	struct weft_identity *identity;
	struct weft_link *link; /* the bridge and weftd's veth pair */
	int dp_ifindex;		/* <bridge>-dp, where the rings are */
	unsigned mtu;		/* overlay MTU */
	size_t max_datagram;	/* UDP payload toward peers */

	struct weft_udp *udp;
	struct weft_capture *capture;
	struct weft_inject *inject;
	struct weft_mactable *macs;
	struct weft_index *index; /* receiver indices of sessions and handshakes */
	struct weft_peers *peers;
	struct weft_egress *egress;
	struct weft_handshakes *handshakes;
	struct weft_mesh *mesh;
	struct weft_router *router;
	struct weft_membership *membership; /* bans, weftctl connect/forget */
	struct weft_control *control;
	struct weft_http *metrics; /* [metrics] listen; NULL: none */
	struct weft_drops drops;

	ev_timer tick; /* 100 ms: peer timers, MAC ageing */
	ev_timer watchdog;
	ev_signal sigterm, sigint, sighup;
};

/* Runs the daemon on @cfg (owned from here on), read from @path: start-up,
 * the loop until SIGTERM or SIGINT, teardown. Returns the exit status. */
int weft_daemon_run(struct weft_config *cfg, const char *path);

#endif
