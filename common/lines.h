/* SPDX-License-Identifier: MIT */
/* The state files weftd rewrites and an operator may edit (bans, handshake
 * stamps) are lines of blank-separated fields. This walks their lines once,
 * for every such parser: a line too long or with a NUL byte is skipped
 * without being seen, a line the parser refuses is skipped and counted, and
 * the first skipped line's number and reason are reported. */
#ifndef WEFT_LINES_H
#define WEFT_LINES_H

#include <stddef.h>

#include "common/weft.h"

/* Parses one @line (NUL-terminated, without its newline). Returns 0 (a
 * record or nothing), -EINVAL with the reason in @why (the line is skipped),
 * or another negative errno that ends the walk. */
typedef int (*weft_lines_fn)(void *ctx, char *line, char why[static WEFT_ERRLEN]);

/* Feeds each line of @text (@len bytes, need not be NUL-terminated) of at
 * most @line_max bytes to @fn. Returns how many lines were skipped, with
 * "line N: reason" of the first in @err (empty when none), or the first
 * error other than -EINVAL that @fn returned. */
int weft_lines_parse(const char *text, size_t len, size_t line_max, weft_lines_fn fn, void *ctx,
		     char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
