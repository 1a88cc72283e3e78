/* SPDX-License-Identifier: MIT */
/* mac1, mac2 and cookies: the map is in cookie.h. Every MAC is BLAKE2b
 * (libsodium's crypto_generichash, keyed) and every comparison constant-time. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/cookie.h"

/* ---- keys ------------------------------------------------------------------ */

static int derive(uint8_t out[static WEFT_COOKIE_KEY_LEN], const uint8_t psk[static WEFT_KEY_LEN],
		  const char *label, const char *network, size_t nlen)
{
	crypto_generichash_state st;

	if (crypto_generichash_init(&st, psk, WEFT_KEY_LEN, WEFT_COOKIE_KEY_LEN) != 0)
		return -EINVAL;
	crypto_generichash_update(&st, (const uint8_t *)label, strlen(label));
	crypto_generichash_update(&st, (const uint8_t *)network, nlen);
	crypto_generichash_final(&st, out, WEFT_COOKIE_KEY_LEN);
	sodium_memzero(&st, sizeof(st));
	return 0;
}

int weft_cookie_keys_derive(struct weft_cookie_keys *k, const uint8_t psk[static WEFT_KEY_LEN],
			    const char *network)
{
	size_t nlen;

	if (!network)
		return -EINVAL;
	nlen = strnlen(network, WEFT_COOKIE_NETWORK_MAX + 1);
	if (nlen > WEFT_COOKIE_NETWORK_MAX)
		return -EINVAL;
	if (derive(k->mac1, psk, WEFT_COOKIE_MAC1_LABEL, network, nlen) < 0 ||
	    derive(k->seal, psk, WEFT_COOKIE_SEAL_LABEL, network, nlen) < 0) {
		sodium_memzero(k, sizeof(*k));
		return -EINVAL;
	}
	return 0;
}

struct weft_cookie_keys *weft_cookie_keys_new(const uint8_t psk[static WEFT_KEY_LEN],
					      const char *network)
{
	struct weft_cookie_keys *k = sodium_malloc(sizeof(*k));

	if (k && weft_cookie_keys_derive(k, psk, network) < 0) {
		sodium_free(k);
		return NULL;
	}
	return k;
}

void weft_cookie_keys_free(struct weft_cookie_keys *k)
{
	if (!k)
		return;
	sodium_memzero(k, sizeof(*k));
	sodium_free(k);
}

/* ---- MACs ------------------------------------------------------------------- */

static void mac(uint8_t out[static WEFT_WIRE_MAC_LEN], const uint8_t *key, size_t key_len,
		const uint8_t *msg, size_t len)
{
	/* Key lengths here are 16 and 32 bytes, within BLAKE2b's 16..64: it cannot fail. */
	(void)crypto_generichash(out, WEFT_WIRE_MAC_LEN, msg, len, key, key_len);
}

/* Offsets of the MACs in a HELLO of @len bytes. */
static size_t mac1_at(size_t len)
{
	return len - WEFT_WIRE_HELLO_TRAILER_LEN;
}

static size_t mac2_at(size_t len)
{
	return len - WEFT_WIRE_MAC_LEN;
}

void weft_cookie_put_mac2(const uint8_t *cookie, uint8_t *hello, size_t len)
{
	if (cookie)
		mac(hello + mac2_at(len), cookie, WEFT_COOKIE_LEN, hello, mac2_at(len));
	else
		memset(hello + mac2_at(len), 0, WEFT_WIRE_MAC_LEN);
}

void weft_cookie_put_macs(const struct weft_cookie_keys *k, const uint8_t *cookie, uint8_t *hello,
			  size_t len)
{
	mac(hello + mac1_at(len), k->mac1, sizeof(k->mac1), hello, mac1_at(len));
	weft_cookie_put_mac2(cookie, hello, len);
}

bool weft_cookie_mac1_valid(const struct weft_cookie_keys *k, const uint8_t *hello, size_t len)
{
	uint8_t m[WEFT_WIRE_MAC_LEN];

	mac(m, k->mac1, sizeof(k->mac1), hello, mac1_at(len));
	return sodium_memcmp(m, hello + mac1_at(len), sizeof(m)) == 0;
}

bool weft_cookie_mac2_valid(const uint8_t cookie[static WEFT_COOKIE_LEN], const uint8_t *hello,
			    size_t len)
{
	uint8_t m[WEFT_WIRE_MAC_LEN];

	if (sodium_is_zero(hello + mac2_at(len), WEFT_WIRE_MAC_LEN))
		return false;
	mac(m, cookie, WEFT_COOKIE_LEN, hello, mac2_at(len));
	return sodium_memcmp(m, hello + mac2_at(len), sizeof(m)) == 0;
}

