/* SPDX-License-Identifier: MIT */
/* Superframes through daemon/inject and daemon/capture on a real veth pair
 * (run by tests/netns/superframes.sh inside a network namespace). Each
 * subcommand prints what it checked and exits 0, or prints FAIL and exits 1.
 *
 *   sftool roundtrip A B    TCP segments injected on A (superframes on) are
 *                           merged into GSO superframes, and the capture on
 *                           B cuts them back into the very same segments;
 *                           other frames pass between them, in order
 *   sftool stall A B        with a qdisc on A that drops frames over 1000
 *                           bytes: a refused slot in the frame ring, then in
 *                           the superframe ring, is skipped and the frames
 *                           after it still leave (no stall)
 *   sftool stall-frames A B the frame-ring half of stall alone (API of
 *                           weftd before superframes, to show the stall)
 *   sftool burst A B        1000 frames put between two flushes into a ring
 *                           of 64 slots all leave, in order (kick when full)
 *   sftool early A B        frames of other flows overtake superframes
 *                           (weft_capture_next_early()); a frame of the
 *                           superframes' own flow keeps its place
 */
#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "daemon/capture.h"
#include "daemon/inject.h"
#include "tests/unit/superframe_fixture.h"

#define WEFT_TOOL_NAME "sftool"
#include "tests/netns/tool_common.h"
#include "tests/netns/ring_tool.h"

#define ETHERTYPE_TEST 0x88b5
#define MAX_FRAMES     128
#define MSS4	       1448
#define MSS6	       1428

static uint8_t payload[70000];
static uint8_t frames[MAX_FRAMES][1600];
static size_t lens[MAX_FRAMES];

static int ifindex(const char *name)
{
	unsigned i = if_nametoindex(name);

	if (!i)
		failf("no interface %s", name);
	return (int)i;
}

/* A frame of the test EtherType, @len bytes, numbered @seq. */
static size_t test_frame(uint8_t *f, uint32_t seq, size_t len)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x21}, src[6] = {0x02, 0, 0, 0, 0, 0x11};

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	weft_put_be16(f + 12, ETHERTYPE_TEST);
	memcpy(f + 14, "weft", 4);
	weft_put_be32(f + 18, seq);
	for (size_t i = 22; i < len; i++)
		f[i] = (uint8_t)(seq + i);
	return len;
}

/* Segments @first.. of a TCP flow like @p: @n of them, @mss bytes each,
 * the last one @last bytes with PSH. Returns the next free index. */
static unsigned tcp_flow(unsigned first, const struct fx_pkt *p, unsigned n, size_t mss,
			 size_t last)
{
	for (unsigned k = 0; k < n; k++) {
		struct fx_pkt s = *p;

		s.payload = payload + k * mss;
		s.payload_len = k == n - 1 ? last : mss;
		s.seq = p->seq + (uint32_t)(k * mss);
		s.ip_id = (uint16_t)(p->ip_id + k);
		if (k == n - 1)
			s.flags |= FX_TCP_PSH;
		lens[first + k] = fx_build(frames[first + k], &s);
	}
	return first + n;
}

/* Ours: the test EtherType, or TCP from the fixture's MAC. Anything else
 * (the kernel's own IPv6 chatter is off, but be sure) is skipped. */
static bool ours(const struct weft_capture_frame *fr)
{
	return fr->len >= 14 && fr->data[11] == 0x11 && fr->data[5] == 0x21;
}

/* The next frame captured must be @want (@len bytes). */
static void expect_frame(struct weft_capture *cap, const uint8_t *want, size_t len, unsigned i)
{
	struct weft_capture_frame fr;

	for (;;) {
		if (!wait_frame(cap, &fr, 2000))
			failf("frame %u (%zu bytes) never arrived", i, len);
		if (ours(&fr))
			break;
		weft_capture_release(cap);
	}
	if (fr.truncated || fr.len != len)
		failf("frame %u: %u bytes captured (truncated %d), %zu injected", i, fr.len,
		      fr.truncated, len);
	if (memcmp(fr.data, want, len) != 0) {
		size_t d = 0;

		while (fr.data[d] == want[d])
			d++;
		failf("frame %u (%zu bytes): differs from byte %zu", i, len, d);
	}
	weft_capture_release(cap);
}

