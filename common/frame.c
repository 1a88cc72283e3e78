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
