/* SPDX-License-Identifier: MIT */
/* The control socket: a UNIX stream socket that answers one JSON request per
 * connection ({"command": "status"} and a newline) with one JSON document
 * and a newline. */
#ifndef WEFT_CONTROL_H
#define WEFT_CONTROL_H

#include <ev.h>
#include <jansson.h>

#include "common/weft.h"
#include "daemon/counters.h"

struct weft_control;

/* Builds the answer to @command; @request is the whole request object
 * (borrowed: its other members are the command's arguments). Returns a new
 * reference, or NULL for an unknown command. */
typedef json_t *(*weft_control_handler)(void *ctx, const char *command, json_t *request);

/* Makes the socket's directory if missing, and fails when another running
 * weftd serves @path: checked at start-up before any link is made. */
int weft_control_claim(const char *path, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Binds @path (mode 0660, a stale socket file is replaced) and serves it on
 * @loop without ever blocking it (daemon/listener): a few clients at once,
 * each with a deadline; connections closed to make room or at their deadline
 * are counted in @drops (borrowed). */
int weft_control_new(struct weft_control **out, struct ev_loop *loop, const char *path,
		     weft_control_handler handler, void *ctx, struct weft_drops *drops,
		     char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Closes every connection, closes and unlinks the socket; accepts NULL. */
void weft_control_free(struct weft_control *ctl);

#endif
