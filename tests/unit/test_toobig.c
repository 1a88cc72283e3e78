/* SPDX-License-Identifier: MIT */
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
#include "common/toobig.h"

/* The frame goes from host B (10.32.0.1, fd00::1) to host A (10.32.0.2, fd00::2). */
static const uint8_t mac_a[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x0b};
static const uint8_t ip4_b[4] = {10, 32, 0, 1};
static const uint8_t ip4_a[4] = {10, 32, 0, 2};
static const uint8_t ip6_b[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t ip6_a[16] = {0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

#define MTU 1423 /* the overlay MTU over a 1500-byte IPv4 underlay */
#define DF  0x4000
#define MF  0x2000

/* ---- checksums, written independently of common/toobig.c ------------------------ */

static uint32_t sum_bytes(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

/* The one's complement sum, folded: 0xffff when the data holds a valid checksum. */
static uint16_t fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static bool ipv4_header_ok(const uint8_t *ip)
{
	return fold(sum_bytes(0, ip, (size_t)(ip[0] & 0xf) * 4)) == 0xffff;
}

/* The sum of the pseudo-header of the IPv4 (@ip) or IPv6 packet whose
 * upper-layer part has @len bytes of protocol @proto. */
static uint32_t pseudo_sum(const uint8_t *ip, size_t len, uint8_t proto)
{
	uint8_t ph[40];

	if (ip[0] >> 4 == 4) {
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = proto;
		weft_put_be16(ph + 10, (uint16_t)len);
		return sum_bytes(0, ph, 12);
	}
	memcpy(ph, ip + 8, 32);
	weft_put_be32(ph + 32, (uint32_t)len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = proto;
	return sum_bytes(0, ph, 40);
}

static bool upper_ok(const uint8_t *ip, const uint8_t *l4, size_t len, uint8_t proto, bool pseudo)
{
	return fold(sum_bytes(pseudo ? pseudo_sum(ip, len, proto) : 0, l4, len)) == 0xffff;
}

static void put_upper_csum(const uint8_t *ip, uint8_t *l4, size_t len, uint8_t proto,
			   uint8_t *field)
{
	weft_put_be16(field, 0);
	weft_put_be16(field, (uint16_t)~fold(sum_bytes(pseudo_sum(ip, len, proto), l4, len)));
}

/* ---- reference frames, built by hand ---------------------------------------- */

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static void put_eth(uint8_t *f, uint16_t type)
{
	memcpy(f, mac_a, 6);
	memcpy(f + 6, mac_b, 6);
	weft_put_be16(f + 12, type);
}

static void fix_ipv4_csum(uint8_t *f)
{
	uint8_t *ip = f + 14;

	weft_put_be16(ip + 10, 0);
	weft_put_be16(ip + 10, (uint16_t)~fold(sum_bytes(0, ip, (size_t)(ip[0] & 0xf) * 4)));
}

/* An IPv4 packet of @tot_len bytes from B to A, ID 0x1234, with @opts
 * (@optlen, a multiple of 4), its payload the pattern. Returns the frame's length. */
static size_t build_ipv4(uint8_t *f, size_t tot_len, uint8_t proto, uint16_t frag,
			 const uint8_t *opts, size_t optlen)
{
	uint8_t *ip = f + 14;
	size_t hlen = 20 + optlen;

	put_eth(f, 0x0800);
	ip[0] = (uint8_t)(0x40 | hlen / 4);
	ip[1] = 0;
	weft_put_be16(ip + 2, (uint16_t)tot_len);
	weft_put_be16(ip + 4, 0x1234);
	weft_put_be16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, ip4_b, 4);
	memcpy(ip + 16, ip4_a, 4);
	if (optlen)
		memcpy(ip + 20, opts, optlen);
	for (size_t i = hlen; i < tot_len; i++)
		ip[i] = pattern(i - hlen);
	fix_ipv4_csum(f);
	return 14 + tot_len;
}

/* An IPv6 packet of @tot_len bytes (header included) from B to A, next header
 * @next, its payload the pattern. */
static size_t build_ipv6(uint8_t *f, size_t tot_len, uint8_t next)
{
	uint8_t *ip = f + 14;

	put_eth(f, 0x86dd);
	weft_put_be32(ip, 0x60012345); /* traffic class 0, flow label 0x12345 */
	weft_put_be16(ip + 4, (uint16_t)(tot_len - 40));
	ip[6] = next;
	ip[7] = 64;
	memcpy(ip + 8, ip6_b, 16);
	memcpy(ip + 24, ip6_a, 16);
	for (size_t i = 40; i < tot_len; i++)
		ip[i] = pattern(i - 40);
	return 14 + tot_len;
}

/* Where the upper-layer header starts in the frame. */
static size_t l4_off(const uint8_t *f)
{
	return f[14] >> 4 == 4 ? 14 + (size_t)(f[14] & 0xf) * 4 : 14 + 40;
}

static size_t l4_len(const uint8_t *f)
{
	const uint8_t *ip = f + 14;

	if (ip[0] >> 4 == 4)
		return weft_get_be16(ip + 2) - (size_t)(ip[0] & 0xf) * 4;
	return weft_get_be16(ip + 4);
}

/* A UDP header (4000 -> 5000) with its checksum over the packet @f. */
static void put_udp(uint8_t *f)
{
	uint8_t *u = f + l4_off(f);
	size_t len = l4_len(f);

	weft_put_be16(u, 4000);
	weft_put_be16(u + 2, 5000);
	weft_put_be16(u + 4, (uint16_t)len);
	put_upper_csum(f + 14, u, len, 17, u + 6);
}

/* A TCP header (40000 -> 80) with @flags and @opts, its checksum over @f. */
static void put_tcp(uint8_t *f, uint8_t flags, const uint8_t *opts, size_t optlen)
{
	uint8_t *t = f + l4_off(f);

	weft_put_be16(t, 40000);
	weft_put_be16(t + 2, 80);
	weft_put_be32(t + 4, 0x01020304);
	weft_put_be32(t + 8, flags & 0x10 ? 0x0a0b0c0d : 0);
	t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	t[13] = flags;
	weft_put_be16(t + 14, 64240);
	weft_put_be16(t + 18, 0);
	if (optlen)
		memcpy(t + 20, opts, optlen);
	put_upper_csum(f + 14, t, l4_len(f), 6, t + 16);
}

static bool tcp_ok(const uint8_t *f)
{
	return upper_ok(f + 14, f + l4_off(f), l4_len(f), 6, true);
}

/* A private copy of exactly @len bytes, so ASan sees any read past it. */
static uint8_t *exact_copy(const uint8_t *f, size_t len)
{
	uint8_t *c = malloc(len ? len : 1);

	assert_non_null(c);
	memcpy(c, f, len);
	return c;
}

/* ---- classify ------------------------------------------------------------------- */

static void test_classify(void **state)
{
	uint8_t f[1600];
	size_t len;

	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	put_udp(f);
	assert_int_equal(weft_toobig_classify(f, len), WEFT_TOOBIG_ICMP4);
	len = build_ipv4(f, 1500, 6, DF, NULL, 0);
	put_tcp(f, 0x10, NULL, 0);
	assert_int_equal(weft_toobig_classify(f, len), WEFT_TOOBIG_ICMP4);
	len = build_ipv4(f, 1500, 17, 0, NULL, 0);
	assert_int_equal(weft_toobig_classify(f, len), WEFT_TOOBIG_FRAGMENT);
	/* MF or the reserved bit are not DF. */
	len = build_ipv4(f, 1500, 17, MF | 0x8000, NULL, 0);
	assert_int_equal(weft_toobig_classify(f, len), WEFT_TOOBIG_FRAGMENT);
	len = build_ipv6(f, 1500, 6);
	put_tcp(f, 0x10, NULL, 0);
	assert_int_equal(weft_toobig_classify(f, len), WEFT_TOOBIG_ICMP6);

	/* A capture cut after the headers still classifies; only the headers are read. */
	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	assert_int_equal(weft_toobig_classify(f, 14 + 20), WEFT_TOOBIG_ICMP4);
	len = build_ipv6(f, 1500, 6);
	assert_int_equal(weft_toobig_classify(f, 14 + 40), WEFT_TOOBIG_ICMP6);
}

static void test_classify_drop(void **state)
{
	static const uint8_t opts[4] = {0x94, 4, 0, 0};
	uint8_t f[1600];
	size_t len;

	/* ARP, a VLAN tag (the caller's to strip), anything not IP. */
	memset(f, 0, sizeof(f));
	put_eth(f, 0x0806);
	assert_int_equal(weft_toobig_classify(f, 1514), WEFT_TOOBIG_DROP);
	put_eth(f, 0x8100);
	assert_int_equal(weft_toobig_classify(f, 1514), WEFT_TOOBIG_DROP);
	/* Runts and truncated headers. */
	for (len = 0; len < 14 + 20; len++) {
		build_ipv4(f, 1500, 17, DF, NULL, 0);
		uint8_t *c = exact_copy(f, len);
		assert_int_equal(weft_toobig_classify(c, len), WEFT_TOOBIG_DROP);
		free(c);
	}
	for (len = 0; len < 14 + 40; len++) {
		build_ipv6(f, 1500, 6);
		uint8_t *c = exact_copy(f, len);
		assert_int_equal(weft_toobig_classify(c, len), WEFT_TOOBIG_DROP);
		free(c);
	}
	/* Options announced but cut off. */
	build_ipv4(f, 1500, 17, DF, opts, sizeof(opts));
	assert_int_equal(weft_toobig_classify(f, 14 + 23), WEFT_TOOBIG_DROP);
	assert_int_equal(weft_toobig_classify(f, 14 + 24), WEFT_TOOBIG_ICMP4);
	/* IHL below 5, IHL 15 beyond the frame, a wrong version, a total length
	 * shorter than the header. */
	build_ipv4(f, 1500, 17, DF, NULL, 0);
	f[14] = 0x44;
	assert_int_equal(weft_toobig_classify(f, 1514), WEFT_TOOBIG_DROP);
	f[14] = 0x4f;
	assert_int_equal(weft_toobig_classify(f, 14 + 59), WEFT_TOOBIG_DROP);
	assert_int_equal(weft_toobig_classify(f, 14 + 60), WEFT_TOOBIG_ICMP4);
	f[14] = 0x65;
	assert_int_equal(weft_toobig_classify(f, 1514), WEFT_TOOBIG_DROP);
	f[14] = 0x45;
	weft_put_be16(f + 16, 19);
	assert_int_equal(weft_toobig_classify(f, 1514), WEFT_TOOBIG_DROP);
	/* IPv6 EtherType, IPv4 inside, and the other way round. */
	build_ipv4(f, 1500, 17, DF, NULL, 0);
	weft_put_be16(f + 12, 0x86dd);
	assert_int_equal(weft_toobig_classify(f, 1514), WEFT_TOOBIG_DROP);
	build_ipv6(f, 1500, 6);
	weft_put_be16(f + 12, 0x0800);
	assert_int_equal(weft_toobig_classify(f, 1514), WEFT_TOOBIG_DROP);
}

/* ---- answer --------------------------------------------------------------------- */

/* An answer buffer of exactly WEFT_TOOBIG_ANSWER_MAX bytes, for ASan. */
static uint8_t *answer_buf(void)
{
	uint8_t *out = malloc(WEFT_TOOBIG_ANSWER_MAX);

	assert_non_null(out);
	memset(out, 0xee, WEFT_TOOBIG_ANSWER_MAX);
	return out;
}

/* Checks the IPv4 answer @out (@n bytes) to @f, quoting @quote bytes. */
static void check_answer4(const uint8_t *out, size_t n, const uint8_t *f, size_t quote,
			  uint16_t mtu)
{
	const uint8_t *ip = out + 14, *icmp = ip + 20;

	assert_int_equal(n, 14 + 20 + 8 + quote);
	assert_memory_equal(out, mac_b, 6);
	assert_memory_equal(out + 6, mac_a, 6);
	assert_int_equal(weft_get_be16(out + 12), 0x0800);
	assert_int_equal(ip[0], 0x45);
	assert_int_equal(ip[1], 0xc0);
	assert_int_equal(weft_get_be16(ip + 2), 28 + quote);
	assert_int_equal(weft_get_be16(ip + 4), 0);
	assert_int_equal(weft_get_be16(ip + 6), 0);
	assert_int_equal(ip[8], 64);
	assert_int_equal(ip[9], 1);
	assert_memory_equal(ip + 12, f + 14 + 16, 4); /* from the original destination */
	assert_memory_equal(ip + 16, f + 14 + 12, 4); /* to the original source */
	assert_true(ipv4_header_ok(ip));
	assert_int_equal(icmp[0], 3);
	assert_int_equal(icmp[1], 4);
	assert_int_equal(weft_get_be16(icmp + 4), 0);
	assert_int_equal(weft_get_be16(icmp + 6), mtu);
	assert_memory_equal(icmp + 8, f + 14, quote);
	assert_true(upper_ok(ip, icmp, 8 + quote, 1, false));
}

static void check_answer6(const uint8_t *out, size_t n, const uint8_t *f, size_t quote,
			  uint32_t mtu)
{
	const uint8_t *ip = out + 14, *icmp = ip + 40;

	assert_int_equal(n, 14 + 40 + 8 + quote);
	assert_memory_equal(out, mac_b, 6);
	assert_memory_equal(out + 6, mac_a, 6);
	assert_int_equal(weft_get_be16(out + 12), 0x86dd);
	assert_int_equal(weft_get_be32(ip), 0x60000000);
	assert_int_equal(weft_get_be16(ip + 4), 8 + quote);
	assert_int_equal(ip[6], 58);
	assert_int_equal(ip[7], 255);
	assert_memory_equal(ip + 8, f + 14 + 24, 16);
	assert_memory_equal(ip + 24, f + 14 + 8, 16);
	assert_int_equal(icmp[0], 2);
	assert_int_equal(icmp[1], 0);
	assert_int_equal(weft_get_be32(icmp + 4), mtu);
	assert_memory_equal(icmp + 8, f + 14, quote);
	assert_true(upper_ok(ip, icmp, 8 + quote, 58, true));
	/* Without the pseudo-header it would not verify. */
	assert_false(upper_ok(ip, icmp, 8 + quote, 58, false));
}

static void test_answer_ipv4(void **state)
{
	uint8_t f[1600];
	uint8_t *out = answer_buf();
	size_t len, n;

	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	put_udp(f);
	n = weft_toobig_answer(out, f, len, MTU);
	assert_int_equal(n, 14 + 576); /* 576-byte IP packet */
	check_answer4(out, n, f, 548, MTU);
	for (size_t i = n; i < WEFT_TOOBIG_ANSWER_MAX; i++)
		assert_int_equal(out[i], 0xee);

	len = build_ipv4(f, 1500, 6, DF, NULL, 0);
	put_tcp(f, 0x10, NULL, 0);
	n = weft_toobig_answer(out, f, len, MTU);
	check_answer4(out, n, f, 548, MTU);

	/* The MTU field has 16 bits. */
	n = weft_toobig_answer(out, f, len, 70000);
	check_answer4(out, n, f, 548, 0xffff);
	/* A first fragment (MF, offset 0) and ICMP echo are answered. */
	len = build_ipv4(f, 1500, 17, DF | MF, NULL, 0);
	check_answer4(out, weft_toobig_answer(out, f, len, MTU), f, 548, MTU);
	len = build_ipv4(f, 1500, 1, DF, NULL, 0);
	f[34] = 8;
	check_answer4(out, weft_toobig_answer(out, f, len, MTU), f, 548, MTU);
	free(out);
}

static void test_answer_ipv6(void **state)
{
	uint8_t f[1600];
	uint8_t *out = answer_buf();
	size_t len, n;

	len = build_ipv6(f, 1500, 6);
	put_tcp(f, 0x10, NULL, 0);
	n = weft_toobig_answer(out, f, len, MTU);
	assert_int_equal(n, 14 + 1280); /* 1280-byte IPv6 packet */
	assert_int_equal(n, WEFT_TOOBIG_ANSWER_MAX);
	check_answer6(out, n, f, 1232, MTU);

	/* ICMPv6 informational messages are answered. */
	len = build_ipv6(f, 1500, 58);
	f[54] = 128;
	check_answer6(out, weft_toobig_answer(out, f, len, 1280), f, 1232, 1280);
	f[54] = 129;
	check_answer6(out, weft_toobig_answer(out, f, len, 1280), f, 1232, 1280);
	/* TCP after a hop-by-hop header and a first fragment. */
	len = build_ipv6(f, 1500, 0);
	f[54] = 44; /* next: fragment */
	f[55] = 0;  /* 8 bytes */
	f[62] = 6;
	weft_put_be16(f + 64, 0x0001); /* offset 0, M */
	check_answer6(out, weft_toobig_answer(out, f, len, MTU), f, 1232, MTU);
	free(out);
}

static void test_answer_short(void **state)
{
	uint8_t f[1600];
	uint8_t *out = answer_buf();
	size_t len;

	/* A capture cut short quotes only what is there. */
	build_ipv4(f, 1500, 17, DF, NULL, 0);
	check_answer4(out, weft_toobig_answer(out, f, 14 + 100, MTU), f, 100, MTU);
	check_answer4(out, weft_toobig_answer(out, f, 14 + 20, MTU), f, 20, MTU);
	build_ipv6(f, 1500, 6);
	check_answer6(out, weft_toobig_answer(out, f, 14 + 300, MTU), f, 300, MTU);
	check_answer6(out, weft_toobig_answer(out, f, 14 + 40, MTU), f, 40, MTU);
	/* The packet's own length bounds the quote: Ethernet padding is not quoted. */
	len = build_ipv4(f, 40, 17, DF, NULL, 0);
	memset(f + len, 0xaa, 6);
	check_answer4(out, weft_toobig_answer(out, f, len + 6, MTU), f, 40, MTU);
	len = build_ipv6(f, 100, 17);
	memset(f + len, 0xaa, 20);
	check_answer6(out, weft_toobig_answer(out, f, len + 20, MTU), f, 100, MTU);

	/* Every length of capture: exactly the right quote, never a read past it. */
	build_ipv4(f, 1500, 17, DF, NULL, 0);
	put_udp(f);
	for (len = 0; len <= 1514; len++) {
		uint8_t *c = exact_copy(f, len);
		size_t n = weft_toobig_answer(out, c, len, MTU);

		if (len < 14 + 20)
			assert_int_equal(n, 0);
		else
			check_answer4(out, n, f, len - 14 < 548 ? len - 14 : 548, MTU);
		free(c);
	}
	build_ipv6(f, 1500, 17);
	put_udp(f);
	for (len = 0; len <= 1514; len++) {
		uint8_t *c = exact_copy(f, len);
		size_t n = weft_toobig_answer(out, c, len, MTU);

		if (len < 14 + 40)
			assert_int_equal(n, 0);
		else
			check_answer6(out, n, f, len - 14 < 1232 ? len - 14 : 1232, MTU);
		free(c);
	}
	free(out);
}

static void test_answer_not_to_errors(void **state)
{
	static const uint8_t errors4[] = {3, 4, 5, 11, 12};
	static const uint8_t errors6[] = {0, 1, 2, 3, 4, 100, 127};
	uint8_t f[1600];
	uint8_t *out = answer_buf();
	size_t len;

	for (size_t i = 0; i < sizeof(errors4); i++) {
		len = build_ipv4(f, 1500, 1, DF, NULL, 0);
		f[34] = errors4[i];
		assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	}
	/* An ICMP message whose type was not captured may be an error. */
	len = build_ipv4(f, 1500, 1, DF, NULL, 0);
	f[34] = 8;
	assert_int_equal(weft_toobig_answer(out, f, 14 + 20, MTU), 0);
	assert_int_equal(weft_toobig_answer(out, f, 14 + 21, MTU), 14 + 28 + 21);

	for (size_t i = 0; i < sizeof(errors6); i++) {
		len = build_ipv6(f, 1500, 58);
		f[54] = errors6[i];
		assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
		/* Also behind a destination options header. */
		len = build_ipv6(f, 1500, 60);
		f[54] = 58;
		f[55] = 0;
		f[62] = errors6[i];
		assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
		f[62] = 128;
		assert_int_equal(weft_toobig_answer(out, f, len, MTU), 14 + 1280);
	}
	/* Behind an authentication header, whose length counts 4-byte words, less 2. */
	len = build_ipv6(f, 1500, 51);
	f[54] = 58;
	f[55] = 4; /* 24 bytes */
	f[54 + 24] = 1;
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	f[54 + 24] = 128;
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 14 + 1280);
	len = build_ipv6(f, 1500, 58);
	f[54] = 128;
	assert_int_equal(weft_toobig_answer(out, f, 14 + 40, MTU), 0);
	assert_int_equal(weft_toobig_answer(out, f, 14 + 41, MTU), 14 + 48 + 41);
	/* An extension header cut short. */
	len = build_ipv6(f, 1500, 60);
	f[54] = 6;
	f[55] = 1; /* 16 bytes */
	assert_int_equal(weft_toobig_answer(out, f, 14 + 40 + 15, MTU), 0);
	assert_int_equal(weft_toobig_answer(out, f, 14 + 40 + 16, MTU), 14 + 48 + 56);
	free(out);
}

static void set_ip4(uint8_t *f, size_t off, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	f[14 + off] = a;
	f[15 + off] = b;
	f[16 + off] = c;
	f[17 + off] = d;
	fix_ipv4_csum(f);
}

static void test_answer_not_to_groups(void **state)
{
	static const uint8_t bad4[][4] = {
	    {0, 0, 0, 0},	  /* this host */
	    {255, 255, 255, 255}, /* limited broadcast */
	    {224, 0, 0, 1},	  /* multicast */
	    {239, 1, 2, 3},	  /* multicast */
	    {127, 0, 0, 1},	  /* loopback */
	    {240, 0, 0, 1},	  /* class E */
	};
	static const uint8_t mcast_mac[6] = {0x01, 0x00, 0x5e, 0x00, 0x00, 0x01};
	static const uint8_t bcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	uint8_t f[1600];
	uint8_t *out = answer_buf();
	size_t len;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(bad4); i++) {
		const uint8_t *a = bad4[i];

		len = build_ipv4(f, 1500, 17, DF, NULL, 0);
		set_ip4(f, 12, a[0], a[1], a[2], a[3]); /* source */
		assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
		/* A destination that the answer cannot come from. */
		len = build_ipv4(f, 1500, 17, DF, NULL, 0);
		set_ip4(f, 16, a[0], a[1], a[2], a[3]);
		assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	}
	/* Just inside the ranges' edges: one host each. */
	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	set_ip4(f, 12, 1, 0, 0, 0);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 14 + 576);
	set_ip4(f, 12, 223, 255, 255, 255);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 14 + 576);

	/* Group MAC addresses, either way. */
	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	memcpy(f + 6, mcast_mac, 6);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	memcpy(f, bcast_mac, 6);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	len = build_ipv6(f, 1500, 6);
	memcpy(f + 6, mcast_mac, 6);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);

	/* A non-first fragment. */
	len = build_ipv4(f, 1500, 17, DF | 10, NULL, 0);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	len = build_ipv6(f, 1500, 44);
	f[54] = 6;
	weft_put_be16(f + 56, 10 << 3);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);

	/* IPv6: ::, ::1, multicast sources; a multicast destination. */
	len = build_ipv6(f, 1500, 6);
	memset(f + 14 + 8, 0, 16);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	f[14 + 8 + 15] = 1;
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	f[14 + 8 + 15] = 2; /* ::2 is one host (an IPv4-compatible address) */
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 14 + 1280);
	f[14 + 8] = 0xff;
	f[14 + 8 + 1] = 0x02;
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	len = build_ipv6(f, 1500, 6);
	f[14 + 24] = 0xff;
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);

	/* A corrupted IPv4 header is not acted on (RFC 1812 5.2.2). */
	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	f[14 + 8]--; /* TTL */
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 0);
	fix_ipv4_csum(f);
	assert_int_equal(weft_toobig_answer(out, f, len, MTU), 14 + 576);

	/* Not IP at all. */
	memset(f, 0, sizeof(f));
	put_eth(f, 0x0806);
	assert_int_equal(weft_toobig_answer(out, f, 1514, MTU), 0);
	assert_int_equal(weft_toobig_answer(out, f, 10, MTU), 0);
	free(out);
}

