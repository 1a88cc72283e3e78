/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/mactable.h"

#define AGE  300000U
#define NONE WEFT_MACTABLE_NO_PEER

static const uint8_t test_key[WEFT_MACTABLE_KEY_LEN] = "weft-test-key-16";

static void mac_of(uint8_t mac[6], uint32_t n)
{
	mac[0] = 0x02; /* locally administered unicast */
	mac[1] = 0x77;
	mac[2] = (uint8_t)(n >> 24);
	mac[3] = (uint8_t)(n >> 16);
	mac[4] = (uint8_t)(n >> 8);
	mac[5] = (uint8_t)n;
}

static struct weft_mactable *table(size_t capacity, uint64_t ageing)
{
	struct weft_mactable *t;

	assert_int_equal(weft_mactable_new(&t, capacity, ageing, test_key), 0);
	assert_non_null(t);
	return t;
}

static void test_new_invalid(void **state)
{
	struct weft_mactable *t = (void *)1;

	assert_int_equal(weft_mactable_new(&t, 0, AGE, NULL), -EINVAL);
	assert_null(t);
	assert_int_equal(weft_mactable_new(&t, WEFT_MACTABLE_MAX_CAPACITY + 1, AGE, NULL), -EINVAL);
	assert_int_equal(weft_mactable_new(&t, 16, 0, NULL), -EINVAL);
	/* A random key works as well as a fixed one. */
	assert_int_equal(weft_mactable_new(&t, 16, AGE, NULL), 0);
	weft_mactable_free(t);
	weft_mactable_free(NULL);
}

static void test_learn_lookup(void **state)
{
	struct weft_mactable *t = table(WEFT_MACTABLE_DEFAULT_CAPACITY, AGE);
	struct weft_mactable_stats st;
	uint8_t a[6], b[6], c[6];

	mac_of(a, 1);
	mac_of(b, 2);
	mac_of(c, 3);
	assert_int_equal(weft_mactable_lookup(t, a, 0), NONE);
	assert_int_equal(weft_mactable_learn(t, a, 7, 1000), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_learn(t, b, 0, 1000), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, a, 1000), 7);
	assert_int_equal(weft_mactable_lookup(t, b, 2000), 0);
	assert_int_equal(weft_mactable_lookup(t, c, 2000), NONE);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 2);
	assert_int_equal(st.capacity, WEFT_MACTABLE_DEFAULT_CAPACITY);
	assert_int_equal(st.added, 2);
	weft_mactable_free(t);
}

static void test_reject_invalid_source(void **state)
{
	struct weft_mactable *t = table(16, AGE);
	struct weft_mactable_stats st;
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	static const uint8_t zero[6] = {0};
	uint8_t a[6];

	mac_of(a, 1);
	assert_int_equal(weft_mactable_learn(t, bcast, 1, 0), -EINVAL);
	assert_int_equal(weft_mactable_learn(t, mcast, 1, 0), -EINVAL);
	assert_int_equal(weft_mactable_learn(t, zero, 1, 0), -EINVAL);
	assert_int_equal(weft_mactable_learn(t, a, NONE, 0), -EINVAL);
	assert_int_equal(weft_mactable_learn(t, a, WEFT_MACTABLE_MAX_PEERS, 0), -EINVAL);
	assert_int_equal(weft_mactable_lookup(t, mcast, 0), NONE);
	assert_int_equal(weft_mactable_lookup(t, a, 0), NONE);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 0);
	assert_int_equal(st.rejected, 5);
	weft_mactable_free(t);
}

