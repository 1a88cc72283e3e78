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

/* The test vector of docs/protocol.md section 13.3 (checked against a Python
 * encoder written from the table there): one record, two entries.
 *   A: key 00..1f, seq 7, "h1", 10.0.0.1:6783 and [2001:db8::1]:6783,
 *      links [id of B = 20..27]
 *   B: key 20..3f, seq 1, "h2", no addresses, links [id of A = 00..07] */
static const uint8_t vector[136] = {
    0x01, 0x02, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
    0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
    0x1e, 0x1f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x02, 0x68, 0x31, 0x02, 0x04, 0x0a,
    0x00, 0x00, 0x01, 0x1a, 0x7f, 0x06, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x1a, 0x7f, 0x00, 0x01, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25,
    0x26, 0x27, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a, 0x2b, 0x2c, 0x2d,
    0x2e, 0x2f, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d,
    0x3e, 0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x02, 0x68, 0x32, 0x00, 0x00, 0x01,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
};
/* Where the vector's fields start: entry A, then entry B. */
#define A_OFF	  2
#define A_NICKLEN (A_OFF + 40)
#define A_NADDRS  (A_OFF + 43)
#define A_ADDR1	  (A_OFF + 44) /* family 4 */
#define A_ADDR2	  (A_OFF + 51) /* family 6 */
#define A_NLINKS  (A_OFF + 70)
#define B_OFF	  (A_OFF + 80)
#define B_NLINKS  (B_OFF + 44)

static uint8_t key_a[WEFT_KEY_LEN], key_b[WEFT_KEY_LEN];

static int setup_keys(void **state)
{
	for (int i = 0; i < WEFT_KEY_LEN; i++) {
		key_a[i] = (uint8_t)i;
		key_b[i] = (uint8_t)(0x20 + i);
	}
	return 0;
}

static void v4(union weft_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &a->in4.sin_addr), 1);
}

static void v6(union weft_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in6.sin6_family = AF_INET6;
	a->in6.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &a->in6.sin6_addr), 1);
}

static void entry_a(struct weft_gossip_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->key = key_a;
	e->seq = 7;
	strcpy(e->nickname, "h1");
	e->n_addrs = 2;
	v4(&e->addrs[0], "10.0.0.1", 6783);
	v6(&e->addrs[1], "2001:db8::1", 6783);
	e->n_links = 1;
	e->links = key_b; /* the id: its first 8 bytes */
}

static void entry_b(struct weft_gossip_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->key = key_b;
	e->seq = 1;
	strcpy(e->nickname, "h2");
	e->n_links = 1;
	e->links = key_a;
}

static void assert_entry_equal(const struct weft_gossip_entry *x, const struct weft_gossip_entry *y)
{
	assert_memory_equal(x->key, y->key, WEFT_KEY_LEN);
	assert_true(x->seq == y->seq);
	assert_string_equal(x->nickname, y->nickname);
	assert_int_equal(x->n_addrs, y->n_addrs);
	for (unsigned i = 0; i < x->n_addrs; i++)
		assert_true(weft_sockaddr_equal(&x->addrs[i], &y->addrs[i]));
	assert_int_equal(x->n_links, y->n_links);
	if (x->n_links)
		assert_memory_equal(x->links, y->links, (size_t)x->n_links * WEFT_GOSSIP_ID_LEN);
}

/* ---- the test vector ---------------------------------------------------------- */

static void test_vector_write(void **state)
{
	struct weft_gossip_writer w;
	struct weft_gossip_entry a, b;
	uint8_t buf[256];

	memset(buf, 0xee, sizeof(buf));
	entry_a(&a);
	entry_b(&b);
	assert_int_equal(weft_gossip_entry_len(&a), 80);
	assert_int_equal(weft_gossip_entry_len(&b), 54);
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_add(&w, &a), 0);
	assert_int_equal(weft_gossip_writer_add(&w, &b), 0);
	assert_int_equal(weft_gossip_writer_finish(&w), sizeof(vector));
	assert_memory_equal(buf, vector, sizeof(vector));
	assert_int_equal(buf[sizeof(vector)], 0xee);
}

