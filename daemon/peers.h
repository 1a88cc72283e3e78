/* SPDX-License-Identifier: MIT */
/* The peers table: who the other members are, where they are, their
 * sessions, liveness and counters. Handshakes (daemon/handshakes.c) and the
 * egress (daemon/egress.c) act on peers; this module only keeps them. */
#ifndef WEFT_PEERS_H
#define WEFT_PEERS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/index.h"
#include "common/key.h"
#include "common/pmtu.h"
#include "common/session.h"
#include "common/sockaddr.h"
#include "daemon/counters.h"
#include "daemon/log.h"
#include "daemon/udp.h"

struct weft_handshake;
struct weft_mactable;

/* clang-format off */
#define WEFT_PEER_DROP_LIST(X)                                                                     \
	X(BAD_RECORD, bad_record) /* malformed record or frame inside an authentic datagram */     \
	X(NO_SESSION, no_session) /* frame for this peer while no session could send */            \
	X(SEAL, seal)             /* the session refused to seal (expired, counters) */            \
	X(SEND, send)             /* the kernel refused the datagram */                            \
	X(FRAME_TOO_BIG, frame_too_big)       /* frame longer than our bridge port carries */      \
	X(FRAME_LINK_LOCAL, frame_link_local) /* frame to 01:80:c2:00:00:0x (STP, LACP, LLDP...) */ \
	X(FRAME_BAD_SOURCE, frame_bad_source) /* frame from a group or the zero MAC */             \
	X(MAC_LIMIT, mac_limit)           /* new source while it has max_macs_per_peer */          \
	X(MAC_RATE, mac_rate)             /* new source over mac_learn_rate */                     \
	X(MAC_TABLE_FULL, mac_table_full) /* new source while every MAC table entry is live */
/* clang-format on */
#define WEFT_PEER_DROP_ENUM(id, name) WEFT_COUNTER_ENUM(WEFT_PEER_DROP_, id, name)
enum weft_peer_drop { WEFT_PEER_DROP_LIST(WEFT_PEER_DROP_ENUM) WEFT_PEER_DROP_COUNT };

#define WEFT_PEER_COUNTER_LIST(X)                                                                  \
	X(RX_PACKETS, rx_packets)                                                                  \
	X(RX_BYTES, rx_bytes)                                                                      \
	X(TX_PACKETS, tx_packets)                                                                  \
	X(TX_BYTES, tx_bytes)                                                                      \
	X(RX_FRAMES, rx_frames)                                                                    \
	X(TX_FRAMES, tx_frames)                                                                    \
	X(HANDSHAKES, handshakes)                                                                  \
	X(HANDSHAKES_FAILED, handshakes_failed) /* ours, ended without a confirmed session */     \
	X(HANDSHAKE_RESENDS, handshake_resends) /* our HELLO or CONFIRM sent again, unanswered */  \
	X(KEY_CONFLICTS, key_conflicts) /* handshakes refused: not the key pinned or proved first */ \
	X(ENDPOINT_MOVES, endpoint_moves)                 /* roamed to a new address */            \
	X(ENDPOINT_MOVES_LIMITED, endpoint_moves_limited) /* a move refused: too soon after one */ \
	X(PATH_BLACK_HOLES, path_black_holes) /* path MTU in use stopped getting through, unannounced */
struct weft_peer_counters {
	WEFT_PEER_COUNTER_LIST(WEFT_COUNTER_FIELD)
};

/* The largest handshake datagram an initiator sends again as it is: its
 * HELLO (with both MACs) or its CONFIRM (daemon/handshakes.c checks it). */
#define WEFT_PEER_AGAIN_MAX 140

/* Our handshake toward a peer as initiator. The peer owns it (freeing the
 * peer ends it); daemon/handshakes.c drives it. */
