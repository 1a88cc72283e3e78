/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/ip.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>

#include "daemon/link.h"
#include "daemon/log.h"
#include "daemon/offload.h"

/* <linux/if.h> has it, but clashes with <net/if.h>. */
#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP 0x10000
#endif

#define REQ_LEN		4096
#define RECV_LEN	32768 /* one RTM_NEWLINK of a bridge is a few KiB */
#define RECV_TIMEOUT_S	5
#define MAX_RECV_ROUNDS 4096
#define EXTACK_LEN	160
#define KIND_LEN	16
/* Bridge attributes of kernel 6.7 (linux/if_link.h), newer than the headers
 * weft may be built with (Debian 12's are 6.1): the learned FDB entries and
 * their bound (0: none). An older kernel ignores the bound it does not know. */
#define BR_FDB_N_LEARNED   48
#define BR_FDB_MAX_LEARNED 49
#define BR_ATTR_MAX	   (IFLA_BR_MAX > BR_FDB_MAX_LEARNED ? IFLA_BR_MAX : BR_FDB_MAX_LEARNED)

struct weft_link {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	char *buf;
	char extack[EXTACK_LEN]; /* the kernel's message for the last request, if any */

	/* What setup established, for teardown and for plugging in again. */
	bool have_names;
	bool created_bridge;
	bool create_bridge; /* the spec's: make B again if it is missing */
	bool plugged;	    /* B-br is a port of B (as far as the last look knew) */
	bool ipv6_warned;   /* disable_ipv6 could not be written: said once */
	unsigned mtu;	    /* the overlay MTU, for the bridge */
	int bridge_ifindex;
	char bridge[IFNAMSIZ], port[IFNAMSIZ], dp[IFNAMSIZ];
};

/* What we read back about one link. */
struct link_info {
	int ifindex;
	unsigned flags;
	unsigned mtu;
	int master; /* 0: none */
	int link;   /* IFLA_LINK: a veth's peer, 0: none */
	char name[IFNAMSIZ];
	char kind[KIND_LEN];
	char alias[64];
	int nf_call[3];		 /* bridge: iptables, ip6tables, arptables; -1 unknown */
	int64_t fdb_max_learned; /* bridge: its bound, 0 none; -1: the kernel has none */
};

union req {
	char buf[REQ_LEN];
	struct nlmsghdr align;
};

/* ---- errors ---------------------------------------------------------------- */

/* Fills @err with "<what>: <strerror>[ (kernel: <extack>)]" and returns @rc. */
WEFT_PRINTF(4, 5)
static int fail(const struct weft_link *l, char err[static WEFT_ERRLEN], int rc, const char *fmt,
		...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	weft_verrorf(err, rc, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (l && l->extack[0])
		snprintf(err + n, WEFT_ERRLEN - n, " (kernel: %s)", l->extack);
	return rc;
}

/* ---- netlink request/response ------------------------------------------------ */

struct talk {
	mnl_cb_t cb;
	void *data;
	int error;
	char *extack;
};

static int talk_data_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct talk *t = arg;

	return t->cb ? t->cb(nlh, t->data) : MNL_CB_OK;
}

static int extack_attr_cb(const struct nlattr *a, void *arg)
{
	struct talk *t = arg;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(t->extack, EXTACK_LEN, "%s", mnl_attr_get_str(a));
	return MNL_CB_OK;
}

/* NLMSG_ERROR is both the ack (error 0) and the failure, with extended ack TLVs after it. */
static int talk_error_cb(const struct nlmsghdr *nlh, void *arg)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	struct talk *t = arg;
	size_t off = sizeof(*e);

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		t->error = -EBADMSG;
		return MNL_CB_STOP;
	}
	t->error = e->error > 0 ? -e->error : e->error;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
			off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (off < mnl_nlmsg_get_payload_len(nlh))
			(void)mnl_attr_parse_payload((const char *)e + off,
						     mnl_nlmsg_get_payload_len(nlh) - off,
						     extack_attr_cb, t);
	}
	return MNL_CB_STOP;
}

/* The end of a dump; its payload, if any, is the dump's error code. */
static int talk_done_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct talk *t = arg;
	int error;

	if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(error)) {
		memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
		t->error = error > 0 ? -error : error;
	}
	return MNL_CB_STOP;
}

static int talk_overrun_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct talk *t = arg;

	t->error = -ENOBUFS;
	return MNL_CB_STOP;
}

/*
 * Sends @nlh, feeds every reply to @cb and returns the kernel's verdict: 0 on
 * the ack (or NLMSG_DONE of a dump), else its negative errno. The kernel's
 * extended ack message, if any, is left in l->extack.
 */
