/* SPDX-License-Identifier: MIT */
/* The underlay UDP socket. GSO on send (UDP_SEGMENT) cut the whole machine's
 * CPU per GB by a quarter (DESIGN.md, Kernel notes); GRO on receive needs
 * 64 KiB receive slots, allocated once here. */
#include "config.h"

#include "daemon/udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "daemon/log.h"

#define DEFAULT_RECV_BATCH 64
/* A GRO-merged message is smaller than 64 KiB (skb_gro_receive's limit) and
 * so is a GSO send looped back whole. */
#define GRO_SLOT_LEN 65536
#define MAX_SLOT_LEN 65535

/* Control message room: UDP_GRO's or UDP_SEGMENT's number and a pktinfo
 * of either family, with space to spare. */
union ctl {
	char buf[CMSG_SPACE(sizeof(int)) * 2 + CMSG_SPACE(sizeof(struct in6_pktinfo)) +
		 CMSG_SPACE(sizeof(struct in_pktinfo))];
	struct cmsghdr align;
};

struct weft_udp {
	int fd;
	int family;
	bool gro;
	bool gso;
	bool pktinfo; /* wildcard bind: learn and set source addresses */

	/* receive */
	unsigned rx_slots;
	size_t rx_slot_len;
	uint8_t *rx_buf;
	struct mmsghdr *rx_msgs;
	struct iovec *rx_iov;
	union weft_sockaddr *rx_src;
	union ctl *rx_ctl;
	struct weft_udp_local_addr *rx_local;
	size_t *rx_seg;	 /* segment size of each message: the GRO size, or its length */
	unsigned rx_n;	 /* messages in the current batch: the slots recvmmsg() wrote */
	unsigned rx_cur; /* message being handed out */
	size_t rx_off;	 /* offset of the next segment in it */

	/* send: the destination of the flush in progress, and a scratch vector
	 * to resend one refused GSO message datagram by datagram */
	union weft_sockaddr dst;
	const struct weft_udp_local_addr *src; /* NULL: the kernel's choice */
	struct mmsghdr plain_msgs[WEFT_UDP_GSO_MAX_SEGMENTS];
	struct iovec plain_iov[WEFT_UDP_GSO_MAX_SEGMENTS];
	union ctl plain_ctl[WEFT_UDP_GSO_MAX_SEGMENTS];
	size_t too_big_size; /* of the flush in progress: weft_udp_sent's */

	struct weft_udp_stats st;
};

struct weft_udp_batch {
	uint8_t *buf;
	size_t dgram_max; /* room per datagram */
	unsigned max;	  /* datagrams */
	unsigned n;
	size_t tail;
	uint32_t *len; /* per datagram */
	size_t *off;
	/* one message per GSO run (or per datagram), built at flush */
	struct mmsghdr *msgs;
	struct iovec *iov;
	union ctl *ctl;
	unsigned *run_first;
	unsigned *run_count;
};

static int set_int(int fd, int level, int name, int val)
{
	return setsockopt(fd, level, name, &val, sizeof(val)) < 0 ? -errno : 0;
}

/* CAP_NET_ADMIN lets us go past net.core.[rw]mem_max; without it take what we get. */
static int set_buf(int fd, int force_opt, int opt, int bytes)
{
	if (bytes <= 0)
		return 0;
	if (set_int(fd, SOL_SOCKET, force_opt, bytes) == 0)
		return 0;
	return set_int(fd, SOL_SOCKET, opt, bytes);
}

static void free_rx(struct weft_udp *u)
{
	free(u->rx_buf);
	free(u->rx_msgs);
	free(u->rx_iov);
	free(u->rx_src);
	free(u->rx_ctl);
	free(u->rx_local);
	free(u->rx_seg);
}

/* Slot @i's room for a source address and control messages, and no flags,
 * as recvmmsg() reads them; it writes back what it used. */
static void reset_slot(struct weft_udp *u, unsigned i)
{
	struct msghdr *mh = &u->rx_msgs[i].msg_hdr;

	mh->msg_namelen = sizeof(u->rx_src[i]);
	mh->msg_controllen = sizeof(u->rx_ctl[i].buf);
	mh->msg_flags = 0;
}

