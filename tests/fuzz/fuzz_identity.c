/* SPDX-License-Identifier: MIT */
/* Behind the AEAD: genuine Noise messages (the fixture's keys, ephemerals and
 * prologue) built around fuzzed payloads, so that the identity record, the
 * index check, the stamp and the replay cache see every byte the fuzzer
 * makes instead of stopping at a tag. The input:
 *
 *   mode(1) | flags(1) | skew(2, big-endian, signed, x 10 ms) | payload
 *
 *   mode % 3 = 0  HELLO: read_hello, then accept_hello with a replay cache
 *                 of 2. flags bit 0: the responder's clock is the payload's
 *                 own stamp (bytes 5..12 of a record) plus skew, else the
 *                 fixture's (the stamp is never compared with it); bit 1:
 *                 the cache is full of keys inside their window; bit 2: the
 *                 clear sender index differs from the record's.
 *              1  WELCOME around the payload, read by the initiator that sent
 *                 the fixture's HELLO (clear sender index: the record's, or
 *                 not with bit 2).
 *              2  CONFIRM around the payload, read by a responder that
 *                 answered the fixture's HELLO.
 * Each outcome is checked against an independent decode of the payload:
 * accepted exactly when the record is well-formed, carries the right index
 * and (HELLO) a key the cache can take, whatever its stamp; a HELLO read
 * exposes its stamp as the record says.
 * Compiled with -DWEFT_FUZZ_SEEDGEN it writes its seed corpus instead:
 *   cc -DWEFT_FUZZ_SEEDGEN -I. -Ibuild tests/fuzz/fuzz_identity.c \
 *      build/common/libweft.a -lsodium -o gen && ./gen tests/fuzz/corpus/identity */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/handshake.h"
#include "common/noise.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/handshake_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PAYLOAD_MAX 700
#define MSG_MAX	    (PAYLOAD_MAX + 128)

/* A Noise state of the fixture: weft's prologue for the network "fuzz". */
static void noise_start(struct weft_noise *n, const struct party *p, bool initiator)
{
	static const char prologue[] = WEFT_HANDSHAKE_PROLOGUE "fuzz";
	struct weft_noise_config nc = {
	    .pattern = WEFT_NOISE_XXPSK0,
	    .initiator = initiator,
	    .prologue = (const uint8_t *)prologue,
	    .prologue_len = sizeof(prologue) - 1,
	    .static_priv = p->sk,
	    .static_pub = p->pk,
	    .psk = fx.psk,
	    .ephemeral_priv = p->e,
	};

	check(weft_noise_init(n, &nc) == 0);
}

/* What the handshake must conclude from @payload: 0 or -EPROTO, as an
 * independent decode with @index says. */
static int expect(const uint8_t *payload, size_t len, uint32_t index,
		  struct weft_handshake_identity *id)
{
	char err[WEFT_ERRLEN];

	if (len > WEFT_HANDSHAKE_PAYLOAD_MAX)
		return -EPROTO;
	return weft_handshake_identity_decode(id, payload, len, index, err) == 0 ? 0 : -EPROTO;
}

static void same_identity(const struct weft_handshake *hs, const struct weft_handshake_identity *id)
{
	const struct weft_handshake_identity *got = weft_handshake_remote_identity(hs);

	check(got && got->index == id->index && got->timestamp_ms == id->timestamp_ms &&
	      got->capabilities == id->capabilities && got->listen_port == id->listen_port &&
	      got->version == id->version && !strcmp(got->nickname, id->nickname));
}

