/* SPDX-License-Identifier: MIT */
/* The transport AEAD: ChaCha20-Poly1305 (RFC 8439, 96-bit nonce) sealing and
 * opening DATA records in place, from one of three libraries that compute the
 * same function (nothing on the wire says which one sealed):
 *   - libcrypto (OpenSSL 3's ChaCha20 and Poly1305, which common/aead.c puts
 *     together), when weft is built with it: per-CPU assembly (AVX2, AVX-512)
 *     that libsodium 1.0.18 does not have, about 2x libsodium's speed at 1440
 *     bytes and 2.5x at 64 KB (tests/bench/README.md);
 *   - libsodium, always built in: the fallback when weft is built without
 *     libcrypto, or when libcrypto refuses the cipher (a FIPS-only setup);
 *   - Nettle, when weft is built with it: the cold path below.
 * A context hands texts under its cold_below to its cold path with the same
 * key: Nettle if built in, else libsodium. A lone short record after an idle
 * spell (a ping) finds caches and TLBs cold, and then what counts is how
 * little code and memory a library touches: a 101-byte record after 10 ms
 * idle takes Nettle about 4-5.5 us, libsodium 7-9.5 and libcrypto 13-17
 * (bench_session, Nettle and libsodium linked in as weftd links them),
 * against well under 1 us each hot. common/session sets
 * cold_below per record from the time since its context's last record; hot,
 * the context's own backend takes every length (0 then).
 * A context is made once per key and direction and reused; a record only
 * changes its nonce. The Noise handshake does not come through here: it keeps
 * libsodium (common/noise.c). */
#ifndef WEFT_AEAD_H
#define WEFT_AEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

#define WEFT_AEAD_KEY_LEN   32
#define WEFT_AEAD_NONCE_LEN 12
#define WEFT_AEAD_TAG_LEN   16
/* The longest plaintext or additional data one call takes: a UDP payload. */
#define WEFT_AEAD_MAX_LEN 65535
/* After an idle spell, texts shorter than this take the cold path: any one
 * datagram on a 1500-byte underlay. From cold caches Nettle is the faster
 * up to about 4 KB (a 1440-byte record after 10 ms idle: 6.3-7.6 us linked
 * in against libcrypto's 12.5-17.7; 9000 bytes, both shared: 27 against 22),
 * libsodium up to 9 KB and more. */
#define WEFT_AEAD_COLD_MAX_LEN 2048

enum weft_aead_backend {
	WEFT_AEAD_LIBSODIUM,
	WEFT_AEAD_LIBCRYPTO,
	WEFT_AEAD_NETTLE,
	WEFT_AEAD_BACKEND_COUNT
};

struct weft_aead_libcrypto; /* common/aead.c: libcrypto's contexts for one key */
struct weft_aead_nettle;    /* common/aead.c: Nettle's context for one key */

/* One key in one direction. Zeroed is a valid cleared context. */
struct weft_aead {
	enum weft_aead_backend backend;
	bool encrypt;
	/* libsodium reads the key for every record: borrowed from the caller's
	 * sodium_malloc memory, which must outlive the context (any context,
	 * for a cold path without Nettle). */
	const uint8_t *key;
	/* libcrypto keeps its own copy of the key in the ChaCha20 context,
	 * which it cleanses when the context is freed; the Poly1305 one is
	 * keyed anew for each record. */
	struct weft_aead_libcrypto *lc;
	/* Nettle's context, keyed once, when Nettle is built in: a Nettle
	 * context's own backend, any other's cold path. Wiped when freed. */
	struct weft_aead_nettle *nettle;
	/* Texts shorter than this take the cold path (Nettle if built in, else
	 * libsodium) with the same key: WEFT_AEAD_COLD_MAX_LEN when made with a
	 * cold path other than its own backend, else 0 (it takes all). */
	size_t cold_below;
};

/* Whether @b is built in. libsodium always is. */
bool weft_aead_built(enum weft_aead_backend b);
/* "libsodium", "libcrypto", "nettle"; "?" when out of range. */
const char *weft_aead_name(enum weft_aead_backend b);
/* The version of the library linked at run time ("1.0.18", "OpenSSL 3.0.19 ...",
 * "3.8"); "not built" for a backend that is not built in. */
const char *weft_aead_version(enum weft_aead_backend b);
/* The cold path's backend: Nettle if built in, else libsodium. */
enum weft_aead_backend weft_aead_cold(void);
/* The backend weft_aead_init_best() uses when it can: libcrypto if built in,
 * else libsodium. */
enum weft_aead_backend weft_aead_preferred(void);
/* The backend weft_aead_init_best() gives now, found by making a context
 * (libcrypto may refuse the cipher at run time). */
enum weft_aead_backend weft_aead_probe(void);

/* A context for @key (borrowed: see struct weft_aead) in one direction.
 * Returns 0, -ENOTSUP (@b is not built in, or libcrypto refused the cipher) or
 * -ENOMEM. On failure @a is cleared. */
int weft_aead_init(struct weft_aead *a, enum weft_aead_backend b,
		   const uint8_t key[static WEFT_AEAD_KEY_LEN], bool encrypt) WEFT_WUR;
/* The preferred backend, else libsodium if that one refuses the cipher.
 * Returns 0 or -ENOMEM. */
int weft_aead_init_best(struct weft_aead *a, const uint8_t key[static WEFT_AEAD_KEY_LEN],
			bool encrypt) WEFT_WUR;
/* Frees the libraries' contexts (libcrypto cleanses the key schedule it holds,
 * Nettle's is wiped here) and forgets the key; accepts a zeroed or already
 * cleared context. */
void weft_aead_clear(struct weft_aead *a);

/* Encrypts @len bytes at @buf in place and writes the tag. @ad and @buf may be
 * NULL when their length is 0. Returns 0, -EINVAL (a context for opening),
 * -EMSGSIZE (@len or @ad_len over WEFT_AEAD_MAX_LEN) or -EIO (the library
 * failed; @buf is then wiped, since it may hold part of a keystream). */
int weft_aead_seal(struct weft_aead *a, const uint8_t nonce[static WEFT_AEAD_NONCE_LEN],
		   const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len,
		   uint8_t tag[static WEFT_AEAD_TAG_LEN]) WEFT_WUR;
/* Verifies and decrypts @len bytes at @buf in place. Returns 0 or -EBADMSG
 * (not authentic, a context for sealing, a length over WEFT_AEAD_MAX_LEN, or
 * the library failed). On failure the @len bytes at @buf are zeroed, whichever
 * the backend: libcrypto and Nettle decrypt before they verify, and unauthenticated
 * plaintext must not be left behind for anyone to act on. */
int weft_aead_open(struct weft_aead *a, const uint8_t nonce[static WEFT_AEAD_NONCE_LEN],
		   const uint8_t *ad, size_t ad_len, uint8_t *buf, size_t len,
		   const uint8_t tag[static WEFT_AEAD_TAG_LEN]) WEFT_WUR;

#endif