int weft_udp_new(struct weft_udp **out, const struct weft_udp_config *cfg,
		  char err[static WEFT_ERRLEN])
{
	const struct sockaddr_in6 *l6 = &cfg->listen.in6;
	struct weft_udp *u;
	bool any6;
	int r;

	*out = NULL;
	if (cfg->listen.sa.sa_family != AF_INET && cfg->listen.sa.sa_family != AF_INET6) {
		snprintf(err, WEFT_ERRLEN, "udp: listen address is neither IPv4 nor IPv6");
		return -EAFNOSUPPORT;
	}
	u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, WEFT_ERRLEN, "udp: out of memory");
		return -ENOMEM;
	}
	u->family = cfg->listen.sa.sa_family;
	u->fd = socket(u->family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
	if (u->fd < 0) {
		r = -errno;
		snprintf(err, WEFT_ERRLEN, "udp: socket: %s", strerror(-r));
		goto fail;
	}

	if ((r = set_buf(u->fd, SO_SNDBUFFORCE, SO_SNDBUF, cfg->sndbuf)) < 0) {
		snprintf(err, WEFT_ERRLEN, "udp: SO_SNDBUF %d: %s", cfg->sndbuf, strerror(-r));
		goto fail;
	}
	if ((r = set_buf(u->fd, SO_RCVBUFFORCE, SO_RCVBUF, cfg->rcvbuf)) < 0) {
		snprintf(err, WEFT_ERRLEN, "udp: SO_RCVBUF %d: %s", cfg->rcvbuf, strerror(-r));
		goto fail;
	}

	/* Don't Fragment everywhere: a datagram over the path MTU fails with
	 * EMSGSIZE instead of leaving in fragments. On a dual-stack socket the
	 * IPv4 option governs the IPv4-mapped traffic. */
	any6 = u->family == AF_INET6 && IN6_IS_ADDR_UNSPECIFIED(&l6->sin6_addr);
	if (u->family == AF_INET6) {
		if ((r = set_int(u->fd, IPPROTO_IPV6, IPV6_V6ONLY, any6 ? 0 : 1)) < 0 ||
		    (r = set_int(u->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, IPV6_PMTUDISC_DO)) < 0 ||
		    (r = set_int(u->fd, IPPROTO_IPV6, IPV6_DONTFRAG, 1)) < 0) {
			snprintf(err, WEFT_ERRLEN, "udp: IPv6 socket options: %s", strerror(-r));
			goto fail;
		}
	}
	if (u->family == AF_INET || any6) {
		if ((r = set_int(u->fd, IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)) < 0) {
			snprintf(err, WEFT_ERRLEN, "udp: IP_MTU_DISCOVER: %s", strerror(-r));
			goto fail;
		}
	}

	/* Bound to every address: a peer must get its answers from the address
	 * it wrote to (a stateful firewall or NAT on the way matches on it), not
	 * from whichever address the route prefers. */
	if (u->family == AF_INET && cfg->listen.in4.sin_addr.s_addr == htonl(INADDR_ANY)) {
		if ((r = set_int(u->fd, IPPROTO_IP, IP_PKTINFO, 1)) < 0) {
			snprintf(err, WEFT_ERRLEN, "udp: IP_PKTINFO: %s", strerror(-r));
			goto fail;
		}
		u->pktinfo = true;
	} else if (any6) {
		if ((r = set_int(u->fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)) < 0) {
			snprintf(err, WEFT_ERRLEN, "udp: IPV6_RECVPKTINFO: %s", strerror(-r));
			goto fail;
		}
		u->pktinfo = true;
	}

	/* Probe: setting the default segment size to 0 succeeds where GSO exists. */
	u->gso = !cfg->no_gso && set_int(u->fd, SOL_UDP, UDP_SEGMENT, 0) == 0;
	u->gro = !cfg->no_gro && set_int(u->fd, SOL_UDP, UDP_GRO, 1) == 0;

	if (bind(u->fd, &cfg->listen.sa, weft_sockaddr_len(&cfg->listen)) < 0) {
		char a[WEFT_SOCKADDR_STRLEN];

		r = -errno;
		snprintf(err, WEFT_ERRLEN, "udp: bind to %s port %u: %s",
			 weft_sockaddr_format_host(a, &cfg->listen), weft_sockaddr_port(&cfg->listen),
			 strerror(-r));
		goto fail;
	}

	u->rx_slots = cfg->recv_batch ? cfg->recv_batch : DEFAULT_RECV_BATCH;
	if (u->gro)
		u->rx_slot_len = GRO_SLOT_LEN;
	else if (cfg->max_datagram && cfg->max_datagram < MAX_SLOT_LEN)
		u->rx_slot_len = cfg->max_datagram;
	else
		u->rx_slot_len = MAX_SLOT_LEN;
	u->rx_buf = malloc(u->rx_slots * u->rx_slot_len);
	u->rx_msgs = calloc(u->rx_slots, sizeof(*u->rx_msgs));
	u->rx_iov = calloc(u->rx_slots, sizeof(*u->rx_iov));
	u->rx_src = calloc(u->rx_slots, sizeof(*u->rx_src));
	u->rx_ctl = calloc(u->rx_slots, sizeof(*u->rx_ctl));
	u->rx_local = calloc(u->rx_slots, sizeof(*u->rx_local));
	u->rx_seg = calloc(u->rx_slots, sizeof(*u->rx_seg));
	if (!u->rx_buf || !u->rx_msgs || !u->rx_iov || !u->rx_src || !u->rx_ctl ||
	    !u->rx_local || !u->rx_seg) {
		r = -ENOMEM;
		snprintf(err, WEFT_ERRLEN, "udp: out of memory for %u receive slots of %zu bytes",
			 u->rx_slots, u->rx_slot_len);
		goto fail;
	}
	for (unsigned i = 0; i < u->rx_slots; i++) {
		u->rx_iov[i].iov_base = u->rx_buf + i * u->rx_slot_len;
		u->rx_iov[i].iov_len = u->rx_slot_len;
		u->rx_msgs[i].msg_hdr.msg_iov = &u->rx_iov[i];
		u->rx_msgs[i].msg_hdr.msg_iovlen = 1;
		u->rx_msgs[i].msg_hdr.msg_name = &u->rx_src[i];
		u->rx_msgs[i].msg_hdr.msg_control = u->rx_ctl[i].buf;
		reset_slot(u, i);
	}

	*out = u;
	return 0;
fail:
	weft_udp_free(u);
	return r;
}

