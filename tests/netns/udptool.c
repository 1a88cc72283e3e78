/* SPDX-License-Identifier: MIT */
/* Exercises daemon/udp (run by tests/netns/udp.sh inside network namespaces).
 * Each subcommand prints what it checked and exits 0, or prints FAIL, exit 1.
 *
 *   udptool loop 4|6|dual [nogso] [nogro]
 *       batches of mixed sizes over loopback: every datagram arrives whole,
 *       in order, with its boundaries, from the sender's address
 *   udptool df TX_ADDR RX_NETNS RX_ADDR
 *       from TX_ADDR here to RX_ADDR across a small-MTU link: a datagram
 *       over the path MTU fails with EMSGSIZE and is never fragmented
 *   udptool bench SECS [nogso]
 *       datagrams/s of 1400 bytes through loopback (a receiver process)
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon/udp.h"

#define WEFT_TOOL_NAME "udptool"
#include "tests/netns/tool_common.h"

/* One receive batch: its datagram count; when there was none, after
 * waiting up to 100 ms for the socket to become readable. */
static int recv_or_wait(struct weft_udp *rx)
{
	struct pollfd p = {.fd = weft_udp_fd(rx), .events = POLLIN};
	int c = weft_udp_recv_batch(rx);

	if (c < 0)
		failf("recv_batch: %s", strerror(-c));
	if (c == 0)
		poll(&p, 1, 100);
	return c;
}

static void make_addr(union weft_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &a->in4.sin_addr) == 1) {
		a->in4.sin_family = AF_INET;
		a->in4.sin_port = htons(port);
		return;
	}
	if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_port = htons(port);
		return;
	}
	failf("bad address %s", ip);
}

static struct weft_udp *open_udp(const char *ip, bool no_gso, bool no_gro)
{
	struct weft_udp_config cfg = {.sndbuf = 4 << 20,
				      .rcvbuf = 8 << 20,
				      .max_datagram = 1500,
				      .no_gso = no_gso,
				      .no_gro = no_gro};
	struct weft_udp *u;
	char err[WEFT_ERRLEN];

	make_addr(&cfg.listen, ip, 0);
	if (weft_udp_new(&u, &cfg, err) < 0)
		failf("%s", err);
	return u;
}

/* The address to send to: the socket's own, with @ip as the host. */
static void addr_of(struct weft_udp *u, const char *ip, union weft_sockaddr *a)
{
	union weft_sockaddr local;

	if (weft_udp_local(u, &local) < 0)
		failf("getsockname");
	make_addr(a, ip, weft_sockaddr_port(&local));
}

/* Datagram @seq of @len (≥ 8) bytes: seq, length, then a pattern. */
static void fill(uint8_t *d, uint32_t seq, size_t len)
{
	d[0] = seq >> 24;
	d[1] = seq >> 16;
	d[2] = seq >> 8;
	d[3] = seq;
	d[4] = len >> 8;
	d[5] = len & 0xff;
	d[6] = 0x77;
	d[7] = 0x66;
	for (size_t i = 8; i < len; i++)
		d[i] = (uint8_t)(seq * 13 + i * 7);
}

static void add(struct weft_udp_batch *b, uint32_t seq, size_t len)
{
	size_t room;
	uint8_t *p = weft_udp_batch_reserve(b, &room);

	if (!p || room < len)
		failf("batch full at datagram %u", seq);
	fill(p, seq, len);
	weft_udp_batch_commit(b, len);
}

static uint8_t want_buf[65536];

static void check(const struct weft_udp_dgram *d, uint32_t seq, size_t len)
{
	if (d->len != len) {
		uint32_t got = d->len >= 4
				   ? (uint32_t)d->data[0] << 24 | (uint32_t)d->data[1] << 16 |
					 (uint32_t)d->data[2] << 8 | d->data[3]
				   : 0;
		failf("datagram %u: %zu bytes received (seq field %u), %zu sent", seq, d->len, got,
		      len);
	}
	fill(want_buf, seq, len);
	if (memcmp(d->data, want_buf, len) != 0)
		failf("datagram %u (%zu bytes): bytes differ", seq, len);
}

