/* SPDX-License-Identifier: MIT */
/* The MEMBERS record (docs/protocol.md, section 13.3) and the OBSERVED record
 * (section 13.9), which shares its address encoding. One parser, parse_entry(),
 * serves both the check of a whole body and the reader that walks a checked
 * one, so the two cannot disagree on where an entry ends. The writer checks an
 * entry as strictly as the parser would, measures it and only then writes it:
 * a refused or oversized entry leaves the record as it was. Addresses cross
 * the wire as family (4 or 6), address, port, all big-endian; in memory they
 * are union weft_sockaddr with the port in network order. An IPv6 scope id is
 * not carried (it has no meaning on another host). */
#include <config.h> /* autoconf's, not common/config.h */

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "common/gossip.h"
#include "common/handshake.h"

#define FAMILY_4    4
#define FAMILY_6    6
#define ADDR4_WIRE  (1 + 4 + 2)
#define ADDR6_WIRE  (1 + 16 + 2)
#define SEQ_OFF	    WEFT_KEY_LEN
#define NICKLEN_OFF (WEFT_KEY_LEN + 8)

_Static_assert(WEFT_GOSSIP_ENTRY_MIN_LEN == 44, "key, seq, nickname length, counts");
_Static_assert(WEFT_GOSSIP_MAX_LINKS <= UINT16_MAX, "a link count fits its 2 bytes");

_Static_assert(WEFT_GOSSIP_NICK_MAX == WEFT_HANDSHAKE_NICK_MAX, "one nickname rule");

/* One address at @p (@left bytes): its wire length, or 0 when malformed. */
static size_t parse_addr(const uint8_t *p, size_t left, union weft_sockaddr *out)
{
	size_t need;

	if (left < 1)
		return 0;
	if (p[0] == FAMILY_4)
		need = ADDR4_WIRE;
	else if (p[0] == FAMILY_6)
		need = ADDR6_WIRE;
	else
		return 0;
	if (left < need || weft_get_be16(p + need - 2) == 0)
		return 0;
	if (!out)
		return need;
	memset(out, 0, sizeof(*out));
	if (p[0] == FAMILY_4) {
		out->in4.sin_family = AF_INET;
		memcpy(&out->in4.sin_addr, p + 1, 4);
		out->in4.sin_port = htons(weft_get_be16(p + 5));
	} else {
		out->in6.sin6_family = AF_INET6;
		memcpy(&out->in6.sin6_addr, p + 1, 16);
		out->in6.sin6_port = htons(weft_get_be16(p + 17));
	}
	return need;
}

/* One entry at @p (@left bytes): its length, or 0 when it is malformed or
 * runs past @left. Fills @e when not NULL. */
static size_t parse_entry(const uint8_t *p, size_t left, struct weft_gossip_entry *e)
{
	size_t off, nlen, step;
	unsigned n_addrs, n_links;

	if (left < WEFT_GOSSIP_ENTRY_MIN_LEN)
		return 0;
	nlen = p[NICKLEN_OFF];
	off = NICKLEN_OFF + 1;
	/* nickname and the address count byte */
	if (left - off < nlen + 1 || !weft_handshake_nick_valid((const char *)p + off, nlen) ||
	    weft_get_be64(p + SEQ_OFF) > WEFT_GOSSIP_SEQ_MAX)
		return 0;
	if (e) {
		e->key = p;
		e->seq = weft_get_be64(p + SEQ_OFF);
		memcpy(e->nickname, p + off, nlen);
		e->nickname[nlen] = '\0';
	}
	off += nlen;
	n_addrs = p[off++];
	if (n_addrs > WEFT_GOSSIP_MAX_ADDRS)
		return 0;
	for (unsigned i = 0; i < n_addrs; i++) {
		step = parse_addr(p + off, left - off, e ? &e->addrs[i] : NULL);
		if (!step)
			return 0;
		off += step;
	}
	if (left - off < 2)
		return 0;
	n_links = weft_get_be16(p + off);
	off += 2;
	if (n_links > WEFT_GOSSIP_MAX_LINKS || left - off < (size_t)n_links * WEFT_GOSSIP_ID_LEN)
		return 0;
	if (e) {
		e->n_addrs = n_addrs;
		e->n_links = n_links;
		e->links = p + off;
	}
	return off + (size_t)n_links * WEFT_GOSSIP_ID_LEN;
}

int weft_gossip_check(const uint8_t *body, size_t len)
{
	size_t off = WEFT_GOSSIP_RECORD_HDR_LEN, step;
	unsigned count;

	if (len < 1)
		return -EINVAL;
	if (body[0] != WEFT_GOSSIP_FORMAT)
		return -EPROTONOSUPPORT;
	if (len < WEFT_GOSSIP_RECORD_HDR_LEN || body[1] == 0)
		return -EINVAL;
	count = body[1];
	for (unsigned i = 0; i < count; i++) {
		step = parse_entry(body + off, len - off, NULL);
		if (!step)
			return -EINVAL;
		off += step;
	}
	return off == len ? (int)count : -EINVAL;
}

