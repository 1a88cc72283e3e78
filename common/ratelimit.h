/* SPDX-License-Identifier: MIT */
/* Per-source rate limiting of handshake datagrams: a token bucket per source
 * address in a fixed-size table, so a flood costs neither memory nor more
 * than a bounded number of handshake checks per second.
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
 * nobody's state can be flushed, and a flood from many addresses together
 * gets at most one source's rate. */
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

#endif
