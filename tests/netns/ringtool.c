/* SPDX-License-Identifier: MIT */
/* Exercises daemon/capture and daemon/inject on real interfaces (run by
 * tests/netns/rings.sh inside a network namespace). Each subcommand prints
 * what it checked and exits 0, or prints FAIL and exits 1.
 *
 *   ringtool xfer   A B MTU    frames injected on A arrive on B byte for byte
 *   ringtool ignore A B        frames injected on B are not captured on B
 *   ringtool full   A B        an overfull TX ring refuses with -ENOBUFS at once
 *   ringtool drops  A B        a full RX ring counts kernel drops
 *   ringtool long   A B        frames longer than the capture slot arrive whole,
 *                              in order with the frames between them
 *   ringtool bench  A B SECS [bypass]   frames/s of 1400 bytes A → B
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/capture.h"
#include "daemon/inject.h"

#define WEFT_TOOL_NAME "ringtool"
#include "tests/netns/tool_common.h"
#include "tests/netns/ring_tool.h"

#define ETHERTYPE_TEST 0x88b5
#define MAX_FRAME      9100

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0xaa};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0xbb};

/* This process's CPU time, softirq work done on its behalf included where
 * the kernel accounts it to the task. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int ifindex(const char *name)
{
	unsigned i = if_nametoindex(name);

	if (!i)
		failf("no interface %s", name);
	return (int)i;
}

/* Test frame @seq of @len bytes: a recognisable header then a pattern.
 * @tpid != 0 inserts a VLAN tag with @tci after the MAC addresses. */
static size_t make_frame(uint8_t *f, uint32_t seq, size_t len, uint16_t tpid, uint16_t tci)
{
	size_t o = 12;

	memcpy(f, mac_b, 6);
	memcpy(f + 6, mac_a, 6);
	if (tpid) {
		f[o++] = tpid >> 8;
		f[o++] = tpid & 0xff;
		f[o++] = tci >> 8;
		f[o++] = tci & 0xff;
	}
	f[o++] = ETHERTYPE_TEST >> 8;
	f[o++] = ETHERTYPE_TEST & 0xff;
	for (size_t i = o; i < len; i++) {
		size_t k = i - o;

		if (k < 4)
			f[i] = "weft"[k];
		else if (k < 8)
			f[i] = (uint8_t)(seq >> (8 * (7 - k)));
		else
			f[i] = (uint8_t)(seq * 7 + i);
	}
	return len;
}

/* The sequence number of a captured test frame (untagged as captured), or -1. */
static long frame_seq(const uint8_t *d, size_t len)
{
	if (len < 22 || d[12] != (ETHERTYPE_TEST >> 8) || d[13] != (ETHERTYPE_TEST & 0xff) ||
	    memcmp(d + 14, "weft", 4) != 0)
		return -1;
	return (long)((uint32_t)d[18] << 24 | (uint32_t)d[19] << 16 | (uint32_t)d[20] << 8 | d[21]);
}

/* Next captured test frame (others, if any, are skipped and released). */
static bool wait_test_frame(struct weft_capture *cap, struct weft_capture_frame *fr, int ms)
{
	for (int n = 0; n < 100000; n++) {
		if (!wait_frame(cap, fr, ms))
			return false;
		if (frame_seq(fr->data, fr->len) >= 0)
			return true;
		weft_capture_release(cap);
	}
	return false;
}

struct expect {
	uint32_t seq;
	size_t len; /* as injected, tag included */
	uint16_t tpid, tci;
};

