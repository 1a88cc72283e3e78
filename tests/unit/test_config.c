/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/config.h"
#include "common/key.h"

#ifndef WEFT_TOP_SRCDIR
#define WEFT_TOP_SRCDIR "."
#endif

/* RFC 7748 §6.1: Alice's and Bob's public keys. */
#define ALICE "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo="
#define BOB   "3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08="

#define MINIMAL "[network]\nname = t\nsecret_file = /etc/weft/t.secret\n"

static struct weft_config *load(const char *text, struct weft_config_errors *errs)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	struct weft_config *cfg;

	assert_non_null(in);
	weft_config_errors_init(errs);
	cfg = weft_config_load_stream(in, "t.conf", errs);
	fclose(in);
	return cfg;
}

/* The input of a table-driven case, shown when it fails. */
static const char *current;

static void print_errors(const struct weft_config_errors *errs)
{
	if (current)
		print_message("input:\n%s", current);
	for (size_t i = 0; i < errs->count; i++)
		print_message("  error: %s\n", errs->msg[i]);
}

/* Loads text that must be accepted without any message. */
static struct weft_config *load_ok(const char *text)
{
	struct weft_config_errors errs;
	struct weft_config *cfg = load(text, &errs);

	if (!cfg || errs.count)
		print_errors(&errs);
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	weft_config_errors_free(&errs);
	return cfg;
}

/* Loads text that must be refused with exactly the given messages, in order. */
static void load_fails(const char *text, size_t n, ...)
{
	struct weft_config_errors errs;
	struct weft_config *cfg = load(text, &errs);
	va_list ap;

	if (cfg || errs.count != n)
		print_errors(&errs);
	assert_null(cfg);
	assert_int_equal(errs.count, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++) {
		const char *want = va_arg(ap, const char *);

		if (strcmp(errs.msg[i], want))
			print_message("  got:  %s\n  want: %s\n", errs.msg[i], want);
		assert_string_equal(errs.msg[i], want);
	}
	va_end(ap);
	weft_config_errors_free(&errs);
}

/* Loads text that must be refused with one message that starts with
 * @prefix and ends with @reason (the long value quoted between them is
 * shortened, so it is not spelled out here). */
static void load_fails_with(const char *text, const char *prefix, const char *reason)
{
	struct weft_config_errors errs;
	size_t len, rlen = strlen(reason);

	assert_null(load(text, &errs));
	if (errs.count != 1)
		print_errors(&errs);
	assert_int_equal(errs.count, 1);
	len = strlen(errs.msg[0]);
	assert_true(strncmp(errs.msg[0], prefix, strlen(prefix)) == 0);
	assert_true(len >= rlen && strcmp(errs.msg[0] + len - rlen, reason) == 0);
	weft_config_errors_free(&errs);
}

static char *dump(const struct weft_config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	weft_config_dump(cfg, out);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* Dumps @cfg, checks that the dump loads again and dumps the same, and
 * returns the dump (free it). */
static char *dump_reloads(const struct weft_config *cfg)
{
	char *first = dump(cfg), *second;
	struct weft_config *again = load_ok(first);

	second = dump(again);
	assert_string_equal(first, second);
	free(second);
	weft_config_free(again);
	return first;
}

static char *docs(void)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);

	assert_non_null(out);
	weft_config_write_docs(out);
	assert_int_equal(fclose(out), 0);
	return buf;
}

/* ---- one key at a time ------------------------------------------------------------------- */

/* A file with the required keys and SECTION/KEY = VALUE; *line is the line of that key. */
static void one_key(char *out, size_t len, const char *section, const char *key, const char *value,
		    unsigned *line)
{
	bool network = !strcmp(section, "network");
	char *p = out;

	p += snprintf(p, len, "[network]\n");
	if (!network || strcmp(key, "name"))
		p += snprintf(p, len - (size_t)(p - out), "name = t\n");
	if (!network || strcmp(key, "secret_file"))
		p += snprintf(p, len - (size_t)(p - out), "secret_file = /etc/weft/t.secret\n");
	if (!strcmp(section, "peer"))
		p += snprintf(p, len - (size_t)(p - out), "[peer \"p\"]\n");
	else if (!network)
		p += snprintf(p, len - (size_t)(p - out), "[%s]\n", section);
	*line = 1;
	for (const char *q = out; q < p; q++)
		*line += *q == '\n';
	snprintf(p, len - (size_t)(p - out), "%s = %s\n", key, value);
}

struct good {
	const char *section, *key, *value;
	const char *canonical; /* as --dump-config writes it */
};

/* clang-format off */
static const struct good goods[] = {
	{"network", "name", "prod", "prod"},
	{"network", "name", "a.B_c-9", "a.B_c-9"},
	{"network", "name", "abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345"},
	{"network", "nickname", "db1", "db1"},
	{"network", "nickname", "", ""},
	{"network", "secret_file", "/etc/weft/prod.secret", "/etc/weft/prod.secret"},
	{"network", "private_key_file", "/srv/k", "/srv/k"},
	{"network", "listen", "0.0.0.0:6783", "0.0.0.0:6783"},
	{"network", "listen", "[::]:6783", "[::]:6783"},
	{"network", "listen", "127.0.0.1", "127.0.0.1:6783"},
	{"network", "listen", "[2001:DB8:0::1]:1", "[2001:db8::1]:1"},
	{"network", "listen", "[::1]", "[::1]:6783"},
	{"network", "bridge", "br-lan", "br-lan"},
	{"network", "bridge", "abcdefghijkl", "abcdefghijkl"},
	{"network", "mtu", "auto", "auto"},
	{"network", "mtu", "AUTO", "auto"},
	{"network", "mtu", "576", "576"},
	{"network", "mtu", "9000", "9000"},
	{"network", "underlay", "eth0", "eth0"},
	{"network", "underlay", "", ""},
	{"network", "underlay", "abcdefghijklmno", "abcdefghijklmno"},
	{"network", "require_pinned_keys", "yes", "yes"},
	{"network", "require_pinned_keys", "True", "yes"},
	{"network", "require_pinned_keys", "off", "no"},
	{"network", "require_pinned_keys", "0", "no"},
	{"network", "trust_nicknames", "yes", "yes"},
	{"network", "trust_nicknames", "no", "no"},
	{"network", "max_learned_members", "0", "0"},
	{"network", "max_learned_members", "1024", "1024"},
	{"network", "create_bridge", "no", "no"},
	{"network", "create_bridge", "on", "yes"},
	{"network", "create_bridge", "1", "yes"},
	{"network", "create_bridge", "FALSE", "no"},
	{"network", "handshake_rate", "1", "1"},
	{"network", "handshake_rate", "10000", "10000"},
	{"network", "handshake_burst", "1", "1"},
	{"network", "handshake_burst", "007", "7"},
	{"network", "handshake_global_rate", "1", "1"},
	{"network", "handshake_global_rate", "100000", "100000"},
	{"network", "members_file", "/srv/weft/prod.members", "/srv/weft/prod.members"},
	{"network", "members_file", "", ""},
	{"network", "banned_file", "/srv/weft/prod.banned", "/srv/weft/prod.banned"},
	{"network", "banned_file", "", ""},
	{"network", "timestamps_file", "/srv/weft/prod.timestamps", "/srv/weft/prod.timestamps"},
	{"network", "timestamps_file", "", ""},
	{"network", "max_direct", "0", "0"},
	{"network", "max_direct", "1024", "1024"},
	{"network", "max_direct", "008", "8"},
	{"network", "clamp_mss", "yes", "yes"},
	{"network", "clamp_mss", "Off", "no"},
	{"network", "max_macs_per_peer", "1", "1"},
	{"network", "max_macs_per_peer", "16384", "16384"},
	{"network", "mac_learn_rate", "1", "1"},
	{"network", "mac_learn_rate", "100000", "100000"},
	{"network", "mac_learn_burst", "1", "1"},
	{"network", "mac_learn_burst", "016384", "16384"},
	{"timers", "keepalive_interval", "1", "1"},
	{"timers", "keepalive_interval", "39", "39"},
	{"timers", "peer_timeout", "11", "11"},
	{"timers", "peer_timeout", "899", "899"},
	{"timers", "forget_member_after", "41", "41"},
	{"timers", "forget_member_after", "604800", "604800"},
	{"timers", "mac_ageing", "10", "10"},
	{"timers", "mac_ageing", "86400", "86400"},
	{"timers", "rekey_after", "10", "10"},
	{"timers", "rekey_after", "179", "179"},
	{"timers", "reject_after", "121", "121"},
	{"timers", "reject_after", "86400", "86400"},
	{"timers", "gossip_interval", "1", "1"},
	{"timers", "gossip_interval", "3600", "3600"},
	{"socket", "udp_sndbuf", "64K", "65536"},
	{"socket", "udp_sndbuf", "256M", "268435456"},
	{"socket", "udp_sndbuf", "1048576", "1048576"},
	{"socket", "udp_rcvbuf", "2m", "2097152"},
	{"socket", "udp_rcvbuf", "100k", "102400"},
	{"socket", "rx_ring_frames", "64", "64"},
	{"socket", "rx_ring_frames", "65536", "65536"},
	{"socket", "tx_ring_frames", "1024", "1024"},
	{"socket", "superframes", "no", "no"},
	{"socket", "superframes", "Yes", "yes"},
	{"socket", "partial_checksums", "no", "no"},
	{"socket", "partial_checksums", "YES", "yes"},
	{"control", "socket", "/run/weft-prod.sock", "/run/weft-prod.sock"},
	{"metrics", "listen", "127.0.0.1:9783", "127.0.0.1:9783"},
	{"metrics", "listen", "[::1]:9783", "[::1]:9783"},
	{"metrics", "listen", "", ""},
	{"log", "level", "error", "error"},
	{"log", "level", "warning", "warning"},
	{"log", "level", "DEBUG", "debug"},
	{"log", "level", "info", "info"},
	{"peer", "endpoint", "192.0.2.10:6783", "192.0.2.10:6783"},
	{"peer", "endpoint", "[2001:db8::1]:6783", "[2001:db8::1]:6783"},
	{"peer", "endpoint", "DB1.example.net", "db1.example.net:6783"},
	{"peer", "endpoint", "192.0.2.10", "192.0.2.10:6783"},
	{"peer", "public_key", ALICE, ALICE},
};
/* clang-format on */

