/* SPDX-License-Identifier: MIT */
/* What `weftctl status' shows: the daemon's state as one JSON document,
 * built from each module's getters and counter lists. Nothing here changes
 * state except the kernel's capture counters, which reset when read. */
#ifndef WEFT_STATUS_H
#define WEFT_STATUS_H

#include <jansson.h>

struct weftd;

/* A new reference. */
json_t *weft_status_json(struct weftd *d);

#endif
