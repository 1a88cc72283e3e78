/* SPDX-License-Identifier: MIT */
/* Handshakes. As initiator: one handshake per peer (struct weft_initiation,
 * owned by the peer), HELLO out, WELCOME in, CONFIRM out, retried with
 * backoff; a COOKIE in makes us send the same HELLO again with mac2, and its
 * cookie goes on our HELLOs to that responder for a while (the jar).
 * As responder, a HELLO passes, cheapest first (docs/protocol.md 4.3): mac1,
 * the replay cache, the source proof (mac2) or a COOKIE instead, the
 * per-source buckets, a pending slot, the global budget; only then the Noise
 * layer and the Diffie-Hellman of the WELCOME. The table of handshakes
 * waiting for their CONFIRM caps each source and gives no slot of a genuine
 * handshake to a flood. A finished handshake becomes a session of the peer it
 * proved to be. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/banlist.h"
#include "common/config.h"
#include "common/cookie.h"
#include "common/freshness.h"
#include "common/handshake.h"
#include "common/index.h"
#include "common/ratelimit.h"
#include "common/retry.h"
#include "common/wire.h"
#include "daemon/clock.h"
#include "daemon/counters.h"
#include "daemon/egress.h"
#include "daemon/handshakes.h"
#include "daemon/identity.h"
#include "daemon/log.h"
#include "daemon/peers.h"
#include "daemon/statefile.h"
#include "daemon/udp.h"

/* A handshake unanswered this long is given up. */
#define HANDSHAKE_TIMEOUT_MS 5000
/*
 * The retry timer of each peer (docs/protocol.md 4.9; common/retry). After
 * every handshake datagram we send toward it, the next try waits 1 s, then
 * 1.5 s, 3 s and 6 s, then 30 s, each plus up to 1/4 at random. A try due
 * while a handshake is in flight sends its HELLO again (or the CONFIRM of a
 * session that has not carried anything yet), byte for byte; one due after
 * it was given up starts a new handshake. So a lost datagram costs about a
 * second: the first HELLO and two resends fit in the 5 s a handshake waits,
 * then two more handshakes come within 12 s. A peer that answers none of it
 * is unreachable and gets a HELLO every 30 to 37.5 s, which over any minute
 * past the first is no more than before quick retries (a handshake every
 * 5 s timeout, then 8, 16 and 30 s apart); one we heard from in the last
 * 30 s (peer_heard) is reachable through loss and keeps a try every 6 s.
 * What shortens the wait: a path that came back (weft_handshakes_kick: the
 * quick tries start over) and frames waiting for the peer
 * (weft_handshakes_want).
 */
/* Frames waiting for a peer start at most one handshake a second (and none
 * while one is in flight); the underlay coming back resets its timer at
 * most once a second. */
#define WANT_INTERVAL_MS 1000
#define KICK_INTERVAL_MS 1000
/* A responder sends a cached WELCOME again, or answers a CONFIRM it read
 * already, at most this many times per handshake: the initiator's resends
 * within its 5 s, and one more. */
#define ANSWERS_AGAIN_MAX 3
/* Responder handshakes waiting for their CONFIRM: at most this many for one
 * source (an IPv4 address or an IPv6 /64), so a few sources cannot take them
 * all; once half are taken the responder is under load. */
#define PENDING_MAX	   64
#define PENDING_PER_SOURCE 4
#define PENDING_TIMEOUT_MS 10000
/* COOKIEs a second, all destinations together, per HELLO of the global budget. */
#define COOKIE_RATE_FACTOR 16
/* The replay cache holds 240 s of the global budget, within these bounds. */
#define REPLAY_CAPACITY_MAX (1U << 18)
_Static_assert(WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX <= WEFT_PEER_AGAIN_MAX &&
		   WEFT_WIRE_CONFIRM_HEADER_LEN + WEFT_HANDSHAKE_CONFIRM_MAX <= WEFT_PEER_AGAIN_MAX,
	       "our HELLO and CONFIRM fit the initiation's copy");
/* Responders whose cookies we keep at once. */
#define JAR_SLOTS 1024
/* A configured peer with no session after this many failed handshakes in a
 * row is reported once (with the retry timer above: about 17 s). */
#define WARN_AFTER_FAILURES 3
/* Lines about refused handshakes, per source address: a burst of 3, then
 * one per 10 s. weft_ratelimit counts whole tokens per second, so it is fed
 * a clock running 10 times slower. All sources together stay under log_rl. */
#define LOG_SOURCE_BURST    3
#define LOG_SOURCE_SLOWDOWN 10
/* The stamps of peers' handshakes reach the disk at most this often (our own
 * floor is written at once, before a stamp above it leaves). */
#define STAMPS_SAVE_MS 60000

/* A responder handshake waiting for its CONFIRM. */
struct pending {
	struct weft_index_entry entry; /* WEFT_INDEX_RESPONSE; index 0: slot free */
	struct weft_handshake *hs;
	uint32_t remote_index;
	uint64_t created_ms;
	struct weft_ratelimit_source src;
	bool proven;	   /* its HELLO carried a valid mac2: never given away to a newcomer */
	uint64_t stamp_ms; /* its HELLO's: the peer's bar once the handshake completes */
	/* Its HELLO sent again (same source address and port, sender index and
	 * ephemeral key) gets this WELCOME again, byte for byte, @again times
	 * at most. */
	union weft_sockaddr from;
	uint8_t e[WEFT_KEY_LEN];
	uint8_t welcome[WEFT_WIRE_WELCOME_HEADER_LEN + WEFT_HANDSHAKE_WELCOME_MAX];
	size_t welcome_len;
	unsigned again;
};

/* A responder handshake completed in the last PENDING_TIMEOUT_MS: its CONFIRM
 * sent again (the initiator heard nothing on the new session: our KEEPALIVE
 * was lost) is answered with another KEEPALIVE. */
#define CONFIRM_DIGEST_LEN 16
struct confirmed {
	uint32_t index; /* the session's (the CONFIRM's receiver_index); 0: free */
	uint8_t digest[CONFIRM_DIGEST_LEN]; /* of the CONFIRM's Noise message */
	uint64_t at_ms;
	unsigned again;
};

struct weft_handshakes {
	struct weft_handshakes_deps d;
	/* Per source: HELLOs without a proven source, and those with one (which
	 * forged datagrams can never empty). */
	struct weft_ratelimit *ratelimit, *proven_rl;
	/* All sources: HELLOs past mac1 and the replay cache (load), HELLOs that
	 * reach the Noise layer (the handshake_global_rate ceiling), COOKIEs sent. */
	struct weft_ratelimit_window demand, work, cookies;
	struct weft_cookie_keys *keys; /* mac1 and COOKIE keys for keys_network */
	char keys_network[WEFT_COOKIE_NETWORK_MAX + 1];
	struct weft_cookie_secret *secret; /* ours, as a responder */
	struct weft_cookie_jar *jar;	   /* theirs, as an initiator */
	struct weft_handshake_replay *hello_replay;
	struct pending pending[PENDING_MAX];
	struct confirmed confirmed[PENDING_MAX];
	struct weft_handshake *spare; /* reads HELLOs; kept only when one is accepted */
	struct weft_udp_batch *batch; /* one handshake datagram at a time */
	/* Rate limits for logs triggered by remote input: all of them, and per
	 * source (LOG_SOURCE_*), so one source cannot take every line. */
	struct weft_log_ratelimit log_rl;
	struct weft_ratelimit *log_sources;
	/* Our stamps and the stamps of our peers' last handshakes, kept in
	 * stamps_path (docs/protocol.md 4.8); changed since the last write. */
	struct weft_freshness fresh;
	char stamps_path[WEFT_CONFIG_PATH_MAX];
	bool stamps_dirty;
	uint64_t stamps_saved_ms;
};

