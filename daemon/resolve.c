/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>

#include "daemon/log.h"
#include "daemon/resolve.h"

int weft_resolve_endpoint(const struct weft_endpoint *ep, int family, union weft_sockaddr *out,
			  char err[static WEFT_ERRLEN])
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM, .ai_family = family};
	struct addrinfo *res;
	char port[8];
	int ret;

	/* An IPv4-mapped literal becomes IPv4, as received addresses do, so
	 * that the two compare equal. */
	if (ep->numeric)
		return weft_sockaddr_from(out, &ep->addr.sa, weft_sockaddr_len(&ep->addr)) < 0
			       ? weft_errorf(err, -EHOSTUNREACH, "%.160s: not an IPv4/IPv6 address",
					     ep->host)
			       : 0;
	snprintf(port, sizeof(port), "%u", ep->port);
	ret = getaddrinfo(ep->host, port, &hints, &res);
	if (ret != 0) {
		snprintf(err, WEFT_ERRLEN, "cannot resolve %.160s: %s", ep->host, gai_strerror(ret));
		return -EHOSTUNREACH;
	}
	ret = weft_sockaddr_from(out, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (ret < 0)
		snprintf(err, WEFT_ERRLEN, "%.160s resolved to an address that is neither IPv4 nor IPv6",
			 ep->host);
	return ret < 0 ? -EHOSTUNREACH : 0;
}
