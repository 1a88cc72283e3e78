/* SPDX-License-Identifier: MIT */
/* common/aead: every backend built in against RFC 8439's AEAD vector and the
 * DATA vector of docs/protocol.md section 12; each against each other on
 * random records (sealed by one, opened by the other, both ways, the same
 * bytes out of both); tampering refused and wiped by all; one context reused
 * across keys' many records, failures included. When libcrypto is built in,
 * its keystream calls are counted (one for a full-size record) and it fails
 * on purpose (linked with -Wl,--wrap= for OSSL_PROVIDER_query_operation,
 * whose copied list puts shims before the provider's functions, and
 * EVP_MAC_fetch): the fallback to libsodium, and what a failed record leaves
 * behind.
 * The random records come from a seed printed at the start; set
 * WEFT_TEST_SEED=<hex> to replay one. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/aead.h"
#include "common/wire.h"

#ifdef HAVE_LIBCRYPTO
#include <openssl/core_dispatch.h>
#include <openssl/evp.h>
#include <openssl/provider.h>

/* How many calls to let through before failing one (-1: never fail). */
static int fail_ctx_new = -1, fail_keyed_init = -1, fail_update = -1;
static int fail_mac_fetch = -1, fail_mac_new = -1, fail_mac_update = -1;
static unsigned long update_calls;

static bool fail_now(int *countdown)
{
	if (*countdown < 0)
		return false;
	if ((*countdown)-- == 0)
		return true;
	return false;
}

/* common/aead calls libcrypto's ChaCha20 and Poly1305 through the functions
 * their provider lists (OSSL_PROVIDER_query_operation): the list it gets
 * here is a copy whose context, keying and update functions go through the
 * shims below, which count and fail on purpose around the real ones. */
static OSSL_FUNC_cipher_newctx_fn *real_cipher_new;
static OSSL_FUNC_cipher_encrypt_init_fn *real_cipher_init;
static OSSL_FUNC_cipher_update_fn *real_cipher_update;
static OSSL_FUNC_mac_newctx_fn *real_mac_new;
static OSSL_FUNC_mac_update_fn *real_mac_update;

static void *shim_cipher_new(void *provctx)
{
	return fail_now(&fail_ctx_new) ? NULL : real_cipher_new(provctx);
}

static int shim_cipher_init(void *ctx, const unsigned char *key, size_t keylen,
			    const unsigned char *iv, size_t ivlen, const OSSL_PARAM params[])
{
	/* Only the keying call: as a provider without the cipher would. */
	if (key && fail_now(&fail_keyed_init))
		return 0;
	return real_cipher_init(ctx, key, keylen, iv, ivlen, params);
}

static int shim_cipher_update(void *ctx, unsigned char *out, size_t *outl, size_t outsize,
			      const unsigned char *in, size_t inl)
{
	int r = real_cipher_update(ctx, out, outl, outsize, in, inl);

	update_calls++;
	/* After the real call, so that the text is half processed, as a
	 * library failing midway would leave it. */
	return fail_now(&fail_update) ? 0 : r;
}

static void *shim_mac_new(void *provctx)
{
	return fail_now(&fail_mac_new) ? NULL : real_mac_new(provctx);
}

static int shim_mac_update(void *ctx, const unsigned char *in, size_t inl)
{
	int r = real_mac_update(ctx, in, inl);

	return fail_now(&fail_mac_update) ? 0 : r;
}

#define MAX_ALGS 256
#define MAX_FNS	 64
static OSSL_ALGORITHM algs_copy[2][MAX_ALGS];
static OSSL_DISPATCH fns_copy[2][MAX_ALGS][MAX_FNS];
static const OSSL_ALGORITHM *algs_real[2];

/* @fn's replacement in the copy of algorithm @names (NULL: keep @fn). */
static void (*shim_for(const char *names, int id, void (*fn)(void)))(void)
{
	if (!strcmp(names, "ChaCha20")) {
		switch (id) {
		case OSSL_FUNC_CIPHER_NEWCTX:
			real_cipher_new = (OSSL_FUNC_cipher_newctx_fn *)fn;
			return (void (*)(void))shim_cipher_new;
		case OSSL_FUNC_CIPHER_ENCRYPT_INIT:
			real_cipher_init = (OSSL_FUNC_cipher_encrypt_init_fn *)fn;
			return (void (*)(void))shim_cipher_init;
		case OSSL_FUNC_CIPHER_UPDATE:
			real_cipher_update = (OSSL_FUNC_cipher_update_fn *)fn;
			return (void (*)(void))shim_cipher_update;
		}
	} else if (!strcmp(names, "POLY1305")) {
		switch (id) {
		case OSSL_FUNC_MAC_NEWCTX:
			real_mac_new = (OSSL_FUNC_mac_newctx_fn *)fn;
			return (void (*)(void))shim_mac_new;
		case OSSL_FUNC_MAC_UPDATE:
			real_mac_update = (OSSL_FUNC_mac_update_fn *)fn;
			return (void (*)(void))shim_mac_update;
		}
	}
	return fn;
}

const OSSL_ALGORITHM *__real_OSSL_PROVIDER_query_operation(const OSSL_PROVIDER *prov,
							     int operation_id, int *no_cache);
const OSSL_ALGORITHM *__wrap_OSSL_PROVIDER_query_operation(const OSSL_PROVIDER *prov,
							     int operation_id, int *no_cache);
void __real_OSSL_PROVIDER_unquery_operation(const OSSL_PROVIDER *prov, int operation_id,
					    const OSSL_ALGORITHM *algs);
