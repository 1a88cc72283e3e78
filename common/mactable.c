/* SPDX-License-Identifier: MIT */
#include <config.h>   /* autoconf's, not common/config.h */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/frame.h"
#include "common/mactable.h"

_Static_assert(WEFT_MACTABLE_KEY_LEN == crypto_shorthash_KEYBYTES, "SipHash key size");

#define NIL UINT32_MAX
/* Tokens are kept in thousandths, so that a rate per second refills an
 * integer amount every millisecond. */
#define MILLI 1000u

/* 40 bytes. peer == WEFT_MACTABLE_NO_PEER marks a free slot. */
struct entry {
	uint8_t mac[6];
	uint32_t peer;
	uint32_t hnext;	       /* bucket chain, or free list */
	uint32_t prev, next;   /* refresh order of the table, oldest first */
	uint32_t pprev, pnext; /* refresh order of its peer, oldest first */
	uint64_t seen_ms;
};

struct peer_state {
	uint32_t count; /* entries stored under it, expired ones included */
	uint32_t oldest, newest;
	uint64_t tokens; /* thousandths of a new MAC */
	uint64_t refilled_ms;
};

struct weft_mactable {
	struct entry *entries;
	uint32_t *buckets;
	struct peer_state *peers; /* WEFT_MACTABLE_MAX_PEERS */
	uint32_t capacity;
	uint32_t mask; /* buckets - 1 */
	uint32_t count;
	uint32_t free;
	uint32_t oldest, newest;
	uint64_t ageing_ms;
	struct weft_mactable_limits limits;
	struct weft_mactable_stats stats;
	uint8_t key[WEFT_MACTABLE_KEY_LEN];
};

static uint32_t bucket_of(const struct weft_mactable *t, const uint8_t mac[static 6])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, mac, 6, t->key);
	memcpy(&v, h, sizeof(v));
	return (uint32_t)v & t->mask;
}

static bool live(const struct weft_mactable *t, const struct entry *e, uint64_t now_ms)
{
	/* A clock that steps back must not make an entry immortal or dead. */
	return now_ms < e->seen_ms || now_ms - e->seen_ms < t->ageing_ms;
}

static uint32_t find(const struct weft_mactable *t, const uint8_t mac[static 6], uint32_t b)
{
	for (uint32_t i = t->buckets[b]; i != NIL; i = t->entries[i].hnext)
		if (memcmp(t->entries[i].mac, mac, 6) == 0)
			return i;
	return NIL;
}

/* ---- the two refresh orders ---------------------------------------------------- */

static void order_unlink(struct weft_mactable *t, uint32_t i)
{
	struct entry *e = &t->entries[i];

	if (e->prev != NIL)
		t->entries[e->prev].next = e->next;
	else
		t->oldest = e->next;
	if (e->next != NIL)
		t->entries[e->next].prev = e->prev;
	else
		t->newest = e->prev;
}

static void order_append(struct weft_mactable *t, uint32_t i)
{
	struct entry *e = &t->entries[i];

	e->next = NIL;
	e->prev = t->newest;
	if (t->newest != NIL)
		t->entries[t->newest].next = i;
	else
		t->oldest = i;
	t->newest = i;
}

static void peer_unlink(struct weft_mactable *t, uint32_t i)
{
	struct entry *e = &t->entries[i];
	struct peer_state *ps = &t->peers[e->peer];

	if (e->pprev != NIL)
		t->entries[e->pprev].pnext = e->pnext;
	else
		ps->oldest = e->pnext;
	if (e->pnext != NIL)
		t->entries[e->pnext].pprev = e->pprev;
	else
		ps->newest = e->pprev;
	ps->count--;
}

static void peer_append(struct weft_mactable *t, uint32_t i)
{
	struct entry *e = &t->entries[i];
	struct peer_state *ps = &t->peers[e->peer];

	e->pnext = NIL;
	e->pprev = ps->newest;
	if (ps->newest != NIL)
		t->entries[ps->newest].pnext = i;
	else
		ps->oldest = i;
	ps->newest = i;
	ps->count++;
}

static void drop(struct weft_mactable *t, uint32_t i)
{
	struct entry *e = &t->entries[i];
	uint32_t *link = &t->buckets[bucket_of(t, e->mac)];

	while (*link != i)
		link = &t->entries[*link].hnext;
	*link = e->hnext;
	order_unlink(t, i);
	peer_unlink(t, i);
	e->peer = WEFT_MACTABLE_NO_PEER;
	e->hnext = t->free;
	t->free = i;
	t->count--;
}

/* ---- the bounds ------------------------------------------------------------------ */

static uint64_t bucket_cap(const struct weft_mactable *t)
{
	return (uint64_t)(t->limits.burst ? t->limits.burst : 1) * MILLI;
}

