/* SPDX-License-Identifier: MIT */
/* common/gso: superframes cut into the segments the kernel's GSO would
 * send, compared byte for byte with reference frames built one by one. */
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
#include "common/gso.h"
#include "tests/unit/superframe_fixture.h"

#define BIG 70000

static uint8_t payload[BIG];
static uint8_t frame[BIG];
static uint8_t want[BIG];

static void fill_payload(void)
{
	uint32_t x = 2463534242U;

	for (size_t i = 0; i < sizeof(payload); i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		payload[i] = (uint8_t)x;
	}
}

static struct weft_gso_hdr gso_hdr(const struct fx_pkt *p, unsigned mss)
{
	struct weft_gso_hdr h = {
	    .flags = WEFT_GSO_F_NEEDS_CSUM,
	    .gso_type =
		p->udp ? WEFT_GSO_UDP_L4 : (p->version == 4 ? WEFT_GSO_TCPV4 : WEFT_GSO_TCPV6),
	    .hdr_len = (uint16_t)fx_hdrs(p),
	    .gso_size = (uint16_t)mss,
	    .csum_start = (uint16_t)fx_l4(p),
	    .csum_offset = p->udp ? 6 : 16,
	};
	return h;
}

/* Cuts the superframe @p describes (checksum partial, as captured) at @mss
 * and compares every segment with the frame the kernel would have sent. */
static void check_split(const struct fx_pkt *sp, unsigned mss)
{
	struct fx_pkt p = *sp;
	struct weft_gso_hdr h = gso_hdr(&p, mss);
	size_t len = fx_build_ex(frame, &p, true), pos = 0, n_want;
	struct weft_gso g;
	uint8_t *seg;
	size_t seg_len;
	int n, k = 0;

	n_want = p.payload_len <= mss ? 1 : (p.payload_len + mss - 1) / mss;
	n = weft_gso_start(&g, frame, len, &h);
	assert_int_equal(n, (int)n_want);
	while (weft_gso_next(&g, &seg, &seg_len)) {
		struct fx_pkt e = *sp;
		size_t take = sp->payload_len - pos < mss ? sp->payload_len - pos : mss;
		bool last = pos + take >= sp->payload_len;
		size_t want_len;

		e.payload = sp->payload + pos;
		e.payload_len = take;
		e.ip_id = (uint16_t)(sp->ip_id + k);
		e.seq = sp->seq + (uint32_t)pos;
		if (k > 0)
			e.flags &= (uint8_t)~FX_TCP_CWR;
		if (!last)
			e.flags &= (uint8_t) ~(FX_TCP_FIN | FX_TCP_PSH);
		want_len = fx_build(want, &e);
		assert_int_equal(seg_len, want_len);
		assert_memory_equal(seg, want, want_len);
		assert_true(fx_l4_ok(seg, seg_len, &e));
		pos += take;
		k++;
	}
	assert_int_equal(k, (int)n_want);
	assert_int_equal(pos, sp->payload_len);
	assert_false(weft_gso_next(&g, &seg, &seg_len));
}

/* The same cut with the checksums left partial: each segment, completed by
 * weft_csum_partial_complete(), is the segment the full cut makes. */
static void check_split_partial(const struct fx_pkt *sp, unsigned mss)
{
	static uint8_t full[BIG];
	struct weft_gso_hdr h = gso_hdr(sp, mss);
	size_t len = fx_build_ex(frame, sp, true), full_len = 0;
	struct weft_gso g, gf;
	uint8_t *seg, *fseg;
	size_t seg_len, fseg_len;
	int k = 0;

	memcpy(full, frame, len);
	assert_true(weft_gso_start(&g, frame, len, &h) > 0);
	weft_gso_leave_partial(&g);
	assert_true(weft_gso_start(&gf, full, len, &h) > 0);
	while (weft_gso_next(&g, &seg, &seg_len)) {
		size_t start, field, end;

		assert_true(weft_gso_next(&gf, &fseg, &fseg_len));
		assert_int_equal(seg_len, fseg_len);
		assert_int_equal(weft_csum_partial_locate(seg, seg_len, &start, &field, &end), 0);
		assert_int_equal(start, fx_l4(sp));
		assert_int_equal(field, start + (sp->udp ? 6 : 16));
		assert_int_equal(end, seg_len);
		/* Partial: the header alone does not check. */
		assert_int_not_equal(weft_csum_fold(weft_csum_add(
					 weft_csum_pseudo(seg + fx_l3(sp), sp->version,
							  sp->udp ? 17 : 6, seg_len - start),
					 seg + start, seg_len - start)),
				     0xffff);
		assert_int_equal(weft_csum_partial_complete(seg, seg_len), 0);
		assert_memory_equal(seg, fseg, seg_len);
		full_len += seg_len;
		k++;
	}
	assert_false(weft_gso_next(&gf, &fseg, &fseg_len));
	assert_true(k > 0 && full_len > 0);
}

