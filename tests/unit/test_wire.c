/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "common/wire.h"

static uint8_t noise[WEFT_WIRE_NOISE_MAX + 1];

static int setup_noise(void **state)
{
	for (size_t i = 0; i < sizeof(noise); i++)
		noise[i] = (uint8_t)(i * 7 + 3);
	return 0;
}

/* A copy of exactly @len bytes on the heap, so ASan catches any overread. */
static int parse_exact(struct weft_wire_msg *msg, const uint8_t *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	r = weft_wire_parse(msg, copy, len);
	/* Views must point into the parsed buffer; re-base them onto @buf. */
	if (msg->body)
		msg->body = buf + (msg->body - copy);
	if (msg->tag)
		msg->tag = buf + (msg->tag - copy);
	if (msg->mac1)
		msg->mac1 = buf + (msg->mac1 - copy);
	if (msg->mac2)
		msg->mac2 = buf + (msg->mac2 - copy);
	if (msg->nonce)
		msg->nonce = buf + (msg->nonce - copy);
	free(copy);
	return r;
}

/* common/bytes.h: big-endian, at any alignment, every byte in its place. */
static void test_bytes(void **state)
{
	static const uint8_t be[8] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef};
	uint8_t buf[1 + 8 + 1];

	for (size_t off = 0; off < 2; off++) {
		uint8_t *p = buf + off;

		memcpy(p, be, sizeof(be));
		assert_int_equal(weft_get_be16(p), 0x0123);
		assert_int_equal(weft_get_be32(p), 0x01234567);
		assert_true(weft_get_be64(p) == UINT64_C(0x0123456789abcdef));
		memset(buf, 0, sizeof(buf));
		weft_put_be16(p, 0x0123);
		assert_memory_equal(p, be, 2);
		weft_put_be32(p, 0x01234567);
		assert_memory_equal(p, be, 4);
		weft_put_be64(p, UINT64_C(0x0123456789abcdef));
		assert_memory_equal(p, be, 8);
		/* Nothing written around it. */
		assert_int_equal(buf[off ? 0 : 8], 0);
		assert_int_equal(buf[9], 0);
	}
	memset(buf, 0xff, sizeof(buf));
	assert_int_equal(weft_get_be16(buf), 0xffff);
	assert_int_equal(weft_get_be32(buf), UINT32_MAX);
	assert_true(weft_get_be64(buf) == UINT64_MAX);
}

static void test_constants(void **state)
{
	assert_int_equal(WEFT_WIRE_DATA_HEADER_LEN, 16);
	assert_int_equal(WEFT_WIRE_TAG_LEN, 16);
	assert_int_equal(WEFT_WIRE_RECORD_HEADER_LEN, 3);
	assert_int_equal(WEFT_WIRE_OVERHEAD, 35);
	assert_int_equal(WEFT_WIRE_HELLO_HEADER_LEN, 8);
	assert_int_equal(WEFT_WIRE_WELCOME_HEADER_LEN, 12);
	assert_int_equal(WEFT_WIRE_CONFIRM_HEADER_LEN, 8);
	assert_int_equal(WEFT_WIRE_VERSION, 2);
	assert_int_equal(WEFT_WIRE_HELLO_TRAILER_LEN, 32);
	assert_int_equal(WEFT_WIRE_COOKIE_LEN, 64);
	assert_int_equal(WEFT_WIRE_HANDSHAKE_MAX_LEN, 8 + 1024 + 32);
	/* The MTU arithmetic of docs/protocol.md. */
	assert_int_equal(1500 - WEFT_WIRE_IPV4_UDP_LEN - WEFT_WIRE_OVERHEAD - 14, 1423);
	assert_int_equal(1500 - WEFT_WIRE_IPV6_UDP_LEN - WEFT_WIRE_OVERHEAD - 14, 1403);
	assert_true(WEFT_WIRE_HANDSHAKE_MAX_LEN <= 1280 - WEFT_WIRE_IPV6_UDP_LEN);
}

