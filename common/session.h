/* SPDX-License-Identifier: MIT */
/* Transport sessions: the keys a handshake produced, send counters, the replay
 * window, key lifetimes and the per-peer session set. Each session carries its
 * entry in the receiver-index table (common/index.h) and one AEAD context per
 * direction (common/aead.h), keyed when the session is made. Pure logic: the
 * caller passes the time (milliseconds, any monotonic origin). */
#ifndef WEFT_SESSION_H
#define WEFT_SESSION_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/aead.h"
#include "common/index.h"
#include "common/weft.h"
#include "common/wire.h"

/* Key lifetimes (defaults of struct weft_session_limits). */
#define WEFT_SESSION_REKEY_AFTER_MS  120000 /* the initiator starts a new handshake */
#define WEFT_SESSION_REJECT_AFTER_MS 180000 /* no more sending or receiving */
/* A context idle this long hands its next short text to its cold path (common/aead.h). */
#define WEFT_SESSION_AEAD_IDLE_MS 2
/* Counters 0 .. 2^60-1 may be used under one key; seal refuses after that and
 * open drops larger counters. Either side wants a new session once its send
 * counter passes REKEY_AFTER_MESSAGES, which leaves 2^32 messages to finish it. */
#define WEFT_SESSION_REJECT_AFTER_MESSAGES (UINT64_C(1) << 60)
#define WEFT_SESSION_REKEY_MARGIN	   (UINT64_C(1) << 32)
#define WEFT_SESSION_REKEY_AFTER_MESSAGES                                                          \
	(WEFT_SESSION_REJECT_AFTER_MESSAGES - WEFT_SESSION_REKEY_MARGIN)

/* ---- replay window (RFC 6479: a ring of 64-bit blocks) ----------------- */

#define WEFT_SESSION_REPLAY_BLOCKS 256 /* a power of two */
/* A counter is accepted if it was not seen and is one of the WINDOW counters
 * ending at the highest one seen: highest - counter < WINDOW (16320). One block
 * of the ring is the slack that lets it slide by whole blocks. */
#define WEFT_SESSION_REPLAY_WINDOW ((WEFT_SESSION_REPLAY_BLOCKS - 1) * 64)

struct weft_session_replay {
	uint64_t next; /* highest accepted counter + 1; 0 before the first */
	uint64_t block[WEFT_SESSION_REPLAY_BLOCKS];
};

void weft_session_replay_init(struct weft_session_replay *r);
/* Would @counter be accepted? 0, -ESTALE (older than the window) or -EALREADY
 * (seen). Changes nothing: call it before decrypting. */
int weft_session_replay_check(const struct weft_session_replay *r, uint64_t counter) WEFT_WUR;
/* Marks @counter seen (after its datagram authenticated; check() must have
 * passed). Counters must stay below 2^63. Returns whether @counter is the
 * highest so far (the datagram is the newest, not a late one). */
bool weft_session_replay_update(struct weft_session_replay *r, uint64_t counter);

/* ---- drop reasons ---------------------------------------------------------- */

/* clang-format off */
#define WEFT_SESSION_DROP_LIST(X)                                                                  \
	X(MALFORMED, malformed)         /* -EINVAL: not a well-formed DATA datagram */             \
	X(UNKNOWN_INDEX, unknown_index) /* -ENOENT: no session has this receiver index */          \
	X(EXPIRED, expired)             /* -EKEYEXPIRED: session older than reject_after */        \
	X(COUNTER_LIMIT, counter_limit) /* -ERANGE: counter >= REJECT_AFTER_MESSAGES */            \
	X(TOO_OLD, too_old)             /* -ESTALE: counter below the replay window */             \
	X(REPLAYED, replayed)           /* -EALREADY: counter seen before */                       \
	X(AUTH_FAILED, auth_failed)     /* -EBADMSG: tag did not verify */
/* clang-format on */
#define WEFT_SESSION_DROP_ENUM(id, name) WEFT_SESSION_DROP_##id,
enum weft_session_drop { WEFT_SESSION_DROP_LIST(WEFT_SESSION_DROP_ENUM) WEFT_SESSION_DROP_COUNT };

