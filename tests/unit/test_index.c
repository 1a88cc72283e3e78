/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/index.h"

#define ALL_TYPES (WEFT_INDEX_INITIATION | WEFT_INDEX_RESPONSE | WEFT_INDEX_SESSION)

/* What the daemon embeds entries in: a handshake, a session. */
struct owner {
	int tag;
	struct weft_index_entry entry;
};

/* Deterministic xorshift64*, for reproducible random sequences. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

/* A random source that replays @values (cyclically) and counts the draws. */
struct seq_rng {
	const uint32_t *values;
	size_t n, pos;
};

static uint32_t seq_random(void *ctx)
{
	struct seq_rng *s = ctx;
	uint32_t v = s->values[s->pos % s->n];

	s->pos++;
	return v;
}

static uint32_t constant_random(void *ctx)
{
	return *(uint32_t *)ctx;
}

static struct weft_index *new_table(size_t max, uint32_t (*random)(void *), void *ctx)
{
	struct weft_index *t = (struct weft_index *)1;

	assert_int_equal(weft_index_new(&t, max, random, ctx), 0);
	assert_non_null(t);
	return t;
}

static void test_new_and_free(void **state)
{
	struct weft_index *t = (struct weft_index *)1;

	assert_int_equal(weft_index_new(&t, 0, NULL, NULL), -EINVAL);
	assert_null(t);
	t = (struct weft_index *)1;
	assert_int_equal(weft_index_new(&t, ((size_t)1 << 30) + 1, NULL, NULL), -EINVAL);
	assert_null(t);
	t = new_table(1, NULL, NULL);
	assert_int_equal(weft_index_count(t), 0);
	weft_index_free(t);
	weft_index_free(NULL);
}

/* Inserting sets the entry's index and type; lookups find it only under a
 * mask that holds its type; the owner comes back with container_of. */
static void test_insert_lookup_by_type(void **state)
{
	static const uint32_t values[] = {0, 5, 5, 0, 5, 7, 9};
	struct seq_rng seq = {values, WEFT_ARRAY_SIZE(values), 0};
	struct weft_index *t = new_table(4, seq_random, &seq);
	struct owner a = {.tag = 1}, b = {.tag = 2};
	struct weft_index_entry *e;

	/* 0 is never handed out; a value in use is drawn again. */
	assert_int_equal(weft_index_insert(t, &a.entry, WEFT_INDEX_INITIATION), 0);
	assert_int_equal(a.entry.index, 5);
	assert_int_equal(a.entry.type, WEFT_INDEX_INITIATION);
	assert_int_equal(seq.pos, 2);
	assert_int_equal(weft_index_insert(t, &b.entry, WEFT_INDEX_SESSION), 0);
	assert_int_equal(b.entry.index, 7);
	assert_int_equal(b.entry.type, WEFT_INDEX_SESSION);
	assert_int_equal(seq.pos, 6);
	assert_int_equal(weft_index_count(t), 2);

	e = weft_index_lookup(t, 5, WEFT_INDEX_INITIATION);
	assert_ptr_equal(e, &a.entry);
	assert_int_equal(container_of(e, struct owner, entry)->tag, 1);
	assert_ptr_equal(weft_index_lookup(t, 5, WEFT_INDEX_INITIATION | WEFT_INDEX_RESPONSE),
			 &a.entry);
	/* The wrong type is as good as no entry. */
	assert_null(weft_index_lookup(t, 5, WEFT_INDEX_SESSION));
	assert_null(weft_index_lookup(t, 5, WEFT_INDEX_RESPONSE));
	assert_null(weft_index_lookup(t, 5, 0));
	e = weft_index_lookup(t, 7, ALL_TYPES);
	assert_ptr_equal(e, &b.entry);
	assert_int_equal(container_of(e, struct owner, entry)->tag, 2);
	assert_null(weft_index_lookup(t, 7, WEFT_INDEX_INITIATION | WEFT_INDEX_RESPONSE));
	assert_null(weft_index_lookup(t, 9, ALL_TYPES));
	assert_null(weft_index_lookup(t, 0, ALL_TYPES));

	/* Removed, and the value may come back. */
	weft_index_remove(t, &a.entry);
	assert_int_equal(a.entry.index, 0);
	assert_null(weft_index_lookup(t, 5, ALL_TYPES));
	assert_int_equal(weft_index_count(t), 1);
	seq.pos = 4; /* next draw: 5, free again */
	assert_int_equal(weft_index_insert(t, &a.entry, WEFT_INDEX_RESPONSE), 0);
	assert_int_equal(a.entry.index, 5);
	assert_ptr_equal(weft_index_lookup(t, 5, WEFT_INDEX_RESPONSE), &a.entry);
	weft_index_free(t);
}

