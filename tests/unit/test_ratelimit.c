/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/ratelimit.h"

static struct sockaddr_storage v4(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin->sin_family = AF_INET;
	sin->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
	return ss;
}

static struct sockaddr_storage v6(const char *ip, uint16_t port)
{
	struct sockaddr_storage ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	sin6->sin6_family = AF_INET6;
	sin6->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sin6->sin6_addr), 1);
	return ss;
}

static bool allow(struct weft_ratelimit *rl, const struct sockaddr_storage *ss, uint64_t now)
{
	return weft_ratelimit_allow(rl, (const struct sockaddr *)ss, now);
}

/* How many of @n back-to-back datagrams at @now pass. */
static unsigned passes(struct weft_ratelimit *rl, const struct sockaddr_storage *ss, uint64_t now,
		       unsigned n)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < n; i++)
		ok += allow(rl, ss, now);
	return ok;
}

static void test_burst(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(1, 5, 64);
	struct sockaddr_storage a = v4("192.0.2.1", 6783);

	assert_non_null(rl);
	assert_int_equal(passes(rl, &a, 1000, 5), 5);
	assert_false(allow(rl, &a, 1000));
	assert_false(allow(rl, &a, 1999));
	assert_int_equal(weft_ratelimit_count(rl), 1);
	weft_ratelimit_free(rl);
}

/* A reload's new rate and burst apply to buckets already in use. */
static void test_set(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(10, 5, 64);
	struct sockaddr_storage a = v4("192.0.2.1", 1);

	assert_non_null(rl);
	assert_int_equal(passes(rl, &a, 1000, 20), 5);
	/* A smaller burst cuts a full bucket down to it. */
	assert_int_equal(weft_ratelimit_set(rl, 10, 2), 0);
	assert_int_equal(passes(rl, &a, 60000, 20), 2);
	/* A higher rate refills faster: 100/s gives 1 token per 10 ms. */
	assert_int_equal(weft_ratelimit_set(rl, 100, 2), 0);
	assert_int_equal(passes(rl, &a, 60010, 20), 1);
	assert_int_equal(weft_ratelimit_set(rl, 0, 2), -EINVAL);
	assert_int_equal(weft_ratelimit_set(rl, 10, 0), -EINVAL);
	/* A refused setting changed nothing. */
	assert_int_equal(passes(rl, &a, 60020, 20), 1);
	weft_ratelimit_free(rl);
}

static void test_refill(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(10, 5, 64);
	struct sockaddr_storage a = v4("192.0.2.1", 6783);

	assert_non_null(rl);
	assert_int_equal(passes(rl, &a, 0, 10), 5);
	/* 10 per second: one token every 100 ms, not earlier. */
	assert_false(allow(rl, &a, 99));
	assert_true(allow(rl, &a, 100));
	assert_false(allow(rl, &a, 100));
	assert_int_equal(passes(rl, &a, 350, 10), 2); /* 250 ms: 2.5 tokens */
	assert_int_equal(passes(rl, &a, 400, 10), 1); /* with the half left over */
	/* A long pause refills the burst and no more. */
	assert_int_equal(passes(rl, &a, 100000, 10), 5);
	/* A clock that goes back refills nothing. */
	assert_int_equal(passes(rl, &a, 50000, 10), 0);
	assert_int_equal(passes(rl, &a, 100100, 10), 1);
	/* Sustained: over 10 s at one attempt per ms, about rate x 10 pass. */
	{
		unsigned ok = 0;

		for (uint64_t t = 200000; t < 210000; t++)
			ok += allow(rl, &a, t);
		assert_in_range(ok, 100, 105);
	}
	weft_ratelimit_free(rl);
}

static void test_sources_independent(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(1, 3, 64);
	struct sockaddr_storage a = v4("192.0.2.1", 6783), a2 = v4("192.0.2.1", 40000),
				b = v4("192.0.2.2", 6783), c = v4("198.51.100.7", 1);

	assert_non_null(rl);
	assert_int_equal(passes(rl, &a, 0, 10), 3);
	/* Another port of the same address is the same source. */
	assert_int_equal(passes(rl, &a2, 0, 10), 0);
	assert_int_equal(passes(rl, &b, 0, 10), 3);
	assert_int_equal(passes(rl, &c, 0, 10), 3);
	assert_int_equal(weft_ratelimit_count(rl), 3);
	weft_ratelimit_free(rl);
}

