/* SPDX-License-Identifier: MIT */
/* Wire protocol: datagram codecs and the record format inside DATA.
 * docs/protocol.md is the byte-exact description; this is its code.
 * Handshake datagrams (HELLO, WELCOME, CONFIRM, COOKIE) carry the protocol
 * version in byte 1 of their header; this is version 2. DATA keeps the
 * version 1 header (04 00 00 00): a session is of its handshake's version. */
#ifndef WEFT_WIRE_H
#define WEFT_WIRE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

enum weft_wire_type {
	WEFT_WIRE_HELLO = 1,   /* Noise message 1, initiator -> responder */
	WEFT_WIRE_WELCOME = 2, /* Noise message 2, responder -> initiator */
	WEFT_WIRE_CONFIRM = 3, /* Noise message 3, initiator -> responder */
	WEFT_WIRE_DATA = 4,    /* transport data, sealed records */
	WEFT_WIRE_COOKIE = 5,  /* responder under load -> initiator: prove your address */
};

/* Handshake datagrams: type(1) | version(1) | reserved(2, zero).
 * DATA: type(1) | reserved(3, zero). */
#define WEFT_WIRE_HEADER_LEN  4
#define WEFT_WIRE_VERSION     2
#define WEFT_WIRE_INDEX_LEN   4
#define WEFT_WIRE_COUNTER_LEN 8
#define WEFT_WIRE_TAG_LEN     16
/* HELLO: mac1 and mac2 (common/cookie.h) follow the Noise message. */
#define WEFT_WIRE_MAC_LEN	    16
#define WEFT_WIRE_HELLO_TRAILER_LEN (2 * WEFT_WIRE_MAC_LEN)
/* COOKIE: header | receiver_index | nonce(24) | sealed cookie(16 + tag 16) = 64. */
#define WEFT_WIRE_COOKIE_NONCE_LEN  24
#define WEFT_WIRE_COOKIE_SEALED_LEN (16 + WEFT_WIRE_TAG_LEN)
#define WEFT_WIRE_COOKIE_LEN                                                                       \
	(WEFT_WIRE_HEADER_LEN + WEFT_WIRE_INDEX_LEN + WEFT_WIRE_COOKIE_NONCE_LEN +                 \
	 WEFT_WIRE_COOKIE_SEALED_LEN)
/* Bytes in front of the Noise message of each handshake datagram. */
#define WEFT_WIRE_HELLO_HEADER_LEN   (WEFT_WIRE_HEADER_LEN + WEFT_WIRE_INDEX_LEN)
#define WEFT_WIRE_WELCOME_HEADER_LEN (WEFT_WIRE_HEADER_LEN + 2 * WEFT_WIRE_INDEX_LEN)
#define WEFT_WIRE_CONFIRM_HEADER_LEN (WEFT_WIRE_HEADER_LEN + WEFT_WIRE_INDEX_LEN)
/* header | receiver_index | counter: 16 bytes, also the AEAD additional data. */
#define WEFT_WIRE_DATA_HEADER_LEN                                                                  \
	(WEFT_WIRE_HEADER_LEN + WEFT_WIRE_INDEX_LEN + WEFT_WIRE_COUNTER_LEN)
/* DATA header and tag around the plaintext: 32 bytes. */
#define WEFT_WIRE_DATA_OVERHEAD (WEFT_WIRE_DATA_HEADER_LEN + WEFT_WIRE_TAG_LEN)
/* kind(1) | length(2) */
#define WEFT_WIRE_RECORD_HEADER_LEN 3
/* Per datagram carrying one frame: DATA header, tag and one record header = 35
 * (IP and UDP come on top: 20 or 40, and 8). */
#define WEFT_WIRE_OVERHEAD     (WEFT_WIRE_DATA_OVERHEAD + WEFT_WIRE_RECORD_HEADER_LEN)
#define WEFT_WIRE_IPV4_UDP_LEN 28
#define WEFT_WIRE_IPV6_UDP_LEN 48

/* A DATA datagram is at most the largest UDP payload; empty plaintext is valid. */
#define WEFT_WIRE_DATA_MAX_LEN	65535
#define WEFT_WIRE_DATA_MIN_LEN	WEFT_WIRE_DATA_OVERHEAD
#define WEFT_WIRE_PLAIN_MAX_LEN (WEFT_WIRE_DATA_MAX_LEN - WEFT_WIRE_DATA_OVERHEAD)