static void test_hello_roundtrip(void **state)
{
	uint8_t buf[2048];
	struct weft_wire_msg msg;
	size_t len;

	static const uint8_t zero[32];

	memset(buf, 0xee, sizeof(buf));
	assert_int_equal(weft_wire_build_hello(buf, sizeof(buf), 0xdeadbeef, noise, 100, &len), 0);
	assert_int_equal(len, 8 + 100 + 32);
	static const uint8_t head[] = {1, 2, 0, 0, 0xde, 0xad, 0xbe, 0xef};
	assert_memory_equal(buf, head, sizeof(head));
	assert_memory_equal(buf + 8, noise, 100);
	/* The MACs are common/cookie's to write: zeros until then. */
	assert_memory_equal(buf + 108, zero, 32);
	assert_int_equal(buf[140], 0xee);
	assert_int_equal(parse_exact(&msg, buf, len), 0);
	assert_int_equal(msg.type, WEFT_WIRE_HELLO);
	assert_int_equal(msg.version, WEFT_WIRE_VERSION);
	assert_int_equal(msg.sender_index, 0xdeadbeef);
	assert_int_equal(msg.receiver_index, 0);
	assert_ptr_equal(msg.body, buf + 8);
	assert_int_equal(msg.body_len, 100);
	assert_ptr_equal(msg.mac1, buf + 108);
	assert_ptr_equal(msg.mac2, buf + 124);
	assert_null(msg.tag);
	assert_null(msg.nonce);
}

static void test_welcome_roundtrip(void **state)
{
	uint8_t buf[2048];
	struct weft_wire_msg msg;
	size_t len;

	assert_int_equal(weft_wire_build_welcome(buf, sizeof(buf), 0x01020304, 0xa0b0c0d0, noise,
						 WEFT_WIRE_WELCOME_NOISE_MIN, &len),
			 0);
	assert_int_equal(len, 12 + 96);
	static const uint8_t head[] = {2, 2, 0, 0, 1, 2, 3, 4, 0xa0, 0xb0, 0xc0, 0xd0};
	assert_memory_equal(buf, head, sizeof(head));
	assert_int_equal(parse_exact(&msg, buf, len), 0);
	assert_int_equal(msg.type, WEFT_WIRE_WELCOME);
	assert_int_equal(msg.version, WEFT_WIRE_VERSION);
	assert_null(msg.mac1);
	assert_int_equal(msg.sender_index, 0x01020304);
	assert_int_equal(msg.receiver_index, 0xa0b0c0d0);
	assert_int_equal(msg.body_len, 96);
	assert_memory_equal(msg.body, noise, 96);
}

static void test_confirm_roundtrip(void **state)
{
	uint8_t buf[2048];
	struct weft_wire_msg msg;
	size_t len;

	assert_int_equal(
	    weft_wire_build_confirm(buf, sizeof(buf), 0x7fffffff, noise, WEFT_WIRE_NOISE_MAX, &len),
	    0);
	assert_int_equal(len, 8 + WEFT_WIRE_NOISE_MAX);
	static const uint8_t head[] = {3, 2, 0, 0, 0x7f, 0xff, 0xff, 0xff};
	assert_memory_equal(buf, head, sizeof(head));
	assert_int_equal(parse_exact(&msg, buf, len), 0);
	assert_int_equal(msg.type, WEFT_WIRE_CONFIRM);
	assert_int_equal(msg.version, WEFT_WIRE_VERSION);
	assert_int_equal(msg.sender_index, 0);
	assert_int_equal(msg.receiver_index, 0x7fffffff);
	assert_int_equal(msg.body_len, WEFT_WIRE_NOISE_MAX);
	assert_memory_equal(msg.body, noise, WEFT_WIRE_NOISE_MAX);
}

static void test_cookie_roundtrip(void **state)
{
	uint8_t buf[128], nonce[24], sealed[32];
	struct weft_wire_msg msg;
	size_t len = 777;

	for (int i = 0; i < 24; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < 32; i++)
		sealed[i] = (uint8_t)(0x10 + i);
	assert_int_equal(weft_wire_build_cookie(buf, 63, 0x11223344, nonce, sealed, &len),
			 -ENOBUFS);
	assert_int_equal(len, 777);
	assert_int_equal(weft_wire_build_cookie(buf, 64, 0x11223344, nonce, sealed, &len), 0);
	assert_int_equal(len, 64);
	static const uint8_t head[] = {5, 2, 0, 0, 0x11, 0x22, 0x33, 0x44};
	assert_memory_equal(buf, head, sizeof(head));
	assert_memory_equal(buf + 8, nonce, 24);
	assert_memory_equal(buf + 32, sealed, 32);
	assert_int_equal(parse_exact(&msg, buf, 64), 0);
	assert_int_equal(msg.type, WEFT_WIRE_COOKIE);
	assert_int_equal(msg.version, WEFT_WIRE_VERSION);
	assert_int_equal(msg.receiver_index, 0x11223344);
	assert_int_equal(msg.sender_index, 0);
	assert_ptr_equal(msg.nonce, buf + 8);
	assert_ptr_equal(msg.body, buf + 32);
	assert_int_equal(msg.body_len, 32);
	assert_null(msg.mac1);
	/* Exactly 64 bytes: one less is short, one more long. */
	assert_int_equal(parse_exact(&msg, buf, 63), -WEFT_WIRE_ESHORT);
	assert_int_equal(parse_exact(&msg, buf, 4), -WEFT_WIRE_ESHORT);
	buf[64] = 0;
	assert_int_equal(parse_exact(&msg, buf, 65), -WEFT_WIRE_ELONG);
	buf[3] = 1;
	assert_int_equal(parse_exact(&msg, buf, 64), -WEFT_WIRE_ERESERVED);
}

