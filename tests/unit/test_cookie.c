/* SPDX-License-Identifier: MIT */
/* common/cookie: the published test vector (docs/protocol.md, section 12.2),
 * the MACs, the responder's secret over time, COOKIE sealing and the
 * initiator's jar. */
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
#include <sodium.h>

#include "common/cookie.h"
#include "common/handshake.h"
#include "common/wire.h"

/* ---- the test vector --------------------------------------------------------
 * Inputs: PSK 00..1f, network "prod"; the initiator's static key 40..5f,
 * ephemeral key 60..7f, sender index 0x11223344, timestamp 1700000000000,
 * nickname "h1", capabilities MESH, listen port 6783; seen by the responder
 * from 10.0.0.1:6783; the responder's secret 80..9f; the COOKIE's nonce
 * a0..b7. Checked with hashlib.blake2b, PyNaCl and HChaCha20 over
 * `cryptography' (tests/unit/cookie_vector.py). */

static const uint8_t vec_mac1_key[32] = {
    0x29, 0xc5, 0x2d, 0xd7, 0xce, 0x37, 0x8d, 0x7f, 0xb6, 0x1b, 0x48, 0x8e, 0xbc, 0x16, 0x27, 0x35,
    0xe6, 0xe6, 0xac, 0x1c, 0xee, 0x10, 0x63, 0x25, 0xf0, 0xe3, 0x6a, 0xd5, 0x05, 0x47, 0x5b, 0x83};
static const uint8_t vec_seal_key[32] = {
    0x5a, 0xab, 0x42, 0x40, 0x0d, 0x07, 0xaa, 0x32, 0x15, 0x5b, 0xa1, 0x08, 0x5a, 0xad, 0x52, 0x12,
    0x27, 0xf6, 0xbf, 0x70, 0xa7, 0x36, 0xad, 0xd5, 0x76, 0xf8, 0xc2, 0x28, 0x73, 0x8c, 0x88, 0xf8};
/* The HELLO without a cookie: mac2 zero. */
static const uint8_t vec_hello[110] = {
    0x01, 0x02, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0x67, 0x5d, 0xd5, 0x74, 0xed, 0x77, 0x89, 0x31,
    0x0b, 0x3d, 0x2e, 0x76, 0x81, 0xf3, 0x79, 0x0b, 0x46, 0x6c, 0x77, 0x3b, 0x15, 0x21, 0xfe, 0xcf,
    0x36, 0x57, 0x79, 0x58, 0x37, 0x1e, 0xa5, 0x2f, 0x3a, 0xd9, 0x22, 0x9a, 0x25, 0x45, 0xf7, 0xc8,
    0xbb, 0x3e, 0x75, 0x15, 0x83, 0x7a, 0x23, 0x8b, 0x18, 0xb5, 0xcf, 0x47, 0xc4, 0x32, 0x81, 0x03,
    0x48, 0xea, 0xd5, 0x73, 0x3a, 0xa8, 0x60, 0x5c, 0xbb, 0x62, 0xea, 0x62, 0xe5, 0x4b, 0x67, 0xd8,
    0x62, 0xdd, 0x2e, 0xb3, 0x47, 0x66, 0x06, 0x69, 0x1f, 0x04, 0x6b, 0x03, 0x09, 0xa7, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};
static const uint8_t vec_cookie[16] = {0x87, 0x6d, 0x9f, 0xa0, 0xd7, 0x13, 0x52, 0x4e,
				       0xf6, 0x37, 0x30, 0x44, 0xef, 0x8f, 0xdd, 0x36};
static const uint8_t vec_cookie_msg[64] = {
    0x05, 0x02, 0x00, 0x00, 0x11, 0x22, 0x33, 0x44, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
    0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5, 0xb6, 0xb7,
    0x7d, 0xee, 0x0f, 0x0a, 0xc9, 0x74, 0xb0, 0xcf, 0x3a, 0x62, 0x98, 0x74, 0x97, 0x52, 0xce, 0xe7,
    0xe1, 0xb0, 0x88, 0xe3, 0xf2, 0xa6, 0x5e, 0x27, 0x49, 0x01, 0x16, 0xf0, 0x56, 0xba, 0xbe, 0xd7};