static void check_frame(const struct weft_capture_frame *fr, const struct expect *e)
{
	static uint8_t want[MAX_FRAME], got[MAX_FRAME];
	size_t glen = fr->len;
	long seq = frame_seq(fr->data, fr->len);

	make_frame(want, e->seq, e->len, e->tpid, e->tci);
	if (seq != (long)e->seq)
		failf("expected frame %u, captured frame %ld", e->seq, seq);
	if (fr->truncated || fr->len != fr->wire_len)
		failf("frame %u: truncated (len %u, wire_len %u)", e->seq, fr->len, fr->wire_len);
	if (e->tpid) {
		if (!fr->vlan_valid || fr->vlan_tci != e->tci || fr->vlan_tpid != e->tpid)
			failf("frame %u: VLAN valid=%d tpid=%#x tci=%#x, want tpid=%#x tci=%#x",
			      e->seq, fr->vlan_valid, fr->vlan_tpid, fr->vlan_tci, e->tpid, e->tci);
		/* Put the tag back, as weftd does before sealing. */
		memcpy(got, fr->data, 12);
		got[12] = fr->vlan_tpid >> 8;
		got[13] = fr->vlan_tpid & 0xff;
		got[14] = fr->vlan_tci >> 8;
		got[15] = fr->vlan_tci & 0xff;
		memcpy(got + 16, fr->data + 12, fr->len - 12);
		glen += 4;
	} else {
		if (fr->vlan_valid)
			failf("frame %u: unexpected VLAN tag %#x", e->seq, fr->vlan_tci);
		memcpy(got, fr->data, fr->len);
	}
	if (glen != e->len)
		failf("frame %u: %zu bytes captured, %zu injected", e->seq, glen, e->len);
	if (memcmp(got, want, glen) != 0)
		failf("frame %u: bytes differ", e->seq);
}

static void open_pair(struct weft_capture **cap, int cap_if, unsigned cap_frames, size_t cap_len,
		      struct weft_inject **inj, int inj_if, unsigned inj_frames, size_t inj_len)
{
	char err[WEFT_ERRLEN];

	if (cap && weft_capture_new(cap, cap_if, cap_frames, cap_len, err) < 0)
		failf("%s", err);
	if (inj && weft_inject_new(inj, inj_if, inj_frames, inj_len, err) < 0)
		failf("%s", err);
}