static void test_refresh(void **state)
{
	struct weft_mactable *t = table(16, AGE);
	uint8_t a[6];

	mac_of(a, 1);
	assert_int_equal(weft_mactable_learn(t, a, 3, 0), WEFT_MACTABLE_ADDED);
	/* Refreshed just before it would expire: lives another full ageing time. */
	assert_int_equal(weft_mactable_learn(t, a, 3, AGE - 1), WEFT_MACTABLE_REFRESHED);
	assert_int_equal(weft_mactable_lookup(t, a, AGE), 3);
	assert_int_equal(weft_mactable_lookup(t, a, 2 * AGE - 2), 3);
	assert_int_equal(weft_mactable_lookup(t, a, 2 * AGE - 1), NONE);
	/* Learning an expired entry again counts as new, not as a refresh. */
	assert_int_equal(weft_mactable_learn(t, a, 3, 2 * AGE - 1), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, a, 2 * AGE - 1), 3);
	weft_mactable_free(t);
}

static void test_move_at_once(void **state)
{
	struct weft_mactable *t = table(16, AGE);
	struct weft_mactable_stats st;
	uint8_t a[6];

	mac_of(a, 1);
	assert_int_equal(weft_mactable_learn(t, a, 1, 100), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_learn(t, a, 2, 101), WEFT_MACTABLE_MOVED);
	assert_int_equal(weft_mactable_lookup(t, a, 101), 2);
	assert_int_equal(weft_mactable_learn(t, a, 1, 101), WEFT_MACTABLE_MOVED);
	assert_int_equal(weft_mactable_lookup(t, a, 101), 1);
	/* Expired at peer 1, then seen at peer 2: a fresh learn, not a move. */
	assert_int_equal(weft_mactable_learn(t, a, 2, 101 + AGE), WEFT_MACTABLE_ADDED);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.moved, 2);
	assert_int_equal(st.count, 1);
	weft_mactable_free(t);
}

static void test_remove(void **state)
{
	struct weft_mactable *t = table(16, AGE);
	struct weft_mactable_stats st;
	uint8_t a[6], b[6];

	mac_of(a, 1);
	mac_of(b, 2);
	assert_int_equal(weft_mactable_learn(t, a, 1, 0), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_learn(t, b, 1, 0), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_remove(t, a, 10), 0);
	assert_int_equal(weft_mactable_lookup(t, a, 10), NONE);
	assert_int_equal(weft_mactable_lookup(t, b, 10), 1);
	assert_int_equal(weft_mactable_remove(t, a, 10), -ENOENT);
	/* An expired entry goes too, but was not live. */
	assert_int_equal(weft_mactable_remove(t, b, AGE), -ENOENT);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 0);
	assert_int_equal(st.removed, 1);
	/* And it can come back. */
	assert_int_equal(weft_mactable_learn(t, a, 4, 20), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, a, 20), 4);
	weft_mactable_free(t);
}

static void test_ageing_boundary(void **state)
{
	struct weft_mactable *t = table(16, AGE);
	uint8_t a[6], b[6];

	mac_of(a, 1);
	mac_of(b, 2);
	assert_int_equal(weft_mactable_learn(t, a, 5, 1000), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_learn(t, b, 5, 1001), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, a, 1000 + AGE - 1), 5);
	assert_int_equal(weft_mactable_expire(t, 1000 + AGE - 1, 100), 0);
	assert_int_equal(weft_mactable_lookup(t, a, 1000 + AGE), NONE);
	assert_int_equal(weft_mactable_lookup(t, b, 1000 + AGE), 5);
	assert_int_equal(weft_mactable_expire(t, 1000 + AGE, 100), 1);
	assert_int_equal(weft_mactable_expire(t, 1000 + AGE, 100), 0);
	assert_int_equal(weft_mactable_expire(t, 1001 + AGE, 100), 1);
	/* A clock that steps back does not kill entries. */
	assert_int_equal(weft_mactable_learn(t, a, 6, 5000), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, a, 4000), 6);
	assert_int_equal(weft_mactable_expire(t, 4000, 100), 0);
	weft_mactable_free(t);
}

