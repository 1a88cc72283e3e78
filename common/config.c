/* SPDX-License-Identifier: MIT */
/* The configuration. inih splits lines into key and value; a reader of our own
 * counts lines, refuses overlong ones and tracks [section] headers; the raw
 * strings are then validated against the one schema table below, which also
 * drives the dump and the documented example. */
#include <config.h>   /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <ini.h>

#include "common/config.h"
#include "common/key.h"

enum section { S_NETWORK, S_TIMERS, S_SOCKET, S_CONTROL, S_METRICS, S_LOG, S_PEER, S_COUNT };

/* clang-format off */
static const char *const section_names[S_COUNT] = {
	[S_NETWORK] = "network", [S_TIMERS] = "timers", [S_SOCKET] = "socket",
	[S_CONTROL] = "control", [S_METRICS] = "metrics", [S_LOG] = "log", [S_PEER] = "peer",
};

static const char *const section_help[S_COUNT] = {
	[S_NETWORK] = "The network this host joins, its identity and its bridge.",
	[S_TIMERS] = "Timers, in seconds.",
	[S_SOCKET] = "Socket buffers and packet rings.",
	[S_CONTROL] = "The control socket used by weftctl.",
	[S_METRICS] = "Prometheus metrics over HTTP (also printed by `weftctl metrics').",
	[S_LOG] = "Logging (to stderr; journald when run by systemd).",
	[S_PEER] = "One [peer \"NAME\"] section per other member, NAME as for the network name.",
};
/* clang-format on */

enum type { T_NAME, T_PATH, T_IFNAME, T_UINT, T_SIZE, T_BOOL, T_ENUM, T_MTU, T_ENDPOINT, T_KEY };

#define F_REQUIRED (1U << 0)
#define F_NUMERIC  (1U << 1) /* endpoint: no host names */
#define F_POW2	   (1U << 2)
#define F_EMPTY	   (1U << 3) /* the empty value is allowed */
/* Applied on reload (SIGHUP). Without it a key is read at start-up only: a
 * reload keeps its running value and names it in the restart warning, so a
 * key nobody classified is never half-applied. */
#define F_LIVE (1U << 4)

struct enum_value {
	const char *name;
	int value;
};

/* clang-format off */
static const struct enum_value log_levels[] = {
	{"error", LOG_ERR}, {"warning", LOG_WARNING}, {"info", LOG_INFO}, {"debug", LOG_DEBUG},
	{NULL, 0},
};
/* clang-format on */

/* The keys in schema order (the order of the dump and the example): the
 * cross-key rules of the table name each other by these. */
/* clang-format off */
enum key {
	K_NAME, K_NICKNAME, K_SECRET_FILE, K_PRIVATE_KEY_FILE, K_LISTEN, K_BRIDGE, K_MTU,
	K_UNDERLAY, K_REQUIRE_PINNED_KEYS, K_TRUST_NICKNAMES, K_MAX_LEARNED_MEMBERS, K_CREATE_BRIDGE, K_HANDSHAKE_RATE, K_HANDSHAKE_BURST,
	K_HANDSHAKE_GLOBAL_RATE,
	K_MEMBERS_FILE, K_BANNED_FILE, K_TIMESTAMPS_FILE, K_MAX_DIRECT, K_CLAMP_MSS,
	K_MAX_MACS_PER_PEER, K_MAC_LEARN_RATE, K_MAC_LEARN_BURST,
	K_KEEPALIVE_INTERVAL, K_PEER_TIMEOUT, K_FORGET_MEMBER_AFTER, K_MAC_AGEING, K_REKEY_AFTER,
	K_REJECT_AFTER, K_GOSSIP_INTERVAL,
	K_UDP_SNDBUF, K_UDP_RCVBUF, K_RX_RING_FRAMES, K_TX_RING_FRAMES, K_SUPERFRAMES,
	K_PARTIAL_CHECKSUMS,
	K_CONTROL_SOCKET,
	K_METRICS_LISTEN,
	K_LOG_LEVEL,
	K_PEER_ENDPOINT, K_PEER_PUBLIC_KEY,
	N_KEYS
};
/* clang-format on */

struct key_def {
	enum section sect;
	const char *key;
	enum type type;
	unsigned flags;
	unsigned min, max;   /* range; for strings, the longest length */
	const char *def;     /* NULL: no default; "<name>" stands for the network name */
	const char *example; /* set in the example; NULL: shown commented out at the default */
	const char *unit;    /* for the example's value line */
	uint16_t port;	     /* T_ENDPOINT: the port when none is written (0: weft's) */
	const struct enum_value *values;
	size_t off, size; /* field in struct weft_config, or weft_config_peer for S_PEER */
	size_t has_off;	  /* S_PEER: the field's has_ flag */
	const char *help;

	/* Rules between keys, checked once every key is parsed. A rule ties keys
	 * of one lifecycle, so a reload that keeps the restart-only values
	 * (weft_config_reload_merge) still runs a configuration that obeys it. */
	const struct key_def *more_than;    /* T_UINT: must be more than this key */
	const struct key_def *differs_from; /* must not have this key's value... */
	const char *differs_why;	    /* ...the reason given when it has */
	const struct key_def *required_if;  /* S_PEER: required when this T_BOOL key is yes */
	const char *unique; /* S_PEER: no two peers share the value; what messages call it */
};

/* CFG(T_x, field) and PEER(T_x, field, has_field) tie a key to its field and
 * refuse to compile when the field's C type is not the one T_x is stored in:
 * _Generic without a default has no association for any other type. */
#define IS_T_NAME(x)	 _Generic(&(x), char(*)[sizeof(x)] : 0)
#define IS_T_PATH(x)	 IS_T_NAME(x)
#define IS_T_IFNAME(x)	 IS_T_NAME(x)
#define IS_T_UINT(x)	 _Generic((x), unsigned : 0)
#define IS_T_SIZE(x)	 IS_T_UINT(x)
#define IS_T_MTU(x)	 IS_T_UINT(x)
#define IS_T_BOOL(x)	 _Generic((x), bool : 0)
#define IS_T_ENUM(x)	 _Generic((x), int : 0)
#define IS_T_ENDPOINT(x) _Generic((x), struct weft_endpoint : 0)
#define IS_T_KEY(x)	 _Generic(&(x), uint8_t(*)[WEFT_KEY_LEN] : 0)

#define FIELD(st, t, f)                                                                            \
	.type = t, .off = offsetof(st, f) + IS_##t(((st *)0)->f), .size = sizeof(((st *)0)->f)
#define CFG(t, f) FIELD(struct weft_config, t, f)
/* A string key of at most @len characters: its field must hold them and the NUL
 * (a negative array size fails to compile). */
#define CFG_STR(t, f, len)                                                                         \
	CFG(t, f),                                                                                 \
	    .max = (len) + 0 * sizeof(char[(len) < sizeof(((struct weft_config *)0)->f) ? 1 : -1])
#define PEER(t, f, has)                                                                            \
	FIELD(struct weft_config_peer, t, f),                                                      \
	    .has_off = offsetof(struct weft_config_peer, has) +                                    \
		       IS_T_BOOL(((struct weft_config_peer *)0)->has)

