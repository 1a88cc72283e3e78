/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "common/noise.h"

#define MAX_BYTES 1024
#define MAX_MSGS  8

struct blob {
	uint8_t b[MAX_BYTES];
	size_t len;
	bool present;
};

struct vector {
	enum weft_noise_pattern pattern;
	struct blob prologue, init_static, resp_static, init_ephemeral, resp_ephemeral, psk, hash;
	struct blob payload[MAX_MSGS], ciphertext[MAX_MSGS];
	size_t nmsgs;
};

static json_t *vectors_json;

static void blob_from(struct blob *out, json_t *value)
{
	const char *hex;
	size_t len;

	memset(out, 0, sizeof(*out));
	if (!value)
		return;
	hex = json_string_value(value);
	assert_non_null(hex);
	assert_int_equal(sodium_hex2bin(out->b, sizeof(out->b), hex, strlen(hex), NULL, &len, NULL),
			 0);
	out->len = len;
	out->present = true;
}

/* Fills @v from the JSON vector; returns false for a protocol we do not speak. */
static bool parse_vector(struct vector *v, json_t *obj)
{
	const char *name = json_string_value(json_object_get(obj, "protocol_name"));
	json_t *msgs, *psks;

	assert_non_null(name);
	memset(v, 0, sizeof(*v));
	if (!strcmp(name, "Noise_XX_25519_ChaChaPoly_BLAKE2b"))
		v->pattern = WEFT_NOISE_XX;
	else if (!strcmp(name, "Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b"))
		v->pattern = WEFT_NOISE_XXPSK0;
	else if (!strcmp(name, "Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b"))
		v->pattern = WEFT_NOISE_NNPSK0;
	else
		return false;

	blob_from(&v->prologue, json_object_get(obj, "init_prologue"));
	blob_from(&v->init_static, json_object_get(obj, "init_static"));
	blob_from(&v->resp_static, json_object_get(obj, "resp_static"));
	blob_from(&v->init_ephemeral, json_object_get(obj, "init_ephemeral"));
	blob_from(&v->resp_ephemeral, json_object_get(obj, "resp_ephemeral"));
	blob_from(&v->hash, json_object_get(obj, "handshake_hash"));
	/* Both sides must agree on what the vector expects them to share. */
	assert_true(json_equal(json_object_get(obj, "init_prologue"),
			       json_object_get(obj, "resp_prologue")));
	psks = json_object_get(obj, "init_psks");
	if (psks) {
		assert_int_equal(json_array_size(psks), 1);
		assert_true(json_equal(psks, json_object_get(obj, "resp_psks")));
		blob_from(&v->psk, json_array_get(psks, 0));
		assert_int_equal(v->psk.len, 32);
	}
	msgs = json_object_get(obj, "messages");
	assert_non_null(msgs);
	v->nmsgs = json_array_size(msgs);
	assert_true(v->nmsgs > 0 && v->nmsgs <= MAX_MSGS);
	for (size_t i = 0; i < v->nmsgs; i++) {
		json_t *m = json_array_get(msgs, i);

		blob_from(&v->payload[i], json_object_get(m, "payload"));
		blob_from(&v->ciphertext[i], json_object_get(m, "ciphertext"));
		assert_true(v->payload[i].present && v->ciphertext[i].present);
	}
	return true;
}

static void init_party(struct weft_noise *n, const struct vector *v, bool initiator,
		       const uint8_t *psk_override)
{
	const struct blob *s = initiator ? &v->init_static : &v->resp_static;
	const struct blob *e = initiator ? &v->init_ephemeral : &v->resp_ephemeral;
	struct weft_noise_config cfg = {
	    .pattern = v->pattern,
	    .initiator = initiator,
	    .prologue = v->prologue.b,
	    .prologue_len = v->prologue.len,
	    .static_priv = s->present ? s->b : NULL,
	    .psk = psk_override	    ? psk_override
		   : v->psk.present ? v->psk.b
				    : NULL,
	    .ephemeral_priv = e->b,
	};

	assert_true(e->present && e->len == 32);
	assert_int_equal(weft_noise_init(n, &cfg), 0);
}

