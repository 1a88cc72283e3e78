/* SPDX-License-Identifier: MIT */
/* The daemon's state, reached from every watcher through container_of. */
#ifndef WEFT_DAEMON_H
#define WEFT_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <ev.h>

#include "common/config.h"
#include "common/key.h"
#include "common/session.h"

struct weft_capture;
struct weft_inject;
struct weft_udp;
struct weft_udp_batch;
struct weft_mactable;
struct weft_ratelimit;
struct weft_handshake_replay;
struct weft_link;
struct weft_control;
struct weft_peer;
struct weft_handshake;

/* A responder handshake waiting for its CONFIRM (daemon/handshake_io.c). */
struct weft_pending_handshake {
	struct weft_handshake *hs;
	uint32_t local_index;
	uint32_t remote_index;
	uint64_t created_ms;
};
#define WEFT_PENDING_HANDSHAKES 64

/* Drops not tied to a known peer, by reason (weftctl status "drops"). */
enum weft_drop {
	WEFT_DROP_GARBAGE,        /* datagram framing invalid */
	WEFT_DROP_UNKNOWN_INDEX,  /* DATA/CONFIRM/WELCOME for no session or handshake */
	WEFT_DROP_HANDSHAKE_RATE, /* handshake over the per-source rate */
	WEFT_DROP_HANDSHAKE_AUTH, /* handshake message failed authentication */
	WEFT_DROP_HANDSHAKE_STALE,/* HELLO timestamp outside the window */
	WEFT_DROP_HANDSHAKE_REPLAY, /* HELLO ephemeral seen before */
	WEFT_DROP_HANDSHAKE_REFUSED, /* pin mismatch, unknown peer, no room */
	WEFT_DROP_FRAME_RUNT,     /* captured frame shorter than 14 bytes */
	WEFT_DROP_FRAME_TOO_BIG,  /* captured frame above the overlay MTU */
	WEFT_DROP_FRAME_LINK_LOCAL, /* 01:80:c2:00:00:0x */
	WEFT_DROP_NO_SESSION,     /* frame for a peer (or flood) with no live session */
	WEFT_DROP_INJECT_FULL,    /* TX ring full */
	WEFT_DROP_INJECT_BAD,     /* received frame the TX ring refused (length) */
	WEFT_DROP_COUNT
};
const char *weft_drop_name(enum weft_drop d);

struct weftd {
	struct ev_loop *loop;
	struct weft_config *cfg;      /* owned; replaced on reload */
	const char *config_path;
	uint64_t started_ms;

	uint8_t *private_key;         /* sodium_malloc */
	uint8_t *secret;              /* sodium_malloc */
	uint8_t public_key[WEFT_KEY_LEN];
	char fingerprint[WEFT_KEY_FPR_LEN];
	char nickname[WEFT_CONFIG_NAME_MAX + 1];

	int lock_fd;                  /* abstract socket: one weftd per bridge per netns */
	struct weft_link *link;
	int dp_ifindex;
	unsigned mtu;                 /* overlay MTU */
	size_t max_frame_len;         /* mtu + 14; a tagged frame's tag counts in it */
	size_t max_datagram;          /* UDP payload toward peers */

	struct weft_capture *capture;
	struct weft_inject *inject;
	struct weft_udp *udp;
	ev_io capture_io;
	ev_io udp_io;
	ev_timer tick;                /* 100 ms: peer timers, MAC ageing, watchdog */
	ev_signal sigterm, sigint, sighup;
	ev_timer watchdog;
	struct weft_control *control;

	struct weft_mactable *macs;
	struct weft_ratelimit *ratelimit;
	struct weft_handshake_replay *hello_replay;
	struct weft_session_index *index;
	struct weft_pending_handshake pending[WEFT_PENDING_HANDSHAKES];
	struct weft_handshake *spare_hs; /* reads HELLOs; kept only when one is accepted */

	struct weft_peer **peers;     /* slot i has mactable id i; NULL = free */
	unsigned n_peers;             /* slots in use + free below max */
	unsigned max_peers;
	uint32_t *dirty;              /* ids of peers with datagrams to send this wakeup */
	unsigned n_dirty;
	struct weft_udp_batch *hs_batch; /* handshake answers to sources without a peer */

	/* Scratch for one handshake datagram and one decrypted frame. */
	uint8_t hs_buf[2048];

	uint64_t drops[WEFT_DROP_COUNT];
	uint64_t rx_frames, tx_frames; /* frames injected / captured and sent */
	uint64_t floods;
	bool stopping;
};

uint64_t weft_now_ms(void);
uint64_t weft_wall_ms(void);

/* Parses nothing, owns @cfg: start-up, loop, teardown. Returns the exit status. */
int weft_daemon_run(struct weft_config *cfg, const char *path);

#endif