static void test_expire_budget(void **state)
{
	struct weft_mactable *t = table(256, 1000);
	struct weft_mactable_stats st;
	uint8_t m[6];

	for (uint32_t i = 0; i < 200; i++) {
		mac_of(m, i);
		assert_int_equal(weft_mactable_learn(t, m, i % 3, i), WEFT_MACTABLE_ADDED);
	}
	/* At 1100, MACs 0..100 are expired; a budget of 32 takes 32 at a time. */
	assert_int_equal(weft_mactable_expire(t, 1100, 32), 32);
	assert_int_equal(weft_mactable_expire(t, 1100, 32), 32);
	assert_int_equal(weft_mactable_expire(t, 1100, 32), 32);
	assert_int_equal(weft_mactable_expire(t, 1100, 32), 5);
	assert_int_equal(weft_mactable_expire(t, 1100, 32), 0);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 99);
	assert_int_equal(st.expired, 101);
	mac_of(m, 100);
	assert_int_equal(weft_mactable_lookup(t, m, 1100), NONE);
	mac_of(m, 101);
	assert_int_equal(weft_mactable_lookup(t, m, 1100), 101 % 3);
	assert_int_equal(weft_mactable_expire(t, 1100, 0), 0);
	weft_mactable_free(t);
}

static void test_forget_peer(void **state)
{
	struct weft_mactable *t = table(64, AGE);
	struct weft_mactable_stats st;
	uint8_t m[6];

	for (uint32_t i = 0; i < 60; i++) {
		mac_of(m, i);
		assert_int_equal(weft_mactable_learn(t, m, i % 3, 0), WEFT_MACTABLE_ADDED);
	}
	assert_int_equal(weft_mactable_forget_peer(t, 1), 20);
	assert_int_equal(weft_mactable_forget_peer(t, 1), 0);
	assert_int_equal(weft_mactable_forget_peer(t, 9), 0);
	assert_int_equal(weft_mactable_forget_peer(t, NONE), 0);
	for (uint32_t i = 0; i < 60; i++) {
		mac_of(m, i);
		assert_int_equal(weft_mactable_lookup(t, m, 1), i % 3 == 1 ? NONE : i % 3);
	}
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 40);
	/* The freed slots are reusable. */
	for (uint32_t i = 100; i < 124; i++) {
		mac_of(m, i);
		assert_int_equal(weft_mactable_learn(t, m, 1, 2), WEFT_MACTABLE_ADDED);
	}
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 64);
	assert_int_equal(st.refused_full, 0);
	assert_int_equal(weft_mactable_peer_count(t, 1), 24);
	assert_int_equal(weft_mactable_peer_count(t, 0), 20);
	weft_mactable_free(t);
}

static void test_full_table(void **state)
{
	struct weft_mactable *t = table(4, AGE);
	struct weft_mactable_stats st;
	uint8_t m[8][6];

	for (uint32_t i = 0; i < 8; i++)
		mac_of(m[i], i);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(weft_mactable_learn(t, m[i], i, i), WEFT_MACTABLE_ADDED);
	/* Full of live entries: a newcomer is refused, nobody is pushed out. */
	assert_int_equal(weft_mactable_learn(t, m[4], 4, 11), -ENOSPC);
	assert_int_equal(weft_mactable_lookup(t, m[4], 11), NONE);
	for (uint32_t i = 0; i < 4; i++)
		assert_int_equal(weft_mactable_lookup(t, m[i], 11), i);
	/* What is in keeps working: refreshes and moves need no room. */
	assert_int_equal(weft_mactable_learn(t, m[0], 0, 12), WEFT_MACTABLE_REFRESHED);
	assert_int_equal(weft_mactable_learn(t, m[1], 4, 12), WEFT_MACTABLE_MOVED);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 4);
	assert_int_equal(st.refused_full, 1);
	assert_int_equal(st.added, 4);
	/* An expired oldest entry makes room: 2 was refreshed last at 2. */
	assert_int_equal(weft_mactable_learn(t, m[5], 5, 2 + AGE), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, m[2], 2 + AGE), NONE);
	assert_int_equal(weft_mactable_lookup(t, m[5], 2 + AGE), 5);
	assert_int_equal(weft_mactable_peer_count(t, 2), 0);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.refused_full, 1);
	assert_int_equal(st.expired, 1);

	/* Capacity 1: the one live MAC stays until it goes. */
	weft_mactable_free(t);
	t = table(1, AGE);
	assert_int_equal(weft_mactable_learn(t, m[0], 1, 0), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_learn(t, m[1], 1, 0), -ENOSPC);
	assert_int_equal(weft_mactable_lookup(t, m[0], 0), 1);
	assert_int_equal(weft_mactable_lookup(t, m[1], 0), NONE);
	assert_int_equal(weft_mactable_remove(t, m[0], 0), 0);
	assert_int_equal(weft_mactable_learn(t, m[2], 2, 0), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, m[2], 0), 2);
	weft_mactable_free(t);
}

