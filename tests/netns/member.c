/* SPDX-License-Identifier: MIT */
/* A network member that misbehaves, for tests/netns/mesh_garbage.sh and
 * tests/netns/hardening_member.sh.
 *
 *   member SECRET_FILE KEY_FILE NETWORK NICKNAME IP PORT MODE [DAEMON_PUBKEY]
 *
 * join() handshakes with the daemon at IP:PORT as an initiator would
 * (common/handshake: HELLO with the MESH capability, retried once a second
 * for 5 s, WELCOME, CONFIRM), checks the daemon's key against DAEMON_PUBKEY
 * (base64) when given, builds the session (common/session) and waits for the
 * daemon's first DATA on it, so the session is known to be installed there.
 * Then each mode sends records, one per sealed DATA datagram (send_record()),
 * prints "sent KIND what (counter)" for each, and ends with the line
 *   tally malformed=N unknown=N stale=N conflict=N own=N relay_malformed=N
 *         probe_malformed=N
 * saying by how much each of the daemon's counters (gossip_malformed,
 * gossip_unknown, gossip_stale, gossip_conflict, gossip_own_bumped;
 * relay_malformed, probe_malformed) must grow: every other counter must not.
 *
 *   valid    one good MEMBERS entry about a made-up member, "ghost" (random
 *            key, seq 5, address 10.0.0.77:6783, no links): stored, counted
 *            nowhere, and unreachable (nobody links to it)
 *   garbage  MEMBERS records that are malformed (cut short, a count over
 *            the entries, count 0, a 33-character nickname, address family
 *            5, port 0, 9 addresses, 1025 links, a trailing byte: each also
 *            holds valid entries of "partial-N" members, which must not be
 *            stored), of format 2; the ghost entry, then the same seq with
 *            another nickname (conflict), an older seq (stale); an entry
 *            about the daemon itself with seq 2^62 (it bumps its own);
 *            RELAY with 0 and 9 hops left and one too short to hold a
 *            frame, a 3-byte PROBE, PROBE_ACKs of 5 and 7 bytes
 *
 * Both modes print "ghost KEY" (base64), for the test to find the entry in
 * the daemon's members file. Builders of valid entries use common/gossip's
 * writer; the malformed ones are written by hand (raw_entry()).
 *
 * Frames (FRAME records, as a member's bridge would send them), each mode
 * ending with its own tally line:
 *   macflood:N  N minimal frames (14 bytes, EtherType 0x88b5, to
 *               02:99:00:00:00:01) from N random unicast source MACs, as many
 *               records a datagram as fit in 1400 bytes; "tally frames=N"
 *   filter      frames the daemon must not inject, from sources
 *               02:98:00:00:00:xx: 5 STP BPDUs (01:80:c2:00:00:00), LACP
 *               (:02), 802.1X (:03), LLDP (:0e), a BPDU inside a RELAY to
 *               the daemon from us (relayed frames are filtered the same);
 *               from a multicast and from the zero source; one of 1500 bytes
 *               (more than an overlay MTU of 1423 carries); a 13-byte FRAME;
 *               four FRAME_PARTIALs with no checksum to complete (not IP,
 *               ICMP, a UDP fragment, 13 bytes); then one good frame (02:98:00:00:00:01 to broadcast, 0x88b5,
 *               "weft-good") that must arrive. "tally frame_link_local=N
 *               frame_bad_source=N frame_too_big=N bad_record=N good=1" says
 *               by how much the daemon's drops for this member must grow. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/bytes.h"
#include "common/gossip.h"
#include "common/handshake.h"
#include "common/key.h"
#include "common/relay.h"
#include "common/session.h"
#include "common/wire.h"

#define WEFT_TOOL_NAME "member"
#include "tests/netns/tool_common.h"

#define JOIN_ATTEMPTS  5 /* HELLOs, one a second */
#define FIRST_DATA_MS  5000
#define SEND_GAP_US    20000 /* between crafted datagrams */
#define GHOST_SEQ      5
#define GHOST_PORT     6783
#define OWN_SEQ	       (1ULL << 62)
#define TOO_MANY_LINKS (WEFT_GOSSIP_MAX_LINKS + 1)
#define FLOOD_PLAIN    1400 /* plaintext of one flood datagram at most */
#define FLOOD_GAP_US   2000
#define BIG_FRAME      1500
#define ETH_TYPE_TEST  0x88b5 /* IEEE local experimental */

struct tally {
	unsigned malformed, unknown, stale, conflict, own, relay_malformed, probe_malformed;
	unsigned observed_malformed, observed_unknown;
	unsigned frames, link_local, bad_source, too_big, bad_record, good;
};

