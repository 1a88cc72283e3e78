/* SPDX-License-Identifier: MIT */
/* Handshake floods and a slow genuine handshake, for
 * tests/netns/hardening_handshake.sh. PROTO is the protocol version of the
 * daemon under test: 2 (this tree), or 1 to check that the test fails
 * against a daemon from before version 2 (the test picks it from the binary).
 *
 *   hsflood junk DST PORT SRC RATE SECONDS PROTO
 *       HELLO-shaped junk through a raw socket, each datagram from SRC: an
 *       IPv4 address, or ADDR/BITS for a random address in that prefix (and a
 *       random port). In version PROTO's framing: 1 is 01 00 00 00 and the
 *       lengths a version 1 HELLO has, 2 is 01 02 00 00 with random MACs,
 *       "both" alternates; "garbage" is the same lengths of an unknown type
 *       (ff): what a datagram costs the daemon before any handshake work.
 *   hsflood valid DST PORT SRC RATE SECONDS PROTO SECRET_FILE NETWORK POOL
 *       what a member can send: POOL genuine HELLOs (fresh ephemeral keys,
 *       valid mac1) built first, then sent round robin from forged sources
 *       as above.
 *   hsflood join DST PORT PROTO SECRET_FILE NETWORK DELAY_MS TIMEOUT_MS
 *       a member joining from this host's own address, on a slow path: HELLO
 *       (again after 1 s without an answer; a COOKIE makes it send the same
 *       HELLO with mac2 at once), then DELAY_MS between the WELCOME and its
 *       CONFIRM. Succeeds when the daemon's first DATA arrives on the new
 *       session: it installed it. Prints
 *         joined in MS ms: hellos=H cookies=C
 *       or fails (exit 1) after TIMEOUT_MS.
 *
 * junk and valid pace their sends at RATE a second and end with
 *   sent N in S s (R/s)
 * Sources must be routable back through this host for the daemon's answers
 * to go anywhere (the test routes the prefixes to it, where they die). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/cookie.h"
#include "common/handshake.h"
#include "common/key.h"
#include "common/noise.h"
#include "common/wire.h"

#define WEFT_TOOL_NAME "hsflood"
#include "tests/netns/tool_common.h"

#define HELLO_DGRAM_MAX 256

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || end == s || v > max)
		failf("bad number `%s' (at most %lu)", s, max);
	return v;
}

static uint64_t mono_ms(void)
{
	return now_ns() / 1000000;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void read_secret(const char *path, uint8_t psk[static WEFT_KEY_LEN])
{
	char text[256], err[WEFT_ERRLEN];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		failf("%s: %s", path, strerror(errno));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	while (n && (text[n - 1] == '\n' || text[n - 1] == '\r' || text[n - 1] == ' '))
		text[--n] = '\0';
	if (weft_key_decode(psk, text, err) < 0)
		failf("%s: %s", path, err);
}

static uint32_t random_index(void)
{
	uint32_t v = 0;

	while (!v)
		v = randombytes_random();
	return v;
}

/* ---- forged sources ----------------------------------------------------------- */

struct sources {
	uint32_t base, mask; /* host order; mask 0: always base */
	bool random_port;
};

static void sources_parse(struct sources *s, const char *spec)
{
	char buf[64], *slash;
	struct in_addr a;
	unsigned long bits = 32;

	snprintf(buf, sizeof(buf), "%s", spec);
	slash = strchr(buf, '/');
	if (slash) {
		*slash = '\0';
		bits = num(slash + 1, 32);
	}
	if (inet_pton(AF_INET, buf, &a) != 1)
		failf("bad source `%s'", spec);
	s->mask = bits >= 32 ? 0 : (uint32_t)((1ULL << (32 - bits)) - 1);
	s->base = ntohl(a.s_addr) & ~s->mask;
	s->random_port = bits < 32;
}

static int raw_fd = -1;
static struct sockaddr_in raw_dst;

