/* SPDX-License-Identifier: MIT */
/* Two implementations of one AEAD behind one call. libsodium is always here;
 * libcrypto when configure found it (HAVE_LIBCRYPTO), unless this object is
 * compiled with WEFT_AEAD_LIBSODIUM_ONLY: the test suite builds such a copy so
 * that one build tests the fallback too.
 *
 * libcrypto's side is RFC 8439's construction put together here from
 * libcrypto's ChaCha20 (EVP_chacha20, keyed once) and Poly1305 (EVP_MAC,
 * keyed per record), not its EVP ChaCha20-Poly1305. That one runs the block
 * that makes the Poly1305 key and the last, partial block of the text through
 * separate one-block calls, which its AVX-512 code computes serially (about
 * 0.1 us each, a third of a 1440-byte record's time). Here one call makes the
 * key block and the text's keystream together, whole blocks on the wide
 * path, into a buffer that is then XORed into the text. Opening verifies
 * after it decrypted, so a failed open wipes what it wrote, and libsodium's
 * failures are wiped alike for one contract. Texts under
 * WEFT_AEAD_LIBCRYPTO_MIN_LEN go to libsodium even in a libcrypto context
 * (common/aead.h says why). */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "common/aead.h"

#if defined(HAVE_LIBCRYPTO) && !defined(WEFT_AEAD_LIBSODIUM_ONLY)
#define USE_LIBCRYPTO 1
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#else
#define USE_LIBCRYPTO 0
#endif

_Static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == WEFT_AEAD_KEY_LEN, "key length");
_Static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == WEFT_AEAD_NONCE_LEN, "nonce length");
_Static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == WEFT_AEAD_TAG_LEN, "tag length");

bool weft_aead_built(enum weft_aead_backend b)
{
	return b == WEFT_AEAD_LIBSODIUM || (b == WEFT_AEAD_LIBCRYPTO && USE_LIBCRYPTO);
}

const char *weft_aead_name(enum weft_aead_backend b)
{
	switch (b) {
	case WEFT_AEAD_LIBSODIUM:
		return "libsodium";
	case WEFT_AEAD_LIBCRYPTO:
		return "libcrypto";
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

void weft_aead_clear(struct weft_aead *a)
{
#if USE_LIBCRYPTO
	/* Both free their state with OPENSSL_clear_free: the key goes too. */
	EVP_CIPHER_CTX_free(a->ctx);
	EVP_MAC_CTX_free(a->mac);
#endif
	memset(a, 0, sizeof(*a));
}

#if USE_LIBCRYPTO
static int libcrypto_init(struct weft_aead *a, const uint8_t key[static WEFT_AEAD_KEY_LEN])
{
	EVP_MAC *poly1305;

	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx)
		return -ENOMEM;
	/* The keystream is all either direction needs of ChaCha20; the nonce
	 * comes per record, the key schedule stays in the context. */
	if (EVP_CipherInit_ex(a->ctx, EVP_chacha20(), NULL, key, NULL, 1) != 1 ||
	    EVP_CIPHER_CTX_key_length(a->ctx) != WEFT_AEAD_KEY_LEN ||
	    EVP_CIPHER_CTX_iv_length(a->ctx) != 4 + WEFT_AEAD_NONCE_LEN)
		return -ENOTSUP;
	poly1305 = EVP_MAC_fetch(NULL, "POLY1305", NULL);
	if (!poly1305)
		return -ENOTSUP;
	a->mac = EVP_MAC_CTX_new(poly1305);
	EVP_MAC_free(poly1305); /* the context holds its own reference */
	return a->mac ? 0 : -ENOMEM;
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
		a->libsodium_below = WEFT_AEAD_LIBCRYPTO_MIN_LEN;
	}
#endif
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

typedef uint8_t v16 __attribute__((vector_size(16)));

/* @d ^= @s for @n bytes, 64 then 16 bytes at a time (SSE2 is baseline), in
 * named variables: arrays of vectors end up on the stack. */
static void xor_into(uint8_t *restrict d, const uint8_t *restrict s, size_t n)
{
	v16 a0, a1, a2, a3, b0, b1, b2, b3;

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
static bool mac_pad(EVP_MAC_CTX *mac, size_t len)
{
	return len % 16 == 0 || EVP_MAC_update(mac, zeros, 16 - len % 16) == 1;
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
	_Alignas(64) uint8_t ks[KS_CHUNK];
	uint8_t iv[4 + WEFT_AEAD_NONCE_LEN] = {0}; /* block counter 0, little-endian */
	uint8_t lens[16];
	size_t made = 0, skip = KS_BLOCK, tag_len = 0;
	bool ok = false;
	int n;

	memcpy(iv + 4, nonce, WEFT_AEAD_NONCE_LEN);
	if (EVP_CipherInit_ex(a->ctx, NULL, NULL, NULL, iv, 1) != 1)
		goto out;
	for (size_t done = 0; done < len || skip;) {
		size_t take = len - done < KS_CHUNK - skip ? len - done : KS_CHUNK - skip;
		/* Whole blocks only: a partial one would cost a call of its own. */
		size_t gen = (skip + take + KS_BLOCK - 1) & ~(size_t)(KS_BLOCK - 1);

		if (EVP_CipherUpdate(a->ctx, ks, &n, zeros, (int)gen) != 1 || (size_t)n != gen)
			goto out;
		made = gen > made ? gen : made;
		if (skip && (EVP_MAC_init(a->mac, ks, POLY1305_KEY_LEN, NULL) != 1 ||
			     (ad_len && EVP_MAC_update(a->mac, ad, ad_len) != 1) ||
			     !mac_pad(a->mac, ad_len)))
			goto out;
		if (a->encrypt)
			xor_into(buf + done, ks + skip, take);
		if (take && EVP_MAC_update(a->mac, buf + done, take) != 1)
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
	ok = mac_pad(a->mac, len) && EVP_MAC_update(a->mac, lens, sizeof(lens)) == 1 &&
	     EVP_MAC_final(a->mac, tag, &tag_len, WEFT_AEAD_TAG_LEN) == 1 &&
	     tag_len == WEFT_AEAD_TAG_LEN;
out:
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
	if (a->key && (a->backend == WEFT_AEAD_LIBSODIUM || len < a->libsodium_below)) {
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(buf, tag, NULL, buf, len, ad,
								   ad_len, NULL, nonce, a->key);
		return 0;
	}
#if USE_LIBCRYPTO
	if (a->backend == WEFT_AEAD_LIBCRYPTO && a->ctx && a->mac)
		r = libcrypto_seal(a, nonce, ad, ad_len, buf, len, tag);
#endif
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
	if (a->key && (a->backend == WEFT_AEAD_LIBSODIUM || len < a->libsodium_below))
		r = crypto_aead_chacha20poly1305_ietf_decrypt_detached(buf, NULL, buf, len, tag, ad,
								       ad_len, nonce, a->key) == 0
			? 0
			: -EBADMSG;
#if USE_LIBCRYPTO
	else if (a->backend == WEFT_AEAD_LIBCRYPTO && a->ctx && a->mac)
		r = libcrypto_open(a, nonce, ad, ad_len, buf, len, tag);
#endif
out:
	if (r < 0 && len)
		memset(buf, 0, len);
	return r;
}