/* The mixed batches: runs of equal sizes, shorter tails, size changes, runs
 * longer than 64 and than 64 KiB. */
static const size_t pattern[][2] = {
    /* count, size */
    {10, 1400}, {1, 700},  {5, 1400}, {3, 100},	  {1, 1400}, {1, 8},   {70, 1200},
    {50, 1400}, {2, 1472}, {1, 1471}, {1, 9},	  {64, 600}, {1, 601}, {4, 1000},
    {1, 999},	{1, 1000}, {7, 8},    {20, 1300}, {1, 1300},
};

static int cmd_loop(const char *fam, bool no_gso, bool no_gro)
{
	const char *rx_ip, *tx_ip, *to_ip;
	struct weft_udp *rx, *tx;
	struct weft_udp_batch *b;
	struct weft_udp_stats rs, ts;
	union weft_sockaddr dst, src;
	struct weft_udp_sent sent;
	static uint32_t exp_len[4096];
	uint32_t n = 0, got = 0;
	int rounds = 3;
	uint64_t deadline;

	if (strcmp(fam, "4") == 0)
		rx_ip = tx_ip = to_ip = "127.0.0.1";
	else if (strcmp(fam, "6") == 0)
		rx_ip = tx_ip = to_ip = "::1";
	else if (strcmp(fam, "dual") == 0)
		rx_ip = "::", tx_ip = "127.0.0.1", to_ip = "127.0.0.1";
	else
		failf("family 4, 6 or dual");
	rx = open_udp(rx_ip, no_gso, no_gro);
	tx = open_udp(tx_ip, no_gso, no_gro);
	addr_of(rx, to_ip, &dst);
	addr_of(tx, tx_ip, &src);
	if (weft_udp_batch_new(&b, 512, 1500) < 0)
		failf("batch_new");

	for (int r = 0; r < rounds; r++) {
		for (size_t p = 0; p < WEFT_ARRAY_SIZE(pattern); p++) {
			for (size_t k = 0; k < pattern[p][0]; k++) {
				exp_len[n] = (uint32_t)pattern[p][1];
				add(b, n, exp_len[n]);
				n++;
			}
		}
		if (weft_udp_flush(tx, b, &dst, NULL, &sent) != 0)
			failf("flush of round %d failed", r);
		if (weft_udp_batch_count(b) != 0)
			failf("the batch was not emptied");
	}

	deadline = now_ns() + 3000000000ULL;
	for (int it = 0; it < 100000 && got < n && now_ns() < deadline; it++) {
		struct weft_udp_dgram d;
		int c = recv_or_wait(rx);

		if (c == 0)
			continue;
		for (int i = 0; i < c; i++) {
			if (!weft_udp_recv_next(rx, &d))
				failf("recv_batch said %d datagrams, next gave %d", c, i);
			if (got >= n)
				failf("more datagrams than sent");
			check(&d, got, exp_len[got]);
			if (!weft_sockaddr_equal(d.src, &src))
				failf("datagram %u: source family %d, not the sender's address",
				      got, d.src->sa.sa_family);
			got++;
		}
		if (weft_udp_recv_next(rx, &d))
			failf("next gave more datagrams than recv_batch counted");
	}
	if (got != n)
		failf("%u of %u datagrams arrived", got, n);

	weft_udp_stats(rx, &rs);
	weft_udp_stats(tx, &ts);
	if (ts.tx_datagrams != n || rs.rx_datagrams != n || ts.tx_eagain || ts.tx_emsgsize ||
	    ts.tx_other_errors)
		failf("counters: sent %llu received %llu eagain %llu emsgsize %llu other %llu",
		      (unsigned long long)ts.tx_datagrams, (unsigned long long)rs.rx_datagrams,
		      (unsigned long long)ts.tx_eagain, (unsigned long long)ts.tx_emsgsize,
		      (unsigned long long)ts.tx_other_errors);
	if (!no_gso && (!weft_udp_gso(tx) || ts.tx_gso_sends == 0))
		failf("GSO unused (gso %d, %llu GSO sends)", weft_udp_gso(tx),
		      (unsigned long long)ts.tx_gso_sends);
	if (no_gso && ts.tx_gso_sends != 0)
		failf("GSO used though disabled");
	/* GSO sends stay whole on loopback, so a GRO socket gets them merged. */
	if (!no_gso && !no_gro && (!weft_udp_gro(rx) || rs.rx_gro_messages == 0))
		failf("no GRO-merged message received (gro %d)", weft_udp_gro(rx));
	printf("ok loop %s%s%s: %u datagrams in %d batches intact and in order; %llu sendmmsg "
	       "calls, %llu GSO sends, %llu recvmmsg calls, %llu GRO messages\n",
	       fam, no_gso ? " nogso" : "", no_gro ? " nogro" : "", n, rounds,
	       (unsigned long long)ts.tx_calls, (unsigned long long)ts.tx_gso_sends,
	       (unsigned long long)rs.rx_calls, (unsigned long long)rs.rx_gro_messages);
	weft_udp_batch_free(b);
	weft_udp_free(rx);
	weft_udp_free(tx);
	return 0;
}