struct weft_initiation {
	struct weft_index_entry entry; /* WEFT_INDEX_INITIATION; index 0 when none */
	struct weft_handshake *hs;     /* NULL: no handshake in flight */
	uint64_t sent_ms;
	unsigned attempts; /* handshakes since the last session was established */
	/* The retry timer: handshake datagrams sent since the last session
	 * (each try waits longer), and when the next try is due. */
	unsigned tries;
	uint64_t next_ms;
	/* What a try sends again, byte for byte: the HELLO in flight, or the
	 * CONFIRM of our session still waiting for its first datagram (the
	 * one whose index is confirm_index). */
	uint8_t again[WEFT_PEER_AGAIN_MAX];
	size_t again_len;
	uint32_t confirm_index;
	/* Frames waiting for the peer start no handshake before want_ms; a
	 * path that came back restarts the timer no more often than kicked_ms
	 * allows. */
	uint64_t want_ms;
	uint64_t kicked_ms;
	/* When a handshake message of the peer last reached us and was
	 * answered since its last confirmed session (0: not since): a peer
	 * heard lately keeps quick tries. */
	uint64_t heard_ms;
	/* Failed attempts since the last confirmed session, and since when:
	 * after a few, a configured peer's operator is told once (warned). */
	unsigned failed;
	uint64_t failing_since_ms;
	bool warned;
};

/* The table's size: every peer the configuration may name, and every member
 * it lets us learn besides, so learned members never leave a [peer] out. */
#define WEFT_PEERS_MAX (WEFT_CONFIG_MAX_PEERS + WEFT_CONFIG_MAX_MEMBERS)

/* How we came to know a peer (weftctl status "learned"). */
enum weft_peer_origin {
	WEFT_PEER_FROM_CONFIG,	  /* a [peer] section */
	WEFT_PEER_FROM_HANDSHAKE, /* it handshook with us */
	WEFT_PEER_FROM_GOSSIP,	  /* another member told us (or the members file) */
	WEFT_PEER_FROM_CONTROL,	  /* `weftctl connect' */
};

struct weft_peer {
	uint32_t id;	 /* slot in the table: the MAC table's peer id */
	unsigned pos;	 /* place in the dense list (peers.c) */
	uint64_t serial; /* never reused: tells a peer from a later one in the same slot */
	char name[WEFT_CONFIG_NAME_MAX + 1];
	bool configured; /* from a [peer] section; else learned */
	enum weft_peer_origin origin;
	bool has_pin;
	uint8_t pin[WEFT_KEY_LEN];

	bool has_static;
	uint8_t remote_static[WEFT_KEY_LEN];
	char fingerprint[WEFT_KEY_FPR_LEN];

	union weft_sockaddr endpoint; /* unset: nowhere known */
	/* Our address its newest authenticated datagram came to: we answer
	 * from it (family 0: the kernel's choice). */
	struct weft_udp_local_addr local;

	struct weft_session_set sessions;
	struct weft_initiation init;
	uint32_t capabilities; /* the peer's, from its last handshake (WEFT_HANDSHAKE_CAP_*) */

	/* The mesh's view (daemon/mesh.c): whether the member table holds it as
	 * reachable, and the relay toward it while it has no direct session. */
	bool in_mesh;
	struct weft_peer *via;
	uint64_t synced_handshakes; /* count.handshakes when the whole membership was last sent */
	unsigned addr_turn;	    /* init.tries when the endpoint last took the next address */
	uint64_t addrs_hash;	    /* of the member's gossiped addresses when last looked at */
	/* Where it last said (OBSERVED) our datagrams come from, since it
	 * was last up (unset: not said), and where we last said we see it,
	 * in the session generation count.handshakes then counted. */
	union weft_sockaddr sees_us_at;
	union weft_sockaddr told_at;
	uint64_t told_handshakes;
	/* The path toward it (daemon/paths.c), the smallest datagram the
	 * kernel refused as larger than its own path MTU since the last paths
	 * tick (EMSGSIZE, noted by the egress; 0: none), and the largest one
	 * sealed toward it since then (the egress; 0: none). */
	struct weft_pmtu pmtu;
	size_t refused_size;
	size_t sent_largest;
	/* What the relay with serial relay_limit_serial said it can pass on
	 * to it (RELAY_TOO_BIG, protocol.md 13.10): its largest frame, kept
	 * until relay_limit_until_ms (0: nothing said). */
	size_t relay_frame_max;
	uint64_t relay_limit_serial;
	uint64_t relay_limit_until_ms;
	uint64_t relay_too_big_told_ms; /* as a relay: when we last told it so */