static void raw_open(const char *ip, const char *port)
{
	int one = 1;

	memset(&raw_dst, 0, sizeof(raw_dst));
	raw_dst.sin_family = AF_INET;
	raw_dst.sin_port = htons((uint16_t)num(port, 65535));
	if (inet_pton(AF_INET, ip, &raw_dst.sin_addr) != 1)
		failf("bad destination `%s'", ip);
	raw_fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
	if (raw_fd < 0)
		failf("raw socket: %s", strerror(errno));
	if (setsockopt(raw_fd, IPPROTO_IP, IP_HDRINCL, &one, sizeof(one)) < 0)
		failf("IP_HDRINCL: %s", strerror(errno));
}

/* One UDP datagram from a source drawn from @s (no UDP checksum: IPv4 allows it). */
static void raw_send(const struct sources *s, const uint8_t *payload, size_t len)
{
	static uint8_t pkt[20 + 8 + HELLO_DGRAM_MAX + 1024];
	struct iphdr *ip = (struct iphdr *)pkt;
	struct udphdr *udp = (struct udphdr *)(pkt + 20);
	uint32_t src = s->base | (s->mask ? randombytes_uniform(s->mask + 1) : 0);

	if (s->mask && (src & s->mask) == 0)
		src |= 1; /* not the network address */
	memset(pkt, 0, 28);
	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->tot_len = htons((uint16_t)(28 + len));
	ip->saddr = htonl(src);
	ip->daddr = raw_dst.sin_addr.s_addr;
	udp->source = htons(s->random_port ? (uint16_t)(1024 + randombytes_uniform(60000)) : 6783);
	udp->dest = raw_dst.sin_port;
	udp->len = htons((uint16_t)(8 + len));
	memcpy(pkt + 28, payload, len);
	for (int tries = 0;; tries++) {
		if (sendto(raw_fd, pkt, 28 + len, 0, (const struct sockaddr *)&raw_dst,
			   sizeof(raw_dst)) == (ssize_t)(28 + len))
			return;
		if (tries == 100 || (errno != ENOBUFS && errno != EAGAIN && errno != EINTR))
			failf("sendto: %s", strerror(errno));
		usleep(200);
	}
}

/* Sleeps until send number @n is due at @rate a second from @start. */
static void pace(uint64_t start, unsigned long n, unsigned long rate)
{
	uint64_t due = start + (uint64_t)n * 1000000000ULL / rate, t = now_ns();

	if (due > t) {
		struct timespec ts = {.tv_sec = (time_t)((due - t) / 1000000000ULL),
				      .tv_nsec = (long)((due - t) % 1000000000ULL)};

		nanosleep(&ts, NULL);
	}
}

static void report(unsigned long sent, uint64_t start)
{
	double secs = (double)(now_ns() - start) / 1e9;

	printf("sent %lu in %.1f s (%.0f/s)\n", sent, secs, secs > 0 ? (double)sent / secs : 0.0);
}

/* ---- junk ----------------------------------------------------------------------- */

static void mode_junk(const struct sources *s, unsigned long rate, unsigned long secs,
		      const char *proto)
{
	uint8_t buf[HELLO_DGRAM_MAX];
	uint64_t start = now_ns(), end = start + (uint64_t)secs * 1000000000ULL;
	unsigned long n = 0;

	while (now_ns() < end) {
		/* Version 1: 8 + 48..100 bytes. Version 2: 8 + 48..100 + 32. */
		bool v2 = !strcmp(proto, "2") || (!strcmp(proto, "both") && n % 2);
		size_t len = 8 + 48 + randombytes_uniform(53) + (v2 ? 32 : 0);

		randombytes_buf(buf, len);
		buf[0] = strcmp(proto, "garbage") ? WEFT_WIRE_HELLO : 0xff;
		buf[1] = v2 ? WEFT_WIRE_VERSION : 0;
		buf[2] = buf[3] = 0;
		pace(start, n, rate);
		raw_send(s, buf, len);
		n++;
	}
	report(n, start);
}

/* ---- genuine HELLOs --------------------------------------------------------------- */

