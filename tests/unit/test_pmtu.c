/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"
#include "common/frame.h"
#include "common/pmtu.h"
#include "common/wire.h"

#define T0	  5000000 /* an arbitrary start, in ms */
#define RTT	  20	  /* how long an ack takes to come back */
#define CEIL4	  1472	  /* 1500 - IPv4 - UDP */
#define CEIL6	  1452	  /* 1500 - IPv6 - UDP */
#define MAX_STEPS 64

/* ---- codecs ------------------------------------------------------------------ */

/* docs/protocol.md section 13.7: PROBE_ACK for probe 0x01020304 of 1465 bytes. */
static const uint8_t ack_vector[WEFT_PMTU_ACK_LEN] = {0x01, 0x02, 0x03, 0x04, 0x05, 0xb9};
/* docs/protocol.md section 13.7: PROBE body of probe 7 padded to 20 bytes. */
static const uint8_t probe_vector[20] = {0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00,
					 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
					 0x00, 0x00, 0x00, 0x00, 0x00, 0x00};

static void test_ack_vector(void **state)
{
	uint8_t body[WEFT_PMTU_ACK_LEN];
	uint32_t id = 0;
	uint16_t size = 0;

	weft_pmtu_put_ack(body, 0x01020304, 1465);
	assert_memory_equal(body, ack_vector, sizeof(body));
	assert_int_equal(weft_pmtu_parse_ack(ack_vector, sizeof(ack_vector), &id, &size), 0);
	assert_int_equal(id, 0x01020304);
	assert_int_equal(size, 1465);
}

/* The daemon writes a PROBE itself: the id, then zeros to the size it tests. */
static void test_probe_vector(void **state)
{
	uint8_t body[20];
	uint32_t id = 0;

	weft_put_be32(body, 7);
	memset(body + 4, 0, sizeof(body) - 4);
	assert_memory_equal(body, probe_vector, sizeof(body));
	assert_int_equal(weft_pmtu_parse_probe(probe_vector, sizeof(probe_vector), &id), 0);
	assert_int_equal(id, 7);
}

static void test_probe_boundaries(void **state)
{
	static const uint8_t body[8] = {0xde, 0xad, 0xbe, 0xef, 0xff, 0xff, 0xff, 0xff};
	uint32_t id = 0x55;

	for (size_t len = 0; len < WEFT_PMTU_PROBE_MIN_LEN; len++)
		assert_int_equal(weft_pmtu_parse_probe(body, len, &id), -EINVAL);
	assert_int_equal(id, 0x55);
	assert_int_equal(weft_pmtu_parse_probe(body, 3, &id), -EINVAL);
	assert_int_equal(weft_pmtu_parse_probe(body, 4, &id), 0);
	assert_int_equal(id, 0xdeadbeef);
	id = 0;
	/* Padding is not read: any content, any length. */
	assert_int_equal(weft_pmtu_parse_probe(body, sizeof(body), &id), 0);
	assert_int_equal(id, 0xdeadbeef);
}

static void test_ack_boundaries(void **state)
{
	static const uint8_t body[8] = {0xff, 0xfe, 0xfd, 0xfc, 0xff, 0xff, 0x00, 0x00};
	uint32_t id = 0x55;
	uint16_t size = 0x66;

	for (size_t len = 0; len <= sizeof(body); len++) {
		if (len == WEFT_PMTU_ACK_LEN)
			continue;
		assert_int_equal(weft_pmtu_parse_ack(body, len, &id, &size), -EINVAL);
	}
	assert_int_equal(weft_pmtu_parse_ack(body, 5, &id, &size), -EINVAL);
	assert_int_equal(weft_pmtu_parse_ack(body, 7, &id, &size), -EINVAL);
	assert_int_equal(id, 0x55);
	assert_int_equal(size, 0x66);
	assert_int_equal(weft_pmtu_parse_ack(body, 6, &id, &size), 0);
	assert_int_equal(id, 0xfffefdfc);
	assert_int_equal(size, 65535);
}

/* ---- the search ---------------------------------------------------------------- */

/* The invariants every state satisfies. */
static void check_state(const struct weft_pmtu *p)
{
	assert_true(p->floor <= p->ceiling);
	assert_true(p->floor <= p->mtu && p->mtu <= p->ceiling);
	/* Before a first result: the ceiling, or, once that was lost, a size
	 * of at least the plateau acked in this search. */
	if (!p->known && p->mtu != p->ceiling)
		assert_true(p->lost && p->mtu >= p->plateau && p->mtu <= p->acked);
	if (p->in_flight && p->confirming) {
		/* Between searches: the size in use, confirmed. */
		assert_int_not_equal(p->next_ms, 0);
		assert_int_equal(p->probe_size, p->mtu);
	} else if (p->in_flight) {
		assert_int_equal(p->next_ms, 0);
		assert_true(p->probe_size >= p->floor && p->probe_size <= p->ceiling);
	}
	assert_true(p->misses < WEFT_PMTU_CONFIRM_TRIES);
	if (p->confirming)
		assert_true(p->mtu > p->floor);
	assert_false(p->confirming && !p->in_flight);
}

