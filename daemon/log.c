/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/log.h"

int weft_log_level = LOG_INFO;
/* Under journald the stream carries <N> priority prefixes and no timestamps. */
static bool log_to_journal;

static const char *const prio_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void weft_log_init(int level)
{
	weft_log_level = level;
	log_to_journal = getenv("JOURNAL_STREAM") != NULL;
}

bool weft_log_enabled(int prio)
{
	return prio <= weft_log_level;
}

static void vlog(int prio, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];
	int n;

	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (n < 0)
		return;
	if (errnum && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(errnum < 0 ? -errnum : errnum));
	if (log_to_journal) {
		fprintf(stderr, "<%d>%s\n", prio, msg);
	} else {
		struct timespec ts;
		struct tm tm;
		char when[32];

		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
		fprintf(stderr, "%s.%03ld %s: %s\n", when, ts.tv_nsec / 1000000L,
			prio_names[prio & 7], msg);
	}
}

void weft_log_write(int prio, int errnum, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog(prio, errnum, fmt, ap);
	va_end(ap);
	errno = saved;
}

bool weft_log_ratelimit_allow(struct weft_log_ratelimit *rl, uint64_t now_ms, unsigned *suppressed)
{
	*suppressed = 0;
	if (now_ms - rl->window_start_ms >= rl->interval_ms || rl->window_start_ms == 0) {
		*suppressed = rl->suppressed;
		rl->window_start_ms = now_ms ? now_ms : 1;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed < rl->burst) {
		rl->printed++;
		return true;
	}
	rl->suppressed++;
	return false;
}

int weft_verrorf(char err[static WEFT_ERRLEN], int rc, const char *fmt, va_list ap)
{
	int n = vsnprintf(err, WEFT_ERRLEN, fmt, ap);

	if (n >= 0 && n < WEFT_ERRLEN && rc)
		snprintf(err + n, WEFT_ERRLEN - (size_t)n, ": %s", strerror(-rc));
	return rc;
}

int weft_errorf(char err[static WEFT_ERRLEN], int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	weft_verrorf(err, rc, fmt, ap);
	va_end(ap);
	return rc;
}

int weft_failf(char err[static WEFT_ERRLEN], int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, WEFT_ERRLEN, fmt, ap);
	va_end(ap);
	return rc;
}
