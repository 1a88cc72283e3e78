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
#include <sodium.h>

#include "common/session.h"
#include "common/wire.h"

#define T0 1000000 /* an arbitrary creation time, in ms */

static const uint8_t key_i2r[WEFT_KEY_LEN] = {
    0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe,
    0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00,
};
static const uint8_t key_r2i[WEFT_KEY_LEN] = {
    0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5, 0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f,
    0x00, 0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa, 0x99, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
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

/* A session outside any index table, holding @local_index as if a table had
 * handed it out (weft_session_open() checks the receiver index against it). */
static struct weft_session *new_session(const uint8_t *send_key, const uint8_t *recv_key,
					uint32_t local_index, uint32_t remote_index, bool initiator,
					const struct weft_session_limits *limits, uint64_t now)
{
	struct weft_session *s =
	    weft_session_new(send_key, recv_key, remote_index, initiator, limits, now);

	assert_non_null(s);
	assert_int_equal(s->entry.index, 0);
	assert_null(s->set);
	s->entry.index = local_index;
	return s;
}

/* Initiator I (index 0x11111111) and responder R (index 0x22222222). */
struct pair {
	struct weft_session *i, *r;
};

static void make_pair(struct pair *p, const struct weft_session_limits *limits)
{
	p->i = new_session(key_i2r, key_r2i, 0x11111111, 0x22222222, true, limits, T0);
	p->r = new_session(key_r2i, key_i2r, 0x22222222, 0x11111111, false, limits, T0);
	assert_non_null(p->i);
	assert_non_null(p->r);
}

static void free_pair(struct pair *p)
{
	weft_session_free(p->i);
	weft_session_free(p->r);
}

/* Seals one datagram carrying a frame of @frame_len bytes filled with @fill. */
static size_t seal_frame(struct weft_session *s, uint8_t *pkt, size_t cap, size_t frame_len,
			 uint8_t fill, uint64_t now)
{
	struct weft_wire_writer w;
	uint8_t *body;
	size_t len = 0;

	weft_wire_writer_init(&w, pkt + WEFT_WIRE_DATA_HEADER_LEN, cap - WEFT_WIRE_DATA_OVERHEAD);
	assert_int_equal(weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, frame_len, &body), 0);
	memset(body, fill, frame_len);
	assert_int_equal(weft_session_seal(s, pkt, w.len, now, &len), 0);
	assert_int_equal(len, frame_len + WEFT_WIRE_OVERHEAD);
	return len;
}

static void check_frame(const uint8_t *pkt, size_t plain_len, size_t frame_len, uint8_t fill)
{
	struct weft_wire_records it;
	struct weft_wire_record rec;

	weft_wire_records_init(&it, pkt + WEFT_WIRE_DATA_HEADER_LEN, plain_len);
	assert_int_equal(weft_wire_records_next(&it, &rec), 1);
	assert_int_equal(rec.kind, WEFT_WIRE_REC_FRAME);
	assert_int_equal(rec.len, frame_len);
	for (size_t i = 0; i < frame_len; i++)
		assert_int_equal(rec.body[i], fill);
	assert_int_equal(weft_wire_records_next(&it, &rec), 0);
}

/* ---- seal / open ------------------------------------------------------------------ */

static void test_roundtrip_both_ways(void **state)
{
	struct pair p;
	uint8_t pkt[2048];
	size_t len, plain_len;
	struct weft_wire_msg msg;

	make_pair(&p, NULL);
	for (uint64_t n = 0; n < 5; n++) {
		len = seal_frame(p.i, pkt, sizeof(pkt), 60 + n, (uint8_t)n, T0 + n);
		assert_int_equal(weft_wire_parse(&msg, pkt, len), 0);
		assert_int_equal(msg.type, WEFT_WIRE_DATA);
		assert_int_equal(msg.receiver_index, 0x22222222);
		assert_true(msg.counter == n);
		assert_int_equal(weft_session_open(p.r, pkt, len, T0 + n, &plain_len), 1);
		check_frame(pkt, plain_len, 60 + n, (uint8_t)n);

		len = seal_frame(p.r, pkt, sizeof(pkt), 1400, (uint8_t)(0x80 + n), T0 + n);
		assert_int_equal(weft_wire_parse(&msg, pkt, len), 0);
		assert_int_equal(msg.receiver_index, 0x11111111);
		assert_int_equal(weft_session_open(p.i, pkt, len, T0 + n, &plain_len), 1);
		check_frame(pkt, plain_len, 1400, (uint8_t)(0x80 + n));
	}
	assert_true(p.i->send_counter == 5 && p.r->send_counter == 5);
	assert_true(p.i->rx_packets == 5 && p.r->rx_packets == 5);
	for (int d = 0; d < WEFT_SESSION_DROP_COUNT; d++)
		assert_true(p.i->drops[d] == 0 && p.r->drops[d] == 0);

	/* An empty plaintext is a valid datagram too. */
	assert_int_equal(weft_session_seal(p.i, pkt, 0, T0, &len), 0);
	assert_int_equal(len, 32);
	assert_int_equal(weft_session_open(p.r, pkt, len, T0, &plain_len), 1);
	assert_int_equal(plain_len, 0);
	/* A session does not open what it sealed itself (other key, other index). */
	assert_int_equal(weft_session_seal(p.i, pkt, 0, T0, &len), 0);
	assert_int_equal(weft_session_open(p.i, pkt, len, T0, &plain_len), -ENOENT);
	free_pair(&p);
}

/* The AEAD inputs, computed independently: nonce = 4 zero bytes then the
 * counter little-endian, AD = the 16 header bytes, key = the send key. */
static void check_known_answer(void)
{
	struct pair p;
	uint8_t pkt[256], plain[64], expect[64 + 16], nonce[12] = {0};
	static const uint8_t header[16] = {0x04, 0x00, 0x00, 0x00, 0x22, 0x22, 0x22, 0x22,
					   0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11};
	unsigned long long clen;
	size_t len;

	make_pair(&p, NULL);
	p.i->send_counter = UINT64_C(0x0a0b0c0d0e0f1011);
	for (size_t i = 0; i < sizeof(plain); i++)
		plain[i] = (uint8_t)i;
	memcpy(pkt + 16, plain, sizeof(plain));
	assert_int_equal(weft_session_seal(p.i, pkt, sizeof(plain), T0, &len), 0);
	assert_int_equal(len, 16 + 64 + 16);
	assert_memory_equal(pkt, header, 16);

	static const uint8_t le_counter[8] = {0x11, 0x10, 0x0f, 0x0e, 0x0d, 0x0c, 0x0b, 0x0a};
	memcpy(nonce + 4, le_counter, 8);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt(
			     expect, &clen, plain, sizeof(plain), header, 16, NULL, nonce, key_i2r),
			 0);
	assert_int_equal(clen, sizeof(expect));
	assert_memory_equal(pkt + 16, expect, sizeof(expect));
	free_pair(&p);
}

