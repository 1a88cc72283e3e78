/* SPDX-License-Identifier: MIT */
/* The receiver-index table: our random 32-bit receiver indices, mapped in O(1)
 * to what a datagram carrying one is for. As in WireGuard's peerlookup.h, the
 * table holds pointers to entries embedded in their owners (a handshake in
 * progress, a session); each entry is typed, a lookup names the types it can
 * use, and the caller gets the owner back with container_of. A handshake's
 * index is handed over to the session it produced, so the peer's next
 * datagram finds the session under the index it already knows. */
#ifndef WEFT_INDEX_H
#define WEFT_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

enum weft_index_type {
	WEFT_INDEX_INITIATION = 1U << 0, /* a handshake we initiated */
	WEFT_INDEX_RESPONSE = 1U << 1,	 /* a responder handshake waiting for its CONFIRM */
	WEFT_INDEX_SESSION = 1U << 2,	 /* a transport session */
};

/* Embedded in its owner; the table points at it but never owns it. */
struct weft_index_entry {
	uint32_t index; /* 0 while in no table */
	enum weft_index_type type;
};

struct weft_index;

/* A table for up to @max_entries entries (open addressing, at most half full).
 * @random returns uniformly random 32-bit values; NULL means libsodium's
 * randombytes_random() (tests inject their own). Returns 0 with *@out set,
 * -EINVAL (@max_entries 0 or over 2^30), -ENOMEM, or -EIO (libsodium would not
 * initialise). */
int weft_index_new(struct weft_index **out, size_t max_entries, uint32_t (*random)(void *ctx),
		   void *random_ctx) WEFT_WUR;
/* Frees the table, not the entries; accepts NULL. */
void weft_index_free(struct weft_index *t);

/* Picks a fresh random index (never 0, never one in use) for @e and maps it to
 * @e: sets e->index and e->type. Returns 0, -ENOSPC (full), -EAGAIN (no fresh
 * index in 64 draws: a broken random source) or -EBUSY (@e is in a table
 * already: e->index != 0). */
int weft_index_insert(struct weft_index *t, struct weft_index_entry *e,
		      enum weft_index_type type) WEFT_WUR;
/* The entry mapped at @index if its type is one of @types (a mask of enum
 * weft_index_type), else NULL. Index 0 is never mapped. */
struct weft_index_entry *weft_index_lookup(const struct weft_index *t, uint32_t index,
					   unsigned types);
/* @to takes over @from's index with type @type (a handshake's index becomes its
 * session's): to->index = the index, from->index = 0. Returns 0, -ENOENT when
 * the table does not map @from, or -EBUSY when @to (another entry than @from)
 * is in a table already. */
int weft_index_replace(struct weft_index *t, struct weft_index_entry *from,
		       struct weft_index_entry *to, enum weft_index_type type) WEFT_WUR;
/* Removes @e if the table maps its index to @e itself (an entry whose index
 * was handed over leaves the new owner in place); sets e->index = 0 either
 * way. Accepts an entry in no table, and a NULL @t. */
void weft_index_remove(struct weft_index *t, struct weft_index_entry *e);
/* Entries mapped now. */
size_t weft_index_count(const struct weft_index *t);

#endif
