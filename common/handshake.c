/* SPDX-License-Identifier: MIT */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/handshake.h"
#include "common/key.h"
#include "common/wire.h"

/* ---- identity record ------------------------------------------------------ */

bool weft_handshake_nick_valid(const char *s, size_t len)
{
	if (len < 1 || len > WEFT_HANDSHAKE_NICK_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (s[i] == '\0' || !strchr(WEFT_NAME_CHARS, s[i]))
			return false;
	return true;
}

bool weft_handshake_nickname_valid(const char *nickname)
{
	return nickname &&
	       weft_handshake_nick_valid(nickname, strnlen(nickname, WEFT_HANDSHAKE_NICK_MAX + 1));
}

int weft_handshake_identity_encode(const struct weft_handshake_identity *id, uint8_t *out,
				   size_t cap, size_t *len)
{
	size_t nlen = strnlen(id->nickname, sizeof(id->nickname));

	if (!weft_handshake_nick_valid(id->nickname, nlen))
		return -EINVAL;
	if (cap < 20 + nlen)
		return -ENOBUFS;
	out[0] = WEFT_HANDSHAKE_VERSION;
	weft_put_be32(out + 1, id->index);
	weft_put_be64(out + 5, id->timestamp_ms);
	weft_put_be32(out + 13, id->capabilities);
	weft_put_be16(out + 17, id->listen_port);
	out[19] = (uint8_t)nlen;
	memcpy(out + 20, id->nickname, nlen);
	*len = 20 + nlen;
	return 0;
}

int weft_handshake_identity_decode(struct weft_handshake_identity *id, const uint8_t *in,
				   size_t len, uint32_t expected_index,
				   char err[static WEFT_ERRLEN])
{
	size_t nlen;

	memset(id, 0, sizeof(*id));
	if (len < WEFT_HANDSHAKE_IDENTITY_MIN_LEN) {
		snprintf(err, WEFT_ERRLEN, "identity record truncated (%zu bytes)", len);
		return -EPROTO;
	}
	if (in[0] == 0) {
		snprintf(err, WEFT_ERRLEN, "identity record version 0");
		return -EPROTO;
	}
	nlen = in[19];
	if (len < 20 + nlen) {
		snprintf(err, WEFT_ERRLEN, "identity record truncated (%zu bytes, nickname of %zu)",
			 len, nlen);
		return -EPROTO;
	}
	/* Only a later version may append fields. */
	if (in[0] == WEFT_HANDSHAKE_VERSION && len != 20 + nlen) {
		snprintf(err, WEFT_ERRLEN, "identity record v1 with %zu trailing bytes",
			 len - 20 - nlen);
		return -EPROTO;
	}
	if (!weft_handshake_nick_valid((const char *)in + 20, nlen)) {
		snprintf(err, WEFT_ERRLEN, "identity record: bad nickname (%zu bytes)", nlen);
		return -EPROTO;
	}
	id->version = in[0];
	id->index = weft_get_be32(in + 1);
	id->timestamp_ms = weft_get_be64(in + 5);
	id->capabilities = weft_get_be32(in + 13);
	id->listen_port = weft_get_be16(in + 17);
	memcpy(id->nickname, in + 20, nlen);
	id->nickname[nlen] = '\0';
	if (id->index != expected_index) {
		snprintf(err, WEFT_ERRLEN, "identity record: sender index %08x, datagram says %08x",
			 id->index, expected_index);
		return -EPROTO;
	}
	return 0;
}

/* ---- replay cache ----------------------------------------------------------- */

struct replay_entry {
	uint8_t key[WEFT_KEY_LEN];
	uint64_t added_ms;
	uint64_t hash;
};

/* A FIFO ring of entries (oldest first, so expiry and eviction both take the
 * head) indexed by an open-addressing table at most half full: slots hold a
 * ring position + 1, 0 is empty. */
struct weft_handshake_replay {
	size_t capacity, head, count;
	uint64_t keep_ms;
	size_t mask;
	uint32_t *slots;
	struct replay_entry *ring;
	uint8_t hash_key[crypto_shorthash_KEYBYTES];
};

static uint64_t replay_hash(const struct weft_handshake_replay *c, const uint8_t *key)
{
	uint8_t out[crypto_shorthash_BYTES];
	uint64_t h = 0;

	crypto_shorthash(out, key, WEFT_KEY_LEN, c->hash_key);
	for (int i = 0; i < 8; i++)
		h |= (uint64_t)out[i] << (8 * i);
	return h;
}

struct weft_handshake_replay *weft_handshake_replay_new(size_t capacity, uint64_t keep_ms)
{
	struct weft_handshake_replay *c;
	size_t slots = 2;

	if (capacity == 0 || capacity > (1U << 24))
		return NULL;
	while (slots < 2 * capacity)
		slots <<= 1;
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->slots = calloc(slots, sizeof(*c->slots));
	c->ring = calloc(capacity, sizeof(*c->ring));
	if (!c->slots || !c->ring) {
		weft_handshake_replay_free(c);
		return NULL;
	}
	c->capacity = capacity;
	c->mask = slots - 1;
	c->keep_ms = keep_ms;
	randombytes_buf(c->hash_key, sizeof(c->hash_key));
	return c;
}

void weft_handshake_replay_free(struct weft_handshake_replay *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->ring);
	free(c);
}