/* ---- the bounds of one peer ------------------------------------------------------ */

static void limit(struct weft_mactable *t, uint32_t per_peer, uint32_t rate, uint32_t burst)
{
	weft_mactable_set_limits(
	    t, &(struct weft_mactable_limits){.per_peer = per_peer, .rate = rate, .burst = burst});
}

static void test_peer_limit(void **state)
{
	struct weft_mactable *t = table(64, AGE);
	struct weft_mactable_stats st;
	uint8_t m[10][6];

	for (uint32_t i = 0; i < 10; i++)
		mac_of(m[i], i);
	limit(t, 3, 0, 0);
	for (uint32_t i = 0; i < 3; i++)
		assert_int_equal(weft_mactable_learn(t, m[i], 1, 10 * i), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_learn(t, m[3], 1, 30), -EDQUOT);
	assert_int_equal(weft_mactable_lookup(t, m[3], 30), NONE);
	/* A refresh is never refused; another peer has its own bound. */
	assert_int_equal(weft_mactable_learn(t, m[0], 1, 40), WEFT_MACTABLE_REFRESHED);
	assert_int_equal(weft_mactable_learn(t, m[3], 2, 40), WEFT_MACTABLE_ADDED);
	/* Nor can a full peer take a MAC from another one. */
	assert_int_equal(weft_mactable_learn(t, m[3], 1, 41), -EDQUOT);
	assert_int_equal(weft_mactable_lookup(t, m[3], 41), 2);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.refused_peer_limit, 2);
	assert_int_equal(weft_mactable_peer_count(t, 1), 3);

	/* Its own oldest expired entry makes room (1, seen at 10; 0 was refreshed). */
	assert_int_equal(weft_mactable_learn(t, m[4], 1, 10 + AGE), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_lookup(t, m[1], 10 + AGE), NONE);
	assert_int_equal(weft_mactable_peer_count(t, 1), 3);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.expired, 1);
	/* 2 (seen at 20) is live at 10 + AGE: refused again. */
	assert_int_equal(weft_mactable_learn(t, m[5], 1, 10 + AGE), -EDQUOT);
	/* A removal or a forget gives room back. */
	assert_int_equal(weft_mactable_remove(t, m[2], 10 + AGE), 0);
	assert_int_equal(weft_mactable_learn(t, m[5], 1, 10 + AGE), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_forget_peer(t, 1), 3);
	assert_int_equal(weft_mactable_peer_count(t, 1), 0);
	for (uint32_t i = 6; i < 9; i++)
		assert_int_equal(weft_mactable_learn(t, m[i], 1, 20 + AGE), WEFT_MACTABLE_ADDED);

	/* A lower bound drops nothing: the peer learns nothing new until it is under. */
	limit(t, 1, 0, 0);
	for (uint32_t i = 6; i < 9; i++)
		assert_int_equal(weft_mactable_lookup(t, m[i], 21 + AGE), 1);
	assert_int_equal(weft_mactable_learn(t, m[9], 1, 21 + AGE), -EDQUOT);
	limit(t, 0, 0, 0);
	assert_int_equal(weft_mactable_learn(t, m[9], 1, 21 + AGE), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_peer_count(t, 1), 4);
	weft_mactable_free(t);
}

