/* SPDX-License-Identifier: MIT */
/* Receive-side coalescing. The first segment is copied whole into the
 * caller's buffer; each later one adds only its payload. Nothing is
 * rewritten until the end, so a superframe of one segment is that segment
 * byte for byte. Candidates are checked as GRO checks them, including the
 * TCP checksum: once merged, the receiving kernel trusts the partial
 * checksum of the superframe (CHECKSUM_PARTIAL is never verified on local
 * delivery), so a segment that arrived broken must not be laundered. */
#include "config.h"

#include "common/coalesce.h"

#include <string.h>

#include "common/bytes.h"

#define ETH_HLEN     14
#define IPV4_HLEN    20
#define IPV6_HLEN    40
#define TCP_HLEN_MIN 20
#define TCP_ACK	     0x10
#define TCP_PSH	     0x08
#define IPV4_DF	     0x4000
#define IPV4_MF_OFF  0x3fff
#define IP_MAX	     65535

static bool ipv4_ok(const uint8_t *ip, size_t len)
{
	return len >= ETH_HLEN + IPV4_HLEN && ip[0] == 0x45 &&
	       ETH_HLEN + (size_t)weft_get_be16(ip + 2) == len &&
	       !(weft_get_be16(ip + 6) & IPV4_MF_OFF) && ip[9] == 6 &&
	       weft_csum_fold(weft_csum_add(0, ip, IPV4_HLEN)) == 0xffff;
}

static bool ipv6_ok(const uint8_t *ip, size_t len)
{
	return len >= ETH_HLEN + IPV6_HLEN && ip[0] >> 4 == 6 && ip[6] == 6 &&
	       ETH_HLEN + IPV6_HLEN + (size_t)weft_get_be16(ip + 4) == len;
}

static bool parse(struct weft_coalesce_seg *s, const uint8_t *frame, size_t len, bool verify)
{
	const uint8_t *ip = frame + ETH_HLEN, *t;
	uint16_t type;
	size_t l4_len;

	if (len < ETH_HLEN)
		return false;
	type = weft_get_be16(frame + 12);
	if (type == 0x0800 && ipv4_ok(ip, len)) {
		s->version = 4;
		s->l4 = ETH_HLEN + IPV4_HLEN;
	} else if (type == 0x86dd && ipv6_ok(ip, len)) {
		s->version = 6;
		s->l4 = ETH_HLEN + IPV6_HLEN;
	} else {
		return false;
	}
	if (len < s->l4 + TCP_HLEN_MIN)
		return false;
	t = frame + s->l4;
	s->hdrs = s->l4 + (size_t)(t[12] >> 4) * 4;
	s->flags = t[13];
	if (s->hdrs < s->l4 + TCP_HLEN_MIN || s->hdrs >= len)
		return false;
	if ((s->flags & (uint8_t)~TCP_PSH) != TCP_ACK)
		return false;
	s->payload = len - s->hdrs;
	s->seq = weft_get_be32(t + 4);
	l4_len = len - s->l4;
	return !verify || weft_csum_fold(weft_csum_add(weft_csum_pseudo(ip, s->version, 6, l4_len),
						       t, l4_len)) == 0xffff;
}

bool weft_coalesce_parse(struct weft_coalesce_seg *s, const uint8_t *frame, size_t len)
{
	return parse(s, frame, len, true);
}

bool weft_coalesce_parse_partial(struct weft_coalesce_seg *s, const uint8_t *frame, size_t len)
{
	return parse(s, frame, len, false);
}

void weft_coalesce_start(struct weft_coalesce *c, uint8_t *buf, size_t cap, const uint8_t *frame,
			 size_t len, const struct weft_coalesce_seg *s)
{
	memcpy(buf, frame, len);
	c->buf = buf;
	c->cap = cap;
	c->len = len;
	c->first = *s;
	c->next_seq = s->seq + (uint32_t)s->payload;
	c->segs = 1;
	c->closed = (s->flags & TCP_PSH) != 0;
}