static void test_ipv6(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(1, 2, 64);
	struct sockaddr_storage a = v6("2001:db8:1:2::1", 6783), a2 = v6("2001:db8:1:2:ffff::9", 5),
				b = v6("2001:db8:1:3::1", 6783), m = v6("::ffff:192.0.2.1", 6783),
				m4 = v4("192.0.2.1", 1), n4 = v4("192.0.2.2", 1);

	assert_non_null(rl);
	assert_int_equal(passes(rl, &a, 0, 10), 2);
	/* The same /64 is one source, another /64 another. */
	assert_int_equal(passes(rl, &a2, 0, 10), 0);
	assert_int_equal(passes(rl, &b, 0, 10), 2);
	/* An IPv4-mapped address is that IPv4 source, not one big ::ffff:0:0/64. */
	assert_int_equal(passes(rl, &m, 0, 10), 2);
	assert_int_equal(passes(rl, &m4, 0, 10), 0);
	assert_int_equal(passes(rl, &n4, 0, 10), 2);
	assert_int_equal(weft_ratelimit_count(rl), 4);
	weft_ratelimit_free(rl);
}

/* One set of four ways: the fifth and later sources share the overflow
 * bucket while the four are being limited, and get their own entry once an
 * entry's bucket has refilled. */
static void test_table_full(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(1, 2, 1);
	struct sockaddr_storage s[100];
	unsigned ok = 0;
	char ip[32];

	assert_non_null(rl);
	for (int i = 0; i < 100; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 250, i % 250 + 1);
		s[i] = v4(ip, 1);
	}
	for (int i = 0; i < 4; i++)
		assert_int_equal(passes(rl, &s[i], 0, 1), 1);
	assert_int_equal(weft_ratelimit_count(rl), 4);
	/* 96 newcomers, 5 tries each, share one bucket of 2. */
	for (int i = 4; i < 100; i++)
		ok += passes(rl, &s[i], 0, 5);
	assert_int_equal(ok, 2);
	assert_int_equal(weft_ratelimit_count(rl), 4);
	/* The tracked sources kept their own state: one token left each. */
	for (int i = 0; i < 4; i++)
		assert_int_equal(passes(rl, &s[i], 0, 5), 1);
	/* After 1 s the overflow bucket holds one token again; the entries are
	 * not full yet (1 of 2), so they stay. */
	ok = 0;
	for (int i = 4; i < 100; i++)
		ok += passes(rl, &s[i], 1000, 1);
	assert_int_equal(ok, 1);
	/* After 2 s more every entry has refilled: a newcomer takes one over. */
	assert_int_equal(passes(rl, &s[50], 3000, 5), 2);
	assert_int_equal(weft_ratelimit_count(rl), 4);
	weft_ratelimit_free(rl);
}

static void test_other_families_and_args(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(1, 1, 8);
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	assert_non_null(rl);
	assert_true(weft_ratelimit_allow(rl, (const struct sockaddr *)&un, 0));
	assert_false(weft_ratelimit_allow(rl, (const struct sockaddr *)&un, 0));
	weft_ratelimit_free(rl);
	weft_ratelimit_free(NULL);
	assert_null(weft_ratelimit_new(0, 1, 8));
	assert_null(weft_ratelimit_new(1, 0, 8));
	assert_null(weft_ratelimit_new(1, 1, 0));
	assert_null(weft_ratelimit_new(2000000, 1, 8));
	rl = weft_ratelimit_new(WEFT_RATELIMIT_RATE, WEFT_RATELIMIT_BURST, WEFT_RATELIMIT_ENTRIES);
	assert_non_null(rl);
	weft_ratelimit_free(rl);
}

/* Many sources in a big table: each gets its own full burst (no collisions
 * into the overflow bucket while the table is far from full). */
/* The key a bucket is found by: the same for one IPv4 address (whatever the
 * port, IPv4-mapped or not) and one IPv6 /64, different otherwise. */
static void test_source_key(void **state)
{
	struct sockaddr_storage in[] = {
	    v4("192.0.2.1", 1),	      v4("192.0.2.1", 2),	v6("::ffff:192.0.2.1", 3),
	    v4("192.0.2.2", 1),	      v6("2001:db8:1:2::1", 1), v6("2001:db8:1:2:ffff::9", 2),
	    v6("2001:db8:1:3::1", 1),
	};
	/* Which of the above share a key: the class of each. */
	static const int cls[] = {0, 0, 0, 1, 2, 2, 3};
	struct weft_ratelimit_source k[WEFT_ARRAY_SIZE(in)], other, other2;
	struct sockaddr_un un = {.sun_family = AF_UNIX};

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(in); i++)
		weft_ratelimit_source_of(&k[i], (const struct sockaddr *)&in[i]);
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(in); i++)
		for (size_t j = 0; j < WEFT_ARRAY_SIZE(in); j++)
			assert_int_equal(memcmp(&k[i], &k[j], sizeof(k[i])) == 0, cls[i] == cls[j]);
	weft_ratelimit_source_of(&other, (const struct sockaddr *)&un);
	un.sun_path[0] = 'x';
	weft_ratelimit_source_of(&other2, (const struct sockaddr *)&un);
	assert_memory_equal(&other, &other2, sizeof(other));
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(in); i++)
		assert_memory_not_equal(&k[i], &other, sizeof(other));
}