/*
 * A path that carries datagrams up to @path bytes. Drives @p from *@now until
 * the search in progress finishes: acks come back after RTT; a bigger probe
 * is refused by the kernel (EMSGSIZE, when @refuse) or silently lost (the
 * search sees the timeout). Returns the number of probes sent.
 */
static unsigned run_search(struct weft_pmtu *p, size_t path, bool refuse, uint64_t *now)
{
	unsigned probes = 0;
	size_t prev = 0;

	for (int step = 0; step < MAX_STEPS; step++) {
		uint32_t id;
		size_t size = weft_pmtu_next_probe(p, *now, &id);

		check_state(p);
		if (!size) {
			if (p->next_ms != 0)
				return probes; /* finished */
			fail_msg("nothing to send in the middle of a search");
		}
		assert_true(p->in_flight);
		assert_int_equal(p->probe_size, size);
		assert_int_equal(p->probe_id, id);
		assert_true(size >= p->floor && size <= p->ceiling);
		assert_int_not_equal(size, prev);
		prev = size;
		probes++;
		/* One probe at a time. */
		assert_int_equal(weft_pmtu_next_probe(p, *now, &id), 0);
		if (size <= path) {
			size_t old = p->mtu;
			bool changed;

			*now += RTT;
			changed = weft_pmtu_ack(p, id, (uint16_t)size, *now);
			assert_int_equal(changed, p->mtu != old);
		} else if (refuse) {
			weft_pmtu_send_failed(p, *now);
		} else {
			assert_int_equal(
			    weft_pmtu_next_probe(p, *now + WEFT_PMTU_TIMEOUT_MS - 1, &id), 0);
			*now += WEFT_PMTU_TIMEOUT_MS;
		}
		assert_false(p->in_flight && size > path && refuse);
		check_state(p);
	}
	fail_msg("search did not finish in %d steps", MAX_STEPS);
	return 0;
}

static void test_init(void **state)
{
	struct weft_pmtu p;

	weft_pmtu_init(&p, CEIL4, false, 100);
	assert_int_equal(p.ceiling, CEIL4);
	assert_int_equal(p.floor, WEFT_PMTU_FLOOR_IPV4);
	assert_int_equal(p.mtu, CEIL4);
	assert_false(p.known);
	assert_false(p.in_flight);
	assert_int_equal(p.acked, 0);
	assert_int_equal(p.lost, 0);
	assert_int_equal(p.next_ms, 0);
	assert_int_equal(p.next_id, 100);
	weft_pmtu_init(&p, CEIL6, true, 0);
	assert_int_equal(p.floor, WEFT_PMTU_FLOOR_IPV6);
	assert_int_equal(p.mtu, CEIL6);
	/* The size field of PROBE_ACK is 16 bits: no larger probe. */
	weft_pmtu_init(&p, 65536 - 28 + 1000, false, 0);
	assert_int_equal(p.ceiling, 65535);
	assert_int_equal(p.mtu, 65535);
}

/* The typical case: a 1400-byte path (a tunnel) under a 1500 link. */
static void test_path_1400(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	unsigned probes;

	weft_pmtu_init(&p, CEIL4, false, 1);
	probes = run_search(&p, 1400, false, &now);
	assert_true(p.known);
	assert_true(p.mtu <= 1400);
	assert_true(1400 - p.mtu < WEFT_PMTU_PRECISION);
	/* 1472 L, 1010 A, 1241 A, 1356 A, 1414 L, 1385 A, 1399 A, 1406 L. */
	assert_int_equal(probes, 8);
	assert_int_equal(p.mtu, 1399);
	assert_int_equal(p.next_ms, now + WEFT_PMTU_RECHECK_MS);
	assert_int_equal(p.next_id, 1 + probes);
}

/* Every path between below the floor and above the ceiling: the result is
 * within PRECISION below the path, never above it; the floor when even that
 * looks lost; the ceiling when the ceiling gets through. */
static void test_every_path(void **state)
{
	/* 1500-byte interfaces, then 9000-byte ones (the plateau inside). */
	for (int k = 0; k < 4; k++) {
		bool v6 = k % 2;
		size_t ceil = k == 0 ? CEIL4 : k == 1 ? CEIL6 : k == 2 ? 8972 : 8952;
		size_t floor = v6 ? WEFT_PMTU_FLOOR_IPV6 : WEFT_PMTU_FLOOR_IPV4;

		for (size_t path = floor - 20; path <= ceil + 20; path++) {
			for (int refuse = 0; refuse <= 1; refuse++) {
				struct weft_pmtu p;
				uint64_t now = T0;
				unsigned probes;

				weft_pmtu_init(&p, ceil, v6, (uint32_t)path);
				probes = run_search(&p, path, refuse, &now);
				assert_true(p.known);
				/* the ceiling, the plateau, then halving 8424 bytes */
				assert_true(probes >= 1 && probes <= (k < 2 ? 10u : 14u));
				if (path >= ceil) {
					assert_int_equal(p.mtu, ceil);
					assert_int_equal(probes, 1);
				} else if (path < floor) {
					assert_int_equal(p.mtu, floor);
				} else {
					assert_true(p.mtu <= path);
					assert_true(path - p.mtu < WEFT_PMTU_PRECISION);
				}
			}
		}
	}
}

