/* SPDX-License-Identifier: MIT */
/* weft's handshake (wire protocol v2): Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b
 * with prologue "weft/2 " || network name, an identity record as the payload
 * of every message, the responder's HELLO checks (authentication, replay
 * cache), the key-pinning policy and the hand-over of the transport keys.
 * Works on the Noise message bytes; the datagram framing and the clear
 * indices are common/wire's, passed in where they must be checked, and the
 * HELLO's MACs are common/cookie's. The write_*_datagram() calls write a
 * message and frame it in one go (a HELLO with its MACs).
 *
 *   initiator                                  responder
 *   write_hello    -- HELLO:   psk, e, {id} --> (mac1, budgets: the caller)
 *                                               read_hello   (no DH: PSK-keyed AEAD)
 *                                               (the caller's freshness check)
 *                                               accept_hello (replay cache)
 *   read_cookie    <-- COOKIE (under load) --   (the caller, common/cookie)
 *   (the same HELLO again, with mac2) ------->
 *   read_welcome   <-- WELCOME: e, ee, s, es, {id} -- write_welcome
 *   (check_pin)
 *   write_confirm  -- CONFIRM: s, se, {id} ---> read_confirm
 *   finish                                     (check_pin) finish
 *
 * The identity record's timestamp is the sender's stamp (common/freshness):
 * it only ever grows for one sender and is never compared with the reader's
 * clock. Whether a HELLO is fresh is the caller's to decide between
 * read_hello and accept_hello; the later messages are bound to the ephemeral
 * keys of this very handshake. The replay cache runs on the caller's
 * monotonic clock. A HELLO sent again with the same bytes is a replay to the
 * responder's cache.
 * libsodium must have been initialised (sodium_init()). */
#ifndef WEFT_HANDSHAKE_H
#define WEFT_HANDSHAKE_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/cookie.h"
#include "common/noise.h"
#include "common/weft.h"
#include "common/wire.h"

/* ---- identity record --------------------------------------------------------
 *
 * The payload of each handshake message, big-endian like the rest of the wire:
 *
 *   offset  size  field
 *        0     1  version            1; a higher version appends fields
 *        1     4  sender_index       the sender's index; equals the clear one
 *        5     8  timestamp_ms       sender's stamp: above every one it sent before
 *       13     4  capabilities       bits; unknown ones are ignored
 *       17     2  listen_port        the sender's UDP port (0: unknown)
 *       19     1  nickname_len       1..32
 *       20     n  nickname           [A-Za-z0-9._-], no NUL
 *     20+n     …  (version > 1 only) further fields, ignored by a v1 reader
 *
 * A version 1 record is exactly 20 + n bytes; version 0 is malformed. */
#define WEFT_HANDSHAKE_VERSION		1
#define WEFT_HANDSHAKE_NICK_MAX		32
#define WEFT_HANDSHAKE_IDENTITY_MIN_LEN 21
#define WEFT_HANDSHAKE_IDENTITY_MAX_LEN (20 + WEFT_HANDSHAKE_NICK_MAX)
/* The largest payload a reader accepts (a later version's record). */
#define WEFT_HANDSHAKE_PAYLOAD_MAX 512

/* Noise message lengths for an identity record of @id_len bytes. */
#define WEFT_HANDSHAKE_HELLO_LEN(id_len)   (32 + (id_len) + 16)
#define WEFT_HANDSHAKE_WELCOME_LEN(id_len) (32 + 48 + (id_len) + 16)
#define WEFT_HANDSHAKE_CONFIRM_LEN(id_len) (48 + (id_len) + 16)
/* Buffers that always hold the message we write (at most 100, 148 and 116). */
#define WEFT_HANDSHAKE_HELLO_MAX   WEFT_HANDSHAKE_HELLO_LEN(WEFT_HANDSHAKE_IDENTITY_MAX_LEN)
#define WEFT_HANDSHAKE_WELCOME_MAX WEFT_HANDSHAKE_WELCOME_LEN(WEFT_HANDSHAKE_IDENTITY_MAX_LEN)
#define WEFT_HANDSHAKE_CONFIRM_MAX WEFT_HANDSHAKE_CONFIRM_LEN(WEFT_HANDSHAKE_IDENTITY_MAX_LEN)
/* Our whole HELLO datagram, MACs included (at most 140 bytes). */
#define WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX                                                          \
	(WEFT_WIRE_HELLO_HEADER_LEN + WEFT_HANDSHAKE_HELLO_MAX + WEFT_WIRE_HELLO_TRAILER_LEN)