/* The slot that holds @key, or the empty slot ending its probe sequence. */
static size_t replay_find(const struct weft_handshake_replay *c, const uint8_t *key, uint64_t hash)
{
	size_t i = (size_t)hash & c->mask;

	while (c->slots[i]) {
		const struct replay_entry *e = &c->ring[c->slots[i] - 1];

		if (e->hash == hash && !memcmp(e->key, key, WEFT_KEY_LEN))
			break;
		i = (i + 1) & c->mask;
	}
	return i;
}

/* Drops the oldest entry, closing the gap it leaves in its probe sequence
 * (backward-shift deletion, so lookups never need tombstones). */
static void replay_pop(struct weft_handshake_replay *c)
{
	const struct replay_entry *old = &c->ring[c->head];
	size_t i = replay_find(c, old->key, old->hash), j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & c->mask;
		if (!c->slots[j])
			break;
		home = (size_t)c->ring[c->slots[j] - 1].hash & c->mask;
		/* Entry j may move to i only if its home is not in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		c->slots[i] = c->slots[j];
		i = j;
	}
	c->slots[i] = 0;
	c->head = (c->head + 1) % c->capacity;
	c->count--;
}

static void replay_expire(struct weft_handshake_replay *c, uint64_t now_ms)
{
	/* Entries are in insertion order; a clock that went back keeps them longer. */
	while (c->count && now_ms >= c->ring[c->head].added_ms &&
	       now_ms - c->ring[c->head].added_ms >= c->keep_ms)
		replay_pop(c);
}

bool weft_handshake_replay_contains(struct weft_handshake_replay *c,
				    const uint8_t e_pub[static WEFT_KEY_LEN], uint64_t now_ms)
{
	replay_expire(c, now_ms);
	return c->slots[replay_find(c, e_pub, replay_hash(c, e_pub))] != 0;
}

int weft_handshake_replay_add(struct weft_handshake_replay *c,
			      const uint8_t e_pub[static WEFT_KEY_LEN], uint64_t now_ms)
{
	uint64_t hash = replay_hash(c, e_pub);
	size_t pos, slot;

	replay_expire(c, now_ms);
	if (c->slots[replay_find(c, e_pub, hash)])
		return 0;
	/* Full of entries still inside their window (expire() took the rest):
	 * evicting one would let its HELLO be replayed. */
	if (c->count == c->capacity)
		return -ENOSPC;
	pos = (c->head + c->count) % c->capacity;
	memcpy(c->ring[pos].key, e_pub, WEFT_KEY_LEN);
	c->ring[pos].added_ms = now_ms;
	c->ring[pos].hash = hash;
	slot = replay_find(c, e_pub, hash);
	c->slots[slot] = (uint32_t)pos + 1;
	c->count++;
	return 0;
}

size_t weft_handshake_replay_count(const struct weft_handshake_replay *c)
{
	return c->count;
}

/* ---- errors ------------------------------------------------------------------ */