static void test_vector_read(void **state)
{
	struct weft_gossip_reader r;
	struct weft_gossip_entry e, want;

	assert_int_equal(weft_gossip_check(vector, sizeof(vector)), 2);
	weft_gossip_reader_init(&r, vector, sizeof(vector));
	assert_true(weft_gossip_reader_next(&r, &e));
	entry_a(&want);
	assert_entry_equal(&e, &want);
	/* borrowed views into the body */
	assert_ptr_equal(e.key, vector + A_OFF);
	assert_ptr_equal(e.links, vector + A_NLINKS + 2);
	assert_int_equal(e.addrs[0].sa.sa_family, AF_INET);
	assert_int_equal(e.addrs[0].in4.sin_port, htons(6783));
	assert_int_equal(weft_sockaddr_port(&e.addrs[0]), 6783);
	assert_int_equal(e.addrs[1].sa.sa_family, AF_INET6);
	assert_int_equal(e.addrs[1].in6.sin6_scope_id, 0);
	assert_int_equal(weft_sockaddr_port(&e.addrs[1]), 6783);
	assert_true(weft_gossip_reader_next(&r, &e));
	entry_b(&want);
	assert_entry_equal(&e, &want);
	assert_false(weft_gossip_reader_next(&r, &e));
	assert_false(weft_gossip_reader_next(&r, &e));
}

/* ---- round trip ---------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void test_roundtrip_random(void **state)
{
	static uint8_t keys[40][WEFT_KEY_LEN], links[40][64 * WEFT_GOSSIP_ID_LEN];
	static uint8_t buf[65536];
	static const char chars[] = WEFT_NAME_CHARS;
	struct weft_gossip_entry in[40], out;
	struct weft_gossip_writer w;
	struct weft_gossip_reader r;
	size_t len, sum;

	for (int round = 0; round < 50; round++) {
		unsigned n = 1 + (unsigned)(rng() % 40);

		weft_gossip_writer_init(&w, buf, sizeof(buf));
		sum = WEFT_GOSSIP_RECORD_HDR_LEN;
		for (unsigned i = 0; i < n; i++) {
			struct weft_gossip_entry *e = &in[i];
			unsigned nlen = 1 + (unsigned)(rng() % WEFT_GOSSIP_NICK_MAX);

			memset(e, 0, sizeof(*e));
			for (int k = 0; k < WEFT_KEY_LEN; k++)
				keys[i][k] = (uint8_t)rng();
			e->key = keys[i];
			e->seq = rng() & WEFT_GOSSIP_SEQ_MAX;
			for (unsigned k = 0; k < nlen; k++)
				e->nickname[k] = chars[rng() % (sizeof(chars) - 1)];
			e->n_addrs = (unsigned)(rng() % (WEFT_GOSSIP_MAX_ADDRS + 1));
			for (unsigned k = 0; k < e->n_addrs; k++) {
				union weft_sockaddr *a = &e->addrs[k];

				if (rng() & 1) {
					a->in4.sin_family = AF_INET;
					a->in4.sin_addr.s_addr = (uint32_t)rng();
					a->in4.sin_port = htons((uint16_t)(1 + rng() % 65535));
				} else {
					a->in6.sin6_family = AF_INET6;
					for (int b = 0; b < 16; b++)
						a->in6.sin6_addr.s6_addr[b] = (uint8_t)rng();
					a->in6.sin6_port = htons((uint16_t)(1 + rng() % 65535));
				}
			}
			e->n_links = (unsigned)(rng() % 65);
			for (unsigned k = 0; k < e->n_links * WEFT_GOSSIP_ID_LEN; k++)
				links[i][k] = (uint8_t)rng();
			e->links = links[i];
			assert_int_equal(weft_gossip_writer_add(&w, e), 0);
			sum += weft_gossip_entry_len(e);
			assert_int_equal(w.len, sum);
		}
		len = weft_gossip_writer_finish(&w);
		assert_int_equal(len, sum);
		assert_int_equal(weft_gossip_check(buf, len), (int)n);
		weft_gossip_reader_init(&r, buf, len);
		for (unsigned i = 0; i < n; i++) {
			assert_true(weft_gossip_reader_next(&r, &out));
			assert_entry_equal(&out, &in[i]);
		}
		assert_false(weft_gossip_reader_next(&r, &out));
		assert_int_equal(r.left, 0);
	}
}

/* The largest entry: 32-character nickname, 8 IPv6 addresses, 1024 links;
 * and a record of 255 entries. */
