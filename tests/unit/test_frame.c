/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/frame.h"
#include "tests/unit/superframe_fixture.h"

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t ucast[6] = {0x02, 0x77, 0x00, 0x00, 0x01, 0x02};

static void test_mac_access(void **state)
{
	uint8_t f[64] = {0};

	memcpy(f, bcast, 6);
	memcpy(f + 6, ucast, 6);
	assert_ptr_equal(weft_frame_dst(f), f);
	assert_ptr_equal(weft_frame_src(f), f + 6);
	assert_memory_equal(weft_frame_src(f), ucast, 6);
	assert_memory_equal(weft_frame_dst(f), bcast, 6);
}

static void test_classes(void **state)
{
	static const uint8_t mcast4[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb};
	static const uint8_t mcast6[6] = {0x33, 0x33, 0x00, 0x00, 0x00, 0x01};
	static const uint8_t almost_bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
	static const uint8_t zero[6] = {0};

	assert_true(weft_frame_is_broadcast(bcast));
	assert_true(weft_frame_is_multicast(bcast));
	assert_false(weft_frame_is_broadcast(almost_bcast));
	assert_true(weft_frame_is_multicast(almost_bcast));
	assert_true(weft_frame_is_multicast(mcast4));
	assert_false(weft_frame_is_broadcast(mcast4));
	assert_true(weft_frame_is_multicast(mcast6));
	assert_false(weft_frame_is_multicast(ucast));
	assert_false(weft_frame_is_broadcast(ucast));
	assert_true(weft_frame_is_zero(zero));
	assert_false(weft_frame_is_zero(ucast));
}

static void test_link_local_control(void **state)
{
	uint8_t mac[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00};

	for (unsigned last = 0; last < 256; last++) {
		mac[5] = (uint8_t)last;
		assert_int_equal(weft_frame_is_link_local_control(mac), last <= 0x0f);
	}
	mac[5] = 0x0e; /* LLDP */
	assert_true(weft_frame_is_link_local_control(mac));
	mac[4] = 0x01; /* 01:80:c2:00:01:0e: not reserved */
	assert_false(weft_frame_is_link_local_control(mac));
	mac[4] = 0x00;
	mac[0] = 0x03;
	assert_false(weft_frame_is_link_local_control(mac));
	assert_false(weft_frame_is_link_local_control(bcast));
}

static void test_runt(void **state)
{
	assert_true(weft_frame_is_runt(0));
	assert_true(weft_frame_is_runt(13));
	assert_false(weft_frame_is_runt(14));
	assert_false(weft_frame_is_runt(1514));
}

