/* SPDX-License-Identifier: MIT */
/* common/coalesce: in-order segments of one TCP flow merged into the
 * superframe GRO would make, compared with a reference superframe built
 * field by field, and cut again by common/gso into the very segments that
 * went in. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "common/coalesce.h"
#include "common/gso.h"
#include "tests/unit/superframe_fixture.h"

#define BIG	 70000
#define MAX_SEGS 64

static uint8_t payload[BIG];
static uint8_t buf[BIG];
static uint8_t want[BIG];
static uint8_t segs[MAX_SEGS][2048];
static size_t seg_len[MAX_SEGS];

static void fill_payload(void)
{
	uint32_t x = 88172645U;

	for (size_t i = 0; i < sizeof(payload); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		payload[i] = (uint8_t)x;
	}
}

static const struct fx_pkt base4 = {.version = 4,
				    .ip_id = 0x1000,
				    .df = true,
				    .ttl = 64,
				    .tcp_opts = 12,
				    .tsval = 4242,
				    .sport = 40000,
				    .dport = 5201,
				    .seq = 100000,
				    .ack = 555,
				    .flags = FX_TCP_ACK,
				    .window = 502,
				    .payload = payload};

/* Segment @k of a flow like @p: @mss bytes of payload each, @last_len for
 * the last of @n; PSH on the last when @psh; its checksum left partial when
 * @partial. */
static size_t make_seg_ex(uint8_t *f, const struct fx_pkt *p, unsigned k, unsigned n, size_t mss,
			  size_t last_len, bool psh, bool partial)
{
	struct fx_pkt s = *p;

	s.payload = p->payload + k * mss;
	s.payload_len = k == n - 1 ? last_len : mss;
	s.seq = p->seq + (uint32_t)(k * mss);
	s.ip_id = (uint16_t)(p->ip_id + k);
	if (psh && k == n - 1)
		s.flags |= FX_TCP_PSH;
	return fx_build_ex(f, &s, partial);
}

static size_t make_seg(uint8_t *f, const struct fx_pkt *p, unsigned k, unsigned n, size_t mss,
		       size_t last_len, bool psh)
{
	return make_seg_ex(f, p, k, n, mss, last_len, psh, false);
}

static void make_flow(const struct fx_pkt *p, unsigned n, size_t mss, size_t last_len, bool psh)
{
	for (unsigned k = 0; k < n; k++)
		seg_len[k] = make_seg(segs[k], p, k, n, mss, last_len, psh);
}

static bool parse(struct weft_coalesce_seg *s, unsigned k)
{
	return weft_coalesce_parse(s, segs[k], seg_len[k]);
}

/* Merges segments 0..n-1 (all must be accepted) and checks the result
 * against the reference superframe, then cuts it back. */
static void check_merge(const struct fx_pkt *p, unsigned n, size_t mss, size_t last_len, bool psh)
{
	struct weft_coalesce c;
	struct weft_coalesce_seg s;
	struct weft_gso_hdr h;
	struct weft_gso g;
	struct fx_pkt sp = *p;
	size_t len, want_len, total = (n - 1) * mss + last_len, out;
	uint8_t *seg;
	unsigned k = 0;

	make_flow(p, n, mss, last_len, psh);
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
	for (unsigned i = 1; i < n; i++) {
		assert_true(parse(&s, i));
		assert_true(weft_coalesce_append(&c, segs[i], &s));
	}
	len = weft_coalesce_finish(&c, &h);
	if (n == 1) {
		struct weft_gso_hdr zero = {0};

		assert_int_equal(len, seg_len[0]);
		assert_memory_equal(buf, segs[0], len);
		assert_memory_equal(&h, &zero, sizeof(h));
		return;
	}
	/* The superframe a kernel would have handed a device. */
	sp.payload_len = total;
	if (psh)
		sp.flags |= FX_TCP_PSH;
	want_len = fx_build_ex(want, &sp, true);
	assert_int_equal(len, want_len);
	assert_memory_equal(buf, want, want_len);
	assert_int_equal(h.flags, WEFT_GSO_F_NEEDS_CSUM);
	assert_int_equal(h.gso_type, p->version == 4 ? WEFT_GSO_TCPV4 : WEFT_GSO_TCPV6);
	assert_int_equal(h.gso_size, mss);
	assert_int_equal(h.hdr_len, fx_hdrs(p));
	assert_int_equal(h.csum_start, fx_l4(p));
	assert_int_equal(h.csum_offset, 16);
	/* Cut again: the segments that went in, byte for byte. */
	assert_int_equal(weft_gso_start(&g, buf, len, &h), (int)n);
	while (weft_gso_next(&g, &seg, &out)) {
		assert_int_equal(out, seg_len[k]);
		assert_memory_equal(seg, segs[k], out);
		k++;
	}
	assert_int_equal(k, n);
}