static void test_limits_accepted(void **state)
{
	static uint8_t links[WEFT_GOSSIP_MAX_LINKS * WEFT_GOSSIP_ID_LEN], buf[70000];
	struct weft_gossip_entry e, out;
	struct weft_gossip_writer w;
	struct weft_gossip_reader r;
	size_t len;

	entry_a(&e);
	memset(e.nickname, 'x', WEFT_GOSSIP_NICK_MAX);
	e.nickname[WEFT_GOSSIP_NICK_MAX] = '\0';
	e.n_addrs = WEFT_GOSSIP_MAX_ADDRS;
	for (unsigned i = 0; i < e.n_addrs; i++)
		v6(&e.addrs[i], "2001:db8::2", (uint16_t)(65535 - i));
	memset(links, 0x5a, sizeof(links));
	e.n_links = WEFT_GOSSIP_MAX_LINKS;
	e.links = links;
	assert_int_equal(weft_gossip_entry_len(&e), 44 + 32 + 8 * 19 + 8 * 1024);
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_add(&w, &e), 0);
	len = weft_gossip_writer_finish(&w);
	assert_int_equal(weft_gossip_check(buf, len), 1);
	weft_gossip_reader_init(&r, buf, len);
	assert_true(weft_gossip_reader_next(&r, &out));
	assert_entry_equal(&out, &e);

	entry_b(&e);
	e.n_links = 0;
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	for (int i = 0; i < WEFT_GOSSIP_MAX_ENTRIES; i++)
		assert_int_equal(weft_gossip_writer_add(&w, &e), 0);
	len = weft_gossip_writer_finish(&w);
	assert_int_equal(len, 2 + 255 * 46);
	assert_int_equal(buf[1], 255);
	assert_int_equal(weft_gossip_check(buf, len), 255);
	/* the 256th: record full, nothing written */
	assert_int_equal(weft_gossip_writer_add(&w, &e), -ENOBUFS);
	assert_int_equal(w.count, 255);
	assert_int_equal(weft_gossip_writer_finish(&w), len);
}

/* ---- check(): every malformation ----------------------------------------------- */

static uint8_t body[70000];

/* The vector in @body, with room to grow. */
static size_t vec(void)
{
	memcpy(body, vector, sizeof(vector));
	return sizeof(vector);
}

/* Inserts @n bytes of @fill at @off of a body of @len bytes. */
static size_t insert(size_t len, size_t off, size_t n, uint8_t fill)
{
	memmove(body + off + n, body + off, len - off);
	memset(body + off, fill, n);
	return len + n;
}

static size_t cut(size_t len, size_t off, size_t n)
{
	memmove(body + off, body + off + n, len - off - n);
	return len - n;
}

static void test_check_header(void **state)
{
	static const uint8_t only_format[1] = {1};
	static const uint8_t empty_record[2] = {1, 0};
	size_t len;

	assert_int_equal(weft_gossip_check(body, 0), -EINVAL);
	assert_int_equal(weft_gossip_check(only_format, 1), -EINVAL);
	assert_int_equal(weft_gossip_check(empty_record, 2), -EINVAL);
	/* an unknown format is skipped, whatever follows */
	for (int f = 0; f < 256; f++) {
		if (f == WEFT_GOSSIP_FORMAT)
			continue;
		len = vec();
		body[0] = (uint8_t)f;
		assert_int_equal(weft_gossip_check(body, len), -EPROTONOSUPPORT);
		assert_int_equal(weft_gossip_check(body, 1), -EPROTONOSUPPORT);
	}
	/* count 0 with entries after it, more entries than there are, fewer */
	len = vec();
	body[1] = 0;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	body[1] = 3;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	body[1] = 255;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	body[1] = 1; /* entry B becomes trailing bytes */
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	assert_int_equal(weft_gossip_check(body, B_OFF), 1);
	body[1] = 2;
	assert_int_equal(weft_gossip_check(body, len), 2);
	/* a trailing byte */
	body[len] = 0;
	assert_int_equal(weft_gossip_check(body, len + 1), -EINVAL);
}