void __wrap_OSSL_PROVIDER_unquery_operation(const OSSL_PROVIDER *prov, int operation_id,
					    const OSSL_ALGORITHM *algs);
EVP_MAC *__real_EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);
EVP_MAC *__wrap_EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties);

const OSSL_ALGORITHM *__wrap_OSSL_PROVIDER_query_operation(const OSSL_PROVIDER *prov,
							     int operation_id, int *no_cache)
{
	const OSSL_ALGORITHM *real = __real_OSSL_PROVIDER_query_operation(prov, operation_id,
									 no_cache);
	int k = operation_id == OSSL_OP_CIPHER ? 0 : operation_id == OSSL_OP_MAC ? 1 : -1;
	size_t i, j;

	if (k < 0 || !real)
		return real;
	algs_real[k] = real;
	for (i = 0; real[i].algorithm_names; i++) {
		assert_true(i + 1 < MAX_ALGS);
		algs_copy[k][i] = real[i];
		for (j = 0; real[i].implementation[j].function_id; j++) {
			assert_true(j + 1 < MAX_FNS);
			fns_copy[k][i][j] = real[i].implementation[j];
			fns_copy[k][i][j].function =
			    shim_for(real[i].algorithm_names, fns_copy[k][i][j].function_id,
				     fns_copy[k][i][j].function);
		}
		fns_copy[k][i][j] = real[i].implementation[j];
		algs_copy[k][i].implementation = fns_copy[k][i];
	}
	algs_copy[k][i] = real[i];
	return algs_copy[k];
}

void __wrap_OSSL_PROVIDER_unquery_operation(const OSSL_PROVIDER *prov, int operation_id,
					    const OSSL_ALGORITHM *algs)
{
	for (int k = 0; k < 2; k++)
		if (algs == algs_copy[k])
			algs = algs_real[k];
	__real_OSSL_PROVIDER_unquery_operation(prov, operation_id, algs);
}

EVP_MAC *__wrap_EVP_MAC_fetch(OSSL_LIB_CTX *libctx, const char *algorithm, const char *properties)
{
	/* As a provider without Poly1305 (FIPS) would. */
	return fail_now(&fail_mac_fetch) ? NULL
					 : __real_EVP_MAC_fetch(libctx, algorithm, properties);
}
#endif

static const enum weft_aead_backend all_backends[] = {WEFT_AEAD_LIBSODIUM, WEFT_AEAD_LIBCRYPTO,
							WEFT_AEAD_NETTLE};

/* A context of backend @b, which must be built. */
static void init_pure(struct weft_aead *a, enum weft_aead_backend b,
		      const uint8_t key[static WEFT_AEAD_KEY_LEN], bool encrypt)
{
	assert_int_equal(weft_aead_init(a, b, key, encrypt), 0);
	assert_int_equal(a->backend, b);
	a->cold_below = 0; /* every length through @b */
}

/* ---- deterministic random inputs --------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_fill(uint8_t *p, size_t n)
{
	while (n) {
		uint64_t v = rng();
		size_t k = n < sizeof(v) ? n : sizeof(v);

		memcpy(p, &v, k);
		p += k;
		n -= k;
	}
}

static void seed_rng(void)
{
	const char *env = getenv("WEFT_TEST_SEED");

	if (env && *env)
		rng_state = strtoull(env, NULL, 16);
	else
		randombytes_buf(&rng_state, sizeof(rng_state));
	if (!rng_state)
		rng_state = 1;
	print_message("# WEFT_TEST_SEED=%" PRIx64 "\n", rng_state);
}

/* DATA's nonce for @counter: 4 zero bytes, then the counter little-endian. */
static void data_nonce(uint8_t nonce[static WEFT_AEAD_NONCE_LEN], uint64_t counter)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(counter >> (8 * i));
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- what is built ----------------------------------------------------------------- */

static void test_backends(void **state)
{
	assert_true(weft_aead_built(WEFT_AEAD_LIBSODIUM));
#ifdef HAVE_LIBCRYPTO
	/* A default build has both: the cross-checks below really cross. */
	assert_true(weft_aead_built(WEFT_AEAD_LIBCRYPTO));
	assert_int_equal(weft_aead_preferred(), WEFT_AEAD_LIBCRYPTO);
	assert_int_equal(weft_aead_probe(), WEFT_AEAD_LIBCRYPTO);
	assert_string_not_equal(weft_aead_version(WEFT_AEAD_LIBCRYPTO), "not built");
#else
	assert_false(weft_aead_built(WEFT_AEAD_LIBCRYPTO));
	assert_int_equal(weft_aead_preferred(), WEFT_AEAD_LIBSODIUM);
	assert_int_equal(weft_aead_probe(), WEFT_AEAD_LIBSODIUM);
	assert_string_equal(weft_aead_version(WEFT_AEAD_LIBCRYPTO), "not built");
#endif
#ifdef HAVE_NETTLE
	/* A default build has Nettle too, for the cold path. */
	assert_true(weft_aead_built(WEFT_AEAD_NETTLE));
	assert_int_equal(weft_aead_cold(), WEFT_AEAD_NETTLE);
	assert_string_not_equal(weft_aead_version(WEFT_AEAD_NETTLE), "not built");
#else
	assert_false(weft_aead_built(WEFT_AEAD_NETTLE));
	assert_int_equal(weft_aead_cold(), WEFT_AEAD_LIBSODIUM);
	assert_string_equal(weft_aead_version(WEFT_AEAD_NETTLE), "not built");
#endif
	assert_false(weft_aead_built(WEFT_AEAD_BACKEND_COUNT));
	assert_string_equal(weft_aead_name(WEFT_AEAD_LIBSODIUM), "libsodium");
	assert_string_equal(weft_aead_name(WEFT_AEAD_LIBCRYPTO), "libcrypto");
	assert_string_equal(weft_aead_name(WEFT_AEAD_NETTLE), "nettle");
	assert_string_equal(weft_aead_name(WEFT_AEAD_BACKEND_COUNT), "?");
	assert_string_equal(weft_aead_version(WEFT_AEAD_LIBSODIUM), sodium_version_string());
	for (size_t b = 0; b < WEFT_ARRAY_SIZE(all_backends); b++)
		print_message("# %s: %s\n", weft_aead_name(all_backends[b]),
			      weft_aead_version(all_backends[b]));
}

