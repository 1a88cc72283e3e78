/* SPDX-License-Identifier: MIT */
/* Throws bad input at weftd, for tests/netns/garbage.sh. Each UDP mode sends
 * to IP:PORT from an unbound socket and ends with one line
 *   tally sent=N empty=E garbage=G unknown_index=U hello=H auth_failed=A
 *         counter_limit=C replayed=R
 * saying which of the daemon's counters each datagram should land in, as
 * weft_wire_parse() classifies it: `empty' datagrams (0 bytes) are not part of
 * `garbage', `hello' is a HELLO that parses (the daemon's handshake_rate,
 * handshake_auth, handshake_replay or handshake_stale), `replayed' a captured
 * DATA datagram sent again (replayed or too_old).
 *
 *   garbler random IP PORT COUNT SEED    random bytes, random lengths 1..1500
 *   garbler headed IP PORT COUNT SEED    a valid header of a random type 1..4,
 *                                        random bytes after it, lengths 4..1500
 *   garbler trunc IP PORT REPEAT         0..3 bytes, each type cut short of its
 *                                        minimum, over its maximum, unknown
 *                                        types, reserved bits set
 *   garbler big IP PORT INDEX            65000-byte garbage, a 65000-byte DATA to
 *                                        an unknown index, a 65507-byte DATA to
 *                                        INDEX (forged)
 *   garbler data IP PORT COUNT INDEX|random [limit]
 *                                        well-formed DATA with garbage ciphertext,
 *                                        fresh counters (limit: counters >= 2^60)
 *   garbler hellos IP PORT COUNT SEED    HELLOs with garbage Noise messages
 *   garbler replay IP PORT PCAP SRC DST TYPE MAX REPEAT
 *                                        send again the UDP payloads SRC -> DST:PORT
 *                                        of TYPE (1 or 4) found in PCAP (at most MAX,
 *                                        each REPEAT times); a HELLO only if a
 *                                        WELCOME DST -> SRC answered it
 *   garbler index PCAP SRC DST PORT      print the receiver index of the last DATA
 *                                        SRC -> DST:PORT in PCAP
 *   garbler frame IFNAME DSTMAC LEN COUNT
 *                                        raw Ethernet frames of LEN bytes (ethertype
 *                                        0x88b5) through an AF_PACKET socket; prints
 *                                        "frames sent=N failed=F errno=E"
 *
 * Sends are paced at GARBLER_PPS datagrams per second (default 20000) so the
 * receiving socket's buffer, not the daemon, is never what drops them. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <linux/if_packet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/wire.h"

#define BIG_LEN	      65000
#define MAX_UDP_LEN   65507 /* the largest UDP payload over IPv4 */
#define PCAP_MAX      (64u << 20)
#define PCAP_PAYLOADS 4096

static void WEFT_PRINTF(1, 2) failf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("garbler: FAIL: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || end == s || v > max)
		failf("bad number `%s' (at most %lu)", s, max);
	return v;
}

/* ---- a reproducible generator (xorshift64*): the tests print their seed ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static void rng_seed(uint64_t seed)
{
	rng_state = seed ? seed * 0x9e3779b97f4a7c15ULL : 0x9e3779b97f4a7c15ULL;
}

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void rng_fill(uint8_t *b, size_t len)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)(rng() >> 56);
}

/* ---- pacing and the tally ------------------------------------------------- */

