/* SPDX-License-Identifier: MIT */
/* MEMBERS records on arbitrary input, then the member table fed with them.
 * Input: one control byte, then a record body (also tried as an OBSERVED
 * body). The control byte's low nibble
 * picks the sender (the key of that entry, 15 or past the last: a key from
 * nowhere), its high nibble our own key (likewise), so the "about itself"
 * and "about us" rules are reached without guessing 32-byte keys.
 * Invariants: check() and the reader agree; an accepted body written back
 * entry by entry is byte for byte the input; merge outcomes are consistent
 * with what the table holds; routes lead through a live session; expiry
 * forgets exactly the unreachable; every encoded record passes check() and a
 * full encode covers each member exactly once. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/gossip.h"
#include "common/members.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define T0	  1000000
#define MAX_BODY  70000
#define MAX_TABLE 8

static const uint8_t nowhere_key[WEFT_KEY_LEN] = {0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee,
						  1,	2,    3,    4,	  5,	6,    7,    8};
static const uint8_t fallback_own[WEFT_KEY_LEN] = {0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd};

/* Nicknames starting with 'x' are refused. */
static bool policy(void *ctx, const uint8_t key[static WEFT_KEY_LEN], const char *nickname)
{
	(void)ctx;
	(void)key;
	return nickname[0] != 'x';
}

static const uint8_t *pick_key(const struct weft_gossip_entry *entries, int n, unsigned i,
			       const uint8_t *otherwise)
{
	return i < 15 && (int)i < n ? entries[i].key : otherwise;
}

static void check_merge(struct weft_members *m, const struct weft_gossip_entry *e,
			enum weft_members_merge r)
{
	const struct weft_member *mem = weft_members_find(m, e->key);

	switch (r) {
	case WEFT_MEMBERS_NEW:
	case WEFT_MEMBERS_UPDATED:
	case WEFT_MEMBERS_UNCHANGED:
		check(mem && mem->seq == e->seq && strcmp(mem->nickname, e->nickname) == 0);
		break;
	case WEFT_MEMBERS_STALE:
		check(mem && mem->seq > e->seq);
		break;
	case WEFT_MEMBERS_CONFLICT:
		check(mem && mem->seq == e->seq);
		break;
	case WEFT_MEMBERS_OWN: {
		struct weft_gossip_entry own;

		weft_members_own(m, &own);
		check(memcmp(own.key, e->key, WEFT_KEY_LEN) == 0);
		check(own.seq > e->seq || own.seq == WEFT_GOSSIP_SEQ_MAX);
		check(!mem);
		break;
	}
	case WEFT_MEMBERS_OWN_OLD:
		check(!mem);
		break;
	case WEFT_MEMBERS_REFUSED:
		check(!mem || e->nickname[0] == 'x');
		break;
	case WEFT_MEMBERS_FULL:
		check(!mem && weft_members_count(m) == MAX_TABLE);
		break;
	default:
		check(0);
	}
	check(weft_members_count(m) <= MAX_TABLE);
}

static void check_routes(const struct weft_members *m)
{
	struct weft_gossip_entry own;

	weft_members_own(m, &own);
	for (unsigned i = 0; i < weft_members_count(m); i++) {
		const struct weft_member *v = weft_members_at(m, i), *first;
		bool direct = false;

		check(v->unreachable_since_ms == (v->reachable ? 0 : T0));
		if (!v->reachable)
			continue;
		check(v->hops >= 1 && v->hops <= weft_members_count(m));
		first = weft_members_find_id(m, v->next_hop);
		check(first && first->reachable && first->hops == 1);
		for (unsigned k = 0; k < own.n_links; k++)
			direct |= memcmp(own.links + k * WEFT_GOSSIP_ID_LEN, first->key,
					 WEFT_GOSSIP_ID_LEN) == 0;
		check(direct);
		if (i > 0)
			check(memcmp(weft_members_at(m, i - 1)->key, v->key, WEFT_GOSSIP_ID_LEN) <
			      0);
	}
}

/* Encodes everything with @cap-byte records: each passes check(); our own
 * entry and each member's appear exactly once, in that order. */
static void check_encode(const struct weft_members *m, size_t cap)
{
	static uint8_t buf[MAX_BODY];
	unsigned cursor = 0, seen = 0;
	size_t len;

	while ((len = weft_members_encode(m, buf, cap, &cursor, 0)) > 0) {
		struct weft_gossip_reader r;
		struct weft_gossip_entry e;
		int n = weft_gossip_check(buf, len);

		check(len <= cap && n > 0);
		weft_gossip_reader_init(&r, buf, len);
		while (weft_gossip_reader_next(&r, &e)) {
			if (seen == 0) {
				struct weft_gossip_entry own;

				weft_members_own(m, &own);
				check(memcmp(e.key, own.key, WEFT_KEY_LEN) == 0);
			} else {
				check(memcmp(e.key, weft_members_at(m, seen - 1)->key,
					     WEFT_KEY_LEN) == 0);
			}
			seen++;
			n--;
		}
		check(n == 0);
		check(seen <= weft_members_count(m) + 1);
	}
	check(seen == weft_members_count(m) + 1);
	check(weft_members_encode_done(m, cursor));
}