static void test_ceiling_acked_at_once(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;

	weft_pmtu_init(&p, CEIL4, false, 0xabcdef00);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), CEIL4);
	assert_int_equal(id, 0xabcdef00);
	/* The result equals the mtu already in use (the ceiling): no change. */
	assert_false(weft_pmtu_ack(&p, id, CEIL4, now + 5));
	assert_true(p.known);
	assert_false(p.in_flight);
	assert_int_equal(p.mtu, CEIL4);
	assert_int_equal(p.next_ms, now + 5 + WEFT_PMTU_RECHECK_MS);
	assert_int_equal(weft_pmtu_next_probe(&p, now + 6, &id), 0);
}

/* No acks at all: timeouts alone drive the search down to the floor. */
static void test_timeouts_only(void **state)
{
	static const size_t expect[] = {1472, 1010, 779, 663, 605, 576, 562, 555};
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id, first;

	weft_pmtu_init(&p, CEIL4, false, 7);
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(expect); i++) {
		size_t old = p.mtu;

		assert_int_equal(weft_pmtu_next_probe(&p, now, &id), expect[i]);
		assert_int_equal(id, 7 + i);
		if (i == 0)
			first = id;
		assert_int_equal(weft_pmtu_next_probe(&p, now + WEFT_PMTU_TIMEOUT_MS - 1, &id), 0);
		assert_int_equal(p.mtu, old);
		now += WEFT_PMTU_TIMEOUT_MS;
	}
	/* The last timeout finishes the search (555 - 548 < 8) inside next_probe. */
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 0);
	assert_true(p.known);
	assert_false(p.in_flight);
	assert_int_equal(p.mtu, WEFT_PMTU_FLOOR_IPV4);
	assert_int_equal(p.next_ms, now + WEFT_PMTU_RECHECK_MS);
	/* A late ack of a probe given up on changes nothing. */
	assert_false(weft_pmtu_ack(&p, first, 1472, now));
	assert_int_equal(p.mtu, WEFT_PMTU_FLOOR_IPV4);
}

/* EMSGSIZE: the kernel refuses probes above 1400; they are lost at once,
 * without waiting for a timeout. */
static void test_send_failed(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	unsigned probes;

	weft_pmtu_init(&p, CEIL4, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), CEIL4);
	weft_pmtu_send_failed(&p, now);
	assert_false(p.in_flight);
	assert_int_equal(p.lost, CEIL4);
	/* The next probe goes out at once, not after the timeout. */
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1010);
	assert_int_equal(id, 2);
	weft_pmtu_send_failed(&p, now);
	assert_int_equal(p.lost, 1010);
	/* Without a probe in flight it is nothing. */
	weft_pmtu_send_failed(&p, now);
	assert_int_equal(p.lost, 1010);
	assert_false(p.known);

	weft_pmtu_init(&p, CEIL4, false, 1);
	probes = run_search(&p, 1400, true, &now);
	assert_int_equal(probes, 8);
	assert_int_equal(p.mtu, 1399);
	/* Only the acks took time. */
	assert_true(now - T0 <= 8 * RTT);
}

/* Acks that do not match the probe in flight change nothing. */
static void test_stale_acks(void **state)
{
	struct weft_pmtu p, before;
	uint64_t now = T0;
	uint32_t id, old_id;

	weft_pmtu_init(&p, CEIL4, false, 0xfffffffe);
	/* Nothing in flight yet. */
	assert_false(weft_pmtu_ack(&p, 0xfffffffe, CEIL4, now));
	assert_false(p.known);
	assert_int_equal(p.acked, 0);

	assert_int_equal(weft_pmtu_next_probe(&p, now, &old_id), CEIL4);
	now += WEFT_PMTU_TIMEOUT_MS;
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1010);
	assert_int_equal(id, 0xffffffff);
	before = p;
	/* The timed-out probe's ack, the right id with another size, an
	 * unknown id, a zero size. */
	assert_false(weft_pmtu_ack(&p, old_id, CEIL4, now + 1));
	assert_false(weft_pmtu_ack(&p, old_id, 1010, now + 1));
	assert_false(weft_pmtu_ack(&p, id, 1011, now + 1));
	assert_false(weft_pmtu_ack(&p, id, 1009, now + 1));
	assert_false(weft_pmtu_ack(&p, id, 0, now + 1));
	assert_false(weft_pmtu_ack(&p, id + 1, 1010, now + 1));
	assert_true(p.in_flight);
	assert_int_equal(p.acked, before.acked);
	assert_int_equal(p.lost, before.lost);
	assert_int_equal(p.probe_id, before.probe_id);
	assert_int_equal(p.probe_size, before.probe_size);
	assert_int_equal(p.next_id, before.next_id);
	assert_int_equal(p.mtu, before.mtu);

	/* The right one counts, once. */
	assert_false(weft_pmtu_ack(&p, id, 1010, now + 1));
	assert_false(p.in_flight);
	assert_int_equal(p.acked, 1010);
	assert_false(weft_pmtu_ack(&p, id, 1010, now + 2));
	assert_int_equal(p.acked, 1010);
	/* Ids wrap. */
	assert_int_equal(weft_pmtu_next_probe(&p, now + 2, &id), 1241);
	assert_int_equal(id, 0);
}

