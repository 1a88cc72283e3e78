/* SPDX-License-Identifier: MIT */
/* The mesh: membership gossip in and out (MEMBERS records), the member
 * table and its routes, peers made for the members it learns, the relay
 * toward each member without a direct session, and the members file that
 * keeps them across restarts (docs/protocol.md, section 13). */
#ifndef WEFT_MESH_H
#define WEFT_MESH_H

#include <stddef.h>
#include <stdint.h>

#include "common/gossip.h"
#include "common/weft.h"
#include "daemon/counters.h"

struct weft_config;
struct weft_egress;
struct weft_handshakes;
struct weft_identity;
struct weft_peer;
struct weft_peers;

/* clang-format off */
#define WEFT_MESH_COUNTER_LIST(X)                                                                  \
	X(RECORDS_SENT, gossip_records_sent)                                                       \
	X(RECORDS_RECEIVED, gossip_records_received)                                               \
	X(MALFORMED, gossip_malformed)   /* MEMBERS records dropped whole */                       \
	X(UNKNOWN, gossip_unknown)       /* MEMBERS records of an unknown format, skipped */       \
	X(STALE, gossip_stale)           /* entries older than the one stored */                   \
	X(CONFLICT, gossip_conflict)     /* same seq, other contents */                            \
	X(REFUSED, gossip_refused)       /* entries local policy refuses */                        \
	X(FULL, gossip_full)             /* new members beyond the table's room */                 \
	X(OWN, gossip_own_bumped)        /* entries about us that made us bump our seq */          \
	X(MEMBERS_LEARNED, members_learned) /* peers made for members learned by gossip */  \
	X(OBSERVED_SENT, observed_sent)     /* OBSERVED records: where we see a peer */            \
	X(OBSERVED_RECEIVED, observed_received)                                                    \
	X(OBSERVED_MALFORMED, observed_malformed) /* OBSERVED records ignored as invalid */        \
	X(OBSERVED_UNKNOWN, observed_unknown)     /* OBSERVED records of an unknown format */
/* clang-format on */
struct weft_mesh_counters {
	WEFT_MESH_COUNTER_LIST(WEFT_COUNTER_FIELD)
};

/* What the mesh works with; every member is borrowed. */
struct weft_mesh_deps {
	const struct weft_config *cfg; /* replaced by weft_mesh_reconfigure() */
	const struct weft_identity *identity;
	struct weft_peers *peers;
	struct weft_egress *egress;
	struct weft_handshakes *handshakes; /* kicked when a member gets a new address */
	size_t max_datagram; /* the largest datagram toward peers */
	const struct weft_banlist *bans; /* keys the operator banned: never members */
};

struct weft_banlist;
struct weft_mesh;

/* The member table with our own entry, and a peer for every member in the
 * members file (tried at once). */
int weft_mesh_new(struct weft_mesh **out, const struct weft_mesh_deps *deps,
		  char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Writes the members file a last time and frees; accepts NULL. */
void weft_mesh_free(struct weft_mesh *m);
void weft_mesh_reconfigure(struct weft_mesh *m, const struct weft_config *cfg);

/* A MEMBERS record body from @from. */
void weft_mesh_receive(struct weft_mesh *m, struct weft_peer *from, const uint8_t *body,
		       size_t len, uint64_t now);
/* Our own entry, routes and relays, peers for new members, gossip out,
 * forgetting, the members file. */
void weft_mesh_tick(struct weft_mesh *m, uint64_t now);
/* An OBSERVED record from @from (docs/protocol.md 13.9): where it sees us. */
void weft_mesh_observed(struct weft_mesh *m, struct weft_peer *from, const uint8_t *body,
			size_t len);
/* Our own entry's addresses, where members try to reach us: the number
 * written to @out (at most WEFT_GOSSIP_MAX_ADDRS). */
unsigned weft_mesh_own_addrs(const struct weft_mesh *m, union weft_sockaddr *out);

/* Forgets the member with @key now (the operator banned it). */
void weft_mesh_forget(struct weft_mesh *m, const uint8_t key[static WEFT_KEY_LEN]);

/* Our member id (WEFT_GOSSIP_ID_LEN bytes). */
const uint8_t *weft_mesh_own_id(const struct weft_mesh *m);
const struct weft_mesh_counters *weft_mesh_counters(const struct weft_mesh *m);

#endif
