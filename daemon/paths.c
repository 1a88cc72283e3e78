/* SPDX-License-Identifier: MIT */
/* Path MTU per peer. The search itself is common/pmtu.c; here it is started
 * when a peer first has a session, fed with the clock, and its probes go out
 * through the egress. A path whose MTU is below the interface's then caps the
 * frames toward that peer (daemon/router.c answers bigger ones). */
#include "config.h"

#include <sodium.h>

#include "common/frame.h"
#include "common/handshake.h"
#include "common/pmtu.h"
#include "common/relay.h"
#include "common/wire.h"
#include "daemon/egress.h"
#include "daemon/log.h"
#include "daemon/paths.h"
#include "daemon/peers.h"

/* A search ends on an answer, a timeout or a refused send alike. */
static void log_change(const struct weft_peer *p, size_t was)
{
	if (p->pmtu.mtu != was)
		log_info("peer %s: path MTU %zu bytes (overlay MTU %zu)", p->name, p->pmtu.mtu,
			 weft_path_frame_max(p, SIZE_MAX) - WEFT_FRAME_HDR_LEN);
}

void weft_paths_tick(struct weft_peers *ps, struct weft_egress *e, size_t max_datagram,
		     uint64_t now)
{
	struct weft_peer *p;

	weft_peers_foreach(ps, p)
	{
		size_t was = p->pmtu.mtu, size;
		uint64_t black_holes;
		uint32_t id;

		/* A relay's word ages like a probed size: after it, the frames
		 * go at our own path's size again, and the relay answers again
		 * if its path on is still smaller. */
		if (p->relay_frame_max && now >= p->relay_limit_until_ms)
			p->relay_frame_max = 0;

		if (!(p->capabilities & WEFT_HANDSHAKE_CAP_MESH) || !weft_peer_can_send(p, now))
			continue;
		if (!p->pmtu.ceiling)
			weft_pmtu_init(&p->pmtu, max_datagram, p->endpoint.sa.sa_family == AF_INET6,
				       randombytes_random());
		if (p->refused_size) {
			weft_pmtu_refused(&p->pmtu, p->refused_size, now);
			p->refused_size = 0;
		}
		weft_pmtu_sent(&p->pmtu, p->sent_largest);
		p->sent_largest = 0;
		black_holes = p->pmtu.black_holes;
		size = weft_pmtu_next_probe(&p->pmtu, now, &id);
		if (p->pmtu.black_holes != black_holes) {
			p->count.path_black_holes++;
			weft_peer_log(LOG_WARNING, p,
				      "peer %s: datagrams of %zu bytes stopped getting through, "
				      "with no ICMP to say so; searching the path MTU again",
				      p->name, was);
		}
		if (size && weft_egress_probe(e, p, size, id, now) < 0)
			weft_pmtu_send_failed(&p->pmtu, now);
		log_change(p, was);
	}
}

void weft_paths_ack(struct weft_peer *p, uint32_t probe_id, uint16_t size, uint64_t now)
{
	size_t was = p->pmtu.mtu;

	(void)weft_pmtu_ack(&p->pmtu, probe_id, size, now);
	log_change(p, was);
}

size_t weft_path_frame_max(const struct weft_peer *p, size_t max_frame_len)
{
	/* SIZE_MAX: nothing probed yet, or a path too small to carry a frame
	 * at all (a ceiling below weft's own overhead): the interface's size. */
	size_t dgram = weft_pmtu_datagram_max(&p->pmtu, SIZE_MAX);

	if (dgram == SIZE_MAX || dgram - WEFT_WIRE_OVERHEAD > max_frame_len)
		return max_frame_len;
	return dgram - WEFT_WIRE_OVERHEAD;
}

size_t weft_path_frame_max_via(const struct weft_peer *p, const struct weft_peer *via,
			       size_t max_frame_len)
{
	size_t frame;

	if (!via)
		return weft_path_frame_max(p, max_frame_len);
	frame = weft_path_frame_max(via, max_frame_len) - WEFT_RELAY_HDR_LEN;
	/* The relay's own path on may be smaller than ours to it. */
	if (p->relay_frame_max && p->relay_limit_serial == via->serial &&
	    p->relay_frame_max < frame)
		frame = p->relay_frame_max;
	return frame;
}

void weft_paths_relay_limit(struct weft_peer *p, const struct weft_peer *relay, size_t frame_max,
			    uint64_t now)
{
	bool same = p->relay_frame_max && p->relay_limit_serial == relay->serial;

	if (same && frame_max >= p->relay_frame_max)
		return;
	weft_peer_log(LOG_INFO, p, "peer %s: relay %s passes frames of at most %zu bytes on to it",
		      p->name, relay->name, frame_max);
	p->relay_frame_max = frame_max;
	p->relay_limit_serial = relay->serial;
	p->relay_limit_until_ms = now + WEFT_PATHS_RELAY_LIMIT_MS;
}
