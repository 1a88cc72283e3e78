/* SPDX-License-Identifier: MIT */
/* The Prometheus text exposition (format 0.0.4) of every counter weftd
 * keeps: `weftctl metrics' prints it and the [metrics] listener serves it.
 * Generated from the same counter lists as the status, so a counter added
 * to a list is exported unasked. */
#ifndef WEFT_METRICS_H
#define WEFT_METRICS_H

#include <stddef.h>

struct weftd;

/* The exposition's HTTP content type. */
#define WEFT_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A malloc'd text of *@len bytes (NUL-terminated), or NULL when out of memory. */
char *weft_metrics_text(struct weftd *d, size_t *len);

#endif
