/* SPDX-License-Identifier: MIT */
/* The member table: every member of the mesh as its own MEMBERS entry says
 * (docs/protocol.md, section 13.3), merged by the rules there; the topology
 * their links form and the route to each member (section 13.4). Pure logic:
 * the caller passes the time (milliseconds, any monotonic origin) and says
 * which members it has live sessions with. */
#ifndef WEFT_MEMBERS_H
#define WEFT_MEMBERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/gossip.h"
#include "common/weft.h"

/* Entries of members unreachable this long are forgotten. */
#define WEFT_MEMBERS_UNREACHABLE_MS 60000

/* A stored member. Owned by the table; valid until the next call that
 * changes the table (merge, set_own, expire). */
struct weft_member {
	uint8_t key[WEFT_KEY_LEN];
	uint64_t seq;
	char nickname[WEFT_GOSSIP_NICK_MAX + 1];
	unsigned n_addrs;
	union weft_sockaddr addrs[WEFT_GOSSIP_MAX_ADDRS];
	unsigned n_links;
	uint8_t (*links)[WEFT_GOSSIP_ID_LEN]; /* owned */
	/* Routing, from the last weft_members_route(): */
	bool reachable;
	unsigned hops;			      /* 1: a direct session */
	uint8_t next_hop[WEFT_GOSSIP_ID_LEN]; /* first hop of the route (itself when direct) */
	uint64_t unreachable_since_ms;	      /* 0 while reachable */
	uint64_t changed_ms;		      /* when its entry last changed here */
};

/* Whether local policy lets @key, calling itself @nickname, be a member
 * (pins, require_pinned_keys). */
typedef bool (*weft_members_policy)(void *ctx, const uint8_t key[static WEFT_KEY_LEN],
				    const char *nickname);

struct weft_members;

/* A table for at most @max other members; our own entry has key @own_key,
 * nickname @own_nickname and seq 1. @policy may be NULL (everyone). */
int weft_members_new(struct weft_members **out, const uint8_t own_key[static WEFT_KEY_LEN],
		     const char *own_nickname, unsigned max, weft_members_policy policy,
		     void *policy_ctx) WEFT_WUR;
void weft_members_free(struct weft_members *m); /* accepts NULL */

/* Our own entry: its addresses and links (the members we have live sessions
 * with). Bumps our seq when anything differs from the entry as it was;
 * returns whether it did. @links: @n_links member ids. */
bool weft_members_set_own(struct weft_members *m, const union weft_sockaddr *addrs,
			  unsigned n_addrs, const uint8_t (*links)[WEFT_GOSSIP_ID_LEN],
			  unsigned n_links, uint64_t now);
/* Our own entry as a gossip entry (views into the table). */
void weft_members_own(const struct weft_members *m, struct weft_gossip_entry *e);

enum weft_members_merge {
	WEFT_MEMBERS_NEW,	/* a member not known before: stored */
	WEFT_MEMBERS_UPDATED,	/* a known member's entry replaced */
	WEFT_MEMBERS_UNCHANGED, /* the same seq and contents as stored */
	WEFT_MEMBERS_STALE,	/* an older seq: ignored */
	WEFT_MEMBERS_CONFLICT,	/* the same seq, other contents: ignored */
	WEFT_MEMBERS_OWN,	/* about ourselves, with a seq >= ours: our seq went past it */
	WEFT_MEMBERS_OWN_OLD,	/* about ourselves, older: ignored */
	WEFT_MEMBERS_REFUSED,	/* policy said no, or its id collides with another member's */
	WEFT_MEMBERS_FULL,	/* a new member and no room */
};

/* Merges one entry received from the peer whose key is @from_key (the rules
 * of section 13.3: an entry about the sender itself always replaces). */
enum weft_members_merge weft_members_merge(struct weft_members *m,
					   const struct weft_gossip_entry *e,
					   const uint8_t from_key[static WEFT_KEY_LEN],
					   uint64_t now);

/* The stored member with this key / member id; NULL if none (never our own). */
const struct weft_member *weft_members_find(const struct weft_members *m,
					    const uint8_t key[static WEFT_KEY_LEN]);
const struct weft_member *weft_members_find_id(const struct weft_members *m,
					       const uint8_t id[static WEFT_GOSSIP_ID_LEN]);
/* Stored members (not counting ourselves); the i-th for 0 <= i < count
 * (the order changes when the table does). */
unsigned weft_members_count(const struct weft_members *m);
const struct weft_member *weft_members_at(const struct weft_members *m, unsigned i);

/* Recomputes every member's route from our own links (the live sessions)
 * and the stored entries: an edge only where both ends list each other;
 * shortest paths, ties to the lowest first-hop id. Marks members that
 * became unreachable (and when). */
void weft_members_route(struct weft_members *m, uint64_t now);
/* Forgets the member with @key at once (an operator's ban; the policy then
 * keeps it from coming back by gossip); returns whether there was one. */
bool weft_members_remove(struct weft_members *m, const uint8_t key[static WEFT_KEY_LEN]);
/* Forgets members unreachable for WEFT_MEMBERS_UNREACHABLE_MS; returns how many. */
unsigned weft_members_expire(struct weft_members *m, uint64_t now);

/* Writes a MEMBERS record body of our own entry and the stored entries into
 * @buf (@cap bytes), starting at *@cursor (0: our own entry first) and
 * advancing it past what was written. With @changed_since, only entries that
 * changed at or after that time (ours included) are written. Returns the
 * body's length; 0 when nothing (more) is to be written (*@cursor then says
 * "done": weft_members_encode_done()). An entry too big for an empty record
 * of @cap bytes is written with as many of its links as fit. */
size_t weft_members_encode(const struct weft_members *m, uint8_t *buf, size_t cap,
			   unsigned *cursor, uint64_t changed_since);
bool weft_members_encode_done(const struct weft_members *m, unsigned cursor);

#endif
