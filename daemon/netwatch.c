/* SPDX-License-Identifier: MIT */
/* The rtnetlink monitor: a non-blocking socket in the link, route and
 * address groups, drained on each wakeup into a set of WEFT_NETWATCH_* bits, and
 * a one-shot timer that hands the bits to the owner once the burst has
 * settled (a route added brings several notifications, a link going up
 * more). A lost notification (ENOBUFS) counts as everything changed. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "daemon/log.h"
#include "daemon/netwatch.h"

#define RECV_LEN     32768	/* one RTM_NEWLINK of a bridge is a few KiB */
#define RCVBUF	     (1U << 20) /* bursts of a few thousand notifications fit */
#define RECV_BUDGET  64		/* datagrams per wakeup; the rest wait for the next */
#define NETWATCH_ALL (WEFT_NETWATCH_LINK | WEFT_NETWATCH_ROUTE | WEFT_NETWATCH_ADDR)

struct weft_netwatch {
	struct ev_loop *loop;
	struct mnl_socket *nl;
	ev_io io;
	ev_timer settle;
	unsigned pending; /* WEFT_NETWATCH_* seen since the owner was last told */
	void (*on_change)(void *ctx, unsigned what);
	void *ctx;
	bool failed_logged; /* a receive error other than ENOBUFS: said once */
	char *buf;
};

static unsigned what_changed(const char *buf, size_t len)
{
	const struct nlmsghdr *nlh = (const struct nlmsghdr *)(const void *)buf;
	int left = (int)len;
	unsigned what = 0;

	for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
		switch (nlh->nlmsg_type) {
		case RTM_NEWLINK:
		case RTM_DELLINK:
			what |= WEFT_NETWATCH_LINK;
			break;
		case RTM_NEWROUTE:
		case RTM_DELROUTE:
			what |= WEFT_NETWATCH_ROUTE;
			break;
		case RTM_NEWADDR:
		case RTM_DELADDR:
			what |= WEFT_NETWATCH_ADDR;
			break;
		default:
			break;
		}
	}
	return what;
}

static void on_readable(struct ev_loop *loop, ev_io *io, int revents)
{
	struct weft_netwatch *w = container_of(io, struct weft_netwatch, io);

	for (int i = 0; i < RECV_BUDGET; i++) {
		ssize_t n = mnl_socket_recvfrom(w->nl, w->buf, RECV_LEN);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == ENOBUFS) { /* the kernel dropped some: look at everything */
				w->pending |= NETWATCH_ALL;
				continue;
			}
			if (!w->failed_logged)
				log_warn_errno(errno, "rtnetlink monitor: receive");
			w->failed_logged = true;
			w->pending |= NETWATCH_ALL;
			break;
		}
		w->pending |= what_changed(w->buf, (size_t)n);
	}
	if (w->pending && !ev_is_active(&w->settle)) {
		ev_timer_set(&w->settle, WEFT_NETWATCH_SETTLE_S, 0);
		ev_timer_start(loop, &w->settle);
	}
}

static void on_settled(struct ev_loop *loop, ev_timer *t, int revents)
{
	struct weft_netwatch *w = container_of(t, struct weft_netwatch, settle);
	unsigned what = w->pending;

	w->pending = 0;
	if (what)
		w->on_change(w->ctx, what);
}

int weft_netwatch_new(struct weft_netwatch **out, struct ev_loop *loop,
		      void (*on_change)(void *ctx, unsigned what), void *ctx,
		      char err[static WEFT_ERRLEN])
{
	int rcvbuf = RCVBUF, fd, rc;
	struct weft_netwatch *w;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->buf = malloc(RECV_LEN))) {
		free(w);
		return weft_errorf(err, -ENOMEM, "rtnetlink monitor");
	}
	w->loop = loop;
	w->on_change = on_change;
	w->ctx = ctx;
	ev_timer_init(&w->settle, on_settled, WEFT_NETWATCH_SETTLE_S, 0);
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl) {
		rc = -errno;
		weft_netwatch_free(w);
		return weft_errorf(err, rc, "rtnetlink monitor: socket");
	}
	if (mnl_socket_bind(w->nl,
			    RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE |
				RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR,
			    MNL_SOCKET_AUTOPID) < 0) {
		rc = -errno;
		weft_netwatch_free(w);
		return weft_errorf(err, rc,
				   "rtnetlink monitor: joining the link, route and address groups");
	}
	fd = mnl_socket_get_fd(w->nl);
	/* Past rmem_max needs CAP_NET_ADMIN, which weftd has; else what the system allows. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	ev_io_init(&w->io, on_readable, fd, EV_READ);
	ev_io_start(loop, &w->io);
	*out = w;
	return 0;
}

void weft_netwatch_free(struct weft_netwatch *w)
{
	if (!w)
		return;
	ev_io_stop(w->loop, &w->io);
	ev_timer_stop(w->loop, &w->settle);
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w->buf);
	free(w);
}
