/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* No CODE_FILE= and CODE_LINE=: they would always name this file. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "daemon/log.h"

/* Weak: the test tools that share this file do not link libsystemd, and
 * their lines about peers simply stay on stderr (weftd links it). */
#pragma weak sd_journal_sendv

int weft_log_level = LOG_INFO;
/* Under journald the stream carries <N> priority prefixes and no timestamps. */
static bool log_to_journal;

static const char *const prio_names[] = {
	"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

/* systemd sets JOURNAL_STREAM to the device and inode of the stream it
 * connected to our stdout and stderr; it counts only while stderr is still
 * that stream (a command started from a service inherits the variable with
 * its own redirections). */
static bool stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (!env || sscanf(env, "%llu:%llu", &dev, &ino) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* A level from the command line (-d), or -1: it wins over the file's. */
static int forced_level = -1;

void weft_log_init(int level)
{
	weft_log_level = forced_level >= 0 ? forced_level : level;
	log_to_journal = stderr_is_journal();
}

void weft_log_force(int level)
{
	forced_level = level;
	weft_log_level = level;
}

bool weft_log_enabled(int prio)
{
	return prio <= weft_log_level;
}

/* The text of a line: @fmt, then ": strerror(@errnum)" when @errnum is set. */
static int format_line(char *msg, size_t cap, int errnum, const char *fmt, va_list ap)
{
	int n = vsnprintf(msg, cap, fmt, ap);

	if (n < 0)
		return n;
	if (errnum && (size_t)n < cap)
		snprintf(msg + n, cap - (size_t)n, ": %s", strerror(errnum < 0 ? -errnum : errnum));
	return 0;
}

static void write_line(int prio, const char *msg)
{
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
	char msg[1024];
	va_list ap;
	int saved = errno, r;

	va_start(ap, fmt);
	r = format_line(msg, sizeof(msg), errnum, fmt, ap);
	va_end(ap);
	if (r == 0)
		write_line(prio, msg);
	errno = saved;
}

/* One journal entry with the peer's fields; false when it could not be sent
 * (then the line goes to stderr like any other). */
static bool send_to_journal(int prio, const char *msg, const char *peer, const char *endpoint)
{
	char message[1040], priority[16], peer_f[80], endpoint_f[80], ident[64];
	struct iovec iov[5];
	int n = 0;

	if (!sd_journal_sendv)
		return false;
#define FIELD(buf, ...)                                                                            \
	do {                                                                                       \
		snprintf(buf, sizeof(buf), __VA_ARGS__);                                           \
		iov[n++] = (struct iovec){.iov_base = buf, .iov_len = strlen(buf)};                \
	} while (0)
	FIELD(message, "MESSAGE=%s", msg);
	FIELD(priority, "PRIORITY=%d", prio & 7);
	/* What journalctl shows before the message, as for the stream's lines. */
	FIELD(ident, "SYSLOG_IDENTIFIER=%s", program_invocation_short_name);
	if (peer && *peer)
		FIELD(peer_f, "PEER=%s", peer);
	if (endpoint && *endpoint)
		FIELD(endpoint_f, "ENDPOINT=%s", endpoint);
#undef FIELD
	return sd_journal_sendv(iov, n) >= 0;
}

void weft_log_peer_write(int prio, const char *peer, const char *endpoint, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int saved = errno, r;

	va_start(ap, fmt);
	r = format_line(msg, sizeof(msg), 0, fmt, ap);
	va_end(ap);
	if (r == 0 && !(log_to_journal && send_to_journal(prio, msg, peer, endpoint)))
		write_line(prio, msg);
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