/* Every HELLO answered in the replay window fits, at the start-up budget; a
 * reload to a higher one may fill it, and then it refuses (never evicts). */
static size_t replay_capacity(const struct weft_config *cfg)
{
	uint64_t n = (uint64_t)cfg->handshake_global_rate * (WEFT_HANDSHAKE_REPLAY_KEEP_MS / 1000);

	if (n < WEFT_HANDSHAKE_REPLAY_CAPACITY)
		n = WEFT_HANDSHAKE_REPLAY_CAPACITY;
	return n > REPLAY_CAPACITY_MAX ? REPLAY_CAPACITY_MAX : (size_t)n;
}

/* ---- stamps (docs/protocol.md 4.8) ----------------------------------------------- */

static void stamps_load(struct weft_handshakes *h)
{
	char err[WEFT_ERRLEN], *text;
	size_t len;
	int ret, skipped;

	if (!h->stamps_path[0])
		return;
	ret = weft_statefile_read(h->stamps_path, &text, &len, err);
	if (ret < 0) {
		if (ret != -ENOENT)
			log_warn("handshake stamps %s: not read (%s); peers whose clocks went "
				 "back may need a cookie round trip",
				 h->stamps_path, err);
		return;
	}
	skipped = weft_freshness_parse(&h->fresh, text, len, err);
	free(text);
	if (skipped < 0)
		log_warn("handshake stamps %s: out of memory", h->stamps_path);
	else if (skipped > 0)
		log_warn("handshake stamps %s: %d malformed lines skipped (first: %s)",
			 h->stamps_path, skipped, err);
}

static void stamps_save(struct weft_handshakes *h, uint64_t now)
{
	char err[WEFT_ERRLEN], *text;

	h->stamps_dirty = false;
	h->stamps_saved_ms = now;
	if (!h->stamps_path[0])
		return;
	text = weft_freshness_format(&h->fresh);
	if (!text) {
		log_warn("handshake stamps %s: out of memory; not saved", h->stamps_path);
		return;
	}
	if (weft_statefile_write(h->stamps_path, text, strlen(text), err) < 0)
		weft_log_ratelimited(&h->log_rl, now, LOG_WARNING,
				     "handshake stamps not saved (%s): after a restart with the "
				     "clock behind, peers ask for a cookie round trip",
				     err);
	free(text);
}

/* The stamp of the identity record we send next; the floor reaches the disk
 * before any stamp above it leaves. */
static uint64_t next_stamp(struct weft_handshakes *h, uint64_t now)
{
	bool save;
	uint64_t stamp = weft_freshness_stamp(&h->fresh, weft_clock_wall_ms(), &save);

	if (save)
		stamps_save(h, now);
	return stamp;
}

int weft_handshakes_new(struct weft_handshakes **out, const struct weft_handshakes_deps *deps,
			char err[static WEFT_ERRLEN])
{
	struct weft_handshakes *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (!h)
		return weft_errorf(err, -ENOMEM, "handshakes");
	h->d = *deps;
	h->log_rl = (struct weft_log_ratelimit)WEFT_LOG_RATELIMIT_INIT(10000, 10);
	h->ratelimit = weft_ratelimit_new(deps->cfg->handshake_rate, deps->cfg->handshake_burst,
					  WEFT_RATELIMIT_ENTRIES);
	h->proven_rl = weft_ratelimit_new(deps->cfg->handshake_rate, deps->cfg->handshake_burst,
					  WEFT_RATELIMIT_ENTRIES);
	weft_ratelimit_window_init(&h->demand, UINT32_MAX);
	weft_ratelimit_window_init(&h->work, deps->cfg->handshake_global_rate);
	weft_ratelimit_window_init(&h->cookies,
				   deps->cfg->handshake_global_rate * COOKIE_RATE_FACTOR);
	h->secret = weft_cookie_secret_new();
	h->jar = weft_cookie_jar_new(JAR_SLOTS);
	h->hello_replay =
	    weft_handshake_replay_new(replay_capacity(deps->cfg), WEFT_HANDSHAKE_REPLAY_KEEP_MS);
	h->log_sources = weft_ratelimit_new(1, LOG_SOURCE_BURST, WEFT_RATELIMIT_ENTRIES);
	weft_freshness_init(&h->fresh);
	snprintf(h->stamps_path, sizeof(h->stamps_path), "%s", deps->cfg->timestamps_file);
	stamps_load(h);
	if (!h->ratelimit || !h->proven_rl || !h->secret || !h->jar || !h->hello_replay ||
	    !h->log_sources || weft_udp_batch_new(&h->batch, 1, WEFT_WIRE_HANDSHAKE_MAX_LEN) < 0) {
		weft_handshakes_free(h);
		return weft_errorf(err, -ENOMEM, "handshake state");
	}
	*out = h;
	return 0;
}

static void pending_drop(struct weft_handshakes *h, struct pending *pd)
{
	weft_index_remove(h->d.index, &pd->entry);
	weft_handshake_free(pd->hs);
	memset(pd, 0, sizeof(*pd));
}

void weft_handshakes_free(struct weft_handshakes *h)
{
	if (!h)
		return;
	for (int i = 0; i < PENDING_MAX; i++)
		if (h->pending[i].hs)
			pending_drop(h, &h->pending[i]);
	weft_handshake_free(h->spare);
	weft_ratelimit_free(h->ratelimit);
	weft_ratelimit_free(h->proven_rl);
	weft_ratelimit_free(h->log_sources);
	weft_cookie_keys_free(h->keys);
	weft_cookie_secret_free(h->secret);
	weft_cookie_jar_free(h->jar);
	weft_handshake_replay_free(h->hello_replay);
	weft_udp_batch_free(h->batch);
	if (h->stamps_dirty)
		stamps_save(h, weft_clock_now_ms());
	weft_freshness_free(&h->fresh);
	free(h);
}

void weft_handshakes_reconfigure(struct weft_handshakes *h, const struct weft_config *cfg,
				 uint64_t now)
{
	struct weft_peer *p;

	h->d.cfg = cfg;
	if (weft_ratelimit_set(h->ratelimit, cfg->handshake_rate, cfg->handshake_burst) < 0 ||
	    weft_ratelimit_set(h->proven_rl, cfg->handshake_rate, cfg->handshake_burst) < 0)
		log_warn("handshake_rate %u / handshake_burst %u refused; keeping the old ones",
			 cfg->handshake_rate, cfg->handshake_burst);
	weft_ratelimit_window_set(&h->work, cfg->handshake_global_rate);
	weft_ratelimit_window_set(&h->cookies, cfg->handshake_global_rate * COOKIE_RATE_FACTOR);
	/* A peer given a new address, or newly added, need not wait out its backoff. */
	weft_peers_foreach(h->d.peers, p) if (weft_sockaddr_is_set(&p->endpoint) &&
					      !weft_peer_can_send(p, now)) p->init.next_ms = 0;
}

