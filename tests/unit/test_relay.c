/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/relay.h"

static const uint8_t dst[WEFT_GOSSIP_ID_LEN] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
static const uint8_t origin[WEFT_GOSSIP_ID_LEN] = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18};
/* The shortest frame: an ARP-typed broadcast header, nothing after it. */
static const uint8_t frame[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
				  0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06};

/* The RELAY test vector of docs/protocol.md section 13.5: dst 01..08, origin
 * 11..18, hops 4 (what an origin writes), then the 14-byte frame above. */
static const uint8_t vector[31] = {
    0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18,
    0x04, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06,
};

/* A body of @len bytes: the vector's header with @hops, then frame bytes. */
static void make_body(uint8_t *body, size_t len, uint8_t hops)
{
	memcpy(body, vector, WEFT_RELAY_HDR_LEN);
	body[16] = hops;
	for (size_t i = WEFT_RELAY_HDR_LEN; i < len; i++)
		body[i] = (uint8_t)(i * 7);
}

static void test_constants(void **state)
{
	assert_int_equal(WEFT_RELAY_HDR_LEN, 17);
	assert_int_equal(WEFT_RELAY_HOPS_INIT, 4);
	assert_int_equal(WEFT_RELAY_HOPS_MAX, 8);
}

static void test_vector(void **state)
{
	uint8_t body[sizeof(vector)];
	struct weft_relay r;

	weft_relay_put_header(body, dst, origin, WEFT_RELAY_HOPS_INIT);
	memcpy(body + WEFT_RELAY_HDR_LEN, frame, sizeof(frame));
	assert_memory_equal(body, vector, sizeof(vector));

	assert_int_equal(weft_relay_parse(&r, vector, sizeof(vector)), 0);
	assert_memory_equal(r.dst, dst, WEFT_GOSSIP_ID_LEN);
	assert_memory_equal(r.origin, origin, WEFT_GOSSIP_ID_LEN);
	assert_int_equal(r.hops, 4);
	assert_int_equal(r.frame_len, 14);
	assert_memory_equal(r.frame, frame, sizeof(frame));
}

/* 31 bytes (17 + a 14-byte frame) is the shortest body; 30 is dropped. */
static void test_length_boundaries(void **state)
{
	uint8_t body[64];
	struct weft_relay r;

	make_body(body, sizeof(body), 1);
	for (size_t len = 0; len < 31; len++)
		assert_int_equal(weft_relay_parse(&r, body, len), -EINVAL);
	assert_int_equal(weft_relay_parse(&r, body, 30), -EINVAL);
	assert_int_equal(weft_relay_parse(&r, body, 31), 0);
	assert_int_equal(r.frame_len, 14);
	assert_int_equal(weft_relay_parse(&r, body, 32), 0);
	assert_int_equal(r.frame_len, 15);
	assert_int_equal(weft_relay_parse(&r, body, sizeof(body)), 0);
	assert_int_equal(r.frame_len, sizeof(body) - 17);
}

static void test_hops_boundaries(void **state)
{
	static const struct {
		uint8_t hops;
		int ret;
	} cases[] = {
	    {0, -EINVAL}, {1, 0}, {4, 0}, {8, 0}, {9, -EINVAL}, {128, -EINVAL}, {255, -EINVAL},
	};
	uint8_t body[31];
	struct weft_relay r;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(cases); i++) {
		make_body(body, sizeof(body), cases[i].hops);
		assert_int_equal(weft_relay_parse(&r, body, sizeof(body)), cases[i].ret);
		if (cases[i].ret == 0)
			assert_int_equal(r.hops, cases[i].hops);
	}
	/* Hops are checked even when the length alone would do. */
	make_body(body, sizeof(body), 0);
	assert_int_equal(weft_relay_parse(&r, body, 30), -EINVAL);
}

/* The result points into the body: nothing is copied. */
static void test_views(void **state)
{
	uint8_t body[1514 + 17];
	struct weft_relay r;

	make_body(body, sizeof(body), 8);
	assert_int_equal(weft_relay_parse(&r, body, sizeof(body)), 0);
	assert_ptr_equal(r.dst, body);
	assert_ptr_equal(r.origin, body + 8);
	assert_ptr_equal(r.frame, body + 17);
	assert_int_equal(r.frame_len, 1514);
	assert_int_equal(r.hops, 8);
}

