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

#include "common/banlist.h"
#include "common/key.h"

static void key_of(uint8_t key[static WEFT_KEY_LEN], unsigned n)
{
	memset(key, 0, WEFT_KEY_LEN);
	key[0] = (uint8_t)n;
	key[1] = (uint8_t)(n >> 8);
	key[31] = 0x42;
}

static void test_add_find_remove(void **state)
{
	struct weft_banlist bl;
	uint8_t a[WEFT_KEY_LEN], b[WEFT_KEY_LEN];

	(void)state;
	weft_banlist_init(&bl);
	key_of(a, 1);
	key_of(b, 2);
	assert_null(weft_banlist_find(&bl, a));
	assert_int_equal(weft_banlist_add(&bl, a, "h1", 100), 1);
	assert_int_equal(weft_banlist_add(&bl, a, "other", 200), 0); /* kept as it was */
	assert_string_equal(weft_banlist_find(&bl, a)->name, "h1");
	assert_int_equal(weft_banlist_find(&bl, a)->since, 100);
	assert_null(weft_banlist_find(&bl, b));
	assert_int_equal(weft_banlist_add(&bl, b, NULL, 300), 1);
	assert_string_equal(weft_banlist_find(&bl, b)->name, "-");
	assert_ptr_equal(weft_banlist_find_name(&bl, "h1"), weft_banlist_find(&bl, a));
	assert_null(weft_banlist_find_name(&bl, "h2"));
	assert_true(weft_banlist_remove(&bl, a));
	assert_false(weft_banlist_remove(&bl, a));
	assert_null(weft_banlist_find(&bl, a));
	assert_non_null(weft_banlist_find(&bl, b));
	assert_int_equal(bl.n, 1);
	weft_banlist_free(&bl);
}

static void test_bad_names(void **state)
{
	struct weft_banlist bl;
	uint8_t a[WEFT_KEY_LEN];

	(void)state;
	weft_banlist_init(&bl);
	key_of(a, 1);
	assert_int_equal(weft_banlist_add(&bl, a, "a b", 1), -EINVAL);
	assert_int_equal(weft_banlist_add(&bl, a, "123456789012345678901234567890123", 1), -EINVAL);
	assert_int_equal(weft_banlist_add(&bl, a, "12345678901234567890123456789012", 1), 1);
	assert_int_equal(bl.n, 1);
	weft_banlist_free(&bl);
}

static void test_full(void **state)
{
	struct weft_banlist bl;
	uint8_t k[WEFT_KEY_LEN];

	(void)state;
	weft_banlist_init(&bl);
	for (unsigned i = 0; i < WEFT_BANLIST_MAX; i++) {
		key_of(k, i);
		assert_int_equal(weft_banlist_add(&bl, k, "x", i), 1);
	}
	key_of(k, WEFT_BANLIST_MAX);
	assert_int_equal(weft_banlist_add(&bl, k, "x", 0), -ENOSPC);
	key_of(k, 7);
	assert_int_equal(weft_banlist_add(&bl, k, "x", 0), 0); /* already there: no error */
	weft_banlist_free(&bl);
}

static void test_roundtrip(void **state)
{
	struct weft_banlist bl, back;
	uint8_t a[WEFT_KEY_LEN], b[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN], *text;

	(void)state;
	weft_banlist_init(&bl);
	weft_banlist_init(&back);
	key_of(a, 1);
	key_of(b, 0x1234);
	assert_int_equal(weft_banlist_add(&bl, a, "db-1.eu", 1765000000), 1);
	assert_int_equal(weft_banlist_add(&bl, b, NULL, 18446744073709551615ULL), 1);
	text = weft_banlist_format(&bl);
	assert_non_null(text);
	assert_int_equal(weft_banlist_parse(&back, text, strlen(text), err), 0);
	assert_string_equal(err, "");
	assert_int_equal(back.n, 2);
	assert_memory_equal(back.bans[0].key, a, WEFT_KEY_LEN);
	assert_string_equal(back.bans[0].name, "db-1.eu");
	assert_int_equal(back.bans[0].since, 1765000000);
	assert_memory_equal(back.bans[1].key, b, WEFT_KEY_LEN);
	assert_string_equal(back.bans[1].name, "-");
	assert_true(back.bans[1].since == 18446744073709551615ULL);
	free(text);
	weft_banlist_free(&bl);
	weft_banlist_free(&back);
}

/* Every bad line is skipped and counted; the good ones around it load. */
static void test_parse_bad_lines(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "\n"
	    "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEI= h1 5\n"
	    "not-a-key h2 5\n"
	    "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEI= h2\n"
	    "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEI= h2 -5\n"
	    "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEI= h2 5x\n"
	    "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEI= h 2 5\n"
	    "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEI= h/2 5\n"
	    "AwAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAEI= h3 7"; /* no final newline */
	struct weft_banlist bl;
	uint8_t k[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN];

	(void)state;
	weft_banlist_init(&bl);
	assert_int_equal(weft_banlist_parse(&bl, text, strlen(text), err), 6);
	assert_non_null(strstr(err, "line 4:"));
	assert_int_equal(bl.n, 2);
	key_of(k, 1);
	assert_non_null(weft_banlist_find(&bl, k));
	key_of(k, 3);
	assert_int_equal(weft_banlist_find(&bl, k)->since, 7);
	weft_banlist_free(&bl);
}

static void test_parse_nul_and_long(void **state)
{
	char text[600], err[WEFT_ERRLEN];
	struct weft_banlist bl;

	(void)state;
	weft_banlist_init(&bl);
	memset(text, 'A', sizeof(text));
	text[sizeof(text) - 1] = '\n';
	assert_int_equal(weft_banlist_parse(&bl, text, sizeof(text), err), 1);
	assert_non_null(strstr(err, "too long"));
	memcpy(text, "AQAA\0AAA h 1\n", 13);
	assert_int_equal(weft_banlist_parse(&bl, text, 13, err), 1);
	assert_non_null(strstr(err, "NUL"));
	assert_int_equal(bl.n, 0);
	weft_banlist_free(&bl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_add_find_remove), cmocka_unit_test(test_bad_names),
	    cmocka_unit_test(test_full),	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_parse_bad_lines), cmocka_unit_test(test_parse_nul_and_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