static int talk(struct weft_link *l, struct nlmsghdr *nlh, mnl_cb_t cb, void *data)
{
	/* libmnl runs none of its defaults for the types a control array leaves NULL. */
	mnl_cb_t ctl[NLMSG_MIN_TYPE] = {
	    [NLMSG_ERROR] = talk_error_cb,
	    [NLMSG_DONE] = talk_done_cb,
	    [NLMSG_OVERRUN] = talk_overrun_cb,
	};
	struct talk t = {.cb = cb, .data = data, .extack = l->extack};
	uint32_t seq = ++l->seq;

	l->extack[0] = '\0';
	nlh->nlmsg_seq = seq;
	/* A dump ends with NLMSG_DONE and no ack; NLM_F_DUMP cannot be tested for
	 * here, its bits are NLM_F_EXCL and NLM_F_REPLACE in a NEW request. */
	nlh->nlmsg_flags |= NLM_F_ACK;
	if (mnl_socket_sendto(l->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int round = 0; round < MAX_RECV_ROUNDS; round++) {
		ssize_t n = mnl_socket_recvfrom(l->nl, l->buf, RECV_LEN);
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
		}
		r = mnl_cb_run2(l->buf, (size_t)n, seq, l->portid, talk_data_cb, &t, ctl,
				MNL_ARRAY_SIZE(ctl));
		if (r < 0) {
			/* A late answer to an earlier request that timed out: skip it. */
			if (errno == ESRCH)
				continue;
			return -errno;
		}
		if (r == MNL_CB_STOP)
			return t.error;
	}
	return -ETIMEDOUT;
}

static struct nlmsghdr *link_req(union req *req, uint16_t type, uint16_t flags, int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req->buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

/* ---- reading links --------------------------------------------------------- */

/* Attributes by type, for the types a caller reads; newer ones are ignored. */
struct table {
	const struct nlattr **tb;
	unsigned max;
};

static int table_cb(const struct nlattr *a, void *arg)
{
	const struct table *t = arg;

	if (mnl_attr_get_type(a) <= t->max)
		t->tb[mnl_attr_get_type(a)] = a;
	return MNL_CB_OK;
}

#define TABLE(name, max)                                                                           \
	const struct nlattr *name[(max) + 1] = {0};                                                \
	struct table name##_table = {name, (max)}

static bool attr_u32(const struct nlattr *a, uint32_t *v)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U32) < 0)
		return false;
	*v = mnl_attr_get_u32(a);
	return true;
}

static int attr_u8(const struct nlattr *a)
{
	if (!a || mnl_attr_validate(a, MNL_TYPE_U8) < 0)
		return -1;
	return mnl_attr_get_u8(a);
}

static void attr_str(const struct nlattr *a, char *out, size_t len)
{
	out[0] = '\0';
	if (a && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
		snprintf(out, len, "%s", mnl_attr_get_str(a));
}

static void parse_linkinfo(const struct nlattr *nest, struct link_info *li)
{
	TABLE(info, IFLA_INFO_MAX);

	if (mnl_attr_parse_nested(nest, table_cb, &info_table) < 0)
		return;
	attr_str(info[IFLA_INFO_KIND], li->kind, sizeof(li->kind));
	if (strcmp(li->kind, "bridge") == 0 && info[IFLA_INFO_DATA]) {
		TABLE(br, BR_ATTR_MAX);
		uint32_t v;

		if (mnl_attr_parse_nested(info[IFLA_INFO_DATA], table_cb, &br_table) < 0)
			return;
		li->nf_call[0] = attr_u8(br[IFLA_BR_NF_CALL_IPTABLES]);
		li->nf_call[1] = attr_u8(br[IFLA_BR_NF_CALL_IP6TABLES]);
		li->nf_call[2] = attr_u8(br[IFLA_BR_NF_CALL_ARPTABLES]);
		if (attr_u32(br[BR_FDB_MAX_LEARNED], &v))
			li->fdb_max_learned = v;
	}
}

static void parse_link(const struct nlmsghdr *nlh, struct link_info *li)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	uint32_t v;
	TABLE(tb, IFLA_MAX);

	memset(li, 0, sizeof(*li));
	li->nf_call[0] = li->nf_call[1] = li->nf_call[2] = -1;
	li->fdb_max_learned = -1;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return;
	li->ifindex = ifi->ifi_index;
	li->flags = ifi->ifi_flags;
	if (mnl_attr_parse(nlh, sizeof(*ifi), table_cb, &tb_table) < 0)
		return;
	attr_str(tb[IFLA_IFNAME], li->name, sizeof(li->name));
	attr_str(tb[IFLA_IFALIAS], li->alias, sizeof(li->alias));
	if (attr_u32(tb[IFLA_MTU], &v))
		li->mtu = v;
	if (attr_u32(tb[IFLA_MASTER], &v))
		li->master = (int)v;
	/* A veth whose peer is in another namespace reports the peer's index there. */
	if (attr_u32(tb[IFLA_LINK], &v) && !tb[IFLA_LINK_NETNSID])
		li->link = (int)v;
	if (tb[IFLA_LINKINFO])
		parse_linkinfo(tb[IFLA_LINKINFO], li);
}

static int link_cb(const struct nlmsghdr *nlh, void *arg)
{
	if (nlh->nlmsg_type == RTM_NEWLINK)
		parse_link(nlh, arg);
	return MNL_CB_OK;
}

/* Reads link @name (or @ifindex if @name is NULL). -ENODEV if there is none. */
static int link_get(struct weft_link *l, const char *name, int ifindex, struct link_info *li)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_GETLINK, 0, name ? 0 : ifindex);
	int rc;

	if (name)
		mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	memset(li, 0, sizeof(*li));
	rc = talk(l, nlh, link_cb, li);
	if (rc == 0 && li->ifindex == 0)
		rc = -ENODEV;
	return rc;
}

struct port_count {
	int master;
	int except;
	int count;
	char first[IFNAMSIZ];
};

static int port_count_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct port_count *pc = arg;
	struct link_info li;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	parse_link(nlh, &li);
	/* The kernel filters by master, but an old one may not: check. */
	if (li.master == pc->master && li.ifindex != pc->except) {
		if (!pc->count++)
			snprintf(pc->first, sizeof(pc->first), "%s", li.name);
	}
	return MNL_CB_OK;
}