/* The MAC and COOKIE keys of the network name the handshake uses now (the
 * Noise prologue takes it from the same place); NULL when out of memory. */
static const struct weft_cookie_keys *macs(struct weft_handshakes *h)
{
	const char *name = h->d.cfg->name;

	if (h->keys && !strcmp(h->keys_network, name))
		return h->keys;
	weft_cookie_keys_free(h->keys);
	h->keys = weft_cookie_keys_new(h->d.identity->secret, name);
	snprintf(h->keys_network, sizeof(h->keys_network), "%s", h->keys ? name : "");
	return h->keys;
}

static void hs_config(struct weft_handshakes *h, struct weft_handshake_config *hc)
{
	const struct weft_identity *id = h->d.identity;

	memset(hc, 0, sizeof(*hc));
	hc->macs = macs(h);
	hc->static_priv = id->private_key;
	hc->static_pub = id->public_key;
	hc->psk = id->secret;
	hc->network = h->d.cfg->name;
	hc->nickname = id->nickname;
	hc->listen_port = weft_sockaddr_port(&h->d.cfg->listen.addr);
	hc->capabilities = WEFT_HANDSHAKE_CAP_MESH;
	if (h->d.cfg->partial_checksums)
		hc->capabilities |= WEFT_HANDSHAKE_CAP_CSUM_PARTIAL;
}

/* @from: our address to send from (family 0: the kernel's choice). */
static void send_datagram(struct weft_handshakes *h, const uint8_t *buf, size_t len,
			  const union weft_sockaddr *dst, const struct weft_udp_local_addr *from)
{
	struct weft_udp_sent sent;
	size_t room;
	uint8_t *slot = weft_udp_batch_reserve(h->batch, &room);

	WEFT_BUG_ON(!slot || len > room);
	memcpy(slot, buf, len);
	weft_udp_batch_commit(h->batch, len);
	if (weft_udp_flush(h->d.udp, h->batch, dst, from, &sent) < 0)
		log_debug("handshake datagram not sent");
}

/* A handshake datagram went toward @in's peer: the timer takes its next step. */
static void retry_later(struct weft_initiation *in, uint64_t now)
{
	uint32_t ms = weft_retry_base_ms(++in->tries, in->heard_ms, now);

	in->next_ms = now + ms + randombytes_uniform(ms / 4 + 1);
}

/* A handshake message of @p's reached us and was answered: it is there, so
 * our own tries toward it do not slow down to the unreachable peer's wait.
 * Only the claimed name of a HELLO says who sent it (mac1 says a member),
 * so a member can at most keep our tries toward another at one per 6 s. */
static void peer_heard(struct weft_peer *p, uint64_t now)
{
	struct weft_initiation *in = &p->init;
	uint64_t quick;

	in->heard_ms = now;
	/* Already waiting the slow wait: the next try comes at the quick one. */
	quick = now + weft_retry_base_ms(in->tries, now, now);
	if (in->next_ms > quick)
		in->next_ms = quick;
}

/* ---- what the operator is told ------------------------------------------------ */

/* May a line at @prio about a handshake datagram from @src be written? Per
 * source (the line then goes through log_rl as well); the level is checked
 * first, so lines nobody sees spend no token. */
static bool source_may_log(struct weft_handshakes *h, const union weft_sockaddr *src, int prio,
			   uint64_t now)
{
	return weft_log_enabled(prio) &&
	       weft_ratelimit_allow(h->log_sources, &src->sa, now / LOG_SOURCE_SLOWDOWN);
}

/* The class of a refused handshake message that an operator acts on; @err
 * from common/handshake gives the detail. (Pin refusals say it all in @err.) */
static const char *refusal_class(int ret)
{
	switch (ret) {
	case -EBADMSG:
		return "wrong network secret or network name";
	case -EPROTO:
		return "identity record invalid";
	case -ETIME:
		return "clock off";
	case -EALREADY:
		return "replayed";
	case -ENOSPC:
		return "replay cache full";
	default:
		return "refused";
	}
}

/* How an attempt of ours failed, for the causes a warning lists. */
enum failure {
	FAIL_UNANSWERED,  /* no WELCOME came back */
	FAIL_UNCONFIRMED, /* a WELCOME came, but nothing on the session after our CONFIRM */
	FAIL_REFUSED,	  /* we refused its key */
};

/* Once per run of failures, for a configured peer without a session: what
 * happened and what to check. */
static void warn_failing(struct weft_handshakes *h, struct weft_peer *p, enum failure why,
			 uint64_t now)
{
	const struct weft_initiation *in = &p->init;
	char ep[WEFT_SOCKADDR_STRLEN];
	const char *where = weft_peer_endpoint_text(p, ep);

	unsigned secs = (unsigned)((now - in->failing_since_ms + 500) / 1000);

	switch (why) {
	case FAIL_UNANSWERED:
		/* Its own handshakes reach us: the way back is what fails. */
		if (weft_retry_heard(in->heard_ms, now)) {
			weft_log_peer(LOG_WARNING, p->name, where,
				      "peer %s (%s): no session after %u handshake attempts in "
				      "%u s; it reaches us (its handshake messages arrive and are "
				      "answered) but nothing answers ours; likely: a firewall or "
				      "NAT dropping UDP in one direction, or heavy loss",
				      p->name, where ? where : "no address", in->failed, secs);
			break;
		}
		weft_log_peer(LOG_WARNING, p->name, where,
			      "peer %s (%s): no session after %u handshake attempts in %u s, no "
			      "answer; likely: no route to it or a wrong address or port, a firewall "
			      "dropping UDP, weftd not running there, or another network secret or "
			      "network name on its side (it drops our HELLOs without a word)",
			      p->name, where ? where : "no address", in->failed, secs);
		break;
	case FAIL_UNCONFIRMED:
		weft_log_peer(LOG_WARNING, p->name, where,
			      "peer %s (%s): no session after %u handshake attempts in %u s; it "
			      "answers but refuses our key %s; likely: it requires pinned keys and "
			      "does not pin ours, or pins another key for this host",
			      p->name, where ? where : "no address", in->failed, secs,
			      h->d.identity->fingerprint);
		break;
	case FAIL_REFUSED:
		weft_log_peer(LOG_WARNING, p->name, where,
			      "peer %s (%s): no session after %u handshake attempts in %u s; we "
			      "refuse its key (see the lines above): check its public_key here",
			      p->name, where ? where : "no address", in->failed, secs);
		break;
	}
}

