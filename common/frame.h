/* SPDX-License-Identifier: MIT */
/* Ethernet frame helpers: MAC access and classes, 802.1Q re-tagging, MTU arithmetic. */
#ifndef WEFT_FRAME_H
#define WEFT_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "common/weft.h"

#define WEFT_FRAME_ALEN	      6
#define WEFT_FRAME_HDR_LEN    14		 /* destination, source, EtherType */
#define WEFT_FRAME_MIN_LEN    WEFT_FRAME_HDR_LEN /* shorter is a runt */
#define WEFT_FRAME_VLAN_LEN   4			 /* TPID, TCI */
#define WEFT_FRAME_TPID_8021Q 0x8100
#define WEFT_FRAME_MAC_STRLEN 18 /* "xx:xx:xx:xx:xx:xx" and its NUL */

/*
 * Bytes a weft DATA datagram adds around one frame, below IP/UDP: type and
 * reserved (4), receiver index (4), counter (8), AEAD tag (16), record header
 * (3). This is the one place the MTU arithmetic takes it from; common/wire
 * will own the wire overhead constants (WEFT_WIRE_OVERHEAD) and this should
 * then be defined from there.
 */
#define WEFT_FRAME_WIRE_OVERHEAD 35
#define WEFT_FRAME_IPV4_LEN	 20
#define WEFT_FRAME_IPV6_LEN	 40
#define WEFT_FRAME_UDP_LEN	 8

/* The smallest overlay MTU worth running: IPv4's minimum (RFC 791). */
#define WEFT_FRAME_MTU_MIN 68

static inline const uint8_t *weft_frame_dst(const uint8_t *frame)
{
	return frame;
}

static inline const uint8_t *weft_frame_src(const uint8_t *frame)
{
	return frame + WEFT_FRAME_ALEN;
}

static inline bool weft_frame_is_runt(size_t len)
{
	return len < WEFT_FRAME_MIN_LEN;
}

/* The group bit: multicast, broadcast included. */
static inline bool weft_frame_is_multicast(const uint8_t mac[static WEFT_FRAME_ALEN])
{
	return mac[0] & 1;
}

static inline bool weft_frame_is_broadcast(const uint8_t mac[static WEFT_FRAME_ALEN])
{
	return (mac[0] & mac[1] & mac[2] & mac[3] & mac[4] & mac[5]) == 0xff;
}

static inline bool weft_frame_is_zero(const uint8_t mac[static WEFT_FRAME_ALEN])
{
	return (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0;
}

/*
 * 01:80:c2:00:00:00 .. 01:80:c2:00:00:0f: IEEE 802.1D reserved addresses
 * (STP, LACP, pause, 802.1X, LLDP). A bridge must not forward these, so
 * neither does the overlay.
 */
static inline bool weft_frame_is_link_local_control(const uint8_t mac[static WEFT_FRAME_ALEN])
{
	static const uint8_t base[5] = {0x01, 0x80, 0xc2, 0x00, 0x00};

	return memcmp(mac, base, sizeof(base)) == 0 && (mac[5] & 0xf0) == 0;
}

/* Why a frame from a peer may not go into our bridge, cheapest check first. */
enum weft_frame_verdict {
	WEFT_FRAME_OK = 0,
	WEFT_FRAME_RUNT,       /* shorter than 14 bytes */
	WEFT_FRAME_TOO_BIG,    /* longer than the bridge port carries */
	WEFT_FRAME_LINK_LOCAL, /* to 01:80:c2:00:00:0x */
	WEFT_FRAME_BAD_SOURCE, /* from a group or the zero address: no station sends so */
};

/*
 * The ingress filter: whether frame @frame of @len bytes, received from a
 * peer, may be injected into a bridge port whose longest untagged frame is
 * @max_len (MTU + 14; an 802.1Q-tagged frame may be 4 bytes longer, as the
 * kernel allows). A bridge keeps link-local control frames (STP, LACP,
 * 802.1X, LLDP) to its own segment, and the overlay is one segment with the
 * bridges weft joins: a peer must not speak those protocols to our bridge
 * any more than we forward ours to it.
 */
enum weft_frame_verdict weft_frame_check_ingress(const uint8_t *frame, size_t len, size_t max_len);

/* Writes "xx:xx:xx:xx:xx:xx" (lower case) into @buf and returns @buf. */
char *weft_frame_format_mac(char buf[static WEFT_FRAME_MAC_STRLEN],
			    const uint8_t mac[static WEFT_FRAME_ALEN]);

/*
 * Copies frame @in (@len bytes) into @out with an 802.1Q tag (@tpid, @tci)
 * inserted after the two MACs, as it was on the wire before the AF_PACKET
 * ring moved it into tp_vlan_tci/tp_vlan_tpid. @tpid 0 means 0x8100 (what
 * the kernel implies when TP_STATUS_VLAN_TPID_VALID is not set). @out and
 * @in must not overlap. Returns the length written (@len + 4), -EINVAL for a
 * runt, -ENOBUFS if @cap is too small.
 */
ssize_t weft_frame_copy_with_vlan(uint8_t *restrict out, size_t cap, const uint8_t *restrict in,
				  size_t len, uint16_t tpid, uint16_t tci) WEFT_WUR;

/*
 * The MTU of the overlay (the largest IP packet inside one frame) over an
 * underlay path of @underlay_mtu: underlay - IP (20 or 40) - UDP (8) -
 * WEFT_FRAME_WIRE_OVERHEAD - inner Ethernet header (14). 1500 over IPv4 gives
 * 1423. Returns 0 if that is below WEFT_FRAME_MTU_MIN.
 */
unsigned weft_frame_overlay_mtu(unsigned underlay_mtu, bool ipv6);

/* The longest frame an interface of @mtu carries: mtu + 14, + 4 with a VLAN tag. */
size_t weft_frame_max_len(unsigned mtu, bool vlan);

/*
 * A hash of the flow frame @frame (@len bytes, @vlan_tci the tag the ring
 * stripped, 0 if none) belongs to, for keeping frames of one flow in order
 * when others overtake them: the VLAN, both MACs and the EtherType; for
 * IPv4 and IPv6 also both addresses and the protocol; for TCP, UDP, SCTP
 * and UDP-Lite, unless the packet is a fragment (whose later pieces carry
 * no ports), both ports. Frames of one flow always hash alike, and so
 * frames that this cannot tell apart: a collision only keeps two flows in
 * order with each other. Not keyed, as nothing is learned from it.
 */
uint32_t weft_frame_flow_hash(const uint8_t *frame, size_t len, uint16_t vlan_tci);

#endif