/* The clear ephemeral key is the first 32 bytes of a HELLO's Noise message
 * (psk0 puts no encryption on `e'): a responder can look it up in its replay
 * cache before any cryptography. */
#define WEFT_HANDSHAKE_HELLO_E_OFFSET 0

struct weft_handshake_identity {
	uint8_t version; /* as received; encode writes WEFT_HANDSHAKE_VERSION */
	uint32_t index;
	uint64_t timestamp_ms;
	uint32_t capabilities;
	uint16_t listen_port;
	char nickname[WEFT_HANDSHAKE_NICK_MAX + 1]; /* NUL-terminated */
};

/* 1..32 characters of WEFT_NAME_CHARS ([A-Za-z0-9._-]). */
bool weft_handshake_nickname_valid(const char *nickname);
/* The same for @len bytes that need no terminator (as nicknames travel in
 * identity and MEMBERS records): 1..32 of WEFT_NAME_CHARS. */
bool weft_handshake_nick_valid(const char *s, size_t len);
/* Encodes @id as a version 1 record into @out (@cap bytes). Returns 0 with
 * *@len set, -EINVAL (bad nickname) or -ENOBUFS. */
int weft_handshake_identity_encode(const struct weft_handshake_identity *id, uint8_t *out,
				   size_t cap, size_t *len) WEFT_WUR;
/* Decodes a record whose sender index must be @expected_index. Returns 0 or
 * -EPROTO with a reason (truncated, version 0, trailing bytes in a version 1
 * record, bad nickname, index mismatch). */
int weft_handshake_identity_decode(struct weft_handshake_identity *id, const uint8_t *in,
				   size_t len, uint32_t expected_index,
				   char err[static WEFT_ERRLEN]) WEFT_WUR;

/* ---- HELLO replay cache -------------------------------------------------------
 *
 * The ephemeral keys of answered HELLOs, each kept for @keep_ms
 * (WEFT_HANDSHAKE_REPLAY_KEEP_MS: the same HELLO is answered at most once in
 * that time, whatever its stamp). Fixed capacity, one
 * allocation at creation. When full, an entry is dropped only once it is
 * older than keep_ms; until then a new key is refused (-ENOSPC), never an
 * entry evicted early, so a flood cannot reopen replays of answered HELLOs.
 * Size it for the HELLOs a responder may answer in keep_ms (its global
 * handshake budget) and it never fills. Lookups hash the key with a random
 * SipHash key. */
#define WEFT_HANDSHAKE_REPLAY_CAPACITY 4096

struct weft_handshake_replay;

/* Returns NULL when out of memory or @capacity is 0 or over 2^24. */
struct weft_handshake_replay *weft_handshake_replay_new(size_t capacity, uint64_t keep_ms) WEFT_WUR;
void weft_handshake_replay_free(struct weft_handshake_replay *c);
/* Was @e_pub added within keep_ms before @now_ms? */
bool weft_handshake_replay_contains(struct weft_handshake_replay *c,
				    const uint8_t e_pub[static WEFT_KEY_LEN], uint64_t now_ms);
/* Remembers @e_pub (once; adding a key again renews nothing). Returns 0, or
 * -ENOSPC when every entry is younger than keep_ms (nothing changed). */
int weft_handshake_replay_add(struct weft_handshake_replay *c,
			      const uint8_t e_pub[static WEFT_KEY_LEN], uint64_t now_ms) WEFT_WUR;
/* Entries currently remembered (expired ones go lazily). */
size_t weft_handshake_replay_count(const struct weft_handshake_replay *c);