struct bad {
	const char *section, *key, *value;
	const char *reason; /* the whole reason after "`VALUE': " */
};

#define LONG_PATH                                                                                  \
	"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaa"                                                                                      \
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaa"                                                                                      \
	"aaaaa"
static const char name_rule[] = "a name is 1 to 32 characters of A-Z a-z 0-9 . _ -";

/* clang-format off */
static const struct bad bads[] = {
	{"network", "name", "", name_rule},
	{"network", "name", "abcdefghijklmnopqrstuvwxyz0123456", name_rule},
	{"network", "name", "pr/od", name_rule},
	{"network", "name", "pr\xc3\xb6" "d", name_rule},
	{"network", "name", "pr od", "contains blanks or control characters"},
	{"network", "nickname", "db/1", name_rule},
	{"network", "nickname", "abcdefghijklmnopqrstuvwxyz0123456", name_rule},
	{"network", "secret_file", "etc/weft/x", "not an absolute path"},
	{"network", "secret_file", "", "not an absolute path"},
	{"network", "secret_file", "/etc/a b", "contains blanks or control characters"},
	{"network", "secret_file", "/etc/a #old",
	 "`#' starts a comment only at the start of a line; after a value write ` ; comment'"},
	{"network", "private_key_file", "key", "not an absolute path"},
	{"network", "listen", "db1.example.net:6783",
	 "not a numeric IPv4 or [IPv6] address (host names are not allowed here)"},
	{"network", "listen", "0.0.0.0:0", "port out of range 1..65535"},
	{"network", "listen", "0.0.0.0:65536", "port out of range 1..65535"},
	{"network", "listen", "::1", "an IPv6 address needs brackets: [ADDRESS] or [ADDRESS]:PORT"},
	{"network", "listen", "", "empty address"},
	{"network", "bridge", "abcdefghijklm",
	 "longer than 12 characters (the veth pair's names add -br and -dp)"},
	{"network", "bridge", "", "empty interface name"},
	{"network", "bridge", "a/b", "not a valid interface name"},
	{"network", "bridge", "a:b", "not a valid interface name"},
	{"network", "bridge", "..", "not a valid interface name"},
	{"network", "mtu", "575", "out of range 576..9000"},
	{"network", "mtu", "9001", "out of range 576..9000"},
	{"network", "mtu", "big", "neither auto nor a number"},
	{"network", "mtu", "1400x", "neither auto nor a number"},
	{"network", "mtu", "-1", "neither auto nor a number"},
	{"network", "underlay", "abcdefghijklmnop", "longer than 15 characters"},
	{"network", "underlay", "eth/0", "not a valid interface name"},
	{"network", "underlay", "weft0", "the underlay cannot be the bridge"},
	{"network", "require_pinned_keys", "maybe", "not a boolean: yes or no"},
	{"network", "require_pinned_keys", "2", "not a boolean: yes or no"},
	{"network", "trust_nicknames", "sometimes", "not a boolean: yes or no"},
	{"network", "max_learned_members", "1025", "out of range 0..1024"},
	{"network", "create_bridge", "", "not a boolean: yes or no"},
	{"network", "handshake_rate", "0", "out of range 1..10000"},
	{"network", "handshake_rate", "10001", "out of range 1..10000"},
	{"network", "handshake_rate", "ten", "not a decimal number"},
	{"network", "handshake_rate", "+5", "not a decimal number"},
	{"network", "handshake_rate", "99999999999999999999999", "out of range 1..10000"},
	{"network", "handshake_burst", "0", "out of range 1..10000"},
	{"network", "handshake_burst", "1e3", "not a decimal number"},
	{"network", "handshake_burst", "0x10", "not a decimal number"},
	{"network", "handshake_global_rate", "0", "out of range 1..100000"},
	{"network", "handshake_global_rate", "100001", "out of range 1..100000"},
	{"network", "handshake_global_rate", "-1", "not a decimal number"},
	{"network", "members_file", "weft/prod.members", "not an absolute path"},
	{"network", "banned_file", "prod.banned", "not an absolute path"},
	{"network", "timestamps_file", "prod.timestamps", "not an absolute path"},
	{"network", "members_file", "/var/lib/a b", "contains blanks or control characters"},
	{"network", "max_direct", "1025", "out of range 0..1024"},
	{"network", "max_direct", "-1", "not a decimal number"},
	{"network", "max_direct", "", "not a decimal number"},
	{"network", "clamp_mss", "maybe", "not a boolean: yes or no"},
	{"network", "clamp_mss", "", "not a boolean: yes or no"},
	{"network", "max_macs_per_peer", "0", "out of range 1..16384"},
	{"network", "max_macs_per_peer", "16385", "out of range 1..16384"},
	{"network", "mac_learn_rate", "0", "out of range 1..100000"},
	{"network", "mac_learn_rate", "1e3", "not a decimal number"},
	{"network", "mac_learn_burst", "0", "out of range 1..16384"},
	{"network", "mac_learn_burst", "-1", "not a decimal number"},
	{"timers", "keepalive_interval", "0", "out of range 1..3600"},
	{"timers", "keepalive_interval", "3601", "out of range 1..3600"},
	{"timers", "keepalive_interval", "10s", "not a decimal number"},
	{"timers", "keepalive_interval", "40", "must be less than peer_timeout (40)"},
	{"timers", "peer_timeout", "1", "out of range 2..86400"},
	{"timers", "peer_timeout", "86401", "out of range 2..86400"},
	{"timers", "peer_timeout", "10", "must be more than keepalive_interval (10)"},
	{"timers", "peer_timeout", "900", "must be less than forget_member_after (900)"},
	{"timers", "forget_member_after", "9", "out of range 10..604800"},
	{"timers", "forget_member_after", "604801", "out of range 10..604800"},
	{"timers", "forget_member_after", "40", "must be more than peer_timeout (40)"},
	{"timers", "mac_ageing", "9", "out of range 10..86400"},
	{"timers", "mac_ageing", "", "not a decimal number"},
	{"timers", "rekey_after", "9", "out of range 10..86400"},
	{"timers", "rekey_after", "180", "must be less than reject_after (180)"},
	{"timers", "reject_after", "120", "must be more than rekey_after (120)"},
	{"timers", "reject_after", "86401", "out of range 11..86400"},
	{"timers", "gossip_interval", "0", "out of range 1..3600"},
	{"timers", "gossip_interval", "3601", "out of range 1..3600"},
	{"timers", "gossip_interval", "30s", "not a decimal number"},
	{"socket", "udp_sndbuf", "63K", "out of range 64K..256M"},
	{"socket", "udp_sndbuf", "257M", "out of range 64K..256M"},
	{"socket", "udp_sndbuf", "1G", "not a size: bytes, or a number with a K or M suffix"},
	{"socket", "udp_sndbuf", "K", "not a size: bytes, or a number with a K or M suffix"},
	{"socket", "udp_sndbuf", "4MB", "not a size: bytes, or a number with a K or M suffix"},
	{"socket", "udp_rcvbuf", "4 M", "contains blanks or control characters"},
	{"socket", "udp_rcvbuf", "-4M", "not a size: bytes, or a number with a K or M suffix"},
	{"socket", "udp_rcvbuf", "99999999999999999999M", "out of range 64K..256M"},
	{"socket", "rx_ring_frames", "100", "not a power of two"},
	{"socket", "rx_ring_frames", "32", "out of range 64..65536"},
	{"socket", "rx_ring_frames", "131072", "out of range 64..65536"},
	{"socket", "tx_ring_frames", "4k", "not a decimal number"},
	{"socket", "superframes", "sometimes", "not a boolean: yes or no"},
	{"socket", "partial_checksums", "1x", "not a boolean: yes or no"},
	{"control", "socket", "run/weft.sock", "not an absolute path"},
	{"control", "socket", LONG_PATH, "longer than 107 bytes"},
	{"metrics", "listen", "localhost:9783",
	 "not a numeric IPv4 or [IPv6] address (host names are not allowed here)"},
	{"metrics", "listen", "127.0.0.1:0", "port out of range 1..65535"},
	{"log", "level", "verbose", "expected error, warning, info or debug"},
	{"log", "level", "warn", "expected error, warning, info or debug"},
	{"peer", "endpoint", "192.0.2.300:6783", "not an IPv4/IPv6 address or host name"},
	{"peer", "endpoint", "192.0.2.10:abc", "port is not a number"},
	{"peer", "endpoint", "2001:db8::1", "an IPv6 address needs brackets: [ADDRESS] or [ADDRESS]:PORT"},
	{"peer", "public_key", "abc", "expected 44 base64 characters, found 3"},
	{"peer", "public_key", "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTm!=",
	 "not a base64-encoded 32-byte key"},
};
/* clang-format on */

