/* SPDX-License-Identifier: MIT */
/* The configuration: one schema table drives parse, validate, dump and docs. */
#ifndef WEFT_CONFIG_H
#define WEFT_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <net/if.h>
#include <sys/socket.h>

#include "common/endpoint.h"
#include "common/weft.h"

#define WEFT_CONFIG_NAME_MAX 32   /* network and peer names, [A-Za-z0-9._-]+ */
#define WEFT_CONFIG_PATH_MAX 256
/* The longest path or endpoint value. inih reads lines of at most 198
 * characters, and `--dump-config' writes "key = value": with the longest
 * key (19) this keeps every dumped line readable again. */
#define WEFT_CONFIG_VALUE_MAX 160
#define WEFT_CONFIG_MAX_PEERS 1024
/* The most members without a [peer] section (max_learned_members). */
#define WEFT_CONFIG_MAX_MEMBERS 1024
/* The most MACs a peer may have (max_macs_per_peer, mac_learn_burst): the MAC
 * table's capacity (WEFT_MACTABLE_DEFAULT_CAPACITY, which weftd uses). */
#define WEFT_CONFIG_MAX_MACS 16384
/* weft_config_errors keeps this many messages, then one "too many errors". */
#define WEFT_CONFIG_MAX_ERRORS 100
struct weft_config_peer {
	char name[WEFT_CONFIG_NAME_MAX + 1];
	unsigned line;                   /* line of the [peer "NAME"] header */
	bool has_endpoint;               /* a peer without one only answers */
	struct weft_endpoint endpoint;
	bool has_public_key;
	uint8_t public_key[WEFT_KEY_LEN];
};

struct weft_config {
	char path[WEFT_CONFIG_PATH_MAX];

	/* [network] */
	char name[WEFT_CONFIG_NAME_MAX + 1];
	char nickname[WEFT_CONFIG_NAME_MAX + 1]; /* "" = the host name */
	char secret_file[WEFT_CONFIG_PATH_MAX];
	char private_key_file[WEFT_CONFIG_PATH_MAX];
	struct weft_endpoint listen;    /* numeric only; port 1..65535 */
	char bridge[IFNAMSIZ];
	unsigned mtu;                          /* 0 = auto, else 576..9000 */
	char underlay[IFNAMSIZ];               /* "" = auto: route to first peer */
	bool require_pinned_keys;
	bool trust_nicknames;
	unsigned max_learned_members;
	bool create_bridge;
	unsigned handshake_rate;               /* handshakes/s per source address */
	unsigned handshake_burst;
	unsigned handshake_global_rate;        /* HELLOs/s past the budgets, all sources */
	char members_file[WEFT_CONFIG_PATH_MAX]; /* "" = learned members not kept */
	char banned_file[WEFT_CONFIG_PATH_MAX];  /* "" = bans not kept across restarts */
	char timestamps_file[WEFT_CONFIG_PATH_MAX]; /* "" = handshake stamps not kept */
	unsigned max_direct;                   /* direct sessions to learned members; 0 = no cap */
	bool clamp_mss;
	unsigned max_macs_per_peer;            /* live remote MACs per peer */
	unsigned mac_learn_rate;               /* new MACs/s per peer */
	unsigned mac_learn_burst;

	/* [timers] (seconds) */
	unsigned keepalive_interval;
	unsigned peer_timeout;
	unsigned forget_member_after;
	unsigned mac_ageing;
	unsigned rekey_after;
	unsigned reject_after;
	unsigned gossip_interval;

	/* [socket] */
	unsigned udp_sndbuf;                   /* bytes */
	unsigned udp_rcvbuf;
	unsigned rx_ring_frames;               /* PACKET_RX_RING slots */
	unsigned tx_ring_frames;
	bool superframes;                      /* GSO superframes through the rings */
	bool partial_checksums;                /* FRAME_PARTIAL to and from peers */

	/* [control] */
	char control_socket[WEFT_CONFIG_PATH_MAX];

	/* [metrics] */
	struct weft_endpoint metrics_listen;   /* host "" = no HTTP listener */

	/* [log] */
	int log_level;                         /* syslog priority LOG_ERR..LOG_DEBUG */

	struct weft_config_peer *peers;        /* owned; n_peers entries */
	size_t n_peers;
};

/* Collects every error of a parse+validate run. Each entry is a whole
 * message: "FILE:LINE: [SECTION] KEY: `VALUE': reason". */
struct weft_config_errors {
	char (*msg)[WEFT_ERRLEN];
	size_t count;
	size_t cap;
};

void weft_config_errors_init(struct weft_config_errors *errs);
void weft_config_errors_free(struct weft_config_errors *errs);

/* Parses and validates; returns a new config or NULL with every error in
 * @errs (out of memory is reported there too). @path is used for messages. */
struct weft_config *weft_config_load_file(const char *path, struct weft_config_errors *errs) WEFT_WUR;
/* The same from an open stream (tests, fuzzing); @path only names it. */
struct weft_config *weft_config_load_stream(FILE *stream, const char *path,
					    struct weft_config_errors *errs) WEFT_WUR;
void weft_config_free(struct weft_config *cfg);

/* Writes the normalised configuration: every key, defaults filled in, one
 * canonical spelling per value, sections in schema order, peers in file order. */
void weft_config_dump(const struct weft_config *cfg, FILE *out);
/* Writes the documented example: every key with its help line and default. */
void weft_config_write_docs(FILE *out);
/* Writes weft.conf(5), the manual page of the same schema: every key with its
 * help, type, default and whether a reload applies it. */
void weft_config_write_manpage(FILE *out);

const struct weft_config_peer *weft_config_find_peer(const struct weft_config *cfg, const char *name);

/* Reload (SIGHUP): some keys are applied live, the others only at the next
 * start. Compares the running configuration with the one just loaded. Every
 * restart-only key whose value differs (by its canonical text, as
 * weft_config_dump writes it) is set back to the running value in @loaded,
 * so @loaded then describes what the daemon runs with; live keys and every
 * peer keep the loaded values. @warning gets one line naming exactly those
 * keys, section and key in schema order, e.g.
 *   "reload: [network] listen, bridge and [socket] udp_rcvbuf take effect at
 *    the next restart; running on with the old values"
 * ("takes effect ... old value" for one key; a list too long for WEFT_ERRLEN
 * names the first keys that fit and ends "and N more"), or "" when there is
 * none. Returns how many keys that is. */
unsigned weft_config_reload_merge(struct weft_config *loaded, const struct weft_config *running,
				  char warning[static WEFT_ERRLEN]);
/* Whether a key is applied live on reload; false for unknown keys. Peer keys
 * are asked for as section "peer". */
bool weft_config_key_live(const char *section, const char *key);

#endif