size_t weft_cookie_source(uint8_t out[static WEFT_COOKIE_SOURCE_MAX],
			  const union weft_sockaddr *addr)
{
	const struct in6_addr *a6;

	switch (addr->sa.sa_family) {
	case AF_INET:
		memcpy(out, &addr->in4.sin_addr, 4);
		memcpy(out + 4, &addr->in4.sin_port, 2); /* already big-endian */
		return 6;
	case AF_INET6:
		a6 = &addr->in6.sin6_addr;
		/* A dual-stack socket's view of an IPv4 peer is that peer. */
		if (IN6_IS_ADDR_V4MAPPED(a6)) {
			memcpy(out, &a6->s6_addr[12], 4);
			memcpy(out + 4, &addr->in6.sin6_port, 2);
			return 6;
		}
		memcpy(out, a6, 16);
		memcpy(out + 16, &addr->in6.sin6_port, 2);
		return 18;
	default:
		return 0;
	}
}

/* ---- responder's secret ------------------------------------------------------ */

struct weft_cookie_secret {
	uint8_t cur[WEFT_COOKIE_KEY_LEN], prev[WEFT_COOKIE_KEY_LEN];
	uint64_t born_ms;
	bool has_cur, has_prev;
};

struct weft_cookie_secret *weft_cookie_secret_new(void)
{
	struct weft_cookie_secret *s = sodium_malloc(sizeof(*s));

	if (s)
		sodium_memzero(s, sizeof(*s));
	return s;
}

void weft_cookie_secret_free(struct weft_cookie_secret *s)
{
	if (!s)
		return;
	sodium_memzero(s, sizeof(*s));
	sodium_free(s);
}

void weft_cookie_secret_set(struct weft_cookie_secret *s,
			    const uint8_t secret[static WEFT_COOKIE_KEY_LEN], uint64_t now_ms)
{
	memcpy(s->cur, secret, sizeof(s->cur));
	sodium_memzero(s->prev, sizeof(s->prev));
	s->born_ms = now_ms;
	s->has_cur = true;
	s->has_prev = false;
}

/* Draws the first secret, or the next when the current one is due; a secret
 * two periods old is forgotten, so no cookie outlives 2 x ROTATE_MS. */
static void rotate(struct weft_cookie_secret *s, uint64_t now_ms)
{
	if (s->has_cur && now_ms - s->born_ms < WEFT_COOKIE_ROTATE_MS)
		return;
	if (s->has_cur && now_ms - s->born_ms < 2 * (uint64_t)WEFT_COOKIE_ROTATE_MS) {
		memcpy(s->prev, s->cur, sizeof(s->prev));
		s->has_prev = true;
	} else {
		sodium_memzero(s->prev, sizeof(s->prev));
		s->has_prev = false;
	}
	randombytes_buf(s->cur, sizeof(s->cur));
	s->born_ms = now_ms;
	s->has_cur = true;
}

static void cookie_of(const uint8_t secret[static WEFT_COOKIE_KEY_LEN],
		      const union weft_sockaddr *src, uint8_t cookie[static WEFT_COOKIE_LEN])
{
	uint8_t source[WEFT_COOKIE_SOURCE_MAX];
	size_t n = weft_cookie_source(source, src);

	mac(cookie, secret, WEFT_COOKIE_KEY_LEN, source, n);
}

void weft_cookie_make(struct weft_cookie_secret *s, uint64_t now_ms, const union weft_sockaddr *src,
		      uint8_t cookie[static WEFT_COOKIE_LEN])
{
	/* A monotonic clock does not go back; should one, the secret is kept. */
	if (!s->has_cur || now_ms >= s->born_ms)
		rotate(s, now_ms);
	cookie_of(s->cur, src, cookie);
}

bool weft_cookie_check(struct weft_cookie_secret *s, uint64_t now_ms,
		       const union weft_sockaddr *src, const uint8_t *hello, size_t len)
{
	uint8_t cookie[WEFT_COOKIE_LEN];
	bool ok;

	if (sodium_is_zero(hello + mac2_at(len), WEFT_WIRE_MAC_LEN))
		return false;
	weft_cookie_make(s, now_ms, src, cookie);
	ok = weft_cookie_mac2_valid(cookie, hello, len);
	if (!ok && s->has_prev) {
		cookie_of(s->prev, src, cookie);
		ok = weft_cookie_mac2_valid(cookie, hello, len);
	}
	sodium_memzero(cookie, sizeof(cookie));
	return ok;
}

void weft_cookie_seal(const struct weft_cookie_keys *k,
		      const uint8_t cookie[static WEFT_COOKIE_LEN],
		      const uint8_t mac1[static WEFT_WIRE_MAC_LEN],
		      const uint8_t nonce[static WEFT_WIRE_COOKIE_NONCE_LEN],
		      uint8_t sealed[static WEFT_WIRE_COOKIE_SEALED_LEN])
{
	unsigned long long clen;

	(void)crypto_aead_xchacha20poly1305_ietf_encrypt(
	    sealed, &clen, cookie, WEFT_COOKIE_LEN, mac1, WEFT_WIRE_MAC_LEN, NULL, nonce, k->seal);
}