/* Takes one new MAC from @peer's bucket at @now_ms, if it holds one. */
static bool take_token(struct weft_mactable *t, uint32_t peer, uint64_t now_ms)
{
	struct peer_state *ps = &t->peers[peer];
	uint64_t cap = bucket_cap(t);

	if (!t->limits.rate)
		return true;
	if (now_ms > ps->refilled_ms) {
		/* Capped before multiplying: a long idle peer cannot overflow. */
		uint64_t elapsed = now_ms - ps->refilled_ms, full = cap / t->limits.rate + 1;

		ps->tokens += (elapsed < full ? elapsed : full) * t->limits.rate;
		if (ps->tokens > cap)
			ps->tokens = cap;
	}
	/* A clock that went back refills nothing, and later refills from there. */
	ps->refilled_ms = now_ms;
	if (ps->tokens < MILLI)
		return false;
	ps->tokens -= MILLI;
	return true;
}

/* Room for one more entry of @peer: under its bound, or at it with its own
 * oldest entry expired (dropped now). */
static bool peer_room(struct weft_mactable *t, uint32_t peer, uint64_t now_ms)
{
	const struct peer_state *ps = &t->peers[peer];

	if (!t->limits.per_peer || ps->count < t->limits.per_peer)
		return true;
	/* Its entries are in refresh order: if the oldest is live, all are. */
	if (ps->oldest == NIL || live(t, &t->entries[ps->oldest], now_ms))
		return false;
	drop(t, ps->oldest);
	t->stats.expired++;
	return ps->count < t->limits.per_peer;
}

/* A slot for a new entry: a free one, or the table's oldest if it expired.
 * Takes nothing yet. */
static bool table_room(const struct weft_mactable *t, uint64_t now_ms)
{
	return t->free != NIL || !live(t, &t->entries[t->oldest], now_ms);
}

/* ---- public ------------------------------------------------------------------------ */

int weft_mactable_new(struct weft_mactable **out, size_t capacity, uint64_t ageing_ms,
		      const uint8_t *key)
{
	struct weft_mactable *t;
	uint32_t nbuckets = 1;

	*out = NULL;
	if (capacity == 0 || capacity > WEFT_MACTABLE_MAX_CAPACITY || ageing_ms == 0)
		return -EINVAL;
	if (sodium_init() < 0)
		return -ENOSYS;
	while (nbuckets < capacity)
		nbuckets <<= 1;

	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->entries = calloc(capacity, sizeof(*t->entries));
	t->buckets = malloc(nbuckets * sizeof(*t->buckets));
	t->peers = calloc(WEFT_MACTABLE_MAX_PEERS, sizeof(*t->peers));
	if (!t->entries || !t->buckets || !t->peers) {
		weft_mactable_free(t);
		return -ENOMEM;
	}
	t->capacity = (uint32_t)capacity;
	t->mask = nbuckets - 1;
	t->ageing_ms = ageing_ms;
	t->oldest = t->newest = NIL;
	t->stats.capacity = capacity;
	memset(t->buckets, 0xff, nbuckets * sizeof(*t->buckets));
	for (uint32_t i = 0; i < t->capacity; i++) {
		t->entries[i].peer = WEFT_MACTABLE_NO_PEER;
		t->entries[i].hnext = i + 1 < t->capacity ? i + 1 : NIL;
	}
	for (uint32_t p = 0; p < WEFT_MACTABLE_MAX_PEERS; p++)
		t->peers[p].oldest = t->peers[p].newest = NIL;
	t->free = 0;
	if (key)
		memcpy(t->key, key, sizeof(t->key));
	else
		crypto_shorthash_keygen(t->key);
	*out = t;
	return 0;
}

void weft_mactable_free(struct weft_mactable *t)
{
	if (!t)
		return;
	free(t->entries);
	free(t->buckets);
	free(t->peers);
	sodium_memzero(t->key, sizeof(t->key));
	free(t);
}

void weft_mactable_set_ageing(struct weft_mactable *t, uint64_t ageing_ms)
{
	if (ageing_ms)
		t->ageing_ms = ageing_ms;
}

void weft_mactable_set_limits(struct weft_mactable *t, const struct weft_mactable_limits *l)
{
	bool was_unlimited = !t->limits.rate;
	uint64_t cap;

	t->limits = *l;
	cap = bucket_cap(t);
	for (uint32_t p = 0; p < WEFT_MACTABLE_MAX_PEERS; p++) {
		struct peer_state *ps = &t->peers[p];

		if (was_unlimited || ps->tokens > cap)
			ps->tokens = cap;
	}
}