static int cmd_xfer(int a, int b, int mtu)
{
	size_t max = (size_t)mtu + 14;
	struct weft_capture *cap;
	struct weft_inject *inj, *loose;
	struct weft_inject_stats ist;
	struct expect exp[64];
	static uint8_t f[MAX_FRAME];
	size_t sizes[] = {60, 64, 100, 333, 1000, 1514, max - 1, max};
	unsigned n = 0, cap_frames, cap_fsize, cap_snap;
	uint32_t seq = 0;
	int r;

	open_pair(&cap, b, 256, max, &inj, a, 64, max);
	/* A ring whose slots take frames the device refuses: PACKET_LOSS must skip them. */
	open_pair(NULL, 0, 0, 0, &loose, a, 16, max + 64);
	weft_capture_geometry(cap, &cap_frames, &cap_fsize, &cap_snap);
	printf("capture ring: %u frames of %u bytes, snap %u\n", cap_frames, cap_fsize, cap_snap);

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(sizes); i++) {
		if (sizes[i] > max)
			continue;
		exp[n] = (struct expect){.seq = seq++, .len = sizes[i]};
		must_put(inj, f, make_frame(f, exp[n].seq, exp[n].len, 0, 0));
		n++;
	}
	/* Too long and too short: refused before touching the ring. */
	r = weft_inject_put(inj, f, make_frame(f, 999, max + 1, 0, 0));
	if (r != -EMSGSIZE)
		failf("a %zu-byte frame (max %zu): put = %d, want -EMSGSIZE", max + 1, max, r);
	r = weft_inject_put(inj, f, 13);
	if (r != -EMSGSIZE)
		failf("a 13-byte frame: put = %d, want -EMSGSIZE", r);
	/* 802.1Q: the largest tagged frame, and a small one; 802.1ad: a small one. */
	exp[n] = (struct expect){.seq = seq++, .len = max + 4, .tpid = 0x8100, .tci = 0xa07b};
	must_put(inj, f, make_frame(f, exp[n].seq, exp[n].len, exp[n].tpid, exp[n].tci));
	n++;
	exp[n] = (struct expect){.seq = seq++, .len = 80, .tpid = 0x8100, .tci = 0x0005};
	must_put(inj, f, make_frame(f, exp[n].seq, exp[n].len, exp[n].tpid, exp[n].tci));
	n++;
	exp[n] = (struct expect){.seq = seq++, .len = 90, .tpid = 0x88a8, .tci = 0x0fff};
	must_put(inj, f, make_frame(f, exp[n].seq, exp[n].len, exp[n].tpid, exp[n].tci));
	n++;
	/* Frames after the refused ones still go out. */
	exp[n] = (struct expect){.seq = seq++, .len = 200};
	must_put(inj, f, make_frame(f, exp[n].seq, exp[n].len, 0, 0));
	n++;
	must_flush(inj);

	/* The kernel refuses a frame 32 bytes over the device's MTU; the slot
	 * after it must still leave in the same kick, and the ring keep going. */
	must_put(loose, f, make_frame(f, 1000, max + 32, 0, 0));
	exp[n] = (struct expect){.seq = seq++, .len = 300};
	must_put(loose, f, make_frame(f, exp[n].seq, exp[n].len, 0, 0));
	n++;
	must_flush(loose);
	for (int k = 0; k < 3; k++) {
		exp[n] = (struct expect){.seq = seq++, .len = 400 + (size_t)k};
		must_put(loose, f, make_frame(f, exp[n].seq, exp[n].len, 0, 0));
		n++;
		must_flush(loose);
	}

	for (unsigned i = 0; i < n; i++) {
		struct weft_capture_frame fr;

		if (!wait_test_frame(cap, &fr, 2000))
			failf("frame %u (%zu bytes) never arrived", exp[i].seq, exp[i].len);
		check_frame(&fr, &exp[i]);
		weft_capture_release(cap);
	}
	{
		struct weft_capture_frame fr;

		if (wait_test_frame(cap, &fr, 200))
			failf("an extra frame arrived: seq %ld, %u bytes",
			      frame_seq(fr.data, fr.len), fr.wire_len);
	}
	weft_inject_stats(inj, &ist);
	if (ist.queued != n - 4 || ist.bad_length != 2 || ist.ring_full != 0)
		failf("inject counters: queued %llu bad_length %llu ring_full %llu",
		      (unsigned long long)ist.queued, (unsigned long long)ist.bad_length,
		      (unsigned long long)ist.ring_full);
	printf("ok xfer mtu %d: %u frames byte for byte (max %zu, 802.1Q max %zu, 802.1ad), "
	       "oversize refused with -EMSGSIZE, kernel-refused slot skipped\n",
	       mtu, n, max, max + 4);
	weft_inject_free(loose);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}

static int cmd_ignore(int a, int b)
{
	struct weft_capture *cap_a, *cap_b;
	struct weft_inject *inj_b;
	struct weft_capture_frame fr;
	static uint8_t f[MAX_FRAME];
	unsigned seen_a = 0;

	open_pair(&cap_b, b, 64, 1514, &inj_b, b, 64, 1514);
	open_pair(&cap_a, a, 64, 1514, NULL, 0, 0, 0);
	for (uint32_t i = 0; i < 10; i++)
		must_put(inj_b, f, make_frame(f, i, 100 + i, 0, 0));
	must_flush(inj_b);
	/* Positive control: they did leave B. */
	while (seen_a < 10 && wait_test_frame(cap_a, &fr, 1000)) {
		seen_a++;
		weft_capture_release(cap_a);
	}
	if (seen_a != 10)
		failf("only %u of 10 frames injected on B arrived on A", seen_a);
	if (wait_test_frame(cap_b, &fr, 300))
		failf("B captured its own injected frame %ld (PACKET_IGNORE_OUTGOING)",
		      frame_seq(fr.data, fr.len));
	printf("ok ignore: 10 frames injected on B reached A, none recaptured on B\n");
	weft_capture_free(cap_a);
	weft_capture_free(cap_b);
	weft_inject_free(inj_b);
	return 0;
}

