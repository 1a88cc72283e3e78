/* SPDX-License-Identifier: MIT */
/* weftctl: asks a running weftd for its state over the control socket. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#define REPLY_MAX (16u << 20)

static void usage(FILE *out)
{
	fprintf(out, "Usage: weftctl [-s SOCKET | -n NETWORK] [--json] status|peers|macs\n"
		     "\n"
		     "  -s, --socket PATH    control socket (default /run/weft/weft.sock)\n"
		     "  -n, --network NAME   use /run/weft/NAME.sock\n"
		     "  -j, --json           print the daemon's JSON answer unchanged\n"
		     "  -h, --help           this text\n");
}

static char *request(const char *path, const char *command)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	char *buf = NULL, req[128];
	size_t len = 0, cap = 0;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "weftctl: socket path too long: %s\n", path);
		return NULL;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		fprintf(stderr, "weftctl: cannot connect to %s: %s (is weftd running?)\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	snprintf(req, sizeof(req), "{\"command\":\"%s\"}\n", command);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "weftctl: %s: write failed\n", path);
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 4096 + 1 > cap) {
			char *n;

			cap = cap ? cap * 2 : 65536;
			if (cap > REPLY_MAX || !(n = realloc(buf, cap))) {
				fprintf(stderr, "weftctl: reply too large\n");
				goto fail;
			}
			buf = n;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "weftctl: %s: %s\n", path, strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (!buf || len == 0) {
		fprintf(stderr, "weftctl: %s: empty reply\n", path);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	return buf;
fail:
	close(fd);
	free(buf);
	return NULL;
}

static json_int_t num(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

static const char *str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? s : "-";
}

static void print_counters(const char *title, json_t *obj)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return;
	printf("%s:", title);
	json_object_foreach(obj, key, v) {
		if (json_is_integer(v))
			printf(" %s=%" JSON_INTEGER_FORMAT, key, json_integer_value(v));
	}
	printf("\n");
}

static void print_peers(json_t *peers)
{
	size_t i;
	json_t *p;

	printf("%-16s %-9s %-12s %-28s %-20s %5s %-9s %9s %10s %12s %10s %12s %s\n", "PEER", "KEY",
	       "STATE", "ENDPOINT", "ROUTE", "MTU", "LEARNED", "HANDSHAKE", "RX-PKTS", "RX-BYTES",
	       "TX-PKTS", "TX-BYTES", "DROPS");
	json_array_foreach(peers, i, p) {
		json_t *drops = json_object_get(p, "drops"), *v;
		json_int_t total = 0;
		const char *key;
		char hs[32], route[64];

		json_object_foreach(drops, key, v) total += json_integer_value(v);
		if (json_is_integer(json_object_get(p, "last_handshake_ago_s")))
			snprintf(hs, sizeof(hs), "%llds ago",
				 (long long)num(p, "last_handshake_ago_s"));
		else
			snprintf(hs, sizeof(hs), "never");
		if (json_is_string(json_object_get(p, "via")))
			snprintf(route, sizeof(route), "via %s", str(p, "via"));
		else
			snprintf(route, sizeof(route), "%s", str(p, "route"));
		printf("%-16s %-9s %-12s %-28s %-20s %5lld %-9s %9s %10lld %12lld %10lld %12lld %lld\n",
		       str(p, "name"), str(p, "fingerprint"), str(p, "state"), str(p, "endpoint"),
		       route, (long long)num(p, "path_mtu"), str(p, "learned"), hs,
		       (long long)num(p, "rx_packets"), (long long)num(p, "rx_bytes"),
		       (long long)num(p, "tx_packets"), (long long)num(p, "tx_bytes"),
		       (long long)total);
		if (total > 0)
			print_counters("  drops", drops);
	}
}

static void print_macs(json_t *macs)
{
	size_t i;
	json_t *m;

	printf("%-17s %-16s %s\n", "MAC", "PEER", "IDLE");
	json_array_foreach(macs, i, m)
		printf("%-17s %-16s %llds\n", str(m, "mac"), str(m, "peer"),
		       (long long)num(m, "idle_s"));
}

static void print_status(json_t *st, const char *what)
{
	if (!strcmp(what, "status")) {
		printf("network %s  key %s  listen %s  bridge %s  mtu %lld  up %llds\n",
		       str(st, "network"), str(st, "fingerprint"), str(st, "listen"),
		       str(st, "bridge"), (long long)num(st, "mtu"), (long long)num(st, "uptime_s"));
		print_counters("capture", json_object_get(st, "capture"));
		print_counters("inject", json_object_get(st, "inject"));
		print_counters("udp", json_object_get(st, "udp"));
		print_counters("router", json_object_get(st, "router"));
		print_counters("mesh", json_object_get(st, "mesh"));
		print_counters("drops", json_object_get(st, "drops"));
		printf("\n");
	}
	if (!strcmp(what, "status") || !strcmp(what, "peers"))
		print_peers(json_object_get(st, "peers"));
	if (!strcmp(what, "status"))
		printf("\n");
	if (!strcmp(what, "status") || !strcmp(what, "macs"))
		print_macs(json_object_get(st, "macs"));
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"socket", required_argument, NULL, 's'}, {"network", required_argument, NULL, 'n'},
		{"json", no_argument, NULL, 'j'},         {"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char path[108] = "/run/weft/weft.sock";
	bool json_out = false;
	const char *what;
	json_error_t jerr;
	json_t *reply;
	char *text;
	int c;

	while ((c = getopt_long(argc, argv, "s:n:jh", options, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'n':
			snprintf(path, sizeof(path), "/run/weft/%s.sock", optarg);
			break;
		case 'j':
			json_out = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* `--json' is accepted after the command too: weftctl status --json. */
	what = "status";
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json_out = true;
		else if (!strcmp(argv[i], "status") || !strcmp(argv[i], "peers") ||
			 !strcmp(argv[i], "macs"))
			what = argv[i];
		else {
			fprintf(stderr, "weftctl: unknown command `%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	text = request(path, "status");
	if (!text)
		return 1;
	reply = json_loads(text, 0, &jerr);
	if (!reply) {
		fprintf(stderr, "weftctl: bad reply from weftd: %s\n", jerr.text);
		free(text);
		return 1;
	}
	if (json_is_string(json_object_get(reply, "error"))) {
		fprintf(stderr, "weftctl: weftd says: %s\n", str(reply, "error"));
		json_decref(reply);
		free(text);
		return 1;
	}
	if (json_out)
		fputs(text, stdout);
	else
		print_status(reply, what);
	json_decref(reply);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}