/* Handshake datagrams of another version parse only so far that their
 * receiver can count and name them; DATA has no version byte. */
static void test_parse_versions(void **state)
{
	uint8_t buf[2048];
	struct weft_wire_msg msg;

	memset(buf, 0x5a, sizeof(buf));
	for (uint8_t type = WEFT_WIRE_HELLO; type <= WEFT_WIRE_COOKIE; type++) {
		if (type == WEFT_WIRE_DATA)
			continue;
		/* Version 1's header: type, then three zeros. Any length from 4. */
		buf[0] = type;
		buf[1] = buf[2] = buf[3] = 0;
		for (size_t len = 4; len < 1500; len += 97) {
			assert_int_equal(parse_exact(&msg, buf, len), 0);
			assert_int_equal(msg.type, type);
			assert_int_equal(msg.version, 1);
			assert_ptr_equal(msg.body, buf + 4);
			assert_int_equal(msg.body_len, len - 4);
			assert_int_equal(msg.sender_index, 0);
			assert_int_equal(msg.receiver_index, 0);
			assert_null(msg.mac1);
			assert_null(msg.nonce);
		}
		/* A later version, whatever its reserved bytes. */
		buf[1] = 3;
		buf[3] = 0xff;
		assert_int_equal(parse_exact(&msg, buf, 5), 0);
		assert_int_equal(msg.version, 3);
		buf[1] = 0xff;
		assert_int_equal(parse_exact(&msg, buf, 4), 0);
		assert_int_equal(msg.version, 255);
		assert_int_equal(msg.body_len, 0);
		/* Version 2 checks its reserved bytes. */
		buf[1] = 2;
		assert_int_equal(parse_exact(&msg, buf, 200), -WEFT_WIRE_ERESERVED);
		buf[3] = 0;
	}
	/* DATA keeps 04 00 00 00: a version byte there is a reserved bit. */
	weft_wire_put_data_header(buf, 1, 1);
	assert_int_equal(buf[1], 0);
	assert_int_equal(parse_exact(&msg, buf, 40), 0);
	assert_int_equal(msg.version, 0);
	buf[1] = 2;
	assert_int_equal(parse_exact(&msg, buf, 40), -WEFT_WIRE_ERESERVED);
}

static void test_build_in_place(void **state)
{
	uint8_t buf[256];
	struct weft_wire_msg msg;
	size_t len;

	/* The Noise layer wrote its message where it belongs: nothing moves. */
	memcpy(buf + WEFT_WIRE_HELLO_HEADER_LEN, noise, 64);
	assert_int_equal(
	    weft_wire_build_hello(buf, sizeof(buf), 42, buf + WEFT_WIRE_HELLO_HEADER_LEN, 64, &len),
	    0);
	assert_int_equal(parse_exact(&msg, buf, len), 0);
	assert_int_equal(msg.sender_index, 42);
	assert_memory_equal(msg.body, noise, 64);
	/* Overlapping but misplaced: memmove semantics. */
	memcpy(buf + 2, noise, 64);
	assert_int_equal(weft_wire_build_confirm(buf, sizeof(buf), 43, buf + 2, 64, &len), 0);
	assert_int_equal(parse_exact(&msg, buf, len), 0);
	assert_memory_equal(msg.body, noise, 64);
}

