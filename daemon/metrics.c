/* SPDX-License-Identifier: MIT */
/* Names follow the Prometheus conventions: weft_ prefix, base units
 * (bytes, seconds), counters end in _total; one family per counter list
 * entry, per-peer families labelled peer (its name) and key (its
 * fingerprint). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/frame.h"
#include "common/mactable.h"
#include "common/session.h"
#include "daemon/capture.h"
#include "daemon/clock.h"
#include "daemon/daemon.h"
#include "daemon/inject.h"
#include "daemon/log.h"
#include "daemon/membership.h"
#include "daemon/mesh.h"
#include "daemon/metrics.h"
#include "daemon/paths.h"
#include "daemon/peers.h"
#include "daemon/router.h"
#include "daemon/udp.h"

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Label values are peer names and fingerprints (a restricted alphabet),
 * escaped all the same as the format asks. */
static void label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

/* Opens the label set; the caller adds more labels or closes it with '}'. */
static void peer_labels(FILE *f, const struct weft_peer *p)
{
	fputs("{peer=\"", f);
	label_value(f, p->name);
	fputs("\",key=\"", f);
	label_value(f, p->has_static ? p->fingerprint : "");
	fputc('"', f);
}

static void sample(FILE *f, const char *name, uint64_t v)
{
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* ---- global -------------------------------------------------------------------------- */

/* One family per entry of a counter list: weft_<group>_<name>_total. */
static void group_counter(FILE *f, const char *group, const char *name, uint64_t v,
			  const char *what)
{
	char metric[128], help[192];

	snprintf(metric, sizeof(metric), "weft_%s_%s_total", group, name);
	snprintf(help, sizeof(help), "%s: %s (weftctl status: %s.%s).", what, name, group, name);
	family(f, metric, "counter", help);
	sample(f, metric, v);
}

static void gauge(FILE *f, const char *name, const char *help, uint64_t v)
{
	family(f, name, "gauge", help);
	sample(f, name, v);
}

static void global_metrics(FILE *f, struct weftd *d, uint64_t now)
{
	const struct weft_router_counters *rc = weft_router_counters(d->router);
	const struct weft_mesh_counters *mc = weft_mesh_counters(d->mesh);
	struct weft_capture_stats cs = {0};
	struct weft_inject_stats is;
	struct weft_udp_stats us;
	struct weft_mactable_stats ms;
	unsigned up = 0, handshaking = 0, down = 0;
	struct weft_peer *p;

	family(f, "weft_build_info", "gauge", "weftd's version and network; always 1.");
	fputs("weft_build_info{version=\"", f);
	label_value(f, PACKAGE_VERSION);
	fputs("\",network=\"", f);
	label_value(f, d->cfg->name);
	fputs("\"} 1\n", f);
	gauge(f, "weft_uptime_seconds", "Seconds since weftd started.",
	      (now - d->started_ms) / 1000u);
	gauge(f, "weft_overlay_mtu_bytes", "The overlay MTU: the largest IP packet a frame carries.",
	      d->mtu);

	weft_peers_foreach(d->peers, p)
	{
		if (p->up)
			up++;
		else if (p->init.hs)
			handshaking++;
		else
			down++;
	}
	family(f, "weft_peers", "gauge", "Peers by state.");
	fprintf(f, "weft_peers{state=\"up\"} %u\nweft_peers{state=\"handshaking\"} %u\n"
		   "weft_peers{state=\"down\"} %u\n",
		up, handshaking, down);
	gauge(f, "weft_banned_keys", "Keys banned by weftctl forget or a removed [peer].",
	      weft_membership_bans(d->membership)->n);

	family(f, "weft_drops_total", "counter",
	       "Datagrams and frames dropped that no known peer sent, by reason.");
	for (int i = 0; i < WEFT_DROP_COUNT; i++)
		fprintf(f, "weft_drops_total{reason=\"%s\"} %llu\n", weft_drop_name(i),
			(unsigned long long)d->drops.n[i]);

	if (weft_capture_stats(d->capture, &cs) < 0)
		log_debug("capture statistics unavailable");
	weft_inject_stats(d->inject, &is);
	weft_udp_stats(d->udp, &us);
	weft_mactable_get_stats(d->macs, &ms);
#define CAPTURE(id, name)                                                                          \
	group_counter(f, "capture", "kernel_" #name, cs.name, "Capture ring, the kernel's count");
	WEFT_CAPTURE_STAT_LIST(CAPTURE)
#undef CAPTURE
#define INJECT(id, name) group_counter(f, "inject", #name, is.name, "Inject ring");
	WEFT_INJECT_STAT_LIST(INJECT)
#undef INJECT
#define UDP(id, name) group_counter(f, "udp", #name, us.name, "UDP socket");
	WEFT_UDP_STAT_LIST(UDP)
#undef UDP
	/* The table's size and room are levels, not counts. */
	gauge(f, "weft_mactable_entries", "MAC addresses in the table (expired ones not yet swept "
					  "included).",
	      ms.count);
	gauge(f, "weft_mactable_capacity", "MAC addresses the table holds at most.", ms.capacity);
#define MACTABLE(id, name)                                                                         \
	if (strcmp(#name, "count") && strcmp(#name, "capacity"))                                   \
		group_counter(f, "mactable", #name, ms.name, "MAC table");
	WEFT_MACTABLE_STAT_LIST(MACTABLE)
#undef MACTABLE
#define ROUTER(id, name) group_counter(f, "router", #name, rc->name, "Router");
	WEFT_ROUTER_COUNTER_LIST(ROUTER)
#undef ROUTER
#define MESH(id, name) group_counter(f, "mesh", #name, mc->name, "Mesh");
	WEFT_MESH_COUNTER_LIST(MESH)
#undef MESH
}

/* ---- per peer -------------------------------------------------------------------------- */

/* A family over every peer: the counter at offset @field of its counters. */
static void peer_family(FILE *f, struct weftd *d, const char *name, const char *type,
			const char *help, size_t field)
{
	struct weft_peer *p;

	family(f, name, type, help);
	for (unsigned i = 0; i < d->peers->n; i++) {
		uint64_t v;

		p = d->peers->list[i];
		memcpy(&v, (const char *)&p->count + field, sizeof(v));
		fputs(name, f);
		peer_labels(f, p);
		fprintf(f, "} %llu\n", (unsigned long long)v);
	}
}

static void peer_metrics(FILE *f, struct weftd *d, uint64_t now)
{
	static const char *const drop_names[] = {WEFT_PEER_DROP_LIST(WEFT_COUNTER_NAME)};
	static const char *const session_drop_names[] = {WEFT_SESSION_DROP_LIST(WEFT_COUNTER_NAME)};
	static const char *const states[] = {"up", "handshaking", "down"};
	size_t max_frame_len = d->mtu + WEFT_FRAME_HDR_LEN;
	unsigned n = d->peers->n;

#define PEER_COUNTER(id, name)                                                                     \
	peer_family(f, d, "weft_peer_" #name "_total", "counter", "Per peer: " #name ".",          \
		    offsetof(struct weft_peer_counters, name));
	WEFT_PEER_COUNTER_LIST(PEER_COUNTER)
#undef PEER_COUNTER

	family(f, "weft_peer_drops_total", "counter",
	       "Per peer: datagrams and frames dropped, by reason (peer and session drops).");
	for (unsigned i = 0; i < n; i++) {
		const struct weft_peer *p = d->peers->list[i];

		for (int j = 0; j < WEFT_PEER_DROP_COUNT; j++) {
			fputs("weft_peer_drops_total", f);
			peer_labels(f, p);
			fprintf(f, ",reason=\"%s\"} %llu\n", drop_names[j],
				(unsigned long long)p->drops[j]);
		}
		for (int j = 0; j < WEFT_SESSION_DROP_COUNT; j++) {
			fputs("weft_peer_drops_total", f);
			peer_labels(f, p);
			fprintf(f, ",reason=\"session_%s\"} %llu\n", session_drop_names[j],
				(unsigned long long)p->session_drops[j]);
		}
	}

	family(f, "weft_peer_state", "gauge",
	       "Per peer: 1 for its state (up, handshaking or down), 0 for the others.");
	for (unsigned i = 0; i < n; i++) {
		const struct weft_peer *p = d->peers->list[i];
		const char *state = p->up ? "up" : p->init.hs ? "handshaking" : "down";

		for (size_t j = 0; j < WEFT_ARRAY_SIZE(states); j++) {
			fputs("weft_peer_state", f);
			peer_labels(f, p);
			fprintf(f, ",state=\"%s\"} %d\n", states[j], !strcmp(state, states[j]));
		}
	}

	family(f, "weft_peer_last_handshake_timestamp_seconds", "gauge",
	       "Per peer: when its last handshake completed (Unix time); absent before the first.");
	for (unsigned i = 0; i < n; i++) {
		const struct weft_peer *p = d->peers->list[i];

		if (!p->last_handshake_wall_ms)
			continue;
		fputs("weft_peer_last_handshake_timestamp_seconds", f);
		peer_labels(f, p);
		fprintf(f, "} %.3f\n", (double)p->last_handshake_wall_ms / 1000.0);
	}

	family(f, "weft_peer_session_age_seconds", "gauge",
	       "Per peer: age of the session it is sent to; absent without one.");
	for (unsigned i = 0; i < n; i++) {
		const struct weft_peer *p = d->peers->list[i];
		const struct weft_session *s = p->sessions.current;

		if (!s)
			continue;
		fputs("weft_peer_session_age_seconds", f);
		peer_labels(f, p);
		fprintf(f, "} %.3f\n", (double)(now - s->created_ms) / 1000.0);
	}

	family(f, "weft_peer_path_mtu_bytes", "gauge",
	       "Per peer: the largest IP packet a frame toward it carries now.");
	for (unsigned i = 0; i < n; i++) {
		const struct weft_peer *p = d->peers->list[i];
		struct weft_peer *via;
		size_t frame;

		weft_peer_route(p, now, &via);
		frame = weft_path_frame_max_via(p, via, max_frame_len);
		fputs("weft_peer_path_mtu_bytes", f);
		peer_labels(f, p);
		fprintf(f, "} %zu\n", frame - WEFT_FRAME_HDR_LEN);
	}

	family(f, "weft_peer_last_received_seconds", "gauge",
	       "Per peer: seconds since its last authenticated datagram; absent before the first.");
	for (unsigned i = 0; i < n; i++) {
		const struct weft_peer *p = d->peers->list[i];

		if (!p->last_handshake_wall_ms)
			continue;
		fputs("weft_peer_last_received_seconds", f);
		peer_labels(f, p);
		fprintf(f, "} %.3f\n", (double)(now - p->last_rx_ms) / 1000.0);
	}
}

char *weft_metrics_text(struct weftd *d, size_t *len)
{
	uint64_t now = weft_clock_now_ms();
	char *text = NULL;
	FILE *f = open_memstream(&text, len);

	if (!f)
		return NULL;
	global_metrics(f, d, now);
	peer_metrics(f, d, now);
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