struct member {
	unsigned proto;
	uint8_t psk[WEFT_KEY_LEN], sk[WEFT_KEY_LEN], pk[WEFT_KEY_LEN];
	char network[WEFT_COOKIE_NETWORK_MAX + 1];
	struct weft_cookie_keys *keys;
	struct weft_handshake_config cfg;
};

static void member_init(struct member *m, unsigned proto, const char *secret, const char *network,
			const char *nick)
{
	memset(m, 0, sizeof(*m));
	if (proto != 1 && proto != 2)
		failf("PROTO is 1 or 2, not %u", proto);
	m->proto = proto;
	read_secret(secret, m->psk);
	snprintf(m->network, sizeof(m->network), "%s", network);
	weft_key_generate_private(m->sk);
	if (crypto_scalarmult_base(m->pk, m->sk) != 0)
		failf("cannot make a key pair");
	m->keys = weft_cookie_keys_new(m->psk, m->network);
	if (!m->keys)
		failf("cannot derive the MAC keys");
	m->cfg = (struct weft_handshake_config){
	    .static_priv = m->sk,
	    .static_pub = m->pk,
	    .psk = m->psk,
	    .network = m->network,
	    .nickname = nick,
	    .capabilities = WEFT_HANDSHAKE_CAP_MESH,
	    .macs = m->keys,
	};
}

/* Version 1's Noise state: prologue "weft/1 " || network, nothing else differs. */
static void v1_init(const struct member *m, struct weft_noise *n)
{
	char prologue[8 + WEFT_COOKIE_NETWORK_MAX];
	int plen = snprintf(prologue, sizeof(prologue), "weft/1 %s", m->network);
	struct weft_noise_config nc = {
	    .pattern = WEFT_NOISE_XXPSK0,
	    .initiator = true,
	    .prologue = (const uint8_t *)prologue,
	    .prologue_len = (size_t)plen,
	    .static_priv = m->sk,
	    .static_pub = m->pk,
	    .psk = m->psk,
	};

	if (weft_noise_init(n, &nc) < 0)
		failf("Noise init");
}

/* Our identity record for @index (the same in both versions). */
static size_t v1_identity(const struct member *m, uint32_t index, uint8_t *out, size_t cap)
{
	struct weft_handshake_identity id = {
	    .index = index,
	    .timestamp_ms = wall_ms(),
	    .capabilities = m->cfg.capabilities,
	};
	size_t len;

	snprintf(id.nickname, sizeof(id.nickname), "%s", m->cfg.nickname);
	if (weft_handshake_identity_encode(&id, out, cap, &len) < 0)
		failf("identity record");
	return len;
}

/* A whole HELLO datagram of @m's version into @buf; @hs (version 2) or @n
 * (version 1) keeps the state for the WELCOME. */
static size_t write_hello(struct member *m, struct weft_handshake *hs, struct weft_noise *n,
			  uint32_t index, uint8_t *buf, size_t cap)
{
	char err[WEFT_ERRLEN];
	size_t len;

	if (m->proto == 2) {
		if (weft_handshake_write_hello_datagram(hs, &m->cfg, index, wall_ms(), buf, cap,
							&len, err) < 0)
			failf("HELLO: %s", err);
		return len;
	}
	uint8_t record[64];
	size_t rlen = v1_identity(m, index, record, sizeof(record));

	v1_init(m, n);
	buf[0] = WEFT_WIRE_HELLO;
	buf[1] = buf[2] = buf[3] = 0;
	weft_put_be32(buf + 4, index);
	if (weft_noise_write(n, record, rlen, buf + 8, cap - 8, &len) < 0)
		failf("Noise message 1");
	return 8 + len;
}

static void mode_valid(const struct sources *s, unsigned long rate, unsigned long secs,
		       struct member *m, unsigned long pool_n)
{
	uint8_t(*pool)[HELLO_DGRAM_MAX] = calloc(pool_n, HELLO_DGRAM_MAX);
	size_t *lens = calloc(pool_n, sizeof(size_t));
	struct weft_handshake *hs = weft_handshake_new();
	struct weft_noise *n = weft_noise_new();
	uint64_t start, end;
	unsigned long sent = 0;

