/* SPDX-License-Identifier: MIT */
/*
 * The mesh records of docs/protocol.md section 13 other than MEMBERS: the
 * input is parsed as a RELAY, a PROBE and a PROBE_ACK body (what parses is
 * within the input and writes back to the same bytes), then read as a script
 * driving a path MTU search, whose invariants are checked after every step:
 * floor <= mtu <= ceiling, one probe in flight at a time, probes within
 * [floor, ceiling], a bounded number of probes per search (or since the
 * kernel's last refusal), and ack() true exactly when the mtu changed.
 *
 * Script: byte 0 picks the family (bit 0) and a start time (bit 1: near the
 * end of the clock); bytes 1-2 the ceiling, 3-6 the first id; then each byte
 * is an action (low 3 bits) with an argument (high 5 bits), some taking
 * further bytes. SEND_FAILED with an odd argument is the kernel refusing a
 * datagram of the size in the next 2 bytes (weft_pmtu_refused()); with
 * argument bit 1 it is traffic of that size sent instead (weft_pmtu_sent(),
 * which brings confirmations of the size in use between searches, and the
 * black holes their losses find).
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/pmtu.h"
#include "common/relay.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The ceiling, the plateau, then at most 14 halvings from 65535 to under
 * 8: 16. */
#define PROBES_PER_SEARCH_MAX 16

enum action {
	NEXT_PROBE,
	ACK_IN_FLIGHT,
	ACK_ANY, /* 6 more bytes: a PROBE_ACK body */
	SEND_FAILED, /* or refused(), or sent(): 2 more bytes */
	WAIT,	     /* arg * 50 ms */
	WAIT_LONG,   /* arg * WEFT_PMTU_TIMEOUT_MS, or a recheck interval */
	SET_CEILING, /* 2 more bytes */
	ACK_STALE,   /* the probe in flight's id with another size, or another id */
};

static void check_relay(const uint8_t *data, size_t size)
{
	uint8_t hdr[WEFT_RELAY_HDR_LEN];
	struct weft_relay r;
	int ret = weft_relay_parse(&r, data, size);

	if (ret < 0) {
		check(ret == -EINVAL);
		check(size < WEFT_RELAY_HDR_LEN + 14 || data[16] == 0 ||
		      data[16] > WEFT_RELAY_HOPS_MAX);
		return;
	}
	check(ret == 0);
	check(size >= WEFT_RELAY_HDR_LEN + 14);
	check(r.hops >= 1 && r.hops <= WEFT_RELAY_HOPS_MAX);
	check(r.dst == data && r.origin == data + WEFT_GOSSIP_ID_LEN);
	check(r.frame == data + WEFT_RELAY_HDR_LEN && r.frame_len == size - WEFT_RELAY_HDR_LEN);
	weft_relay_put_header(hdr, r.dst, r.origin, r.hops);
	check(memcmp(hdr, data, sizeof(hdr)) == 0);
}

/* The same bytes as a RELAY_TOO_BIG body: accepted exactly when 10 bytes
 * long with a plausible size, and written again byte for byte. */
static void check_relay_too_big(const uint8_t *data, size_t size)
{
	uint8_t again[WEFT_RELAY_TOO_BIG_LEN];
	const uint8_t *dst = NULL;
	uint16_t max = 0;
	int ret = weft_relay_parse_too_big(data, size, &dst, &max);

	check(ret == 0 || ret == -EINVAL);
	check((ret == 0) == (size == WEFT_RELAY_TOO_BIG_LEN &&
			     ((data[8] << 8) | data[9]) >= WEFT_RELAY_TOO_BIG_MIN));
	if (ret < 0)
		return;
	check(dst == data && max >= WEFT_RELAY_TOO_BIG_MIN);
	weft_relay_put_too_big(again, dst, max);
	check(memcmp(again, data, sizeof(again)) == 0);
}

static void check_probe_records(const uint8_t *data, size_t size)
{
	uint8_t body[WEFT_PMTU_ACK_LEN];
	uint32_t id = 0;
	uint16_t len = 0;
	int ret;

	ret = weft_pmtu_parse_probe(data, size, &id);
	check(ret == (size >= WEFT_PMTU_PROBE_MIN_LEN ? 0 : -EINVAL));
	if (ret == 0)
		check(id == weft_get_be32(data));

	ret = weft_pmtu_parse_ack(data, size, &id, &len);
	check(ret == (size == WEFT_PMTU_ACK_LEN ? 0 : -EINVAL));
	if (ret == 0) {
		weft_pmtu_put_ack(body, id, len);
		check(memcmp(body, data, sizeof(body)) == 0);
	}
}