/* Ports of bridge @master other than @except; *first names one of them. */
static int count_ports(struct weft_link *l, int master, int except, int *count,
		       char first[static IFNAMSIZ])
{
	int rc = -EINTR;

	for (int attempt = 0; attempt < 3 && rc == -EINTR; attempt++) {
		struct port_count pc = {.master = master, .except = except};
		union req req;
		struct nlmsghdr *nlh = link_req(&req, RTM_GETLINK, NLM_F_DUMP, 0);

		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
		mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
		rc = talk(l, nlh, port_count_cb, &pc);
		*count = pc.count;
		snprintf(first, IFNAMSIZ, "%s", pc.first);
	}
	return rc;
}

/* ---- changing links ---------------------------------------------------------- */

static int link_set(struct weft_link *l, int ifindex, unsigned mtu, int master, bool up)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, 0, ifindex);

	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (master)
		mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)master);
	if (up) {
		struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		ifi->ifi_change = IFF_UP;
		ifi->ifi_flags = IFF_UP;
	}
	return talk(l, nlh, NULL, NULL);
}

/* Sets the interface flags in @mask to those in @flags, leaving the others. */
static int link_set_flags(struct weft_link *l, int ifindex, unsigned mask, unsigned flags)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, 0, ifindex);
	struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

	ifi->ifi_change = mask;
	ifi->ifi_flags = flags;
	return talk(l, nlh, NULL, NULL);
}

/* No IPv6 link-local address, hence no router solicitations or MLD reports. */
static int link_no_ipv6_ll(struct weft_link *l, int ifindex)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, 0, ifindex);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *inet6 = mnl_attr_nest_start(nlh, AF_INET6);

	mnl_attr_put_u8(nlh, IFLA_INET6_ADDR_GEN_MODE, IN6_ADDR_GEN_MODE_NONE);
	mnl_attr_nest_end(nlh, inet6);
	mnl_attr_nest_end(nlh, spec);
	return talk(l, nlh, NULL, NULL);
}

/*
 * IPv4 that arrives on the interface is never the host's: the strict
 * reverse-path filter drops every packet with a source address (nothing is
 * routed back through an interface without addresses, so even a loose
 * filter set for all interfaces drops them), no ARP reply for any local
 * address, no local source accepted, nothing forwarded. What it cannot stop
 * is a packet from 0.0.0.0 (it has no source to check).
 */
static int link_no_ipv4(struct weft_link *l, int ifindex)
{
	static const struct {
		uint16_t key;
		uint32_t value;
	} conf[] = {
	    {IPV4_DEVCONF_RP_FILTER, 1},
	    {IPV4_DEVCONF_ARP_IGNORE, 8},
	    {IPV4_DEVCONF_ACCEPT_LOCAL, 0},
	    {IPV4_DEVCONF_FORWARDING, 0},
	};
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, 0, ifindex);
	struct nlattr *spec = mnl_attr_nest_start(nlh, IFLA_AF_SPEC);
	struct nlattr *inet = mnl_attr_nest_start(nlh, AF_INET);
	struct nlattr *c = mnl_attr_nest_start(nlh, IFLA_INET_CONF);

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(conf); i++)
		mnl_attr_put_u32(nlh, conf[i].key, conf[i].value);
	mnl_attr_nest_end(nlh, c);
	mnl_attr_nest_end(nlh, inet);
	mnl_attr_nest_end(nlh, spec);
	return talk(l, nlh, NULL, NULL);
}

/*
 * IPv6 off: the interface takes no IPv6 at all, so a router advertisement
 * from the overlay configures nothing on it. Only the sysctl does this (no
 * rtnetlink attribute sets it); -ENOENT if the kernel has no IPv6.
 */
static int ipv6_disable(const char *ifname)
{
	char path[64 + IFNAMSIZ];
	ssize_t n;
	int fd, rc = 0;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, "1\n", 2);
	if (n < 0)
		rc = -errno;
	else if (n != 2)
		rc = -EIO;
	close(fd);
	return rc;
}

/*
 * weft's port is not a host interface: no ARP (IFF_NOARP: no requests, no
 * replies, and the kernel drops ARP arriving on it), no IPv6, no IPv4 taken
 * in. The rings are AF_PACKET, below all of this. Before the link goes up,
 * so it never says anything; again on every setup, for links left by an
 * older weftd.
 */
static int isolate(struct weft_link *l, const struct link_info *e, char err[static WEFT_ERRLEN])
{
	int rc;

	if (!(e->flags & IFF_NOARP)) {
		rc = link_set_flags(l, e->ifindex, IFF_NOARP, IFF_NOARP);
		if (rc)
			return fail(l, err, rc, "switching ARP off on %s", e->name);
	}
	/* The kernel may have no IPv6: then there is nothing to quiet. */
	rc = link_no_ipv6_ll(l, e->ifindex);
	if (rc)
		log_debug("%s: no IPv6 address generation mode set: %s", e->name, strerror(-rc));
	rc = ipv6_disable(e->name);
	if (rc && rc != -ENOENT && !l->ipv6_warned) {
		/* Without write access to /proc/sys (a unit without ReadWritePaths for
		 * it): the link-local address is still off, SLAAC from a rogue router
		 * advertisement is not. */
		log_warn("cannot switch IPv6 off on %s and %s (/proc/sys/net/ipv6/conf/%s/"
			 "disable_ipv6: %s); they have no link-local address, but a router "
			 "advertisement from the overlay could still give them one",
			 l->port, l->dp, e->name, strerror(-rc));
		l->ipv6_warned = true;
	}
	rc = link_no_ipv4(l, e->ifindex);
	if (rc)
		return fail(l, err, rc, "IPv4 settings (rp_filter, arp_ignore) of %s", e->name);
	return 0;
}

