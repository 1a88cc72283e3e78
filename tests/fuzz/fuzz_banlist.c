/* SPDX-License-Identifier: MIT */
/* The ban list file (read at start-up; weftd writes it, but an operator may
 * edit it): parsing never overruns, every ban it keeps is well formed, and
 * what it keeps formats and parses back to the same list. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/banlist.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_banlist bl, back;
	char err[WEFT_ERRLEN], *text;
	int skipped;

	weft_banlist_init(&bl);
	weft_banlist_init(&back);
	skipped = weft_banlist_parse(&bl, (const char *)data, size, err);
	check(skipped >= 0);
	check((skipped == 0) == (err[0] == '\0'));
	check(bl.n <= WEFT_BANLIST_MAX);
	text = weft_banlist_format(&bl);
	check(text);
	check(weft_banlist_parse(&back, text, strlen(text), err) == 0);
	check(back.n == bl.n);
	for (size_t i = 0; i < bl.n; i++) {
		check(!memcmp(back.bans[i].key, bl.bans[i].key, sizeof(bl.bans[i].key)));
		check(!strcmp(back.bans[i].name, bl.bans[i].name));
		check(back.bans[i].since == bl.bans[i].since);
	}
	free(text);
	weft_banlist_free(&bl);
	weft_banlist_free(&back);
	return 0;
}
