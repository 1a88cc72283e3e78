/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/log.h"

/* A request is one small JSON object; anything bigger is refused. */
#define CONTROL_REQUEST_MAX 4096

struct weft_control {
	struct ev_loop *loop;
	ev_io accept_io;
	int fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	weft_control_handler handler;
	void *ctx;
};

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		/* a client gone before the reply must not kill weftd (SIGPIPE) */
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static json_t *error_reply(const char *why)
{
	return json_pack("{s:s}", "error", why);
}

/* Serves one client. The socket has a short receive/send timeout so a client
 * that stalls costs the loop at most that long. */
static void serve(struct weft_control *ctl, int fd)
{
	char req[CONTROL_REQUEST_MAX + 1];
	size_t len = 0;
	json_t *request = NULL, *reply;
	json_error_t jerr;
	const char *command = NULL;
	char *text;

	while (len < CONTROL_REQUEST_MAX) {
		ssize_t n = read(fd, req + len, CONTROL_REQUEST_MAX - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(req, '\n', len))
			break;
	}
	req[len] = '\0';
	request = json_loads(req, JSON_DISABLE_EOF_CHECK, &jerr);
	if (!request)
		reply = error_reply("request is not JSON");
	else if (json_unpack(request, "{s:s}", "command", &command) < 0)
		reply = error_reply("request has no \"command\"");
	else if (!(reply = ctl->handler(ctl->ctx, command, request)))
		reply = error_reply("unknown command");
	text = json_dumps(reply, JSON_COMPACT);
	if (text) {
		if (write_all(fd, text, strlen(text)) < 0 || write_all(fd, "\n", 1) < 0)
			log_debug("control: client went away before the reply was written");
		free(text);
	}
	json_decref(reply);
	json_decref(request);
}

static void on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
	struct weft_control *ctl = container_of(w, struct weft_control, accept_io);
	struct timeval tv = {.tv_sec = 1};

	/* Bounded per wakeup so a flood of clients cannot starve the data path. */
	for (int i = 0; i < 16; i++) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR)
				log_warn_errno(errno, "control: accept");
			return;
		}
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve(ctl, fd);
		close(fd);
	}
}

/* The socket's directory (/run/weft when run by hand, where systemd's
 * RuntimeDirectory= did not make it): created, never re-moded. */
static int make_parent(const char *path, char err[static WEFT_ERRLEN])
{
	char dir[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return weft_failf(err, -errno, "control socket directory %s: %s", dir,
				  strerror(errno));
	return 0;
}

/* Another weftd (another bridge, so the instance lock did not stop it)
 * may serve this path: taking the file over would cut its weftctl off and
 * its exit would delete ours. Whoever answers a connect owns it. */
static int check_not_served(const char *path, char err[static WEFT_ERRLEN])
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), ret = 0;

	if (fd < 0)
		return weft_failf(err, -errno, "control socket: %s", strerror(errno));
	strcpy(sun.sun_path, path);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		ret = weft_failf(err, -EADDRINUSE,
				 "control socket %s is served by another running weftd; give this "
				 "one its own [control] socket",
				 path);
	close(fd);
	return ret;
}

int weft_control_claim(const char *path, char err[static WEFT_ERRLEN])
{
	int ret = make_parent(path, err);

	return ret < 0 ? ret : check_not_served(path, err);
}

int weft_control_new(struct weft_control **out, struct ev_loop *loop, const char *path,
		      weft_control_handler handler, void *ctx, char err[static WEFT_ERRLEN])
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct weft_control *ctl;
	int ret;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(err, WEFT_ERRLEN, "control socket path `%s' is too long", path);
		return -ENAMETOOLONG;
	}
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl) {
		snprintf(err, WEFT_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	ctl->loop = loop;
	ctl->handler = handler;
	ctl->ctx = ctx;
	ctl->fd = -1;
	strcpy(sun.sun_path, path);
	strcpy(ctl->path, path);

	if ((ret = weft_control_claim(path, err)) < 0) {
		free(ctl);
		return ret;
	}
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->fd < 0)
		goto fail_errno;
	/* A socket file left by a crashed run: nobody answers on it (checked
	 * above), so it is replaced. */
	if (unlink(path) < 0 && errno != ENOENT)
		goto fail_errno;
	if (bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun)) < 0)
		goto fail_errno;
	if (chmod(path, 0660) < 0)
		goto fail_errno;
	if (listen(ctl->fd, 16) < 0)
		goto fail_errno;
	ev_io_init(&ctl->accept_io, on_accept, ctl->fd, EV_READ);
	ev_io_start(loop, &ctl->accept_io);
	*out = ctl;
	return 0;

fail_errno:
	ret = -errno;
	snprintf(err, WEFT_ERRLEN, "control socket %s: %s", path, strerror(errno));
	if (ctl->fd >= 0)
		close(ctl->fd);
	free(ctl);
	return ret;
}

void weft_control_free(struct weft_control *ctl)
{
	if (!ctl)
		return;
	ev_io_stop(ctl->loop, &ctl->accept_io);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl);
}
