/* SPDX-License-Identifier: MIT */
/* Reorders or delays what an NFQUEUE queue holds, for tests/netns/reorder.sh:
 * the kernel here has no netem, so a test that needs the underlay to
 * reorder or delay datagrams queues them (iptables -j NFQUEUE) to this
 * program, which gives its verdicts late or out of order. The kernel sends
 * a packet on when its verdict comes, so the order of the verdicts is the
 * order on the wire.
 *
 *   nfqtool reorder QUEUE SECONDS EVERY DEPTH [LATE_MS]
 *       hold every EVERY-th packet back until DEPTH later ones have gone
 *       (or LATE_MS, default 50, have passed), then let it go: each held
 *       packet arrives DEPTH places late
 *   nfqtool delay QUEUE SECONDS MS
 *       let every packet go MS milliseconds after it came, in order
 *
 * It binds QUEUE, prints "listening" on stderr once the kernel has taken
 * both configuration messages, and after SECONDS (or on
 * SIGTERM/SIGINT) lets every packet still held go and prints one line
 *   tally packets=N held=H late=L overflow=O
 * packets: verdicts given; held: packets held back (reorder) or delayed;
 * late: held packets let go by their LATE_MS deadline rather than after DEPTH
 * others; overflow: packets let go at once because the hold was full. The
 * queue is set to fail open (a full queue passes packets rather than dropping
 * them), so a slow tool costs order, never loss. Only packet metadata is
 * copied from the kernel. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libmnl/libmnl.h>

#define HOLD_MAX	8192
#define REORDER_LATE_MS 50 /* by default */
#define QUEUE_MAXLEN	16384

struct held {
	uint32_t id;
	uint64_t due_us;       /* let go at this time at the latest */
	uint64_t after_passed; /* reorder: or once this many have passed */
};

struct tool {
	struct mnl_socket *nl;
	uint16_t queue;
	bool reorder;
	unsigned every, depth, delay_ms, late_ms;
	/* A FIFO of held packets: reorder holds and delays both let go in the
	 * order they came, so the oldest is always next. */
	struct held hold[HOLD_MAX];
	unsigned head, count;
	uint64_t seen, passed, held_n, late, overflow;
	unsigned acks; /* of configure()'s two messages */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static struct nlmsghdr *put_header(char *buf, uint8_t type, uint16_t queue)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | type;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = AF_UNSPEC;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(queue);
	return nlh;
}

static void die(const char *what)
{
	fprintf(stderr, "nfqtool: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void configure(struct tool *t)
{
	char buf[8192];
	struct nlmsghdr *nlh;
	struct nfqnl_msg_config_cmd cmd = {.command = NFQNL_CFG_CMD_BIND, .pf = htons(AF_UNSPEC)};
	struct nfqnl_msg_config_params params = {.copy_range = htonl(0),
						 .copy_mode = NFQNL_COPY_META};

	nlh = put_header(buf, NFQNL_MSG_CONFIG, t->queue);
	mnl_attr_put(nlh, NFQA_CFG_CMD, sizeof(cmd), &cmd);
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		die("binding the queue");

	nlh = put_header(buf, NFQNL_MSG_CONFIG, t->queue);
	mnl_attr_put(nlh, NFQA_CFG_PARAMS, sizeof(params), &params);
	mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(NFQA_CFG_F_FAIL_OPEN));
	mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
	mnl_attr_put_u32(nlh, NFQA_CFG_QUEUE_MAXLEN, htonl(QUEUE_MAXLEN));
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		die("configuring the queue");
}

static void accept_packet(struct tool *t, uint32_t id)
{
	char buf[256];
	struct nlmsghdr *nlh = put_header(buf, NFQNL_MSG_VERDICT, t->queue);
	struct nfqnl_msg_verdict_hdr vh = {.verdict = htonl(NF_ACCEPT), .id = htonl(id)};

	mnl_attr_put(nlh, NFQA_VERDICT_HDR, sizeof(vh), &vh);
	if (mnl_socket_sendto(t->nl, nlh, nlh->nlmsg_len) < 0)
		die("sending a verdict");
	t->passed++;
}

/* Lets go the held packets that are due: all of them with @all. */
static void release(struct tool *t, bool all)
{
	uint64_t now = now_us();

	while (t->count) {
		struct held *h = &t->hold[t->head];
		bool by_count = t->reorder && t->passed >= h->after_passed;

		if (!all && !by_count && now < h->due_us)
			break;
		if (!all && !by_count)
			t->late += t->reorder;
		accept_packet(t, h->id);
		t->head = (t->head + 1) % HOLD_MAX;
		t->count--;
	}
}

static void hold(struct tool *t, uint32_t id)
{
	struct held *h;

	if (t->count == HOLD_MAX) {
		t->overflow++;
		accept_packet(t, id);
		return;
	}
	h = &t->hold[(t->head + t->count++) % HOLD_MAX];
	h->id = id;
	h->due_us = now_us() + 1000 * (uint64_t)(t->reorder ? t->late_ms : t->delay_ms);
	h->after_passed = t->passed + t->depth;
	t->held_n++;
}

static int attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(attr);

	if (mnl_attr_type_valid(attr, NFQA_MAX) > 0)
		tb[type] = attr;
	return MNL_CB_OK;
}