/* ---- fragment ------------------------------------------------------------------- */

#define MAX_FRAGS 256

struct frags {
	int n;
	size_t len[MAX_FRAGS];
	uint8_t f[MAX_FRAGS][1600];
};

static struct frags fr;

static void collect(void *ctx, const uint8_t *frag, size_t frag_len)
{
	struct frags *c = ctx;

	assert_ptr_equal(c, &fr);
	assert_true(c->n < MAX_FRAGS);
	assert_true(frag_len <= sizeof(c->f[0]));
	memcpy(c->f[c->n], frag, frag_len);
	c->len[c->n++] = frag_len;
}

static int fragment(const uint8_t *f, size_t len, unsigned mtu)
{
	uint8_t *scratch = malloc(14 + mtu); /* exactly what the header asks for */
	int r;

	assert_non_null(scratch);
	fr.n = 0;
	r = weft_toobig_fragment(f, len, mtu, scratch, collect, &fr);
	free(scratch);
	if (r < 0)
		assert_int_equal(fr.n, 0);
	else
		assert_int_equal(r, fr.n);
	return r;
}

/*
 * What every fragmentation of @orig must hold: same Ethernet header and ID,
 * valid header checksums, packets within @mtu, data in multiples of 8 but the
 * last, offsets that follow each other from the original's, MF on all but
 * the last (which keeps the original's), and the data put back together is
 * the original's payload.
 */
