/* SPDX-License-Identifier: MIT */
/*
 * Frames too big for the overlay path. The map:
 *
 * - ipv4_read() / ipv6_read() are the cheap reject every entry point shares:
 *   EtherType, version, a header that is in the frame, and how much of the
 *   packet the frame holds (@avail: the header's length field, cut to the
 *   capture; Ethernet padding is never part of it).
 * - weft_toobig_classify() picks what to do from those headers alone; the
 *   builders also check the IPv4 header checksum first, as a router does.
 * - weft_toobig_answer() builds the ICMP "fragmentation needed" (RFC 792,
 *   RFC 1191) or ICMPv6 "packet too big" (RFC 4443 3.2) that the destination
 *   would have sent, after the "may this be answered" tests of RFC 1122
 *   3.2.2 and RFC 4443 2.4(e): no error about an error, about a non-first
 *   fragment, to or from an address that is not one host's; and no answer
 *   that would carry a group MAC address as its source.
 * - weft_toobig_fragment() is RFC 791's fragmentation: the first fragment
 *   keeps every option, the others only the "copied" ones (RFC 791 3.1).
 * - weft_toobig_clamp_mss() lowers the MSS option of a TCP SYN and patches
 *   the checksum by RFC 1624 rather than summing the segment again.
 *
 * Checksums are the internet checksum of RFC 1071 over big-endian 16-bit
 * words. Nothing here allocates, logs or keeps state.
 */
#include <config.h>   /* autoconf's, not common/config.h */

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/frame.h"
#include "common/toobig.h"

#define ETH_LEN	      WEFT_FRAME_HDR_LEN
#define ETH_TYPE_IPV4 0x0800
#define ETH_TYPE_IPV6 0x86dd

#define IPV4_LEN     20
#define IPV4_MAX_LEN 60	    /* IHL 15 */
#define IPV4_RF	     0x8000 /* reserved flag */
#define IPV4_DF	     0x4000
#define IPV4_MF	     0x2000
#define IPV4_OFFSET  0x1fff /* in units of 8 bytes */
#define IPOPT_EOL    0
#define IPOPT_NOP    1
#define IPOPT_COPIED 0x80

#define IPV6_LEN	 40
#define IPV6_FRAG_OFFSET 0xfff8

#define PROTO_ICMP   1
#define PROTO_TCP    6
#define PROTO_ICMPV6 58

#define ICMP_LEN	    8	 /* type, code, checksum, 4 bytes of the message */
#define ICMP4_ANSWER_IP_MAX 576	 /* RFC 1812 4.3.2.3: an ICMP error fits 576 bytes */
#define ICMP6_ANSWER_IP_MAX 1280 /* RFC 4443 2.4(c): the IPv6 minimum MTU */

#define TCP_LEN	    20
#define TCP_SYN	    0x02
#define TCPOPT_EOL  0
#define TCPOPT_NOP  1
#define TCPOPT_MSS  2
#define TCP_MSS_LEN 4

_Static_assert(WEFT_TOOBIG_ANSWER_MAX == ETH_LEN + ICMP6_ANSWER_IP_MAX, "the largest answer");
_Static_assert(ICMP4_ANSWER_IP_MAX < ICMP6_ANSWER_IP_MAX, "the IPv4 answer is the smaller");

static size_t min_size(size_t a, size_t b)
{
	return a < b ? a : b;
}

/* ---- checksums ---------------------------------------------------------------- */

/* Adds @n bytes at @p to the running sum @sum. Only the last piece of a sum
 * may have an odd length. Good for far more than 64 KiB without overflow. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	for (; n > 1; p += 2, n -= 2)
		sum += weft_get_be16(p);
	if (n)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

/* The checksum field's value for a running sum: folded, complemented. */
static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/*
 * Writes @val at @seg + @off and updates the checksum at @check that covers
 * @seg, RFC 1624 eqn. 3: HC' = ~(~HC + ~m + m'). @off may be odd (a TCP
 * option after one NOP): then the value straddles two checksum words, both
 * of which are updated, so @seg + @off + 2 must be readable too.
 */
