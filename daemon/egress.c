/* SPDX-License-Identifier: MIT */
/* Egress. Each peer slot has a send batch; records are written straight into
 * the open datagram of that batch, which is sealed in place when full or at
 * the flush. Full means the peer's path MTU (common/pmtu.c), not our own
 * interface's: records that each fit a smaller path must not add up to a
 * datagram it drops. Peers with something to send this wakeup are on the dirty list,
 * so a flush visits only them. A queue remembers which peer (by serial) it
 * was filled for: a slot taken over by another peer starts empty. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "common/pmtu.h"
#include "common/session.h"
#include "common/wire.h"
#include "daemon/egress.h"
#include "daemon/log.h"
#include "daemon/peers.h"
#include "daemon/udp.h"

#define BATCH_DATAGRAMS 64

struct queue {
	uint64_t serial;	     /* the peer this queue holds datagrams for */
	struct weft_udp_batch *batch; /* NULL until the slot first sends */
	uint8_t *dgram;		     /* the open datagram, or NULL */
	struct weft_wire_writer writer; /* its records: cap + DATA overhead is its largest size */
	bool dirty;
};

struct weft_egress {
	struct weft_udp *udp;
	struct weft_peers *peers;
	size_t max_datagram;
	struct queue *queues; /* by peer id */
	uint32_t *dirty;      /* ids with a queue to flush */
	unsigned n_dirty;
};

int weft_egress_new(struct weft_egress **out, struct weft_udp *udp, struct weft_peers *peers,
		    size_t max_datagram, char err[static WEFT_ERRLEN])
{
	struct weft_egress *e = calloc(1, sizeof(*e));

	*out = NULL;
	if (!e || !(e->queues = calloc(peers->max, sizeof(*e->queues))) ||
	    !(e->dirty = calloc(peers->max, sizeof(*e->dirty)))) {
		weft_egress_free(e);
		snprintf(err, WEFT_ERRLEN, "out of memory for the egress queues");
		return -ENOMEM;
	}
	e->udp = udp;
	e->peers = peers;
	e->max_datagram = max_datagram;
	*out = e;
	return 0;
}

void weft_egress_free(struct weft_egress *e)
{
	if (!e)
		return;
	if (e->queues)
		for (unsigned i = 0; i < e->peers->max; i++)
			weft_udp_batch_free(e->queues[i].batch);
	free(e->queues);
	free(e->dirty);
	free(e);
}

/* @p's queue, emptied first if it still holds another peer's datagrams. */
static struct queue *queue_of(struct weft_egress *e, const struct weft_peer *p)
{
	struct queue *q = &e->queues[p->id];

	if (q->serial != p->serial) {
		q->serial = p->serial;
		q->dgram = NULL;
		if (q->batch)
			weft_udp_batch_clear(q->batch);
	}
	return q;
}

static void send_batch(struct weft_egress *e, struct weft_peer *p, struct queue *q)
{
	struct weft_udp_sent sent;
	unsigned n;

	if (!q->batch || (n = weft_udp_batch_count(q->batch)) == 0)
		return;
	if (!weft_sockaddr_is_set(&p->endpoint)) {
		/* Cannot happen for data (can_send checks it): drop the batch. */
		p->drops[WEFT_PEER_DROP_SEND] += n;
		weft_udp_batch_clear(q->batch);
		return;
	}
	(void)weft_udp_flush(e->udp, q->batch, &p->endpoint, &p->local, &sent);
	p->drops[WEFT_PEER_DROP_SEND] += sent.dropped;
	/* The kernel learned a smaller path than ours: daemon/paths.c searches
	 * again at its next tick. */
	if (sent.too_big_size && (!p->refused_size || sent.too_big_size < p->refused_size))
		p->refused_size = sent.too_big_size;
	/* The address the peer wrote to is gone: the batch went from the
	 * kernel's choice, and so does what follows; the peer follows us. */
	if (sent.source_lost)
		memset(&p->local, 0, sizeof(p->local));
}

static void mark_dirty(struct weft_egress *e, const struct weft_peer *p, struct queue *q)
{
	if (!q->dirty) {
		q->dirty = true;
		e->dirty[e->n_dirty++] = p->id;
	}
}

/* A datagram of at most @cap bytes. */
static int open_dgram(struct weft_egress *e, struct weft_peer *p, struct queue *q, size_t cap)
{
	size_t room;

	if (!q->batch && weft_udp_batch_new(&q->batch, BATCH_DATAGRAMS, e->max_datagram) < 0)
		return -ENOMEM;
	q->dgram = weft_udp_batch_reserve(q->batch, &room);
	if (!q->dgram) {
		send_batch(e, p, q);
		q->dgram = weft_udp_batch_reserve(q->batch, &room);
		if (!q->dgram)
			return -ENOBUFS;
	}
	weft_wire_writer_init(&q->writer, q->dgram + WEFT_WIRE_DATA_HEADER_LEN,
			      (room < cap ? room : cap) - WEFT_WIRE_DATA_OVERHEAD);
	mark_dirty(e, p, q);
	return 0;
}