static void test_good_values(void **state)
{
	char text[1024], want[512];
	unsigned line;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(goods); i++) {
		const struct good *g = &goods[i];
		struct weft_config *cfg;
		char *out;

		one_key(text, sizeof(text), g->section, g->key, g->value, &line);
		current = text;
		cfg = load_ok(text);
		out = dump(cfg);
		if (*g->canonical)
			snprintf(want, sizeof(want), "\n%s = %s\n", g->key, g->canonical);
		else
			snprintf(want, sizeof(want), "\n%s =\n", g->key);
		if (!strstr(out, want))
			print_message("%s", out);
		assert_non_null(strstr(out, want));
		free(out);
		weft_config_free(cfg);
	}
	current = NULL;
}

static void test_bad_values(void **state)
{
	char text[1024], want[WEFT_ERRLEN], label[48];
	unsigned line;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(bads); i++) {
		const struct bad *b = &bads[i];

		one_key(text, sizeof(text), b->section, b->key, b->value, &line);
		if (!strcmp(b->section, "peer"))
			snprintf(label, sizeof(label), "[peer \"p\"]");
		else
			snprintf(label, sizeof(label), "[%s]", b->section);
		/* values are quoted cut to 64 characters */
		snprintf(want, sizeof(want), "t.conf:%u: %s %s: `%.64s%s': %s", line, label, b->key,
			 b->value, strlen(b->value) > 64 ? "..." : "", b->reason);
		/* non-ASCII is shown as '?' */
		for (char *p = want; *p; p++)
			if ((unsigned char)*p >= 0x80)
				*p = '?';
		current = text;
		load_fails(text, 1, want);
	}
	current = NULL;
}

/* Every key of the schema has good and bad cases above: a new key without tests fails here. */
static void test_every_key_is_tested(void **state)
{
	struct weft_config *cfg =
	    load_ok(MINIMAL "[peer \"p\"]\nendpoint = h\npublic_key = " ALICE "\n");
	char *out = dump(cfg), *save = NULL, section[32] = "";
	size_t keys = 0;

	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char key[64];
		bool good = false, bad = false;

		if (l[0] == '[') {
			sscanf(l, "[%31[a-z]", section);
			continue;
		}
		assert_int_equal(sscanf(l, "%63[a-z_] =", key), 1);
		for (size_t i = 0; i < WEFT_ARRAY_SIZE(goods); i++)
			good |= !strcmp(goods[i].section, section) && !strcmp(goods[i].key, key);
		for (size_t i = 0; i < WEFT_ARRAY_SIZE(bads); i++)
			bad |= !strcmp(bads[i].section, section) && !strcmp(bads[i].key, key);
		if (!good || !bad)
			print_message("[%s] %s: good %d bad %d\n", section, key, good, bad);
		assert_true(good);
		assert_true(bad);
		keys++;
	}
	assert_int_equal(keys, 41);
	free(out);
	weft_config_free(cfg);
}

static void test_defaults(void **state)
{
	struct weft_config *cfg = load_ok(MINIMAL);
	char *out = dump(cfg);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&cfg->listen.addr;

	assert_string_equal(out, "[network]\n"
				 "name = t\n"
				 "nickname =\n"
				 "secret_file = /etc/weft/t.secret\n"
				 "private_key_file = /var/lib/weft/t.key\n"
				 "listen = 0.0.0.0:6783\n"
				 "bridge = weft0\n"
				 "mtu = auto\n"
				 "underlay =\n"
				 "require_pinned_keys = no\n"
				 "trust_nicknames = no\n"
				 "max_learned_members = 256\n"
				 "create_bridge = yes\n"
				 "handshake_rate = 20\n"
				 "handshake_burst = 10\n"
				 "handshake_global_rate = 200\n"
				 "members_file = /var/lib/weft/t.members\n"
				 "banned_file = /var/lib/weft/t.banned\n"
				 "timestamps_file = /var/lib/weft/t.timestamps\n"
				 "max_direct = 0\n"
				 "clamp_mss = no\n"
				 "max_macs_per_peer = 4096\n"
				 "mac_learn_rate = 100\n"
				 "mac_learn_burst = 1000\n"
				 "\n[timers]\n"
				 "keepalive_interval = 10\n"
				 "peer_timeout = 40\n"
				 "forget_member_after = 900\n"
				 "mac_ageing = 300\n"
				 "rekey_after = 120\n"
				 "reject_after = 180\n"
				 "gossip_interval = 30\n"
				 "\n[socket]\n"
				 "udp_sndbuf = 4194304\n"
				 "udp_rcvbuf = 4194304\n"
				 "rx_ring_frames = 4096\n"
				 "tx_ring_frames = 4096\n"
				 "superframes = yes\n"
				 "partial_checksums = yes\n"
				 "\n[control]\n"
				 "socket = /run/weft/t.sock\n"
				 "\n[metrics]\n"
				 "listen =\n"
				 "\n[log]\n"
				 "level = info\n");
	/* and the fields themselves */
	assert_string_equal(cfg->path, "t.conf");
	assert_string_equal(cfg->name, "t");
	assert_string_equal(cfg->private_key_file, "/var/lib/weft/t.key");
	assert_true(cfg->listen.numeric);
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 6783);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(weft_sockaddr_len(&cfg->listen.addr), sizeof(struct sockaddr_in));
	assert_string_equal(cfg->bridge, "weft0");
	assert_int_equal(cfg->mtu, 0);
	assert_string_equal(cfg->underlay, "");
	assert_false(cfg->require_pinned_keys);
	assert_true(cfg->create_bridge);
	assert_int_equal(cfg->handshake_rate, 20);
	assert_int_equal(cfg->handshake_burst, 10);
	assert_int_equal(cfg->handshake_global_rate, 200);
	assert_string_equal(cfg->members_file, "/var/lib/weft/t.members");
	assert_int_equal(cfg->max_direct, 0);
	assert_false(cfg->clamp_mss);
	assert_int_equal(cfg->max_macs_per_peer, 4096);
	assert_int_equal(cfg->mac_learn_rate, 100);
	assert_int_equal(cfg->mac_learn_burst, 1000);
	assert_int_equal(cfg->keepalive_interval, 10);
	assert_int_equal(cfg->peer_timeout, 40);
	assert_int_equal(cfg->forget_member_after, 900);
	assert_int_equal(cfg->mac_ageing, 300);
	assert_int_equal(cfg->rekey_after, 120);
	assert_int_equal(cfg->reject_after, 180);
	assert_int_equal(cfg->gossip_interval, 30);
	assert_int_equal(cfg->udp_sndbuf, 4 << 20);
	assert_int_equal(cfg->udp_rcvbuf, 4 << 20);
	assert_int_equal(cfg->rx_ring_frames, 4096);
	assert_int_equal(cfg->tx_ring_frames, 4096);
	assert_true(cfg->superframes);
	assert_true(cfg->partial_checksums);
	assert_string_equal(cfg->control_socket, "/run/weft/t.sock");
	assert_int_equal(cfg->log_level, LOG_INFO);
	assert_int_equal(cfg->n_peers, 0);
	assert_null(weft_config_find_peer(cfg, "t"));
	free(out);
	weft_config_free(cfg);
}

