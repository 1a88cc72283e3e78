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
	};
	/* clang-format on */

	return cmocka_run_group_tests(tests, NULL, NULL);
}