/* A finished search is checked again after WEFT_PMTU_RECHECK_MS, from the
 * ceiling; a path that changed meanwhile gives a new result. */
static void test_recheck(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0, done;
	uint32_t id;

	weft_pmtu_init(&p, CEIL4, false, 1);
	run_search(&p, 1400, false, &now);
	assert_int_equal(p.mtu, 1399);
	done = p.next_ms - WEFT_PMTU_RECHECK_MS;
	assert_int_equal(weft_pmtu_next_probe(&p, done + WEFT_PMTU_RECHECK_MS - 1, &id), 0);
	assert_int_equal(weft_pmtu_next_probe(&p, done + WEFT_PMTU_RECHECK_MS, &id), CEIL4);
	assert_int_equal(id, 9);
	assert_int_equal(p.next_ms, 0);
	assert_int_equal(p.acked, 0);
	assert_int_equal(p.lost, 0);
	/* The last result stays in use during the search. */
	assert_true(p.known);
	assert_int_equal(p.mtu, 1399);

	/* The path shrank to 1280. */
	now = done + WEFT_PMTU_RECHECK_MS + WEFT_PMTU_TIMEOUT_MS;
	run_search(&p, 1280, false, &now);
	assert_true(p.mtu <= 1280 && 1280 - p.mtu < WEFT_PMTU_PRECISION);

	/* The path grew back to the link's: one probe, and a change reported. */
	now = p.next_ms;
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), CEIL4);
	assert_true(weft_pmtu_ack(&p, id, CEIL4, now + RTT));
	assert_int_equal(p.mtu, CEIL4);
}

/* A loss that finishes a search with a new result: no ack to report it, the
 * caller sees p->mtu change. */
static void test_finish_on_loss(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;

	weft_pmtu_init(&p, 570, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 570);
	weft_pmtu_send_failed(&p, now);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 559);
	assert_false(weft_pmtu_ack(&p, id, 559, now + RTT));
	assert_false(p.known);
	assert_int_equal(weft_pmtu_next_probe(&p, now + RTT, &id), 564);
	assert_int_equal(p.mtu, 570);
	/* 564 - 559 < 8: this loss ends the search. */
	weft_pmtu_send_failed(&p, now + RTT);
	assert_true(p.known);
	assert_int_equal(p.mtu, 559);
	assert_int_equal(p.next_ms, now + RTT + WEFT_PMTU_RECHECK_MS);
}

static void test_set_ceiling(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id, old_id;

	/* Before anything is known the mtu follows the ceiling, both ways. */
	weft_pmtu_init(&p, CEIL4, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &old_id), CEIL4);
	weft_pmtu_set_ceiling(&p, 1400);
	assert_int_equal(p.mtu, 1400);
	assert_false(p.in_flight);
	assert_false(p.known);
	/* The probe of the abandoned search is no longer acknowledged. */
	assert_false(weft_pmtu_ack(&p, old_id, CEIL4, now + 1));
	assert_int_equal(p.acked, 0);
	/* The new search starts now, from the new ceiling, with the next id. */
	assert_int_equal(weft_pmtu_next_probe(&p, now + 1, &id), 1400);
	assert_int_equal(id, old_id + 1);
	weft_pmtu_set_ceiling(&p, 9000 - 28);
	assert_int_equal(p.mtu, 9000 - 28);
	assert_false(p.known);

	/* Once known: a lower ceiling caps the mtu at once, a higher one does not
	 * raise it before a search says so. */
	now += 10;
	weft_pmtu_init(&p, CEIL4, false, 1);
	run_search(&p, 1400, false, &now);
	assert_int_equal(p.mtu, 1399);
	weft_pmtu_set_ceiling(&p, 1300);
	assert_int_equal(p.mtu, 1300);
	assert_true(p.known);
	assert_int_equal(p.next_ms, 0);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1300);
	assert_false(weft_pmtu_ack(&p, id, 1300, now + RTT));
	assert_int_equal(p.mtu, 1300);
	now += RTT;
	weft_pmtu_set_ceiling(&p, 9000 - 28);
	assert_int_equal(p.mtu, 1300);
	assert_true(p.known);
	run_search(&p, 1400, false, &now);
	assert_true(p.mtu <= 1400 && 1400 - p.mtu < WEFT_PMTU_PRECISION);
	check_state(&p);
}

static void test_ipv6_floor(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	size_t size;
	unsigned probes = 0;

	weft_pmtu_init(&p, CEIL6, true, 1);
	/* Everything lost: probes never go below 1232, which is the result. */
	while ((size = weft_pmtu_next_probe(&p, now, &id)) != 0) {
		assert_true(size > WEFT_PMTU_FLOOR_IPV6 && size <= CEIL6);
		probes++;
		weft_pmtu_send_failed(&p, now);
		check_state(&p);
	}
	assert_true(p.known);
	assert_int_equal(p.mtu, WEFT_PMTU_FLOOR_IPV6);
	assert_int_equal(probes, 6); /* 1452, 1342, 1287, 1259, 1245, 1238 */

	now += 1;
	weft_pmtu_init(&p, CEIL6, true, 1);
	run_search(&p, 1300, false, &now);
	assert_true(p.mtu <= 1300 && 1300 - p.mtu < WEFT_PMTU_PRECISION);
}