static const uint8_t vec_mac2[16] = {0xc1, 0x2e, 0x77, 0x7a, 0xda, 0x94, 0x93, 0x0a,
				     0x47, 0xed, 0xad, 0xb7, 0x98, 0xc3, 0xa3, 0x8a};

static uint8_t psk[32], static_sk[32], static_pk[32], eph[32], secret_bytes[32], nonce[24];

static union weft_sockaddr v4(uint32_t addr, uint16_t port)
{
	union weft_sockaddr a = {.in4 = {.sin_family = AF_INET, .sin_port = htons(port)}};

	a.in4.sin_addr.s_addr = htonl(addr);
	return a;
}

static union weft_sockaddr v6(const char *text, uint16_t port)
{
	union weft_sockaddr a = {.in6 = {.sin6_family = AF_INET6, .sin6_port = htons(port)}};

	assert_int_equal(inet_pton(AF_INET6, text, &a.in6.sin6_addr), 1);
	return a;
}

static void test_vector(void **state)
{
	struct weft_cookie_keys k;
	struct weft_handshake *hs = weft_handshake_new();
	struct weft_cookie_secret *s = weft_cookie_secret_new();
	struct weft_handshake_config cfg = {
	    .static_priv = static_sk,
	    .static_pub = static_pk,
	    .psk = psk,
	    .network = "prod",
	    .nickname = "h1",
	    .capabilities = WEFT_HANDSHAKE_CAP_MESH,
	    .listen_port = 6783,
	    .ephemeral_priv = eph,
	};
	union weft_sockaddr src = v4(0x0a000001, 6783);
	uint8_t hello[256], cookie[16], sealed[32], msg[64];
	char err[WEFT_ERRLEN];
	size_t len, mlen;

	assert_non_null(hs);
	assert_non_null(s);
	assert_int_equal(weft_cookie_keys_derive(&k, psk, "prod"), 0);
	assert_memory_equal(k.mac1, vec_mac1_key, 32);
	assert_memory_equal(k.seal, vec_seal_key, 32);

	assert_int_equal(weft_handshake_write_hello_datagram(hs, &cfg, 0x11223344,
							     UINT64_C(1700000000000), hello,
							     sizeof(hello), &len, err),
			 0);
	assert_int_equal(len, sizeof(vec_hello));
	assert_memory_equal(hello, vec_hello, sizeof(vec_hello));
	assert_true(weft_cookie_mac1_valid(&k, vec_hello, sizeof(vec_hello)));

	weft_cookie_secret_set(s, secret_bytes, 1000);
	weft_cookie_make(s, 1000, &src, cookie);
	assert_memory_equal(cookie, vec_cookie, 16);
	weft_cookie_seal(&k, cookie, vec_hello + 78, nonce, sealed);
	assert_int_equal(weft_wire_build_cookie(msg, sizeof(msg), 0x11223344, nonce, sealed, &mlen),
			 0);
	assert_int_equal(mlen, 64);
	assert_memory_equal(msg, vec_cookie_msg, 64);

	weft_cookie_put_mac2(cookie, hello, len);
	assert_memory_equal(hello, vec_hello, 94);
	assert_memory_equal(hello + 94, vec_mac2, 16);
	assert_true(weft_cookie_check(s, 1000, &src, hello, len));

	/* And back: the initiator opens the published COOKIE. */
	{
		struct weft_wire_msg m;
		uint8_t got[16];

		assert_int_equal(weft_wire_parse(&m, vec_cookie_msg, 64), 0);
		assert_int_equal(weft_cookie_open(&k, &m, vec_hello + 78, got), 0);
		assert_memory_equal(got, vec_cookie, 16);
	}
	weft_cookie_secret_free(s);
	weft_handshake_free(hs);
}