/* A frame from @src to @dst, ethertype @type, @len bytes (header included). */
static void make_frame(uint8_t *f, size_t len, const uint8_t dst[6], const uint8_t src[6],
		       uint16_t type)
{
	memset(f, 0xa5, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (len >= 14) {
		f[12] = (uint8_t)(type >> 8);
		f[13] = (uint8_t)type;
	}
}

static void test_ingress_filter(void **state)
{
	static const uint8_t stp[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x00};
	static const uint8_t lacp[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x02};
	static const uint8_t dot1x[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x03};
	static const uint8_t lldp[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x0e};
	static const uint8_t last[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x0f};
	static const uint8_t beyond[6] = {0x01, 0x80, 0xc2, 0x00, 0x00, 0x10};
	static const uint8_t mcast[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	static const uint8_t zero[6] = {0};
	const size_t max = 1500 + 14;
	uint8_t f[1600];

	make_frame(f, 60, bcast, ucast, 0x0806);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_OK);
	make_frame(f, 60, ucast, ucast, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_OK);
	/* Runts: shorter than a header. 14 bytes is a frame. */
	assert_int_equal(weft_frame_check_ingress(f, 0, max), WEFT_FRAME_RUNT);
	assert_int_equal(weft_frame_check_ingress(f, 13, max), WEFT_FRAME_RUNT);
	assert_int_equal(weft_frame_check_ingress(f, 14, max), WEFT_FRAME_OK);
	/* The port's largest frame, +4 only with an 802.1Q tag. */
	make_frame(f, max + 1, ucast, ucast, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, max, max), WEFT_FRAME_OK);
	assert_int_equal(weft_frame_check_ingress(f, max + 1, max), WEFT_FRAME_TOO_BIG);
	make_frame(f, max + 5, ucast, ucast, 0x8100);
	assert_int_equal(weft_frame_check_ingress(f, max + 4, max), WEFT_FRAME_OK);
	assert_int_equal(weft_frame_check_ingress(f, max + 5, max), WEFT_FRAME_TOO_BIG);
	make_frame(f, max + 4, ucast, ucast, 0x88a8);
	assert_int_equal(weft_frame_check_ingress(f, max + 4, max), WEFT_FRAME_TOO_BIG);
	/* Link-local control destinations, whatever the EtherType or length field. */
	make_frame(f, 60, stp, ucast, 0x0026);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_LINK_LOCAL);
	make_frame(f, 124, lacp, ucast, 0x8809);
	assert_int_equal(weft_frame_check_ingress(f, 124, max), WEFT_FRAME_LINK_LOCAL);
	make_frame(f, 60, dot1x, ucast, 0x888e);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_LINK_LOCAL);
	make_frame(f, 60, lldp, ucast, 0x88cc);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_LINK_LOCAL);
	make_frame(f, 60, last, ucast, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_LINK_LOCAL);
	make_frame(f, 60, beyond, ucast, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_OK);
	/* A tagged frame to a link-local address is one too. */
	make_frame(f, 64, stp, ucast, 0x8100);
	assert_int_equal(weft_frame_check_ingress(f, 64, max), WEFT_FRAME_LINK_LOCAL);
	/* Sources no station sends from. */
	make_frame(f, 60, ucast, bcast, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_BAD_SOURCE);
	make_frame(f, 60, bcast, mcast, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_BAD_SOURCE);
	make_frame(f, 60, bcast, zero, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_BAD_SOURCE);
	make_frame(f, 60, bcast, stp, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_BAD_SOURCE);
	/* The cheaper verdict first: a runt is not looked into, size before addresses. */
	make_frame(f, 60, stp, zero, 0x0800);
	assert_int_equal(weft_frame_check_ingress(f, 13, max), WEFT_FRAME_RUNT);
	assert_int_equal(weft_frame_check_ingress(f, 60, 40), WEFT_FRAME_TOO_BIG);
	assert_int_equal(weft_frame_check_ingress(f, 60, max), WEFT_FRAME_LINK_LOCAL);
}

static void test_format_mac(void **state)
{
	static const uint8_t mac[6] = {0x00, 0x1a, 0x2b, 0xcd, 0xef, 0xff};
	char buf[WEFT_FRAME_MAC_STRLEN + 4];

	memset(buf, 'X', sizeof(buf));
	assert_ptr_equal(weft_frame_format_mac(buf, mac), buf);
	assert_string_equal(buf, "00:1a:2b:cd:ef:ff");
	assert_int_equal(strlen(buf) + 1, WEFT_FRAME_MAC_STRLEN);
	assert_int_equal(buf[WEFT_FRAME_MAC_STRLEN], 'X'); /* nothing past the NUL */
	assert_string_equal(weft_frame_format_mac(buf, bcast), "ff:ff:ff:ff:ff:ff");
}

static void test_copy_with_vlan(void **state)
{
	uint8_t in[60], out[80];
	ssize_t n;

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	memset(out, 0xee, sizeof(out));
	n = weft_frame_copy_with_vlan(out, sizeof(out), in, sizeof(in), 0x88a8, 0xa00b);
	assert_int_equal(n, 64);
	assert_memory_equal(out, in, 12);
	assert_int_equal(out[12], 0x88);
	assert_int_equal(out[13], 0xa8);
	assert_int_equal(out[14], 0xa0);
	assert_int_equal(out[15], 0x0b);
	assert_memory_equal(out + 16, in + 12, sizeof(in) - 12);
	assert_int_equal(out[64], 0xee); /* nothing written past the frame */

	/* TPID 0: the ring did not say, so it was 802.1Q. */
	n = weft_frame_copy_with_vlan(out, sizeof(out), in, sizeof(in), 0, 42);
	assert_int_equal(n, 64);
	assert_int_equal(out[12], 0x81);
	assert_int_equal(out[13], 0x00);
	assert_int_equal(out[14], 0x00);
	assert_int_equal(out[15], 42);
}