static void fuzz_hello(uint8_t flags, int64_t skew, const uint8_t *payload, size_t plen)
{
	struct weft_noise *n = weft_noise_new();
	struct weft_handshake *hs = weft_handshake_new();
	struct weft_handshake_replay *cache =
	    weft_handshake_replay_new(2, WEFT_HANDSHAKE_REPLAY_KEEP_MS);
	struct weft_handshake_identity id;
	uint8_t msg[MSG_MAX], other[32];
	uint32_t index = plen >= 5 ? weft_get_be32(payload + 1) : I_INDEX;
	uint64_t now = NOW;
	char err[WEFT_ERRLEN];
	size_t len;
	int want, r;

	check(n && hs && cache);
	noise_start(n, &fx.i, true);
	check(weft_noise_write(n, payload, plen, msg, sizeof(msg), &len) == 0);
	if (flags & 4)
		index ^= 0x80000000u;
	if ((flags & 1) && plen >= 13)
		now = weft_get_be64(payload + 5) + (uint64_t)skew;
	if (flags & 2) {
		for (int k = 0; k < 2; k++) {
			memset(other, 0xa0 + k, sizeof(other));
			check(weft_handshake_replay_add(cache, other, now) == 0);
		}
	}
	want = expect(payload, plen, index, &id);
	r = weft_handshake_read_hello(hs, &fx.r.cfg, index, msg, len, err);
	check(r == want);
	if (r == 0) {
		/* Read, not yet accepted: the stamp is there for the caller. */
		check(weft_handshake_remote_identity(hs)->timestamp_ms == id.timestamp_ms);
		check(weft_handshake_replay_count(cache) == ((flags & 2) ? 2 : 0));
		if (flags & 2)
			want = -ENOSPC;
		r = weft_handshake_accept_hello(hs, cache, now, err);
		check(r == want);
	}
	if (r == 0) {
		uint8_t e[32], out[WEFT_HANDSHAKE_WELCOME_MAX];
		size_t olen;

		same_identity(hs, &id);
		memcpy(e, msg, 32);
		check(weft_handshake_replay_contains(cache, e, now));
		/* The same HELLO again is a replay, whatever else holds. */
		check(read_accept(hs, &fx.r.cfg, cache, index, msg, len, now, err) ==
		      -EALREADY);
		check(read_accept(hs, &fx.r.cfg, NULL, index, msg, len, now, err) ==
		      0);
		check(weft_handshake_write_welcome(hs, R_INDEX, now, out, sizeof(out), &olen,
						   err) == 0);
	} else {
		check(weft_handshake_remote_identity(hs) == NULL);
		check(weft_handshake_replay_count(cache) == ((flags & 2) ? 2 : 0));
	}
	weft_handshake_replay_free(cache);
	weft_handshake_free(hs);
	weft_noise_free(n);
}

static void fuzz_welcome(uint8_t flags, const uint8_t *payload, size_t plen)
{
	struct weft_noise *n = weft_noise_new();
	struct weft_handshake *hs = weft_handshake_new();
	struct weft_handshake_identity id;
	uint8_t msg[MSG_MAX], plain[WEFT_HANDSHAKE_PAYLOAD_MAX], hello[WEFT_HANDSHAKE_HELLO_MAX];
	uint32_t index = plen >= 5 ? weft_get_be32(payload + 1) : R_INDEX;
	char err[WEFT_ERRLEN];
	size_t len, hlen, got;
	int r;

	check(n && hs);
	/* The initiator's HELLO is the fixture's, byte for byte. */
	check(weft_handshake_write_hello(hs, &fx.i.cfg, I_INDEX, NOW, hello, sizeof(hello), &hlen,
					 err) == 0);
	check(hlen == fx.hello_len && !memcmp(hello, fx.hello, hlen));
	noise_start(n, &fx.r, false);
	check(weft_noise_read(n, fx.hello, fx.hello_len, plain, sizeof(plain), &got) == 0);
	check(weft_noise_write(n, payload, plen, msg, sizeof(msg), &len) == 0);
	if (flags & 4)
		index ^= 1;
	r = weft_handshake_read_welcome(hs, index, msg, len, err);
	check(r == expect(payload, plen, index, &id));
	if (r == 0) {
		uint8_t rs[32];

		same_identity(hs, &id);
		check(weft_handshake_remote_static(hs, rs) == 0 && !memcmp(rs, fx.r.pk, 32));
	} else {
		/* Nothing changed: the genuine WELCOME is still taken. */
		check(weft_handshake_read_welcome(hs, R_INDEX, fx.welcome, fx.welcome_len, err) ==
		      0);
	}
	weft_handshake_free(hs);
	weft_noise_free(n);
}