/* A handshake's index becomes its session's. */
static void test_replace(void **state)
{
	struct weft_index *t = new_table(8, NULL, NULL);
	struct owner hs = {.tag = 1}, s = {.tag = 2}, other = {.tag = 3};
	struct weft_index_entry stale;
	uint32_t idx;

	assert_int_equal(weft_index_insert(t, &hs.entry, WEFT_INDEX_INITIATION), 0);
	idx = hs.entry.index;
	stale = hs.entry;
	assert_int_equal(weft_index_replace(t, &hs.entry, &s.entry, WEFT_INDEX_SESSION), 0);
	assert_int_equal(s.entry.index, idx);
	assert_int_equal(s.entry.type, WEFT_INDEX_SESSION);
	assert_int_equal(hs.entry.index, 0);
	assert_int_equal(weft_index_count(t), 1);
	assert_null(weft_index_lookup(t, idx, WEFT_INDEX_INITIATION));
	assert_ptr_equal(weft_index_lookup(t, idx, WEFT_INDEX_SESSION), &s.entry);

	/* The old entry is in no table now; a copy still carrying the index is
	 * not the entry the table maps either. */
	assert_int_equal(weft_index_replace(t, &hs.entry, &other.entry, WEFT_INDEX_SESSION),
			 -ENOENT);
	assert_int_equal(weft_index_replace(t, &stale, &other.entry, WEFT_INDEX_SESSION), -ENOENT);
	assert_int_equal(other.entry.index, 0);
	assert_ptr_equal(weft_index_lookup(t, idx, ALL_TYPES), &s.entry);

	/* An entry in a table already cannot take over another index. */
	assert_int_equal(weft_index_insert(t, &other.entry, WEFT_INDEX_RESPONSE), 0);
	assert_int_equal(weft_index_replace(t, &s.entry, &other.entry, WEFT_INDEX_SESSION), -EBUSY);
	assert_int_equal(s.entry.index, idx);
	assert_ptr_equal(weft_index_lookup(t, idx, WEFT_INDEX_SESSION), &s.entry);
	/* Replacing an entry by itself changes its type only. */
	assert_int_equal(weft_index_replace(t, &s.entry, &s.entry, WEFT_INDEX_RESPONSE), 0);
	assert_int_equal(s.entry.index, idx);
	assert_ptr_equal(weft_index_lookup(t, idx, WEFT_INDEX_RESPONSE), &s.entry);
	assert_int_equal(weft_index_count(t), 2);
	weft_index_free(t);
}

/* Removing an entry whose index went on to another owner leaves that owner in
 * place: a handshake freed after its session took over must not unmap it. */