struct member {
	int fd;
	struct weft_handshake_result hs; /* the daemon's key and indices */
	struct weft_session *session;
	uint8_t id[WEFT_KEY_LEN];    /* our public key */
	uint8_t ghost[WEFT_KEY_LEN]; /* the made-up member's */
	struct tally t;
};

static uint8_t pkt[WEFT_WIRE_DATA_MAX_LEN];
static uint8_t body[WEFT_WIRE_PLAIN_MAX_LEN]; /* the record every builder below writes */

static uint64_t mono_ms(void)
{
	return now_ns() / 1000000u;
}

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the network -------------------------------------------------------------- */

static int udp_connect(const char *ip, const char *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char *end;
	unsigned long p = strtoul(port, &end, 10);
	int fd;

	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1)
		failf("bad IPv4 address `%s'", ip);
	if (*end || end == port || p == 0 || p > 65535)
		failf("bad port `%s'", port);
	a.sin_port = htons((uint16_t)p);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
		failf("UDP socket to %s:%s: %s", ip, port, strerror(errno));
	return fd;
}

static void udp_send(int fd, const uint8_t *buf, size_t len)
{
	if (send(fd, buf, len, 0) != (ssize_t)len)
		failf("send %zu bytes: %s", len, strerror(errno));
}

/* A datagram from the daemon within @deadline (monotonic ms); 0 when none. */
static size_t udp_recv(int fd, uint8_t *buf, size_t cap, uint64_t deadline)
{
	for (uint64_t now = mono_ms(); now < deadline; now = mono_ms()) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, (int)(deadline - now)) <= 0)
			continue;
		n = recv(fd, buf, cap, 0);
		if (n > 0)
			return (size_t)n;
		/* An ICMP error from an earlier send (ECONNREFUSED): go on. */
	}
	return 0;
}

/* ---- joining -------------------------------------------------------------------- */

/* The WELCOME to our HELLO with index @idx, read into @hs; false if none came
 * before @deadline. Forged or stale WELCOMEs leave @hs as it was. */
static bool await_welcome(int fd, struct weft_handshake *hs, uint32_t idx, uint64_t deadline,
			  uint32_t *remote_index)
{
	static uint8_t buf[2048];
	char err[WEFT_ERRLEN];
	size_t len;

	while ((len = udp_recv(fd, buf, sizeof(buf), deadline))) {
		struct weft_wire_msg msg;

		if (weft_wire_parse(&msg, buf, len) < 0 || msg.type != WEFT_WIRE_WELCOME ||
		    msg.receiver_index != idx)
			continue;
		if (weft_handshake_read_welcome(hs, msg.sender_index, msg.body, msg.body_len, err) <
		    0) {
			printf("member: a WELCOME that does not read: %s\n", err);
			continue;
		}
		*remote_index = msg.sender_index;
		return true;
	}
	return false;
}

/* The daemon's key must be @pin_b64's when one is given. */
static void check_daemon(const struct weft_handshake *hs, const char *pin_b64)
{
	uint8_t remote[WEFT_KEY_LEN], pin[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN];

	if (weft_handshake_remote_static(hs, remote) < 0)
		failf("no daemon key after the WELCOME");
	if (!pin_b64)
		return;
	if (weft_key_decode(pin, pin_b64, err) < 0)
		failf("DAEMON_PUBKEY: %s", err);
	if (weft_handshake_check_pin(pin, true, remote, err) < 0)
		failf("the daemon is not who we expected: %s", err);
}

/* The session: initiator, so it sends with the first key of Split(). */
static void make_session(struct member *m, struct weft_handshake *hs)
{
	uint8_t *send_key = weft_key_alloc(), *recv_key = weft_key_alloc();

	if (!send_key || !recv_key)
		failf("out of memory for keys");
	if (weft_handshake_finish(hs, &m->hs, send_key, recv_key) < 0)
		failf("the handshake did not finish");
	m->session =
	    weft_session_new(send_key, recv_key, m->hs.remote_index, true, NULL, mono_ms());
	weft_key_free(send_key);
	weft_key_free(recv_key);
	if (!m->session)
		failf("out of memory for the session");
	/* No index table here: open() only compares the receiver index. */
	m->session->entry.index = m->hs.local_index;
}

/* The daemon answers a CONFIRM with DATA at once: once one opens, our
 * session is its current one. */