static void check_fragments(const uint8_t *orig, unsigned mtu)
{
	const uint8_t *oip = orig + 14;
	size_t ohlen = (size_t)(oip[0] & 0xf) * 4;
	size_t payload = weft_get_be16(oip + 2) - ohlen;
	unsigned base = weft_get_be16(oip + 6) & 0x1fff;
	static uint8_t joined[65536];
	size_t pos = 0;

	assert_true(fr.n >= 1);
	for (int i = 0; i < fr.n; i++) {
		const uint8_t *ip = fr.f[i] + 14;
		size_t hlen = (size_t)(ip[0] & 0xf) * 4;
		size_t tot = weft_get_be16(ip + 2);
		uint16_t frag = weft_get_be16(ip + 6);
		bool last = i == fr.n - 1;

		assert_memory_equal(fr.f[i], orig, 14);
		assert_int_equal(ip[0] >> 4, 4);
		assert_true(hlen >= 20 && hlen <= tot);
		assert_int_equal(fr.len[i], 14 + tot);
		assert_true(tot <= mtu);
		assert_true(ipv4_header_ok(ip));
		assert_memory_equal(ip + 1, oip + 1, 1);   /* TOS */
		assert_memory_equal(ip + 4, oip + 4, 2);   /* ID */
		assert_memory_equal(ip + 8, oip + 8, 2);   /* TTL, protocol */
		assert_memory_equal(ip + 12, oip + 12, 8); /* addresses */
		assert_int_equal(frag & DF, 0);
		if (!last)
			assert_int_equal((tot - hlen) % 8, 0);
		assert_int_equal(frag & MF, last ? weft_get_be16(oip + 6) & MF : MF);
		assert_int_equal(frag & 0x1fff, base + pos / 8);
		memcpy(joined + pos, ip + hlen, tot - hlen);
		pos += tot - hlen;
	}
	assert_int_equal(pos, payload);
	assert_memory_equal(joined, oip + ohlen, payload);
}