/* clang-format off */
static const struct key_def schema[N_KEYS] = {
	[K_NAME] = {.sect = S_NETWORK, .key = "name", .flags = F_REQUIRED,
	 CFG_STR(T_NAME, name, WEFT_CONFIG_NAME_MAX), .example = "prod",
	 .help = "Network name, the same on every member (it is part of the handshake)."},
	[K_NICKNAME] = {.sect = S_NETWORK, .key = "nickname", .flags = F_EMPTY,
	 CFG_STR(T_NAME, nickname, WEFT_CONFIG_NAME_MAX), .def = "",
	 .help = "This host's name in handshakes and peers' status; empty = the host name. "
		 "Other members name it so in their [peer \"NAME\"] sections."},
	[K_SECRET_FILE] = {.sect = S_NETWORK, .key = "secret_file", .flags = F_REQUIRED,
	 CFG_STR(T_PATH, secret_file, WEFT_CONFIG_VALUE_MAX), .example = "/etc/weft/prod.secret",
	 .help = "Network secret shared by every member: 32 bytes in base64 (`weftd genpsk'), "
		 "mode 0600."},
	[K_PRIVATE_KEY_FILE] = {.sect = S_NETWORK, .key = "private_key_file",
	 CFG_STR(T_PATH, private_key_file, WEFT_CONFIG_VALUE_MAX),
	 .def = "/var/lib/weft/<name>.key",
	 .help = "This host's X25519 private key in base64; created on first start if missing."},
	[K_LISTEN] = {.sect = S_NETWORK, .key = "listen", .flags = F_NUMERIC,
	 CFG(T_ENDPOINT, listen), .def = "0.0.0.0:6783",
	 .help = "UDP address and port to listen on ([::]:6783 for IPv6)."},
	[K_BRIDGE] = {.sect = S_NETWORK, .key = "bridge", CFG_STR(T_IFNAME, bridge, IFNAMSIZ - 4),
	 .def = "weft0",
	 .help = "Bridge to join; weftd plugs the veth pair <bridge>-br/<bridge>-dp into it."},
	[K_MTU] = {.sect = S_NETWORK, .key = "mtu", CFG(T_MTU, mtu), .min = 576, .max = 9000,
	 .def = "auto",
	 .help = "Overlay MTU; auto = the underlay's MTU minus 77 (IPv4) or 97 (IPv6) bytes."},
	[K_UNDERLAY] = {.sect = S_NETWORK, .key = "underlay", .flags = F_EMPTY,
	 CFG_STR(T_IFNAME, underlay, IFNAMSIZ - 1), .def = "",
	 .differs_from = &schema[K_BRIDGE], .differs_why = "the underlay cannot be the bridge",
	 .help = "Interface whose MTU sizes the overlay; empty = the one routing to the first "
		 "peer."},
	[K_REQUIRE_PINNED_KEYS] = {.sect = S_NETWORK, .key = "require_pinned_keys",
	 .flags = F_LIVE, CFG(T_BOOL, require_pinned_keys), .def = "no",
	 .help = "yes: every [peer] must pin a public_key and unpinned hosts are refused."},
	[K_TRUST_NICKNAMES] = {.sect = S_NETWORK, .key = "trust_nicknames",
	 .flags = F_LIVE, CFG(T_BOOL, trust_nicknames), .def = "no",
	 .help = "yes: a [peer] with no key known yet is whoever handshakes first under its "
		 "name, from anywhere; no: only from its endpoint, if it has one. The first key "
		 "is kept (`weftctl unpin' forgets it)."},
	[K_MAX_LEARNED_MEMBERS] = {.sect = S_NETWORK, .key = "max_learned_members",
	 .flags = F_LIVE, CFG(T_UINT, max_learned_members), .min = 0,
	 .max = WEFT_CONFIG_MAX_MEMBERS, .def = "256", .unit = "members",
	 .help = "Members no [peer] names (joined by handshake, gossip or `weftctl connect') "
		 "kept at once; more are refused and counted, so made-up identities stay few."},
	[K_CREATE_BRIDGE] = {.sect = S_NETWORK, .key = "create_bridge",
	 CFG(T_BOOL, create_bridge), .def = "yes",
	 .help = "Create the bridge if it does not exist (no: weftd waits until it exists, e.g. made by a "
		 "CNI plugin, and plugs into it then)."},
	[K_HANDSHAKE_RATE] = {.sect = S_NETWORK, .key = "handshake_rate", .flags = F_LIVE,
	 CFG(T_UINT, handshake_rate), .min = 1, .max = 10000, .def = "20",
	 .unit = "handshakes per second",
	 .help = "Handshakes answered per second and source address."},
	[K_HANDSHAKE_BURST] = {.sect = S_NETWORK, .key = "handshake_burst", .flags = F_LIVE,
	 CFG(T_UINT, handshake_burst), .min = 1, .max = 10000, .def = "10", .unit = "handshakes",
	 .help = "Handshakes a source address may send at once before handshake_rate applies."},
	[K_HANDSHAKE_GLOBAL_RATE] = {.sect = S_NETWORK, .key = "handshake_global_rate",
	 .flags = F_LIVE, CFG(T_UINT, handshake_global_rate), .min = 1, .max = 100000,
	 .def = "200", .unit = "handshakes per second",
	 .help = "Handshakes answered per second from all sources together, bounding their "
		 "Diffie-Hellman work (about 0.2 ms each: 200 is ~4% of a core); past half of it, "
		 "senders must prove their address first."},
	[K_MEMBERS_FILE] = {.sect = S_NETWORK, .key = "members_file", .flags = F_EMPTY,
	 CFG_STR(T_PATH, members_file, WEFT_CONFIG_VALUE_MAX),
	 .def = "/var/lib/weft/<name>.members",
	 .help = "Where the members learned by gossip are kept across restarts (tried again at "
		 "start-up); empty = not kept."},
	[K_BANNED_FILE] = {.sect = S_NETWORK, .key = "banned_file", .flags = F_EMPTY,
	 CFG_STR(T_PATH, banned_file, WEFT_CONFIG_VALUE_MAX),
	 .def = "/var/lib/weft/<name>.banned",
	 .help = "Where the keys banned by `weftctl forget' (or by removing their [peer] "
		 "section) are kept across restarts; empty = bans last until the daemon stops."},
	[K_TIMESTAMPS_FILE] = {.sect = S_NETWORK, .key = "timestamps_file", .flags = F_EMPTY,
	 CFG_STR(T_PATH, timestamps_file, WEFT_CONFIG_VALUE_MAX),
	 .def = "/var/lib/weft/<name>.timestamps",
	 .help = "Where the handshake stamps outlive a restart: ours (so they keep growing "
		 "whatever the clock says) and each peer's last (an older HELLO needs a cookie "
		 "round trip); empty = not kept."},
	[K_MAX_DIRECT] = {.sect = S_NETWORK, .key = "max_direct", .flags = F_LIVE,
	 CFG(T_UINT, max_direct), .min = 0, .max = WEFT_CONFIG_MAX_PEERS, .def = "0",
	 .unit = "peers",
	 .help = "Most direct sessions to members learned by gossip (configured peers always "
		 "get one); the others are reached through relays. 0 = no cap (a full mesh)."},
	[K_CLAMP_MSS] = {.sect = S_NETWORK, .key = "clamp_mss", .flags = F_LIVE,
	 CFG(T_BOOL, clamp_mss), .def = "no",
	 .help = "yes: lower the MSS of TCP SYNs crossing the overlay to what the path carries, "
		 "for stacks that ignore ICMP \"fragmentation needed\"."},
	[K_MAX_MACS_PER_PEER] = {.sect = S_NETWORK, .key = "max_macs_per_peer", .flags = F_LIVE,
	 CFG(T_UINT, max_macs_per_peer), .min = 1, .max = WEFT_CONFIG_MAX_MACS, .def = "4096",
	 .unit = "MAC addresses",
	 .help = "Remote MAC addresses one peer may have in the MAC table (16384 in all); frames "
		 "from more are dropped and counted (mac_limit). No live MAC is ever evicted to make "
		 "room."},
	[K_MAC_LEARN_RATE] = {.sect = S_NETWORK, .key = "mac_learn_rate", .flags = F_LIVE,
	 CFG(T_UINT, mac_learn_rate), .min = 1, .max = 100000, .def = "100",
	 .unit = "MAC addresses per second",
	 .help = "New remote MAC addresses learned per second and peer; frames from more are "
		 "dropped and counted (mac_rate)."},
	[K_MAC_LEARN_BURST] = {.sect = S_NETWORK, .key = "mac_learn_burst", .flags = F_LIVE,
	 CFG(T_UINT, mac_learn_burst), .min = 1, .max = WEFT_CONFIG_MAX_MACS, .def = "1000",
	 .unit = "MAC addresses",
	 .help = "New MAC addresses a peer may bring at once (a host starting many containers) "
		 "before mac_learn_rate applies."},

	[K_KEEPALIVE_INTERVAL] = {.sect = S_TIMERS, .key = "keepalive_interval", .flags = F_LIVE,
	 CFG(T_UINT, keepalive_interval), .min = 1, .max = 3600, .def = "10", .unit = "seconds",
	 .help = "Silence towards a peer after which a keepalive is sent."},
	[K_PEER_TIMEOUT] = {.sect = S_TIMERS, .key = "peer_timeout", .flags = F_LIVE,
	 CFG(T_UINT, peer_timeout), .min = 2, .max = 86400, .def = "40", .unit = "seconds",
	 .more_than = &schema[K_KEEPALIVE_INTERVAL],
	 .help = "Silence from a peer after which it is down; more than keepalive_interval."},
	[K_FORGET_MEMBER_AFTER] = {.sect = S_TIMERS, .key = "forget_member_after",
	 .flags = F_LIVE, CFG(T_UINT, forget_member_after), .min = 10, .max = 604800,
	 .def = "900", .unit = "seconds", .more_than = &schema[K_PEER_TIMEOUT],
	 .help = "Silence after which a member that no [peer] section names (one that joined "
		 "by handshake) is forgotten; more than peer_timeout."},
	[K_MAC_AGEING] = {.sect = S_TIMERS, .key = "mac_ageing", .flags = F_LIVE,
	 CFG(T_UINT, mac_ageing), .min = 10, .max = 86400, .def = "300", .unit = "seconds",
	 .help = "Idle time after which a remote MAC address is forgotten."},
	[K_REKEY_AFTER] = {.sect = S_TIMERS, .key = "rekey_after", .flags = F_LIVE,
	 CFG(T_UINT, rekey_after), .min = 10, .max = 86400, .def = "120", .unit = "seconds",
	 .help = "Session age at which the initiator starts a new handshake."},
	[K_REJECT_AFTER] = {.sect = S_TIMERS, .key = "reject_after", .flags = F_LIVE,
	 CFG(T_UINT, reject_after), .min = 11, .max = 86400, .def = "180", .unit = "seconds",
	 .more_than = &schema[K_REKEY_AFTER],
	 .help = "Session age at which a session is refused; more than rekey_after."},
	[K_GOSSIP_INTERVAL] = {.sect = S_TIMERS, .key = "gossip_interval", .flags = F_LIVE,
	 CFG(T_UINT, gossip_interval), .min = 1, .max = 3600, .def = "30", .unit = "seconds",
	 .help = "Interval at which every member is told the whole membership again (changes "
		 "go out at once)."},

	[K_UDP_SNDBUF] = {.sect = S_SOCKET, .key = "udp_sndbuf", CFG(T_SIZE, udp_sndbuf),
	 .min = 64 << 10, .max = 256 << 20, .def = "4M",
	 .help = "UDP socket send buffer (SO_SNDBUF)."},
	[K_UDP_RCVBUF] = {.sect = S_SOCKET, .key = "udp_rcvbuf", CFG(T_SIZE, udp_rcvbuf),
	 .min = 64 << 10, .max = 256 << 20, .def = "4M",
	 .help = "UDP socket receive buffer (SO_RCVBUF)."},
	[K_RX_RING_FRAMES] = {.sect = S_SOCKET, .key = "rx_ring_frames", .flags = F_POW2,
	 CFG(T_UINT, rx_ring_frames), .min = 64, .max = 65536, .def = "4096", .unit = "frames",
	 .help = "Slots in the AF_PACKET receive ring (frames from the bridge)."},
	[K_TX_RING_FRAMES] = {.sect = S_SOCKET, .key = "tx_ring_frames", .flags = F_POW2,
	 CFG(T_UINT, tx_ring_frames), .min = 64, .max = 65536, .def = "4096", .unit = "frames",
	 .help = "Slots in the AF_PACKET transmit ring (frames to the bridge)."},
	[K_SUPERFRAMES] = {.sect = S_SOCKET, .key = "superframes", CFG(T_BOOL, superframes),
	 .def = "yes",
	 .help = "64 KiB TCP superframes between bridge and weftd: the port keeps TSO, weftd "
		 "cuts what it captures and merges received segments (as GRO)."},
	[K_PARTIAL_CHECKSUMS] = {.sect = S_SOCKET, .key = "partial_checksums",
	 CFG(T_BOOL, partial_checksums), .def = "yes",
	 .help = "Send segments cut from superframes with their TCP/UDP checksum left for the "
		 "peer's weftd to finish (to peers that take it), and take such frames; no = "
		 "complete every checksum here."},

	[K_CONTROL_SOCKET] = {.sect = S_CONTROL, .key = "socket",
	 /* sun_path holds 108 bytes with the NUL */
	 CFG_STR(T_PATH, control_socket, 107), .def = "/run/weft/<name>.sock",
	 .help = "UNIX socket on which weftctl talks to weftd."},

	[K_METRICS_LISTEN] = {.sect = S_METRICS, .key = "listen", .flags = F_NUMERIC | F_EMPTY,
	 CFG(T_ENDPOINT, metrics_listen), .def = "", .port = WEFT_METRICS_PORT,
	 .help = "TCP address and port serving GET /metrics (e.g. 127.0.0.1:9783); empty = no "
		 "HTTP listener. Anyone who can connect reads the metrics: keep it on loopback or "
		 "a management network."},

	[K_LOG_LEVEL] = {.sect = S_LOG, .key = "level", .flags = F_LIVE, CFG(T_ENUM, log_level),
	 .def = "info", .values = log_levels,
	 .help = "Messages below this level are not logged (-d forces debug)."},

	/* peers are re-applied as a whole on reload: every peer key is live */
	[K_PEER_ENDPOINT] = {.sect = S_PEER, .key = "endpoint", .flags = F_LIVE,
	 PEER(T_ENDPOINT, endpoint, has_endpoint), .example = "192.0.2.10:6783",
	 .help = "Where to reach the peer; without it the peer only answers. A host name is "
		 "looked up in the background at start-up and at every reload (and every 30 s "
		 "while it has no answer)."},
	[K_PEER_PUBLIC_KEY] = {.sect = S_PEER, .key = "public_key", .flags = F_LIVE,
	 PEER(T_KEY, public_key, has_public_key),
	 .example = "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=",
	 .required_if = &schema[K_REQUIRE_PINNED_KEYS], .unique = "public key",
	 .help = "The peer's public key (`weftd pubkey'): pins its identity. Needed when "
		 "require_pinned_keys = yes."},
};
/* clang-format on */

