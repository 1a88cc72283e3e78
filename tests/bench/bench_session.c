/* SPDX-License-Identifier: MIT */
/* What the session layer costs over the bare AEAD: seal + open of one DATA
 * datagram carrying one frame (64 and 1400 bytes), through weft_session_seal/
 * weft_session_open and through crypto_aead_chacha20poly1305_ietf_*_detached
 * on the same buffer. Medians of interleaved runs, nanoseconds per datagram.
 * Usage: bench_session [runs]  (not a test: prints numbers, exits 0) */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "common/session.h"
#include "common/wire.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static _Alignas(64) uint8_t pkt[2048];

static double run_session(struct weft_session *tx, struct weft_session *rx, size_t plain_len,
			  long iters)
{
	size_t len, out_len;
	uint64_t t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		if (weft_session_seal(tx, pkt, plain_len, 0, &len) != 0 ||
		    weft_session_open(rx, pkt, len, 0, &out_len) != 1 || out_len != plain_len) {
			fprintf(stderr, "bench_session: seal/open failed\n");
			exit(1);
		}
	}
	return (double)(now_ns() - t0) / (double)iters;
}

static double run_raw(const uint8_t *key, size_t plain_len, long iters)
{
	uint8_t nonce[12] = {0};
	uint8_t *plain = pkt + WEFT_WIRE_DATA_HEADER_LEN, *tag = plain + plain_len;
	static uint64_t counter;
	uint64_t t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		counter++;
		memcpy(nonce + 4, &counter, sizeof(counter));
		crypto_aead_chacha20poly1305_ietf_encrypt_detached(
		    plain, tag, NULL, plain, plain_len, pkt, WEFT_WIRE_DATA_HEADER_LEN, NULL, nonce,
		    key);
		if (crypto_aead_chacha20poly1305_ietf_decrypt_detached(
			plain, NULL, plain, plain_len, tag, pkt, WEFT_WIRE_DATA_HEADER_LEN, nonce,
			key) != 0) {
			fprintf(stderr, "bench_session: raw decrypt failed\n");
			exit(1);
		}
	}
	return (double)(now_ns() - t0) / (double)iters;
}

int main(int argc, char **argv)
{
	static const size_t frames[] = {64, 1400};
	int runs = argc > 1 ? atoi(argv[1]) : 9;
	uint8_t k1[WEFT_KEY_LEN], k2[WEFT_KEY_LEN];
	struct weft_session *tx, *rx;
	int worst = 0;

	if (runs < 1 || runs > 1000 || sodium_init() < 0)
		return 1;
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	tx = weft_session_new(k1, k2, 2, true, NULL, 0);
	rx = weft_session_new(k2, k1, 1, false, NULL, 0);
	if (!tx || !rx)
		return 1;
	/* The indices an index table would have handed out (there is none here). */
	tx->entry.index = 1;
	rx->entry.index = 2;

	printf("%-6s %12s %12s %9s   (ns per datagram, seal+open, median of %d runs)\n", "frame",
	       "session", "raw AEAD", "overhead", runs);
	for (size_t f = 0; f < WEFT_ARRAY_SIZE(frames); f++) {
		size_t plain_len = frames[f] + WEFT_WIRE_RECORD_HEADER_LEN;
		long iters = frames[f] < 256 ? 200000 : 40000;
		double *sess = calloc((size_t)runs, sizeof(double));
		double *raw = calloc((size_t)runs, sizeof(double));
		struct weft_wire_writer w;
		uint8_t *body;

		if (!sess || !raw)
			return 1;
		weft_wire_writer_init(&w, pkt + WEFT_WIRE_DATA_HEADER_LEN,
				      sizeof(pkt) - WEFT_WIRE_DATA_OVERHEAD);
		if (weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, frames[f], &body) != 0)
			return 1;
		randombytes_buf(body, frames[f]);
		/* Warm up caches and the CPU's clock before measuring. */
		run_session(tx, rx, plain_len, iters / 4);
		run_raw(k1, plain_len, iters / 4);
		/* Interleaved, so drift in machine load hits both alike. */
		for (int r = 0; r < runs; r++) {
			sess[r] = run_session(tx, rx, plain_len, iters);
			raw[r] = run_raw(k1, plain_len, iters);
		}
		double s = median(sess, runs), a = median(raw, runs);
		double over = (s - a) / a * 100;
		printf("%-6zu %12.1f %12.1f %8.1f%%\n", frames[f], s, a, over);
		if (frames[f] == 1400 && over > 10)
			worst = 1;
		free(sess);
		free(raw);
	}
	if (worst)
		printf("note: session overhead above 10%% at 1400 bytes\n");
	weft_session_free(tx);
	weft_session_free(rx);
	return 0;
}
