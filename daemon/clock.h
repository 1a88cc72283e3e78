/* SPDX-License-Identifier: MIT */
/* The daemon's clocks. Every timer runs on CLOCK_MONOTONIC, so a wall-clock
 * step changes none of them; the wall clock is only for what a human reads
 * and for the handshake's timestamp. */
#ifndef WEFT_CLOCK_H
#define WEFT_CLOCK_H

#include <stdint.h>

/* Milliseconds on CLOCK_MONOTONIC (any origin). */
uint64_t weft_clock_now_ms(void);
/* Milliseconds since the epoch (CLOCK_REALTIME). */
uint64_t weft_clock_wall_ms(void);

#endif
