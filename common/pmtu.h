/* SPDX-License-Identifier: MIT */
/* Path MTU toward one peer (docs/protocol.md, section 13.7): the PROBE and
 * PROBE_ACK codecs and the search, as a state machine driven by the caller's
 * clock. Sizes are UDP payload lengths (whole DATA datagrams). */
#ifndef WEFT_PMTU_H
#define WEFT_PMTU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/weft.h"

#define WEFT_PMTU_PROBE_MIN_LEN	 4
#define WEFT_PMTU_ACK_LEN	 6
#define WEFT_PMTU_TIMEOUT_MS	 1000
#define WEFT_PMTU_RECHECK_MS	 600000
/* While datagrams larger than the floor go toward the peer, the size in use
 * is confirmed this often; this many confirmations lost in a row (each
 * WEFT_PMTU_TIMEOUT_MS apart) mean the path stopped carrying it unannounced
 * (a black hole: ICMP filtered on a smaller hop). */
#define WEFT_PMTU_CONFIRM_MS	 5000
#define WEFT_PMTU_CONFIRM_TRIES	 3
#define WEFT_PMTU_PRECISION	 8 /* stop when lost - acked < this */
#define WEFT_PMTU_FLOOR_IPV4	 548
#define WEFT_PMTU_FLOOR_IPV6	 1232
/* A 1500-byte link's datagram, tried right after a lost ceiling. */
#define WEFT_PMTU_PLATEAU_IPV4 1472
#define WEFT_PMTU_PLATEAU_IPV6 1452

/* PROBE body: probe_id, then padding. -EINVAL when shorter than 4 bytes. */
int weft_pmtu_parse_probe(const uint8_t *body, size_t len, uint32_t *probe_id) WEFT_WUR;
/* PROBE_ACK body: exactly 6 bytes. -EINVAL otherwise. */
int weft_pmtu_parse_ack(const uint8_t *body, size_t len, uint32_t *probe_id, uint16_t *size) WEFT_WUR;
void weft_pmtu_put_ack(uint8_t body[static WEFT_PMTU_ACK_LEN], uint32_t probe_id, uint16_t size);

/* The search for one peer. */
struct weft_pmtu {
	size_t ceiling;	      /* the largest size our own interface allows */
	size_t floor;	      /* below this nothing is probed (548 / 1232) */
	size_t plateau;	      /* a 1500-byte link's size (1472 / 1452) */
	size_t acked;	      /* largest size acknowledged in this search (0: none yet) */
	size_t lost;	      /* smallest size lost in this search (0: none) */
	size_t mtu;	      /* the result in use: the last finished search's, else ceiling;
			       * during a search whose ceiling was lost, the plateau or
			       * more once acknowledged */
	bool known;	      /* mtu comes from a finished search */
	bool in_flight;	      /* a probe is out */
	uint32_t probe_id;    /* of the probe in flight */
	size_t probe_size;    /* of the probe in flight */
	uint64_t sent_ms;     /* when it left */
	uint64_t next_ms;     /* when the next search starts (0: one is running) */
	uint32_t next_id;     /* ids count up from a random start */
	/* Between searches: the size in use, confirmed while it carries traffic. */
	bool used;	      /* a datagram larger than the floor went since the last confirmation */
	bool confirming;      /* the probe in flight confirms the size in use */
	unsigned misses;      /* confirmations lost in a row */
	uint64_t confirm_ms;  /* when the size in use is confirmed next */
	uint64_t black_holes; /* searches started by WEFT_PMTU_CONFIRM_TRIES lost confirmations */
};

/* A search that starts at once, with our interface's @ceiling, over IPv6 or not. */
void weft_pmtu_init(struct weft_pmtu *p, size_t ceiling, bool ipv6, uint32_t first_id);
/* The interface's ceiling changed (a route or MTU change): search again now. */
void weft_pmtu_set_ceiling(struct weft_pmtu *p, size_t ceiling);

/* Datagrams of at most @largest bytes went toward the peer since the last
 * call (0: none). Only one larger than the floor makes the size in use
 * worth confirming: smaller ones get through any path. */
void weft_pmtu_sent(struct weft_pmtu *p, size_t largest);
/* What to do now: returns the size of a probe to send (set *@probe_id), or 0
 * when nothing is to be sent. A probe unanswered for WEFT_PMTU_TIMEOUT_MS
 * counts as lost first. Between searches it confirms the size in use (a
 * probe of that size) every WEFT_PMTU_CONFIRM_MS while sent() says it is
 * used, and again at once after a lost confirmation; the
 * WEFT_PMTU_CONFIRM_TRIES-th lost in a row starts a search below it at once
 * (black_holes counts them), the size in use staying until the search
 * replaces it, as after refused(). Like send_failed(), it can finish a
 * search (on a loss, or at once when the ceiling is at or below the floor):
 * the caller compares p->mtu before and after each of these calls, not only
 * on acks. */
size_t weft_pmtu_next_probe(struct weft_pmtu *p, uint64_t now, uint32_t *probe_id);
/* The kernel refused to send the probe (EMSGSIZE): lost at once. */
void weft_pmtu_send_failed(struct weft_pmtu *p, uint64_t now);
/* The kernel refused a datagram of @size bytes toward the peer as larger
 * than its own path MTU (EMSGSIZE, which a router's ICMP taught it): no
 * size from @size up gets through now. A finished search whose result is
 * that large starts again at once, below @size (the ceiling is not tried);
 * a running one takes @size as a loss, and a probe in flight that large is
 * lost; a size above the ceiling is ignored. Like send_failed(), it can
 * finish a search. */
void weft_pmtu_refused(struct weft_pmtu *p, size_t size, uint64_t now);
/* A PROBE_ACK arrived. Returns true when p->mtu changed: the search finished
 * with a new result, or the size in use was lost and this ack, of at least
 * the plateau, replaces it at once. An ack of a confirmation ends the misses
 * and changes nothing. Acks that match no probe in flight are ignored. */
bool weft_pmtu_ack(struct weft_pmtu *p, uint32_t probe_id, uint16_t size, uint64_t now);
/* The largest DATA datagram to send toward the peer, whatever its records:
 * the size in use (p->mtu), or @max when that is larger, when no search was
 * started, or when the size in use could not carry a frame at all (an
 * interface below weft's own overhead: then nothing is gained by it). */
size_t weft_pmtu_datagram_max(const struct weft_pmtu *p, size_t max);

#endif
