/* SPDX-License-Identifier: MIT */
/*
 * Path MTU toward one peer (docs/protocol.md, section 13.7).
 *
 * The codecs: PROBE is probe_id (4, big-endian) then padding; PROBE_ACK is
 * probe_id (4) and size (2), nothing else.
 *
 * The search keeps an interval: lo, a size known to get through (the largest
 * acked, else the floor, which is assumed to), and hi, the smallest size
 * lost. It first probes the ceiling; once that is lost it probes the
 * plateau, a 1500-byte link's size, when that lies inside (lo, hi), then the
 * middle of (lo, hi), one probe at a time, until the ceiling is acked or
 * hi - lo < WEFT_PMTU_PRECISION. Then lo is the result (mtu, known) and the
 * next search, again from the ceiling, starts WEFT_PMTU_RECHECK_MS later.
 * The size in use changes only when a search ends, except that once the
 * ceiling (or the size in use) is lost, an acked size of at least the
 * plateau is used at once: on a jumbo underlay with one host at 1500 the
 * frames toward it would otherwise vanish for the whole search (a lost
 * probe costs WEFT_PMTU_TIMEOUT_MS), and an acked smaller size is not used
 * early, since the containers told of it keep it for minutes.
 *
 * Between searches the size in use is confirmed: a probe of that size every
 * WEFT_PMTU_CONFIRM_MS while datagrams larger than the floor go (sent()),
 * and at once again when one is lost. A router that drops what its next hop
 * cannot carry without sending ICMP (or whose ICMP is filtered) leaves no
 * other trace: every datagram near the old size vanishes until the recheck,
 * ten minutes on. WEFT_PMTU_CONFIRM_TRIES lost in a row start a search
 * below the size in use, as a refused size does. Random loss rarely takes a
 * probe or its ack three times running (8e-6 per confirmation at 1 % each
 * way, 9e-4 at 5 %: one false alarm in a week or in 1.5 hours of traffic);
 * a false alarm costs a search, whose result stays until the recheck.
 *
 * next_ms is 0 while a search runs (init and set_ceiling have no clock, so
 * they only mark it); a finished search sets it to now + RECHECK, never 0.
 * A search finishes only in settle(), after an ack or a loss (or at once for
 * a ceiling at or below the floor): in ack(), but also in next_probe() (a
 * timeout) and send_failed(). No clock of its own, no I/O, no allocation.
 */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/frame.h"
#include "common/pmtu.h"
#include "common/wire.h"

/* The PROBE_ACK size field is 16 bits wide (and a DATA datagram at most
 * 65535 bytes long): a larger size could never be acknowledged. */
#define SIZE_MAX_PROBED UINT16_MAX

_Static_assert(WEFT_PMTU_PRECISION >= 2, "a midpoint strictly inside the interval");
_Static_assert(WEFT_PMTU_FLOOR_IPV4 <= WEFT_PMTU_FLOOR_IPV6, "floors");

/* ---- codecs ------------------------------------------------------------------ */

int weft_pmtu_parse_probe(const uint8_t *body, size_t len, uint32_t *probe_id)
{
	if (len < WEFT_PMTU_PROBE_MIN_LEN)
		return -EINVAL;
	*probe_id = weft_get_be32(body);
	return 0;
}

int weft_pmtu_parse_ack(const uint8_t *body, size_t len, uint32_t *probe_id, uint16_t *size)
{
	if (len != WEFT_PMTU_ACK_LEN)
		return -EINVAL;
	*probe_id = weft_get_be32(body);
	*size = weft_get_be16(body + 4);
	return 0;
}

void weft_pmtu_put_ack(uint8_t body[static WEFT_PMTU_ACK_LEN], uint32_t probe_id, uint16_t size)
{
	weft_put_be32(body, probe_id);
	weft_put_be16(body + 4, size);
}

/* ---- the search --------------------------------------------------------------- */

static bool searching(const struct weft_pmtu *p)
{
	return p->next_ms == 0;
}

/* The size known (or assumed) to get through in this search. */
static size_t low(const struct weft_pmtu *p)
{
	return p->acked ? p->acked : p->floor;
}

static void restart(struct weft_pmtu *p)
{
	p->acked = 0;
	p->lost = 0;
	p->in_flight = false;
	p->next_ms = 0;
	p->confirming = false;
	p->misses = 0;
}

/* @ms after @now, or the end of time. */
static uint64_t later(uint64_t now, uint64_t ms)
{
	return now <= UINT64_MAX - ms ? now + ms : UINT64_MAX;
}

/* Finishes the search when nothing is left to learn. Returns true when that
 * changed the mtu in use. */
static bool settle(struct weft_pmtu *p, uint64_t now)
{
	size_t lo = low(p), old = p->mtu;

	if (lo < p->ceiling && (!p->lost || p->lost - lo >= WEFT_PMTU_PRECISION))
		return false;
	p->mtu = lo;
	p->known = true;
	p->in_flight = false;
	p->next_ms = later(now, WEFT_PMTU_RECHECK_MS);
	p->confirm_ms = later(now, WEFT_PMTU_CONFIRM_MS);
	p->used = false;
	return p->mtu != old;
}

