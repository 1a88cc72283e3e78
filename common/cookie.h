/* SPDX-License-Identifier: MIT */
/* Cheap proofs in front of the handshake (protocol version 2, WireGuard's
 * mac1/mac2/cookie design keyed from the network secret):
 *
 *   mac1    proves the sender holds the network secret and name: a keyed
 *           BLAKE2b over the HELLO, checked before any state is touched, so
 *           junk and non-members cost one short hash.
 *   cookie  proves the sender receives at its source address: under load a
 *           responder answers a HELLO without a valid mac2 with a COOKIE
 *           instead of any Diffie-Hellman; the initiator sends the same HELLO
 *           again with mac2, a MAC keyed with that cookie.
 *
 * Derivations (docs/protocol.md, section 4.4; BLAKE2b as in RFC 7693, keyed):
 *   mac1_key  = BLAKE2b-256(key = PSK, "weft/2 mac1 " || network name)
 *   seal_key  = BLAKE2b-256(key = PSK, "weft/2 cookie " || network name)
 *   mac1      = BLAKE2b-128(key = mac1_key, HELLO bytes before mac1)
 *   mac2      = BLAKE2b-128(key = cookie, HELLO bytes before mac2); zeros
 *               when the initiator holds no cookie
 *   cookie    = BLAKE2b-128(key = responder secret, source), source being the
 *               IPv4 address (4 bytes; IPv4-mapped IPv6 too) or the IPv6
 *               address (16 bytes), then the UDP port (2 bytes, big-endian)
 *   COOKIE    = XChaCha20-Poly1305(key = seal_key, 24-byte random nonce,
 *               additional data = the HELLO's mac1, plaintext = cookie)
 * The responder's secret is random, drawn again every WEFT_COOKIE_ROTATE_MS;
 * a cookie of the current or the previous secret is accepted. Pure: the
 * caller passes the clock (milliseconds, monotonic) and the addresses. */
#ifndef WEFT_COOKIE_H
#define WEFT_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sockaddr.h"
#include "common/weft.h"
#include "common/wire.h"

#define WEFT_COOKIE_LEN	       16
#define WEFT_COOKIE_KEY_LEN    32
#define WEFT_COOKIE_MAC1_LABEL "weft/2 mac1 "
#define WEFT_COOKIE_SEAL_LABEL "weft/2 cookie "
/* The network name in a derivation: as for the Noise prologue. */
#define WEFT_COOKIE_NETWORK_MAX 255
/* The responder's secret is replaced this often; a cookie stays valid until
 * the secret after the one that made it is replaced (120..240 s). */
#define WEFT_COOKIE_ROTATE_MS 120000
/* An initiator uses a cookie this long after it arrived. */
#define WEFT_COOKIE_KEEP_MS 120000
/* The source bytes a cookie covers: IPv6 address and port. */
#define WEFT_COOKIE_SOURCE_MAX 18

/* The two keys derived from the network secret and name. Secret: keep them in
 * sodium_malloc memory (weft_cookie_keys_new()). */
struct weft_cookie_keys {
	uint8_t mac1[WEFT_COOKIE_KEY_LEN];
	uint8_t seal[WEFT_COOKIE_KEY_LEN];
};

/* Derives both keys into @k. Returns 0, or -EINVAL when @network is NULL or
 * longer than WEFT_COOKIE_NETWORK_MAX bytes. */
int weft_cookie_keys_derive(struct weft_cookie_keys *k, const uint8_t psk[static WEFT_KEY_LEN],
			    const char *network) WEFT_WUR;
/* In sodium_malloc memory, derived; NULL when out of memory or @network is
 * refused. Free with weft_cookie_keys_free() (wipes; accepts NULL). */
struct weft_cookie_keys *weft_cookie_keys_new(const uint8_t psk[static WEFT_KEY_LEN],
					      const char *network) WEFT_WUR;
void weft_cookie_keys_free(struct weft_cookie_keys *k);

/* ---- the MACs of a HELLO ----------------------------------------------------
 * @hello is a whole HELLO datagram of @len bytes, its two MACs the last 32
 * (callers pass HELLOs that common/wire built or parsed, so len >= 40). */

/* Writes mac1, then mac2 with @cookie (NULL: zeros), in place. */
void weft_cookie_put_macs(const struct weft_cookie_keys *k, const uint8_t *cookie, uint8_t *hello,
			  size_t len);
