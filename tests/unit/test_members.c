/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/gossip.h"
#include "common/members.h"

#define T0 1000000 /* an arbitrary time, in ms */
#define ID WEFT_GOSSIP_ID_LEN

/* Keys whose id is 8 times the byte @b: KEY(0x10) sorts before KEY(0x20). */
static uint8_t keys[256][WEFT_KEY_LEN];
#define KEY(b) (keys[(b)])
#define OWN    KEY(0x80)

static int setup_keys(void **state)
{
	for (int b = 0; b < 256; b++)
		for (int i = 0; i < WEFT_KEY_LEN; i++)
			keys[b][i] = i < ID ? (uint8_t)b : (uint8_t)(b ^ i);
	return 0;
}

/* An entry and the storage its links point to. */
struct ent {
	struct weft_gossip_entry e;
	uint8_t links[WEFT_GOSSIP_MAX_LINKS][ID];
};

/* @n_links keys (const uint8_t *) follow. */
static void mk(struct ent *x, const uint8_t *key, uint64_t seq, const char *nick, unsigned n_links,
	       ...)
{
	va_list ap;

	memset(x, 0, sizeof(*x));
	x->e.key = key;
	x->e.seq = seq;
	strcpy(x->e.nickname, nick);
	va_start(ap, n_links);
	for (unsigned i = 0; i < n_links; i++)
		memcpy(x->links[i], va_arg(ap, const uint8_t *), ID);
	va_end(ap);
	x->e.n_links = n_links;
	x->e.links = x->links[0];
}

static void add_v4(struct ent *x, const char *ip, uint16_t port)
{
	union weft_sockaddr *a = &x->e.addrs[x->e.n_addrs++];

	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &a->in4.sin_addr), 1);
}

static struct weft_members *table(unsigned max)
{
	struct weft_members *m = NULL;

	assert_int_equal(weft_members_new(&m, OWN, "me", max, NULL, NULL), 0);
	assert_non_null(m);
	return m;
}

/* Our own links: @n keys follow. */
static bool own_links(struct weft_members *m, uint64_t now, unsigned n, ...)
{
	uint8_t links[16][ID];
	va_list ap;

	va_start(ap, n);
	for (unsigned i = 0; i < n; i++)
		memcpy(links[i], va_arg(ap, const uint8_t *), ID);
	va_end(ap);
	return weft_members_set_own(m, NULL, 0, (const uint8_t(*)[ID])links, n, now);
}

/* Merges an entry about @key listing @n keys, from @key itself. */
static enum weft_members_merge put(struct weft_members *m, const uint8_t *key, unsigned n, ...)
{
	static struct ent x;
	va_list ap;

	memset(&x, 0, sizeof(x));
	x.e.key = key;
	x.e.seq = 1;
	strcpy(x.e.nickname, "n");
	va_start(ap, n);
	for (unsigned i = 0; i < n; i++)
		memcpy(x.links[i], va_arg(ap, const uint8_t *), ID);
	va_end(ap);
	x.e.n_links = n;
	x.e.links = x.links[0];
	return weft_members_merge(m, &x.e, key, T0);
}

static const struct weft_member *get(struct weft_members *m, const uint8_t *key)
{
	const struct weft_member *mem = weft_members_find(m, key);

	assert_non_null(mem);
	return mem;
}

/* ---- merge ------------------------------------------------------------------------ */

