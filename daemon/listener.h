/* SPDX-License-Identifier: MIT */
/* A stream listener served by the event loop, one request and one reply per
 * connection: the control socket and the metrics. Nothing a client does
 * blocks the loop. Each connection has its own watcher and a deadline; a
 * request has a size cap; a reply is written as fast as the client reads it.
 * At most a few connections are open at once: when every slot is taken, the
 * one that has waited longest for its request makes room for the newcomer,
 * so idle clients cannot lock an operator out. */
#ifndef WEFT_LISTENER_H
#define WEFT_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "common/weft.h"

/* Looks at the request read so far (@len bytes, NUL-terminated; @eof: the
 * client will send no more). Returns false to wait for more, or true with
 * *@reply a malloc'd reply of *@reply_len bytes to send (NULL: close without
 * one). Called again after every read until it returns true; it must return
 * true when @eof is set or when @len reached the request cap. */
typedef bool (*weft_listener_request)(void *ctx, const char *req, size_t len, bool eof,
				      char **reply, size_t *reply_len);

struct weft_listener_limits {
	size_t request_max;    /* the largest request read */
	unsigned conns_max;    /* connections open at once */
	double deadline_s;     /* from accept to the last byte of the reply */
	uint64_t *closed_busy; /* counted: closed to make room, or no room (NULL: not) */
	uint64_t *closed_late; /* counted: closed at its deadline (NULL: not) */
};

struct weft_listener;

/* Serves the listening stream socket @fd (non-blocking; owned from here on,
 * closed by weft_listener_free and on failure) on @loop. @what names it in
 * log lines ("control", "metrics"). */
int weft_listener_new(struct weft_listener **out, struct ev_loop *loop, int fd, const char *what,
		      const struct weft_listener_limits *limits, weft_listener_request handler,
		      void *ctx, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Closes every connection and the listening socket; accepts NULL. */
void weft_listener_free(struct weft_listener *l);

#endif