/* Runs the vector's handshake, flipping bit 0 of byte @flip_byte of message
 * @flip_msg (none when @flip_msg < 0). Returns the index of the first message
 * whose read failed, or -1 when the handshake completed; then checks every
 * byte against the vector when @check. */
static int run_handshake(const struct vector *v, struct weft_noise *ini, struct weft_noise *res,
			 int flip_msg, size_t flip_byte, bool check)
{
	uint8_t msg[MAX_BYTES], payload[MAX_BYTES];
	size_t len, plen;
	int i;

	init_party(ini, v, true, NULL);
	init_party(res, v, false, NULL);
	for (i = 0; !weft_noise_done(ini) || !weft_noise_done(res); i++) {
		struct weft_noise *tx = i % 2 == 0 ? ini : res, *rx = i % 2 == 0 ? res : ini;

		assert_true((size_t)i < v->nmsgs);
		assert_true(weft_noise_writing(tx));
		assert_false(weft_noise_writing(rx));
		assert_int_equal(weft_noise_write_len(tx, v->payload[i].len), v->ciphertext[i].len);
		assert_int_equal(weft_noise_write(tx, v->payload[i].b, v->payload[i].len, msg,
						  sizeof(msg), &len),
				 0);
		if (check) {
			assert_int_equal(len, v->ciphertext[i].len);
			assert_memory_equal(msg, v->ciphertext[i].b, len);
		}
		if (i == flip_msg)
			msg[flip_byte] ^= 1;
		if (weft_noise_read(rx, msg, len, payload, sizeof(payload), &plen) < 0)
			return i;
		/* Only plain XX's first payload is readable after a flip. */
		if (i != flip_msg) {
			assert_int_equal(plen, v->payload[i].len);
			assert_memory_equal(payload, v->payload[i].b, plen);
		}
	}
	return -1;
}

static void check_vector(const struct vector *v)
{
	struct weft_noise *ini = weft_noise_new(), *res = weft_noise_new();
	uint8_t hi[WEFT_NOISE_HASHLEN], hr[WEFT_NOISE_HASHLEN], rs[32], pub[32];
	uint8_t ini_send[32], ini_recv[32], res_send[32], res_recv[32];
	uint8_t buf[MAX_BYTES], back[MAX_BYTES];
	uint64_t ini_nonce = 0, res_nonce = 0;
	int nhs;

	assert_non_null(ini);
	assert_non_null(res);
	assert_int_equal(run_handshake(v, ini, res, -1, 0, true), -1);
	nhs = v->pattern == WEFT_NOISE_NNPSK0 ? 2 : 3;

	weft_noise_handshake_hash(ini, hi);
	weft_noise_handshake_hash(res, hr);
	assert_int_equal(v->hash.len, WEFT_NOISE_HASHLEN);
	assert_memory_equal(hi, v->hash.b, WEFT_NOISE_HASHLEN);
	assert_memory_equal(hr, v->hash.b, WEFT_NOISE_HASHLEN);

	if (v->pattern != WEFT_NOISE_NNPSK0) {
		assert_int_equal(weft_noise_remote_static(ini, rs), 0);
		assert_int_equal(crypto_scalarmult_base(pub, v->resp_static.b), 0);
		assert_memory_equal(rs, pub, 32);
		assert_int_equal(weft_noise_remote_static(res, rs), 0);
		assert_int_equal(crypto_scalarmult_base(pub, v->init_static.b), 0);
		assert_memory_equal(rs, pub, 32);
	} else {
		assert_int_equal(weft_noise_remote_static(ini, rs), -ENOENT);
	}

	assert_int_equal(weft_noise_split(ini, ini_send, ini_recv), 0);
	assert_int_equal(weft_noise_split(res, res_send, res_recv), 0);
	assert_int_equal(weft_noise_split(res, res_send, res_recv), -EINVAL);
	assert_memory_equal(ini_send, res_recv, 32);
	assert_memory_equal(ini_recv, res_send, 32);
	assert_memory_not_equal(ini_send, ini_recv, 32);

	/* cacophony: message i is the initiator's when i is even, handshake or not. */
	for (size_t i = (size_t)nhs; i < v->nmsgs; i++) {
		bool from_ini = i % 2 == 0;
		uint64_t *nonce = from_ini ? &ini_nonce : &res_nonce;
		const uint8_t *tx_key = from_ini ? ini_send : res_send;
		const uint8_t *rx_key = from_ini ? res_recv : ini_recv;
		size_t len = v->payload[i].len;

		assert_int_equal(
		    weft_noise_encrypt(tx_key, *nonce, NULL, 0, v->payload[i].b, len, buf), 0);
		assert_int_equal(len + WEFT_NOISE_TAGLEN, v->ciphertext[i].len);
		assert_memory_equal(buf, v->ciphertext[i].b, v->ciphertext[i].len);
		assert_int_equal(
		    weft_noise_decrypt(rx_key, *nonce, NULL, 0, buf, len + WEFT_NOISE_TAGLEN, back),
		    0);
		assert_memory_equal(back, v->payload[i].b, len);
		/* The same ciphertext under the next nonce must not open. */
		assert_int_equal(weft_noise_decrypt(rx_key, *nonce + 1, NULL, 0, buf,
						    len + WEFT_NOISE_TAGLEN, back),
				 -EBADMSG);
		(*nonce)++;
	}
	weft_noise_free(ini);
	weft_noise_free(res);
}

