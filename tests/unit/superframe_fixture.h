/* SPDX-License-Identifier: MIT */
/* Reference frames for the segmentation and coalescing tests (and their
 * fuzz targets): TCP and UDP over IPv4 and IPv6, optionally 802.1Q-tagged,
 * built field by field with checksums summed byte by byte, independently of
 * common/gso.c. */
#ifndef WEFT_TEST_SUPERFRAME_FIXTURE_H
#define WEFT_TEST_SUPERFRAME_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/bytes.h"

#define FX_TCP_FIN 0x01
#define FX_TCP_SYN 0x02
#define FX_TCP_RST 0x04
#define FX_TCP_PSH 0x08
#define FX_TCP_ACK 0x10
#define FX_TCP_URG 0x20
#define FX_TCP_ECE 0x40
#define FX_TCP_CWR 0x80

struct fx_pkt {
	unsigned version; /* 4 or 6 */
	bool udp;
	bool vlan; /* an 802.1Q tag (TCI 42) inline */
	uint16_t ip_id;
	bool df;
	uint8_t ttl, tos;
	uint32_t flow;	 /* IPv6 flow label */
	size_t ip_opts;	 /* IPv4 option bytes (NOPs), a multiple of 4 */
	size_t tcp_opts; /* TCP option bytes: NOP NOP timestamps, then NOPs */
	uint32_t tsval;
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window;
	const uint8_t *payload;
	size_t payload_len;
};

static inline uint32_t fx_sum(uint32_t sum, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sum += i % 2 ? p[i] : (uint32_t)p[i] << 8;
	return sum;
}

static inline uint16_t fx_fold(uint32_t sum)
{
	while (sum > 0xffff)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static inline uint32_t fx_pseudo(const uint8_t *ip, unsigned version, uint8_t proto, size_t len)
{
	uint8_t ph[40];

	if (version == 4) {
		memcpy(ph, ip + 12, 8);
		ph[8] = 0;
		ph[9] = proto;
		weft_put_be16(ph + 10, (uint16_t)len);
		return fx_sum(0, ph, 12);
	}
	memcpy(ph, ip + 8, 32);
	weft_put_be32(ph + 32, (uint32_t)len);
	ph[36] = ph[37] = ph[38] = 0;
	ph[39] = proto;
	return fx_sum(0, ph, 40);
}

/* Offsets of a frame fx_build() made. */
static inline size_t fx_l3(const struct fx_pkt *p)
{
	return p->vlan ? 18 : 14;
}

static inline size_t fx_l4(const struct fx_pkt *p)
{
	return fx_l3(p) + (p->version == 4 ? 20 + p->ip_opts : 40);
}

static inline size_t fx_hdrs(const struct fx_pkt *p)
{
	return fx_l4(p) + (p->udp ? 8 : 20 + p->tcp_opts);
}

/* Writes the frame @p describes at @f and returns its length. @partial:
 * leave the L4 checksum as a device would get it (the pseudo-header's sum). */
static inline size_t fx_build_ex(uint8_t *f, const struct fx_pkt *p, bool partial)
{
	static const uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x21}, src[6] = {0x02, 0, 0, 0, 0, 0x11};
	static const uint8_t a4[8] = {192, 168, 77, 11, 192, 168, 77, 21};
	size_t l3 = fx_l3(p), l4 = fx_l4(p), hdrs = fx_hdrs(p), len = hdrs + p->payload_len;
	size_t l4_len = len - l4;
	uint8_t proto = p->udp ? 17 : 6;
	uint8_t *ip = f + l3, *t = f + l4;
	uint32_t sum;

	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	if (p->vlan) {
		weft_put_be16(f + 12, 0x8100);
		weft_put_be16(f + 14, 42);
	}
	weft_put_be16(f + l3 - 2, p->version == 4 ? 0x0800 : 0x86dd);
	if (p->version == 4) {
		ip[0] = (uint8_t)(0x40 | (20 + p->ip_opts) / 4);
		ip[1] = p->tos;
		weft_put_be16(ip + 2, (uint16_t)(len - l3));
		weft_put_be16(ip + 4, p->ip_id);
		weft_put_be16(ip + 6, p->df ? 0x4000 : 0);
		ip[8] = p->ttl ? p->ttl : 64;
		ip[9] = proto;
		ip[10] = ip[11] = 0;
		memcpy(ip + 12, a4, 8);
		memset(ip + 20, 1, p->ip_opts);
		weft_put_be16(ip + 10, (uint16_t)~fx_fold(fx_sum(0, ip, 20 + p->ip_opts)));
	} else {
		weft_put_be32(ip, 6U << 28 | (uint32_t)p->tos << 20 | (p->flow & 0xfffff));
		weft_put_be16(ip + 4, (uint16_t)l4_len);
		ip[6] = proto;
		ip[7] = p->ttl ? p->ttl : 64;
		memset(ip + 8, 0, 32);
		ip[8] = ip[24] = 0xfd;
		ip[23] = 0x11;
		ip[39] = 0x21;
	}
	weft_put_be16(t, p->sport);
	weft_put_be16(t + 2, p->dport);
	if (p->udp) {
		weft_put_be16(t + 4, (uint16_t)l4_len);
		t[6] = t[7] = 0;
	} else {
		weft_put_be32(t + 4, p->seq);
		weft_put_be32(t + 8, p->ack);
		t[12] = (uint8_t)((20 + p->tcp_opts) / 4 << 4);
		t[13] = p->flags;
		weft_put_be16(t + 14, p->window);
		t[16] = t[17] = t[18] = t[19] = 0;
		memset(t + 20, 1, p->tcp_opts);
		if (p->tcp_opts >= 12) {
			t[22] = 8;
			t[23] = 10;
			weft_put_be32(t + 24, p->tsval);
			weft_put_be32(t + 28, 0x01020304);
		}
	}
	memcpy(f + hdrs, p->payload, p->payload_len);
	sum = fx_pseudo(ip, p->version, proto, l4_len);
	if (partial) {
		weft_put_be16(t + (p->udp ? 6 : 16), fx_fold(sum));
	} else {
		uint16_t c = (uint16_t)~fx_fold(fx_sum(sum, t, l4_len));

		weft_put_be16(t + (p->udp ? 6 : 16), p->udp && c == 0 ? 0xffff : c);
	}
	return len;
}

static inline size_t fx_build(uint8_t *f, const struct fx_pkt *p)
{
	return fx_build_ex(f, p, false);
}

/* The L4 checksum of the frame @p describes (built at @f) verifies. */
static inline bool fx_l4_ok(const uint8_t *f, size_t len, const struct fx_pkt *p)
{
	const uint8_t *ip = f + fx_l3(p);
	size_t l4_len = len - fx_l4(p);

	return fx_fold(fx_pseudo(ip, p->version, p->udp ? 17 : 6, l4_len) +
		       fx_sum(0, f + fx_l4(p), l4_len)) == 0xffff;
}

#endif