/* A counter from /proc/net/snmp (or snmp6) of the current namespace. */
static long long snmp(const char *file, const char *table, const char *name)
{
	char line[4096], hdr[4096];
	FILE *f = fopen(file, "r");
	long long v = -1;

	if (!f)
		failf("open %s", file);
	if (strcmp(file, "/proc/net/snmp6") == 0) {
		while (fgets(line, sizeof(line), f)) {
			char k[128];
			long long x;

			if (sscanf(line, "%127s %lld", k, &x) == 2 && strcmp(k, name) == 0)
				v = x;
		}
		fclose(f);
		return v;
	}
	while (fgets(hdr, sizeof(hdr), f) && fgets(line, sizeof(line), f)) {
		char *hs, *ls, *h, *l;
		size_t tl = strlen(table);

		if (strncmp(hdr, table, tl) != 0 || hdr[tl] != ':')
			continue;
		h = strtok_r(hdr, " \n", &hs);
		l = strtok_r(line, " \n", &ls);
		while ((h = strtok_r(NULL, " \n", &hs)) && (l = strtok_r(NULL, " \n", &ls)))
			if (strcmp(h, name) == 0)
				v = atoll(l);
	}
	fclose(f);
	return v;
}

static void enter_netns(const char *name, int *old)
{
	char path[256];
	int fd;

	if (old) {
		*old = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
		if (*old < 0)
			failf("open own netns");
	}
	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
		failf("enter netns %s: %s", name, strerror(errno));
	close(fd);
}