static void await_first_data(struct member *m)
{
	uint64_t deadline = mono_ms() + FIRST_DATA_MS;
	size_t len, plain_len;

	while ((len = udp_recv(m->fd, pkt, sizeof(pkt), deadline))) {
		struct weft_wire_msg msg;

		if (weft_wire_parse(&msg, pkt, len) == 0 && msg.type == WEFT_WIRE_DATA &&
		    msg.receiver_index == m->hs.local_index &&
		    weft_session_open(m->session, pkt, len, mono_ms(), &plain_len) >= 0)
			return;
	}
	failf("no DATA from the daemon within %d ms of the CONFIRM", FIRST_DATA_MS);
}

static void join(struct member *m, const struct weft_handshake_config *cfg, const char *pin_b64)
{
	static uint8_t buf[WEFT_WIRE_HANDSHAKE_MAX_LEN];
	struct weft_handshake *hs = weft_handshake_new();
	uint32_t idx = 0, remote_index = 0;
	char err[WEFT_ERRLEN], fpr[WEFT_KEY_FPR_LEN];
	size_t len;
	int attempt;

	if (!hs)
		failf("out of memory for the handshake");
	while (idx == 0)
		idx = randombytes_random();
	for (attempt = 1; attempt <= JOIN_ATTEMPTS; attempt++) {
		if (weft_handshake_write_hello_datagram(hs, cfg, idx, wall_ms(), buf, sizeof(buf),
							&len, err) < 0)
			failf("HELLO: %s", err);
		udp_send(m->fd, buf, len);
		if (await_welcome(m->fd, hs, idx, mono_ms() + 1000, &remote_index))
			break;
	}
	if (attempt > JOIN_ATTEMPTS)
		failf("no WELCOME after %d HELLOs", JOIN_ATTEMPTS);
	check_daemon(hs, pin_b64);
	if (weft_handshake_write_confirm_datagram(hs, remote_index, buf, sizeof(buf), &len, err) <
	    0)
		failf("CONFIRM: %s", err);
	udp_send(m->fd, buf, len);
	make_session(m, hs);
	weft_handshake_free(hs);
	await_first_data(m);
	weft_key_fingerprint(fpr, m->hs.remote_static);
	printf("joined %s (%s) after %d HELLO%s\n", m->hs.remote.nickname, fpr, attempt,
	       attempt > 1 ? "s" : "");
}

/* ---- sending records -------------------------------------------------------------- */

/* One record of @kind with @len bytes of @b, alone in a sealed DATA datagram. */
static void send_record(struct member *m, uint8_t kind, const uint8_t *b, size_t len,
			const char *what)
{
	struct weft_wire_writer w;
	size_t out_len;
	int ret;

	weft_wire_writer_init(&w, pkt + WEFT_WIRE_DATA_HEADER_LEN, WEFT_WIRE_PLAIN_MAX_LEN);
	if (weft_wire_writer_append(&w, kind, b, len) < 0)
		failf("%s: a record of %zu bytes does not fit", what, len);
	ret = weft_session_seal(m->session, pkt, w.len, mono_ms(), &out_len);
	if (ret < 0)
		failf("%s: seal: %s", what, strerror(-ret));
	udp_send(m->fd, pkt, out_len);
	printf("sent %s (%zu bytes)\n", what, out_len);
	usleep(SEND_GAP_US);
}

static const char *kind_name(uint8_t kind)
{
	switch (kind) {
	case WEFT_WIRE_REC_MEMBERS:
		return "MEMBERS";
	case WEFT_WIRE_REC_RELAY:
		return "RELAY";
	case WEFT_WIRE_REC_PROBE:
		return "PROBE";
	case WEFT_WIRE_REC_PROBE_ACK:
		return "PROBE_ACK";
	case WEFT_WIRE_REC_OBSERVED:
		return "OBSERVED";
	default:
		return "?";
	}
}

/* send_record(), counted in @counter, described as "KIND what (counter)". */
static void send_counted(struct member *m, unsigned *counter, const char *counter_name,
			 uint8_t kind, const uint8_t *b, size_t len, const char *what)
{
	char desc[200];

	snprintf(desc, sizeof(desc), "%s %s (%s)", kind_name(kind), what, counter_name);
	send_record(m, kind, b, len, desc);
	if (counter)
		(*counter)++;
}

/* ---- MEMBERS entries ------------------------------------------------------------------ */

static void ip4_addr(union weft_sockaddr *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons(port);
	if (inet_pton(AF_INET, ip, &a->in4.sin_addr) != 1)
		failf("bad IPv4 address `%s'", ip);
}

