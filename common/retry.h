/* SPDX-License-Identifier: MIT */
/* The handshake retry timer's schedule (docs/protocol.md, section 4.9,
 * "Timing"): how long an initiator waits after its n-th handshake datagram
 * toward a peer before the next try. Local policy, not protocol; kept apart
 * from the daemon so the schedule can be tested without a clock. */
#ifndef WEFT_RETRY_H
#define WEFT_RETRY_H

#include <stdbool.h>
#include <stdint.h>

/* The wait for a peer that answers nothing. */
#define WEFT_RETRY_SLOW_MS 30000
/* A peer heard from within this long (a HELLO or WELCOME of it answered) is
 * not unreachable: its tries stay quick. */
#define WEFT_RETRY_HEARD_MS 30000

/* The peer was heard from at @heard_ms (0: never) within WEFT_RETRY_HEARD_MS
 * before @now. */
bool weft_retry_heard(uint64_t heard_ms, uint64_t now);

/* The wait after the @tries-th datagram (1, 2, ...; 0 is taken as 1), before
 * the random quarter the caller adds: 1, 1.5, 3 and 6 s, then
 * WEFT_RETRY_SLOW_MS, unless the peer was heard from at @heard_ms (0: never)
 * within WEFT_RETRY_HEARD_MS before @now, when it stays at 6 s. */
uint32_t weft_retry_base_ms(unsigned tries, uint64_t heard_ms, uint64_t now);

#endif