void weft_udp_free(struct weft_udp *u)
{
	if (!u)
		return;
	if (u->fd >= 0)
		close(u->fd);
	free_rx(u);
	free(u);
}

int weft_udp_fd(const struct weft_udp *u)
{
	return u->fd;
}

int weft_udp_local(const struct weft_udp *u, union weft_sockaddr *addr)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(u->fd, (struct sockaddr *)&ss, &len) < 0)
		return -errno;
	return weft_sockaddr_from(addr, (struct sockaddr *)&ss, len);
}

bool weft_udp_gro(const struct weft_udp *u)
{
	return u->gro;
}

bool weft_udp_gso(const struct weft_udp *u)
{
	return u->gso;
}

/* ---- receive ---------------------------------------------------------------- */

/* The control messages of one received message: the GRO segment size (0:
 * none) and the local address it arrived at (family 0: unknown). */
static size_t read_ctl(const struct msghdr *mh, struct weft_udp_local_addr *local)
{
	size_t seg = 0;

	memset(local, 0, sizeof(*local));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR((struct msghdr *)mh, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO &&
		    c->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			seg = v > 0 ? (size_t)v : 0;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
			struct in_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			/* spec_dst: the local address to answer from (the
			 * header's own destination may be a broadcast). */
			if (pi.ipi_spec_dst.s_addr != htonl(INADDR_ANY)) {
				local->family = AF_INET;
				local->v4 = pi.ipi_spec_dst;
			}
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
			   c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
			struct in6_pktinfo pi;

			memcpy(&pi, CMSG_DATA(c), sizeof(pi));
			if (!IN6_IS_ADDR_MULTICAST(&pi.ipi6_addr) &&
			    !IN6_IS_ADDR_UNSPECIFIED(&pi.ipi6_addr)) {
				local->family = AF_INET6;
				local->v6 = pi.ipi6_addr;
				local->ifindex =
				    IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) ? (int)pi.ipi6_ifindex : 0;
			}
		}
	}
	return seg;
}

