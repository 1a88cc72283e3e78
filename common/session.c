/* SPDX-License-Identifier: MIT */
#include <config.h> /* autoconf's, not common/config.h */

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/session.h"

#define REPLAY_MASK (WEFT_SESSION_REPLAY_BLOCKS - 1)

_Static_assert((WEFT_SESSION_REPLAY_BLOCKS & REPLAY_MASK) == 0, "replay blocks: a power of two");
_Static_assert(WEFT_SESSION_REPLAY_WINDOW >= 8192, "the design promises 8192 packets");
_Static_assert(WEFT_AEAD_TAG_LEN == WEFT_WIRE_TAG_LEN, "tag length");
_Static_assert(WEFT_AEAD_KEY_LEN == WEFT_KEY_LEN, "key length");
_Static_assert(WEFT_WIRE_PLAIN_MAX_LEN <= WEFT_AEAD_MAX_LEN, "the AEAD takes any datagram");

/* ---- replay window ---------------------------------------------------------- */

void weft_session_replay_init(struct weft_session_replay *r)
{
	memset(r, 0, sizeof(*r));
}

int weft_session_replay_check(const struct weft_session_replay *r, uint64_t counter)
{
	if (counter >= r->next)
		return 0;
	/* Tested explicitly rather than left to the ring, so the window is exactly
	 * WINDOW wide whatever the counter's position within its block. */
	if (r->next - 1 - counter >= WEFT_SESSION_REPLAY_WINDOW)
		return -ESTALE;
	if (r->block[(counter >> 6) & REPLAY_MASK] & (UINT64_C(1) << (counter & 63)))
		return -EALREADY;
	return 0;
}

bool weft_session_replay_update(struct weft_session_replay *r, uint64_t counter)
{
	uint64_t blk = counter >> 6;
	bool newest = counter >= r->next;

	if (newest) {
		/* Before the first counter every block is zero, so treating block 0
		 * as the top then clears nothing that holds anything. */
		uint64_t top = r->next ? (r->next - 1) >> 6 : 0;
		uint64_t slide = blk - top;

		if (slide > WEFT_SESSION_REPLAY_BLOCKS)
			slide = WEFT_SESSION_REPLAY_BLOCKS;
		for (uint64_t i = 1; i <= slide; i++)
			r->block[(top + i) & REPLAY_MASK] = 0;
		r->next = counter + 1;
	}
	r->block[blk & REPLAY_MASK] |= UINT64_C(1) << (counter & 63);
	return newest;
}

/* ---- drop reasons ------------------------------------------------------------ */

#define DROP_NAME(id, name) #name,
static const char *const drop_names[WEFT_SESSION_DROP_COUNT] = {WEFT_SESSION_DROP_LIST(DROP_NAME)};
#undef DROP_NAME

const char *weft_session_drop_name(enum weft_session_drop drop)
{
	if ((unsigned)drop >= WEFT_SESSION_DROP_COUNT)
		return "?";
	return drop_names[drop];
}

enum weft_session_drop weft_session_drop_reason(int err)
{
	switch (err) {
	case -ENOENT:
		return WEFT_SESSION_DROP_UNKNOWN_INDEX;
	case -EKEYEXPIRED:
		return WEFT_SESSION_DROP_EXPIRED;
	case -ERANGE:
		return WEFT_SESSION_DROP_COUNTER_LIMIT;
	case -ESTALE:
		return WEFT_SESSION_DROP_TOO_OLD;
	case -EALREADY:
		return WEFT_SESSION_DROP_REPLAYED;
	case -EBADMSG:
		return WEFT_SESSION_DROP_AUTH_FAILED;
	default:
		return WEFT_SESSION_DROP_MALFORMED;
	}
}

/* ---- one session ---------------------------------------------------------------- */

struct weft_session *weft_session_new(const uint8_t send_key[static WEFT_KEY_LEN],
				      const uint8_t recv_key[static WEFT_KEY_LEN],
				      uint32_t remote_index, bool initiator,
				      const struct weft_session_limits *limits, uint64_t now_ms)
{
	struct weft_session *s;

	if (sodium_init() < 0)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->keys = sodium_malloc(2 * WEFT_KEY_LEN);
	if (!s->keys) {
		free(s);
		return NULL;
	}
	memcpy(s->keys, send_key, WEFT_KEY_LEN);
	memcpy(s->keys + WEFT_KEY_LEN, recv_key, WEFT_KEY_LEN);
	/* Keyed once here, so that no datagram sets up a cipher. */
	if (weft_aead_init_best(&s->aead_tx, s->keys, true) < 0 ||
	    weft_aead_init_best(&s->aead_rx, s->keys + WEFT_KEY_LEN, false) < 0) {
		weft_session_free(s);
		return NULL;
	}
	s->remote_index = remote_index;
	s->initiator = initiator;
	s->created_ms = now_ms;
	s->limits = limits ? *limits : WEFT_SESSION_LIMITS_DEFAULT;
	weft_session_replay_init(&s->replay);
	return s;
}