/* An entry with one IPv4 address and no links. */
static void entry_init(struct weft_gossip_entry *e, const uint8_t *key, uint64_t seq,
		       const char *nickname, const union weft_sockaddr *addr)
{
	memset(e, 0, sizeof(*e));
	e->key = key;
	e->seq = seq;
	snprintf(e->nickname, sizeof(e->nickname), "%s", nickname);
	e->n_addrs = 1;
	e->addrs[0] = *addr;
}

/* A record body of the @n entries @e, through common/gossip's writer. */
static size_t valid_record(const struct weft_gossip_entry *e, unsigned n)
{
	struct weft_gossip_writer w;

	weft_gossip_writer_init(&w, body, sizeof(body));
	for (unsigned i = 0; i < n; i++)
		if (weft_gossip_writer_add(&w, &e[i]) < 0)
			failf("the gossip writer refuses entry %u (%s)", i, e[i].nickname);
	return weft_gossip_writer_finish(&w);
}

/* A record body holding @n valid entries of fresh "partial-N" members:
 * what a malformed record wraps, and must not get stored. */
static size_t partial_record(unsigned n)
{
	static unsigned made;
	uint8_t keys[3][WEFT_KEY_LEN];
	struct weft_gossip_entry e[3];
	union weft_sockaddr a;
	char nick[16];

	if (n > 3)
		failf("at most 3 partial entries");
	ip4_addr(&a, "10.0.0.78", GHOST_PORT);
	for (unsigned i = 0; i < n; i++) {
		randombytes_buf(keys[i], WEFT_KEY_LEN);
		snprintf(nick, sizeof(nick), "partial-%u", ++made);
		entry_init(&e[i], keys[i], 1, nick, &a);
	}
	return valid_record(e, n);
}

/* An entry written by hand at @p: @nick as it is (any length), the address
 * count byte @n_addrs followed by @addrs (@addrs_len bytes, as on the wire),
 * the link count @n_links followed by @n_links ids. Returns its length. */
static size_t raw_entry(uint8_t *p, const char *nick, uint8_t n_addrs, const uint8_t *addrs,
			size_t addrs_len, uint16_t n_links)
{
	size_t nlen = strlen(nick), off = 0;

	randombytes_buf(p, WEFT_KEY_LEN);
	off += WEFT_KEY_LEN;
	weft_put_be64(p + off, 1);
	off += 8;
	p[off++] = (uint8_t)nlen;
	memcpy(p + off, nick, nlen);
	off += nlen;
	p[off++] = n_addrs;
	if (addrs_len)
		memcpy(p + off, addrs, addrs_len);
	off += addrs_len;
	weft_put_be16(p + off, n_links);
	off += 2;
	randombytes_buf(p + off, (size_t)n_links * WEFT_GOSSIP_ID_LEN);
	return off + (size_t)n_links * WEFT_GOSSIP_ID_LEN;
}

/* A valid partial entry, then the raw one as the second: count 2. */
static size_t with_raw_entry(const char *nick, uint8_t n_addrs, const uint8_t *addrs,
			     size_t addrs_len, uint16_t n_links)
{
	size_t len = partial_record(1);

	body[1] = 2;
	return len + raw_entry(body + len, nick, n_addrs, addrs, addrs_len, n_links);
}

/* ---- the modes ------------------------------------------------------------------------- */

static const uint8_t ghost_addr_wire[] = {4, 10, 0, 0, 77, GHOST_PORT >> 8, GHOST_PORT & 0xff};

static void send_ghost(struct member *m, uint64_t seq, const char *nick, unsigned *counter,
		       const char *counter_name)
{
	struct weft_gossip_entry e;
	union weft_sockaddr a;
	char what[100];
	size_t len;

	ip4_addr(&a, "10.0.0.77", GHOST_PORT);
	entry_init(&e, m->ghost, seq, nick, &a);
	len = valid_record(&e, 1);
	snprintf(what, sizeof(what), "ghost seq %llu nickname %s", (unsigned long long)seq, nick);
	send_counted(m, counter, counter_name, WEFT_WIRE_REC_MEMBERS, body, len, what);
}

static void mode_valid(struct member *m)
{
	send_ghost(m, GHOST_SEQ, "ghost", NULL, "stored");
}