static void test_merge_outcomes(void **state)
{
	struct weft_members *m = table(8);
	static struct ent x;
	const struct weft_member *mem;
	const uint8_t *p = KEY(0x10), *a = KEY(0x20);

	/* new, from a peer relaying it */
	mk(&x, a, 5, "alpha", 2, KEY(0x30), KEY(0x31));
	add_v4(&x, "192.0.2.1", 6783);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0), WEFT_MEMBERS_NEW);
	assert_int_equal(weft_members_count(m), 1);
	mem = get(m, a);
	assert_true(mem->seq == 5);
	assert_string_equal(mem->nickname, "alpha");
	assert_int_equal(mem->n_addrs, 1);
	assert_true(weft_sockaddr_equal(&mem->addrs[0], &x.e.addrs[0]));
	assert_int_equal(mem->n_links, 2);
	assert_memory_equal(mem->links[0], KEY(0x30), ID);
	assert_memory_equal(mem->links[1], KEY(0x31), ID);
	assert_true(mem->changed_ms == T0);
	assert_false(mem->reachable);
	assert_ptr_equal(weft_members_find_id(m, a), mem);
	assert_ptr_equal(weft_members_at(m, 0), mem);
	assert_null(weft_members_at(m, 1));
	assert_null(weft_members_find(m, p));
	assert_null(weft_members_find(m, OWN));

	/* the same again: unchanged, and still so with its links in another order */
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 1), WEFT_MEMBERS_UNCHANGED);
	mk(&x, a, 5, "alpha", 3, KEY(0x31), KEY(0x30), KEY(0x31));
	add_v4(&x, "192.0.2.1", 6783);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 1), WEFT_MEMBERS_UNCHANGED);
	assert_true(get(m, a)->changed_ms == T0);

	/* the same seq, other contents: each field */
	mk(&x, a, 5, "alphb", 2, KEY(0x30), KEY(0x31));
	add_v4(&x, "192.0.2.1", 6783);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 2), WEFT_MEMBERS_CONFLICT);
	mk(&x, a, 5, "alpha", 2, KEY(0x30), KEY(0x31));
	add_v4(&x, "192.0.2.1", 6784);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 2), WEFT_MEMBERS_CONFLICT);
	mk(&x, a, 5, "alpha", 2, KEY(0x30), KEY(0x31));
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 2), WEFT_MEMBERS_CONFLICT);
	mk(&x, a, 5, "alpha", 1, KEY(0x30));
	add_v4(&x, "192.0.2.1", 6783);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 2), WEFT_MEMBERS_CONFLICT);
	mem = get(m, a);
	assert_string_equal(mem->nickname, "alpha");
	assert_int_equal(mem->n_links, 2);
	assert_int_equal(mem->n_addrs, 1);
	assert_true(mem->changed_ms == T0);

	/* older: stale */
	mk(&x, a, 4, "old", 0);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 3), WEFT_MEMBERS_STALE);
	assert_true(get(m, a)->seq == 5);
	assert_string_equal(get(m, a)->nickname, "alpha");

	/* newer: replaces everything */
	mk(&x, a, 6, "beta", 1, KEY(0x32));
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 4), WEFT_MEMBERS_UPDATED);
	mem = get(m, a);
	assert_true(mem->seq == 6);
	assert_string_equal(mem->nickname, "beta");
	assert_int_equal(mem->n_addrs, 0);
	assert_int_equal(mem->n_links, 1);
	assert_memory_equal(mem->links[0], KEY(0x32), ID);
	assert_true(mem->changed_ms == T0 + 4);
	/* a newer seq with the same contents is an update too */
	mk(&x, a, 7, "beta", 1, KEY(0x32));
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 5), WEFT_MEMBERS_UPDATED);
	assert_true(get(m, a)->seq == 7);
	/* no links at all, then many (the links array grows and shrinks) */
	mk(&x, a, 8, "beta", 0);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 6), WEFT_MEMBERS_UPDATED);
	assert_int_equal(get(m, a)->n_links, 0);
	mk(&x, a, 9, "beta", 0);
	for (int i = 0; i < 100; i++)
		memcpy(x.links[i], KEY(0x40 + i), ID);
	x.e.n_links = 100;
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 7), WEFT_MEMBERS_UPDATED);
	assert_int_equal(get(m, a)->n_links, 100);
	assert_memory_equal(get(m, a)->links[99], KEY(0x40 + 99), ID);
	assert_int_equal(weft_members_merge(m, &x.e, p, T0 + 8), WEFT_MEMBERS_UNCHANGED);
	weft_members_free(m);
}

/* An entry the sender writes about itself replaces the stored one whatever
 * the seqs: it may have restarted and forgotten its seq. */
static void test_merge_from_itself(void **state)
{
	struct weft_members *m = table(8);
	static struct ent x;
	const uint8_t *a = KEY(0x20);

	mk(&x, a, 50, "alpha", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0), WEFT_MEMBERS_NEW);
	/* lower seq from a relay: stale; from itself: replaces */
	mk(&x, a, 1, "restarted", 1, KEY(0x10));
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0 + 1), WEFT_MEMBERS_STALE);
	assert_int_equal(weft_members_merge(m, &x.e, a, T0 + 2), WEFT_MEMBERS_UPDATED);
	assert_true(get(m, a)->seq == 1);
	assert_string_equal(get(m, a)->nickname, "restarted");
	assert_true(get(m, a)->changed_ms == T0 + 2);
	/* the same from itself: unchanged; same seq, other contents: replaces */
	assert_int_equal(weft_members_merge(m, &x.e, a, T0 + 3), WEFT_MEMBERS_UNCHANGED);
	mk(&x, a, 1, "again", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0 + 4), WEFT_MEMBERS_CONFLICT);
	assert_int_equal(weft_members_merge(m, &x.e, a, T0 + 4), WEFT_MEMBERS_UPDATED);
	assert_string_equal(get(m, a)->nickname, "again");
	/* new from itself */
	mk(&x, KEY(0x21), 3, "b", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x21), T0), WEFT_MEMBERS_NEW);
	assert_int_equal(weft_members_count(m), 2);
	weft_members_free(m);
}

