/* SPDX-License-Identifier: MIT */
/* The RELAY record (docs/protocol.md, section 13.5): a frame for another
 * member, carried through this one; and RELAY_TOO_BIG (section 13.10), a
 * relay's answer to a frame it could not pass on. */
#ifndef WEFT_RELAY_H
#define WEFT_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "common/gossip.h"
#include "common/weft.h"

#define WEFT_RELAY_HDR_LEN   17 /* destination, origin, hops left */
#define WEFT_RELAY_HOPS_INIT 4
#define WEFT_RELAY_HOPS_MAX  8

struct weft_relay {
	const uint8_t *dst;    /* WEFT_GOSSIP_ID_LEN bytes (borrowed from the body) */
	const uint8_t *origin; /* WEFT_GOSSIP_ID_LEN bytes */
	uint8_t hops;	       /* 1..WEFT_RELAY_HOPS_MAX */
	const uint8_t *frame;  /* the Ethernet frame */
	size_t frame_len;      /* >= 14 */
};

/* Parses a RELAY body. 0, or -EINVAL (too short, hops 0 or above the maximum). */
int weft_relay_parse(struct weft_relay *r, const uint8_t *body, size_t len) WEFT_WUR;
/* Writes the 17-byte header in front of a frame the caller puts at
 * hdr + WEFT_RELAY_HDR_LEN. */
void weft_relay_put_header(uint8_t hdr[static WEFT_RELAY_HDR_LEN],
			   const uint8_t dst[static WEFT_GOSSIP_ID_LEN],
			   const uint8_t origin[static WEFT_GOSSIP_ID_LEN], uint8_t hops);

/* RELAY_TOO_BIG (section 13.10): a relay could not pass a frame on to
 * @dst, whose path from it carries frames of at most @frame_max bytes.
 * Body: destination id (8), largest frame (2, big-endian). A largest frame
 * below WEFT_RELAY_TOO_BIG_MIN (an IPv4 minimum datagram and its Ethernet
 * header) is not a value a path can have. */
#define WEFT_RELAY_TOO_BIG_LEN (WEFT_GOSSIP_ID_LEN + 2)
#define WEFT_RELAY_TOO_BIG_MIN (576 + 14)
void weft_relay_put_too_big(uint8_t body[static WEFT_RELAY_TOO_BIG_LEN],
			    const uint8_t dst[static WEFT_GOSSIP_ID_LEN], uint16_t frame_max);
/* 0 with *@dst (a view into @body) and *@frame_max set, or -EINVAL. */
int weft_relay_parse_too_big(const uint8_t *body, size_t len, const uint8_t **dst,
			     uint16_t *frame_max) WEFT_WUR;

#endif
