/* SPDX-License-Identifier: MIT */
/* Two implementations of one AEAD behind one call. libsodium is always here;
 * libcrypto when configure found it (HAVE_LIBCRYPTO), unless this object is
 * compiled with WEFT_AEAD_LIBSODIUM_ONLY: the test suite builds such a copy so
 * that one build tests the fallback too.
 *
 * libcrypto's side is RFC 8439's construction put together here from
 * libcrypto's ChaCha20 (keyed once) and Poly1305 (keyed per record), not its
 * EVP ChaCha20-Poly1305. That one runs the block that makes the Poly1305 key
 * and the last, partial block of the text through separate one-block calls,
 * which its AVX-512 code computes serially (about 0.1 us each, a third of a
 * 1440-byte record's time). Here one call makes the key block and the text's
 * keystream together, whole blocks on the wide path, into a buffer that is
 * then XORed into the text.
 *
 * Both are called through the functions their provider gives libcrypto's
 * own EVP layer (provider-cipher(7), provider-mac(7), found with
 * OSSL_PROVIDER_query_operation() in the provider that EVP_CIPHER_fetch()
 * and EVP_MAC_fetch() chose), not through EVP_CipherInit_ex() and
 * EVP_MAC_final(): OpenSSL 3.0's EVP layer asks the provider for the IV
 * length and the MAC size on every record, each a parameter lookup by
 * string, and that cost 55-65 ns of the 505 ns a 1440-byte record took
 * (measured 2026-12-03, OpenSSL 3.0.19, Zen 5; the same keystream and tags
 * either way). Opening verifies
 * after it decrypted, so a failed open wipes what it wrote, and libsodium's
 * failures are wiped alike for one contract.
 *
 * Nettle's side is its chacha_poly1305, keyed once per context; it too
 * decrypts before it verifies. Texts under a context's cold_below go to the
 * cold path, Nettle if built in, else libsodium (common/aead.h says why). */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "common/aead.h"

#if defined(HAVE_LIBCRYPTO) && !defined(WEFT_AEAD_LIBSODIUM_ONLY)
#define USE_LIBCRYPTO 1
#include <openssl/core_dispatch.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/provider.h>
#include <stdlib.h>
#include <strings.h>
#else
#define USE_LIBCRYPTO 0
#endif

#if defined(HAVE_NETTLE) && !defined(WEFT_AEAD_LIBSODIUM_ONLY)
#define USE_NETTLE 1
#include <nettle/chacha-poly1305.h>
#include <nettle/memops.h>
#include <nettle/version.h>
#include <stdio.h>
#include <stdlib.h>
#else
#define USE_NETTLE 0
#endif

_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == WEFT_AEAD_KEY_LEN, "key length");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == WEFT_AEAD_NONCE_LEN, "nonce length");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == WEFT_AEAD_TAG_LEN, "tag length");

bool weft_aead_built(enum weft_aead_backend b)
{
	return b == WEFT_AEAD_LIBSODIUM || (b == WEFT_AEAD_LIBCRYPTO && USE_LIBCRYPTO) ||
	       (b == WEFT_AEAD_NETTLE && USE_NETTLE);
}

enum weft_aead_backend weft_aead_cold(void)
{
	return USE_NETTLE ? WEFT_AEAD_NETTLE : WEFT_AEAD_LIBSODIUM;
}

const char *weft_aead_name(enum weft_aead_backend b)
{
	switch (b) {
	case WEFT_AEAD_LIBSODIUM:
		return "libsodium";
	case WEFT_AEAD_LIBCRYPTO:
		return "libcrypto";
	case WEFT_AEAD_NETTLE:
		return "nettle";
	default:
		return "?";
	}
}

const char *weft_aead_version(enum weft_aead_backend b)
{
	if (!weft_aead_built(b))
		return "not built";
	if (b == WEFT_AEAD_LIBSODIUM)
		return sodium_version_string();
#if USE_NETTLE
	if (b == WEFT_AEAD_NETTLE) {
		static char version[24];

		if (!version[0])
			snprintf(version, sizeof(version), "%d.%d", nettle_version_major(),
				 nettle_version_minor());
		return version;
	}
#endif
#if USE_LIBCRYPTO
#ifdef OPENSSL_VERSION_STRING /* 3.0: the bare number */
	return OpenSSL_version(OPENSSL_VERSION_STRING);
#else
	return OpenSSL_version(OPENSSL_VERSION);
#endif
#else
	return "not built";
#endif
}

