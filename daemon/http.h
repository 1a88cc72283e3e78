/* SPDX-License-Identifier: MIT */
/* A minimal HTTP/1.x server in the event loop for one read-only resource
 * (the metrics): GET or HEAD of one path, one request per connection, no
 * thread. Bounded as the control socket is (daemon/listener): a few
 * connections at once, a small request, a deadline per connection;
 * everything else is answered with an error status and closed. */
#ifndef WEFT_HTTP_H
#define WEFT_HTTP_H

#include <stddef.h>

#include <ev.h>

#include "common/sockaddr.h"
#include "common/weft.h"

/* The body for a GET of the served path: a malloc'd text of *@len bytes,
 * or NULL (answered with 500). */
typedef char *(*weft_http_body)(void *ctx, size_t *len);

struct weft_http;

/* Listens on TCP @addr and serves @path with @content_type. */
int weft_http_new(struct weft_http **out, struct ev_loop *loop, const union weft_sockaddr *addr,
		  const char *path, const char *content_type, weft_http_body body, void *ctx,
		  char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Closes the listener and every connection; accepts NULL. */
void weft_http_free(struct weft_http *h);

#endif