static void test_keys(void **state)
{
	struct weft_cookie_keys a, b;
	char name[WEFT_COOKIE_NETWORK_MAX + 2];
	uint8_t other[32];

	assert_int_equal(weft_cookie_keys_derive(&a, psk, "prod"), 0);
	assert_int_equal(weft_cookie_keys_derive(&b, psk, "prod2"), 0);
	assert_memory_not_equal(a.mac1, b.mac1, 32);
	assert_memory_not_equal(a.seal, b.seal, 32);
	assert_memory_not_equal(a.mac1, a.seal, 32);
	memcpy(other, psk, 32);
	other[0] ^= 1;
	assert_int_equal(weft_cookie_keys_derive(&b, other, "prod"), 0);
	assert_memory_not_equal(a.mac1, b.mac1, 32);
	/* The empty name and the longest are fine; one longer is refused. */
	assert_int_equal(weft_cookie_keys_derive(&b, psk, ""), 0);
	memset(name, 'n', sizeof(name));
	name[WEFT_COOKIE_NETWORK_MAX] = '\0';
	assert_int_equal(weft_cookie_keys_derive(&b, psk, name), 0);
	name[WEFT_COOKIE_NETWORK_MAX] = 'n';
	name[WEFT_COOKIE_NETWORK_MAX + 1] = '\0';
	assert_int_equal(weft_cookie_keys_derive(&b, psk, name), -EINVAL);
	assert_null(weft_cookie_keys_new(psk, name));
	assert_int_equal(weft_cookie_keys_derive(&b, psk, NULL), -EINVAL);
	{
		struct weft_cookie_keys *k = weft_cookie_keys_new(psk, "prod");

		assert_non_null(k);
		assert_memory_equal(k->mac1, a.mac1, 32);
		weft_cookie_keys_free(k);
		weft_cookie_keys_free(NULL);
	}
}

/* mac1 covers every byte before it; mac2 every byte before it, mac1 too. */
static void test_macs(void **state)
{
	struct weft_cookie_keys k, other;
	uint8_t hello[sizeof(vec_hello)], cookie[16];

	assert_int_equal(weft_cookie_keys_derive(&k, psk, "prod"), 0);
	assert_int_equal(weft_cookie_keys_derive(&other, psk, "prod2"), 0);
	memcpy(hello, vec_hello, sizeof(hello));
	assert_true(weft_cookie_mac1_valid(&k, hello, sizeof(hello)));
	assert_false(weft_cookie_mac1_valid(&other, hello, sizeof(hello)));
	for (size_t i = 0; i < 94; i++) {
		hello[i] ^= 0x01;
		assert_false(weft_cookie_mac1_valid(&k, hello, sizeof(hello)));
		hello[i] ^= 0x01;
	}
	/* mac2 is not covered by mac1. */
	hello[100] ^= 0xff;
	assert_true(weft_cookie_mac1_valid(&k, hello, sizeof(hello)));

	memcpy(cookie, vec_cookie, 16);
	/* A zero mac2 never matches, whatever the cookie. */
	memcpy(hello, vec_hello, sizeof(hello));
	assert_false(weft_cookie_mac2_valid(cookie, hello, sizeof(hello)));
	weft_cookie_put_macs(&k, cookie, hello, sizeof(hello));
	assert_true(weft_cookie_mac1_valid(&k, hello, sizeof(hello)));
	assert_memory_equal(hello + 94, vec_mac2, 16);
	assert_true(weft_cookie_mac2_valid(cookie, hello, sizeof(hello)));
	for (size_t i = 0; i < sizeof(hello); i++) {
		hello[i] ^= 0x80;
		assert_false(weft_cookie_mac2_valid(cookie, hello, sizeof(hello)));
		hello[i] ^= 0x80;
	}
	cookie[15] ^= 1;
	assert_false(weft_cookie_mac2_valid(cookie, hello, sizeof(hello)));
	/* No cookie: mac2 back to zeros, mac1 untouched. */
	weft_cookie_put_mac2(NULL, hello, sizeof(hello));
	assert_memory_equal(hello, vec_hello, sizeof(hello));
}

