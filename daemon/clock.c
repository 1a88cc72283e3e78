/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <time.h>

#include "daemon/clock.h"

static uint64_t ms(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* CLOCK_BOOTTIME rather than CLOCK_MONOTONIC: it keeps counting while the
 * host is suspended, so a session that aged past reject_after on the peer's
 * side during a suspend is known to be expired here too, at resume. */
uint64_t weft_clock_now_ms(void)
{
	return ms(CLOCK_BOOTTIME);
}

uint64_t weft_clock_wall_ms(void)
{
	return ms(CLOCK_REALTIME);
}
