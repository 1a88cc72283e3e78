/* SPDX-License-Identifier: MIT */
/* The RELAY record (docs/protocol.md, section 13.5): a frame for another
 * member, carried through this one. */
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

#endif