/* One attempt of ours toward @p ended without a confirmed session. */
static void attempt_failed(struct weft_handshakes *h, struct weft_peer *p, enum failure why,
			   uint64_t now)
{
	struct weft_initiation *in = &p->init;

	p->count.handshakes_failed++;
	in->failed++;
	if (!in->warned && in->failed >= WARN_AFTER_FAILURES && p->configured && !p->up) {
		in->warned = true;
		warn_failing(h, p, why, now);
	}
}

/* ---- initiator ----------------------------------------------------------------- */

/* -EPERM with the reason when the operator banned @key (weftctl forget, or
 * its [peer] removed), else 0. */
static int check_ban(const struct weft_handshakes *h, const uint8_t key[static WEFT_KEY_LEN],
		     char err[static WEFT_ERRLEN])
{
	char fpr[WEFT_KEY_FPR_LEN];

	if (!h->d.bans || !weft_banlist_find(h->d.bans, key))
		return 0;
	weft_key_fingerprint(fpr, key);
	return weft_errorf(err, -EPERM, "its key %s is banned (weftctl unforget %s)", fpr, fpr);
}

/* @buf (@len bytes) is what a try sends again. */
static void keep_again(struct weft_initiation *in, const uint8_t *buf, size_t len)
{
	WEFT_BUG_ON(len > sizeof(in->again));
	memcpy(in->again, buf, len);
	in->again_len = len;
}

static void initiate(struct weft_handshakes *h, struct weft_peer *p, uint64_t now)
{
	struct weft_initiation *in = &p->init;
	struct weft_handshake_config hc;
	uint8_t buf[WEFT_WIRE_HANDSHAKE_MAX_LEN], cookie[WEFT_COOKIE_LEN];
	char err[WEFT_ERRLEN];
	size_t len;

	/* A banned peer still configured: no handshake until the ban is lifted. */
	if ((p->has_static && check_ban(h, p->remote_static, err) < 0) ||
	    (p->has_pin && check_ban(h, p->pin, err) < 0))
		return;
	weft_peer_end_initiation(h->d.peers, p);
	in->attempts++;
	retry_later(in, now);
	if (!weft_sockaddr_is_set(&p->endpoint))
		return;
	/* The first attempt of a run that may fail: the warning counts from here. */
	if (in->failed == 0)
		in->failing_since_ms = now;
	in->hs = weft_handshake_new();
	if (!in->hs) {
		weft_peer_log(LOG_WARNING, p, "peer %s: out of memory for a handshake", p->name);
		return;
	}
	if (weft_index_insert(h->d.index, &in->entry, WEFT_INDEX_INITIATION) < 0) {
		weft_peer_log(LOG_WARNING, p, "peer %s: no free index for a handshake", p->name);
		weft_handshake_free(in->hs);
		in->hs = NULL;
		return;
	}
	hs_config(h, &hc);
	/* A responder that sent us a cookie lately gets it back at once. */
	if (weft_cookie_jar_get(h->jar, &p->endpoint, now, cookie))
		hc.cookie = cookie;
	if (weft_handshake_write_hello_datagram(in->hs, &hc, in->entry.index, next_stamp(h, now),
						buf, sizeof(buf), &len, err) < 0) {
		weft_peer_log(LOG_ERR, p, "peer %s: cannot build a HELLO: %s", p->name, err);
		weft_peer_end_initiation(h->d.peers, p);
		return;
	}
	in->sent_ms = now;
	keep_again(in, buf, len);
	weft_peer_log(LOG_DEBUG, p, "peer %s: HELLO (attempt %u)", p->name, in->attempts);
	send_datagram(h, buf, len, &p->endpoint, &p->local);
}

/* The handshake datagram @in's peer has not answered, again as it was. */
static void send_again(struct weft_handshakes *h, struct weft_peer *p, const char *what,
		       uint64_t now)
{
	struct weft_initiation *in = &p->init;

	retry_later(in, now);
	p->count.handshake_resends++;
	weft_peer_log(LOG_DEBUG, p, "peer %s: %s again (try %u)", p->name, what, in->tries);
	send_datagram(h, in->again, in->again_len, &p->endpoint, &p->local);
}

/* Our session with @p from a handshake whose CONFIRM went out and that has
 * carried nothing back yet: the CONFIRM or the answer to it was lost. */
static bool confirm_waits(const struct weft_peer *p)
{
	const struct weft_session *next = p->sessions.next;

	return !p->init.hs && p->init.again_len && next && next->rx_packets == 0 &&
	       next->entry.index == p->init.confirm_index;
}

/* Hands the finished handshake's keys to a new session of @p, which takes
 * over the handshake's receiver index @entry. */
static int install_session(struct weft_handshakes *h, struct weft_peer *p,
			   struct weft_handshake *hs, struct weft_index_entry *entry,
			   bool confirmed, uint64_t now)
{
	const struct weft_config *cfg = h->d.cfg;
	struct weft_session_limits limits = {
		.rekey_after_ms = (uint64_t)cfg->rekey_after * 1000u,
		.reject_after_ms = (uint64_t)cfg->reject_after * 1000u,
	};
	struct weft_handshake_result res;
	uint8_t *keys = sodium_malloc(2 * WEFT_KEY_LEN);
	struct weft_session *s = NULL;

	if (!keys)
		return -ENOMEM;
	if (weft_handshake_finish(hs, &res, keys, keys + WEFT_KEY_LEN) == 0)
		s = weft_session_new(keys, keys + WEFT_KEY_LEN, res.remote_index, res.initiator,
				     &limits, now);
	sodium_free(keys);
	if (!s)
		return -ENOMEM;
	if (weft_index_replace(h->d.index, entry, &s->entry, WEFT_INDEX_SESSION) < 0) {
		weft_session_free(s);
		return -ENOENT;
	}
	weft_session_set_install(&p->sessions, s, confirmed);
	p->capabilities = res.remote.capabilities;
	p->count.handshakes++;
	p->init.attempts = 0;
	p->init.tries = 0;
	p->last_handshake_wall_ms = weft_clock_wall_ms();
	p->last_handshake_ms = now;
	weft_peer_log(LOG_INFO, p, "peer %s (%s): session established as %s", p->name,
		      p->fingerprint, res.initiator ? "initiator" : "responder");
	/* An initiator's session is confirmed by its first datagram (peers.c). */
	if (confirmed)
		weft_peer_confirmed(p);
	return 0;
}