/* ---- the handshake ------------------------------------------------------------ */

#define WEFT_HANDSHAKE_REPLAY_KEEP_MS 240000
#define WEFT_HANDSHAKE_NETWORK_MAX    255
#define WEFT_HANDSHAKE_PROLOGUE	      "weft/2 "
/* COOKIEs an initiator takes for one HELLO: one, and one more should the
 * responder's secret have rotated in between. */
#define WEFT_HANDSHAKE_COOKIES_MAX 2

/* What both roles start from. Every pointer is borrowed for the duration of
 * the call it is passed to (keys are copied into the handshake's own
 * sodium_malloc memory). */
/* Capability bits of the identity record (docs/protocol.md, section 13.1). */
#define WEFT_HANDSHAKE_CAP_MESH	 (1U << 0) /* MEMBERS, RELAY, PROBE, PROBE_ACK records */
#define WEFT_HANDSHAKE_CAP_CSUM_PARTIAL (1U << 1) /* FRAME_PARTIAL records */

struct weft_handshake_config {
	const uint8_t *static_priv; /* our X25519 private key */
	const uint8_t *static_pub;  /* its public half */
	const uint8_t *psk;	    /* the network secret */
	const char *network;	    /* network name, for the prologue */
	const char *nickname;	    /* ours, sent in the identity record */
	uint32_t capabilities;
	uint16_t listen_port;
	const uint8_t *ephemeral_priv; /* tests and fuzzing only; NULL: random */
	/* HELLO datagrams: the MAC keys (NULL: derived from psk and network on
	 * each write) and a cookie from the responder (NULL: mac2 is zero). */
	const struct weft_cookie_keys *macs;
	const uint8_t *cookie;
};

/* Errors, so the caller can count drops by reason and tell an operator what
 * is wrong:
 *   -EBADMSG   a HELLO that does not authenticate: its key comes from the
 *              network secret and name alone, so the sender is a non-member,
 *              or uses another network secret or network name, or the
 *              datagram is corrupted (read_hello only)
 *   -EPROTO    the identity, in a handshake whose HELLO authenticated: a
 *              WELCOME or CONFIRM that does not decrypt (the static key or the
 *              identity record inside fails its tag: forged, corrupted or from
 *              a broken key pair), or an identity record that is malformed or
 *              carries another index than the datagram
 *   -EALREADY  HELLO ephemeral key already answered (replay); a COOKIE that
 *              brings nothing new (replayed, or over WEFT_HANDSHAKE_COOKIES_MAX)
 *   -ENOSPC    HELLO refused: the replay cache is full of keys younger than
 *              its window
 *   -EPERM     refused by the pinning policy: the key differs from the pin
 *   -EACCES    refused by the pinning policy: no pin, and pins are required
 *   -EINVAL    call out of order or bad configuration (a bug of the caller)
 *   -ENOBUFS   output buffer too small (nothing changed)
 *   -ENOMEM    out of memory */
enum weft_handshake_drop {
	WEFT_HANDSHAKE_DROP_AUTH,	 /* -EBADMSG */
	WEFT_HANDSHAKE_DROP_IDENTITY,	 /* -EPROTO */
	WEFT_HANDSHAKE_DROP_REPLAY,	 /* -EALREADY */
	WEFT_HANDSHAKE_DROP_PIN,	 /* -EPERM, -EACCES */
	WEFT_HANDSHAKE_DROP_REPLAY_FULL, /* -ENOSPC */
	WEFT_HANDSHAKE_DROP_OTHER,	 /* anything else */
	WEFT_HANDSHAKE_DROP_COUNT
};
enum weft_handshake_drop weft_handshake_drop_reason(int err);
/* "auth_failed", "bad_identity", "replayed", "pin_refused",
 * "replay_full", "other". */
const char *weft_handshake_drop_name(enum weft_handshake_drop drop);

/* One handshake in progress, either role, in sodium_malloc memory. A state
 * can be reused: every write_hello/read_hello starts afresh. A responder may
 * keep one spare state for reading HELLOs and allocate only when one is
 * accepted (at most rate-limited members get that far). */
