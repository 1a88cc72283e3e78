/* SPDX-License-Identifier: MIT */
/* What the transport AEAD costs with each backend built in, and what the
 * session layer adds to it:
 *  1. seal, and seal + open, of one record of 64, 128, 256, 1400, 1440 (a
 *     full-size frame's record on a 1500-byte underlay) and 65000 bytes in
 *     place (16 bytes of additional data, DATA's nonce) through
 *     weft_aead_seal/weft_aead_open with each backend alone, in GB/s of
 *     record bytes. Opening in place turns the ciphertext back into
 *     plaintext, so open alone is timed as (seal + open) - seal;
 *  2. seal + open of one DATA datagram carrying one frame (64, 1400 and 1437
 *     bytes) through weft_session_seal/weft_session_open, against bare AEAD
 *     contexts made as the sessions make theirs, on the same buffer;
 *  3. one seal, and one open, of a ping's record (a 98-byte frame) and of a
 *     full-size one (1437) after the thread slept 10 ms, and again right
 *     after, with each backend, in
 *     microseconds of wall-clock time: a lone packet after an idle spell
 *     finds caches and TLBs cold, and that, not the throughput of tables 1
 *     and 2, is its latency.
 * Every figure is the median of interleaved runs (drift in the machine's load
 * hits every column alike), timed in this thread's CPU time.
 * Usage: bench_session [runs]  (not a test: prints numbers, exits 0) */
#include "config.h"

#include <endian.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/aead.h"
#include "common/session.h"
#include "common/wire.h"

enum { NB = WEFT_AEAD_BACKEND_COUNT };

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

static void die(const char *what)
{
	fprintf(stderr, "bench_session: %s\n", what);
	exit(1);
}

static _Alignas(64) uint8_t pkt[WEFT_WIRE_DATA_MAX_LEN + 64];

static void nonce_of(uint8_t nonce[static WEFT_AEAD_NONCE_LEN], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &le, sizeof(le));
}

/* ns per record: seal alone (@open false) or seal then open. */
static double run_aead(struct weft_aead *tx, struct weft_aead *rx, size_t len, long iters,
		       bool open)
{
	uint8_t nonce[WEFT_AEAD_NONCE_LEN];
	uint8_t *text = pkt + WEFT_WIRE_DATA_HEADER_LEN, *tag = text + len;
	static uint64_t counter;
	uint64_t t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		nonce_of(nonce, ++counter);
		if (weft_aead_seal(tx, nonce, pkt, WEFT_WIRE_DATA_HEADER_LEN, text, len, tag) != 0)
			die("seal failed");
		if (open &&
		    weft_aead_open(rx, nonce, pkt, WEFT_WIRE_DATA_HEADER_LEN, text, len, tag) != 0)
			die("open failed");
	}
	return (double)(now_ns() - t0) / (double)iters;
}

static double run_session(struct weft_session *tx, struct weft_session *rx, size_t plain_len,
			  long iters)
{
	size_t len, out_len;
	uint64_t t0 = now_ns();

	for (long i = 0; i < iters; i++) {
		if (weft_session_seal(tx, pkt, plain_len, 0, &len) != 0 ||
		    weft_session_open(rx, pkt, len, 0, &out_len) != 1 || out_len != plain_len)
			die("session seal/open failed");
	}
	return (double)(now_ns() - t0) / (double)iters;
}

static double *runs_alloc(int runs)
{
	double *v = calloc((size_t)runs, sizeof(double));

	if (!v)
		die("out of memory");
	return v;
}