static void test_vectors(void **state)
{
	json_t *list = json_object_get(vectors_json, "vectors");
	unsigned count[3] = {0}, total = 0;
	struct vector v;

	assert_non_null(list);
	assert_non_null(json_object_get(vectors_json, "sources"));
	for (size_t i = 0; i < json_array_size(list); i++) {
		if (!parse_vector(&v, json_array_get(list, i)))
			continue;
		check_vector(&v);
		count[v.pattern]++;
		total++;
	}
	print_message("# %u vectors: %u XX, %u XXpsk0, %u NNpsk0\n", total, count[WEFT_NOISE_XX],
		      count[WEFT_NOISE_XXPSK0], count[WEFT_NOISE_NNPSK0]);
	assert_int_equal(total, json_array_size(list));
	assert_true(count[WEFT_NOISE_XX] >= 1);
	assert_true(count[WEFT_NOISE_XXPSK0] >= 5);
	assert_true(count[WEFT_NOISE_NNPSK0] >= 1);
}

/* Every flipped bit in every handshake message is caught: with a PSK by the
 * read of that very message, in plain XX (whose first message carries no
 * MAC) at the latest by the read of the next one. */
static void test_tamper(void **state)
{
	json_t *list = json_object_get(vectors_json, "vectors");
	struct weft_noise *ini = weft_noise_new(), *res = weft_noise_new();
	unsigned flips = 0;
	struct vector v;

	assert_non_null(ini);
	assert_non_null(res);
	for (size_t i = 0; i < json_array_size(list); i++) {
		int nhs;

		if (!parse_vector(&v, json_array_get(list, i)))
			continue;
		nhs = v.pattern == WEFT_NOISE_NNPSK0 ? 2 : 3;
		for (int m = 0; m < nhs; m++) {
			for (size_t j = 0; j < v.ciphertext[m].len; j++) {
				int failed = run_handshake(&v, ini, res, m, j, false);

				if (v.pattern == WEFT_NOISE_XX && m == 0)
					assert_true(failed == 0 || failed == 1);
				else
					assert_int_equal(failed, m);
				flips++;
			}
		}
	}
	print_message("# %u tampered messages refused\n", flips);
	assert_true(flips > 1000);
	weft_noise_free(ini);
	weft_noise_free(res);
}

static struct vector *first_vector(enum weft_noise_pattern pattern, struct vector *v)
{
	json_t *list = json_object_get(vectors_json, "vectors");

	for (size_t i = 0; i < json_array_size(list); i++)
		if (parse_vector(v, json_array_get(list, i)) && v->pattern == pattern)
			return v;
	fail_msg("no vector for pattern %d", pattern);
	return NULL;
}