static void expect_nothing(struct weft_capture *cap, int ms)
{
	struct weft_capture_frame fr;

	while (wait_frame(cap, &fr, ms)) {
		if (ours(&fr))
			failf("an extra frame arrived (%u bytes)", fr.len);
		weft_capture_release(cap);
	}
}

static void open_pair(struct weft_capture **cap, int b, struct weft_inject **inj, int a,
		      bool superframes)
{
	char err[WEFT_ERRLEN];

	if (weft_capture_new(cap, b, 256, 1514, err) < 0)
		failf("%s", err);
	if (weft_inject_new(inj, a, 256, 1514, err) < 0)
		failf("%s", err);
	(void)superframes;
#ifndef SFTOOL_FRAMES_ONLY
	if (superframes && weft_inject_superframes(*inj, true, err) < 0)
		failf("%s", err);
#endif
}

#ifndef SFTOOL_FRAMES_ONLY
static int cmd_roundtrip(int a, int b)
{
	struct fx_pkt p4 = {.version = 4,
			    .ip_id = 0x7000,
			    .df = true,
			    .tcp_opts = 12,
			    .tsval = 1234,
			    .sport = 40000,
			    .dport = 5201,
			    .seq = 0xffff0000U,
			    .ack = 77,
			    .flags = FX_TCP_ACK,
			    .window = 501};
	struct fx_pkt p6 = {.version = 6,
			    .flow = 0x5a5a5,
			    .tcp_opts = 12,
			    .tsval = 99,
			    .sport = 41000,
			    .dport = 5201,
			    .seq = 5,
			    .ack = 6,
			    .flags = FX_TCP_ACK,
			    .window = 1000};
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_capture_stats cs;
	struct weft_inject_stats is;
	unsigned n = 0, s4, s6, other;

	open_pair(&cap, b, &inj, a, true);
	/* 45 segments of 1448 bytes: the superframe a TSO sender makes. */
	n = s4 = tcp_flow(n, &p4, 45, MSS4, MSS4);
	/* A frame of another protocol ends nothing: the superframe closed on PSH. */
	lens[n] = test_frame(frames[n], 1, 300);
	other = n++;
	/* IPv6, with a short last segment. */
	n = tcp_flow(n, &p6, 10, MSS6, 700);
	s6 = n;
	/* A lone segment stays a frame. */
	p4.sport++;
	n = tcp_flow(n, &p4, 1, MSS4, 500);
	for (unsigned i = 0; i < n; i++)
		must_put(inj, frames[i], lens[i]);
	must_flush(inj);
	for (unsigned i = 0; i < n; i++)
		expect_frame(cap, frames[i], lens[i], i);
	expect_nothing(cap, 200);
	weft_inject_stats(inj, &is);
	if (weft_capture_stats(cap, &cs) < 0)
		failf("PACKET_STATISTICS");
	if (is.superframes != 2 || is.coalesced != 55)
		failf("inject: %llu superframes of %llu segments, want 2 of 55",
		      (unsigned long long)is.superframes, (unsigned long long)is.coalesced);
	if (cs.superframes != 2 || cs.segments != 55)
		failf("capture: %llu superframes cut into %llu segments, want 2 into 55",
		      (unsigned long long)cs.superframes, (unsigned long long)cs.segments);
	printf("ok roundtrip: %u frames (TCP/IPv4 x45 at %u, test frame at %u, TCP/IPv6 x10, a "
	       "lone segment at %u) byte for byte through 2 superframes, %llu kicks\n",
	       n, 0, other, s6, (unsigned long long)is.kicks);
	(void)s4;
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}
#endif

#ifndef SFTOOL_FRAMES_ONLY
/* More frames put between two flushes than the ring has slots: with
 * weft_inject_kick_when_full() every one of them leaves, in order. */
static int cmd_burst(int a, int b)
{
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_inject_stats is;
	char err[WEFT_ERRLEN];
	static uint8_t f[1600];
	unsigned n = 1000;

	if (weft_capture_new(&cap, b, 2048, 1514, err) < 0 ||
	    weft_inject_new(&inj, a, 64, 1514, err) < 0)
		failf("%s", err);
	weft_inject_kick_when_full(inj, true);
	for (uint32_t k = 0; k < n; k++)
		must_put(inj, f, test_frame(f, k, 200));
	must_flush(inj);
	for (uint32_t k = 0; k < n; k++)
		expect_frame(cap, f, test_frame(f, k, 200), k);
	weft_inject_stats(inj, &is);
	if (is.ring_full != 0)
		failf("ring_full %llu", (unsigned long long)is.ring_full);
	printf("ok burst: %u frames through a ring of 64 slots between two flushes, in order, "
	       "%llu kicks\n",
	       n, (unsigned long long)is.kicks);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}
