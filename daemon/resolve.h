/* SPDX-License-Identifier: MIT */
/* Configured endpoints to socket addresses. A numeric endpoint converts at
 * once; a host name is looked up in the background (glibc's getaddrinfo_a)
 * and its answer comes back on the loop, so a resolver that is slow or
 * silent never stalls forwarding. */
#ifndef WEFT_RESOLVE_H
#define WEFT_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "common/endpoint.h"
#include "common/sockaddr.h"
#include "common/weft.h"

/* A numeric endpoint to its socket address (an IPv4-mapped literal becomes
 * IPv4). Never blocks: a host name is -EINPROGRESS (weft_resolver_lookup()
 * is for those), anything else -EHOSTUNREACH; the reason is in @err. */
int weft_resolve_endpoint(const struct weft_endpoint *ep, int family, union weft_sockaddr *out,
			  char err[static WEFT_ERRLEN]) WEFT_WUR;

/* How long a lookup may take before it is given up (answered as failed; a
 * later answer is dropped). */
#define WEFT_RESOLVER_DEADLINE_S 10.0

/* The answer to a lookup of @host and @port for @family: @addr its first
 * address, or NULL with @why. @changed: @addr differs from this name's
 * previous answer, or there was none (or the lookup asked for a fresh one).
 * @flags: the lookup's (WEFT_RESOLVER_*). */
typedef void (*weft_resolver_answer)(void *ctx, const char *host, uint16_t port, int family,
				     const union weft_sockaddr *addr, bool changed, const char *why,
				     unsigned flags);

struct weft_resolver;

int weft_resolver_new(struct weft_resolver **out, struct ev_loop *loop, weft_resolver_answer answer,
		      void *ctx, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Drops the lookups under way (their answers never come); accepts NULL. */
void weft_resolver_free(struct weft_resolver *r);

/* WEFT_RESOLVER_FRESH: the answer counts as changed whatever the previous
 * one was (the name is new where it is used). WEFT_RESOLVER_RETRY: asked
 * again on a timer, not by the operator (a failure is worth less noise). */
#define WEFT_RESOLVER_FRESH (1U << 0)
#define WEFT_RESOLVER_RETRY (1U << 1)
/* Starts looking up host name @ep for @family; the answer comes through the
 * callback, on the loop, within WEFT_RESOLVER_DEADLINE_S. A lookup of the
 * same name, port and family already under way answers for both (FRESH if
 * either asked so, RETRY only if both are). Returns 0,
 * or -EBUSY when too many lookups are under way, -ENOMEM, or another error
 * of getaddrinfo_a() (no answer will come). */
int weft_resolver_lookup(struct weft_resolver *r, const struct weft_endpoint *ep, int family,
			 unsigned flags) WEFT_WUR;
/* Waits up to @timeout_s for the lookups under way, delivering their
 * answers: for start-up, before the loop runs (the MTU is sized from the
 * peers' addresses). What is still under way afterwards answers later. */
void weft_resolver_settle(struct weft_resolver *r, double timeout_s);

#endif
