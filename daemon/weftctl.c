/* SPDX-License-Identifier: MIT */
/* weftctl: asks a running weftd for its state, and changes its membership,
 * over the control socket. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/config.h"

/* Where weftd@NAME's files are (the unit and tmpfiles say the same);
 * WEFTCTL_CONFIG_DIR and WEFTCTL_RUN_DIR name others (a test's, a
 * non-standard install). */
static const char *config_dir(void)
{
	const char *d = getenv("WEFTCTL_CONFIG_DIR");

	return d && *d ? d : "/etc/weft";
}

static const char *run_dir(void)
{
	const char *d = getenv("WEFTCTL_RUN_DIR");

	return d && *d ? d : "/run/weft";
}

#define REPLY_MAX (16u << 20)

static void usage(FILE *out)
{
	fprintf(
	    out,
	    "Usage: weftctl [-s SOCKET | -n NAME] [--json] COMMAND [ARGUMENT]\n"
	    "\n"
	    "Commands:\n"
	    "  status             the daemon, its counters, peers and MAC table (default)\n"
	    "  peers              peers and the banned keys\n"
	    "  macs               the MAC table\n"
	    "  metrics            every counter in the Prometheus text format\n"
	    "  connect ADDR       handshake with the member at ADDR (IPv4[:PORT], [IPv6][:PORT])\n"
	    "  forget PEER        end PEER's sessions and ban its key (PEER: name, key or\n"
	    "                     fingerprint; a whole key bans one not known yet)\n"
	    "  unforget KEY       lift the ban on KEY (key, fingerprint or the peer's name)\n"
	    "  unpin PEER         forget the key PEER proved first, accept its next one\n"
	    "\n"
	    "  -s, --socket PATH  control socket\n"
	    "  -n, --name NAME    the instance NAME (weftd@NAME, /etc/weft/NAME.conf) or the\n"
	    "                     network NAME; without -s or -n, the only socket in /run/weft\n"
	    "  -j, --json         print the daemon's JSON answer unchanged\n"
	    "  -V, --version      print the version\n"
	    "  -h, --help         this text\n");
}

static char *request(const char *path, json_t *req_json)
{
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	struct timeval tv = {.tv_sec = 5};
	char *buf = NULL, *req;
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
	req = json_dumps(req_json, JSON_COMPACT);
	/* MSG_NOSIGNAL: a daemon that closes first (busy, or the request too
	 * large) is an error to print, not a SIGPIPE that kills us silently. */
	if (!req || send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) ||
	    send(fd, "\n", 1, MSG_NOSIGNAL) != 1) {
		fprintf(stderr, "weftctl: %s: write failed: %s\n", path, strerror(errno));
		free(req);
		close(fd);
		return NULL;
	}
	free(req);
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
	json_object_foreach(obj, key, v)
	{
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
	json_array_foreach(peers, i, p)
	{
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
		printf("%-16s %-9s %-12s %-28s %-20s %5lld %-9s %9s %10lld %12lld %10lld %12lld "
		       "%lld\n",
		       str(p, "name"), str(p, "fingerprint"), str(p, "state"), str(p, "endpoint"),
		       route, (long long)num(p, "path_mtu"), str(p, "learned"), hs,
		       (long long)num(p, "rx_packets"), (long long)num(p, "rx_bytes"),
		       (long long)num(p, "tx_packets"), (long long)num(p, "tx_bytes"),
		       (long long)total);
		if (json_is_string(json_object_get(p, "public_key")))
			printf("  key %s (%s)\n", str(p, "public_key"), str(p, "key_source"));
		if (total > 0)
			print_counters("  drops", drops);
	}
}

static void print_macs(json_t *macs)
{
	size_t i;
	json_t *m;

	printf("%-17s %-16s %s\n", "MAC", "PEER", "IDLE");
	json_array_foreach(macs, i, m) printf("%-17s %-16s %llds\n", str(m, "mac"), str(m, "peer"),
					      (long long)num(m, "idle_s"));
}

/* Where members are told to reach this host (its gossiped addresses). */
static void print_addresses(json_t *addrs)
{
	size_t i;
	json_t *a;

	printf("addresses");
	json_array_foreach(addrs, i, a)
	{
		const char *text = json_string_value(a);

		printf(" %s", text ? text : "?");
	}
	printf("%s\n", json_array_size(addrs) ? "" : " none yet");
}