static void put_be16_csum(uint8_t *seg, size_t off, uint16_t val, uint8_t *check)
{
	size_t first = off & ~(size_t)1, end = (off + 3) & ~(size_t)1;
	uint32_t sum = (uint16_t)~weft_get_be16(check);

	for (size_t w = first; w < end; w += 2)
		sum += (uint16_t)~weft_get_be16(seg + w);
	weft_put_be16(seg + off, val);
	for (size_t w = first; w < end; w += 2)
		sum += weft_get_be16(seg + w);
	weft_put_be16(check, csum_fold(sum));
}

/* ---- headers -------------------------------------------------------------------- */

/* An IP packet found in a frame. */
struct ip_in_frame {
	size_t hlen;  /* IPv4: IHL * 4; IPv6: 40 (the fixed header) */
	size_t avail; /* bytes of the packet the frame holds: its length, cut to the frame */
};

/* The IPv4 header at @frame + 14 if the frame is IPv4 and the header is all
 * there: version 4, 5 <= IHL, a total length that covers the header. Its
 * checksum is left to ipv4_sum_ok(): classifying reads no more than it must. */
static const uint8_t *ipv4_read(struct ip_in_frame *ip, const uint8_t *frame, size_t len)
{
	const uint8_t *h = frame + ETH_LEN;
	size_t tot_len;

	if (len < ETH_LEN + IPV4_LEN || weft_get_be16(frame + 12) != ETH_TYPE_IPV4)
		return NULL;
	if (h[0] >> 4 != 4 || (h[0] & 0xf) < 5)
		return NULL;
	ip->hlen = (size_t)(h[0] & 0xf) * 4;
	tot_len = weft_get_be16(h + 2);
	if (ip->hlen > len - ETH_LEN || tot_len < ip->hlen)
		return NULL;
	ip->avail = min_size(tot_len, len - ETH_LEN);
	return h;
}

/* RFC 1812 5.2.2: a router checks the header checksum before it acts on a
 * header, lest a corrupted one be answered or fragmented into valid ones. */
static bool ipv4_sum_ok(const uint8_t *h, size_t hlen)
{
	return csum_fold(csum_add(0, h, hlen)) == 0;
}

/* The IPv6 header at @frame + 14 if the frame is IPv6 and the fixed header
 * is all there. A payload length of 0 (a jumbogram's) counts as 0. */
static const uint8_t *ipv6_read(struct ip_in_frame *ip, const uint8_t *frame, size_t len)
{
	const uint8_t *h = frame + ETH_LEN;

	if (len < ETH_LEN + IPV6_LEN || weft_get_be16(frame + 12) != ETH_TYPE_IPV6)
		return NULL;
	if (h[0] >> 4 != 6)
		return NULL;
	ip->hlen = IPV6_LEN;
	ip->avail = min_size(IPV6_LEN + (size_t)weft_get_be16(h + 4), len - ETH_LEN);
	return h;
}

/*
 * The upper-layer protocol of the IPv6 packet @h (@avail bytes) past the
 * extension headers (RFC 8200 4, and AH), with its offset in *@off; -1 when
 * it cannot be found: a header cut short, or a non-first fragment (whose
 * upper-layer header is in another fragment).
 */
static int ipv6_upper(const uint8_t *h, size_t avail, size_t *off)
{
	uint8_t next = h[6];
	size_t pos = IPV6_LEN;

	for (;;) {
		size_t ext;

		switch (next) {
		case 0:	 /* hop-by-hop options */
		case 43: /* routing */
		case 60: /* destination options */
			if (avail - pos < 2)
				return -1;
			ext = ((size_t)h[pos + 1] + 1) * 8;
			break;
		case 51: /* authentication header */
			if (avail - pos < 2)
				return -1;
			ext = ((size_t)h[pos + 1] + 2) * 4;
			break;
		case 44: /* fragment */
			if (avail - pos < 8 || (weft_get_be16(h + pos + 2) & IPV6_FRAG_OFFSET))
				return -1;
			ext = 8;
			break;
		default:
			*off = pos;
			return next;
		}
		if (ext > avail - pos)
			return -1;
		next = h[pos];
		pos += ext;
	}
}

/* ---- classify ----------------------------------------------------------------- */

enum weft_toobig_action weft_toobig_classify(const uint8_t *frame, size_t len)
{
	struct ip_in_frame ip;
	const uint8_t *h;

	if ((h = ipv4_read(&ip, frame, len)))
		return weft_get_be16(h + 6) & IPV4_DF ? WEFT_TOOBIG_ICMP4 : WEFT_TOOBIG_FRAGMENT;
	if (ipv6_read(&ip, frame, len))
		return WEFT_TOOBIG_ICMP6;
	return WEFT_TOOBIG_DROP;
}