static void test_remove_only_own(void **state)
{
	struct weft_index *t = new_table(8, NULL, NULL);
	struct owner hs, s, loose = {.entry = {0}};
	struct weft_index_entry stale;
	uint32_t idx;

	memset(&hs, 0, sizeof(hs));
	memset(&s, 0, sizeof(s));
	assert_int_equal(weft_index_insert(t, &hs.entry, WEFT_INDEX_RESPONSE), 0);
	idx = hs.entry.index;
	stale = hs.entry;
	assert_int_equal(weft_index_replace(t, &hs.entry, &s.entry, WEFT_INDEX_SESSION), 0);

	weft_index_remove(t, &stale);
	assert_int_equal(stale.index, 0);
	weft_index_remove(t, &hs.entry);
	assert_int_equal(hs.entry.index, 0);
	weft_index_remove(t, &loose.entry);
	weft_index_remove(NULL, &loose.entry);
	assert_int_equal(weft_index_count(t), 1);
	assert_ptr_equal(weft_index_lookup(t, idx, WEFT_INDEX_SESSION), &s.entry);

	weft_index_remove(t, &s.entry);
	assert_int_equal(s.entry.index, 0);
	assert_int_equal(weft_index_count(t), 0);
	assert_null(weft_index_lookup(t, idx, ALL_TYPES));
	/* Twice is harmless. */
	weft_index_remove(t, &s.entry);
	assert_int_equal(weft_index_count(t), 0);
	weft_index_free(t);
}

static void test_full(void **state)
{
	struct weft_index *t = new_table(3, NULL, NULL);
	struct owner o[4];

	memset(o, 0, sizeof(o));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(weft_index_insert(t, &o[i].entry, WEFT_INDEX_SESSION), 0);
		assert_int_not_equal(o[i].entry.index, 0);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(o[i].entry.index, o[j].entry.index);
	}
	assert_int_equal(weft_index_insert(t, &o[3].entry, WEFT_INDEX_SESSION), -ENOSPC);
	assert_int_equal(o[3].entry.index, 0);
	assert_int_equal(weft_index_count(t), 3);
	/* Room again once one leaves. */
	weft_index_remove(t, &o[1].entry);
	assert_int_equal(weft_index_insert(t, &o[3].entry, WEFT_INDEX_SESSION), 0);
	assert_ptr_equal(weft_index_lookup(t, o[3].entry.index, WEFT_INDEX_SESSION), &o[3].entry);
	weft_index_free(t);
}

static void test_broken_random(void **state)
{
	uint32_t value = 42;
	struct weft_index *t = new_table(8, constant_random, &value);
	struct owner a, b;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(weft_index_insert(t, &a.entry, WEFT_INDEX_INITIATION), 0);
	assert_int_equal(a.entry.index, 42);
	/* Every draw collides. */
	assert_int_equal(weft_index_insert(t, &b.entry, WEFT_INDEX_INITIATION), -EAGAIN);
	assert_int_equal(b.entry.index, 0);
	/* Every draw is 0, which is never handed out. */
	value = 0;
	assert_int_equal(weft_index_insert(t, &b.entry, WEFT_INDEX_INITIATION), -EAGAIN);
	assert_int_equal(b.entry.index, 0);
	assert_int_equal(weft_index_count(t), 1);
	assert_null(weft_index_lookup(t, 0, ALL_TYPES));
	weft_index_free(t);
}

static void test_double_insert(void **state)
{
	struct weft_index *t = new_table(8, NULL, NULL), *t2 = new_table(8, NULL, NULL);
	struct owner a;
	uint32_t idx;

	memset(&a, 0, sizeof(a));
	assert_int_equal(weft_index_insert(t, &a.entry, WEFT_INDEX_INITIATION), 0);
	idx = a.entry.index;
	assert_int_equal(weft_index_insert(t, &a.entry, WEFT_INDEX_SESSION), -EBUSY);
	assert_int_equal(weft_index_insert(t2, &a.entry, WEFT_INDEX_SESSION), -EBUSY);
	assert_int_equal(a.entry.index, idx);
	assert_int_equal(a.entry.type, WEFT_INDEX_INITIATION);
	assert_int_equal(weft_index_count(t), 1);
	assert_int_equal(weft_index_count(t2), 0);
	assert_ptr_equal(weft_index_lookup(t, idx, WEFT_INDEX_INITIATION), &a.entry);
	/* Once removed it may go in again. */
	weft_index_remove(t, &a.entry);
	assert_int_equal(weft_index_insert(t2, &a.entry, WEFT_INDEX_SESSION), 0);
	weft_index_free(t);
	weft_index_free(t2);
}

