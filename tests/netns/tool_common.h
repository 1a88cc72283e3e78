/* SPDX-License-Identifier: MIT */
/* What the netns test tools (ringtool, udptool) share. Define WEFT_TOOL_NAME
 * (the prefix of FAIL lines) before including. */
#ifndef WEFT_TOOL_COMMON_H
#define WEFT_TOOL_COMMON_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/weft.h"

#ifndef WEFT_TOOL_NAME
#define WEFT_TOOL_NAME "tool"
#endif

/* Print "<tool>: FAIL: <reason>" and exit 1: the netns scripts look at both. */
static inline void WEFT_PRINTF(1, 2) failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs(WEFT_TOOL_NAME ": FAIL: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	exit(1);
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

#endif