struct weft_handshake;

struct weft_handshake *weft_handshake_new(void) WEFT_WUR;
/* Wipes and frees; accepts NULL. */
void weft_handshake_free(struct weft_handshake *hs);

/* Initiator, step 1: the HELLO Noise message (psk, e, identity) into @out
 * (WEFT_HANDSHAKE_HELLO_MAX bytes always suffice). @local_index is the sender
 * index of our HELLO; @stamp_ms its identity record's timestamp (our stamp). */
int weft_handshake_write_hello(struct weft_handshake *hs, const struct weft_handshake_config *cfg,
			       uint32_t local_index, uint64_t stamp_ms, uint8_t *out, size_t cap,
			       size_t *len, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Initiator, step 2: the WELCOME (e, ee, s, es, identity). @sender_index is
 * the clear sender index of the datagram (the responder's index). After it
 * succeeded, weft_handshake_remote_static() is known: check the pin before
 * writing the CONFIRM, which reveals our static key. */
int weft_handshake_read_welcome(struct weft_handshake *hs, uint32_t sender_index,
				const uint8_t *msg, size_t len,
				char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Initiator, step 3: the CONFIRM (s, se, identity: the HELLO's record again)
 * into @out (WEFT_HANDSHAKE_CONFIRM_MAX bytes always suffice); the handshake
 * is done. */
int weft_handshake_write_confirm(struct weft_handshake *hs, uint8_t *out, size_t cap, size_t *len,
				 char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Responder, step 1: reads a HELLO without any Diffie-Hellman: the payload
 * must authenticate (key from the PSK and e) and the identity record must be
 * well-formed with @sender_index (the clear one). Then
 * weft_handshake_remote_identity() says who it claims to be and its stamp,
 * for the caller's freshness check. The HELLO's MACs are the caller's to
 * check first (common/cookie). */
int weft_handshake_read_hello(struct weft_handshake *hs, const struct weft_handshake_config *cfg,
			      uint32_t sender_index, const uint8_t *msg, size_t len,
			      char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Responder, step 1b: accepts the HELLO read: its ephemeral key must not be
 * in @replay (-EALREADY) and is added (-ENOSPC when @replay has no room; any
 * failure ends the handshake). @now_ms is the caller's monotonic clock.
 * Then answer with weft_handshake_write_welcome(). @replay may be NULL
 * (tests only). */
int weft_handshake_accept_hello(struct weft_handshake *hs, struct weft_handshake_replay *replay,
				uint64_t now_ms, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Responder, step 2: the WELCOME into @out (WEFT_HANDSHAKE_WELCOME_MAX bytes
 * always suffice); the DHs happen here. @local_index is our sender index. */
int weft_handshake_write_welcome(struct weft_handshake *hs, uint32_t local_index, uint64_t stamp_ms,
				 uint8_t *out, size_t cap, size_t *len,
				 char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Responder, step 3: the CONFIRM (s, se, identity); its identity must carry
 * the HELLO's sender index. The handshake is done; check the pin. */
int weft_handshake_read_confirm(struct weft_handshake *hs, const uint8_t *msg, size_t len,
				char err[static WEFT_ERRLEN]) WEFT_WUR;

/* The write_* calls above, each writing one whole handshake datagram (header,
 * indices, Noise message: the bytes weft_wire_build_*() would frame) into @buf
 * (capacity @cap; WEFT_WIRE_*_HEADER_LEN + WEFT_HANDSHAKE_*_MAX bytes always
 * suffice) and setting *@len. The same errors and the same effect on @hs as
 * the call each wraps; on failure @err always says why.
 * HELLO: @local_index is our sender index (and the identity record's); mac1
 * from cfg->macs (or the PSK and network), mac2 from cfg->cookie. The
 * datagram is kept in @hs for weft_handshake_read_cookie(). */
int weft_handshake_write_hello_datagram(struct weft_handshake *hs,
					const struct weft_handshake_config *cfg,
					uint32_t local_index, uint64_t stamp_ms, uint8_t *buf,
					size_t cap, size_t *len,
					char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Initiator, a COOKIE @msg (parsed) for our HELLO: it must carry our sender
 * index and open with our HELLO's mac1 under @k. Then our same HELLO (same
 * ephemeral key, new mac2) is written into @buf (WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX
 * bytes suffice) for sending again at once, and the cookie into @cookie (for
 * the next HELLOs to the same responder). Each COOKIE yields at most one
 * resend, and a HELLO at most WEFT_HANDSHAKE_COOKIES_MAX. Returns 0, -EINVAL
 * (no HELLO datagram of ours waits, or another index), -EBADMSG (does not
 * open), -EALREADY (the cookie we already use, or too many) or -ENOBUFS;
 * any failure leaves @hs as it was. */
int weft_handshake_read_cookie(struct weft_handshake *hs, const struct weft_cookie_keys *k,
			       const struct weft_wire_msg *msg,
			       uint8_t cookie[static WEFT_COOKIE_LEN], uint8_t *buf, size_t cap,
			       size_t *len, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* WELCOME: @local_index is our sender index, @remote_index the HELLO's. */
int weft_handshake_write_welcome_datagram(struct weft_handshake *hs, uint32_t local_index,
					  uint32_t remote_index, uint64_t stamp_ms, uint8_t *buf,
					  size_t cap, size_t *len,
					  char err[static WEFT_ERRLEN]) WEFT_WUR;
/* CONFIRM: @remote_index is the WELCOME's sender index. */
int weft_handshake_write_confirm_datagram(struct weft_handshake *hs, uint32_t remote_index,
					  uint8_t *buf, size_t cap, size_t *len,
					  char err[static WEFT_ERRLEN]) WEFT_WUR;

/* A failed read_welcome or read_confirm leaves @hs as it was, so a forged
 * datagram carrying our index cannot kill a handshake in progress; any other
 * failure ends it (start again with write_hello/read_hello). */

/* The peer's static key: 0, or -ENOENT before it arrived. */
int weft_handshake_remote_static(const struct weft_handshake *hs,
				 uint8_t out[static WEFT_KEY_LEN]) WEFT_WUR;
/* The peer's identity record, NULL before it arrived (borrowed, valid while
 * @hs is and until it is reused). */
const struct weft_handshake_identity *
weft_handshake_remote_identity(const struct weft_handshake *hs);
bool weft_handshake_done(const struct weft_handshake *hs);
bool weft_handshake_initiator(const struct weft_handshake *hs);

/* A finished handshake. Public, no secrets. */
struct weft_handshake_result {
	bool initiator;
	uint32_t local_index;  /* ours: the peer sends it as receiver_index */
	uint32_t remote_index; /* theirs: we send it as receiver_index */
	uint8_t hash[WEFT_NOISE_HASHLEN];
	uint8_t remote_static[WEFT_KEY_LEN];
	struct weft_handshake_identity remote;
};

/* Split(): writes this side's transport keys to @send_key and @recv_key (the
 * caller's, ideally sodium_malloc memory: hand them to weft_session_new() and
 * wipe them) and fills @res. Wipes every secret of @hs. Returns 0 or -EINVAL
 * (not done, or already finished). */
int weft_handshake_finish(struct weft_handshake *hs, struct weft_handshake_result *res,
			  uint8_t send_key[static WEFT_KEY_LEN],
			  uint8_t recv_key[static WEFT_KEY_LEN]) WEFT_WUR;

/* ---- pinning policy -------------------------------------------------------- */

/* @pin: the public key configured for this peer, or NULL. A pin must match
 * (else -EPERM, and @err names both keys by fingerprint: the pinned one, then
 * the presented one); without one, the key is refused when @require_pinned
 * (-EACCES, @err names the presented key). Returns 0 or one of those. */
int weft_handshake_check_pin(const uint8_t *pin, bool require_pinned,
			     const uint8_t remote_static[static WEFT_KEY_LEN],
			     char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
