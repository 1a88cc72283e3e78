/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/freshness.h"
#include "common/key.h"

static void key_of(uint8_t key[static WEFT_KEY_LEN], unsigned n)
{
	memset(key, 0, WEFT_KEY_LEN);
	key[0] = (uint8_t)n;
	key[1] = (uint8_t)(n >> 8);
	key[31] = 0x42;
}

/* Stamps follow the wall clock while it moves forward, and keep growing by
 * one when it stands still or steps back. */
static void test_stamp_monotonic(void **state)
{
	struct weft_freshness f;
	bool save;

	(void)state;
	weft_freshness_init(&f);
	assert_int_equal(weft_freshness_stamp(&f, 1000000, &save), 1000000);
	assert_true(save);
	assert_int_equal(f.floor, 1000000 + WEFT_FRESHNESS_RESERVE_MS);
	assert_int_equal(weft_freshness_stamp(&f, 1000000, &save), 1000001);
	assert_false(save);
	assert_int_equal(weft_freshness_stamp(&f, 1005000, &save), 1005000);
	assert_false(save);
	/* The clock steps back ten minutes: stamps keep counting up. */
	assert_int_equal(weft_freshness_stamp(&f, 1005000 - 600000, &save), 1005001);
	assert_false(save);
	assert_int_equal(weft_freshness_stamp(&f, 0, &save), 1005002);
	/* Past the floor on disk: it moves up, and must be written. */
	assert_int_equal(weft_freshness_stamp(&f, 1010000, &save), 1010000);
	assert_true(save);
	assert_int_equal(f.floor, 1010000 + WEFT_FRESHNESS_RESERVE_MS);
	/* A clock far ahead, then back: no stamp is ever lower than one before. */
	assert_int_equal(weft_freshness_stamp(&f, 5000000, &save), 5000000);
	assert_true(save);
	assert_int_equal(weft_freshness_stamp(&f, 1011000, &save), 5000001);
	weft_freshness_free(&f);
}

/* A restart reads the floor: the first stamp is above every stamp of the
 * earlier run even with the clock a day behind. */
static void test_restart_continues_above(void **state)
{
	struct weft_freshness f, g;
	char err[WEFT_ERRLEN], *text;
	uint64_t last = 0, day = 86400000;
	bool save;

	(void)state;
	weft_freshness_init(&f);
	for (unsigned i = 0; i < 100; i++)
		last = weft_freshness_stamp(&f, 1796283500000 + i * 333, &save);
	text = weft_freshness_format(&f);
	assert_non_null(text);
	weft_freshness_init(&g);
	assert_int_equal(weft_freshness_parse(&g, text, strlen(text), err), 0);
	assert_true(weft_freshness_stamp(&g, 1796283500000 - day, &save) > last);
	free(text);
	weft_freshness_free(&f);
	weft_freshness_free(&g);
}

/* The bar of a nickname is the highest stamp confirmed under it; a HELLO is
 * fresh only above it; a completed handshake sets its key's stamp even lower
 * (a host that went back and proved itself). */
static void test_bar(void **state)
{
	struct weft_freshness f;
	uint8_t a[WEFT_KEY_LEN], b[WEFT_KEY_LEN];

	(void)state;
	weft_freshness_init(&f);
	key_of(a, 1);
	key_of(b, 2);
	assert_int_equal(weft_freshness_bar(&f, "h1"), 0);
	assert_true(weft_freshness_is_fresh(&f, "h1", 1));
	assert_int_equal(weft_freshness_confirm(&f, a, "h1", 5000), 0);
	assert_false(weft_freshness_is_fresh(&f, "h1", 4999));
	assert_false(weft_freshness_is_fresh(&f, "h1", 5000));
	assert_true(weft_freshness_is_fresh(&f, "h1", 5001));
	assert_true(weft_freshness_is_fresh(&f, "h2", 1));
	/* Another key calling itself h1: the bar is the higher of the two. */
	assert_int_equal(weft_freshness_confirm(&f, b, "h1", 7000), 0);
	assert_int_equal(weft_freshness_bar(&f, "h1"), 7000);
	/* b goes back (a restored snapshot) and completes a handshake. */
	assert_int_equal(weft_freshness_confirm(&f, b, "h1", 100), 0);
	assert_int_equal(weft_freshness_bar(&f, "h1"), 5000);
	assert_int_equal(weft_freshness_find(&f, b)->stamp_ms, 100);
	/* A key renamed: its stamp moves with it. */
	assert_int_equal(weft_freshness_confirm(&f, a, "web", 6000), 0);
	assert_int_equal(weft_freshness_bar(&f, "h1"), 100);
	assert_int_equal(weft_freshness_bar(&f, "web"), 6000);
	assert_int_equal(f.n, 2);
	assert_true(weft_freshness_forget(&f, a));
	assert_false(weft_freshness_forget(&f, a));
	assert_int_equal(weft_freshness_bar(&f, "web"), 0);
	assert_int_equal(weft_freshness_confirm(&f, a, "no/slash", 1), -EINVAL);
	assert_int_equal(weft_freshness_confirm(&f, a, "", 1), -EINVAL);
	weft_freshness_free(&f);
}