/* Table 1: each backend, seal and open, GB/s. */
static void bench_backends(const uint8_t *key, int runs)
{
	static const size_t sizes[] = {64, 128, 256, 1400, 1440, 65000};
	struct weft_aead tx[NB], rx[NB];
	bool have[NB];

	for (int b = 0; b < NB; b++) {
		have[b] = weft_aead_built((enum weft_aead_backend)b);
		if (have[b] && (weft_aead_init(&tx[b], (enum weft_aead_backend)b, key, true) != 0 ||
				weft_aead_init(&rx[b], (enum weft_aead_backend)b, key, false) != 0))
			die("cannot make an AEAD context");
		/* Each backend alone: a context otherwise hands texts under
		 * WEFT_AEAD_COLD_MAX_LEN to its cold path. */
		tx[b].cold_below = rx[b].cold_below = 0;
	}
	printf("ChaCha20-Poly1305 in place, 16 bytes AD: GB/s of record bytes, median of %d runs\n",
	       runs);
	printf("%-7s", "record");
	for (int b = 0; b < NB; b++)
		printf(" %10s seal %5s", weft_aead_name((enum weft_aead_backend)b), "open");
	if (have[WEFT_AEAD_LIBCRYPTO])
		printf("   libcrypto/libsodium seal  open");
	printf("\n");
	for (size_t s = 0; s < WEFT_ARRAY_SIZE(sizes); s++) {
		size_t len = sizes[s];
		long iters = (long)(16000000 / len) + 2000;
		double *seal[NB], *both[NB], gseal[NB] = {0}, gopen[NB] = {0};

		randombytes_buf(pkt, len + WEFT_WIRE_DATA_OVERHEAD);
		for (int b = 0; b < NB; b++) {
			seal[b] = runs_alloc(runs);
			both[b] = runs_alloc(runs);
			/* Warm up caches and the CPU's clock before measuring. */
			if (have[b])
				run_aead(&tx[b], &rx[b], len, iters / 4, true);
		}
		for (int r = 0; r < runs; r++) {
			for (int b = 0; b < NB; b++) {
				if (!have[b])
					continue;
				seal[b][r] = run_aead(&tx[b], &rx[b], len, iters, false);
				both[b][r] = run_aead(&tx[b], &rx[b], len, iters, true);
			}
		}
		printf("%-7zu", len);
		for (int b = 0; b < NB; b++) {
			if (!have[b]) {
				printf(" %15s %5s", "not built", "-");
				continue;
			}
			double ts = median(seal[b], runs), tb = median(both[b], runs);

			gseal[b] = (double)len / ts;
			gopen[b] = (double)len / (tb - ts);
			printf(" %15.2f %5.2f", gseal[b], gopen[b]);
		}
		if (have[WEFT_AEAD_LIBCRYPTO])
			printf("   %24.2fx %4.2fx",
			       gseal[WEFT_AEAD_LIBCRYPTO] / gseal[WEFT_AEAD_LIBSODIUM],
			       gopen[WEFT_AEAD_LIBCRYPTO] / gopen[WEFT_AEAD_LIBSODIUM]);
		printf("\n");
		for (int b = 0; b < NB; b++) {
			free(seal[b]);
			free(both[b]);
		}
	}
	for (int b = 0; b < NB; b++) {
		if (have[b]) {
			weft_aead_clear(&tx[b]);
			weft_aead_clear(&rx[b]);
		}
	}
}