	if (!pool || !lens || !hs || !n)
		failf("out of memory");
	for (unsigned long i = 0; i < pool_n; i++)
		lens[i] = write_hello(m, hs, n, random_index(), pool[i], HELLO_DGRAM_MAX);
	printf("built %lu HELLOs\n", pool_n);
	fflush(stdout);
	start = now_ns();
	end = start + (uint64_t)secs * 1000000000ULL;
	while (now_ns() < end) {
		pace(start, sent, rate);
		raw_send(s, pool[sent % pool_n], lens[sent % pool_n]);
		sent++;
	}
	report(sent, start);
	weft_handshake_free(hs);
	weft_noise_free(n);
	free(pool);
	free(lens);
}

/* ---- a slow genuine handshake ------------------------------------------------------- */

static size_t udp_recv(int fd, uint8_t *buf, size_t cap, uint64_t deadline)
{
	for (uint64_t t = mono_ms(); t < deadline; t = mono_ms()) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&p, 1, (int)(deadline - t)) <= 0)
			continue;
		r = recv(fd, buf, cap, 0);
		if (r > 0)
			return (size_t)r;
	}
	return 0;
}

static void udp_send(int fd, const uint8_t *buf, size_t len)
{
	if (send(fd, buf, len, 0) != (ssize_t)len && errno != ECONNREFUSED)
		failf("send: %s", strerror(errno));
}

/* Reads a WELCOME for @index into @hs or @n; writes the CONFIRM into @out.
 * Returns its length, 0 if the datagram is not that WELCOME. */
static size_t take_welcome(struct member *m, struct weft_handshake *hs, struct weft_noise *n,
			   uint32_t index, const uint8_t *buf, size_t len, uint8_t *out, size_t cap)
{
	char err[WEFT_ERRLEN];
	size_t clen;

	if (m->proto == 2) {
		struct weft_wire_msg msg;

		if (weft_wire_parse(&msg, buf, len) < 0 || msg.version != WEFT_WIRE_VERSION ||
		    msg.type != WEFT_WIRE_WELCOME || msg.receiver_index != index ||
		    weft_handshake_read_welcome(hs, msg.sender_index, msg.body, msg.body_len, err) <
			0 ||
		    weft_handshake_write_confirm_datagram(hs, msg.sender_index, out, cap, &clen,
							  err) < 0)
			return 0;
		return clen;
	}
	/* Version 1: 02 00 00 00 | sender | receiver | Noise message 2. */
	uint8_t plain[600], record[64];
	size_t plen, rlen;

	if (len < 12 + 96 || buf[0] != WEFT_WIRE_WELCOME || buf[1] ||
	    weft_get_be32(buf + 8) != index)
		return 0;
	if (weft_noise_read(n, buf + 12, len - 12, plain, sizeof(plain), &plen) < 0)
		failf("a WELCOME for our index that does not read");
	rlen = v1_identity(m, index, record, sizeof(record));
	out[0] = WEFT_WIRE_CONFIRM;
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, buf + 4, 4);
	if (weft_noise_write(n, record, rlen, out + 8, cap - 8, &clen) < 0)
		failf("Noise message 3");
	return 8 + clen;
}