/* ---- answer ------------------------------------------------------------------- */

/* RFC 1122 3.2.2: one host's address. Not "this network" (0/8, 0.0.0.0
 * included), loopback (127/8), multicast (224/4) or class E (240/4, the
 * limited broadcast included). */
static bool ipv4_is_host(const uint8_t a[static 4])
{
	return a[0] != 0 && a[0] != 127 && a[0] < 224;
}

/* RFC 4443 2.4(e): one node's address. Not ::, ::1 or multicast (ff00::/8). */
static bool ipv6_is_host(const uint8_t a[static 16])
{
	static const uint8_t zero[15];

	if (a[0] == 0xff)
		return false;
	return memcmp(a, zero, sizeof(zero)) != 0 || a[15] > 1;
}

/* The answer goes from the frame's destination back to its source, so both
 * MACs must be one station's. A group destination MAC is also a link-layer
 * broadcast, which RFC 1122 3.2.2 says not to answer. */
static bool macs_are_unicast(const uint8_t *frame)
{
	return !weft_frame_is_multicast(weft_frame_dst(frame)) &&
	       !weft_frame_is_multicast(weft_frame_src(frame));
}

/* Starts the answer to @frame: MACs swapped, EtherType @type. */
static void put_eth(uint8_t *out, const uint8_t *frame, uint16_t type)
{
	memcpy(out, weft_frame_src(frame), WEFT_FRAME_ALEN);
	memcpy(out + WEFT_FRAME_ALEN, weft_frame_dst(frame), WEFT_FRAME_ALEN);
	weft_put_be16(out + 12, type);
}

static bool ipv4_is_icmp_error(uint8_t type)
{
	switch (type) {
	case 3:	 /* destination unreachable */
	case 4:	 /* source quench */
	case 5:	 /* redirect */
	case 11: /* time exceeded */
	case 12: /* parameter problem */
		return true;
	default:
		return false;
	}
}

static bool ipv4_may_answer(const uint8_t *h, const struct ip_in_frame *ip)
{
	if (!ipv4_sum_ok(h, ip->hlen))
		return false;
	if (!ipv4_is_host(h + 12) || !ipv4_is_host(h + 16))
		return false;
	if (weft_get_be16(h + 6) & IPV4_OFFSET)
		return false;
	/* An ICMP message whose type is not in the frame may be an error. */
	if (h[9] == PROTO_ICMP && (ip->avail <= ip->hlen || ipv4_is_icmp_error(h[ip->hlen])))
		return false;
	return true;
}

static size_t answer_ipv4(uint8_t *out, const uint8_t *frame, const uint8_t *h,
			  const struct ip_in_frame *ip, unsigned mtu)
{
	size_t quote = min_size(ip->avail, ICMP4_ANSWER_IP_MAX - IPV4_LEN - ICMP_LEN);
	uint8_t *oh = out + ETH_LEN, *icmp = oh + IPV4_LEN;

	if (!ipv4_may_answer(h, ip))
		return 0;
	put_eth(out, frame, ETH_TYPE_IPV4);
	oh[0] = 0x45;
	oh[1] = 0xc0; /* precedence: internetwork control, as ICMP errors go */
	weft_put_be16(oh + 2, (uint16_t)(IPV4_LEN + ICMP_LEN + quote));
	weft_put_be16(oh + 4, 0); /* ID */
	weft_put_be16(oh + 6, 0); /* flags, offset: DF clear, any router may fragment it */
	oh[8] = 64;
	oh[9] = PROTO_ICMP;
	weft_put_be16(oh + 10, 0);
	memcpy(oh + 12, h + 16, 4);
	memcpy(oh + 16, h + 12, 4);
	weft_put_be16(oh + 10, csum_fold(csum_add(0, oh, IPV4_LEN)));

	icmp[0] = 3; /* destination unreachable */
	icmp[1] = 4; /* fragmentation needed and DF set */
	weft_put_be16(icmp + 2, 0);
	weft_put_be16(icmp + 4, 0);
	weft_put_be16(icmp + 6, (uint16_t)(mtu > 0xffff ? 0xffff : mtu));
	memcpy(icmp + ICMP_LEN, h, quote);
	weft_put_be16(icmp + 2, csum_fold(csum_add(0, icmp, ICMP_LEN + quote)));
	return ETH_LEN + IPV4_LEN + ICMP_LEN + quote;
}

