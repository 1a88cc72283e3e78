/* SPDX-License-Identifier: MIT */
/* Superframes on the way out: the virtio-net header that the kernel writes
 * before each frame of a PACKET_VNET_HDR ring, and what weftd does with a
 * frame it describes: a generic segmentation offload (GSO) superframe is cut
 * into the frames the kernel's own GSO would have sent (TCP over IPv4 and
 * IPv6, UDP segmentation), and a frame whose checksum was left for the
 * device (NEEDS_CSUM) gets it completed. Also the internet checksum
 * (RFC 1071) both directions share. Pure logic on Ethernet frames whose
 * 802.1Q tag, if the kernel took it out, is the caller's to put back. */
#ifndef WEFT_GSO_H
#define WEFT_GSO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

/* struct virtio_net_hdr: flags(1) gso_type(1) hdr_len(2) gso_size(2)
 * csum_start(2) csum_offset(2), 16-bit fields in the host's byte order
 * (legacy virtio, which packet sockets speak). */
#define WEFT_GSO_HDR_LEN 10

#define WEFT_GSO_F_NEEDS_CSUM 1U /* checksum at csum_start + csum_offset to complete */
#define WEFT_GSO_F_DATA_VALID 2U /* checksum already verified */

#define WEFT_GSO_NONE	0U
#define WEFT_GSO_TCPV4	1U
#define WEFT_GSO_UDP	3U /* IPv4 UDP fragmentation offload: no kernel hands it over */
#define WEFT_GSO_TCPV6	4U
#define WEFT_GSO_UDP_L4 5U    /* UDP segmentation: one datagram per segment */
#define WEFT_GSO_ECN	0x80U /* with TCPV4/TCPV6: the first segment carries CWR */

struct weft_gso_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
};

void weft_gso_hdr_parse(struct weft_gso_hdr *h, const uint8_t raw[static WEFT_GSO_HDR_LEN]);
void weft_gso_hdr_put(uint8_t raw[static WEFT_GSO_HDR_LEN], const struct weft_gso_hdr *h);

/* ---- the internet checksum -------------------------------------------------------- */

/* Sums are kept in the host's byte order (RFC 1071 section 2(B)): add the
 * @n bytes at @p, read as 16-bit words from @p, to @sum. Only the last piece
 * of a sum may have an odd length. */
uint64_t weft_csum_add(uint64_t sum, const uint8_t *p, size_t n);
/* A 16-bit big-endian value (a length, a protocol number) added to @sum. */
uint64_t weft_csum_add_be16(uint64_t sum, uint16_t v);
/* @sum folded to 16 bits, not complemented, in the host's byte order: write
 * it with memcpy. A checksum field holds ~fold; data holding a valid
 * checksum folds to 0xffff. */
uint16_t weft_csum_fold(uint64_t sum);
/* The sum of the IPv4 (@version 4, @ip at the header) or IPv6 pseudo-header
 * for @l4_len bytes of protocol @proto. */
uint64_t weft_csum_pseudo(const uint8_t *ip, unsigned version, uint8_t proto, size_t l4_len);

/* ---- frames the kernel left for a device ------------------------------------------ */

/* The EtherType after up to two 802.1Q/802.1ad tags of @frame, and the
 * offset of what follows it in *@l3: -EINVAL when the frame is too short. */
int weft_gso_l3(const uint8_t *frame, size_t len, size_t *l3, uint16_t *ethertype) WEFT_WUR;

/* Completes the checksum that @h says the device was to compute (@h has
 * NEEDS_CSUM and no GSO type): the one's complement of the sum from
 * csum_start to the end of @frame, written at csum_start + csum_offset,
 * which holds the pseudo-header's sum (0 becomes 0xffff, as the kernel
 * writes it). -EINVAL when the offsets do not fit @len. */
int weft_gso_complete_csum(uint8_t *frame, size_t len, const struct weft_gso_hdr *h) WEFT_WUR;

/* Where the partial TCP or UDP checksum of @frame is, found from its headers
 * alone: up to two VLAN tags, then IPv4 that is not a fragment or IPv6
 * without extension headers, carrying TCP or UDP. *@start is the L4
 * header's offset, *@field the checksum field's, *@end the end of the IP
 * packet (bytes after it are link padding, outside the checksum). -EINVAL
 * for anything else or lengths that do not fit. */
int weft_csum_partial_locate(const uint8_t *frame, size_t len, size_t *start, size_t *field,
			     size_t *end) WEFT_WUR;
/* Completes in place the checksum of a frame whose L4 checksum field holds
 * the folded pseudo-header sum (CHECKSUM_PARTIAL's convention), located by
 * weft_csum_partial_locate(): the one's complement of the sum from the L4
 * header to the end of the IP packet (0 becomes 0xffff). */
int weft_csum_partial_complete(uint8_t *frame, size_t len) WEFT_WUR;

/* ---- segmentation ----------------------------------------------------------------- */

/* Headers of one segment, at most: two VLAN tags, IPv4 or IPv6 with 40 bytes
 * of options or extension headers, TCP with 40 bytes of options. */
#define WEFT_GSO_MAX_HDRS 256

/* Cuts a superframe into segments in place: segment k's headers are
 * written just before its payload, over the tail of segment k-1's payload,
 * so segment k is handed out only when the caller is done with k-1. */
struct weft_gso {
	uint8_t *frame;
	size_t len;
	size_t l3, l4, hdrs; /* offsets of the IP header, L4 header, payload */
	size_t mss;
	size_t pos; /* payload offset of the next segment, from @hdrs */
	unsigned version;
	bool tcp;
	uint8_t proto;
	unsigned index; /* of the next segment */
	uint16_t ip_id;
	uint32_t seq;
	uint64_t pseudo; /* addresses and protocol, without the length */
	bool partial;	 /* leave each segment's L4 checksum partial */
	uint8_t tmpl[WEFT_GSO_MAX_HDRS];
};

/* Starts cutting @frame (@len bytes, owned by the caller and written to
 * until the last segment is handed out) as @h describes: @h's GSO type is
 * TCPV4, TCPV6 or UDP_L4 and the frame's headers agree with it (IP version,
 * protocol, csum_start at the L4 header when NEEDS_CSUM is set, an L4
 * header that fits). IPv4 packets must not be fragments; IPv6 ones carry
 * the L4 header right after theirs. The frame's own length is the truth:
 * IP length fields are rewritten per segment. Returns the number of
 * segments (one when the payload fits gso_size), -EPROTONOSUPPORT for a
 * GSO type weftd does not cut (UFO, unknown), -EINVAL for headers that do
 * not agree. */
int weft_gso_start(struct weft_gso *g, uint8_t *frame, size_t len,
		   const struct weft_gso_hdr *h) WEFT_WUR;

/* The next segment, as the kernel's GSO makes it: IPv4 total length, ID
 * (the first one's plus the segment's index) and header checksum; IPv6
 * payload length; TCP sequence number advanced by gso_size per segment,
 * CWR only on the first, FIN and PSH only on the last; UDP length; the
 * L4 checksum complete. False after the last. *@seg points into the frame
 * and stays valid until the next call. */
bool weft_gso_next(struct weft_gso *g, uint8_t **seg, size_t *seg_len);

/* After weft_gso_start(): weft_gso_next() leaves the L4 checksum partial
 * (the field holds the folded pseudo-header sum for the segment's length,
 * the payload is not summed) for a receiver that completes it. */
void weft_gso_leave_partial(struct weft_gso *g);

#endif