static void test_fields(void **state)
{
	struct weft_config *cfg = load_ok("[network]\nname = n\nsecret_file = /s\nmtu = 1400\n"
					  "listen = [::]:7000\n[socket]\nudp_sndbuf = 8M\n"
					  "[log]\nlevel = debug\n"
					  "[peer \"a\"]\nendpoint = [2001:db8::1]:6000\n"
					  "public_key = " ALICE "\n"
					  "[peer \"b\"]\n");
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&cfg->listen.addr;
	const struct weft_config_peer *a, *b;
	uint8_t alice[32];
	char err[WEFT_ERRLEN];

	assert_int_equal(cfg->mtu, 1400);
	assert_int_equal(cfg->udp_sndbuf, 8 << 20);
	assert_int_equal(cfg->log_level, LOG_DEBUG);
	assert_int_equal(sin6->sin6_family, AF_INET6);
	assert_int_equal(ntohs(sin6->sin6_port), 7000);
	assert_true(IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr));
	assert_int_equal(cfg->n_peers, 2);
	a = weft_config_find_peer(cfg, "a");
	b = weft_config_find_peer(cfg, "b");
	assert_ptr_equal(a, &cfg->peers[0]);
	assert_ptr_equal(b, &cfg->peers[1]);
	assert_null(weft_config_find_peer(cfg, "c"));
	assert_int_equal(a->line, 10);
	assert_int_equal(b->line, 13);
	assert_true(a->has_endpoint);
	assert_true(a->endpoint.numeric);
	assert_int_equal(a->endpoint.port, 6000);
	assert_true(a->has_public_key);
	assert_int_equal(weft_key_decode(alice, ALICE, err), 0);
	assert_memory_equal(a->public_key, alice, 32);
	/* a peer without endpoint only answers; without a key it is not pinned */
	assert_false(b->has_endpoint);
	assert_false(b->has_public_key);
	weft_config_free(cfg);
}

/* The message format of the design, with a file name and line of our own. */
static void test_error_format(void **state)
{
	load_fails("[network]\nname = prod\nsecret_file = /etc/weft/prod.secret\n"
		   "\n; peers\n\n\n\n\n\n"
		   "[peer \"db1\"]\n"
		   "endpoint = 192.0.2.300:6783\n",
		   1,
		   "t.conf:12: [peer \"db1\"] endpoint: `192.0.2.300:6783': not an IPv4/IPv6 "
		   "address or host name");
}

/* ---- cross-field rules ------------------------------------------------------------------- */

static void test_timer_order(void **state)
{
	load_fails(MINIMAL "[timers]\nkeepalive_interval = 30\npeer_timeout = 30\n", 1,
		   "t.conf:6: [timers] peer_timeout: `30': must be more than keepalive_interval "
		   "(30)");
	load_fails(MINIMAL "[timers]\npeer_timeout = 20\nkeepalive_interval = 25\n", 1,
		   "t.conf:5: [timers] peer_timeout: `20': must be more than keepalive_interval "
		   "(25)");
	load_fails(MINIMAL "[timers]\nrekey_after = 300\nreject_after = 200\n", 1,
		   "t.conf:6: [timers] reject_after: `200': must be more than rekey_after (300)");
	/* a value that is already wrong is not compared */
	load_fails(MINIMAL "[timers]\nkeepalive_interval = 5000\npeer_timeout = 3\n", 1,
		   "t.conf:5: [timers] keepalive_interval: `5000': out of range 1..3600");
	/* both moved together is fine */
	weft_config_free(load_ok(MINIMAL "[timers]\nkeepalive_interval = 100\npeer_timeout = 400\n"
					 "rekey_after = 500\nreject_after = 501\n"));
}

static void test_duplicate_peers(void **state)
{
	load_fails(MINIMAL "[peer \"db1\"]\nendpoint = 192.0.2.1\n"
			   "[peer \"db2\"]\n"
			   "[peer \"db1\"]\nendpoint = 192.0.2.3\n",
		   1, "t.conf:7: [peer \"db1\"]: duplicate peer name (first on line 4)");
	/* names are case-sensitive */
	weft_config_free(load_ok(MINIMAL "[peer \"db1\"]\n[peer \"DB1\"]\n"));
}

static void test_pinned_keys(void **state)
{
	struct weft_config *cfg;

	load_fails(MINIMAL "require_pinned_keys = yes\n"
			   "[peer \"a\"]\nendpoint = 192.0.2.1\npublic_key = " ALICE "\n"
			   "[peer \"b\"]\nendpoint = 192.0.2.2\n"
			   "[peer \"c\"]\npublic_key = nope\n",
		   2,
		   "t.conf:8: [peer \"b\"] public_key: required key missing "
		   "(require_pinned_keys = yes)",
		   "t.conf:11: [peer \"c\"] public_key: `nope': expected 44 base64 characters, "
		   "found 4");
	cfg = load_ok(MINIMAL "require_pinned_keys = yes\n"
			      "[peer \"a\"]\npublic_key = " ALICE "\n"
			      "[peer \"b\"]\npublic_key = " BOB "\n");
	assert_true(cfg->require_pinned_keys);
	assert_int_equal(cfg->n_peers, 2);
	weft_config_free(cfg);
	/* without the requirement a peer needs neither key nor endpoint */
	weft_config_free(load_ok(MINIMAL "[peer \"a\"]\n"));
}

static void test_duplicate_keys(void **state)
{
	load_fails(MINIMAL "[peer \"a\"]\npublic_key = " ALICE "\n"
			   "[peer \"b\"]\npublic_key = " BOB "\n"
			   "[peer \"c\"]\npublic_key = " ALICE "\n",
		   1,
		   "t.conf:9: [peer \"c\"] public_key: `" ALICE
		   "': same public key as [peer \"a\"] "
		   "on line 5");
}

/* ---- file structure ---------------------------------------------------------------------- */