static void test_copy_with_vlan_limits(void **state)
{
	uint8_t in[60] = {0}, out[80];

	/* The smallest frame (header only) gets its tag. */
	assert_int_equal(weft_frame_copy_with_vlan(out, sizeof(out), in, 14, 0x8100, 7), 18);
	assert_int_equal(out[15], 7);
	assert_int_equal(weft_frame_copy_with_vlan(out, sizeof(out), in, 13, 0x8100, 7), -EINVAL);
	assert_int_equal(weft_frame_copy_with_vlan(out, sizeof(out), in, 0, 0x8100, 7), -EINVAL);
	/* Exactly enough room, then one byte short, then less than the frame itself. */
	assert_int_equal(weft_frame_copy_with_vlan(out, 64, in, 60, 0x8100, 7), 64);
	assert_int_equal(weft_frame_copy_with_vlan(out, 63, in, 60, 0x8100, 7), -ENOBUFS);
	assert_int_equal(weft_frame_copy_with_vlan(out, 59, in, 60, 0x8100, 7), -ENOBUFS);
	assert_int_equal(weft_frame_copy_with_vlan(out, 0, in, 60, 0x8100, 7), -ENOBUFS);
}

static void test_overlay_mtu(void **state)
{
	/* DESIGN: 1500 - 20 - 8 - 35 - 14. */
	assert_int_equal(weft_frame_overlay_mtu(1500, false), 1423);
	assert_int_equal(weft_frame_overlay_mtu(1500, true), 1403);
	assert_int_equal(weft_frame_overlay_mtu(9000, false), 8923);
	assert_int_equal(weft_frame_overlay_mtu(1280, true), 1183);
	assert_int_equal(WEFT_FRAME_WIRE_OVERHEAD, 4 + 4 + 8 + 16 + 3);
	/* The smallest underlay that still leaves 68 bytes, and one below. */
	assert_int_equal(weft_frame_overlay_mtu(68 + 20 + 8 + 35 + 14, false), 68);
	assert_int_equal(weft_frame_overlay_mtu(68 + 20 + 8 + 35 + 14 - 1, false), 0);
	assert_int_equal(weft_frame_overlay_mtu(68 + 40 + 8 + 35 + 14, true), 68);
	assert_int_equal(weft_frame_overlay_mtu(68 + 40 + 8 + 35 + 14 - 1, true), 0);
	assert_int_equal(weft_frame_overlay_mtu(0, false), 0);
	assert_int_equal(weft_frame_overlay_mtu(50, true), 0);
}

static void test_max_len(void **state)
{
	assert_int_equal(weft_frame_max_len(1500, false), 1514);
	assert_int_equal(weft_frame_max_len(1500, true), 1518);
	assert_int_equal(weft_frame_max_len(1423, false), 1437);
	assert_int_equal(weft_frame_max_len(0, false), 14);
	/* No wrap-around for absurd MTUs. */
	assert_true(weft_frame_max_len(UINT32_MAX, true) > UINT32_MAX);
}

/* A copy of @f in a buffer of exactly @len bytes, so that a read past the
 * frame is one past the allocation (valgrind, ASan). */
static uint32_t flow_of(const uint8_t *f, size_t len, uint16_t tci)
{
	uint8_t *copy = test_malloc(len ? len : 1);
	uint32_t h;

	memcpy(copy, f, len);
	h = weft_frame_flow_hash(copy, len, tci);
	test_free(copy);
	return h;
}