/* A seq of 2^63 or more is malformed (a member could never go past it),
 * and the writer refuses to send one. */
static void test_check_seq(void **state)
{
	uint8_t buf[512];
	struct weft_gossip_entry e;
	struct weft_gossip_writer w;
	size_t len;

	entry_b(&e);
	e.seq = WEFT_GOSSIP_SEQ_MAX;
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_add(&w, &e), 0);
	len = weft_gossip_writer_finish(&w);
	assert_int_equal(weft_gossip_check(buf, len), 1);
	buf[2 + WEFT_KEY_LEN] |= 0x80; /* the seq's top bit */
	assert_int_equal(weft_gossip_check(buf, len), -EINVAL);
	e.seq = WEFT_GOSSIP_SEQ_MAX + 1;
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_add(&w, &e), -EINVAL);
}

static void test_check_truncated(void **state)
{
	/* Every prefix, which cuts each field of both entries (B_OFF: entry A
	 * whole, entry B missing). */
	for (size_t len = 0; len < sizeof(vector); len++)
		assert_int_equal(weft_gossip_check(vector, len), -EINVAL);
	/* A private copy of exactly each length: ASan (sanitizer build) sees any
	 * read past it. */
	for (size_t len = 1; len <= sizeof(vector); len++) {
		uint8_t *copy = malloc(len);

		assert_non_null(copy);
		memcpy(copy, vector, len);
		assert_int_equal(weft_gossip_check(copy, len), len == sizeof(vector) ? 2 : -EINVAL);
		free(copy);
	}
}

static void test_check_nickname(void **state)
{
	static const char bad[] = {' ', '/', ':', '@', '\0', '\n', '\x7f', '\x80', '\xff'};
	size_t len;

	/* length 0: the nickname bytes become the address count and so on */
	len = vec();
	body[A_NICKLEN] = 0;
	len = cut(len, A_NICKLEN + 1, 2);
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	/* length 32 accepted, 33 refused */
	len = vec();
	body[A_NICKLEN] = 32;
	len = insert(len, A_NICKLEN + 1, 30, 'n');
	assert_int_equal(weft_gossip_check(body, len), 2);
	body[A_NICKLEN] = 33;
	len = insert(len, A_NICKLEN + 1, 1, 'n');
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	/* each allowed punctuation accepted, each bad byte refused, in either position */
	for (int pos = 0; pos < 2; pos++) {
		len = vec();
		body[A_NICKLEN + 1 + pos] = '.';
		assert_int_equal(weft_gossip_check(body, len), 2);
		body[A_NICKLEN + 1 + pos] = '_';
		assert_int_equal(weft_gossip_check(body, len), 2);
		body[A_NICKLEN + 1 + pos] = '-';
		assert_int_equal(weft_gossip_check(body, len), 2);
		for (size_t i = 0; i < sizeof(bad); i++) {
			body[A_NICKLEN + 1 + pos] = (uint8_t)bad[i];
			assert_int_equal(weft_gossip_check(body, len), -EINVAL);
		}
	}
	/* in the second entry too */
	len = vec();
	body[B_OFF + 41] = ' ';
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
}

