/* SPDX-License-Identifier: MIT */
/*
 * Watches the kernel's links, routes and addresses (the rtnetlink groups for
 * links and IPv4/IPv6 routes and addresses) from the event loop and tells the owner what kind of
 * thing changed, a short while after a burst of notifications settles. It
 * does not say which link or route: notifications can be lost (a burst
 * overflows the socket buffer), so the owner looks again at what it cares
 * about (daemon/link) instead of trusting a stream of deltas. Changes the
 * owner makes itself come back as notifications too: its handler must be
 * idempotent.
 */
#ifndef WEFT_NETWATCH_H
#define WEFT_NETWATCH_H

#include <ev.h>

#include "common/weft.h"

#define WEFT_NETWATCH_LINK  (1U << 0) /* a link appeared, went, or changed (MTU, master, up) */
#define WEFT_NETWATCH_ROUTE (1U << 1) /* an IPv4 or IPv6 route appeared or went */
#define WEFT_NETWATCH_ADDR  (1U << 2) /* an IPv4 or IPv6 address appeared or went */
/* How long a burst is let settle before the owner is told. */
#define WEFT_NETWATCH_SETTLE_S 0.2

struct weft_netwatch;

/*
 * Opens a non-blocking rtnetlink socket subscribed to the link, route and
 * address groups (in the caller's network namespace) and starts watching it on
 * @loop. @on_change(@ctx, what) is called from the loop with the
 * WEFT_NETWATCH_* bits of what changed (all after lost notifications).
 */
int weft_netwatch_new(struct weft_netwatch **out, struct ev_loop *loop,
		      void (*on_change)(void *ctx, unsigned what), void *ctx,
		      char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Stops watching, closes the socket, frees. Accepts NULL. */
void weft_netwatch_free(struct weft_netwatch *w);

#endif
