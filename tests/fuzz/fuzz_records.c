/* SPDX-License-Identifier: MIT */
/* Records iterator on arbitrary plaintext: every record stays inside the
 * input, lengths add up, and a fully known input written back through the
 * writer is byte for byte the input. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/wire.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[WEFT_WIRE_DATA_MAX_LEN * 2];
	struct weft_wire_records it;
	struct weft_wire_record rec;
	struct weft_wire_writer w;
	size_t consumed = 0;
	bool overrun = false;
	int r;

	if (size > sizeof(out))
		return 0;
	weft_wire_records_init(&it, data, size);
	weft_wire_writer_init(&w, out, size);
	while ((r = weft_wire_records_next(&it, &rec)) != 0) {
		if (r == -EBADMSG) {
			overrun = true;
			check(weft_wire_records_next(&it, &rec) == 0);
			break;
		}
		check(r == 1 || r == -EINVAL);
		check(rec.kind == WEFT_WIRE_REC_FRAME || rec.kind == WEFT_WIRE_REC_FRAME_PARTIAL ||
		      rec.kind == WEFT_WIRE_REC_KEEPALIVE ||
		      (rec.kind >= WEFT_WIRE_REC_MEMBERS && rec.kind <= WEFT_WIRE_REC_RELAY_TOO_BIG));
		check(rec.body >= data + WEFT_WIRE_RECORD_HEADER_LEN &&
		      rec.body + rec.len <= data + size);
		if (r == 1 && (rec.kind == WEFT_WIRE_REC_FRAME ||
			       rec.kind == WEFT_WIRE_REC_FRAME_PARTIAL))
			check(rec.len >= WEFT_WIRE_FRAME_MIN_LEN);
		if (r == 1 && rec.kind == WEFT_WIRE_REC_KEEPALIVE)
			check(rec.len == 0);
		consumed = (size_t)(rec.body + rec.len - data);
		check(weft_wire_writer_append(&w, rec.kind, rec.body, rec.len) == 0);
	}
	check(consumed <= size);
	if (!overrun && it.skipped == 0) {
		check(w.len == size);
		check(memcmp(out, data, size) == 0);
	}
	return 0;
}
