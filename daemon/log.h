/* SPDX-License-Identifier: MIT */
/* Logging to stderr, journald-aware, with a level threshold checked before
 * formatting. Under journald (JOURNAL_STREAM names our stderr) lines carry a
 * <N> priority prefix instead of a timestamp, and lines about one peer go to
 * the journal directly with the structured fields PEER= and ENDPOINT=, so
 * `journalctl PEER=db1' finds them. */
#ifndef WEFT_LOG_H
#define WEFT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <syslog.h>

#include "common/weft.h"

/* Messages with a priority above this (numerically) are not formatted. */
extern int weft_log_level;

/* Sets the level (the configuration's [log] level, at start and on reload)
 * unless weft_log_force() set one, which then stays for the whole run. */
void weft_log_init(int level);
/* A level from the command line: every later weft_log_init() keeps it. */
void weft_log_force(int level);
bool weft_log_enabled(int prio);
void weft_log_write(int prio, int errnum, const char *fmt, ...) WEFT_PRINTF(3, 4);
/* Fills @err with "<what>: <strerror(-rc)>" (just "<what>" when @rc is 0)
 * and returns @rc: the error text a start-up step hands its caller. */
int weft_errorf(char err[static WEFT_ERRLEN], int rc, const char *fmt, ...) WEFT_PRINTF(3, 4);
int weft_verrorf(char err[static WEFT_ERRLEN], int rc, const char *fmt, va_list ap)
    WEFT_PRINTF(3, 0);
/* Fills @err with the text alone (it already says why, typically quoting a
 * callee's @err) and returns @rc, a negative errno: a failure passed up. */
int weft_failf(char err[static WEFT_ERRLEN], int rc, const char *fmt, ...) WEFT_PRINTF(3, 4);


#define weft_log(prio, ...)                                                                        \
	do {                                                                                       \
		if (weft_log_enabled(prio))                                                        \
			weft_log_write(prio, 0, __VA_ARGS__);                                      \
	} while (0)
#define weft_log_errno(prio, errnum, ...)                                                          \
	do {                                                                                       \
		if (weft_log_enabled(prio))                                                        \
			weft_log_write(prio, errnum, __VA_ARGS__);                                 \
	} while (0)

/* A line about one peer: @peer (its name) and @endpoint (its address as
 * text, or the source of the datagram that the line is about) become the
 * journal fields PEER= and ENDPOINT=; either may be NULL or empty, and is then
 * left out. Without journald, the same text as weft_log() writes. */
void weft_log_peer_write(int prio, const char *peer, const char *endpoint, const char *fmt, ...)
    WEFT_PRINTF(4, 5);
#define weft_log_peer(prio, peer, endpoint, ...)                                                   \
	do {                                                                                       \
		if (weft_log_enabled(prio))                                                        \
			weft_log_peer_write(prio, peer, endpoint, __VA_ARGS__);                    \
	} while (0)

#define log_err(...)   weft_log(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  weft_log(LOG_WARNING, __VA_ARGS__)
#define log_info(...)  weft_log(LOG_INFO, __VA_ARGS__)
#define log_debug(...) weft_log(LOG_DEBUG, __VA_ARGS__)
/* The _errno variants append ": strerror(errnum)"; errnum may be negative. */
#define log_err_errno(e, ...)  weft_log_errno(LOG_ERR, e, __VA_ARGS__)
#define log_warn_errno(e, ...) weft_log_errno(LOG_WARNING, e, __VA_ARGS__)

/* Rate limit for messages triggered by remote input: at most `burst`
 * messages per `interval_ms`; the number suppressed is reported with the
 * next message that gets through. */
struct weft_log_ratelimit {
	uint64_t interval_ms;
	unsigned burst;
	uint64_t window_start_ms;
	unsigned printed;
	unsigned suppressed;
};
#define WEFT_LOG_RATELIMIT_INIT(interval, n) {.interval_ms = (interval), .burst = (n)}

bool weft_log_ratelimit_allow(struct weft_log_ratelimit *rl, uint64_t now_ms, unsigned *suppressed);

#define weft_log_ratelimited(rl, now_ms, prio, fmt, ...)                                           \
	do {                                                                                       \
		unsigned _sup;                                                                     \
		if (weft_log_enabled(prio) && weft_log_ratelimit_allow(rl, now_ms, &_sup)) {      \
			if (_sup)                                                                  \
				weft_log_write(prio, 0, "(%u similar messages suppressed)", _sup); \
			weft_log_write(prio, 0, fmt, ##__VA_ARGS__);                               \
		}                                                                                  \
	} while (0)

/* weft_log_peer() under @rl. */
#define weft_log_peer_ratelimited(rl, now_ms, prio, peer, endpoint, fmt, ...)                      \
	do {                                                                                       \
		unsigned _sup;                                                                     \
		if (weft_log_enabled(prio) && weft_log_ratelimit_allow(rl, now_ms, &_sup)) {      \
			if (_sup)                                                                  \
				weft_log_write(prio, 0, "(%u similar messages suppressed)", _sup); \
			weft_log_peer_write(prio, peer, endpoint, fmt, ##__VA_ARGS__);             \
		}                                                                                  \
	} while (0)

#endif
