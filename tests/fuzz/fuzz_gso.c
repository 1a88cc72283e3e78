/* SPDX-License-Identifier: MIT */
/* A virtio-net header and the frame after it, as a PACKET_VNET_HDR capture
 * hands them over (the kernel's view of a frame is trusted no more than a
 * peer's): a superframe weft_gso_start() accepts is cut into segments
 * whose payloads add up to the superframe's in order, each within the
 * headers plus gso_size, with valid IP lengths, an IPv4 header checksum
 * and an L4 checksum that verify; a frame it refuses is left alone. A
 * checksum completion either refuses or makes the sum verify. Every
 * segment is of its superframe's flow (weft_frame_flow_hash()). */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/frame.h"
#include "common/gso.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_segments(uint8_t *frame, size_t len, const struct weft_gso_hdr *h)
{
	uint8_t *orig = malloc(len ? len : 1);
	struct weft_gso g;
	uint8_t *seg;
	size_t seg_len, pos = 0, hdrs;
	int n, k = 0;
	uint32_t flow;

	check(orig);
	memcpy(orig, frame, len);
	flow = weft_frame_flow_hash(orig, len, 0);
	n = weft_gso_start(&g, frame, len, h);
	if (n < 0) {
		check(memcmp(orig, frame, len) == 0);
		free(orig);
		return;
	}
	hdrs = g.hdrs;
	check(hdrs <= len && g.l3 < g.l4 && g.l4 < hdrs);
	while (weft_gso_next(&g, &seg, &seg_len)) {
		const uint8_t *ip = seg + g.l3;
		size_t take = seg_len - hdrs, l4_len = seg_len - g.l4;
		uint32_t pseudo;

		check(seg_len >= hdrs && take <= h->gso_size);
		check(seg >= frame && seg + seg_len <= frame + len);
		check(memcmp(seg, orig, g.l3) == 0);
		check(memcmp(seg + hdrs, orig + hdrs + pos, take) == 0);
		if (g.version == 4) {
			check(weft_get_be16(ip + 2) == seg_len - g.l3);
			check(fx_fold(fx_sum(0, ip, g.l4 - g.l3)) == 0xffff);
			pseudo = fx_sum(0, ip + 12, 8) + g.proto + (uint32_t)l4_len;
		} else {
			check(weft_get_be16(ip + 4) == seg_len - g.l3 - 40);
			pseudo = fx_sum(0, ip + 8, 32) + g.proto + (uint32_t)l4_len;
		}
		check(fx_fold(pseudo + fx_sum(0, seg + g.l4, l4_len)) == 0xffff);
		/* The look-ahead keeps a flow in order by this: every segment is
		 * of the superframe's flow. */
		check(weft_frame_flow_hash(seg, seg_len, 0) == flow);
		pos += take;
		k++;
		check(k <= n);
	}
	check(k == n);
	check(pos == len - hdrs);
	free(orig);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_gso_hdr h;
	uint8_t *frame;
	size_t len;

	if (size < WEFT_GSO_HDR_LEN)
		return 0;
	weft_gso_hdr_parse(&h, data);
	len = size - WEFT_GSO_HDR_LEN;
	frame = malloc(len ? len : 1);
	check(frame);
	memcpy(frame, data + WEFT_GSO_HDR_LEN, len);
	(void)weft_frame_flow_hash(frame, len, h.hdr_len);
	if ((h.gso_type & 0x7f) != WEFT_GSO_NONE) {
		fuzz_segments(frame, len, &h);
	} else if (h.flags & WEFT_GSO_F_NEEDS_CSUM) {
		size_t start = h.csum_start, field = start + h.csum_offset;
		uint32_t pseudo = field + 2 <= len ? weft_get_be16(frame + field) : 0;

		/* The field held the pseudo-header's sum; now the whole verifies. A
		 * field at an odd offset straddles two words of the sum. */
		if (weft_gso_complete_csum(frame, len, &h) == 0 && h.csum_offset % 2 == 0)
			check(fx_fold(pseudo + fx_sum(0, frame + start, len - start)) == 0xffff);
	} else {
		/* The frame as a peer's partial-checksum frame: found within the
		 * frame, and once completed its L4 checksum verifies. */
		size_t start, field, end;

		if (weft_csum_partial_locate(frame, len, &start, &field, &end) == 0) {
			uint32_t pseudo = weft_get_be16(frame + field);

			check(start + 8 <= end && end <= len && field + 2 <= end && field > start);
			check(weft_csum_partial_complete(frame, len) == 0);
			check(fx_fold(pseudo + fx_sum(0, frame + start, end - start)) == 0xffff);
		} else {
			check(weft_csum_partial_complete(frame, len) == -EINVAL);
		}
	}
	free(frame);
	return 0;
}