static void handle_welcome(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			   const struct weft_udp_dgram *dg, uint64_t now)
{
	struct weft_index_entry *e = weft_index_lookup(h->d.index, msg->receiver_index,
						       WEFT_INDEX_INITIATION);
	struct weft_initiation *in = e ? container_of(e, struct weft_initiation, entry) : NULL;
	struct weft_peer *p = in ? container_of(in, struct weft_peer, init) : NULL;
	uint8_t remote[WEFT_KEY_LEN], buf[WEFT_WIRE_HANDSHAKE_MAX_LEN];
	const struct weft_handshake_identity *id;
	char err[WEFT_ERRLEN], from[WEFT_SOCKADDR_STRLEN];
	size_t len;
	int ret;

	if (!p) {
		h->d.drops->n[WEFT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	weft_sockaddr_format(from, dg->src);
	ret = weft_handshake_read_welcome(in->hs, msg->sender_index, msg->body, msg->body_len, err);
	if (ret < 0) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_AUTH]++;
		if (source_may_log(h, dg->src, LOG_INFO, now))
			weft_log_peer_ratelimited(&h->log_rl, now, LOG_INFO, p->name, from,
						  "peer %s: WELCOME from %s refused: %s (%s)",
						  p->name, from, refusal_class(ret), err);
		return;
	}
	if (weft_handshake_remote_static(in->hs, remote) < 0 || check_ban(h, remote, err) < 0 ||
	    weft_handshake_check_pin(p->has_pin ? p->pin : NULL, h->d.cfg->require_pinned_keys,
				     remote, err) < 0 ||
	    weft_peer_check_key(p, remote, h->d.identity->public_key, err) < 0) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_REFUSED]++;
		if (source_may_log(h, dg->src, LOG_WARNING, now))
			weft_log_peer_ratelimited(&h->log_rl, now, LOG_WARNING, p->name, from,
						  "peer %s at %s refused: %s", p->name, from, err);
		weft_peer_end_initiation(h->d.peers, p);
		attempt_failed(h, p, FAIL_REFUSED, now);
		return;
	}
	id = weft_handshake_remote_identity(in->hs);
	if (id && strcmp(id->nickname, p->name))
		weft_peer_log(LOG_DEBUG, p, "peer %s calls itself %s", p->name, id->nickname);
	if (weft_handshake_write_confirm_datagram(in->hs, msg->sender_index, buf, sizeof(buf), &len,
						  err) < 0) {
		weft_peer_log(LOG_ERR, p, "peer %s: cannot build a CONFIRM: %s", p->name, err);
		weft_peer_end_initiation(h->d.peers, p);
		return;
	}
	/* The WELCOME is authenticated: answer it, and from now on send, to
	 * where it came from (protocol.md 5.3; our HELLO may have gone to
	 * several of a member's addresses in turn) and from the address it
	 * came to. */
	weft_peer_set_endpoint(p, dg->src, &dg->local);
	send_datagram(h, buf, len, &p->endpoint, &p->local);
	peer_heard(p, now);
	weft_peer_learn_key(p, remote);
	/* Its WELCOME is stamped from the same counter as its HELLOs: the bar
	 * they must pass from now on. */
	if (id && weft_freshness_confirm(&h->fresh, remote, id->nickname, id->timestamp_ms) == 0)
		h->stamps_dirty = true;
	keep_again(in, buf, len);
	in->confirm_index = in->entry.index;
	if (install_session(h, p, in->hs, &in->entry, false, now) < 0) {
		weft_peer_log(LOG_WARNING, p, "peer %s: could not install the new session",
			      p->name);
		weft_peer_end_initiation(h->d.peers, p);
		return;
	}
	/* The index now belongs to the session. */
	weft_handshake_free(in->hs);
	in->hs = NULL;
	/* Until the session carries something back, the CONFIRM is sent again
	 * on the quick tries. */
	in->tries = 0;
	retry_later(in, now);
}

/* A responder under load asks us to prove our address: the same HELLO again,
 * now with mac2, and the cookie kept for our next HELLOs to it. */
static void handle_cookie(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			  const struct weft_udp_dgram *dg, uint64_t now)
{
	struct weft_index_entry *e =
	    weft_index_lookup(h->d.index, msg->receiver_index, WEFT_INDEX_INITIATION);
	struct weft_initiation *in = e ? container_of(e, struct weft_initiation, entry) : NULL;
	struct weft_peer *p = in ? container_of(in, struct weft_peer, init) : NULL;
	const struct weft_cookie_keys *k = macs(h);
	uint8_t buf[WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX], cookie[WEFT_COOKIE_LEN];
	char err[WEFT_ERRLEN], from[WEFT_SOCKADDR_STRLEN];
	size_t len;
	int ret;

	if (!p || !in->hs || !k) {
		h->d.drops->n[WEFT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	ret = weft_handshake_read_cookie(in->hs, k, msg, cookie, buf, sizeof(buf), &len, err);
	if (ret < 0) {
		/* No HELLO of ours waits (a WELCOME came already), the same COOKIE
		 * again, or one that does not open. */
		h->d.drops->n[ret == -EINVAL	 ? WEFT_DROP_UNKNOWN_INDEX
			      : ret == -EALREADY ? WEFT_DROP_HANDSHAKE_REPLAY
						 : WEFT_DROP_HANDSHAKE_AUTH]++;
		if (ret == -EBADMSG && source_may_log(h, dg->src, LOG_INFO, now)) {
			weft_sockaddr_format(from, dg->src);
			weft_log_peer_ratelimited(&h->log_rl, now, LOG_INFO, p->name, from,
						  "peer %s: COOKIE from %s refused: %s", p->name,
						  from, err);
		}
		return;
	}
	weft_cookie_jar_put(h->jar, dg->src, cookie, now);
	sodium_memzero(cookie, sizeof(cookie));
	/* A COOKIE is an answer: the wait for the WELCOME starts again, and
	 * what a try sends again is this HELLO, with its mac2. */
	in->sent_ms = now;
	keep_again(in, buf, len);
	weft_peer_log(LOG_DEBUG, p, "peer %s: COOKIE (it is under load); HELLO again with mac2",
		      p->name);
	send_datagram(h, buf, len, &p->endpoint, &p->local);
}

/* ---- responder ------------------------------------------------------------------ */

/* Under load, every HELLO must prove its source before it costs more than a
 * few hashes (docs/protocol.md 4.7). */
static bool under_load(struct weft_handshakes *h, uint64_t now)
{
	unsigned taken = 0;

	/* Expired ones are freed only when a slot is looked for: not counted. */
	for (int i = 0; i < PENDING_MAX; i++)
		taken += h->pending[i].hs && now - h->pending[i].created_ms < PENDING_TIMEOUT_MS;
	return 2 * (uint64_t)weft_ratelimit_window_used(&h->demand, now) >=
		   h->d.cfg->handshake_global_rate ||
	       2 * taken >= PENDING_MAX;
}

/* The slot a HELLO from @src may take, expired handshakes freed first: a
 * free one, else (for a HELLO with a proven source) that of the oldest
 * handshake whose source was not proven; NULL when its source has
 * PENDING_PER_SOURCE already or nothing may be given up. Changes no live
 * handshake: the caller drops the slot's occupant only once its HELLO is
 * accepted. */
static struct pending *pending_slot(struct weft_handshakes *h,
				    const struct weft_ratelimit_source *src, bool proven,
				    uint64_t now)
{
	struct pending *free_slot = NULL, *victim = NULL;
	unsigned same = 0;

	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *pd = &h->pending[i];

		if (pd->hs && now - pd->created_ms >= PENDING_TIMEOUT_MS)
			pending_drop(h, pd);
		if (!pd->hs) {
			free_slot = free_slot ? free_slot : pd;
			continue;
		}
		same += !memcmp(&pd->src, src, sizeof(*src));
		if (!pd->proven && (!victim || pd->created_ms < victim->created_ms))
			victim = pd;
	}
	if (same >= PENDING_PER_SOURCE)
		return NULL;
	if (free_slot)
		return free_slot;
	return proven ? victim : NULL;
}

/* Instead of any work: a COOKIE, so that the HELLO comes back proving its
 * source. Within the COOKIE budget; beyond it the HELLO is dropped. */
static void send_cookie(struct weft_handshakes *h, const struct weft_udp_dgram *dg,
			const struct weft_cookie_keys *k, uint64_t now)
{
	uint8_t buf[WEFT_WIRE_COOKIE_LEN];
	size_t len;

	if (!weft_ratelimit_window_take(&h->cookies, now) ||
	    weft_cookie_reply(k, h->secret, now, dg->src, dg->data, dg->len, buf, sizeof(buf),
			      &len) < 0) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_BUSY]++;
		return;
	}
	h->d.drops->n[WEFT_DROP_HANDSHAKE_COOKIE]++;
	send_datagram(h, buf, len, dg->src, &dg->local);
}