/* ---- known answers ------------------------------------------------------------------ */

struct vector {
	const char *name;
	uint8_t key[WEFT_AEAD_KEY_LEN];
	uint8_t nonce[WEFT_AEAD_NONCE_LEN];
	const uint8_t *ad;
	size_t ad_len;
	const uint8_t *plain;
	const uint8_t *cipher;
	size_t len;
	uint8_t tag[WEFT_AEAD_TAG_LEN];
};

static void check_vector(const struct vector *v)
{
	uint8_t buf[256], tag[WEFT_AEAD_TAG_LEN];

	assert_true(v->len <= sizeof(buf));
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(all_backends); i++) {
		enum weft_aead_backend b = all_backends[i];
		struct weft_aead tx, rx;

		if (!weft_aead_built(b))
			continue;
		init_pure(&tx, b, v->key, true);
		init_pure(&rx, b, v->key, false);
		memcpy(buf, v->plain, v->len);
		assert_int_equal(weft_aead_seal(&tx, v->nonce, v->ad, v->ad_len, buf, v->len, tag),
				 0);
		assert_memory_equal(buf, v->cipher, v->len);
		assert_memory_equal(tag, v->tag, sizeof(tag));
		assert_int_equal(weft_aead_open(&rx, v->nonce, v->ad, v->ad_len, buf, v->len, tag),
				 0);
		assert_memory_equal(buf, v->plain, v->len);
		print_message("# %s: %s ok\n", weft_aead_name(b), v->name);
		weft_aead_clear(&tx);
		weft_aead_clear(&rx);
	}
}

/* RFC 8439 section 2.8.2. */
static void test_rfc8439_vector(void **state)
{
	static const char plain[] =
	    "Ladies and Gentlemen of the class of '99: If I could offer you "
	    "only one tip for the future, sunscreen would be it.";
	static const uint8_t ad[] = {0x50, 0x51, 0x52, 0x53, 0xc0, 0xc1,
				     0xc2, 0xc3, 0xc4, 0xc5, 0xc6, 0xc7};
	static const uint8_t cipher[114] = {
	    0xd3, 0x1a, 0x8d, 0x34, 0x64, 0x8e, 0x60, 0xdb, 0x7b, 0x86, 0xaf, 0xbc, 0x53,
	    0xef, 0x7e, 0xc2, 0xa4, 0xad, 0xed, 0x51, 0x29, 0x6e, 0x08, 0xfe, 0xa9, 0xe2,
	    0xb5, 0xa7, 0x36, 0xee, 0x62, 0xd6, 0x3d, 0xbe, 0xa4, 0x5e, 0x8c, 0xa9, 0x67,
	    0x12, 0x82, 0xfa, 0xfb, 0x69, 0xda, 0x92, 0x72, 0x8b, 0x1a, 0x71, 0xde, 0x0a,
	    0x9e, 0x06, 0x0b, 0x29, 0x05, 0xd6, 0xa5, 0xb6, 0x7e, 0xcd, 0x3b, 0x36, 0x92,
	    0xdd, 0xbd, 0x7f, 0x2d, 0x77, 0x8b, 0x8c, 0x98, 0x03, 0xae, 0xe3, 0x28, 0x09,
	    0x1b, 0x58, 0xfa, 0xb3, 0x24, 0xe4, 0xfa, 0xd6, 0x75, 0x94, 0x55, 0x85, 0x80,
	    0x8b, 0x48, 0x31, 0xd7, 0xbc, 0x3f, 0xf4, 0xde, 0xf0, 0x8e, 0x4b, 0x7a, 0x9d,
	    0xe5, 0x76, 0xd2, 0x65, 0x86, 0xce, 0xc6, 0x4b, 0x61, 0x16,
	};
	struct vector v = {
	    .name = "RFC 8439 2.8.2",
	    .nonce = {0x07, 0x00, 0x00, 0x00, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47},
	    .ad = ad,
	    .ad_len = sizeof(ad),
	    .plain = (const uint8_t *)plain,
	    .cipher = cipher,
	    .len = sizeof(cipher),
	    .tag = {0x1a, 0xe1, 0x0b, 0x59, 0x4f, 0x09, 0xe2, 0x6a, 0x7e, 0x90, 0x2e, 0xcb, 0xd0,
		    0x60, 0x06, 0x91},
	};

	assert_int_equal(strlen(plain), sizeof(cipher));
	for (int i = 0; i < WEFT_AEAD_KEY_LEN; i++)
		v.key[i] = (uint8_t)(0x80 + i);
	check_vector(&v);
}

/* docs/protocol.md section 12: send key 00..1f, counter 5, the 16 header bytes
 * as additional data (the session layer's own test pins the whole datagram). */