static void test_known_answer(void **state)
{
	check_known_answer();
}

/* The test vector of docs/protocol.md section 12 (checked with Python's
 * cryptography package, an independent ChaCha20-Poly1305). */
static void check_protocol_doc_vector(void)
{
	static const uint8_t expect[98] = {
	    0x04, 0x00, 0x00, 0x00, 0x22, 0x22, 0x22, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x05, 0x21, 0x08, 0x96, 0x0b, 0x45, 0x19, 0xb8, 0xc1, 0x74, 0x55, 0xc6, 0xb7,
	    0x27, 0xb5, 0x30, 0xa3, 0x9e, 0x3f, 0x8b, 0x43, 0xfa, 0x57, 0x11, 0x19, 0x66, 0x26,
	    0xb3, 0xa4, 0x02, 0xe3, 0x61, 0xd3, 0x1f, 0x6e, 0x4a, 0xe7, 0x65, 0x68, 0x12, 0x9a,
	    0x9a, 0x7e, 0xb4, 0x94, 0xa3, 0xd9, 0xf1, 0x9d, 0x0d, 0x4e, 0xb9, 0xb4, 0xce, 0xa0,
	    0x03, 0xf1, 0x1e, 0xfc, 0xc5, 0xfd, 0xae, 0x16, 0xf3, 0x77, 0x04, 0xc8, 0x43, 0xa3,
	    0xb0, 0xc5, 0xa2, 0xd2, 0x0e, 0xf5, 0x41, 0x58, 0x7e, 0xa2, 0x1f, 0xf1, 0x60, 0xb7,
	};
	static const uint8_t frame_head[14] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02,
					       0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06};
	uint8_t send_key[WEFT_KEY_LEN], pkt[256], *body;
	struct weft_wire_writer w;
	struct weft_session *s, *r;
	size_t len, plain_len;

	for (int i = 0; i < WEFT_KEY_LEN; i++)
		send_key[i] = (uint8_t)i;
	s = new_session(send_key, key_r2i, 0x11111111, 0x22222222, true, NULL, T0);
	r = new_session(key_r2i, send_key, 0x22222222, 0x11111111, false, NULL, T0);
	assert_true(s && r);
	s->send_counter = 5;
	weft_wire_writer_init(&w, pkt + 16, sizeof(pkt) - 32);
	assert_int_equal(weft_wire_writer_append(&w, WEFT_WIRE_REC_KEEPALIVE, NULL, 0), 0);
	assert_int_equal(weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, 60, &body), 0);
	memcpy(body, frame_head, 14);
	for (int i = 14; i < 60; i++)
		body[i] = (uint8_t)i;
	assert_int_equal(weft_session_seal(s, pkt, w.len, T0, &len), 0);
	assert_int_equal(len, sizeof(expect));
	assert_memory_equal(pkt, expect, sizeof(expect));
	assert_int_equal(weft_session_open(r, pkt, len, T0, &plain_len), 1);
	assert_int_equal(plain_len, 66);
	weft_session_free(s);
	weft_session_free(r);
}

static void test_protocol_doc_vector(void **state)
{
	check_protocol_doc_vector();
}

/* The backend sealing and opening: libcrypto when it is built in, except in
 * the copy of this test built against libsodium alone
 * (WEFT_AEAD_LIBSODIUM_ONLY, tests/unit/test_session_libsodium), which runs
 * every test here through the fallback. */
static void test_aead_backend(void **state)
{
#if defined(HAVE_LIBCRYPTO) && !defined(WEFT_AEAD_LIBSODIUM_ONLY)
	const enum weft_aead_backend expect = WEFT_AEAD_LIBCRYPTO;
#else
	const enum weft_aead_backend expect = WEFT_AEAD_LIBSODIUM;
#endif
	struct pair p;

	make_pair(&p, NULL);
	assert_int_equal(p.i->aead_tx.backend, expect);
	assert_int_equal(p.i->aead_rx.backend, expect);
	assert_true(p.i->aead_tx.encrypt && !p.i->aead_rx.encrypt);
	print_message("# sessions seal with %s %s\n", weft_aead_name(expect),
		      weft_aead_version(expect));
	free_pair(&p);
}

/* Short datagrams after an idle spell take the cold path (Nettle, or
 * libsodium without it), back to back the session's own backend; either way
 * the peer opens them. */
static void test_idle_short_path(void **state)
{
	static const struct {
		uint64_t at;	 /* ms after T0 */
		size_t frame;	 /* frame length sealed */
		size_t below;	 /* cold_below expected on both sides */
	} steps[] = {
	    {0, 60, WEFT_AEAD_COLD_MAX_LEN}, /* first: idle since ever */
	    {0, 60, 0},				   /* same ms: busy */
	    {1, 60, 0},
	    {1 + WEFT_SESSION_AEAD_IDLE_MS, 60, WEFT_AEAD_COLD_MAX_LEN},
	    {1 + WEFT_SESSION_AEAD_IDLE_MS, 1400, 0},
	    {100, 1400, WEFT_AEAD_COLD_MAX_LEN}, /* a full-size one takes it too */
	    {100, 60, 0},
	};
	uint8_t pkt[2048];
	size_t len, plain_len;
	struct pair p;

	(void)state;
	make_pair(&p, NULL);
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(steps); i++) {
		uint64_t now = T0 + steps[i].at;

		len = seal_frame(p.i, pkt, sizeof(pkt), steps[i].frame, (uint8_t)i, now);
		assert_int_equal(weft_session_open(p.r, pkt, len, now, &plain_len), 1);
		check_frame(pkt, plain_len, steps[i].frame, (uint8_t)i);
		assert_int_equal(p.i->aead_tx.cold_below, steps[i].below);
		assert_int_equal(p.r->aead_rx.cold_below, steps[i].below);
	}
	free_pair(&p);
}

/* The largest datagram, against libsodium's one-shot call as the reference,
 * and refused with one bit of its tag changed. */
