/* SPDX-License-Identifier: MIT */
/* The path toward each peer: its MTU, probed (docs/protocol.md, section
 * 13.7) on every session with a peer that speaks the mesh records, and the
 * largest frame it therefore carries. */
#ifndef WEFT_PATHS_H
#define WEFT_PATHS_H

#include <stddef.h>
#include <stdint.h>

struct weft_egress;
struct weft_peer;
struct weft_peers;

/* Starts or goes on with the search toward every peer with a session;
 * @max_datagram is the largest datagram our own interface allows. */
void weft_paths_tick(struct weft_peers *ps, struct weft_egress *e, size_t max_datagram,
		     uint64_t now);
/* A PROBE_ACK from @p. */
void weft_paths_ack(struct weft_peer *p, uint32_t probe_id, uint16_t size, uint64_t now);
/* The largest Ethernet frame (header included, a VLAN tag counted) a FRAME
 * record toward @p may carry: what the path MTU leaves, or @max_frame_len
 * (the interface's) while nothing was probed. */
size_t weft_path_frame_max(const struct weft_peer *p, size_t max_frame_len);
/* The same toward @p through @via (NULL: directly): a relayed frame also
 * carries the RELAY record's header on the relay's path, and goes no
 * larger than @via said it can pass on to @p. */
size_t weft_path_frame_max_via(const struct weft_peer *p, const struct weft_peer *via,
			       size_t max_frame_len);
/* How long a relay's RELAY_TOO_BIG holds: as long as a probed size. */
#define WEFT_PATHS_RELAY_LIMIT_MS (10u * 60 * 1000)
/* @relay said (RELAY_TOO_BIG) it passes frames of at most @frame_max
 * bytes on to @p: frames toward @p through it stay within that. */
void weft_paths_relay_limit(struct weft_peer *p, const struct weft_peer *relay, size_t frame_max,
			    uint64_t now);

#endif