/* Noise_XXpsk0_25519_ChaChaPoly_BLAKE2b message sizes with an empty payload:
 * msg 1 = e(32) + payload tag(16) (psk0 keys the payload already),
 * msg 2 = e(32) + s(32+16) + payload tag(16), msg 3 = s(32+16) + payload tag(16).
 * The identity payload comes on top; no Noise message may exceed NOISE_MAX, so
 * every handshake datagram fits an IPv6 minimum-MTU path (1280 - 48). */
#define WEFT_WIRE_HELLO_NOISE_MIN   48
#define WEFT_WIRE_WELCOME_NOISE_MIN 96
#define WEFT_WIRE_CONFIRM_NOISE_MIN 64
#define WEFT_WIRE_NOISE_MAX	    1024
/* The largest handshake datagram, a HELLO: 1064 bytes. */
#define WEFT_WIRE_HANDSHAKE_MAX_LEN                                                                \
	(WEFT_WIRE_HELLO_HEADER_LEN + WEFT_WIRE_NOISE_MAX + WEFT_WIRE_HELLO_TRAILER_LEN)

/* Parse errors, one per reason (weft_wire_strerror() names them). */
#define WEFT_WIRE_ERUNT	    ENODATA	    /* shorter than the 4-byte header */
#define WEFT_WIRE_ETYPE	    EPROTONOSUPPORT /* unknown type */
#define WEFT_WIRE_ERESERVED EPROTO	    /* reserved bytes not zero */
#define WEFT_WIRE_ESHORT    EBADMSG	    /* too short for its type */
#define WEFT_WIRE_ELONG	    EMSGSIZE	    /* too long for its type */

/* A parsed datagram: views into the caller's buffer (borrowed, valid as long
 * as that buffer). Fields a type does not carry are zero / NULL. */
struct weft_wire_msg {
	uint8_t type;		 /* enum weft_wire_type */
	uint8_t version;	 /* handshake types: see weft_wire_parse(); DATA: 0 */
	uint32_t sender_index;	 /* HELLO, WELCOME */
	uint32_t receiver_index; /* WELCOME, CONFIRM, DATA, COOKIE */
	uint64_t counter;	 /* DATA */
	/* The Noise message, DATA's ciphertext (without tag), or COOKIE's sealed
	 * cookie (with its tag). */
	const uint8_t *body;
	size_t body_len;
	const uint8_t *tag;   /* DATA: WEFT_WIRE_TAG_LEN bytes */
	const uint8_t *mac1;  /* HELLO: WEFT_WIRE_MAC_LEN bytes */
	const uint8_t *mac2;  /* HELLO: WEFT_WIRE_MAC_LEN bytes */
	const uint8_t *nonce; /* COOKIE: WEFT_WIRE_COOKIE_NONCE_LEN bytes */
};

/* Parses a datagram's framing (not its cryptography). Reads nothing beyond
 * @len. Returns 0, or -WEFT_WIRE_ERUNT, -WEFT_WIRE_ETYPE, -WEFT_WIRE_ERESERVED,
 * -WEFT_WIRE_ESHORT or -WEFT_WIRE_ELONG.
 * A handshake datagram of another protocol version than WEFT_WIRE_VERSION
 * (byte 1 not 2) parses too, so that its receiver can count and report it:
 * then only type, version (1 when byte 1 is 0, as version 1 had there, else
 * byte 1) and body (everything after the header) are set, and the caller
 * must refuse it. */
int weft_wire_parse(struct weft_wire_msg *msg, const uint8_t *buf, size_t len) WEFT_WUR;
/* A short lowercase name for a weft_wire_parse() error ("runt", "unknown type",
 * ...), "ok" for 0, "?" for anything else. */
const char *weft_wire_strerror(int err);

/* Builders write a whole handshake datagram into @buf (capacity @cap) and set
 * *@out_len. @noise may already sit at its place in @buf (buf + *_HEADER_LEN):
 * then nothing is copied. Return 0, -EINVAL when @noise_len is outside the
 * type's bounds (the peer would reject it), or -ENOBUFS when @cap is too small.
 * A HELLO's mac1 and mac2 are written as zeros: common/cookie puts them. */
int weft_wire_build_hello(uint8_t *buf, size_t cap, uint32_t sender_index, const uint8_t *noise,
			  size_t noise_len, size_t *out_len) WEFT_WUR;
int weft_wire_build_welcome(uint8_t *buf, size_t cap, uint32_t sender_index,
			    uint32_t receiver_index, const uint8_t *noise, size_t noise_len,
			    size_t *out_len) WEFT_WUR;
