/* SPDX-License-Identifier: MIT */
/* The cookie path on untrusted bytes. The first byte picks the side:
 *   even: the initiator that sent the fixture's HELLO datagram gets the rest
 *         as a datagram: parsed, and a COOKIE goes to read_cookie(). One that
 *         is taken must give back that HELLO with only mac2 changed, mac2
 *         made with the cookie, and the same COOKIE again must change nothing.
 *   odd:  the responder gets the rest (after one byte choosing the source
 *         address and the clock) as a datagram: parsed, and a HELLO goes
 *         through mac1, the replay cache lookup of its clear ephemeral key,
 *         the mac2/cookie check and, when mac1 holds, a COOKIE answer, which
 *         must parse, open with that mac1 and hold the source's cookie.
 * The responder's cookie secret and the clock are fixed, so the seed corpus
 * holds a COOKIE the initiator takes and a HELLO with a valid mac2. Compiled
 * with -DWEFT_FUZZ_SEEDGEN it writes that corpus instead:
 *   cc -DWEFT_FUZZ_SEEDGEN -I. -Ibuild tests/fuzz/fuzz_cookie.c \
 *      build/common/libweft.a -lsodium -o gen && ./gen tests/fuzz/corpus/cookie */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/cookie.h"
#include "common/handshake.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/handshake_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET_AT 5000 /* the clock (monotonic ms) when the secret was drawn */

static struct weft_cookie_secret *secret;

static void secret_setup(void)
{
	uint8_t s[WEFT_COOKIE_KEY_LEN];

	if (!secret) {
		secret = weft_cookie_secret_new();
		check(secret);
	}
	memset(s, 0x5c, sizeof(s));
	weft_cookie_secret_set(secret, s, SECRET_AT);
}

/* The source a responder sees: @sel picks among an IPv4 address, its
 * IPv4-mapped form, and an IPv6 address, with one of two ports. */
static union weft_sockaddr source(uint8_t sel)
{
	union weft_sockaddr a;

	memset(&a, 0, sizeof(a));
	switch (sel % 3) {
	case 0:
		a.in4.sin_family = AF_INET;
		a.in4.sin_addr.s_addr = htonl(0x0a000001);
		a.in4.sin_port = htons(sel & 4 ? 6784 : 6783);
		break;
	case 1:
		a.in6.sin6_family = AF_INET6;
		check(inet_pton(AF_INET6, "::ffff:10.0.0.1", &a.in6.sin6_addr) == 1);
		a.in6.sin6_port = htons(sel & 4 ? 6784 : 6783);
		break;
	default:
		a.in6.sin6_family = AF_INET6;
		check(inet_pton(AF_INET6, "2001:db8::1", &a.in6.sin6_addr) == 1);
		a.in6.sin6_port = htons(sel & 4 ? 6784 : 6783);
	}
	return a;
}

static void fuzz_initiator(const uint8_t *data, size_t size)
{
	struct weft_handshake *hs = weft_handshake_new();
	struct weft_handshake_config cfg = fx.i.cfg;
	uint8_t hello[WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX], again[WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX];
	uint8_t cookie[WEFT_COOKIE_LEN];
	struct weft_wire_msg msg;
	char err[WEFT_ERRLEN];
	size_t len, alen, blen;
	int r;

	check(hs);
	cfg.macs = &fx.keys;
	check(weft_handshake_write_hello_datagram(hs, &cfg, I_INDEX, NOW, hello, sizeof(hello),
						  &len, err) == 0);
	check(len == fx.hello_dgram_len && !memcmp(hello, fx.hello_dgram, len));
	if (weft_wire_parse(&msg, data, size) != 0 || msg.type != WEFT_WIRE_COOKIE ||
	    msg.version != WEFT_WIRE_VERSION)
		goto out;
	r = weft_handshake_read_cookie(hs, &fx.keys, &msg, cookie, again, sizeof(again), &alen,
				       err);
	check(r == 0 || r == -EINVAL || r == -EBADMSG);
	if (r != 0) {
		/* Refused: the genuine state is untouched, a WELCOME still reads. */
		check(weft_handshake_read_welcome(hs, R_INDEX, fx.welcome, fx.welcome_len, err) ==
		      0);
		goto out;
	}
	check(msg.receiver_index == I_INDEX);
	check(alen == len && !memcmp(again, hello, len - WEFT_WIRE_MAC_LEN));
	check(weft_cookie_mac1_valid(&fx.keys, again, alen));
	check(weft_cookie_mac2_valid(cookie, again, alen));
	/* The same COOKIE again brings nothing. */
	check(weft_handshake_read_cookie(hs, &fx.keys, &msg, cookie, again, sizeof(again), &blen,
					 err) == -EALREADY);
	check(weft_handshake_read_welcome(hs, R_INDEX, fx.welcome, fx.welcome_len, err) == 0);
out:
	weft_handshake_free(hs);
}