static void test_merge_own(void **state)
{
	struct weft_members *m = table(8);
	struct weft_gossip_entry own;
	static struct ent x;

	weft_members_own(m, &own);
	assert_true(own.seq == 1);
	assert_string_equal(own.nickname, "me");
	assert_memory_equal(own.key, OWN, WEFT_KEY_LEN);
	/* equal to ours: we go past it */
	mk(&x, OWN, 1, "impostor", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0), WEFT_MEMBERS_OWN);
	weft_members_own(m, &own);
	assert_true(own.seq == 2);
	assert_string_equal(own.nickname, "me"); /* nothing else changes */
	/* our own entry handed back as we sent it: no news, no bump (two
	 * members passing entries on would otherwise outbid each other for
	 * ever) */
	mk(&x, OWN, 2, "me", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0 + 1), WEFT_MEMBERS_OWN_OLD);
	weft_members_own(m, &own);
	assert_true(own.seq == 2);
	/* older: ignored */
	mk(&x, OWN, 1, "me", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0 + 1), WEFT_MEMBERS_OWN_OLD);
	weft_members_own(m, &own);
	assert_true(own.seq == 2);
	/* far ahead (we restarted): we go past it, even from ourselves */
	mk(&x, OWN, 1000, "me", 0);
	assert_int_equal(weft_members_merge(m, &x.e, OWN, T0 + 2), WEFT_MEMBERS_OWN);
	weft_members_own(m, &own);
	assert_true(own.seq == 1001);
	assert_int_equal(weft_members_count(m), 0);
	/* our entry changed: encoded with changed_since */
	uint8_t buf[256];
	unsigned cursor = 0;
	size_t len = weft_members_encode(m, buf, sizeof(buf), &cursor, T0 + 2);
	assert_int_equal(weft_gossip_check(buf, len), 1);
	/* at the top (the codec refuses anything above), stay there */
	mk(&x, OWN, WEFT_GOSSIP_SEQ_MAX, "me", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0 + 3), WEFT_MEMBERS_OWN);
	weft_members_own(m, &own);
	assert_true(own.seq == WEFT_GOSSIP_SEQ_MAX);
	weft_members_free(m);
}

struct policy {
	unsigned calls;
	const uint8_t *refuse_key;
};

static bool policy(void *ctx, const uint8_t key[static WEFT_KEY_LEN], const char *nickname)
{
	struct policy *p = ctx;

	p->calls++;
	if (strcmp(nickname, "evil") == 0)
		return false;
	return !p->refuse_key || memcmp(key, p->refuse_key, WEFT_KEY_LEN) != 0;
}

static void test_merge_policy(void **state)
{
	struct policy pol = {0};
	struct weft_members *m = NULL;
	static struct ent x;

	assert_int_equal(weft_members_new(&m, OWN, "me", 8, policy, &pol), 0);
	mk(&x, KEY(0x20), 1, "evil", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_REFUSED);
	assert_int_equal(pol.calls, 1);
	assert_int_equal(weft_members_count(m), 0);
	mk(&x, KEY(0x20), 1, "good", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_NEW);
	/* an update to a nickname policy refuses: refused, the stored entry stays */
	mk(&x, KEY(0x20), 2, "evil", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_REFUSED);
	assert_string_equal(get(m, KEY(0x20))->nickname, "good");
	assert_true(get(m, KEY(0x20))->seq == 1);
	/* by key */
	pol.refuse_key = KEY(0x21);
	mk(&x, KEY(0x21), 1, "fine", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0), WEFT_MEMBERS_REFUSED);
	assert_null(weft_members_find(m, KEY(0x21)));
	/* our own entry is never put to the policy */
	pol.calls = 0;
	mk(&x, OWN, 5, "evil", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0), WEFT_MEMBERS_OWN);
	assert_int_equal(pol.calls, 0);
	weft_members_free(m);
}

static void test_merge_id_collision(void **state)
{
	struct weft_members *m = table(8);
	static struct ent x;
	uint8_t twin[WEFT_KEY_LEN], own_twin[WEFT_KEY_LEN];

	memcpy(twin, KEY(0x20), WEFT_KEY_LEN);
	twin[WEFT_KEY_LEN - 1] ^= 1;
	memcpy(own_twin, OWN, WEFT_KEY_LEN);
	own_twin[ID] ^= 0x80;
	mk(&x, KEY(0x20), 1, "a", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_NEW);
	/* another key with a's id: refused, even from itself and with a higher seq */
	mk(&x, twin, 9, "twin", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0), WEFT_MEMBERS_REFUSED);
	assert_int_equal(weft_members_merge(m, &x.e, twin, T0), WEFT_MEMBERS_REFUSED);
	assert_null(weft_members_find(m, twin));
	assert_ptr_equal(weft_members_find_id(m, twin), get(m, KEY(0x20)));
	assert_true(get(m, KEY(0x20))->seq == 1);
	/* another key with our id */
	mk(&x, own_twin, 9, "twin", 0);
	assert_int_equal(weft_members_merge(m, &x.e, own_twin, T0), WEFT_MEMBERS_REFUSED);
	assert_int_equal(weft_members_count(m), 1);
	weft_members_free(m);
}

static void test_merge_full(void **state)
{
	struct weft_members *m = table(2);
	static struct ent x;

	assert_int_equal(put(m, KEY(0x30), 0), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, KEY(0x10), 0), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, KEY(0x20), 0), WEFT_MEMBERS_FULL);
	assert_int_equal(weft_members_count(m), 2);
	assert_null(weft_members_find(m, KEY(0x20)));
	/* known members still update */
	mk(&x, KEY(0x30), 2, "n", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0), WEFT_MEMBERS_UPDATED);
	/* stored in id order */
	assert_memory_equal(weft_members_at(m, 0)->key, KEY(0x10), WEFT_KEY_LEN);
	assert_memory_equal(weft_members_at(m, 1)->key, KEY(0x30), WEFT_KEY_LEN);
	weft_members_free(m);

	/* no room at all */
	m = table(0);
	assert_int_equal(put(m, KEY(0x30), 0), WEFT_MEMBERS_FULL);
	weft_members_free(m);
}