static void test_wrong_psk(void **state)
{
	enum weft_noise_pattern pats[] = {WEFT_NOISE_XXPSK0, WEFT_NOISE_NNPSK0};
	struct weft_noise *ini = weft_noise_new(), *res = weft_noise_new();
	uint8_t msg[MAX_BYTES], payload[MAX_BYTES], psk[32];
	struct vector v;
	size_t len, plen;

	assert_non_null(ini);
	assert_non_null(res);
	for (size_t p = 0; p < WEFT_ARRAY_SIZE(pats); p++) {
		first_vector(pats[p], &v);
		for (int bit = 0; bit < 256; bit += 37) {
			memcpy(psk, v.psk.b, 32);
			psk[bit / 8] ^= (uint8_t)(1 << (bit % 8));
			init_party(ini, &v, true, NULL);
			init_party(res, &v, false, psk);
			assert_int_equal(weft_noise_write(ini, v.payload[0].b, v.payload[0].len,
							  msg, sizeof(msg), &len),
					 0);
			assert_int_equal(
			    weft_noise_read(res, msg, len, payload, sizeof(payload), &plen),
			    -EBADMSG);
			/* A failed state stays failed. */
			assert_int_equal(
			    weft_noise_read(res, msg, len, payload, sizeof(payload), &plen),
			    -EINVAL);
			assert_false(weft_noise_writing(res));
		}
		/* A different prologue fails the same way. */
		init_party(ini, &v, true, NULL);
		v.prologue.b[0] ^= 1;
		v.prologue.len = v.prologue.len ? v.prologue.len : 1;
		init_party(res, &v, false, NULL);
		assert_int_equal(
		    weft_noise_write(ini, v.payload[0].b, v.payload[0].len, msg, sizeof(msg), &len),
		    0);
		assert_int_equal(weft_noise_read(res, msg, len, payload, sizeof(payload), &plen),
				 -EBADMSG);
	}
	weft_noise_free(ini);
	weft_noise_free(res);
}

static void test_random_roundtrip(void **state)
{
	struct weft_noise *ini = weft_noise_new(), *res = weft_noise_new();
	uint8_t is[32], rsk[32], rpub[32], psk[32], got[32], hi[64], hr[64];
	uint8_t k[4][32], msg[256], payload[256], text[] = "hello";
	struct weft_noise_config ci = {.pattern = WEFT_NOISE_XXPSK0,
				       .initiator = true,
				       .prologue = (const uint8_t *)"weft/1 test",
				       .prologue_len = 11,
				       .static_priv = is,
				       .psk = psk};
	struct weft_noise_config cr = ci;
	size_t len, plen;

	assert_non_null(ini);
	assert_non_null(res);
	randombytes_buf(is, 32);
	randombytes_buf(rsk, 32);
	randombytes_buf(psk, 32);
	assert_int_equal(crypto_scalarmult_base(rpub, rsk), 0);
	cr.initiator = false;
	cr.static_priv = rsk;
	cr.static_pub = rpub;
	assert_int_equal(weft_noise_init(ini, &ci), 0);
	assert_int_equal(weft_noise_init(res, &cr), 0);

	/* Not the responder's turn; a too small buffer is not fatal. */
	assert_int_equal(weft_noise_write(res, text, 5, msg, sizeof(msg), &len), -EINVAL);
	assert_int_equal(weft_noise_write_len(res, 5), 0);
	assert_int_equal(weft_noise_write_len(ini, 5), 32 + 5 + 16);
	assert_int_equal(weft_noise_write(ini, text, 5, msg, 52, &len), -ENOBUFS);
	assert_int_equal(weft_noise_split(ini, k[0], k[1]), -EINVAL);
	assert_int_equal(weft_noise_remote_ephemeral(res, got), -ENOENT);

	for (int i = 0; i < 3; i++) {
		struct weft_noise *tx = i % 2 == 0 ? ini : res, *rx = i % 2 == 0 ? res : ini;
		size_t want = weft_noise_write_len(tx, 5);

		assert_int_equal(weft_noise_write(tx, text, 5, msg, sizeof(msg), &len), 0);
		assert_int_equal(len, want);
		assert_int_equal(weft_noise_read(rx, msg, len, payload, 4, &plen), -ENOBUFS);
		assert_int_equal(weft_noise_read(rx, msg, len, payload, sizeof(payload), &plen), 0);
		assert_int_equal(plen, 5);
		assert_memory_equal(payload, text, 5);
	}
	assert_int_equal(weft_noise_remote_static(ini, got), 0);
	assert_memory_equal(got, rpub, 32);
	assert_true(weft_noise_done(ini) && weft_noise_done(res));
	weft_noise_handshake_hash(ini, hi);
	weft_noise_handshake_hash(res, hr);
	assert_memory_equal(hi, hr, 64);
	assert_int_equal(weft_noise_split(ini, k[0], k[1]), 0);
	assert_int_equal(weft_noise_split(res, k[2], k[3]), 0);
	assert_memory_equal(k[0], k[3], 32);
	assert_memory_equal(k[1], k[2], 32);
	assert_int_equal(weft_noise_encrypt(k[0], UINT64_MAX, NULL, 0, text, 5, msg), -EINVAL);
	weft_noise_free(ini);
	weft_noise_free(res);
	weft_noise_free(NULL);
}