static void fuzz_responder(const uint8_t *data, size_t size)
{
	struct weft_handshake_replay *cache = weft_handshake_replay_new(4, 1000);
	uint8_t reply[WEFT_WIRE_COOKIE_LEN], cookie[WEFT_COOKIE_LEN], opened[WEFT_COOKIE_LEN];
	union weft_sockaddr src;
	struct weft_wire_msg msg, cmsg;
	uint64_t now;
	size_t rlen;
	bool proven;

	check(cache);
	if (size < 1)
		goto out;
	src = source(data[0]);
	/* Up to 7 rotation periods on: the secret is current, previous or gone. */
	now = SECRET_AT + (uint64_t)(data[0] >> 3) * (WEFT_COOKIE_ROTATE_MS / 4);
	data++;
	size--;
	secret_setup();
	if (weft_wire_parse(&msg, data, size) != 0 || msg.type != WEFT_WIRE_HELLO ||
	    msg.version != WEFT_WIRE_VERSION)
		goto out;
	check(msg.mac1 == data + size - 32 && msg.mac2 == data + size - 16);
	if (!weft_cookie_mac1_valid(&fx.keys, data, size))
		goto out;
	check(!weft_handshake_replay_contains(cache, msg.body, now));
	proven = weft_cookie_check(secret, now, &src, data, size);
	weft_cookie_make(secret, now, &src, cookie);
	/* Proven with the current cookie, or with the previous secret's. */
	if (weft_cookie_mac2_valid(cookie, data, size))
		check(proven);
	if (sodium_is_zero(msg.mac2, 16))
		check(!proven);
	check(weft_cookie_reply(&fx.keys, secret, now, &src, data, size, reply, sizeof(reply),
				&rlen) == 0);
	check(weft_wire_parse(&cmsg, reply, rlen) == 0 && cmsg.type == WEFT_WIRE_COOKIE &&
	      cmsg.receiver_index == msg.sender_index);
	check(weft_cookie_open(&fx.keys, &cmsg, msg.mac1, opened) == 0);
	check(!memcmp(opened, cookie, sizeof(cookie)));
out:
	weft_handshake_replay_free(cache);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	setup();
	if (data[0] % 2 == 0)
		fuzz_initiator(data + 1, size - 1);
	else
		fuzz_responder(data + 1, size - 1);
	return 0;
}

#ifdef WEFT_FUZZ_SEEDGEN
static void put(const char *dir, const char *name, const uint8_t *head, size_t head_len,
		const uint8_t *msg, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(head, 1, head_len, f) != head_len || fwrite(msg, 1, len, f) != len ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint8_t hello[WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX], cookie[WEFT_COOKIE_LEN];
	uint8_t nonce[WEFT_WIRE_COOKIE_NONCE_LEN], sealed[WEFT_WIRE_COOKIE_SEALED_LEN];
	uint8_t msg[WEFT_WIRE_COOKIE_LEN];
	static const uint8_t ini[] = {0}, resp_v4[] = {1, 0}, resp_v6[] = {1, 2},
			     resp_later[] = {1, 4 << 3}, resp_gone[] = {1, 9 << 3};
	union weft_sockaddr src;
	size_t len;

	if (argc != 2)
		return 2;
	setup();
	secret_setup();
	/* The initiator side: the COOKIE for the fixture's HELLO, and variants. */
	src = source(0);
	weft_cookie_make(secret, SECRET_AT, &src, cookie);
	memset(nonce, 0x4e, sizeof(nonce));
	weft_cookie_seal(&fx.keys, cookie, fx.hello_dgram + fx.hello_dgram_len - 32, nonce, sealed);
	if (weft_wire_build_cookie(msg, sizeof(msg), I_INDEX, nonce, sealed, &len) != 0)
		return 1;
	put(argv[1], "cookie-valid", ini, 1, msg, len);
	msg[7] ^= 1;
	put(argv[1], "cookie-other-index", ini, 1, msg, len);
	msg[7] ^= 1;
	msg[40] ^= 1;
	put(argv[1], "cookie-flipped", ini, 1, msg, len);
	msg[40] ^= 1;
	put(argv[1], "cookie-short", ini, 1, msg, len - 1);
	msg[1] = 0;
	put(argv[1], "cookie-version-1", ini, 1, msg, len);
	/* The responder side: the HELLO without and with a valid mac2. */
	memcpy(hello, fx.hello_dgram, fx.hello_dgram_len);
	put(argv[1], "hello-no-cookie", resp_v4, 2, hello, fx.hello_dgram_len);
	weft_cookie_put_mac2(cookie, hello, fx.hello_dgram_len);
	put(argv[1], "hello-cookie", resp_v4, 2, hello, fx.hello_dgram_len);
	put(argv[1], "hello-cookie-other-source", resp_v6, 2, hello, fx.hello_dgram_len);
	put(argv[1], "hello-cookie-previous-secret", resp_later, 2, hello, fx.hello_dgram_len);
	put(argv[1], "hello-cookie-expired", resp_gone, 2, hello, fx.hello_dgram_len);
	hello[20] ^= 1;
	put(argv[1], "hello-bad-mac1", resp_v4, 2, hello, fx.hello_dgram_len);
	return 0;
}
#endif