/* A removed member is gone at once, its slot free, the order kept; a key
 * not stored (or our own) is no removal. */
static void test_remove(void **state)
{
	struct weft_members *m = table(3);

	assert_int_equal(put(m, KEY(0x30), 0), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, KEY(0x10), 0), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, KEY(0x20), 0), WEFT_MEMBERS_NEW);
	assert_true(weft_members_remove(m, KEY(0x20)));
	assert_false(weft_members_remove(m, KEY(0x20)));
	assert_false(weft_members_remove(m, KEY(0x40)));
	assert_false(weft_members_remove(m, OWN));
	assert_int_equal(weft_members_count(m), 2);
	assert_null(weft_members_find(m, KEY(0x20)));
	assert_memory_equal(weft_members_at(m, 0)->key, KEY(0x10), WEFT_KEY_LEN);
	assert_memory_equal(weft_members_at(m, 1)->key, KEY(0x30), WEFT_KEY_LEN);
	assert_true(weft_members_remove(m, KEY(0x10)));
	assert_true(weft_members_remove(m, KEY(0x30)));
	assert_int_equal(weft_members_count(m), 0);
	/* and the room is there again */
	assert_int_equal(put(m, KEY(0x20), 0), WEFT_MEMBERS_NEW);
	weft_members_free(m);
}

static void test_merge_insane(void **state)
{
	struct weft_members *m = table(4);
	static struct ent x;

	mk(&x, KEY(0x20), 1, "a", 0);
	x.e.n_links = WEFT_GOSSIP_MAX_LINKS + 1;
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_REFUSED);
	mk(&x, KEY(0x20), 1, "a", 0);
	x.e.n_addrs = WEFT_GOSSIP_MAX_ADDRS + 1;
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_REFUSED);
	mk(&x, KEY(0x20), 1, "a b", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_REFUSED);
	assert_int_equal(weft_members_count(m), 0);
	weft_members_free(m);
}

static void test_new_args(void **state)
{
	struct weft_members *m = (void *)1;

	assert_int_equal(weft_members_new(&m, OWN, "", 4, NULL, NULL), -EINVAL);
	assert_null(m);
	assert_int_equal(weft_members_new(&m, OWN, "a b", 4, NULL, NULL), -EINVAL);
	assert_int_equal(
	    weft_members_new(&m, OWN, "123456789012345678901234567890123", 4, NULL, NULL), -EINVAL);
	assert_int_equal(weft_members_new(&m, OWN, "me", WEFT_GOSSIP_MAX_LINKS + 1, NULL, NULL),
			 -EINVAL);
	assert_int_equal(weft_members_new(&m, OWN, "12345678901234567890123456789012",
					  WEFT_GOSSIP_MAX_LINKS, NULL, NULL),
			 0);
	weft_members_free(m);
	weft_members_free(NULL);
}

/* ---- our own entry -------------------------------------------------------------- */

