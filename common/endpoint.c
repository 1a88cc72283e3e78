/* SPDX-License-Identifier: MIT */
/* Underlay endpoints as a configuration writes them: "IPv4[:port]",
 * "[IPv6][:port]" or "host[:port]". */
#include <config.h>

#include "common/endpoint.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* RFC 1123 host name: dot-separated labels of letters, digits and inner
 * hyphens; the last label is not all digits, so a mistyped IPv4 address such
 * as 192.0.2.300 is not taken for a name. */
static bool valid_hostname(const char *s)
{
	size_t len = strlen(s), label = 0;
	const char *last = s;

	if (len && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		char ch = i < len ? s[i] : '.';

		if (ch == '.') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return false;
			last = s + i - label;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)))
			return false;
		label++;
	}
	return strspn(last, "0123456789") < (size_t)(s + len - last);
}

int weft_endpoint_parse(struct weft_endpoint *ep, const char *text, bool numeric_only,
			char err[static WEFT_ERRLEN])
{
	return weft_endpoint_parse_port(ep, text, numeric_only, WEFT_DEFAULT_PORT, err);
}

int weft_endpoint_parse_port(struct weft_endpoint *ep, const char *text, bool numeric_only,
			     uint16_t default_port, char err[static WEFT_ERRLEN])
{
	const char *port_text = NULL;
	size_t host_len;

	memset(ep, 0, sizeof(*ep));
	if (!*text) {
		snprintf(err, WEFT_ERRLEN, "empty address");
		return -EINVAL;
	}
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		struct sockaddr_in6 *sin6 = &ep->addr.in6;

		if (!close) {
			snprintf(err, WEFT_ERRLEN, "missing `]' after the IPv6 address");
			return -EINVAL;
		}
		host_len = (size_t)(close - text - 1);
		if (host_len >= sizeof(ep->host))
			goto bad_v6;
		memcpy(ep->host, text + 1, host_len);
		ep->host[host_len] = '\0';
		if (inet_pton(AF_INET6, ep->host, &sin6->sin6_addr) != 1)
			goto bad_v6;
		sin6->sin6_family = AF_INET6;
		if (close[1] == ':')
			port_text = close + 2;
		else if (close[1]) {
			snprintf(err, WEFT_ERRLEN, "expected `:PORT' after `]'");
			return -EINVAL;
		}
	} else {
		const char *colon = strchr(text, ':');
		struct sockaddr_in *sin = &ep->addr.in4;

		if (colon && strchr(colon + 1, ':')) {
			snprintf(err, WEFT_ERRLEN,
				 "an IPv6 address needs brackets: [ADDRESS] or [ADDRESS]:PORT");
			return -EINVAL;
		}
		host_len = colon ? (size_t)(colon - text) : strlen(text);
		if (host_len >= sizeof(ep->host))
			goto bad_host;
		memcpy(ep->host, text, host_len);
		ep->host[host_len] = '\0';
		if (inet_pton(AF_INET, ep->host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
		} else if (numeric_only) {
			snprintf(err, WEFT_ERRLEN,
				 "not a numeric IPv4 or [IPv6] address (host names are not "
				 "allowed here)");
			return -EINVAL;
		} else if (!valid_hostname(ep->host)) {
			goto bad_host;
		}
		if (colon)
			port_text = colon + 1;
	}
	ep->numeric = weft_sockaddr_is_set(&ep->addr);
	ep->port = default_port;
	if (port_text) {
		unsigned long port;

		if (!*port_text) {
			snprintf(err, WEFT_ERRLEN, "missing port after `:'");
			return -EINVAL;
		}
		if (strspn(port_text, "0123456789") != strlen(port_text)) {
			snprintf(err, WEFT_ERRLEN, "port is not a number");
			return -EINVAL;
		}
		/* Digits only, so strtoul neither skips a sign nor blanks; more
		 * than five of them is out of range whatever they say. */
		port = strlen(port_text) <= 5 ? strtoul(port_text, NULL, 10) : 0;
		if (port < 1 || port > 65535) {
			snprintf(err, WEFT_ERRLEN, "port out of range 1..65535");
			return -EINVAL;
		}
		ep->port = (uint16_t)port;
	}
	if (ep->numeric) {
		/* canonical spelling: 2001:DB8:0::1 is written 2001:db8::1 */
		if (ep->addr.sa.sa_family == AF_INET6) {
			ep->addr.in6.sin6_port = htons(ep->port);
			inet_ntop(AF_INET6, &ep->addr.in6.sin6_addr, ep->host, sizeof(ep->host));
		} else {
			ep->addr.in4.sin_port = htons(ep->port);
			inet_ntop(AF_INET, &ep->addr.in4.sin_addr, ep->host, sizeof(ep->host));
		}
	} else {
		for (char *p = ep->host; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
	}
	return 0;

bad_v6:
	snprintf(err, WEFT_ERRLEN, "not an IPv6 address");
	return -EINVAL;
bad_host:
	snprintf(err, WEFT_ERRLEN, "not an IPv4/IPv6 address or host name");
	return -EINVAL;
}

void weft_endpoint_format(char out[static WEFT_ENDPOINT_STRLEN], const struct weft_endpoint *ep)
{
	if (ep->numeric && ep->addr.sa.sa_family == AF_INET6)
		snprintf(out, WEFT_ENDPOINT_STRLEN, "[%s]:%u", ep->host, ep->port);
	else
		snprintf(out, WEFT_ENDPOINT_STRLEN, "%s:%u", ep->host, ep->port);
}