enum weft_aead_backend weft_aead_preferred(void)
{
	return USE_LIBCRYPTO ? WEFT_AEAD_LIBCRYPTO : WEFT_AEAD_LIBSODIUM;
}

enum weft_aead_backend weft_aead_probe(void)
{
	static const uint8_t key[WEFT_AEAD_KEY_LEN];
	enum weft_aead_backend b = WEFT_AEAD_LIBSODIUM;
	struct weft_aead a;

	if (weft_aead_init_best(&a, key, true) == 0) {
		b = a.backend;
		weft_aead_clear(&a);
	}
	return b;
}

#if USE_LIBCRYPTO
/* The provider functions of one ChaCha20 and one Poly1305 context. The
 * fetched EVP_CIPHER and EVP_MAC hold their providers for as long. */
struct weft_aead_libcrypto {
	EVP_CIPHER *chacha20;
	EVP_MAC *poly1305;
	void *cipher, *mac; /* the providers' contexts */
	OSSL_FUNC_cipher_freectx_fn *cipher_free;
	OSSL_FUNC_cipher_encrypt_init_fn *cipher_init;
	OSSL_FUNC_cipher_update_fn *cipher_update;
	OSSL_FUNC_mac_freectx_fn *mac_free;
	OSSL_FUNC_mac_init_fn *mac_init;
	OSSL_FUNC_mac_update_fn *mac_update;
	OSSL_FUNC_mac_final_fn *mac_final;
};

static void libcrypto_free(struct weft_aead_libcrypto *lc)
{
	if (!lc)
		return;
	/* Both providers free their contexts with OPENSSL_clear_free: the key
	 * goes too. */
	if (lc->cipher)
		lc->cipher_free(lc->cipher);
	if (lc->mac)
		lc->mac_free(lc->mac);
	EVP_CIPHER_free(lc->chacha20);
	EVP_MAC_free(lc->poly1305);
	free(lc);
}
#endif

#if USE_NETTLE
struct weft_aead_nettle {
	struct chacha_poly1305_ctx ctx;
};
#endif

void weft_aead_clear(struct weft_aead *a)
{
#if USE_LIBCRYPTO
	libcrypto_free(a->lc);
#endif
#if USE_NETTLE
	/* Nettle has nothing to wipe its context with: the key sits in it. */
	if (a->nettle) {
		sodium_memzero(a->nettle, sizeof(*a->nettle));
		free(a->nettle);
	}
#endif
	memset(a, 0, sizeof(*a));
}

#if USE_LIBCRYPTO
/* @name is one of the colon-separated @names. */
static bool names_have(const char *names, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = names; p; p = strchr(p, ':'), p = p ? p + 1 : NULL)
		if (!strncasecmp(p, name, n) && (p[n] == ':' || p[n] == '\0'))
			return true;
	return false;
}

/* The dispatch table of algorithm @name for operation @op in @prov: its
 * function @id, or NULL. */
static void (*provider_fn(const OSSL_PROVIDER *prov, int op, const char *name, int id))(void)
{
	const OSSL_ALGORITHM *algs, *alg;
	void (*fn)(void) = NULL;
	int no_store;

	algs = OSSL_PROVIDER_query_operation(prov, op, &no_store);
	for (alg = algs; alg && alg->algorithm_names; alg++) {
		if (!names_have(alg->algorithm_names, name))
			continue;
		for (const OSSL_DISPATCH *d = alg->implementation; d->function_id; d++)
			if (d->function_id == id)
				fn = d->function;
		break;
	}
	if (algs)
		OSSL_PROVIDER_unquery_operation(prov, op, algs);
	return fn;
}

