/* SPDX-License-Identifier: MIT */
/* Peers: configuration, handshakes, sessions, keepalives, the egress batch. */
#ifndef WEFT_PEER_H
#define WEFT_PEER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <jansson.h>

#include "common/config.h"
#include "common/session.h"
#include "common/wire.h"
#include "daemon/daemon.h"
#include "daemon/udp.h"

struct weft_handshake;
struct weft_udp_batch;

enum weft_peer_drop {
	WEFT_PEER_DROP_BAD_RECORD,  /* malformed record or frame inside an authentic datagram */
	WEFT_PEER_DROP_NO_SESSION,  /* frame for this peer while no session could send */
	WEFT_PEER_DROP_SEAL,        /* the session refused to seal (expired, counters) */
	WEFT_PEER_DROP_SEND,        /* the kernel refused the datagram */
	WEFT_PEER_DROP_COUNT
};

struct weft_peer {
	struct weftd *d;
	uint32_t id;                  /* slot in d->peers, the MAC table's peer id */
	char name[WEFT_CONFIG_NAME_MAX + 1];
	bool configured;              /* from the configuration; else learned from a handshake */
	struct weft_endpoint cfg_endpoint;
	bool has_cfg_endpoint;
	bool has_pin;
	uint8_t pin[WEFT_KEY_LEN];

	bool has_static;
	uint8_t remote_static[WEFT_KEY_LEN];
	char fingerprint[WEFT_KEY_FPR_LEN];

	bool has_endpoint;
	struct sockaddr_storage endpoint;
	socklen_t endpoint_len;
	/* Our address its newest authenticated datagram came to: we answer
	 * from it (family 0: the kernel's choice). */
	struct weft_udp_local_addr local;

	struct weft_session_set sessions;

	/* Our handshake as initiator, if one is in flight. */
	struct weft_handshake *hs;
	uint32_t hs_index;
	uint64_t hs_sent_ms;
	unsigned hs_attempts;
	uint64_t hs_next_ms;          /* next attempt (backoff with jitter) */

	uint64_t last_rx_ms;          /* last authenticated datagram */
	uint64_t last_tx_ms;
	uint64_t last_handshake_wall_ms; /* completed, wall clock, for status */
	bool up;

	/* Egress: the datagram being filled and the batch it goes out in. */
	struct weft_udp_batch *batch;
	uint8_t *dgram;
	size_t dgram_room;
	struct weft_wire_writer writer;
	bool dirty;

	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_frames, tx_frames;
	uint64_t handshakes;
	uint64_t drops[WEFT_PEER_DROP_COUNT];
	uint64_t session_drops[WEFT_SESSION_DROP_COUNT];
};

/* A new peer in the first free slot, or NULL when full or out of memory. */
struct weft_peer *weft_peer_new(struct weftd *d, const char *name);
/* Drops its sessions, handshake, MAC entries and slot; accepts NULL. */
void weft_peer_free(struct weft_peer *p);
struct weft_peer *weft_peer_find(struct weftd *d, const char *name);
/* Queues a KEEPALIVE record (sent at the next flush). */
void weft_peer_send_keepalive(struct weft_peer *p, uint64_t now);
/* Sends the peer's committed datagrams now. */
void weft_peer_send_batch(struct weft_peer *p);

/* daemon/handshake_io.c: the handshake exchange. */
void weft_peer_initiate(struct weft_peer *p, uint64_t now);
void weft_peer_abort_handshake(struct weft_peer *p);
/* Frees the responder handshakes. */
void weft_handshakes_free(struct weftd *d);
/* Retries, rekeys and re-handshakes after silence (@silent: nothing heard for peer_timeout). */
void weft_peer_handshake_tick(struct weft_peer *p, uint64_t now, bool silent);

void weft_peers_init(struct weftd *d);
/* Initiates toward every peer with an endpoint. */
void weft_peers_start(struct weftd *d, uint64_t now);
void weft_peers_free(struct weftd *d);
unsigned weft_peers_count(const struct weftd *d);
/* Applies a reloaded configuration's peers: new ones are added, removed ones
 * dropped, endpoints and pins updated. */
void weft_peers_reconfigure(struct weftd *d, const struct weft_config *cfg);
/* Handshake retries, rekeys, keepalives, liveness; run from the tick. */
void weft_peers_tick(struct weftd *d, uint64_t now);
/* HELLO / WELCOME / CONFIRM (@msg, parsed from @dg). */
void weft_peers_handle_handshake(struct weftd *d, const struct weft_wire_msg *msg,
				 const struct weft_udp_dgram *dg, uint64_t now);
/* Seals every open datagram and sends every peer's batch. */
void weft_peers_flush(struct weftd *d, uint64_t now);

bool weft_peer_can_send(const struct weft_peer *p, uint64_t now);
/* Room for a record of @len bytes in the peer's open datagram (sealing and
 * starting a new one as needed); *@body is where its body goes. */
int weft_peer_reserve_record(struct weft_peer *p, uint8_t kind, size_t len, uint8_t **body,
			     uint64_t now) WEFT_WUR;
/* An authenticated DATA datagram @dg arrived on @s: confirms sessions,
 * follows the endpoint and our local address (@newest: the highest counter
 * so far), marks the peer alive. */
void weft_peer_received(struct weft_peer *p, struct weft_session *s, bool newest,
			const struct weft_udp_dgram *dg, uint64_t now);
json_t *weft_peer_status(const struct weft_peer *p, uint64_t now);

int weft_resolve_endpoint(const struct weft_endpoint *ep, int family,
			  struct sockaddr_storage *out, socklen_t *out_len);
void weft_format_addr(char *buf, size_t len, const struct sockaddr *sa);

#endif