/* MEMBERS records that must be dropped whole, and one of an unknown format. */
static void garbage_records(struct member *m)
{
	static uint8_t addrs[9 * sizeof(ghost_addr_wire)];
	const uint8_t port0[] = {4, 10, 0, 0, 77, 0, 0}, family5[] = {5, 10, 0, 0, 77, 0x1a, 0x7f};
	unsigned *bad = &m->t.malformed;
	size_t len;

	len = partial_record(2);
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len - 5,
		     "2 entries, the last cut short by 5 bytes");
	len = partial_record(1);
	body[1] = 200;
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len, "count 200, 1 entry");
	body[0] = WEFT_GOSSIP_FORMAT;
	body[1] = 0;
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, 2, "count 0");
	len = with_raw_entry("abcdefghijklmnopqrstuvwxyz0123456", 0, NULL, 0, 0);
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len,
		     "a nickname of 33 characters");
	len = with_raw_entry("fam5", 1, family5, sizeof(family5), 0);
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len, "address family 5");
	len = with_raw_entry("port0", 1, port0, sizeof(port0), 0);
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len, "port 0");
	for (size_t i = 0; i < 9; i++)
		memcpy(addrs + i * sizeof(ghost_addr_wire), ghost_addr_wire,
		       sizeof(ghost_addr_wire));
	len = with_raw_entry("nine", 9, addrs, sizeof(addrs), 0);
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len, "9 addresses");
	len = with_raw_entry("links", 1, ghost_addr_wire, sizeof(ghost_addr_wire), TOO_MANY_LINKS);
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len,
		     "1025 links, all present");
	len = partial_record(1);
	body[len] = 0;
	send_counted(m, bad, "malformed", WEFT_WIRE_REC_MEMBERS, body, len + 1,
		     "a byte after the last entry");
	len = partial_record(1);
	body[0] = WEFT_GOSSIP_FORMAT + 1;
	send_counted(m, &m->t.unknown, "unknown", WEFT_WIRE_REC_MEMBERS, body, len, "format 2");
}

/* The ghost, contradicted and outdated; the daemon's own entry, outbid. */
static void contradictions(struct member *m)
{
	struct weft_gossip_entry e;
	union weft_sockaddr a;
	size_t len;

	send_ghost(m, GHOST_SEQ, "ghost", NULL, "stored");
	send_ghost(m, GHOST_SEQ, "ghost2", &m->t.conflict, "conflict");
	send_ghost(m, GHOST_SEQ - 2, "ghost", &m->t.stale, "stale");
	ip4_addr(&a, "10.0.0.79", GHOST_PORT);
	entry_init(&e, m->hs.remote_static, OWN_SEQ, "impostor", &a);
	len = valid_record(&e, 1);
	send_counted(m, &m->t.own, "own", WEFT_WIRE_REC_MEMBERS, body, len,
		     "the daemon's own key, seq 2^62");
}

/* RELAY bodies: destination (the daemon), origin (us), hops, a frame from
 * 02:98:00:00:00:01 to 02:99:00:00:00:01 (ethertype 0x88b5) of @frame_len
 * bytes. The header is written by hand: weft_relay_put_header() refuses bad
 * hops. */
static size_t relay_body(const struct member *m, uint8_t hops, size_t frame_len)
{
	static const uint8_t dst[6] = {0x02, 0x99, 0, 0, 0, 0x01},
			     src[6] = {0x02, 0x98, 0, 0, 0, 0x01};
	uint8_t frame_hdr[WEFT_WIRE_FRAME_MIN_LEN];

	memcpy(frame_hdr, dst, 6);
	memcpy(frame_hdr + 6, src, 6);
	weft_put_be16(frame_hdr + 12, 0x88b5);
	memcpy(body, weft_gossip_id(m->hs.remote_static), WEFT_GOSSIP_ID_LEN);
	memcpy(body + WEFT_GOSSIP_ID_LEN, weft_gossip_id(m->id), WEFT_GOSSIP_ID_LEN);
	body[2 * WEFT_GOSSIP_ID_LEN] = hops;
	memset(body + WEFT_RELAY_HDR_LEN, 0, frame_len);
	memcpy(body + WEFT_RELAY_HDR_LEN, frame_hdr,
	       frame_len < sizeof(frame_hdr) ? frame_len : sizeof(frame_hdr));
	return WEFT_RELAY_HDR_LEN + frame_len;
}

static void bad_relays_and_probes(struct member *m)
{
	unsigned *relay = &m->t.relay_malformed, *probe = &m->t.probe_malformed;
	size_t len;

	len = relay_body(m, 0, 60);
	send_counted(m, relay, "relay_malformed", WEFT_WIRE_REC_RELAY, body, len, "0 hops left");
	len = relay_body(m, WEFT_RELAY_HOPS_MAX + 1, 60);
	send_counted(m, relay, "relay_malformed", WEFT_WIRE_REC_RELAY, body, len, "9 hops left");
	len = relay_body(m, WEFT_RELAY_HOPS_INIT, 13);
	send_counted(m, relay, "relay_malformed", WEFT_WIRE_REC_RELAY, body, len,
		     "a 13-byte frame");
	memset(body, 0, 8);
	send_counted(m, probe, "probe_malformed", WEFT_WIRE_REC_PROBE, body, 3, "of 3 bytes");
	send_counted(m, probe, "probe_malformed", WEFT_WIRE_REC_PROBE_ACK, body, 5, "of 5 bytes");
	send_counted(m, probe, "probe_malformed", WEFT_WIRE_REC_PROBE_ACK, body, 7, "of 7 bytes");
}