static int cmd_full(int a, int b)
{
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_inject_stats ist;
	struct weft_capture_frame fr;
	static uint8_t f[MAX_FRAME];
	unsigned capacity = 0, refused = 0, got = 0, attempts = 5000;
	uint64_t t0, dt;
	int r = 0;

	open_pair(&cap, b, 2048, 1514, &inj, a, 64, 1514);
	t0 = now_ns();
	for (uint32_t i = 0; i < attempts; i++) {
		r = weft_inject_put(inj, f, make_frame(f, i, 1400, 0, 0));
		if (r == 0 && refused == 0)
			capacity++;
		else if (r == -ENOBUFS)
			refused++;
		else
			failf("put #%u after %u refusals: %d", i, refused, r);
	}
	dt = now_ns() - t0;
	weft_inject_stats(inj, &ist);
	if (capacity < 64 || refused != attempts - capacity || ist.ring_full != refused)
		failf("capacity %u, refused %u, ring_full %llu", capacity, refused,
		      (unsigned long long)ist.ring_full);
	if (dt > 500000000ULL)
		failf("%u puts into a full ring took %llu ms", attempts,
		      (unsigned long long)(dt / 1000000));
	must_flush(inj);
	while (got < capacity + 1 && wait_test_frame(cap, &fr, got < capacity ? 2000 : 200)) {
		long seq = frame_seq(fr.data, fr.len);

		if (seq != (long)got)
			failf("after the kick: frame %ld, expected %u", seq, got);
		got++;
		weft_capture_release(cap);
	}
	if (got != capacity)
		failf("%u frames arrived after the kick, ring held %u", got, capacity);
	/* The slots are free again once the kernel sent them. */
	for (int n = 0; n < 1000; n++) {
		r = weft_inject_put(inj, f, make_frame(f, 77777, 200, 0, 0));
		if (r != -ENOBUFS)
			break;
		struct timespec ts = {0, 1000000};
		nanosleep(&ts, NULL);
	}
	if (r != 0)
		failf("put after the kick: %d", r);
	printf("ok full: ring of %u took %u, refused %u with -ENOBUFS in %llu us, all %u sent "
	       "after one kick, slots reusable\n",
	       capacity, capacity, refused, (unsigned long long)(dt / 1000), got);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}

static int cmd_drops(int a, int b)
{
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_capture_stats s1, s2;
	struct weft_capture_frame fr;
	static uint8_t f[MAX_FRAME];
	unsigned ring, sent = 0, got = 0;

	open_pair(&cap, b, 8, 1514, &inj, a, 64, 1514);
	weft_capture_geometry(cap, &ring, NULL, NULL);
	if (weft_capture_stats(cap, &s1) < 0)
		failf("PACKET_STATISTICS");
	for (int batch = 0; batch < 5; batch++) {
		for (int i = 0; i < 40; i++)
			must_put(inj, f, make_frame(f, sent++, 500, 0, 0));
		must_flush(inj);
	}
	/* Let the last frames land (veth delivers in softirq). */
	struct timespec ts = {0, 50000000};
	nanosleep(&ts, NULL);
	if (weft_capture_stats(cap, &s1) < 0)
		failf("PACKET_STATISTICS");
	if (weft_capture_stats(cap, &s2) < 0)
		failf("PACKET_STATISTICS");
	if (s1.packets < sent || s1.drops < sent - ring || s1.drops > s1.packets)
		failf("stats after %u frames into a ring of %u: packets %llu drops %llu", sent,
		      ring, (unsigned long long)s1.packets, (unsigned long long)s1.drops);
	if (s2.packets != s1.packets || s2.drops != s1.drops)
		failf("a second read changed the totals: %llu/%llu then %llu/%llu",
		      (unsigned long long)s1.packets, (unsigned long long)s1.drops,
		      (unsigned long long)s2.packets, (unsigned long long)s2.drops);
	while (got <= ring && wait_test_frame(cap, &fr, 100)) {
		got++;
		weft_capture_release(cap);
	}
	if (got != s1.packets - s1.drops)
		failf("drained %u frames, stats say %llu delivered", got,
		      (unsigned long long)(s1.packets - s1.drops));
	printf("ok drops: %u frames into a ring of %u: packets %llu, drops %llu, %u drained\n",
	       sent, ring, (unsigned long long)s1.packets, (unsigned long long)s1.drops, got);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}

/* weft_capture_defer(): released slots stay ours until handed back, so the
 * kernel drops what it has no slot for; handed back, the ring fills again,
 * and next() never reads a slot released but not handed back. */
