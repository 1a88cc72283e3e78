/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/lines.h"

int weft_lines_parse(const char *text, size_t len, size_t line_max, weft_lines_fn fn, void *ctx,
		     char err[static WEFT_ERRLEN])
{
	char why[WEFT_ERRLEN], *line = malloc(line_max + 1);
	unsigned lineno = 0;
	int skipped = 0;

	if (!line)
		return -ENOMEM;
	err[0] = '\0';
	while (len > 0) {
		const char *nl = memchr(text, '\n', len);
		size_t n = nl ? (size_t)(nl - text) : len;
		int ret;

		lineno++;
		why[0] = '\0';
		if (n > line_max) {
			snprintf(why, WEFT_ERRLEN, "line too long");
			ret = -EINVAL;
		} else if (memchr(text, '\0', n)) {
			snprintf(why, WEFT_ERRLEN, "NUL byte in the line");
			ret = -EINVAL;
		} else {
			memcpy(line, text, n);
			line[n] = '\0';
			ret = fn(ctx, line, why);
		}
		if (ret < 0 && ret != -EINVAL) {
			free(line);
			return ret;
		}
		if (ret < 0 && skipped++ == 0)
			snprintf(err, WEFT_ERRLEN, "line %u: %.200s", lineno, why);
		text += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	free(line);
	return skipped;
}