static void test_source(void **state)
{
	uint8_t out[WEFT_COOKIE_SOURCE_MAX];
	union weft_sockaddr a = v4(0x0a000001, 6783), none = {0};
	static const uint8_t want4[] = {10, 0, 0, 1, 0x1a, 0x7f};
	static const uint8_t want6[] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,    0,
					0,    0,    0,	  0,	0, 0, 1, 0x1a, 0x7f};

	assert_int_equal(weft_cookie_source(out, &a), 6);
	assert_memory_equal(out, want4, 6);
	a = v6("::ffff:10.0.0.1", 6783);
	assert_int_equal(weft_cookie_source(out, &a), 6);
	assert_memory_equal(out, want4, 6);
	a = v6("2001:db8::1", 6783);
	assert_int_equal(weft_cookie_source(out, &a), 18);
	assert_memory_equal(out, want6, 18);
	assert_int_equal(weft_cookie_source(out, &none), 0);
}

/* A cookie is valid under the secret that made it and the next one, never
 * for another source, and not once two secrets have passed. */
static void test_secret_rotation(void **state)
{
	struct weft_cookie_secret *s = weft_cookie_secret_new();
	struct weft_cookie_keys k;
	union weft_sockaddr src = v4(0x0a000001, 6783), other = v4(0x0a000001, 6784);
	union weft_sockaddr six = v6("2001:db8::1", 6783), six_same64 = v6("2001:db8::2", 6783);
	uint8_t hello[sizeof(vec_hello)], c0[16], c1[16], c2[16];
	const uint64_t t0 = 5000, R = WEFT_COOKIE_ROTATE_MS;

	assert_non_null(s);
	assert_int_equal(weft_cookie_keys_derive(&k, psk, "prod"), 0);
	memcpy(hello, vec_hello, sizeof(hello));
	/* The first use draws a secret: the same cookie until it rotates. */
	weft_cookie_make(s, t0, &src, c0);
	weft_cookie_make(s, t0 + R - 1, &src, c1);
	assert_memory_equal(c0, c1, 16);
	weft_cookie_make(s, t0, &other, c1);
	assert_memory_not_equal(c0, c1, 16);
	/* Every address its own cookie, IPv6 too (the whole address, not the /64). */
	weft_cookie_make(s, t0, &six, c1);
	weft_cookie_make(s, t0, &six_same64, c2);
	assert_memory_not_equal(c1, c2, 16);

	weft_cookie_put_mac2(c0, hello, sizeof(hello));
	assert_true(weft_cookie_check(s, t0, &src, hello, sizeof(hello)));
	assert_false(weft_cookie_check(s, t0, &other, hello, sizeof(hello)));
	/* Rotated once: a new cookie, the old one still accepted. */
	weft_cookie_make(s, t0 + R, &src, c1);
	assert_memory_not_equal(c0, c1, 16);
	assert_true(weft_cookie_check(s, t0 + R, &src, hello, sizeof(hello)));
	assert_true(weft_cookie_check(s, t0 + 2 * R - 1, &src, hello, sizeof(hello)));
	/* Twice: gone. */
	assert_false(weft_cookie_check(s, t0 + 2 * R, &src, hello, sizeof(hello)));
	weft_cookie_make(s, t0 + 2 * R, &src, c2);
	assert_memory_not_equal(c1, c2, 16);
	/* A long pause forgets the previous secret too. */
	weft_cookie_put_mac2(c2, hello, sizeof(hello));
	assert_true(weft_cookie_check(s, t0 + 2 * R, &src, hello, sizeof(hello)));
	assert_false(weft_cookie_check(s, t0 + 10 * R, &src, hello, sizeof(hello)));
	/* A zero mac2 costs nothing and proves nothing. */
	weft_cookie_put_mac2(NULL, hello, sizeof(hello));
	assert_false(weft_cookie_check(s, t0 + 10 * R, &src, hello, sizeof(hello)));
	/* Two responders' secrets differ. */
	{
		struct weft_cookie_secret *s2 = weft_cookie_secret_new();

		weft_cookie_make(s, t0 + 10 * R, &src, c0);
		weft_cookie_make(s2, t0 + 10 * R, &src, c1);
		assert_memory_not_equal(c0, c1, 16);
		weft_cookie_secret_free(s2);
	}
	weft_cookie_secret_free(s);
	weft_cookie_secret_free(NULL);
}