/* The longest value quoted in an error message. */
#define SHOW_MAX 64
/* Errors collected before sorting; past this they are only counted. */
#define ITEMS_MAX 1000

struct raw_value {
	char *text; /* NULL: not set */
	unsigned line;
};

struct raw_peer {
	char name[WEFT_CONFIG_NAME_MAX + 1];
	unsigned line;
	struct raw_value v[N_KEYS];
};

struct item {
	unsigned line;
	size_t seq;
	char msg[WEFT_ERRLEN];
};

enum { CUR_NONE = -1, CUR_SKIP = -2 };

struct ctx {
	const char *path;
	FILE *in;
	unsigned line;
	bool pending; /* the last line is a key = value line: inih must hand it to us */
	bool read_error;
	bool bad_header; /* a malformed section header was seen */

	int cur; /* enum section, CUR_NONE before any header, CUR_SKIP after a bad one */
	struct raw_peer *peer; /* when cur == S_PEER */
	unsigned sect_line[S_COUNT];
	struct raw_value raw[N_KEYS];
	struct raw_peer *peers;
	size_t n_peers, cap_peers;

	struct item *items;
	size_t n_items, cap_items, dropped, seq;
	bool oom;
};

static void add_error(struct ctx *c, unsigned line, const char *fmt, ...) WEFT_PRINTF(3, 4);

