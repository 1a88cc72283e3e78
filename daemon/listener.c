/* SPDX-License-Identifier: MIT */
/* Each connection is a small state machine on one ev_io: read until the
 * handler has a whole request, then write its reply, then close. Its
 * ev_timer ends it at the deadline whatever state it is in, so a client
 * that sends a byte a second, or never reads the reply, costs its slot for
 * a few seconds and the loop nothing. Sockets are non-blocking and every
 * send is MSG_NOSIGNAL: a client gone early is a closed connection, never a
 * stalled loop or a SIGPIPE. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/listener.h"
#include "daemon/log.h"

/* Accepts per wakeup: a connection flood costs the loop this much at a time. */
#define ACCEPT_BUDGET 16

struct conn {
	struct weft_listener *l;
	unsigned slot;
	uint64_t serial; /* accept order: the oldest waiting one makes room */
	int fd;
	ev_io io;
	ev_timer deadline;
	bool replying;
	char *req; /* request_max + 1 bytes */
	size_t req_len;
	char *out;
	size_t out_len, out_sent;
};

struct weft_listener {
	struct ev_loop *loop;
	int fd;
	ev_io accept_io;
	const char *what;
	struct weft_listener_limits lim;
	weft_listener_request handler;
	void *ctx;
	struct conn **conns; /* lim.conns_max slots */
	uint64_t next_serial;
};

static void count(uint64_t *counter)
{
	if (counter)
		(*counter)++;
}

static void conn_close(struct conn *c)
{
	struct weft_listener *l = c->l;

	ev_io_stop(l->loop, &c->io);
	ev_timer_stop(l->loop, &c->deadline);
	close(c->fd);
	l->conns[c->slot] = NULL;
	free(c->out);
	free(c->req);
	free(c);
}

/* Sends what the socket takes now; closes when all is sent or the client is
 * gone, else waits for room. */
static void write_reply(struct conn *c)
{
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (!(c->io.events & EV_WRITE)) {
				ev_io_stop(c->l->loop, &c->io);
				ev_io_set(&c->io, c->fd, EV_WRITE);
				ev_io_start(c->l->loop, &c->io);
			}
			return;
		}
		if (n <= 0) {
			log_debug("%s: client went away before its reply was written", c->l->what);
			break;
		}
		c->out_sent += (size_t)n;
	}
	conn_close(c);
}

/* Reads what is there (at most the cap) and asks the handler after each read. */
static void read_request(struct conn *c)
{
	struct weft_listener *l = c->l;

	while (!c->replying) {
		size_t room = l->lim.request_max - c->req_len;
		ssize_t n = room ? read(c->fd, c->req + c->req_len, room) : 0;
		bool eof = n == 0 && room;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n < 0) {
			log_debug("%s: read: %s", l->what, strerror(errno));
			conn_close(c);
			return;
		}
		c->req_len += (size_t)n;
		c->req[c->req_len] = '\0';
		if (!l->handler(l->ctx, c->req, c->req_len, eof, &c->out, &c->out_len)) {
			/* the handler's contract: the last chance is taken */
			if (eof || c->req_len == l->lim.request_max) {
				conn_close(c);
				return;
			}
			continue;
		}
		c->replying = true;
	}
	if (!c->out) {
		conn_close(c);
		return;
	}
	c->out_sent = 0;
	write_reply(c);
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, io);

	if (c->replying)
		write_reply(c);
	else
		read_request(c);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = container_of(w, struct conn, deadline);

	count(c->l->lim.closed_late);
	log_debug("%s: connection closed at its %.0f s deadline (%s)", c->l->what,
		  c->l->lim.deadline_s, c->replying ? "reply not read" : "no whole request");
	conn_close(c);
}

/* A slot for a new connection: a free one, else that of the connection that
 * has waited longest for its request (closed). -1 when every slot is busy
 * writing a reply. */
static int make_room(struct weft_listener *l)
{
	struct conn *oldest = NULL;
	unsigned slot;

	for (unsigned i = 0; i < l->lim.conns_max; i++) {
		struct conn *c = l->conns[i];

		if (!c)
			return (int)i;
		if (!c->replying && (!oldest || c->serial < oldest->serial))
			oldest = c;
	}
	count(l->lim.closed_busy);
	if (!oldest) {
		log_debug("%s: every connection is writing a reply; a new one is closed", l->what);
		return -1;
	}
	log_debug("%s: %u connections open; the oldest waiting one is closed for a new one",
		  l->what, l->lim.conns_max);
	slot = oldest->slot;
	conn_close(oldest);
	return (int)slot;
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weft_listener *l = container_of(w, struct weft_listener, accept_io);

	for (int i = 0; i < ACCEPT_BUDGET; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;
		int slot;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_debug("%s: accept: %s", l->what, strerror(errno));
			return;
		}
		slot = make_room(l);
		c = slot < 0 ? NULL : calloc(1, sizeof(*c));
		if (c && !(c->req = malloc(l->lim.request_max + 1))) {
			free(c);
			c = NULL;
		}
		if (!c) {
			close(fd);
			continue;
		}
		c->l = l;
		c->slot = (unsigned)slot;
		c->serial = ++l->next_serial;
		c->fd = fd;
		l->conns[slot] = c;
		ev_io_init(&c->io, on_conn, fd, EV_READ);
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->deadline, on_deadline, l->lim.deadline_s, 0);
		ev_timer_start(loop, &c->deadline);
		/* A client that wrote its request with the connect (weftctl,
		 * curl) is answered now, before a later newcomer could take
		 * its slot. */
		read_request(c);
	}
}

int weft_listener_new(struct weft_listener **out, struct ev_loop *loop, int fd, const char *what,
		      const struct weft_listener_limits *limits, weft_listener_request handler,
		      void *ctx, char err[static WEFT_ERRLEN])
{
	struct weft_listener *l = calloc(1, sizeof(*l));

	*out = NULL;
	WEFT_BUG_ON(!limits->conns_max || !limits->request_max);
	if (!l || !(l->conns = calloc(limits->conns_max, sizeof(*l->conns)))) {
		free(l);
		close(fd);
		return weft_errorf(err, -ENOMEM, "%s listener", what);
	}
	l->loop = loop;
	l->fd = fd;
	l->what = what;
	l->lim = *limits;
	l->handler = handler;
	l->ctx = ctx;
	ev_io_init(&l->accept_io, on_accept, fd, EV_READ);
	ev_io_start(loop, &l->accept_io);
	*out = l;
	return 0;
}

void weft_listener_free(struct weft_listener *l)
{
	if (!l)
		return;
	for (unsigned i = 0; i < l->lim.conns_max; i++)
		if (l->conns[i])
			conn_close(l->conns[i]);
	ev_io_stop(l->loop, &l->accept_io);
	close(l->fd);
	free(l->conns);
	free(l);
}