/* The same body as an OBSERVED record: accepted only when it is exactly a
 * format byte and one address, which written again gives the same bytes. */
static void check_observed(const uint8_t *body, size_t len)
{
	uint8_t again[WEFT_OBSERVED_MAX_LEN];
	union weft_sockaddr a;
	int ret = weft_gossip_observed_parse(body, len, &a);

	check(ret == 0 || ret == -EINVAL || ret == -EPROTONOSUPPORT);
	check((ret == -EPROTONOSUPPORT) == (len >= 1 && body[0] != WEFT_OBSERVED_FORMAT));
	if (ret < 0)
		return;
	check(len == 8 || len == 20);
	check(weft_gossip_observed_encode(again, &a) == len);
	check(memcmp(again, body, len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct weft_gossip_entry entries[WEFT_GOSSIP_MAX_ENTRIES];
	static uint8_t out[MAX_BODY];
	struct weft_gossip_writer w;
	struct weft_gossip_reader r;
	struct weft_members *m;
	const uint8_t *body, *from, *own_key;
	size_t len;
	int n;

	if (size < 1 || size > MAX_BODY)
		return 0;
	body = data + 1;
	len = size - 1;
	check_observed(body, len);
	n = weft_gossip_check(body, len);
	check(n == -EINVAL || n == -EPROTONOSUPPORT || (n >= 1 && n <= 255));
	/* The reader never overruns, accepted or not. */
	weft_gossip_reader_init(&r, body, len);
	for (int i = 0; i < WEFT_GOSSIP_MAX_ENTRIES && weft_gossip_reader_next(&r, &entries[0]);
	     i++)
		check(entries[0].key >= body && entries[0].links <= body + len);
	if (n < 0)
		return 0;

	/* Read back and written again: the same bytes. */
	weft_gossip_reader_init(&r, body, len);
	weft_gossip_writer_init(&w, out, sizeof(out));
	for (int i = 0; i < n; i++) {
		check(weft_gossip_reader_next(&r, &entries[i]));
		check(weft_gossip_entry_len(&entries[i]) >= WEFT_GOSSIP_ENTRY_MIN_LEN);
		check(weft_gossip_writer_add(&w, &entries[i]) == 0);
	}
	check(!weft_gossip_reader_next(&r, &entries[0]));
	check(r.left == 0);
	check(weft_gossip_writer_finish(&w) == len && memcmp(out, body, len) == 0);

	/* The table. */
	from = pick_key(entries, n, data[0] & 15, nowhere_key);
	own_key = pick_key(entries, n, data[0] >> 4, fallback_own);
	check(weft_members_new(&m, own_key, "fuzz", MAX_TABLE, policy, NULL) == 0);
	for (int i = 0; i < n; i++)
		check_merge(m, &entries[i], weft_members_merge(m, &entries[i], from, T0));
	/* the same again: nothing is new twice */
	for (int i = 0; i < n; i++) {
		enum weft_members_merge res = weft_members_merge(m, &entries[i], from, T0);

		check(res != WEFT_MEMBERS_NEW);
		check_merge(m, &entries[i], res);
	}
	/* our sessions: the members the first entry lists */
	weft_members_set_own(m, entries[0].addrs, entries[0].n_addrs,
			     (const uint8_t(*)[WEFT_GOSSIP_ID_LEN])entries[0].links,
			     entries[0].n_links, T0);
	weft_members_route(m, T0);
	check_routes(m);
	check_encode(m, 1400);
	check_encode(m, 300); /* the largest entry without links fits: 2 + 44 + 32 + 8 * 19 */

	/* Expiry forgets exactly the unreachable. */
	unsigned before = weft_members_count(m), unreachable = 0;

	for (unsigned i = 0; i < before; i++)
		unreachable += !weft_members_at(m, i)->reachable;
	check(weft_members_expire(m, T0 + WEFT_MEMBERS_UNREACHABLE_MS - 1) == 0);
	check(weft_members_expire(m, T0 + WEFT_MEMBERS_UNREACHABLE_MS) == unreachable);
	check(weft_members_count(m) == before - unreachable);
	for (unsigned i = 0; i < weft_members_count(m); i++)
		check(weft_members_at(m, i)->reachable);
	weft_members_route(m, T0 + WEFT_MEMBERS_UNREACHABLE_MS);
	check_encode(m, 1400);
	weft_members_free(m);
	return 0;
}