/* One line for a refused HELLO, rate-limited per source and in all. */
static void log_hello_refused(struct weft_handshakes *h, const struct weft_udp_dgram *dg,
			      uint64_t now, const char *why, const char *detail)
{
	char from[WEFT_SOCKADDR_STRLEN];

	if (!source_may_log(h, dg->src, LOG_INFO, now))
		return;
	weft_sockaddr_format(from, dg->src);
	weft_log_peer_ratelimited(&h->log_rl, now, LOG_INFO, NULL, from,
				  "HELLO from %s refused: %s (%s)", from, why, detail);
}

static void count_refusal(struct weft_handshakes *h, int err)
{
	static const enum weft_drop by_reason[] = {
	    [WEFT_HANDSHAKE_DROP_REPLAY] = WEFT_DROP_HANDSHAKE_REPLAY,
	    [WEFT_HANDSHAKE_DROP_PIN] = WEFT_DROP_HANDSHAKE_REFUSED,
	    [WEFT_HANDSHAKE_DROP_REPLAY_FULL] = WEFT_DROP_HANDSHAKE_REPLAY_FULL,
	};
	enum weft_handshake_drop reason = weft_handshake_drop_reason(err);
	enum weft_drop drop = WEFT_DROP_HANDSHAKE_AUTH;

	if ((size_t)reason < WEFT_ARRAY_SIZE(by_reason) && by_reason[reason])
		drop = by_reason[reason];
	h->d.drops->n[drop]++;
}

/* We answered a HELLO of responder handshake @hs: the peer it names is heard. */
static void hello_heard(struct weft_handshakes *h, const struct weft_handshake *hs, uint64_t now)
{
	const struct weft_handshake_identity *id = weft_handshake_remote_identity(hs);
	struct weft_peer *p = id ? weft_peers_find_name(h->d.peers, id->nickname) : NULL;

	if (p)
		peer_heard(p, now);
}

/* A HELLO whose ephemeral key we answered, sent again by its initiator (our
 * WELCOME was lost, or is late): the same WELCOME again from its pending
 * slot, when the HELLO is that slot's (its source address and port, sender
 * index and ephemeral key). No Diffie-Hellman, no slot, no token: false
 * (a replay) for any other, and past ANSWERS_AGAIN_MAX. Only HELLOs that
 * passed mac1 get here; each looks at the 64 slots once. */
static bool welcome_again(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			  const struct weft_udp_dgram *dg, uint64_t now)
{
	const uint8_t *e = msg->body + WEFT_HANDSHAKE_HELLO_E_OFFSET;

	for (int i = 0; i < PENDING_MAX; i++) {
		struct pending *pd = &h->pending[i];

		if (!pd->hs || !pd->welcome_len || pd->remote_index != msg->sender_index ||
		    now - pd->created_ms >= PENDING_TIMEOUT_MS || memcmp(pd->e, e, WEFT_KEY_LEN) ||
		    !weft_sockaddr_equal(&pd->from, dg->src))
			continue;
		if (pd->again >= ANSWERS_AGAIN_MAX)
			return false;
		pd->again++;
		h->d.drops->n[WEFT_DROP_HANDSHAKE_WELCOME_AGAIN]++;
		send_datagram(h, pd->welcome, pd->welcome_len, dg->src, &dg->local);
		hello_heard(h, pd->hs, now);
		return true;
	}
	return false;
}

/* What welcome_again() needs of the HELLO @msg from @dg and our WELCOME. */
static void keep_welcome(struct pending *pd, const struct weft_wire_msg *msg,
			 const struct weft_udp_dgram *dg, const uint8_t *welcome, size_t len)
{
	pd->from = *dg->src;
	memcpy(pd->e, msg->body + WEFT_HANDSHAKE_HELLO_E_OFFSET, WEFT_KEY_LEN);
	pd->welcome_len = len <= sizeof(pd->welcome) ? len : 0;
	if (pd->welcome_len)
		memcpy(pd->welcome, welcome, len);
	pd->again = 0;
}

static void handle_hello(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			 const struct weft_udp_dgram *dg, uint64_t now)
{
	const struct weft_cookie_keys *k = macs(h);
	const struct weft_handshake_identity *id;
	uint8_t buf[WEFT_WIRE_HANDSHAKE_MAX_LEN];
	struct weft_handshake_config hc;
	struct weft_ratelimit_source src;
	char err[WEFT_ERRLEN];
	struct pending *pd;
	uint64_t stamp;
	bool proven;
	size_t len;
	int ret;

	if (!k)
		return;
	/* Junk and non-members: one keyed hash, no state touched. */
	if (!weft_cookie_mac1_valid(k, dg->data, dg->len)) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_MAC]++;
		log_hello_refused(h, dg, now, refusal_class(-EBADMSG), "mac1 does not match");
		return;
	}
	/* A replay of a HELLO we answered: its clear ephemeral key, one lookup. */
	if (weft_handshake_replay_contains(h->hello_replay,
					   msg->body + WEFT_HANDSHAKE_HELLO_E_OFFSET, now)) {
		if (welcome_again(h, msg, dg, now))
			return;
		h->d.drops->n[WEFT_DROP_HANDSHAKE_REPLAY]++;
		log_hello_refused(h, dg, now, refusal_class(-EALREADY),
				  "ephemeral key already answered");
		return;
	}
	weft_ratelimit_window_count(&h->demand, now);
	/* A source that proved it receives here is charged to buckets that
	 * forged datagrams never reach; any other must prove it first when we
	 * are under load or its bucket is empty. */
	proven = weft_cookie_check(h->secret, now, dg->src, dg->data, dg->len);
	if (!proven) {
		if (under_load(h, now) || !weft_ratelimit_allow(h->ratelimit, &dg->src->sa, now)) {
			send_cookie(h, dg, k, now);
			return;
		}
	} else if (!weft_ratelimit_allow(h->proven_rl, &dg->src->sa, now)) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_RATE]++;
		return;
	}
	weft_ratelimit_source_of(&src, &dg->src->sa);
	pd = pending_slot(h, &src, proven, now);
	if (!pd) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_PENDING_FULL]++;
		log_hello_refused(h, dg, now, "busy", "no pending handshake slot for it");
		return;
	}
	if (!weft_ratelimit_window_take(&h->work, now)) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_BUSY]++;
		return;
	}
	if (!h->spare && !(h->spare = weft_handshake_new()))
		return;
	hs_config(h, &hc);
	ret = weft_handshake_read_hello(h->spare, &hc, msg->sender_index, msg->body,
					msg->body_len, err);
	if (ret < 0) {
		count_refusal(h, ret);
		log_hello_refused(h, dg, now, refusal_class(ret), err);
		return;
	}
	/* Not newer than the last handshake completed under its name: a replay,
	 * or a host whose clock and saved stamps went back. Answered only once
	 * its source proved itself; the COOKIE costs no state, and the same
	 * HELLO comes back with mac2 (its key is not in the replay cache yet). */
	id = weft_handshake_remote_identity(h->spare);
	if (!proven && !weft_freshness_is_fresh(&h->fresh, id->nickname, id->timestamp_ms)) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_STALE]++;
		send_cookie(h, dg, k, now);
		return;
	}
	stamp = id->timestamp_ms;
	ret = weft_handshake_accept_hello(h->spare, h->hello_replay, now, err);
	if (ret < 0) {
		count_refusal(h, ret);
		log_hello_refused(h, dg, now, refusal_class(ret), err);
		return;
	}
	/* An unproven handshake gives its slot to a proven one. */
	if (pd->hs)
		pending_drop(h, pd);
	if (weft_index_insert(h->d.index, &pd->entry, WEFT_INDEX_RESPONSE) < 0) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_REFUSED]++;
		return;
	}
	pd->hs = h->spare;
	h->spare = NULL;
	pd->remote_index = msg->sender_index;
	pd->created_ms = now;
	pd->src = src;
	pd->proven = proven;
	pd->stamp_ms = stamp;
	if (weft_handshake_write_welcome_datagram(pd->hs, pd->entry.index, msg->sender_index,
						  next_stamp(h, now), buf, sizeof(buf), &len,
						  err) < 0) {
		log_warn("cannot build a WELCOME: %s", err);
		pending_drop(h, pd);
		return;
	}
	keep_welcome(pd, msg, dg, buf, len);
	send_datagram(h, buf, len, dg->src, &dg->local);
	hello_heard(h, pd->hs, now);
}

