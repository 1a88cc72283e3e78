/* SPDX-License-Identifier: MIT */
/* Socket addresses: normalise what the kernel hands over (IPv4-mapped IPv6
 * becomes IPv4), convert for a socket's family on the way out, compare by
 * fields and print. */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/sockaddr.h"

_Static_assert(1 + (INET6_ADDRSTRLEN - 1) + 1 + 10 + 2 + 5 + 1 <= WEFT_SOCKADDR_STRLEN,
	       "\"[\" IPv6 \"%\" scope \"]:\" port NUL fits");

static bool is_v4_mapped(const union weft_sockaddr *a)
{
	return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr);
}

/* Fresh addresses are built field by field in a zeroed union: no padding or
 * stale bytes survive, and the result may be copied over its source. */
static void make_v4(union weft_sockaddr *out, const void *addr4, in_port_t port_be)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in4.sin_family = AF_INET;
	a.in4.sin_port = port_be;
	memcpy(&a.in4.sin_addr, addr4, sizeof(a.in4.sin_addr));
	*out = a;
}

static void make_v6(union weft_sockaddr *out, const struct sockaddr_in6 *src)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = src->sin6_port;
	a.in6.sin6_flowinfo = src->sin6_flowinfo;
	a.in6.sin6_addr = src->sin6_addr;
	a.in6.sin6_scope_id = src->sin6_scope_id;
	*out = a;
}

static void make_v4_mapped(union weft_sockaddr *out, const struct sockaddr_in *src)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = src->sin_port;
	a.in6.sin6_addr.s6_addr[10] = 0xff;
	a.in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&a.in6.sin6_addr.s6_addr[12], &src->sin_addr, 4);
	*out = a;
}

static int unset(union weft_sockaddr *out)
{
	memset(out, 0, sizeof(*out));
	return -EAFNOSUPPORT;
}

bool weft_sockaddr_is_set(const union weft_sockaddr *a)
{
	return a->sa.sa_family == AF_INET || a->sa.sa_family == AF_INET6;
}

socklen_t weft_sockaddr_len(const union weft_sockaddr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return sizeof(a->in4);
	case AF_INET6:
		return sizeof(a->in6);
	default:
		return 0;
	}
}

bool weft_sockaddr_equal(const union weft_sockaddr *a, const union weft_sockaddr *b)
{
	if (!weft_sockaddr_is_set(a) || !weft_sockaddr_is_set(b))
		return weft_sockaddr_is_set(a) == weft_sockaddr_is_set(b);
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_port == b->in4.sin_port &&
		       a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return a->in6.sin6_port == b->in6.sin6_port &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id &&
	       memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, sizeof(a->in6.sin6_addr)) == 0;
}

int weft_sockaddr_from(union weft_sockaddr *out, const struct sockaddr *sa, socklen_t len)
{
	sa_family_t family;

	if (!sa || len < offsetof(struct sockaddr, sa_family) + sizeof(family))
		return unset(out);
	memcpy(&family, (const char *)sa + offsetof(struct sockaddr, sa_family), sizeof(family));
	if (family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in sin;

		memcpy(&sin, sa, sizeof(sin));
		make_v4(out, &sin.sin_addr, sin.sin_port);
		return 0;
	}
	if (family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		struct sockaddr_in6 sin6;

		memcpy(&sin6, sa, sizeof(sin6));
		if (IN6_IS_ADDR_V4MAPPED(&sin6.sin6_addr))
			make_v4(out, &sin6.sin6_addr.s6_addr[12], sin6.sin6_port);
		else
			make_v6(out, &sin6);
		return 0;
	}
	return unset(out);
}

int weft_sockaddr_for_family(union weft_sockaddr *out, const union weft_sockaddr *a,
			     int socket_family)
{
	if (socket_family == AF_INET) {
		if (a->sa.sa_family == AF_INET) {
			make_v4(out, &a->in4.sin_addr, a->in4.sin_port);
			return 0;
		}
		if (is_v4_mapped(a)) {
			make_v4(out, &a->in6.sin6_addr.s6_addr[12], a->in6.sin6_port);
			return 0;
		}
	} else if (socket_family == AF_INET6) {
		if (a->sa.sa_family == AF_INET) {
			make_v4_mapped(out, &a->in4);
			return 0;
		}
		if (a->sa.sa_family == AF_INET6) {
			make_v6(out, &a->in6);
			return 0;
		}
	}
	return unset(out);
}

/* The address text (@size >= INET6_ADDRSTRLEN) and whether it is IPv6, which
 * needs brackets before a port; false for none. */
static bool host_text(char *out, socklen_t size, const union weft_sockaddr *a, bool *v6)
{
	*v6 = false;
	if (a->sa.sa_family == AF_INET || is_v4_mapped(a)) {
		const void *addr4 = a->sa.sa_family == AF_INET ? (const void *)&a->in4.sin_addr
							       : &a->in6.sin6_addr.s6_addr[12];

		return inet_ntop(AF_INET, addr4, out, size) != NULL;
	}
	if (a->sa.sa_family == AF_INET6) {
		*v6 = true;
		return inet_ntop(AF_INET6, &a->in6.sin6_addr, out, size) != NULL;
	}
	return false;
}

const char *weft_sockaddr_format_host(char out[static WEFT_SOCKADDR_STRLEN],
				      const union weft_sockaddr *a)
{
	bool v6;

	if (!host_text(out, WEFT_SOCKADDR_STRLEN, a, &v6))
		snprintf(out, WEFT_SOCKADDR_STRLEN, "-");
	return out;
}

const char *weft_sockaddr_format(char out[static WEFT_SOCKADDR_STRLEN],
				 const union weft_sockaddr *a)
{
	char host[INET6_ADDRSTRLEN];
	bool v6;

	if (!host_text(host, sizeof(host), a, &v6))
		snprintf(out, WEFT_SOCKADDR_STRLEN, "-");
	else if (!v6)
		snprintf(out, WEFT_SOCKADDR_STRLEN, "%s:%u", host, weft_sockaddr_port(a));
	else if (a->in6.sin6_scope_id)
		snprintf(out, WEFT_SOCKADDR_STRLEN, "[%s%%%u]:%u", host,
			 (unsigned)a->in6.sin6_scope_id, weft_sockaddr_port(a));
	else
		snprintf(out, WEFT_SOCKADDR_STRLEN, "[%s]:%u", host, weft_sockaddr_port(a));
	return out;
}

uint16_t weft_sockaddr_port(const union weft_sockaddr *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return ntohs(a->in4.sin_port);
	case AF_INET6:
		return ntohs(a->in6.sin6_port);
	default:
		return 0;
	}
}