/* Heavy churn with indices drawn from a small range (0 included), so probe
 * runs collide and wrap around the table: after every insert and removal
 * (including removals of stale entries and hand-overs) each live entry is
 * found under its index, and nothing else is. */
static uint32_t small_random(void *ctx)
{
	return (uint32_t)(rng() % 300);
}

static void test_churn(void **state)
{
	enum { MAX = 100, OPS = 30000 };
	struct weft_index *t = new_table(MAX, small_random, NULL);
	static struct owner pool[2 * MAX];
	struct owner *live[MAX];
	size_t n = 0;
	unsigned inserted = 0, removed = 0, replaced = 0;

	memset(pool, 0, sizeof(pool));
	for (int op = 0; op < OPS; op++) {
		uint64_t dice = rng() % 8;

		if (n < MAX && (n == 0 || dice < 4)) {
			struct owner *o = NULL;
			int r;

			for (size_t i = 0; i < WEFT_ARRAY_SIZE(pool) && !o; i++)
				if (pool[i].entry.index == 0)
					o = &pool[i];
			assert_non_null(o);
			r = weft_index_insert(t, &o->entry, WEFT_INDEX_RESPONSE);
			if (r == -EAGAIN)
				continue; /* plausible with only 300 values */
			assert_int_equal(r, 0);
			assert_int_not_equal(o->entry.index, 0);
			for (size_t i = 0; i < n; i++)
				assert_int_not_equal(live[i]->entry.index, o->entry.index);
			live[n++] = o;
			inserted++;
		} else if (dice == 4) {
			/* Hand a live index over to a free entry; a stale copy of
			 * the old one is removed to no effect. */
			size_t victim = rng() % n;
			struct owner *to = NULL;
			struct weft_index_entry stale = live[victim]->entry;

			for (size_t i = 0; i < WEFT_ARRAY_SIZE(pool) && !to; i++)
				if (pool[i].entry.index == 0)
					to = &pool[i];
			assert_non_null(to);
			assert_int_equal(weft_index_replace(t, &live[victim]->entry, &to->entry,
							    WEFT_INDEX_SESSION),
					 0);
			weft_index_remove(t, &stale);
			live[victim] = to;
			replaced++;
		} else {
			size_t victim = rng() % n;
			uint32_t idx = live[victim]->entry.index;

			weft_index_remove(t, &live[victim]->entry);
			assert_int_equal(live[victim]->entry.index, 0);
			assert_null(weft_index_lookup(t, idx, ALL_TYPES));
			live[victim] = live[--n];
			removed++;
		}
		assert_int_equal(weft_index_count(t), n);
		for (size_t i = 0; i < n; i++)
			assert_ptr_equal(weft_index_lookup(t, live[i]->entry.index, ALL_TYPES),
					 &live[i]->entry);
	}
	/* Every value of the range: mapped exactly when live. */
	for (uint32_t v = 0; v < 300; v++) {
		struct weft_index_entry *e = weft_index_lookup(t, v, ALL_TYPES);
		bool is_live = false;

		for (size_t i = 0; i < n; i++)
			is_live |= live[i]->entry.index == v;
		assert_int_equal(e != NULL, is_live);
	}
	assert_true(inserted > 5000 && removed > 5000 && replaced > 1000);
	weft_index_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_and_free),
	    cmocka_unit_test(test_insert_lookup_by_type),
	    cmocka_unit_test(test_replace),
	    cmocka_unit_test(test_remove_only_own),
	    cmocka_unit_test(test_full),
	    cmocka_unit_test(test_broken_random),
	    cmocka_unit_test(test_double_insert),
	    cmocka_unit_test(test_churn),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