static void test_structure_errors(void **state)
{
	load_fails(MINIMAL "[bogus]\nx = 1\n", 1, "t.conf:4: [bogus]: unknown section");
	load_fails(MINIMAL "[Network]\n", 1, "t.conf:4: [Network]: unknown section");
	load_fails(MINIMAL "colour = blue\n", 1, "t.conf:4: [network] colour: unknown key");
	load_fails(MINIMAL "[peer \"a\"]\nbridge = x\n", 1,
		   "t.conf:5: [peer \"a\"] bridge: unknown key");
	load_fails(MINIMAL "name = u\n", 1,
		   "t.conf:4: [network] name: `u': repeated key (first set on line 2)");
	load_fails("name = t\n" MINIMAL, 1, "t.conf:1: name: key outside any section");
	load_fails(MINIMAL "= x\n", 1, "t.conf:4: syntax error: missing key name before `='");
	load_fails(MINIMAL "just words\n", 1,
		   "t.conf:4: syntax error: expected `key = value', a [section] header or a "
		   "comment");
	load_fails(MINIMAL "[peer db1]\nendpoint = 192.0.2.1\n", 1,
		   "t.conf:4: [peer db1]: malformed section header: expected [peer \"NAME\"]");
	load_fails(MINIMAL "[peer \"\"]\n", 1, "t.conf:4: [peer \"\"]: empty peer name");
	load_fails(MINIMAL "[peer]\n", 1,
		   "t.conf:4: [peer]: a peer section needs a name: [peer \"NAME\"]");
	load_fails(MINIMAL "[peer \"a b\"]\n", 1,
		   "t.conf:4: [peer \"a b\"]: a name is 1 to 32 characters of A-Z a-z 0-9 . _ -");
	load_fails(MINIMAL "[peer \"abcdefghijklmnopqrstuvwxyz0123456\"]\n", 1,
		   "t.conf:4: [peer \"abcdefghijklmnopqrstuvwxyz0123456\"]: a name is 1 to 32 "
		   "characters of A-Z a-z 0-9 . _ -");
	load_fails(MINIMAL "[peer \"db1]\n", 1,
		   "t.conf:4: [peer \"db1]: malformed section header: missing closing `\"'");
	load_fails(MINIMAL "[timers\nmac_ageing = 60\n", 1,
		   "t.conf:4: [timers: malformed section header: missing `]'");
	load_fails(MINIMAL "[timers] mac_ageing = 60\n", 1,
		   "t.conf:4: [timers]: trailing characters after the section header");
	load_fails(MINIMAL "[log \"x\"]\n", 1,
		   "t.conf:4: [log \"x\"]: only [peer \"NAME\"] sections have a name");
	load_fails(MINIMAL "[network]\n", 1,
		   "t.conf:4: [network]: repeated section (first on line 1)");
	load_fails(MINIMAL "[peer \"a\"] x\n", 1,
		   "t.conf:4: [peer \"a\"]: trailing characters after the section header");
	/* a header error silences the keys under it instead of blaming each */
	load_fails(MINIMAL "[peer a]\nendpoint = 192.0.2.300\nnonsense = 1\n", 1,
		   "t.conf:4: [peer a]: malformed section header: expected [peer \"NAME\"]");
}

static void test_missing_required(void **state)
{
	load_fails("[network]\nbridge = br0\n", 2, "t.conf:1: [network] name: required key missing",
		   "t.conf:1: [network] secret_file: required key missing");
	load_fails("# nothing\n[log]\nlevel = debug\n", 2,
		   "t.conf: [network] name: required key missing",
		   "t.conf: [network] secret_file: required key missing");
	load_fails("", 2, "t.conf: [network] name: required key missing",
		   "t.conf: [network] secret_file: required key missing");
	/* a broken [network] header is reported once, not also as missing keys */
	load_fails("[network\nname = t\nsecret_file = /s\n", 1,
		   "t.conf:1: [network: malformed section header: missing `]'");
	load_fails("[network\nname = t\nsecret_file = /s\n[log]\n[log]\n", 2,
		   "t.conf:1: [network: malformed section header: missing `]'",
		   "t.conf:5: [log]: repeated section (first on line 4)");
	/* keys of a repeated section are still checked */
	load_fails(MINIMAL "[log]\nlevel = info\n[log]\nlevel = debug\nfoo = 1\n", 3,
		   "t.conf:6: [log]: repeated section (first on line 4)",
		   "t.conf:7: [log] level: `debug': repeated key (first set on line 5)",
		   "t.conf:8: [log] foo: unknown key");
}

static void test_lexical(void **state)
{
	char text[512];
	struct weft_config *cfg;

	/* comments, blanks, indentation, CRLF, a byte order mark, `key: value' */
	cfg = load_ok("\xef\xbb\xbf; comment\r\n"
		      "# comment\r\n"
		      "\r\n"
		      "  [network]   ; the network\r\n"
		      "\tname = t ; inline\r\n"
		      "    secret_file=/s\r\n"
		      "    bridge: br0\r\n"
		      "    mtu = 1400\t; tab before the comment\r\n"
		      "[peer \"x\"] # a peer\n"
		      "endpoint = [::1]:1 ;c\n"
		      "[log]");
	assert_string_equal(cfg->name, "t");
	assert_string_equal(cfg->secret_file, "/s");
	assert_string_equal(cfg->bridge, "br0");
	assert_int_equal(cfg->mtu, 1400);
	assert_int_equal(cfg->n_peers, 1);
	assert_int_equal(cfg->peers[0].endpoint.port, 1);
	weft_config_free(cfg);

	/* `;' with no blank before it is part of the value */
	load_fails(MINIMAL "mtu = 1400;x\n", 1,
		   "t.conf:4: [network] mtu: `1400;x': neither auto nor a number");
	/* an indented line is a key of its own, never a continuation of the one above */
	load_fails(MINIMAL "mtu = 1400\n    more words\n", 1,
		   "t.conf:5: syntax error: expected `key = value', a [section] header or a "
		   "comment");
	/* lines of 198 characters are fine, 199 are refused, not split */
	snprintf(text, sizeof(text), MINIMAL "; %0196d\n", 0);
	weft_config_free(load_ok(text));
	snprintf(text, sizeof(text), MINIMAL "; %0197d\nbridge = br0\n", 0);
	load_fails(text, 1, "t.conf:4: line longer than 198 characters");
	snprintf(text, sizeof(text), MINIMAL "bridge = %0191d\n", 0);
	load_fails(text, 1, "t.conf:4: line longer than 198 characters");
	/* a NUL byte */
	{
		static const char nul[] = MINIMAL "bridge = br\0x\nmtu = 1400\n";
		FILE *in = fmemopen((void *)nul, sizeof(nul) - 1, "r");
		struct weft_config_errors errs;

		weft_config_errors_init(&errs);
		assert_null(weft_config_load_stream(in, "t.conf", &errs));
		fclose(in);
		assert_int_equal(errs.count, 1);
		assert_string_equal(errs.msg[0], "t.conf:4: NUL character in line");
		weft_config_errors_free(&errs);
	}
}

/* Values are quoted cut short and printable; unknown keys, junk lines and keys
 * outside a section are not quoted at all, since they might be a pasted secret. */
static void test_quoting(void **state)
{
	static const char secret[] = "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";
	char text[512];
	struct weft_config_errors errs;

	snprintf(text, sizeof(text), "psk = %s\n" MINIMAL "secret = %s\n%s\n[bogus]\nk = %s\n",
		 secret, secret, secret, secret);
	assert_null(load(text, &errs));
	assert_int_equal(errs.count, 4);
	for (size_t i = 0; i < errs.count; i++)
		assert_null(strstr(errs.msg[i], "c2VjcmV0"));
	assert_string_equal(errs.msg[1], "t.conf:5: [network] secret: unknown key");
	assert_string_equal(errs.msg[2], "t.conf:6: [network] (a key, not shown): unknown key");
	weft_config_errors_free(&errs);

	snprintf(text, sizeof(text), MINIMAL "bridge = %0100d\n", 7);
	load_fails(text, 1,
		   "t.conf:4: [network] bridge: "
		   "`0000000000000000000000000000000000000000000000000000000000000000...': longer "
		   "than 12 characters (the veth pair's names add -br and -dp)");
	load_fails(MINIMAL "bridge = a\x1b[2Jb\n", 1,
		   "t.conf:4: [network] bridge: `a?[2Jb': contains blanks or control characters");
}

/* Parse errors, validation errors and cross-field errors of one file all come
 * out, in line order. */