/* rx_seg value of a received zero-length datagram. */
#define EMPTY_DATAGRAM SIZE_MAX

int weft_udp_recv_batch(struct weft_udp *u)
{
	unsigned total = 0;
	int r;

	/* recvmmsg() wrote only the last batch's slots: after a wakeup for a
	 * lone datagram, resetting all 64 touched 64 cold cache lines. */
	for (unsigned i = 0; i < u->rx_n; i++)
		reset_slot(u, i);
	u->rx_n = u->rx_cur = 0;
	u->rx_off = 0;
	r = recvmmsg(u->fd, u->rx_msgs, u->rx_slots, MSG_DONTWAIT, NULL);
	if (r < 0) {
		int e = errno;

		/* EINTR too: the level-triggered watcher calls again. */
		if (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)
			return 0;
		u->st.rx_errors++;
		return -e;
	}
	u->st.rx_calls++;
	for (int i = 0; i < r; i++) {
		struct mmsghdr *m = &u->rx_msgs[i];
		size_t seg;

		union weft_sockaddr raw = u->rx_src[i];

		/* IPv4-mapped sources become IPv4, so a peer's address compares
		 * equal whichever socket family saw it. */
		if (weft_sockaddr_from(&u->rx_src[i], &raw.sa, m->msg_hdr.msg_namelen) < 0)
			memset(&u->rx_src[i], 0, sizeof(u->rx_src[i]));
		if (m->msg_hdr.msg_flags & MSG_TRUNC) {
			u->st.rx_truncated++;
			m->msg_len = 0;
		} else if (m->msg_len == 0) {
			/* An empty datagram is handed out once, so the caller
			 * counts it like any other runt. */
			(void)read_ctl(&m->msg_hdr, &u->rx_local[i]);
			u->rx_seg[i] = EMPTY_DATAGRAM;
			total++;
			continue;
		}
		seg = read_ctl(&m->msg_hdr, &u->rx_local[i]);
		if (!u->gro)
			seg = 0;
		if (seg == 0 || seg >= m->msg_len)
			seg = m->msg_len;
		u->rx_seg[i] = seg;
		if (m->msg_len) {
			unsigned segs = (m->msg_len + seg - 1) / seg;

			total += segs;
			u->st.rx_bytes += m->msg_len;
			if (segs > 1)
				u->st.rx_gro_messages++;
		}
	}
	u->rx_n = (unsigned)r;
	u->st.rx_datagrams += total;
	return (int)total;
}

bool weft_udp_recv_drained(const struct weft_udp *u)
{
	return u->rx_n < u->rx_slots;
}

/* Hand out @len bytes of the current message from rx_off; the next starts at @next_off. */
static void hand_out(struct weft_udp *u, struct weft_udp_dgram *d, size_t len, size_t next_off)
{
	d->data = (uint8_t *)u->rx_iov[u->rx_cur].iov_base + u->rx_off;
	d->len = len;
	d->src = &u->rx_src[u->rx_cur];
	d->local = u->rx_local[u->rx_cur];
	u->rx_off = next_off;
}

bool weft_udp_recv_next(struct weft_udp *u, struct weft_udp_dgram *d)
{
	while (u->rx_cur < u->rx_n) {
		const struct mmsghdr *m = &u->rx_msgs[u->rx_cur];

		if (u->rx_seg[u->rx_cur] == EMPTY_DATAGRAM && u->rx_off == 0) {
			/* rx_off 1 past an empty message: handed out. */
			hand_out(u, d, 0, 1);
			return true;
		}
		if (u->rx_off < m->msg_len) {
			size_t n = m->msg_len - u->rx_off;

			if (n > u->rx_seg[u->rx_cur])
				n = u->rx_seg[u->rx_cur];
			hand_out(u, d, n, u->rx_off + n);
			return true;
		}
		u->rx_cur++;
		u->rx_off = 0;
	}
	return false;
}