static void check_state(const struct weft_pmtu *p)
{
	check(p->ceiling <= UINT16_MAX);
	check(p->floor <= p->ceiling);
	check(p->floor <= p->mtu && p->mtu <= p->ceiling);
	/* Before a first result: the ceiling, or, once the size in use was
	 * lost, an acked size of at least the plateau. */
	check(p->known || p->mtu == p->ceiling || (p->lost && p->mtu >= p->plateau));
	if (p->in_flight && p->confirming) {
		/* Between searches, a confirmation of the size in use. */
		check(p->known && p->next_ms != 0 && p->probe_size == p->mtu);
	} else if (p->in_flight) {
		check(p->next_ms == 0);
		check(p->probe_size >= p->floor && p->probe_size <= p->ceiling);
	}
	if (p->in_flight)
		check(p->probe_id + 1 == p->next_id);
	check(!p->confirming || p->in_flight);
	check(p->misses < WEFT_PMTU_CONFIRM_TRIES);
	check(p->next_ms != 0 || p->misses == 0);
	if (p->acked)
		check(p->acked >= p->floor && p->acked <= p->ceiling);
	if (p->acked && p->lost)
		check(p->acked < p->lost);
}

static uint64_t later(uint64_t now, uint64_t by)
{
	return now <= UINT64_MAX - by ? now + by : UINT64_MAX;
}

/* Reads @n bytes of the script, zeros past its end. */
static const uint8_t *take(const uint8_t **pos, const uint8_t *end, size_t n)
{
	static uint8_t zeros[8];
	const uint8_t *p = *pos;

	if ((size_t)(end - p) < n) {
		*pos = end;
		return zeros;
	}
	*pos += n;
	return p;
}