/* Segments whose checksum the sender left partial: refused by the checking
 * parse, accepted by the partial one, and merged into the same superframe as
 * complete segments. */
static void test_partial_segments(void **state)
{
	struct fx_pkt p = base4;
	static uint8_t full_sf[BIG];
	struct weft_coalesce c;
	struct weft_coalesce_seg s;
	struct weft_gso_hdr h, hf;
	size_t len, full_len;

	(void)state;
	for (unsigned v = 4; v <= 6; v += 2) {
		p.version = v;
		make_flow(&p, 4, 1000, 1000, false);
		/* The complete flow's superframe first. */
		assert_true(parse(&s, 0));
		weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
		for (unsigned i = 1; i < 4; i++) {
			assert_true(parse(&s, i));
			assert_true(weft_coalesce_append(&c, segs[i], &s));
		}
		full_len = weft_coalesce_finish(&c, &hf);
		memcpy(full_sf, buf, full_len);
		/* The same segments with their checksum partial. */
		for (unsigned k = 0; k < 4; k++) {
			seg_len[k] = make_seg_ex(segs[k], &p, k, 4, 1000, 1000, false, true);
			assert_false(weft_coalesce_parse(&s, segs[k], seg_len[k]));
			assert_true(weft_coalesce_parse_partial(&s, segs[k], seg_len[k]));
		}
		assert_true(weft_coalesce_parse_partial(&s, segs[0], seg_len[0]));
		weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
		for (unsigned i = 1; i < 4; i++) {
			assert_true(weft_coalesce_parse_partial(&s, segs[i], seg_len[i]));
			assert_true(weft_coalesce_append(&c, segs[i], &s));
		}
		len = weft_coalesce_finish(&c, &h);
		assert_int_equal(len, full_len);
		assert_memory_equal(buf, full_sf, len);
		assert_memory_equal(&h, &hf, sizeof(h));
		/* Structure still counts: a SYN is no candidate either way. */
		segs[1][fx_l4(&p) + 13] |= FX_TCP_SYN;
		assert_false(weft_coalesce_parse_partial(&s, segs[1], seg_len[1]));
	}
}

static void test_merge_ipv4(void **state)
{
	(void)state;
	check_merge(&base4, 4, 1448, 100, true);
	check_merge(&base4, 45, 1448, 1448, false);
	check_merge(&base4, 2, 1000, 1, false);
	check_merge(&base4, 1, 1448, 1448, true);
}

static void test_merge_ipv6(void **state)
{
	struct fx_pkt p = base4;

	(void)state;
	p.version = 6;
	p.flow = 0x12345;
	p.tos = 0x20;
	check_merge(&p, 10, 1428, 700, true);
	p.tcp_opts = 0;
	check_merge(&p, 3, 1440, 1440, false);
}

/* Sequence numbers wrap past 2^32; IPv4 IDs wrap past 0xffff. */
static void test_wrapping(void **state)
{
	struct fx_pkt p = base4;

	(void)state;
	p.seq = 0xffffff00U;
	p.ip_id = 0xfffe;
	p.df = false;
	check_merge(&p, 5, 1000, 500, false);
}

/* The largest superframe: a 64 KiB IP packet, and not one byte more. */
static void test_size_limits(void **state)
{
	struct weft_coalesce c;
	struct weft_coalesce_seg s;
	struct fx_pkt p = base4;
	unsigned n = 0;

	(void)state;
	p.tcp_opts = 0;
	/* 20 + 20 + 65495 = 65535 */
	make_flow(&p, 50, 1310, 1310, false);
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
	for (n = 1; n < 50; n++) {
		assert_true(parse(&s, n));
		if (!weft_coalesce_append(&c, segs[n], &s))
			break;
	}
	assert_int_equal(n, 49); /* 49 x 1310 = 64190; one more is over */
	assert_true(c.len - 14 <= 65535);
	/* The caller's buffer is a limit too. */
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, seg_len[0] + 1309, segs[0], seg_len[0], &s);
	assert_true(parse(&s, 1));
	assert_false(weft_coalesce_append(&c, segs[1], &s));
}

