/* SPDX-License-Identifier: MIT */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "common/noise.h"

enum token {
	T_END = 0,
	T_E,
	T_S,
	T_EE,
	T_ES,
	T_SE,
	T_PSK,
};

#define MAX_MSGS   3
#define MAX_TOKENS 5

struct pattern {
	const char *name;
	bool psk;     /* every e token also does MixKey(e.pub) */
	bool statics; /* both sides have a static key */
	uint8_t nmsgs;
	uint8_t tokens[MAX_MSGS][MAX_TOKENS];
};

static const struct pattern patterns[] = {
    [WEFT_NOISE_XX] = {"Noise_XX_25519_ChaChaPoly_BLAKE2b",
		       false,
		       true,
		       3,
		       {{T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE}}},
    [WEFT_NOISE_XXPSK0] = {"Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b",
			   true,
			   true,
			   3,
			   {{T_PSK, T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE}}},
    [WEFT_NOISE_NNPSK0] =
	{"Noise_NNpsk0_25519_ChaChaPoly_BLAKE2b", true, false, 2, {{T_PSK, T_E}, {T_E, T_EE}}},
};

static const struct pattern *pattern_of(const struct weft_noise *n)
{
	return &patterns[n->pattern];
}

/* ---- primitives ---------------------------------------------------------- */

/* Every Diffie-Hellman of the handshake goes through here, so a test can
 * count them by wrapping crypto_scalarmult. libsodium refuses an all-zero
 * result (a low-order point from the peer) with -1. */
static int dh(uint8_t out[static WEFT_NOISE_DHLEN], const uint8_t priv[static WEFT_NOISE_DHLEN],
	      const uint8_t pub[static WEFT_NOISE_DHLEN])
{
	return crypto_scalarmult(out, priv, pub) == 0 ? 0 : -EBADMSG;
}

static int public_key(uint8_t pub[static WEFT_NOISE_DHLEN],
		      const uint8_t priv[static WEFT_NOISE_DHLEN])
{
	return crypto_scalarmult_base(pub, priv) == 0 ? 0 : -EINVAL;
}

static void nonce_bytes(uint8_t out[static crypto_aead_chacha20poly1305_ietf_NPUBBYTES],
			uint64_t nonce)
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(nonce >> (8 * i));
}

int weft_noise_encrypt(const uint8_t key[static WEFT_NOISE_KEYLEN], uint64_t nonce,
		       const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		       uint8_t *out)
{
	uint8_t npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	if (nonce == UINT64_MAX)
		return -EINVAL;
	nonce_bytes(npub, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, in, len, ad, ad_len, NULL, npub, key);
	return 0;
}

int weft_noise_decrypt(const uint8_t key[static WEFT_NOISE_KEYLEN], uint64_t nonce,
		       const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		       uint8_t *out)
{
	uint8_t npub[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];

	if (nonce == UINT64_MAX)
		return -EINVAL;
	if (len < WEFT_NOISE_TAGLEN)
		return -EBADMSG;
	nonce_bytes(npub, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, in, len, ad, ad_len, npub,
						      key) != 0)
		return -EBADMSG;
	return 0;
}

/* HMAC-BLAKE2b as Noise §4.3 defines it (RFC 2104 with BLOCKLEN 128). Every
 * key Noise passes is a HASHLEN-byte chaining or temporary key. */