enum weft_handshake_drop weft_handshake_drop_reason(int err)
{
	switch (err) {
	case -EBADMSG:
		return WEFT_HANDSHAKE_DROP_AUTH;
	case -EPROTO:
		return WEFT_HANDSHAKE_DROP_IDENTITY;
	case -EALREADY:
		return WEFT_HANDSHAKE_DROP_REPLAY;
	case -EPERM:
	case -EACCES:
		return WEFT_HANDSHAKE_DROP_PIN;
	case -ENOSPC:
		return WEFT_HANDSHAKE_DROP_REPLAY_FULL;
	default:
		return WEFT_HANDSHAKE_DROP_OTHER;
	}
}

const char *weft_handshake_drop_name(enum weft_handshake_drop drop)
{
	static const char *const names[] = {
	    [WEFT_HANDSHAKE_DROP_AUTH] = "auth_failed",
	    [WEFT_HANDSHAKE_DROP_IDENTITY] = "bad_identity",
	    [WEFT_HANDSHAKE_DROP_REPLAY] = "replayed",
	    [WEFT_HANDSHAKE_DROP_PIN] = "pin_refused",
	    [WEFT_HANDSHAKE_DROP_REPLAY_FULL] = "replay_full",
	    [WEFT_HANDSHAKE_DROP_OTHER] = "other",
	};

	return (unsigned)drop < WEFT_ARRAY_SIZE(names) ? names[drop] : "other";
}

/* ---- the handshake -------------------------------------------------------- */

enum stage {
	ST_IDLE,
	ST_SENT_HELLO,	 /* initiator */
	ST_GOT_WELCOME,	 /* initiator */
	ST_READ_HELLO,	 /* responder: read, not yet accepted */
	ST_GOT_HELLO,	 /* responder */
	ST_SENT_WELCOME, /* responder */
	ST_DONE,	 /* both: waiting for finish() */
	ST_FINISHED,
	ST_FAILED,
};

struct weft_handshake {
	struct weft_noise noise;
	struct weft_noise scratch; /* reads go here first, so a bad datagram changes nothing */
	uint8_t stage;
	bool initiator;
	bool has_remote;
	uint32_t local_index, remote_index;
	struct weft_handshake_identity local, remote;
	uint8_t rs[WEFT_KEY_LEN];
	uint8_t payload[WEFT_HANDSHAKE_PAYLOAD_MAX];
	/* Initiator: our HELLO datagram, for sending it again with a cookie. */
	uint8_t hello[WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX];
	size_t hello_len;
	uint8_t cookies; /* COOKIEs taken for it */
};

struct weft_handshake *weft_handshake_new(void)
{
	struct weft_handshake *hs = sodium_malloc(sizeof(*hs));

	if (hs)
		sodium_memzero(hs, sizeof(*hs));
	return hs;
}

void weft_handshake_free(struct weft_handshake *hs)
{
	if (!hs)
		return;
	sodium_memzero(hs, sizeof(*hs));
	sodium_free(hs);
}

static void fail(struct weft_handshake *hs)
{
	sodium_memzero(hs, sizeof(*hs));
	hs->stage = ST_FAILED;
}