int weft_cookie_reply(const struct weft_cookie_keys *k, struct weft_cookie_secret *s,
		      uint64_t now_ms, const union weft_sockaddr *src, const uint8_t *hello,
		      size_t hello_len, uint8_t *buf, size_t cap, size_t *len)
{
	uint8_t cookie[WEFT_COOKIE_LEN], nonce[WEFT_WIRE_COOKIE_NONCE_LEN];
	uint8_t sealed[WEFT_WIRE_COOKIE_SEALED_LEN];
	int r;

	if (cap < WEFT_WIRE_COOKIE_LEN)
		return -ENOBUFS;
	weft_cookie_make(s, now_ms, src, cookie);
	randombytes_buf(nonce, sizeof(nonce));
	weft_cookie_seal(k, cookie, hello + mac1_at(hello_len), nonce, sealed);
	sodium_memzero(cookie, sizeof(cookie));
	r = weft_wire_build_cookie(buf, cap, weft_get_be32(hello + 4), nonce, sealed, len);
	return r;
}

/* ---- initiator ------------------------------------------------------------------- */

int weft_cookie_open(const struct weft_cookie_keys *k, const struct weft_wire_msg *msg,
		     const uint8_t mac1[static WEFT_WIRE_MAC_LEN],
		     uint8_t cookie[static WEFT_COOKIE_LEN])
{
	unsigned long long plen;

	if (msg->type != WEFT_WIRE_COOKIE || msg->version != WEFT_WIRE_VERSION || !msg->nonce ||
	    msg->body_len != WEFT_WIRE_COOKIE_SEALED_LEN)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(cookie, &plen, NULL, msg->body,
						       msg->body_len, mac1, WEFT_WIRE_MAC_LEN,
						       msg->nonce, k->seal) != 0 ||
	    plen != WEFT_COOKIE_LEN) {
		sodium_memzero(cookie, WEFT_COOKIE_LEN);
		return -EBADMSG;
	}
	return 0;
}

struct jar_slot {
	uint8_t source[WEFT_COOKIE_SOURCE_MAX];
	uint8_t source_len; /* 0: free */
	uint8_t cookie[WEFT_COOKIE_LEN];
	uint64_t got_ms;
};

struct weft_cookie_jar {
	size_t mask;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
	struct jar_slot slots[];
};

struct weft_cookie_jar *weft_cookie_jar_new(size_t capacity)
{
	struct weft_cookie_jar *j;
	size_t n = 1;

	if (capacity == 0 || capacity > (1U << 20))
		return NULL;
	while (n < capacity)
		n <<= 1;
	j = calloc(1, sizeof(*j) + n * sizeof(j->slots[0]));
	if (!j)
		return NULL;
	j->mask = n - 1;
	randombytes_buf(j->hash_key, sizeof(j->hash_key));
	return j;
}

void weft_cookie_jar_free(struct weft_cookie_jar *j)
{
	free(j);
}

static struct jar_slot *jar_slot(const struct weft_cookie_jar *j, const uint8_t *source, size_t len)
{
	uint8_t h[crypto_shorthash_BYTES];
	size_t i = 0;

	crypto_shorthash(h, source, len, j->hash_key);
	for (int b = 0; b < 8; b++)
		i |= (size_t)h[b] << (8 * b);
	return (struct jar_slot *)&j->slots[i & j->mask];
}

void weft_cookie_jar_put(struct weft_cookie_jar *j, const union weft_sockaddr *responder,
			 const uint8_t cookie[static WEFT_COOKIE_LEN], uint64_t now_ms)
{
	uint8_t source[WEFT_COOKIE_SOURCE_MAX];
	size_t n = weft_cookie_source(source, responder);
	struct jar_slot *s;

	if (!n)
		return;
	s = jar_slot(j, source, n);
	memcpy(s->source, source, n);
	s->source_len = (uint8_t)n;
	memcpy(s->cookie, cookie, WEFT_COOKIE_LEN);
	s->got_ms = now_ms;
}

bool weft_cookie_jar_get(const struct weft_cookie_jar *j, const union weft_sockaddr *responder,
			 uint64_t now_ms, uint8_t cookie[static WEFT_COOKIE_LEN])
{
	uint8_t source[WEFT_COOKIE_SOURCE_MAX];
	size_t n = weft_cookie_source(source, responder);
	const struct jar_slot *s;

	if (!n)
		return false;
	s = jar_slot(j, source, n);
	if (s->source_len != n || memcmp(s->source, source, n) != 0 || now_ms < s->got_ms ||
	    now_ms - s->got_ms >= WEFT_COOKIE_KEEP_MS)
		return false;
	memcpy(cookie, s->cookie, WEFT_COOKIE_LEN);
	return true;
}