static void test_reply_and_open(void **state)
{
	struct weft_cookie_keys k, other;
	struct weft_cookie_secret *s = weft_cookie_secret_new();
	union weft_sockaddr src = v4(0x0a000001, 6783);
	uint8_t reply[WEFT_WIRE_COOKIE_LEN + 1], reply2[WEFT_WIRE_COOKIE_LEN], got[16], want[16];
	struct weft_wire_msg m;
	size_t len, len2;

	assert_int_equal(weft_cookie_keys_derive(&k, psk, "prod"), 0);
	assert_int_equal(weft_cookie_keys_derive(&other, psk, "other"), 0);
	assert_int_equal(weft_cookie_reply(&k, s, 1, &src, vec_hello, sizeof(vec_hello), reply,
					   WEFT_WIRE_COOKIE_LEN - 1, &len),
			 -ENOBUFS);
	assert_int_equal(weft_cookie_reply(&k, s, 1, &src, vec_hello, sizeof(vec_hello), reply,
					   sizeof(reply), &len),
			 0);
	assert_int_equal(len, WEFT_WIRE_COOKIE_LEN);
	assert_int_equal(weft_wire_parse(&m, reply, len), 0);
	assert_int_equal(m.type, WEFT_WIRE_COOKIE);
	assert_int_equal(m.receiver_index, 0x11223344);
	assert_int_equal(weft_cookie_open(&k, &m, vec_hello + 78, got), 0);
	weft_cookie_make(s, 1, &src, want);
	assert_memory_equal(got, want, 16);
	/* Random nonces: two replies differ, both open to the same cookie. */
	assert_int_equal(weft_cookie_reply(&k, s, 2, &src, vec_hello, sizeof(vec_hello), reply2,
					   sizeof(reply2), &len2),
			 0);
	assert_memory_not_equal(reply + 8, reply2 + 8, 24);
	/* Bound to the HELLO's mac1 and to the network. */
	{
		uint8_t mac1[16];

		memcpy(mac1, vec_hello + 78, 16);
		mac1[0] ^= 1;
		assert_int_equal(weft_cookie_open(&k, &m, mac1, got), -EBADMSG);
		assert_true(sodium_is_zero(got, 16));
	}
	assert_int_equal(weft_cookie_open(&other, &m, vec_hello + 78, got), -EBADMSG);
	/* Every flipped byte of nonce and sealed cookie is refused. */
	for (size_t i = 8; i < len; i++) {
		reply[i] ^= 0x04;
		assert_int_equal(weft_wire_parse(&m, reply, len), 0);
		assert_int_equal(weft_cookie_open(&k, &m, vec_hello + 78, got), -EBADMSG);
		reply[i] ^= 0x04;
	}
	/* Not a COOKIE of this version: refused without looking. */
	assert_int_equal(weft_wire_parse(&m, reply, len), 0);
	m.version = 1;
	assert_int_equal(weft_cookie_open(&k, &m, vec_hello + 78, got), -EBADMSG);
	m.version = WEFT_WIRE_VERSION;
	m.type = WEFT_WIRE_HELLO;
	assert_int_equal(weft_cookie_open(&k, &m, vec_hello + 78, got), -EBADMSG);
	weft_cookie_secret_free(s);
}