/* Checks @cfg and starts the Noise state with weft's prologue and our identity. */
static int start(struct weft_handshake *hs, const struct weft_handshake_config *cfg, bool initiator,
		 char err[static WEFT_ERRLEN])
{
	uint8_t prologue[sizeof(WEFT_HANDSHAKE_PROLOGUE) - 1 + WEFT_HANDSHAKE_NETWORK_MAX];
	const size_t plen = sizeof(WEFT_HANDSHAKE_PROLOGUE) - 1;
	struct weft_noise_config nc = {
	    .pattern = WEFT_NOISE_XXPSK0,
	    .initiator = initiator,
	    .static_priv = cfg->static_priv,
	    .static_pub = cfg->static_pub,
	    .psk = cfg->psk,
	    .ephemeral_priv = cfg->ephemeral_priv,
	};
	size_t nlen;

	fail(hs);
	if (!cfg->static_priv || !cfg->static_pub || !cfg->psk || !cfg->network) {
		snprintf(err, WEFT_ERRLEN,
			 "handshake configuration lacks a key or the network name");
		return -EINVAL;
	}
	nlen = strnlen(cfg->network, WEFT_HANDSHAKE_NETWORK_MAX + 1);
	if (nlen > WEFT_HANDSHAKE_NETWORK_MAX) {
		snprintf(err, WEFT_ERRLEN, "network name longer than %d bytes",
			 WEFT_HANDSHAKE_NETWORK_MAX);
		return -EINVAL;
	}
	if (!weft_handshake_nickname_valid(cfg->nickname)) {
		snprintf(err, WEFT_ERRLEN, "nickname must be 1..%d characters of [A-Za-z0-9._-]",
			 WEFT_HANDSHAKE_NICK_MAX);
		return -EINVAL;
	}
	memcpy(prologue, WEFT_HANDSHAKE_PROLOGUE, plen);
	memcpy(prologue + plen, cfg->network, nlen);
	nc.prologue = prologue;
	nc.prologue_len = plen + nlen;
	if (weft_noise_init(&hs->noise, &nc) < 0) {
		snprintf(err, WEFT_ERRLEN, "cannot start the Noise handshake");
		fail(hs);
		return -EINVAL;
	}
	hs->initiator = initiator;
	hs->local.version = WEFT_HANDSHAKE_VERSION;
	hs->local.capabilities = cfg->capabilities;
	hs->local.listen_port = cfg->listen_port;
	memcpy(hs->local.nickname, cfg->nickname, strlen(cfg->nickname) + 1);
	return 0;
}

/* Writes the next Noise message with our identity record as its payload. */
static int write_message(struct weft_handshake *hs, uint8_t *out, size_t cap, size_t *len,
			 char err[static WEFT_ERRLEN])
{
	uint8_t record[WEFT_HANDSHAKE_IDENTITY_MAX_LEN];
	size_t rlen;
	int r;

	if (weft_handshake_identity_encode(&hs->local, record, sizeof(record), &rlen) < 0) {
		snprintf(err, WEFT_ERRLEN, "cannot encode our identity record");
		return -EINVAL;
	}
	r = weft_noise_write(&hs->noise, record, rlen, out, cap, len);
	if (r == -ENOBUFS)
		snprintf(err, WEFT_ERRLEN, "handshake message needs %zu bytes, buffer has %zu",
			 weft_noise_write_len(&hs->noise, rlen), cap);
	else if (r < 0)
		snprintf(err, WEFT_ERRLEN, "peer's ephemeral key is invalid (low-order point)");
	return r;
}

enum message { M_HELLO, M_WELCOME, M_CONFIRM };

/* Reads the peer's next Noise message into the scratch state and decodes its
 * identity record; @hs->noise is untouched, the caller commits on success.
 * A HELLO that fails its tag is -EBADMSG: only the network secret and name
 * key it. A later message that fails is -EPROTO: the HELLO of this handshake
 * authenticated, so what fails is the identity it carries (or the datagram
 * was forged). */
static int read_message(struct weft_handshake *hs, enum message kind, const uint8_t *msg,
			size_t len, uint32_t expected_index, struct weft_handshake_identity *id,
			char err[static WEFT_ERRLEN])
{
	static const char *const names[] = {"HELLO", "WELCOME", "CONFIRM"};
	const char *what = names[kind];
	size_t plen;
	int r;

	memcpy(&hs->scratch, &hs->noise, sizeof(hs->scratch));
	r = weft_noise_read(&hs->scratch, msg, len, hs->payload, sizeof(hs->payload), &plen);
	if (r == -ENOBUFS) {
		snprintf(err, WEFT_ERRLEN, "identity record longer than %d bytes",
			 WEFT_HANDSHAKE_PAYLOAD_MAX);
		r = -EPROTO;
	} else if (r < 0 && kind == M_HELLO) {
		snprintf(err, WEFT_ERRLEN, "%s of %zu bytes did not authenticate", what, len);
		r = -EBADMSG;
	} else if (r < 0) {
		snprintf(err, WEFT_ERRLEN,
			 "%s of %zu bytes did not decrypt though its handshake's HELLO did",
			 what, len);
		r = -EPROTO;
	} else {
		r = weft_handshake_identity_decode(id, hs->payload, plen, expected_index, err);
	}
	sodium_memzero(hs->payload, sizeof(hs->payload));
	if (r < 0)
		sodium_memzero(&hs->scratch, sizeof(hs->scratch));
	return r;
}