static void test_set_own(void **state)
{
	struct weft_members *m = table(4);
	struct weft_gossip_entry own;
	union weft_sockaddr addrs[3];
	uint8_t links[4][ID];

	memset(addrs, 0, sizeof(addrs));
	addrs[0].in4.sin_family = AF_INET;
	addrs[0].in4.sin_port = htons(6783);
	addrs[0].in4.sin_addr.s_addr = htonl(0xc0000201);
	addrs[1].in6.sin6_family = AF_INET6;
	addrs[1].in6.sin6_port = htons(6783);
	addrs[1].in6.sin6_addr.s6_addr[0] = 0xfe;
	addrs[1].in6.sin6_addr.s6_addr[1] = 0x80;
	addrs[1].in6.sin6_scope_id = 3;
	addrs[2].in4.sin_family = AF_INET; /* port 0: not sent */
	memcpy(links[0], KEY(0x30), ID);
	memcpy(links[1], KEY(0x10), ID);
	memcpy(links[2], OWN, ID); /* ourselves: not a link */
	memcpy(links[3], KEY(0x30), ID);

	assert_true(weft_members_set_own(m, addrs, 3, (const uint8_t(*)[ID])links, 4, T0));
	weft_members_own(m, &own);
	assert_true(own.seq == 2);
	assert_int_equal(own.n_addrs, 2);
	assert_int_equal(own.addrs[1].in6.sin6_scope_id, 0);
	assert_int_equal(own.n_links, 2);
	assert_memory_equal(own.links, KEY(0x10), ID);
	assert_memory_equal(own.links + ID, KEY(0x30), ID);
	/* the same, the same set in another order, without the unsendable address: no bump */
	assert_false(weft_members_set_own(m, addrs, 3, (const uint8_t(*)[ID])links, 4, T0 + 1));
	assert_false(weft_members_set_own(m, addrs, 2, (const uint8_t(*)[ID])links, 2, T0 + 1));
	weft_members_own(m, &own);
	assert_true(own.seq == 2);
	/* the addresses gone */
	assert_true(own_links(m, T0 + 1, 2, KEY(0x10), KEY(0x30)));
	weft_members_own(m, &own);
	assert_true(own.seq == 3);
	assert_int_equal(own.n_addrs, 0);
	assert_false(own_links(m, T0 + 2, 3, KEY(0x30), KEY(0x10), KEY(0x10)));
	weft_members_own(m, &own);
	assert_true(own.seq == 3);
	/* a link less, a link more, none */
	assert_true(own_links(m, T0 + 3, 1, KEY(0x10)));
	assert_true(own_links(m, T0 + 4, 2, KEY(0x10), KEY(0x11)));
	assert_true(own_links(m, T0 + 5, 0));
	assert_false(own_links(m, T0 + 6, 0));
	weft_members_own(m, &own);
	assert_true(own.seq == 6);
	assert_int_equal(own.n_links, 0);
	/* an address changes */
	assert_true(weft_members_set_own(m, addrs, 1, NULL, 0, T0 + 7));
	addrs[0].in4.sin_port = htons(6784);
	assert_true(weft_members_set_own(m, addrs, 1, NULL, 0, T0 + 8));
	assert_false(weft_members_set_own(m, addrs, 1, NULL, 0, T0 + 9));
	weft_members_own(m, &own);
	assert_true(own.seq == 8);
	assert_int_equal(weft_sockaddr_port(&own.addrs[0]), 6784);
	/* our entry is valid to send */
	uint8_t buf[512];
	struct weft_gossip_writer w;
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_add(&w, &own), 0);
	weft_members_free(m);
}

/* ---- routes ----------------------------------------------------------------------- */

static void assert_route(struct weft_members *m, const uint8_t *key, unsigned hops,
			 const uint8_t *next_hop)
{
	const struct weft_member *mem = get(m, key);

	assert_true(mem->reachable);
	assert_int_equal(mem->hops, hops);
	assert_memory_equal(mem->next_hop, next_hop, ID);
	assert_true(mem->unreachable_since_ms == 0);
}

static void assert_unreachable(struct weft_members *m, const uint8_t *key, uint64_t since)
{
	const struct weft_member *mem = get(m, key);

	assert_false(mem->reachable);
	assert_true(mem->unreachable_since_ms == since);
}

/* O - B - C: C through B, two hops. */
static void test_route_line(void **state)
{
	struct weft_members *m = table(8);
	const uint8_t *b = KEY(0x20), *c = KEY(0x30);

	assert_true(own_links(m, T0, 1, b));
	assert_int_equal(put(m, b, 2, OWN, c), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, c, 1, b), WEFT_MEMBERS_NEW);
	weft_members_route(m, T0);
	assert_route(m, b, 1, b);
	assert_route(m, c, 2, b);
	/* a longer line: O - B - C - D - E */
	assert_int_equal(put(m, c, 2, b, KEY(0x40)), WEFT_MEMBERS_UPDATED);
	assert_int_equal(put(m, KEY(0x40), 2, c, KEY(0x50)), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, KEY(0x50), 1, KEY(0x40)), WEFT_MEMBERS_NEW);
	weft_members_route(m, T0);
	assert_route(m, KEY(0x40), 3, b);
	assert_route(m, KEY(0x50), 4, b);
	/* a direct session to E: one hop now */
	assert_true(own_links(m, T0, 2, b, KEY(0x50)));
	weft_members_route(m, T0);
	assert_route(m, KEY(0x50), 1, KEY(0x50));
	assert_route(m, KEY(0x40), 2, KEY(0x50));
	weft_members_free(m);
}

/* An edge counts only when both ends list each other. */
static void test_route_asymmetric(void **state)
{
	struct weft_members *m = table(8);
	const uint8_t *b = KEY(0x20), *c = KEY(0x30), *d = KEY(0x40);

	assert_true(own_links(m, T0, 1, b));
	assert_int_equal(put(m, b, 2, OWN, c), WEFT_MEMBERS_NEW); /* B lists C ... */
	assert_int_equal(put(m, c, 0), WEFT_MEMBERS_NEW);	  /* ... C does not list B */
	assert_int_equal(put(m, d, 1, b), WEFT_MEMBERS_NEW);	  /* D lists B, B not D */
	weft_members_route(m, T0);
	assert_route(m, b, 1, b);
	assert_unreachable(m, c, T0);
	assert_unreachable(m, d, T0);
	assert_true(get(m, c)->hops == 0);
	/* a member listing us without our session to it is not reached either */
	assert_int_equal(put(m, KEY(0x50), 1, OWN), WEFT_MEMBERS_NEW);
	weft_members_route(m, T0);
	assert_unreachable(m, KEY(0x50), T0);
	/* our own link needs no link back: our links are live sessions */
	assert_true(own_links(m, T0, 2, b, KEY(0x50)));
	assert_int_equal(put(m, KEY(0x50), 0), WEFT_MEMBERS_UPDATED);
	weft_members_route(m, T0 + 1);
	assert_route(m, KEY(0x50), 1, KEY(0x50));
	weft_members_free(m);
}