static void test_partial(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .ip_id = 7,
			   .sport = 80,
			   .dport = 9999,
			   .seq = 0xfffff000,
			   .flags = FX_TCP_ACK | FX_TCP_PSH,
			   .tcp_opts = 12,
			   .payload = payload,
			   .payload_len = 20000};

	(void)state;
	check_split_partial(&p, 1448);
	p.version = 6;
	check_split_partial(&p, 1448);
	p.vlan = true;
	check_split_partial(&p, 1000);
	p.version = 4;
	p.ip_opts = 8;
	check_split_partial(&p, 1000);
	p.udp = true;
	p.vlan = false;
	p.ip_opts = 0;
	check_split_partial(&p, 1400);
	p.version = 6;
	check_split_partial(&p, 1400);
	p.payload_len = 1; /* one short segment */
	check_split_partial(&p, 1400);
}

/* docs/protocol.md section 7.1's FRAME_PARTIAL vector. */
static void test_partial_vector(void **state)
{
	uint8_t f[] = {0x02, 0x77, 0x00, 0x00, 0x02, 0x01, 0x02, 0x77, 0x00, 0x00, 0x01, 0x01,
		       0x08, 0x00, 0x45, 0x00, 0x00, 0x2e, 0x12, 0x34, 0x40, 0x00, 0x40, 0x06,
		       0x0d, 0x25, 0xc0, 0xa8, 0x4d, 0x0b, 0xc0, 0xa8, 0x4d, 0x15, 0x9c, 0x40,
		       0x14, 0x51, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00, 0x07, 0x50, 0x18,
		       0x01, 0xf6, 0x1b, 0x92, 0x00, 0x00, 0x77, 0x65, 0x66, 0x74, 0x21, 0x0a};
	size_t start, field, end;

	(void)state;
	assert_int_equal(sizeof(f), 60);
	assert_int_equal(weft_csum_partial_locate(f, sizeof(f), &start, &field, &end), 0);
	assert_int_equal(start, 34);
	assert_int_equal(field, 50);
	assert_int_equal(end, 60);
	assert_int_equal(weft_csum_partial_complete(f, sizeof(f)), 0);
	assert_int_equal(f[50], 0xde);
	assert_int_equal(f[51], 0xfa);
}

/* What weft_csum_partial_locate() refuses, and link padding left out. */
static void test_partial_locate(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .sport = 1,
			   .dport = 2,
			   .flags = FX_TCP_ACK,
			   .payload = payload,
			   .payload_len = 100};
	uint8_t f[2048];
	size_t len, start, field, end;

	(void)state;
	len = fx_build(f, &p);
	assert_int_equal(weft_csum_partial_locate(f, len, &start, &field, &end), 0);
	assert_int_equal(end, len);
	/* Padding after the IP packet stays outside. */
	memset(f + len, 0, 20);
	assert_int_equal(weft_csum_partial_locate(f, len + 20, &start, &field, &end), 0);
	assert_int_equal(end, len);
	/* Truncated. */
	assert_int_equal(weft_csum_partial_locate(f, len - 1, &start, &field, &end), -EINVAL);
	assert_int_equal(weft_csum_partial_locate(f, 13, &start, &field, &end), -EINVAL);
	/* A fragment. */
	f[14 + 6] |= 0x20;
	assert_int_equal(weft_csum_partial_locate(f, len, &start, &field, &end), -EINVAL);
	f[14 + 6] &= (uint8_t)~0x20;
	/* Not TCP or UDP (ICMP). */
	f[14 + 9] = 1;
	assert_int_equal(weft_csum_partial_locate(f, len, &start, &field, &end), -EINVAL);
	f[14 + 9] = 6;
	/* A total length below the TCP header. */
	weft_put_be16(f + 14 + 2, 20 + 19);
	assert_int_equal(weft_csum_partial_locate(f, len, &start, &field, &end), -EINVAL);
	/* IPv6 with an extension header (hop-by-hop) first. */
	p.version = 6;
	len = fx_build(f, &p);
	assert_int_equal(weft_csum_partial_locate(f, len, &start, &field, &end), 0);
	f[14 + 6] = 0;
	assert_int_equal(weft_csum_partial_locate(f, len, &start, &field, &end), -EINVAL);
	/* Neither IPv4 nor IPv6 (ARP). */
	f[12] = 0x08;
	f[13] = 0x06;
	assert_int_equal(weft_csum_partial_locate(f, len, &start, &field, &end), -EINVAL);
	assert_int_equal(weft_csum_partial_complete(f, len), -EINVAL);
}