static int libcrypto_init(struct weft_aead *a, const uint8_t key[static WEFT_AEAD_KEY_LEN])
{
	struct weft_aead_libcrypto *lc = calloc(1, sizeof(*lc));
	OSSL_FUNC_cipher_newctx_fn *cipher_new;
	OSSL_FUNC_mac_newctx_fn *mac_new;
	const OSSL_PROVIDER *cp, *mp;

	if (!lc)
		return -ENOMEM;
	a->lc = lc;
	lc->chacha20 = EVP_CIPHER_fetch(NULL, "ChaCha20", NULL);
	lc->poly1305 = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	if (!lc->chacha20 || !lc->poly1305 ||
	    EVP_CIPHER_get_key_length(lc->chacha20) != WEFT_AEAD_KEY_LEN ||
	    EVP_CIPHER_get_iv_length(lc->chacha20) != 4 + WEFT_AEAD_NONCE_LEN)
		return -ENOTSUP;
	cp = EVP_CIPHER_get0_provider(lc->chacha20);
	mp = EVP_MAC_get0_provider(lc->poly1305);
#define FN(prov, op, name, id) provider_fn(prov, OSSL_OP_##op, name, OSSL_FUNC_##id)
	cipher_new = (OSSL_FUNC_cipher_newctx_fn *)FN(cp, CIPHER, "ChaCha20", CIPHER_NEWCTX);
	lc->cipher_free = (OSSL_FUNC_cipher_freectx_fn *)FN(cp, CIPHER, "ChaCha20", CIPHER_FREECTX);
	lc->cipher_init =
	    (OSSL_FUNC_cipher_encrypt_init_fn *)FN(cp, CIPHER, "ChaCha20", CIPHER_ENCRYPT_INIT);
	lc->cipher_update = (OSSL_FUNC_cipher_update_fn *)FN(cp, CIPHER, "ChaCha20", CIPHER_UPDATE);
	mac_new = (OSSL_FUNC_mac_newctx_fn *)FN(mp, MAC, "POLY1305", MAC_NEWCTX);
	lc->mac_free = (OSSL_FUNC_mac_freectx_fn *)FN(mp, MAC, "POLY1305", MAC_FREECTX);
	lc->mac_init = (OSSL_FUNC_mac_init_fn *)FN(mp, MAC, "POLY1305", MAC_INIT);
	lc->mac_update = (OSSL_FUNC_mac_update_fn *)FN(mp, MAC, "POLY1305", MAC_UPDATE);
	lc->mac_final = (OSSL_FUNC_mac_final_fn *)FN(mp, MAC, "POLY1305", MAC_FINAL);
#undef FN
	if (!cipher_new || !lc->cipher_free || !lc->cipher_init || !lc->cipher_update ||
	    !mac_new || !lc->mac_free || !lc->mac_init || !lc->mac_update || !lc->mac_final)
		return -ENOTSUP;
	lc->cipher = cipher_new(OSSL_PROVIDER_get0_provider_ctx(cp));
	lc->mac = mac_new(OSSL_PROVIDER_get0_provider_ctx(mp));
	if (!lc->cipher || !lc->mac)
		return -ENOMEM;
	/* The keystream is all either direction needs of ChaCha20; the nonce
	 * comes per record, the key schedule stays in the context. */
	if (lc->cipher_init(lc->cipher, key, WEFT_AEAD_KEY_LEN, NULL, 0, NULL) != 1)
		return -ENOTSUP;
	return 0;
}
#endif

int weft_aead_init(struct weft_aead *a, enum weft_aead_backend b,
		   const uint8_t key[static WEFT_AEAD_KEY_LEN], bool encrypt)
{
	int r = -ENOTSUP;

	memset(a, 0, sizeof(*a));
	a->backend = b;
	a->encrypt = encrypt;
	if (!weft_aead_built(b))
		goto fail;
	/* Picks libsodium's ChaCha20 code for this CPU; cheap once done. A
	 * libcrypto context needs it too, for its short texts. */
	if (sodium_init() < 0)
		goto fail;
	a->key = key;
#if USE_LIBCRYPTO
	if (b == WEFT_AEAD_LIBCRYPTO) {
		r = libcrypto_init(a, key);
		if (r < 0)
			goto fail;
	}
#endif
#if USE_NETTLE
	/* Every context gets one: its own backend or its cold path. */
	a->nettle = calloc(1, sizeof(*a->nettle));
	if (!a->nettle) {
		r = -ENOMEM;
		goto fail;
	}
	chacha_poly1305_set_key(&a->nettle->ctx, key);
#endif
	if (b != weft_aead_cold())
		a->cold_below = WEFT_AEAD_COLD_MAX_LEN;
	return 0;
fail:
	weft_aead_clear(a);
	return r;
}