void weft_gossip_reader_init(struct weft_gossip_reader *r, const uint8_t *body, size_t len)
{
	if (len < WEFT_GOSSIP_RECORD_HDR_LEN) {
		r->pos = body;
		r->left = 0;
		r->remaining = 0;
		return;
	}
	r->pos = body + WEFT_GOSSIP_RECORD_HDR_LEN;
	r->left = len - WEFT_GOSSIP_RECORD_HDR_LEN;
	r->remaining = body[1];
}

bool weft_gossip_reader_next(struct weft_gossip_reader *r, struct weft_gossip_entry *e)
{
	size_t step;

	if (r->remaining == 0)
		return false;
	memset(e, 0, sizeof(*e));
	step = parse_entry(r->pos, r->left, e);
	if (!step) {
		/* Only a body weft_gossip_check() refused gets here: stop. */
		r->remaining = 0;
		return false;
	}
	r->pos += step;
	r->left -= step;
	r->remaining--;
	return true;
}

static size_t addr_len(const union weft_sockaddr *a)
{
	return a->sa.sa_family == AF_INET ? ADDR4_WIRE : ADDR6_WIRE;
}

size_t weft_gossip_entry_len(const struct weft_gossip_entry *e)
{
	size_t len = WEFT_GOSSIP_ENTRY_MIN_LEN + strnlen(e->nickname, sizeof(e->nickname));
	unsigned n_addrs = e->n_addrs < WEFT_GOSSIP_MAX_ADDRS ? e->n_addrs : WEFT_GOSSIP_MAX_ADDRS;

	for (unsigned i = 0; i < n_addrs; i++)
		len += addr_len(&e->addrs[i]);
	return len + (size_t)e->n_links * WEFT_GOSSIP_ID_LEN;
}

static bool entry_valid(const struct weft_gossip_entry *e)
{
	if (!e->key ||
	    !weft_handshake_nick_valid(e->nickname, strnlen(e->nickname, sizeof(e->nickname))) ||
	    e->seq > WEFT_GOSSIP_SEQ_MAX)
		return false;
	if (e->n_addrs > WEFT_GOSSIP_MAX_ADDRS || e->n_links > WEFT_GOSSIP_MAX_LINKS ||
	    (e->n_links && !e->links))
		return false;
	for (unsigned i = 0; i < e->n_addrs; i++) {
		const union weft_sockaddr *a = &e->addrs[i];

		if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)
			return false;
		if (weft_sockaddr_port(a) == 0)
			return false;
	}
	return true;
}

static uint8_t *put_addr(uint8_t *p, const union weft_sockaddr *a)
{
	if (a->sa.sa_family == AF_INET) {
		*p++ = FAMILY_4;
		memcpy(p, &a->in4.sin_addr, 4);
		p += 4;
	} else {
		*p++ = FAMILY_6;
		memcpy(p, &a->in6.sin6_addr, 16);
		p += 16;
	}
	weft_put_be16(p, weft_sockaddr_port(a));
	return p + 2;
}

void weft_gossip_writer_init(struct weft_gossip_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = WEFT_GOSSIP_RECORD_HDR_LEN; /* the header, written with each entry */
	w->count = 0;
}

int weft_gossip_writer_add(struct weft_gossip_writer *w, const struct weft_gossip_entry *e)
{
	size_t need, nlen;
	uint8_t *p;

	if (!entry_valid(e))
		return -EINVAL;
	need = weft_gossip_entry_len(e);
	if (w->count >= WEFT_GOSSIP_MAX_ENTRIES || w->cap < w->len || need > w->cap - w->len)
		return -ENOBUFS;
	p = w->buf + w->len;
	memcpy(p, e->key, WEFT_KEY_LEN);
	weft_put_be64(p + SEQ_OFF, e->seq);
	nlen = strnlen(e->nickname, sizeof(e->nickname));
	p[NICKLEN_OFF] = (uint8_t)nlen;
	p += NICKLEN_OFF + 1;
	memcpy(p, e->nickname, nlen);
	p += nlen;
	*p++ = (uint8_t)e->n_addrs;
	for (unsigned i = 0; i < e->n_addrs; i++)
		p = put_addr(p, &e->addrs[i]);
	weft_put_be16(p, (uint16_t)e->n_links);
	p += 2;
	if (e->n_links)
		memcpy(p, e->links, (size_t)e->n_links * WEFT_GOSSIP_ID_LEN);
	w->len += need;
	w->count++;
	w->buf[0] = WEFT_GOSSIP_FORMAT;
	w->buf[1] = (uint8_t)w->count;
	return 0;
}

size_t weft_gossip_writer_finish(struct weft_gossip_writer *w)
{
	return w->count ? w->len : 0;
}

size_t weft_gossip_observed_encode(uint8_t buf[static WEFT_OBSERVED_MAX_LEN],
				   const union weft_sockaddr *a)
{
	if ((a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6) ||
	    weft_sockaddr_port(a) == 0)
		return 0;
	buf[0] = WEFT_OBSERVED_FORMAT;
	return (size_t)(put_addr(buf + 1, a) - buf);
}

int weft_gossip_observed_parse(const uint8_t *body, size_t len, union weft_sockaddr *out)
{
	size_t step;

	if (len < 1)
		return -EINVAL;
	if (body[0] != WEFT_OBSERVED_FORMAT)
		return -EPROTONOSUPPORT;
	step = parse_addr(body + 1, len - 1, out);
	return step != 0 && step == len - 1 ? 0 : -EINVAL;
}