static void test_flow_hash_tcp(void **state)
{
	static uint8_t payload[1000];
	struct fx_pkt p = {.version = 4, .ip_id = 1, .df = true, .ttl = 64, .sport = 40000,
			   .dport = 5201, .seq = 1, .ack = 1, .flags = FX_TCP_ACK, .window = 9,
			   .payload = payload, .payload_len = 1000};
	uint8_t a[1200], b[1200];
	size_t la, lb;
	uint32_t h;

	(void)state;
	/* Segments of one connection hash alike: another sequence number, IP
	 * ID, length, flags, TTL. */
	la = fx_build(a, &p);
	h = flow_of(a, la, 0);
	p.seq += 1000;
	p.ip_id++;
	p.payload_len = 10;
	p.flags |= FX_TCP_PSH;
	p.ttl = 3;
	lb = fx_build(b, &p);
	assert_int_equal(flow_of(b, lb, 0), h);
	/* Headers alone suffice (a slot that holds only them). */
	assert_int_equal(flow_of(a, 14 + 20 + 4, 0), h);
	/* Another port, address, MAC or VLAN: another flow. */
	p.sport++;
	lb = fx_build(b, &p);
	assert_int_not_equal(flow_of(b, lb, 0), h);
	memcpy(b, a, la);
	b[14 + 15]++; /* the source address's last byte */
	assert_int_not_equal(flow_of(b, la, 0), h);
	memcpy(b, a, la);
	b[0] ^= 0x04;
	assert_int_not_equal(flow_of(b, la, 0), h);
	assert_int_not_equal(flow_of(a, la, 42), h);
	/* IPv6. */
	p.version = 6;
	la = fx_build(a, &p);
	h = flow_of(a, la, 0);
	p.seq += 77;
	lb = fx_build(b, &p);
	assert_int_equal(flow_of(b, lb, 0), h);
	p.dport++;
	lb = fx_build(b, &p);
	assert_int_not_equal(flow_of(b, lb, 0), h);
}

static void test_flow_hash_no_ports(void **state)
{
	struct fx_pkt p = {.version = 4, .ip_id = 1, .ttl = 64, .udp = true, .sport = 53,
			   .dport = 5353};
	uint8_t a[200], b[200];
	size_t la;
	uint32_t h, frag;

	(void)state;
	la = fx_build(a, &p);
	h = flow_of(a, la, 0);
	/* A fragment is keyed by addresses and protocol: the first (MF, ports
	 * present) and a later one (an offset, the ports' bytes are payload)
	 * alike, and unlike the unfragmented datagram. */
	memcpy(b, a, la);
	b[14 + 6] = 0x20; /* MF */
	frag = flow_of(b, la, 0);
	assert_int_not_equal(frag, h);
	b[14 + 6] = 0x00;
	b[14 + 7] = 0xb9; /* offset 185 * 8 */
	b[14 + 20] ^= 0xff;
	assert_int_equal(flow_of(b, la, 0), frag);
	/* ICMP between the same addresses: one flow, whatever follows. */
	memcpy(b, a, la);
	b[14 + 9] = 1;
	h = flow_of(b, la, 0);
	b[14 + 20] ^= 0xff;
	b[14 + 24] ^= 0xff;
	assert_int_equal(flow_of(b, la, 0), h);
	/* An IPv6 extension header: addresses and next header alone. */
	p.version = 6;
	la = fx_build(a, &p);
	a[14 + 6] = 44;
	h = flow_of(a, la, 0);
	a[14 + 40] ^= 0xff;
	assert_int_equal(flow_of(a, la, 0), h);
	/* Not IP: the MACs and the EtherType. ARP's payload is not looked at. */
	memset(a, 0, sizeof(a));
	a[12] = 0x08;
	a[13] = 0x06;
	h = flow_of(a, 60, 0);
	a[20] = 2;
	assert_int_equal(flow_of(a, 60, 0), h);
	a[13] = 0x05;
	assert_int_not_equal(flow_of(a, 60, 0), h);
	/* Short and truncated frames read nothing beyond their length. */
	(void)flow_of(a, 0, 0);
	(void)flow_of(a, 13, 0);
	a[12] = 0x08;
	a[13] = 0x00;
	a[14] = 0x4f; /* 60 bytes of IPv4 header, 6 present */
	(void)flow_of(a, 14 + 20, 0);
	a[14 + 9] = 6;
	a[14] = 0x45;
	(void)flow_of(a, 14 + 23, 0);
	a[12] = 0x86;
	a[13] = 0xdd;
	a[14] = 0x60;
	(void)flow_of(a, 14 + 39, 0);
}

int main(void)
{
	/* clang-format off */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mac_access),
	    cmocka_unit_test(test_classes),
	    cmocka_unit_test(test_link_local_control),
	    cmocka_unit_test(test_runt),
	    cmocka_unit_test(test_ingress_filter),
	    cmocka_unit_test(test_format_mac),
	    cmocka_unit_test(test_copy_with_vlan),
	    cmocka_unit_test(test_copy_with_vlan_limits),
	    cmocka_unit_test(test_overlay_mtu),
	    cmocka_unit_test(test_max_len),
	    cmocka_unit_test(test_flow_hash_tcp),
	    cmocka_unit_test(test_flow_hash_no_ports),
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
