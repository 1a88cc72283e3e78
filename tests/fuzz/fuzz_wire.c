/* SPDX-License-Identifier: MIT */
/* Datagram parser (every type and version) and DATA open on arbitrary bytes. An input starting with
 * 0xff is instead a plaintext to seal with a fixed-key session: then open must
 * give it back, a replay must fail and so must any single flipped byte. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/session.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW	 1000
#define RX_INDEX 0x01020304
#define TX_INDEX 0x0a0b0c0d

static struct weft_session *rx, *tx;
static uint8_t buf[WEFT_WIRE_DATA_MAX_LEN + 64];

static void setup(void)
{
	uint8_t k1[WEFT_KEY_LEN], k2[WEFT_KEY_LEN];

	if (rx)
		return;
	check(sodium_init() >= 0);
	memset(k1, 0x11, sizeof(k1));
	memset(k2, 0x22, sizeof(k2));
	rx = weft_session_new(k2, k1, TX_INDEX, false, NULL, 0);
	tx = weft_session_new(k1, k2, RX_INDEX, true, NULL, 0);
	check(rx && tx);
	/* The indices an index table would have handed out (there is none here). */
	rx->entry.index = RX_INDEX;
	tx->entry.index = TX_INDEX;
}

static void check_parse(const uint8_t *data, size_t size)
{
	struct weft_wire_msg msg;
	int r = weft_wire_parse(&msg, data, size);

	if (r < 0) {
		check(r == -WEFT_WIRE_ERUNT || r == -WEFT_WIRE_ETYPE || r == -WEFT_WIRE_ERESERVED ||
		      r == -WEFT_WIRE_ESHORT || r == -WEFT_WIRE_ELONG);
		check(strcmp(weft_wire_strerror(r), "?") != 0);
		return;
	}
	check(msg.type >= WEFT_WIRE_HELLO && msg.type <= WEFT_WIRE_COOKIE);
	check(msg.body >= data && msg.body + msg.body_len <= data + size);
	if (msg.type == WEFT_WIRE_DATA) {
		check(msg.version == 0);
		check(msg.tag == data + size - WEFT_WIRE_TAG_LEN);
		check(msg.body_len + WEFT_WIRE_DATA_OVERHEAD == size);
		return;
	}
	check(msg.tag == NULL);
	if (msg.version != WEFT_WIRE_VERSION) {
		/* Another version: only what is needed to refuse it by name. */
		check(msg.version == (data[1] ? data[1] : 1));
		check(msg.body == data + WEFT_WIRE_HEADER_LEN && !msg.mac1 && !msg.nonce);
		return;
	}
	if (msg.type == WEFT_WIRE_COOKIE) {
		check(size == WEFT_WIRE_COOKIE_LEN && msg.nonce == data + 8);
		check(msg.body_len == WEFT_WIRE_COOKIE_SEALED_LEN);
		return;
	}
	check(msg.body_len <= WEFT_WIRE_NOISE_MAX);
	if (msg.type == WEFT_WIRE_HELLO) {
		check(msg.mac1 == msg.body + msg.body_len);
		check(msg.mac2 == data + size - WEFT_WIRE_MAC_LEN);
	} else {
		check(msg.mac1 == NULL && msg.body + msg.body_len == data + size);
	}
}

/* A datagram nobody sealed must never open. */
static void check_open_forged(const uint8_t *data, size_t size)
{
	size_t plain_len;

	if (size > sizeof(buf))
		return;
	memcpy(buf, data, size);
	weft_session_replay_init(&rx->replay);
	check(weft_session_open(rx, buf, size, NOW, &plain_len) < 0);
}

static void check_seal_open(const uint8_t *data, size_t size)
{
	size_t len, plain_len;
	uint64_t counter = 0;
	uint8_t flip;

	if (size < 10)
		return;
	memcpy(&counter, data + 1, 8);
	counter %= WEFT_SESSION_REJECT_AFTER_MESSAGES;
	flip = data[9];
	data += 10;
	size -= 10;
	if (size > WEFT_WIRE_PLAIN_MAX_LEN)
		return;

	tx->send_counter = counter;
	weft_session_replay_init(&rx->replay);
	memcpy(buf + WEFT_WIRE_DATA_HEADER_LEN, data, size);
	check(weft_session_seal(tx, buf, size, NOW, &len) == 0);
	check(len == size + WEFT_WIRE_DATA_OVERHEAD);
	check_parse(buf, len);

	/* A flipped copy first: it must fail and leave the window untouched. */
	static uint8_t copy[sizeof(buf)];
	memcpy(copy, buf, len);
	copy[(size_t)flip * 7919 % len] ^= (uint8_t)(1u << (flip & 7));
	check(weft_session_open(rx, copy, len, NOW, &plain_len) < 0);

	memcpy(copy, buf, len);
	check(weft_session_open(rx, buf, len, NOW, &plain_len) == 1);
	check(plain_len == size);
	check(memcmp(buf + WEFT_WIRE_DATA_HEADER_LEN, data, size) == 0);
	check(weft_session_open(rx, copy, len, NOW, &plain_len) == -EALREADY);

	/* The records iterator on the authentic plaintext stays inside it. */
	struct weft_wire_records it;
	struct weft_wire_record rec;
	int r;

	weft_wire_records_init(&it, buf + WEFT_WIRE_DATA_HEADER_LEN, plain_len);
	while ((r = weft_wire_records_next(&it, &rec)) != 0) {
		if (r == -EBADMSG)
			break;
		check(rec.body >= buf + WEFT_WIRE_DATA_HEADER_LEN &&
		      rec.body + rec.len <= buf + WEFT_WIRE_DATA_HEADER_LEN + plain_len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size > 0 && data[0] == 0xff) {
		check_seal_open(data, size);
		return 0;
	}
	check_parse(data, size);
	check_open_forged(data, size);
	return 0;
}