/* An all-zero DH result (the peer sent a low-order point) fails the handshake. */
static void test_low_order_point(void **state)
{
	struct weft_noise *res = weft_noise_new();
	uint8_t sk[32], msg[64] = {0}, payload[64], big[256];
	struct weft_noise_config cr = {
	    .pattern = WEFT_NOISE_XX, .initiator = false, .static_priv = sk};
	size_t len, plen;

	assert_non_null(res);
	randombytes_buf(sk, 32);
	assert_int_equal(weft_noise_init(res, &cr), 0);
	/* XX's first message is a bare e: zero is read without complaint... */
	assert_int_equal(weft_noise_read(res, msg, 32, payload, sizeof(payload), &plen), 0);
	/* ...and refused by the ee of the reply (96 bytes: 64 are too few, which is not fatal). */
	assert_int_equal(weft_noise_write(res, NULL, 0, msg, sizeof(msg), &len), -ENOBUFS);
	assert_int_equal(weft_noise_write(res, NULL, 0, big, sizeof(big), &len), -EBADMSG);
	assert_false(weft_noise_writing(res));
	weft_noise_free(res);
}

static void test_bad_config(void **state)
{
	struct weft_noise *n = weft_noise_new();
	uint8_t key[32] = {1};
	struct weft_noise_config c = {
	    .pattern = WEFT_NOISE_XXPSK0, .initiator = true, .static_priv = key};

	uint8_t msg[128] = {0}, out[128];
	size_t len;

	assert_non_null(n);
	/* A state never initialised refuses everything. */
	assert_int_equal(weft_noise_read(n, msg, 64, out, sizeof(out), &len), -EINVAL);
	assert_int_equal(weft_noise_write(n, NULL, 0, out, sizeof(out), &len), -EINVAL);
	assert_false(weft_noise_done(n));
	assert_int_equal(weft_noise_init(n, &c), -EINVAL); /* no psk */
	c.psk = key;
	c.static_priv = NULL;
	assert_int_equal(weft_noise_init(n, &c), -EINVAL); /* no static */
	c.pattern = WEFT_NOISE_NNPSK0;
	assert_int_equal(weft_noise_init(n, &c), 0);
	c.pattern = (enum weft_noise_pattern)7;
	assert_int_equal(weft_noise_init(n, &c), -EINVAL);
	assert_false(weft_noise_writing(n));
	weft_noise_free(n);
}

static int load_vectors(void **state)
{
	const char *top = getenv("top_srcdir");
	char path[4096];
	json_error_t jerr;

	if (sodium_init() < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/tests/data/noise-25519-chachapoly-blake2b.json",
		 top ? top : ".");
	vectors_json = json_load_file(path, 0, &jerr);
	if (!vectors_json) {
		fprintf(stderr, "%s:%d: %s\n", path, jerr.line, jerr.text);
		return -1;
	}
	return 0;
}

static int free_vectors(void **state)
{
	json_decref(vectors_json);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vectors),	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_wrong_psk),	    cmocka_unit_test(test_random_roundtrip),
	    cmocka_unit_test(test_low_order_point), cmocka_unit_test(test_bad_config),
	};

	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