/* O links B and C; both reach D in two hops: the lower first-hop id wins,
 * whatever the order of our links. */
static void test_route_tie(void **state)
{
	for (int flip = 0; flip < 2; flip++) {
		struct weft_members *m = table(8);
		const uint8_t *b = KEY(flip ? 0x12 : 0x22), *c = KEY(flip ? 0x22 : 0x12);
		const uint8_t *d = KEY(0x05), *e = KEY(0x60);
		const uint8_t *low = memcmp(b, c, ID) < 0 ? b : c;

		assert_true(own_links(m, T0, 2, b, c));
		assert_int_equal(put(m, b, 2, OWN, d), WEFT_MEMBERS_NEW);
		assert_int_equal(put(m, c, 2, d, OWN), WEFT_MEMBERS_NEW);
		assert_int_equal(put(m, d, 3, c, b, e), WEFT_MEMBERS_NEW);
		assert_int_equal(put(m, e, 1, d), WEFT_MEMBERS_NEW);
		weft_members_route(m, T0);
		assert_route(m, b, 1, b);
		assert_route(m, c, 1, c);
		assert_route(m, d, 2, low);
		assert_route(m, e, 3, low);
		/* the edge to the lower one gone (it no longer lists D): the other */
		assert_int_equal(put(m, low, 1, OWN), WEFT_MEMBERS_UPDATED);
		weft_members_route(m, T0);
		assert_route(m, d, 2, low == b ? c : b);
		assert_route(m, e, 3, low == b ? c : b);
		weft_members_free(m);
	}
}

/* A shorter path through a higher first hop beats a longer one through a
 * lower: hops first, then the tie rule. */
static void test_route_shortest_first(void **state)
{
	struct weft_members *m = table(8);
	const uint8_t *lo = KEY(0x01), *hi = KEY(0x70), *x = KEY(0x30), *t = KEY(0x40);

	/* O - lo - x - t and O - hi - t */
	assert_true(own_links(m, T0, 2, lo, hi));
	assert_int_equal(put(m, lo, 2, OWN, x), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, x, 2, lo, t), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, t, 2, x, hi), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, hi, 2, t, OWN), WEFT_MEMBERS_NEW);
	weft_members_route(m, T0);
	assert_route(m, t, 2, hi);
	assert_route(m, x, 2, lo);
	weft_members_free(m);
}

static void test_route_unreachable_expiry(void **state)
{
	struct weft_members *m = table(8);
	const uint8_t *b = KEY(0x20), *c = KEY(0x30);

	assert_true(own_links(m, T0, 1, b));
	assert_int_equal(put(m, b, 2, OWN, c), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, c, 1, b), WEFT_MEMBERS_NEW);
	weft_members_route(m, T0);
	assert_route(m, c, 2, b);
	/* the session to B goes: both unreachable from now */
	assert_true(own_links(m, T0 + 10, 0));
	weft_members_route(m, T0 + 10);
	assert_unreachable(m, b, T0 + 10);
	assert_unreachable(m, c, T0 + 10);
	/* the time stays the first one seen */
	weft_members_route(m, T0 + 5000);
	assert_unreachable(m, c, T0 + 10);
	assert_int_equal(weft_members_expire(m, T0 + 10 + WEFT_MEMBERS_UNREACHABLE_MS - 1), 0);
	/* B comes back: reachable, its time cleared; C stays unreachable from
	 * T0 + 10 until B lists it again */
	assert_true(own_links(m, T0 + 20000, 1, b));
	assert_int_equal(put(m, b, 1, OWN), WEFT_MEMBERS_UPDATED);
	weft_members_route(m, T0 + 20000);
	assert_route(m, b, 1, b);
	assert_unreachable(m, c, T0 + 10);
	assert_int_equal(weft_members_expire(m, T0 + 10 + WEFT_MEMBERS_UNREACHABLE_MS - 1), 0);
	assert_int_equal(weft_members_expire(m, T0 + 10 + WEFT_MEMBERS_UNREACHABLE_MS), 1);
	assert_null(weft_members_find(m, c));
	assert_non_null(weft_members_find(m, b));
	assert_int_equal(weft_members_count(m), 1);
	/* a clock that steps back expires nobody */
	assert_true(own_links(m, T0 + 30000, 0));
	weft_members_route(m, T0 + 30000);
	assert_int_equal(weft_members_expire(m, T0), 0);
	assert_int_equal(weft_members_expire(m, T0 + 30000 + WEFT_MEMBERS_UNREACHABLE_MS), 1);
	assert_int_equal(weft_members_count(m), 0);
	weft_members_free(m);
}

/* Our session to X, whose entry we do not have: no route to it (nothing to
 * store it in) nor through it, until its entry arrives. */
