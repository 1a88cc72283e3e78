/* SPDX-License-Identifier: MIT */
/* Configured endpoints to socket addresses (host names through the resolver). */
#ifndef WEFT_RESOLVE_H
#define WEFT_RESOLVE_H

#include "common/endpoint.h"
#include "common/sockaddr.h"
#include "common/weft.h"

/* A numeric endpoint is copied; a host name is resolved (blocking) to its
 * first address of @family (AF_UNSPEC: either). Returns 0, or
 * -EHOSTUNREACH with the resolver's reason in @err. */
int weft_resolve_endpoint(const struct weft_endpoint *ep, int family, union weft_sockaddr *out,
			  char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