static void mode_join(const char *ip, const char *port, struct member *m, unsigned long delay,
		      unsigned long timeout)
{
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct weft_handshake *hs = weft_handshake_new();
	struct weft_noise *n = weft_noise_new();
	uint8_t hello[HELLO_DGRAM_MAX], buf[2048], confirm[512];
	uint64_t start = mono_ms(), deadline = start + timeout, next_hello = 0;
	unsigned hellos = 0, cookies = 0;
	uint32_t index = 0;
	size_t hlen = 0, len, clen = 0;
	int fd;

	if (!hs || !n)
		failf("out of memory");
	dst.sin_port = htons((uint16_t)num(port, 65535));
	if (inet_pton(AF_INET, ip, &dst.sin_addr) != 1)
		failf("bad destination `%s'", ip);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		failf("UDP socket: %s", strerror(errno));
	while (mono_ms() < deadline) {
		if (!clen && mono_ms() >= next_hello) {
			index = random_index();
			hlen = write_hello(m, hs, n, index, hello, sizeof(hello));
			udp_send(fd, hello, hlen);
			hellos++;
			next_hello = mono_ms() + 1000;
		}
		len = udp_recv(fd, buf, sizeof(buf),
			       clen ? deadline : (next_hello < deadline ? next_hello : deadline));
		if (!len)
			continue;
		if (clen) {
			/* The daemon's first DATA on the session: it is installed. */
			if (len >= WEFT_WIRE_DATA_MIN_LEN && buf[0] == WEFT_WIRE_DATA && !buf[1] &&
			    weft_get_be32(buf + 4) == index) {
				printf("joined in %llu ms: hellos=%u cookies=%u\n",
				       (unsigned long long)(mono_ms() - start), hellos, cookies);
				return;
			}
			continue;
		}
		if (m->proto == 2 && buf[0] == WEFT_WIRE_COOKIE) {
			struct weft_wire_msg msg;
			uint8_t cookie[WEFT_COOKIE_LEN];
			char err[WEFT_ERRLEN];

			if (weft_wire_parse(&msg, buf, len) == 0 &&
			    weft_handshake_read_cookie(hs, m->keys, &msg, cookie, hello,
						       sizeof(hello), &hlen, err) == 0) {
				udp_send(fd, hello, hlen);
				cookies++;
				next_hello = mono_ms() + 1000;
			}
			continue;
		}
		clen = take_welcome(m, hs, n, index, buf, len, confirm, sizeof(confirm));
		if (clen) {
			/* The slow path: the CONFIRM leaves DELAY_MS late. */
			usleep((useconds_t)delay * 1000);
			udp_send(fd, confirm, clen);
		}
	}
	failf("no session within %lu ms (hellos=%u cookies=%u, %s)", timeout, hellos, cookies,
	      clen ? "CONFIRM sent, no DATA came back" : "no WELCOME");
}

int main(int argc, char **argv)
{
	struct sources s;
	struct member m;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sodium_init() < 0)
		failf("sodium_init");
	if (argc == 8 && !strcmp(argv[1], "junk")) {
		if (strcmp(argv[7], "1") && strcmp(argv[7], "2") && strcmp(argv[7], "both") &&
		    strcmp(argv[7], "garbage"))
			failf("PROTO is 1, 2, both or garbage, not `%s'", argv[7]);
		sources_parse(&s, argv[4]);
		raw_open(argv[2], argv[3]);
		mode_junk(&s, num(argv[5], 10000000) ?: 1, num(argv[6], 3600), argv[7]);
	} else if (argc == 11 && !strcmp(argv[1], "valid")) {
		sources_parse(&s, argv[4]);
		raw_open(argv[2], argv[3]);
		member_init(&m, (unsigned)num(argv[7], 2), argv[8], argv[9], "flood");
		mode_valid(&s, num(argv[5], 10000000) ?: 1, num(argv[6], 3600), &m,
			   num(argv[10], 1000000) ?: 1);
	} else if (argc == 9 && !strcmp(argv[1], "join")) {
		member_init(&m, (unsigned)num(argv[4], 2), argv[5], argv[6], "slowjoin");
		mode_join(argv[2], argv[3], &m, num(argv[7], 60000), num(argv[8], 600000));
	} else {
		fprintf(stderr,
			"usage: hsflood junk DST PORT SRC RATE SECONDS PROTO\n"
			"       hsflood valid DST PORT SRC RATE SECONDS PROTO SECRET NETWORK "
			"POOL\n"
			"       hsflood join DST PORT PROTO SECRET NETWORK DELAY_MS TIMEOUT_MS\n");
		return 2;
	}
	return 0;
}