static int cmd_df(const char *tx_ip, const char *rx_ns, const char *rx_ip)
{
	bool v6 = strchr(rx_ip, ':') != NULL;
	const char *file = v6 ? "/proc/net/snmp6" : "/proc/net/snmp";
	const char *frag = v6 ? "Ip6FragCreates" : "FragCreates";
	struct weft_udp *rx, *tx;
	struct weft_udp_batch *b;
	struct weft_udp_stats ts;
	union weft_sockaddr dst;
	struct weft_udp_sent sent;
	long long frag0, frag1;
	uint32_t got = 0, want_n = 0;
	uint32_t want_seq[16], want_len[16];
	int old, r;
	/* Payloads: over the 1280 link MTU, and well under it. */
	const size_t big = 1400, ok = 1200;

	enter_netns(rx_ns, &old);
	rx = open_udp(v6 ? "::" : "0.0.0.0", false, false);
	if (setns(old, CLONE_NEWNET) < 0)
		failf("back to our netns: %s", strerror(errno));
	close(old);
	/* With tx_ip "::" and an IPv4 receiver, the IPv4 DF option must hold
	 * for the mapped traffic of a dual-stack socket. */
	tx = open_udp(tx_ip, false, false);
	addr_of(rx, rx_ip, &dst);
	if (weft_udp_batch_new(&b, 16, 1500) < 0)
		failf("batch_new");
	frag0 = snmp(file, "Ip", frag);

	/* Plain: one too big, one fine. */
	add(b, 1, big);
	add(b, 2, 100);
	want_seq[want_n] = 2, want_len[want_n++] = 100;
	r = weft_udp_flush(tx, b, &dst, NULL, &sent);
	if (r != -EMSGSIZE)
		failf("flush with a %zu-byte datagram: %d, want -EMSGSIZE", big, r);
	weft_udp_stats(tx, &ts);
	if (ts.tx_emsgsize != 1 || ts.tx_datagrams != 1)
		failf("after the first flush: emsgsize %llu sent %llu",
		      (unsigned long long)ts.tx_emsgsize, (unsigned long long)ts.tx_datagrams);
	/* A GSO run of too-big segments, then a run that fits. */
	for (uint32_t i = 0; i < 3; i++)
		add(b, 10 + i, big);
	for (uint32_t i = 0; i < 3; i++) {
		add(b, 20 + i, ok);
		want_seq[want_n] = 20 + i, want_len[want_n++] = ok;
	}
	r = weft_udp_flush(tx, b, &dst, NULL, &sent);
	if (r != -EMSGSIZE)
		failf("flush of a GSO run of %zu-byte datagrams: %d, want -EMSGSIZE", big, r);
	weft_udp_stats(tx, &ts);
	if (ts.tx_emsgsize != 4 || ts.tx_datagrams != 4)
		failf("after the GSO flush: emsgsize %llu sent %llu",
		      (unsigned long long)ts.tx_emsgsize, (unsigned long long)ts.tx_datagrams);
	if (weft_udp_gso(tx) && ts.tx_gso_sends != 1)
		failf("the fitting run did not go as one GSO send (%llu)",
		      (unsigned long long)ts.tx_gso_sends);

	for (int it = 0; it < 50 && got < want_n; it++) {
		struct weft_udp_dgram d;
		int c = recv_or_wait(rx);

		if (c == 0)
			continue;
		while (weft_udp_recv_next(rx, &d)) {
			if (got >= want_n)
				failf("an unexpected datagram of %zu bytes arrived", d.len);
			check(&d, want_seq[got], want_len[got]);
			got++;
		}
	}
	if (got != want_n)
		failf("%u of %u fitting datagrams arrived", got, want_n);
	{
		struct pollfd p = {.fd = weft_udp_fd(rx), .events = POLLIN};

		if (poll(&p, 1, 200) > 0)
			failf("something else arrived (a fragment reassembled?)");
	}
	frag1 = snmp(file, "Ip", frag);
	if (frag0 < 0 || frag1 != frag0)
		failf("%s went from %lld to %lld: the sender fragmented", frag, frag0, frag1);
	printf("ok df from %s to %s: %zu-byte datagrams over a 1280 MTU refused with EMSGSIZE "
	       "(%llu, GSO "
	       "still %s, %llu fallbacks), %u fitting datagrams intact, %s unchanged (%lld)\n",
	       tx_ip, rx_ip, big, (unsigned long long)ts.tx_emsgsize,
	       weft_udp_gso(tx) ? "on" : "off", (unsigned long long)ts.tx_gso_fallbacks, got, frag,
	       frag1);
	weft_udp_batch_free(b);
	weft_udp_free(rx);
	weft_udp_free(tx);
	return 0;
}

