/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include <cmocka.h>

#include "common/sockaddr.h"

static union weft_sockaddr v4(const char *addr, uint16_t port)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in4.sin_family = AF_INET;
	a.in4.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, addr, &a.in4.sin_addr), 1);
	return a;
}

static union weft_sockaddr v6(const char *addr, uint16_t port, uint32_t scope)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	a.in6.sin6_family = AF_INET6;
	a.in6.sin6_port = htons(port);
	a.in6.sin6_scope_id = scope;
	assert_int_equal(inet_pton(AF_INET6, addr, &a.in6.sin6_addr), 1);
	return a;
}

static union weft_sockaddr none(void)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	return a;
}

static void test_len(void **state)
{
	union weft_sockaddr a = none();

	assert_false(weft_sockaddr_is_set(&a));
	assert_int_equal(weft_sockaddr_len(&a), 0);
	assert_int_equal(weft_sockaddr_port(&a), 0);
	a = v4("192.0.2.1", 6783);
	assert_true(weft_sockaddr_is_set(&a));
	assert_int_equal(weft_sockaddr_len(&a), sizeof(struct sockaddr_in));
	assert_int_equal(weft_sockaddr_port(&a), 6783);
	a = v6("2001:db8::1", 65535, 0);
	assert_true(weft_sockaddr_is_set(&a));
	assert_int_equal(weft_sockaddr_len(&a), sizeof(struct sockaddr_in6));
	assert_int_equal(weft_sockaddr_port(&a), 65535);
	/* Any other family is no address. */
	a.sa.sa_family = AF_UNIX;
	assert_false(weft_sockaddr_is_set(&a));
	assert_int_equal(weft_sockaddr_len(&a), 0);
	assert_int_equal(weft_sockaddr_port(&a), 0);
}

static void test_equal(void **state)
{
	union weft_sockaddr a = v4("192.0.2.1", 6783), b = a, c, d;

	assert_true(weft_sockaddr_equal(&a, &b));
	b.in4.sin_port = htons(6784);
	assert_false(weft_sockaddr_equal(&a, &b));
	b = v4("192.0.2.2", 6783);
	assert_false(weft_sockaddr_equal(&a, &b));
	/* Family differs: the same IPv4 address, IPv4-mapped. */
	b = v6("::ffff:192.0.2.1", 6783, 0);
	assert_false(weft_sockaddr_equal(&a, &b));
	assert_false(weft_sockaddr_equal(&b, &a));

	c = v6("fe80::1", 6783, 3);
	d = c;
	assert_true(weft_sockaddr_equal(&c, &d));
	d.in6.sin6_scope_id = 4;
	assert_false(weft_sockaddr_equal(&c, &d));
	d = v6("fe80::2", 6783, 3);
	assert_false(weft_sockaddr_equal(&c, &d));
	d = v6("fe80::1", 1, 3);
	assert_false(weft_sockaddr_equal(&c, &d));

	/* Padding garbage (sin_zero, the union's tail) and the flow label do not count. */
	memset(&b, 0xa5, sizeof(b));
	b.in4.sin_family = AF_INET;
	b.in4.sin_port = a.in4.sin_port;
	b.in4.sin_addr = a.in4.sin_addr;
	assert_true(weft_sockaddr_equal(&a, &b));
	memset(&d, 0x5a, sizeof(d));
	d.in6.sin6_family = AF_INET6;
	d.in6.sin6_port = c.in6.sin6_port;
	d.in6.sin6_addr = c.in6.sin6_addr;
	d.in6.sin6_scope_id = c.in6.sin6_scope_id;
	assert_true(weft_sockaddr_equal(&c, &d));

	/* No address equals no address, and nothing else. */
	a = none();
	b = none();
	assert_true(weft_sockaddr_equal(&a, &b));
	memset(&b, 0x77, sizeof(b));
	b.sa.sa_family = AF_UNSPEC;
	assert_true(weft_sockaddr_equal(&a, &b));
	assert_false(weft_sockaddr_equal(&a, &c));
	assert_false(weft_sockaddr_equal(&c, &a));
}

static void test_from(void **state)
{
	struct sockaddr_storage ss;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr_un sun;
	union weft_sockaddr out, want;

	/* IPv4, from a sockaddr_storage as recvfrom() fills it. */
	memset(&ss, 0xee, sizeof(ss));
	want = v4("198.51.100.7", 1234);
	memcpy(&ss, &want.in4, sizeof(want.in4));
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&ss, sizeof(ss)), 0);
	assert_int_equal(out.sa.sa_family, AF_INET);
	assert_true(weft_sockaddr_equal(&out, &want));
	assert_int_equal(weft_sockaddr_from(&out, &want.sa, sizeof(struct sockaddr_in)), 0);
	assert_true(weft_sockaddr_equal(&out, &want));

	/* IPv4-mapped IPv6 (a dual-stack socket) becomes IPv4. */
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_port = htons(1234);
	assert_int_equal(inet_pton(AF_INET6, "::ffff:198.51.100.7", &sin6.sin6_addr), 1);
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(out.sa.sa_family, AF_INET);
	assert_int_equal(weft_sockaddr_len(&out), sizeof(struct sockaddr_in));
	assert_true(weft_sockaddr_equal(&out, &want));

	/* Plain IPv6 stays IPv6, scope id included. */
	want = v6("fe80::abcd", 6783, 7);
	memcpy(&sin6, &want.in6, sizeof(sin6));
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&sin6, sizeof(sin6)), 0);
	assert_int_equal(out.sa.sa_family, AF_INET6);
	assert_true(weft_sockaddr_equal(&out, &want));
	assert_int_equal(out.in6.sin6_scope_id, 7);
	/* In place. */
	out = want;
	assert_int_equal(weft_sockaddr_from(&out, &out.sa, weft_sockaddr_len(&out)), 0);
	assert_true(weft_sockaddr_equal(&out, &want));

	/* Other families and short lengths: refused, @out unset. */
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, "/run/weft/prod.sock");
	out = want;
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&sun, sizeof(sun)),
			 -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	out = want;
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&sin, sizeof(sin) - 1),
			 -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));
	out = want;
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&sin6, sizeof(sin6) - 1),
			 -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));
	/* An IPv6 family with only an IPv4-sized address behind it. */
	out = want;
	assert_int_equal(
	    weft_sockaddr_from(&out, (struct sockaddr *)&sin6, sizeof(struct sockaddr_in)),
	    -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&sin, 1), -EAFNOSUPPORT);
	assert_int_equal(weft_sockaddr_from(&out, (struct sockaddr *)&sin, 0), -EAFNOSUPPORT);
	assert_int_equal(weft_sockaddr_from(&out, NULL, sizeof(sin)), -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));
}