static void test_many_errors(void **state)
{
	load_fails("[network]\n"
		   "name = bad name!\n"
		   "mtu = 10\n"
		   "[timers]\n"
		   "keepalive_interval = 60\n"
		   "bogus = 1\n"
		   "[socket]\n"
		   "rx_ring_frames = 1000\n"
		   "junk\n"
		   "[peer x]\n"
		   "[peer \"y\"]\n"
		   "endpoint = 2001:db8::1\n",
		   9, "t.conf:1: [network] secret_file: required key missing",
		   "t.conf:2: [network] name: `bad name!': contains blanks or control characters",
		   "t.conf:3: [network] mtu: `10': out of range 576..9000",
		   "t.conf:5: [timers] keepalive_interval: `60': must be less than peer_timeout "
		   "(40)",
		   "t.conf:6: [timers] bogus: unknown key",
		   "t.conf:8: [socket] rx_ring_frames: `1000': not a power of two",
		   "t.conf:9: syntax error: expected `key = value', a [section] header or a "
		   "comment",
		   "t.conf:10: [peer x]: malformed section header: expected [peer \"NAME\"]",
		   "t.conf:12: [peer \"y\"] endpoint: `2001:db8::1': an IPv6 address needs "
		   "brackets: [ADDRESS] or [ADDRESS]:PORT");
}

static void test_too_many_errors(void **state)
{
	char *text = malloc(64 * 1024);
	struct weft_config_errors errs;
	size_t n;

	assert_non_null(text);
	n = (size_t)sprintf(text, MINIMAL);
	for (int i = 0; i < 150; i++)
		n += (size_t)sprintf(text + n, "k%d = 1\n", i);
	assert_null(load(text, &errs));
	assert_int_equal(errs.count, WEFT_CONFIG_MAX_ERRORS + 1);
	assert_string_equal(errs.msg[0], "t.conf:4: [network] k0: unknown key");
	assert_string_equal(errs.msg[99], "t.conf:103: [network] k99: unknown key");
	assert_string_equal(errs.msg[100], "t.conf: too many errors, 50 more not shown");
	weft_config_errors_free(&errs);
	assert_null(errs.msg);
	assert_int_equal(errs.count, 0);

	/* past what is kept for sorting, errors are still counted */
	n = (size_t)sprintf(text, MINIMAL);
	for (int i = 0; i < 1500; i++)
		n += (size_t)sprintf(text + n, "k%d = 1\n", i);
	assert_null(load(text, &errs));
	assert_int_equal(errs.count, WEFT_CONFIG_MAX_ERRORS + 1);
	assert_string_equal(errs.msg[99], "t.conf:103: [network] k99: unknown key");
	assert_string_equal(errs.msg[100], "t.conf: too many errors, 1400 more not shown");
	weft_config_errors_free(&errs);
	free(text);
}

static void test_too_many_peers(void **state)
{
	char *text = malloc(64 * 1024);
	struct weft_config_errors errs;
	struct weft_config *cfg;
	size_t n;

	assert_non_null(text);
	n = (size_t)sprintf(text, MINIMAL);
	for (int i = 0; i < WEFT_CONFIG_MAX_PEERS; i++)
		n += (size_t)sprintf(text + n, "[peer \"p%d\"]\n", i);
	cfg = load_ok(text);
	assert_int_equal(cfg->n_peers, WEFT_CONFIG_MAX_PEERS);
	assert_string_equal(cfg->peers[WEFT_CONFIG_MAX_PEERS - 1].name, "p1023");
	assert_ptr_equal(weft_config_find_peer(cfg, "p512"), &cfg->peers[512]);
	weft_config_free(cfg);
	sprintf(text + n, "[peer \"one-more\"]\n");
	assert_null(load(text, &errs));
	assert_int_equal(errs.count, 1);
	assert_string_equal(errs.msg[0],
			    "t.conf:1028: [peer \"one-more\"]: too many peers (at most "
			    "1024)");
	weft_config_errors_free(&errs);
	free(text);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/weft-test-config.XXXXXX";
	int fd = mkstemp(path);
	struct weft_config_errors errs;
	struct weft_config *cfg;
	char want[WEFT_ERRLEN];

	assert_true(fd >= 0);
	assert_int_equal(write(fd, MINIMAL "mtu = 1\n", strlen(MINIMAL) + 8),
			 (ssize_t)strlen(MINIMAL) + 8);
	close(fd);
	weft_config_errors_init(&errs);
	assert_null(weft_config_load_file(path, &errs));
	assert_int_equal(errs.count, 1);
	snprintf(want, sizeof(want), "%s:4: [network] mtu: `1': out of range 576..9000", path);
	assert_string_equal(errs.msg[0], want);
	weft_config_errors_free(&errs);

	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, MINIMAL, strlen(MINIMAL)), (ssize_t)strlen(MINIMAL));
	close(fd);
	weft_config_errors_init(&errs);
	cfg = weft_config_load_file(path, &errs);
	assert_non_null(cfg);
	assert_int_equal(errs.count, 0);
	assert_string_equal(cfg->path, path);
	weft_config_free(cfg);
	assert_int_equal(unlink(path), 0);

	assert_null(weft_config_load_file(path, &errs));
	assert_int_equal(errs.count, 1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(errs.msg[0], want);
	weft_config_errors_free(&errs);
	weft_config_free(NULL);
}

/* ---- dump and documented example --------------------------------------------------------- */

static void test_dump_roundtrip(void **state)
{
	struct weft_config *cfg = load_ok("[log]\nlevel = WARNING\n"
					  "[network]\nname = rt\nsecret_file = /s\n"
					  "listen = [2001:DB8::0:5]\nunderlay = eth1\n"
					  "create_bridge = off\n[socket]\nudp_rcvbuf = 128k\n"
					  "[peer \"b\"]\npublic_key = " BOB "\n"
					  "[peer \"a\"]\nendpoint = Host.Example\n");
	char *first = dump_reloads(cfg);

	assert_non_null(strstr(first, "listen = [2001:db8::5]:6783\n"));
	assert_non_null(strstr(first, "udp_rcvbuf = 131072\n"));
	assert_non_null(strstr(first, "level = warning\n"));
	/* peers in file order, absent optional keys left out */
	assert_non_null(strstr(first, "\n[peer \"b\"]\npublic_key = " BOB "\n\n[peer \"a\"]\n"
				      "endpoint = host.example:6783\n"));
	free(first);
	weft_config_free(cfg);
}

/* The mesh keys: an empty members_file means learned members are not kept,
 * and it dumps as empty rather than falling back to the default. */
static void test_mesh_keys(void **state)
{
	struct weft_config *cfg =
	    load_ok(MINIMAL "members_file =\nmax_direct = 1024\n"
			    "clamp_mss = on\n[timers]\ngossip_interval = 1\n");
	char *out = dump_reloads(cfg);

	assert_string_equal(cfg->members_file, "");
	assert_int_equal(cfg->max_direct, 1024);
	assert_true(cfg->clamp_mss);
	assert_int_equal(cfg->gossip_interval, 1);
	assert_non_null(strstr(out, "\nmembers_file =\nbanned_file = /var/lib/weft/t.banned\ntimestamps_file = "
				 "/var/lib/weft/t.timestamps\nmax_direct = 1024\nclamp_mss = yes\n"));
	assert_non_null(strstr(out, "\ngossip_interval = 1\n"));
	free(out);
	weft_config_free(cfg);

	/* the default follows the network name */
	cfg = load_ok("[network]\nname = eu-1\nsecret_file = /s\n");
	assert_string_equal(cfg->members_file, "/var/lib/weft/eu-1.members");
	weft_config_free(cfg);

	/* all four wrong: each is reported, in line order */
	load_fails(MINIMAL "members_file = weft.members\nmax_direct = 1025\nclamp_mss = sometimes\n"
			   "[timers]\ngossip_interval = 0\n",
		   4, "t.conf:4: [network] members_file: `weft.members': not an absolute path",
		   "t.conf:5: [network] max_direct: `1025': out of range 0..1024",
		   "t.conf:6: [network] clamp_mss: `sometimes': not a boolean: yes or no",
		   "t.conf:8: [timers] gossip_interval: `0': out of range 1..3600");
}