static void confirm_digest(uint8_t out[static CONFIRM_DIGEST_LEN], const struct weft_wire_msg *msg)
{
	crypto_generichash(out, CONFIRM_DIGEST_LEN, msg->body, msg->body_len, NULL, 0);
}

/* The CONFIRM @msg completed session @s (ours as responder) just now. */
static void remember_confirm(struct weft_handshakes *h, const struct weft_session *s,
			     const struct weft_wire_msg *msg, uint64_t now)
{
	struct confirmed *c = &h->confirmed[0];

	for (int i = 0; i < PENDING_MAX; i++) {
		struct confirmed *x = &h->confirmed[i];

		if (!x->index || now - x->at_ms >= PENDING_TIMEOUT_MS) {
			c = x;
			break;
		}
		if (x->at_ms < c->at_ms)
			c = x;
	}
	c->index = s->entry.index;
	confirm_digest(c->digest, msg);
	c->at_ms = now;
	c->again = 0;
}

/* A CONFIRM for no pending handshake: the same CONFIRM again, byte for byte,
 * of a session we completed as responder lately, is answered with a
 * KEEPALIVE on our session with that peer (ANSWERS_AGAIN_MAX times at
 * most); anything else is false (unknown_index). */
static bool confirm_again(struct weft_handshakes *h, const struct weft_wire_msg *msg, uint64_t now)
{
	struct weft_index_entry *e =
	    weft_index_lookup(h->d.index, msg->receiver_index, WEFT_INDEX_SESSION);
	struct weft_session *s = e ? container_of(e, struct weft_session, entry) : NULL;
	uint8_t digest[CONFIRM_DIGEST_LEN];

	if (!s || s->initiator || !s->set)
		return false;
	for (int i = 0; i < PENDING_MAX; i++) {
		struct confirmed *c = &h->confirmed[i];

		if (c->index != msg->receiver_index || now - c->at_ms >= PENDING_TIMEOUT_MS)
			continue;
		confirm_digest(digest, msg);
		if (c->again >= ANSWERS_AGAIN_MAX ||
		    sodium_memcmp(digest, c->digest, CONFIRM_DIGEST_LEN))
			return false;
		c->again++;
		h->d.drops->n[WEFT_DROP_HANDSHAKE_CONFIRM_AGAIN]++;
		weft_egress_keepalive(h->d.egress, container_of(s->set, struct weft_peer, sessions),
				      now);
		return true;
	}
	return false;
}

static void handle_confirm(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			   const struct weft_udp_dgram *dg, uint64_t now)
{
	struct weft_index_entry *e = weft_index_lookup(h->d.index, msg->receiver_index,
						       WEFT_INDEX_RESPONSE);
	struct pending *pd = e ? container_of(e, struct pending, entry) : NULL;
	const struct weft_handshake_identity *id;
	uint8_t remote[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN], from[WEFT_SOCKADDR_STRLEN];
	struct weft_peer *p;
	int ret;

	if (!pd) {
		if (!confirm_again(h, msg, now))
			h->d.drops->n[WEFT_DROP_UNKNOWN_INDEX]++;
		return;
	}
	weft_sockaddr_format(from, dg->src);
	ret = weft_handshake_read_confirm(pd->hs, msg->body, msg->body_len, err);
	if (ret < 0) {
		count_refusal(h, ret);
		/* The HELLO's identity record is still there: who it claims to be. */
		id = weft_handshake_remote_identity(pd->hs);
		p = id ? weft_peers_find_name(h->d.peers, id->nickname) : NULL;
		if (source_may_log(h, dg->src, LOG_INFO, now))
			weft_log_peer_ratelimited(&h->log_rl, now, LOG_INFO, p ? p->name : NULL,
						  from, "CONFIRM from %s (%s) refused: %s (%s)",
						  from, id ? id->nickname : "?", refusal_class(ret),
						  err);
		return;
	}
	id = weft_handshake_remote_identity(pd->hs);
	if (weft_handshake_remote_static(pd->hs, remote) < 0 || !id) {
		pending_drop(h, pd);
		return;
	}
	p = NULL;
	ret = check_ban(h, remote, err);
	if (ret == 0)
		ret = weft_peers_identify(h->d.peers, remote, h->d.identity->public_key,
					  id->nickname, dg->src, &p, err);
	if (ret == 0)
		ret = weft_handshake_check_pin(p && p->has_pin ? p->pin : NULL,
					       h->d.cfg->require_pinned_keys, remote, err);
	if (ret < 0) {
		h->d.drops->n[WEFT_DROP_HANDSHAKE_REFUSED]++;
		if (source_may_log(h, dg->src, LOG_WARNING, now))
			weft_log_peer_ratelimited(&h->log_rl, now, LOG_WARNING, p ? p->name : NULL,
						  from, "%s%s (%s at %s) refused: %s",
						  p ? "peer " : "", p ? p->name : "unknown member",
						  id->nickname, from, err);
		pending_drop(h, pd);
		return;
	}
	if (!p) {
		p = weft_peers_add_member(h->d.peers, id->nickname, WEFT_PEER_FROM_HANDSHAKE);
		if (!p) {
			h->d.drops->n[WEFT_DROP_HANDSHAKE_MEMBERS_FULL]++;
			if (source_may_log(h, dg->src, LOG_WARNING, now))
				weft_log_peer_ratelimited(
				    &h->log_rl, now, LOG_WARNING, NULL, from,
				    "new member %s at %s refused: %u members known already "
				    "(max_learned_members)",
				    id->nickname, from, weft_peers_count_members(h->d.peers));
			pending_drop(h, pd);
			return;
		}
		/* A member can make up identities: the line is rate-limited
		 * like every other one a remote host triggers. */
		weft_log_peer_ratelimited(&h->log_rl, now, LOG_INFO, p->name, from,
					  "new member %s at %s", id->nickname, from);
		/* Its CONFIRM is its first authenticated datagram: the clock for
		 * forget_member_after starts now, not at the epoch. */
		p->last_rx_ms = now;
	}
	weft_peer_learn_key(p, remote);
	weft_peer_set_endpoint(p, dg->src, &dg->local);
	/* Its HELLO's stamp is its bar from now on: a HELLO is bound to the
	 * static key only by this CONFIRM. */
	if (weft_freshness_confirm(&h->fresh, remote, id->nickname, pd->stamp_ms) == 0)
		h->stamps_dirty = true;
	if (install_session(h, p, pd->hs, &pd->entry, true, now) < 0) {
		weft_peer_log(LOG_WARNING, p, "peer %s: could not install the new session",
			      p->name);
		pending_drop(h, pd);
		return;
	}
	/* The index now belongs to the session. */
	weft_handshake_free(pd->hs);
	memset(pd, 0, sizeof(*pd));
	/* Our own handshake toward it is moot now. */
	weft_peer_end_initiation(h->d.peers, p);
	/* The initiator holds this session as unconfirmed until something
	 * arrives on it: answer at once, and again should the same CONFIRM
	 * come again (that answer was lost). */
	weft_egress_keepalive(h->d.egress, p, now);
	remember_confirm(h, p->sessions.current, msg, now);
}