static void test_route_direct_unknown(void **state)
{
	struct weft_members *m = table(8);
	const uint8_t *b = KEY(0x20), *x = KEY(0x10), *y = KEY(0x30);

	assert_true(own_links(m, T0, 2, x, b));
	assert_int_equal(put(m, b, 1, OWN), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, y, 1, x), WEFT_MEMBERS_NEW);
	weft_members_route(m, T0);
	assert_route(m, b, 1, b);
	assert_unreachable(m, y, T0);
	assert_null(weft_members_find_id(m, x));
	assert_int_equal(put(m, x, 2, OWN, y), WEFT_MEMBERS_NEW);
	weft_members_route(m, T0 + 1);
	assert_route(m, x, 1, x);
	assert_route(m, y, 2, x);
	weft_members_free(m);
}

/* ---- gossip out ------------------------------------------------------------------- */

/* Encodes everything with @cap-byte records; counts how often each key byte
 * is seen in @seen, returns the number of records. */
static unsigned encode_all(struct weft_members *m, size_t cap, uint64_t changed_since,
			   unsigned seen[256])
{
	uint8_t buf[4096];
	unsigned cursor = 0, records = 0;
	size_t len;

	assert_true(cap <= sizeof(buf));
	memset(seen, 0, 256 * sizeof(seen[0]));
	assert_false(weft_members_encode_done(m, cursor));
	while ((len = weft_members_encode(m, buf, cap, &cursor, changed_since)) > 0) {
		struct weft_gossip_reader r;
		struct weft_gossip_entry e;

		assert_true(len <= cap);
		assert_true(weft_gossip_check(buf, len) > 0);
		weft_gossip_reader_init(&r, buf, len);
		while (weft_gossip_reader_next(&r, &e))
			seen[e.key[0]]++;
		records++;
		assert_true(records < 100);
	}
	assert_true(weft_members_encode_done(m, cursor));
	assert_int_equal(weft_members_encode(m, buf, cap, &cursor, changed_since), 0);
	return records;
}

static void test_encode_cursor(void **state)
{
	struct weft_members *m = table(16);
	unsigned seen[256];
	size_t one = WEFT_GOSSIP_ENTRY_MIN_LEN + 1; /* an entry "n" with no links */

	for (int i = 0; i < 7; i++)
		assert_int_equal(put(m, KEY(0x10 + i), 0), WEFT_MEMBERS_NEW);
	/* two entries a record (our own "me" is one byte longer, room for it) */
	assert_int_equal(encode_all(m, 2 + 2 * one + 1, 0, seen), 4);
	assert_int_equal(seen[0x80], 1);
	for (int i = 0; i < 7; i++)
		assert_int_equal(seen[0x10 + i], 1);
	/* one a record; all in one */
	assert_int_equal(encode_all(m, 2 + one + 1, 0, seen), 8);
	for (int i = 0; i < 7; i++)
		assert_int_equal(seen[0x10 + i], 1);
	assert_int_equal(encode_all(m, 4096, 0, seen), 1);
	assert_int_equal(seen[0x80], 1);
	/* our own entry first, the others in id order */
	uint8_t buf[512];
	unsigned cursor = 0;
	struct weft_gossip_reader r;
	struct weft_gossip_entry e;
	size_t len = weft_members_encode(m, buf, sizeof(buf), &cursor, 0);
	weft_gossip_reader_init(&r, buf, len);
	assert_true(weft_gossip_reader_next(&r, &e));
	assert_memory_equal(e.key, OWN, WEFT_KEY_LEN);
	for (int i = 0; i < 7; i++) {
		assert_true(weft_gossip_reader_next(&r, &e));
		assert_memory_equal(e.key, KEY(0x10 + i), WEFT_KEY_LEN);
	}
	weft_members_free(m);
}

/* More than 255 entries: a record holds 255. */
static void test_encode_many(void **state)
{
	struct weft_members *m = table(WEFT_GOSSIP_MAX_LINKS);
	static uint8_t many[300][WEFT_KEY_LEN];
	static uint8_t buf[65536];
	unsigned cursor = 0, total = 0;
	size_t len;

	for (int i = 0; i < 300; i++) {
		static struct ent x;

		memset(many[i], 0, WEFT_KEY_LEN);
		many[i][0] = (uint8_t)(i >> 8);
		many[i][1] = (uint8_t)i;
		mk(&x, many[i], 1, "n", 0);
		assert_int_equal(weft_members_merge(m, &x.e, many[i], T0), WEFT_MEMBERS_NEW);
	}
	while ((len = weft_members_encode(m, buf, sizeof(buf), &cursor, 0)) > 0) {
		int n = weft_gossip_check(buf, len);

		assert_true(n > 0);
		total += (unsigned)n;
	}
	assert_int_equal(total, 301);
	weft_members_free(m);
}

