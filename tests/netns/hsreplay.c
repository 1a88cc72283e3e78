/* SPDX-License-Identifier: MIT */
/* Replays a captured HELLO and counts what it costs, for
 * tests/netns/clock_replay.sh.
 *
 *   hsreplay HEXFILE DST PORT WAIT_MS [SECRET_FILE NETWORK]
 *
 * Sends the HELLO datagram in HEXFILE (its UDP payload as hex digits,
 * whitespace ignored) to DST:PORT from a UDP socket on this host's own
 * address, then for WAIT_MS counts the answers that come back to it: WELCOMEs
 * and COOKIEs for the HELLO's sender index, and anything else. With
 * SECRET_FILE and NETWORK the replayer is a member (it holds the network
 * secret, not the initiator's keys): it opens each COOKIE and sends the same
 * HELLO again with mac2 made with it, as a genuine initiator does (at most
 * twice), so that what a stale HELLO can cost after a cookie round trip is
 * counted too. Prints one line and exits 0:
 *   replay to DST:PORT: welcomes=W cookies=C resent=R other=O
 * A member cannot go further than a WELCOME: the CONFIRM needs the
 * initiator's static key, so a replay never makes a session. */
#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "common/cookie.h"
#include "common/key.h"
#include "common/wire.h"

#define WEFT_TOOL_NAME "hsreplay"
#include "tests/netns/tool_common.h"

/* A genuine initiator answers at most two COOKIEs per HELLO (protocol.md 4.6). */
#define MAX_RESENDS 2

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

static size_t read_hex(const char *path, uint8_t *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;
	int c, hi = -1;

	if (!f)
		failf("%s: %s", path, strerror(errno));
	while ((c = fgetc(f)) != EOF) {
		int v;

		if (isspace(c))
			continue;
		if (!isxdigit(c))
			failf("%s: `%c' is not a hex digit", path, c);
		v = isdigit(c) ? c - '0' : tolower(c) - 'a' + 10;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (n == cap)
			failf("%s: more than %zu bytes", path, cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	fclose(f);
	if (hi >= 0)
		failf("%s: an odd number of hex digits", path);
	return n;
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

static void send_all(int fd, const uint8_t *buf, size_t len)
{
	if (send(fd, buf, len, 0) != (ssize_t)len)
		failf("send: %s", strerror(errno));
}

int main(int argc, char **argv)
{
	uint8_t hello[WEFT_WIRE_HANDSHAKE_MAX_LEN], buf[2048], psk[WEFT_KEY_LEN];
	struct sockaddr_in dst = {.sin_family = AF_INET};
	struct weft_cookie_keys *keys = NULL;
	unsigned welcomes = 0, cookies = 0, resent = 0, other = 0;
	struct weft_wire_msg hmsg;
	uint64_t deadline;
	size_t hlen;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc != 5 && argc != 7) {
		fprintf(stderr, "usage: hsreplay HEXFILE DST PORT WAIT_MS [SECRET_FILE NETWORK]\n");
		return 2;
	}
	if (sodium_init() < 0)
		failf("sodium_init");
	hlen = read_hex(argv[1], hello, sizeof(hello));
	if (weft_wire_parse(&hmsg, hello, hlen) < 0 || hmsg.type != WEFT_WIRE_HELLO)
		failf("%s: not a HELLO datagram (%zu bytes)", argv[1], hlen);
	if (argc == 7) {
		read_secret(argv[5], psk);
		keys = weft_cookie_keys_new(psk, argv[6]);
		sodium_memzero(psk, sizeof(psk));
		if (!keys)
			failf("cannot derive the MAC keys");
		if (!weft_cookie_mac1_valid(keys, hello, hlen))
			failf("the HELLO's mac1 is not this network's");
	}
	dst.sin_port = htons((uint16_t)num(argv[3], 65535));
	if (inet_pton(AF_INET, argv[2], &dst.sin_addr) != 1)
		failf("bad destination `%s'", argv[2]);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&dst, sizeof(dst)) < 0)
		failf("UDP socket: %s", strerror(errno));
	send_all(fd, hello, hlen);
	deadline = now_ns() / 1000000 + num(argv[4], 600000);
	for (uint64_t t = now_ns() / 1000000; t < deadline; t = now_ns() / 1000000) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		struct weft_wire_msg msg;
		uint8_t cookie[WEFT_COOKIE_LEN];
		ssize_t r;

		if (poll(&p, 1, (int)(deadline - t)) <= 0)
			continue;
		r = recv(fd, buf, sizeof(buf), 0);
		if (r <= 0)
			continue; /* ECONNREFUSED: nothing listens there (yet) */
		if (weft_wire_parse(&msg, buf, (size_t)r) < 0 ||
		    msg.receiver_index != hmsg.sender_index) {
			other++;
		} else if (msg.type == WEFT_WIRE_WELCOME) {
			welcomes++;
		} else if (msg.type == WEFT_WIRE_COOKIE) {
			cookies++;
			/* A member answers the COOKIE as the initiator would. */
			if (keys && resent < MAX_RESENDS &&
			    weft_cookie_open(keys, &msg, hmsg.mac1, cookie) == 0) {
				weft_cookie_put_mac2(cookie, hello, hlen);
				send_all(fd, hello, hlen);
				resent++;
			}
		} else {
			other++;
		}
	}
	printf("replay to %s:%s: welcomes=%u cookies=%u resent=%u other=%u\n", argv[2], argv[3],
	       welcomes, cookies, resent, other);
	weft_cookie_keys_free(keys);
	close(fd);
	return 0;
}