/* OBSERVED bodies that say nothing usable (docs/protocol.md 13.9). */
static void bad_observed(struct member *m)
{
	static const uint8_t v4[] = {WEFT_OBSERVED_FORMAT, 4, 10, 0, 0, 77, 0x1a, 0x7f, 0};
	unsigned *bad = &m->t.observed_malformed;

	memcpy(body, v4, sizeof(v4));
	send_counted(m, bad, "observed_malformed", WEFT_WIRE_REC_OBSERVED, body, 0, "empty");
	send_counted(m, bad, "observed_malformed", WEFT_WIRE_REC_OBSERVED, body, 1,
		     "a format and no address");
	send_counted(m, bad, "observed_malformed", WEFT_WIRE_REC_OBSERVED, body, 7,
		     "an IPv4 address cut short");
	send_counted(m, bad, "observed_malformed", WEFT_WIRE_REC_OBSERVED, body, 9,
		     "a byte after the address");
	body[1] = 5;
	send_counted(m, bad, "observed_malformed", WEFT_WIRE_REC_OBSERVED, body, 8, "family 5");
	body[1] = 4;
	body[6] = body[7] = 0;
	send_counted(m, bad, "observed_malformed", WEFT_WIRE_REC_OBSERVED, body, 8, "port 0");
	memcpy(body, v4, sizeof(v4));
	body[0] = WEFT_OBSERVED_FORMAT + 1;
	send_counted(m, &m->t.observed_unknown, "observed_unknown", WEFT_WIRE_REC_OBSERVED, body,
		     8, "format 2");
}

static void mode_garbage(struct member *m)
{
	garbage_records(m);
	contradictions(m);
	bad_relays_and_probes(m);
	bad_observed(m);
}

/* ---- frames ----------------------------------------------------------------------------- */

/* A frame of @len bytes (>= 14) at @f: @dst, @src, @type, then a fill byte. */
static size_t put_frame(uint8_t *f, size_t len, const uint8_t dst[static 6],
			const uint8_t src[static 6], uint16_t type)
{
	memset(f, 0x5a, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	weft_put_be16(f + 12, type);
	return len;
}

/* Records already in @w, sealed into one DATA datagram and sent. */
static void send_records(struct member *m, const struct weft_wire_writer *w)
{
	size_t out_len;
	int ret = weft_session_seal(m->session, pkt, w->len, mono_ms(), &out_len);

	if (ret < 0)
		failf("seal: %s", strerror(-ret));
	udp_send(m->fd, pkt, out_len);
}

static void mode_macflood(struct member *m, unsigned n)
{
	static const uint8_t dst[6] = {0x02, 0x99, 0, 0, 0, 0x01};
	struct weft_wire_writer w;
	unsigned sent = 0, dgrams = 0;
	uint8_t f[WEFT_WIRE_FRAME_MIN_LEN], src[6];

	while (sent < n) {
		weft_wire_writer_init(&w, pkt + WEFT_WIRE_DATA_HEADER_LEN, FLOOD_PLAIN);
		for (; sent < n; sent++) {
			randombytes_buf(src, sizeof(src));
			src[0] = (uint8_t)((src[0] & 0xfc) | 0x02); /* unicast, local */
			put_frame(f, sizeof(f), dst, src, ETH_TYPE_TEST);
			if (weft_wire_writer_append(&w, WEFT_WIRE_REC_FRAME, f, sizeof(f)) < 0)
				break;
		}
		send_records(m, &w);
		dgrams++;
		usleep(FLOOD_GAP_US);
	}
	m->t.frames = sent;
	printf("sent %u frames from random sources in %u datagrams\n", sent, dgrams);
}

/* One FRAME record of @f (@len bytes), counted in @counter. */
static void send_frame(struct member *m, unsigned *counter, const char *counter_name,
		       const uint8_t *f, size_t len, const char *what)
{
	char desc[200];

	snprintf(desc, sizeof(desc), "FRAME %s (%s)", what, counter_name);
	send_record(m, WEFT_WIRE_REC_FRAME, f, len, desc);
	(*counter)++;
}

/* A 60-byte IPv4 frame of protocol @proto, flags and fragment offset
 * @frag, 10.99.0.1 to 10.99.0.2, the rest filler. */
static size_t put_ipv4(uint8_t *f, const uint8_t dst[static 6], const uint8_t src[static 6],
		       uint8_t proto, uint16_t frag)
{
	static const uint8_t addrs[8] = {10, 99, 0, 1, 10, 99, 0, 2};
	size_t len = put_frame(f, 60, dst, src, 0x0800);
	uint8_t *ip = f + 14;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	weft_put_be16(ip + 2, (uint16_t)(len - 14));
	weft_put_be16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, addrs, sizeof(addrs));
	return len;
}

