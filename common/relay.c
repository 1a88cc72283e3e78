/* SPDX-License-Identifier: MIT */
/*
 * The RELAY record (docs/protocol.md, section 13.5): destination id (8),
 * origin id (8), hops left (1), then one Ethernet frame. Parsing checks the
 * length and the hop count and points into the body; what a relay does with
 * the record (deliver, forward with one hop less, drop) is the daemon's.
 */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/frame.h"
#include "common/relay.h"

_Static_assert(WEFT_RELAY_HDR_LEN == 2 * WEFT_GOSSIP_ID_LEN + 1, "dst, origin, hops");
_Static_assert(WEFT_RELAY_HOPS_INIT >= 1 && WEFT_RELAY_HOPS_INIT <= WEFT_RELAY_HOPS_MAX,
	       "an origin writes a valid hop count");
_Static_assert(WEFT_RELAY_HOPS_MAX <= UINT8_MAX, "hops fit a byte");

#define OFF_DST	   0
#define OFF_ORIGIN WEFT_GOSSIP_ID_LEN
#define OFF_HOPS   (2 * WEFT_GOSSIP_ID_LEN)

int weft_relay_parse(struct weft_relay *r, const uint8_t *body, size_t len)
{
	uint8_t hops;

	if (len < WEFT_RELAY_HDR_LEN + WEFT_FRAME_MIN_LEN)
		return -EINVAL;
	hops = body[OFF_HOPS];
	if (hops == 0 || hops > WEFT_RELAY_HOPS_MAX)
		return -EINVAL;
	r->dst = body + OFF_DST;
	r->origin = body + OFF_ORIGIN;
	r->hops = hops;
	r->frame = body + WEFT_RELAY_HDR_LEN;
	r->frame_len = len - WEFT_RELAY_HDR_LEN;
	return 0;
}

void weft_relay_put_header(uint8_t hdr[static WEFT_RELAY_HDR_LEN],
			   const uint8_t dst[static WEFT_GOSSIP_ID_LEN],
			   const uint8_t origin[static WEFT_GOSSIP_ID_LEN], uint8_t hops)
{
	/* A record with 1 hop left is dropped, never forwarded with 0. */
	WEFT_BUG_ON(hops == 0 || hops > WEFT_RELAY_HOPS_MAX);
	/* memmove: a relay may rewrite a parsed header in place (ids = views). */
	memmove(hdr + OFF_DST, dst, WEFT_GOSSIP_ID_LEN);
	memmove(hdr + OFF_ORIGIN, origin, WEFT_GOSSIP_ID_LEN);
	hdr[OFF_HOPS] = hops;
}

void weft_relay_put_too_big(uint8_t body[static WEFT_RELAY_TOO_BIG_LEN],
			    const uint8_t dst[static WEFT_GOSSIP_ID_LEN], uint16_t frame_max)
{
	memcpy(body, dst, WEFT_GOSSIP_ID_LEN);
	weft_put_be16(body + WEFT_GOSSIP_ID_LEN, frame_max);
}

int weft_relay_parse_too_big(const uint8_t *body, size_t len, const uint8_t **dst,
			     uint16_t *frame_max)
{
	uint16_t max;

	if (len != WEFT_RELAY_TOO_BIG_LEN)
		return -EINVAL;
	max = weft_get_be16(body + WEFT_GOSSIP_ID_LEN);
	if (max < WEFT_RELAY_TOO_BIG_MIN)
		return -EINVAL;
	*dst = body;
	*frame_max = max;
	return 0;
}