static void test_build_rejects(void **state)
{
	uint8_t buf[2048];
	size_t len = 12345;

	/* Outside the Noise message bounds of the type. */
	assert_int_equal(weft_wire_build_hello(buf, sizeof(buf), 1, noise, 47, &len), -EINVAL);
	assert_int_equal(weft_wire_build_welcome(buf, sizeof(buf), 1, 2, noise, 95, &len), -EINVAL);
	assert_int_equal(weft_wire_build_confirm(buf, sizeof(buf), 1, noise, 63, &len), -EINVAL);
	assert_int_equal(
	    weft_wire_build_hello(buf, sizeof(buf), 1, noise, WEFT_WIRE_NOISE_MAX + 1, &len),
	    -EINVAL);
	/* Capacity: exactly enough works, one byte less does not. */
	assert_int_equal(weft_wire_build_hello(buf, 8 + 48 + 32 - 1, 1, noise, 48, &len), -ENOBUFS);
	assert_int_equal(weft_wire_build_hello(buf, 8 + 48 - 1, 1, noise, 48, &len), -ENOBUFS);
	assert_int_equal(weft_wire_build_welcome(buf, 12 + 96 - 1, 1, 2, noise, 96, &len),
			 -ENOBUFS);
	assert_int_equal(weft_wire_build_confirm(buf, 4, 1, noise, 64, &len), -ENOBUFS);
	assert_int_equal(len, 12345);
	assert_int_equal(weft_wire_build_hello(buf, 8 + 48 + 32, 1, noise, 48, &len), 0);
	assert_int_equal(len, 88);
}

static void test_data_roundtrip(void **state)
{
	uint8_t buf[WEFT_WIRE_DATA_MAX_LEN];
	struct weft_wire_msg msg;

	memset(buf, 0xee, sizeof(buf));
	weft_wire_put_data_header(buf, 0xcafebabe, UINT64_C(0x0102030405060708));
	static const uint8_t head[] = {4, 0, 0, 0, 0xca, 0xfe, 0xba, 0xbe, 1, 2, 3, 4, 5, 6, 7, 8};
	assert_memory_equal(buf, head, sizeof(head));
	assert_int_equal(parse_exact(&msg, buf, 100), 0);
	assert_int_equal(msg.type, WEFT_WIRE_DATA);
	assert_int_equal(msg.receiver_index, 0xcafebabe);
	assert_true(msg.counter == UINT64_C(0x0102030405060708));
	assert_ptr_equal(msg.body, buf + 16);
	assert_int_equal(msg.body_len, 100 - 32);
	assert_ptr_equal(msg.tag, buf + 100 - 16);

	/* Boundary lengths: empty plaintext, and the largest datagram. */
	assert_int_equal(parse_exact(&msg, buf, 32), 0);
	assert_int_equal(msg.body_len, 0);
	assert_ptr_equal(msg.tag, buf + 16);
	assert_int_equal(parse_exact(&msg, buf, WEFT_WIRE_DATA_MAX_LEN), 0);
	assert_int_equal(msg.body_len, WEFT_WIRE_PLAIN_MAX_LEN);
	weft_wire_put_data_header(buf, 0, UINT64_MAX);
	assert_int_equal(parse_exact(&msg, buf, 32), 0);
	assert_true(msg.counter == UINT64_MAX);
}

static void test_parse_runt_and_type(void **state)
{
	uint8_t buf[64] = {4, 0, 0, 0};
	struct weft_wire_msg msg;

	for (size_t len = 0; len < WEFT_WIRE_HEADER_LEN; len++)
		assert_int_equal(parse_exact(&msg, buf, len), -WEFT_WIRE_ERUNT);
	for (int type = 0; type < 256; type++) {
		buf[0] = (uint8_t)type;
		buf[1] = type == WEFT_WIRE_DATA ? 0 : WEFT_WIRE_VERSION;
		int r = parse_exact(&msg, buf, 4);
		if (type >= 1 && type <= 5)
			/* A bare header of the current version (DATA's has no version). */
			assert_int_equal(r, -WEFT_WIRE_ESHORT);
		else
			assert_int_equal(r, -WEFT_WIRE_ETYPE);
	}
	assert_string_equal(weft_wire_strerror(-WEFT_WIRE_ERUNT), "runt");
	assert_string_equal(weft_wire_strerror(-WEFT_WIRE_ETYPE), "unknown type");
	assert_string_equal(weft_wire_strerror(-WEFT_WIRE_ERESERVED), "reserved bits set");
	assert_string_equal(weft_wire_strerror(-WEFT_WIRE_ESHORT), "too short");
	assert_string_equal(weft_wire_strerror(-WEFT_WIRE_ELONG), "too long");
	assert_string_equal(weft_wire_strerror(0), "ok");
	assert_string_equal(weft_wire_strerror(-ENOMEM), "?");
}

