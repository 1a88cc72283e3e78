/* SPDX-License-Identifier: MIT */
#include <config.h>   /* autoconf's, not common/config.h */

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/wire.h"

/* DATA's header has no version byte: a session is of its handshake's version. */
static void put_header(uint8_t *p, uint8_t type)
{
	p[0] = type;
	p[1] = type == WEFT_WIRE_DATA ? 0 : WEFT_WIRE_VERSION;
	p[2] = p[3] = 0;
}

/* A Noise message must lie in [@min, WEFT_WIRE_NOISE_MAX]; 0 or a parse error. */
static int noise_bounds(size_t len, size_t min)
{
	if (len < min)
		return -WEFT_WIRE_ESHORT;
	if (len > WEFT_WIRE_NOISE_MAX)
		return -WEFT_WIRE_ELONG;
	return 0;
}

/* Handshake datagrams only: byte 1 is the protocol version. */
static int parse_handshake(struct weft_wire_msg *msg, const uint8_t *buf, size_t len)
{
	if (buf[1] != WEFT_WIRE_VERSION) {
		/* Another version's framing is not ours to read: the caller refuses
		 * it by its version. Version 1 had a zero there. */
		msg->version = buf[1] ? buf[1] : 1;
		msg->body = buf + WEFT_WIRE_HEADER_LEN;
		msg->body_len = len - WEFT_WIRE_HEADER_LEN;
		return 0;
	}
	msg->version = WEFT_WIRE_VERSION;
	if (buf[2] | buf[3])
		return -WEFT_WIRE_ERESERVED;

	switch (msg->type) {
	case WEFT_WIRE_HELLO:
		if (len < WEFT_WIRE_HELLO_HEADER_LEN + WEFT_WIRE_HELLO_TRAILER_LEN)
			return -WEFT_WIRE_ESHORT;
		msg->sender_index = weft_get_be32(buf + 4);
		msg->body = buf + WEFT_WIRE_HELLO_HEADER_LEN;
		msg->body_len = len - WEFT_WIRE_HELLO_HEADER_LEN - WEFT_WIRE_HELLO_TRAILER_LEN;
		msg->mac1 = buf + len - WEFT_WIRE_HELLO_TRAILER_LEN;
		msg->mac2 = buf + len - WEFT_WIRE_MAC_LEN;
		return noise_bounds(msg->body_len, WEFT_WIRE_HELLO_NOISE_MIN);
	case WEFT_WIRE_WELCOME:
		if (len < WEFT_WIRE_WELCOME_HEADER_LEN)
			return -WEFT_WIRE_ESHORT;
		msg->sender_index = weft_get_be32(buf + 4);
		msg->receiver_index = weft_get_be32(buf + 8);
		msg->body = buf + WEFT_WIRE_WELCOME_HEADER_LEN;
		msg->body_len = len - WEFT_WIRE_WELCOME_HEADER_LEN;
		return noise_bounds(msg->body_len, WEFT_WIRE_WELCOME_NOISE_MIN);
	case WEFT_WIRE_CONFIRM:
		if (len < WEFT_WIRE_CONFIRM_HEADER_LEN)
			return -WEFT_WIRE_ESHORT;
		msg->receiver_index = weft_get_be32(buf + 4);
		msg->body = buf + WEFT_WIRE_CONFIRM_HEADER_LEN;
		msg->body_len = len - WEFT_WIRE_CONFIRM_HEADER_LEN;
		return noise_bounds(msg->body_len, WEFT_WIRE_CONFIRM_NOISE_MIN);
	default: /* WEFT_WIRE_COOKIE */
		if (len < WEFT_WIRE_COOKIE_LEN)
			return -WEFT_WIRE_ESHORT;
		if (len > WEFT_WIRE_COOKIE_LEN)
			return -WEFT_WIRE_ELONG;
		msg->receiver_index = weft_get_be32(buf + 4);
		msg->nonce = buf + 8;
		msg->body = buf + 8 + WEFT_WIRE_COOKIE_NONCE_LEN;
		msg->body_len = WEFT_WIRE_COOKIE_SEALED_LEN;
		return 0;
	}
}