/* ---- send batches ------------------------------------------------------------- */

int weft_udp_batch_new(struct weft_udp_batch **out, unsigned max_datagrams, size_t max_datagram_len)
{
	struct weft_udp_batch *b;

	*out = NULL;
	if (max_datagrams == 0 || max_datagram_len == 0 || max_datagram_len > WEFT_UDP_MAX_PAYLOAD)
		return -EINVAL;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->dgram_max = max_datagram_len;
	b->max = max_datagrams;
	b->buf = malloc((size_t)max_datagrams * max_datagram_len);
	b->len = calloc(max_datagrams, sizeof(*b->len));
	b->off = calloc(max_datagrams, sizeof(*b->off));
	b->msgs = calloc(max_datagrams, sizeof(*b->msgs));
	b->iov = calloc(max_datagrams, sizeof(*b->iov));
	b->ctl = calloc(max_datagrams, sizeof(*b->ctl));
	b->run_first = calloc(max_datagrams, sizeof(*b->run_first));
	b->run_count = calloc(max_datagrams, sizeof(*b->run_count));
	if (!b->buf || !b->len || !b->off || !b->msgs || !b->iov || !b->ctl || !b->run_first ||
	    !b->run_count) {
		weft_udp_batch_free(b);
		return -ENOMEM;
	}
	*out = b;
	return 0;
}

void weft_udp_batch_free(struct weft_udp_batch *b)
{
	if (!b)
		return;
	free(b->buf);
	free(b->len);
	free(b->off);
	free(b->msgs);
	free(b->iov);
	free(b->ctl);
	free(b->run_first);
	free(b->run_count);
	free(b);
}

uint8_t *weft_udp_batch_reserve(struct weft_udp_batch *b, size_t *room)
{
	if (b->n >= b->max)
		return NULL;
	*room = b->dgram_max;
	return b->buf + b->tail;
}

void weft_udp_batch_commit(struct weft_udp_batch *b, size_t len)
{
	/* Committing without room, or more than reserved, is a caller bug. */
	WEFT_BUG_ON(b->n >= b->max || len == 0 || len > b->dgram_max);
	b->off[b->n] = b->tail;
	b->len[b->n] = (uint32_t)len;
	b->tail += len;
	b->n++;
}

unsigned weft_udp_batch_count(const struct weft_udp_batch *b)
{
	return b->n;
}

void weft_udp_batch_clear(struct weft_udp_batch *b)
{
	if (!b)
		return;
	b->n = 0;
	b->tail = 0;
}

static bool is_busy(int e)
{
	return e == EAGAIN || e == EWOULDBLOCK || e == ENOBUFS;
}

/* @datagrams refused with @e, the largest of them @size bytes. */
static void count_failure(struct weft_udp *u, int e, unsigned datagrams, size_t size)
{
	if (is_busy(e)) {
		u->st.tx_eagain += datagrams;
	} else if (e == EMSGSIZE) {
		u->st.tx_emsgsize += datagrams;
		if (!u->too_big_size || size < u->too_big_size)
			u->too_big_size = size;
	} else {
		u->st.tx_other_errors += datagrams;
	}
}

/* One message to u->dst: its iovec, a UDP_SEGMENT size (0: none) and the
 * flush's source address, if any, as control messages in @ctl. */