static void test_rate(void **state)
{
	struct weft_mactable *t = table(64, AGE);
	struct weft_mactable_stats st;
	uint32_t n = 0;
	uint8_t m[6];

	limit(t, 0, 10, 5); /* 10 new MACs a second, 5 at once */
	/* The bucket starts full. */
	for (; n < 5; n++) {
		mac_of(m, n);
		assert_int_equal(weft_mactable_learn(t, m, 1, 1000), WEFT_MACTABLE_ADDED);
	}
	mac_of(m, n);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1000), -EAGAIN);
	assert_int_equal(weft_mactable_lookup(t, m, 1000), NONE);
	/* Refreshes cost nothing; another peer has its own bucket. */
	mac_of(m, 0);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1000), WEFT_MACTABLE_REFRESHED);
	mac_of(m, n);
	assert_int_equal(weft_mactable_learn(t, m, 2, 1000), WEFT_MACTABLE_ADDED);
	/* One token per 100 ms: not at 1099, at 1100. */
	mac_of(m, ++n);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1099), -EAGAIN);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1100), WEFT_MACTABLE_ADDED);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1100), WEFT_MACTABLE_REFRESHED);
	/* A move to peer 1 is new to it, and costs a token. */
	mac_of(m, 5);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1100), -EAGAIN);
	assert_int_equal(weft_mactable_lookup(t, m, 1100), 2);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1200), WEFT_MACTABLE_MOVED);
	/* An hour idle refills no more than the burst. */
	for (uint32_t k = 0; k < 5; k++) {
		mac_of(m, ++n);
		assert_int_equal(weft_mactable_learn(t, m, 1, 3601200), WEFT_MACTABLE_ADDED);
	}
	mac_of(m, ++n);
	assert_int_equal(weft_mactable_learn(t, m, 1, 3601200), -EAGAIN);
	/* A clock that steps back refills nothing. */
	assert_int_equal(weft_mactable_learn(t, m, 1, 1000), -EAGAIN);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1099), -EAGAIN);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1100), WEFT_MACTABLE_ADDED);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.refused_rate, 6);
	weft_mactable_free(t);
}

static void test_set_limits(void **state)
{
	struct weft_mactable *t = table(64, AGE);
	uint32_t n = 0;
	uint8_t m[6];

	limit(t, 0, 1, 4);
	for (; n < 4; n++) {
		mac_of(m, n);
		assert_int_equal(weft_mactable_learn(t, m, 1, 0), WEFT_MACTABLE_ADDED);
	}
	mac_of(m, n);
	assert_int_equal(weft_mactable_learn(t, m, 1, 0), -EAGAIN);
	/* A reload keeps an empty bucket empty... */
	limit(t, 0, 1, 100);
	assert_int_equal(weft_mactable_learn(t, m, 1, 999), -EAGAIN);
	assert_int_equal(weft_mactable_learn(t, m, 1, 1000), WEFT_MACTABLE_ADDED);
	/* ...caps a full one at the new burst... */
	mac_of(m, ++n);
	assert_int_equal(weft_mactable_learn(t, m, 2, 1000), WEFT_MACTABLE_ADDED);
	limit(t, 0, 1, 2);
	for (uint32_t k = 0; k < 2; k++) {
		mac_of(m, ++n);
		assert_int_equal(weft_mactable_learn(t, m, 2, 1000), WEFT_MACTABLE_ADDED);
	}
	mac_of(m, ++n);
	assert_int_equal(weft_mactable_learn(t, m, 2, 1000), -EAGAIN);
	/* ...no rate lets everything through, and turning one on starts full. */
	limit(t, 0, 0, 0);
	assert_int_equal(weft_mactable_learn(t, m, 2, 1000), WEFT_MACTABLE_ADDED);
	limit(t, 0, 1000, 3);
	for (uint32_t k = 0; k < 3; k++) {
		mac_of(m, ++n);
		assert_int_equal(weft_mactable_learn(t, m, 2, 1000), WEFT_MACTABLE_ADDED);
	}
	mac_of(m, ++n);
	assert_int_equal(weft_mactable_learn(t, m, 2, 1000), -EAGAIN);
	/* A rate without a burst is a burst of one. */
	limit(t, 0, 1, 0);
	assert_int_equal(weft_mactable_learn(t, m, 3, 1000), WEFT_MACTABLE_ADDED);
	mac_of(m, ++n);
	assert_int_equal(weft_mactable_learn(t, m, 3, 1000), -EAGAIN);
	assert_int_equal(weft_mactable_learn(t, m, 3, 2000), WEFT_MACTABLE_ADDED);
	weft_mactable_free(t);
}

