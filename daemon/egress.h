/* SPDX-License-Identifier: MIT */
/* Egress: records into each peer's open datagram, sealing, and one batched
 * send per peer (WireGuard's send.c). The router and the handshakes put
 * records here; everything reserved leaves at the next flush. */
#ifndef WEFT_EGRESS_H
#define WEFT_EGRESS_H

#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

struct weft_egress;
struct weft_peer;
struct weft_peers;
struct weft_udp;

/* @max_datagram: the longest datagram toward peers (the underlay's UDP payload). */
int weft_egress_new(struct weft_egress **out, struct weft_udp *udp, struct weft_peers *peers,
		    size_t max_datagram, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Drops whatever was not flushed; accepts NULL. */
void weft_egress_free(struct weft_egress *e);

/* Room for a record of @len bytes in @p's open datagram, sealing it and
 * opening another as needed; *@body is where its body goes. The first
 * datagram ever sent through a peer slot allocates that slot's batch; nothing
 * else allocates. Failures are counted in @p's drops. */
int weft_egress_reserve(struct weft_egress *e, struct weft_peer *p, uint8_t kind, size_t len,
			uint8_t **body, uint64_t now) WEFT_WUR;
/* A KEEPALIVE record for @p, sealed at once (sent at the next flush). */
void weft_egress_keepalive(struct weft_egress *e, struct weft_peer *p, uint64_t now);
/* A PROBE record with id @probe_id alone in a datagram of exactly @size
 * bytes of UDP payload, sealed now (docs/protocol.md, section 13.7). 0, or
 * -EINVAL when @size is outside what a datagram toward peers may be. */
int weft_egress_probe(struct weft_egress *e, struct weft_peer *p, size_t size, uint32_t probe_id,
		      uint64_t now) WEFT_WUR;
/* Seals every open datagram and sends every peer's batch. */
void weft_egress_flush(struct weft_egress *e, uint64_t now);
/* A keepalive to every peer we sent nothing to for @keepalive_ms, then a flush. */
void weft_egress_tick(struct weft_egress *e, uint64_t keepalive_ms, uint64_t now);

#endif