static void test_fragment_two(void **state)
{
	uint8_t f[1600];
	size_t len;

	len = build_ipv4(f, 1500, 17, 0, NULL, 0);
	put_udp(f);
	assert_int_equal(fragment(f, len, MTU), 2);
	check_fragments(f, MTU);
	/* 1423 - 20 = 1403, down to 1400 (8 x 175); then the 80 left. */
	assert_int_equal(fr.len[0], 14 + 1420);
	assert_int_equal(weft_get_be16(fr.f[0] + 14 + 6), MF | 0);
	assert_int_equal(fr.len[1], 14 + 100);
	assert_int_equal(weft_get_be16(fr.f[1] + 14 + 6), 175);
	/* The first fragment still holds the whole UDP header. */
	assert_memory_equal(fr.f[0] + 34, f + 34, 8);

	/* TCP the same way; a 1500-byte MTU is a single copy. */
	len = build_ipv4(f, 1500, 6, 0, NULL, 0);
	put_tcp(f, 0x18, NULL, 0);
	assert_int_equal(fragment(f, len, MTU), 2);
	check_fragments(f, MTU);
	assert_int_equal(fragment(f, len, 1500), 1);
	assert_int_equal(fr.len[0], len);
	assert_memory_equal(fr.f[0], f, len);
}