static void fuzz_confirm(const uint8_t *payload, size_t plen)
{
	struct weft_noise *n = weft_noise_new();
	struct weft_handshake *hs = weft_handshake_new();
	struct weft_handshake_identity id, mine = {.index = I_INDEX, .timestamp_ms = NOW};
	uint8_t msg[MSG_MAX], plain[WEFT_HANDSHAKE_PAYLOAD_MAX], record[64];
	uint8_t welcome[WEFT_HANDSHAKE_WELCOME_MAX];
	char err[WEFT_ERRLEN];
	size_t len, rlen, wlen, got;
	int r;

	check(n && hs);
	strcpy(mine.nickname, "init");
	check(weft_handshake_identity_encode(&mine, record, sizeof(record), &rlen) == 0);
	noise_start(n, &fx.i, true);
	check(weft_noise_write(n, record, rlen, msg, sizeof(msg), &len) == 0);
	check(read_accept(hs, &fx.r.cfg, NULL, I_INDEX, msg, len, NOW, err) == 0);
	check(weft_handshake_write_welcome(hs, R_INDEX, NOW, welcome, sizeof(welcome), &wlen,
					   err) == 0);
	check(weft_noise_read(n, welcome, wlen, plain, sizeof(plain), &got) == 0);
	check(weft_noise_write(n, payload, plen, msg, sizeof(msg), &len) == 0);
	r = weft_handshake_read_confirm(hs, msg, len, err);
	/* The CONFIRM must repeat the HELLO's index. */
	check(r == expect(payload, plen, I_INDEX, &id));
	if (r == 0) {
		struct weft_handshake_result res;
		uint8_t keys[64];

		same_identity(hs, &id);
		check(weft_handshake_done(hs));
		check(weft_handshake_finish(hs, &res, keys, keys + 32) == 0);
		check(!memcmp(res.remote_static, fx.i.pk, 32) && res.remote_index == I_INDEX);
	} else {
		check(!weft_handshake_done(hs));
	}
	weft_handshake_free(hs);
	weft_noise_free(n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t skew;

	if (size < 4 || size - 4 > PAYLOAD_MAX)
		return 0;
	setup();
	skew = (int64_t)(int16_t)weft_get_be16(data + 2) * 10;
	switch (data[0] % 3) {
	case 0:
		fuzz_hello(data[1], skew, data + 4, size - 4);
		break;
	case 1:
		fuzz_welcome(data[1], data + 4, size - 4);
		break;
	default:
		fuzz_confirm(data + 4, size - 4);
	}
	return 0;
}

#ifdef WEFT_FUZZ_SEEDGEN
/* A seed: mode, flags, skew, then the record of @id (cut short by @cut
 * bytes, @poke_at >= 0: that byte of it set to @poke) and @extra. */
static void put(const char *dir, const char *name, uint8_t mode, uint8_t flags, int16_t skew,
		const struct weft_handshake_identity *id, size_t cut, int poke_at, uint8_t poke,
		const uint8_t *extra, size_t extra_len)
{
	uint8_t buf[PAYLOAD_MAX + 4];
	char path[4096];
	size_t len = 0;
	FILE *f;

	buf[0] = mode;
	buf[1] = flags;
	weft_put_be16(buf + 2, (uint16_t)skew);
	if (id && weft_handshake_identity_encode(id, buf + 4, sizeof(buf) - 4, &len) != 0)
		exit(1);
	len = len > cut ? len - cut : 0;
	if (poke_at >= 0 && (size_t)poke_at < len)
		buf[4 + poke_at] = poke;
	if (extra_len)
		memcpy(buf + 4 + len, extra, extra_len);
	len += extra_len;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, 4 + len, f) != 4 + len || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct weft_handshake_identity hello = {.index = I_INDEX,
						.timestamp_ms = NOW,
						.capabilities = 1,
						.listen_port = 6783},
				       welcome, confirm;
	static const uint8_t tail[] = {0x01, 0x02, 0x03};

	if (argc != 2)
		return 2;
	setup();
	strcpy(hello.nickname, "init");
	welcome = hello;
	confirm = hello;
	welcome.index = R_INDEX;
	strcpy(welcome.nickname, "resp");
	put(argv[1], "hello-valid", 0, 1, 0, &hello, 0, -1, 0, NULL, 0);
	put(argv[1], "hello-fixture-clock", 0, 0, 0, &hello, 0, -1, 0, NULL, 0);
	put(argv[1], "hello-edge-of-window", 0, 1, 12000, &hello, 0, -1, 0, NULL, 0);
	put(argv[1], "hello-stale", 0, 1, 12001, &hello, 0, -1, 0, NULL, 0);
	put(argv[1], "hello-cache-full", 0, 3, 0, &hello, 0, -1, 0, NULL, 0);
	put(argv[1], "hello-wrong-index", 0, 5, 0, &hello, 0, -1, 0, NULL, 0);
	put(argv[1], "hello-truncated", 0, 1, 0, &hello, 3, -1, 0, NULL, 0);
	put(argv[1], "hello-trailing", 0, 1, 0, &hello, 0, -1, 0, tail, sizeof(tail));
	put(argv[1], "hello-v2-record", 0, 1, 0, &hello, 0, 0, 2, tail, sizeof(tail));
	put(argv[1], "hello-version-0", 0, 1, 0, &hello, 0, 0, 0, NULL, 0);
	put(argv[1], "hello-bad-nickname", 0, 1, 0, &hello, 0, 21, ' ', NULL, 0);
	put(argv[1], "welcome-valid", 1, 0, 0, &welcome, 0, -1, 0, NULL, 0);
	put(argv[1], "welcome-wrong-index", 1, 4, 0, &welcome, 0, -1, 0, NULL, 0);
	put(argv[1], "welcome-empty", 1, 0, 0, NULL, 0, -1, 0, NULL, 0);
	put(argv[1], "confirm-valid", 2, 0, 0, &confirm, 0, -1, 0, NULL, 0);
	confirm.index = R_INDEX;
	put(argv[1], "confirm-wrong-index", 2, 0, 0, &confirm, 0, -1, 0, NULL, 0);
	return 0;
}
#endif