/* Table 2: the session layer over the bare AEAD of the sessions' backend. */
static void bench_session(const uint8_t *k1, const uint8_t *k2, int runs)
{
	static const size_t frames[] = {64, 1400, 1437};
	struct weft_session *tx = weft_session_new(k1, k2, 2, true, NULL, 0);
	struct weft_session *rx = weft_session_new(k2, k1, 1, false, NULL, 0);
	struct weft_aead atx, arx;
	int worst = 0;

	if (!tx || !rx)
		die("cannot make sessions");
	/* The indices an index table would have handed out (there is none here). */
	tx->entry.index = 1;
	rx->entry.index = 2;
	if (weft_aead_init(&atx, tx->aead_tx.backend, k1, true) != 0 ||
	    weft_aead_init(&arx, tx->aead_tx.backend, k1, false) != 0)
		die("cannot make an AEAD context");
	/* As a busy session's: records back to back never take the cold path. */
	atx.cold_below = arx.cold_below = 0;

	printf("\nsessions (%s): ns per datagram, seal+open, median of %d runs\n",
	       weft_aead_name(tx->aead_tx.backend), runs);
	printf("%-6s %12s %12s %9s\n", "frame", "session", "bare AEAD", "overhead");
	for (size_t f = 0; f < WEFT_ARRAY_SIZE(frames); f++) {
		size_t plain_len = frames[f] + WEFT_WIRE_RECORD_HEADER_LEN;
		long iters = frames[f] < 256 ? 200000 : 40000;
		double *sess = runs_alloc(runs), *raw = runs_alloc(runs);
		struct weft_wire_writer w;
		uint8_t *body;

		weft_wire_writer_init(&w, pkt + WEFT_WIRE_DATA_HEADER_LEN,
				      sizeof(pkt) - WEFT_WIRE_DATA_OVERHEAD);
		if (weft_wire_writer_reserve(&w, WEFT_WIRE_REC_FRAME, frames[f], &body) != 0)
			die("cannot write a frame record");
		randombytes_buf(body, frames[f]);
		run_session(tx, rx, plain_len, iters / 4);
		run_aead(&atx, &arx, plain_len, iters / 4, true);
		for (int r = 0; r < runs; r++) {
			sess[r] = run_session(tx, rx, plain_len, iters);
			raw[r] = run_aead(&atx, &arx, plain_len, iters, true);
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
	weft_aead_clear(&atx);
	weft_aead_clear(&arx);
	weft_session_free(tx);
	weft_session_free(rx);
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Table 3: one operation on a short record, timed in wall-clock time (what a
 * cold start costs is stalls). */
static double op_us(struct weft_aead *tx, struct weft_aead *rx, size_t len, bool open)
{
	static const uint8_t nonce[WEFT_AEAD_NONCE_LEN], ad[16];
	static uint8_t tag[WEFT_AEAD_TAG_LEN];
	uint64_t t0;
	int r;

	/* Opening in place needs a sealed record: sealed before the timer
	 * starts (and before the idle spell, by the caller). */
	t0 = wall_ns();
	r = open ? weft_aead_open(rx, nonce, ad, sizeof(ad), pkt, len, tag)
		 : weft_aead_seal(tx, nonce, ad, sizeof(ad), pkt, len, tag);
	if (r != 0)
		die(open ? "open failed" : "seal failed");
	return (double)(wall_ns() - t0) / 1000;
}

/* One record of a @frame-byte frame, behind its record header. */
static void bench_cold(const uint8_t *key, size_t frame)
{
	const size_t len = frame + WEFT_WIRE_RECORD_HEADER_LEN;
	enum { N = 101, IDLE_US = 10000 };
	struct weft_aead tx[NB], rx[NB];
	bool have[NB];
	double *t[NB][2][2]; /* [backend][seal, open][after the idle spell, right after that] */

	printf("\none %zu-byte record: us of wall-clock time after %d ms idle and right after"
	       " that, median of %d, backends in turns\n",
	       len, IDLE_US / 1000, N);
	printf("%-10s %12s %12s %12s %12s\n", "backend", "seal idle", "seal then", "open idle",
	       "open then");
	for (int b = 0; b < NB; b++) {
		have[b] = weft_aead_built(b) && weft_aead_init(&tx[b], b, key, true) == 0 &&
			  weft_aead_init(&rx[b], b, key, false) == 0;
		/* Every length through this backend, as tables 1 and 2 time it. */
		tx[b].cold_below = rx[b].cold_below = 0;
		for (int o = 0; o < 2; o++)
			for (int w = 0; w < 2; w++)
				t[b][o][w] = runs_alloc(N);
	}
	randombytes_buf(pkt, len);
	for (int n = 0; n < N; n++) {
		for (int b = 0; b < NB; b++) {
			for (int o = 0; o < 2 && have[b]; o++) {
				if (o == 1)
					(void)op_us(&tx[b], &rx[b], len, false);
				usleep(IDLE_US);
				t[b][o][0][n] = op_us(&tx[b], &rx[b], len, o);
				if (o == 1)
					(void)op_us(&tx[b], &rx[b], len, false);
				t[b][o][1][n] = op_us(&tx[b], &rx[b], len, o);
			}
		}
	}
	for (int b = 0; b < NB; b++) {
		if (have[b]) {
			printf("%-10s %12.2f %12.2f %12.2f %12.2f\n", weft_aead_name(b),
			       median(t[b][0][0], N), median(t[b][0][1], N), median(t[b][1][0], N),
			       median(t[b][1][1], N));
			weft_aead_clear(&tx[b]);
			weft_aead_clear(&rx[b]);
		}
		for (int o = 0; o < 2; o++)
			for (int w = 0; w < 2; w++)
				free(t[b][o][w]);
	}
}

int main(int argc, char **argv)
{
	int runs = argc > 1 ? atoi(argv[1]) : 9;
	uint8_t k1[WEFT_KEY_LEN], k2[WEFT_KEY_LEN];

	if (runs < 1 || runs > 1000 || sodium_init() < 0)
		return 1;
	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));
	bench_backends(k1, runs);
	bench_session(k1, k2, runs);
	bench_cold(k1, 98);   /* a ping's frame */
	bench_cold(k1, 1437); /* a full-size frame on a 1500-byte underlay */
	return 0;
}