static void commit_read(struct weft_handshake *hs)
{
	memcpy(&hs->noise, &hs->scratch, sizeof(hs->noise));
	sodium_memzero(&hs->scratch, sizeof(hs->scratch));
}

int weft_handshake_write_hello(struct weft_handshake *hs, const struct weft_handshake_config *cfg,
			       uint32_t local_index, uint64_t stamp_ms, uint8_t *out, size_t cap,
			       size_t *len, char err[static WEFT_ERRLEN])
{
	int r = start(hs, cfg, true, err);

	if (r < 0)
		return r;
	hs->local_index = local_index;
	hs->local.index = local_index;
	hs->local.timestamp_ms = stamp_ms;
	r = write_message(hs, out, cap, len, err);
	if (r < 0) {
		fail(hs);
		return r;
	}
	hs->stage = ST_SENT_HELLO;
	return 0;
}

int weft_handshake_read_welcome(struct weft_handshake *hs, uint32_t sender_index,
				const uint8_t *msg, size_t len, char err[static WEFT_ERRLEN])
{
	struct weft_handshake_identity id;
	int r;

	if (hs->stage != ST_SENT_HELLO) {
		snprintf(err, WEFT_ERRLEN, "no HELLO of ours waits for a WELCOME");
		return -EINVAL;
	}
	r = read_message(hs, M_WELCOME, msg, len, sender_index, &id, err);
	if (r < 0)
		return r;
	commit_read(hs);
	if (weft_noise_remote_static(&hs->noise, hs->rs) < 0) {
		fail(hs);
		return -EINVAL;
	}
	hs->remote = id;
	hs->has_remote = true;
	hs->remote_index = sender_index;
	hs->stage = ST_GOT_WELCOME;
	return 0;
}

int weft_handshake_write_confirm(struct weft_handshake *hs, uint8_t *out, size_t cap, size_t *len,
				 char err[static WEFT_ERRLEN])
{
	int r;

	if (hs->stage != ST_GOT_WELCOME) {
		snprintf(err, WEFT_ERRLEN, "no WELCOME to confirm");
		return -EINVAL;
	}
	r = write_message(hs, out, cap, len, err);
	if (r == -ENOBUFS)
		return r;
	if (r < 0) {
		fail(hs);
		return r;
	}
	hs->stage = ST_DONE;
	return 0;
}

int weft_handshake_read_hello(struct weft_handshake *hs, const struct weft_handshake_config *cfg,
			      uint32_t sender_index, const uint8_t *msg, size_t len,
			      char err[static WEFT_ERRLEN])
{
	struct weft_handshake_identity id;
	int r = start(hs, cfg, false, err);

	if (r < 0)
		return r;
	r = read_message(hs, M_HELLO, msg, len, sender_index, &id, err);
	if (r < 0) {
		fail(hs);
		return r;
	}
	commit_read(hs);
	hs->remote = id;
	hs->has_remote = true;
	hs->remote_index = sender_index;
	hs->stage = ST_READ_HELLO;
	return 0;
}

int weft_handshake_accept_hello(struct weft_handshake *hs, struct weft_handshake_replay *replay,
				uint64_t now_ms, char err[static WEFT_ERRLEN])
{
	uint8_t re[WEFT_KEY_LEN];
	int r = -EINVAL;

	if (hs->stage != ST_READ_HELLO) {
		snprintf(err, WEFT_ERRLEN, "no HELLO read to accept");
		return -EINVAL;
	}
	if (weft_noise_remote_ephemeral(&hs->noise, re) < 0)
		goto fail;
	if (replay) {
		if (weft_handshake_replay_contains(replay, re, now_ms)) {
			snprintf(err, WEFT_ERRLEN,
				 "HELLO replayed (ephemeral key already answered)");
			r = -EALREADY;
			goto fail;
		}
		if (weft_handshake_replay_add(replay, re, now_ms) < 0) {
			snprintf(err, WEFT_ERRLEN,
				 "replay cache full of HELLOs answered in the last %.0f s",
				 (double)WEFT_HANDSHAKE_REPLAY_KEEP_MS / 1000.0);
			r = -ENOSPC;
			goto fail;
		}
	}
	hs->stage = ST_GOT_HELLO;
	return 0;
fail:
	fail(hs);
	return r;
}