static void test_jar(void **state)
{
	struct weft_cookie_jar *j = weft_cookie_jar_new(1);
	union weft_sockaddr a = v4(0x0a000002, 6783), b = v4(0x0a000002, 6784), none = {0};
	union weft_sockaddr mapped = v6("::ffff:10.0.0.2", 6783);
	uint8_t c1[16], c2[16], got[16];

	assert_non_null(j);
	assert_null(weft_cookie_jar_new(0));
	assert_null(weft_cookie_jar_new((1U << 20) + 1));
	memset(c1, 0x11, 16);
	memset(c2, 0x22, 16);
	assert_false(weft_cookie_jar_get(j, &a, 0, got));
	weft_cookie_jar_put(j, &a, c1, 1000);
	assert_true(weft_cookie_jar_get(j, &a, 1000, got));
	assert_memory_equal(got, c1, 16);
	/* The same responder however a socket saw it. */
	assert_true(weft_cookie_jar_get(j, &mapped, 1000, got));
	/* Kept WEFT_COOKIE_KEEP_MS, not longer; a clock gone back finds nothing. */
	assert_true(weft_cookie_jar_get(j, &a, 1000 + WEFT_COOKIE_KEEP_MS - 1, got));
	assert_false(weft_cookie_jar_get(j, &a, 1000 + WEFT_COOKIE_KEEP_MS, got));
	assert_false(weft_cookie_jar_get(j, &a, 999, got));
	/* Another port is another responder; in a one-slot jar it takes the slot. */
	assert_false(weft_cookie_jar_get(j, &b, 1000, got));
	weft_cookie_jar_put(j, &b, c2, 1001);
	assert_true(weft_cookie_jar_get(j, &b, 1001, got));
	assert_memory_equal(got, c2, 16);
	assert_false(weft_cookie_jar_get(j, &a, 1001, got));
	/* A newer cookie replaces the older. */
	weft_cookie_jar_put(j, &b, c1, 1002);
	assert_true(weft_cookie_jar_get(j, &b, 1002, got));
	assert_memory_equal(got, c1, 16);
	/* No address, no cookie. */
	weft_cookie_jar_put(j, &none, c1, 1002);
	assert_false(weft_cookie_jar_get(j, &none, 1002, got));
	weft_cookie_jar_free(j);
	weft_cookie_jar_free(NULL);

	/* A bigger jar keeps many responders apart. */
	j = weft_cookie_jar_new(1024);
	assert_non_null(j);
	for (uint32_t i = 0; i < 64; i++) {
		union weft_sockaddr r = v4(0x0a010000 + i, 6783);

		memset(c1, (int)i, 16);
		weft_cookie_jar_put(j, &r, c1, 5);
	}
	for (uint32_t i = 0, kept = 0; i < 64; i++) {
		union weft_sockaddr r = v4(0x0a010000 + i, 6783);

		if (weft_cookie_jar_get(j, &r, 6, got)) {
			memset(c1, (int)i, 16);
			assert_memory_equal(got, c1, 16);
			kept++;
		}
		if (i == 63)
			assert_true(kept >= 56); /* 64 keys in 1024 slots: few collide */
	}
	weft_cookie_jar_free(j);
}

static int setup(void **state)
{
	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < 32; i++) {
		psk[i] = (uint8_t)i;
		static_sk[i] = (uint8_t)(0x40 + i);
		eph[i] = (uint8_t)(0x60 + i);
		secret_bytes[i] = (uint8_t)(0x80 + i);
	}
	for (int i = 0; i < 24; i++)
		nonce[i] = (uint8_t)(0xa0 + i);
	return crypto_scalarmult_base(static_pk, static_sk);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vector),
	    cmocka_unit_test(test_keys),
	    cmocka_unit_test(test_macs),
	    cmocka_unit_test(test_source),
	    cmocka_unit_test(test_secret_rotation),
	    cmocka_unit_test(test_reply_and_open),
	    cmocka_unit_test(test_jar),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