static void test_largest_datagram(void **state)
{
	const size_t plain_len = WEFT_WIRE_PLAIN_MAX_LEN;
	uint8_t *pkt = malloc(WEFT_WIRE_DATA_MAX_LEN), *copy = malloc(WEFT_WIRE_DATA_MAX_LEN);
	uint8_t *expect = malloc(WEFT_WIRE_DATA_MAX_LEN), nonce[12] = {0};
	size_t len, out_len;
	struct pair p;

	assert_true(pkt && copy && expect);
	make_pair(&p, NULL);
	p.i->send_counter = 1234567;
	for (size_t i = 0; i < plain_len; i++)
		pkt[WEFT_WIRE_DATA_HEADER_LEN + i] = (uint8_t)(i * 7 + (i >> 8));
	memcpy(expect, pkt, WEFT_WIRE_DATA_MAX_LEN);
	assert_int_equal(weft_session_seal(p.i, pkt, plain_len, T0, &len), 0);
	assert_int_equal(len, WEFT_WIRE_DATA_MAX_LEN);
	memcpy(expect, pkt, WEFT_WIRE_DATA_HEADER_LEN);
	nonce[4] = 1234567 & 0xff;
	nonce[5] = (1234567 >> 8) & 0xff;
	nonce[6] = 1234567 >> 16;
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_encrypt_detached(
			     expect + 16, expect + 16 + plain_len, NULL, expect + 16, plain_len,
			     expect, 16, NULL, nonce, key_i2r),
			 0);
	assert_memory_equal(pkt, expect, len);
	memcpy(copy, pkt, len);
	copy[len - 1] ^= 0x80;
	assert_int_equal(weft_session_open(p.r, copy, len, T0, &out_len), -EBADMSG);
	assert_int_equal(weft_session_open(p.r, pkt, len, T0, &out_len), 1);
	assert_int_equal(out_len, plain_len);
	for (size_t i = 0; i < plain_len; i++)
		assert_int_equal(pkt[WEFT_WIRE_DATA_HEADER_LEN + i], (uint8_t)(i * 7 + (i >> 8)));
	free_pair(&p);
	free(pkt);
	free(copy);
	free(expect);
}

/* A datagram that fails its tag leaves no unauthenticated plaintext behind
 * (libcrypto decrypts before it verifies), and the session opens the next. */
static void test_forged_wiped(void **state)
{
	struct pair p;
	uint8_t pkt[256], copy[256];
	size_t len, plain_len;

	make_pair(&p, NULL);
	len = seal_frame(p.i, pkt, sizeof(pkt), 100, 0x5a, T0);
	memcpy(copy, pkt, len);
	copy[20] ^= 1;
	assert_int_equal(weft_session_open(p.r, copy, len, T0, &plain_len), -EBADMSG);
	/* The header is untouched, the text zeroed... */
	assert_memory_equal(copy, pkt, WEFT_WIRE_DATA_HEADER_LEN);
	for (size_t i = WEFT_WIRE_DATA_HEADER_LEN; i < len - WEFT_WIRE_TAG_LEN; i++)
		assert_int_equal(copy[i], 0);
	/* ...and the genuine one opens with the same context. */
	assert_int_equal(weft_session_open(p.r, pkt, len, T0, &plain_len), 1);
	check_frame(pkt, plain_len, 100, 0x5a);
	free_pair(&p);
}

static void check_flip_every_byte(void)
{
	struct pair p;
	uint8_t pkt[256], copy[256];
	size_t len, plain_len;
	uint64_t auth = 0, malformed = 0, index = 0, limit = 0;

	make_pair(&p, NULL);
	p.i->send_counter = 77;
	len = seal_frame(p.i, pkt, sizeof(pkt), 64, 0x42, T0);
	for (size_t pos = 0; pos < len; pos++) {
		for (int bit = 0; bit < 8; bit++) {
			memcpy(copy, pkt, len);
			copy[pos] ^= (uint8_t)(1u << bit);
			int r = weft_session_open(p.r, copy, len, T0, &plain_len);
			if (pos < 4) {
				assert_int_equal(r, -EINVAL);
				malformed++;
			} else if (pos < 8) {
				assert_int_equal(r, -ENOENT);
				index++;
			} else if (pos == 8 && bit >= 4) {
				/* The counter now reads 2^60 or more. */
				assert_int_equal(r, -ERANGE);
				limit++;
			} else {
				assert_int_equal(r, -EBADMSG);
				auth++;
			}
		}
	}
	assert_true(p.r->drops[WEFT_SESSION_DROP_MALFORMED] == malformed);
	assert_true(p.r->drops[WEFT_SESSION_DROP_UNKNOWN_INDEX] == index);
	assert_true(p.r->drops[WEFT_SESSION_DROP_COUNTER_LIMIT] == limit);
	assert_true(p.r->drops[WEFT_SESSION_DROP_AUTH_FAILED] == auth);
	assert_true(auth == (len - 8) * 8 - 4);
	assert_true(p.r->rx_packets == 0);
	/* Failed datagrams did not move the window: the genuine one still opens. */
	assert_int_equal(weft_session_open(p.r, pkt, len, T0, &plain_len), 1);
	check_frame(pkt, plain_len, 64, 0x42);
	/* Truncated or padded: malformed or not authentic. */
	memcpy(copy, pkt, len);
	assert_int_equal(weft_session_open(p.r, copy, 31, T0, &plain_len), -EINVAL);
	free_pair(&p);
}

static void test_flip_every_byte(void **state)
{
	check_flip_every_byte();
}