static void mode_filter(struct member *m)
{
	static const uint8_t stp[6] = {0x01, 0x80, 0xc2, 0, 0, 0x00},
			     lacp[6] = {0x01, 0x80, 0xc2, 0, 0, 0x02},
			     dot1x[6] = {0x01, 0x80, 0xc2, 0, 0, 0x03},
			     lldp[6] = {0x01, 0x80, 0xc2, 0, 0, 0x0e},
			     bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			     good_src[6] = {0x02, 0x98, 0, 0, 0, 0x01},
			     src[6] = {0x02, 0x98, 0, 0, 0, 0x02},
			     big_src[6] = {0x02, 0x98, 0, 0, 0, 0x03},
			     mcast_src[6] = {0x03, 0x98, 0, 0, 0, 0x04}, zero[6] = {0};
	/* An STP configuration BPDU: 802.3 length, LLC 42 42 03, then the BPDU. */
	static const uint8_t bpdu_llc[] = {0x42, 0x42, 0x03, 0x00, 0x00, 0x00, 0x00};
	static uint8_t f[BIG_FRAME];
	char what[64];
	size_t len;

	for (int i = 1; i <= 5; i++) {
		len = put_frame(f, 60, stp, src, 0x0026);
		memcpy(f + 14, bpdu_llc, sizeof(bpdu_llc));
		snprintf(what, sizeof(what), "STP BPDU %d to 01:80:c2:00:00:00", i);
		send_frame(m, &m->t.link_local, "frame_link_local", f, len, what);
	}
	len = put_frame(f, 124, lacp, src, 0x8809);
	send_frame(m, &m->t.link_local, "frame_link_local", f, len, "LACP to 01:80:c2:00:00:02");
	len = put_frame(f, 60, dot1x, src, 0x888e);
	send_frame(m, &m->t.link_local, "frame_link_local", f, len,
		   "802.1X EAPOL to 01:80:c2:00:00:03");
	len = put_frame(f, 60, lldp, src, 0x88cc);
	send_frame(m, &m->t.link_local, "frame_link_local", f, len, "LLDP to 01:80:c2:00:00:0e");
	/* The same through the mesh: a RELAY from us to the daemon. */
	len = relay_body(m, WEFT_RELAY_HOPS_INIT, 60);
	put_frame(body + WEFT_RELAY_HDR_LEN, 60, stp, src, 0x0026);
	memcpy(body + WEFT_RELAY_HDR_LEN + 14, bpdu_llc, sizeof(bpdu_llc));
	send_record(m, WEFT_WIRE_REC_RELAY, body, len, "RELAY of an STP BPDU (frame_link_local)");
	m->t.link_local++;

	len = put_frame(f, 60, bcast, mcast_src, ETH_TYPE_TEST);
	send_frame(m, &m->t.bad_source, "frame_bad_source", f, len, "from 03:98:00:00:00:04");
	len = put_frame(f, 60, bcast, zero, ETH_TYPE_TEST);
	send_frame(m, &m->t.bad_source, "frame_bad_source", f, len, "from 00:00:00:00:00:00");
	len = put_frame(f, BIG_FRAME, bcast, big_src, ETH_TYPE_TEST);
	send_frame(m, &m->t.too_big, "frame_too_big", f, len, "of 1500 bytes");
	len = put_frame(f, 60, bcast, src, ETH_TYPE_TEST);
	send_frame(m, &m->t.bad_record, "bad_record", f, 13, "of 13 bytes");

	/* FRAME_PARTIAL records with no TCP or UDP checksum where protocol.md
	 * 7.1 puts it: not IP, ICMP, an IPv4 fragment, and 13 bytes. */
	len = put_frame(f, 60, bcast, src, ETH_TYPE_TEST);
	send_record(m, WEFT_WIRE_REC_FRAME_PARTIAL, f, len, "FRAME_PARTIAL of no IP (bad_record)");
	m->t.bad_record++;
	len = put_ipv4(f, bcast, src, 1, 0);
	send_record(m, WEFT_WIRE_REC_FRAME_PARTIAL, f, len, "FRAME_PARTIAL of ICMP (bad_record)");
	m->t.bad_record++;
	len = put_ipv4(f, bcast, src, 17, 0x2000);
	send_record(m, WEFT_WIRE_REC_FRAME_PARTIAL, f, len,
		    "FRAME_PARTIAL of a UDP fragment (bad_record)");
	m->t.bad_record++;
	send_record(m, WEFT_WIRE_REC_FRAME_PARTIAL, f, 13, "FRAME_PARTIAL of 13 bytes (bad_record)");
	m->t.bad_record++;

	len = put_frame(f, 60, bcast, good_src, ETH_TYPE_TEST);
	memcpy(f + 14, "weft-good", 9);
	send_frame(m, &m->t.good, "good", f, len, "02:98:00:00:00:01 to broadcast");
}