int weft_wire_parse(struct weft_wire_msg *msg, const uint8_t *buf, size_t len)
{
	memset(msg, 0, sizeof(*msg));
	if (len < WEFT_WIRE_HEADER_LEN)
		return -WEFT_WIRE_ERUNT;
	msg->type = buf[0];
	if (msg->type < WEFT_WIRE_HELLO || msg->type > WEFT_WIRE_COOKIE)
		return -WEFT_WIRE_ETYPE;
	if (msg->type != WEFT_WIRE_DATA)
		return parse_handshake(msg, buf, len);
	if (buf[1] | buf[2] | buf[3])
		return -WEFT_WIRE_ERESERVED;
	if (len < WEFT_WIRE_DATA_MIN_LEN)
		return -WEFT_WIRE_ESHORT;
	if (len > WEFT_WIRE_DATA_MAX_LEN)
		return -WEFT_WIRE_ELONG;
	msg->receiver_index = weft_get_be32(buf + 4);
	msg->counter = weft_get_be64(buf + 8);
	msg->body = buf + WEFT_WIRE_DATA_HEADER_LEN;
	msg->body_len = len - WEFT_WIRE_DATA_OVERHEAD;
	msg->tag = buf + len - WEFT_WIRE_TAG_LEN;
	return 0;
}

const char *weft_wire_strerror(int err)
{
	switch (err) {
	case 0:
		return "ok";
	case -WEFT_WIRE_ERUNT:
		return "runt";
	case -WEFT_WIRE_ETYPE:
		return "unknown type";
	case -WEFT_WIRE_ERESERVED:
		return "reserved bits set";
	case -WEFT_WIRE_ESHORT:
		return "too short";
	case -WEFT_WIRE_ELONG:
		return "too long";
	default:
		return "?";
	}
}

/* @trailer_len zero bytes follow the Noise message (a HELLO's MACs). */
static int build(uint8_t *buf, size_t cap, uint8_t type, size_t hdr_len, size_t noise_min,
		 const uint8_t *noise, size_t noise_len, size_t trailer_len, size_t *out_len)
{
	if (noise_len < noise_min || noise_len > WEFT_WIRE_NOISE_MAX)
		return -EINVAL;
	if (cap < hdr_len || cap - hdr_len < noise_len || cap - hdr_len - noise_len < trailer_len)
		return -ENOBUFS;
	/* memmove: the Noise layer may have written its message in place already. */
	if (noise != buf + hdr_len)
		memmove(buf + hdr_len, noise, noise_len);
	put_header(buf, type);
	memset(buf + hdr_len + noise_len, 0, trailer_len);
	*out_len = hdr_len + noise_len + trailer_len;
	return 0;
}

int weft_wire_build_hello(uint8_t *buf, size_t cap, uint32_t sender_index, const uint8_t *noise,
			  size_t noise_len, size_t *out_len)
{
	int r =
	    build(buf, cap, WEFT_WIRE_HELLO, WEFT_WIRE_HELLO_HEADER_LEN, WEFT_WIRE_HELLO_NOISE_MIN,
		  noise, noise_len, WEFT_WIRE_HELLO_TRAILER_LEN, out_len);

	if (r == 0)
		weft_put_be32(buf + 4, sender_index);
	return r;
}

int weft_wire_build_welcome(uint8_t *buf, size_t cap, uint32_t sender_index,
			    uint32_t receiver_index, const uint8_t *noise, size_t noise_len,
			    size_t *out_len)
{
	int r = build(buf, cap, WEFT_WIRE_WELCOME, WEFT_WIRE_WELCOME_HEADER_LEN,
		      WEFT_WIRE_WELCOME_NOISE_MIN, noise, noise_len, 0, out_len);

	if (r == 0) {
		weft_put_be32(buf + 4, sender_index);
		weft_put_be32(buf + 8, receiver_index);
	}
	return r;
}

int weft_wire_build_confirm(uint8_t *buf, size_t cap, uint32_t receiver_index, const uint8_t *noise,
			    size_t noise_len, size_t *out_len)
{
	int r = build(buf, cap, WEFT_WIRE_CONFIRM, WEFT_WIRE_CONFIRM_HEADER_LEN,
		      WEFT_WIRE_CONFIRM_NOISE_MIN, noise, noise_len, 0, out_len);

	if (r == 0)
		weft_put_be32(buf + 4, receiver_index);
	return r;
}