void weft_session_free(struct weft_session *s)
{
	if (!s)
		return;
	/* Before the keys they may borrow. */
	weft_aead_clear(&s->aead_tx);
	weft_aead_clear(&s->aead_rx);
	sodium_free(s->keys); /* wipes */
	sodium_memzero(s, sizeof(*s));
	free(s);
}

static uint64_t age_ms(const struct weft_session *s, uint64_t now_ms)
{
	/* A clock that seems to go backwards makes a session young, never old. */
	return now_ms > s->created_ms ? now_ms - s->created_ms : 0;
}

static uint64_t responder_rekey_ms(const struct weft_session_limits *l)
{
	if (l->reject_after_ms <= l->rekey_after_ms)
		return l->rekey_after_ms;
	return l->rekey_after_ms + (l->reject_after_ms - l->rekey_after_ms) / 4 * 3;
}

bool weft_session_expired(const struct weft_session *s, uint64_t now_ms)
{
	return age_ms(s, now_ms) >= s->limits.reject_after_ms;
}

bool weft_session_needs_rekey(const struct weft_session *s, uint64_t now_ms)
{
	uint64_t age = age_ms(s, now_ms);

	if (s->send_counter >= WEFT_SESSION_REKEY_AFTER_MESSAGES)
		return true;
	if (s->initiator)
		return age >= s->limits.rekey_after_ms;
	/* The responder's fallback, should the initiator not rekey in time (it
	 * went quiet, or both sides' sessions ended up with the responder role
	 * after simultaneous handshakes): better a handshake than an outage. */
	return age >= responder_rekey_ms(&s->limits);
}

bool weft_session_can_send(const struct weft_session *s, uint64_t now_ms)
{
	return s->send_counter < WEFT_SESSION_REJECT_AFTER_MESSAGES &&
	       !weft_session_expired(s, now_ms);
}

/* Noise's nonce encoding: 32 zero bits, then the counter little-endian. */
static void make_nonce(uint8_t nonce[static WEFT_AEAD_NONCE_LEN], uint64_t counter)
{
	uint64_t le = htole64(counter);

	memset(nonce, 0, 4);
	memcpy(nonce + 4, &le, sizeof(le));
}

/* A context's texts under WEFT_AEAD_COLD_MAX_LEN take the cold path when
 * the context has been idle: that library touches the least code and memory,
 * which is what a lone record after an idle spell pays for (common/aead.h
 * has the figures); in a busy flow (64-byte datagrams back to back) the
 * context's own backend is the faster (libcrypto 0.72 against libsodium's
 * 1.37 us per datagram). */
static void pick_short_path(struct weft_aead *a, uint64_t *last_ms, uint64_t now_ms)
{
	a->cold_below =
	    now_ms - *last_ms >= WEFT_SESSION_AEAD_IDLE_MS ? WEFT_AEAD_COLD_MAX_LEN : 0;
	*last_ms = now_ms;
}

int weft_session_seal(struct weft_session *s, uint8_t *pkt, size_t plain_len, uint64_t now_ms,
		      size_t *out_len)
{
	uint8_t nonce[WEFT_AEAD_NONCE_LEN];
	uint8_t *plain = pkt + WEFT_WIRE_DATA_HEADER_LEN;
	uint64_t counter;

	if (plain_len > WEFT_WIRE_PLAIN_MAX_LEN)
		return -EMSGSIZE;
	if (weft_session_expired(s, now_ms))
		return -EKEYEXPIRED;
	if (s->send_counter >= WEFT_SESSION_REJECT_AFTER_MESSAGES)
		return -ERANGE;
	counter = s->send_counter++;
	weft_wire_put_data_header(pkt, s->remote_index, counter);
	make_nonce(nonce, counter);
	pick_short_path(&s->aead_tx, &s->last_seal_ms, now_ms);
	if (weft_aead_seal(&s->aead_tx, nonce, pkt, WEFT_WIRE_DATA_HEADER_LEN, plain, plain_len,
			   plain + plain_len) < 0)
		return -EIO;
	*out_len = plain_len + WEFT_WIRE_DATA_OVERHEAD;
	return 0;
}

static int drop(struct weft_session *s, int err)
{
	s->drops[weft_session_drop_reason(err)]++;
	return err;
}

