/* SPDX-License-Identifier: MIT */
/* What the ring test tools (ringtool, sftool) share: put and flush frames on
 * the TX ring or die, and wait for the next captured frame. Include after
 * tool_common.h. */
#ifndef WEFT_TESTS_RING_TOOL_H
#define WEFT_TESTS_RING_TOOL_H

#include <poll.h>
#include <stdbool.h>
#include <string.h>

#include "daemon/capture.h"
#include "daemon/inject.h"

static inline void must_put(struct weft_inject *inj, const uint8_t *f, size_t len)
{
	int r = weft_inject_put(inj, f, len);

	if (r != 0)
		failf("weft_inject_put(%zu bytes) = %d (%s)", len, r, strerror(-r));
}

static inline void must_flush(struct weft_inject *inj)
{
	int r = weft_inject_flush(inj);

	if (r != 0)
		failf("weft_inject_flush = %d (%s)", r, strerror(-r));
}

/* Wait for the next captured frame for up to @ms; false on timeout. */
static inline bool wait_frame(struct weft_capture *cap, struct weft_capture_frame *fr, int ms)
{
	uint64_t deadline = now_ns() + (uint64_t)ms * 1000000ULL;

	for (int n = 0; n < 10000; n++) {
		struct pollfd p = {.fd = weft_capture_fd(cap), .events = POLLIN};
		uint64_t t;

		if (weft_capture_next(cap, fr))
			return true;
		t = now_ns();
		if (t >= deadline)
			return false;
		poll(&p, 1, (int)((deadline - t) / 1000000ULL) + 1);
	}
	return false;
}

#endif