int weft_handshake_write_welcome(struct weft_handshake *hs, uint32_t local_index, uint64_t stamp_ms,
				 uint8_t *out, size_t cap, size_t *len,
				 char err[static WEFT_ERRLEN])
{
	int r;

	if (hs->stage != ST_GOT_HELLO) {
		snprintf(err, WEFT_ERRLEN, "no accepted HELLO to answer");
		return -EINVAL;
	}
	hs->local_index = local_index;
	hs->local.index = local_index;
	hs->local.timestamp_ms = stamp_ms;
	r = write_message(hs, out, cap, len, err);
	if (r == -ENOBUFS)
		return r;
	if (r < 0) {
		fail(hs);
		return r;
	}
	hs->stage = ST_SENT_WELCOME;
	return 0;
}

int weft_handshake_read_confirm(struct weft_handshake *hs, const uint8_t *msg, size_t len,
				char err[static WEFT_ERRLEN])
{
	struct weft_handshake_identity id;
	int r;

	if (hs->stage != ST_SENT_WELCOME) {
		snprintf(err, WEFT_ERRLEN, "no WELCOME of ours waits for a CONFIRM");
		return -EINVAL;
	}
	r = read_message(hs, M_CONFIRM, msg, len, hs->remote_index, &id, err);
	if (r < 0)
		return r;
	commit_read(hs);
	if (weft_noise_remote_static(&hs->noise, hs->rs) < 0) {
		fail(hs);
		return -EINVAL;
	}
	hs->remote = id;
	hs->stage = ST_DONE;
	return 0;
}

/* ---- whole datagrams ------------------------------------------------------ */

/* Every message we write fits its datagram type's bounds, so framing it cannot
 * fail once the Noise message is in place. */
_Static_assert(WEFT_HANDSHAKE_HELLO_LEN(WEFT_HANDSHAKE_IDENTITY_MIN_LEN) >=
		   WEFT_WIRE_HELLO_NOISE_MIN,
	       "HELLO long enough");
_Static_assert(WEFT_HANDSHAKE_WELCOME_LEN(WEFT_HANDSHAKE_IDENTITY_MIN_LEN) >=
		   WEFT_WIRE_WELCOME_NOISE_MIN,
	       "WELCOME long enough");
_Static_assert(WEFT_HANDSHAKE_CONFIRM_LEN(WEFT_HANDSHAKE_IDENTITY_MIN_LEN) >=
		   WEFT_WIRE_CONFIRM_NOISE_MIN,
	       "CONFIRM long enough");
_Static_assert(WEFT_HANDSHAKE_HELLO_MAX <= WEFT_WIRE_NOISE_MAX &&
		   WEFT_HANDSHAKE_WELCOME_MAX <= WEFT_WIRE_NOISE_MAX &&
		   WEFT_HANDSHAKE_CONFIRM_MAX <= WEFT_WIRE_NOISE_MAX,
	       "handshake messages within the wire's limit");

/* The Noise message is written straight to its place behind the header (no
 * copy), so the header's room is checked first. */
static int header_room(size_t cap, size_t hdr_len, const char *what, char err[static WEFT_ERRLEN])
{
	if (cap >= hdr_len)
		return 0;
	snprintf(err, WEFT_ERRLEN, "%s datagram: buffer of %zu bytes, the header alone needs %zu",
		 what, cap, hdr_len);
	return -ENOBUFS;
}

/* After the Noise message was written: a framing error is a bug (see the
 * assertions above), and it ends the handshake like any failed write. */