int weft_session_open(struct weft_session *s, uint8_t *pkt, size_t len, uint64_t now_ms,
		      size_t *plain_len)
{
	uint8_t nonce[WEFT_AEAD_NONCE_LEN];
	uint8_t *cipher = pkt + WEFT_WIRE_DATA_HEADER_LEN;
	uint64_t counter;
	size_t clen;
	int r;

	if (len < WEFT_WIRE_DATA_MIN_LEN || len > WEFT_WIRE_DATA_MAX_LEN ||
	    pkt[0] != WEFT_WIRE_DATA || (pkt[1] | pkt[2] | pkt[3]))
		return drop(s, -EINVAL);
	if (weft_get_be32(pkt + 4) != s->entry.index)
		return drop(s, -ENOENT);
	if (weft_session_expired(s, now_ms))
		return drop(s, -EKEYEXPIRED);
	counter = weft_get_be64(pkt + 8);
	if (counter >= WEFT_SESSION_REJECT_AFTER_MESSAGES)
		return drop(s, -ERANGE);
	/* The cheap reject first: a replay costs no ChaCha20 or Poly1305. */
	r = weft_session_replay_check(&s->replay, counter);
	if (r < 0)
		return drop(s, r);
	make_nonce(nonce, counter);
	clen = len - WEFT_WIRE_DATA_OVERHEAD;
	pick_short_path(&s->aead_rx, &s->last_open_ms, now_ms);
	if (weft_aead_open(&s->aead_rx, nonce, pkt, WEFT_WIRE_DATA_HEADER_LEN, cipher, clen,
			   cipher + clen) < 0)
		return drop(s, -EBADMSG);
	s->rx_packets++;
	*plain_len = clen;
	return weft_session_replay_update(&s->replay, counter) ? 1 : 0;
}

/* ---- per-peer session set -------------------------------------------------------- */

void weft_session_set_init(struct weft_session_set *set, struct weft_index *index)
{
	memset(set, 0, sizeof(*set));
	set->index = index;
}

static void destroy(struct weft_session_set *set, struct weft_session *s)
{
	if (!s)
		return;
	/* Removes nothing if the index went on to another owner. */
	weft_index_remove(set->index, &s->entry);
	weft_session_free(s);
}

void weft_session_set_clear(struct weft_session_set *set)
{
	destroy(set, set->current);
	destroy(set, set->previous);
	destroy(set, set->next);
	set->current = set->previous = set->next = NULL;
}

void weft_session_set_drop_next(struct weft_session_set *set)
{
	destroy(set, set->next);
	set->next = NULL;
}

static void promote(struct weft_session_set *set, struct weft_session *s)
{
	destroy(set, set->previous);
	set->previous = set->current;
	set->current = s;
}

void weft_session_set_install(struct weft_session_set *set, struct weft_session *s, bool confirmed)
{
	WEFT_BUG_ON(!s || s == set->current || s == set->previous || s == set->next);
	s->set = set;
	if (confirmed) {
		promote(set, s);
	} else {
		destroy(set, set->next);
		set->next = s;
	}
}

enum weft_session_slot weft_session_set_received(struct weft_session_set *set,
						 struct weft_session *s)
{
	if (s && s == set->next) {
		set->next = NULL;
		promote(set, s);
	}
	return weft_session_set_slot(set, s);
}

enum weft_session_slot weft_session_set_slot(const struct weft_session_set *set,
					     const struct weft_session *s)
{
	if (!s)
		return WEFT_SESSION_SLOT_NONE;
	if (s == set->current)
		return WEFT_SESSION_SLOT_CURRENT;
	if (s == set->previous)
		return WEFT_SESSION_SLOT_PREVIOUS;
	if (s == set->next)
		return WEFT_SESSION_SLOT_NEXT;
	return WEFT_SESSION_SLOT_NONE;
}

struct weft_session *weft_session_set_lookup(const struct weft_session_set *set,
					     uint32_t local_index, enum weft_session_slot *slot)
{
	struct weft_session *const all[] = {set->current, set->previous, set->next};
	struct weft_session *found = NULL;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(all); i++) {
		if (all[i] && all[i]->entry.index == local_index) {
			found = all[i];
			break;
		}
	}
	if (slot)
		*slot = weft_session_set_slot(set, found);
	return found;
}

struct weft_session *weft_session_set_send(const struct weft_session_set *set, uint64_t now_ms)
{
	if (set->current && weft_session_can_send(set->current, now_ms))
		return set->current;
	if (set->next && weft_session_can_send(set->next, now_ms))
		return set->next;
	return NULL;
}

bool weft_session_set_needs_rekey(const struct weft_session_set *set, uint64_t now_ms)
{
	struct weft_session *s = weft_session_set_send(set, now_ms);

	if (!s)
		return true;
	if (!weft_session_needs_rekey(s, now_ms))
		return false;
	return !(set->next && s != set->next && weft_session_can_send(set->next, now_ms));
}

unsigned weft_session_set_expire(struct weft_session_set *set, uint64_t now_ms)
{
	struct weft_session **const slots[] = {&set->current, &set->previous, &set->next};
	unsigned n = 0;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(slots); i++) {
		if (*slots[i] && weft_session_expired(*slots[i], now_ms)) {
			destroy(set, *slots[i]);
			*slots[i] = NULL;
			n++;
		}
	}
	return n;
}
