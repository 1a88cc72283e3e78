/* SPDX-License-Identifier: MIT */
/* The daemon's clocks. Every timer runs on CLOCK_BOOTTIME (libev's own on
 * CLOCK_MONOTONIC), so a wall-clock step changes none of them; the wall clock
 * is only for what a human reads and as the lower bound of the handshake
 * stamps (common/freshness). */
#ifndef WEFT_CLOCK_H
#define WEFT_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_BOOTTIME (any origin; counts through suspend). */
uint64_t weft_clock_now_ms(void);
/* Milliseconds since the epoch (CLOCK_REALTIME). */
uint64_t weft_clock_wall_ms(void);

#endif
