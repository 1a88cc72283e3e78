/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/endpoint.h"

static void check_endpoint(const char *text, bool numeric_only, const char *canonical, bool numeric,
			   int family)
{
	struct weft_endpoint ep;
	char err[WEFT_ERRLEN], out[WEFT_ENDPOINT_STRLEN];

	if (weft_endpoint_parse(&ep, text, numeric_only, err) != 0)
		print_message("%s: %s\n", text, err);
	assert_int_equal(weft_endpoint_parse(&ep, text, numeric_only, err), 0);
	weft_endpoint_format(out, &ep);
	assert_string_equal(out, canonical);
	assert_int_equal(ep.numeric, numeric);
	if (family == AF_INET) {
		const struct sockaddr_in *sin = &ep.addr.in4;
		char host[INET_ADDRSTRLEN];

		assert_int_equal(sin->sin_family, AF_INET);
		assert_int_equal(weft_sockaddr_len(&ep.addr), sizeof(*sin));
		assert_int_equal(ntohs(sin->sin_port), ep.port);
		assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)));
		assert_string_equal(host, ep.host);
	} else if (family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = &ep.addr.in6;
		char host[INET6_ADDRSTRLEN];

		assert_int_equal(sin6->sin6_family, AF_INET6);
		assert_int_equal(weft_sockaddr_len(&ep.addr), sizeof(*sin6));
		assert_int_equal(ntohs(sin6->sin6_port), ep.port);
		assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)));
		assert_string_equal(host, ep.host);
	} else {
		assert_false(weft_sockaddr_is_set(&ep.addr));
		assert_int_equal(weft_sockaddr_len(&ep.addr), 0);
	}
	if (numeric) {
		char shown[WEFT_SOCKADDR_STRLEN];

		/* The address prints as the endpoint does (mapped IPv4 aside). */
		assert_int_equal(weft_sockaddr_port(&ep.addr), ep.port);
		weft_sockaddr_format(shown, &ep.addr);
		if (strncmp(ep.host, "::ffff:", 7) != 0)
			assert_string_equal(shown, canonical);
	}
}

static void check_endpoint_fails(const char *text, bool numeric_only, const char *reason)
{
	struct weft_endpoint ep;
	char err[WEFT_ERRLEN];

	if (weft_endpoint_parse(&ep, text, numeric_only, err) != -EINVAL)
		print_message("%s: accepted\n", text);
	assert_int_equal(weft_endpoint_parse(&ep, text, numeric_only, err), -EINVAL);
	assert_string_equal(err, reason);
}