/* Writes mac2 only (mac1 stays): the same HELLO sent again with a cookie. */
void weft_cookie_put_mac2(const uint8_t *cookie, uint8_t *hello, size_t len);
/* Does mac1 match (constant time)? */
bool weft_cookie_mac1_valid(const struct weft_cookie_keys *k, const uint8_t *hello, size_t len);
/* Does mac2 match @cookie? A zero mac2 (no cookie) never does. */
bool weft_cookie_mac2_valid(const uint8_t cookie[static WEFT_COOKIE_LEN], const uint8_t *hello,
			    size_t len);

/* The bytes of @addr that a cookie covers (address, then port big-endian);
 * returns their length, 6 or 18, or 0 for an address of no IP family. */
size_t weft_cookie_source(uint8_t out[static WEFT_COOKIE_SOURCE_MAX],
			  const union weft_sockaddr *addr);

/* ---- responder ------------------------------------------------------------- */

/* The responder's rotating secret, in sodium_malloc memory. */
struct weft_cookie_secret;

struct weft_cookie_secret *weft_cookie_secret_new(void) WEFT_WUR;
/* Wipes and frees; accepts NULL. */
void weft_cookie_secret_free(struct weft_cookie_secret *s);
/* Tests and test vectors only: @secret as if drawn at @now_ms (no previous). */
void weft_cookie_secret_set(struct weft_cookie_secret *s,
			    const uint8_t secret[static WEFT_COOKIE_KEY_LEN], uint64_t now_ms);
/* The cookie for @src under the current secret (replaced first when due). */
void weft_cookie_make(struct weft_cookie_secret *s, uint64_t now_ms, const union weft_sockaddr *src,
		      uint8_t cookie[static WEFT_COOKIE_LEN]);
/* Does the HELLO carry a mac2 made with @src's cookie of the current or the
 * previous secret? Costs nothing when mac2 is zero, else up to four hashes. */
bool weft_cookie_check(struct weft_cookie_secret *s, uint64_t now_ms,
		       const union weft_sockaddr *src, const uint8_t *hello, size_t len);

/* The sealed cookie of a COOKIE: @cookie under @k->seal with @nonce, the
 * HELLO's @mac1 as additional data. */
void weft_cookie_seal(const struct weft_cookie_keys *k,
		      const uint8_t cookie[static WEFT_COOKIE_LEN],
		      const uint8_t mac1[static WEFT_WIRE_MAC_LEN],
		      const uint8_t nonce[static WEFT_WIRE_COOKIE_NONCE_LEN],
		      uint8_t sealed[static WEFT_WIRE_COOKIE_SEALED_LEN]);
/* The whole COOKIE answering @hello (a parsed HELLO v2 of @hello_len bytes,
 * whose mac1 was checked) from @src: receiver index = the HELLO's sender
 * index, a random nonce. @buf holds WEFT_WIRE_COOKIE_LEN bytes. Returns 0
 * with *@len set, or -ENOBUFS. */
int weft_cookie_reply(const struct weft_cookie_keys *k, struct weft_cookie_secret *s,
		      uint64_t now_ms, const union weft_sockaddr *src, const uint8_t *hello,
		      size_t hello_len, uint8_t *buf, size_t cap, size_t *len) WEFT_WUR;

/* ---- initiator -------------------------------------------------------------- */

/* Opens a COOKIE's sealed cookie (@msg parsed, type WEFT_WIRE_COOKIE) with
 * the @mac1 of the HELLO it claims to answer. Returns 0 with @cookie set, or
 * -EBADMSG (forged, corrupted, or for another HELLO or network). */
int weft_cookie_open(const struct weft_cookie_keys *k, const struct weft_wire_msg *msg,
		     const uint8_t mac1[static WEFT_WIRE_MAC_LEN],
		     uint8_t cookie[static WEFT_COOKIE_LEN]) WEFT_WUR;

/* Cookies an initiator holds, by responder address and port: a fixed table
 * (one allocation), a newer cookie for an address replaces the older, and an
 * address that hashes to a taken slot takes it over (a lost cookie costs one
 * more COOKIE round trip, nothing else). */
struct weft_cookie_jar;

/* @capacity slots (at least 1, at most 2^20); NULL when out of memory or refused. */
struct weft_cookie_jar *weft_cookie_jar_new(size_t capacity) WEFT_WUR;
void weft_cookie_jar_free(struct weft_cookie_jar *j);
void weft_cookie_jar_put(struct weft_cookie_jar *j, const union weft_sockaddr *responder,
			 const uint8_t cookie[static WEFT_COOKIE_LEN], uint64_t now_ms);
/* The cookie from @responder, if one arrived within WEFT_COOKIE_KEEP_MS. */
bool weft_cookie_jar_get(const struct weft_cookie_jar *j, const union weft_sockaddr *responder,
			 uint64_t now_ms, uint8_t cookie[static WEFT_COOKIE_LEN]);

#endif