static void test_encode_changed_since(void **state)
{
	struct weft_members *m = table(8);
	static struct ent x;
	unsigned seen[256];

	mk(&x, KEY(0x10), 1, "a", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0), WEFT_MEMBERS_NEW);
	mk(&x, KEY(0x20), 1, "b", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0 + 100), WEFT_MEMBERS_NEW);
	mk(&x, KEY(0x30), 1, "c", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x30), T0 + 200), WEFT_MEMBERS_NEW);
	/* ours unchanged since creation: not written */
	assert_int_equal(encode_all(m, 1400, T0 + 100, seen), 1);
	assert_int_equal(seen[0x80], 0);
	assert_int_equal(seen[0x10], 0);
	assert_int_equal(seen[0x20], 1);
	assert_int_equal(seen[0x30], 1);
	/* an unchanged merge does not count as a change; an update does */
	mk(&x, KEY(0x10), 1, "a", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0 + 300), WEFT_MEMBERS_UNCHANGED);
	assert_int_equal(encode_all(m, 1400, T0 + 300, seen), 0);
	mk(&x, KEY(0x10), 2, "a", 0);
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x10), T0 + 400), WEFT_MEMBERS_UPDATED);
	assert_true(own_links(m, T0 + 500, 1, KEY(0x10)));
	assert_int_equal(encode_all(m, 1400, T0 + 400, seen), 1);
	assert_int_equal(seen[0x80], 1);
	assert_int_equal(seen[0x10], 1);
	assert_int_equal(seen[0x20] + seen[0x30], 0);
	assert_int_equal(encode_all(m, 1400, T0 + 501, seen), 0);
	/* 0: everything */
	assert_int_equal(encode_all(m, 1400, 0, seen), 1);
	assert_int_equal(seen[0x80] + seen[0x10] + seen[0x20] + seen[0x30], 4);
	weft_members_free(m);
}

/* An entry with more links than fit a record goes with those that fit, in a
 * record of its own; nothing is dropped. */
static void test_encode_oversized(void **state)
{
	struct weft_members *m = table(8);
	static struct ent x;
	unsigned seen[256], cursor = 0;
	uint8_t buf[512];
	size_t len, cap;
	struct weft_gossip_reader r;
	struct weft_gossip_entry e;

	assert_int_equal(put(m, KEY(0x10), 0), WEFT_MEMBERS_NEW);
	mk(&x, KEY(0x20), 1, "big", 0);
	for (int i = 0; i < 100; i++)
		memcpy(x.links[i], KEY(0x40 + i), ID);
	x.e.n_links = 100;
	assert_int_equal(weft_members_merge(m, &x.e, KEY(0x20), T0), WEFT_MEMBERS_NEW);
	assert_int_equal(put(m, KEY(0x30), 0), WEFT_MEMBERS_NEW);
	/* room for the big one with 10 links (and 7 spare bytes) */
	cap = 2 + WEFT_GOSSIP_ENTRY_MIN_LEN + 3 + 10 * ID + 7;
	assert_int_equal(encode_all(m, cap, 0, seen), 3);
	assert_int_equal(seen[0x80] + seen[0x10] + seen[0x20] + seen[0x30], 4);
	/* records: [own, 0x10], [big with 10 links], [0x30] */
	len = weft_members_encode(m, buf, cap, &cursor, 0);
	assert_int_equal(weft_gossip_check(buf, len), 2);
	len = weft_members_encode(m, buf, cap, &cursor, 0);
	assert_int_equal(len, cap - 7);
	assert_int_equal(weft_gossip_check(buf, len), 1);
	weft_gossip_reader_init(&r, buf, len);
	assert_true(weft_gossip_reader_next(&r, &e));
	assert_memory_equal(e.key, KEY(0x20), WEFT_KEY_LEN);
	assert_int_equal(e.n_links, 10);
	assert_memory_equal(e.links, KEY(0x40), ID);
	len = weft_members_encode(m, buf, cap, &cursor, 0);
	assert_int_equal(weft_gossip_check(buf, len), 1);
	assert_int_equal(weft_members_encode(m, buf, cap, &cursor, 0), 0);
	assert_true(weft_members_encode_done(m, cursor));
	/* the stored entry keeps all its links */
	assert_int_equal(get(m, KEY(0x20))->n_links, 100);
	weft_members_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_merge_outcomes),
	    cmocka_unit_test(test_merge_from_itself),
	    cmocka_unit_test(test_merge_own),
	    cmocka_unit_test(test_merge_policy),
	    cmocka_unit_test(test_merge_id_collision),
	    cmocka_unit_test(test_merge_full),
	    cmocka_unit_test(test_merge_insane),
	    cmocka_unit_test(test_remove),
	    cmocka_unit_test(test_new_args),
	    cmocka_unit_test(test_set_own),
	    cmocka_unit_test(test_route_line),
	    cmocka_unit_test(test_route_asymmetric),
	    cmocka_unit_test(test_route_tie),
	    cmocka_unit_test(test_route_shortest_first),
	    cmocka_unit_test(test_route_unreachable_expiry),
	    cmocka_unit_test(test_route_direct_unknown),
	    cmocka_unit_test(test_encode_cursor),
	    cmocka_unit_test(test_encode_many),
	    cmocka_unit_test(test_encode_changed_since),
	    cmocka_unit_test(test_encode_oversized),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