/* A ceiling at or below the floor is the result, without a probe; one just
 * above it is probed once. */
static void test_tiny_ceiling(void **state)
{
	struct weft_pmtu p;
	uint32_t id;

	weft_pmtu_init(&p, 500, false, 1);
	assert_int_equal(p.floor, 500);
	assert_int_equal(p.mtu, 500);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), 0);
	assert_true(p.known);
	assert_int_equal(p.mtu, 500);
	assert_int_equal(p.next_ms, T0 + WEFT_PMTU_RECHECK_MS);
	assert_int_equal(p.next_id, 1);
	/* Rechecking sends nothing either. */
	assert_int_equal(weft_pmtu_next_probe(&p, T0 + WEFT_PMTU_RECHECK_MS, &id), 0);
	assert_int_equal(p.next_id, 1);

	weft_pmtu_init(&p, 1000, true, 1);
	assert_int_equal(p.floor, 1000);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), 0);
	assert_int_equal(p.mtu, 1000);

	weft_pmtu_init(&p, WEFT_PMTU_FLOOR_IPV4, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), 0);
	assert_int_equal(p.mtu, WEFT_PMTU_FLOOR_IPV4);

	/* Lowered below the floor by set_ceiling: the same. */
	weft_pmtu_init(&p, CEIL4, false, 1);
	weft_pmtu_set_ceiling(&p, 400);
	assert_int_equal(p.floor, 400);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), 0);
	assert_int_equal(p.mtu, 400);

	/* Within PRECISION above the floor: the ceiling is tried, then the floor. */
	weft_pmtu_init(&p, WEFT_PMTU_FLOOR_IPV4 + 3, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), WEFT_PMTU_FLOOR_IPV4 + 3);
	weft_pmtu_send_failed(&p, T0);
	assert_true(p.known);
	assert_int_equal(p.mtu, WEFT_PMTU_FLOOR_IPV4);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), 0);
	/* Traffic over a path at the floor: the floor is assumed, and never
	 * confirmed either. */
	weft_pmtu_sent(&p, WEFT_PMTU_FLOOR_IPV4 + 3);
	assert_true(p.used);
	assert_int_equal(weft_pmtu_next_probe(&p, T0 + 3 * WEFT_PMTU_CONFIRM_MS, &id), 0);
	assert_false(p.in_flight);

	/* The precision's edge: an interval of 7 is done, one of 8 is halved. */
	weft_pmtu_init(&p, WEFT_PMTU_FLOOR_IPV4 + 7, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), WEFT_PMTU_FLOOR_IPV4 + 7);
	weft_pmtu_send_failed(&p, T0);
	assert_true(p.known);
	weft_pmtu_init(&p, WEFT_PMTU_FLOOR_IPV4 + 8, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), WEFT_PMTU_FLOOR_IPV4 + 8);
	weft_pmtu_send_failed(&p, T0);
	assert_false(p.known);
	assert_int_equal(weft_pmtu_next_probe(&p, T0, &id), WEFT_PMTU_FLOOR_IPV4 + 4);
	assert_true(weft_pmtu_ack(&p, id, WEFT_PMTU_FLOOR_IPV4 + 4, T0 + RTT));
	assert_true(p.known);
	assert_int_equal(p.mtu, WEFT_PMTU_FLOOR_IPV4 + 4);
}

/* The kernel learned a smaller path (a router's ICMP) after a search had
 * finished: the search starts again at once, below the refused size, and
 * settles within PRECISION of the new path without trying the ceiling or
 * anything refused. */
static void test_refused_after_search(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	size_t size;

	weft_pmtu_init(&p, 8972, false, 1);
	(void)run_search(&p, 8972, false, &now);
	assert_true(p.known);
	assert_int_equal(p.mtu, 8972);
	/* A datagram no larger than the size in use refused: search again. */
	now += 1000;
	weft_pmtu_refused(&p, 8972, now);
	check_state(&p);
	size = weft_pmtu_next_probe(&p, now, &id);
	assert_true(size > 0 && size < 8972);
	/* The size in use stays until the search ends. */
	assert_int_equal(p.mtu, 8972);
	weft_pmtu_send_failed(&p, now); /* say the path is now 1372 */
	if (size <= 1372)
		fail_msg("the first probe, %zu, fits the new path", size);
	(void)run_search(&p, 1372, true, &now);
	assert_true(p.known);
	assert_true(p.mtu <= 1372 && 1372 - p.mtu < WEFT_PMTU_PRECISION);
	assert_int_equal(weft_pmtu_datagram_max(&p, 8972), p.mtu);

	/* Refused above the size in use (a stale report): nothing to do. */
	now += 1000;
	weft_pmtu_refused(&p, 1400, now);
	assert_true(p.known);
	assert_int_not_equal(p.next_ms, 0);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 0);
	(void)state;
}

/* During a search: a probe in flight that large is lost at once (no
 * timeout), what was acked that large is forgotten, and below the floor the
 * floor is taken. */