static void test_check_addresses(void **state)
{
	static const uint8_t addr4[7] = {4, 192, 0, 2, 1, 0x1a, 0x7f};
	size_t len;

	/* 8 accepted (6 more on entry A's two), 9 refused */
	len = vec();
	for (int i = 0; i < 6; i++) {
		len = insert(len, A_ADDR1, sizeof(addr4), 0);
		memcpy(body + A_ADDR1, addr4, sizeof(addr4));
	}
	body[A_NADDRS] = 8;
	assert_int_equal(weft_gossip_check(body, len), 2);
	len = insert(len, A_ADDR1, sizeof(addr4), 0);
	memcpy(body + A_ADDR1, addr4, sizeof(addr4));
	body[A_NADDRS] = 9;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	/* a count of 8 with 9 present, a count above what is there */
	body[A_NADDRS] = 8;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	len = vec();
	body[A_NADDRS] = 255;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	/* families other than 4 and 6 */
	for (int f = 0; f < 256; f++) {
		if (f == 4 || f == 6)
			continue;
		len = vec();
		body[A_ADDR1] = (uint8_t)f;
		assert_int_equal(weft_gossip_check(body, len), -EINVAL);
		len = vec();
		body[A_ADDR2] = (uint8_t)f;
		assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	}
	/* the families swapped: the lengths no longer add up */
	len = vec();
	body[A_ADDR1] = 6;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	/* port 0, IPv4 and IPv6; port 1 and 65535 accepted */
	len = vec();
	body[A_ADDR1 + 5] = 0;
	body[A_ADDR1 + 6] = 0;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	body[A_ADDR1 + 6] = 1;
	assert_int_equal(weft_gossip_check(body, len), 2);
	len = vec();
	body[A_ADDR2 + 17] = 0;
	body[A_ADDR2 + 18] = 0;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	body[A_ADDR2 + 17] = 0xff;
	body[A_ADDR2 + 18] = 0xff;
	assert_int_equal(weft_gossip_check(body, len), 2);
}

static void test_check_links(void **state)
{
	size_t len;

	/* 1024 accepted, 1025 refused (entry B's one link and 1023 or 1024 more) */
	len = vec();
	len = insert(len, B_NLINKS + 2, 1023 * WEFT_GOSSIP_ID_LEN, 0x42);
	body[B_NLINKS] = 1024 >> 8;
	body[B_NLINKS + 1] = 1024 & 0xff;
	assert_int_equal(weft_gossip_check(body, len), 2);
	len = insert(len, B_NLINKS + 2, WEFT_GOSSIP_ID_LEN, 0x42);
	body[B_NLINKS] = 1025 >> 8;
	body[B_NLINKS + 1] = 1025 & 0xff;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	/* counts above what is there: 257, 2, 0xffff */
	len = vec();
	body[A_NLINKS] = 1;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	len = vec();
	body[B_NLINKS + 1] = 2;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	body[B_NLINKS] = 0xff;
	body[B_NLINKS + 1] = 0xff;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	/* a count of 0 with the id left behind: a trailing id */
	len = vec();
	body[B_NLINKS + 1] = 0;
	assert_int_equal(weft_gossip_check(body, len), -EINVAL);
	len = cut(len, B_NLINKS + 2, WEFT_GOSSIP_ID_LEN);
	assert_int_equal(weft_gossip_check(body, len), 2);
}

/* The reader stops, rather than overrunning, on a body check() refused. */
static void test_reader_defensive(void **state)
{
	struct weft_gossip_reader r;
	struct weft_gossip_entry e;
	size_t len = vec();

	body[1] = 3;
	weft_gossip_reader_init(&r, body, len);
	assert_true(weft_gossip_reader_next(&r, &e));
	assert_true(weft_gossip_reader_next(&r, &e));
	assert_false(weft_gossip_reader_next(&r, &e));
	weft_gossip_reader_init(&r, body, 1);
	assert_false(weft_gossip_reader_next(&r, &e));
	weft_gossip_reader_init(&r, body, B_OFF - 1);
	assert_false(weft_gossip_reader_next(&r, &e));
}

/* ---- writer -------------------------------------------------------------------- */