static bool ipv6_may_answer(const uint8_t *h, const struct ip_in_frame *ip)
{
	size_t off;
	int upper;

	if (!ipv6_is_host(h + 8) || !ipv6_is_host(h + 24))
		return false;
	upper = ipv6_upper(h, ip->avail, &off);
	if (upper < 0)
		return false;
	/* Types 0..127 are errors (RFC 4443 2.1); an unseen type may be one. */
	if (upper == PROTO_ICMPV6 && (off >= ip->avail || h[off] < 128))
		return false;
	return true;
}

static size_t answer_ipv6(uint8_t *out, const uint8_t *frame, const uint8_t *h,
			  const struct ip_in_frame *ip, unsigned mtu)
{
	size_t quote = min_size(ip->avail, ICMP6_ANSWER_IP_MAX - IPV6_LEN - ICMP_LEN);
	size_t plen = ICMP_LEN + quote;
	uint8_t *oh = out + ETH_LEN, *icmp = oh + IPV6_LEN;
	uint32_t sum;

	if (!ipv6_may_answer(h, ip))
		return 0;
	put_eth(out, frame, ETH_TYPE_IPV6);
	weft_put_be32(oh, UINT32_C(6) << 28); /* traffic class 0, flow label 0 */
	weft_put_be16(oh + 4, (uint16_t)plen);
	oh[6] = PROTO_ICMPV6;
	oh[7] = 255;
	memcpy(oh + 8, h + 24, 16);
	memcpy(oh + 24, h + 8, 16);

	icmp[0] = 2; /* packet too big */
	icmp[1] = 0;
	weft_put_be16(icmp + 2, 0);
	weft_put_be32(icmp + 4, mtu);
	memcpy(icmp + ICMP_LEN, h, quote);
	/* Pseudo-header (RFC 8200 8.1): addresses, upper-layer length, next header. */
	sum = csum_add(0, oh + 8, 32);
	sum += (uint32_t)plen + PROTO_ICMPV6;
	sum = csum_add(sum, icmp, plen);
	weft_put_be16(icmp + 2, csum_fold(sum));
	return ETH_LEN + IPV6_LEN + plen;
}

size_t weft_toobig_answer(uint8_t *out, const uint8_t *frame, size_t len, unsigned mtu)
{
	struct ip_in_frame ip;
	const uint8_t *h;

	if (weft_frame_is_runt(len) || !macs_are_unicast(frame))
		return 0;
	if ((h = ipv4_read(&ip, frame, len)))
		return answer_ipv4(out, frame, h, &ip, mtu);
	if ((h = ipv6_read(&ip, frame, len)))
		return answer_ipv6(out, frame, h, &ip, mtu);
	return 0;
}

/* ---- fragment ----------------------------------------------------------------- */

/*
 * Writes into @out the header of the fragments after the first: @h's first
 * 20 bytes, then the options of @h (@hlen bytes) whose "copied" flag is set,
 * padded with EOL to a multiple of 4, and the IHL to match. Returns its
 * length, or 0 for options that run past the header (RFC 791: type, then a
 * length that counts type and length).
 */
static size_t later_header(uint8_t out[static IPV4_MAX_LEN], const uint8_t *h, size_t hlen)
{
	size_t n = IPV4_LEN, i = IPV4_LEN;

	memcpy(out, h, IPV4_LEN);
	while (i < hlen && h[i] != IPOPT_EOL) {
		size_t olen;

		if (h[i] == IPOPT_NOP) {
			i++;
			continue;
		}
		if (hlen - i < 2 || h[i + 1] < 2 || h[i + 1] > hlen - i)
			return 0;
		olen = h[i + 1];
		if (h[i] & IPOPT_COPIED) {
			memcpy(out + n, h + i, olen);
			n += olen;
		}
		i += olen;
	}
	while (n % 4)
		out[n++] = IPOPT_EOL;
	out[0] = (uint8_t)(0x40 | n / 4);
	return n;
}