static int framed(struct weft_handshake *hs, int r, const char *what, size_t noise_len,
		  char err[static WEFT_ERRLEN])
{
	if (r < 0) {
		snprintf(err, WEFT_ERRLEN, "cannot frame a %s of %zu bytes (error %d)", what,
			 noise_len, r);
		fail(hs);
	}
	return r;
}

int weft_handshake_write_hello_datagram(struct weft_handshake *hs,
					const struct weft_handshake_config *cfg,
					uint32_t local_index, uint64_t stamp_ms, uint8_t *buf,
					size_t cap, size_t *len, char err[static WEFT_ERRLEN])
{
	const size_t hdr = WEFT_WIRE_HELLO_HEADER_LEN;
	struct weft_cookie_keys *own = NULL;
	const struct weft_cookie_keys *k = cfg->macs;
	size_t noise_len;
	int r = header_room(cap, hdr + WEFT_WIRE_HELLO_TRAILER_LEN, "HELLO", err);

	if (r < 0)
		return r;
	if (!k && cfg->psk &&
	    !(k = own = weft_cookie_keys_new(cfg->psk, cfg->network ? cfg->network : ""))) {
		snprintf(err, WEFT_ERRLEN, "cannot derive the HELLO's MAC key");
		return -ENOMEM;
	}
	/* The MACs go behind the Noise message: leave their room. */
	r = weft_handshake_write_hello(hs, cfg, local_index, stamp_ms, buf + hdr,
				       cap - hdr - WEFT_WIRE_HELLO_TRAILER_LEN, &noise_len, err);
	if (r == 0) {
		r = weft_wire_build_hello(buf, cap, local_index, buf + hdr, noise_len, len);
		r = framed(hs, r, "HELLO", noise_len, err);
	}
	if (r == 0) {
		weft_cookie_put_macs(k, cfg->cookie, buf, *len);
		memcpy(hs->hello, buf, *len);
		hs->hello_len = *len;
		hs->cookies = 0;
	}
	weft_cookie_keys_free(own);
	return r;
}

int weft_handshake_read_cookie(struct weft_handshake *hs, const struct weft_cookie_keys *k,
			       const struct weft_wire_msg *msg,
			       uint8_t cookie[static WEFT_COOKIE_LEN], uint8_t *buf, size_t cap,
			       size_t *len, char err[static WEFT_ERRLEN])
{
	uint8_t c[WEFT_COOKIE_LEN];
	int r = 0;

	if (hs->stage != ST_SENT_HELLO || !hs->hello_len) {
		snprintf(err, WEFT_ERRLEN, "no HELLO datagram of ours waits for a COOKIE");
		return -EINVAL;
	}
	if (msg->receiver_index != hs->local_index) {
		snprintf(err, WEFT_ERRLEN, "COOKIE for index %08x, our HELLO has %08x",
			 msg->receiver_index, hs->local_index);
		return -EINVAL;
	}
	if (cap < hs->hello_len) {
		snprintf(err, WEFT_ERRLEN, "HELLO of %zu bytes, buffer of %zu", hs->hello_len, cap);
		return -ENOBUFS;
	}
	if (weft_cookie_open(k, msg, hs->hello + hs->hello_len - WEFT_WIRE_HELLO_TRAILER_LEN, c) <
	    0) {
		snprintf(err, WEFT_ERRLEN, "COOKIE does not open with our HELLO's mac1");
		return -EBADMSG;
	}
	/* A COOKIE replayed, or a second one with the cookie we use already,
	 * would only make us send the same bytes again. */
	if (hs->cookies >= WEFT_HANDSHAKE_COOKIES_MAX ||
	    (hs->cookies && weft_cookie_mac2_valid(c, hs->hello, hs->hello_len))) {
		snprintf(err, WEFT_ERRLEN, "COOKIE brings nothing new (%u taken for this HELLO)",
			 hs->cookies);
		r = -EALREADY;
		goto out;
	}
	weft_cookie_put_mac2(c, hs->hello, hs->hello_len);
	hs->cookies++;
	memcpy(buf, hs->hello, hs->hello_len);
	*len = hs->hello_len;
	memcpy(cookie, c, WEFT_COOKIE_LEN);
out:
	sodium_memzero(c, sizeof(c));
	return r;
}

