/* SPDX-License-Identifier: MIT */
/* Configuration parser: any input is parsed and validated; an accepted one is
 * dumped, and the dump must parse again to the same dump. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *dump(const struct weft_config *cfg, size_t *len)
{
	char *buf = NULL;
	FILE *out = open_memstream(&buf, len);

	if (!out)
		abort();
	weft_config_dump(cfg, out);
	if (fclose(out) != 0)
		abort();
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_config_errors errs;
	struct weft_config *cfg, *again;
	FILE *in, *null;
	char *first, *second;
	size_t first_len, second_len;

	in = fmemopen((void *)data, size, "r");
	if (!in)
		return 0;
	weft_config_errors_init(&errs);
	cfg = weft_config_load_stream(in, "fuzz.conf", &errs);
	fclose(in);
	if (!cfg) {
		/* a refused input always says why, and never more than the cap */
		if (errs.count == 0 || errs.count > WEFT_CONFIG_MAX_ERRORS + 1)
			abort();
		weft_config_errors_free(&errs);
		return 0;
	}
	if (errs.count != 0)
		abort();
	null = fopen("/dev/null", "w");
	if (null) {
		weft_config_dump(cfg, null);
		fclose(null);
	}

	first = dump(cfg, &first_len);
	in = fmemopen(first, first_len, "r");
	if (!in)
		abort();
	again = weft_config_load_stream(in, "dump.conf", &errs);
	fclose(in);
	if (!again)
		abort();
	second = dump(again, &second_len);
	if (first_len != second_len || memcmp(first, second, first_len))
		abort();

	free(first);
	free(second);
	weft_config_free(again);
	weft_config_free(cfg);
	weft_config_errors_free(&errs);
	return 0;
}