static void test_refused_during_search(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	size_t size;

	weft_pmtu_init(&p, CEIL4, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), CEIL4);
	weft_pmtu_refused(&p, CEIL4, now);
	assert_false(p.in_flight);
	assert_int_equal(p.lost, CEIL4);
	/* The next probe goes at once, not after the timeout. */
	size = weft_pmtu_next_probe(&p, now, &id);
	assert_int_equal(size, WEFT_PMTU_FLOOR_IPV4 + (CEIL4 - WEFT_PMTU_FLOOR_IPV4) / 2);
	assert_true(weft_pmtu_ack(&p, id, (uint16_t)size, now + RTT) == false);
	assert_int_equal(p.acked, size);
	/* Now even that is refused: forgotten, and the interval shrinks. */
	weft_pmtu_refused(&p, size, now + RTT);
	assert_int_equal(p.acked, 0);
	assert_int_equal(p.lost, size);
	check_state(&p);
	/* Refused at the floor: the floor, settled. */
	weft_pmtu_refused(&p, WEFT_PMTU_FLOOR_IPV4 - 100, now + RTT);
	assert_true(p.known);
	assert_int_equal(p.mtu, WEFT_PMTU_FLOOR_IPV4);
	/* Before any search: nothing. */
	memset(&p, 0, sizeof(p));
	weft_pmtu_refused(&p, 1000, now);
	assert_int_equal(p.ceiling, 0);
	assert_int_equal(p.lost, 0);
	(void)state;
}

/* A jumbo interface with a 1500-byte host on the path, which says nothing:
 * after the ceiling's timeout the plateau is probed and, once acked, used at
 * once, while the search goes on above it; the result is the plateau itself.
 * A path under the plateau is searched as before, the size in use unchanged
 * until the end. */
static void test_plateau(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	size_t size;

	weft_pmtu_init(&p, 8972, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 8972);
	now += WEFT_PMTU_TIMEOUT_MS;
	size = weft_pmtu_next_probe(&p, now, &id);
	assert_int_equal(size, WEFT_PMTU_PLATEAU_IPV4);
	assert_int_equal(p.mtu, 8972);
	assert_true(weft_pmtu_ack(&p, id, (uint16_t)size, now + RTT));
	assert_false(p.known);
	assert_int_equal(p.mtu, WEFT_PMTU_PLATEAU_IPV4);
	assert_int_equal(weft_pmtu_datagram_max(&p, 8972), WEFT_PMTU_PLATEAU_IPV4);
	now += RTT;
	(void)run_search(&p, WEFT_PMTU_PLATEAU_IPV4, false, &now);
	assert_true(p.known);
	assert_int_equal(p.mtu, WEFT_PMTU_PLATEAU_IPV4);

	/* A 4000-byte path: the plateau first, a larger result at the end. */
	now = T0;
	weft_pmtu_init(&p, 8972, false, 1);
	(void)run_search(&p, 4000, false, &now);
	assert_true(p.mtu <= 4000 && 4000 - p.mtu < WEFT_PMTU_PRECISION);

	/* Under the plateau (a 1400-byte tunnel): both lost, then halving,
	 * and the acked sizes below the plateau are not used before the end. */
	now = T0;
	weft_pmtu_init(&p, 8972, false, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 8972);
	weft_pmtu_send_failed(&p, now);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), WEFT_PMTU_PLATEAU_IPV4);
	weft_pmtu_send_failed(&p, now);
	size = weft_pmtu_next_probe(&p, now, &id);
	assert_int_equal(size, WEFT_PMTU_FLOOR_IPV4 + (WEFT_PMTU_PLATEAU_IPV4 - WEFT_PMTU_FLOOR_IPV4) / 2);
	assert_false(weft_pmtu_ack(&p, id, (uint16_t)size, now + RTT));
	assert_int_equal(p.mtu, 8972);
	now += RTT;
	(void)run_search(&p, 1400, false, &now);
	assert_true(p.mtu <= 1400 && 1400 - p.mtu < WEFT_PMTU_PRECISION);

	/* IPv6: 1452. */
	now = T0;
	weft_pmtu_init(&p, 8952, true, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 8952);
	weft_pmtu_send_failed(&p, now);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), WEFT_PMTU_PLATEAU_IPV6);

	/* A recheck does not trade a good result for the plateau: the size in
	 * use (4000 found above) was not lost. */
	now = T0;
	weft_pmtu_init(&p, 8972, false, 1);
	(void)run_search(&p, 4000, true, &now);
	size = p.mtu;
	now = p.next_ms;
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 8972);
	weft_pmtu_send_failed(&p, now);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), WEFT_PMTU_PLATEAU_IPV4);
	assert_false(weft_pmtu_ack(&p, id, WEFT_PMTU_PLATEAU_IPV4, now + RTT));
	assert_int_equal(p.mtu, size);
	(void)state;
}