static void test_fragment_fits(void **state)
{
	uint8_t f[1600];
	size_t len;

	/* Fits already: one unchanged copy, the padding left out. */
	len = build_ipv4(f, 46, 17, 0, NULL, 0);
	put_udp(f);
	memset(f + len, 0xaa, 4);
	assert_int_equal(fragment(f, len + 4, MTU), 1);
	assert_int_equal(fr.len[0], len);
	assert_memory_equal(fr.f[0], f, len);

	/* A header and nothing else. */
	len = build_ipv4(f, 20, 17, MF | 7, NULL, 0);
	assert_int_equal(fragment(f, len, 28), 1);
	assert_int_equal(fr.len[0], 14 + 20);
	assert_memory_equal(fr.f[0], f, len);

	/* The smallest MTU possible: 8 bytes of data per fragment. */
	len = build_ipv4(f, 1500, 17, 0, NULL, 0);
	assert_int_equal(fragment(f, len, 28), 185);
	check_fragments(f, 28);
	/* An MTU that is not a multiple of 8 away from the header. */
	assert_int_equal(fragment(f, len, 99), 21); /* 72 x 20 = 1440, + 40 */
	check_fragments(f, 99);
	assert_int_equal(fr.len[0], 14 + 20 + 72);
	assert_int_equal(fr.len[20], 14 + 20 + 40);
}

