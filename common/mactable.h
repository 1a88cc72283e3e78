/* SPDX-License-Identifier: MIT */
/*
 * The remote-MAC table: which peer a unicast MAC lives behind.
 *
 * Peers are named by a small integer id chosen by the caller (0 ..
 * WEFT_MACTABLE_MAX_PEERS - 1), not by pointer: an entry is 40 bytes, a stale
 * entry can never dangle into freed peer memory, and the id prints as is in
 * `weftctl status`. The daemon maps ids to peers (e.g. a slot index).
 *
 * Fixed capacity, all memory allocated at creation: entries come from a
 * preallocated pool, chained in buckets indexed by a keyed SipHash
 * (crypto_shorthash) of the MAC, so a remote sender cannot aim MACs at one
 * bucket. Entries are also kept on two lists in order of last refresh, one
 * for the whole table and one per peer; ageing pops the head of the first.
 *
 * Every MAC comes from a peer, and one peer must not be able to push the
 * others out (issue 12, finding 5: random source MACs from one member used to
 * evict the whole table). So a table never evicts a live entry: a new MAC is
 * refused (counted) when the table is full of live entries, when its peer
 * already has per_peer live MACs, or when its peer is over its rate of new
 * MACs (a token bucket). An expired entry is reused instead of refusing. What
 * is learned already keeps working; a MAC that moves to another peer counts
 * as new there.
 *
 * Time is passed in as milliseconds of a monotonic clock; callers pass
 * non-decreasing values. An entry refreshed at t is live for now < t + ageing.
 */
#ifndef WEFT_MACTABLE_H
#define WEFT_MACTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

#define WEFT_MACTABLE_KEY_LEN		16 /* crypto_shorthash_KEYBYTES */
#define WEFT_MACTABLE_NO_PEER		UINT32_MAX
#define WEFT_MACTABLE_DEFAULT_CAPACITY	16384
#define WEFT_MACTABLE_MAX_CAPACITY	(1U << 24)
#define WEFT_MACTABLE_DEFAULT_AGEING_MS (300U * 1000U)
/* Peer ids are below this: the per-peer state is one array of it, made at
 * creation (about 128 KiB). */
#define WEFT_MACTABLE_MAX_PEERS 4096

struct weft_mactable;

/* What weft_mactable_learn() did. */
enum weft_mactable_learned {
	WEFT_MACTABLE_REFRESHED = 0, /* live at that peer already */
	WEFT_MACTABLE_ADDED = 1,     /* absent (or expired) before */
	WEFT_MACTABLE_MOVED = 2,     /* was live at another peer: moved at once */
};

struct weft_mactable_entry {
	uint8_t mac[6];
	uint32_t peer;
	uint64_t age_ms; /* since the last frame from it */
};

/* The statistics, as one X(ID, field) list (the daemon generates its status
 * and metrics from it). */
/* clang-format off */
#define WEFT_MACTABLE_STAT_LIST(X)                                                                 \
	X(COUNT, count)       /* entries stored, including expired ones not yet swept */           \
	X(CAPACITY, capacity)                                                                      \
	X(ADDED, added)       /* WEFT_MACTABLE_ADDED results */                                    \
	X(MOVED, moved)       /* WEFT_MACTABLE_MOVED results */                                    \
	X(REMOVED, removed)   /* live entries dropped by weft_mactable_remove() */                 \
	X(EXPIRED, expired)   /* dropped by weft_mactable_expire() */                              \
	X(REJECTED, rejected) /* learn() with a group, zero or otherwise invalid source */         \
	X(REFUSED_PEER_LIMIT, refused_peer_limit) /* new MAC of a peer at its per_peer bound */    \
	X(REFUSED_RATE, refused_rate)             /* new MAC of a peer over its rate */            \
	X(REFUSED_FULL, refused_full)             /* new MAC while every entry is live */