static void test_protocol_doc_vector(void **state)
{
	static const uint8_t datagram[98] = {
	    0x04, 0x00, 0x00, 0x00, 0x22, 0x22, 0x22, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	    0x00, 0x05, 0x21, 0x08, 0x96, 0x0b, 0x45, 0x19, 0xb8, 0xc1, 0x74, 0x55, 0xc6, 0xb7,
	    0x27, 0xb5, 0x30, 0xa3, 0x9e, 0x3f, 0x8b, 0x43, 0xfa, 0x57, 0x11, 0x19, 0x66, 0x26,
	    0xb3, 0xa4, 0x02, 0xe3, 0x61, 0xd3, 0x1f, 0x6e, 0x4a, 0xe7, 0x65, 0x68, 0x12, 0x9a,
	    0x9a, 0x7e, 0xb4, 0x94, 0xa3, 0xd9, 0xf1, 0x9d, 0x0d, 0x4e, 0xb9, 0xb4, 0xce, 0xa0,
	    0x03, 0xf1, 0x1e, 0xfc, 0xc5, 0xfd, 0xae, 0x16, 0xf3, 0x77, 0x04, 0xc8, 0x43, 0xa3,
	    0xb0, 0xc5, 0xa2, 0xd2, 0x0e, 0xf5, 0x41, 0x58, 0x7e, 0xa2, 0x1f, 0xf1, 0x60, 0xb7,
	};
	uint8_t plain[66] = {0x02, 0x00, 0x00, 0x01, 0x00, 0x3c, 0xff, 0xff, 0xff, 0xff,
			     0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06};
	struct vector v = {
	    .name = "protocol.md section 12",
	    .ad = datagram,
	    .ad_len = WEFT_WIRE_DATA_HEADER_LEN,
	    .plain = plain,
	    .cipher = datagram + WEFT_WIRE_DATA_HEADER_LEN,
	    .len = sizeof(plain),
	};

	for (int i = 20; i < 66; i++)
		plain[i] = (uint8_t)(i - 6); /* the frame's bytes 14..59 hold their offsets */
	for (int i = 0; i < WEFT_AEAD_KEY_LEN; i++)
		v.key[i] = (uint8_t)i;
	data_nonce(v.nonce, 5);
	memcpy(v.tag, datagram + sizeof(datagram) - WEFT_AEAD_TAG_LEN, WEFT_AEAD_TAG_LEN);
	check_vector(&v);
}

/* ---- random records, across backends ---------------------------------------------- */

#define KEYS		2000
#define RECORDS_PER_KEY 4
#define MAX_AD		64

static size_t random_len(void)
{
	/* Block and Poly1305 edges, each side of the 64 bytes past a 128-byte
	 * round where libcrypto's Poly1305 calls are cut (with and without a
	 * 16-byte AD before the text), full-size records, and each side of
	 * libcrypto's keystream chunks (4032 bytes of text with the key
	 * block, then 4096). */
	static const size_t edges[] = {
	    0,	  1,	15,   16,   17,	  63,	64,    65,
	    111,  112,	127,  128,  191,  192,	255,   256,
	    1343, 1344, 1400, 1407, 1408, 1440, 1451,  1472,
	    4031, 4032, 4033, 8128, 8129, 8192, 65000, WEFT_WIRE_PLAIN_MAX_LEN};

	switch (rng() % 4) {
	case 0:
		return edges[rng() % WEFT_ARRAY_SIZE(edges)];
	case 1:
		return rng() % 257;
	case 2:
		return rng() % 2049;
	default:
		return rng() % (WEFT_WIRE_PLAIN_MAX_LEN + 1);
	}
}

/* The AD where a call finds it: @ad itself, or when @joined a copy right
 * before @text (weft's header before its payload, which libcrypto feeds to
 * Poly1305 in one call when the AD is whole blocks). @text needs MAX_AD
 * bytes of room before it. */
static const uint8_t *ad_at(const uint8_t *ad, size_t ad_len, uint8_t *text, bool joined)
{
	if (!joined || !ad_len)
		return ad;
	memcpy(text - ad_len, ad, ad_len);
	return text - ad_len;
}

/* One tampered copy of a sealed record: a bit of the text, the tag, the AD or
 * the nonce flipped. Every backend refuses it and leaves zeros. */
static void check_tampered(struct weft_aead *rx, size_t nrx, const uint8_t *nonce,
			   const uint8_t *ad, size_t ad_len, bool joined, const uint8_t *sealed,
			   size_t len, const uint8_t *tag, uint8_t *work)
{
	uint8_t n2[WEFT_AEAD_NONCE_LEN], ad2[MAX_AD], tag2[WEFT_AEAD_TAG_LEN];
	uint64_t where = rng() % 4;
	uint8_t bit = (uint8_t)(1u << (rng() % 8));

	memcpy(n2, nonce, sizeof(n2));
	memcpy(ad2, ad, ad_len);
	memcpy(tag2, tag, sizeof(tag2));
	if ((where == 0 && len == 0) || (where == 2 && ad_len == 0))
		where = 1;
	switch (where) {
	case 0: /* the text: flipped in each backend's copy below */
		break;
	case 1:
		tag2[rng() % sizeof(tag2)] ^= bit;
		break;
	case 2:
		ad2[rng() % ad_len] ^= bit;
		break;
	default:
		n2[rng() % sizeof(n2)] ^= bit;
		break;
	}
	for (size_t b = 0; b < nrx; b++) {
		memcpy(work, sealed, len);
		if (where == 0)
			work[rng() % len] ^= bit;
		assert_int_equal(weft_aead_open(&rx[b], n2, ad_at(ad2, ad_len, work, joined),
						ad_len, work, len, tag2),
				 -EBADMSG);
		assert_true(all_zero(work, len));
	}
}