static void test_parse_reserved(void **state)
{
	uint8_t buf[2048];
	struct weft_wire_msg msg;
	size_t len;

	assert_int_equal(weft_wire_build_hello(buf, sizeof(buf), 1, noise, 48, &len), 0);
	/* Byte 1 is the version (test_parse_versions); bytes 2 and 3 are reserved. */
	for (int byte = 2; byte <= 3; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[byte] = (uint8_t)(1u << bit);
			assert_int_equal(parse_exact(&msg, buf, len), -WEFT_WIRE_ERESERVED);
			buf[byte] = 0;
		}
	}
	assert_int_equal(parse_exact(&msg, buf, len), 0);
	/* Reserved is checked for DATA too, and before the length. */
	weft_wire_put_data_header(buf, 1, 1);
	buf[2] = 0x80;
	assert_int_equal(parse_exact(&msg, buf, 40), -WEFT_WIRE_ERESERVED);
	assert_int_equal(parse_exact(&msg, buf, 5), -WEFT_WIRE_ERESERVED);
}

/* Each type: one byte under its minimum is too short, the minimum parses, the
 * maximum parses, one byte over is too long. */
static void test_parse_bounds(void **state)
{
	static const struct {
		uint8_t type;
		size_t min, max;
	} cases[] = {
	    {WEFT_WIRE_HELLO, 8 + 48 + 32, 8 + WEFT_WIRE_NOISE_MAX + 32},
	    {WEFT_WIRE_WELCOME, 12 + 96, 12 + WEFT_WIRE_NOISE_MAX},
	    {WEFT_WIRE_CONFIRM, 8 + 64, 8 + WEFT_WIRE_NOISE_MAX},
	    {WEFT_WIRE_DATA, 32, 65535},
	    {WEFT_WIRE_COOKIE, 64, 64},
	};
	static uint8_t buf[70000];
	struct weft_wire_msg msg;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(cases); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = cases[i].type;
		buf[1] = cases[i].type == WEFT_WIRE_DATA ? 0 : WEFT_WIRE_VERSION;
		for (size_t len = 4; len < cases[i].min; len++)
			assert_int_equal(parse_exact(&msg, buf, len), -WEFT_WIRE_ESHORT);
		assert_int_equal(parse_exact(&msg, buf, cases[i].min), 0);
		assert_int_equal(parse_exact(&msg, buf, cases[i].max), 0);
		assert_int_equal(parse_exact(&msg, buf, cases[i].max + 1), -WEFT_WIRE_ELONG);
		assert_int_equal(parse_exact(&msg, buf, sizeof(buf)), -WEFT_WIRE_ELONG);
	}
}

/* ---- records ---------------------------------------------------------------------- */

static void put_rec(uint8_t **p, uint8_t kind, uint16_t len, uint8_t fill)
{
	(*p)[0] = kind;
	(*p)[1] = len >> 8;
	(*p)[2] = (uint8_t)len;
	memset(*p + 3, fill, len);
	*p += 3 + len;
}

static void test_records_iterate(void **state)
{
	uint8_t plain[4096], *p = plain;
	struct weft_wire_records it;
	struct weft_wire_record rec;

	put_rec(&p, WEFT_WIRE_REC_FRAME, 14, 0xa1);
	put_rec(&p, WEFT_WIRE_REC_KEEPALIVE, 0, 0);
	put_rec(&p, 22, 5, 0xcc);    /* a control record we do not know yet */
	put_rec(&p, 0, 0, 0);	     /* reserved kind, empty */
	put_rec(&p, 255, 300, 0xdd); /* experimental */
	put_rec(&p, WEFT_WIRE_REC_FRAME, 1500, 0xa2);
	put_rec(&p, 4, 1, 0xee); /* unknown, the last one */

	weft_wire_records_init(&it, plain, (size_t)(p - plain));
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_FRAME);
	assert_int_equal(rec.len, 14);
	assert_ptr_equal(rec.body, plain + 3);
	assert_int_equal(rec.body[13], 0xa1);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_KEEPALIVE);
	assert_int_equal(rec.len, 0);
	assert_int_equal(it.skipped, 0);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_FRAME);
	assert_int_equal(rec.len, 1500);
	assert_int_equal(rec.body[0], 0xa2);
	assert_int_equal(rec.body[1499], 0xa2);
	assert_int_equal(it.skipped, 3);
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);
	assert_int_equal(it.skipped, 4);
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);

	/* Empty plaintext: no records. */
	weft_wire_records_init(&it, plain, 0);
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);
}