static void test_writer_nobufs(void **state)
{
	struct weft_gossip_writer w;
	struct weft_gossip_entry a, b;
	uint8_t buf[256], before[256];

	entry_a(&a);
	entry_b(&b);
	/* capacity for the header and A exactly: B does not fit, nothing written */
	memset(buf, 0xee, sizeof(buf));
	weft_gossip_writer_init(&w, buf, 2 + 80);
	assert_int_equal(weft_gossip_writer_add(&w, &a), 0);
	memcpy(before, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_add(&w, &b), -ENOBUFS);
	assert_memory_equal(buf, before, sizeof(buf));
	assert_int_equal(w.len, 82);
	assert_int_equal(w.count, 1);
	assert_int_equal(weft_gossip_writer_finish(&w), 82);
	assert_int_equal(weft_gossip_check(buf, 82), 1);
	/* one byte short of A: nothing at all */
	memset(buf, 0xee, sizeof(buf));
	weft_gossip_writer_init(&w, buf, 2 + 79);
	assert_int_equal(weft_gossip_writer_add(&w, &a), -ENOBUFS);
	assert_int_equal(buf[0], 0xee);
	assert_int_equal(w.count, 0);
	assert_int_equal(weft_gossip_writer_finish(&w), 0);
	/* capacities below the header */
	for (size_t cap = 0; cap < 2; cap++) {
		weft_gossip_writer_init(&w, buf, cap);
		assert_int_equal(weft_gossip_writer_add(&w, &b), -ENOBUFS);
		assert_int_equal(weft_gossip_writer_finish(&w), 0);
	}
	/* nothing added: send nothing */
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_finish(&w), 0);
}

static void test_writer_einval(void **state)
{
	struct weft_gossip_writer w;
	struct weft_gossip_entry e;
	uint8_t buf[256];

	memset(buf, 0xee, sizeof(buf));
	weft_gossip_writer_init(&w, buf, sizeof(buf));
#define REFUSED(change)                                                                            \
	do {                                                                                       \
		entry_a(&e);                                                                       \
		change;                                                                            \
		assert_int_equal(weft_gossip_writer_add(&w, &e), -EINVAL);                         \
	} while (0)
	REFUSED(e.key = NULL);
	REFUSED(e.nickname[0] = '\0');
	REFUSED(memset(e.nickname, 'x', sizeof(e.nickname))); /* 33, not terminated */
	REFUSED(e.nickname[1] = ' ');
	REFUSED(e.nickname[0] = '/');
	REFUSED(e.n_addrs = WEFT_GOSSIP_MAX_ADDRS + 1);
	REFUSED(e.addrs[1].sa.sa_family = AF_UNSPEC);
	REFUSED(e.addrs[0].sa.sa_family = AF_UNIX);
	REFUSED(e.addrs[0].in4.sin_port = 0);
	REFUSED(e.addrs[1].in6.sin6_port = 0);
	REFUSED(e.n_links = WEFT_GOSSIP_MAX_LINKS + 1);
	REFUSED(e.links = NULL);
#undef REFUSED
	assert_int_equal(w.count, 0);
	assert_int_equal(weft_gossip_writer_finish(&w), 0);
	assert_int_equal(buf[0], 0xee);
	/* invalid and too big: invalid wins */
	entry_a(&e);
	e.nickname[0] = ' ';
	weft_gossip_writer_init(&w, buf, 3);
	assert_int_equal(weft_gossip_writer_add(&w, &e), -EINVAL);
	/* addresses past n_addrs do not matter, nor links when there are none */
	entry_a(&e);
	e.n_addrs = 1;
	e.addrs[1].sa.sa_family = AF_UNSPEC;
	e.n_links = 0;
	e.links = NULL;
	weft_gossip_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_gossip_writer_add(&w, &e), 0);
	assert_int_equal(weft_gossip_check(buf, weft_gossip_writer_finish(&w)), 1);
}

static void test_id(void **state)
{
	assert_ptr_equal(weft_gossip_id(key_a), key_a);
	assert_int_equal(WEFT_GOSSIP_ENTRY_MIN_LEN, 44);
}

