/* SPDX-License-Identifier: MIT */
/* Fresh HELLOs without trusting anybody's wall clock (docs/protocol.md,
 * section 4.8): the stamps a host puts on its handshake messages, and what a
 * responder remembers of the stamps its peers used.
 *
 * The stamp: above every stamp this host gave out before, in this run and in
 * earlier ones; the wall clock when that is higher, else the last stamp plus
 * one millisecond. A floor above every stamp given out is kept on disk and
 * written before a stamp reaches it, so a restart continues above whatever
 * the clock says then (a host booted with its clock a day behind included).
 *
 * The table: per peer key, the stamp of the last handshake completed with it
 * and the nickname it used. A HELLO names its sender only by nickname (the
 * XX pattern reveals the static key in the third message), so a HELLO whose
 * stamp is not above every stamp confirmed under its nickname is stale: a
 * replay, or a host whose clock and state both went back (a restored
 * snapshot). The responder answers it only once its source proved itself
 * (a COOKIE round trip). Entries change only on completed handshakes, so no
 * one can raise a peer's bar but the peer.
 *
 * Pure logic: the caller reads the clocks and keeps the text form in a file. */
#ifndef WEFT_FRESHNESS_H
#define WEFT_FRESHNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

/* Peers remembered; past it the one whose handshake is oldest goes. Twice
 * the peers a daemon can have (WEFT_PEERS_MAX). */
#define WEFT_FRESHNESS_MAX	  4096
#define WEFT_FRESHNESS_NICK_MAX	  32
/* How far the floor on disk runs ahead of the stamps: it is written about
 * once per this while stamps follow the wall clock. A restarted host's first
 * stamp is at most this far ahead of its last run's clock. */
#define WEFT_FRESHNESS_RESERVE_MS 10000
/* No stamp goes above this (millions of years of wall clock), so nothing a
 * file or a clock says can make one wrap around. */
#define WEFT_FRESHNESS_STAMP_MAX (UINT64_C(1) << 62)

struct weft_freshness_peer {
	uint8_t key[WEFT_KEY_LEN];
	char nickname[WEFT_FRESHNESS_NICK_MAX + 1];
	uint64_t nick_hash;
	uint64_t stamp_ms; /* of its last completed handshake with us */
	uint64_t order;	   /* when that was, in updates: the oldest is evicted */
};

struct weft_freshness {
	uint64_t next_min; /* the lowest stamp the next one may be */
	uint64_t floor;	   /* above every stamp given out: what the disk must hold */
	struct weft_freshness_peer *peers; /* owned */
	size_t n, cap;
	uint64_t updates;
};

void weft_freshness_init(struct weft_freshness *f);
void weft_freshness_free(struct weft_freshness *f);

/* The stamp of our next handshake message, @wall_ms being the wall clock.
 * Sets *@save when the floor moved up: write the text form before the stamp
 * leaves the host. Stamps stop growing at WEFT_FRESHNESS_STAMP_MAX. */
uint64_t weft_freshness_stamp(struct weft_freshness *f, uint64_t wall_ms, bool *save);

/* The highest stamp confirmed under @nickname (0: none). */
uint64_t weft_freshness_bar(const struct weft_freshness *f, const char *nickname);
/* Is a HELLO claiming @nickname with @stamp_ms newer than that? */
bool weft_freshness_is_fresh(const struct weft_freshness *f, const char *nickname,
			     uint64_t stamp_ms);
/* A handshake with @key, calling itself @nickname (1..32 characters of
 * WEFT_NAME_CHARS), completed with the HELLO stamp @stamp_ms: its entry now
 * holds that stamp, even a lower one (its host went back and proved itself
 * since), so the bar follows the peer rather than the worst replay. Returns
 * 0, -EINVAL (bad nickname) or -ENOMEM. */
int weft_freshness_confirm(struct weft_freshness *f, const uint8_t key[static WEFT_KEY_LEN],
			   const char *nickname, uint64_t stamp_ms) WEFT_WUR;
/* The entry of @key, or NULL. */
const struct weft_freshness_peer *weft_freshness_find(const struct weft_freshness *f,
						      const uint8_t key[static WEFT_KEY_LEN]);
/* Drops the entry of @key; returns whether there was one. */
bool weft_freshness_forget(struct weft_freshness *f, const uint8_t key[static WEFT_KEY_LEN]);

/* The text form, lines starting with # ignored:
 *   floor STAMP               (decimal milliseconds; the floor above)
 *   peer KEY NICKNAME STAMP   (base64 key), oldest first
 * A stamp above WEFT_FRESHNESS_STAMP_MAX is malformed.
 * Returns a malloc'd NUL-terminated string, or NULL when out of memory. */
char *weft_freshness_format(const struct weft_freshness *f) WEFT_WUR;
/* Adds what @text (@len bytes, need not be NUL-terminated) holds to @f: the
 * floor raises next_min and floor, each peer line is confirmed in order. A
 * malformed line is skipped and counted; the first one's number and reason
 * go to @err (empty when none). Returns how many were skipped, or -ENOMEM. */
int weft_freshness_parse(struct weft_freshness *f, const char *text, size_t len,
			 char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