static void test_replay_and_too_old(void **state)
{
	struct pair p;
	uint8_t first[256], second[256], late[256], copy[256];
	size_t first_len, second_len, late_len, plain_len;

	make_pair(&p, NULL);
	first_len = seal_frame(p.i, first, sizeof(first), 20, 1, T0);	 /* counter 0 */
	second_len = seal_frame(p.i, second, sizeof(second), 20, 2, T0); /* counter 1 */
	memcpy(copy, first, first_len);
	assert_int_equal(weft_session_open(p.r, copy, first_len, T0, &plain_len), 1);
	memcpy(copy, first, first_len);
	assert_int_equal(weft_session_open(p.r, copy, first_len, T0, &plain_len), -EALREADY);
	assert_true(p.r->drops[WEFT_SESSION_DROP_REPLAYED] == 1);

	/* Jump to counter WINDOW: counter 1 is exactly the oldest still accepted
	 * (a late arrival: 0), counter 0 would now be too old. */
	p.i->send_counter = WEFT_SESSION_REPLAY_WINDOW;
	late_len = seal_frame(p.i, late, sizeof(late), 20, 3, T0);
	assert_int_equal(weft_session_open(p.r, late, late_len, T0, &plain_len), 1);
	memcpy(copy, second, second_len);
	assert_int_equal(weft_session_open(p.r, copy, second_len, T0, &plain_len), 0);
	check_frame(copy, plain_len, 20, 2);
	memcpy(copy, first, first_len);
	assert_int_equal(weft_session_open(p.r, copy, first_len, T0, &plain_len), -ESTALE);
	memcpy(copy, second, second_len);
	assert_int_equal(weft_session_open(p.r, copy, second_len, T0, &plain_len), -EALREADY);
	p.i->send_counter = WEFT_SESSION_REPLAY_WINDOW + 1;
	late_len = seal_frame(p.i, late, sizeof(late), 20, 4, T0);
	assert_int_equal(weft_session_open(p.r, late, late_len, T0, &plain_len), 1);
	memcpy(copy, second, second_len);
	assert_int_equal(weft_session_open(p.r, copy, second_len, T0, &plain_len), -ESTALE);
	assert_true(p.r->drops[WEFT_SESSION_DROP_TOO_OLD] == 2);
	assert_true(p.r->drops[WEFT_SESSION_DROP_REPLAYED] == 2);
	assert_string_equal(weft_session_drop_name(WEFT_SESSION_DROP_TOO_OLD), "too_old");
	free_pair(&p);
}

static void test_counter_exhaustion(void **state)
{
	struct pair p;
	uint8_t pkt[256], forged[256] = {0};
	size_t len, plain_len;

	make_pair(&p, NULL);
	/* The rekey threshold, for either side. */
	p.r->send_counter = WEFT_SESSION_REKEY_AFTER_MESSAGES - 1;
	assert_false(weft_session_needs_rekey(p.r, T0));
	p.r->send_counter = WEFT_SESSION_REKEY_AFTER_MESSAGES;
	assert_true(weft_session_needs_rekey(p.r, T0));

	p.i->send_counter = WEFT_SESSION_REJECT_AFTER_MESSAGES - 1;
	assert_true(weft_session_can_send(p.i, T0));
	len = seal_frame(p.i, pkt, sizeof(pkt), 14, 9, T0);
	assert_false(weft_session_can_send(p.i, T0));
	assert_true(weft_session_needs_rekey(p.i, T0));
	assert_int_equal(weft_session_seal(p.i, forged, 0, T0, &len), -ERANGE);
	assert_int_equal(weft_session_seal(p.i, forged, 0, T0, &len), -ERANGE);
	assert_true(p.i->send_counter == WEFT_SESSION_REJECT_AFTER_MESSAGES);
	/* The last counter opens; a larger one is refused before any crypto. */
	len = 14 + WEFT_WIRE_OVERHEAD;
	assert_int_equal(weft_session_open(p.r, pkt, len, T0, &plain_len), 1);
	weft_wire_put_data_header(forged, 0x22222222, WEFT_SESSION_REJECT_AFTER_MESSAGES);
	assert_int_equal(weft_session_open(p.r, forged, 64, T0, &plain_len), -ERANGE);
	weft_wire_put_data_header(forged, 0x22222222, UINT64_MAX);
	assert_int_equal(weft_session_open(p.r, forged, 64, T0, &plain_len), -ERANGE);
	assert_true(p.r->drops[WEFT_SESSION_DROP_COUNTER_LIMIT] == 2);
	/* And an oversized plaintext is refused without touching the buffer. */
	assert_int_equal(weft_session_seal(p.r, forged, WEFT_WIRE_PLAIN_MAX_LEN + 1, T0, &len),
			 -EMSGSIZE);
	free_pair(&p);
}

static void test_lifetimes_default(void **state)
{
	struct pair p;
	uint8_t pkt[256], keep[256];
	size_t len, keep_len, plain_len;

	make_pair(&p, NULL);
	/* Initiator: rekey at exactly 120 s. */
	assert_false(weft_session_needs_rekey(p.i, T0));
	assert_false(weft_session_needs_rekey(p.i, T0 + 119999));
	assert_true(weft_session_needs_rekey(p.i, T0 + 120000));
	/* Responder: only its fallback, at 165 s. */
	assert_false(weft_session_needs_rekey(p.r, T0 + 120000));
	assert_false(weft_session_needs_rekey(p.r, T0 + 164999));
	assert_true(weft_session_needs_rekey(p.r, T0 + 165000));
	/* Both: expired at exactly 180 s. */
	assert_false(weft_session_expired(p.i, T0 + 179999));
	assert_true(weft_session_expired(p.i, T0 + 180000));
	assert_false(weft_session_expired(p.r, T0 + 179999));
	assert_true(weft_session_expired(p.r, T0 + 180000));
	/* A clock that went backwards does not expire anything. */
	assert_false(weft_session_expired(p.i, 0));
	assert_false(weft_session_needs_rekey(p.i, 0));

	keep_len = seal_frame(p.i, keep, sizeof(keep), 30, 5, T0 + 179999);
	assert_int_equal(weft_session_seal(p.i, pkt, 0, T0 + 180000, &len), -EKEYEXPIRED);
	assert_false(weft_session_can_send(p.i, T0 + 180000));
	assert_int_equal(weft_session_open(p.r, keep, keep_len, T0 + 180000, &plain_len),
			 -EKEYEXPIRED);
	assert_true(p.r->drops[WEFT_SESSION_DROP_EXPIRED] == 1);
	assert_int_equal(weft_session_open(p.r, keep, keep_len, T0 + 179999, &plain_len), 1);
	free_pair(&p);
}

static void test_lifetimes_configured(void **state)
{
	const struct weft_session_limits limits = {.rekey_after_ms = 1000, .reject_after_ms = 3000};
	struct pair p;

	make_pair(&p, &limits);
	assert_false(weft_session_needs_rekey(p.i, T0 + 999));
	assert_true(weft_session_needs_rekey(p.i, T0 + 1000));
	assert_false(weft_session_needs_rekey(p.r, T0 + 2499));
	assert_true(weft_session_needs_rekey(p.r, T0 + 2500));
	assert_false(weft_session_expired(p.r, T0 + 2999));
	assert_true(weft_session_expired(p.r, T0 + 3000));
	free_pair(&p);

	/* The defaults are the documented ones. */
	struct weft_session_limits d = WEFT_SESSION_LIMITS_DEFAULT;
	assert_true(d.rekey_after_ms == 120000 && d.reject_after_ms == 180000);
}