/* ---- OBSERVED (docs/protocol.md 13.9) ------------------------------------------------ */

/* The vectors of docs/protocol.md 13.9: 198.51.100.7 port 6783, and
 * 2001:db8::1 port 51820. */
static const uint8_t observed4[8] = {0x01, 0x04, 0xc6, 0x33, 0x64, 0x07, 0x1a, 0x7f};
static const uint8_t observed6[20] = {0x01, 0x06, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00,
				      0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xca, 0x6c};

static void test_observed_vectors(void **state)
{
	union weft_sockaddr a4, a6, got;
	uint8_t buf[WEFT_OBSERVED_MAX_LEN];

	(void)state;
	v4(&a4, "198.51.100.7", 6783);
	v6(&a6, "2001:db8::1", 51820);
	assert_int_equal(weft_gossip_observed_encode(buf, &a4), sizeof(observed4));
	assert_memory_equal(buf, observed4, sizeof(observed4));
	assert_int_equal(weft_gossip_observed_encode(buf, &a6), sizeof(observed6));
	assert_memory_equal(buf, observed6, sizeof(observed6));
	assert_int_equal(weft_gossip_observed_parse(observed4, sizeof(observed4), &got), 0);
	assert_true(weft_sockaddr_equal(&got, &a4));
	assert_int_equal(weft_gossip_observed_parse(observed6, sizeof(observed6), &got), 0);
	assert_true(weft_sockaddr_equal(&got, &a6));
}

static void test_observed_bad(void **state)
{
	uint8_t b[WEFT_OBSERVED_MAX_LEN + 1];
	union weft_sockaddr got, none;

	(void)state;
	memcpy(b, observed4, sizeof(observed4));
	assert_int_equal(weft_gossip_observed_parse(b, 0, &got), -EINVAL);
	assert_int_equal(weft_gossip_observed_parse(b, 1, &got), -EINVAL);	/* no address */
	assert_int_equal(weft_gossip_observed_parse(b, 7, &got), -EINVAL);	/* short */
	b[8] = 0;
	assert_int_equal(weft_gossip_observed_parse(b, 9, &got), -EINVAL);	/* a byte after it */
	b[0] = 2;
	assert_int_equal(weft_gossip_observed_parse(b, 8, &got), -EPROTONOSUPPORT);
	b[0] = 1;
	b[1] = 5;
	assert_int_equal(weft_gossip_observed_parse(b, 8, &got), -EINVAL);	/* family */
	b[1] = 4;
	b[6] = b[7] = 0;
	assert_int_equal(weft_gossip_observed_parse(b, 8, &got), -EINVAL);	/* port 0 */
	memcpy(b, observed6, sizeof(observed6));
	assert_int_equal(weft_gossip_observed_parse(b, 8, &got), -EINVAL);	/* IPv6, cut */
	/* Nothing to send: no address, or port 0. */
	memset(&none, 0, sizeof(none));
	assert_int_equal(weft_gossip_observed_encode(b, &none), 0);
	v4(&none, "198.51.100.7", 0);
	assert_int_equal(weft_gossip_observed_encode(b, &none), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector_write),
	    cmocka_unit_test(test_vector_read),
	    cmocka_unit_test(test_roundtrip_random),
	    cmocka_unit_test(test_limits_accepted),
	    cmocka_unit_test(test_check_header),
	    cmocka_unit_test(test_check_seq),
	    cmocka_unit_test(test_check_truncated),
	    cmocka_unit_test(test_check_nickname),
	    cmocka_unit_test(test_check_addresses),
	    cmocka_unit_test(test_check_links),
	    cmocka_unit_test(test_reader_defensive),
	    cmocka_unit_test(test_writer_nobufs),
	    cmocka_unit_test(test_writer_einval),
	    cmocka_unit_test(test_id),
	    cmocka_unit_test(test_observed_vectors),
	    cmocka_unit_test(test_observed_bad),
	};

	return cmocka_run_group_tests(tests, setup_keys, NULL);
}