static void test_cross_check(void **state)
{
	enum { N = WEFT_AEAD_BACKEND_COUNT };
	struct weft_aead tx[N], rx[N];
	enum weft_aead_backend built[N];
	size_t nb = 0;
	uint8_t *plain = malloc(WEFT_WIRE_PLAIN_MAX_LEN);
	/* Room for a joined AD before each text. */
	uint8_t *sealed_buf = malloc(MAX_AD + WEFT_WIRE_PLAIN_MAX_LEN);
	uint8_t *work_buf = malloc(MAX_AD + WEFT_WIRE_PLAIN_MAX_LEN);
	uint8_t *sealed = sealed_buf + MAX_AD, *work = work_buf + MAX_AD;
	uint64_t records = 0, crossed = 0, bytes = 0, joined_records = 0;

	assert_true(plain && sealed_buf && work_buf);
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(all_backends); i++)
		if (weft_aead_built(all_backends[i]))
			built[nb++] = all_backends[i];
	for (int k = 0; k < KEYS; k++) {
		uint8_t key[WEFT_AEAD_KEY_LEN];

		rng_fill(key, sizeof(key));
		for (size_t b = 0; b < nb; b++) {
			init_pure(&tx[b], built[b], key, true);
			init_pure(&rx[b], built[b], key, false);
		}
		/* Several records per key: the contexts are reused, as a session's. */
		for (int r = 0; r < RECORDS_PER_KEY; r++) {
			uint8_t nonce[WEFT_AEAD_NONCE_LEN], ad[MAX_AD], tag[WEFT_AEAD_TAG_LEN];
			uint8_t tag2[WEFT_AEAD_TAG_LEN];
			size_t len = random_len();
			size_t ad_len =
			    rng() % 2 ? WEFT_WIRE_DATA_HEADER_LEN : rng() % (MAX_AD + 1);
			bool joined = rng() % 2;

			data_nonce(nonce, rng() >> 4); /* a counter below 2^60 */
			rng_fill(ad, ad_len);
			rng_fill(plain, len);
			/* The first backend seals; every other must seal the same bytes. */
			memcpy(sealed, plain, len);
			assert_int_equal(weft_aead_seal(&tx[0], nonce,
							ad_at(ad, ad_len, sealed, joined), ad_len,
							sealed, len, tag),
					 0);
			if (len >= 16)
				assert_memory_not_equal(sealed, plain, len);
			for (size_t b = 1; b < nb; b++) {
				memcpy(work, plain, len);
				assert_int_equal(weft_aead_seal(&tx[b], nonce,
								ad_at(ad, ad_len, work, !joined),
								ad_len, work, len, tag2),
						 0);
				assert_memory_equal(work, sealed, len);
				assert_memory_equal(tag2, tag, sizeof(tag));
			}
			/* Every backend opens what the first sealed, and the first
			 * opens what every other sealed (the same bytes, checked).
			 * Backends take the two AD layouts in turns, the first the
			 * one it did not seal in. */
			for (size_t b = 0; b < nb; b++) {
				memcpy(work, sealed, len);
				assert_int_equal(
				    weft_aead_open(&rx[b], nonce,
						   ad_at(ad, ad_len, work, (b % 2 == 1) == joined),
						   ad_len, work, len, tag),
				    0);
				assert_memory_equal(work, plain, len);
				if (b > 0)
					crossed++;
			}
			check_tampered(rx, nb, nonce, ad, ad_len, joined, sealed, len, tag, work);
			/* A refused record leaves each context fit for the next. */
			for (size_t b = 0; b < nb; b++) {
				memcpy(work, sealed, len);
				assert_int_equal(
				    weft_aead_open(&rx[b], nonce,
						   ad_at(ad, ad_len, work, (b % 2 == 1) == joined),
						   ad_len, work, len, tag),
				    0);
				assert_memory_equal(work, plain, len);
			}
			records++;
			joined_records += joined && ad_len % 16 == 0 && ad_len;
			bytes += len;
		}
		for (size_t b = 0; b < nb; b++) {
			weft_aead_clear(&tx[b]);
			weft_aead_clear(&rx[b]);
		}
	}
	print_message("# %" PRIu64 " records (%" PRIu64 " bytes), %" PRIu64
		      " opened by another backend than the sealer, %" PRIu64
		      " sealed with a whole-block AD right before the text\n",
		      records, bytes, crossed, joined_records);
	/* Each record was opened by every backend besides the first. */
	assert_true(crossed == records * (nb - 1));
#if defined(HAVE_LIBCRYPTO) || defined(HAVE_NETTLE)
	assert_true(nb >= 2);
#endif
	/* Both layouts, sealed by the first backend, many times over. */
	assert_true(joined_records > records / 8);
	free(plain);
	free(sealed_buf);
	free(work_buf);
}