#endif

#ifndef SFTOOL_FRAMES_ONLY
/* Behind a superframe being cut, the look-ahead hands out the frames of
 * other flows in their order, and leaves the flow's own frame in place:
 * the normal order then passes over those taken. */
static int cmd_early(int a, int b)
{
	struct fx_pkt p = {.version = 4,
			   .ip_id = 0x100,
			   .df = true,
			   .sport = 40001,
			   .dport = 5201,
			   .seq = 1000,
			   .ack = 1,
			   .flags = FX_TCP_ACK,
			   .window = 501};
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_capture_frame fr;
	struct weft_capture_stats cs;
	unsigned n, s1, lone, s2, early[3], k = 0;

	open_pair(&cap, b, &inj, a, true);
	/* S1: a superframe of flow X, then X's next segment alone (it ends
	 * nothing coalesced: the test frame behind it does), a frame of flow
	 * Y, S2 (flow X again), and two more of Y. */
	n = s1 = tcp_flow(0, &p, 45, MSS4, MSS4);
	lens[n] = test_frame(frames[n], 1, 300);
	early[0] = n++;
	p.seq += 45 * MSS4;
	p.ip_id += 45;
	n = lone = tcp_flow(n, &p, 1, MSS4, 500);
	lens[n] = test_frame(frames[n], 2, 200);
	early[1] = n++;
	p.seq += 500;
	p.ip_id += 1;
	n = s2 = tcp_flow(n, &p, 10, MSS4, 900);
	lens[n] = test_frame(frames[n], 3, 100);
	early[2] = n++;
	for (unsigned i = 0; i < n; i++)
		must_put(inj, frames[i], lens[i]);
	must_flush(inj);
	/* Everything is in the ring once S1's first segment is. */
	expect_frame(cap, frames[0], lens[0], 0);
	usleep(100 * 1000);
	while (weft_capture_next_early(cap, &fr)) {
		if (!ours(&fr))
			continue;
		if (k == 3)
			failf("a fourth frame went early (%u bytes): flow X's lone segment", fr.len);
		if (fr.len != lens[early[k]] || memcmp(fr.data, frames[early[k]], fr.len) != 0)
			failf("early frame %u: %u bytes, not frame %u (%zu bytes)", k, fr.len,
			      early[k], lens[early[k]]);
		k++;
	}
	if (k != 3)
		failf("%u frames went early, want 3", k);
	/* The rest in ring order, without the three. */
	for (unsigned i = 1; i < n; i++)
		if (i != early[0] && i != early[1] && i != early[2])
			expect_frame(cap, frames[i], lens[i], i);
	expect_nothing(cap, 200);
	if (weft_capture_stats(cap, &cs) < 0)
		failf("PACKET_STATISTICS");
	if (cs.early != 3 || cs.superframes != 2)
		failf("capture: %llu early, %llu superframes, want 3 and 2",
		      (unsigned long long)cs.early, (unsigned long long)cs.superframes);
	printf("ok early: 3 frames of another flow went ahead of 2 superframes (%u and %u "
	       "segments), the superframes' own lone segment at %u kept its place\n",
	       s1, s2 - lone - 1, lone - 1);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}
#endif