static int cmd_defer(int a, int b)
{
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_capture_stats s0, s1, s2;
	struct weft_capture_frame fr;
	static uint8_t f[MAX_FRAME];
	unsigned ring, got = 0, seq = 0;

	open_pair(&cap, b, 8, 1514, &inj, a, 64, 1514);
	weft_capture_geometry(cap, &ring, NULL, NULL);
	weft_capture_defer(cap, true);
	for (unsigned i = 0; i < ring; i++)
		must_put(inj, f, make_frame(f, seq++, 300, 0, 0));
	must_flush(inj);
	while (got < ring && wait_test_frame(cap, &fr, 2000)) {
		if (frame_seq(fr.data, fr.len) != (long)got)
			failf("deferred: frame %ld, expected %u", frame_seq(fr.data, fr.len), got);
		got++;
		weft_capture_release(cap);
	}
	if (got != ring)
		failf("deferred: %u of %u frames", got, ring);
	if (weft_capture_stats(cap, &s0) < 0)
		failf("PACKET_STATISTICS");
	/* Nothing handed back: a second ring's worth finds no slot. */
	for (unsigned i = 0; i < ring; i++)
		must_put(inj, f, make_frame(f, seq++, 300, 0, 0));
	must_flush(inj);
	if (wait_test_frame(cap, &fr, 200))
		failf("a frame (%ld) in a ring not handed back", frame_seq(fr.data, fr.len));
	if (weft_capture_stats(cap, &s1) < 0)
		failf("PACKET_STATISTICS");
	if (s1.drops - s0.drops != ring)
		failf("%llu drops while no slot was handed back, want %u",
		      (unsigned long long)(s1.drops - s0.drops), ring);
	/* Handed back: the ring takes frames again, in order. */
	weft_capture_hand_back(cap);
	for (unsigned i = 0; i < ring; i++)
		must_put(inj, f, make_frame(f, seq + i, 300, 0, 0));
	must_flush(inj);
	for (unsigned i = 0; i < ring; i++) {
		if (!wait_test_frame(cap, &fr, 2000))
			failf("after the hand-back: frame %u never arrived", seq + i);
		if (frame_seq(fr.data, fr.len) != (long)(seq + i))
			failf("after the hand-back: frame %ld, expected %u",
			      frame_seq(fr.data, fr.len), seq + i);
		weft_capture_release(cap);
	}
	weft_capture_hand_back(cap);
	if (weft_capture_stats(cap, &s2) < 0)
		failf("PACKET_STATISTICS");
	if (s2.drops != s1.drops)
		failf("%llu drops after the hand-back", (unsigned long long)(s2.drops - s1.drops));
	printf("ok defer: a ring of %u released but not handed back took nothing (%u dropped), "
	       "handed back took %u in order\n",
	       ring, ring, ring);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}

/* Frames longer than the capture slot come whole from their clones on the
 * socket's queue (PACKET_COPY_THRESH), not cut at the slot: weftd must have
 * all of one to fragment it. Long and short ones alternate, so that a clone
 * read out of step with its slot would show. */
static int cmd_long(int a, int b)
{
	static const unsigned lens[] = {100, 1400, 1400, 100, 1000, 64, 1400};
	enum { N = sizeof(lens) / sizeof(lens[0]) };
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_capture_frame fr;
	static uint8_t f[MAX_FRAME];
	unsigned snap, longer = 0;

	open_pair(&cap, b, 16, 200, &inj, a, 16, 1514);
	weft_capture_geometry(cap, NULL, NULL, &snap);
	for (unsigned i = 0; i < N; i++) {
		must_put(inj, f, make_frame(f, i + 1, lens[i], 0, 0));
		longer += lens[i] > snap;
	}
	if (longer < 3)
		failf("only %u of the frames are longer than the %u-byte snap", longer, snap);
	must_flush(inj);
	for (unsigned i = 0; i < N; i++) {
		if (!wait_test_frame(cap, &fr, 2000))
			failf("frame %u (%u bytes) never arrived", i + 1, lens[i]);
		if (fr.truncated || fr.len != lens[i] || fr.wire_len != lens[i])
			failf("frame %u: truncated=%d len %u wire_len %u, sent %u (snap %u)", i + 1,
			      fr.truncated, fr.len, fr.wire_len, lens[i], snap);
		make_frame(f, i + 1, lens[i], 0, 0);
		if (memcmp(fr.data, f, fr.len) != 0)
			failf("frame %u (%u bytes) differs", i + 1, lens[i]);
		weft_capture_release(cap);
	}
	printf("ok long: %u frames, %u of them longer than the %u-byte snap, all whole and in order\n",
	       N, longer, snap);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}

