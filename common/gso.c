/* SPDX-License-Identifier: MIT */
/* Segmentation as the kernel's tcp_gso_segment / __udp_gso_segment /
 * inet_gso_segment / ipv6_gso_segment do it, for the superframes a
 * PACKET_VNET_HDR capture hands over. The headers of the first segment are
 * kept aside (tmpl); each later segment's are copied in front of its
 * payload and rewritten there, so no payload byte moves and nothing is
 * allocated. Checksums are completed rather than left partial: the wire
 * carries no checksum state, and the receiving weftd verifies every TCP
 * segment before it merges segments again (common/coalesce.c). */
#include "config.h"

#include "common/gso.h"

#include <errno.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
/* The internet checksum with AVX2 where the CPU has it (checked per call:
 * __builtin_cpu_supports reads what libgcc found at start-up). */
#define CSUM_AVX2 1
#endif

#include "common/bytes.h"

#define ETH_HLEN      14
#define ETH_P_IP      0x0800
#define ETH_P_IPV6    0x86dd
#define ETH_P_8021Q   0x8100
#define ETH_P_8021AD  0x88a8
#define IPPROTO_TCP_  6
#define IPPROTO_UDP_  17
#define TCP_HLEN_MIN  20
#define UDP_HLEN      8
#define TCP_FLAG_FIN  0x01
#define TCP_FLAG_PSH  0x08
#define TCP_FLAG_CWR  0x80
#define IPV4_MF_OFF   0x3fff /* MF and the fragment offset */
#define MAX_VLAN_TAGS 2

static uint16_t get16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

void weft_gso_hdr_parse(struct weft_gso_hdr *h, const uint8_t raw[static WEFT_GSO_HDR_LEN])
{
	h->flags = raw[0];
	h->gso_type = raw[1];
	h->hdr_len = get16(raw + 2);
	h->gso_size = get16(raw + 4);
	h->csum_start = get16(raw + 6);
	h->csum_offset = get16(raw + 8);
}

void weft_gso_hdr_put(uint8_t raw[static WEFT_GSO_HDR_LEN], const struct weft_gso_hdr *h)
{
	raw[0] = h->flags;
	raw[1] = h->gso_type;
	put16(raw + 2, h->hdr_len);
	put16(raw + 4, h->gso_size);
	put16(raw + 6, h->csum_start);
	put16(raw + 8, h->csum_offset);
}

/* ---- the internet checksum -------------------------------------------------------- */

/* Four 64-bit accumulators of 32-bit host-order words: no carry to chase
 * (2^32 words fit each), independent additions the CPU runs side by side,
 * 1.7x the speed of one 64-bit sum with end-around carries (49 vs 83 ns for
 * 1448 bytes here). The sum of 32-bit words is the one's complement sum of
 * their 16-bit halves once folded. */
static uint64_t add_carry(uint64_t a, uint64_t b)
{
	a += b;
	return a + (a < b);
}

#ifdef CSUM_AVX2
/* Below this the AVX2 loop does not pay for its set-up and reduction. */
#define CSUM_AVX2_MIN 128

/* The same 32-bit words added in 64-bit lanes, 64 bytes a turn: 2.0x the
 * four scalar accumulators for a 1448-byte segment (18-28 against 41-57 ns
 * on the AMD VM). Only whole 64-byte blocks: @n % 64 == 0. */
__attribute__((target("avx2"))) static uint64_t sum_avx2(const uint8_t *p, size_t n)
{
	const __m256i lo = _mm256_set1_epi64x(0xffffffff);
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, x, y;
	uint64_t lane[4];

	for (; n; p += 64, n -= 64) {
		memcpy(&x, p, 32);
		memcpy(&y, p + 32, 32);
		a0 = _mm256_add_epi64(a0, _mm256_and_si256(x, lo));
		a1 = _mm256_add_epi64(a1, _mm256_srli_epi64(x, 32));
		a2 = _mm256_add_epi64(a2, _mm256_and_si256(y, lo));
		a3 = _mm256_add_epi64(a3, _mm256_srli_epi64(y, 32));
	}
	/* Each lane holds at most n / 64 words below 2^32: no carry out. */
	x = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
	memcpy(lane, &x, sizeof(lane));
	return add_carry(add_carry(lane[0], lane[1]), add_carry(lane[2], lane[3]));
}
#endif