/* Another protocol version's handshake: counted, and named to the operator
 * (a host left behind by an upgrade keeps knocking). */
static void refuse_version(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			   const struct weft_udp_dgram *dg, uint64_t now)
{
	char from[WEFT_SOCKADDR_STRLEN];

	h->d.drops->n[WEFT_DROP_HANDSHAKE_VERSION]++;
	if (!source_may_log(h, dg->src, LOG_WARNING, now))
		return;
	weft_sockaddr_format(from, dg->src);
	weft_log_peer_ratelimited(&h->log_rl, now, LOG_WARNING, NULL, from,
				  "handshake from %s refused: it speaks weft protocol version %u, "
				  "this host version %u (upgrade every member of the network)",
				  from, msg->version, WEFT_WIRE_VERSION);
}

void weft_handshakes_receive(struct weft_handshakes *h, const struct weft_wire_msg *msg,
			     const struct weft_udp_dgram *dg, uint64_t now)
{
	if (msg->version != WEFT_WIRE_VERSION) {
		refuse_version(h, msg, dg, now);
		return;
	}
	switch (msg->type) {
	case WEFT_WIRE_HELLO:
		handle_hello(h, msg, dg, now);
		break;
	case WEFT_WIRE_WELCOME:
		handle_welcome(h, msg, dg, now);
		break;
	case WEFT_WIRE_CONFIRM:
		handle_confirm(h, msg, dg, now);
		break;
	case WEFT_WIRE_COOKIE:
		handle_cookie(h, msg, dg, now);
		break;
	default:
		h->d.drops->n[WEFT_DROP_GARBAGE]++;
	}
}

/* ---- timers ---------------------------------------------------------------------- */

void weft_handshakes_start(struct weft_handshakes *h, uint64_t now)
{
	struct weft_peer *p;

	weft_peers_foreach(h->d.peers, p) if (weft_sockaddr_is_set(&p->endpoint)) initiate(h, p, now);
}

static void peer_tick(struct weft_handshakes *h, struct weft_peer *p, uint64_t now)
{
	struct weft_initiation *in = &p->init;
	struct weft_session *next = p->sessions.next;

	if (in->hs && now - in->sent_ms >= HANDSHAKE_TIMEOUT_MS) {
		weft_peer_log(LOG_DEBUG, p, "peer %s: handshake unanswered", p->name);
		weft_peer_end_initiation(h->d.peers, p);
		attempt_failed(h, p, FAIL_UNANSWERED, now);
	}
	/* Our new session never carried anything back: its CONFIRM was lost or
	 * refused, and a peer that does not know our address would never start
	 * over. Treat the handshake as failed. */
	if (next && next->rx_packets == 0 && now - next->created_ms >= HANDSHAKE_TIMEOUT_MS) {
		weft_peer_log(LOG_INFO, p,
			      "peer %s: new session never confirmed; handshaking again", p->name);
		weft_session_set_drop_next(&p->sessions);
		attempt_failed(h, p, FAIL_UNCONFIRMED, now);
	}
	if (!weft_sockaddr_is_set(&p->endpoint) || now < in->next_ms)
		return;
	if (in->hs) {
		send_again(h, p, "HELLO", now);
		return;
	}
	if (confirm_waits(p)) {
		send_again(h, p, "CONFIRM", now);
		return;
	}
	/* No session, one due for rekeying, or a peer gone quiet (it may have
	 * restarted and lost its sessions). */
	if (weft_session_set_needs_rekey(&p->sessions, now) ||
	    (weft_peer_silent(h->d.peers, p, now) && p->last_rx_ms))
		initiate(h, p, now);
}

void weft_handshakes_tick(struct weft_handshakes *h, uint64_t now)
{
	struct weft_peer *p;

	weft_peers_foreach(h->d.peers, p) peer_tick(h, p, now);
	if (h->stamps_dirty && now - h->stamps_saved_ms >= STAMPS_SAVE_MS)
		stamps_save(h, now);
}

void weft_handshakes_kick(struct weft_handshakes *h, struct weft_peer *p, uint64_t now)
{
	struct weft_initiation *in = &p->init;

	if (in->kicked_ms && now - in->kicked_ms < KICK_INTERVAL_MS)
		return;
	in->kicked_ms = now;
	in->tries = 0;
	in->next_ms = now;
	peer_tick(h, p, now);
}

void weft_handshakes_want(struct weft_handshakes *h, struct weft_peer *p, uint64_t now)
{
	struct weft_initiation *in = &p->init;

	/* One in flight has its own tries; the timer is not reset, so frames
	 * for a peer that stays gone cost one HELLO per handshake timeout. */
	if (in->hs || now < in->want_ms || !weft_sockaddr_is_set(&p->endpoint) ||
	    confirm_waits(p))
		return;
	in->want_ms = now + WANT_INTERVAL_MS;
	weft_peer_log(LOG_DEBUG, p, "peer %s: frames wait for it; handshaking now", p->name);
	initiate(h, p, now);
}
