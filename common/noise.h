/* SPDX-License-Identifier: MIT */
/* The Noise Protocol Framework (revision 34) for one cipher suite,
 * 25519_ChaChaPoly_BLAKE2b, and the patterns weft needs: XXpsk0 (its
 * handshake) plus XX and NNpsk0 (they carry the published test vectors).
 * Built on libsodium primitives only; HMAC and HKDF are the spec's own
 * constructions over BLAKE2b-512. */
#ifndef WEFT_NOISE_H
#define WEFT_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

#define WEFT_NOISE_DHLEN       32
#define WEFT_NOISE_KEYLEN      32
#define WEFT_NOISE_HASHLEN     64
#define WEFT_NOISE_BLOCKLEN    128
#define WEFT_NOISE_TAGLEN      16
#define WEFT_NOISE_MAX_MSG_LEN 65535

enum weft_noise_pattern {
	WEFT_NOISE_XX,	   /* -> e; <- e, ee, s, es; -> s, se */
	WEFT_NOISE_XXPSK0, /* -> psk, e; <- e, ee, s, es; -> s, se */
	WEFT_NOISE_NNPSK0, /* -> psk, e; <- e, ee */
};

/* Everything a handshake starts from. Pointers are borrowed for the duration
 * of weft_noise_init() only: the keys are copied into the state. */
struct weft_noise_config {
	enum weft_noise_pattern pattern;
	bool initiator;
	const uint8_t *prologue; /* may be NULL when prologue_len is 0 */
	size_t prologue_len;
	const uint8_t *static_priv; /* XX patterns: our static X25519 key */
	const uint8_t *static_pub;  /* optional: its public half, saves a scalar multiplication */
	const uint8_t *psk;	    /* psk patterns: the 32-byte pre-shared key */
	const uint8_t *ephemeral_priv; /* NULL: random, drawn when the e token is written */
};

/* A HandshakeState (with its SymmetricState and CipherState). The fields are
 * private; the struct is public only so that a caller can embed it in its own
 * sodium_malloc memory (weft_handshake does). It holds no pointers, so a copy
 * is an independent state. */
struct weft_noise {
	uint8_t ck[WEFT_NOISE_HASHLEN];
	uint8_t h[WEFT_NOISE_HASHLEN];
	uint8_t k[WEFT_NOISE_KEYLEN];
	uint64_t n;
	uint8_t s_priv[WEFT_NOISE_DHLEN], s_pub[WEFT_NOISE_DHLEN];
	uint8_t e_priv[WEFT_NOISE_DHLEN], e_pub[WEFT_NOISE_DHLEN];
	uint8_t rs[WEFT_NOISE_DHLEN], re[WEFT_NOISE_DHLEN];
	uint8_t psk[WEFT_NOISE_KEYLEN];
	bool has_k, has_s, has_e, e_injected, has_rs, has_re, has_psk;
	bool initiator, failed, split;
	uint8_t pattern;
	uint8_t msg; /* index of the next handshake message */
};

/* A blank state in sodium_malloc memory (refusing everything until
 * initialised), or NULL when out of memory. Like everything here, it needs
 * sodium_init() to have been called. */
struct weft_noise *weft_noise_new(void) WEFT_WUR;
/* Wipes and frees; accepts NULL. */
void weft_noise_free(struct weft_noise *n);
/* Wipes every secret (the state is unusable until initialised again). */
void weft_noise_wipe(struct weft_noise *n);

/* (Re)initialises @n for a new handshake: Initialize() with the protocol
 * name and the prologue. Computes nothing expensive when cfg->static_pub is
 * given. Returns 0 or -EINVAL (a key the pattern needs is missing). */
int weft_noise_init(struct weft_noise *n, const struct weft_noise_config *cfg) WEFT_WUR;

/* The length of the next message we write with a payload of @payload_len
 * bytes; 0 when it is not our turn or the handshake is over. */
size_t weft_noise_write_len(const struct weft_noise *n, size_t payload_len);
/* WriteMessage(): the next handshake message into @out (@out_cap bytes;
 * @payload and @out must not overlap). Returns 0 with *@out_len set, -EINVAL
 * (not our turn, finished or failed), -ENOBUFS (@out too small), -EMSGSIZE
 * (over 65535 bytes) or -EBADMSG (a DH with the peer's key gave zero). Any
 * error but -ENOBUFS fails the handshake. */
int weft_noise_write(struct weft_noise *n, const uint8_t *payload, size_t payload_len, uint8_t *out,
		     size_t out_cap, size_t *out_len) WEFT_WUR;
/* ReadMessage(): processes the peer's next message and decrypts its payload
 * into @payload (@payload_cap bytes, not overlapping @msg; @len is always
 * enough). Returns 0 with
 * *@payload_len set, -EINVAL (not the peer's turn, finished or failed),
 * -ENOBUFS (@payload too small) or -EBADMSG (wrong length, authentication
 * failed, a DH gave zero). Any error but -ENOBUFS fails the handshake. */
int weft_noise_read(struct weft_noise *n, const uint8_t *msg, size_t len, uint8_t *payload,
		    size_t payload_cap, size_t *payload_len) WEFT_WUR;

/* Every handshake message has been written or read. */
bool weft_noise_done(const struct weft_noise *n);
/* Whose turn: true when the next message is ours to write. */
bool weft_noise_writing(const struct weft_noise *n);

/* Split(): the transport keys, oriented for this side (the initiator sends
 * with the first, the responder with the second). Wipes the chaining key,
 * the handshake cipher key and the private keys; the hash and the remote
 * static key stay. Returns 0 or -EINVAL (handshake not done or already split). */
int weft_noise_split(struct weft_noise *n, uint8_t send_key[static WEFT_NOISE_KEYLEN],
		     uint8_t recv_key[static WEFT_NOISE_KEYLEN]) WEFT_WUR;
/* GetHandshakeHash(): h as it is now (the channel binding once done). */
void weft_noise_handshake_hash(const struct weft_noise *n, uint8_t out[static WEFT_NOISE_HASHLEN]);
/* The peer's static / ephemeral public key: 0, or -ENOENT before it arrived. */
int weft_noise_remote_static(const struct weft_noise *n,
			     uint8_t out[static WEFT_NOISE_DHLEN]) WEFT_WUR;
int weft_noise_remote_ephemeral(const struct weft_noise *n,
				uint8_t out[static WEFT_NOISE_DHLEN]) WEFT_WUR;

/* A CipherState's EncryptWithAd()/DecryptWithAd() with an explicit nonce
 * (the transport phase; nonce 2^64-1 is reserved and refused with -EINVAL).
 * encrypt writes @len + WEFT_NOISE_TAGLEN bytes to @out; decrypt reads
 * @len >= WEFT_NOISE_TAGLEN bytes and writes @len - WEFT_NOISE_TAGLEN, or
 * returns -EBADMSG. @in and @out may be the same buffer. */
int weft_noise_encrypt(const uint8_t key[static WEFT_NOISE_KEYLEN], uint64_t nonce,
		       const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		       uint8_t *out) WEFT_WUR;
int weft_noise_decrypt(const uint8_t key[static WEFT_NOISE_KEYLEN], uint64_t nonce,
		       const uint8_t *ad, size_t ad_len, const uint8_t *in, size_t len,
		       uint8_t *out) WEFT_WUR;

#endif
