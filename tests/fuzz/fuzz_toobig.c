/* SPDX-License-Identifier: MIT */
/* The too-big path on arbitrary frames (the first two input bytes pick the
 * MTU, 68..9000; the rest is the frame): classify stays in its enum; an
 * answer is well formed, quotes the frame and its checksums verify;
 * fragments are within the MTU, valid, and carry exactly the original's
 * payload in order; MSS clamping touches at most the MSS and the checksum,
 * and keeps a valid TCP checksum valid. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/toobig.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MTU_MIN 68
#define MTU_MAX 9000

/* True when the folded one's complement sum is all ones: a valid checksum. */
static bool sum_ok(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum == 0xffff;
}

/* The sum of the IPv4 (@ip) or IPv6 pseudo-header for @len bytes of @proto. */
static uint32_t pseudo_sum(const uint8_t *ip, size_t len, uint8_t proto)
{
	if (ip[0] >> 4 == 4)
		return fx_sum(0, ip + 12, 8) + proto + (uint32_t)len;
	return fx_sum(0, ip + 8, 32) + (uint32_t)(len >> 16) + (uint32_t)(len & 0xffff) + proto;
}

static void check_answer(const uint8_t *out, size_t n, const uint8_t *frame, size_t len)
{
	const uint8_t *ip = out + 14;

	check(n <= WEFT_TOOBIG_ANSWER_MAX);
	if (n == 0)
		return;
	check(n >= 14 + 20 + 8);
	check(memcmp(out, frame + 6, 6) == 0 && memcmp(out + 6, frame, 6) == 0);
	if (weft_get_be16(out + 12) == 0x0800) {
		check(n <= 14 + 576 && n == 14 + (size_t)weft_get_be16(ip + 2));
		check(ip[0] == 0x45 && ip[9] == 1);
		check(sum_ok(fx_sum(0, ip, 20)));
		check(ip[20] == 3 && ip[21] == 4);
		check(sum_ok(fx_sum(0, ip + 20, n - 34)));
		check(memcmp(ip + 28, frame + 14, n - 42) == 0);
		check(memcmp(ip + 12, frame + 14 + 16, 4) == 0);
		check(memcmp(ip + 16, frame + 14 + 12, 4) == 0);
	} else {
		check(weft_get_be16(out + 12) == 0x86dd);
		check(n >= 14 + 48 && n <= 14 + 1280);
		check(n == 14 + 40 + (size_t)weft_get_be16(ip + 4));
		check(ip[0] >> 4 == 6 && ip[6] == 58);
		check(ip[40] == 2 && ip[41] == 0);
		check(sum_ok(pseudo_sum(ip, n - 54, 58) + fx_sum(0, ip + 40, n - 54)));
		check(memcmp(ip + 48, frame + 14, n - 62) == 0);
		check(memcmp(ip + 8, frame + 14 + 24, 16) == 0);
		check(memcmp(ip + 24, frame + 14 + 8, 16) == 0);
	}
}

/* What the fragments must add up to, found by this target's own reading. */
struct frags {
	const uint8_t *frame;
	bool plausible;		/* an IPv4 header the fragmenter could accept */
	const uint8_t *payload; /* the original's */
	size_t payload_len;
	uint16_t frag; /* the original's flags and offset */
	unsigned mtu;
	size_t pos; /* payload bytes seen so far */
	int count;
	bool more; /* the last fragment seen had MF set */
};

static void on_fragment(void *ctx, const uint8_t *frag, size_t len)
{
	struct frags *c = ctx;
	const uint8_t *ip = frag + 14;
	size_t hlen, tot;

	check(c->plausible);
	check(len >= 14 + 20 && len <= 14 + (size_t)c->mtu);
	check(memcmp(frag, c->frame, 14) == 0);
	hlen = (size_t)(ip[0] & 0xf) * 4;
	tot = weft_get_be16(ip + 2);
	check(ip[0] >> 4 == 4 && hlen >= 20 && tot >= hlen && len == 14 + tot);
	check(sum_ok(fx_sum(0, ip, hlen)));
	check(!(weft_get_be16(ip + 6) & 0x4000));
	check((weft_get_be16(ip + 6) & 0x1fff) == (c->frag & 0x1fff) + c->pos / 8);
	/* Only the last may hold a number of bytes that is not a multiple of 8. */
	check(c->count == 0 || c->pos % 8 == 0);
	check(c->pos + tot - hlen <= c->payload_len);
	check(memcmp(ip + hlen, c->payload + c->pos, tot - hlen) == 0);
	c->more = weft_get_be16(ip + 6) & 0x2000;
	c->pos += tot - hlen;
	c->count++;
	if (c->pos < c->payload_len)
		check(c->more);
}