/* The IP header fields GRO wants equal, and the IPv4 ID in sequence. */
static bool same_ip(const struct weft_coalesce *c, const uint8_t *frame)
{
	const uint8_t *a = c->buf + ETH_HLEN, *b = frame + ETH_HLEN;

	if (c->first.version == 6)
		/* version, traffic class, flow label; next header, hop limit; addresses */
		return !memcmp(a, b, 4) && !memcmp(a + 6, b + 6, 34);
	if (a[1] != b[1] || a[8] != b[8] || memcmp(a + 12, b + 12, 8))
		return false;
	if ((weft_get_be16(a + 6) ^ weft_get_be16(b + 6)) & IPV4_DF)
		return false;
	/* An atomic datagram's ID means nothing (RFC 6864); others count up. */
	return (weft_get_be16(a + 6) & IPV4_DF) ||
	       weft_get_be16(b + 4) == (uint16_t)(weft_get_be16(a + 4) + c->segs);
}

bool weft_coalesce_append(struct weft_coalesce *c, const uint8_t *frame,
			  const struct weft_coalesce_seg *s)
{
	const uint8_t *a = c->buf + c->first.l4, *b = frame + s->l4;
	size_t hdrs = c->first.hdrs;

	if (c->closed || s->version != c->first.version || s->hdrs != hdrs)
		return false;
	if (s->seq != c->next_seq || s->payload > c->first.payload)
		return false;
	if (c->len + s->payload > c->cap || c->len - ETH_HLEN + s->payload > IP_MAX)
		return false;
	if (memcmp(c->buf, frame, ETH_HLEN) || !same_ip(c, frame))
		return false;
	/* ports; ACK number; data offset, flags but PSH, window; urgent
	 * pointer (meaningless without URG, but kept byte for byte); options */
	if (memcmp(a, b, 4) || memcmp(a + 8, b + 8, 5) || (a[13] ^ b[13]) & (uint8_t)~TCP_PSH ||
	    memcmp(a + 14, b + 14, 2) || memcmp(a + 18, b + 18, 2) ||
	    memcmp(a + TCP_HLEN_MIN, b + TCP_HLEN_MIN, hdrs - c->first.l4 - TCP_HLEN_MIN))
		return false;
	memcpy(c->buf + c->len, frame + hdrs, s->payload);
	c->len += s->payload;
	c->next_seq += (uint32_t)s->payload;
	c->segs++;
	if (s->payload < c->first.payload || (s->flags & TCP_PSH)) {
		c->closed = true;
		c->buf[c->first.l4 + 13] |= s->flags & TCP_PSH;
	}
	return true;
}

size_t weft_coalesce_finish(struct weft_coalesce *c, struct weft_gso_hdr *h)
{
	uint8_t *ip = c->buf + ETH_HLEN, *t = c->buf + c->first.l4;
	size_t l4_len = c->len - c->first.l4;
	uint16_t pseudo;

	memset(h, 0, sizeof(*h));
	if (c->segs < 2)
		return c->len;
	if (c->first.version == 4) {
		weft_put_be16(ip + 2, (uint16_t)(c->len - ETH_HLEN));
		ip[10] = ip[11] = 0;
		pseudo = (uint16_t)~weft_csum_fold(weft_csum_add(0, ip, IPV4_HLEN));
		memcpy(ip + 10, &pseudo, 2);
	} else {
		weft_put_be16(ip + 4, (uint16_t)(l4_len));
	}
	/* What the kernel leaves in a CHECKSUM_PARTIAL field: the folded
	 * pseudo-header sum, which the device adds the segment to. */
	pseudo = weft_csum_fold(weft_csum_pseudo(ip, c->first.version, 6, l4_len));
	memcpy(t + 16, &pseudo, 2);
	h->flags = WEFT_GSO_F_NEEDS_CSUM;
	h->gso_type = c->first.version == 4 ? WEFT_GSO_TCPV4 : WEFT_GSO_TCPV6;
	h->hdr_len = (uint16_t)c->first.hdrs;
	h->gso_size = (uint16_t)c->first.payload;
	h->csum_start = (uint16_t)c->first.l4;
	h->csum_offset = 16;
	return c->len;
}
