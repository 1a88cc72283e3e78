/* SPDX-License-Identifier: MIT */
/* Underlay endpoints as a configuration writes them: parsing and the
 * canonical text. Host names are kept unresolved (the daemon resolves them). */
#ifndef WEFT_ENDPOINT_H
#define WEFT_ENDPOINT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/sockaddr.h"
#include "common/weft.h"

#define WEFT_DEFAULT_PORT 6783
#define WEFT_METRICS_PORT 9783 /* [metrics] listen, when no port is written */
#define WEFT_ENDPOINT_HOST_MAX 256
/* "[" host "]:" port and NUL: the longest weft_endpoint_format() text. */
#define WEFT_ENDPOINT_STRLEN (WEFT_ENDPOINT_HOST_MAX + 8)

/* host:port as written; numeric addresses are parsed here, host names are
 * resolved by the daemon at start-up. */
struct weft_endpoint {
	char host[WEFT_ENDPOINT_HOST_MAX]; /* without brackets */
	uint16_t port;
	bool numeric;                      /* host is an IPv4/IPv6 literal */
	union weft_sockaddr addr;          /* numeric: the address and port; else unset */
};

/* Parses "IPv4[:port]", "[IPv6][:port]" or "host[:port]" (the port defaults to
 * WEFT_DEFAULT_PORT, 1..65535). Numeric hosts are stored in canonical form with
 * @addr filled in; host names (refused when @numeric_only) are stored lowercase,
 * unresolved. @addr is the address as written: "[::ffff:192.0.2.1]" stays
 * AF_INET6 (weft_sockaddr_from() normalises it). Returns 0, or -EINVAL with a
 * reason. */
int weft_endpoint_parse(struct weft_endpoint *ep, const char *text, bool numeric_only,
			char err[static WEFT_ERRLEN]) WEFT_WUR;

/* The same, for addresses of another service: a missing port is @default_port. */
int weft_endpoint_parse_port(struct weft_endpoint *ep, const char *text, bool numeric_only,
			     uint16_t default_port, char err[static WEFT_ERRLEN]) WEFT_WUR;

/* The canonical text: "host:port", or "[v6]:port" for IPv6 addresses. */
void weft_endpoint_format(char out[static WEFT_ENDPOINT_STRLEN], const struct weft_endpoint *ep);

#endif