/* "malformed", "unknown_index", "expired", "counter_limit", "too_old",
 * "replayed", "auth_failed"; "?" when out of range. */
const char *weft_session_drop_name(enum weft_session_drop drop);
/* The drop reason of a negative errno from weft_session_open() (and -ENOENT for
 * a failed index lookup); WEFT_SESSION_DROP_MALFORMED for anything unknown. */
enum weft_session_drop weft_session_drop_reason(int err);

/* ---- one session ----------------------------------------------------------- */

struct weft_session_limits {
	uint64_t rekey_after_ms;
	uint64_t reject_after_ms;
};
#define WEFT_SESSION_LIMITS_DEFAULT                                                                \
	((struct weft_session_limits){.rekey_after_ms = WEFT_SESSION_REKEY_AFTER_MS,               \
				      .reject_after_ms = WEFT_SESSION_REJECT_AFTER_MS})

struct weft_session_set;

struct weft_session {
	uint8_t *keys;		       /* sodium_malloc: send key, then receive key */
	struct weft_aead aead_tx;      /* keyed with the send key; may borrow it */
	struct weft_aead aead_rx;      /* keyed with the receive key; may borrow it */
	uint64_t send_counter;	       /* the next counter to seal with */
	struct weft_index_entry entry; /* entry.index is ours: peers put it in receiver_index */
	uint32_t remote_index;	       /* theirs: we put it in receiver_index */
	bool initiator;		       /* we sent the HELLO of this session's handshake */
	uint64_t created_ms;
	struct weft_session_limits limits;
	uint64_t rx_packets; /* authenticated datagrams */
	/* When aead_tx and aead_rx last ran: a short datagram after
	 * WEFT_SESSION_AEAD_IDLE_MS without one takes the cold path. */
	uint64_t last_seal_ms, last_open_ms;
	uint64_t drops[WEFT_SESSION_DROP_COUNT];
	/* The set that owns it (set by weft_session_set_install(), NULL before):
	 * the caller's peer is container_of(s->set, <peer>, <its set member>). */
	struct weft_session_set *set;
	struct weft_session_replay replay;
};

/* A session from a completed handshake's transport keys (copied; the caller
 * wipes its own), with the AEAD contexts of weft_aead_init_best(). @limits
 * NULL means WEFT_SESSION_LIMITS_DEFAULT. Returns NULL when out of memory. Its
 * entry is in no table yet (entry.index 0): the caller hands it the
 * handshake's index with weft_index_replace(). */
struct weft_session *weft_session_new(const uint8_t send_key[static WEFT_KEY_LEN],
				      const uint8_t recv_key[static WEFT_KEY_LEN],
				      uint32_t remote_index, bool initiator,
				      const struct weft_session_limits *limits,
				      uint64_t now_ms) WEFT_WUR;
/* Frees the AEAD contexts, wipes the keys and frees; accepts NULL. Leaves the
 * index table alone (the session set removes the entries of the sessions it
 * frees). */
void weft_session_free(struct weft_session *s);

/* Seals a DATA datagram in place. The plaintext records are at
 * pkt + WEFT_WIRE_DATA_HEADER_LEN (@plain_len bytes) and @pkt has room for
 * @plain_len + WEFT_WIRE_DATA_OVERHEAD bytes. Writes the header, encrypts,
 * appends the tag and sets *@out_len to the datagram's length. Returns 0,
 * -EMSGSIZE (plaintext over WEFT_WIRE_PLAIN_MAX_LEN), -EIO (the AEAD library
 * failed: this datagram is lost, its counter spent, the plaintext wiped), or
 * -EKEYEXPIRED or -ERANGE (counters exhausted): the session cannot send any
 * more then. */
int weft_session_seal(struct weft_session *s, uint8_t *pkt, size_t plain_len, uint64_t now_ms,
		      size_t *out_len) WEFT_WUR;
