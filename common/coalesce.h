/* SPDX-License-Identifier: MIT */
/* Superframes on the way in: consecutive in-order segments of one TCP flow
 * merged into one frame, with the virtio-net header that lets the kernel
 * carry it whole (gso_type, gso_size, NEEDS_CSUM), as GRO would have merged
 * them on a NIC. The rules are GRO's (tcp_gro_receive, inet_gro_receive,
 * ipv6_gro_receive): same addresses, ports, ACK number, window, options and
 * IP header fields; the next sequence number; only ACK, with PSH allowed
 * on the last; every segment the first one's size but the last, which may
 * be shorter; each segment's checksum verified before it is merged. Pure
 * logic: the caller says where the superframe is built and when it ends. */
#ifndef WEFT_COALESCE_H
#define WEFT_COALESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gso.h"
#include "common/weft.h"

/* A TCP segment that may start or extend a superframe. */
struct weft_coalesce_seg {
	size_t l4, hdrs; /* offsets of the TCP header and the payload */
	size_t payload;	 /* bytes */
	unsigned version;
	uint32_t seq;
	uint8_t flags;
};

/* True when @frame (@len bytes) is such a segment: untagged IPv4 without
 * options, not a fragment, header checksum valid, or IPv6 without extension
 * headers; TCP with payload, flags ACK or ACK|PSH; lengths that agree with
 * @len; a TCP checksum that verifies. Fills @s. */
bool weft_coalesce_parse(struct weft_coalesce_seg *s, const uint8_t *frame, size_t len);
/* The same for a segment whose sender left its TCP checksum partial (a
 * FRAME_PARTIAL, authenticated by the session's AEAD): every check but the
 * checksum, which the merged superframe's partial one replaces anyway. */
bool weft_coalesce_parse_partial(struct weft_coalesce_seg *s, const uint8_t *frame, size_t len);

struct weft_coalesce {
	uint8_t *buf; /* borrowed: where the superframe is built */
	size_t cap;
	size_t len;
	struct weft_coalesce_seg first;
	uint32_t next_seq;
	unsigned segs;
	bool closed; /* a short segment or PSH ended it */
};

/* Starts a superframe at @buf (@cap bytes, at least @len) with the segment
 * @frame that weft_coalesce_parse() accepted as @s. */
void weft_coalesce_start(struct weft_coalesce *c, uint8_t *buf, size_t cap, const uint8_t *frame,
			 size_t len, const struct weft_coalesce_seg *s);

/* Appends @frame (accepted as @s) when it continues @c: the same flow and
 * header fields, the next sequence number, the IPv4 ID one more than the
 * last one's unless DF is set, a payload of the first one's size or
 * shorter, room in the buffer and within a 64 KiB IP packet. False (and
 * @c untouched) otherwise, or when @c is closed. */
bool weft_coalesce_append(struct weft_coalesce *c, const uint8_t *frame,
			  const struct weft_coalesce_seg *s);

/* Writes the superframe's headers: IPv4 total length and header checksum,
 * or IPv6 payload length; PSH if the last segment had it; the TCP checksum
 * field holding the pseudo-header's sum for the device to finish. Fills @h
 * (GSO TCPV4/TCPV6, gso_size the first segment's payload, NEEDS_CSUM at the
 * TCP checksum). With one segment the frame is the segment as it came and
 * @h is all zero. Returns the frame's length. */
size_t weft_coalesce_finish(struct weft_coalesce *c, struct weft_gso_hdr *h);

#endif