/* Finding 5 of issue 12 in small: one peer sends frames from ever new MACs.
 * The others' entries all survive; it holds its bound and no more. */
static void test_flood_from_one_peer(void **state)
{
	struct weft_mactable *t = table(256, AGE);
	struct weft_mactable_stats st;
	uint32_t seed = 0x12345678;
	uint8_t m[6];

	limit(t, 64, 0, 0);
	for (uint32_t i = 0; i < 100; i++) {
		mac_of(m, i);
		assert_int_equal(weft_mactable_learn(t, m, i % 2, 1), WEFT_MACTABLE_ADDED);
	}
	for (uint32_t i = 0; i < 10000; i++) {
		seed = seed * 1103515245u + 12345u;
		mac_of(m, 0x10000 + seed % 0x7fffff);
		(void)!weft_mactable_learn(t, m, 7, 2 + i / 100);
	}
	for (uint32_t i = 0; i < 100; i++) {
		mac_of(m, i);
		assert_int_equal(weft_mactable_lookup(t, m, 200), i % 2);
	}
	assert_int_equal(weft_mactable_peer_count(t, 7), 64);
	weft_mactable_get_stats(t, &st);
	assert_int_equal(st.count, 164);
	assert_true(st.refused_peer_limit > 9800);
	assert_int_equal(st.refused_full, 0);
	weft_mactable_free(t);
}

static void test_iterate(void **state)
{
	struct weft_mactable *t = table(64, AGE);
	struct weft_mactable_entry e;
	bool seen[10] = {false};
	size_t cursor = 0, n = 0;
	uint8_t m[6];

	for (uint32_t i = 0; i < 10; i++) {
		mac_of(m, i);
		assert_int_equal(weft_mactable_learn(t, m, 100 + i, 1000 + i), WEFT_MACTABLE_ADDED);
	}
	/* 0 and 1 have expired at this time; 2 is one millisecond from it. */
	while (weft_mactable_next(t, &cursor, 1002 + AGE - 1, &e)) {
		uint32_t i = e.mac[5];

		assert_true(n++ < 10);
		mac_of(m, i);
		assert_memory_equal(e.mac, m, 6);
		assert_int_equal(e.peer, 100 + i);
		assert_int_equal(e.age_ms, 1002 + AGE - 1 - (1000 + i));
		assert_false(seen[i]);
		seen[i] = true;
	}
	assert_int_equal(n, 8);
	assert_false(seen[0] || seen[1]);
	/* Once done it stays done. */
	assert_false(weft_mactable_next(t, &cursor, 1002 + AGE - 1, &e));
	weft_mactable_free(t);
}

static void test_set_ageing(void **state)
{
	struct weft_mactable *t = table(16, AGE);
	uint8_t a[6];

	mac_of(a, 1);
	assert_int_equal(weft_mactable_learn(t, a, 1, 0), WEFT_MACTABLE_ADDED);
	weft_mactable_set_ageing(t, 50);
	assert_int_equal(weft_mactable_lookup(t, a, 49), 1);
	assert_int_equal(weft_mactable_lookup(t, a, 50), NONE);
	weft_mactable_set_ageing(t, 0); /* ignored */
	assert_int_equal(weft_mactable_lookup(t, a, 50), NONE);
	weft_mactable_free(t);
}

