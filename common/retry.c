/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "common/retry.h"

#include "common/weft.h"

/* Each lost datagram of a handshake costs about a second, and five tries
 * fit in the first 12 s. A peer whose five all failed is given the slow
 * wait only if nothing of it reached us lately: on a lossy path the other
 * side's HELLOs still come through now and then, and the handshake is one
 * lucky round trip away, which a 30 s wait would put far off (two hosts
 * each failing five tries at 30 % loss is about one start in a thousand). */
static const uint32_t quick_ms[] = {1000, 1500, 3000, 6000};

bool weft_retry_heard(uint64_t heard_ms, uint64_t now)
{
	return heard_ms && heard_ms <= now && now - heard_ms < WEFT_RETRY_HEARD_MS;
}

uint32_t weft_retry_base_ms(unsigned tries, uint64_t heard_ms, uint64_t now)
{
	if (tries == 0)
		tries = 1;
	if (tries <= WEFT_ARRAY_SIZE(quick_ms))
		return quick_ms[tries - 1];
	return weft_retry_heard(heard_ms, now) ? quick_ms[WEFT_ARRAY_SIZE(quick_ms) - 1]
					       : WEFT_RETRY_SLOW_MS;
}