/* The longest values a file may hold, written as tightly as inih allows,
 * still dump to lines inih can read back (found by fuzz_config: a 184-byte
 * path on a "secret_file=" line dumped to a 199-character line). One more
 * character is refused, for paths and endpoints alike. */
static void test_longest_values_roundtrip(void **state)
{
	char path[WEFT_CONFIG_VALUE_MAX + 2], host[WEFT_CONFIG_VALUE_MAX + 2], text[1024];
	struct weft_config *cfg;

	(void)state;
	path[0] = '/';
	memset(path + 1, 'p', WEFT_CONFIG_VALUE_MAX - 1);
	path[WEFT_CONFIG_VALUE_MAX] = '\0';
	/* labels of at most 63 characters: "h...h.h...h.h...h:1" */
	memset(host, 'h', WEFT_CONFIG_VALUE_MAX - 2);
	host[63] = host[127] = '.';
	memcpy(host + WEFT_CONFIG_VALUE_MAX - 2, ":1", 3);
	assert_int_equal(strlen(host), WEFT_CONFIG_VALUE_MAX);
	snprintf(text, sizeof(text),
		 "[network]\nname=t\nsecret_file=%s\nprivate_key_file=%s\nmembers_file=%s\n"
		 "[peer \"p\"]\nendpoint=%s\n",
		 path, path, path, host);
	cfg = load_ok(text);
	free(dump_reloads(cfg));
	weft_config_free(cfg);

	strcat(path, "p");
	snprintf(text, sizeof(text), "[network]\nname=t\nsecret_file=%s\n", path);
	load_fails_with(text, "t.conf:3: [network] secret_file: ", "longer than 160 bytes");
	snprintf(text, sizeof(text), "[network]\nname=t\nsecret_file=/s\nmembers_file=%s\n", path);
	load_fails_with(text, "t.conf:4: [network] members_file: ", "longer than 160 bytes");

	memmove(host + 1, host, strlen(host) + 1);
	snprintf(text, sizeof(text),
		 "[network]\nname=t\nsecret_file=/s\n[peer \"p\"]\nendpoint=%s\n", host);
	load_fails_with(text, "t.conf:5: [peer \"p\"] endpoint: ", "longer than 160 characters");
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f)
		return NULL;
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	buf[len] = '\0';
	fclose(f);
	return buf;
}

static void test_docs_parse(void **state)
{
	char *text = docs(), *out, *save = NULL, *copy;
	struct weft_config *cfg = load_ok(text);
	size_t keys = 0;

	assert_string_equal(cfg->name, "prod");
	assert_int_equal(cfg->n_peers, 1);
	assert_true(cfg->peers[0].has_endpoint);
	assert_true(cfg->peers[0].has_public_key);
	/* every key of the dump is documented, set or commented out */
	out = dump(cfg);
	copy = strdup(text);
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char key[64], set[80], unset[80];

		if (l[0] == '[')
			continue;
		assert_int_equal(sscanf(l, "%63[a-z_] =", key), 1);
		snprintf(set, sizeof(set), "\n%s =", key);
		snprintf(unset, sizeof(unset), "\n#%s =", key);
		assert_true(strstr(text, set) || strstr(text, unset));
		keys++;
	}
	assert_int_equal(keys, 41);
	/* and uncommenting every default changes nothing */
	for (char *p = strstr(copy, "\n#"); p; p = strstr(p + 1, "\n#"))
		if (p[2] >= 'a' && p[2] <= 'z' && strchr(p + 2, '=') < strchr(p + 2, '\n'))
			p[1] = ' ';
	{
		struct weft_config *all = load_ok(copy);
		char *a = dump(all), *b = dump(cfg);

		assert_string_equal(a, b);
		free(a);
		free(b);
		weft_config_free(all);
	}
	free(copy);
	free(out);
	free(text);
	weft_config_free(cfg);
}

/* conf/weft.conf is the output of weft_config_write_docs(): regenerate it with
 * `weftd --print-example > conf/weft.conf' when the schema changes. */
static void test_docs_match_conf(void **state)
{
	char *text = docs();
	char *committed = read_all(WEFT_TOP_SRCDIR "/conf/weft.conf");

	assert_non_null(committed);
	if (strcmp(text, committed))
		print_message("conf/weft.conf differs from weft_config_write_docs(); regenerate it "
			      "with `weftd --print-example > conf/weft.conf'\n");
	assert_string_equal(text, committed);
	free(text);
	free(committed);
}

/* ---- reload: live and restart-only keys ------------------------------------------------- */

struct lifecycle {
	const char *section, *key;
	bool live;
};

/* Every key: applied by SIGHUP (live) or only at the next restart. */
/* clang-format off */
static const struct lifecycle lifecycles[] = {
	{"network", "name", false},
	{"network", "nickname", false},
	{"network", "secret_file", false},
	{"network", "private_key_file", false},
	{"network", "listen", false},
	{"network", "bridge", false},
	{"network", "mtu", false},
	{"network", "underlay", false},
	{"network", "require_pinned_keys", true},
	{"network", "trust_nicknames", true},
	{"network", "max_learned_members", true},
	{"network", "create_bridge", false},
	{"network", "handshake_rate", true},
	{"network", "handshake_burst", true},
	{"network", "handshake_global_rate", true},
	{"network", "members_file", false},
	{"network", "banned_file", false},
	{"network", "timestamps_file", false},
	{"network", "max_direct", true},
	{"network", "clamp_mss", true},
	{"network", "max_macs_per_peer", true},
	{"network", "mac_learn_rate", true},
	{"network", "mac_learn_burst", true},
	{"timers", "keepalive_interval", true},
	{"timers", "peer_timeout", true},
	{"timers", "forget_member_after", true},
	{"timers", "mac_ageing", true},
	{"timers", "rekey_after", true},
	{"timers", "reject_after", true},
	{"timers", "gossip_interval", true},
	{"socket", "udp_sndbuf", false},
	{"socket", "udp_rcvbuf", false},
	{"socket", "rx_ring_frames", false},
	{"socket", "tx_ring_frames", false},
	{"socket", "superframes", false},
	{"socket", "partial_checksums", false},
	{"control", "socket", false},
	{"metrics", "listen", false},
	{"log", "level", true},
	{"peer", "endpoint", true},
	{"peer", "public_key", true},
};
/* clang-format on */

static void test_key_lifecycle(void **state)
{
	struct weft_config *cfg =
	    load_ok(MINIMAL "[peer \"p\"]\nendpoint = h\npublic_key = " ALICE "\n");
	char *out = dump(cfg), *save = NULL, section[32] = "";
	size_t keys = 0;

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(lifecycles); i++) {
		const struct lifecycle *l = &lifecycles[i];

		if (weft_config_key_live(l->section, l->key) != l->live)
			print_message("[%s] %s: expected %s\n", l->section, l->key,
				      l->live ? "live" : "restart-only");
		assert_int_equal(weft_config_key_live(l->section, l->key), l->live);
	}
	/* the list above names every key of the schema */
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		char key[64];
		bool listed = false;

		if (l[0] == '[') {
			sscanf(l, "[%31[a-z]", section);
			continue;
		}
		assert_int_equal(sscanf(l, "%63[a-z_] =", key), 1);
		for (size_t i = 0; i < WEFT_ARRAY_SIZE(lifecycles); i++)
			listed |= !strcmp(lifecycles[i].section, section) &&
				  !strcmp(lifecycles[i].key, key);
		if (!listed)
			print_message("[%s] %s: not in lifecycles[]\n", section, key);
		assert_true(listed);
		keys++;
	}
	assert_int_equal(keys, WEFT_ARRAY_SIZE(lifecycles));
	/* unknown keys and sections are not live; names are case-sensitive */
	assert_false(weft_config_key_live("network", "nope"));
	assert_false(weft_config_key_live("nope", "level"));
	assert_false(weft_config_key_live("peer", "name"));
	assert_false(weft_config_key_live("control", "level"));
	assert_false(weft_config_key_live("Log", "level"));
	assert_false(weft_config_key_live("log", "Level"));
	assert_false(weft_config_key_live("", ""));
	free(out);
	weft_config_free(cfg);
}

/* Loads both texts and merges them: the merged (loaded) configuration must
 * still be valid, and the count and warning must be as given. */