static void hmac(uint8_t out[static WEFT_NOISE_HASHLEN],
		 const uint8_t key[static WEFT_NOISE_HASHLEN], const uint8_t *d1, size_t l1,
		 const uint8_t *d2, size_t l2)
{
	uint8_t pad[WEFT_NOISE_BLOCKLEN], inner[WEFT_NOISE_HASHLEN];
	crypto_generichash_state st;

	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < WEFT_NOISE_HASHLEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_init(&st, NULL, 0, WEFT_NOISE_HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	if (l1)
		crypto_generichash_update(&st, d1, l1);
	if (l2)
		crypto_generichash_update(&st, d2, l2);
	crypto_generichash_final(&st, inner, sizeof(inner));

	memset(pad, 0x5c, sizeof(pad));
	for (size_t i = 0; i < WEFT_NOISE_HASHLEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_init(&st, NULL, 0, WEFT_NOISE_HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, inner, sizeof(inner));
	crypto_generichash_final(&st, out, WEFT_NOISE_HASHLEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/* HKDF(chaining_key, input_key_material, num_outputs) of §4.3; @o3 may be NULL. */
static void hkdf(const uint8_t ck[static WEFT_NOISE_HASHLEN], const uint8_t *ikm, size_t ikm_len,
		 uint8_t o1[static WEFT_NOISE_HASHLEN], uint8_t o2[static WEFT_NOISE_HASHLEN],
		 uint8_t *o3)
{
	uint8_t temp_key[WEFT_NOISE_HASHLEN];
	const uint8_t one = 1, two = 2, three = 3;

	hmac(temp_key, ck, ikm, ikm_len, NULL, 0);
	hmac(o1, temp_key, &one, 1, NULL, 0);
	hmac(o2, temp_key, o1, WEFT_NOISE_HASHLEN, &two, 1);
	if (o3)
		hmac(o3, temp_key, o2, WEFT_NOISE_HASHLEN, &three, 1);
	sodium_memzero(temp_key, sizeof(temp_key));
}

/* ---- SymmetricState ------------------------------------------------------ */

static void mix_hash(struct weft_noise *n, const uint8_t *data, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, WEFT_NOISE_HASHLEN);
	crypto_generichash_update(&st, n->h, WEFT_NOISE_HASHLEN);
	if (len)
		crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, n->h, WEFT_NOISE_HASHLEN);
}

static void initialize_key(struct weft_noise *n, const uint8_t temp_k[static WEFT_NOISE_HASHLEN])
{
	/* HASHLEN 64 > 32: the key is truncated. */
	memcpy(n->k, temp_k, WEFT_NOISE_KEYLEN);
	n->n = 0;
	n->has_k = true;
}

static void mix_key(struct weft_noise *n, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[WEFT_NOISE_HASHLEN];

	hkdf(n->ck, ikm, len, n->ck, temp_k, NULL);
	initialize_key(n, temp_k);
	sodium_memzero(temp_k, sizeof(temp_k));
}

static void mix_key_and_hash(struct weft_noise *n, const uint8_t *ikm, size_t len)
{
	uint8_t temp_h[WEFT_NOISE_HASHLEN], temp_k[WEFT_NOISE_HASHLEN];

	hkdf(n->ck, ikm, len, n->ck, temp_h, temp_k);
	mix_hash(n, temp_h, sizeof(temp_h));
	initialize_key(n, temp_k);
	sodium_memzero(temp_h, sizeof(temp_h));
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* EncryptAndHash(): @out gets len (+ TAGLEN once a key is set) bytes. */
static int encrypt_and_hash(struct weft_noise *n, const uint8_t *plain, size_t len, uint8_t *out,
			    size_t *out_len)
{
	if (!n->has_k) {
		if (len)
			memmove(out, plain, len);
		*out_len = len;
	} else {
		if (weft_noise_encrypt(n->k, n->n, n->h, WEFT_NOISE_HASHLEN, plain, len, out) < 0)
			return -EINVAL;
		n->n++;
		*out_len = len + WEFT_NOISE_TAGLEN;
	}
	mix_hash(n, out, *out_len);
	return 0;
}

/* DecryptAndHash(): @in is len bytes, @out gets len (- TAGLEN once a key is set). */
static int decrypt_and_hash(struct weft_noise *n, const uint8_t *in, size_t len, uint8_t *out,
			    size_t *out_len)
{
	if (!n->has_k) {
		if (len)
			memmove(out, in, len);
		*out_len = len;
	} else {
		if (weft_noise_decrypt(n->k, n->n, n->h, WEFT_NOISE_HASHLEN, in, len, out) < 0)
			return -EBADMSG;
		n->n++;
		*out_len = len - WEFT_NOISE_TAGLEN;
	}
	/* h covers the ciphertext; @in is intact unless @in == @out without a key. */
	mix_hash(n, in, len);
	return 0;
}

static int mix_dh(struct weft_noise *n, const uint8_t *priv, bool have_priv, const uint8_t *pub,
		  bool have_pub)
{
	uint8_t shared[WEFT_NOISE_DHLEN];
	int r;

	if (!have_priv || !have_pub)
		return -EINVAL;
	r = dh(shared, priv, pub);
	if (r == 0)
		mix_key(n, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return r;
}

/* The ee, es and se tokens: which of our keys meets which of theirs. */
static int token_dh(struct weft_noise *n, enum token t)
{
	switch (t) {
	case T_EE:
		return mix_dh(n, n->e_priv, n->has_e, n->re, n->has_re);
	case T_ES:
		return n->initiator ? mix_dh(n, n->e_priv, n->has_e, n->rs, n->has_rs)
				    : mix_dh(n, n->s_priv, n->has_s, n->re, n->has_re);
	case T_SE:
		return n->initiator ? mix_dh(n, n->s_priv, n->has_s, n->re, n->has_re)
				    : mix_dh(n, n->e_priv, n->has_e, n->rs, n->has_rs);
	default:
		return -EINVAL;
	}
}

/* ---- HandshakeState ------------------------------------------------------ */

struct weft_noise *weft_noise_new(void)
{
	struct weft_noise *n = sodium_malloc(sizeof(*n));

	if (n)
		weft_noise_wipe(n);
	return n;
}

void weft_noise_wipe(struct weft_noise *n)
{
	sodium_memzero(n, sizeof(*n));
	n->failed = true;
}

void weft_noise_free(struct weft_noise *n)
{
	if (!n)
		return;
	sodium_memzero(n, sizeof(*n));
	sodium_free(n);
}

int weft_noise_init(struct weft_noise *n, const struct weft_noise_config *cfg)
{
	const struct pattern *p;
	size_t name_len;

	sodium_memzero(n, sizeof(*n));
	n->failed = true;
	if ((unsigned)cfg->pattern >= WEFT_ARRAY_SIZE(patterns))
		return -EINVAL;
	p = &patterns[cfg->pattern];
	if ((p->statics && !cfg->static_priv) || (p->psk && !cfg->psk) ||
	    (cfg->prologue_len && !cfg->prologue))
		return -EINVAL;

	n->pattern = (uint8_t)cfg->pattern;
	n->initiator = cfg->initiator;
	if (p->statics) {
		memcpy(n->s_priv, cfg->static_priv, WEFT_NOISE_DHLEN);
		if (cfg->static_pub)
			memcpy(n->s_pub, cfg->static_pub, WEFT_NOISE_DHLEN);
		else if (public_key(n->s_pub, n->s_priv) < 0)
			goto fail;
		n->has_s = true;
	}
	if (p->psk) {
		memcpy(n->psk, cfg->psk, WEFT_NOISE_KEYLEN);
		n->has_psk = true;
	}
	if (cfg->ephemeral_priv) {
		memcpy(n->e_priv, cfg->ephemeral_priv, WEFT_NOISE_DHLEN);
		n->e_injected = true;
	}

	/* InitializeSymmetric(): every name here is shorter than HASHLEN, so h is
	 * the name padded with zeros. */
	name_len = strlen(p->name);
	memcpy(n->h, p->name, name_len);
	memcpy(n->ck, n->h, WEFT_NOISE_HASHLEN);
	mix_hash(n, cfg->prologue, cfg->prologue_len);
	n->failed = false;
	return 0;
fail:
	weft_noise_wipe(n);
	return -EINVAL;
}

bool weft_noise_done(const struct weft_noise *n)
{
	return !n->failed && n->msg >= pattern_of(n)->nmsgs;
}

bool weft_noise_writing(const struct weft_noise *n)
{
	return !n->failed && n->msg < pattern_of(n)->nmsgs && ((n->msg % 2 == 0) == n->initiator);
}

/* Message length for @payload_len, simulating when the cipher key gets set. */
static size_t message_len(const struct weft_noise *n, size_t payload_len)
{
	const struct pattern *p = pattern_of(n);
	bool has_k = n->has_k;
	size_t len = 0;

	for (int i = 0; i < MAX_TOKENS && p->tokens[n->msg][i] != T_END; i++) {
		switch (p->tokens[n->msg][i]) {
		case T_E:
			len += WEFT_NOISE_DHLEN;
			if (p->psk)
				has_k = true;
			break;
		case T_S:
			len += WEFT_NOISE_DHLEN + (has_k ? WEFT_NOISE_TAGLEN : 0);
			break;
		default:
			has_k = true;
			break;
		}
	}
	return len + payload_len + (has_k ? WEFT_NOISE_TAGLEN : 0);
}

size_t weft_noise_write_len(const struct weft_noise *n, size_t payload_len)
{
	if (!weft_noise_writing(n))
		return 0;
	return message_len(n, payload_len);
}

static int write_e(struct weft_noise *n, uint8_t *out)
{
	if (!n->has_e) {
		if (!n->e_injected)
			randombytes_buf(n->e_priv, sizeof(n->e_priv));
		if (public_key(n->e_pub, n->e_priv) < 0)
			return -EINVAL;
		n->has_e = true;
	}
	memcpy(out, n->e_pub, WEFT_NOISE_DHLEN);
	mix_hash(n, n->e_pub, WEFT_NOISE_DHLEN);
	if (pattern_of(n)->psk)
		mix_key(n, n->e_pub, WEFT_NOISE_DHLEN);
	return 0;
}

int weft_noise_write(struct weft_noise *n, const uint8_t *payload, size_t payload_len, uint8_t *out,
		     size_t out_cap, size_t *out_len)
{
	const struct pattern *p;
	size_t need, off = 0, chunk;
	int r = 0;

	if (!weft_noise_writing(n))
		return -EINVAL;
	p = pattern_of(n);
	need = message_len(n, payload_len);
	if (need > WEFT_NOISE_MAX_MSG_LEN) {
		r = -EMSGSIZE;
		goto fail;
	}
	if (need > out_cap)
		return -ENOBUFS;

	for (int i = 0; i < MAX_TOKENS && p->tokens[n->msg][i] != T_END; i++) {
		enum token t = p->tokens[n->msg][i];

		switch (t) {
		case T_E:
			r = write_e(n, out + off);
			off += WEFT_NOISE_DHLEN;
			break;
		case T_S:
			r = encrypt_and_hash(n, n->s_pub, WEFT_NOISE_DHLEN, out + off, &chunk);
			off += chunk;
			break;
		case T_PSK:
			mix_key_and_hash(n, n->psk, WEFT_NOISE_KEYLEN);
			break;
		default:
			r = token_dh(n, t);
			break;
		}
		if (r < 0)
			goto fail;
	}
	r = encrypt_and_hash(n, payload, payload_len, out + off, &chunk);
	if (r < 0)
		goto fail;
	off += chunk;
	n->msg++;
	*out_len = off;
	return 0;
fail:
	weft_noise_wipe(n);
	return r;
}

int weft_noise_read(struct weft_noise *n, const uint8_t *msg, size_t len, uint8_t *payload,
		    size_t payload_cap, size_t *payload_len)
{
	const struct pattern *p;
	size_t off = 0, chunk, need;
	int r;

	if (n->failed || n->msg >= pattern_of(n)->nmsgs || weft_noise_writing(n))
		return -EINVAL;
	p = pattern_of(n);
	/* Everything but the payload has a fixed size; so has the payload's tag. */
	need = message_len(n, 0);
	if (len > WEFT_NOISE_MAX_MSG_LEN || len < need)
		goto fail;
	if (len - need > payload_cap)
		return -ENOBUFS;

	for (int i = 0; i < MAX_TOKENS && p->tokens[n->msg][i] != T_END; i++) {
		enum token t = p->tokens[n->msg][i];

		r = 0;
		switch (t) {
		case T_E:
			memcpy(n->re, msg + off, WEFT_NOISE_DHLEN);
			n->has_re = true;
			off += WEFT_NOISE_DHLEN;
			mix_hash(n, n->re, WEFT_NOISE_DHLEN);
			if (p->psk)
				mix_key(n, n->re, WEFT_NOISE_DHLEN);
			break;
		case T_S: {
			size_t slen = WEFT_NOISE_DHLEN + (n->has_k ? WEFT_NOISE_TAGLEN : 0);

			r = decrypt_and_hash(n, msg + off, slen, n->rs, &chunk);
			off += slen;
			n->has_rs = r == 0;
			break;
		}
		case T_PSK:
			mix_key_and_hash(n, n->psk, WEFT_NOISE_KEYLEN);
			break;
		default:
			r = token_dh(n, t);
			break;
		}
		if (r < 0)
			goto fail;
	}
	r = decrypt_and_hash(n, msg + off, len - off, payload, payload_len);
	if (r < 0)
		goto fail;
	n->msg++;
	return 0;
fail:
	weft_noise_wipe(n);
	return -EBADMSG;
}

int weft_noise_split(struct weft_noise *n, uint8_t send_key[static WEFT_NOISE_KEYLEN],
		     uint8_t recv_key[static WEFT_NOISE_KEYLEN])
{
	uint8_t k1[WEFT_NOISE_HASHLEN], k2[WEFT_NOISE_HASHLEN];

	if (!weft_noise_done(n) || n->split)
		return -EINVAL;
	hkdf(n->ck, NULL, 0, k1, k2, NULL);
	memcpy(send_key, n->initiator ? k1 : k2, WEFT_NOISE_KEYLEN);
	memcpy(recv_key, n->initiator ? k2 : k1, WEFT_NOISE_KEYLEN);
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	sodium_memzero(n->ck, sizeof(n->ck));
	sodium_memzero(n->k, sizeof(n->k));
	sodium_memzero(n->s_priv, sizeof(n->s_priv));
	sodium_memzero(n->e_priv, sizeof(n->e_priv));
	sodium_memzero(n->psk, sizeof(n->psk));
	n->has_k = false;
	n->split = true;
	return 0;
}

void weft_noise_handshake_hash(const struct weft_noise *n, uint8_t out[static WEFT_NOISE_HASHLEN])
{
	memcpy(out, n->h, WEFT_NOISE_HASHLEN);
}

int weft_noise_remote_static(const struct weft_noise *n, uint8_t out[static WEFT_NOISE_DHLEN])
{
	if (!n->has_rs)
		return -ENOENT;
	memcpy(out, n->rs, WEFT_NOISE_DHLEN);
	return 0;
}

int weft_noise_remote_ephemeral(const struct weft_noise *n, uint8_t out[static WEFT_NOISE_DHLEN])
{
	if (!n->has_re)
		return -ENOENT;
	memcpy(out, n->re, WEFT_NOISE_DHLEN);
	return 0;
}
