/* SPDX-License-Identifier: MIT */
/* The handshake stamps file (read at start-up; weftd writes it, but an
 * operator may edit it or a crash may cut it): parsing never overruns, the
 * table never grows past its bound, and what it keeps formats and parses
 * back to the same stamps. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/freshness.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_freshness f, back;
	char err[WEFT_ERRLEN], *text;
	bool save;
	int skipped;

	weft_freshness_init(&f);
	weft_freshness_init(&back);
	skipped = weft_freshness_parse(&f, (const char *)data, size, err);
	check(skipped >= 0);
	check((skipped == 0) == (err[0] == '\0'));
	check(f.n <= WEFT_FRESHNESS_MAX);
	text = weft_freshness_format(&f);
	check(text);
	check(weft_freshness_parse(&back, text, strlen(text), err) == 0);
	check(back.n == f.n && back.floor == f.floor);
	for (size_t i = 0; i < f.n; i++) {
		const struct weft_freshness_peer *p = weft_freshness_find(&back, f.peers[i].key);

		check(p && p->stamp_ms == f.peers[i].stamp_ms);
		check(!strcmp(p->nickname, f.peers[i].nickname));
	}
	/* A stamp after loading is never below the floor read, and the next
	 * one is higher (or both at the ceiling). */
	{
		uint64_t floor = f.floor, first = weft_freshness_stamp(&f, 0, &save);

		check(first >= floor || floor > WEFT_FRESHNESS_STAMP_MAX);
		check(weft_freshness_stamp(&f, 0, &save) > first ||
		      first == WEFT_FRESHNESS_STAMP_MAX);
	}
	free(text);
	weft_freshness_free(&f);
	weft_freshness_free(&back);
	return 0;
}