static struct weft_config *merge(const char *running_text, const char *loaded_text,
				 struct weft_config **running, unsigned want_n, const char *want)
{
	struct weft_config *loaded = load_ok(loaded_text);
	char warning[WEFT_ERRLEN];
	unsigned n;

	*running = load_ok(running_text);
	memset(warning, 'x', sizeof(warning));
	n = weft_config_reload_merge(loaded, *running, warning);
	if (strcmp(warning, want))
		print_message("  got:  %s\n  want: %s\n", warning, want);
	assert_string_equal(warning, want);
	assert_int_equal(n, want_n);
	assert_true(strlen(warning) < WEFT_ERRLEN);
	free(dump_reloads(loaded));
	return loaded;
}

static void assert_same_dump(const struct weft_config *a, const struct weft_config *b)
{
	char *x = dump(a), *y = dump(b);

	assert_string_equal(x, y);
	free(x);
	free(y);
}

static void test_reload_one_restart_key(void **state)
{
	struct weft_config *running,
	    *loaded = merge(MINIMAL, MINIMAL "bridge = br1\n", &running, 1,
			    "reload: [network] bridge takes effect at the next restart; running "
			    "on with the old value");

	assert_string_equal(loaded->bridge, "weft0");
	assert_same_dump(loaded, running);
	weft_config_free(loaded);
	weft_config_free(running);
}

static void test_reload_two_sections(void **state)
{
	struct weft_config *running,
	    *loaded = merge(MINIMAL "[socket]\nudp_rcvbuf = 2M\n",
			    /* in file order unlike the schema's: the warning has the schema's */
			    "[socket]\nudp_rcvbuf = 8M\n"
			    "[network]\nname = t\nsecret_file = /etc/weft/t.secret\n"
			    "bridge = br1\nlisten = 192.0.2.1:7000\n",
			    &running, 3,
			    "reload: [network] listen, bridge and [socket] udp_rcvbuf take "
			    "effect at the next restart; running on with the old values");

	assert_string_equal(loaded->bridge, "weft0");
	assert_int_equal(loaded->listen.port, 6783);
	assert_string_equal(loaded->listen.host, "0.0.0.0");
	assert_int_equal(loaded->udp_rcvbuf, 2 << 20);
	assert_same_dump(loaded, running);
	weft_config_free(loaded);
	weft_config_free(running);
}

static void test_reload_live_keys_only(void **state)
{
	struct weft_config *running,
	    *loaded = merge(MINIMAL "[peer \"old\"]\nendpoint = 192.0.2.9\n",
			    MINIMAL "require_pinned_keys = yes\nhandshake_rate = 50\n"
				    "handshake_burst = 5\nmax_direct = 16\nclamp_mss = yes\n"
				    "[timers]\nkeepalive_interval = 5\npeer_timeout = 30\n"
				    "forget_member_after = 600\nmac_ageing = 60\n"
				    "rekey_after = 100\nreject_after = 150\ngossip_interval = 5\n"
				    "[log]\nlevel = debug\n"
				    "[peer \"a\"]\nendpoint = 192.0.2.1\npublic_key = " ALICE "\n",
			    &running, 0, "");

	assert_true(loaded->require_pinned_keys);
	assert_int_equal(loaded->handshake_rate, 50);
	assert_int_equal(loaded->handshake_burst, 5);
	assert_int_equal(loaded->max_direct, 16);
	assert_true(loaded->clamp_mss);
	assert_int_equal(loaded->keepalive_interval, 5);
	assert_int_equal(loaded->peer_timeout, 30);
	assert_int_equal(loaded->forget_member_after, 600);
	assert_int_equal(loaded->mac_ageing, 60);
	assert_int_equal(loaded->rekey_after, 100);
	assert_int_equal(loaded->reject_after, 150);
	assert_int_equal(loaded->gossip_interval, 5);
	assert_int_equal(loaded->log_level, LOG_DEBUG);
	/* the peers are the file's: "old" is gone, "a" is new */
	assert_int_equal(loaded->n_peers, 1);
	assert_string_equal(loaded->peers[0].name, "a");
	assert_true(loaded->peers[0].has_public_key);
	weft_config_free(loaded);
	weft_config_free(running);

	/* another spelling of the same value is no change */
	loaded = merge(MINIMAL "listen = 0.0.0.0\nmtu = auto\n[socket]\nudp_sndbuf = 4M\n",
		       MINIMAL "listen = 0.0.0.0:6783\nmtu = AUTO\ncreate_bridge = on\n"
			       "[socket]\nudp_sndbuf = 4194304\nrx_ring_frames = 4096\n",
		       &running, 0, "");
	assert_same_dump(loaded, running);
	weft_config_free(loaded);
	weft_config_free(running);
}

static void test_reload_restart_and_live(void **state)
{
	struct weft_config *running,
	    *loaded = merge(MINIMAL "[log]\nlevel = warning\n",
			    MINIMAL "mtu = 1400\nhandshake_rate = 7\n[timers]\nmac_ageing = 60\n"
				    "[log]\nlevel = debug\n[peer \"a\"]\n",
			    &running, 1,
			    "reload: [network] mtu takes effect at the next restart; running on "
			    "with the old value");

	assert_int_equal(loaded->mtu, 0);
	assert_int_equal(loaded->handshake_rate, 7);
	assert_int_equal(loaded->mac_ageing, 60);
	assert_int_equal(loaded->log_level, LOG_DEBUG);
	assert_int_equal(loaded->n_peers, 1);
	weft_config_free(loaded);
	weft_config_free(running);
}

/* Every restart-only key changed: too many names for one line, so the first
 * ones that fit are named and the rest counted. */
static void test_reload_long_list(void **state)
{
	struct weft_config *running,
	    *loaded = merge(MINIMAL "handshake_rate = 1\n",
			    "[network]\nname = u\nnickname = h2\nsecret_file = /etc/weft/u.secret\n"
			    "private_key_file = /k\nlisten = 127.0.0.1:1\nbridge = br1\n"
			    "mtu = 1400\nunderlay = eth1\ncreate_bridge = no\nhandshake_rate = 2\n"
			    "members_file =\n"
			    "[socket]\nudp_sndbuf = 1M\nudp_rcvbuf = 1M\nrx_ring_frames = 64\n"
			    "tx_ring_frames = 64\n[control]\nsocket = /run/u.sock\n",
			    &running, 17,
			    "reload: [network] name, nickname, secret_file, private_key_file, "
			    "listen, bridge, mtu, underlay, create_bridge, members_file, banned_file, "
			    "timestamps_file, [socket] udp_sndbuf and 4 more take effect at the "
			    "next restart; running on with the old values");

	/* everything is back but the live key; the empty members_file too */
	assert_string_equal(loaded->members_file, "/var/lib/weft/t.members");
	assert_int_equal(loaded->handshake_rate, 2);
	loaded->handshake_rate = 1;
	assert_same_dump(loaded, running);
	weft_config_free(loaded);
	weft_config_free(running);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_values),
	    cmocka_unit_test(test_bad_values),
	    cmocka_unit_test(test_every_key_is_tested),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_error_format),
	    cmocka_unit_test(test_timer_order),
	    cmocka_unit_test(test_duplicate_peers),
	    cmocka_unit_test(test_pinned_keys),
	    cmocka_unit_test(test_duplicate_keys),
	    cmocka_unit_test(test_structure_errors),
	    cmocka_unit_test(test_missing_required),
	    cmocka_unit_test(test_lexical),
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_many_errors),
	    cmocka_unit_test(test_too_many_errors),
	    cmocka_unit_test(test_too_many_peers),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_dump_roundtrip),
	    cmocka_unit_test(test_mesh_keys),
	    cmocka_unit_test(test_longest_values_roundtrip),
	    cmocka_unit_test(test_docs_parse),
	    cmocka_unit_test(test_docs_match_conf),
	    cmocka_unit_test(test_key_lifecycle),
	    cmocka_unit_test(test_reload_one_restart_key),
	    cmocka_unit_test(test_reload_two_sections),
	    cmocka_unit_test(test_reload_live_keys_only),
	    cmocka_unit_test(test_reload_restart_and_live),
	    cmocka_unit_test(test_reload_long_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