uint64_t weft_csum_add(uint64_t sum, const uint8_t *p, size_t n)
{
	uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0, w;
	uint32_t a, b, c, d;

#ifdef CSUM_AVX2
	if (n >= CSUM_AVX2_MIN && __builtin_cpu_supports("avx2")) {
		size_t whole = n & ~(size_t)63;

		sum = add_carry(sum, sum_avx2(p, whole));
		p += whole;
		n -= whole;
	}
#endif
	while (n >= 16) {
		memcpy(&a, p, 4);
		memcpy(&b, p + 4, 4);
		memcpy(&c, p + 8, 4);
		memcpy(&d, p + 12, 4);
		s0 += a;
		s1 += b;
		s2 += c;
		s3 += d;
		p += 16;
		n -= 16;
	}
	sum = add_carry(sum, add_carry(add_carry(s0, s1), add_carry(s2, s3)));
	while (n >= 4) {
		memcpy(&a, p, 4);
		sum = add_carry(sum, a);
		p += 4;
		n -= 4;
	}
	if (n >= 2) {
		sum = add_carry(sum, get16(p));
		p += 2;
		n -= 2;
	}
	if (n) {
		/* The odd byte is the high half of a big-endian word padded with zero. */
		uint8_t last[2] = {p[0], 0};

		w = get16(last);
		sum = add_carry(sum, w);
	}
	return sum;
}

uint64_t weft_csum_add_be16(uint64_t sum, uint16_t v)
{
	uint8_t b[2];

	weft_put_be16(b, v);
	/* The word as weft_csum_add() reads it from memory, without a call:
	 * the pseudo-header takes two or three of these per segment. */
	return add_carry(sum, get16(b));
}