/* The mesh's control records are known kinds: handed out, bodies unchecked. */
static void test_records_mesh_kinds(void **state)
{
	static const uint8_t kinds[] = {WEFT_WIRE_REC_MEMBERS, WEFT_WIRE_REC_RELAY,
					WEFT_WIRE_REC_PROBE, WEFT_WIRE_REC_PROBE_ACK,
					WEFT_WIRE_REC_OBSERVED, WEFT_WIRE_REC_RELAY_TOO_BIG};
	uint8_t plain[256], *p = plain;
	struct weft_wire_records it;
	struct weft_wire_record rec;

	for (size_t i = 0; i < sizeof(kinds); i++)
		put_rec(&p, kinds[i], (uint16_t)i, 0x5a);
	weft_wire_records_init(&it, plain, (size_t)(p - plain));
	for (size_t i = 0; i < sizeof(kinds); i++) {
		assert_int_equal(weft_wire_records_next(&it, &rec), 1);
		assert_int_equal(rec.kind, kinds[i]);
		assert_int_equal(rec.len, i);
	}
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);
	assert_int_equal(it.skipped, 0);
}

static void test_records_overrun(void **state)
{
	uint8_t plain[256], *p = plain;
	struct weft_wire_records it;
	struct weft_wire_record rec;

	put_rec(&p, WEFT_WIRE_REC_FRAME, 20, 1);
	put_rec(&p, WEFT_WIRE_REC_FRAME, 20, 2);
	size_t whole = (size_t)(p - plain);

	/* Every truncation inside the second record: the first still comes out,
	 * then the overrun (header or body) stops the iteration. */
	for (size_t len = 23 + 1; len < whole; len++) {
		uint8_t *copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, plain, len);
		weft_wire_records_init(&it, copy, len);
		assert_int_equal(weft_wire_records_next(&it, &rec), 1);
		assert_int_equal(rec.body[0], 1);
		assert_int_equal(weft_wire_records_next(&it, &rec), -EBADMSG);
		assert_int_equal(weft_wire_records_next(&it, &rec), 0);
		free(copy);
	}
	/* An unknown kind that overruns is an error too, not a skip. */
	p = plain;
	put_rec(&p, 99, 10, 0);
	weft_wire_records_init(&it, plain, 12);
	assert_int_equal(weft_wire_records_next(&it, &rec), -EBADMSG);
	/* A length claiming 65535 bytes in a short buffer. */
	plain[0] = WEFT_WIRE_REC_FRAME;
	plain[1] = plain[2] = 0xff;
	weft_wire_records_init(&it, plain, sizeof(plain));
	assert_int_equal(weft_wire_records_next(&it, &rec), -EBADMSG);
}

static void test_records_bad_known_lengths(void **state)
{
	uint8_t plain[256], *p = plain;
	struct weft_wire_records it;
	struct weft_wire_record rec;

	put_rec(&p, WEFT_WIRE_REC_FRAME, 13, 1); /* shorter than an Ethernet header */
	put_rec(&p, WEFT_WIRE_REC_KEEPALIVE, 1, 2);
	put_rec(&p, WEFT_WIRE_REC_FRAME, 0, 0);
	put_rec(&p, WEFT_WIRE_REC_FRAME_PARTIAL, 13, 4); /* the same rule as FRAME */
	put_rec(&p, WEFT_WIRE_REC_FRAME_PARTIAL, 14, 5);
	put_rec(&p, WEFT_WIRE_REC_FRAME, 14, 3);

	weft_wire_records_init(&it, plain, (size_t)(p - plain));
	assert_int_equal(weft_wire_records_next(&it, &rec), -EINVAL);
	assert_int_equal(rec.len, 13);
	assert_int_equal(weft_wire_records_next(&it, &rec), -EINVAL);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_KEEPALIVE);
	assert_int_equal(weft_wire_records_next(&it, &rec), -EINVAL);
	assert_int_equal(weft_wire_records_next(&it, &rec), -EINVAL);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_FRAME_PARTIAL);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_FRAME_PARTIAL);
	assert_int_equal(rec.body[13], 5);
	/* Iteration goes on past a bad record of a known kind. */
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.len, 14);
	assert_int_equal(rec.body[0], 3);
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);
}