/* The frame ring: a 1400-byte frame the qdisc drops, then small ones. */
static void stall_frames(struct weft_capture *cap, struct weft_inject *inj)
{
	struct weft_inject_stats is0, is;
	static uint8_t f[1600];

	weft_inject_stats(inj, &is0);
	/* Two frames in one flush go through the ring: the 1400-byte one is
	 * refused at the ring's head, the one behind it must still leave. */
	must_put(inj, f, test_frame(f, 100, 1400));
	must_put(inj, f, test_frame(f, 101, 200));
	must_flush(inj);
	expect_frame(cap, f, test_frame(f, 101, 200), 101);
	/* A frame alone leaves without the ring: refused, it is counted and
	 * holds nothing up either. */
	must_put(inj, f, test_frame(f, 102, 1400));
	must_flush(inj);
	for (uint32_t k = 0; k < 4; k++) {
		must_put(inj, f, test_frame(f, 103 + k, 200));
		must_flush(inj);
	}
	for (uint32_t k = 0; k < 4; k++)
		expect_frame(cap, f, test_frame(f, 103 + k, 200), 103 + k);
	weft_inject_stats(inj, &is);
#ifndef SFTOOL_FRAMES_ONLY
	if (is.refused - is0.refused < 2)
		failf("the 1400-byte frames (in the ring, alone) were not both counted as refused "
		      "(%llu)",
		      (unsigned long long)(is.refused - is0.refused));
	if (is.alone - is0.alone < 4)
		failf("the 4 lone frames did not go alone (%llu)",
		      (unsigned long long)(is.alone - is0.alone));
#endif
	printf("ok stall, frame ring: a refused 1400-byte frame skipped at the ring's head and "
	       "one refused alone, the 5 frames after them arrived (%llu kicks, %llu alone)\n",
	       (unsigned long long)is.kicks, (unsigned long long)is.alone);
}

static int cmd_stall_frames(int a, int b)
{
	struct weft_capture *cap;
	struct weft_inject *inj;

	open_pair(&cap, b, &inj, a, false);
	stall_frames(cap, inj);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}

#ifndef SFTOOL_FRAMES_ONLY
static int cmd_stall(int a, int b, const char *a_name)
{
	struct fx_pkt p = {.version = 4,
			   .df = true,
			   .sport = 1,
			   .dport = 2,
			   .seq = 1,
			   .flags = FX_TCP_ACK,
			   .window = 9};
	struct weft_capture *cap;
	struct weft_inject *inj;
	struct weft_inject_stats is;
	char cmd[128];
	unsigned n;

	open_pair(&cap, b, &inj, a, true);
	stall_frames(cap, inj);
	weft_inject_stats(inj, &is);
	/* A superframe the qdisc drops: the superframe ring's head is refused. */
	n = tcp_flow(0, &p, 8, 1000, 1000);
	for (unsigned i = 0; i < n; i++)
		must_put(inj, frames[i], lens[i]);
	must_flush(inj);
	{
		struct weft_inject_stats is2;

		weft_inject_stats(inj, &is2);
		if (is2.superframes != is.superframes + 1 || is2.refused != is.refused + 1)
			failf("superframe not refused: superframes %llu refused %llu",
			      (unsigned long long)is2.superframes, (unsigned long long)is2.refused);
	}
	expect_nothing(cap, 200);
	/* The qdisc goes: the next superframe must not wait behind the refused one. */
	snprintf(cmd, sizeof(cmd), "tc qdisc del dev %s root", a_name);
	if (system(cmd) != 0)
		failf("%s", cmd);
	p.seq += 8000;
	p.ip_id = 8;
	n = tcp_flow(0, &p, 8, 1000, 1000);
	for (unsigned i = 0; i < n; i++)
		must_put(inj, frames[i], lens[i]);
	must_flush(inj);
	for (unsigned i = 0; i < n; i++)
		expect_frame(cap, frames[i], lens[i], i);
	weft_inject_stats(inj, &is);
	printf("ok stall, superframe ring: the refused superframe skipped, the next one arrived "
	       "whole (superframes %llu, refused %llu)\n",
	       (unsigned long long)is.superframes, (unsigned long long)is.refused);
	weft_inject_free(inj);
	weft_capture_free(cap);
	return 0;
}
#endif

int main(int argc, char **argv)
{
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 31 + (i >> 8));
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 4 && !strcmp(argv[1], "stall-frames"))
		return cmd_stall_frames(ifindex(argv[2]), ifindex(argv[3]));
#ifndef SFTOOL_FRAMES_ONLY
	if (argc == 4 && !strcmp(argv[1], "roundtrip"))
		return cmd_roundtrip(ifindex(argv[2]), ifindex(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "burst"))
		return cmd_burst(ifindex(argv[2]), ifindex(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "early"))
		return cmd_early(ifindex(argv[2]), ifindex(argv[3]));
	if (argc == 4 && !strcmp(argv[1], "stall"))
		return cmd_stall(ifindex(argv[2]), ifindex(argv[3]), argv[2]);
#endif
	fprintf(stderr, "usage: sftool roundtrip|burst|early|stall|stall-frames A B\n");
	return 2;
}
