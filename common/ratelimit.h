/* SPDX-License-Identifier: MIT */
/* Rate limiting of handshake datagrams: a token bucket per source address in
 * a fixed-size table, and one budget for all sources together.
 *
 * Sources are keyed on the address only (a NAT's many ports share one
 * bucket); IPv6 on its /64 (one host usually owns a whole /64, so keying on
 * the full address would let it pick a fresh bucket per packet), IPv4-mapped
 * IPv6 on the IPv4 address (a dual-stack socket reports IPv4 peers that way).
 * The table is set-associative, indexed with SipHash under a random key so a
 * sender cannot aim its sources at one set. A new source takes a free way of
 * its set, or one whose bucket has refilled to the full burst (forgetting it
 * changes nothing); when every way belongs to a source that is still being
 * limited, the newcomer is charged to one shared overflow bucket instead:
 * nobody's state can be flushed. The table only bounds what each source gets:
 * sources that fit in it (up to WEFT_RATELIMIT_ENTRIES) get a bucket each, so
 * a flood from many addresses gets up to that many times one source's rate.
 * What all of them get together is bounded by a global budget
 * (weft_ratelimit_window below), and which sources may be believed at all is
 * the caller's business (a HELLO's mac2 proves its source: common/cookie). */
#ifndef WEFT_RATELIMIT_H
#define WEFT_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/weft.h"

#define WEFT_RATELIMIT_RATE    20   /* tokens (handshake datagrams) per second */
#define WEFT_RATELIMIT_BURST   5    /* bucket size */
#define WEFT_RATELIMIT_ENTRIES 4096 /* sources tracked */
#define WEFT_RATELIMIT_WAYS    4    /* entries per set */

struct weft_ratelimit;

/* A limiter for @entries sources (rounded up to a power of two, at least
 * WEFT_RATELIMIT_WAYS; at most 2^24), each allowed @burst datagrams at once
 * and @rate per second after that. One allocation. Returns NULL when out of
 * memory or an argument is 0 or too large. */
struct weft_ratelimit *weft_ratelimit_new(uint32_t rate, uint32_t burst, size_t entries) WEFT_WUR;
void weft_ratelimit_free(struct weft_ratelimit *rl);
/* A new rate and burst (a reload); buckets keep their tokens, at most the
 * new burst. 0, or -EINVAL for values weft_ratelimit_new() refuses. */
int weft_ratelimit_set(struct weft_ratelimit *rl, uint32_t rate, uint32_t burst) WEFT_WUR;

/* Takes one token for @addr's source at @now_ms (any monotonic clock in
 * milliseconds; a clock that goes back refills nothing). Returns whether the
 * datagram may be processed. Addresses of families other than AF_INET and
 * AF_INET6 share one bucket. */
bool weft_ratelimit_allow(struct weft_ratelimit *rl, const struct sockaddr *addr, uint64_t now_ms);

/* Sources currently holding an entry (for tests and statistics). */
size_t weft_ratelimit_count(const struct weft_ratelimit *rl);

/* What a bucket is keyed on: the IPv4 address (IPv4-mapped IPv6 too), the
 * IPv6 /64, or one key for every other family. Compare with memcmp(). */
struct weft_ratelimit_source {
	uint8_t kind;
	uint8_t addr[8];
};

void weft_ratelimit_source_of(struct weft_ratelimit_source *src, const struct sockaddr *addr);

/* ---- a budget for all sources together ----------------------------------------
 *
 * At most @limit events in any second: a sliding window estimated from two
 * fixed one-second windows (the previous window's count, weighted by the part
 * of it still inside the last second, plus the current one's). No allocation,
 * integer math; a clock that goes back counts into the current window. */
struct weft_ratelimit_window {
	uint32_t limit;
	uint32_t cur, prev; /* events in the current and the previous window */
	uint64_t start_ms;  /* where the current window began */
};

/* A window of @limit events per second (0 refuses everything). */
void weft_ratelimit_window_init(struct weft_ratelimit_window *w, uint32_t limit);
/* A new limit (a reload); the events counted so far stay. */
void weft_ratelimit_window_set(struct weft_ratelimit_window *w, uint32_t limit);
/* Counts one event at @now_ms if fewer than the limit happened in the last
 * second, and returns whether it did. */
bool weft_ratelimit_window_take(struct weft_ratelimit_window *w, uint64_t now_ms);
/* Counts one event at @now_ms whatever the limit (demand, not admission). */
void weft_ratelimit_window_count(struct weft_ratelimit_window *w, uint64_t now_ms);
/* The events of the last second (the estimate take() compares with the limit). */
uint32_t weft_ratelimit_window_used(struct weft_ratelimit_window *w, uint64_t now_ms);

#endif