static void seal_dgram(struct weft_peer *p, struct queue *q, uint64_t now)
{
	struct weft_session *s;
	size_t out_len;
	int ret;

	if (!q->dgram)
		return;
	s = weft_session_set_send(&p->sessions, now);
	if (!s) {
		p->drops[WEFT_PEER_DROP_NO_SESSION]++;
		q->dgram = NULL;
		return;
	}
	ret = weft_session_seal(s, q->dgram, q->writer.len, now, &out_len);
	q->dgram = NULL;
	if (ret < 0) {
		p->drops[WEFT_PEER_DROP_SEAL]++;
		return;
	}
	weft_udp_batch_commit(q->batch, out_len);
	p->count.tx_packets++;
	p->count.tx_bytes += out_len;
	p->last_tx_ms = now;
	if (out_len > p->sent_largest)
		p->sent_largest = out_len;
}

/* A record in a datagram of at most @cap bytes toward @p. */
static int reserve_in(struct weft_egress *e, struct weft_peer *p, uint8_t kind, size_t len,
		      uint8_t **body, size_t cap, uint64_t now)
{
	struct queue *q = queue_of(e, p);
	int ret;

	/* Opened for a larger path (a probe, or before the path shrank). */
	if (q->dgram && q->writer.cap + WEFT_WIRE_DATA_OVERHEAD > cap)
		seal_dgram(p, q, now);
	if (!q->dgram && (ret = open_dgram(e, p, q, cap)) < 0)
		goto drop;
	ret = weft_wire_writer_reserve(&q->writer, kind, len, body);
	if (ret == -ENOBUFS) {
		seal_dgram(p, q, now);
		if ((ret = open_dgram(e, p, q, cap)) < 0)
			goto drop;
		ret = weft_wire_writer_reserve(&q->writer, kind, len, body);
	}
	if (ret == 0)
		return 0;
drop:
	p->drops[WEFT_PEER_DROP_SEND]++;
	return ret;
}

int weft_egress_reserve(struct weft_egress *e, struct weft_peer *p, uint8_t kind, size_t len,
			uint8_t **body, uint64_t now)
{
	return reserve_in(e, p, kind, len, body, weft_pmtu_datagram_max(&p->pmtu, e->max_datagram),
			  now);
}

void weft_egress_keepalive(struct weft_egress *e, struct weft_peer *p, uint64_t now)
{
	uint8_t *body;

	if (weft_egress_reserve(e, p, WEFT_WIRE_REC_KEEPALIVE, 0, &body, now) == 0)
		seal_dgram(p, &e->queues[p->id], now);
}

int weft_egress_probe(struct weft_egress *e, struct weft_peer *p, size_t size, uint32_t probe_id,
		      uint64_t now)
{
	struct queue *q = queue_of(e, p);
	uint8_t *body;
	size_t len, largest;

	if (size < WEFT_WIRE_OVERHEAD + WEFT_PMTU_PROBE_MIN_LEN || size > e->max_datagram)
		return -EINVAL;
	len = size - WEFT_WIRE_OVERHEAD;
	/* Alone in its datagram, which may be larger than the path in use:
	 * close the open one first. */
	seal_dgram(p, q, now);
	/* A probe is not traffic: counted as such, the confirmations of the
	 * path it checks would never stop. */
	largest = p->sent_largest;
	if (reserve_in(e, p, WEFT_WIRE_REC_PROBE, len, &body, size, now) < 0)
		return -ENOBUFS;
	weft_put_be32(body, probe_id);
	memset(body + 4, 0, len - 4);
	seal_dgram(p, q, now);
	p->sent_largest = largest;
	return 0;
}

void weft_egress_flush(struct weft_egress *e, uint64_t now)
{
	for (unsigned i = 0; i < e->n_dirty; i++) {
		struct weft_peer *p = weft_peers_get(e->peers, e->dirty[i]);
		struct queue *q = &e->queues[e->dirty[i]];

		q->dirty = false;
		/* A peer removed since it queued: its datagrams go with it. */
		if (!p || p->serial != q->serial) {
			q->dgram = NULL;
			weft_udp_batch_clear(q->batch);
			continue;
		}
		seal_dgram(p, q, now);
		send_batch(e, p, q);
	}
	e->n_dirty = 0;
}

void weft_egress_tick(struct weft_egress *e, uint64_t keepalive_ms, uint64_t now)
{
	struct weft_peer *p;

	weft_peers_foreach(e->peers, p)
	{
		if (weft_peer_can_send(p, now) && now - p->last_tx_ms >= keepalive_ms)
			weft_egress_keepalive(e, p, now);
	}
	weft_egress_flush(e, now);
}
