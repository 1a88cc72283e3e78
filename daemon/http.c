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
#include "daemon/listener.h"
#include "daemon/log.h"

/* A scrape is one short GET: a request line and a few headers. */
#define HTTP_REQUEST_MAX 4096
/* Prometheus scrapes once per interval; a few at once are plenty, and the
 * bound keeps a connection flood from costing more than this. */
#define HTTP_CONNECTIONS_MAX 8
#define HTTP_DEADLINE_S	     5.0

struct weft_http {
	struct weft_listener *listener;
	const char *path;
	const char *content_type;
	weft_http_body body;
	void *ctx;
};

/* The response (status line, headers, and @body unless @head) as one
 * malloc'd text; NULL when out of memory. */
static char *respond(const char *status, const char *type, const char *body, size_t body_len,
		     bool head, size_t *out_len)
{
	char hdr[256], *out;
	int n = snprintf(hdr, sizeof(hdr),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, body_len);

	if (head)
		body_len = 0;
	out = malloc((size_t)n + body_len);
	if (!out)
		return NULL;
	memcpy(out, hdr, (size_t)n);
	if (body_len)
		memcpy(out + n, body, body_len);
	*out_len = (size_t)n + body_len;
	return out;
}

static char *error(const char *status, bool head, size_t *out_len)
{
	char body[128];
	int n = snprintf(body, sizeof(body), "%s\n", status);

	return respond(status, "text/plain; charset=utf-8", body, (size_t)n, head, out_len);
}

/* The request is whole (its header ends with an empty line): answer it. */
static char *handle(struct weft_http *h, const char *req, size_t *out_len)
{
	char method[8], target[256], version[16], *body, *out;
	size_t path_len = strlen(h->path), len = 0;
	bool head;

	if (sscanf(req, "%7s %255s %15s", method, target, version) != 3 ||
	    strncmp(version, "HTTP/1.", 7))
		return error("400 Bad Request", false, out_len);
	head = !strcmp(method, "HEAD");
	if (!head && strcmp(method, "GET"))
		return error("405 Method Not Allowed", false, out_len);
	/* The path, with or without a query string (Prometheus adds none,
	 * other scrapers may). */
	if (strncmp(target, h->path, path_len) || (target[path_len] && target[path_len] != '?'))
		return error("404 Not Found", head, out_len);
	body = h->body(h->ctx, &len);
	if (!body)
		return error("500 Internal Server Error", head, out_len);
	out = respond("200 OK", h->content_type, body, len, head, out_len);
	free(body);
	return out;
}

static bool on_request(void *ctx, const char *req, size_t len, bool eof, char **out,
		       size_t *out_len)
{
	struct weft_http *h = ctx;

	*out = NULL;
	if (memchr(req, '\0', len))
		*out = error("400 Bad Request", false, out_len);
	else if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
		*out = handle(h, req, out_len);
	else if (len == HTTP_REQUEST_MAX)
		*out = error("431 Request Header Fields Too Large", false, out_len);
	else if (!eof)
		return false;
	/* a client gone before its request was whole gets nothing */
	return true;
}

int weft_http_new(struct weft_http **out, struct ev_loop *loop, const union weft_sockaddr *addr,
		  const char *path, const char *content_type, weft_http_body body, void *ctx,
		  char err[static WEFT_ERRLEN])
{
	const struct weft_listener_limits limits = {
	    .request_max = HTTP_REQUEST_MAX,
	    .conns_max = HTTP_CONNECTIONS_MAX,
	    .deadline_s = HTTP_DEADLINE_S,
	};
	char where[WEFT_SOCKADDR_STRLEN];
	struct weft_http *h;
	int one = 1, fd, ret;

	*out = NULL;
	weft_sockaddr_format(where, addr);
	h = calloc(1, sizeof(*h));
	if (!h)
		return weft_errorf(err, -ENOMEM, "metrics listener");
	h->path = path;
	h->content_type = content_type;
	h->body = body;
	h->ctx = ctx;
	fd = socket(addr->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &addr->sa, weft_sockaddr_len(addr)) < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		free(h);
		return weft_errorf(err, ret, "metrics listener on TCP %s: %s", where,
				   strerror(-ret));
	}
	/* the listener owns fd from here on, failing or not */
	ret = weft_listener_new(&h->listener, loop, fd, "metrics", &limits, on_request, h, err);
	if (ret < 0) {
		free(h);
		return ret;
	}
	*out = h;
	return 0;
}

void weft_http_free(struct weft_http *h)
{
	if (!h)
		return;
	weft_listener_free(h->listener);
	free(h);
}