static int cmd_bench(int a, int b, int secs, bool bypass)
{
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_capture_stats cs;
	struct weft_inject_stats ist;
	struct weft_capture_frame fr;
	static uint8_t f[MAX_FRAME];
	uint64_t t0, t, c0, c, got = 0, bytes = 0, kicks = 0;
	int r;

	open_pair(&cap, b, 4096, 1514, &inj, a, 1024, 1514);
	r = weft_inject_set_qdisc_bypass(inj, bypass);
	if (r < 0)
		failf("PACKET_QDISC_BYPASS: %s", strerror(-r));
	make_frame(f, 0, 1400, 0, 0);
	c0 = cpu_ns();
	t0 = now_ns();
	t = t0;
	/* One thread: fill up to 256 slots, kick, drain what arrived. Bounded by time. */
	for (uint64_t round = 0; round < 100000000ULL && t - t0 < (uint64_t)secs * 1000000000ULL;
	     round++) {
		for (int i = 0; i < 256; i++) {
			if (weft_inject_put(inj, f, 1400) != 0)
				break;
		}
		if (weft_inject_flush(inj) < 0)
			failf("kick failed");
		kicks++;
		for (int i = 0; i < 4096 && weft_capture_next(cap, &fr); i++) {
			got++;
			bytes += fr.len;
			weft_capture_release(cap);
		}
		if ((round & 15) == 0)
			t = now_ns();
	}
	t = now_ns() - t0;
	c = cpu_ns() - c0;
	weft_inject_stats(inj, &ist);
	if (weft_capture_stats(cap, &cs) < 0)
		failf("PACKET_STATISTICS");
	printf("bench inject->veth->capture 1400 B, qdisc bypass %s: %.0f frames/s (%.2f Gbit/s), "
	       "%.0f frames per CPU second, queued %llu, ring full %llu, kicks %llu, busy kicks "
	       "%llu, capture drops %llu\n",
	       bypass ? "on " : "off", got * 1e9 / (double)t, bytes * 8.0 / (double)t,
	       got * 1e9 / (double)c, (unsigned long long)ist.queued,
	       (unsigned long long)ist.ring_full, (unsigned long long)kicks,
	       (unsigned long long)ist.kick_busy, (unsigned long long)cs.drops);
	if (got == 0)
		failf("nothing arrived");
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 5 && strcmp(argv[1], "xfer") == 0)
		return cmd_xfer(ifindex(argv[2]), ifindex(argv[3]), atoi(argv[4]));
	if (argc >= 4 && strcmp(argv[1], "ignore") == 0)
		return cmd_ignore(ifindex(argv[2]), ifindex(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "full") == 0)
		return cmd_full(ifindex(argv[2]), ifindex(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "drops") == 0)
		return cmd_drops(ifindex(argv[2]), ifindex(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "long") == 0)
		return cmd_long(ifindex(argv[2]), ifindex(argv[3]));
	if (argc >= 4 && strcmp(argv[1], "defer") == 0)
		return cmd_defer(ifindex(argv[2]), ifindex(argv[3]));
	if (argc >= 5 && strcmp(argv[1], "bench") == 0)
		return cmd_bench(ifindex(argv[2]), ifindex(argv[3]), atoi(argv[4]),
				 argc >= 6 && strcmp(argv[5], "bypass") == 0);
	fprintf(stderr, "usage: ringtool xfer|ignore|full|drops|long|defer A B [MTU] | "
			"bench A B SECS [bypass]\n");
	return 2;
}