/* Full: the entry confirmed longest ago goes, and the order survives a
 * round trip through the file. */
static void test_full_evicts_oldest(void **state)
{
	struct weft_freshness f, g;
	uint8_t key[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN], *text;

	(void)state;
	weft_freshness_init(&f);
	for (unsigned i = 0; i < WEFT_FRESHNESS_MAX; i++) {
		key_of(key, i);
		assert_int_equal(weft_freshness_confirm(&f, key, "m", 1000 + i), 0);
	}
	/* Key 0 is refreshed, so key 1 is now the oldest. */
	key_of(key, 0);
	assert_int_equal(weft_freshness_confirm(&f, key, "m", 9), 0);
	text = weft_freshness_format(&f);
	assert_non_null(text);
	weft_freshness_init(&g);
	assert_int_equal(weft_freshness_parse(&g, text, strlen(text), err), 0);
	assert_int_equal(g.n, WEFT_FRESHNESS_MAX);
	key_of(key, WEFT_FRESHNESS_MAX);
	assert_int_equal(weft_freshness_confirm(&f, key, "new", 1), 0);
	assert_int_equal(weft_freshness_confirm(&g, key, "new", 1), 0);
	assert_int_equal(f.n, WEFT_FRESHNESS_MAX);
	for (unsigned t = 0; t < 2; t++) {
		const struct weft_freshness *x = t ? &g : &f;

		key_of(key, 1);
		assert_null(weft_freshness_find(x, key));
		key_of(key, 0);
		assert_non_null(weft_freshness_find(x, key));
		key_of(key, 2);
		assert_non_null(weft_freshness_find(x, key));
	}
	free(text);
	weft_freshness_free(&f);
	weft_freshness_free(&g);
}

static void test_roundtrip_and_bad_lines(void **state)
{
	static const char text[] =
	    "# a comment\n"
	    "floor 1796283510146\n"
	    "peer AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= h1 1796283500146\n"
	    "peer AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= h1\n"
	    "peer AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI= bad/nick 5\n"
	    "peer nokey h2 5\n"
	    "floor -1\n"
	    "floor 99999999999999999999999\n"
	    "floor 4611686018427387905\n"
	    "stamp 1\n"
	    "\n"
	    "peer AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI= h2 1796283400000 extra\n";
	struct weft_freshness f;
	char err[WEFT_ERRLEN];
	bool save;

	(void)state;
	weft_freshness_init(&f);
	assert_int_equal(weft_freshness_parse(&f, text, sizeof(text) - 1, err), 8);
	assert_non_null(strstr(err, "line 4:"));
	assert_int_equal(f.n, 1);
	assert_int_equal(f.floor, 1796283510146);
	assert_int_equal(weft_freshness_bar(&f, "h1"), 1796283500146);
	assert_int_equal(weft_freshness_stamp(&f, 0, &save), 1796283510146);
	assert_true(save);
	weft_freshness_free(&f);
	weft_freshness_init(&f);
	assert_int_equal(weft_freshness_parse(&f, "floor 5\n\0 x\n", 12, err), 1);
	assert_non_null(strstr(err, "NUL"));
	weft_freshness_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stamp_monotonic),
	    cmocka_unit_test(test_restart_continues_above),
	    cmocka_unit_test(test_bar),
	    cmocka_unit_test(test_full_evicts_oldest),
	    cmocka_unit_test(test_roundtrip_and_bad_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