static void change(struct fx_pkt *q, size_t i)
{
	switch (i) {
	case 0:
		q->sport++;
		break;
	case 1:
		q->dport++;
		break;
	case 2:
		q->ack++;
		break;
	case 3:
		q->window++;
		break;
	case 4:
		q->tsval++;
		break;
	case 5:
		q->tcp_opts = 16;
		break;
	case 6:
		q->tos = 1;
		break;
	case 7:
		q->ttl = 63;
		break;
	case 8:
		q->df = !q->df;
		break;
	case 9:
		q->ip_id += 5;
		break;
	default:
		q->version = 6;
		break;
	}
}

/* A gap, a reordered segment, a duplicate, another flow: each refused. */
static void test_breaks(void **state)
{
	struct weft_coalesce c;
	struct weft_coalesce_seg s;
	struct fx_pkt p = base4, other;

	(void)state;
	make_flow(&p, 4, 1000, 1000, false);
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
	assert_true(parse(&s, 2));
	assert_false(weft_coalesce_append(&c, segs[2], &s)); /* gap */
	assert_true(parse(&s, 0));
	assert_false(weft_coalesce_append(&c, segs[0], &s)); /* duplicate */
	assert_true(parse(&s, 1));
	assert_true(weft_coalesce_append(&c, segs[1], &s));
	assert_false(weft_coalesce_append(&c, segs[1], &s)); /* again */

	/* Each field GRO compares, changed in segment 1 alone. */
	static const char *const changes[] = {
	    "source port",
	    "destination port",
	    "ack",
	    "window",
	    "timestamp option",
	    "options length",
	    "tos",
	    "ttl",
	    "df",
	    "ip id",
	    "ipv6",
	};
	/* Without DF, so that IPv4 IDs must count up. */
	p.df = false;
	make_flow(&p, 4, 1000, 1000, false);
	for (size_t i = 0; i <= WEFT_ARRAY_SIZE(changes); i++) {
		other = p;
		if (i == WEFT_ARRAY_SIZE(changes)) {
			/* The control: unchanged, it merges. */
			seg_len[1] = make_seg(segs[1], &other, 1, 4, 1000, 1000, false);
			assert_true(parse(&s, 0));
			weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
			assert_true(parse(&s, 1));
			assert_true(weft_coalesce_append(&c, segs[1], &s));
			break;
		}
		change(&other, i);
		/* The changed segment stands where segment 1 would. */
		seg_len[1] = make_seg(segs[1], &other, 1, 4, 1000, 1000, false);
		assert_true(parse(&s, 0));
		weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
		assert_true(parse(&s, 1));
		if (weft_coalesce_append(&c, segs[1], &s))
			fail_msg("segment with another %s merged", changes[i]);
	}
	/* IDs need not count up under DF (RFC 6864), but do without. */
	p.df = true;
	p.ip_id = 7;
	make_flow(&p, 2, 1000, 1000, false);
	weft_put_be16(segs[1] + 14 + 4, 7);
	segs[1][14 + 10] = segs[1][14 + 11] = 0;
	{
		uint16_t c16 = (uint16_t)~fx_fold(fx_sum(0, segs[1] + 14, 20));

		weft_put_be16(segs[1] + 14 + 10, c16);
	}
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
	assert_true(parse(&s, 1));
	assert_true(weft_coalesce_append(&c, segs[1], &s));
}