/* ---- random workload against a reference model --------------------------------- */

#define MODEL_CAP  48
#define MODEL_MACS 96
#define MODEL_AGE  500

struct model_entry {
	bool used;
	uint32_t peer;
	uint64_t seen;
	uint64_t order; /* larger = refreshed later */
};

struct model {
	struct model_entry e[MODEL_MACS];
	size_t count;
	uint64_t clock;
	uint32_t per_peer;
	unsigned refused_peer_limit, refused_full;
};

static bool model_live(const struct model_entry *e, uint64_t now)
{
	return e->used && (now < e->seen || now - e->seen < MODEL_AGE);
}

/* The least recently refreshed entry (of @peer, or of any with NONE). */
static int model_oldest_of(const struct model *m, uint32_t peer)
{
	int best = -1;

	for (int i = 0; i < MODEL_MACS; i++)
		if (m->e[i].used && (peer == NONE || m->e[i].peer == peer) &&
		    (best < 0 || m->e[i].order < m->e[best].order))
			best = i;
	return best;
}

static int model_oldest(const struct model *m)
{
	return model_oldest_of(m, NONE);
}

static size_t model_peer_count(const struct model *m, uint32_t peer)
{
	size_t n = 0;

	for (int i = 0; i < MODEL_MACS; i++)
		n += m->e[i].used && m->e[i].peer == peer;
	return n;
}

static void model_drop(struct model *m, int i)
{
	m->e[i].used = false;
	m->count--;
}

/* Room for a new MAC of @peer: under its bound, or its oldest expired (dropped). */
static bool model_peer_room(struct model *m, uint32_t peer, uint64_t now)
{
	int o;

	if (!m->per_peer || model_peer_count(m, peer) < m->per_peer)
		return true;
	o = model_oldest_of(m, peer);
	if (o < 0 || model_live(&m->e[o], now))
		return false;
	model_drop(m, o);
	return model_peer_count(m, peer) < m->per_peer;
}

static int model_learn(struct model *m, int mac, uint32_t peer, uint64_t now)
{
	struct model_entry *e = &m->e[mac];
	int res;

	if (e->used && model_live(e, now) && e->peer == peer) {
		res = WEFT_MACTABLE_REFRESHED;
	} else if (e->used) {
		if (e->peer != peer && !model_peer_room(m, peer, now)) {
			m->refused_peer_limit++;
			return -EDQUOT;
		}
		res = model_live(e, now) ? WEFT_MACTABLE_MOVED : WEFT_MACTABLE_ADDED;
	} else {
		int o;

		if (!model_peer_room(m, peer, now)) {
			m->refused_peer_limit++;
			return -EDQUOT;
		}
		if (m->count == MODEL_CAP) {
			/* Never a live entry: refused instead. */
			o = model_oldest(m);
			if (model_live(&m->e[o], now)) {
				m->refused_full++;
				return -ENOSPC;
			}
			model_drop(m, o);
		}
		m->count++;
		res = WEFT_MACTABLE_ADDED;
	}
	e->used = true;
	e->peer = peer;
	e->seen = now;
	e->order = ++m->clock;
	return res;
}