	uint64_t last_rx_ms; /* last authenticated datagram */
	uint64_t last_tx_ms;
	uint64_t last_handshake_wall_ms; /* completed, wall clock, for status */
	uint64_t last_handshake_ms;	 /* the same on weft_clock_now_ms(), for ages */
	uint64_t moved_ms;		 /* the last endpoint move (roaming) */
	bool up;

	struct weft_peer_counters count;
	uint64_t drops[WEFT_PEER_DROP_COUNT];
	uint64_t session_drops[WEFT_SESSION_DROP_COUNT];
};

/* The table. Slots give each peer a small stable id (the MAC table stores
 * it); the dense list makes a flood or a timer pass cost the peers there
 * are, not the slots there could be. */
struct weft_peers {
	struct weft_peer **slot; /* by id; NULL: free */
	struct weft_peer **list; /* list[0 .. n) */
	unsigned n;
	unsigned max;
	uint64_t next_serial;
	struct weft_index *index;      /* borrowed: sessions' and handshakes' indices */
	struct weft_mactable *macs;    /* borrowed: a peer's MACs go with it */
	const struct weft_config *cfg; /* borrowed; the newest applied (weft_peers_configure) */
};

/* Every peer @p of @ps, newest list position first. The current peer may be
 * removed inside the loop (a removal moves an already visited peer into its
 * place); no other may. */
#define weft_peers_foreach(ps, p)                                                                  \
	for (unsigned _pi = (ps)->n; _pi-- > 0 && ((p) = (ps)->list[_pi], true);)