static int packet_cb(const struct nlmsghdr *nlh, void *data)
{
	struct tool *t = data;
	struct nlattr *tb[NFQA_MAX + 1] = {0};
	const struct nfqnl_msg_packet_hdr *ph;

	if (mnl_attr_parse(nlh, sizeof(struct nfgenmsg), attr_cb, tb) < 0 || !tb[NFQA_PACKET_HDR])
		return MNL_CB_OK;
	ph = mnl_attr_get_payload(tb[NFQA_PACKET_HDR]);
	t->seen++;
	if (!t->reorder || t->seen % t->every == 0)
		hold(t, ntohl(ph->packet_id));
	else
		accept_packet(t, ntohl(ph->packet_id));
	release(t, false);
	return MNL_CB_OK;
}

static unsigned arg_uint(const char *s, unsigned lo, unsigned hi, const char *name)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "nfqtool: %s must be %u..%u, not '%s'\n", name, lo, hi, s);
		exit(2);
	}
	return (unsigned)v;
}

static void usage(void)
{
	fprintf(stderr, "usage: nfqtool reorder QUEUE SECONDS EVERY DEPTH [LATE_MS]\n"
			"       nfqtool delay QUEUE SECONDS MS\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct tool t;
	static char buf[65536];
	unsigned seconds;
	uint64_t end;
	int one = 1;

	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "reorder")) {
		t.reorder = true;
		seconds = arg_uint(argv[3], 1, 3600, "SECONDS");
		t.every = arg_uint(argv[4], 2, 1000000, "EVERY");
		t.depth = arg_uint(argv[5], 1, 1000000, "DEPTH");
		t.late_ms = argc == 7 ? arg_uint(argv[6], 1, 60000, "LATE_MS") : REORDER_LATE_MS;
	} else if (argc == 5 && !strcmp(argv[1], "delay")) {
		seconds = arg_uint(argv[3], 1, 3600, "SECONDS");
		t.delay_ms = arg_uint(argv[4], 1, 10000, "MS");
	} else {
		usage();
	}
	t.queue = (uint16_t)arg_uint(argv[2], 0, 65535, "QUEUE");

	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	t.nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!t.nl)
		die("opening a netfilter netlink socket");
	if (mnl_socket_bind(t.nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("binding the netlink socket");
	/* A burst larger than the socket buffer is lost to us, not to the
	 * packets: with fail-open they would pass; never stop on ENOBUFS. */
	mnl_socket_setsockopt(t.nl, NETLINK_NO_ENOBUFS, &one, sizeof(one));
	configure(&t);

	end = now_us() + (uint64_t)seconds * 1000000;
	while (!stop) {
		struct pollfd pfd = {.fd = mnl_socket_get_fd(t.nl), .events = POLLIN};
		uint64_t now = now_us(), wake = end;
		ssize_t n;

		if (now >= end)
			break;
		if (t.count && t.hold[t.head].due_us < wake)
			wake = t.hold[t.head].due_us;
		/* Rounded up: a packet never leaves before its time. */
		if (poll(&pfd, 1, wake > now ? (int)((wake - now + 999) / 1000) : 0) < 0 &&
		    errno != EINTR)
			die("poll");
		if (pfd.revents & POLLIN) {
			n = mnl_socket_recvfrom(t.nl, buf, sizeof(buf));
			if (n < 0 && errno != ENOBUFS && errno != EINTR)
				die("receiving from the queue");
			/* One message a read: a packet, or configure()'s ack
			 * (an error message, code 0; another code fails). */
			bool ack =
			    n > 0 && ((const struct nlmsghdr *)buf)->nlmsg_type == NLMSG_ERROR;

			if (n > 0 && mnl_cb_run(buf, (size_t)n, 0, 0, packet_cb, &t) < 0)
				die("the kernel refused the queue's configuration");
			if (ack && ++t.acks == 2)
				fprintf(stderr, "nfqtool: listening on queue %u\n", t.queue);
		}
		release(&t, false);
	}
	release(&t, true);
	printf("tally packets=%llu held=%llu late=%llu overflow=%llu\n",
	       (unsigned long long)t.passed, (unsigned long long)t.held_n,
	       (unsigned long long)t.late, (unsigned long long)t.overflow);
	mnl_socket_close(t.nl);
	return 0;
}
