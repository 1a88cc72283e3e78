/* SPDX-License-Identifier: MIT */
/* Received frames (peers' input), each with a two-byte length before it,
 * go through the coalescer as the inject ring uses it: a frame that does
 * not continue the open superframe ends it and may start the next. Each
 * superframe finished is cut again by common/gso and must give back the
 * very frames merged into it: same bytes but the TCP checksum (which must
 * verify) and, under DF, the IPv4 ID and header checksum (GRO does not
 * keep an atomic datagram's ID). A single frame comes back untouched. The
 * first two input bytes bound the superframe buffer. */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/coalesce.h"
#include "common/gso.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_MERGED 128
#define BUF_MAX	   (65536 + 14)

struct merged {
	const uint8_t *frame;
	size_t len;
};

static void finish(struct weft_coalesce *c, const struct merged *m, unsigned n)
{
	struct weft_gso_hdr h;
	struct weft_gso g;
	size_t len = weft_coalesce_finish(c, &h), out;
	uint8_t *seg;
	unsigned k = 0;
	size_t l4 = c->first.l4;
	bool df = c->first.version == 4 && (weft_get_be16(c->buf + 14 + 6) & 0x4000);

	check(n == c->segs && n >= 1);
	if (n == 1) {
		check(h.gso_type == WEFT_GSO_NONE && h.flags == 0);
		check(len == m[0].len && memcmp(c->buf, m[0].frame, len) == 0);
		return;
	}
	check(len <= c->cap && len - 14 <= 65535);
	check(weft_gso_start(&g, c->buf, len, &h) == (int)n);
	while (weft_gso_next(&g, &seg, &out)) {
		const uint8_t *f = m[k].frame;
		uint32_t pseudo;

		check(k < n && out == m[k].len);
		if (c->first.version == 4) {
			/* The header checksum verifies; 0 and 0xffff are both valid. */
			check(fx_fold(fx_sum(0, seg + 14, 20)) == 0xffff);
			check(memcmp(seg, f, 14 + 4) == 0);
			check(df || memcmp(seg + 14 + 4, f + 14 + 4, 2) == 0);
			check(memcmp(seg + 14 + 6, f + 14 + 6, 4) == 0);
			check(memcmp(seg + 14 + 12, f + 14 + 12, l4 + 16 - 14 - 12) == 0);
		} else {
			check(memcmp(seg, f, l4 + 16) == 0);
		}
		check(memcmp(seg + l4 + 18, f + l4 + 18, out - l4 - 18) == 0);
		if (c->first.version == 4)
			pseudo = fx_sum(0, seg + 14 + 12, 8) + 6 + (uint32_t)(out - l4);
		else
			pseudo = fx_sum(0, seg + 14 + 8, 32) + 6 + (uint32_t)(out - l4);
		check(fx_fold(pseudo + fx_sum(0, seg + l4, out - l4)) == 0xffff);
		k++;
	}
	check(k == n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[BUF_MAX];
	struct merged m[MAX_MERGED];
	struct weft_coalesce c;
	struct weft_coalesce_seg s;
	size_t cap, pos = 2;
	unsigned n = 0;
	bool open = false;

	if (size < 2)
		return 0;
	cap = 1 + weft_get_be16(data) % BUF_MAX;
	while (pos + 2 <= size) {
		size_t len = weft_get_be16(data + pos);
		const uint8_t *frame = data + pos + 2;

		if (len > size - pos - 2)
			len = size - pos - 2;
		pos += 2 + len;
		{
			/* Without the checksum check, the same parse, or more accepted. */
			struct weft_coalesce_seg sp;
			bool partial = weft_coalesce_parse_partial(&sp, frame, len);

			if (weft_coalesce_parse(&s, frame, len))
				check(partial && sp.hdrs == s.hdrs && sp.seq == s.seq &&
				      sp.payload == s.payload && sp.flags == s.flags);
			else if (partial)
				check(sp.hdrs < len && sp.payload == len - sp.hdrs);
		}
		if (!weft_coalesce_parse(&s, frame, len)) {
			if (open)
				finish(&c, m, n);
			open = false;
			continue;
		}
		check(s.hdrs < len && s.payload == len - s.hdrs);
		if (open && n < MAX_MERGED && weft_coalesce_append(&c, frame, &s)) {
			m[n++] = (struct merged){frame, len};
			continue;
		}
		if (open)
			finish(&c, m, n);
		open = false;
		if (len > cap)
			continue;
		weft_coalesce_start(&c, buf, cap, frame, len, &s);
		m[0] = (struct merged){frame, len};
		n = 1;
		open = true;
	}
	if (open)
		finish(&c, m, n);
	return 0;
}