/* Creating a link ignores IFLA_IFALIAS: only a change of an existing one sets it. */
static int link_set_alias(struct weft_link *l, int ifindex, const char *alias)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, 0, ifindex);

	mnl_attr_put_strz(nlh, IFLA_IFALIAS, alias);
	return talk(l, nlh, NULL, NULL);
}

static int link_del(struct weft_link *l, int ifindex)
{
	union req req;

	return talk(l, link_req(&req, RTM_DELLINK, 0, ifindex), NULL, NULL);
}

static int bridge_create(struct weft_link *l, const char *name, unsigned mtu)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct nlattr *info, *data;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, IFLA_BR_STP_STATE, 0);
	/* Bridge netfilter costs 7-9 % of throughput; this bridge is ours to configure. */
	mnl_attr_put_u8(nlh, IFLA_BR_NF_CALL_IPTABLES, 0);
	mnl_attr_put_u8(nlh, IFLA_BR_NF_CALL_IP6TABLES, 0);
	mnl_attr_put_u8(nlh, IFLA_BR_NF_CALL_ARPTABLES, 0);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return talk(l, nlh, NULL, NULL);
}

static int bridge_set_fdb_max_learned(struct weft_link *l, int ifindex, uint32_t max)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, 0, ifindex);
	struct nlattr *info, *data;

	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "bridge");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	mnl_attr_put_u32(nlh, BR_FDB_MAX_LEARNED, max);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return talk(l, nlh, NULL, NULL);
}

static int veth_create(struct weft_link *l, const char *port, const char *dp, unsigned mtu)
{
	union req req;
	struct nlmsghdr *nlh = link_req(&req, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0);
	struct nlattr *info, *data, *peer;
	struct ifinfomsg *pifi;

	mnl_attr_put_strz(nlh, IFLA_IFNAME, port);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	peer = mnl_attr_nest_start(nlh, VETH_INFO_PEER);
	/* The peer is described by an ifinfomsg of its own, then attributes. */
	pifi = mnl_nlmsg_get_payload_tail(nlh);
	memset(pifi, 0, sizeof(*pifi));
	pifi->ifi_family = AF_UNSPEC;
	nlh->nlmsg_len += MNL_ALIGN(sizeof(*pifi));
	mnl_attr_put_strz(nlh, IFLA_IFNAME, dp);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
	return talk(l, nlh, NULL, NULL);
}

/* ---- public ------------------------------------------------------------------ */