/* Every single bit flipped, for each backend, in a DATA-sized record. */
static void test_every_bit_flip(void **state)
{
	uint8_t key[WEFT_AEAD_KEY_LEN], nonce[WEFT_AEAD_NONCE_LEN], ad[16], tag[16];
	uint8_t plain[64], sealed[64], work[64], n2[12], ad2[16], tag2[16];

	rng_fill(key, sizeof(key));
	rng_fill(ad, sizeof(ad));
	rng_fill(plain, sizeof(plain));
	data_nonce(nonce, 77);
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(all_backends); i++) {
		enum weft_aead_backend b = all_backends[i];
		struct weft_aead tx, rx;
		unsigned refused = 0;

		if (!weft_aead_built(b))
			continue;
		init_pure(&tx, b, key, true);
		init_pure(&rx, b, key, false);
		memcpy(sealed, plain, sizeof(plain));
		assert_int_equal(weft_aead_seal(&tx, nonce, ad, 16, sealed, 64, tag), 0);
		/* nonce, AD, text, tag: 12 + 16 + 64 + 16 bytes */
		for (size_t pos = 0; pos < 108; pos++) {
			for (int bit = 0; bit < 8; bit++) {
				memcpy(n2, nonce, 12);
				memcpy(ad2, ad, 16);
				memcpy(work, sealed, 64);
				memcpy(tag2, tag, 16);
				uint8_t *p = pos < 12	? n2 + pos
					     : pos < 28 ? ad2 + pos - 12
					     : pos < 92 ? work + pos - 28
							: tag2 + pos - 92;
				*p ^= (uint8_t)(1u << bit);
				assert_int_equal(weft_aead_open(&rx, n2, ad2, 16, work, 64, tag2),
						 -EBADMSG);
				assert_true(all_zero(work, 64));
				refused++;
			}
		}
		assert_int_equal(refused, 108 * 8);
		memcpy(work, sealed, 64);
		assert_int_equal(weft_aead_open(&rx, nonce, ad, 16, work, 64, tag), 0);
		assert_memory_equal(work, plain, 64);
		weft_aead_clear(&tx);
		weft_aead_clear(&rx);
	}
}

#ifdef HAVE_LIBCRYPTO
/* common/aead.c makes keystream in chunks of this (the key block and 4032
 * bytes of text first). */
enum { KS_CHUNK = 4096 };

/* A libcrypto context takes every length itself, the key block and the text's
 * keystream made in one libcrypto call up to KS_CHUNK (a full-size frame's record
 * of 1440 bytes: one), one per chunk beyond; either way what it seals opens
 * in a libsodium context and the reverse. */
static void test_keystream_calls(void **state)
{
	static const size_t lens[] = {0,
				      1,
				      3,
				      64,
				      127,
				      128,
				      1440,
				      KS_CHUNK - 65,
				      KS_CHUNK - 64,
				      KS_CHUNK - 63,
				      2 * KS_CHUNK - 64,
				      2 * KS_CHUNK - 63,
				      WEFT_AEAD_MAX_LEN};
	uint8_t key[WEFT_AEAD_KEY_LEN], nonce[WEFT_AEAD_NONCE_LEN], ad[16], tag[16];
	uint8_t *plain = malloc(WEFT_AEAD_MAX_LEN), *buf = malloc(WEFT_AEAD_MAX_LEN);
	struct weft_aead ctx, ctx_rx, so, so_rx;

	assert_true(plain && buf);
	rng_fill(key, sizeof(key));
	rng_fill(ad, sizeof(ad));
	rng_fill(plain, WEFT_AEAD_MAX_LEN);
	init_pure(&ctx, WEFT_AEAD_LIBCRYPTO, key, true);
	init_pure(&ctx_rx, WEFT_AEAD_LIBCRYPTO, key, false);
	init_pure(&so, WEFT_AEAD_LIBSODIUM, key, true);
	init_pure(&so_rx, WEFT_AEAD_LIBSODIUM, key, false);
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i];
		unsigned long calls =
		    1 + (len + 64 > KS_CHUNK ? (len + 64 - KS_CHUNK + KS_CHUNK - 1) / KS_CHUNK : 0);

		data_nonce(nonce, 1000 + i);
		memcpy(buf, plain, len);
		update_calls = 0;
		assert_int_equal(weft_aead_seal(&ctx, nonce, ad, 16, buf, len, tag), 0);
		assert_int_equal(update_calls, calls);
		assert_int_equal(weft_aead_open(&so_rx, nonce, ad, 16, buf, len, tag), 0);
		assert_memory_equal(buf, plain, len);
		assert_int_equal(weft_aead_seal(&so, nonce, ad, 16, buf, len, tag), 0);
		update_calls = 0;
		assert_int_equal(weft_aead_open(&ctx_rx, nonce, ad, 16, buf, len, tag), 0);
		assert_int_equal(update_calls, calls);
		assert_memory_equal(buf, plain, len);
	}
	weft_aead_clear(&ctx);
	weft_aead_clear(&ctx_rx);
	weft_aead_clear(&so);
	weft_aead_clear(&so_rx);
	free(plain);
	free(buf);
}
#endif

#ifdef HAVE_LIBCRYPTO
/* A libcrypto context as made: texts under WEFT_AEAD_COLD_MAX_LEN go to the
 * cold path (Nettle, else libsodium: no libcrypto call), longer ones to
 * libcrypto, and either way the bytes are those of a pure context of each
 * backend. */