static void test_tcp4_split(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .ip_id = 0x1234,
			   .df = true,
			   .tcp_opts = 12,
			   .tsval = 99,
			   .sport = 40000,
			   .dport = 5201,
			   .seq = 1000,
			   .ack = 77,
			   .flags = FX_TCP_ACK | FX_TCP_PSH,
			   .window = 502,
			   .payload = payload};

	(void)state;
	/* Three whole segments and a short last one. */
	p.payload_len = 3 * 1448 + 100;
	check_split(&p, 1448);
	/* A multiple of the MSS: the last segment is whole. */
	p.payload_len = 45 * 1371;
	check_split(&p, 1371);
	/* The largest superframe: 64 KiB of IP packet. */
	p.payload_len = 65535 - 20 - 32;
	check_split(&p, 1448);
	/* An odd MSS: payloads start at odd offsets of the superframe. */
	p.payload_len = 5000;
	check_split(&p, 999);
}

static void test_tcp6_split(void **state)
{
	struct fx_pkt p = {.version = 6,
			   .flow = 0xabcde,
			   .tos = 0x10,
			   .tcp_opts = 12,
			   .tsval = 7,
			   .sport = 443,
			   .dport = 50000,
			   .seq = 5,
			   .ack = 9,
			   .flags = FX_TCP_ACK,
			   .window = 1000,
			   .payload = payload};

	(void)state;
	p.payload_len = 10 * 1428 + 1;
	check_split(&p, 1428);
	p.payload_len = 65535 - 32;
	check_split(&p, 1428);
}

/* FIN and PSH only on the last segment, CWR only on the first (ECN). */
static void test_tcp_flags(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .ip_id = 0xfffe,
			   .sport = 1,
			   .dport = 2,
			   .seq = 1,
			   .flags = FX_TCP_ACK | FX_TCP_PSH | FX_TCP_FIN | FX_TCP_CWR | FX_TCP_ECE,
			   .payload = payload,
			   .payload_len = 4 * 500};
	struct weft_gso_hdr h;
	struct weft_gso g;
	uint8_t *seg;
	size_t seg_len, len;
	uint8_t flags[4];
	int k = 0;

	(void)state;
	check_split(&p, 500); /* the IPv4 ID wraps from 0xffff to 0 */
	len = fx_build_ex(frame, &p, true);
	h = gso_hdr(&p, 500);
	h.gso_type |= WEFT_GSO_ECN;
	assert_int_equal(weft_gso_start(&g, frame, len, &h), 4);
	while (weft_gso_next(&g, &seg, &seg_len))
		flags[k++] = seg[14 + 20 + 13];
	assert_int_equal(k, 4);
	assert_int_equal(flags[0], FX_TCP_ACK | FX_TCP_ECE | FX_TCP_CWR);
	assert_int_equal(flags[1], FX_TCP_ACK | FX_TCP_ECE);
	assert_int_equal(flags[2], FX_TCP_ACK | FX_TCP_ECE);
	assert_int_equal(flags[3], FX_TCP_ACK | FX_TCP_ECE | FX_TCP_PSH | FX_TCP_FIN);
}

/* Sequence numbers wrap past 2^32 within a superframe. */
static void test_tcp_seq_wraps(void **state)
{
	struct fx_pkt p = {.version = 6,
			   .sport = 1,
			   .dport = 2,
			   .seq = 0xffffff00U,
			   .flags = FX_TCP_ACK,
			   .payload = payload,
			   .payload_len = 3000};

	(void)state;
	check_split(&p, 1000);
}

/* IPv4 options, TCP options of every length, a VLAN tag left in the frame. */
static void test_options_and_vlan(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .ip_opts = 8,
			   .ip_id = 3,
			   .sport = 1,
			   .dport = 2,
			   .flags = FX_TCP_ACK,
			   .payload = payload,
			   .payload_len = 7777};

	(void)state;
	for (size_t o = 0; o <= 40; o += 4) {
		p.tcp_opts = o;
		check_split(&p, 1200);
	}
	p.vlan = true;
	p.ip_opts = 0;
	check_split(&p, 1200);
	p.version = 6;
	check_split(&p, 1200);
}

