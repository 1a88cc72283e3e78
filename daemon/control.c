/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "daemon/control.h"
#include "daemon/listener.h"
#include "daemon/log.h"

/* A request is one small JSON object; anything bigger is refused. */
#define CONTROL_REQUEST_MAX 4096
/* weftctl asks one thing at a time; a few at once are plenty, and when they
 * are taken the oldest idle one makes room, so weftctl still gets in. */
#define CONTROL_CONNECTIONS_MAX 8
/* From connect to the last byte of the reply. weftctl writes its request
 * at once and reads the reply at once. */
#define CONTROL_DEADLINE_S 5.0

struct weft_control {
	struct weft_listener *listener;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	weft_control_handler handler;
	void *ctx;
};

static json_t *error_reply(const char *why)
{
	return json_pack("{s:s}", "error", why);
}

/* A request is whole at its newline, or when the client shut down its
 * writing side (a request without a newline). */
static bool on_request(void *ctx, const char *req, size_t len, bool eof, char **out,
		       size_t *out_len)
{
	struct weft_control *ctl = ctx;
	json_t *request = NULL, *reply;
	json_error_t jerr;
	const char *command = NULL;
	char *text;

	if (!eof && len < CONTROL_REQUEST_MAX && !memchr(req, '\n', len))
		return false;
	if (!eof && len == CONTROL_REQUEST_MAX && !memchr(req, '\n', len))
		reply = error_reply("request too large");
	else if (!(request = json_loads(req, JSON_DISABLE_EOF_CHECK, &jerr)))
		reply = error_reply("request is not JSON");
	else if (json_unpack(request, "{s:s}", "command", &command) < 0)
		reply = error_reply("request has no \"command\"");
	else if (!(reply = ctl->handler(ctl->ctx, command, request)))
		reply = error_reply("unknown command");
	text = json_dumps(reply, JSON_COMPACT);
	json_decref(reply);
	json_decref(request);
	*out = NULL;
	if (!text)
		return true;
	*out_len = strlen(text);
	/* the NUL becomes the newline that ends the reply */
	text[(*out_len)++] = '\n';
	*out = text;
	return true;
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
		     weft_control_handler handler, void *ctx, struct weft_drops *drops,
		     char err[static WEFT_ERRLEN])
{
	const struct weft_listener_limits limits = {
	    .request_max = CONTROL_REQUEST_MAX,
	    .conns_max = CONTROL_CONNECTIONS_MAX,
	    .deadline_s = CONTROL_DEADLINE_S,
	    .closed_busy = &drops->n[WEFT_DROP_CONTROL_BUSY],
	    .closed_late = &drops->n[WEFT_DROP_CONTROL_LATE],
	};
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct weft_control *ctl;
	int fd, ret;

	*out = NULL;
	if (strlen(path) >= sizeof(sun.sun_path))
		return weft_errorf(err, -ENAMETOOLONG, "control socket path `%s' is too long",
				   path);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return weft_errorf(err, -ENOMEM, "out of memory");
	ctl->handler = handler;
	ctl->ctx = ctx;
	strcpy(sun.sun_path, path);
	strcpy(ctl->path, path);

	if ((ret = weft_control_claim(path, err)) < 0) {
		free(ctl);
		return ret;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	/* A socket file left by a crashed run: nobody answers on it (checked
	 * above), so it is replaced. */
	if (fd < 0 || (unlink(path) < 0 && errno != ENOENT) ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0 || chmod(path, 0660) < 0 ||
	    listen(fd, 16) < 0) {
		ret = weft_errorf(err, -errno, "control socket %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(ctl);
		return ret;
	}
	/* the listener owns fd from here on, failing or not */
	ret = weft_listener_new(&ctl->listener, loop, fd, "control", &limits, on_request, ctl, err);
	if (ret < 0) {
		free(ctl);
		return ret;
	}
	*out = ctl;
	return 0;
}

void weft_control_free(struct weft_control *ctl)
{
	if (!ctl)
		return;
	weft_listener_free(ctl->listener);
	unlink(ctl->path);
	free(ctl);
}