int weft_wire_build_confirm(uint8_t *buf, size_t cap, uint32_t receiver_index, const uint8_t *noise,
			    size_t noise_len, size_t *out_len) WEFT_WUR;
/* A COOKIE: @sealed is the cookie sealed by common/cookie. 0 or -ENOBUFS. */
int weft_wire_build_cookie(uint8_t *buf, size_t cap, uint32_t receiver_index,
			   const uint8_t nonce[static WEFT_WIRE_COOKIE_NONCE_LEN],
			   const uint8_t sealed[static WEFT_WIRE_COOKIE_SEALED_LEN],
			   size_t *out_len) WEFT_WUR;
/* Writes the 16-byte DATA header (the session layer's seal does this). */
void weft_wire_put_data_header(uint8_t hdr[static WEFT_WIRE_DATA_HEADER_LEN],
			       uint32_t receiver_index, uint64_t counter);

/* ---- records inside DATA plaintext: kind(1) | length(2) | body ---------- */

enum weft_wire_record_kind {
	WEFT_WIRE_REC_FRAME = 1,     /* one Ethernet frame, 14..65535 bytes */
	WEFT_WIRE_REC_KEEPALIVE = 2, /* empty body */
	/* A FRAME whose TCP or UDP checksum holds only the pseudo-header sum
	 * (docs/protocol.md 7.1); only to peers with CSUM_PARTIAL. */
	WEFT_WIRE_REC_FRAME_PARTIAL = 3,
	WEFT_WIRE_REC_MEMBERS = 16,  /* membership gossip (common/gossip.h) */
	WEFT_WIRE_REC_RELAY = 17,    /* a frame through this member (common/relay.h) */
	WEFT_WIRE_REC_PROBE = 18,    /* path MTU probe (common/pmtu.h) */
	WEFT_WIRE_REC_PROBE_ACK = 19,
	WEFT_WIRE_REC_OBSERVED = 20, /* where the sender sees us (common/gossip.h) */
	/* a relay could not pass our frame on: too big (common/relay.h) */
	WEFT_WIRE_REC_RELAY_TOO_BIG = 21,
};
/* 0 and 4..15 are reserved for this protocol version's future use, 16..127 for
 * control records (16..21 defined above), 128..255 for experiments. A
 * receiver skips every kind it does not know by its length. */
#define WEFT_WIRE_REC_CONTROL_MIN 16
#define WEFT_WIRE_REC_CONTROL_MAX 127
#define WEFT_WIRE_FRAME_MIN_LEN	  14
#define WEFT_WIRE_RECORD_MAX_LEN  65535

struct weft_wire_record {
	uint8_t kind;
	uint16_t len;
	const uint8_t *body; /* borrowed from the plaintext */
};

struct weft_wire_records {
	const uint8_t *pos;
	size_t left;
	uint32_t skipped; /* records of unknown kinds passed over so far */
};

void weft_wire_records_init(struct weft_wire_records *it, const uint8_t *plain, size_t len);
/* Steps to the next record of a known kind, skipping unknown kinds.
 * Returns 1 with *@rec set, 0 at the end of the plaintext,
 * -EINVAL for a known kind with a bad length (FRAME or FRAME_PARTIAL shorter
 *  than 14 bytes, KEEPALIVE with a body): *@rec is set, iteration may go on
 *  past it,
 * -EBADMSG when a record header or body overruns the plaintext: iteration
 *  stops (later calls return 0). */
int weft_wire_records_next(struct weft_wire_records *it, struct weft_wire_record *rec) WEFT_WUR;

/* Appends records to a plaintext buffer without allocating; on the hot path
 * the frame is copied straight into the body that reserve() hands back. */
struct weft_wire_writer {
	uint8_t *buf; /* borrowed */
	size_t cap;
	size_t len;
};

void weft_wire_writer_init(struct weft_wire_writer *w, uint8_t *buf, size_t cap);
/* Largest body that still fits in one more record (0 when not even a header fits). */
size_t weft_wire_writer_room(const struct weft_wire_writer *w);
/* Writes a record header for a body of @body_len bytes and points *@body at
 * where the body goes. Returns 0, -EMSGSIZE when @body_len exceeds a record's
 * maximum, or -ENOBUFS when it does not fit (nothing is written then). */
int weft_wire_writer_reserve(struct weft_wire_writer *w, uint8_t kind, size_t body_len,
			     uint8_t **body) WEFT_WUR;
/* reserve() and copy @body_len bytes from @body. */
int weft_wire_writer_append(struct weft_wire_writer *w, uint8_t kind, const void *body,
			    size_t body_len) WEFT_WUR;

#endif