static void test_short_texts_to_cold_path(void **state)
{
	static const size_t lens[] = {0, 1, 3, 64, 1440, WEFT_AEAD_COLD_MAX_LEN - 1,
				      WEFT_AEAD_COLD_MAX_LEN, 9000};
	uint8_t key[WEFT_AEAD_KEY_LEN], nonce[WEFT_AEAD_NONCE_LEN], ad[16], tag[16], tag2[16];
	static uint8_t plain[9000], buf[9000], buf2[9000];
	struct weft_aead ctx, ctx_rx, pure;

	(void)state;
	rng_fill(key, sizeof(key));
	rng_fill(ad, sizeof(ad));
	rng_fill(plain, sizeof(plain));
	assert_int_equal(weft_aead_init(&ctx, WEFT_AEAD_LIBCRYPTO, key, true), 0);
	assert_int_equal(weft_aead_init(&ctx_rx, WEFT_AEAD_LIBCRYPTO, key, false), 0);
	assert_int_equal(ctx.cold_below, WEFT_AEAD_COLD_MAX_LEN);
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(lens); i++) {
		size_t len = lens[i];
		bool short_text = len < WEFT_AEAD_COLD_MAX_LEN;

		data_nonce(nonce, 7 + i);
		memcpy(buf, plain, len);
		update_calls = 0;
		assert_int_equal(weft_aead_seal(&ctx, nonce, ad, 16, buf, len, tag), 0);
		/* libcrypto makes keystream 4 KiB at a time: 9000 bytes take three. */
		assert_true(short_text ? update_calls == 0 : update_calls >= 1);
		/* The same record from a pure context of the other backend. */
		init_pure(&pure, short_text ? WEFT_AEAD_LIBCRYPTO : WEFT_AEAD_LIBSODIUM, key, true);
		memcpy(buf2, plain, len);
		assert_int_equal(weft_aead_seal(&pure, nonce, ad, 16, buf2, len, tag2), 0);
		weft_aead_clear(&pure);
		assert_memory_equal(buf, buf2, len);
		assert_memory_equal(tag, tag2, sizeof(tag));
		update_calls = 0;
		assert_int_equal(weft_aead_open(&ctx_rx, nonce, ad, 16, buf, len, tag), 0);
		/* libcrypto makes keystream 4 KiB at a time: 9000 bytes take three. */
		assert_true(short_text ? update_calls == 0 : update_calls >= 1);
		assert_memory_equal(buf, plain, len);
		/* A wrong tag fails either way and wipes the text. */
		memcpy(buf, buf2, len);
		tag2[0] ^= 1;
		assert_int_equal(weft_aead_open(&ctx_rx, nonce, ad, 16, buf, len, tag2), -EBADMSG);
		for (size_t j = 0; j < len; j++)
			assert_int_equal(buf[j], 0);
	}
	weft_aead_clear(&ctx);
	weft_aead_clear(&ctx_rx);
}
#endif

/* ---- misuse -------------------------------------------------------------------------- */

static void test_misuse(void **state)
{
	uint8_t key[WEFT_AEAD_KEY_LEN] = {1}, nonce[WEFT_AEAD_NONCE_LEN] = {0}, tag[16];
	uint8_t buf[32];
	struct weft_aead a, zero;

	memset(&zero, 0, sizeof(zero));
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(all_backends); i++) {
		enum weft_aead_backend b = all_backends[i];
		struct weft_aead tx, rx;

		if (!weft_aead_built(b)) {
			memset(&a, 0xa5, sizeof(a));
			assert_int_equal(weft_aead_init(&a, b, key, true), -ENOTSUP);
			assert_memory_equal(&a, &zero, sizeof(a));
			continue;
		}
		init_pure(&tx, b, key, true);
		init_pure(&rx, b, key, false);
		/* Each context works one way only. */
		memset(buf, 7, sizeof(buf));
		assert_int_equal(weft_aead_seal(&rx, nonce, NULL, 0, buf, sizeof(buf), tag),
				 -EINVAL);
		assert_int_equal(buf[0], 7);
		assert_int_equal(weft_aead_seal(&tx, nonce, NULL, 0, buf, sizeof(buf), tag), 0);
		assert_int_equal(weft_aead_open(&tx, nonce, NULL, 0, buf, sizeof(buf), tag),
				 -EBADMSG);
		assert_true(all_zero(buf, sizeof(buf)));
		/* Over the limit: refused before any work (the buffer is not
		 * even read: a NULL would crash). */
		assert_int_equal(
		    weft_aead_seal(&tx, nonce, NULL, 0, buf, WEFT_AEAD_MAX_LEN + 1, tag),
		    -EMSGSIZE);
		assert_int_equal(
		    weft_aead_seal(&tx, nonce, buf, WEFT_AEAD_MAX_LEN + 1, buf, 0, tag), -EMSGSIZE);
		/* Empty text and AD as NULL: only a tag. */
		assert_int_equal(weft_aead_seal(&tx, nonce, NULL, 0, NULL, 0, tag), 0);
		assert_int_equal(weft_aead_open(&rx, nonce, NULL, 0, NULL, 0, tag), 0);
		tag[0] ^= 1;
		assert_int_equal(weft_aead_open(&rx, nonce, NULL, 0, NULL, 0, tag), -EBADMSG);
		/* Cleared: no key, no context, nothing done. */
		weft_aead_clear(&tx);
		weft_aead_clear(&rx);
		assert_memory_equal(&tx, &zero, sizeof(tx));
		weft_aead_clear(&tx);
		tx.encrypt = true;
		memset(buf, 7, sizeof(buf));
		assert_int_equal(weft_aead_seal(&tx, nonce, NULL, 0, buf, sizeof(buf), tag), -EIO);
		assert_true(all_zero(buf, sizeof(buf)));
	}
	weft_aead_clear(&zero);
}

/* ---- libcrypto failing --------------------------------------------------------------- */

#ifdef HAVE_LIBCRYPTO
/* One record that fails midway when @countdown's call fails: refused, wiped,
 * and the contexts go on with the next one. */