/* ---- main ------------------------------------------------------------------------------- */

static void usage(void)
{
	fputs("usage: member SECRET_FILE KEY_FILE NETWORK NICKNAME IP PORT "
	      "valid|garbage|macflood:N|filter [DAEMON_PUBKEY]\n",
	      stderr);
	exit(2);
}

static void load(const char *path, uint8_t *key)
{
	char err[WEFT_ERRLEN];

	if (weft_key_load(path, key, err) < 0)
		failf("%s", err);
}

int main(int argc, char **argv)
{
	uint8_t *psk, *priv;
	char ghost_b64[WEFT_KEY_B64_LEN];
	struct member m = {0};
	unsigned long flood = 0;
	const char *mode;
	char *end;

	if (argc != 8 && argc != 9)
		usage();
	mode = argv[7];
	if (!strncmp(mode, "macflood:", 9)) {
		flood = strtoul(mode + 9, &end, 10);
		if (*end || end == mode + 9 || flood == 0 || flood > 10000000)
			usage();
	} else if (strcmp(mode, "valid") && strcmp(mode, "garbage") && strcmp(mode, "filter")) {
		usage();
	}
	if (sodium_init() < 0)
		failf("libsodium did not initialise");
	setvbuf(stdout, NULL, _IOLBF, 0);
	psk = weft_key_alloc();
	priv = weft_key_alloc();
	if (!psk || !priv)
		failf("out of memory for keys");
	load(argv[1], psk);
	load(argv[2], priv);
	if (weft_key_public(m.id, priv) < 0)
		failf("%s: not an X25519 private key", argv[2]);
	if (!weft_handshake_nickname_valid(argv[4]))
		failf("bad nickname `%s'", argv[4]);

	struct weft_handshake_config cfg = {
	    .static_priv = priv,
	    .static_pub = m.id,
	    .psk = psk,
	    .network = argv[3],
	    .nickname = argv[4],
	    .capabilities = WEFT_HANDSHAKE_CAP_MESH,
	};
	m.fd = udp_connect(argv[5], argv[6]);
	join(&m, &cfg, argc == 9 ? argv[8] : NULL);
	weft_key_free(psk);
	weft_key_free(priv);

	randombytes_buf(m.ghost, WEFT_KEY_LEN);
	weft_key_encode(ghost_b64, m.ghost);
	printf("ghost %s\n", ghost_b64);
	if (flood) {
		mode_macflood(&m, (unsigned)flood);
		printf("tally frames=%u\n", m.t.frames);
	} else if (!strcmp(mode, "filter")) {
		mode_filter(&m);
		printf("tally frame_link_local=%u frame_bad_source=%u frame_too_big=%u "
		       "bad_record=%u good=%u\n",
		       m.t.link_local, m.t.bad_source, m.t.too_big, m.t.bad_record, m.t.good);
	} else {
		if (!strcmp(mode, "valid"))
			mode_valid(&m);
		else
			mode_garbage(&m);
		printf("tally malformed=%u unknown=%u stale=%u conflict=%u own=%u "
		       "relay_malformed=%u probe_malformed=%u observed_malformed=%u "
		       "observed_unknown=%u\n",
		       m.t.malformed, m.t.unknown, m.t.stale, m.t.conflict, m.t.own,
		       m.t.relay_malformed, m.t.probe_malformed, m.t.observed_malformed,
		       m.t.observed_unknown);
	}
	weft_session_free(m.session);
	close(m.fd);
	return 0;
}