/* Opens a DATA datagram in place: the plaintext (*@plain_len bytes) is left at
 * pkt + WEFT_WIRE_DATA_HEADER_LEN. Its receiver index must be s->entry.index
 * (-ENOENT otherwise). The replay window is checked before decrypting and
 * updated only once the tag verified. Returns 1 when the datagram is the
 * newest so far on this session, 0 for an accepted late one, or a negative
 * errno (see enum weft_session_drop), counted in s->drops. A datagram that
 * fails its tag (-EBADMSG) is left with its ciphertext zeroed. */
int weft_session_open(struct weft_session *s, uint8_t *pkt, size_t len, uint64_t now_ms,
		      size_t *plain_len) WEFT_WUR;

/* Time for a new handshake: the initiator after rekey_after_ms; the responder,
 * as a fallback, after rekey_after_ms + 3/4 of (reject_after_ms -
 * rekey_after_ms) (165 s by default); either side once its send counter passed
 * WEFT_SESSION_REKEY_AFTER_MESSAGES. */
bool weft_session_needs_rekey(const struct weft_session *s, uint64_t now_ms);
/* Older than reject_after_ms: neither seals nor opens any more. */
bool weft_session_expired(const struct weft_session *s, uint64_t now_ms);
/* Not expired and counters left. */
bool weft_session_can_send(const struct weft_session *s, uint64_t now_ms);

/* ---- per-peer session set ---------------------------------------------------- */

enum weft_session_slot {
	WEFT_SESSION_SLOT_NONE,
	WEFT_SESSION_SLOT_CURRENT,  /* newest confirmed: sends */
	WEFT_SESSION_SLOT_PREVIOUS, /* replaced: opens in-flight datagrams until it expires */
	WEFT_SESSION_SLOT_NEXT,	    /* completed as initiator, not yet confirmed by the peer */
};

/* The sessions of one peer. A responder's session is confirmed when it is
 * installed (the CONFIRM proved the initiator holds the keys); an initiator's
 * only when the first datagram opens with it, since its CONFIRM may be lost.
 * The set owns its sessions; when it frees one, it also removes the session's
 * entry from @index (weft_index_remove(): only if the table still maps it). */
struct weft_session_set {
	struct weft_session *current;
	struct weft_session *previous;
	struct weft_session *next;
	struct weft_index *index; /* borrowed; may be NULL */
};

void weft_session_set_init(struct weft_session_set *set, struct weft_index *index);
/* Frees every session. */
void weft_session_set_clear(struct weft_session_set *set);
/* Frees the unconfirmed next session (its handshake is deemed failed). */
void weft_session_set_drop_next(struct weft_session_set *set);
/* Takes ownership of @s and sets s->set. Confirmed: @s becomes current, the
 * current becomes previous and the previous is freed. Not confirmed: @s becomes
 * next (an older next is freed). The newest installed session always wins,
 * which is all that simultaneous handshakes from both sides need. */
void weft_session_set_install(struct weft_session_set *set, struct weft_session *s, bool confirmed);
/* Call after weft_session_open(@s) succeeded: a next session that carried
 * traffic is confirmed and installed. Returns the slot @s is in now. */
enum weft_session_slot weft_session_set_received(struct weft_session_set *set,
						 struct weft_session *s);
/* Which slot holds @s. */
enum weft_session_slot weft_session_set_slot(const struct weft_session_set *set,
					     const struct weft_session *s);
/* The session whose entry.index is @local_index and its slot, or NULL. */
struct weft_session *weft_session_set_lookup(const struct weft_session_set *set,
					     uint32_t local_index, enum weft_session_slot *slot);
/* The session to seal with: current if it can send, else next (an initiator
 * with nothing older), else NULL. */
struct weft_session *weft_session_set_send(const struct weft_session_set *set, uint64_t now_ms);
/* No session to send with, or the one to send with needs a rekey and no newer
 * one is waiting for confirmation. (A next that is never confirmed, because
 * its CONFIRM was lost, is the caller's handshake retry timer's business.) */
bool weft_session_set_needs_rekey(const struct weft_session_set *set, uint64_t now_ms);
/* Frees the expired sessions; returns how many. */
unsigned weft_session_set_expire(struct weft_session_set *set, uint64_t now_ms);

#endif