static void add_error(struct ctx *c, unsigned line, const char *fmt, ...)
{
	struct item *it;
	va_list ap;
	int n;

	if (c->n_items == ITEMS_MAX) {
		c->dropped++;
		return;
	}
	if (c->n_items == c->cap_items) {
		size_t cap = c->cap_items ? c->cap_items * 2 : 16;
		struct item *p = realloc(c->items, cap * sizeof(*p));

		if (!p) {
			c->oom = true;
			c->dropped++;
			return;
		}
		c->items = p;
		c->cap_items = cap;
	}
	it = &c->items[c->n_items++];
	it->line = line;
	it->seq = c->seq++;
	if (line)
		n = snprintf(it->msg, sizeof(it->msg), "%s:%u: ", c->path, line);
	else
		n = snprintf(it->msg, sizeof(it->msg), "%s: ", c->path);
	if (n < 0 || (size_t)n >= sizeof(it->msg))
		return;
	va_start(ap, fmt);
	vsnprintf(it->msg + n, sizeof(it->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* Quotable form of untrusted text: printable ASCII only, at most SHOW_MAX characters. */
static const char *show(char out[static SHOW_MAX + 4], const char *text)
{
	size_t i;

	for (i = 0; text[i] && i < SHOW_MAX; i++)
		out[i] = (text[i] >= 0x20 && text[i] < 0x7f) ? text[i] : '?';
	if (text[i]) {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* A key name as quoted in messages. A long or odd "name" is more likely a pasted
 * secret (base64 ends in `=', so inih splits it as a key) than a mistyped key. */
static const char *show_key(char out[static SHOW_MAX + 4], const char *key)
{
	size_t len = strlen(key);

	if (len > WEFT_CONFIG_NAME_MAX || strspn(key, WEFT_NAME_CHARS) < len)
		return "(a key, not shown)";
	return show(out, key);
}

static void section_label(char out[static 48], enum section s, const char *peer)
{
	if (s == S_PEER)
		snprintf(out, 48, "[peer \"%s\"]", peer);
	else
		snprintf(out, 48, "[%s]", section_names[s]);
}

static void key_error(struct ctx *c, unsigned line, const struct key_def *d, const char *peer,
		      const char *value, const char *reason)
{
	char label[48], shown[SHOW_MAX + 4];

	section_label(label, d->sect, peer);
	add_error(c, line, "%s %s: `%s': %s", label, d->key, show(shown, value), reason);
}

static int find_key(enum section s, const char *key)
{
	for (size_t i = 0; i < N_KEYS; i++)
		if (schema[i].sect == s && !strcmp(schema[i].key, key))
			return (int)i;
	return -1;
}

/* ---- values ------------------------------------------------------------------------------ */

static bool valid_name(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len <= WEFT_CONFIG_NAME_MAX && strspn(s, WEFT_NAME_CHARS) == len;
}

static const char name_rule[] = "a name is 1 to 32 characters of A-Z a-z 0-9 . _ -";

static bool is_digits(const char *s)
{
	return *s && strspn(s, "0123456789") == strlen(s);
}

static bool has_space_or_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return true;
	return false;
}

/* Decimal digits only: no sign, no base prefix, no suffix. */
static int parse_uint(const char *s, unsigned long *out)
{
	unsigned long v = 0;

	if (!is_digits(s))
		return -EINVAL;
	for (; *s; s++) {
		if (v > (ULONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	*out = v;
	return 0;
}

static void format_size(char out[static 24], unsigned long v)
{
	if (v && v % (1UL << 20) == 0)
		snprintf(out, 24, "%luM", v >> 20);
	else if (v && v % (1UL << 10) == 0)
		snprintf(out, 24, "%luK", v >> 10);
	else
		snprintf(out, 24, "%lu", v);
}

static int parse_size(const char *s, unsigned long *out)
{
	char digits[24];
	size_t len = strlen(s);
	unsigned shift = 0;
	int ret;

	if (len && (s[len - 1] == 'K' || s[len - 1] == 'k'))
		shift = 10;
	else if (len && (s[len - 1] == 'M' || s[len - 1] == 'm'))
		shift = 20;
	if (shift)
		len--;
	if (len == 0 || len >= sizeof(digits))
		return -EINVAL;
	memcpy(digits, s, len);
	digits[len] = '\0';
	ret = parse_uint(digits, out);
	if (ret < 0)
		return ret;
	if (*out > (ULONG_MAX >> shift))
		return -ERANGE;
	*out <<= shift;
	return 0;
}

static int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < WEFT_ARRAY_SIZE(yes); i++) {
		if (!strcasecmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcasecmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

/* Holds any value's canonical text. */
#define VALUE_MAX WEFT_ENDPOINT_STRLEN

/* T_UINT, T_SIZE and T_MTU fields are unsigned: CFG() and PEER() check it. */
static void store_uint(void *field, unsigned long v)
{
	unsigned u = (unsigned)v;

	memcpy(field, &u, sizeof(u));
}

static unsigned load_uint(const void *base, const struct key_def *d)
{
	unsigned u;

	memcpy(&u, (const char *)base + d->off, sizeof(u));
	return u;
}

static void enum_list(char out[static 128], const struct enum_value *values, const char *last_sep)
{
	size_t n = 0, i;

	out[0] = '\0';
	for (i = 0; values[i].name; i++) {
		const char *sep = i == 0 ? "" : values[i + 1].name ? ", " : last_sep;

		n += (size_t)snprintf(out + n, 128 - n, "%s%s", sep, values[i].name);
		if (n >= 128)
			break;
	}
}

/* Parses @text as the value of @d into its field of @base (struct weft_config,
 * or struct weft_config_peer). Returns 0, or -EINVAL with a reason. */
static int parse_value(const struct key_def *d, const char *text, void *base,
		       char err[static WEFT_ERRLEN])
{
	char *field = (char *)base + d->off;
	size_t len = strlen(text);
	char lo[24], hi[24], list[128];
	unsigned long v;
	bool b;
	int ret;

	/* inih strips the ends, so inner blanks are a mistake, typically a `#' comment */
	if (has_space_or_ctl(text)) {
		const char *hash = strchr(text, '#');

		if (hash && hash > text && (hash[-1] == ' ' || hash[-1] == '\t'))
			snprintf(err, WEFT_ERRLEN,
				 "`#' starts a comment only at the start of a line; after a value "
				 "write ` ; comment'");
		else
			snprintf(err, WEFT_ERRLEN, "contains blanks or control characters");
		return -EINVAL;
	}
	switch (d->type) {
	case T_NAME:
		if (len == 0 && (d->flags & F_EMPTY))
			break;
		if (!valid_name(text)) {
			snprintf(err, WEFT_ERRLEN, "%s", name_rule);
			return -EINVAL;
		}
		break;
	case T_PATH:
		if (len == 0 && (d->flags & F_EMPTY))
			break;
		if (text[0] != '/') {
			snprintf(err, WEFT_ERRLEN, "not an absolute path");
			return -EINVAL;
		}
		if (len > d->max) {
			snprintf(err, WEFT_ERRLEN, "longer than %u bytes", d->max);
			return -EINVAL;
		}
		break;
	case T_IFNAME:
		if (len == 0 && !(d->flags & F_EMPTY)) {
			snprintf(err, WEFT_ERRLEN, "empty interface name");
			return -EINVAL;
		}
		if (len > d->max) {
			if (d->max < IFNAMSIZ - 1)
				snprintf(err, WEFT_ERRLEN,
					 "longer than %u characters (the veth pair's names add "
					 "-br and -dp)",
					 d->max);
			else
				snprintf(err, WEFT_ERRLEN, "longer than %u characters", d->max);
			return -EINVAL;
		}
		if (!strcmp(text, ".") || !strcmp(text, "..") || strpbrk(text, "/:")) {
			snprintf(err, WEFT_ERRLEN, "not a valid interface name");
			return -EINVAL;
		}
		break;
	case T_UINT:
		ret = parse_uint(text, &v);
		if (ret == -EINVAL) {
			snprintf(err, WEFT_ERRLEN, "not a decimal number");
			return -EINVAL;
		}
		if (ret < 0 || v < d->min || v > d->max) {
			snprintf(err, WEFT_ERRLEN, "out of range %u..%u", d->min, d->max);
			return -EINVAL;
		}
		if ((d->flags & F_POW2) && (v & (v - 1))) {
			snprintf(err, WEFT_ERRLEN, "not a power of two");
			return -EINVAL;
		}
		store_uint(field, v);
		return 0;
	case T_SIZE:
		ret = parse_size(text, &v);
		if (ret == -EINVAL) {
			snprintf(err, WEFT_ERRLEN,
				 "not a size: bytes, or a number with a K or M suffix");
			return -EINVAL;
		}
		if (ret < 0 || v < d->min || v > d->max) {
			format_size(lo, d->min);
			format_size(hi, d->max);
			snprintf(err, WEFT_ERRLEN, "out of range %s..%s", lo, hi);
			return -EINVAL;
		}
		store_uint(field, v);
		return 0;
	case T_BOOL:
		if (parse_bool(text, &b) < 0) {
			snprintf(err, WEFT_ERRLEN, "not a boolean: yes or no");
			return -EINVAL;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	case T_ENUM:
		for (size_t i = 0; d->values[i].name; i++) {
			if (!strcasecmp(text, d->values[i].name)) {
				memcpy(field, &d->values[i].value, sizeof(int));
				return 0;
			}
		}
		enum_list(list, d->values, " or ");
		snprintf(err, WEFT_ERRLEN, "expected %s", list);
		return -EINVAL;
	case T_MTU:
		if (!strcasecmp(text, "auto")) {
			store_uint(field, 0);
			return 0;
		}
		ret = parse_uint(text, &v);
		if (ret == -EINVAL) {
			snprintf(err, WEFT_ERRLEN, "neither auto nor a number");
			return -EINVAL;
		}
		if (ret < 0 || v < d->min || v > d->max) {
			snprintf(err, WEFT_ERRLEN, "out of range %u..%u", d->min, d->max);
			return -EINVAL;
		}
		store_uint(field, v);
		return 0;
	case T_ENDPOINT:
		if (len > WEFT_CONFIG_VALUE_MAX) {
			snprintf(err, WEFT_ERRLEN, "longer than %u characters",
				 WEFT_CONFIG_VALUE_MAX);
			return -EINVAL;
		}
		if (len == 0 && (d->flags & F_EMPTY)) {
			memset(field, 0, sizeof(struct weft_endpoint));
			return 0;
		}
		return weft_endpoint_parse_port((struct weft_endpoint *)(void *)field, text,
						d->flags & F_NUMERIC,
						d->port ? d->port : WEFT_DEFAULT_PORT, err);
	case T_KEY:
		return weft_key_decode((uint8_t *)field, text, err);
	}
	/* the string types; CFG_STR() checked that the field holds d->max characters */
	memcpy(field, text, len + 1);
	return 0;
}

/* Whether @peer (a struct weft_config_peer) has a valid value for @d. */
static bool peer_has(const void *peer, const struct key_def *d)
{
	bool b;

	memcpy(&b, (const char *)peer + d->has_off, sizeof(b));
	return b;
}

/* The canonical text of a value; false when a peer's optional key is absent. */
static bool format_value(const struct key_def *d, const void *base, char out[static VALUE_MAX])
{
	const char *field = (const char *)base + d->off;
	bool b;
	int e;

	if (d->sect == S_PEER && !peer_has(base, d))
		return false;
	switch (d->type) {
	case T_NAME:
	case T_PATH:
	case T_IFNAME:
		snprintf(out, VALUE_MAX, "%s", field);
		break;
	case T_UINT:
	case T_SIZE:
		snprintf(out, VALUE_MAX, "%u", load_uint(base, d));
		break;
	case T_MTU:
		if (load_uint(base, d) == 0)
			snprintf(out, VALUE_MAX, "auto");
		else
			snprintf(out, VALUE_MAX, "%u", load_uint(base, d));
		break;
	case T_BOOL:
		memcpy(&b, field, sizeof(b));
		snprintf(out, VALUE_MAX, "%s", b ? "yes" : "no");
		break;
	case T_ENUM:
		memcpy(&e, field, sizeof(e));
		snprintf(out, VALUE_MAX, "%d", e);
		for (size_t i = 0; d->values[i].name; i++)
			if (d->values[i].value == e)
				snprintf(out, VALUE_MAX, "%s", d->values[i].name);
		break;
	case T_ENDPOINT:
		if (((const struct weft_endpoint *)(const void *)field)->host[0] == '\0')
			out[0] = '\0'; /* F_EMPTY: not set */
		else
			weft_endpoint_format(out, (const struct weft_endpoint *)(const void *)field);
		break;
	case T_KEY:
		weft_key_encode(out, (const uint8_t *)field);
		break;
	}
	return true;
}

/* ---- reading: lines, section headers, keys ------------------------------------------------ */

static void check_pending(struct ctx *c)
{
	/* inih drops a line it cannot split into key and value without telling us which */
	if (c->pending)
		add_error(c, c->line,
			  "syntax error: expected `key = value', a [section] header or a comment");
	c->pending = false;
}

static void header_error(struct ctx *c, const char *line, const char *reason)
{
	const char *close = strchr(line, ']');
	char label[SHOW_MAX + 2], shown[SHOW_MAX + 4];
	size_t len = close ? (size_t)(close - line) + 1 : strlen(line);

	/* the header up to its `]'; show() marks a cut with "..." */
	if (len > SHOW_MAX + 1)
		len = SHOW_MAX + 1;
	memcpy(label, line, len);
	label[len] = '\0';
	add_error(c, c->line, "%s: %s", show(shown, label), reason);
	c->bad_header = true;
}

static void open_peer(struct ctx *c, const char *line, const char *name, size_t len)
{
	char reason[WEFT_ERRLEN];
	struct raw_peer *p;

	if (len == 0) {
		header_error(c, line, "empty peer name");
		return;
	}
	if (len > WEFT_CONFIG_NAME_MAX || strspn(name, WEFT_NAME_CHARS) < len) {
		header_error(c, line, name_rule);
		return;
	}
	for (size_t i = 0; i < c->n_peers; i++) {
		if (strlen(c->peers[i].name) == len && !memcmp(c->peers[i].name, name, len)) {
			snprintf(reason, sizeof(reason), "duplicate peer name (first on line %u)",
				 c->peers[i].line);
			header_error(c, line, reason);
			return;
		}
	}
	if (c->n_peers == WEFT_CONFIG_MAX_PEERS) {
		snprintf(reason, sizeof(reason), "too many peers (at most %d)",
			 WEFT_CONFIG_MAX_PEERS);
		header_error(c, line, reason);
		return;
	}
	if (c->n_peers == c->cap_peers) {
		size_t cap = c->cap_peers ? c->cap_peers * 2 : 8;

		p = realloc(c->peers, cap * sizeof(*p));
		if (!p) {
			c->oom = true;
			return;
		}
		c->peers = p;
		c->cap_peers = cap;
	}
	p = &c->peers[c->n_peers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->name, name, len);
	p->name[len] = '\0';
	p->line = c->line;
	c->cur = S_PEER;
	c->peer = p;
}

/* [SECTION] or [peer "NAME"], with an optional comment after it. */
static void parse_header(struct ctx *c, const char *line)
{
	const char *p = line + 1, *q, *rest, *quoted = NULL;
	size_t n, quoted_len = 0;
	int sect = -1;

	c->cur = CUR_SKIP; /* until the header proves good: its keys are not checked */
	c->peer = NULL;
	n = strspn(p, WEFT_NAME_CHARS);
	q = p + n;
	if (*q == ' ' || *q == '\t') {
		q += strspn(q, " \t");
		if (*q != '"') {
			header_error(c, line, "malformed section header: expected [peer \"NAME\"]");
			return;
		}
		quoted = ++q;
		q = strchr(q, '"');
		if (!q) {
			header_error(c, line, "malformed section header: missing closing `\"'");
			return;
		}
		quoted_len = (size_t)(q - quoted);
		q++;
	}
	if (*q != ']') {
		header_error(c, line,
			     *q ? "malformed section header: expected [SECTION] or [peer \"NAME\"]"
				: "malformed section header: missing `]'");
		return;
	}
	rest = q + 1 + strspn(q + 1, " \t");
	if (*rest && *rest != ';' && *rest != '#') {
		header_error(c, line, "trailing characters after the section header");
		return;
	}
	for (int i = 0; i < S_COUNT; i++)
		if (strlen(section_names[i]) == n && !strncmp(p, section_names[i], n))
			sect = i;
	if (sect < 0) {
		header_error(c, line, "unknown section");
		return;
	}
	if (sect == S_PEER) {
		if (!quoted) {
			header_error(c, line, "a peer section needs a name: [peer \"NAME\"]");
			return;
		}
		open_peer(c, line, quoted, quoted_len);
		return;
	}
	if (quoted) {
		header_error(c, line, "only [peer \"NAME\"] sections have a name");
		return;
	}
	if (c->sect_line[sect]) {
		bool bad_header = c->bad_header;
		char reason[64];

		snprintf(reason, sizeof(reason), "repeated section (first on line %u)",
			 c->sect_line[sect]);
		header_error(c, line, reason);
		c->bad_header = bad_header; /* not malformed: its keys are still checked */
	} else {
		c->sect_line[sect] = c->line;
	}
	c->cur = sect;
}

static char *reader(char *str, int num, void *stream)
{
	struct ctx *c = stream;
	bool any = false, too_long = false, nul = false;
	size_t n = 0, max, skip;
	int ch;

	check_pending(c);
	if (num < 3)
		return NULL;
	/* inih's buffer must hold the newline too; a longer line would be split silently */
	max = (size_t)num - 2;
	while ((ch = getc(c->in)) != EOF) {
		any = true;
		if (ch == '\n')
			break;
		if (ch == '\0')
			nul = true;
		else if (n < max)
			str[n++] = (char)ch;
		else
			too_long = true;
	}
	if (!any) {
		if (ferror(c->in))
			c->read_error = true;
		return NULL;
	}
	c->line++;
	str[n] = '\0';
	if (too_long || nul) {
		if (too_long)
			add_error(c, c->line, "line longer than %zu characters", max);
		else
			add_error(c, c->line, "NUL character in line");
		str[0] = '\0';
		return str;
	}
	if (c->line == 1 && !strncmp(str, "\xef\xbb\xbf", 3))
		memmove(str, str + 3, (n -= 3) + 1);
	while (n > 0 && strchr(" \t\r\v\f", str[n - 1]))
		str[--n] = '\0';
	/* Indentation means nothing here: stripping it keeps inih from taking an
	 * indented key = value line as the continuation of the previous value. */
	skip = strspn(str, " \t\v\f");
	memmove(str, str + skip, n - skip + 1);
	if (str[0] == '[') {
		parse_header(c, str);
		str[0] = '\0';
	} else if (str[0] && str[0] != ';' && str[0] != '#') {
		c->pending = true;
	}
	return str;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct ctx *c = user;
	char shown[SHOW_MAX + 4], label[48];
	struct raw_value *slot;
	int i;

	c->pending = false;
	if (c->cur == CUR_SKIP)
		return 1;
	if (!*name) {
		add_error(c, c->line, "syntax error: missing key name before `='");
		return 1;
	}
	if (c->cur == CUR_NONE) {
		/* the value is not quoted: it might be anything, a pasted secret too */
		add_error(c, c->line, "%s: key outside any section", show_key(shown, name));
		return 1;
	}
	section_label(label, c->cur, c->peer ? c->peer->name : NULL);
	i = find_key(c->cur, name);
	if (i < 0) {
		add_error(c, c->line, "%s %s: unknown key", label, show_key(shown, name));
		return 1;
	}
	slot = c->cur == S_PEER ? &c->peer->v[i] : &c->raw[i];
	if (slot->text) {
		add_error(c, c->line, "%s %s: `%s': repeated key (first set on line %u)", label,
			  name, show(shown, value), slot->line);
		return 1;
	}
	slot->text = strdup(value);
	if (!slot->text)
		c->oom = true;
	slot->line = c->line;
	return 1;
}

/* ---- validation -------------------------------------------------------------------------- */

static void render_default(char out[static WEFT_CONFIG_PATH_MAX], const char *def, const char *name)
{
	const char *at = strstr(def, "<name>");

	if (at)
		snprintf(out, WEFT_CONFIG_PATH_MAX, "%.*s%s%s", (int)(at - def), def, name, at + 6);
	else
		snprintf(out, WEFT_CONFIG_PATH_MAX, "%s", def);
}

static bool set_default(struct ctx *c, const struct key_def *d, struct weft_config *cfg)
{
	char text[WEFT_CONFIG_PATH_MAX], err[WEFT_ERRLEN];

	render_default(text, d->def, cfg->name);
	if (parse_value(d, text, cfg, err) == 0)
		return true;
	/* a bug in the table; the unit test parses every default */
	key_error(c, 0, d, NULL, text, err);
	return false;
}

/* d->more_than: @hi must be more than @lo; blames whichever of the two the file sets. */
static void check_more_than(struct ctx *c, const struct weft_config *cfg, const bool ok[],
			    const struct key_def *hi)
{
	const struct key_def *lo = hi->more_than;
	const struct raw_value *lo_r = &c->raw[lo - schema], *hi_r = &c->raw[hi - schema];
	unsigned lo_v, hi_v;
	char err[WEFT_ERRLEN];

	if (!ok[lo - schema] || !ok[hi - schema])
		return;
	lo_v = load_uint(cfg, lo);
	hi_v = load_uint(cfg, hi);
	if (hi_v > lo_v)
		return;
	if (hi_r->text) {
		snprintf(err, sizeof(err), "must be more than %s (%u)", lo->key, lo_v);
		key_error(c, hi_r->line, hi, NULL, hi_r->text, err);
	} else {
		snprintf(err, sizeof(err), "must be less than %s (%u)", hi->key, hi_v);
		key_error(c, lo_r->line, lo, NULL, lo_r->text, err);
	}
}

/* d->differs_from: blames @d, the key that carries the rule. */
static void check_differs(struct ctx *c, const struct weft_config *cfg, const bool ok[],
			  const struct key_def *d)
{
	char value[VALUE_MAX], other[VALUE_MAX];

	if (!ok[d - schema] || !ok[d->differs_from - schema])
		return;
	format_value(d, cfg, value);
	format_value(d->differs_from, cfg, other);
	if (!strcmp(value, other))
		key_error(c, c->raw[d - schema].line, d, NULL, value, d->differs_why);
}

/* A peer key's d->required_if and d->unique. */
static void check_peer_key(struct ctx *c, const struct weft_config *cfg, const bool ok[],
			   const struct key_def *d)
{
	size_t i = (size_t)(d - schema);
	char err[WEFT_ERRLEN];
	bool yes = false;

	if (d->required_if && ok[d->required_if - schema])
		memcpy(&yes, (const char *)cfg + d->required_if->off, sizeof(yes));
	for (size_t j = 0; yes && j < cfg->n_peers; j++)
		if (!c->peers[j].v[i].text)
			add_error(c, c->peers[j].line,
				  "[peer \"%s\"] %s: required key missing (%s = yes)",
				  cfg->peers[j].name, d->key, d->required_if->key);
	if (!d->unique)
		return;
	/* byte for byte: the parser stores one canonical form per value */
	for (size_t j = 1; j < cfg->n_peers; j++) {
		const char *pj = (const char *)&cfg->peers[j];

		if (!peer_has(pj, d))
			continue;
		for (size_t k = 0; k < j; k++) {
			const char *pk = (const char *)&cfg->peers[k];

			if (!peer_has(pk, d) || memcmp(pj + d->off, pk + d->off, d->size))
				continue;
			snprintf(err, sizeof(err), "same %s as [peer \"%s\"] on line %u", d->unique,
				 cfg->peers[k].name, c->peers[k].v[i].line);
			key_error(c, c->peers[j].v[i].line, d, cfg->peers[j].name,
				  c->peers[j].v[i].text, err);
			break;
		}
	}
}

static struct weft_config *build(struct ctx *c)
{
	struct weft_config *cfg = calloc(1, sizeof(*cfg));
	bool ok[N_KEYS] = {false};
	char err[WEFT_ERRLEN];

	if (!cfg) {
		c->oom = true;
		return NULL;
	}
	snprintf(cfg->path, sizeof(cfg->path), "%s", c->path);
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_def *d = &schema[i];
		const struct raw_value *r = &c->raw[i];

		if (d->sect == S_PEER)
			continue;
		if (r->text) {
			if (parse_value(d, r->text, cfg, err) == 0)
				ok[i] = true;
			else
				key_error(c, r->line, d, NULL, r->text, err);
		} else if (d->flags & F_REQUIRED) {
			/* a malformed header may have hidden the section: that error is enough */
			if (c->sect_line[d->sect])
				add_error(c, c->sect_line[d->sect], "[%s] %s: required key missing",
					  section_names[d->sect], d->key);
			else if (!c->bad_header)
				add_error(c, 0, "[%s] %s: required key missing",
					  section_names[d->sect], d->key);
		} else if (!strstr(d->def, "<name>")) {
			ok[i] = set_default(c, d, cfg);
		}
	}
	/* defaults that depend on the network name, once it is known */
	for (size_t i = 0; i < N_KEYS; i++)
		if (schema[i].def && strstr(schema[i].def, "<name>") && !c->raw[i].text &&
		    ok[K_NAME])
			ok[i] = set_default(c, &schema[i], cfg);

	if (c->n_peers) {
		cfg->peers = calloc(c->n_peers, sizeof(*cfg->peers));
		if (!cfg->peers) {
			c->oom = true;
			goto fail;
		}
		cfg->n_peers = c->n_peers;
	}
	for (size_t j = 0; j < c->n_peers; j++) {
		struct weft_config_peer *p = &cfg->peers[j];
		const struct raw_peer *rp = &c->peers[j];

		memcpy(p->name, rp->name, sizeof(p->name));
		p->line = rp->line;
		for (size_t i = 0; i < N_KEYS; i++) {
			const struct key_def *d = &schema[i];
			bool yes = true;

			if (d->sect != S_PEER || !rp->v[i].text)
				continue;
			if (parse_value(d, rp->v[i].text, p, err) == 0)
				memcpy((char *)p + d->has_off, &yes, sizeof(yes));
			else
				key_error(c, rp->v[i].line, d, p->name, rp->v[i].text, err);
		}
	}

	/* the rules between keys, as the table declares them */
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_def *d = &schema[i];

		if (d->more_than)
			check_more_than(c, cfg, ok, d);
		if (d->differs_from)
			check_differs(c, cfg, ok, d);
		if (d->sect == S_PEER)
			check_peer_key(c, cfg, ok, d);
	}

	if (c->n_items == 0 && c->dropped == 0 && !c->oom)
		return cfg;
fail:
	weft_config_free(cfg);
	return NULL;
}

/* ---- errors ------------------------------------------------------------------------------ */

void weft_config_errors_init(struct weft_config_errors *errs)
{
	memset(errs, 0, sizeof(*errs));
}

void weft_config_errors_free(struct weft_config_errors *errs)
{
	free(errs->msg);
	memset(errs, 0, sizeof(*errs));
}

static void push_error(struct weft_config_errors *errs, const char *msg)
{
	if (errs->count == errs->cap) {
		size_t cap = errs->cap ? errs->cap * 2 : 8;
		char(*p)[WEFT_ERRLEN] = realloc(errs->msg, cap * sizeof(*p));

		if (!p)
			return;
		errs->msg = p;
		errs->cap = cap;
	}
	snprintf(errs->msg[errs->count++], WEFT_ERRLEN, "%s", msg);
}

static int cmp_items(const void *a, const void *b)
{
	const struct item *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Hands the errors over in line order, at most WEFT_CONFIG_MAX_ERRORS of them. */
static void emit_errors(struct ctx *c, struct weft_config_errors *errs)
{
	size_t total = c->n_items + c->dropped, shown;
	char msg[WEFT_ERRLEN];

	if (c->oom) {
		snprintf(msg, sizeof(msg), "%s: out of memory", c->path);
		push_error(errs, msg);
	}
	if (c->n_items)
		qsort(c->items, c->n_items, sizeof(*c->items), cmp_items);
	shown = c->n_items < WEFT_CONFIG_MAX_ERRORS ? c->n_items : WEFT_CONFIG_MAX_ERRORS;
	for (size_t i = 0; i < shown; i++)
		push_error(errs, c->items[i].msg);
	if (total > shown && !(c->oom && c->n_items < WEFT_CONFIG_MAX_ERRORS)) {
		snprintf(msg, sizeof(msg), "%s: too many errors, %zu more not shown", c->path,
			 total - shown);
		push_error(errs, msg);
	}
}

static void free_raw(struct raw_value *v)
{
	for (size_t i = 0; i < N_KEYS; i++)
		free(v[i].text);
}

/* ---- the API ----------------------------------------------------------------------------- */

struct weft_config *weft_config_load_stream(FILE *stream, const char *path,
					    struct weft_config_errors *errs)
{
	struct ctx c = {.path = path, .in = stream, .cur = CUR_NONE};
	struct weft_config *cfg;
	int ret;

	ret = ini_parse_stream(reader, &c, handler, &c);
	if (c.read_error)
		add_error(&c, c.line + 1, "read error");
	if (ret < 0)
		c.oom = true;
	else if (ret > 0 && c.n_items == 0)
		add_error(&c, (unsigned)ret, "syntax error");
	cfg = build(&c);
	emit_errors(&c, errs);

	free_raw(c.raw);
	for (size_t j = 0; j < c.n_peers; j++)
		free_raw(c.peers[j].v);
	free(c.peers);
	free(c.items);
	return cfg;
}

struct weft_config *weft_config_load_file(const char *path, struct weft_config_errors *errs)
{
	struct weft_config *cfg;
	char msg[WEFT_ERRLEN];
	FILE *f = fopen(path, "re");

	if (!f) {
		snprintf(msg, sizeof(msg), "%s: %s", path, strerror(errno));
		push_error(errs, msg);
		return NULL;
	}
	cfg = weft_config_load_stream(f, path, errs);
	fclose(f);
	return cfg;
}

void weft_config_free(struct weft_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->peers);
	free(cfg);
}

const struct weft_config_peer *weft_config_find_peer(const struct weft_config *cfg,
						     const char *name)
{
	for (size_t i = 0; i < cfg->n_peers; i++)
		if (!strcmp(cfg->peers[i].name, name))
			return &cfg->peers[i];
	return NULL;
}

static void put_key(FILE *out, const char *prefix, const char *key, const char *value)
{
	if (*value)
		fprintf(out, "%s%s = %s\n", prefix, key, value);
	else
		fprintf(out, "%s%s =\n", prefix, key);
}

void weft_config_dump(const struct weft_config *cfg, FILE *out)
{
	char value[VALUE_MAX];

	for (int s = 0; s < S_PEER; s++) {
		fprintf(out, "%s[%s]\n", s ? "\n" : "", section_names[s]);
		for (size_t i = 0; i < N_KEYS; i++)
			if (schema[i].sect == (enum section)s &&
			    format_value(&schema[i], cfg, value))
				put_key(out, "", schema[i].key, value);
	}
	for (size_t j = 0; j < cfg->n_peers; j++) {
		fprintf(out, "\n[peer \"%s\"]\n", cfg->peers[j].name);
		for (size_t i = 0; i < N_KEYS; i++)
			if (schema[i].sect == S_PEER &&
			    format_value(&schema[i], &cfg->peers[j], value))
				put_key(out, "", schema[i].key, value);
	}
}

static void describe(char out[static WEFT_ERRLEN], const struct key_def *d)
{
	char lo[24], hi[24], list[128];

	switch (d->type) {
	case T_NAME:
		snprintf(out, WEFT_ERRLEN, "1 to %u characters of A-Z a-z 0-9 . _ -", d->max);
		break;
	case T_PATH:
		snprintf(out, WEFT_ERRLEN, "Absolute path of at most %u bytes%s", d->max,
			 (d->flags & F_EMPTY) ? ", or empty" : "");
		break;
	case T_IFNAME:
		snprintf(out, WEFT_ERRLEN, "Interface name of at most %u characters%s", d->max,
			 (d->flags & F_EMPTY) ? ", or empty" : "");
		break;
	case T_UINT:
		snprintf(out, WEFT_ERRLEN, "%u..%u %s%s", d->min, d->max, d->unit,
			 (d->flags & F_POW2) ? ", a power of two" : "");
		break;
	case T_SIZE:
		format_size(lo, d->min);
		format_size(hi, d->max);
		snprintf(out, WEFT_ERRLEN, "Bytes, %s..%s (K = 1024, M = 1048576)", lo, hi);
		break;
	case T_BOOL:
		snprintf(out, WEFT_ERRLEN, "yes or no");
		break;
	case T_ENUM:
		enum_list(list, d->values, " or ");
		snprintf(out, WEFT_ERRLEN, "%s", list);
		break;
	case T_MTU:
		snprintf(out, WEFT_ERRLEN, "auto or %u..%u", d->min, d->max);
		break;
	case T_ENDPOINT:
		snprintf(out, WEFT_ERRLEN, "%s; PORT defaults to %d%s",
			 (d->flags & F_NUMERIC) ? "IPv4[:PORT] or [IPv6][:PORT], numeric"
						: "IPv4[:PORT], [IPv6][:PORT] or HOST[:PORT]",
			 d->port ? d->port : WEFT_DEFAULT_PORT,
			 (d->flags & F_EMPTY) ? ", or empty" : "");
		break;
	case T_KEY:
		snprintf(out, WEFT_ERRLEN, "%d base64 characters (%d bytes)", WEFT_KEY_B64_LEN - 1,
			 WEFT_KEY_LEN);
		break;
	}
}

static void put_comment(FILE *out, const char *text)
{
	while (*text) {
		size_t n = strcspn(text, "\n");

		fprintf(out, "# %.*s\n", (int)n, text);
		text += n + (text[n] == '\n');
	}
}

void weft_config_write_docs(FILE *out)
{
	const char *name = schema[K_NAME].example;
	char desc[WEFT_ERRLEN], value[WEFT_CONFIG_PATH_MAX];

	put_comment(out, "weft configuration: every key with its meaning and default.\n"
			 "This file is the output of `weftd --print-example'. `weftd -t -c FILE' "
			 "checks a file;\n`weftd --dump-config -c FILE' prints it with every "
			 "default filled in.\nComments start with # or ; at the start of a line, "
			 "or with ` ;' after a value.\nKeys shown commented out are at their "
			 "default.");
	for (int s = 0; s < S_COUNT; s++) {
		fprintf(out, "\n");
		put_comment(out, section_help[s]);
		if (s == S_PEER)
			fprintf(out, "[peer \"db1\"]\n");
		else
			fprintf(out, "[%s]\n", section_names[s]);
		for (size_t i = 0; i < N_KEYS; i++) {
			const struct key_def *d = &schema[i];

			if (d->sect != (enum section)s)
				continue;
			describe(desc, d);
			fprintf(out, "\n# %s\n# %s.", d->help, desc);
			if (d->flags & F_REQUIRED)
				fprintf(out, " Required.\n");
			else if (d->def)
				fprintf(out, " Default: %s.\n", *d->def ? d->def : "empty");
			else
				fprintf(out, " Optional.\n");
			if (d->example) {
				put_key(out, "", d->key, d->example);
			} else if (d->def) {
				render_default(value, d->def, name);
				put_key(out, "#", d->key, value);
			}
		}
	}
}

/* Writes @text for roff: a backslash and a minus must be escaped. */
static void roff_escape(FILE *out, const char *text)
{
	for (; *text; text++) {
		if (*text == '\\')
			fputs("\\e", out);
		else if (*text == '-')
			fputs("\\-", out);
		else
			fputc(*text, out);
	}
}

/* Writes @text as one line of running text, which must not start with a
 * roff control character. */
static void put_roff(FILE *out, const char *text)
{
	if (*text == '.' || *text == '\'')
		fputs("\\&", out);
	roff_escape(out, text);
	fputc('\n', out);
}

void weft_config_write_manpage(FILE *out)
{
	char desc[WEFT_ERRLEN], value[WEFT_CONFIG_PATH_MAX];

	fputs(".\\\" SPDX-License-Identifier: MIT\n"
	      ".\\\" The output of `weftd --print-manpage', made from the configuration schema\n"
	      ".\\\" (common/config.c) like conf/weft.conf: regenerate it, do not edit it.\n"
	      ".TH WEFT.CONF 5 \"\" weft \"File Formats Manual\"\n"
	      /* no hyphenation or justification: key names stay whole */
	      ".nh\n"
	      ".ad l\n"
	      ".SH NAME\n"
	      "weft.conf \\- configuration of weftd, the weft overlay daemon\n"
	      ".SH SYNOPSIS\n"
	      ".I /etc/weft/NAME.conf\n"
	      ".SH DESCRIPTION\n"
	      "One file per network, run by\n"
	      ".BR weftd@NAME.service ,\n"
	      "which starts\n"
	      ".BR \"weftd \\-c /etc/weft/NAME.conf\" .\n"
	      ".PP\n"
	      "The file is INI:\n"
	      ".B [section]\n"
	      "headers, then\n"
	      ".IB key \" = \" value\n"
	      "lines.\n"
	      "Comments start with # or ; at the start of a line, or with \" ;\" after a value.\n"
	      "Unknown sections and keys, and a section or key given twice, are errors.\n"
	      ".PP\n"
	      ".B weftd \\-t \\-c\n"
	      ".I FILE\n"
	      "checks a file and prints every error with its line;\n"
	      ".B weftd \\-\\-dump\\-config \\-c\n"
	      ".I FILE\n"
	      "prints it with every default filled in;\n"
	      ".B weftd \\-\\-print\\-example\n"
	      "prints an example with every key documented.\n"
	      ".PP\n"
	      "On SIGHUP\n"
	      "(\\fBsystemctl reload weftd@NAME\\fR)\n"
	      "weftd reads the file again.\n"
	      "Keys marked \\(lqapplied on reload\\(rq take effect at once;\n"
	      "the others keep their running value until the next start,\n"
	      "and the reload names them in a warning.\n"
	      "An invalid file is reported and the running configuration kept.\n"
	      ".PP\n"
	      "In the defaults below, NAME stands for the network name, the value of\n"
	      ".BR [network] \" name\" ;\n"
	      "name the file after it, so that the unit, the file and the control socket\n"
	      "share one name.\n",
	      out);

	for (int s = 0; s < S_COUNT; s++) {
		if (s == S_PEER)
			fprintf(out, ".SH \"[peer \\(dqNAME\\(dq]\"\n");
		else
			fprintf(out, ".SH [%s]\n", section_names[s]);
		put_roff(out, section_help[s]);
		for (size_t i = 0; i < N_KEYS; i++) {
			const struct key_def *d = &schema[i];

			if (d->sect != (enum section)s)
				continue;
			fprintf(out, ".TP\n.B %s\n", d->key);
			put_roff(out, d->help);
			describe(desc, d);
			fputs(".br\n", out);
			roff_escape(out, desc);
			fputs(".\n", out);
			if (d->flags & F_REQUIRED) {
				fputs("Required.\n", out);
			} else if (d->def) {
				render_default(value, d->def, "NAME");
				fputs("Default: ", out);
				if (*value) {
					fputs("\\fB", out);
					roff_escape(out, value);
					fputs("\\fR.\n", out);
				} else {
					fputs("empty.\n", out);
				}
			} else {
				fputs("Optional.\n", out);
			}
			if (d->flags & F_LIVE)
				fputs("Applied on reload.\n", out);
			else
				fputs("Read at start\\-up only.\n", out);
		}
	}

	/* The keys the example sets: the smallest useful file. */
	fputs(".SH EXAMPLE\n.EX\n", out);
	for (int s = 0; s < S_COUNT; s++) {
		bool header = false;

		for (size_t i = 0; i < N_KEYS; i++) {
			const struct key_def *d = &schema[i];

			if (d->sect != (enum section)s || !d->example)
				continue;
			if (!header) {
				if (s == S_PEER)
					fprintf(out, "\n[peer \"db1\"]\n");
				else
					fprintf(out, "%s[%s]\n", s ? "\n" : "", section_names[s]);
				header = true;
			}
			fprintf(out, "%s = ", d->key);
			roff_escape(out, d->example);
			fputc('\n', out);
		}
	}
	fputs(".EE\n", out);

	/* The paths whose default names the network: where NAME's files live. */
	fputs(".SH FILES\n"
	      ".TP\n"
	      ".I /etc/weft/NAME.conf\n"
	      "This file, read by\n"
	      ".BR weftd@NAME.service .\n",
	      out);
	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_def *d = &schema[i];

		if (d->type != T_PATH || !d->def || !strstr(d->def, "<name>"))
			continue;
		render_default(value, d->def, "NAME");
		fputs(".TP\n.I ", out);
		roff_escape(out, value);
		fprintf(out, "\nThe default of \\fB[%s] %s\\fR.\n", section_names[d->sect], d->key);
		put_roff(out, d->help);
	}
	fputs(".SH SEE ALSO\n"
	      ".BR weftd (8),\n"
	      ".BR weftctl (8)\n",
	      out);
}

/* ---- reload ------------------------------------------------------------------------------ */

bool weft_config_key_live(const char *section, const char *key)
{
	int i = -1;

	for (int s = 0; s < S_COUNT; s++)
		if (!strcmp(section_names[s], section))
			i = find_key((enum section)s, key);
	return i >= 0 && (schema[i].flags & F_LIVE);
}

/* Appends to @out at @pos; returns the new length, WEFT_ERRLEN or more when
 * the text was cut. */
static size_t append(char out[static WEFT_ERRLEN], size_t pos, const char *fmt, ...)
    WEFT_PRINTF(3, 4);

static size_t append(char out[static WEFT_ERRLEN], size_t pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pos >= WEFT_ERRLEN)
		return pos;
	va_start(ap, fmt);
	n = vsnprintf(out + pos, WEFT_ERRLEN - pos, fmt, ap);
	va_end(ap);
	return n < 0 ? WEFT_ERRLEN : pos + (size_t)n;
}

/* The warning naming the first @shown of the @n keys in @kept, the rest as
 * "and N more"; returns its length (WEFT_ERRLEN or more: it did not fit). */
static size_t restart_warning(char out[static WEFT_ERRLEN], const struct key_def *const kept[],
			      unsigned n, unsigned shown)
{
	unsigned items = shown + (shown < n);
	size_t pos = append(out, 0, "reload:");

	for (unsigned i = 0; i < shown; i++) {
		const char *sep = i == 0 ? " " : i == items - 1 ? " and " : ", ";

		if (i == 0 || kept[i]->sect != kept[i - 1]->sect)
			pos = append(out, pos, "%s[%s] %s", sep, section_names[kept[i]->sect],
				     kept[i]->key);
		else
			pos = append(out, pos, "%s%s", sep, kept[i]->key);
	}
	if (shown < n)
		pos = append(out, pos, " and %u more", n - shown);
	return append(out, pos, " %s at the next restart; running on with the old value%s",
		      n == 1 ? "takes effect" : "take effect", n == 1 ? "" : "s");
}

unsigned weft_config_reload_merge(struct weft_config *loaded, const struct weft_config *running,
				  char warning[static WEFT_ERRLEN])
{
	const struct key_def *kept[N_KEYS];
	char was[VALUE_MAX], now[VALUE_MAX];
	unsigned n = 0;

	for (size_t i = 0; i < N_KEYS; i++) {
		const struct key_def *d = &schema[i];

		/* a rule across lifecycles could fail on the merged configuration */
		WEFT_BUG_ON(d->more_than && (d->flags & F_LIVE) != (d->more_than->flags & F_LIVE));
		WEFT_BUG_ON(d->differs_from &&
			    (d->flags & F_LIVE) != (d->differs_from->flags & F_LIVE));
		WEFT_BUG_ON(d->required_if &&
			    (d->flags & F_LIVE) != (d->required_if->flags & F_LIVE));
		/* peers are re-applied as a whole; the table marks their keys live */
		WEFT_BUG_ON(d->sect == S_PEER && !(d->flags & F_LIVE));
		if (d->flags & F_LIVE)
			continue;
		/* the canonical texts: "4M" and "4194304" are no change */
		format_value(d, running, was);
		format_value(d, loaded, now);
		if (!strcmp(was, now))
			continue;
		memcpy((char *)loaded + d->off, (const char *)running + d->off, d->size);
		kept[n++] = d;
	}
	warning[0] = '\0';
	if (n == 0)
		return 0;
	/* as many names as fit; one always does */
	for (unsigned shown = n; shown > 1; shown--)
		if (restart_warning(warning, kept, n, shown) < WEFT_ERRLEN)
			return n;
	restart_warning(warning, kept, n, 1);
	return n;
}
