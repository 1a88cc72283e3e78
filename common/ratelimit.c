/* SPDX-License-Identifier: MIT */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/ratelimit.h"

/* Tokens are counted in thousandths, so that a rate in tokens per second is
 * the refill in milli-tokens per millisecond: integer math, no drift. */
#define MILLI	 1000
#define RATE_MAX 1000000

enum source_kind { SRC_OTHER, SRC_IPV4, SRC_IPV6 };

struct bucket {
	struct weft_ratelimit_source src; /* addr: IPv4 4 bytes, IPv6 the /64 prefix */
	bool used;
	uint64_t last_ms;
	uint64_t tokens; /* milli-tokens */
};

struct weft_ratelimit {
	uint64_t rate; /* milli-tokens per ms */
	uint64_t cap;  /* milli-tokens */
	size_t nsets;  /* a power of two */
	size_t count;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct bucket overflow;
	struct bucket table[]; /* nsets * WEFT_RATELIMIT_WAYS */
};

struct weft_ratelimit *weft_ratelimit_new(uint32_t rate, uint32_t burst, size_t entries)
{
	struct weft_ratelimit *rl;
	size_t n = WEFT_RATELIMIT_WAYS;

	if (!rate || !burst || rate > RATE_MAX || burst > RATE_MAX || !entries ||
	    entries > (1U << 24))
		return NULL;
	while (n < entries)
		n <<= 1;
	rl = calloc(1, sizeof(*rl) + n * sizeof(rl->table[0]));
	if (!rl)
		return NULL;
	rl->rate = rate;
	rl->cap = (uint64_t)burst * MILLI;
	rl->nsets = n / WEFT_RATELIMIT_WAYS;
	randombytes_buf(rl->hash_key, sizeof(rl->hash_key));
	rl->overflow.used = true;
	rl->overflow.tokens = rl->cap;
	return rl;
}

int weft_ratelimit_set(struct weft_ratelimit *rl, uint32_t rate, uint32_t burst)
{
	if (!rate || !burst || rate > RATE_MAX || burst > RATE_MAX)
		return -EINVAL;
	rl->rate = rate;
	rl->cap = (uint64_t)burst * MILLI;
	/* Buckets above a smaller burst are cut down at their next refill. */
	return 0;
}

void weft_ratelimit_free(struct weft_ratelimit *rl)
{
	free(rl);
}

size_t weft_ratelimit_count(const struct weft_ratelimit *rl)
{
	return rl->count;
}

void weft_ratelimit_source_of(struct weft_ratelimit_source *src, const struct sockaddr *addr)
{
	memset(src, 0, sizeof(*src));
	/* Copies, because a struct sockaddr pointer promises no alignment. */
	if (addr->sa_family == AF_INET) {
		struct sockaddr_in sin;

		memcpy(&sin, addr, sizeof(sin));
		src->kind = SRC_IPV4;
		memcpy(src->addr, &sin.sin_addr, 4);
	} else if (addr->sa_family == AF_INET6) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, addr, sizeof(sin6));
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr)) {
			src->kind = SRC_IPV4;
			memcpy(src->addr, &sin6.sin6_addr.s6_addr[12], 4);
		} else {
			src->kind = SRC_IPV6;
			memcpy(src->addr, &sin6.sin6_addr, 8);
		}
	}
}

/* The bucket's tokens as of @now_ms, without changing it. */
static uint64_t tokens_at(const struct weft_ratelimit *rl, const struct bucket *b, uint64_t now_ms)
{
	uint64_t elapsed = now_ms > b->last_ms ? now_ms - b->last_ms : 0;

	/* rate >= 1, so a longer pause than cap ms refills in full (and the
	 * product below stays far from overflowing: both factors <= 2^30). */
	if (elapsed >= rl->cap)
		return rl->cap;
	return b->tokens + elapsed * rl->rate < rl->cap ? b->tokens + elapsed * rl->rate : rl->cap;
}

static bool take(struct weft_ratelimit *rl, struct bucket *b, uint64_t now_ms)
{
	b->tokens = tokens_at(rl, b, now_ms);
	if (now_ms > b->last_ms)
		b->last_ms = now_ms;
	if (b->tokens < MILLI)
		return false;
	b->tokens -= MILLI;
	return true;
}

bool weft_ratelimit_allow(struct weft_ratelimit *rl, const struct sockaddr *addr, uint64_t now_ms)
{
	uint8_t h[crypto_shorthash_BYTES];
	struct bucket *set, *spare = NULL;
	struct weft_ratelimit_source src;
	size_t index = 0;

	weft_ratelimit_source_of(&src, addr);
	crypto_shorthash(h, (const uint8_t *)&src, sizeof(src), rl->hash_key);
	for (int i = 0; i < 8; i++)
		index |= (size_t)h[i] << (8 * i);
	set = &rl->table[(index & (rl->nsets - 1)) * WEFT_RATELIMIT_WAYS];

	for (int w = 0; w < WEFT_RATELIMIT_WAYS; w++) {
		struct bucket *b = &set[w];

		if (b->used && !memcmp(&b->src, &src, sizeof(src)))
			return take(rl, b, now_ms);
		/* Prefer a free way; else one whose source has nothing left to limit. */
		if (!b->used)
			spare = spare && !spare->used ? spare : b;
		else if (!spare && tokens_at(rl, b, now_ms) == rl->cap)
			spare = b;
	}
	if (!spare)
		return take(rl, &rl->overflow, now_ms);
	if (!spare->used)
		rl->count++;
	spare->used = true;
	spare->src = src;
	spare->tokens = rl->cap;
	spare->last_ms = now_ms;
	return take(rl, spare, now_ms);
}

/* ---- the global window ------------------------------------------------------- */

#define WINDOW_MS 1000

void weft_ratelimit_window_init(struct weft_ratelimit_window *w, uint32_t limit)
{
	memset(w, 0, sizeof(*w));
	w->limit = limit;
}

void weft_ratelimit_window_set(struct weft_ratelimit_window *w, uint32_t limit)
{
	w->limit = limit;
}

/* Moves the windows up to @now_ms. */
static void window_advance(struct weft_ratelimit_window *w, uint64_t now_ms)
{
	uint64_t n;

	if (now_ms < w->start_ms + WINDOW_MS)
		return;
	n = (now_ms - w->start_ms) / WINDOW_MS;
	w->prev = n == 1 ? w->cur : 0;
	w->cur = 0;
	w->start_ms += n * WINDOW_MS;
}

uint32_t weft_ratelimit_window_used(struct weft_ratelimit_window *w, uint64_t now_ms)
{
	uint64_t into;

	window_advance(w, now_ms);
	into = now_ms > w->start_ms ? now_ms - w->start_ms : 0;
	/* The previous window's events, spread evenly, still inside the last second. */
	return w->cur + (uint32_t)((uint64_t)w->prev * (WINDOW_MS - into) / WINDOW_MS);
}

bool weft_ratelimit_window_take(struct weft_ratelimit_window *w, uint64_t now_ms)
{
	if (weft_ratelimit_window_used(w, now_ms) >= w->limit)
		return false;
	w->cur++;
	return true;
}

void weft_ratelimit_window_count(struct weft_ratelimit_window *w, uint64_t now_ms)
{
	window_advance(w, now_ms);
	if (w->cur < UINT32_MAX)
		w->cur++;
}
