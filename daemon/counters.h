/* SPDX-License-Identifier: MIT */
/* Drops not tied to a known peer, defined once: the list below generates the
 * enum, the names weftctl and the JSON show, and (later) the metrics. The
 * per-peer, session and ring/socket counter lists live beside their owners
 * (daemon/peers.h, common/session.h, daemon/udp.h, ...) in the same shape:
 * X(ID, name). */
#ifndef WEFT_COUNTERS_H
#define WEFT_COUNTERS_H

#include <stdint.h>

/* clang-format off */
#define WEFT_DROP_LIST(X)                                                                          \
	X(GARBAGE, garbage)                     /* datagram framing invalid */                     \
	X(UNKNOWN_INDEX, unknown_index)         /* DATA/CONFIRM/WELCOME for no session or handshake */ \
	X(HANDSHAKE_RATE, handshake_rate)       /* handshake over the per-source rate */           \
	X(HANDSHAKE_AUTH, handshake_auth)       /* handshake message failed authentication */      \
	X(HANDSHAKE_STALE, handshake_stale)     /* HELLO not above its name's last stamp */        \
	X(HANDSHAKE_REPLAY, handshake_replay)   /* HELLO ephemeral seen before */                  \
	X(HANDSHAKE_REFUSED, handshake_refused) /* pin mismatch, unknown peer, no room */          \
	X(HANDSHAKE_MEMBERS_FULL, handshake_members_full) /* new member over max_learned_members */ \
	X(HANDSHAKE_VERSION, handshake_version) /* handshake datagram of another protocol version */ \
	X(HANDSHAKE_MAC, handshake_mac)         /* HELLO whose mac1 fails: non-member or junk */   \
	X(HANDSHAKE_COOKIE, handshake_cookie)   /* HELLO answered with a COOKIE, not a WELCOME */  \
	X(HANDSHAKE_BUSY, handshake_busy)       /* HELLO over the global (or COOKIE) budget */     \
	X(HANDSHAKE_PENDING_FULL, handshake_pending_full) /* no pending slot for the HELLO */     \
	X(HANDSHAKE_REPLAY_FULL, handshake_replay_full) /* replay cache full of keys in their window */ \
	X(HANDSHAKE_WELCOME_AGAIN, handshake_welcome_again) /* HELLO sent again: its WELCOME again, no new work */ \
	X(HANDSHAKE_CONFIRM_AGAIN, handshake_confirm_again) /* CONFIRM sent again: answered with a KEEPALIVE */ \
	X(FRAME_RUNT, frame_runt)               /* captured frame shorter than 14 bytes */         \
	X(FRAME_TOO_BIG, frame_too_big)         /* captured frame above the overlay MTU */         \
	X(FRAME_LINK_LOCAL, frame_link_local)   /* 01:80:c2:00:00:0x */                            \
	X(NO_SESSION, no_session)               /* frame for a peer (or flood) with no session */  \
	X(INJECT_FULL, inject_ring_full)        /* TX ring full */                                 \
	X(INJECT_BAD, inject_bad_frame)         /* received frame the TX ring refused (length) */  \
	X(SUPERFRAME_BAD, superframe_bad)       /* captured superframe weftd cannot cut */        \
	X(SUPERFRAME_LOST, superframe_lost)     /* captured superframe beyond its slot, queue full */ \
	X(CONTROL_BUSY, control_busy)           /* control connection closed: every slot taken */  \
	X(CONTROL_LATE, control_late)           /* control connection closed at its deadline */
/* clang-format on */

/* The shapes every list is expanded with. */
#define WEFT_COUNTER_ENUM(prefix, id, name) prefix##id,
#define WEFT_COUNTER_NAME(id, name)	    #name,
#define WEFT_COUNTER_FIELD(id, name)	    uint64_t name;

#define WEFT_DROP_ENUM(id, name) WEFT_COUNTER_ENUM(WEFT_DROP_, id, name)
enum weft_drop { WEFT_DROP_LIST(WEFT_DROP_ENUM) WEFT_DROP_COUNT };

/* Counted by the router and the handshakes, shown by the status. */
struct weft_drops {
	uint64_t n[WEFT_DROP_COUNT];
};

static inline const char *weft_drop_name(enum weft_drop d)
{
	static const char *const names[] = {WEFT_DROP_LIST(WEFT_COUNTER_NAME)};

	return d < WEFT_DROP_COUNT ? names[d] : "?";
}

#endif
