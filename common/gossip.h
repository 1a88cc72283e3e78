/* SPDX-License-Identifier: MIT */
/* The MEMBERS and OBSERVED records (docs/protocol.md, sections 13.3 and
 * 13.9): their codecs. Pure
 * logic: the member table that merges entries is common/members.h. */
#ifndef WEFT_GOSSIP_H
#define WEFT_GOSSIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/sockaddr.h"
#include "common/weft.h"

#define WEFT_GOSSIP_FORMAT	   1
#define WEFT_GOSSIP_ID_LEN	   8 /* a member id: the first 8 bytes of its key */
#define WEFT_GOSSIP_NICK_MAX	   32
#define WEFT_GOSSIP_MAX_ADDRS	   8
#define WEFT_GOSSIP_MAX_LINKS	   1024
#define WEFT_GOSSIP_MAX_ENTRIES	   255 /* per record */
/* The largest seq an entry may carry (below 2^63): a member handed a bigger
 * one about itself could never go past it again. */
#define WEFT_GOSSIP_SEQ_MAX ((UINT64_C(1) << 63) - 1)
#define WEFT_GOSSIP_RECORD_HDR_LEN 2   /* format, count */
/* key, seq, nickname length, address count, link count */
#define WEFT_GOSSIP_ENTRY_MIN_LEN (WEFT_KEY_LEN + 8 + 1 + 1 + 2)

/* One entry. Parsed entries point into the record body (borrowed, valid as
 * long as the body); entries to encode point wherever the caller keeps them. */
struct weft_gossip_entry {
	const uint8_t *key; /* WEFT_KEY_LEN bytes */
	uint64_t seq;
	char nickname[WEFT_GOSSIP_NICK_MAX + 1];
	unsigned n_addrs;
	union weft_sockaddr addrs[WEFT_GOSSIP_MAX_ADDRS]; /* AF_INET or AF_INET6, port != 0 */
	unsigned n_links;
	const uint8_t *links; /* n_links member ids, WEFT_GOSSIP_ID_LEN bytes each */
};

/* Checks a whole MEMBERS record body (section 13.3). Returns the number of
 * entries (1..255), -EPROTONOSUPPORT for an unknown format (skip the record)
 * or -EINVAL when it is malformed in any way (drop it whole). Reads nothing
 * beyond @len. */
int weft_gossip_check(const uint8_t *body, size_t len) WEFT_WUR;

/* Walks the entries of a body that weft_gossip_check() accepted. */
struct weft_gossip_reader {
	const uint8_t *pos;
	size_t left;
	unsigned remaining;
};
void weft_gossip_reader_init(struct weft_gossip_reader *r, const uint8_t *body, size_t len);
/* The next entry; false after the last. */
bool weft_gossip_reader_next(struct weft_gossip_reader *r, struct weft_gossip_entry *e);

/* Bytes that @e takes in a record. */
size_t weft_gossip_entry_len(const struct weft_gossip_entry *e);

/* Builds a record body in @buf (capacity @cap): start it, add entries while
 * they fit, finish it. */
struct weft_gossip_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	unsigned count;
};
void weft_gossip_writer_init(struct weft_gossip_writer *w, uint8_t *buf, size_t cap);
/* Appends @e; -ENOBUFS (nothing written) when it does not fit or the record
 * already holds 255 entries, -EINVAL when @e is not valid to send (nickname,
 * address families, counts). */
int weft_gossip_writer_add(struct weft_gossip_writer *w, const struct weft_gossip_entry *e) WEFT_WUR;
/* The body's length, 0 when no entry was added (send nothing then). */
size_t weft_gossip_writer_finish(struct weft_gossip_writer *w);

/* The OBSERVED record (section 13.9): the address the sender sees the
 * receiver's datagrams come from, so that a member behind a NAT learns the
 * address the others can reach it at. Body: format (1), one address. */
#define WEFT_OBSERVED_FORMAT  1
#define WEFT_OBSERVED_MAX_LEN (1 + 1 + 16 + 2)
/* Writes the body for @a (AF_INET or AF_INET6, port != 0) into @buf (at least
 * WEFT_OBSERVED_MAX_LEN bytes): its length, or 0 when @a cannot be sent. */
size_t weft_gossip_observed_encode(uint8_t buf[static WEFT_OBSERVED_MAX_LEN],
				   const union weft_sockaddr *a) WEFT_WUR;
/* Parses a body into *@out: 0, -EPROTONOSUPPORT for an unknown format (skip
 * it) or -EINVAL when it is not exactly one valid address. */
int weft_gossip_observed_parse(const uint8_t *body, size_t len, union weft_sockaddr *out) WEFT_WUR;

/* The member id of @key. */
static inline const uint8_t *weft_gossip_id(const uint8_t *key)
{
	return key;
}

#endif