/* UDP segmentation: one datagram per gso_size, each with its own header. */
static void test_udp_l4(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .udp = true,
			   .ip_id = 10,
			   .sport = 5000,
			   .dport = 6000,
			   .payload = payload,
			   .payload_len = 8 * 1400 + 3};

	(void)state;
	check_split(&p, 1400);
	p.version = 6;
	check_split(&p, 1400);
}

/* A superframe no larger than one segment is one frame, its checksum done. */
static void test_one_segment(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .sport = 1,
			   .dport = 2,
			   .flags = FX_TCP_ACK | FX_TCP_PSH,
			   .payload = payload,
			   .payload_len = 1448};

	(void)state;
	check_split(&p, 1448);
	p.payload_len = 0;
	check_split(&p, 1448);
}

static void test_refused(void **state)
{
	struct fx_pkt p = {.version = 4,
			   .sport = 1,
			   .dport = 2,
			   .flags = FX_TCP_ACK,
			   .payload = payload,
			   .payload_len = 3000};
	struct weft_gso_hdr h;
	struct weft_gso g;
	size_t len = fx_build_ex(frame, &p, true);

	(void)state;
	h = gso_hdr(&p, 1000);
	h.gso_type = WEFT_GSO_UDP; /* UFO: IP fragments, not weftd's job */
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EPROTONOSUPPORT);
	h.gso_type = 9;
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EPROTONOSUPPORT);
	h = gso_hdr(&p, 1000);
	h.gso_type = WEFT_GSO_TCPV6; /* the frame is IPv4 */
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
	h = gso_hdr(&p, 1000);
	h.gso_type = WEFT_GSO_UDP_L4; /* the frame is TCP */
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
	h = gso_hdr(&p, 1000);
	h.csum_start++; /* not the TCP header */
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
	h = gso_hdr(&p, 0);
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
	h = gso_hdr(&p, 1000);
	assert_int_equal(weft_gso_start(&g, frame, 14 + 20 + 19, &h), -EINVAL);
	assert_int_equal(weft_gso_start(&g, frame, 13, &h), -EINVAL);
	/* A TCP data offset below 5 words, then past the frame. */
	frame[14 + 20 + 12] = 0x40;
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
	frame[14 + 20 + 12] = 0xf0;
	assert_int_equal(weft_gso_start(&g, frame, 14 + 20 + 59, &h), -EINVAL);
	/* An IPv4 fragment. */
	len = fx_build_ex(frame, &p, true);
	weft_put_be16(frame + 14 + 6, 0x2000);
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
	/* Neither IPv4 nor IPv6. */
	len = fx_build_ex(frame, &p, true);
	weft_put_be16(frame + 12, 0x88b5);
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
	/* IPv6 with an extension header before TCP. */
	p.version = 6;
	len = fx_build_ex(frame, &p, true);
	h = gso_hdr(&p, 1000);
	frame[14 + 6] = 0;
	assert_int_equal(weft_gso_start(&g, frame, len, &h), -EINVAL);
}

/* NEEDS_CSUM without GSO: the checksum completed wherever it is. */
static void test_complete_csum(void **state)
{
	struct fx_pkt p = {
	    .version = 4, .sport = 1, .dport = 2, .flags = FX_TCP_ACK, .payload = payload};
	struct weft_gso_hdr h;
	size_t len;

	(void)state;
	for (size_t n = 0; n < 40; n++) {
		p.payload_len = n * 37;
		p.version = n % 2 ? 6 : 4;
		p.udp = n % 3 == 0;
		p.vlan = n % 5 == 0;
		len = fx_build_ex(frame, &p, true);
		h = gso_hdr(&p, 0);
		h.gso_type = WEFT_GSO_NONE;
		assert_int_equal(weft_gso_complete_csum(frame, len, &h), 0);
		fx_build(want, &p);
		assert_memory_equal(frame, want, len);
	}
	h.csum_start = (uint16_t)len;
	assert_int_equal(weft_gso_complete_csum(frame, len, &h), -EINVAL);
	h.csum_start = (uint16_t)(len - 4);
	h.csum_offset = 3;
	assert_int_equal(weft_gso_complete_csum(frame, len, &h), -EINVAL);
	h.csum_offset = 2;
	assert_int_equal(weft_gso_complete_csum(frame, len, &h), 0);
}

/* A UDP checksum that sums to 0 is sent as 0xffff (0 means none). */
static void test_udp_zero_csum(void **state)
{
	struct weft_gso_hdr h = {.flags = WEFT_GSO_F_NEEDS_CSUM, .csum_start = 0, .csum_offset = 2};
	/* The words sum to 0xffff: the complement is 0. */
	uint8_t f[4] = {0xff, 0x00, 0x00, 0xff};

	(void)state;
	assert_int_equal(weft_gso_complete_csum(f, sizeof(f), &h), 0);
	assert_int_equal(weft_get_be16(f + 2), 0xffff);
}