/* The probe in flight is lost: it bounds the interval from above, or it
 * was a confirmation of the size in use. */
static void lose(struct weft_pmtu *p, uint64_t now)
{
	p->in_flight = false;
	if (p->confirming) {
		p->confirming = false;
		if (++p->misses < WEFT_PMTU_CONFIRM_TRIES)
			return;
		p->black_holes++;
		restart(p);
		p->lost = p->mtu;
	} else {
		p->lost = p->probe_size;
	}
	settle(p, now);
}

static size_t launch(struct weft_pmtu *p, size_t size, uint64_t now, uint32_t *probe_id)
{
	p->in_flight = true;
	p->probe_id = p->next_id++;
	p->probe_size = size;
	p->sent_ms = now;
	*probe_id = p->probe_id;
	return size;
}

void weft_pmtu_init(struct weft_pmtu *p, size_t ceiling, bool ipv6, uint32_t first_id)
{
	size_t base = ipv6 ? WEFT_PMTU_FLOOR_IPV6 : WEFT_PMTU_FLOOR_IPV4;

	memset(p, 0, sizeof(*p));
	p->ceiling = ceiling < SIZE_MAX_PROBED ? ceiling : SIZE_MAX_PROBED;
	p->floor = base < p->ceiling ? base : p->ceiling;
	p->plateau = ipv6 ? WEFT_PMTU_PLATEAU_IPV6 : WEFT_PMTU_PLATEAU_IPV4;
	p->mtu = p->ceiling;
	p->next_id = first_id;
	restart(p);
}

void weft_pmtu_set_ceiling(struct weft_pmtu *p, size_t ceiling)
{
	p->ceiling = ceiling < SIZE_MAX_PROBED ? ceiling : SIZE_MAX_PROBED;
	/* Lowered with a tiny ceiling, the floor stays lowered: the struct does
	 * not remember the family. Lower is only more cautious. */
	if (p->floor > p->ceiling)
		p->floor = p->ceiling;
	if (!p->known || p->mtu > p->ceiling)
		p->mtu = p->ceiling;
	restart(p);
}

size_t weft_pmtu_next_probe(struct weft_pmtu *p, uint64_t now, uint32_t *probe_id)
{
	if (p->in_flight) {
		/* A clock behind sent_ms (never, with a monotonic one) waits. */
		if (now < p->sent_ms || now - p->sent_ms < WEFT_PMTU_TIMEOUT_MS)
			return 0;
		lose(p, now);
	}
	if (!searching(p)) {
		if (now < p->next_ms) {
			/* A size at the floor is assumed, never probed. */
			if (p->mtu <= p->floor ||
			    (!p->misses && !(p->used && now >= p->confirm_ms)))
				return 0;
			p->used = false;
			p->confirming = true;
			return launch(p, p->mtu, now, probe_id);
		}
		restart(p);
	}
	/* A ceiling at or below the floor is taken as it is, unprobed. */
	settle(p, now);
	if (!searching(p))
		return 0;
	if (!p->lost)
		return launch(p, p->ceiling, now, probe_id);
	if (low(p) < p->plateau && p->plateau < p->lost)
		return launch(p, p->plateau, now, probe_id);
	return launch(p, low(p) + (p->lost - low(p)) / 2, now, probe_id);
}

void weft_pmtu_sent(struct weft_pmtu *p, size_t largest)
{
	if (largest > p->floor)
		p->used = true;
}

void weft_pmtu_send_failed(struct weft_pmtu *p, uint64_t now)
{
	if (p->in_flight)
		lose(p, now);
}

void weft_pmtu_refused(struct weft_pmtu *p, size_t size, uint64_t now)
{
	/* Larger than anything we send toward it: nothing to learn. */
	if (!p->ceiling || size > p->ceiling)
		return;
	if (!searching(p)) {
		if (p->mtu < size)
			return; /* what is in use still goes */
		restart(p);
	}
	if (p->in_flight && p->probe_size >= size)
		p->in_flight = false;
	/* Even what was acked in this search no longer goes; below the floor
	 * nothing is left to try, and the floor it is. */
	if (p->acked >= size)
		p->acked = 0;
	if (size <= p->floor)
		size = p->floor + 1;
	if (!p->lost || size < p->lost)
		p->lost = size;
	settle(p, now);
}

bool weft_pmtu_ack(struct weft_pmtu *p, uint32_t probe_id, uint16_t size, uint64_t now)
{
	size_t old = p->mtu;

	if (!p->in_flight || probe_id != p->probe_id || size != p->probe_size)
		return false;
	p->in_flight = false;
	if (p->confirming) {
		p->confirming = false;
		p->misses = 0;
		p->confirm_ms = later(now, WEFT_PMTU_CONFIRM_MS);
		return false;
	}
	p->acked = size;
	if (p->lost && p->lost <= p->mtu && size >= p->plateau)
		p->mtu = size; /* the size in use is known lost: a good one now */
	settle(p, now);
	return p->mtu != old;
}

size_t weft_pmtu_datagram_max(const struct weft_pmtu *p, size_t max)
{
	if (!p->ceiling || p->mtu <= WEFT_WIRE_OVERHEAD + WEFT_FRAME_HDR_LEN || p->mtu > max)
		return max;
	return p->mtu;
}