struct tally {
	unsigned long sent, empty, garbage, unknown_index, hello, auth_failed, counter_limit,
	    replayed;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t pace_start;
static unsigned long pace_n, pace_pps;

/* Called before each send: sleeps until this send is due at the set rate. */
static void pace(void)
{
	if (!pace_pps) {
		const char *e = getenv("GARBLER_PPS");

		pace_pps = e ? num(e, 10000000) : 20000;
		if (!pace_pps)
			pace_pps = 20000;
		pace_start = now_ns();
	}
	uint64_t due = pace_start + (uint64_t)pace_n * 1000000000ULL / pace_pps;
	uint64_t t = now_ns();

	if (due > t) {
		struct timespec ts = {.tv_sec = (time_t)((due - t) / 1000000000ULL),
				      .tv_nsec = (long)((due - t) % 1000000000ULL)};

		nanosleep(&ts, NULL);
	}
	pace_n++;
}

static void tally_print(const struct tally *t)
{
	printf("tally sent=%lu empty=%lu garbage=%lu unknown_index=%lu hello=%lu auth_failed=%lu "
	       "counter_limit=%lu replayed=%lu\n",
	       t->sent, t->empty, t->garbage, t->unknown_index, t->hello, t->auth_failed,
	       t->counter_limit, t->replayed);
}

/* ---- UDP ---------------------------------------------------------------------- */

static int udp_fd = -1;
static struct sockaddr_in udp_dst;

static void udp_open(const char *ip, const char *port)
{
	int sz = 4 << 20;

	memset(&udp_dst, 0, sizeof(udp_dst));
	udp_dst.sin_family = AF_INET;
	udp_dst.sin_port = htons((uint16_t)num(port, 65535));
	if (inet_pton(AF_INET, ip, &udp_dst.sin_addr) != 1)
		failf("bad IPv4 address `%s'", ip);
	udp_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (udp_fd < 0)
		failf("socket: %s", strerror(errno));
	/* Room for a whole 64 KiB datagram (fragmented by the IP layer). */
	(void)setsockopt(udp_fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
}

static void udp_send(const uint8_t *buf, size_t len)
{
	pace();
	/* A full send buffer or a transient error is retried a few times; the
	 * test counts on every datagram leaving. */
	for (int tries = 0;; tries++) {
		if (sendto(udp_fd, buf, len, 0, (const struct sockaddr *)&udp_dst,
			   sizeof(udp_dst)) == (ssize_t)len)
			return;
		if (tries == 100 || (errno != ENOBUFS && errno != EAGAIN && errno != EINTR &&
				     errno != ECONNREFUSED))
			failf("sendto %zu bytes: %s", len, strerror(errno));
		usleep(1000);
	}
}

/* Where the daemon should count @buf: parse it like the router does. A DATA
 * datagram to @known (nonzero) is forged (auth_failed, or counter_limit past
 * 2^60); to any other index, unknown. WELCOME and CONFIRM carry an index no
 * handshake of the daemon's has. */
static void classify(struct tally *t, const uint8_t *buf, size_t len, uint32_t known)
{
	struct weft_wire_msg msg;

	t->sent++;
	if (len == 0) {
		t->empty++;
		return;
	}
	if (weft_wire_parse(&msg, buf, len) < 0) {
		t->garbage++;
		return;
	}
	/* Another protocol version's handshake (headed and trunc write version
	 * 1's zero byte): refused by name, a handshake reason. */
	if (msg.type != WEFT_WIRE_DATA && msg.version != WEFT_WIRE_VERSION) {
		t->hello++;
		return;
	}
	switch (msg.type) {
	case WEFT_WIRE_HELLO:
		t->hello++;
		break;
	case WEFT_WIRE_DATA:
		if (known && msg.receiver_index == known) {
			if (msg.counter >= (1ULL << 60))
				t->counter_limit++;
			else
				t->auth_failed++;
			break;
		}
		/* fall through */
	default:
		t->unknown_index++;
	}
}

static void send_counted(struct tally *t, const uint8_t *buf, size_t len, uint32_t known)
{
	classify(t, buf, len, known);
	udp_send(buf, len);
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* A random receiver index that is not @avoid and not 0. */
static uint32_t other_index(uint32_t avoid)
{
	uint32_t v;

	do
		v = (uint32_t)rng();
	while (v == 0 || v == avoid);
	return v;
}

static void mode_random(unsigned long count, bool headed)
{
	static uint8_t buf[1500];
	struct tally t = {0};

	for (unsigned long i = 0; i < count; i++) {
		size_t len = headed ? 4 + rng() % 1497 : 1 + rng() % 1500;

		rng_fill(buf, len);
		if (headed) {
			buf[0] = (uint8_t)(1 + rng() % 4);
			buf[1] = buf[2] = buf[3] = 0;
		}
		send_counted(&t, buf, len, 0);
	}
	tally_print(&t);
}

static void mode_trunc(unsigned long repeat)
{
	/* Minimum length of each type (a Noise message of 0 bytes would be
	 * shorter than its empty-payload size). */
	static const struct {
		uint8_t type;
		size_t min, max;
	} types[] = {
	    {WEFT_WIRE_HELLO, WEFT_WIRE_HELLO_HEADER_LEN + WEFT_WIRE_HELLO_NOISE_MIN,
	     WEFT_WIRE_HELLO_HEADER_LEN + WEFT_WIRE_NOISE_MAX},
	    {WEFT_WIRE_WELCOME, WEFT_WIRE_WELCOME_HEADER_LEN + WEFT_WIRE_WELCOME_NOISE_MIN,
	     WEFT_WIRE_WELCOME_HEADER_LEN + WEFT_WIRE_NOISE_MAX},
	    {WEFT_WIRE_CONFIRM, WEFT_WIRE_CONFIRM_HEADER_LEN + WEFT_WIRE_CONFIRM_NOISE_MIN,
	     WEFT_WIRE_CONFIRM_HEADER_LEN + WEFT_WIRE_NOISE_MAX},
	    {WEFT_WIRE_DATA, WEFT_WIRE_DATA_MIN_LEN, 0},
	};
	static uint8_t buf[2048];
	struct tally t = {0};

	for (unsigned long r = 0; r < repeat; r++) {
		/* Shorter than the header: nothing, then 1..3 bytes. */
		for (size_t len = 0; len < WEFT_WIRE_HEADER_LEN; len++) {
			rng_fill(buf, len);
			if (len)
				buf[0] = (uint8_t)(1 + r % 4);
			memset(buf + 1, 0, len > 1 ? len - 1 : 0);
			send_counted(&t, buf, len, 0);
		}
		for (size_t k = 0; k < WEFT_ARRAY_SIZE(types); k++) {
			/* Every length from the bare header up to one byte short. */
			for (size_t len = WEFT_WIRE_HEADER_LEN; len < types[k].min; len++) {
				rng_fill(buf, len);
				buf[0] = types[k].type;
				buf[1] = buf[2] = buf[3] = 0;
				send_counted(&t, buf, len, 0);
			}
			if (types[k].max) {
				size_t len = types[k].max + 1;

				rng_fill(buf, len);
				buf[0] = types[k].type;
				buf[1] = buf[2] = buf[3] = 0;
				send_counted(&t, buf, len, 0);
			}
			/* The right length, but a reserved bit set. */
			rng_fill(buf, types[k].min);
			buf[0] = types[k].type;
			buf[1] = buf[2] = 0;
			buf[3] = 0x01;
			send_counted(&t, buf, types[k].min, 0);
		}
		/* Unknown types, otherwise plausible. */
		static const uint8_t bad_types[] = {0, 5, 0x80, 0xff};
		for (size_t k = 0; k < sizeof(bad_types); k++) {
			rng_fill(buf, 64);
			buf[0] = bad_types[k];
			buf[1] = buf[2] = buf[3] = 0;
			send_counted(&t, buf, 64, 0);
		}
	}
	tally_print(&t);
}

static void mode_big(uint32_t known)
{
	static uint8_t buf[MAX_UDP_LEN];
	struct tally t = {0};

	/* Garbage: an unknown type. */
	rng_fill(buf, BIG_LEN);
	buf[0] = 0xff;
	send_counted(&t, buf, BIG_LEN, known);
	usleep(20000);
	/* A handshake type far over its maximum. */
	rng_fill(buf, BIG_LEN);
	buf[0] = WEFT_WIRE_HELLO;
	buf[1] = buf[2] = buf[3] = 0;
	send_counted(&t, buf, BIG_LEN, known);
	usleep(20000);
	/* Well-formed DATA to an index nobody has. */
	rng_fill(buf, BIG_LEN);
	weft_wire_put_data_header(buf, other_index(known), 1);
	send_counted(&t, buf, BIG_LEN, known);
	usleep(20000);
	/* The largest DATA UDP over IPv4 carries, to a live session: forged. */
	if (known) {
		rng_fill(buf, MAX_UDP_LEN);
		weft_wire_put_data_header(buf, known, (1ULL << 59) + (rng() >> 8));
		send_counted(&t, buf, MAX_UDP_LEN, known);
	}
	tally_print(&t);
}

static void mode_data(unsigned long count, uint32_t known, bool limit)
{
	static uint8_t buf[1500];
	struct tally t = {0};

	for (unsigned long i = 0; i < count; i++) {
		size_t len =
		    WEFT_WIRE_DATA_MIN_LEN + rng() % (sizeof(buf) - WEFT_WIRE_DATA_MIN_LEN + 1);
		/* Counters the replay window has not seen (ahead of it), or past
		 * the limit. */
		uint64_t counter =
		    limit ? (1ULL << 60) + (rng() >> 4) : (1ULL << 59) + (rng() >> 8);

		rng_fill(buf, len);
		weft_wire_put_data_header(buf, known ? known : other_index(0), counter);
		send_counted(&t, buf, len, known);
	}
	tally_print(&t);
}

static void mode_hellos(unsigned long count)
{
	static uint8_t buf[WEFT_WIRE_HELLO_HEADER_LEN + WEFT_WIRE_NOISE_MAX];
	struct tally t = {0};

	for (unsigned long i = 0; i < count; i++) {
		size_t noise = WEFT_WIRE_HELLO_NOISE_MIN + rng() % 200;
		size_t len;

		rng_fill(buf, sizeof(buf));
		if (weft_wire_build_hello(buf, sizeof(buf), other_index(0),
					  buf + WEFT_WIRE_HELLO_HEADER_LEN, noise, &len) < 0)
			failf("cannot build a HELLO");
		send_counted(&t, buf, len, 0);
	}
	tally_print(&t);
}

/* ---- pcap (the classic format tcpdump -w writes; Ethernet, IPv4) ---------- */

struct payload {
	uint32_t src, dst; /* network order */
	uint16_t dport;	   /* host order */
	const uint8_t *data;
	size_t len;
};

static uint8_t *pcap_buf;
static struct payload pcap_pl[PCAP_PAYLOADS];
static size_t pcap_n;

static uint32_t rd32(const uint8_t *p, bool swap)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return swap ? __builtin_bswap32(v) : v;
}

/* Reads every unfragmented IPv4 UDP payload of @path into pcap_pl. */
static void pcap_load(const char *path)
{
	FILE *f = fopen(path, "rb");
	size_t len, off;
	bool swap;

	if (!f)
		failf("%s: %s", path, strerror(errno));
	pcap_buf = malloc(PCAP_MAX);
	if (!pcap_buf)
		failf("out of memory");
	len = fread(pcap_buf, 1, PCAP_MAX, f);
	fclose(f);
	if (len < 24)
		failf("%s: not a pcap file (%zu bytes)", path, len);
	uint32_t magic = rd32(pcap_buf, false);
	if (magic == 0xa1b2c3d4 || magic == 0xa1b23c4d)
		swap = false;
	else if (magic == 0xd4c3b2a1 || magic == 0x4d3cb2a1)
		swap = true;
	else
		failf("%s: not a classic pcap file (magic %08x)", path, magic);
	if (rd32(pcap_buf + 20, swap) != 1)
		failf("%s: link type %u, expected Ethernet", path, rd32(pcap_buf + 20, swap));
	for (off = 24; off + 16 <= len && pcap_n < PCAP_PAYLOADS;) {
		size_t cap = rd32(pcap_buf + off + 8, swap);
		const uint8_t *p = pcap_buf + off + 16;

		if (cap > len - off - 16)
			break; /* the last record, cut short by a killed tcpdump */
		off += 16 + cap;
		if (cap < 14 + 20 + 8 || p[12] != 0x08 || p[13] != 0x00)
			continue;
		const uint8_t *ip = p + 14;
		size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
		size_t tot = ((size_t)ip[2] << 8) | ip[3];

		if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != IPPROTO_UDP || tot > cap - 14 ||
		    tot < ihl + 8 || (((ip[6] << 8) | ip[7]) & 0x3fff))
			continue; /* not IPv4 UDP, cut short, or a fragment */
		const uint8_t *udp = ip + ihl;
		size_t ulen = ((size_t)udp[4] << 8) | udp[5];

		if (ulen < 8 || ulen > tot - ihl)
			continue;
		struct payload *pl = &pcap_pl[pcap_n++];
		memcpy(&pl->src, ip + 12, 4);
		memcpy(&pl->dst, ip + 16, 4);
		pl->dport = (uint16_t)((udp[2] << 8) | udp[3]);
		pl->data = udp + 8;
		pl->len = ulen - 8;
	}
}

static uint32_t ip4(const char *s)
{
	struct in_addr a;

	if (inet_pton(AF_INET, s, &a) != 1)
		failf("bad IPv4 address `%s'", s);
	return a.s_addr;
}

/* A HELLO SRC -> DST whose sender index a WELCOME DST -> SRC carries back. */
static bool hello_answered(const struct payload *h)
{
	uint32_t idx = get32(h->data + 4);

	for (size_t i = 0; i < pcap_n; i++) {
		const struct payload *w = &pcap_pl[i];

		if (w->src == h->dst && w->dst == h->src &&
		    w->len >= WEFT_WIRE_WELCOME_HEADER_LEN && w->data[0] == WEFT_WIRE_WELCOME &&
		    get32(w->data + 8) == idx)
			return true;
	}
	return false;
}

static void mode_replay(const char *path, const char *src, const char *dst, uint8_t type,
			unsigned long max, unsigned long repeat)
{
	const struct payload *sel[PCAP_PAYLOADS];
	uint32_t s = ip4(src), d = ip4(dst);
	uint16_t port = ntohs(udp_dst.sin_port);
	struct tally t = {0};
	size_t n = 0;

	pcap_load(path);
	for (size_t i = 0; i < pcap_n && n < max; i++) {
		const struct payload *pl = &pcap_pl[i];

		if (pl->src != s || pl->dst != d || pl->dport != port || pl->len < 4 ||
		    pl->data[0] != type)
			continue;
		if (type == WEFT_WIRE_HELLO && !hello_answered(pl))
			continue;
		sel[n++] = pl;
	}
	if (n == 0)
		failf("%s: no %s datagram %s -> %s:%u%s", path,
		      type == WEFT_WIRE_HELLO ? "HELLO" : "DATA", src, dst, port,
		      type == WEFT_WIRE_HELLO ? " that was answered" : "");
	for (unsigned long r = 0; r < repeat; r++) {
		for (size_t i = 0; i < n; i++) {
			struct weft_wire_msg msg;

			t.sent++;
			if (weft_wire_parse(&msg, sel[i]->data, sel[i]->len) < 0)
				t.garbage++;
			else if (type == WEFT_WIRE_HELLO)
				t.hello++;
			else
				t.replayed++;
			udp_send(sel[i]->data, sel[i]->len);
		}
	}
	tally_print(&t);
}

static void mode_index(const char *path, const char *src, const char *dst, const char *port)
{
	uint32_t s = ip4(src), d = ip4(dst), idx = 0;
	uint16_t p = (uint16_t)num(port, 65535);

	pcap_load(path);
	for (size_t i = 0; i < pcap_n; i++) {
		const struct payload *pl = &pcap_pl[i];

		if (pl->src == s && pl->dst == d && pl->dport == p &&
		    pl->len >= WEFT_WIRE_DATA_MIN_LEN && pl->data[0] == WEFT_WIRE_DATA)
			idx = get32(pl->data + 4);
	}
	if (!idx)
		failf("%s: no DATA datagram %s -> %s:%s", path, src, dst, port);
	printf("%u\n", idx);
}

/* ---- raw frames --------------------------------------------------------------- */

static void mode_frame(const char *ifname, const char *dstmac, unsigned long len,
		       unsigned long count)
{
	static uint8_t frame[65536];
	struct sockaddr_ll sll = {0};
	struct ifreq ifr = {0};
	unsigned long sent = 0, failed = 0;
	int fd, last_err = 0;
	unsigned m[6];

	if (sscanf(dstmac, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		failf("bad MAC `%s'", dstmac);
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		failf("AF_PACKET socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		failf("%s: no hardware address: %s", ifname, strerror(errno));
	sll.sll_family = AF_PACKET;
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	sll.sll_halen = ETH_ALEN;
	if (!sll.sll_ifindex)
		failf("no interface %s", ifname);
	for (int i = 0; i < 6; i++)
		frame[i] = (uint8_t)m[i];
	memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	frame[12] = 0x88; /* local experimental ethertype: nobody answers it */
	frame[13] = 0xb5;
	for (size_t i = 14; i < sizeof(frame); i++)
		frame[i] = (uint8_t)i;
	memcpy(sll.sll_addr, frame, ETH_ALEN);
	for (unsigned long i = 0; i < count; i++) {
		pace();
		if (sendto(fd, frame, len, 0, (struct sockaddr *)&sll, sizeof(sll)) ==
		    (ssize_t)len) {
			sent++;
		} else {
			failed++;
			last_err = errno;
		}
	}
	close(fd);
	printf("frames sent=%lu failed=%lu errno=%s\n", sent, failed,
	       last_err ? strerror(last_err) : "-");
}

static void usage(void)
{
	fputs("usage: garbler random|headed IP PORT COUNT SEED\n"
	      "       garbler trunc IP PORT REPEAT\n"
	      "       garbler big IP PORT INDEX\n"
	      "       garbler data IP PORT COUNT INDEX|random [limit]\n"
	      "       garbler hellos IP PORT COUNT SEED\n"
	      "       garbler replay IP PORT PCAP SRC DST TYPE MAX REPEAT\n"
	      "       garbler index PCAP SRC DST PORT\n"
	      "       garbler frame IFNAME DSTMAC LEN COUNT\n",
	      stderr);
	exit(2);
}

int main(int argc, char **argv)
{
	const char *m = argc > 1 ? argv[1] : "";

	if (sodium_init() < 0)
		failf("libsodium did not initialise");
	rng_seed(randombytes_random());
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (!strcmp(m, "index") && argc == 6) {
		mode_index(argv[2], argv[3], argv[4], argv[5]);
		return 0;
	}
	if (!strcmp(m, "frame") && argc == 6) {
		mode_frame(argv[2], argv[3], num(argv[4], 65535), num(argv[5], 1000000));
		return 0;
	}
	if (argc < 4)
		usage();
	udp_open(argv[2], argv[3]);
	if ((!strcmp(m, "random") || !strcmp(m, "headed")) && argc == 6) {
		rng_seed(num(argv[5], UINT32_MAX));
		mode_random(num(argv[4], 10000000), m[0] == 'h');
	} else if (!strcmp(m, "trunc") && argc == 5) {
		mode_trunc(num(argv[4], 100000));
	} else if (!strcmp(m, "big") && argc == 5) {
		mode_big((uint32_t)num(argv[4], UINT32_MAX));
	} else if (!strcmp(m, "data") && (argc == 6 || (argc == 7 && !strcmp(argv[6], "limit")))) {
		uint32_t known = strcmp(argv[5], "random") ? (uint32_t)num(argv[5], UINT32_MAX) : 0;

		if (argc == 7 && !known)
			failf("limit needs a known index");
		mode_data(num(argv[4], 10000000), known, argc == 7);
	} else if (!strcmp(m, "hellos") && argc == 6) {
		rng_seed(num(argv[5], UINT32_MAX));
		mode_hellos(num(argv[4], 10000000));
	} else if (!strcmp(m, "replay") && argc == 10) {
		unsigned long type = num(argv[7], 255);

		if (type != WEFT_WIRE_HELLO && type != WEFT_WIRE_DATA)
			failf("replay: TYPE is 1 (HELLO) or 4 (DATA)");
		mode_replay(argv[4], argv[5], argv[6], (uint8_t)type, num(argv[8], PCAP_PAYLOADS),
			    num(argv[9], 100000));
	} else {
		usage();
	}
	close(udp_fd);
	return 0;
}
