/* SPDX-License-Identifier: MIT */
/* The keys an operator banned (`weftctl forget', or a [peer] removed from
 * the configuration): no handshake with them completes and gossip does not
 * bring them back until the ban is lifted. Pure logic: the daemon keeps the
 * text form in its state directory. */
#ifndef WEFT_BANLIST_H
#define WEFT_BANLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

/* Bounded so a runaway script cannot grow the daemon without end; far
 * more than the peers a network can have (WEFT_CONFIG_MAX_PEERS). */
#define WEFT_BANLIST_MAX 4096
#define WEFT_BANLIST_NAME_MAX 32

struct weft_ban {
	uint8_t key[WEFT_KEY_LEN];
	char name[WEFT_BANLIST_NAME_MAX + 1]; /* the peer's name when banned; "-" if none */
	uint64_t since;			      /* wall clock, seconds since the epoch */
};

struct weft_banlist {
	struct weft_ban *bans; /* owned; in the order they were banned */
	size_t n, cap;
};

void weft_banlist_init(struct weft_banlist *bl);
void weft_banlist_free(struct weft_banlist *bl);

/* Bans @key under @name (NULL or "": "-"). Returns 1 when added, 0 when it
 * was banned already (the entry is kept as it was), -ENOSPC when the list
 * is full, -ENOMEM, or -EINVAL for a name that is not 1..32 characters of
 * A-Z a-z 0-9 . _ -. */
int weft_banlist_add(struct weft_banlist *bl, const uint8_t key[static WEFT_KEY_LEN],
		     const char *name, uint64_t since) WEFT_WUR;
/* Lifts the ban on @key; returns whether there was one. */
bool weft_banlist_remove(struct weft_banlist *bl, const uint8_t key[static WEFT_KEY_LEN]);
/* The ban on @key, or NULL. */
const struct weft_ban *weft_banlist_find(const struct weft_banlist *bl,
					 const uint8_t key[static WEFT_KEY_LEN]);
/* The first ban recorded under @name, or NULL. */
const struct weft_ban *weft_banlist_find_name(const struct weft_banlist *bl, const char *name);

/* The text form: one ban a line, "KEY NAME SINCE" (base64 key, name, decimal
 * seconds), lines starting with # ignored. Returns a malloc'd NUL-terminated
 * string, or NULL when out of memory. */
char *weft_banlist_format(const struct weft_banlist *bl) WEFT_WUR;
/* Adds the bans of @text (@len bytes, need not be NUL-terminated) to @bl.
 * A malformed line is skipped and counted; the first one's number and the
 * reason are put in @err. Returns how many lines were skipped, or -ENOMEM. */
int weft_banlist_parse(struct weft_banlist *bl, const char *text, size_t len,
		       char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