static void test_fragment_options(void **state)
{
	/* NOP, record route (not copied, 7 bytes), router alert (copied). */
	static const uint8_t opts1[12] = {0x01, 0x07, 0x07, 0x04, 0, 0, 0, 0, 0x94, 0x04, 0, 0};
	/* Loose source route (copied, 7 bytes), record route, EOL, what follows EOL. */
	static const uint8_t opts2[16] = {
	    0x83, 0x07, 0x04, 10, 32, 0, 9, /* loose source route */
	    0x07, 0x07, 0x04, 0,  0,  0, 0, /* record route */
	    0x00, 0x94,			    /* EOL, then what is not an option */
	};
	uint8_t f[1600];
	size_t len;

	len = build_ipv4(f, 1500, 17, 0, opts1, sizeof(opts1));
	assert_int_equal(fragment(f, len, 576), 3);
	check_fragments(f, 576);
	/* The first keeps every option: (576 - 32) = 544 bytes of data. */
	assert_int_equal(fr.f[0][14], 0x48);
	assert_memory_equal(fr.f[0] + 14 + 20, opts1, sizeof(opts1));
	assert_int_equal(fr.len[0], 14 + 32 + 544);
	/* The others only the router alert: (576 - 24) & ~7 = 552. */
	for (int i = 1; i < 3; i++) {
		static const uint8_t ra[4] = {0x94, 0x04, 0, 0};

		assert_int_equal(fr.f[i][14], 0x46);
		assert_memory_equal(fr.f[i] + 14 + 20, ra, 4);
	}
	assert_int_equal(fr.len[1], 14 + 24 + 552);
	assert_int_equal(fr.len[2], 14 + 24 + 1468 - 544 - 552);

	len = build_ipv4(f, 1500, 17, 0, opts2, sizeof(opts2));
	assert_int_equal(fragment(f, len, MTU), 2);
	check_fragments(f, MTU);
	assert_int_equal(fr.f[0][14], 0x49);
	assert_memory_equal(fr.f[0] + 14 + 20, opts2, sizeof(opts2));
	/* The source route and an EOL to pad it to 8: IHL 7. */
	assert_int_equal(fr.f[1][14], 0x47);
	assert_memory_equal(fr.f[1] + 14 + 20, opts2, 7);
	assert_int_equal(fr.f[1][14 + 27], 0);

	/* No copied option: the later headers are plain 20 bytes. */
	static const uint8_t rr[8] = {0x07, 0x07, 0x04, 0, 0, 0, 0, 0x01};
	len = build_ipv4(f, 1500, 17, 0, rr, sizeof(rr));
	assert_int_equal(fragment(f, len, MTU), 2);
	check_fragments(f, MTU);
	assert_int_equal(fr.f[1][14], 0x45);
}

static void test_fragment_of_fragment(void **state)
{
	uint8_t f[1600];
	size_t len;

	/* A middle fragment (MF, offset 100 x 8): all pieces keep MF. */
	len = build_ipv4(f, 1500, 17, MF | 100, NULL, 0);
	assert_int_equal(fragment(f, len, MTU), 2);
	check_fragments(f, MTU);
	assert_int_equal(weft_get_be16(fr.f[0] + 14 + 6), MF | 100);
	assert_int_equal(weft_get_be16(fr.f[1] + 14 + 6), MF | 275);
	/* The original's last fragment: the last piece has MF clear. */
	len = build_ipv4(f, 1500, 17, 100, NULL, 0);
	assert_int_equal(fragment(f, len, MTU), 2);
	check_fragments(f, MTU);
	assert_int_equal(weft_get_be16(fr.f[0] + 14 + 6), MF | 100);
	assert_int_equal(weft_get_be16(fr.f[1] + 14 + 6), 275);
	/* The reserved flag is carried along. */
	len = build_ipv4(f, 1500, 17, 0x8000, NULL, 0);
	assert_int_equal(fragment(f, len, MTU), 2);
	assert_int_equal(weft_get_be16(fr.f[0] + 14 + 6), 0x8000 | MF);
	assert_int_equal(weft_get_be16(fr.f[1] + 14 + 6), 0x8000 | 175);
	/* The highest offset that still fits 13 bits, and one past it. */
	len = build_ipv4(f, 1500, 17, 0x1fff - 184, NULL, 0);
	assert_int_equal(fragment(f, len, MTU), 2);
	check_fragments(f, MTU);
	len = build_ipv4(f, 1500, 17, 0x1fff - 183, NULL, 0);
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
}

