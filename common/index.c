/* SPDX-License-Identifier: MIT */
/* The receiver-index table: open addressing with linear probing, at most half
 * full, backward-shift deletion (no tombstones). Each slot keeps a copy of its
 * index next to the entry pointer, so a probe never leaves the slot array. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <stdlib.h>

#include <sodium.h>

#include "common/index.h"

#define MAX_DRAWS 64

struct slot {
	uint32_t index; /* 0: empty (0 is never handed out) */
	struct weft_index_entry *entry;
};

struct weft_index {
	unsigned bits; /* 2^bits slots */
	size_t count, max;
	uint32_t (*random)(void *ctx);
	void *random_ctx;
	struct slot slots[];
};

static uint32_t sodium_random(void *ctx)
{
	(void)ctx;
	return randombytes_random();
}

static size_t mask(const struct weft_index *t)
{
	return ((size_t)1 << t->bits) - 1;
}

/* Indices are random already, but the Fibonacci mix keeps a poor injected
 * source (or a test's sequence) from clustering. */
static size_t home(const struct weft_index *t, uint32_t index)
{
	return (uint32_t)(index * UINT32_C(0x9e3779b1)) >> (32 - t->bits);
}

int weft_index_new(struct weft_index **out, size_t max_entries, uint32_t (*random)(void *ctx),
		   void *random_ctx)
{
	struct weft_index *t;
	unsigned bits = 2;

	*out = NULL;
	if (max_entries == 0 || max_entries > (UINT32_C(1) << 30))
		return -EINVAL;
	if (!random && sodium_init() < 0)
		return -EIO;
	/* At most half full keeps linear probes short. */
	while (((size_t)1 << bits) < 2 * max_entries)
		bits++;
	t = calloc(1, sizeof(*t) + ((size_t)1 << bits) * sizeof(t->slots[0]));
	if (!t)
		return -ENOMEM;
	t->bits = bits;
	t->max = max_entries;
	t->random = random ? random : sodium_random;
	t->random_ctx = random_ctx;
	*out = t;
	return 0;
}

void weft_index_free(struct weft_index *t)
{
	free(t);
}

static struct slot *find(const struct weft_index *t, uint32_t index)
{
	if (index == 0)
		return NULL;
	/* Never full (count <= half the slots), so an empty slot ends every probe. */
	for (size_t i = home(t, index);; i = (i + 1) & mask(t)) {
		const struct slot *slot = &t->slots[i];

		if (slot->index == index)
			return (struct slot *)slot;
		if (slot->index == 0)
			return NULL;
	}
}

int weft_index_insert(struct weft_index *t, struct weft_index_entry *e, enum weft_index_type type)
{
	if (e->index != 0)
		return -EBUSY;
	if (t->count >= t->max)
		return -ENOSPC;
	for (int draw = 0; draw < MAX_DRAWS; draw++) {
		uint32_t candidate = t->random(t->random_ctx);
		size_t i;

		if (candidate == 0 || find(t, candidate))
			continue;
		for (i = home(t, candidate); t->slots[i].index != 0; i = (i + 1) & mask(t))
			;
		t->slots[i] = (struct slot){.index = candidate, .entry = e};
		t->count++;
		e->index = candidate;
		e->type = type;
		return 0;
	}
	return -EAGAIN;
}

struct weft_index_entry *weft_index_lookup(const struct weft_index *t, uint32_t index,
					   unsigned types)
{
	const struct slot *slot = find(t, index);

	if (!slot || !(slot->entry->type & types))
		return NULL;
	return slot->entry;
}

/* The slot mapping @e itself, or NULL (not mapped, or its index went on to
 * another entry). */
static struct slot *find_entry(const struct weft_index *t, const struct weft_index_entry *e)
{
	struct slot *slot = find(t, e->index);

	return slot && slot->entry == e ? slot : NULL;
}

int weft_index_replace(struct weft_index *t, struct weft_index_entry *from,
		       struct weft_index_entry *to, enum weft_index_type type)
{
	struct slot *slot = find_entry(t, from);

	if (!slot)
		return -ENOENT;
	if (to != from && to->index != 0)
		return -EBUSY;
	slot->entry = to;
	from->index = 0;
	to->index = slot->index;
	to->type = type;
	return 0;
}

/* Distance from @from forward to @to on the ring. */
static size_t ring_dist(size_t from, size_t to, size_t m)
{
	return (to - from) & m;
}

void weft_index_remove(struct weft_index *t, struct weft_index_entry *e)
{
	struct slot *slot = t ? find_entry(t, e) : NULL;
	size_t m, hole, j;

	e->index = 0;
	if (!slot)
		return;
	m = mask(t);
	hole = (size_t)(slot - t->slots);
	/* Backward-shift deletion: pull later entries of the probe run into the
	 * hole unless that would put them before their home slot. No tombstones,
	 * so lookups never slow down with churn. */
	for (j = (hole + 1) & m; t->slots[j].index != 0; j = (j + 1) & m) {
		size_t h = home(t, t->slots[j].index);

		if (ring_dist(h, j, m) >= ring_dist(hole, j, m)) {
			t->slots[hole] = t->slots[j];
			hole = j;
		}
	}
	t->slots[hole] = (struct slot){0};
	t->count--;
}

size_t weft_index_count(const struct weft_index *t)
{
	return t->count;
}