static void print_status(json_t *st, const char *what)
{
	if (!strcmp(what, "status")) {
		printf("network %s  key %s  listen %s  bridge %s  mtu %lld  up %llds\n",
		       str(st, "network"), str(st, "fingerprint"), str(st, "listen"),
		       str(st, "bridge"), (long long)num(st, "mtu"),
		       (long long)num(st, "uptime_s"));
		printf("public key %s\n", str(st, "public_key"));
		print_addresses(json_object_get(st, "addresses"));
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

static void print_bans(json_t *bans)
{
	size_t i;
	json_t *b;

	if (!json_array_size(bans))
		return;
	printf("\n%-16s %-9s %-44s %s\n", "BANNED", "KEY", "PUBLIC-KEY", "SINCE");
	json_array_foreach(bans, i, b)
	{
		time_t since = (time_t)num(b, "since");
		char when[32] = "?";
		struct tm tm;

		if (gmtime_r(&since, &tm))
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%-16s %-9s %-44s %s\n", str(b, "name"), str(b, "fingerprint"),
		       str(b, "key"), when);
	}
}

static void print_reply(json_t *reply, const char *what)
{
	if (!strcmp(what, "metrics"))
		fputs(str(reply, "metrics"), stdout);
	else if (!strcmp(what, "peers")) {
		print_peers(json_object_get(reply, "peers"));
		print_bans(json_object_get(reply, "banned"));
	} else if (!strcmp(what, "connect"))
		printf("%s %s as peer %s\n",
		       json_is_true(json_object_get(reply, "new")) ? "connecting to"
								   : "handshaking again with",
		       str(reply, "endpoint"), str(reply, "peer"));
	else if (!strcmp(what, "forget"))
		printf("forgot %s (key %s): its key is banned until `weftctl unforget %s'\n",
		       str(reply, "forgotten"), str(reply, "fingerprint"),
		       str(reply, "fingerprint"));
	else if (!strcmp(what, "unpin"))
		printf("%s: learned key %s forgotten; the next key it proves is kept\n",
		       str(reply, "unpinned"), str(reply, "fingerprint"));
	else if (!strcmp(what, "unforget"))
		printf("%s (key %s) may join again\n", str(reply, "unforgotten"),
		       str(reply, "fingerprint"));
	else
		print_status(reply, what);
}

/* ---- which daemon ------------------------------------------------------------------ */

static bool exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* Copies a socket path; false when it does not fit sun_path. */
static bool set_path(char path[static 108], const char *from)
{
	size_t n = strlen(from);

	if (n >= 108)
		return false;
	memcpy(path, from, n + 1);
	return true;
}

/* The [control] socket of the configuration file @conf. */
static bool socket_of_config(const char *conf, char path[static 108])
{
	struct weft_config_errors errs;
	struct weft_config *cfg;

	weft_config_errors_init(&errs);
	cfg = weft_config_load_file(conf, &errs);
	weft_config_errors_free(&errs);
	if (!cfg)
		return false;
	bool ok = set_path(path, cfg->control_socket);

	weft_config_free(cfg);
	return ok;
}

/* NAME is the instance (weftd@NAME runs /etc/weft/NAME.conf), else a
 * network name (its socket is /run/weft/NAME.sock by default), else the
 * [network] name of one of the files in /etc/weft. */
static int find_by_name(const char *name, char path[static 108])
{
	char conf[PATH_MAX], pattern[PATH_MAX];
	glob_t g;

	if (!name[0] || strchr(name, '/')) {
		fprintf(stderr, "weftctl: `%s' is not an instance or network name\n", name);
		return -1;
	}
	snprintf(conf, sizeof(conf), "%s/%s.conf", config_dir(), name);
	if (exists(conf) && socket_of_config(conf, path))
		return 0;
	if (snprintf(path, 108, "%s/%s.sock", run_dir(), name) < 108 && exists(path))
		return 0;
	snprintf(pattern, sizeof(pattern), "%s/*.conf", config_dir());
	if (glob(pattern, 0, NULL, &g) == 0) {
		for (size_t i = 0; i < g.gl_pathc; i++) {
			struct weft_config_errors errs;
			struct weft_config *cfg;
			bool match;

			weft_config_errors_init(&errs);
			cfg = weft_config_load_file(g.gl_pathv[i], &errs);
			weft_config_errors_free(&errs);
			match =
			    cfg && !strcmp(cfg->name, name) && set_path(path, cfg->control_socket);
			weft_config_free(cfg);
			if (match) {
				globfree(&g);
				return 0;
			}
		}
		globfree(&g);
	}
	fprintf(stderr,
		"weftctl: no weftd instance or network `%s' (no %s/%s.conf, no %s/%s.sock)\n", name,
		config_dir(), name, run_dir(), name);
	return -1;
}

/* Without -s or -n: the one socket in /run/weft. */
static int find_only(char path[static 108])
{
	char pattern[PATH_MAX];
	glob_t g;
	int ret = -1;

	snprintf(pattern, sizeof(pattern), "%s/*.sock", run_dir());
	if (glob(pattern, 0, NULL, &g) != 0) {
		fprintf(stderr,
			"weftctl: no control socket in %s (is weftd running? -s or -n "
			"names one)\n",
			run_dir());
		return -1;
	}
	if (g.gl_pathc == 1 && set_path(path, g.gl_pathv[0])) {
		ret = 0;
	} else {
		fprintf(stderr, "weftctl: %zu daemons run here; name one with -n:", g.gl_pathc);
		for (size_t i = 0; i < g.gl_pathc; i++)
			fprintf(stderr, " %s", g.gl_pathv[i]);
		fputc('\n', stderr);
	}
	globfree(&g);
	return ret;
}

/* ---- main ------------------------------------------------------------------------------- */

struct command {
	const char *name;
	const char *request;  /* the daemon's command */
	const char *argument; /* the request member of its one argument; NULL: none */
};

static const struct command commands[] = {
    {"status", "status", NULL},		{"macs", "status", NULL},
    {"peers", "peers", NULL},		{"metrics", "metrics", NULL},
    {"connect", "connect", "endpoint"}, {"forget", "forget", "peer"},
    {"unforget", "unforget", "peer"},	{"unpin", "unpin", "peer"},
};

int main(int argc, char **argv)
{
	static const struct option options[] = {
	    {"socket", required_argument, NULL, 's'},
	    {"name", required_argument, NULL, 'n'},
	    {"network", required_argument, NULL, 'n'},
	    {"json", no_argument, NULL, 'j'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	char path[108] = "";
	const char *name = NULL, *arg = NULL;
	const struct command *cmd = &commands[0];
	bool json_out = false, have_cmd = false;
	json_error_t jerr;
	json_t *reply, *req;
	char *text;
	int c;

	while ((c = getopt_long(argc, argv, "+s:n:jVh", options, NULL)) != -1) {
		switch (c) {
		case 's':
			snprintf(path, sizeof(path), "%s", optarg);
			break;
		case 'n':
			name = optarg;
			break;
		case 'j':
			json_out = true;
			break;
		case 'V':
			printf("weftctl %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	/* `--json' is accepted after the command too: weftctl status --json. */
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j")) {
			json_out = true;
			continue;
		}
		if (!have_cmd) {
			size_t k;

			for (k = 0; k < WEFT_ARRAY_SIZE(commands); k++)
				if (!strcmp(argv[i], commands[k].name))
					break;
			if (k == WEFT_ARRAY_SIZE(commands)) {
				fprintf(stderr, "weftctl: unknown command `%s'\n", argv[i]);
				usage(stderr);
				return 2;
			}
			cmd = &commands[k];
			have_cmd = true;
		} else if (cmd->argument && !arg) {
			arg = argv[i];
		} else {
			fprintf(stderr, "weftctl: %s: unexpected `%s'\n", cmd->name, argv[i]);
			return 2;
		}
	}
	if (cmd->argument && !arg) {
		fprintf(stderr, "weftctl: %s needs an argument (weftctl -h)\n", cmd->name);
		return 2;
	}
	if (!path[0] && (name ? find_by_name(name, path) : find_only(path)) < 0)
		return 1;
	req = json_pack("{s:s}", "command", cmd->request);
	if (cmd->argument)
		json_object_set_new(req, cmd->argument, json_string(arg));
	text = request(path, req);
	json_decref(req);
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
		print_reply(reply, cmd->name);
	json_decref(reply);
	free(text);
	return fflush(stdout) == 0 ? 0 : 1;
}