/* The global budget on a fake clock: at most limit events in any second,
 * the previous second's events counted by how much of them is still inside
 * the last second. */
static void test_window(void **state)
{
	struct weft_ratelimit_window w;
	unsigned ok = 0;

	weft_ratelimit_window_init(&w, 100);
	assert_int_equal(weft_ratelimit_window_used(&w, 10000), 0);
	for (int i = 0; i < 150; i++)
		ok += weft_ratelimit_window_take(&w, 10000);
	assert_int_equal(ok, 100);
	assert_int_equal(weft_ratelimit_window_used(&w, 10000), 100);
	assert_int_equal(weft_ratelimit_window_used(&w, 10999), 100);
	/* A quarter into the next window, three quarters of those 100 count. */
	assert_int_equal(weft_ratelimit_window_used(&w, 11250), 75);
	ok = 0;
	for (int i = 0; i < 100; i++)
		ok += weft_ratelimit_window_take(&w, 11250);
	assert_int_equal(ok, 25);
	assert_int_equal(weft_ratelimit_window_used(&w, 11250), 100);
	/* Half way: 25 + 50. */
	assert_int_equal(weft_ratelimit_window_used(&w, 11500), 75);
	/* Two windows on, nothing left; a long pause too. */
	assert_int_equal(weft_ratelimit_window_used(&w, 12000), 25);
	assert_int_equal(weft_ratelimit_window_used(&w, 13000), 0);
	assert_int_equal(weft_ratelimit_window_used(&w, 99000), 0);
	/* Over a steady stream the sliding estimate admits at most the limit a
	 * second: 1000 attempts a second for 10 s, one a millisecond. */
	weft_ratelimit_window_init(&w, 100);
	ok = 0;
	for (uint64_t t = 100000; t < 110000; t++)
		ok += weft_ratelimit_window_take(&w, t);
	assert_true(ok >= 950 && ok <= 1000 + 100);
	/* A clock that goes back counts into the current window. */
	weft_ratelimit_window_init(&w, 10);
	for (int i = 0; i < 10; i++)
		assert_true(weft_ratelimit_window_take(&w, 5000));
	assert_false(weft_ratelimit_window_take(&w, 4000));
	assert_int_equal(weft_ratelimit_window_used(&w, 4000), 10);
	/* count() counts whatever the limit (demand), and set() changes the limit. */
	weft_ratelimit_window_count(&w, 5000);
	assert_int_equal(weft_ratelimit_window_used(&w, 5000), 11);
	weft_ratelimit_window_set(&w, 20);
	assert_true(weft_ratelimit_window_take(&w, 5000));
	assert_int_equal(weft_ratelimit_window_used(&w, 5000), 12);
	/* A limit of 0 admits nothing. */
	weft_ratelimit_window_init(&w, 0);
	assert_false(weft_ratelimit_window_take(&w, 1));
}

static void test_many_sources(void **state)
{
	struct weft_ratelimit *rl = weft_ratelimit_new(1, 2, 16384);
	unsigned ok = 0;
	char ip[64];

	assert_non_null(rl);
	for (int i = 0; i < 128; i++) {
		struct sockaddr_storage ss;

		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i / 16, i % 16);
		ss = v6(ip, 1);
		ok += passes(rl, &ss, 0, 3);
	}
	/* 128 sources in 4096 sets of 4 ways: five in one set has a chance
	 * below 10^-6. */
	assert_int_equal(ok, 256);
	assert_int_equal(weft_ratelimit_count(rl), 128);
	weft_ratelimit_free(rl);
}

static int setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst),
	    cmocka_unit_test(test_refill),
	    cmocka_unit_test(test_set),
	    cmocka_unit_test(test_sources_independent),
	    cmocka_unit_test(test_ipv6),
	    cmocka_unit_test(test_table_full),
	    cmocka_unit_test(test_other_families_and_args),
	    cmocka_unit_test(test_many_sources),
	    cmocka_unit_test(test_source_key),
	    cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