int weft_handshake_write_welcome_datagram(struct weft_handshake *hs, uint32_t local_index,
					  uint32_t remote_index, uint64_t stamp_ms, uint8_t *buf,
					  size_t cap, size_t *len, char err[static WEFT_ERRLEN])
{
	const size_t hdr = WEFT_WIRE_WELCOME_HEADER_LEN;
	size_t noise_len;
	int r = header_room(cap, hdr, "WELCOME", err);

	if (r < 0)
		return r;
	r = weft_handshake_write_welcome(hs, local_index, stamp_ms, buf + hdr, cap - hdr, &noise_len,
					 err);
	if (r < 0)
		return r;
	r = weft_wire_build_welcome(buf, cap, local_index, remote_index, buf + hdr, noise_len, len);
	return framed(hs, r, "WELCOME", noise_len, err);
}

int weft_handshake_write_confirm_datagram(struct weft_handshake *hs, uint32_t remote_index,
					  uint8_t *buf, size_t cap, size_t *len,
					  char err[static WEFT_ERRLEN])
{
	const size_t hdr = WEFT_WIRE_CONFIRM_HEADER_LEN;
	size_t noise_len;
	int r = header_room(cap, hdr, "CONFIRM", err);

	if (r < 0)
		return r;
	r = weft_handshake_write_confirm(hs, buf + hdr, cap - hdr, &noise_len, err);
	if (r < 0)
		return r;
	r = weft_wire_build_confirm(buf, cap, remote_index, buf + hdr, noise_len, len);
	return framed(hs, r, "CONFIRM", noise_len, err);
}

int weft_handshake_remote_static(const struct weft_handshake *hs, uint8_t out[static WEFT_KEY_LEN])
{
	if (hs->stage != ST_GOT_WELCOME && hs->stage != ST_DONE)
		return -ENOENT;
	memcpy(out, hs->rs, WEFT_KEY_LEN);
	return 0;
}

const struct weft_handshake_identity *
weft_handshake_remote_identity(const struct weft_handshake *hs)
{
	return hs->has_remote && hs->stage != ST_FAILED ? &hs->remote : NULL;
}

bool weft_handshake_done(const struct weft_handshake *hs)
{
	return hs->stage == ST_DONE;
}

bool weft_handshake_initiator(const struct weft_handshake *hs)
{
	return hs->initiator;
}

int weft_handshake_finish(struct weft_handshake *hs, struct weft_handshake_result *res,
			  uint8_t send_key[static WEFT_KEY_LEN],
			  uint8_t recv_key[static WEFT_KEY_LEN])
{
	if (hs->stage != ST_DONE)
		return -EINVAL;
	if (weft_noise_split(&hs->noise, send_key, recv_key) < 0)
		return -EINVAL;
	memset(res, 0, sizeof(*res));
	res->initiator = hs->initiator;
	res->local_index = hs->local_index;
	res->remote_index = hs->remote_index;
	weft_noise_handshake_hash(&hs->noise, res->hash);
	memcpy(res->remote_static, hs->rs, WEFT_KEY_LEN);
	res->remote = hs->remote;
	sodium_memzero(hs, sizeof(*hs));
	hs->stage = ST_FINISHED;
	return 0;
}

/* ---- pinning policy ---------------------------------------------------------- */

int weft_handshake_check_pin(const uint8_t *pin, bool require_pinned,
			     const uint8_t remote_static[static WEFT_KEY_LEN],
			     char err[static WEFT_ERRLEN])
{
	char pinned[WEFT_KEY_FPR_LEN], presented[WEFT_KEY_FPR_LEN];

	weft_key_fingerprint(presented, remote_static);
	if (pin) {
		if (sodium_memcmp(pin, remote_static, WEFT_KEY_LEN) != 0) {
			weft_key_fingerprint(pinned, pin);
			snprintf(err, WEFT_ERRLEN,
				 "pinned key differs: pinned %s, presented %s", pinned, presented);
			return -EPERM;
		}
		return 0;
	}
	if (require_pinned) {
		snprintf(err, WEFT_ERRLEN,
			 "key %s is not pinned and require_pinned_keys is set", presented);
		return -EACCES;
	}
	return 0;
}