/* What the egress packs records up to, toward a peer. */
static void test_datagram_max(void **state)
{
	struct weft_pmtu p = {0};
	uint64_t now = T0;

	/* No search started: our own interface's size. */
	assert_int_equal(weft_pmtu_datagram_max(&p, 8972), 8972);
	/* Started, nothing known: the ceiling, itself our interface's. */
	weft_pmtu_init(&p, 8972, false, 1);
	assert_int_equal(weft_pmtu_datagram_max(&p, 8972), 8972);
	/* A 1500-byte hop on the way (1472 bytes of UDP payload): the path,
	 * whatever our interface allows. */
	(void)run_search(&p, 1472, false, &now);
	assert_true(p.known);
	assert_true(p.mtu <= 1472 && 1472 - p.mtu < WEFT_PMTU_PRECISION);
	assert_int_equal(weft_pmtu_datagram_max(&p, 8972), p.mtu);
	assert_int_equal(weft_pmtu_datagram_max(&p, SIZE_MAX), p.mtu);
	/* Our interface shrank below the path found: the smaller. */
	assert_int_equal(weft_pmtu_datagram_max(&p, 1200), 1200);
	/* A path that could not carry a frame at all counts as none. */
	weft_pmtu_init(&p, WEFT_WIRE_OVERHEAD + WEFT_FRAME_HDR_LEN, false, 1);
	assert_int_equal(weft_pmtu_datagram_max(&p, 8972), 8972);
	weft_pmtu_init(&p, WEFT_WIRE_OVERHEAD + WEFT_FRAME_HDR_LEN + 1, false, 1);
	assert_int_equal(weft_pmtu_datagram_max(&p, 8972), WEFT_WIRE_OVERHEAD + WEFT_FRAME_HDR_LEN + 1);
	(void)state;
}

/* A finished search toward a 1400-byte path, at *@now. */
static void searched_1400(struct weft_pmtu *p, uint64_t *now)
{
	weft_pmtu_init(p, CEIL4, false, 1);
	(void)run_search(p, 1400, false, now);
	assert_true(p->known);
	assert_int_equal(p->mtu, 1399);
}

/* Right after a search, traffic uses @p's size, and @n confirmations of it
 * go out in turn, each lost (a timeout later); *@now ends at the last one's
 * timeout, which the next call to next_probe() sees. */
static void lose_confirmations(struct weft_pmtu *p, uint64_t *now, unsigned n)
{
	size_t mtu = p->mtu;
	uint32_t id;

	weft_pmtu_sent(p, mtu);
	*now += WEFT_PMTU_CONFIRM_MS;
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(weft_pmtu_next_probe(p, *now, &id), mtu);
		check_state(p);
		assert_int_equal(weft_pmtu_next_probe(p, *now + WEFT_PMTU_TIMEOUT_MS - 1, &id), 0);
		*now += WEFT_PMTU_TIMEOUT_MS;
	}
}

/* Between searches the size in use is confirmed every CONFIRM_MS, but only
 * while datagrams larger than the floor go; an ack changes nothing. */
static void test_confirm_while_used(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0, done;
	uint32_t id;

	searched_1400(&p, &now);
	done = now;
	/* No traffic, or only small datagrams: nothing to confirm. */
	assert_int_equal(weft_pmtu_next_probe(&p, done + WEFT_PMTU_CONFIRM_MS, &id), 0);
	weft_pmtu_sent(&p, 0);
	weft_pmtu_sent(&p, WEFT_PMTU_FLOOR_IPV4);
	assert_int_equal(weft_pmtu_next_probe(&p, done + 2 * WEFT_PMTU_CONFIRM_MS, &id), 0);
	/* A larger one: confirmed once CONFIRM_MS have passed since the search. */
	weft_pmtu_sent(&p, WEFT_PMTU_FLOOR_IPV4 + 1);
	now = done + 2 * WEFT_PMTU_CONFIRM_MS;
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1399);
	check_state(&p);
	assert_true(p.confirming);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 0); /* one at a time */
	assert_false(weft_pmtu_ack(&p, id, 1399, now + RTT));
	now += RTT;
	check_state(&p);
	assert_false(p.in_flight);
	assert_int_equal(p.mtu, 1399);
	assert_int_equal(p.misses, 0);
	assert_int_equal(p.black_holes, 0);
	/* Used again, but not CONFIRM_MS later yet; then it is. */
	weft_pmtu_sent(&p, 1399);
	assert_int_equal(weft_pmtu_next_probe(&p, now + WEFT_PMTU_CONFIRM_MS - 1, &id), 0);
	assert_int_equal(weft_pmtu_next_probe(&p, now + WEFT_PMTU_CONFIRM_MS, &id), 1399);
	/* The recheck is not moved by confirmations. */
	assert_int_equal(p.next_ms, done + WEFT_PMTU_RECHECK_MS);
	(void)state;
}

/* Lost confirmations are tried again at once (a timeout apart); one ack
 * among fewer than CONFIRM_TRIES losses ends the misses. */
static void test_confirm_lost_then_acked(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;

	searched_1400(&p, &now);
	lose_confirmations(&p, &now, WEFT_PMTU_CONFIRM_TRIES - 1);
	/* The last lost one is seen by this call, which confirms again. */
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1399);
	assert_int_equal(p.misses, WEFT_PMTU_CONFIRM_TRIES - 1);
	assert_false(weft_pmtu_ack(&p, id, 1399, now + RTT));
	assert_int_equal(p.misses, 0);
	assert_int_equal(p.black_holes, 0);
	assert_true(p.known);
	assert_int_equal(p.mtu, 1399);
	assert_int_not_equal(p.next_ms, 0);
	/* Nothing used since: nothing more to send. */
	assert_int_equal(weft_pmtu_next_probe(&p, now + 10 * WEFT_PMTU_CONFIRM_MS, &id), 0);
	(void)state;
}