/* ---- replay window ---------------------------------------------------------------- */

static int accept(struct weft_session_replay *r, uint64_t c)
{
	int e = weft_session_replay_check(r, c);

	if (e == 0)
		(void)weft_session_replay_update(r, c);
	return e;
}

static void test_replay_basic(void **state)
{
	struct weft_session_replay r;

	weft_session_replay_init(&r);
	/* Counter 0 is a counter like any other. */
	assert_int_equal(accept(&r, 0), 0);
	assert_int_equal(accept(&r, 0), -EALREADY);
	/* In order. */
	for (uint64_t c = 1; c < 1000; c++)
		assert_int_equal(accept(&r, c), 0);
	for (uint64_t c = 0; c < 1000; c++)
		assert_int_equal(weft_session_replay_check(&r, c), -EALREADY);
	/* Reordering within the window: a gap is filled later, once. */
	assert_int_equal(accept(&r, 1010), 0);
	for (uint64_t c = 1009; c >= 1000; c--)
		assert_int_equal(accept(&r, c), 0);
	assert_int_equal(accept(&r, 1005), -EALREADY);
	/* The oldest accepted counter is highest - WINDOW + 1. */
	weft_session_replay_init(&r);
	assert_int_equal(accept(&r, 50000), 0);
	assert_int_equal(weft_session_replay_check(&r, 50000 - WEFT_SESSION_REPLAY_WINDOW),
			 -ESTALE);
	assert_int_equal(accept(&r, 50000 - WEFT_SESSION_REPLAY_WINDOW + 1), 0);
	assert_int_equal(weft_session_replay_check(&r, 0), -ESTALE);
	/* Before anything was seen, any counter is fine, however large. */
	weft_session_replay_init(&r);
	assert_int_equal(weft_session_replay_check(&r, UINT64_C(1) << 59), 0);
}

static void test_replay_newest(void **state)
{
	struct weft_session_replay r;

	weft_session_replay_init(&r);
	assert_true(weft_session_replay_update(&r, 5));
	assert_false(weft_session_replay_update(&r, 3));
	assert_true(weft_session_replay_update(&r, 6));
	assert_false(weft_session_replay_update(&r, 4));
}

static void test_replay_far_jump(void **state)
{
	struct weft_session_replay r;

	weft_session_replay_init(&r);
	for (uint64_t c = 0; c < 3 * WEFT_SESSION_REPLAY_WINDOW; c += 3)
		assert_int_equal(accept(&r, c), 0);
	/* A jump larger than the window clears everything: the ring wrapped onto
	 * blocks that held old bits, and none of them may show through. */
	uint64_t top = 10 * WEFT_SESSION_REPLAY_WINDOW + 17;
	assert_int_equal(accept(&r, top), 0);
	for (uint64_t c = top - WEFT_SESSION_REPLAY_WINDOW + 1; c < top; c++)
		assert_int_equal(weft_session_replay_check(&r, c), 0);
	assert_int_equal(weft_session_replay_check(&r, top), -EALREADY);
	assert_int_equal(weft_session_replay_check(&r, 3), -ESTALE);
	/* A jump of exactly the ring size lands on the same slot. */
	uint64_t ring = WEFT_SESSION_REPLAY_BLOCKS * 64;
	assert_int_equal(accept(&r, top + ring), 0);
	assert_int_equal(weft_session_replay_check(&r, top + ring - 64), 0);
	assert_int_equal(weft_session_replay_check(&r, top + ring - 1), 0);
}

static void test_replay_ring_wrap(void **state)
{
	struct weft_session_replay r;
	uint64_t ring = WEFT_SESSION_REPLAY_BLOCKS * 64;

	weft_session_replay_init(&r);
	/* Walk several times around the ring with holes every 7th counter,
	 * filling each hole a little later, so slides cross the ring's end. */
	for (uint64_t c = 0; c < 5 * ring; c++) {
		if (c % 7 == 3)
			continue;
		assert_int_equal(accept(&r, c), 0);
		if (c >= 500 && (c - 500) % 7 == 3)
			assert_int_equal(accept(&r, c - 500), 0);
	}
	for (uint64_t c = 5 * ring - WEFT_SESSION_REPLAY_WINDOW; c < 5 * ring - 500; c++)
		assert_int_equal(weft_session_replay_check(&r, c), -EALREADY);
}

/* The window against a model that remembers every counter: accept c iff it was
 * not seen and highest - c < WINDOW (or it is the first, or above the highest). */
static void test_replay_reference_model(void **state)
{
	enum { SPACE = 1 << 24 };
	uint8_t *seen = malloc(SPACE);
	struct weft_session_replay r;
	unsigned long checked = 0;

	assert_non_null(seen);
	for (int seq = 0; seq < 60; seq++) {
		uint64_t highest = 0, c = 0;
		bool any = false;

		memset(seen, 0, SPACE);
		weft_session_replay_init(&r);
		for (int op = 0; op < 20000; op++) {
			uint64_t x = rng() % 1000, d;

			if (x < 500) {
				c = highest + 1 + rng() % 4;
			} else if (x < 750) { /* around the window's edge */
				d = WEFT_SESSION_REPLAY_WINDOW - 70 + rng() % 140;
				c = d > highest ? rng() % (highest + 1) : highest - d;
			} else if (x < 900) { /* recent: duplicates and reordering */
				d = rng() % 200;
				c = d > highest ? rng() % (highest + 1) : highest - d;
			} else if (x < 995) {
				c = rng() % (highest + 1);
			} else { /* far ahead: around a window, a ring, or more */
				c = highest + WEFT_SESSION_REPLAY_WINDOW - 100 + rng() % 20000;
			}
			if (c >= SPACE)
				break;

			int want = 0;
			if (any && c <= highest) {
				if (highest - c >= WEFT_SESSION_REPLAY_WINDOW)
					want = -ESTALE;
				else if (seen[c])
					want = -EALREADY;
			}
			assert_int_equal(weft_session_replay_check(&r, c), want);
			checked++;
			/* One in ten good ones fails authentication: no update. */
			if (want == 0 && rng() % 10 != 0) {
				bool newest = !any || c > highest;
				assert_int_equal(weft_session_replay_update(&r, c), newest);
				seen[c] = 1;
				if (newest)
					highest = c;
				any = true;
			}
		}
	}
	assert_true(checked > 500000);
	free(seen);
}

