/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "daemon/http.h"
#include "daemon/log.h"

/* A scrape is one short GET: a request line and a few headers. */
#define HTTP_REQUEST_MAX 4096
/* Prometheus scrapes once per interval; a few at once are plenty, and the
 * bound keeps a connection flood from costing more than this. */
#define HTTP_CONNECTIONS_MAX 8
#define HTTP_DEADLINE_S 5.0

struct conn {
	struct weft_http *h;
	int fd;
	ev_io io;
	ev_timer deadline;
	char req[HTTP_REQUEST_MAX + 1];
	size_t req_len;
	char *out; /* the whole response */
	size_t out_len, out_sent;
};

struct weft_http {
	struct ev_loop *loop;
	int fd;
	ev_io accept_io;
	const char *path;
	const char *content_type;
	weft_http_body body;
	void *ctx;
	struct conn *conns[HTTP_CONNECTIONS_MAX];
};

static void conn_close(struct conn *c)
{
	struct weft_http *h = c->h;

	ev_io_stop(h->loop, &c->io);
	ev_timer_stop(h->loop, &c->deadline);
	close(c->fd);
	for (int i = 0; i < HTTP_CONNECTIONS_MAX; i++)
		if (h->conns[i] == c)
			h->conns[i] = NULL;
	free(c->out);
	free(c);
}

/* Makes the response (status line, headers, and @body unless @head). */
static void respond(struct conn *c, const char *status, const char *type, const char *body,
		    size_t body_len, bool head)
{
	char hdr[256];
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, body_len);

	if (head)
		body_len = 0;
	c->out = malloc((size_t)n + body_len);
	if (!c->out) {
		c->out_len = 0;
		return;
	}
	memcpy(c->out, hdr, (size_t)n);
	if (body_len)
		memcpy(c->out + n, body, body_len);
	c->out_len = (size_t)n + body_len;
	c->out_sent = 0;
}

static void error(struct conn *c, const char *status, bool head)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	respond(c, status, "text/plain; charset=utf-8", body, (size_t)n, head);
}

/* The request is whole (its header ends with an empty line): answer it. */
static void handle(struct conn *c)
{
	struct weft_http *h = c->h;
	char method[8], target[256], version[16];
	bool head;
	size_t path_len = strlen(h->path);

	if (sscanf(c->req, "%7s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7)) {
		error(c, "400 Bad Request", false);
		return;
	}
	head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET")) {
		error(c, "405 Method Not Allowed", false);
		return;
	}
	/* The path, with or without a query string (Prometheus adds none,
	 * other scrapers may). */
	if (strncmp(target, h->path, path_len) || (target[path_len] && target[path_len] != '?')) {
		error(c, "404 Not Found", head);
		return;
	}
	{
		size_t len = 0;
		char *body = h->body(h->ctx, &len);

		if (!body) {
			error(c, "500 Internal Server Error", head);
			return;
		}
		respond(c, "200 OK", h->content_type, body, len, head);
		free(body);
	}
}

static void on_conn(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = container_of(w, struct conn, io);

	if (!c->out) {
		ssize_t n = read(c->fd, c->req + c->req_len, HTTP_REQUEST_MAX - c->req_len);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			conn_close(c);
			return;
		}
		c->req_len += (size_t)n;
		c->req[c->req_len] = '\0';
		if (memchr(c->req, '\0', c->req_len))
			error(c, "400 Bad Request", false);
		else if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n"))
			handle(c);
		else if (c->req_len == HTTP_REQUEST_MAX)
			error(c, "431 Request Header Fields Too Large", false);
		else
			return;
		if (!c->out) { /* out of memory */
			conn_close(c);
			return;
		}
		/* from now on: write */
		ev_io_stop(loop, &c->io);
		ev_io_set(&c->io, c->fd, EV_WRITE);
		ev_io_start(loop, &c->io);
		return;
	}
	while (c->out_sent < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_sent, c->out_len - c->out_sent,
				 MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0)
			break;
		c->out_sent += (size_t)n;
	}
	conn_close(c);
}

static void on_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
	conn_close(container_of(w, struct conn, deadline));
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weft_http *h = container_of(w, struct weft_http, accept_io);

	/* Bounded per wakeup, like the control socket. */
	for (int i = 0; i < 16; i++) {
		int fd = accept4(h->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c = NULL;
		int slot = -1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_debug("metrics: accept: %s", strerror(errno));
			return;
		}
		for (int j = 0; j < HTTP_CONNECTIONS_MAX && slot < 0; j++)
			if (!h->conns[j])
				slot = j;
		/* Full: the newcomer is closed at once, the others finish. */
		if (slot < 0 || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->h = h;
		c->fd = fd;
		h->conns[slot] = c;
		ev_io_init(&c->io, on_conn, fd, EV_READ);
		ev_io_start(loop, &c->io);
		ev_timer_init(&c->deadline, on_deadline, HTTP_DEADLINE_S, 0);
		ev_timer_start(loop, &c->deadline);
	}
}

int weft_http_new(struct weft_http **out, struct ev_loop *loop, const union weft_sockaddr *addr,
		  const char *path, const char *content_type, weft_http_body body, void *ctx,
		  char err[static WEFT_ERRLEN])
{
	char where[WEFT_SOCKADDR_STRLEN];
	struct weft_http *h;
	int one = 1, ret;

	*out = NULL;
	weft_sockaddr_format(where, addr);
	h = calloc(1, sizeof(*h));
	if (!h)
		return weft_errorf(err, -ENOMEM, "metrics listener");
	h->loop = loop;
	h->path = path;
	h->content_type = content_type;
	h->body = body;
	h->ctx = ctx;
	h->fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(h->fd, &addr->sa, weft_sockaddr_len(addr)) < 0 || listen(h->fd, 16) < 0) {
		ret = -errno;
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return weft_errorf(err, ret, "metrics listener on TCP %s: %s", where,
				   strerror(-ret));
	}
	ev_io_init(&h->accept_io, on_accept, h->fd, EV_READ);
	ev_io_start(loop, &h->accept_io);
	*out = h;
	return 0;
}

void weft_http_free(struct weft_http *h)
{
	if (!h)
		return;
	for (int i = 0; i < HTTP_CONNECTIONS_MAX; i++)
		if (h->conns[i])
			conn_close(h->conns[i]);
	ev_io_stop(h->loop, &h->accept_io);
	close(h->fd);
	free(h);
}