int weft_wire_build_cookie(uint8_t *buf, size_t cap, uint32_t receiver_index,
			   const uint8_t nonce[static WEFT_WIRE_COOKIE_NONCE_LEN],
			   const uint8_t sealed[static WEFT_WIRE_COOKIE_SEALED_LEN],
			   size_t *out_len)
{
	if (cap < WEFT_WIRE_COOKIE_LEN)
		return -ENOBUFS;
	put_header(buf, WEFT_WIRE_COOKIE);
	weft_put_be32(buf + 4, receiver_index);
	memmove(buf + 8, nonce, WEFT_WIRE_COOKIE_NONCE_LEN);
	memmove(buf + 8 + WEFT_WIRE_COOKIE_NONCE_LEN, sealed, WEFT_WIRE_COOKIE_SEALED_LEN);
	*out_len = WEFT_WIRE_COOKIE_LEN;
	return 0;
}

void weft_wire_put_data_header(uint8_t hdr[static WEFT_WIRE_DATA_HEADER_LEN],
			       uint32_t receiver_index, uint64_t counter)
{
	put_header(hdr, WEFT_WIRE_DATA);
	weft_put_be32(hdr + 4, receiver_index);
	weft_put_be64(hdr + 8, counter);
}

/* ---- records ------------------------------------------------------------ */

void weft_wire_records_init(struct weft_wire_records *it, const uint8_t *plain, size_t len)
{
	it->pos = plain;
	it->left = len;
	it->skipped = 0;
}

int weft_wire_records_next(struct weft_wire_records *it, struct weft_wire_record *rec)
{
	while (it->left > 0) {
		if (it->left < WEFT_WIRE_RECORD_HEADER_LEN)
			goto overrun;
		uint8_t kind = it->pos[0];
		uint16_t len = weft_get_be16(it->pos + 1);

		if (it->left - WEFT_WIRE_RECORD_HEADER_LEN < len)
			goto overrun;
		rec->kind = kind;
		rec->len = len;
		rec->body = it->pos + WEFT_WIRE_RECORD_HEADER_LEN;
		it->pos += WEFT_WIRE_RECORD_HEADER_LEN + (size_t)len;
		it->left -= WEFT_WIRE_RECORD_HEADER_LEN + (size_t)len;

		switch (kind) {
		case WEFT_WIRE_REC_FRAME:
		case WEFT_WIRE_REC_FRAME_PARTIAL:
			return len < WEFT_WIRE_FRAME_MIN_LEN ? -EINVAL : 1;
		case WEFT_WIRE_REC_KEEPALIVE:
			return len != 0 ? -EINVAL : 1;
		case WEFT_WIRE_REC_MEMBERS:
		case WEFT_WIRE_REC_RELAY:
		case WEFT_WIRE_REC_PROBE:
		case WEFT_WIRE_REC_PROBE_ACK:
		case WEFT_WIRE_REC_OBSERVED:
		case WEFT_WIRE_REC_RELAY_TOO_BIG:
			/* Their bodies are their modules' to check (common/gossip,
			 * relay, pmtu). */
			return 1;
		default:
			/* Forward compatibility: a newer peer's record we cannot use. */
			it->skipped++;
			continue;
		}
	}
	return 0;

overrun:
	it->pos += it->left;
	it->left = 0;
	return -EBADMSG;
}

void weft_wire_writer_init(struct weft_wire_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
}

size_t weft_wire_writer_room(const struct weft_wire_writer *w)
{
	size_t avail = w->cap - w->len;

	if (avail < WEFT_WIRE_RECORD_HEADER_LEN)
		return 0;
	avail -= WEFT_WIRE_RECORD_HEADER_LEN;
	return avail < WEFT_WIRE_RECORD_MAX_LEN ? avail : WEFT_WIRE_RECORD_MAX_LEN;
}

int weft_wire_writer_reserve(struct weft_wire_writer *w, uint8_t kind, size_t body_len,
			     uint8_t **body)
{
	uint8_t *p;

	if (body_len > WEFT_WIRE_RECORD_MAX_LEN)
		return -EMSGSIZE;
	if (w->cap - w->len < WEFT_WIRE_RECORD_HEADER_LEN + body_len)
		return -ENOBUFS;
	p = w->buf + w->len;
	p[0] = kind;
	weft_put_be16(p + 1, (uint16_t)body_len);
	w->len += WEFT_WIRE_RECORD_HEADER_LEN + body_len;
	*body = p + WEFT_WIRE_RECORD_HEADER_LEN;
	return 0;
}

int weft_wire_writer_append(struct weft_wire_writer *w, uint8_t kind, const void *body,
			    size_t body_len)
{
	uint8_t *dst;
	int r = weft_wire_writer_reserve(w, kind, body_len, &dst);

	if (r == 0 && body_len > 0)
		memcpy(dst, body, body_len);
	return r;
}