/* ---- session set --------------------------------------------------------------------- */

/* A peer as the daemon has it: the set embedded, found again with container_of. */
struct peer {
	const char *name;
	struct weft_session_set sessions;
};

/* What a handshake hands over: the index it held in @t, now its session's. */
static struct weft_session *indexed_session(struct weft_index *t, bool initiator, uint64_t now,
					    uint32_t *remote_index)
{
	struct weft_index_entry hs = {0};
	struct weft_session *s;
	uint32_t idx;

	assert_int_equal(
	    weft_index_insert(t, &hs, initiator ? WEFT_INDEX_INITIATION : WEFT_INDEX_RESPONSE), 0);
	idx = hs.index;
	*remote_index = idx ^ 0x5a5a5a5a;
	s = weft_session_new(initiator ? key_i2r : key_r2i, initiator ? key_r2i : key_i2r,
			     *remote_index, initiator, NULL, now);
	assert_non_null(s);
	assert_int_equal(weft_index_replace(t, &hs, &s->entry, WEFT_INDEX_SESSION), 0);
	assert_int_equal(s->entry.index, idx);
	assert_int_equal(hs.index, 0);
	return s;
}

/* The session mapped at @index, as the receive path finds it; or NULL. */
static struct weft_session *lookup_session(const struct weft_index *t, uint32_t index)
{
	struct weft_index_entry *e = weft_index_lookup(t, index, WEFT_INDEX_SESSION);

	return e ? container_of(e, struct weft_session, entry) : NULL;
}

static struct weft_index *new_index(void)
{
	struct weft_index *t;

	assert_int_equal(weft_index_new(&t, 16, NULL, NULL), 0);
	return t;
}

/* A sender matching @s (its mirror image), not in any table. */
static struct weft_session *mirror(const struct weft_session *s)
{
	return new_session(s->initiator ? key_r2i : key_i2r, s->initiator ? key_i2r : key_r2i,
			   s->remote_index, s->entry.index, !s->initiator, NULL, s->created_ms);
}

static void test_set_rotation(void **state)
{
	struct weft_index *t = new_index();
	struct weft_session_set set;
	struct weft_session *s1, *s2, *s3, *peer1, *peer2, *found;
	enum weft_session_slot slot;
	uint8_t inflight[256], pkt[256];
	size_t inflight_len, len, plain_len;
	uint32_t r1, r2, r3, i1, i3;

	assert_non_null(t);
	weft_session_set_init(&set, t);
	assert_null(weft_session_set_send(&set, T0));
	assert_true(weft_session_set_needs_rekey(&set, T0));

	/* Responder side: confirmed at once. */
	s1 = indexed_session(t, false, T0, &r1);
	i1 = s1->entry.index;
	peer1 = mirror(s1);
	weft_session_set_install(&set, s1, true);
	assert_ptr_equal(weft_session_set_send(&set, T0), s1);
	assert_false(weft_session_set_needs_rekey(&set, T0));
	inflight_len = seal_frame(peer1, inflight, sizeof(inflight), 40, 0x11, T0 + 60000);

	/* A new session replaces it; the old one still opens in-flight datagrams. */
	s2 = indexed_session(t, false, T0 + 60000, &r2);
	peer2 = mirror(s2);
	weft_session_set_install(&set, s2, true);
	assert_ptr_equal(set.current, s2);
	assert_ptr_equal(set.previous, s1);
	assert_ptr_equal(weft_session_set_send(&set, T0 + 60000), s2);
	found = lookup_session(t, i1);
	assert_ptr_equal(found, s1);
	assert_int_equal(weft_session_set_slot(&set, found), WEFT_SESSION_SLOT_PREVIOUS);
	assert_ptr_equal(weft_session_set_lookup(&set, i1, &slot), s1);
	assert_int_equal(slot, WEFT_SESSION_SLOT_PREVIOUS);
	assert_ptr_equal(weft_session_set_lookup(&set, s2->entry.index, &slot), s2);
	assert_int_equal(slot, WEFT_SESSION_SLOT_CURRENT);
	assert_null(weft_session_set_lookup(&set, 12345, &slot));
	assert_int_equal(slot, WEFT_SESSION_SLOT_NONE);
	assert_int_equal(weft_session_open(found, inflight, inflight_len, T0 + 61000, &plain_len),
			 1);
	check_frame(inflight, plain_len, 40, 0x11);
	assert_int_equal(weft_session_set_received(&set, found), WEFT_SESSION_SLOT_PREVIOUS);
	len = seal_frame(peer2, pkt, sizeof(pkt), 40, 0x22, T0 + 61000);
	assert_int_equal(weft_session_open(s2, pkt, len, T0 + 61000, &plain_len), 1);

	/* The previous one goes when it expires, and takes its index with it. */
	assert_int_equal(weft_session_set_expire(&set, T0 + 179999), 0);
	assert_int_equal(weft_index_count(t), 2);
	assert_int_equal(weft_session_set_expire(&set, T0 + 180000), 1);
	assert_null(set.previous);
	assert_ptr_equal(set.current, s2);
	assert_null(lookup_session(t, i1));
	assert_int_equal(weft_index_count(t), 1);

	/* Installing two more: the oldest previous is freed on the way. */
	s3 = indexed_session(t, false, T0 + 200000, &r3);
	i3 = s3->entry.index;
	weft_session_set_install(&set, s3, true);
	assert_ptr_equal(set.previous, s2);
	struct weft_session *s4 = indexed_session(t, false, T0 + 210000, &r3);
	weft_session_set_install(&set, s4, true);
	assert_ptr_equal(set.current, s4);
	assert_ptr_equal(set.previous, s3);
	assert_int_equal(weft_index_count(t), 2);
	assert_ptr_equal(lookup_session(t, i3), s3);

	weft_session_set_clear(&set);
	assert_int_equal(weft_index_count(t), 0);
	assert_null(set.current);
	weft_session_free(peer1);
	weft_session_free(peer2);
	weft_index_free(t);
}