/* A table for at most @max peers, holding none yet. */
int weft_peers_new(struct weft_peers **out, unsigned max, struct weft_index *index,
		   struct weft_mactable *macs, char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Frees every peer, then the table; accepts NULL. */
void weft_peers_free(struct weft_peers *ps);

/* A new peer in a free slot, or NULL when the table is full or out of memory. */
struct weft_peer *weft_peers_add(struct weft_peers *ps, const char *name);
/* The same for a member no [peer] section names, learned from @origin; NULL
 * also when max_learned_members of them are known already. */
struct weft_peer *weft_peers_add_member(struct weft_peers *ps, const char *name,
					enum weft_peer_origin origin);
/* How many peers no [peer] section names. */
unsigned weft_peers_count_members(const struct weft_peers *ps);
/* Ends its handshake and sessions, forgets its MACs, frees it. */
void weft_peers_remove(struct weft_peers *ps, struct weft_peer *p);
/* The peer in slot @id, or NULL. */
static inline struct weft_peer *weft_peers_get(const struct weft_peers *ps, uint32_t id)
{
	return id < ps->max ? ps->slot[id] : NULL;
}
struct weft_peer *weft_peers_find_name(const struct weft_peers *ps, const char *name);
/* The peer pinned to @key, or unpinned with @key learned. */
struct weft_peer *weft_peers_find_key(const struct weft_peers *ps,
				      const uint8_t key[static WEFT_KEY_LEN]);
/* The peer whose known key starts with member id @id (8 bytes). */
struct weft_peer *weft_peers_find_id(const struct weft_peers *ps, const uint8_t *id);
/* The peer whose endpoint is @addr. */
struct weft_peer *weft_peers_find_endpoint(const struct weft_peers *ps,
					   const union weft_sockaddr *addr);
static inline unsigned weft_peers_count(const struct weft_peers *ps)
{
	return ps->n;
}

/* Applies @cfg's [peer] sections: peers it no longer names go, new ones are
 * added, endpoints (host names resolved now) and pins are set; @cfg is kept
 * (borrowed) for the timers. Returns how many peers could not be added. */
unsigned weft_peers_configure(struct weft_peers *ps, const struct weft_config *cfg);
/* Expires sessions, marks peers up or down, forgets learned members silent
 * for forget_member_after. */
void weft_peers_tick(struct weft_peers *ps, uint64_t now);

/* @p's endpoint as text in @buf for logs (the ENDPOINT= field), or NULL
 * when it has none. */
const char *weft_peer_endpoint_text(const struct weft_peer *p,
				    char buf[static WEFT_SOCKADDR_STRLEN]);
/* A log line about @p: its name and its endpoint become the journal fields
 * PEER= and ENDPOINT= (daemon/log.h); nothing is formatted below the level. */
#define weft_peer_log(prio, p, ...)                                                                \
	do {                                                                                       \
		char _ep[WEFT_SOCKADDR_STRLEN];                                                    \
		weft_log_peer(prio, (p)->name, weft_peer_endpoint_text(p, _ep), __VA_ARGS__);      \
	} while (0)
/* The peer has an address and a session that can seal. */
bool weft_peer_can_send(const struct weft_peer *p, uint64_t now);
/* The relay to reach @p through while it has no direct session: a peer
 * with a session that speaks the mesh records; NULL when there is none. */
struct weft_peer *weft_peer_relay(const struct weft_peer *p, uint64_t now);
/* How frames reach @p now: true with *@via NULL for directly, with *@via
 * set for through that relay; false when neither can. A peer gone quiet
 * (down) is reached through its relay when it has one, though its session
 * could still seal: the direct path is what went quiet. */
bool weft_peer_route(const struct weft_peer *p, uint64_t now, struct weft_peer **via);
/* Nothing heard from it for peer_timeout. */
bool weft_peer_silent(const struct weft_peers *ps, const struct weft_peer *p, uint64_t now);
/* An authenticated DATA datagram @dg arrived on its session @s: confirms
 * sessions, follows the endpoint and our local address (@newest: the
 * highest counter so far), marks the peer alive. */
void weft_peer_received(struct weft_peer *p, struct weft_session *s, bool newest,
			const struct weft_udp_dgram *dg, uint64_t now);
/* Which peer a responder's finished handshake is, from the key it proved
 * (@own is ours), the nickname it claims and its source address: the peer
 * with that key (pinned, or proved first: trust on first use); else the
 * configured peer of that name that has no key yet, when the handshake comes
 * from its configured endpoint (from anywhere when it has none, or with
 * trust_nicknames); else the keyless peer configured at @src. *@out NULL: a new member. Refuses (-ELOOP)
 * our own key, and (-EKEYREJECTED, counted on that peer, which *@out then
 * names) a name that belongs to another key or to a configured peer
 * elsewhere. */
int weft_peers_identify(const struct weft_peers *ps, const uint8_t key[static WEFT_KEY_LEN],
			const uint8_t own[static WEFT_KEY_LEN], const char *nickname,
			const union weft_sockaddr *src, struct weft_peer **out,
			char err[static WEFT_ERRLEN]) WEFT_WUR;
/* The initiator's check of the key @p proved: not ours (-ELOOP), and the one
 * pinned or proved first (-EKEYREJECTED, counted). */
int weft_peer_check_key(struct weft_peer *p, const uint8_t key[static WEFT_KEY_LEN],
			const uint8_t own[static WEFT_KEY_LEN], char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Keeps @key as @p's: from now on it is the only one @p is accepted with. */
void weft_peer_learn_key(struct weft_peer *p, const uint8_t key[static WEFT_KEY_LEN]);
/* Forgets the key @p proved first (weftctl unpin), with its sessions and
 * MACs, so that the next key it proves is accepted; -EPERM for a configured
 * pin, -ENOENT when there is none. */
int weft_peer_unpin(struct weft_peers *ps, struct weft_peer *p, char err[static WEFT_ERRLEN]);
/* The endpoint follows the newest authenticated datagram, from @src to @local. */
void weft_peer_set_endpoint(struct weft_peer *p, const union weft_sockaddr *src,
			    const struct weft_udp_local_addr *local);
/* Ends the initiator handshake in flight, if any. */
void weft_peer_end_initiation(struct weft_peers *ps, struct weft_peer *p);
/* A session with @p was confirmed (its CONFIRM read, or its first datagram
 * opened): the failed attempts are over, and an operator who was warned
 * about them is told it works now. */
void weft_peer_confirmed(struct weft_peer *p);

#endif