static uint32_t xorshift(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* @per_peer: the bound of live MACs per peer, 0 for none (4 peers share the
 * table: 10 of 48 makes peers hit it; none makes the table fill up). */
static void run_model(uint32_t seed, uint32_t per_peer)
{
	struct weft_mactable *t = table(MODEL_CAP, MODEL_AGE);
	struct weft_mactable_stats st;
	struct model m = {.per_peer = per_peer};
	uint64_t now = 1;
	uint8_t mac[6];

	weft_mactable_set_limits(t, &(struct weft_mactable_limits){.per_peer = per_peer});
	for (int step = 0; step < 20000; step++) {
		uint32_t r = xorshift(&seed);
		int k = (int)((r >> 8) % MODEL_MACS);
		uint32_t peer = (r >> 20) % 4;
		int op = (int)(r % 100);

		mac_of(mac, (uint32_t)k);
		now += (r >> 28) % 8 == 0 ? (r >> 24) % 64 : 0;
		if (op < 45) {
			assert_int_equal(weft_mactable_learn(t, mac, peer, now),
					 model_learn(&m, k, peer, now));
		} else if (op < 80) {
			uint32_t want = model_live(&m.e[k], now) ? m.e[k].peer : NONE;

			assert_int_equal(weft_mactable_lookup(t, mac, now), want);
		} else if (op < 90) {
			int want = m.e[k].used && model_live(&m.e[k], now) ? 0 : -ENOENT;

			if (m.e[k].used)
				model_drop(&m, k);
			assert_int_equal(weft_mactable_remove(t, mac, now), want);
		} else if (op < 92) {
			size_t want = 0;

			for (int i = 0; i < MODEL_MACS; i++)
				if (m.e[i].used && m.e[i].peer == peer) {
					model_drop(&m, i);
					want++;
				}
			assert_int_equal(weft_mactable_forget_peer(t, peer), want);
		} else {
			size_t budget = (r >> 12) % 6, want = 0;
			int i;

			while (want < budget && (i = model_oldest(&m)) >= 0 &&
			       !model_live(&m.e[i], now)) {
				model_drop(&m, i);
				want++;
			}
			assert_int_equal(weft_mactable_expire(t, now, budget), want);
		}
		weft_mactable_get_stats(t, &st);
		assert_int_equal(st.count, m.count);
		assert_int_equal(weft_mactable_peer_count(t, peer), model_peer_count(&m, peer));
	}
	assert_int_equal(st.refused_peer_limit, m.refused_peer_limit);
	assert_int_equal(st.refused_full, m.refused_full);
	/* Both kinds of refusal happened, or this run proved little. */
	assert_true(per_peer ? m.refused_peer_limit > 0 : m.refused_full > 0);

	/* The iteration yields exactly the model's live entries. */
	{
		struct weft_mactable_entry e;
		bool seen[MODEL_MACS] = {false};
		size_t cursor = 0, n = 0, want = 0;

		while (weft_mactable_next(t, &cursor, now, &e)) {
			uint32_t k = ((uint32_t)e.mac[4] << 8) | e.mac[5];

			assert_true(k < MODEL_MACS);
			assert_false(seen[k]);
			seen[k] = true;
			assert_true(model_live(&m.e[k], now));
			assert_int_equal(e.peer, m.e[k].peer);
			assert_int_equal(e.age_ms, now - m.e[k].seen);
			n++;
		}
		for (int i = 0; i < MODEL_MACS; i++)
			want += model_live(&m.e[i], now);
		assert_int_equal(n, want);
	}
	weft_mactable_free(t);
}

static void test_random_vs_model(void **state)
{
	static const uint32_t seeds[] = {1, 0x9e3779b9, 12345, 0xdeadbeef, 77};

	for (size_t i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
		run_model(seeds[i], 0);
		run_model(seeds[i], 10);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_invalid),
	    cmocka_unit_test(test_learn_lookup),
	    cmocka_unit_test(test_reject_invalid_source),
	    cmocka_unit_test(test_refresh),
	    cmocka_unit_test(test_move_at_once),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_ageing_boundary),
	    cmocka_unit_test(test_expire_budget),
	    cmocka_unit_test(test_forget_peer),
	    cmocka_unit_test(test_full_table),
	    cmocka_unit_test(test_peer_limit),
	    cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_set_limits),
	    cmocka_unit_test(test_flood_from_one_peer),
	    cmocka_unit_test(test_iterate),
	    cmocka_unit_test(test_set_ageing),
	    cmocka_unit_test(test_random_vs_model),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
