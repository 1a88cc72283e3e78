/* SPDX-License-Identifier: MIT */
/* The initiator's side of the handshake, fed untrusted bytes: the input is
 * sender_index(4, big-endian) | WELCOME, read by an initiator that sent a
 * genuine HELLO. A failed read must leave the handshake able to take the
 * genuine WELCOME; an accepted one is confirmed and finished. Keys,
 * ephemerals, indices and the clock are fixed, so the seed corpus holds a
 * valid WELCOME. Compiled with -DWEFT_FUZZ_SEEDGEN it is instead a program
 * that writes that corpus into the directory named by its argument:
 *   cc -DWEFT_FUZZ_SEEDGEN -I. -Ibuild tests/fuzz/fuzz_handshake_init.c \
 *      build/common/libweft.a -lsodium -o gen && ./gen tests/fuzz/corpus/handshake_init */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/handshake.h"
#include "tests/fuzz/handshake_fixture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t hello[WEFT_HANDSHAKE_HELLO_MAX], confirm[WEFT_HANDSHAKE_CONFIRM_MAX], keys[64];
	uint8_t rs[32];
	struct weft_handshake_result res;
	struct weft_handshake *hs;
	char err[WEFT_ERRLEN];
	size_t len;
	int r;

	if (size < 4)
		return 0;
	setup();
	hs = weft_handshake_new();
	if (!hs || weft_handshake_write_hello(hs, &fx.i.cfg, I_INDEX, NOW, hello, sizeof(hello),
					      &len, err) != 0)
		abort();
	r = weft_handshake_read_welcome(hs, be32(data), data + 4, size - 4, err);
	if (r != 0) {
		/* Nothing changed: the genuine WELCOME still completes. */
		if (weft_handshake_read_welcome(hs, R_INDEX, fx.welcome, fx.welcome_len, err) != 0)
			abort();
	}
	if (weft_handshake_remote_static(hs, rs) != 0 || memcmp(rs, fx.r.pk, 32) != 0)
		abort();
	if (weft_handshake_check_pin(fx.r.pk, true, rs, err) != 0)
		abort();
	if (weft_handshake_write_confirm(hs, confirm, sizeof(confirm), &len, err) != 0 ||
	    weft_handshake_finish(hs, &res, keys, keys + 32) != 0)
		abort();
	weft_handshake_free(hs);
	return 0;
}

#ifdef WEFT_FUZZ_SEEDGEN
static void put(const char *dir, const char *name, const uint8_t *index, const uint8_t *msg,
		size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(index, 1, 4, f) != 4 || (len && fwrite(msg, 1, len, f) != len) ||
	    fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

int main(int argc, char **argv)
{
	uint8_t idx[4] = {0x0a, 0x0b, 0x0c, 0x0d}, bad_idx[4] = {0x0a, 0x0b, 0x0c, 0x0e};
	uint8_t w[WEFT_HANDSHAKE_WELCOME_MAX] = {0};

	if (argc != 2)
		return 2;
	setup();
	memcpy(w, fx.welcome, fx.welcome_len);
	put(argv[1], "welcome-valid", idx, w, fx.welcome_len);
	put(argv[1], "welcome-wrong-index", bad_idx, w, fx.welcome_len);
	put(argv[1], "welcome-truncated", idx, w, fx.welcome_len - 17);
	put(argv[1], "welcome-extended", idx, w, fx.welcome_len + 1);
	w[50] ^= 2;
	put(argv[1], "welcome-flipped-static", idx, w, fx.welcome_len);
	w[50] ^= 2;
	w[fx.welcome_len - 1] ^= 2;
	put(argv[1], "welcome-flipped-tag", idx, w, fx.welcome_len);
	put(argv[1], "index-only", idx, NULL, 0);
	return 0;
}
#endif