int weft_aead_init_best(struct weft_aead *a, const uint8_t key[static WEFT_AEAD_KEY_LEN],
			bool encrypt)
{
	int r = weft_aead_init(a, weft_aead_preferred(), key, encrypt);

	if (r == -ENOTSUP)
		r = weft_aead_init(a, WEFT_AEAD_LIBSODIUM, key, encrypt);
	return r;
}

#if USE_LIBCRYPTO
/* Keystream is made this many bytes at a time (a 1440-byte record's key block
 * and text take one call), on the stack, and wiped after each record. */
#define KS_CHUNK	 4096
#define KS_BLOCK	 64 /* ChaCha20's block; block 0 keys Poly1305 */
#define POLY1305_KEY_LEN 32

static const uint8_t zeros[KS_CHUNK];

/* Before weftd's own SSE code (xor_into) and on the way out of
 * libcrypto_run(), the upper halves of the vector registers are cleared
 * (vzeroupper). libcrypto's wide code left them dirty, and on the Intel
 * Xeon VM (AVX-512) the SSE code after it paid: perf put 94 % of
 * seal_dgram's samples on its first SSE load after the seal, as many of
 * weft_peer_received's on its first after the open, and glibc's memmove
 * took 5.9 % of both daemons' samples instead of 1.9; cleared, TCP carried
 * 10 % more at 11 % less daemon CPU per GB (docs/design.md, "Dirty vector
 * registers after libcrypto"). One cycle, and only where the CPU has AVX:
 * without it neither libcrypto nor the instruction exists. */
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>

__attribute__((target("avx"))) static void clear_upper_avx(void)
{
	_mm256_zeroupper();
}

static void clear_upper(void)
{
	if (__builtin_cpu_supports("avx"))
		clear_upper_avx();
}
#else
static void clear_upper(void)
{
}
#endif

typedef uint8_t v16 __attribute__((vector_size(16)));

/* @d ^= @s for @n bytes, 64 then 16 bytes at a time (SSE2 is baseline), in
 * named variables: arrays of vectors end up on the stack. */
static void xor_into(uint8_t *restrict d, const uint8_t *restrict s, size_t n)
{
	v16 a0, a1, a2, a3, b0, b1, b2, b3;

	clear_upper();
	for (; n >= 64; d += 64, s += 64, n -= 64) {
		memcpy(&a0, d, 16);
		memcpy(&a1, d + 16, 16);
		memcpy(&a2, d + 32, 16);
		memcpy(&a3, d + 48, 16);
		memcpy(&b0, s, 16);
		memcpy(&b1, s + 16, 16);
		memcpy(&b2, s + 32, 16);
		memcpy(&b3, s + 48, 16);
		a0 ^= b0;
		a1 ^= b1;
		a2 ^= b2;
		a3 ^= b3;
		memcpy(d, &a0, 16);
		memcpy(d + 16, &a1, 16);
		memcpy(d + 32, &a2, 16);
		memcpy(d + 48, &a3, 16);
	}
	for (; n >= 16; d += 16, s += 16, n -= 16) {
		memcpy(&a0, d, 16);
		memcpy(&b0, s, 16);
		a0 ^= b0;
		memcpy(d, &a0, 16);
	}
	for (; n; n--)
		*d++ ^= *s++;
}

/* Poly1305 input is padded to 16 bytes after the AD and after the text. */
static bool mac_pad(const struct weft_aead_libcrypto *lc, size_t len)
{
	return len % 16 == 0 || lc->mac_update(lc->mac, zeros, 16 - len % 16) == 1;
}

/* Poly1305 over @n bytes at @p. OpenSSL 3.0's x86-64 Poly1305 takes eight
 * blocks (128 bytes) per round of its AVX-512 loop, and a call that ends in
 * four to seven more blocks pays about 0.1 us for them, while the same
 * bytes in a call of their own cost a third of that: such a call is cut
 * after its last whole round (docs/design.md, "Poly1305's tail"). The MAC
 * sees the same bytes either way; elsewhere the cut costs a call at most. */