static int cmd_bench(int secs, bool no_gso)
{
	struct weft_udp *rx, *tx;
	struct weft_udp_batch *b;
	struct weft_udp_stats ts;
	union weft_sockaddr dst;
	struct weft_udp_sent sent;
	long long rcvbuf_err0;
	int status, pfd[2];
	uint64_t t0, t, recvd = 0, rx_calls = 0;
	pid_t pid;

	rx = open_udp("127.0.0.1", no_gso, no_gso);
	tx = open_udp("127.0.0.1", no_gso, no_gso);
	addr_of(rx, "127.0.0.1", &dst);
	if (weft_udp_batch_new(&b, 64, 1500) < 0)
		failf("batch_new");
	rcvbuf_err0 = snmp("/proc/net/snmp", "Udp", "RcvbufErrors");
	if (pipe(pfd) < 0)
		failf("pipe");
	pid = fork();
	if (pid < 0)
		failf("fork");
	if (pid == 0) {
		/* Receiver: count until nothing came for 300 ms (bounded by secs + 5 s). */
		struct weft_udp_stats rs;
		uint64_t last = now_ns(), end = now_ns() + (uint64_t)(secs + 5) * 1000000000ULL;

		weft_udp_free(tx);
		for (;;) {
			struct pollfd p = {.fd = weft_udp_fd(rx), .events = POLLIN};
			int c = weft_udp_recv_batch(rx);
			struct weft_udp_dgram d;

			if (c > 0) {
				while (weft_udp_recv_next(rx, &d))
					;
				last = now_ns();
				continue;
			}
			if (now_ns() - last > 300000000ULL || now_ns() > end)
				break;
			poll(&p, 1, 50);
		}
		weft_udp_stats(rx, &rs);
		if (write(pfd[1], &rs, sizeof(rs)) != (ssize_t)sizeof(rs))
			_exit(1);
		_exit(0);
	}
	close(pfd[1]);
	{
		struct timespec ts0 = {0, 100000000};
		nanosleep(&ts0, NULL);
	}
	t0 = now_ns();
	t = t0;
	for (uint64_t round = 0; round < 1000000000ULL && t - t0 < (uint64_t)secs * 1000000000ULL;
	     round++) {
		for (int i = 0; i < 64; i++)
			add(b, (uint32_t)i, 1400);
		/* Drops are counted; the rate is what matters here. */
		int fr = weft_udp_flush(tx, b, &dst, NULL, &sent);

		(void)fr;
		if ((round & 7) == 0)
			t = now_ns();
	}
	t = now_ns() - t0;
	weft_udp_stats(tx, &ts);
	{
		struct weft_udp_stats rs;

		if (read(pfd[0], &rs, sizeof(rs)) != (ssize_t)sizeof(rs))
			failf("no result from the receiver");
		recvd = rs.rx_datagrams;
		rx_calls = rs.rx_calls;
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		failf("receiver failed");
	printf("bench udp loopback 1400 B, %s: sent %.0f dgrams/s (%.2f Gbit/s), received %.0f "
	       "dgrams/s, %llu sendmmsg calls, %llu GSO sends, EAGAIN drops %llu, receiver "
	       "buffer drops %lld, recvmmsg calls %llu\n",
	       no_gso ? "sendmmsg, no GRO" : "GSO + GRO", ts.tx_datagrams * 1e9 / (double)t,
	       ts.tx_bytes * 8.0 / (double)t, recvd * 1e9 / (double)t,
	       (unsigned long long)ts.tx_calls, (unsigned long long)ts.tx_gso_sends,
	       (unsigned long long)ts.tx_eagain,
	       snmp("/proc/net/snmp", "Udp", "RcvbufErrors") - rcvbuf_err0,
	       (unsigned long long)rx_calls);
	if (recvd == 0)
		failf("nothing received");
	weft_udp_batch_free(b);
	weft_udp_free(rx);
	weft_udp_free(tx);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "loop") == 0) {
		bool ng = false, nr = false;

		for (int i = 3; i < argc; i++) {
			ng |= strcmp(argv[i], "nogso") == 0;
			nr |= strcmp(argv[i], "nogro") == 0;
		}
		return cmd_loop(argv[2], ng, nr);
	}
	if (argc >= 5 && strcmp(argv[1], "df") == 0)
		return cmd_df(argv[2], argv[3], argv[4]);
	if (argc >= 3 && strcmp(argv[1], "bench") == 0)
		return cmd_bench(atoi(argv[2]), argc >= 4 && strcmp(argv[3], "nogso") == 0);
	fprintf(stderr,
		"usage: udptool loop 4|6|dual [nogso] [nogro] | df TX_ADDR RX_NETNS RX_ADDR | "
		"bench SECS [nogso]\n");
	return 2;
}