int weft_toobig_fragment(const uint8_t *frame, size_t len, unsigned mtu, uint8_t *scratch,
			 void (*emit)(void *ctx, const uint8_t *frag, size_t frag_len), void *ctx)
{
	uint8_t later[IPV4_MAX_LEN];
	struct ip_in_frame ip;
	const uint8_t *h, *data;
	size_t later_len, payload, pos;
	uint16_t frag, offset;
	int count = 0;

	h = ipv4_read(&ip, frame, len);
	if (!h)
		return -EINVAL;
	frag = weft_get_be16(h + 6);
	payload = weft_get_be16(h + 2) - ip.hlen;
	if ((frag & IPV4_DF) || ip.avail < ip.hlen + payload || mtu < ip.hlen + 8)
		return -EINVAL;
	if (!ipv4_sum_ok(h, ip.hlen))
		return -EINVAL;
	later_len = later_header(later, h, ip.hlen);
	if (later_len == 0)
		return -EINVAL;

	if (ip.hlen + payload <= mtu) {
		memcpy(scratch, frame, ETH_LEN + ip.hlen + payload);
		emit(ctx, scratch, ETH_LEN + ip.hlen + payload);
		return 1;
	}
	/* Every fragment starts within the payload; its offset must fit 13 bits. */
	offset = frag & IPV4_OFFSET;
	if (offset + (payload - 1) / 8 > IPV4_OFFSET)
		return -EINVAL;

	data = h + ip.hlen;
	for (pos = 0; pos < payload; count++) {
		const uint8_t *fh = count == 0 ? h : later;
		size_t fhlen = count == 0 ? ip.hlen : later_len;
		size_t room = ((size_t)mtu - fhlen) & ~(size_t)7;
		size_t chunk = payload - pos;
		bool last = chunk <= room;
		uint16_t flags = (uint16_t)((frag & IPV4_RF) | (last ? frag & IPV4_MF : IPV4_MF));
		uint8_t *out = scratch + ETH_LEN;

		if (!last)
			chunk = room;
		memcpy(scratch, frame, ETH_LEN);
		memcpy(out, fh, fhlen);
		weft_put_be16(out + 2, (uint16_t)(fhlen + chunk));
		weft_put_be16(out + 6, (uint16_t)(flags | (offset + pos / 8)));
		weft_put_be16(out + 10, 0);
		weft_put_be16(out + 10, csum_fold(csum_add(0, out, fhlen)));
		memcpy(out + fhlen, data + pos, chunk);
		emit(ctx, scratch, ETH_LEN + fhlen + chunk);
		pos += chunk;
	}
	return count;
}

/* ---- MSS clamping ------------------------------------------------------------- */

bool weft_toobig_clamp_mss(uint8_t *frame, size_t len, unsigned mtu)
{
	struct ip_in_frame ip;
	const uint8_t *h;
	uint8_t *tcp;
	size_t seg, doff, i;
	unsigned overhead;
	uint16_t max;
	bool changed = false;

	if ((h = ipv4_read(&ip, frame, len))) {
		if (h[9] != PROTO_TCP || (weft_get_be16(h + 6) & IPV4_OFFSET))
			return false;
		overhead = IPV4_LEN + TCP_LEN;
	} else if ((h = ipv6_read(&ip, frame, len))) {
		if (h[6] != PROTO_TCP)
			return false;
		overhead = IPV6_LEN + TCP_LEN;
	} else {
		return false;
	}
	if (mtu <= overhead)
		return false;
	max = (uint16_t)(mtu - overhead > 0xffff ? 0xffff : mtu - overhead);
	tcp = frame + ETH_LEN + ip.hlen;
	seg = ip.avail - ip.hlen;
	if (seg < TCP_LEN || !(tcp[13] & TCP_SYN))
		return false;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < TCP_LEN || doff > seg)
		return false;

	/* As a receiver reads them: up to EOL, the end of the header or the first
	 * option whose length is impossible, keeping the MSS read before it. */
	for (i = TCP_LEN; i < doff && tcp[i] != TCPOPT_EOL;) {
		if (tcp[i] == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (doff - i < 2 || tcp[i + 1] < 2 || tcp[i + 1] > doff - i)
			break;
		if (tcp[i] == TCPOPT_MSS && tcp[i + 1] == TCP_MSS_LEN &&
		    weft_get_be16(tcp + i + 2) > max) {
			put_be16_csum(tcp, i + 2, max, tcp + 16);
			changed = true;
		}
		i += tcp[i + 1];
	}
	return changed;
}