int weft_link_new(struct weft_link **out, char err[static WEFT_ERRLEN])
{
	struct timeval tv = {.tv_sec = RECV_TIMEOUT_S};
	struct weft_link *l;
	int one = 1;

	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->buf = malloc(RECV_LEN))) {
		free(l);
		return fail(NULL, err, -ENOMEM, "rtnetlink");
	}
	l->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!l->nl) {
		int rc = -errno;

		weft_link_free(l);
		return fail(NULL, err, rc, "opening the rtnetlink socket");
	}
	if (mnl_socket_bind(l->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int rc = -errno;

		weft_link_free(l);
		return fail(NULL, err, rc, "binding the rtnetlink socket");
	}
	/* Best effort: without them errors are still reported, just less precisely. */
	(void)mnl_socket_setsockopt(l->nl, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(l->nl, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)setsockopt(mnl_socket_get_fd(l->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	l->portid = mnl_socket_get_portid(l->nl);
	l->seq = (uint32_t)time(NULL);
	*out = l;
	return 0;
}

void weft_link_free(struct weft_link *l)
{
	if (!l)
		return;
	if (l->nl)
		mnl_socket_close(l->nl);
	free(l->buf);
	free(l);
}

int weft_link_veth_names(const char *bridge, char port[static IFNAMSIZ], char dp[static IFNAMSIZ],
			 char err[static WEFT_ERRLEN])
{
	size_t n = bridge ? strlen(bridge) : 0;

	if (n == 0 || n > WEFT_LINK_BRIDGE_NAME_MAX)
		return fail(
		    NULL, err, -EINVAL,
		    "bridge name `%s': must be 1 to %d characters (%zu given), leaving room for "
		    "`%s' and `%s'",
		    bridge ? bridge : "", WEFT_LINK_BRIDGE_NAME_MAX, n, WEFT_LINK_PORT_SUFFIX,
		    WEFT_LINK_DP_SUFFIX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)bridge[i];

		if (c <= ' ' || c == '/' || c == ':' || c >= 0x7f)
			return fail(NULL, err, -EINVAL,
				    "bridge name `%s': no spaces, `/' or `:' allowed", bridge);
	}
	snprintf(port, IFNAMSIZ, "%s%s", bridge, WEFT_LINK_PORT_SUFFIX);
	snprintf(dp, IFNAMSIZ, "%s%s", bridge, WEFT_LINK_DP_SUFFIX);
	return 0;
}

/*
 * Bounds the FDB entries bridge @br learns, if weftd owns it: a member must
 * not be able to fill the kernel's table with made-up source MACs (issue 12,
 * finding 5: 324k entries, +44 MB in 10 s). Not fatal: the MAC table's
 * bounds hold without it; the operator is told. A bridge weftd does not own
 * is left as it is, with a hint when it has no bound.
 */
static void bound_fdb(struct weft_link *l, const struct link_info *br)
{
	char why[WEFT_ERRLEN];
	struct link_info now;
	int rc;

	if (!l->created_bridge) {
		if (br->fdb_max_learned == 0)
			log_info("bridge %s learns MAC addresses without bound; weftd leaves a "
				 "bridge it did not create as it is (`ip link set %s type bridge "
				 "fdb_max_learned %u' bounds it)",
				 l->bridge, l->bridge, WEFT_LINK_FDB_MAX_LEARNED);
		return;
	}
	if (br->fdb_max_learned == WEFT_LINK_FDB_MAX_LEARNED)
		return;
	rc = bridge_set_fdb_max_learned(l, br->ifindex, WEFT_LINK_FDB_MAX_LEARNED);
	if (rc == 0)
		rc = link_get(l, NULL, br->ifindex, &now);
	if (rc == 0 && now.fdb_max_learned != WEFT_LINK_FDB_MAX_LEARNED)
		rc = -EOPNOTSUPP; /* before 6.7 the kernel ignores what it does not know */
	if (rc) {
		fail(l, why, rc,
		     "bounding the learned FDB of bridge %s to %u entries (fdb_max_learned, "
		     "kernel 6.7 or later)",
		     l->bridge, WEFT_LINK_FDB_MAX_LEARNED);
		log_warn("%s; a member can fill it with made-up source MACs", why);
		return;
	}
	log_info("bridge %s: learned FDB bounded to %u entries (fdb_max_learned)", l->bridge,
		 WEFT_LINK_FDB_MAX_LEARNED);
}

/*
 * Finds bridge B, or creates it when it is missing and that is allowed;
 * *br describes it afterwards. -ENODEV (and @err) when it is missing and
 * may not be created. A bridge seen for the first time (at setup, or made
 * again after someone deleted it) is ours to remove only if we made it, now
 * or in an earlier run (its alias says).
 */
static int find_bridge(struct weft_link *l, struct link_info *br, char err[static WEFT_ERRLEN])
{
	bool created = false;
	int rc = link_get(l, l->bridge, 0, br);

	if (rc == -ENODEV) {
		if (!l->create_bridge)
			return fail(NULL, err, -ENODEV,
				    "bridge %s does not exist and creating it is off", l->bridge);
		rc = bridge_create(l, l->bridge, l->mtu);
		if (rc == 0) {
			created = true;
			log_info("created bridge %s (STP off, bridge netfilter off)", l->bridge);
		} else if (rc != -EEXIST) {
			return fail(l, err, rc, "creating bridge %s", l->bridge);
		}
		rc = link_get(l, l->bridge, 0, br);
	}
	if (rc)
		return fail(l, err, rc, "looking up bridge %s", l->bridge);
	if (strcmp(br->kind, "bridge") != 0)
		return fail(NULL, err, -EEXIST, "%s exists and is not a bridge (it is %s%s)",
			    l->bridge, br->kind[0] ? "a " : "a device without a kind", br->kind);
	if (br->ifindex == l->bridge_ifindex)
		return 0;
	l->bridge_ifindex = br->ifindex;
	l->created_bridge = created;
	if (created && strcmp(br->alias, WEFT_LINK_ALIAS) != 0) {
		rc = link_set_alias(l, br->ifindex, WEFT_LINK_ALIAS);
		if (rc)
			return fail(l, err, rc, "marking bridge %s as weftd's (alias)", l->bridge);
	} else if (!created && strcmp(br->alias, WEFT_LINK_ALIAS) == 0) {
		l->created_bridge = true;
		log_info("bridge %s was created by an earlier weftd: it is ours to remove",
			 l->bridge);
	}
	if (!l->created_bridge && (br->nf_call[0] == 1 || br->nf_call[1] == 1))
		log_info("bridge %s passes bridged frames through iptables (nf_call_iptables/"
			 "ip6tables on), which costs throughput; weftd leaves a bridge it did not "
			 "create as it is",
			 l->bridge);
	bound_fdb(l, br);
	return 0;
}

/* The overlay MTU on bridge @br: exactly on a bridge weftd created; on
 * another one lowered to it if larger, never raised. @before: its MTU
 * before our port joined (joining an empty bridge sizes it to our port). */
static int size_bridge(struct weft_link *l, const struct link_info *br, unsigned before,
		       char err[static WEFT_ERRLEN])
{
	int rc;

	if (br->mtu > l->mtu || (l->created_bridge && br->mtu != l->mtu)) {
		rc = link_set(l, br->ifindex, l->mtu, 0, false);
		if (rc)
			return fail(l, err, rc, "setting MTU %u on bridge %s", l->mtu, l->bridge);
		if (!l->created_bridge)
			log_warn("bridge %s: MTU lowered from %u to the overlay MTU %u", l->bridge,
				 before, l->mtu);
	} else if (br->mtu < l->mtu) {
		log_info("bridge %s: MTU %u is below the overlay MTU %u; leaving it", l->bridge,
			 br->mtu, l->mtu);
	}
	return 0;
}

/* B-br into bridge @br (unless it is there), the bridge's MTU, the bridge
 * up: 1 if the port was plugged in now, 0 if it already was (then only
 * @always sizes the bridge and brings it up). */
static int plug_into(struct weft_link *l, struct link_info *br, const struct link_info *port,
		     bool always, char err[static WEFT_ERRLEN])
{
	bool was = port->master == br->ifindex;
	unsigned before = br->mtu;
	int rc;

	l->plugged = was;
	if (was && !always)
		return 0;
	if (!was) {
		rc = link_set(l, port->ifindex, 0, br->ifindex, false);
		if (rc)
			return fail(l, err, rc, "adding %s to bridge %s", l->port, l->bridge);
		/* Joining may have lowered an auto-sized bridge's MTU: read it again. */
		rc = link_get(l, NULL, br->ifindex, br);
		if (rc)
			return fail(l, err, rc, "looking up bridge %s", l->bridge);
	}
	rc = size_bridge(l, br, before, err);
	if (rc)
		return rc;
	if (!(br->flags & IFF_UP)) {
		rc = link_set(l, br->ifindex, 0, 0, true);
		if (rc)
			return fail(l, err, rc, "bringing %s up", l->bridge);
	}
	l->plugged = true;
	return was ? 0 : 1;
}

/* Finds or creates the veth pair; *port and *dp describe it afterwards. */
static int setup_veth(struct weft_link *l, unsigned mtu, struct link_info *port,
		      struct link_info *dp, char err[static WEFT_ERRLEN])
{
	int rp = link_get(l, l->port, 0, port);
	int rd = rp == 0 || rp == -ENODEV ? link_get(l, l->dp, 0, dp) : 0;
	int rc;

	if (rp && rp != -ENODEV)
		return fail(l, err, rp, "looking up %s", l->port);
	if (rd && rd != -ENODEV)
		return fail(l, err, rd, "looking up %s", l->dp);
	if (rp == -ENODEV && rd == -ENODEV) {
		rc = veth_create(l, l->port, l->dp, mtu);
		if (rc)
			return fail(l, err, rc, "creating veth pair %s/%s", l->port, l->dp);
		log_info("created veth pair %s/%s", l->port, l->dp);
		rp = link_get(l, l->port, 0, port);
		rd = rp ? rp : link_get(l, l->dp, 0, dp);
		if (rp || rd)
			return fail(l, err, rp ? rp : rd, "looking up the new veth pair %s/%s",
				    l->port, l->dp);
	} else {
		log_info("reusing veth pair %s/%s", l->port, l->dp);
	}
	if (rp == 0 && strcmp(port->kind, "veth") != 0)
		return fail(NULL, err, -EEXIST, "%s exists and is not a veth (it is a %s)", l->port,
			    port->kind[0] ? port->kind : "device without a kind");
	if (rd == 0 && strcmp(dp->kind, "veth") != 0)
		return fail(NULL, err, -EEXIST, "%s exists and is not a veth (it is a %s)", l->dp,
			    dp->kind[0] ? dp->kind : "device without a kind");
	if (rp || rd)
		return fail(NULL, err, -EEXIST,
			    "%s exists but %s does not: remove the stray one (ip link del %s)",
			    rp ? l->dp : l->port, rp ? l->port : l->dp, rp ? l->dp : l->port);
	if (port->link != dp->ifindex || dp->link != port->ifindex)
		return fail(NULL, err, -EEXIST, "%s and %s are not the two ends of one veth pair",
			    l->port, l->dp);
	return 0;
}

int weft_link_setup(struct weft_link *l, const struct weft_link_spec *spec, int *dp_ifindex,
		    char err[static WEFT_ERRLEN])
{
	struct link_info br, port, dp;
	const struct link_info *ends[2] = {&port, &dp};
	char port_name[IFNAMSIZ], dp_name[IFNAMSIZ];
	unsigned port_mtu = spec->port_mtu ? spec->port_mtu : spec->mtu;
	int rc, have_bridge;

	*dp_ifindex = 0;
	err[0] = '\0';
	if (spec->mtu < 68 || spec->mtu > 65535)
		return fail(NULL, err, -EINVAL, "overlay MTU %u: must be 68 to 65535", spec->mtu);
	rc = weft_link_veth_names(spec->bridge, port_name, dp_name, err);
	if (rc)
		return rc;
	if (l->have_names && strcmp(l->bridge, spec->bridge) != 0)
		return fail(NULL, err, -EBUSY, "already set up for bridge %s", l->bridge);
	snprintf(l->bridge, sizeof(l->bridge), "%s", spec->bridge);
	memcpy(l->port, port_name, sizeof(l->port));
	memcpy(l->dp, dp_name, sizeof(l->dp));
	l->have_names = true;
	l->create_bridge = spec->create_bridge;
	l->mtu = spec->mtu;
	l->plugged = false;

	/* The bridge first: a name taken by something else fails before any
	 * veth is made. A missing bridge that may not be created is waited for. */
	have_bridge = find_bridge(l, &br, err);
	if (have_bridge && have_bridge != -ENODEV)
		return have_bridge;
	rc = setup_veth(l, port_mtu, &port, &dp, err);
	if (rc)
		return rc;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(ends); i++) {
		const struct link_info *e = ends[i];

		if (e->mtu != port_mtu) {
			rc = link_set(l, e->ifindex, port_mtu, 0, false);
			if (rc)
				return fail(l, err, rc, "setting MTU %u on %s", port_mtu, e->name);
		}
		rc = isolate(l, e, err);
		if (rc)
			return rc;
	}
	rc = weft_offload_off(l->port, WEFT_OFFLOAD_TX, err);
	if (rc == 0)
		rc = weft_offload_off(l->dp, WEFT_OFFLOAD_RX_AGGREGATION, err);
	if (rc)
		return rc;

	/* The far end first, so the bridge port never forwards into a down peer. */
	for (size_t i = WEFT_ARRAY_SIZE(ends); i-- > 0;) {
		if (ends[i]->flags & IFF_UP)
			continue;
		rc = link_set(l, ends[i]->ifindex, 0, 0, true);
		if (rc)
			return fail(l, err, rc, "bringing %s up", ends[i]->name);
	}
	*dp_ifindex = dp.ifindex;
	if (have_bridge == 0) {
		rc = plug_into(l, &br, &port, true, err);
		if (rc < 0)
			return rc;
	}
	return 0;
}

bool weft_link_plugged(const struct weft_link *l)
{
	return l->plugged;
}

int weft_link_plug(struct weft_link *l, char err[static WEFT_ERRLEN])
{
	struct link_info br, port;
	int rc;

	err[0] = '\0';
	if (!l->have_names)
		return fail(NULL, err, -EINVAL, "nothing set up to plug in");
	rc = find_bridge(l, &br, err);
	if (rc) {
		l->plugged = false;
		return rc;
	}
	rc = link_get(l, l->port, 0, &port);
	if (rc) {
		l->plugged = false;
		/* Not -ENODEV: that says the bridge is missing. */
		return rc == -ENODEV ? fail(NULL, err, -ENXIO, "%s is gone", l->port)
				     : fail(l, err, rc, "looking up %s", l->port);
	}
	return plug_into(l, &br, &port, false, err);
}

int weft_link_set_mtu(struct weft_link *l, unsigned mtu, char err[static WEFT_ERRLEN])
{
	struct link_info br;
	int rc;

	err[0] = '\0';
	if (mtu < 68 || mtu > 65535)
		return fail(NULL, err, -EINVAL, "overlay MTU %u: must be 68 to 65535", mtu);
	l->mtu = mtu;
	if (!l->plugged)
		return 0;
	rc = link_get(l, NULL, l->bridge_ifindex, &br);
	if (rc == -ENODEV)
		return 0; /* gone: plugging in again sizes the next one */
	if (rc)
		return fail(l, err, rc, "looking up bridge %s", l->bridge);
	return size_bridge(l, &br, br.mtu, err);
}

/* Still the bridge setup found or made? Without its ifindex (setup failed early), its alias says.
 */
static bool same_bridge(const struct weft_link *l, const struct link_info *li)
{
	if (strcmp(li->kind, "bridge") != 0)
		return false;
	if (l->bridge_ifindex)
		return li->ifindex == l->bridge_ifindex;
	return strcmp(li->alias, WEFT_LINK_ALIAS) == 0;
}

int weft_link_teardown(struct weft_link *l)
{
	const char *names[2] = {l->port, l->dp};
	struct link_info li;
	int first = 0, rc;

	if (!l->have_names)
		return 0;
	for (size_t i = 0; i < WEFT_ARRAY_SIZE(names); i++) {
		rc = link_get(l, names[i], 0, &li);
		if (rc == -ENODEV)
			continue; /* deleting one end of a veth deletes the other */
		if (rc == 0 && strcmp(li.kind, "veth") != 0) {
			log_warn("%s is no longer a veth (it is a %s): leaving it", names[i],
				 li.kind);
			continue;
		}
		if (rc == 0)
			rc = link_del(l, li.ifindex);
		if (rc == 0) {
			log_info("removed veth pair %s/%s", l->port, l->dp);
		} else if (rc != -ENODEV) {
			log_warn("removing %s: %s%s%s", names[i], strerror(-rc),
				 l->extack[0] ? ": " : "", l->extack);
			first = first ? first : rc;
		}
	}

	if (l->created_bridge) {
		char other[IFNAMSIZ];
		int ports = 0;

		rc = link_get(l, l->bridge, 0, &li);
		if (rc == -ENODEV) {
			rc = 0;
		} else if (rc == 0 && !same_bridge(l, &li)) {
			log_warn("%s is no longer the bridge weftd created: leaving it", l->bridge);
		} else if (rc == 0 && (rc = count_ports(l, li.ifindex, 0, &ports, other)) == 0) {
			if (ports) {
				log_info("leaving bridge %s: %d other port%s remain (%s%s)",
					 l->bridge, ports, ports == 1 ? "" : "s", other,
					 ports > 1 ? ", ..." : "");
			} else {
				rc = link_del(l, li.ifindex);
				if (rc == 0 || rc == -ENODEV) {
					rc = 0;
					log_info("removed bridge %s", l->bridge);
				}
			}
		}
		if (rc) {
			log_warn("removing bridge %s: %s%s%s", l->bridge, strerror(-rc),
				 l->extack[0] ? ": " : "", l->extack);
			first = first ? first : rc;
		}
	}
	l->have_names = false;
	l->created_bridge = false;
	l->plugged = false;
	l->bridge_ifindex = 0;
	return first;
}

int weft_link_mtu_by_name(struct weft_link *l, const char *ifname, unsigned *mtu,
			  char err[static WEFT_ERRLEN])
{
	struct link_info li;
	int rc;

	*mtu = 0;
	if (!ifname || !ifname[0] || strlen(ifname) >= IFNAMSIZ)
		return fail(NULL, err, -EINVAL, "interface name `%s'", ifname ? ifname : "");
	rc = link_get(l, ifname, 0, &li);
	if (rc == -ENODEV)
		return fail(NULL, err, rc, "interface %s", ifname);
	if (rc)
		return fail(l, err, rc, "looking up interface %s", ifname);
	*mtu = li.mtu;
	return 0;
}

struct route_info {
	uint32_t oif;
	uint32_t mtu; /* from the route's metrics (or a cached path MTU), 0 if none */
	uint8_t gateway[16], prefsrc[16]; /* zero if none */
};

static void attr_addr(const struct nlattr *a, uint8_t out[static 16])
{
	uint16_t len = a ? mnl_attr_get_payload_len(a) : 0;

	if (len == 4 || len == 16)
		memcpy(out, mnl_attr_get_payload(a), len);
}

static int route_cb(const struct nlmsghdr *nlh, void *arg)
{
	struct route_info *ri = arg;
	TABLE(tb, RTA_MAX);

	if (nlh->nlmsg_type != RTM_NEWROUTE ||
	    mnl_attr_parse(nlh, sizeof(struct rtmsg), table_cb, &tb_table) < 0)
		return MNL_CB_OK;
	(void)attr_u32(tb[RTA_OIF], &ri->oif);
	attr_addr(tb[RTA_GATEWAY], ri->gateway);
	attr_addr(tb[RTA_PREFSRC], ri->prefsrc);
	if (tb[RTA_METRICS]) {
		TABLE(mx, RTAX_MAX);

		if (mnl_attr_parse_nested(tb[RTA_METRICS], table_cb, &mx_table) >= 0)
			(void)attr_u32(mx[RTAX_MTU], &ri->mtu);
	}
	return MNL_CB_OK;
}

/* The kernel's route toward @dst and its interface; @text gets @dst. */
static int route_get(struct weft_link *l, const struct sockaddr *dst, struct route_info *ri,
		     struct link_info *li, char text[static INET6_ADDRSTRLEN],
		     char err[static WEFT_ERRLEN])
{
	union req req;
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	const void *addr;
	int family, rc;

	memset(ri, 0, sizeof(*ri));
	snprintf(text, INET6_ADDRSTRLEN, "?");
	if (dst->sa_family == AF_INET) {
		family = AF_INET;
		addr = &((const struct sockaddr_in *)(const void *)dst)->sin_addr;
	} else if (dst->sa_family == AF_INET6) {
		const struct in6_addr *a6 =
		    &((const struct sockaddr_in6 *)(const void *)dst)->sin6_addr;

		family = IN6_IS_ADDR_V4MAPPED(a6) ? AF_INET : AF_INET6;
		addr = family == AF_INET ? (const void *)&a6->s6_addr[12] : (const void *)a6;
	} else {
		return fail(NULL, err, -EAFNOSUPPORT, "route lookup: address family %d",
			    dst->sa_family);
	}
	inet_ntop(family, addr, text, INET6_ADDRSTRLEN);

	nlh = mnl_nlmsg_put_header(req.buf);
	nlh->nlmsg_type = RTM_GETROUTE;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (unsigned char)family;
	rtm->rtm_dst_len = family == AF_INET ? 32 : 128;
	mnl_attr_put(nlh, RTA_DST, family == AF_INET ? 4 : 16, addr);
	rc = talk(l, nlh, route_cb, ri);
	if (rc)
		return fail(l, err, rc, "route to %s", text);
	if (!ri->oif)
		return fail(NULL, err, -ENETUNREACH, "route to %s: no outgoing interface", text);
	rc = link_get(l, NULL, (int)ri->oif, li);
	if (rc)
		return fail(l, err, rc, "route to %s: interface %u", text, ri->oif);
	return 0;
}

int weft_link_route_mtu(struct weft_link *l, const struct sockaddr *dst,
			char ifname[static IFNAMSIZ], unsigned *mtu, char err[static WEFT_ERRLEN])
{
	struct route_info ri;
	struct link_info li;
	char text[INET6_ADDRSTRLEN];
	int rc;

	*mtu = 0;
	ifname[0] = '\0';
	rc = route_get(l, dst, &ri, &li, text, err);
	if (rc)
		return rc;
	snprintf(ifname, IFNAMSIZ, "%s", li.name);
	*mtu = ri.mtu && ri.mtu < li.mtu ? ri.mtu : li.mtu;
	return 0;
}

int weft_link_path(struct weft_link *l, const struct sockaddr *dst, struct weft_link_path *path,
		   char err[static WEFT_ERRLEN])
{
	struct route_info ri;
	struct link_info li;
	char text[INET6_ADDRSTRLEN];
	int rc;

	memset(path, 0, sizeof(*path));
	rc = route_get(l, dst, &ri, &li, text, err);
	if (rc)
		return rc;
	path->ifindex = (int)ri.oif;
	/* Administratively up and with a carrier: the kernel keeps a route
	 * through an interface that lost its carrier. */
	path->usable = (li.flags & (IFF_UP | IFF_LOWER_UP)) == (IFF_UP | IFF_LOWER_UP);
	memcpy(path->gateway, ri.gateway, sizeof(path->gateway));
	memcpy(path->prefsrc, ri.prefsrc, sizeof(path->prefsrc));
	return 0;
}
