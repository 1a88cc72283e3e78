/* SPDX-License-Identifier: MIT */
/* One type for every underlay socket address (fastd's union
 * fastd_peer_address): what the kernel hands over, what we send to, what
 * peers are compared by, what logs show. Addresses are kept normalised, an
 * IPv4 peer as AF_INET whichever socket saw it; only the address given to a
 * socket is converted to that socket's family. Pure: no sockets. */
#ifndef WEFT_SOCKADDR_H
#define WEFT_SOCKADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/weft.h"

union weft_sockaddr {
	struct sockaddr sa; /* sa.sa_family AF_UNSPEC (0): no address */
	struct sockaddr_in in4;
	struct sockaddr_in6 in6;
};

/* The longest text of weft_sockaddr_format(): "[" IPv6 (at most
 * INET6_ADDRSTRLEN - 1 = 45) "%" scope id (10 digits) "]:" port (5) and NUL
 * make 65; or "-". */
#define WEFT_SOCKADDR_STRLEN 72

/* An AF_INET or AF_INET6 address (any other family counts as none). */
bool weft_sockaddr_is_set(const union weft_sockaddr *a);
/* sizeof the family's struct (for sendto() and bind()); 0 for none. */
socklen_t weft_sockaddr_len(const union weft_sockaddr *a);
/* Same family, address, port (and IPv6 scope id); two unset addresses are
 * equal. Compares fields, not padding (nor the IPv6 flow label). */
bool weft_sockaddr_equal(const union weft_sockaddr *a, const union weft_sockaddr *b);
/* Copies a kernel-filled address of @len bytes; IPv4-mapped IPv6 becomes
 * AF_INET, so a peer compares equal whichever socket family saw it. Returns 0,
 * or -EAFNOSUPPORT (and @out unset) for other families or too short a length.
 * @out may alias @sa. */
int weft_sockaddr_from(union weft_sockaddr *out, const struct sockaddr *sa, socklen_t len) WEFT_WUR;
/* @a for a socket of family @socket_family: an IPv4 address becomes
 * IPv4-mapped IPv6 for an AF_INET6 (dual-stack) socket; an IPv4-mapped IPv6
 * address becomes IPv4 for an AF_INET socket. Returns 0, or -EAFNOSUPPORT (and
 * @out unset) when it cannot be expressed (no address, IPv6 for an AF_INET
 * socket, another socket family). @out may alias @a. */
int weft_sockaddr_for_family(union weft_sockaddr *out, const union weft_sockaddr *a,
			     int socket_family) WEFT_WUR;
/* "192.0.2.1:6783", "[2001:db8::1]:6783" ("[fe80::1%3]:6783" with a scope id,
 * numeric), "-" for none. An IPv4-mapped IPv6 address shows as IPv4, as it
 * does in weft_sockaddr_format_host(). Returns @out. */
const char *weft_sockaddr_format(char out[static WEFT_SOCKADDR_STRLEN],
				 const union weft_sockaddr *a);
/* The address alone, without port or brackets ("192.0.2.1", "2001:db8::1"; an
 * IPv4-mapped IPv6 address shows as IPv4); "-" for none. Returns @out. */
const char *weft_sockaddr_format_host(char out[static WEFT_SOCKADDR_STRLEN],
				      const union weft_sockaddr *a);
/* Host order; 0 for none. */
uint16_t weft_sockaddr_port(const union weft_sockaddr *a);

#endif