/* The receive path: index -> session -> the set that owns it -> its peer. */
static void test_set_owner(void **state)
{
	struct weft_index *t = new_index();
	struct peer p = {.name = "db1"};
	struct weft_session *s1, *s2, *rx;
	uint32_t r, i1, i2;

	weft_session_set_init(&p.sessions, t);
	s1 = indexed_session(t, false, T0, &r);
	assert_null(s1->set);
	weft_session_set_install(&p.sessions, s1, true);
	i1 = s1->entry.index;
	rx = lookup_session(t, i1);
	assert_ptr_equal(rx, s1);
	assert_ptr_equal(rx->set, &p.sessions);
	assert_string_equal(container_of(rx->set, struct peer, sessions)->name, "db1");
	s2 = indexed_session(t, true, T0 + 1000, &r);
	i2 = s2->entry.index;
	weft_session_set_install(&p.sessions, s2, false);
	assert_ptr_equal(lookup_session(t, i2)->set, &p.sessions);
	/* A handshake entry is not a session, whatever its index. */
	assert_null(weft_index_lookup(t, i1, WEFT_INDEX_INITIATION | WEFT_INDEX_RESPONSE));
	assert_int_equal(weft_index_count(t), 2);
	weft_session_set_clear(&p.sessions);
	assert_null(lookup_session(t, i1));
	assert_null(lookup_session(t, i2));
	assert_int_equal(weft_index_count(t), 0);
	weft_index_free(t);
}

/* An unconfirmed session whose handshake is deemed failed is dropped with its
 * index; what was current stays, and with nothing left a rekey is due. */
static void test_set_drop_next(void **state)
{
	struct weft_index *t = new_index();
	struct weft_session_set set;
	struct weft_session *s1, *s2;
	uint32_t r, i2;

	assert_non_null(t);
	weft_session_set_init(&set, t);
	s1 = indexed_session(t, true, T0, &r);
	weft_session_set_install(&set, s1, false);
	weft_session_set_drop_next(&set);
	assert_null(set.next);
	assert_int_equal(weft_index_count(t), 0);
	assert_null(weft_session_set_send(&set, T0));
	assert_true(weft_session_set_needs_rekey(&set, T0));

	s1 = indexed_session(t, false, T0, &r);
	weft_session_set_install(&set, s1, true);
	s2 = indexed_session(t, true, T0 + 1000, &r);
	i2 = s2->entry.index;
	weft_session_set_install(&set, s2, false);
	weft_session_set_drop_next(&set);
	assert_null(set.next);
	assert_ptr_equal(set.current, s1);
	assert_null(lookup_session(t, i2));
	assert_ptr_equal(weft_session_set_send(&set, T0 + 1000), s1);
	/* Dropping nothing is harmless. */
	weft_session_set_drop_next(&set);
	assert_ptr_equal(set.current, s1);
	weft_session_set_clear(&set);
	weft_index_free(t);
}

static void test_set_initiator_confirmation(void **state)
{
	struct weft_index *t = new_index();
	struct weft_session_set set;
	struct weft_session *s1, *s2, *s2b, *peer2;
	uint8_t pkt[256];
	size_t len, plain_len;
	uint32_t r;

	assert_non_null(t);
	weft_session_set_init(&set, t);

	/* First handshake as initiator: nothing older, so next is what we send with. */
	s1 = indexed_session(t, true, T0, &r);
	weft_session_set_install(&set, s1, false);
	assert_ptr_equal(set.next, s1);
	assert_null(set.current);
	assert_ptr_equal(weft_session_set_send(&set, T0), s1);
	assert_false(weft_session_set_needs_rekey(&set, T0));
	assert_int_equal(weft_session_set_received(&set, s1), WEFT_SESSION_SLOT_CURRENT);
	assert_ptr_equal(set.current, s1);
	assert_null(set.next);

	/* Rekey at 120 s. Until the peer uses the new session, keep sending with
	 * the confirmed one (our CONFIRM may be lost) and do not start yet another
	 * handshake. */
	assert_true(weft_session_set_needs_rekey(&set, T0 + 120000));
	s2 = indexed_session(t, true, T0 + 120000, &r);
	weft_session_set_install(&set, s2, false);
	assert_ptr_equal(weft_session_set_send(&set, T0 + 120000), s1);
	assert_false(weft_session_set_needs_rekey(&set, T0 + 120000));
	/* A retry replaces the unconfirmed one. */
	s2b = indexed_session(t, true, T0 + 125000, &r);
	uint32_t gone = s2->entry.index;
	weft_session_set_install(&set, s2b, false);
	assert_null(lookup_session(t, gone));
	assert_ptr_equal(set.next, s2b);
	assert_int_equal(weft_index_count(t), 2);

	/* The peer's first datagram on it confirms it. */
	peer2 = mirror(s2b);
	len = seal_frame(peer2, pkt, sizeof(pkt), 14, 0, T0 + 126000);
	assert_int_equal(weft_session_open(set.next, pkt, len, T0 + 126000, &plain_len), 1);
	assert_int_equal(weft_session_set_received(&set, s2b), WEFT_SESSION_SLOT_CURRENT);
	assert_ptr_equal(set.current, s2b);
	assert_ptr_equal(set.previous, s1);
	assert_ptr_equal(weft_session_set_send(&set, T0 + 126000), s2b);

	/* If the current session is dead, a pending next is used. */
	weft_session_set_clear(&set);
	s1 = indexed_session(t, false, T0, &r);
	weft_session_set_install(&set, s1, true);
	s2 = indexed_session(t, true, T0 + 170000, &r);
	weft_session_set_install(&set, s2, false);
	assert_ptr_equal(weft_session_set_send(&set, T0 + 179999), s1);
	assert_ptr_equal(weft_session_set_send(&set, T0 + 180000), s2);
	assert_int_equal(weft_session_set_expire(&set, T0 + 180000), 1);
	assert_null(set.current);
	assert_ptr_equal(set.next, s2);
	/* Everything expired: nothing to send with, rekey. */
	assert_null(weft_session_set_send(&set, T0 + 350000));
	assert_true(weft_session_set_needs_rekey(&set, T0 + 350000));
	assert_int_equal(weft_session_set_expire(&set, T0 + 350000), 1);
	assert_int_equal(weft_index_count(t), 0);

	weft_session_free(peer2);
	weft_index_free(t);
}

/* Both sides initiate at once: each ends up with two sessions, each installed
 * in some order; whatever each side sends with, the other opens it. */