static void test_fragment_einval(void **state)
{
	static const uint8_t ra[4] = {0x94, 0x04, 0, 0};
	static const uint8_t zero_len[4] = {0x07, 0x00, 0, 0};
	static const uint8_t overrun[4] = {0x94, 0x08, 0, 0};
	static const uint8_t no_len[4] = {0x01, 0x01, 0x01, 0x94};
	static const uint8_t len_one[4] = {0x94, 0x01, 0x01, 0x01};
	uint8_t f[1600];
	size_t len;

	len = build_ipv6(f, 1500, 17);
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	memset(f, 0, sizeof(f));
	put_eth(f, 0x0806);
	assert_int_equal(fragment(f, 1514, MTU), -EINVAL);
	len = build_ipv4(f, 1500, 17, DF, NULL, 0);
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	/* The total length beyond the frame. */
	len = build_ipv4(f, 1500, 17, 0, NULL, 0);
	assert_int_equal(fragment(f, len - 1, MTU), -EINVAL);
	/* Too small an MTU for 8 bytes of data. */
	assert_int_equal(fragment(f, len, 27), -EINVAL);
	assert_int_equal(fragment(f, len, 0), -EINVAL);
	len = build_ipv4(f, 1500, 17, 0, ra, 4);
	assert_int_equal(fragment(f, len, 31), -EINVAL);
	assert_int_equal(fragment(f, len, 32), 185);
	check_fragments(f, 32);
	/* Broken headers: a bad checksum (even for a packet that fits), ... */
	len = build_ipv4(f, 1500, 17, 0, NULL, 0);
	f[14 + 8]--;
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	assert_int_equal(fragment(f, len, 1500), -EINVAL);
	len = build_ipv4(f, 1500, 17, 0, NULL, 0);
	f[14] = 0x44;
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	f[14] = 0x55;
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	assert_int_equal(fragment(f, 14 + 19, MTU), -EINVAL);
	assert_int_equal(fragment(f, 0, MTU), -EINVAL);
	len = build_ipv4(f, 1500, 17, 0, zero_len, 4);
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	len = build_ipv4(f, 1500, 17, 0, overrun, 4);
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	len = build_ipv4(f, 1500, 17, 0, no_len, 4);
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
	len = build_ipv4(f, 1500, 17, 0, len_one, 4);
	assert_int_equal(fragment(f, len, MTU), -EINVAL);
}

/* ---- clamp_mss ------------------------------------------------------------------ */

/* MSS 1460, SACK permitted, timestamps, NOP, window scale: what Linux sends. */
static const uint8_t syn_opts[20] = {
    0x02, 0x04, 0x05, 0xb4,					/* MSS 1460 */
    0x04, 0x02,							/* SACK permitted */
    0x08, 0x0a, 0x00, 0x00, 0x12, 0x34, 0x00, 0x00, 0x00, 0x00, /* timestamps */
    0x01,							/* NOP */
    0x03, 0x03, 0x07,						/* window scale */
};

static size_t build_syn(uint8_t *f, bool v6, uint8_t flags, const uint8_t *opts, size_t optlen)
{
	size_t len = v6 ? build_ipv6(f, 40 + 20 + optlen, 6)
			: build_ipv4(f, 20 + 20 + optlen, 6, DF, NULL, 0);

	put_tcp(f, flags, opts, optlen);
	assert_true(tcp_ok(f));
	return len;
}

/* Only the MSS value and the checksum changed. */
static void check_clamped(const uint8_t *before, const uint8_t *after, size_t len, size_t mss_at,
			  uint16_t mss)
{
	size_t t = l4_off(after);

	assert_int_equal(weft_get_be16(after + t + mss_at), mss);
	assert_true(tcp_ok(after));
	for (size_t i = 0; i < len; i++) {
		if (i == t + 16 || i == t + 17 || i == t + mss_at || i == t + mss_at + 1)
			continue;
		assert_int_equal(after[i], before[i]);
	}
}

static void test_clamp(void **state)
{
	uint8_t f[200], orig[200];
	size_t len;

	len = build_syn(f, false, 0x02, syn_opts, sizeof(syn_opts));
	memcpy(orig, f, len);
	assert_true(weft_toobig_clamp_mss(f, len, MTU));
	check_clamped(orig, f, len, 22, 1383);
	/* Once is enough. */
	memcpy(orig, f, len);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	assert_memory_equal(f, orig, len);

	len = build_syn(f, true, 0x02, syn_opts, sizeof(syn_opts));
	memcpy(orig, f, len);
	assert_true(weft_toobig_clamp_mss(f, len, MTU));
	check_clamped(orig, f, len, 22, 1363);

	/* SYN-ACK too. */
	len = build_syn(f, false, 0x12, syn_opts, sizeof(syn_opts));
	memcpy(orig, f, len);
	assert_true(weft_toobig_clamp_mss(f, len, MTU));
	check_clamped(orig, f, len, 22, 1383);

	/* An MSS at an odd offset straddles two checksum words. */
	static const uint8_t odd[8] = {0x01, 0x02, 0x04, 0x23, 0x28, 0x01, 0x01, 0x00};
	len = build_syn(f, false, 0x02, odd, sizeof(odd));
	memcpy(orig, f, len);
	assert_true(weft_toobig_clamp_mss(f, len, MTU));
	check_clamped(orig, f, len, 23, 1383);
	len = build_syn(f, true, 0x02, odd, sizeof(odd));
	memcpy(orig, f, len);
	assert_true(weft_toobig_clamp_mss(f, len, 9000));
	check_clamped(orig, f, len, 23, 8940);

	/* Many MSS values and checksums, against the reference. */
	for (unsigned mss = 1000; mss < 1500; mss += 7) {
		uint8_t o[20];

		memcpy(o, syn_opts, sizeof(o));
		weft_put_be16(o + 2, (uint16_t)mss);
		len = build_syn(f, mss % 2, 0x02, o, sizeof(o));
		memcpy(orig, f, len);
		unsigned max = MTU - (mss % 2 ? 60 : 40);
		assert_int_equal(weft_toobig_clamp_mss(f, len, MTU), mss > max);
		check_clamped(orig, f, len, 22, (uint16_t)(mss > max ? max : mss));
	}
}