/* A UDP segment whose checksum comes to 0 carries 0xffff. */
static void test_udp_segment_zero_csum(void **state)
{
	static uint8_t data[1000];
	struct fx_pkt p = {.version = 4,
			   .udp = true,
			   .sport = 5000,
			   .dport = 6000,
			   .payload = data,
			   .payload_len = sizeof(data)};
	struct weft_gso_hdr h = gso_hdr(&p, 500);
	struct weft_gso g;
	uint8_t *seg;
	size_t seg_len, len;
	uint16_t s;

	(void)state;
	memcpy(data, payload, sizeof(data));
	/* Make the second segment's words sum to 0xffff: its checksum is 0. */
	data[998] = data[999] = 0;
	p.payload = data + 500;
	p.payload_len = 500;
	len = fx_build(want, &p);
	want[14 + 26] = want[14 + 27] = 0;
	s = fx_fold(fx_pseudo(want + 14, 4, 17, len - 34) + fx_sum(0, want + 34, len - 34));
	weft_put_be16(data + 998, (uint16_t)(0xffff - s));
	p.payload = data;
	p.payload_len = sizeof(data);
	len = fx_build_ex(frame, &p, true);
	assert_int_equal(weft_gso_start(&g, frame, len, &h), 2);
	assert_true(weft_gso_next(&g, &seg, &seg_len));
	assert_true(weft_gso_next(&g, &seg, &seg_len));
	assert_int_equal(weft_get_be16(seg + 14 + 20 + 6), 0xffff);
}

/* The fast sum agrees with a byte-by-byte one, at every length and alignment
 * up to 300 bytes and around the vector loop's 64-byte blocks beyond (its
 * AVX2 path takes 128 bytes and more, where the CPU has AVX2). */
static void test_csum(void **state)
{
	static const size_t longer[] = {319,  320,  321,  511,	512,  513,  1447,
					1448, 1449, 2047, 2048, 2049, 9000, 65535};

	(void)state;
	for (size_t off = 0; off < 8; off++) {
		for (size_t i = 0; i < 300 + WEFT_ARRAY_SIZE(longer); i++) {
			size_t n = i < 300 ? i : longer[i - 300];
			uint16_t fast = weft_csum_fold(weft_csum_add(0, payload + off, n));
			uint16_t slow = fx_fold(fx_sum(0, payload + off, n));
			uint8_t be[2];

			memcpy(be, &fast, 2);
			assert_int_equal(weft_get_be16(be), slow);
		}
	}
	/* Long runs of 0xff carry through every fold. */
	memset(frame, 0xff, 65536);
	{
		uint16_t v = weft_csum_fold(weft_csum_add(0, frame, 65535));
		uint8_t be[2];

		memcpy(be, &v, 2);
		assert_int_equal(weft_get_be16(be), fx_fold(fx_sum(0, frame, 65535)));
	}
}

static void test_hdr_roundtrip(void **state)
{
	struct weft_gso_hdr h = {.flags = 1,
				 .gso_type = 4,
				 .hdr_len = 86,
				 .gso_size = 1428,
				 .csum_start = 54,
				 .csum_offset = 16},
			    back;
	uint8_t raw[WEFT_GSO_HDR_LEN];
	uint16_t v;

	(void)state;
	weft_gso_hdr_put(raw, &h);
	/* Host byte order, as the kernel writes it on this machine. */
	memcpy(&v, raw + 4, 2);
	assert_int_equal(v, 1428);
	weft_gso_hdr_parse(&back, raw);
	assert_memory_equal(&back, &h, sizeof(h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp4_split),
	    cmocka_unit_test(test_tcp6_split),
	    cmocka_unit_test(test_tcp_flags),
	    cmocka_unit_test(test_tcp_seq_wraps),
	    cmocka_unit_test(test_options_and_vlan),
	    cmocka_unit_test(test_udp_l4),
	    cmocka_unit_test(test_one_segment),
	    cmocka_unit_test(test_refused),
	    cmocka_unit_test(test_complete_csum),
	    cmocka_unit_test(test_udp_zero_csum),
	    cmocka_unit_test(test_udp_segment_zero_csum),
	    cmocka_unit_test(test_csum),
	    cmocka_unit_test(test_hdr_roundtrip),
	    cmocka_unit_test(test_partial),
	    cmocka_unit_test(test_partial_locate),
	    cmocka_unit_test(test_partial_vector),
	};

	fill_payload();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