static void test_set_simultaneous(void **state)
{
	struct weft_session_set a, b;
	struct weft_session *h1_a, *h1_b, *h2_a, *h2_b, *sa, *sb;
	uint8_t pkt[256];
	size_t len, plain_len;

	weft_session_set_init(&a, NULL);
	weft_session_set_init(&b, NULL);
	/* H1: A initiates (A=initiator). H2: B initiates. */
	h1_a = new_session(key_i2r, key_r2i, 0xa1, 0xb1, true, NULL, T0);
	h1_b = new_session(key_r2i, key_i2r, 0xb1, 0xa1, false, NULL, T0);
	h2_b = new_session(key_r2i, key_i2r, 0xb2, 0xa2, true, NULL, T0);
	h2_a = new_session(key_i2r, key_r2i, 0xa2, 0xb2, false, NULL, T0);
	assert_true(h1_a && h1_b && h2_a && h2_b);
	/* Each initiator finishes first (sends CONFIRM), then gets the other's CONFIRM. */
	weft_session_set_install(&a, h1_a, false);
	weft_session_set_install(&b, h2_b, false);
	weft_session_set_install(&a, h2_a, true);
	weft_session_set_install(&b, h1_b, true);

	/* Each responder sends a keepalive at once with its new current. */
	sa = weft_session_set_send(&a, T0);
	sb = weft_session_set_send(&b, T0);
	assert_ptr_equal(sa, h2_a);
	assert_ptr_equal(sb, h1_b);
	assert_int_equal(weft_session_seal(sa, pkt, 0, T0, &len), 0);
	struct weft_session *rx = weft_session_set_lookup(&b, 0xb2, NULL);
	assert_ptr_equal(rx, h2_b);
	assert_int_equal(weft_session_open(rx, pkt, len, T0, &plain_len), 1);
	weft_session_set_received(&b, rx);
	assert_int_equal(weft_session_seal(sb, pkt, 0, T0, &len), 0);
	rx = weft_session_set_lookup(&a, 0xa1, NULL);
	assert_ptr_equal(rx, h1_a);
	assert_int_equal(weft_session_open(rx, pkt, len, T0, &plain_len), 1);
	weft_session_set_received(&a, rx);

	/* Both sets now hold both sessions and no pending one; traffic flows both
	 * ways with what each picks. */
	assert_null(a.next);
	assert_null(b.next);
	for (int i = 0; i < 3; i++) {
		sa = weft_session_set_send(&a, T0 + 1);
		len = seal_frame(sa, pkt, sizeof(pkt), 20, 7, T0 + 1);
		rx = weft_session_set_lookup(&b, sa->remote_index, NULL);
		assert_non_null(rx);
		assert_true(weft_session_open(rx, pkt, len, T0 + 1, &plain_len) >= 0);
		sb = weft_session_set_send(&b, T0 + 1);
		len = seal_frame(sb, pkt, sizeof(pkt), 20, 8, T0 + 1);
		rx = weft_session_set_lookup(&a, sb->remote_index, NULL);
		assert_non_null(rx);
		assert_true(weft_session_open(rx, pkt, len, T0 + 1, &plain_len) >= 0);
	}
	/* Each side initiated the session it sends with: both rekey on time. */
	assert_true(weft_session_set_needs_rekey(&a, T0 + 120000));
	assert_true(weft_session_set_needs_rekey(&b, T0 + 120000));
	weft_session_set_clear(&a);
	weft_session_set_clear(&b);
}

static void test_drop_names(void **state)
{
	static const char *const names[] = {"malformed",     "unknown_index", "expired",
					    "counter_limit", "too_old",	      "replayed",
					    "auth_failed"};

	assert_int_equal(WEFT_ARRAY_SIZE(names), WEFT_SESSION_DROP_COUNT);
	for (int d = 0; d < WEFT_SESSION_DROP_COUNT; d++)
		assert_string_equal(weft_session_drop_name(d), names[d]);
	assert_string_equal(weft_session_drop_name(WEFT_SESSION_DROP_COUNT), "?");
	assert_string_equal(weft_session_drop_name((enum weft_session_drop) - 1), "?");
	assert_int_equal(weft_session_drop_reason(-EBADMSG), WEFT_SESSION_DROP_AUTH_FAILED);
	assert_int_equal(weft_session_drop_reason(-EALREADY), WEFT_SESSION_DROP_REPLAYED);
	assert_int_equal(weft_session_drop_reason(-ESTALE), WEFT_SESSION_DROP_TOO_OLD);
	assert_int_equal(weft_session_drop_reason(-EKEYEXPIRED), WEFT_SESSION_DROP_EXPIRED);
	assert_int_equal(weft_session_drop_reason(-ENOENT), WEFT_SESSION_DROP_UNKNOWN_INDEX);
	assert_int_equal(weft_session_drop_reason(-ERANGE), WEFT_SESSION_DROP_COUNTER_LIMIT);
	assert_int_equal(weft_session_drop_reason(-EINVAL), WEFT_SESSION_DROP_MALFORMED);
}

static void test_free_null(void **state)
{
	weft_session_free(NULL);
	/* The struct is wiped on free; the key memory is sodium's (guarded). */
	struct weft_session *s = weft_session_new(key_i2r, key_r2i, 2, true, NULL, 0);
	assert_non_null(s);
	assert_int_equal(s->entry.index, 0);
	assert_int_equal(s->remote_index, 2);
	assert_memory_equal(s->keys, key_i2r, WEFT_KEY_LEN);
	assert_memory_equal(s->keys + WEFT_KEY_LEN, key_r2i, WEFT_KEY_LEN);
	weft_session_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_both_ways),
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_protocol_doc_vector),
	    cmocka_unit_test(test_aead_backend),
	    cmocka_unit_test(test_idle_short_path),
	    cmocka_unit_test(test_largest_datagram),
	    cmocka_unit_test(test_forged_wiped),
	    cmocka_unit_test(test_flip_every_byte),
	    cmocka_unit_test(test_replay_and_too_old),
	    cmocka_unit_test(test_counter_exhaustion),
	    cmocka_unit_test(test_lifetimes_default),
	    cmocka_unit_test(test_lifetimes_configured),
	    cmocka_unit_test(test_replay_basic),
	    cmocka_unit_test(test_replay_newest),
	    cmocka_unit_test(test_replay_far_jump),
	    cmocka_unit_test(test_replay_ring_wrap),
	    cmocka_unit_test(test_replay_reference_model),
	    cmocka_unit_test(test_set_rotation),
	    cmocka_unit_test(test_set_owner),
	    cmocka_unit_test(test_set_initiator_confirmation),
	    cmocka_unit_test(test_set_drop_next),
	    cmocka_unit_test(test_set_simultaneous),
	    cmocka_unit_test(test_drop_names),
	    cmocka_unit_test(test_free_null),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