static void prepare_msg(struct weft_udp *u, struct mmsghdr *m, struct iovec *iov, union ctl *ctl,
			uint16_t gso)
{
	struct msghdr *mh = &m->msg_hdr;
	struct cmsghdr *c;
	size_t used = 0;

	memset(m, 0, sizeof(*m));
	mh->msg_name = &u->dst;
	mh->msg_namelen = weft_sockaddr_len(&u->dst);
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	if (!gso && !u->src)
		return;
	memset(ctl, 0, sizeof(*ctl));
	mh->msg_control = ctl->buf;
	mh->msg_controllen = sizeof(ctl->buf);
	c = CMSG_FIRSTHDR(mh);
	if (gso) {
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(gso));
		memcpy(CMSG_DATA(c), &gso, sizeof(gso));
		used += CMSG_SPACE(sizeof(gso));
		c = (struct cmsghdr *)(ctl->buf + used);
	}
	if (u->src && u->family == AF_INET) {
		struct in_pktinfo pi = {.ipi_spec_dst = u->src->v4};

		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
	} else if (u->src) {
		struct in6_pktinfo pi = {.ipi6_addr = u->src->v6,
					 .ipi6_ifindex = (unsigned)u->src->ifindex};

		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
		used += CMSG_SPACE(sizeof(pi));
	}
	mh->msg_controllen = used;
}

/* One sendmmsg() of @n messages, an interrupted call retried while *intr
 * (counted over the whole flush) stays under 4: how many went (> 0) or a
 * negative errno (-EAGAIN when the kernel took none yet reported no error). */
static int send_msgs(struct weft_udp *u, struct mmsghdr *msgs, unsigned n, unsigned *intr)
{
	for (;;) {
		int r = sendmmsg(u->fd, msgs, n, MSG_DONTWAIT);
		int e = errno;

		u->st.tx_calls++;
		if (r > 0)
			return r;
		if (r == 0)
			e = EAGAIN;
		if (e == EINTR && ++*intr < 4)
			continue;
		return -e;
	}
}

/* Datagrams first..first+count-1 of @b one by one (no GSO); 0 or the last errno. */
static int send_plain(struct weft_udp *u, struct weft_udp_batch *b, unsigned first, unsigned count)
{
	unsigned k = 0, intr = 0;
	int last = 0;

	for (unsigned i = 0; i < count; i++) {
		u->plain_iov[i].iov_base = b->buf + b->off[first + i];
		u->plain_iov[i].iov_len = b->len[first + i];
		prepare_msg(u, &u->plain_msgs[i], &u->plain_iov[i], &u->plain_ctl[i], 0);
	}
	while (k < count) {
		int r = send_msgs(u, u->plain_msgs + k, count - k, &intr);
		int e = -r;

		if (r > 0) {
			for (unsigned i = k; i < k + (unsigned)r; i++) {
				u->st.tx_datagrams++;
				u->st.tx_bytes += u->plain_iov[i].iov_len;
			}
			k += (unsigned)r;
			continue;
		}
		last = r;
		if (is_busy(e)) {
			count_failure(u, e, count - k, 0);
			break;
		}
		count_failure(u, e, 1, u->plain_iov[k].iov_len);
		k++;
	}
	return last;
}

/* Group the batch into messages: runs of equal-sized datagrams, the last
 * of a run possibly shorter, within the kernel's GSO limits. */
static unsigned build_msgs(struct weft_udp *u, struct weft_udp_batch *b)
{
	unsigned nmsg = 0, i = 0;

	while (i < b->n) {
		uint32_t s = b->len[i];
		size_t total = s;
		unsigned j = i + 1;
		struct mmsghdr *m = &b->msgs[nmsg];

		if (u->gso) {
			while (j < b->n && j - i < WEFT_UDP_GSO_MAX_SEGMENTS && b->len[j] == s &&
			       total + s <= WEFT_UDP_MAX_PAYLOAD) {
				total += s;
				j++;
			}
			if (j < b->n && j - i < WEFT_UDP_GSO_MAX_SEGMENTS && b->len[j] < s &&
			    total + b->len[j] <= WEFT_UDP_MAX_PAYLOAD) {
				total += b->len[j];
				j++;
			}
		}
		b->iov[nmsg].iov_base = b->buf + b->off[i];
		b->iov[nmsg].iov_len = total;
		prepare_msg(u, m, &b->iov[nmsg], &b->ctl[nmsg], j - i > 1 ? (uint16_t)s : 0);
		b->run_first[nmsg] = i;
		b->run_count[nmsg] = j - i;
		nmsg++;
		i = j;
	}
	return nmsg;
}