static void test_writer(void **state)
{
	uint8_t buf[100], frame[60], *body;
	struct weft_wire_writer w;
	struct weft_wire_records it;
	struct weft_wire_record rec;

	memset(frame, 0x5a, sizeof(frame));
	weft_wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_wire_writer_room(&w), 97);
	assert_int_equal(weft_wire_writer_append(&w, WEFT_WIRE_REC_FRAME, frame, 60), 0);
	assert_int_equal(w.len, 63);
	assert_int_equal(weft_wire_writer_room(&w), 34);
	assert_int_equal(weft_wire_writer_append(&w, WEFT_WIRE_REC_KEEPALIVE, NULL, 0), 0);
	assert_int_equal(w.len, 66);
	/* 34 bytes left: a 31-byte body would fill them exactly, 32 does not fit. */
	assert_int_equal(weft_wire_writer_room(&w), 31);
	assert_int_equal(weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, 32, &body), -ENOBUFS);
	assert_int_equal(w.len, 66);
	assert_int_equal(weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, 28, &body), 0);
	assert_ptr_equal(body, buf + 69);
	memset(body, 0x77, 28);
	assert_int_equal(w.len, 97);
	/* Only a header's worth left: room for an empty record. */
	assert_int_equal(weft_wire_writer_room(&w), 0);
	assert_int_equal(weft_wire_writer_append(&w, WEFT_WIRE_REC_KEEPALIVE, NULL, 0), 0);
	assert_int_equal(w.len, 100);
	assert_int_equal(weft_wire_writer_room(&w), 0);
	assert_int_equal(weft_wire_writer_append(&w, WEFT_WIRE_REC_KEEPALIVE, NULL, 0), -ENOBUFS);

	static const uint8_t head[] = {1, 0, 60};
	assert_memory_equal(buf, head, 3);
	weft_wire_records_init(&it, buf, w.len);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.len, 60);
	assert_memory_equal(rec.body, frame, 60);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_KEEPALIVE);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.len, 28);
	assert_int_equal(rec.body[27], 0x77);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);
}

static void test_writer_max_record(void **state)
{
	static uint8_t buf[70000];
	struct weft_wire_writer w;
	struct weft_wire_records it;
	struct weft_wire_record rec;
	uint8_t *body;

	weft_wire_writer_init(&w, buf, sizeof(buf));
	assert_int_equal(weft_wire_writer_room(&w), WEFT_WIRE_RECORD_MAX_LEN);
	assert_int_equal(weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, 65536, &body),
			 -EMSGSIZE);
	assert_int_equal(weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, 65535, &body), 0);
	assert_int_equal(buf[1], 0xff);
	assert_int_equal(buf[2], 0xff);
	weft_wire_records_init(&it, buf, w.len);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.len, 65535);
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);

	/* A DATA datagram's whole plaintext holds one frame of at most
	 * PLAIN_MAX - 3 bytes. */
	weft_wire_writer_init(&w, buf, WEFT_WIRE_PLAIN_MAX_LEN);
	assert_int_equal(weft_wire_writer_room(&w), WEFT_WIRE_PLAIN_MAX_LEN - 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bytes),
	    cmocka_unit_test(test_constants),
	    cmocka_unit_test(test_hello_roundtrip),
	    cmocka_unit_test(test_welcome_roundtrip),
	    cmocka_unit_test(test_confirm_roundtrip),
	    cmocka_unit_test(test_cookie_roundtrip),
	    cmocka_unit_test(test_parse_versions),
	    cmocka_unit_test(test_build_in_place),
	    cmocka_unit_test(test_build_rejects),
	    cmocka_unit_test(test_data_roundtrip),
	    cmocka_unit_test(test_parse_runt_and_type),
	    cmocka_unit_test(test_parse_reserved),
	    cmocka_unit_test(test_parse_bounds),
	    cmocka_unit_test(test_records_iterate),
	    cmocka_unit_test(test_records_mesh_kinds),
	    cmocka_unit_test(test_records_overrun),
	    cmocka_unit_test(test_records_bad_known_lengths),
	    cmocka_unit_test(test_writer),
	    cmocka_unit_test(test_writer_max_record),
	};

	return cmocka_run_group_tests(tests, setup_noise, NULL);
}