static void fuzz_fragment(const uint8_t *frame, size_t len, unsigned mtu)
{
	struct frags c = {.frame = frame, .mtu = mtu};
	uint8_t *scratch = malloc(14 + (size_t)mtu); /* exactly what the header asks for */
	int r;

	check(scratch);
	if (len >= 14 + 20 && weft_get_be16(frame + 12) == 0x0800) {
		const uint8_t *ip = frame + 14;
		size_t hlen = (size_t)(ip[0] & 0xf) * 4, tot = weft_get_be16(ip + 2);

		c.plausible = hlen >= 20 && tot >= hlen && 14 + tot <= len;
		c.payload = ip + hlen;
		c.payload_len = c.plausible ? tot - hlen : 0;
		c.frag = weft_get_be16(ip + 6);
	}
	r = weft_toobig_fragment(frame, len, mtu, scratch, on_fragment, &c);
	if (r < 0) {
		check(c.count == 0);
	} else {
		check(r == c.count && r >= 1);
		check(c.pos == c.payload_len);
		check(c.more == !!(c.frag & 0x2000));
	}
	free(scratch);
}

/* The TCP checksum of @frame is valid (it is a whole IPv4/IPv6 TCP packet). */
static bool tcp_valid(const uint8_t *frame, size_t len)
{
	const uint8_t *ip = frame + 14;
	size_t hlen, seg;

	if (len < 14 + 40)
		return false;
	if (weft_get_be16(frame + 12) == 0x0800) {
		hlen = (size_t)(ip[0] & 0xf) * 4;
		if (ip[9] != 6 || hlen < 20 || weft_get_be16(ip + 2) < hlen ||
		    14 + (size_t)weft_get_be16(ip + 2) > len)
			return false;
		seg = weft_get_be16(ip + 2) - hlen;
	} else if (weft_get_be16(frame + 12) == 0x86dd) {
		hlen = 40;
		seg = weft_get_be16(ip + 4);
		if (ip[6] != 6 || 14 + 40 + seg > len)
			return false;
	} else {
		return false;
	}
	return sum_ok(pseudo_sum(ip, seg, 6) + fx_sum(0, ip + hlen, seg));
}

static void fuzz_clamp(const uint8_t *frame, size_t len, unsigned mtu)
{
	uint8_t *copy = malloc(len ? len : 1);

	check(copy);
	memcpy(copy, frame, len);
	if (weft_toobig_clamp_mss(copy, len, mtu)) {
		/* Only the checksum and the options (every MSS) may have changed. */
		size_t tcp = 14 + (frame[14] >> 4 == 4 ? (size_t)(frame[14] & 0xf) * 4 : 40);
		size_t opts_end = tcp + (size_t)(frame[tcp + 12] >> 4) * 4;

		check(opts_end <= len);
		check(memcmp(copy, frame, tcp + 16) == 0);
		check(memcmp(copy + tcp + 18, frame + tcp + 18, 2) == 0);
		check(memcmp(copy + opts_end, frame + opts_end, len - opts_end) == 0);
		if (tcp_valid(frame, len))
			check(tcp_valid(copy, len));
		/* Clamped once, nothing is left to clamp. */
		check(!weft_toobig_clamp_mss(copy, len, mtu));
	} else {
		check(memcmp(copy, frame, len) == 0);
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[WEFT_TOOBIG_ANSWER_MAX];
	const uint8_t *frame = data + 2;
	size_t len;
	unsigned mtu;
	enum weft_toobig_action action;
	size_t n;

	if (size < 2)
		return 0;
	mtu = MTU_MIN + weft_get_be16(data) % (MTU_MAX - MTU_MIN + 1);
	len = size - 2;

	action = weft_toobig_classify(frame, len);
	check(action == WEFT_TOOBIG_ICMP4 || action == WEFT_TOOBIG_ICMP6 ||
	      action == WEFT_TOOBIG_FRAGMENT || action == WEFT_TOOBIG_DROP);
	n = weft_toobig_answer(out, frame, len, mtu);
	check_answer(out, n, frame, len);
	if (n)
		check(action != WEFT_TOOBIG_DROP);
	fuzz_fragment(frame, len, mtu);
	fuzz_clamp(frame, len, mtu);
	return 0;
}