static void fail_midway(struct weft_aead *tx, struct weft_aead *rx, int *countdown, int which,
			const uint8_t *nonce, const uint8_t *ad, const uint8_t *plain, uint8_t *buf,
			size_t len)
{
	uint8_t tag[WEFT_AEAD_TAG_LEN];

	memcpy(buf, plain, len);
	*countdown = which;
	assert_int_equal(weft_aead_seal(tx, nonce, ad, 16, buf, len, tag), -EIO);
	assert_int_equal(*countdown, -1);
	assert_true(all_zero(buf, len));
	memcpy(buf, plain, len);
	assert_int_equal(weft_aead_seal(tx, nonce, ad, 16, buf, len, tag), 0);
	*countdown = which;
	assert_int_equal(weft_aead_open(rx, nonce, ad, 16, buf, len, tag), -EBADMSG);
	assert_int_equal(*countdown, -1);
	assert_true(all_zero(buf, len));
	memcpy(buf, plain, len);
	assert_int_equal(weft_aead_seal(tx, nonce, ad, 16, buf, len, tag), 0);
	assert_int_equal(weft_aead_open(rx, nonce, ad, 16, buf, len, tag), 0);
	assert_memory_equal(buf, plain, len);
}

static void test_libcrypto_failures(void **state)
{
	/* Three keystream chunks: 4032 + 4096 + 872 bytes of text. */
	enum { LEN = 9000 };
	static uint8_t plain[LEN], buf[LEN];
	uint8_t key[WEFT_AEAD_KEY_LEN], nonce[WEFT_AEAD_NONCE_LEN], ad[16], tag[16];
	struct weft_aead tx, rx, zero;

	memset(&zero, 0, sizeof(zero));
	rng_fill(key, sizeof(key));
	rng_fill(ad, sizeof(ad));
	rng_fill(plain, sizeof(plain));
	data_nonce(nonce, 1);

	/* Out of memory: said, and no quiet fallback. */
	for (int *oom = &fail_ctx_new; oom; oom = oom == &fail_ctx_new ? &fail_mac_new : NULL) {
		*oom = 0;
		assert_int_equal(weft_aead_init(&tx, WEFT_AEAD_LIBCRYPTO, key, true), -ENOMEM);
		assert_memory_equal(&tx, &zero, sizeof(tx));
		*oom = 0;
		assert_int_equal(weft_aead_init_best(&tx, key, true), -ENOMEM);
		assert_int_equal(*oom, -1);
	}

	/* libcrypto refuses ChaCha20 or Poly1305 (a FIPS-only provider): what
	 * it had made is freed (run under valgrind/ASan to see), and the best
	 * backend is libsodium, which interoperates with libcrypto. */
	for (int *no = &fail_keyed_init; no; no = no == &fail_keyed_init ? &fail_mac_fetch : NULL) {
		*no = 0;
		assert_int_equal(weft_aead_init(&tx, WEFT_AEAD_LIBCRYPTO, key, true), -ENOTSUP);
		assert_memory_equal(&tx, &zero, sizeof(tx));
		*no = 0;
		assert_int_equal(weft_aead_init_best(&tx, key, true), 0);
		assert_int_equal(*no, -1);
		assert_int_equal(tx.backend, WEFT_AEAD_LIBSODIUM);
		*no = 0; /* what weftd --version would say then */
		assert_int_equal(weft_aead_probe(), WEFT_AEAD_LIBSODIUM);
		assert_int_equal(*no, -1);
		assert_int_equal(weft_aead_probe(), WEFT_AEAD_LIBCRYPTO);
		assert_int_equal(weft_aead_init_best(&rx, key, false), 0);
		assert_int_equal(rx.backend, WEFT_AEAD_LIBCRYPTO);
		memcpy(buf, plain, sizeof(buf));
		assert_int_equal(weft_aead_seal(&tx, nonce, ad, 16, buf, sizeof(buf), tag), 0);
		assert_int_equal(weft_aead_open(&rx, nonce, ad, 16, buf, sizeof(buf), tag), 0);
		assert_memory_equal(buf, plain, sizeof(buf));
		weft_aead_clear(&tx);
		weft_aead_clear(&rx);
	}

	/* Each of the record's calls failing: the 3 keystream chunks, and the 6
	 * Poly1305 updates (AD, 3 chunks of text, its padding, the lengths). */
	assert_int_equal(weft_aead_init(&tx, WEFT_AEAD_LIBCRYPTO, key, true), 0);
	assert_int_equal(weft_aead_init(&rx, WEFT_AEAD_LIBCRYPTO, key, false), 0);
	for (int which = 0; which < 3; which++)
		fail_midway(&tx, &rx, &fail_update, which, nonce, ad, plain, buf, LEN);
	for (int which = 0; which < 6; which++)
		fail_midway(&tx, &rx, &fail_mac_update, which, nonce, ad, plain, buf, LEN);
	weft_aead_clear(&tx);
	weft_aead_clear(&rx);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backends),
	    cmocka_unit_test(test_rfc8439_vector),
	    cmocka_unit_test(test_protocol_doc_vector),
	    cmocka_unit_test(test_cross_check),
	    cmocka_unit_test(test_every_bit_flip),
#ifdef HAVE_LIBCRYPTO
	    cmocka_unit_test(test_keystream_calls),
	    cmocka_unit_test(test_short_texts_to_cold_path),
#endif
	    cmocka_unit_test(test_misuse),
#ifdef HAVE_LIBCRYPTO
	    cmocka_unit_test(test_libcrypto_failures),
#endif
	};

	if (sodium_init() < 0)
		return 1;
	seed_rng();
#ifndef HAVE_LIBCRYPTO
	print_message("# built without libcrypto: libsodium alone, nothing to cross-check\n");
#endif
	return cmocka_run_group_tests(tests, NULL, NULL);
}