/* Every valid hop count survives put_header then parse, with any ids. */
static void test_roundtrip(void **state)
{
	uint8_t body[WEFT_RELAY_HDR_LEN + 60], d[WEFT_GOSSIP_ID_LEN], o[WEFT_GOSSIP_ID_LEN];
	struct weft_relay r;

	for (uint8_t hops = 1; hops <= WEFT_RELAY_HOPS_MAX; hops++) {
		for (int i = 0; i < WEFT_GOSSIP_ID_LEN; i++) {
			d[i] = (uint8_t)(0xa0 + hops * 16 + i);
			o[i] = (uint8_t)(0x0f - i + hops);
		}
		memset(body, 0xee, sizeof(body));
		weft_relay_put_header(body, d, o, hops);
		/* put_header writes the header only, never the frame after it. */
		for (size_t i = WEFT_RELAY_HDR_LEN; i < sizeof(body); i++)
			assert_int_equal(body[i], 0xee);
		assert_int_equal(weft_relay_parse(&r, body, sizeof(body)), 0);
		assert_memory_equal(r.dst, d, sizeof(d));
		assert_memory_equal(r.origin, o, sizeof(o));
		assert_int_equal(r.hops, hops);
		assert_int_equal(r.frame_len, 60);
	}
}

/* A relay forwards what it parsed with one hop less: the header it writes in
 * place keeps the ids and the frame. */
static void test_forward_in_place(void **state)
{
	uint8_t body[sizeof(vector)];
	struct weft_relay r;

	memcpy(body, vector, sizeof(vector));
	assert_int_equal(weft_relay_parse(&r, body, sizeof(body)), 0);
	weft_relay_put_header(body, r.dst, r.origin, (uint8_t)(r.hops - 1));
	assert_int_equal(body[16], 3);
	assert_memory_equal(body, vector, 16);
	assert_memory_equal(body + 17, vector + 17, sizeof(vector) - 17);
}

/* ---- RELAY_TOO_BIG (docs/protocol.md 13.10) ------------------------------------------- */

/* The vector of docs/protocol.md 13.10: destination 01 ... 08 (dst above), 1321 bytes. */
static const uint8_t too_big_vector[WEFT_RELAY_TOO_BIG_LEN] = {1, 2, 3, 4, 5, 6, 7, 8, 0x05, 0x29};

static void test_too_big_vector(void **state)
{
	uint8_t body[WEFT_RELAY_TOO_BIG_LEN];
	const uint8_t *got = NULL;
	uint16_t max = 0;

	(void)state;
	weft_relay_put_too_big(body, dst, 1321);
	assert_memory_equal(body, too_big_vector, sizeof(body));
	assert_int_equal(weft_relay_parse_too_big(too_big_vector, 10, &got, &max), 0);
	assert_ptr_equal(got, too_big_vector);
	assert_int_equal(max, 1321);
}

static void test_too_big_bad(void **state)
{
	uint8_t body[WEFT_RELAY_TOO_BIG_LEN + 1];
	const uint8_t *got = NULL;
	uint16_t max = 0;

	(void)state;
	memcpy(body, too_big_vector, sizeof(too_big_vector));
	body[WEFT_RELAY_TOO_BIG_LEN] = 0;
	assert_int_equal(weft_relay_parse_too_big(body, 9, &got, &max), -EINVAL);
	assert_int_equal(weft_relay_parse_too_big(body, 11, &got, &max), -EINVAL);
	assert_int_equal(weft_relay_parse_too_big(body, 0, &got, &max), -EINVAL);
	/* 589 is below any path (576 + 14), 590 is the least. */
	body[8] = 0x02;
	body[9] = 0x4d;
	assert_int_equal(weft_relay_parse_too_big(body, 10, &got, &max), -EINVAL);
	body[9] = 0x4e;
	assert_int_equal(weft_relay_parse_too_big(body, 10, &got, &max), 0);
	assert_int_equal(max, 590);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_constants),
	    cmocka_unit_test(test_vector),
	    cmocka_unit_test(test_length_boundaries),
	    cmocka_unit_test(test_hops_boundaries),
	    cmocka_unit_test(test_views),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_forward_in_place),
	    cmocka_unit_test(test_too_big_vector),
	    cmocka_unit_test(test_too_big_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
