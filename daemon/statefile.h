/* SPDX-License-Identifier: MIT */
/* The small text files weftd keeps across restarts (bans, handshake stamps):
 * read whole, written whole. */
#ifndef WEFT_STATEFILE_H
#define WEFT_STATEFILE_H

#include <stddef.h>

#include "common/weft.h"

/* Anything larger was not written by weftd. */
#define WEFT_STATEFILE_MAX (1u << 20)

/* Reads @path into a malloc'd, NUL-terminated *@text of *@len bytes.
 * Returns 0, -ENOENT (no such file: a first start), or another negative
 * errno with the reason in @err (not a regular file, too large, unreadable). */
int weft_statefile_read(const char *path, char **text, size_t *len,
			char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Writes @len bytes of @text to "@path.new" (mode 0600), syncs it and renames
 * it over @path, so a crash leaves either the old file or the new one, never
 * half of one. Returns 0 or a negative errno with the reason in @err. */
int weft_statefile_write(const char *path, const char *text, size_t len,
			 char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
