/* SPDX-License-Identifier: MIT */
/*
 * The remote-MAC table: which peer a unicast MAC lives behind.
 *
 * Peers are named by a small integer id chosen by the caller (any value but
 * WEFT_MACTABLE_NO_PEER), not by pointer: an entry is 32 bytes, a stale entry
 * can never dangle into freed peer memory, and the id prints as is in
 * `weftctl status`. The daemon maps ids to peers (e.g. a slot index).
 *
 * Fixed capacity, all memory allocated at creation: entries come from a
 * preallocated pool, chained in buckets indexed by a keyed SipHash
 * (crypto_shorthash) of the MAC, so a remote sender cannot aim MACs at one
 * bucket. Entries are also kept on a list in order of last refresh; ageing
 * pops its head, and a full table evicts the least recently refreshed entry
 * (counted) so a new MAC is always learned and lookups of active MACs keep
 * working.
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
	X(EVICTED, evicted)   /* live entries dropped to make room in a full table */              \
	X(REJECTED, rejected) /* learn() with a group, zero or otherwise invalid source */
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

/*
 * Records that source @mac was seen in a frame from @peer at @now_ms. Returns
 * an enum weft_mactable_learned, or -EINVAL if @mac has the group bit set or
 * is all zeros (not a valid source) or @peer is WEFT_MACTABLE_NO_PEER.
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

/* Drops every entry of @peer; returns how many. O(capacity). */
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

#endif