static void run_script(const uint8_t *data, size_t size)
{
	const uint8_t *pos = data, *end = data + size;
	const uint8_t *head = take(&pos, end, 7);
	bool ipv6 = head[0] & 1;
	uint64_t now = head[0] & 2 ? UINT64_MAX - 2 * (uint64_t)WEFT_PMTU_RECHECK_MS : 0;
	struct weft_pmtu p;
	unsigned probes = 0; /* in this search */

	weft_pmtu_init(&p, weft_get_be16(head + 1), ipv6, weft_get_be32(head + 3));
	check(!p.known && !p.in_flight && p.next_ms == 0);
	check_state(&p);
	while (pos < end) {
		uint8_t op = *pos & 7, arg = *pos >> 3;
		const uint8_t *b;
		struct weft_pmtu before;
		uint32_t id = 0;
		size_t sent;
		bool changed;

		/* A byte copy, padding included, for the memcmp()s below. */
		memcpy(&before, &p, sizeof(p));
		pos++;
		switch (op) {
		case NEXT_PROBE:
			sent = weft_pmtu_next_probe(&p, now, &id);
			if (before.in_flight && now >= before.sent_ms &&
			    now - before.sent_ms < WEFT_PMTU_TIMEOUT_MS) {
				check(sent == 0);
				check(p.in_flight && p.probe_id == before.probe_id);
			}
			/* Between searches, before next_ms, nothing happens but
			 * confirmations: after traffic, CONFIRM_MS on, or at once
			 * after a lost one; the last of CONFIRM_TRIES lost starts a
			 * search below the size in use. */
			if (before.next_ms != 0 && now < before.next_ms && !before.in_flight &&
			    (before.mtu <= before.floor ||
			     (!before.misses && !(before.used && now >= before.confirm_ms))))
				check(sent == 0 && memcmp(&p, &before, sizeof(p)) == 0);
			if (p.black_holes != before.black_holes) {
				check(p.black_holes == before.black_holes + 1);
				check(before.confirming && before.misses + 1 == WEFT_PMTU_CONFIRM_TRIES);
				/* Searching below the size in use, or finished at once
				 * (within PRECISION of the floor), and at the end of the
				 * clock, where the recheck is due at once, searching anew. */
				check(p.lost == before.mtu || p.next_ms != 0 ||
				      now > UINT64_MAX - WEFT_PMTU_RECHECK_MS);
				probes = 0;
			}
			if (!sent)
				break;
			if (p.confirming) {
				check(sent == p.mtu && sent > p.floor && p.next_ms != 0 && !p.used);
				check(p.in_flight && p.probe_id == id && p.sent_ms == now);
				break;
			}
			/* A search starts with the ceiling, then halves (lo, lost). */
			if (p.lost == 0) {
				check(sent == p.ceiling && p.acked == 0);
				probes = 0;
			} else {
				check(sent > (p.acked ? p.acked : p.floor) && sent < p.lost);
			}
			check(++probes <= PROBES_PER_SEARCH_MAX);
			check(p.in_flight && p.probe_size == sent && p.probe_id == id);
			check(id == before.next_id && p.sent_ms == now);
			check(sent >= p.floor && sent <= p.ceiling);
			break;
		case ACK_IN_FLIGHT:
			changed = weft_pmtu_ack(&p, p.probe_id, (uint16_t)p.probe_size, now);
			check(changed == (p.mtu != before.mtu));
			if (before.in_flight && before.confirming)
				check(!changed && !p.in_flight && p.misses == 0 &&
				      p.acked == before.acked);
			else if (before.in_flight)
				check(!p.in_flight && p.acked == before.probe_size);
			break;
		case ACK_ANY:
			b = take(&pos, end, WEFT_PMTU_ACK_LEN);
			changed = weft_pmtu_ack(&p, weft_get_be32(b), weft_get_be16(b + 4), now);
			check(changed == (p.mtu != before.mtu));
			break;
		case SEND_FAILED:
			if (arg & 2 && !(arg & 1)) {
				size_t largest = weft_get_be16(take(&pos, end, 2));

				weft_pmtu_sent(&p, largest);
				check(p.used == (before.used || largest > p.floor));
				break;
			}
			if (arg & 1) {
				size_t refused_len = weft_get_be16(take(&pos, end, 2));

				weft_pmtu_refused(&p, refused_len, now);
				/* A new interval, searched afresh: the bound counts anew. */
				if (p.lost != before.lost || p.acked != before.acked)
					probes = 0;
				/* Nothing that large stays in flight or counts as acked. */
				check(!p.in_flight || p.probe_size < refused_len);
				check(!p.acked || p.acked < refused_len || refused_len <= p.floor);
				/* Between searches a refusal above the size in use is stale. */
				if (before.ceiling && before.next_ms != 0 && before.mtu < refused_len)
					check(memcmp(&p, &before, sizeof(p)) == 0);
				if (!before.ceiling)
					check(memcmp(&p, &before, sizeof(p)) == 0);
				break;
			}
			weft_pmtu_send_failed(&p, now);
			check(!p.in_flight);
			/* A confirmation refused too is lost: it can find a black
			 * hole, whose search is a new one. */
			if (p.black_holes != before.black_holes) {
				check(p.black_holes == before.black_holes + 1);
				check(before.confirming && before.misses + 1 == WEFT_PMTU_CONFIRM_TRIES);
				probes = 0;
			}
			if (!before.in_flight)
				check(memcmp(&p, &before, sizeof(p)) == 0);
			break;
		case WAIT:
			now = later(now, (uint64_t)arg * 50);
			break;
		case WAIT_LONG:
			now = later(now, arg == 31 ? WEFT_PMTU_RECHECK_MS
						   : (uint64_t)arg * WEFT_PMTU_TIMEOUT_MS);
			break;
		case SET_CEILING:
			b = take(&pos, end, 2);
			weft_pmtu_set_ceiling(&p, (size_t)weft_get_be16(b) << (arg & 1));
			check(!p.in_flight && p.next_ms == 0 && p.acked == 0 && p.lost == 0);
			check(p.known == before.known);
			break;
		case ACK_STALE:
			if (arg & 1)
				changed = weft_pmtu_ack(&p, p.probe_id + 1 + arg,
							(uint16_t)p.probe_size, now);
			else
				changed = weft_pmtu_ack(&p, p.probe_id,
							(uint16_t)(p.probe_size + 1 + arg), now);
			check(!changed);
			check(memcmp(&p, &before, sizeof(p)) == 0);
			break;
		}
		check_state(&p);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_relay(data, size);
	check_relay_too_big(data, size);
	check_probe_records(data, size);
	run_script(data, size);
	return 0;
}