int weft_mactable_learn(struct weft_mactable *t, const uint8_t mac[static 6], uint32_t peer,
			uint64_t now_ms)
{
	uint32_t b, i;
	struct entry *e;
	int res;

	if (weft_frame_is_multicast(mac) || weft_frame_is_zero(mac) ||
	    peer >= WEFT_MACTABLE_MAX_PEERS) {
		t->stats.rejected++;
		return -EINVAL;
	}
	b = bucket_of(t, mac);
	i = find(t, mac, b);
	if (i != NIL) {
		e = &t->entries[i];
		if (e->peer == peer && live(t, e, now_ms)) {
			res = WEFT_MACTABLE_REFRESHED;
		} else {
			/* New to @peer: its bounds apply. The entry itself stays, so
			 * the table needs no room. */
			if (e->peer != peer && !peer_room(t, peer, now_ms)) {
				t->stats.refused_peer_limit++;
				return -EDQUOT;
			}
			if (!take_token(t, peer, now_ms)) {
				t->stats.refused_rate++;
				return -EAGAIN;
			}
			if (live(t, e, now_ms)) {
				res = WEFT_MACTABLE_MOVED;
				t->stats.moved++;
			} else {
				res = WEFT_MACTABLE_ADDED;
				t->stats.added++;
			}
			if (e->peer != peer) {
				peer_unlink(t, i);
				e->peer = peer;
				peer_append(t, i);
			}
		}
		e->seen_ms = now_ms;
		if (t->newest != i) {
			order_unlink(t, i);
			order_append(t, i);
		}
		if (t->peers[peer].newest != i) {
			peer_unlink(t, i);
			peer_append(t, i);
		}
		return res;
	}

	if (!peer_room(t, peer, now_ms)) {
		t->stats.refused_peer_limit++;
		return -EDQUOT;
	}
	if (!table_room(t, now_ms)) {
		t->stats.refused_full++;
		return -ENOSPC;
	}
	if (!take_token(t, peer, now_ms)) {
		t->stats.refused_rate++;
		return -EAGAIN;
	}
	if (t->free == NIL) {
		/* table_room(): the oldest has expired. It may share our bucket:
		 * the head may change, b does not. */
		drop(t, t->oldest);
		t->stats.expired++;
	}
	i = t->free;
	e = &t->entries[i];
	t->free = e->hnext;
	memcpy(e->mac, mac, 6);
	e->peer = peer;
	e->seen_ms = now_ms;
	e->hnext = t->buckets[b];
	t->buckets[b] = i;
	order_append(t, i);
	peer_append(t, i);
	t->count++;
	t->stats.added++;
	return WEFT_MACTABLE_ADDED;
}

uint32_t weft_mactable_lookup(const struct weft_mactable *t, const uint8_t mac[static 6],
			      uint64_t now_ms)
{
	uint32_t i = find(t, mac, bucket_of(t, mac));

	if (i == NIL || !live(t, &t->entries[i], now_ms))
		return WEFT_MACTABLE_NO_PEER;
	return t->entries[i].peer;
}

int weft_mactable_remove(struct weft_mactable *t, const uint8_t mac[static 6], uint64_t now_ms)
{
	uint32_t i = find(t, mac, bucket_of(t, mac));
	bool was_live;

	if (i == NIL)
		return -ENOENT;
	was_live = live(t, &t->entries[i], now_ms);
	drop(t, i);
	if (!was_live) {
		t->stats.expired++;
		return -ENOENT;
	}
	t->stats.removed++;
	return 0;
}

size_t weft_mactable_forget_peer(struct weft_mactable *t, uint32_t peer)
{
	size_t n = 0;

	if (peer >= WEFT_MACTABLE_MAX_PEERS)
		return 0;
	while (t->peers[peer].oldest != NIL) {
		drop(t, t->peers[peer].oldest);
		n++;
	}
	return n;
}

size_t weft_mactable_expire(struct weft_mactable *t, uint64_t now_ms, size_t budget)
{
	size_t n = 0;

	while (n < budget && t->oldest != NIL && !live(t, &t->entries[t->oldest], now_ms)) {
		drop(t, t->oldest);
		n++;
	}
	t->stats.expired += n;
	return n;
}

bool weft_mactable_next(const struct weft_mactable *t, size_t *cursor, uint64_t now_ms,
			struct weft_mactable_entry *out)
{
	for (size_t i = *cursor; i < t->capacity; i++) {
		const struct entry *e = &t->entries[i];

		if (e->peer == WEFT_MACTABLE_NO_PEER || !live(t, e, now_ms))
			continue;
		memcpy(out->mac, e->mac, 6);
		out->peer = e->peer;
		out->age_ms = now_ms > e->seen_ms ? now_ms - e->seen_ms : 0;
		*cursor = i + 1;
		return true;
	}
	*cursor = t->capacity;
	return false;
}

void weft_mactable_get_stats(const struct weft_mactable *t, struct weft_mactable_stats *out)
{
	*out = t->stats;
	out->count = t->count;
}

size_t weft_mactable_peer_count(const struct weft_mactable *t, uint32_t peer)
{
	return peer < WEFT_MACTABLE_MAX_PEERS ? t->peers[peer].count : 0;
}
