/* SPDX-License-Identifier: MIT */
/* The fixture of the handshake fuzz targets (fuzz_handshake_init.c,
 * fuzz_handshake_resp.c, fuzz_identity.c, fuzz_cookie.c): an initiator and a
 * responder whose keys, ephemerals, indices and clock are fixed, so that their
 * genuine HELLO (Noise message and whole datagram) and WELCOME are the same
 * bytes in every run and the seed corpora can hold valid messages. Each
 * target includes it once: everything here is static. */
#ifndef WEFT_HANDSHAKE_FIXTURE_H
#define WEFT_HANDSHAKE_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/cookie.h"
#include "common/handshake.h"
#include "common/weft.h"
#include "common/wire.h"

#define NOW	UINT64_C(1700000000000)
#define I_INDEX 0x01020304u
#define R_INDEX 0x0a0b0c0du

struct party {
	uint8_t sk[32], pk[32], e[32];
	struct weft_handshake_config cfg;
};

static struct {
	bool ready;
	uint8_t psk[32];
	struct party i, r;
	uint8_t hello[WEFT_HANDSHAKE_HELLO_MAX];
	uint8_t welcome[WEFT_HANDSHAKE_WELCOME_MAX];
	size_t hello_len, welcome_len;
	struct weft_cookie_keys keys; /* of the PSK and "fuzz" */
	/* The initiator's HELLO datagram: header, index, fx.hello, mac1, zero mac2. */
	uint8_t hello_dgram[WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX];
	size_t hello_dgram_len;
} fx;

/* read_hello then accept_hello, as a responder without a stamp policy of
 * its own does (the daemon checks the stamp in between). */
static int read_accept(struct weft_handshake *hs, const struct weft_handshake_config *cfg,
		       struct weft_handshake_replay *cache, uint32_t index, const uint8_t *msg,
		       size_t len, uint64_t now, char err[static WEFT_ERRLEN])
{
	int r = weft_handshake_read_hello(hs, cfg, index, msg, len, err);

	return r < 0 ? r : weft_handshake_accept_hello(hs, cache, now, err);
}

static void fixed_key(uint8_t out[32], const char *label)
{
	crypto_generichash(out, 32, (const uint8_t *)label, strlen(label), NULL, 0);
}

static void party_init(struct party *p, const char *label, const char *nick)
{
	char l[64];

	snprintf(l, sizeof(l), "weft fuzz %s static", label);
	fixed_key(p->sk, l);
	snprintf(l, sizeof(l), "weft fuzz %s ephemeral", label);
	fixed_key(p->e, l);
	if (crypto_scalarmult_base(p->pk, p->sk) != 0)
		abort();
	p->cfg = (struct weft_handshake_config){
	    .static_priv = p->sk,
	    .static_pub = p->pk,
	    .psk = fx.psk,
	    .network = "fuzz",
	    .nickname = nick,
	    .capabilities = 1,
	    .listen_port = 6783,
	    .ephemeral_priv = p->e,
	};
}

/* The genuine HELLO and WELCOME of the fixed parties. */
static void setup(void)
{
	struct weft_handshake *ini, *res;
	char err[WEFT_ERRLEN];

	if (fx.ready)
		return;
	if (sodium_init() < 0)
		abort();
	fixed_key(fx.psk, "weft fuzz psk");
	party_init(&fx.i, "initiator", "init");
	party_init(&fx.r, "responder", "resp");
	ini = weft_handshake_new();
	res = weft_handshake_new();
	if (!ini || !res ||
	    weft_handshake_write_hello(ini, &fx.i.cfg, I_INDEX, NOW, fx.hello, sizeof(fx.hello),
				       &fx.hello_len, err) != 0 ||
	    read_accept(res, &fx.r.cfg, NULL, I_INDEX, fx.hello, fx.hello_len, NOW,
				      err) != 0 ||
	    weft_handshake_write_welcome(res, R_INDEX, NOW, fx.welcome, sizeof(fx.welcome),
					 &fx.welcome_len, err) != 0)
		abort();
	if (weft_cookie_keys_derive(&fx.keys, fx.psk, "fuzz") != 0 ||
	    weft_handshake_write_hello_datagram(ini, &fx.i.cfg, I_INDEX, NOW, fx.hello_dgram,
						sizeof(fx.hello_dgram), &fx.hello_dgram_len,
						err) != 0 ||
	    fx.hello_dgram_len !=
		WEFT_WIRE_HELLO_HEADER_LEN + fx.hello_len + WEFT_WIRE_HELLO_TRAILER_LEN ||
	    memcmp(fx.hello_dgram + WEFT_WIRE_HELLO_HEADER_LEN, fx.hello, fx.hello_len) != 0)
		abort();
	weft_handshake_free(ini);
	weft_handshake_free(res);
	fx.ready = true;
}

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