/* A source address fit for this socket, or NULL for the kernel's choice. */
static const struct weft_udp_local_addr *pick_src(const struct weft_udp *u,
						  const struct weft_udp_local_addr *from)
{
	if (!u->pktinfo || !from)
		return NULL;
	if (u->family == AF_INET)
		return from->family == AF_INET ? from : NULL;
	/* A dual-stack socket sends to IPv4-mapped destinations from
	 * IPv4-mapped sources (the kernel takes IPV6_PKTINFO for them). */
	if (from->family != AF_INET6)
		return NULL;
	if (IN6_IS_ADDR_V4MAPPED(&from->v6) !=
	    (u->dst.sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&u->dst.in6.sin6_addr)))
		return NULL;
	return from;
}

int weft_udp_flush(struct weft_udp *u, struct weft_udp_batch *b, const union weft_sockaddr *dst,
		   const struct weft_udp_local_addr *from, struct weft_udp_sent *sent)
{
	struct weft_udp_stats before = u->st;
	unsigned nmsg, k = 0, intr = 0;
	int last = 0;

	memset(sent, 0, sizeof(*sent));
	u->too_big_size = 0;
	if (b->n == 0)
		return 0;
	last = weft_sockaddr_for_family(&u->dst, dst, u->family);
	if (last < 0) {
		u->st.tx_other_errors += b->n;
		goto out;
	}
	u->src = pick_src(u, from);
	nmsg = build_msgs(u, b);
	while (k < nmsg) {
		int r = send_msgs(u, b->msgs + k, nmsg - k, &intr);
		int e = -r;

		if (r < 0 && u->src && (e == EINVAL || e == EADDRNOTAVAIL || e == ENETUNREACH)) {
			/* The address the peer wrote to is gone (renumbered,
			 * removed; IPv4 says ENETUNREACH, IPv6 EINVAL): forget
			 * it and let the kernel choose; the peer follows us to
			 * the new address. A real routing failure fails again
			 * below and is counted as usual. */
			u->st.tx_source_lost++;
			sent->source_lost = true;
			u->src = NULL;
			nmsg = build_msgs(u, b);
			continue;
		}
		if (r > 0) {
			for (unsigned i = k; i < k + (unsigned)r; i++) {
				u->st.tx_datagrams += b->run_count[i];
				u->st.tx_bytes += b->iov[i].iov_len;
				if (b->run_count[i] > 1)
					u->st.tx_gso_sends++;
			}
			k += (unsigned)r;
			continue;
		}
		if (is_busy(e)) {
			/* The socket buffer is full: so it is for the rest too. */
			for (unsigned i = k; i < nmsg; i++)
				count_failure(u, e, b->run_count[i], b->len[b->run_first[i]]);
			last = -e;
			break;
		}
		if (b->run_count[k] > 1 && (e == EINVAL || e == EIO || e == EMSGSIZE)) {
			/* A segment over the path MTU fails the whole GSO send
			 * (EMSGSIZE on this kernel, EINVAL on older ones), though
			 * a shorter last datagram may fit: resending one by one
			 * gets each datagram its own verdict. EIO, or EINVAL
			 * where every datagram then went, means no GSO here. */
			int r2 = send_plain(u, b, b->run_first[k], b->run_count[k]);

			u->st.tx_gso_fallbacks++;
			if (e == EIO || (e == EINVAL && r2 == 0)) {
				log_warn(
				    "udp: the kernel refused a GSO send (%s); sending datagram "
				    "by datagram from now on",
				    strerror(e));
				u->gso = false;
			}
			if (r2 < 0)
				last = r2;
			k++;
			continue;
		}
		count_failure(u, e, b->run_count[k], b->len[b->run_first[k]]);
		last = -e;
		k++;
	}
out:
	sent->datagrams = (unsigned)(u->st.tx_datagrams - before.tx_datagrams);
	sent->too_big_size = u->too_big_size;
	sent->dropped = b->n - sent->datagrams;
	u->src = NULL;
	weft_udp_batch_clear(b);
	return last;
}

void weft_udp_stats(const struct weft_udp *u, struct weft_udp_stats *stats)
{
	*stats = u->st;
}