#define MAC_ROUND 128
static bool mac_text(const struct weft_aead_libcrypto *lc, const uint8_t *p, size_t n)
{
	size_t whole = n - n % MAC_ROUND;

	if (whole && n % MAC_ROUND >= MAC_ROUND / 2) {
		if (lc->mac_update(lc->mac, p, whole) != 1)
			return false;
		p += whole;
		n -= whole;
	}
	return lc->mac_update(lc->mac, p, n) == 1;
}

/* RFC 8439 section 2.8 in place: the keystream from counter 0, its first 32
 * bytes keying Poly1305 and the rest XORed into the text; Poly1305 over the
 * ciphertext, which is the text after the XOR when sealing and before it
 * when opening. Writes the tag to @tag. EVP counts in int: the callers bound
 * both lengths by WEFT_AEAD_MAX_LEN first. */
static bool libcrypto_run(struct weft_aead *a, const uint8_t *nonce, const uint8_t *ad,
			  size_t ad_len, uint8_t *buf, size_t len,
			  uint8_t tag[static WEFT_AEAD_TAG_LEN])
{
	const struct weft_aead_libcrypto *lc = a->lc;
	_Alignas(64) uint8_t ks[KS_CHUNK];
	uint8_t iv[4 + WEFT_AEAD_NONCE_LEN] = {0}; /* block counter 0, little-endian */
	uint8_t lens[16];
	size_t made = 0, skip = KS_BLOCK, tag_len = 0, n;
	/* An AD of whole blocks right before the text (weft's header) needs no
	 * pad: it goes to Poly1305 in one call with the text's first chunk. */
	size_t joined = ad_len && ad_len % 16 == 0 && ad + ad_len == buf ? ad_len : 0;
	bool ok = false;

	memcpy(iv + 4, nonce, WEFT_AEAD_NONCE_LEN);
	if (lc->cipher_init(lc->cipher, NULL, 0, iv, sizeof(iv), NULL) != 1)
		goto out;
	for (size_t done = 0; done < len || skip;) {
		size_t take = len - done < KS_CHUNK - skip ? len - done : KS_CHUNK - skip;
		/* Whole blocks only: a partial one would cost a call of its own. */
		size_t gen = (skip + take + KS_BLOCK - 1) & ~(size_t)(KS_BLOCK - 1);

		if (lc->cipher_update(lc->cipher, ks, &n, gen, zeros, gen) != 1 || n != gen)
			goto out;
		made = gen > made ? gen : made;
		if (skip && (lc->mac_init(lc->mac, ks, POLY1305_KEY_LEN, NULL) != 1 ||
			     (ad_len && !joined && lc->mac_update(lc->mac, ad, ad_len) != 1) ||
			     !mac_pad(lc, ad_len)))
			goto out;
		if (a->encrypt)
			xor_into(buf + done, ks + skip, take);
		/* The chunk's text, behind the joined AD on the first. */
		size_t lead = skip ? joined : 0;

		if (lead + take && !mac_text(lc, lead ? ad : buf + done, lead + take))
			goto out;
		if (!a->encrypt)
			xor_into(buf + done, ks + skip, take);
		done += take;
		skip = 0;
	}
	for (int i = 0; i < 8; i++) {
		lens[i] = (uint8_t)((uint64_t)ad_len >> (8 * i));
		lens[8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	}
	ok = mac_pad(lc, len) && lc->mac_update(lc->mac, lens, sizeof(lens)) == 1 &&
	     lc->mac_final(lc->mac, tag, &tag_len, WEFT_AEAD_TAG_LEN) == 1 &&
	     tag_len == WEFT_AEAD_TAG_LEN;
out:
	clear_upper();
	/* Keystream and the Poly1305 key: nobody's business after the record. */
	sodium_memzero(ks, made);
	return ok;
}

static int libcrypto_seal(struct weft_aead *a, const uint8_t *nonce, const uint8_t *ad,
			  size_t ad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	return libcrypto_run(a, nonce, ad, ad_len, buf, len, tag) ? 0 : -EIO;
}

static int libcrypto_open(struct weft_aead *a, const uint8_t *nonce, const uint8_t *ad,
			  size_t ad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	uint8_t expect[WEFT_AEAD_TAG_LEN];

	if (!libcrypto_run(a, nonce, ad, ad_len, buf, len, expect) ||
	    CRYPTO_memcmp(expect, tag, sizeof(expect)) != 0)
		return -EBADMSG;
	return 0;
}
#endif

#if USE_NETTLE
/* Nettle's chacha_poly1305 is RFC 8439 (96-bit nonce) from 3.1 on. */
static void nettle_run(struct weft_aead_nettle *n, bool encrypt, const uint8_t *nonce,
		       const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len,
		       uint8_t tag[static WEFT_AEAD_TAG_LEN])
{
	chacha_poly1305_set_nonce(&n->ctx, nonce);
	if (ad_len)
		chacha_poly1305_update(&n->ctx, ad_len, ad);
	if (len && encrypt)
		chacha_poly1305_encrypt(&n->ctx, len, buf, buf);
	else if (len)
		chacha_poly1305_decrypt(&n->ctx, len, buf, buf);
	chacha_poly1305_digest(&n->ctx, WEFT_AEAD_TAG_LEN, tag);
}
#endif

/* The backend that takes a text of @len bytes in @a. */
static enum weft_aead_backend backend_for(const struct weft_aead *a, size_t len)
{
	return len < a->cold_below ? weft_aead_cold() : a->backend;
}

int weft_aead_seal(struct weft_aead *a, const uint8_t nonce[static WEFT_AEAD_NONCE_LEN],
		   const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len,
		   uint8_t tag[static WEFT_AEAD_TAG_LEN])
{
	uint8_t empty[1]; /* libsodium wants a text pointer even for no text */
	int r = -EIO;

	if (!buf)
		buf = empty;
	if (!a->encrypt)
		return -EINVAL;
	if (len > WEFT_AEAD_MAX_LEN || ad_len > WEFT_AEAD_MAX_LEN)
		return -EMSGSIZE;
	switch (backend_for(a, len)) {
	case WEFT_AEAD_LIBSODIUM:
		if (!a->key)
			break;
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, tag, NULL, buf, len, ad,
								   ad_len, NULL, nonce, a->key);
		return 0;
#if USE_NETTLE
	case WEFT_AEAD_NETTLE:
		if (!a->nettle)
			break;
		nettle_run(a->nettle, true, nonce, ad, ad_len, buf, len, tag);
		return 0;
#endif
#if USE_LIBCRYPTO
	case WEFT_AEAD_LIBCRYPTO:
		if (a->lc)
			r = libcrypto_seal(a, nonce, ad, ad_len, buf, len, tag);
		break;
#endif
	default:
		break;
	}
	if (r < 0 && len)
		memset(buf, 0, len);
	return r;
}