/* A black hole: the path shrinks from 1400 to 1300 and says nothing. After
 * CONFIRM_TRIES lost confirmations the search starts below the size in use
 * (never the ceiling, never the lost size again) and finds the new path. */
static void test_black_hole(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	size_t size;

	searched_1400(&p, &now);
	lose_confirmations(&p, &now, WEFT_PMTU_CONFIRM_TRIES);
	size = weft_pmtu_next_probe(&p, now, &id);
	assert_int_equal(p.black_holes, 1);
	assert_int_equal(p.next_ms, 0); /* searching */
	assert_int_equal(p.lost, 1399);
	assert_true(size >= p.floor && size < 1399);
	assert_int_not_equal(size, CEIL4);
	check_state(&p);
	/* The size in use stays until the search replaces it. */
	assert_int_equal(p.mtu, 1399);
	if (size <= 1300)
		assert_false(weft_pmtu_ack(&p, id, (uint16_t)size, now + RTT));
	now += size <= 1300 ? RTT : WEFT_PMTU_TIMEOUT_MS;
	(void)run_search(&p, 1300, false, &now);
	assert_true(p.known);
	assert_true(p.mtu <= 1300 && 1300 - p.mtu < WEFT_PMTU_PRECISION);
	assert_int_equal(p.misses, 0);
	(void)state;
}

/* On a jumbo underlay whose path drops to a 1500-byte link's: the plateau,
 * acked, replaces the size in use at once, before the search ends. */
static void test_black_hole_plateau(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	size_t size;

	weft_pmtu_init(&p, 8972, false, 1);
	(void)run_search(&p, 8972, false, &now);
	assert_int_equal(p.mtu, 8972);
	lose_confirmations(&p, &now, WEFT_PMTU_CONFIRM_TRIES);
	size = weft_pmtu_next_probe(&p, now, &id);
	assert_int_equal(p.black_holes, 1);
	assert_int_equal(size, WEFT_PMTU_PLATEAU_IPV4);
	assert_true(weft_pmtu_ack(&p, id, (uint16_t)size, now + RTT));
	assert_int_equal(p.mtu, WEFT_PMTU_PLATEAU_IPV4);
	now += RTT;
	(void)run_search(&p, 1472, false, &now);
	assert_true(p.known);
	assert_true(p.mtu <= 1472 && 1472 - p.mtu < WEFT_PMTU_PRECISION);
	(void)state;
}

/* A refused size or a new ceiling during a confirmation: the search they
 * start takes over, and the confirmation's misses are gone. */
static void test_confirm_then_refused(void **state)
{
	struct weft_pmtu p;
	uint64_t now = T0;
	uint32_t id;
	size_t size;

	searched_1400(&p, &now);
	lose_confirmations(&p, &now, 1);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1399);
	assert_int_equal(p.misses, 1);
	weft_pmtu_refused(&p, 1300, now);
	check_state(&p);
	assert_false(p.confirming);
	assert_int_equal(p.misses, 0);
	assert_int_equal(p.next_ms, 0);
	/* The confirmation's ack, late: matches nothing in flight. */
	assert_false(weft_pmtu_ack(&p, id, 1399, now + RTT));
	size = weft_pmtu_next_probe(&p, now, &id);
	assert_true(size > 0 && size < 1300);
	assert_int_equal(p.black_holes, 0);

	searched_1400(&p, &now);
	weft_pmtu_sent(&p, 1399);
	now += WEFT_PMTU_CONFIRM_MS;
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1399);
	weft_pmtu_set_ceiling(&p, 1400);
	check_state(&p);
	assert_false(p.confirming);
	assert_int_equal(weft_pmtu_next_probe(&p, now, &id), 1400);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ack_vector),
	    cmocka_unit_test(test_probe_vector),
	    cmocka_unit_test(test_probe_boundaries),
	    cmocka_unit_test(test_ack_boundaries),
	    cmocka_unit_test(test_init),
	    cmocka_unit_test(test_path_1400),
	    cmocka_unit_test(test_every_path),
	    cmocka_unit_test(test_ceiling_acked_at_once),
	    cmocka_unit_test(test_timeouts_only),
	    cmocka_unit_test(test_send_failed),
	    cmocka_unit_test(test_stale_acks),
	    cmocka_unit_test(test_recheck),
	    cmocka_unit_test(test_finish_on_loss),
	    cmocka_unit_test(test_set_ceiling),
	    cmocka_unit_test(test_ipv6_floor),
	    cmocka_unit_test(test_tiny_ceiling),
	    cmocka_unit_test(test_plateau),
	    cmocka_unit_test(test_datagram_max),
	    cmocka_unit_test(test_refused_after_search),
	    cmocka_unit_test(test_refused_during_search),
	    cmocka_unit_test(test_confirm_while_used),
	    cmocka_unit_test(test_confirm_lost_then_acked),
	    cmocka_unit_test(test_black_hole),
	    cmocka_unit_test(test_black_hole_plateau),
	    cmocka_unit_test(test_confirm_then_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