static void test_endpoints(void **state)
{
	static const char port_range[] = "port out of range 1..65535";
	static const char not_host[] = "not an IPv4/IPv6 address or host name";
	static const char brackets[] =
	    "an IPv6 address needs brackets: [ADDRESS] or [ADDRESS]:PORT";
	static const char numeric[] =
	    "not a numeric IPv4 or [IPv6] address (host names are not allowed here)";
	struct weft_endpoint ep;
	char err[WEFT_ERRLEN];

	check_endpoint("192.0.2.10:6783", false, "192.0.2.10:6783", true, AF_INET);
	check_endpoint("192.0.2.10:1", false, "192.0.2.10:1", true, AF_INET);
	check_endpoint("192.0.2.10:65535", false, "192.0.2.10:65535", true, AF_INET);
	check_endpoint("192.0.2.10", false, "192.0.2.10:6783", true, AF_INET);
	check_endpoint("[2001:db8::1]:6783", false, "[2001:db8::1]:6783", true, AF_INET6);
	check_endpoint("[2001:DB8:0:0::1]:80", false, "[2001:db8::1]:80", true, AF_INET6);
	check_endpoint("[::ffff:192.0.2.1]", false, "[::ffff:192.0.2.1]:6783", true, AF_INET6);
	/* Kept as written; normalised, it is the IPv4 address the kernel reports. */
	{
		union weft_sockaddr norm, v4;

		assert_int_equal(weft_endpoint_parse(&ep, "[::ffff:192.0.2.1]", false, err), 0);
		assert_int_equal(
		    weft_sockaddr_from(&norm, &ep.addr.sa, weft_sockaddr_len(&ep.addr)), 0);
		assert_int_equal(weft_endpoint_parse(&ep, "192.0.2.1", false, err), 0);
		v4 = ep.addr;
		assert_true(weft_sockaddr_equal(&norm, &v4));
	}
	check_endpoint("[::]", true, "[::]:6783", true, AF_INET6);
	check_endpoint("0.0.0.0:6783", true, "0.0.0.0:6783", true, AF_INET);
	check_endpoint("db1.example.net:6783", false, "db1.example.net:6783", false, 0);
	check_endpoint("DB1.Example.NET", false, "db1.example.net:6783", false, 0);
	check_endpoint("localhost:9", false, "localhost:9", false, 0);
	check_endpoint("db-1.example.net.", false, "db-1.example.net.:6783", false, 0);
	check_endpoint("1host.example", false, "1host.example:6783", false, 0);

	check_endpoint_fails("192.0.2.10:0", false, port_range);
	check_endpoint_fails("192.0.2.10:65536", false, port_range);
	check_endpoint_fails("192.0.2.10:4294967297", false, port_range);
	check_endpoint_fails("192.0.2.10:abc", false, "port is not a number");
	check_endpoint_fails("192.0.2.10:-1", false, "port is not a number");
	check_endpoint_fails("192.0.2.10:", false, "missing port after `:'");
	check_endpoint_fails("[2001:db8::1]:0", false, port_range);
	check_endpoint_fails("[2001:db8::1]:65536", false, port_range);
	check_endpoint_fails("[2001:db8::1]:", false, "missing port after `:'");
	check_endpoint_fails("2001:db8::1", false, brackets);
	check_endpoint_fails("::1", true, brackets);
	check_endpoint_fails("2001:db8::1:6783", false, brackets);
	check_endpoint_fails("[2001:db8::1", false, "missing `]' after the IPv6 address");
	check_endpoint_fails("[2001:db8::1]6783", false, "expected `:PORT' after `]'");
	check_endpoint_fails("[192.0.2.1]:6783", false, "not an IPv6 address");
	check_endpoint_fails("[db1]:6783", false, "not an IPv6 address");
	check_endpoint_fails("[]:6783", false, "not an IPv6 address");
	check_endpoint_fails("192.0.2.300:6783", false, not_host);
	check_endpoint_fails("192.0.2:6783", false, not_host);
	check_endpoint_fails("010.0.2.1", false, not_host);
	check_endpoint_fails("-db.example.net", false, not_host);
	check_endpoint_fails("db-.example.net", false, not_host);
	check_endpoint_fails("db..example.net", false, not_host);
	check_endpoint_fails("db_1.example.net", false, not_host);
	check_endpoint_fails(":6783", false, not_host);
	check_endpoint_fails("", false, "empty address");
	check_endpoint_fails("db1.example.net:6783", true, numeric);
	/* labels of 63 characters are fine, 64 are not */
	check_endpoint("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net", false,
		       "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net:6783",
		       false, 0);
	check_endpoint_fails("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.net",
			     false, not_host);
	/* a host longer than the buffer is refused, not cut */
	{
		char big[400];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(weft_endpoint_parse(&ep, big, false, err), -EINVAL);
		big[0] = '[';
		assert_int_equal(weft_endpoint_parse(&ep, big, false, err), -EINVAL);
	}
}

/* Another service's address: its own default port, a written port wins. */
static void test_default_port(void **state)
{
	struct weft_endpoint ep;
	char err[WEFT_ERRLEN];

	(void)state;
	assert_int_equal(weft_endpoint_parse_port(&ep, "127.0.0.1", true, 9783, err), 0);
	assert_int_equal(ep.port, 9783);
	assert_int_equal(ntohs(ep.addr.in4.sin_port), 9783);
	assert_int_equal(weft_endpoint_parse_port(&ep, "[::1]", true, 9783, err), 0);
	assert_int_equal(ntohs(ep.addr.in6.sin6_port), 9783);
	assert_int_equal(weft_endpoint_parse_port(&ep, "127.0.0.1:80", true, 9783, err), 0);
	assert_int_equal(ep.port, 80);
	assert_int_equal(weft_endpoint_parse_port(&ep, "127.0.0.1:", true, 9783, err), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_endpoints),
	    cmocka_unit_test(test_default_port),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