/* Only ACK, and PSH on the last: PSH or a short segment closes. */
static void test_flags(void **state)
{
	struct weft_coalesce c;
	struct weft_coalesce_seg s;
	struct fx_pkt p = base4;
	uint8_t bad[] = {FX_TCP_FIN | FX_TCP_ACK,
			 FX_TCP_SYN | FX_TCP_ACK,
			 FX_TCP_RST | FX_TCP_ACK,
			 FX_TCP_URG | FX_TCP_ACK,
			 FX_TCP_CWR | FX_TCP_ACK,
			 FX_TCP_ECE | FX_TCP_ACK,
			 FX_TCP_PSH,
			 0};

	(void)state;
	for (size_t i = 0; i < sizeof(bad); i++) {
		p.flags = bad[i];
		make_flow(&p, 1, 1000, 1000, false);
		assert_false(parse(&s, 0));
	}
	p = base4;
	/* PSH in the middle: merged, and nothing after it. */
	make_flow(&p, 3, 1000, 1000, false);
	segs[1][fx_l4(&p) + 13] |= FX_TCP_PSH;
	segs[1][fx_l4(&p) + 16] = segs[1][fx_l4(&p) + 17] = 0;
	weft_put_be16(segs[1] + fx_l4(&p) + 16,
		      (uint16_t)~fx_fold(fx_pseudo(segs[1] + 14, 4, 6, seg_len[1] - fx_l4(&p)) +
					 fx_sum(0, segs[1] + fx_l4(&p), seg_len[1] - fx_l4(&p))));
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
	assert_true(parse(&s, 1));
	assert_true(weft_coalesce_append(&c, segs[1], &s));
	assert_true(parse(&s, 2));
	assert_false(weft_coalesce_append(&c, segs[2], &s));
	/* A short segment closes too; a longer one never joins. */
	make_flow(&p, 3, 1000, 1000, false);
	seg_len[1] = make_seg(segs[1], &p, 1, 2, 1000, 999, false);
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
	assert_true(parse(&s, 1));
	assert_true(weft_coalesce_append(&c, segs[1], &s));
	assert_true(c.closed);
	make_flow(&p, 2, 1000, 1001, false);
	assert_true(parse(&s, 0));
	weft_coalesce_start(&c, buf, sizeof(buf), segs[0], seg_len[0], &s);
	assert_true(parse(&s, 1));
	assert_false(weft_coalesce_append(&c, segs[1], &s));
}

/* What is never a candidate. */
static void test_not_candidates(void **state)
{
	struct weft_coalesce_seg s;
	struct fx_pkt p = base4;

	(void)state;
	make_flow(&p, 1, 1000, 1000, false);
	assert_true(parse(&s, 0));
	/* A bad TCP checksum, a bad IPv4 header checksum. */
	segs[0][seg_len[0] - 1] ^= 1;
	assert_false(parse(&s, 0));
	make_flow(&p, 1, 1000, 1000, false);
	segs[0][14 + 8]--;
	assert_false(parse(&s, 0));
	/* A frame longer or shorter than its IP packet. */
	make_flow(&p, 1, 1000, 1000, false);
	assert_false(weft_coalesce_parse(&s, segs[0], seg_len[0] + 1));
	assert_false(weft_coalesce_parse(&s, segs[0], seg_len[0] - 1));
	assert_false(weft_coalesce_parse(&s, segs[0], 13));
	/* No payload (a pure ACK). */
	make_flow(&p, 1, 0, 0, false);
	assert_false(parse(&s, 0));
	/* VLAN-tagged, IPv4 options, UDP, a fragment. */
	p.vlan = true;
	make_flow(&p, 1, 1000, 1000, false);
	assert_false(parse(&s, 0));
	p = base4;
	p.ip_opts = 4;
	make_flow(&p, 1, 1000, 1000, false);
	assert_false(parse(&s, 0));
	p = base4;
	p.udp = true;
	make_flow(&p, 1, 1000, 1000, false);
	assert_false(parse(&s, 0));
	p = base4;
	make_flow(&p, 1, 1000, 1000, false);
	weft_put_be16(segs[0] + 14 + 6, 0x2000);
	segs[0][14 + 10] = segs[0][14 + 11] = 0;
	weft_put_be16(segs[0] + 14 + 10, (uint16_t)~fx_fold(fx_sum(0, segs[0] + 14, 20)));
	assert_false(parse(&s, 0));
	/* IPv6 with an extension header first. */
	p.version = 6;
	make_flow(&p, 1, 1000, 1000, false);
	assert_true(parse(&s, 0));
	segs[0][14 + 6] = 0;
	assert_false(parse(&s, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_partial_segments),
	    cmocka_unit_test(test_merge_ipv4),
	    cmocka_unit_test(test_merge_ipv6),
	    cmocka_unit_test(test_wrapping),
	    cmocka_unit_test(test_size_limits),
	    cmocka_unit_test(test_breaks),
	    cmocka_unit_test(test_flags),
	    cmocka_unit_test(test_not_candidates),
	};

	fill_payload();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