static void test_clamp_untouched(void **state)
{
	uint8_t f[200], orig[200];
	size_t len;

	/* Not a SYN. */
	len = build_syn(f, false, 0x10, syn_opts, sizeof(syn_opts));
	memcpy(orig, f, len);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	assert_memory_equal(f, orig, len);
	/* Already small, or exactly the limit. */
	uint8_t o[20];
	memcpy(o, syn_opts, sizeof(o));
	weft_put_be16(o + 2, 1200);
	len = build_syn(f, false, 0x02, o, sizeof(o));
	memcpy(orig, f, len);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	assert_memory_equal(f, orig, len);
	weft_put_be16(o + 2, 1383);
	len = build_syn(f, false, 0x02, o, sizeof(o));
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	weft_put_be16(o + 2, 1363);
	len = build_syn(f, true, 0x02, o, sizeof(o));
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	/* No MSS option; an MSS option of the wrong length. */
	len = build_syn(f, false, 0x02, syn_opts + 4, 16);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	static const uint8_t mss3[8] = {0x02, 0x03, 0x05, 0x01, 0x01, 0x01, 0x01, 0x01};
	len = build_syn(f, false, 0x02, mss3, sizeof(mss3));
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	/* An MSS after EOL is not an option (even if EOL looked like it had a length). */
	static const uint8_t eol[8] = {0x00, 0x04, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4};
	len = build_syn(f, false, 0x02, eol, sizeof(eol));
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	/* An MTU with no room for TCP. */
	len = build_syn(f, false, 0x02, syn_opts, sizeof(syn_opts));
	assert_false(weft_toobig_clamp_mss(f, len, 40));
	/* A non-first fragment; UDP; IPv6 with an extension header. */
	len = build_syn(f, false, 0x02, syn_opts, sizeof(syn_opts));
	weft_put_be16(f + 14 + 6, 10);
	fix_ipv4_csum(f);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	len = build_syn(f, false, 0x02, syn_opts, sizeof(syn_opts));
	f[14 + 9] = 17;
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	len = build_syn(f, true, 0x02, syn_opts, sizeof(syn_opts));
	f[14 + 6] = 0;
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	/* Not IP. */
	len = build_syn(f, false, 0x02, syn_opts, sizeof(syn_opts));
	weft_put_be16(f + 12, 0x0806);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
}

static void test_clamp_malformed(void **state)
{
	/* Length 0, length 1, a length past the header, each before the MSS. */
	static const uint8_t bad[][12] = {
	    {0x08, 0x00, 0, 0, 0, 0, 0, 0, 0x02, 0x04, 0x05, 0xb4},
	    {0x08, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02, 0x04, 0x05, 0xb4},
	    {0x08, 0x0d, 0, 0, 0, 0, 0, 0, 0x02, 0x04, 0x05, 0xb4},
	    {0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x02, 0x04},
	};
	uint8_t f[200], orig[200];
	size_t len;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(bad); i++) {
		for (int v6 = 0; v6 < 2; v6++) {
			len = build_syn(f, v6, 0x02, bad[i], sizeof(bad[i]));
			memcpy(orig, f, len);
			assert_false(weft_toobig_clamp_mss(f, len, MTU));
			assert_memory_equal(f, orig, len);
		}
	}
	/* A data offset below 5 or past the segment. */
	len = build_syn(f, false, 0x02, syn_opts, sizeof(syn_opts));
	f[14 + 20 + 12] = 0x40;
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	f[14 + 20 + 12] = 0xb0;
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	/* The IP length says the options are not all there. */
	len = build_syn(f, false, 0x02, syn_opts, sizeof(syn_opts));
	weft_put_be16(f + 14 + 2, 20 + 39);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));
	len = build_syn(f, true, 0x02, syn_opts, sizeof(syn_opts));
	weft_put_be16(f + 14 + 4, 39);
	assert_false(weft_toobig_clamp_mss(f, len, MTU));

	/* Every truncation, on an exact copy: no read past it, no change when
	 * the TCP header is not all there. */
	for (int v6 = 0; v6 < 2; v6++) {
		size_t full = build_syn(f, v6, 0x02, syn_opts, sizeof(syn_opts));

		for (len = 0; len < full; len++) {
			uint8_t *c = exact_copy(f, len);

			assert_false(weft_toobig_clamp_mss(c, len, MTU));
			assert_memory_equal(c, f, len);
			free(c);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_classify),
	    cmocka_unit_test(test_classify_drop),
	    cmocka_unit_test(test_answer_ipv4),
	    cmocka_unit_test(test_answer_ipv6),
	    cmocka_unit_test(test_answer_short),
	    cmocka_unit_test(test_answer_not_to_errors),
	    cmocka_unit_test(test_answer_not_to_groups),
	    cmocka_unit_test(test_fragment_two),
	    cmocka_unit_test(test_fragment_fits),
	    cmocka_unit_test(test_fragment_options),
	    cmocka_unit_test(test_fragment_of_fragment),
	    cmocka_unit_test(test_fragment_einval),
	    cmocka_unit_test(test_clamp),
	    cmocka_unit_test(test_clamp_untouched),
	    cmocka_unit_test(test_clamp_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