static void test_for_family(void **state)
{
	union weft_sockaddr a4 = v4("192.0.2.1", 6783), a6 = v6("2001:db8::1", 80, 0);
	union weft_sockaddr mapped = v6("::ffff:192.0.2.1", 6783, 0), out, back;
	char text[WEFT_SOCKADDR_STRLEN];

	/* IPv4 for a dual-stack IPv6 socket: mapped. */
	assert_int_equal(weft_sockaddr_for_family(&out, &a4, AF_INET6), 0);
	assert_int_equal(out.sa.sa_family, AF_INET6);
	assert_int_equal(weft_sockaddr_len(&out), sizeof(struct sockaddr_in6));
	assert_true(IN6_IS_ADDR_V4MAPPED(&out.in6.sin6_addr));
	assert_true(weft_sockaddr_equal(&out, &mapped));
	assert_non_null(inet_ntop(AF_INET6, &out.in6.sin6_addr, text, sizeof(text)));
	assert_string_equal(text, "::ffff:192.0.2.1");
	/* What the kernel reports for it comes back as the IPv4 address. */
	assert_int_equal(weft_sockaddr_from(&back, &out.sa, weft_sockaddr_len(&out)), 0);
	assert_true(weft_sockaddr_equal(&back, &a4));

	/* Mapped for an IPv4 socket: plain IPv4. */
	assert_int_equal(weft_sockaddr_for_family(&out, &mapped, AF_INET), 0);
	assert_int_equal(out.sa.sa_family, AF_INET);
	assert_true(weft_sockaddr_equal(&out, &a4));

	/* Each family for its own socket: unchanged. */
	assert_int_equal(weft_sockaddr_for_family(&out, &a4, AF_INET), 0);
	assert_true(weft_sockaddr_equal(&out, &a4));
	assert_int_equal(weft_sockaddr_for_family(&out, &a6, AF_INET6), 0);
	assert_true(weft_sockaddr_equal(&out, &a6));
	assert_int_equal(weft_sockaddr_for_family(&out, &mapped, AF_INET6), 0);
	assert_true(weft_sockaddr_equal(&out, &mapped));

	/* What cannot be expressed: refused, @out unset. */
	out = a4;
	assert_int_equal(weft_sockaddr_for_family(&out, &a6, AF_INET), -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));
	back = none();
	out = a4;
	assert_int_equal(weft_sockaddr_for_family(&out, &back, AF_INET6), -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));
	assert_int_equal(weft_sockaddr_for_family(&out, &a4, AF_UNIX), -EAFNOSUPPORT);
	assert_false(weft_sockaddr_is_set(&out));

	/* In place. */
	out = a4;
	assert_int_equal(weft_sockaddr_for_family(&out, &out, AF_INET6), 0);
	assert_true(weft_sockaddr_equal(&out, &mapped));
	assert_int_equal(weft_sockaddr_for_family(&out, &out, AF_INET), 0);
	assert_true(weft_sockaddr_equal(&out, &a4));
}

static void check_format(const union weft_sockaddr *a, const char *full, const char *host)
{
	char out[WEFT_SOCKADDR_STRLEN];

	memset(out, 'x', sizeof(out));
	assert_ptr_equal(weft_sockaddr_format(out, a), out);
	assert_string_equal(out, full);
	memset(out, 'x', sizeof(out));
	assert_ptr_equal(weft_sockaddr_format_host(out, a), out);
	assert_string_equal(out, host);
}

static void test_format(void **state)
{
	union weft_sockaddr a;

	a = v4("192.0.2.1", 6783);
	check_format(&a, "192.0.2.1:6783", "192.0.2.1");
	a = v4("0.0.0.0", 1);
	check_format(&a, "0.0.0.0:1", "0.0.0.0");
	a = v6("2001:DB8:0::1", 6783, 0);
	check_format(&a, "[2001:db8::1]:6783", "2001:db8::1");
	a = v6("fe80::1", 6783, 3);
	check_format(&a, "[fe80::1%3]:6783", "fe80::1");
	a = v6("::ffff:192.0.2.1", 6783, 0);
	check_format(&a, "192.0.2.1:6783", "192.0.2.1");
	a = v6("::", 6783, 0);
	check_format(&a, "[::]:6783", "::");
	a = none();
	check_format(&a, "-", "-");
	a.sa.sa_family = AF_UNIX;
	check_format(&a, "-", "-");
	/* The longest there is fits whole. */
	a = v6("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, UINT32_MAX);
	check_format(&a, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535",
		     "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_len),
	    cmocka_unit_test(test_equal),
	    cmocka_unit_test(test_from),
	    cmocka_unit_test(test_for_family),
	    cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
