/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/retry.h"

#define NOW 7200000 /* ms: two hours after boot */

/* docs/protocol.md 4.9: 1, 1.5, 3, 6, then 30 s for a peer never heard. */
static void test_schedule_unheard(void **state)
{
	static const uint32_t want[] = {1000, 1000, 1500, 3000, 6000, 30000, 30000};

	for (unsigned tries = 0; tries < sizeof(want) / sizeof(want[0]); tries++)
		assert_int_equal(weft_retry_base_ms(tries, 0, NOW), want[tries]);
	assert_int_equal(weft_retry_base_ms(1000000, 0, NOW), 30000);
}

/* Heard lately: past the quick steps it stays at 6 s; the quick steps
 * themselves do not change. */
static void test_heard_stays_quick(void **state)
{
	assert_int_equal(weft_retry_base_ms(1, NOW - 5, NOW), 1000);
	assert_int_equal(weft_retry_base_ms(4, NOW - 5, NOW), 6000);
	assert_int_equal(weft_retry_base_ms(5, NOW - 5, NOW), 6000);
	assert_int_equal(weft_retry_base_ms(5, NOW, NOW), 6000);
	assert_int_equal(weft_retry_base_ms(99, NOW - WEFT_RETRY_HEARD_MS + 1, NOW), 6000);
}

/* Heard too long ago, or "never" (0) even on a clock that just started. */
static void test_heard_expires(void **state)
{
	assert_int_equal(weft_retry_base_ms(5, NOW - WEFT_RETRY_HEARD_MS, NOW), 30000);
	assert_int_equal(weft_retry_base_ms(5, NOW - 3600000, NOW), 30000);
	assert_int_equal(weft_retry_base_ms(5, 0, 1000), 30000);
	assert_int_equal(weft_retry_base_ms(5, 1, 1000), 6000);
}

/* A stamp ahead of the clock (a caller's bug) is not "heard lately". */
static void test_heard_in_future(void **state)
{
	assert_int_equal(weft_retry_base_ms(5, NOW + 1, NOW), 30000);
}

/* The predicate the warning after failed attempts uses too. */
static void test_heard_predicate(void **state)
{
	assert_false(weft_retry_heard(0, NOW));
	assert_true(weft_retry_heard(NOW, NOW));
	assert_true(weft_retry_heard(NOW - WEFT_RETRY_HEARD_MS + 1, NOW));
	assert_false(weft_retry_heard(NOW - WEFT_RETRY_HEARD_MS, NOW));
	assert_false(weft_retry_heard(NOW + 1, NOW));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_schedule_unheard),
	    cmocka_unit_test(test_heard_stays_quick),
	    cmocka_unit_test(test_heard_expires),
	    cmocka_unit_test(test_heard_in_future),
	    cmocka_unit_test(test_heard_predicate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
