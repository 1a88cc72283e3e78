/* SPDX-License-Identifier: MIT */
/* The responder's side of the handshake, fed untrusted bytes. The first byte
 * picks the message:
 *   even: sender_index(4, big-endian) | HELLO   -> read_hello; if accepted,
 *         the same HELLO again must be refused as a replay, and a WELCOME is
 *         written
 *   odd:  CONFIRM                               -> read_confirm on a responder
 *         that accepted a genuine HELLO and answered it; if accepted, finish
 * Keys, ephemerals, indices and the clock are fixed, so the seed corpus holds
 * valid messages. Compiled with -DWEFT_FUZZ_SEEDGEN it is instead a program
 * that writes that corpus into the directory named by its argument:
 *   cc -DWEFT_FUZZ_SEEDGEN -I. -Ibuild tests/fuzz/fuzz_handshake_resp.c \
 *      build/common/libweft.a -lsodium -o gen && ./gen tests/fuzz/corpus/handshake_resp */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/handshake.h"
#include "tests/fuzz/handshake_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_hello(struct weft_handshake *hs, const uint8_t *data, size_t size)
{
	struct weft_handshake_replay *cache = weft_handshake_replay_new(4, 240000);
	uint8_t out[WEFT_HANDSHAKE_WELCOME_MAX];
	char err[WEFT_ERRLEN];
	size_t len;
	int r;

	if (!cache)
		abort();
	if (size < 4)
		goto out;
	r = read_accept(hs, &fx.r.cfg, cache, be32(data), data + 4, size - 4, NOW,
				      err);
	if (r != 0)
		goto out;
	if (read_accept(hs, &fx.r.cfg, cache, be32(data), data + 4, size - 4, NOW,
				      err) != -EALREADY)
		abort();
	/* The state is gone after a refusal: accept it once more, then answer. */
	weft_handshake_replay_free(cache);
	cache = NULL;
	if (read_accept(hs, &fx.r.cfg, NULL, be32(data), data + 4, size - 4, NOW,
				      err) != 0)
		abort();
	/* A HELLO from a low-order ephemeral key may still be refused here. */
	r = weft_handshake_write_welcome(hs, R_INDEX, NOW, out, sizeof(out), &len, err);
	if (r != 0 && r != -EBADMSG)
		abort();
out:
	weft_handshake_replay_free(cache);
}

static void fuzz_confirm(struct weft_handshake *hs, const uint8_t *data, size_t size)
{
	uint8_t out[WEFT_HANDSHAKE_WELCOME_MAX], keys[64];
	struct weft_handshake_result res;
	char err[WEFT_ERRLEN];
	size_t len;

	if (read_accept(hs, &fx.r.cfg, NULL, I_INDEX, fx.hello, fx.hello_len, NOW,
				      err) != 0 ||
	    weft_handshake_write_welcome(hs, R_INDEX, NOW, out, sizeof(out), &len, err) != 0)
		abort();
	if (weft_handshake_read_confirm(hs, data, size, err) != 0)
		return;
	if (weft_handshake_finish(hs, &res, keys, keys + 32) != 0)
		abort();
	/* Only the initiator's key can have produced an authentic CONFIRM. */
	if (memcmp(res.remote_static, fx.i.pk, 32) != 0 || res.remote_index != I_INDEX)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_handshake *hs;

	if (size < 1)
		return 0;
	setup();
	hs = weft_handshake_new();
	if (!hs)
		abort();
	if (data[0] % 2 == 0)
		fuzz_hello(hs, data + 1, size - 1);
	else
		fuzz_confirm(hs, data + 1, size - 1);
	weft_handshake_free(hs);
	return 0;
}

#ifdef WEFT_FUZZ_SEEDGEN
static void put(const char *dir, const char *name, uint8_t mode, const uint8_t *index,
		const uint8_t *msg, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(&mode, 1, 1, f) != 1 || (index && fwrite(index, 1, 4, f) != 4) ||
	    (len && fwrite(msg, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	struct weft_handshake *ini, *res;
	uint8_t welcome[WEFT_HANDSHAKE_WELCOME_MAX], confirm[WEFT_HANDSHAKE_CONFIRM_MAX];
	uint8_t hello[WEFT_HANDSHAKE_HELLO_MAX], idx[4] = {1, 2, 3, 4}, bad_idx[4] = {1, 2, 3, 5};
	size_t wlen, clen, hlen;
	char err[WEFT_ERRLEN];

	if (argc != 2)
		return 2;
	setup();
	ini = weft_handshake_new();
	res = weft_handshake_new();
	if (!ini || !res)
		return 1;
	if (weft_handshake_write_hello(ini, &fx.i.cfg, I_INDEX, NOW, hello, sizeof(hello), &hlen,
				       err) != 0 ||
	    read_accept(res, &fx.r.cfg, NULL, I_INDEX, hello, hlen, NOW, err) != 0 ||
	    weft_handshake_write_welcome(res, R_INDEX, NOW, welcome, sizeof(welcome), &wlen, err) ||
	    weft_handshake_read_welcome(ini, R_INDEX, welcome, wlen, err) != 0 ||
	    weft_handshake_write_confirm(ini, confirm, sizeof(confirm), &clen, err) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	put(argv[1], "hello-valid", 0, idx, hello, hlen);
	put(argv[1], "hello-wrong-index", 2, bad_idx, hello, hlen);
	put(argv[1], "hello-truncated", 0, idx, hello, hlen - 1);
	hello[40] ^= 1;
	put(argv[1], "hello-flipped", 0, idx, hello, hlen);
	put(argv[1], "confirm-valid", 1, NULL, confirm, clen);
	put(argv[1], "confirm-truncated", 1, NULL, confirm, 48);
	confirm[60] ^= 0x40;
	put(argv[1], "confirm-flipped", 3, NULL, confirm, clen);
	/* A HELLO from the past: authentic, refused by its timestamp. */
	if (weft_handshake_write_hello(ini, &fx.i.cfg, I_INDEX, NOW - 600000, hello, sizeof(hello),
				       &hlen, err) != 0)
		return 1;
	put(argv[1], "hello-old", 0, idx, hello, hlen);
	put(argv[1], "empty", 0, NULL, NULL, 0);
	weft_handshake_free(ini);
	weft_handshake_free(res);
	return 0;
}
#endif