int weft_aead_open(struct weft_aead *a, const uint8_t nonce[static WEFT_AEAD_NONCE_LEN],
		   const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len,
		   const uint8_t tag[static WEFT_AEAD_TAG_LEN])
{
	uint8_t empty[1]; /* as in weft_aead_seal() */
	int r = -EBADMSG;

	if (!buf)
		buf = empty;
	if (a->encrypt || len > WEFT_AEAD_MAX_LEN || ad_len > WEFT_AEAD_MAX_LEN)
		goto out;
	switch (backend_for(a, len)) {
	case WEFT_AEAD_LIBSODIUM:
		if (a->key && crypto_aead_chacha20poly1305_ietf_decrypt_detached(
				  buf, NULL, buf, len, tag, ad, ad_len, nonce, a->key) == 0)
			r = 0;
		break;
#if USE_NETTLE
	case WEFT_AEAD_NETTLE:
		if (a->nettle) {
			uint8_t expect[WEFT_AEAD_TAG_LEN];

			nettle_run(a->nettle, false, nonce, ad, ad_len, buf, len, expect);
			if (memeql_sec(expect, tag, sizeof(expect)))
				r = 0;
		}
		break;
#endif
#if USE_LIBCRYPTO
	case WEFT_AEAD_LIBCRYPTO:
		if (a->lc)
			r = libcrypto_open(a, nonce, ad, ad_len, buf, len, tag);
		break;
#endif
	default:
		break;
	}
out:
	if (r < 0 && len)
		memset(buf, 0, len);
	return r;
}
