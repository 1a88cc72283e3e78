/* SPDX-License-Identifier: MIT */
/* The handshake exchange on the wire: our HELLOs as initiator (one per
 * peer, with retries and rekeys, sent again as they are while unanswered,
 * and with a cookie when a responder under load asks), the responder's
 * checks and budgets before any Diffie-Hellman, its table of handshakes
 * waiting for their CONFIRM (which answers a HELLO or CONFIRM sent again
 * without new work), and mapping a finished handshake to a peer. */
#ifndef WEFT_HANDSHAKES_H
#define WEFT_HANDSHAKES_H

#include <stdint.h>

#include "common/weft.h"

struct weft_banlist;
struct weft_config;
struct weft_drops;
struct weft_egress;
struct weft_identity;
struct weft_index;
struct weft_peer;
struct weft_peers;
struct weft_udp;
struct weft_udp_dgram;
struct weft_wire_msg;

/* What the handshakes work with; every member is borrowed. */
struct weft_handshakes_deps {
	const struct weft_config *cfg; /* replaced by weft_handshakes_reconfigure() */
	const struct weft_identity *identity;
	struct weft_udp *udp;
	struct weft_peers *peers;
	struct weft_egress *egress;
	struct weft_index *index;
	struct weft_drops *drops;
	const struct weft_banlist *bans; /* keys the operator banned: refused */
};

struct weft_handshakes;

int weft_handshakes_new(struct weft_handshakes **out, const struct weft_handshakes_deps *deps,
			char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Ends the pending responder handshakes and frees; accepts NULL. */
void weft_handshakes_free(struct weft_handshakes *h);
/* A reloaded configuration: its handshake rate, burst and global rate apply
 * at once, and every peer with an address but no session is tried again now. */
void weft_handshakes_reconfigure(struct weft_handshakes *h, const struct weft_config *cfg,
				 uint64_t now);

/* A HELLO, WELCOME, CONFIRM or COOKIE @msg, parsed from @dg (of any protocol
 * version: another than ours is refused here, counted and reported). */
void weft_handshakes_receive(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			     const struct weft_udp_dgram *dg, uint64_t now);
/* Starts a handshake toward every peer with an address. */
void weft_handshakes_start(struct weft_handshakes *h, uint64_t now);
/* Retries, rekeys, and handshakes toward peers gone quiet. */
void weft_handshakes_tick(struct weft_handshakes *h, uint64_t now);
/* The path toward @p may have come back (the underlay changed): its retry
 * timer starts over and its next try goes now (the HELLO or CONFIRM in
 * flight again, or a new handshake if it needs one). At most once a second
 * per peer. */
void weft_handshakes_kick(struct weft_handshakes *h, struct weft_peer *p, uint64_t now);
/* Frames are waiting for @p, which has no session that can send: a
 * handshake now, unless one is in flight or one was started this way less
 * than a second ago. Cheap enough for the data path when it does nothing. */
void weft_handshakes_want(struct weft_handshakes *h, struct weft_peer *p, uint64_t now);

#endif
