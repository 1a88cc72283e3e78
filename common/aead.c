/* SPDX-License-Identifier: MIT */
/* Two implementations of one AEAD behind one call. libsodium is always here;
 * libcrypto when configure found it (HAVE_LIBCRYPTO), unless this object is
 * compiled with WEFT_AEAD_LIBSODIUM_ONLY: the test suite builds such a copy so
 * that one build tests the fallback too.
 *
 * libcrypto's context is keyed once (EVP_CipherInit_ex with the cipher and the
 * key) and then only re-nonced per record (the same call with NULL cipher and
 * key), so no record allocates or expands a key. Opening verifies after it
 * decrypted (libcrypto's order), so a failed open wipes what it wrote, and
 * libsodium's failures are wiped alike for one contract. */
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
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif
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
	/* Frees the cipher's state with OPENSSL_clear_free: the key goes too. */
	EVP_CIPHER_CTX_free(a->ctx);
#endif
	memset(a, 0, sizeof(*a));
}

#if USE_LIBCRYPTO
static int libcrypto_init(struct weft_aead *a, const uint8_t key[static WEFT_AEAD_KEY_LEN],
			  bool encrypt)
{
	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx)
		return -ENOMEM;
	/* The nonce comes per record; the key schedule stays in the context. */
	if (EVP_CipherInit_ex(a->ctx, EVP_chacha20_poly1305(), NULL, key, NULL, encrypt) != 1 ||
	    EVP_CIPHER_CTX_key_length(a->ctx) != WEFT_AEAD_KEY_LEN ||
	    EVP_CIPHER_CTX_iv_length(a->ctx) != WEFT_AEAD_NONCE_LEN)
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
	/* Picks libsodium's ChaCha20 code for this CPU; cheap once done. Both
	 * backends need it: libcrypto's contexts use it for short texts. */
	if (sodium_init() < 0)
		goto fail;
	a->key = key;
#if USE_LIBCRYPTO
	if (b == WEFT_AEAD_LIBCRYPTO) {
		r = libcrypto_init(a, key, encrypt);
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
/* OpenSSL 3 reaches its providers through OSSL_PARAM arrays: its compatibility
 * calls (EVP_CipherInit_ex without a cipher, EVP_CIPHER_CTX_ctrl) build those
 * and look them up by name on every call, which costs a 64-byte record about a
 * tenth of its time; the native calls skip that. */
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
static bool renonce(EVP_CIPHER_CTX *ctx, const uint8_t *nonce)
{
	return EVP_CipherInit_ex2(ctx, NULL, NULL, nonce, -1, NULL) == 1;
}

static bool tag_param(EVP_CIPHER_CTX *ctx, uint8_t *tag, bool set)
{
	OSSL_PARAM p[] = {
	    OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, WEFT_AEAD_TAG_LEN),
	    OSSL_PARAM_construct_end(),
	};

	return (set ? EVP_CIPHER_CTX_set_params(ctx, p) : EVP_CIPHER_CTX_get_params(ctx, p)) == 1;
}
#else
static bool renonce(EVP_CIPHER_CTX *ctx, const uint8_t *nonce)
{
	return EVP_CipherInit_ex(ctx, NULL, NULL, NULL, nonce, -1) == 1;
}

static bool tag_param(EVP_CIPHER_CTX *ctx, uint8_t *tag, bool set)
{
	return EVP_CIPHER_CTX_ctrl(ctx, set ? EVP_CTRL_AEAD_SET_TAG : EVP_CTRL_AEAD_GET_TAG,
				   WEFT_AEAD_TAG_LEN, tag) == 1;
}
#endif

/* The AD and then the text through one re-nonced context. EVP counts in int:
 * the callers bound both lengths by WEFT_AEAD_MAX_LEN first. */
static bool libcrypto_run(EVP_CIPHER_CTX *ctx, const uint8_t *nonce, const uint8_t *ad,
			  size_t ad_len, uint8_t *buf, size_t len)
{
	int n;

	if (!renonce(ctx, nonce))
		return false;
	if (ad_len && EVP_CipherUpdate(ctx, NULL, &n, ad, (int)ad_len) != 1)
		return false;
	if (len && (EVP_CipherUpdate(ctx, buf, &n, buf, (int)len) != 1 || (size_t)n != len))
		return false;
	return true;
}

static int libcrypto_seal(struct weft_aead *a, const uint8_t *nonce, const uint8_t *ad,
			  size_t ad_len, uint8_t *buf, size_t len, uint8_t *tag)
{
	uint8_t none[WEFT_AEAD_TAG_LEN]; /* a stream cipher's final writes nothing */
	int n;

	if (!libcrypto_run(a->ctx, nonce, ad, ad_len, buf, len) ||
	    EVP_CipherFinal_ex(a->ctx, none, &n) != 1 || n != 0 || !tag_param(a->ctx, tag, false))
		return -EIO;
	return 0;
}

static int libcrypto_open(struct weft_aead *a, const uint8_t *nonce, const uint8_t *ad,
			  size_t ad_len, uint8_t *buf, size_t len, const uint8_t *tag)
{
	uint8_t expect[WEFT_AEAD_TAG_LEN], none[WEFT_AEAD_TAG_LEN];
	int n;

	/* Setting the tag takes a mutable pointer; it only copies. */
	memcpy(expect, tag, sizeof(expect));
	if (!libcrypto_run(a->ctx, nonce, ad, ad_len, buf, len) ||
	    !tag_param(a->ctx, expect, true) || EVP_CipherFinal_ex(a->ctx, none, &n) != 1)
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
	if (a->backend == WEFT_AEAD_LIBCRYPTO && a->ctx)
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
	else if (a->backend == WEFT_AEAD_LIBCRYPTO && a->ctx)
		r = libcrypto_open(a, nonce, ad, ad_len, buf, len, tag);
#endif
out:
	if (r < 0 && len)
		memset(buf, 0, len);
	return r;
}