/* clang-format on */
#define WEFT_MACTABLE_STAT_FIELD(id, name) uint64_t name;
struct weft_mactable_stats {
	WEFT_MACTABLE_STAT_LIST(WEFT_MACTABLE_STAT_FIELD)
};

/*
 * Creates a table of @capacity entries (1 .. WEFT_MACTABLE_MAX_CAPACITY) whose
 * entries expire @ageing_ms (> 0) after their last refresh. @key keys the
 * bucket hash; NULL draws a random one (pass a fixed key only in tests).
 * Returns 0, -EINVAL or -ENOMEM.
 */
int weft_mactable_new(struct weft_mactable **out, size_t capacity, uint64_t ageing_ms,
		      const uint8_t *key) WEFT_WUR;
void weft_mactable_free(struct weft_mactable *t);

/* Applies to every entry from now on (configuration reload). @ageing_ms > 0. */
void weft_mactable_set_ageing(struct weft_mactable *t, uint64_t ageing_ms);

/* How much one peer may learn; 0 in a field: no such bound. */
struct weft_mactable_limits {
	uint32_t per_peer; /* live MACs per peer */
	uint32_t rate;	   /* new MACs per second per peer, after... */
	uint32_t burst;	   /* ...this many at once (rate without burst: a burst of 1) */
};

/*
 * Applies @l to every peer from now on (a new table has no limits). Lowering
 * per_peer drops nothing: a peer above it learns no new MAC until enough of
 * its entries expire or go. A peer's bucket keeps its tokens, at most the new
 * burst; when rate was 0 before, every bucket starts full.
 */
void weft_mactable_set_limits(struct weft_mactable *t, const struct weft_mactable_limits *l);

/*
 * Records that source @mac was seen in a frame from @peer at @now_ms. Returns
 * an enum weft_mactable_learned, or a refusal that leaves the table as it was
 * (but for expired entries it reuses) and is counted in the stats:
 *   -EINVAL  @mac has the group bit set or is all zeros (not a valid source),
 *            or @peer is not below WEFT_MACTABLE_MAX_PEERS
 *   -EDQUOT  @mac is new to @peer, which has per_peer live MACs already
 *   -EAGAIN  @mac is new to @peer, which is over its rate of new MACs
 *   -ENOSPC  @mac is new and every entry of the table is live
 * A refresh (@mac live at @peer already) is never refused. O(1).
 */
int weft_mactable_learn(struct weft_mactable *t, const uint8_t mac[static 6], uint32_t peer,
			uint64_t now_ms) WEFT_WUR;

/* The peer @mac is live at, or WEFT_MACTABLE_NO_PEER. */
uint32_t weft_mactable_lookup(const struct weft_mactable *t, const uint8_t mac[static 6],
			      uint64_t now_ms);

/*
 * Drops @mac (the bridge sent us a frame from it: it is local now). Returns 0
 * if a live entry was dropped, -ENOENT if there was none (an expired entry is
 * dropped all the same).
 */
int weft_mactable_remove(struct weft_mactable *t, const uint8_t mac[static 6], uint64_t now_ms);

/* Drops every entry of @peer; returns how many. O(its entries). */
size_t weft_mactable_forget_peer(struct weft_mactable *t, uint32_t peer);

/*
 * Drops expired entries, oldest first, examining at most @budget entries so
 * one call stays short. Returns how many were dropped; call again when that
 * equals @budget.
 */
size_t weft_mactable_expire(struct weft_mactable *t, uint64_t now_ms, size_t budget);

/*
 * Iteration over live entries: start with *cursor = 0; each call fills @out
 * and returns true until there are no more. Order is unspecified; the table
 * must not change during the walk.
 */
bool weft_mactable_next(const struct weft_mactable *t, size_t *cursor, uint64_t now_ms,
			struct weft_mactable_entry *out);

void weft_mactable_get_stats(const struct weft_mactable *t, struct weft_mactable_stats *out);

/* Entries stored for @peer, expired ones not yet swept included. */
size_t weft_mactable_peer_count(const struct weft_mactable *t, uint32_t peer);

#endif
