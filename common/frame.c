/* SPDX-License-Identifier: MIT */
#include <config.h>   /* autoconf's, not common/config.h */

#include <errno.h>

#include "common/frame.h"

char *weft_frame_format_mac(char buf[static WEFT_FRAME_MAC_STRLEN],
			    const uint8_t mac[static WEFT_FRAME_ALEN])
{
	static const char hex[] = "0123456789abcdef";
	char *p = buf;

	for (int i = 0; i < WEFT_FRAME_ALEN; i++) {
		if (i)
			*p++ = ':';
		*p++ = hex[mac[i] >> 4];
		*p++ = hex[mac[i] & 0xf];
	}
	*p = '\0';
	return buf;
}

enum weft_frame_verdict weft_frame_check_ingress(const uint8_t *frame, size_t len, size_t max_len)
{
	const uint8_t *src;

	if (weft_frame_is_runt(len))
		return WEFT_FRAME_RUNT;
	if (len > max_len) {
		bool tagged = frame[12] == (WEFT_FRAME_TPID_8021Q >> 8) &&
			      frame[13] == (WEFT_FRAME_TPID_8021Q & 0xff);

		if (!tagged || len - max_len > WEFT_FRAME_VLAN_LEN)
			return WEFT_FRAME_TOO_BIG;
	}
	if (weft_frame_is_link_local_control(weft_frame_dst(frame)))
		return WEFT_FRAME_LINK_LOCAL;
	src = weft_frame_src(frame);
	if (weft_frame_is_multicast(src) || weft_frame_is_zero(src))
		return WEFT_FRAME_BAD_SOURCE;
	return WEFT_FRAME_OK;
}

ssize_t weft_frame_copy_with_vlan(uint8_t *restrict out, size_t cap, const uint8_t *restrict in,
				  size_t len, uint16_t tpid, uint16_t tci)
{
	const size_t macs = 2 * WEFT_FRAME_ALEN;

	if (weft_frame_is_runt(len))
		return -EINVAL;
	if (cap < len || cap - len < WEFT_FRAME_VLAN_LEN)
		return -ENOBUFS;
	if (tpid == 0)
		tpid = WEFT_FRAME_TPID_8021Q;
	memcpy(out, in, macs);
	out[macs + 0] = (uint8_t)(tpid >> 8);
	out[macs + 1] = (uint8_t)tpid;
	out[macs + 2] = (uint8_t)(tci >> 8);
	out[macs + 3] = (uint8_t)tci;
	memcpy(out + macs + WEFT_FRAME_VLAN_LEN, in + macs, len - macs);
	return (ssize_t)(len + WEFT_FRAME_VLAN_LEN);
}

unsigned weft_frame_overlay_mtu(unsigned underlay_mtu, bool ipv6)
{
	unsigned overhead = (ipv6 ? WEFT_FRAME_IPV6_LEN : WEFT_FRAME_IPV4_LEN) +
			    WEFT_FRAME_UDP_LEN + WEFT_FRAME_WIRE_OVERHEAD + WEFT_FRAME_HDR_LEN;

	if (underlay_mtu < overhead + WEFT_FRAME_MTU_MIN)
		return 0;
	return underlay_mtu - overhead;
}

size_t weft_frame_max_len(unsigned mtu, bool vlan)
{
	return (size_t)mtu + WEFT_FRAME_HDR_LEN + (vlan ? WEFT_FRAME_VLAN_LEN : 0);
}

/* FNV-1a, 32 bits: short keys, spread enough for a bitmap of flows. */
static uint32_t fnv1a(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619U;
	return h;
}

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd

/* Transport protocols whose first four bytes are the two ports. */
static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 136;
}

uint32_t weft_frame_flow_hash(const uint8_t *frame, size_t len, uint16_t vlan_tci)
{
	uint8_t tci[2] = {(uint8_t)(vlan_tci >> 8), (uint8_t)vlan_tci};
	uint32_t h = fnv1a(2166136261U, tci, sizeof(tci));
	const uint8_t *ip = frame + WEFT_FRAME_HDR_LEN;
	size_t ip_len, l4;
	uint16_t type;
	uint8_t proto;

	if (len < WEFT_FRAME_HDR_LEN)
		return fnv1a(h, frame, len);
	h = fnv1a(h, frame, WEFT_FRAME_HDR_LEN);
	type = (uint16_t)(frame[12] << 8 | frame[13]);
	ip_len = len - WEFT_FRAME_HDR_LEN;
	if (type == ETHERTYPE_IPV4 && ip_len >= WEFT_FRAME_IPV4_LEN && ip[0] >> 4 == 4) {
		bool fragment = ((ip[6] & 0x3f) | ip[7]) != 0; /* MF or an offset */

		proto = ip[9];
		h = fnv1a(h, ip + 12, 8);
		h = fnv1a(h, &proto, 1);
		l4 = (size_t)(ip[0] & 0x0f) * 4;
		if (fragment || !has_ports(proto) || l4 < WEFT_FRAME_IPV4_LEN || ip_len < l4 + 4)
			return h;
		return fnv1a(h, ip + l4, 4);
	}
	if (type == ETHERTYPE_IPV6 && ip_len >= WEFT_FRAME_IPV6_LEN && ip[0] >> 4 == 6) {
		proto = ip[6];
		h = fnv1a(h, ip + 8, 32);
		h = fnv1a(h, &proto, 1);
		/* Extension headers (a fragment header among them) are not walked:
		 * such packets are keyed by their addresses alone. */
		if (!has_ports(proto) || ip_len < WEFT_FRAME_IPV6_LEN + 4)
			return h;
		return fnv1a(h, ip + WEFT_FRAME_IPV6_LEN, 4);
	}
	return h;
}