uint16_t weft_csum_fold(uint64_t sum)
{
	sum = (sum & 0xffffffffU) + (sum >> 32);
	sum = (sum & 0xffffffffU) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* @n 32-bit words at @p added to @sum, inline: the addresses of a pseudo-header. */
static uint64_t add_words(uint64_t sum, const uint8_t *p, size_t n)
{
	uint32_t w;

	for (size_t i = 0; i < n; i++) {
		memcpy(&w, p + 4 * i, 4);
		sum = add_carry(sum, w);
	}
	return sum;
}

uint64_t weft_csum_pseudo(const uint8_t *ip, unsigned version, uint8_t proto, size_t l4_len)
{
	uint64_t sum;

	if (version == 4) {
		sum = add_words(0, ip + 12, 2);
		sum = weft_csum_add_be16(sum, (uint16_t)l4_len);
	} else {
		sum = add_words(0, ip + 8, 8);
		sum = weft_csum_add_be16(sum, (uint16_t)(l4_len >> 16));
		sum = weft_csum_add_be16(sum, (uint16_t)l4_len);
	}
	return weft_csum_add_be16(sum, proto);
}

/* ---- frames the kernel left for a device ------------------------------------------ */

int weft_gso_l3(const uint8_t *frame, size_t len, size_t *l3, uint16_t *ethertype)
{
	size_t off = 12;
	uint16_t type;

	if (len < ETH_HLEN)
		return -EINVAL;
	type = weft_get_be16(frame + off);
	for (int i = 0; i < MAX_VLAN_TAGS && (type == ETH_P_8021Q || type == ETH_P_8021AD); i++) {
		off += 4;
		if (len < off + 2)
			return -EINVAL;
		type = weft_get_be16(frame + off);
	}
	*l3 = off + 2;
	*ethertype = type;
	return 0;
}

/* A partial checksum finished: the field at @field, which holds the folded
 * pseudo-header sum, becomes the complement of the sum of @start..@end (0
 * written as 0xffff, which UDP needs and TCP does not mind). */
static void finish_csum(uint8_t *frame, size_t start, size_t field, size_t end)
{
	uint16_t v = (uint16_t)~weft_csum_fold(weft_csum_add(0, frame + start, end - start));

	put16(frame + field, v ? v : 0xffff);
}

int weft_gso_complete_csum(uint8_t *frame, size_t len, const struct weft_gso_hdr *h)
{
	size_t start = h->csum_start, field = start + h->csum_offset;

	if (start >= len || field + 2 > len)
		return -EINVAL;
	finish_csum(frame, start, field, len);
	return 0;
}

int weft_csum_partial_locate(const uint8_t *frame, size_t len, size_t *start, size_t *field,
			     size_t *end)
{
	size_t l3, l4, ip_end;
	uint16_t type;
	uint8_t proto;

	if (weft_gso_l3(frame, len, &l3, &type) < 0)
		return -EINVAL;
	if (type == ETH_P_IP) {
		const uint8_t *ip = frame + l3;

		if (len < l3 + 20 || ip[0] >> 4 != 4 || (ip[0] & 0x0f) < 5 ||
		    (weft_get_be16(ip + 6) & IPV4_MF_OFF))
			return -EINVAL;
		l4 = l3 + (size_t)(ip[0] & 0x0f) * 4;
		ip_end = l3 + weft_get_be16(ip + 2);
		proto = ip[9];
	} else if (type == ETH_P_IPV6) {
		const uint8_t *ip = frame + l3;

		if (len < l3 + 40 || ip[0] >> 4 != 6)
			return -EINVAL;
		l4 = l3 + 40;
		ip_end = l4 + weft_get_be16(ip + 4);
		proto = ip[6];
	} else {
		return -EINVAL;
	}
	if (proto != IPPROTO_TCP_ && proto != IPPROTO_UDP_)
		return -EINVAL;
	if (ip_end > len || ip_end < l4 + (proto == IPPROTO_TCP_ ? TCP_HLEN_MIN : UDP_HLEN))
		return -EINVAL;
	*start = l4;
	*field = l4 + (proto == IPPROTO_TCP_ ? 16 : 6);
	*end = ip_end;
	return 0;
}

int weft_csum_partial_complete(uint8_t *frame, size_t len)
{
	size_t start, field, end;

	if (weft_csum_partial_locate(frame, len, &start, &field, &end) < 0)
		return -EINVAL;
	finish_csum(frame, start, field, end);
	return 0;
}

/* ---- segmentation ----------------------------------------------------------------- */

void weft_gso_leave_partial(struct weft_gso *g)
{
	g->partial = true;
}

/* The IP and L4 headers of @frame for a GSO type: offsets into @g. */
static int read_headers(struct weft_gso *g, const struct weft_gso_hdr *h)
{
	const uint8_t *f = g->frame, *ip;
	uint8_t type = h->gso_type & (uint8_t)~WEFT_GSO_ECN;
	uint16_t ethertype;
	size_t l4_hlen;

	if (weft_gso_l3(f, g->len, &g->l3, &ethertype) < 0)
		return -EINVAL;
	ip = f + g->l3;
	if (ethertype == ETH_P_IP) {
		size_t ihl;

		if (g->len < g->l3 + 20 || ip[0] >> 4 != 4 ||
		    (ihl = (size_t)(ip[0] & 0xf) * 4) < 20)
			return -EINVAL;
		if (weft_get_be16(ip + 6) & IPV4_MF_OFF)
			return -EINVAL;
		g->version = 4;
		g->proto = ip[9];
		g->l4 = g->l3 + ihl;
	} else if (ethertype == ETH_P_IPV6) {
		if (g->len < g->l3 + 40 || ip[0] >> 4 != 6)
			return -EINVAL;
		g->version = 6;
		g->proto = ip[6];
		g->l4 = g->l3 + 40;
	} else {
		return -EINVAL;
	}
	if (type == WEFT_GSO_TCPV4 || type == WEFT_GSO_TCPV6) {
		if ((type == WEFT_GSO_TCPV4) != (g->version == 4) || g->proto != IPPROTO_TCP_)
			return -EINVAL;
		if (g->len < g->l4 + TCP_HLEN_MIN)
			return -EINVAL;
		l4_hlen = (size_t)(f[g->l4 + 12] >> 4) * 4;
		if (l4_hlen < TCP_HLEN_MIN)
			return -EINVAL;
		g->tcp = true;
	} else {
		if (g->proto != IPPROTO_UDP_)
			return -EINVAL;
		l4_hlen = UDP_HLEN;
		g->tcp = false;
	}
	g->hdrs = g->l4 + l4_hlen;
	if (g->hdrs > g->len || g->hdrs > WEFT_GSO_MAX_HDRS)
		return -EINVAL;
	if ((h->flags & WEFT_GSO_F_NEEDS_CSUM) && h->csum_start != g->l4)
		return -EINVAL;
	return 0;
}

int weft_gso_start(struct weft_gso *g, uint8_t *frame, size_t len, const struct weft_gso_hdr *h)
{
	uint8_t type = h->gso_type & (uint8_t)~WEFT_GSO_ECN;
	size_t payload;
	int ret;

	if (type != WEFT_GSO_TCPV4 && type != WEFT_GSO_TCPV6 && type != WEFT_GSO_UDP_L4)
		return -EPROTONOSUPPORT;
	if (h->gso_size == 0)
		return -EINVAL;
	memset(g, 0, offsetof(struct weft_gso, tmpl));
	g->frame = frame;
	g->len = len;
	ret = read_headers(g, h);
	if (ret < 0)
		return ret;
	memcpy(g->tmpl, frame, g->hdrs);
	g->mss = h->gso_size;
	payload = len - g->hdrs;
	if (g->version == 4)
		g->ip_id = weft_get_be16(frame + g->l3 + 4);
	if (g->tcp)
		g->seq = weft_get_be32(frame + g->l4 + 4);
	/* The length goes in per segment. */
	g->pseudo = weft_csum_pseudo(frame + g->l3, g->version, g->proto, 0);
	return payload <= g->mss ? 1 : (int)((payload + g->mss - 1) / g->mss);
}

bool weft_gso_next(struct weft_gso *g, uint8_t **seg, size_t *seg_len)
{
	size_t payload = g->len - g->hdrs, take, l4_len, seg_l4;
	uint8_t *s, *ip, *l4;
	bool first = g->index == 0, last;
	uint64_t sum;
	uint16_t check;

	if (g->pos >= payload && !(first && payload == 0))
		return false;
	take = payload - g->pos < g->mss ? payload - g->pos : g->mss;
	last = g->pos + take >= payload;
	/* Segment k starts hdrs bytes before its payload. */
	s = g->frame + g->pos;
	if (!first)
		memcpy(s, g->tmpl, g->hdrs);
	ip = s + g->l3;
	l4 = s + g->l4;
	seg_l4 = g->l4;
	l4_len = g->hdrs - seg_l4 + take;

	if (g->version == 4) {
		weft_put_be16(ip + 2, (uint16_t)(g->hdrs - g->l3 + take));
		weft_put_be16(ip + 4, (uint16_t)(g->ip_id + g->index));
		ip[10] = ip[11] = 0;
		put16(ip + 10, (uint16_t)~weft_csum_fold(weft_csum_add(0, ip, g->l4 - g->l3)));
	} else {
		weft_put_be16(ip + 4, (uint16_t)(g->hdrs - g->l3 - 40 + take));
	}
	if (g->tcp) {
		weft_put_be32(l4 + 4, g->seq + (uint32_t)g->pos);
		if (!first)
			l4[13] &= (uint8_t)~TCP_FLAG_CWR;
		if (!last)
			l4[13] &= (uint8_t) ~(TCP_FLAG_FIN | TCP_FLAG_PSH);
		l4[16] = l4[17] = 0;
	} else {
		weft_put_be16(l4 + 4, (uint16_t)l4_len);
		l4[6] = l4[7] = 0;
	}
	sum = g->pseudo;
	if (g->version == 4) {
		sum = weft_csum_add_be16(sum, (uint16_t)l4_len);
	} else {
		sum = weft_csum_add_be16(sum, (uint16_t)(l4_len >> 16));
		sum = weft_csum_add_be16(sum, (uint16_t)l4_len);
	}
	if (g->partial) {
		/* What the kernel leaves for a device: the receiver adds the rest. */
		check = weft_csum_fold(sum);
	} else {
		sum = weft_csum_add(sum, l4, l4_len);
		check = (uint16_t)~weft_csum_fold(sum);
		if (!g->tcp && check == 0)
			check = 0xffff; /* 0 means "no checksum" to UDP */
	}
	put16(l4 + (g->tcp ? 16 : 6), check);

	*seg = s;
	*seg_len = g->hdrs + take;
	g->pos += take;
	g->index++;
	if (payload == 0)
		g->pos = 1; /* the one segment of a bare header is out */
	return true;
}
