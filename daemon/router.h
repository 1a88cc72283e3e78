/* SPDX-License-Identifier: MIT */
/* Forwarding: frames from the capture ring to peers, datagrams from peers
 * to the inject ring. */
#ifndef WEFT_ROUTER_H
#define WEFT_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "common/weft.h"
#include "daemon/counters.h"

struct weft_capture;
struct weft_drops;
struct weft_egress;
struct weft_handshakes;
struct weft_index;
struct weft_inject;
struct weft_mactable;
struct weft_mesh;
struct weft_peers;
struct weft_udp;

/* What the router works with; every member is borrowed. */
struct weft_router_deps {
	struct ev_loop *loop;
	struct weft_capture *capture;
	struct weft_inject *inject;
	struct weft_udp *udp;
	struct weft_mactable *macs;
	struct weft_peers *peers;
	struct weft_egress *egress;
	struct weft_handshakes *handshakes;
	struct weft_mesh *mesh;
	struct weft_index *index;
	struct weft_drops *drops;
	size_t max_frame_len; /* overlay MTU + 14; a VLAN tag counts in it */
	bool clamp_mss;	      /* [network] clamp_mss; weft_router_reconfigure() */
};

/* clang-format off */
#define WEFT_ROUTER_COUNTER_LIST(X)                                                                \
	X(TX_FRAMES, frames_sent)        /* captured frames sealed toward a peer (each copy) */   \
	X(RX_FRAMES, frames_injected)    /* frames from peers put into the inject ring */         \
	X(FLOODS, floods)                /* captured frames sent to every member */               \
	X(RELAY_SENT, relay_sent)        /* our frames sent through a relay */                    \
	X(RELAY_FORWARDED, relay_forwarded) /* others' frames we relayed */                       \
	X(RELAY_DELIVERED, relay_delivered) /* relayed frames for us, injected */                 \
	X(RELAY_MALFORMED, relay_malformed)                                                        \
	X(RELAY_UNKNOWN_ORIGIN, relay_unknown_origin)                                              \
	X(RELAY_NO_ROUTE, relay_no_route)                                                          \
	X(RELAY_TOO_BIG, relay_too_big) /* others' frames too big for our path on: refused, told */ \
	X(RELAY_LIMITED, relay_limited) /* RELAY_TOO_BIG records taken from our relays */         \
	X(TOO_BIG_ICMP4, too_big_icmp4)  /* "fragmentation needed" answered */                    \
	X(TOO_BIG_ICMP6, too_big_icmp6)  /* "packet too big" answered */                          \
	X(TOO_BIG_FRAGMENTED, too_big_fragmented) /* IPv4 packets fragmented */                   \
	X(MSS_CLAMPED, mss_clamped)      /* TCP SYNs whose MSS was lowered */                     \
	X(PARTIAL_SENT, partial_sent)    /* segments sent with the checksum left to the peer */    \
	X(PARTIAL_COMPLETED, partial_completed) /* ... completed first: relay, flood, no CSUM_PARTIAL */ \
	X(PARTIAL_RECEIVED, partial_received) /* FRAME_PARTIAL records from peers */              \
	X(PROBES_ANSWERED, probes_answered)                                                        \
	X(PROBE_MALFORMED, probe_malformed)                                                        \
	X(PROBE_TOO_BIG, probe_too_big)  /* probes longer than any datagram we accept */
/* clang-format on */
struct weft_router_counters {
	WEFT_ROUTER_COUNTER_LIST(WEFT_COUNTER_FIELD)
};

struct weft_router;

/* Starts watching the capture ring and the UDP socket on deps->loop. */
int weft_router_new(struct weft_router **out, const struct weft_router_deps *deps,
		    char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Stops the watchers and frees; accepts NULL. */
void weft_router_free(struct weft_router *r);
const struct weft_router_counters *weft_router_counters(const struct weft_router *r);
/* A reloaded [network] clamp_mss. */
void weft_router_reconfigure(struct weft_router *r, bool clamp_mss);

#endif
