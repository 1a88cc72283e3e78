/* SPDX-License-Identifier: MIT */
/* The member table. Members live in their own allocations, reached through
 * one array of pointers sorted by member id: a lookup by id (a merge, every
 * edge of the route) is a binary search, an insertion moves pointers only, and
 * weft_members_at() walks the table in id order. A member's links are kept as
 * a set in canonical form, sorted by id without duplicates: two entries that
 * list the same members in another order have the same contents, a re-ordered
 * list of our own sessions does not bump our seq, and "does B list A" is a
 * binary search. The links of an incoming entry are put in that form in a
 * scratch array, so merging an unchanged entry allocates nothing; a member's
 * own array grows and shrinks by powers of two.
 *
 * Routes are a breadth-first search from ourselves. Our own links are our live
 * sessions, the first level; an edge between two stored members counts only
 * when each lists the other. Level 1 is queued in id order, so every later
 * level is queued in order of first hop too and a member is first reached
 * through its lowest first hop; the tie rule is applied explicitly anyway.
 * Each edge costs two binary searches: O(E log n) for E listed links. */
#include <config.h> /* autoconf's, not common/config.h */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/members.h"

#define ID_LEN WEFT_GOSSIP_ID_LEN

struct weft_members {
	struct weft_member own; /* links: room for WEFT_GOSSIP_MAX_LINKS, allocated once */
	unsigned max, n;
	struct weft_member **by_id; /* n members sorted by id, room for max */
	struct weft_member **queue; /* route()'s search, room for max */
	uint8_t (*scratch)[ID_LEN]; /* an incoming entry's links, WEFT_GOSSIP_MAX_LINKS */
	weft_members_policy policy;
	void *policy_ctx;
};

static int id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, ID_LEN);
}

static bool nick_valid(const char *s, size_t size)
{
	size_t len = strnlen(s, size);

	return len >= 1 && len <= WEFT_GOSSIP_NICK_MAX && len < size &&
	       strspn(s, WEFT_NAME_CHARS) == len;
}

/* The index of the member with id @id, or -1 and in *@pos where it would go. */
static long lookup(const struct weft_members *m, const uint8_t *id, unsigned *pos)
{
	unsigned lo = 0, hi = m->n;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;
		int c = memcmp(m->by_id[mid]->key, id, ID_LEN);

		if (c == 0)
			return mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (pos)
		*pos = lo;
	return -1;
}

static struct weft_member *by_id(const struct weft_members *m, const uint8_t *id)
{
	long i = lookup(m, id, NULL);

	return i < 0 ? NULL : m->by_id[i];
}

static bool lists(const struct weft_member *mem, const uint8_t *id)
{
	return mem->n_links && bsearch(id, mem->links, mem->n_links, ID_LEN, id_cmp);
}

/* Copies @n ids into @out sorted, without duplicates nor @except; returns how
 * many remain. */
static unsigned canon_links(uint8_t (*out)[ID_LEN], const void *in, unsigned n,
			    const uint8_t *except)
{
	unsigned k = 0;

	if (n == 0)
		return 0;
	memcpy(out, in, (size_t)n * ID_LEN);
	qsort(out, n, ID_LEN, id_cmp);
	for (unsigned i = 0; i < n; i++) {
		if (k && memcmp(out[k - 1], out[i], ID_LEN) == 0)
			continue;
		if (except && memcmp(out[i], except, ID_LEN) == 0)
			continue;
		if (k != i)
			memcpy(out[k], out[i], ID_LEN);
		k++;
	}
	return k;
}

/* Room allocated for @n links: 0, or a power of two of at least 4. */
static unsigned links_room(unsigned n)
{
	unsigned room = 4;

	if (n == 0)
		return 0;
	while (room < n)
		room *= 2;
	return room;
}

static bool same_addrs(const struct weft_member *mem, const union weft_sockaddr *addrs, unsigned n)
{
	if (mem->n_addrs != n)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (!weft_sockaddr_equal(&mem->addrs[i], &addrs[i]))
			return false;
	return true;
}

static bool same_links(const struct weft_member *mem, const uint8_t (*links)[ID_LEN], unsigned n)
{
	return mem->n_links == n && (n == 0 || memcmp(mem->links, links, (size_t)n * ID_LEN) == 0);
}

static bool same_contents(const struct weft_member *mem, const struct weft_gossip_entry *e,
			  const uint8_t (*links)[ID_LEN], unsigned n_links)
{
	return strcmp(mem->nickname, e->nickname) == 0 && same_addrs(mem, e->addrs, e->n_addrs) &&
	       same_links(mem, links, n_links);
}

static int store_links(struct weft_member *mem, const uint8_t (*links)[ID_LEN], unsigned n)
{
	unsigned room = links_room(n);

	if (room != links_room(mem->n_links)) {
		void *p = NULL;

		if (room) {
			p = realloc(mem->links, (size_t)room * ID_LEN);
			if (!p)
				return -ENOMEM;
		} else {
			free(mem->links);
		}
		mem->links = p;
	}
	if (n)
		memcpy(mem->links, links, (size_t)n * ID_LEN);
	mem->n_links = n;
	return 0;
}

static void store_addrs(struct weft_member *mem, const union weft_sockaddr *addrs, unsigned n)
{
	memset(mem->addrs, 0, sizeof(mem->addrs));
	memcpy(mem->addrs, addrs, (size_t)n * sizeof(addrs[0]));
	mem->n_addrs = n;
}

/* Replaces @mem's entry by @e, whose links are @links (canonical). */
static int store(struct weft_member *mem, const struct weft_gossip_entry *e,
		 const uint8_t (*links)[ID_LEN], unsigned n_links, uint64_t now)
{
	if (store_links(mem, links, n_links) < 0)
		return -ENOMEM;
	mem->seq = e->seq;
	memset(mem->nickname, 0, sizeof(mem->nickname));
	memcpy(mem->nickname, e->nickname, strlen(e->nickname));
	store_addrs(mem, e->addrs, e->n_addrs);
	mem->changed_ms = now;
	return 0;
}

static void member_free(struct weft_member *mem)
{
	if (!mem)
		return;
	free(mem->links);
	free(mem);
}

/* ---- the table ---------------------------------------------------------------- */

int weft_members_new(struct weft_members **out, const uint8_t own_key[static WEFT_KEY_LEN],
		     const char *own_nickname, unsigned max, weft_members_policy policy,
		     void *policy_ctx)
{
	struct weft_members *m;

	*out = NULL;
	if (!own_nickname || !nick_valid(own_nickname, WEFT_GOSSIP_NICK_MAX + 1) ||
	    max > WEFT_GOSSIP_MAX_LINKS)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->max = max;
	m->policy = policy;
	m->policy_ctx = policy_ctx;
	m->by_id = calloc(max ? max : 1, sizeof(*m->by_id));
	m->queue = calloc(max ? max : 1, sizeof(*m->queue));
	m->scratch = calloc(WEFT_GOSSIP_MAX_LINKS, ID_LEN);
	m->own.links = calloc(WEFT_GOSSIP_MAX_LINKS, ID_LEN);
	if (!m->by_id || !m->queue || !m->scratch || !m->own.links) {
		weft_members_free(m);
		return -ENOMEM;
	}
	memcpy(m->own.key, own_key, WEFT_KEY_LEN);
	strcpy(m->own.nickname, own_nickname);
	m->own.seq = 1;
	*out = m;
	return 0;
}

void weft_members_free(struct weft_members *m)
{
	if (!m)
		return;
	for (unsigned i = 0; i < m->n; i++)
		member_free(m->by_id[i]);
	free(m->by_id);
	free(m->queue);
	free(m->scratch);
	free(m->own.links);
	free(m);
}

/* ---- our own entry ------------------------------------------------------------ */

/* Only what can be sent: AF_INET or AF_INET6 with a port, without the scope
 * id or flow label, which mean nothing to another host. */
static bool own_addr(union weft_sockaddr *out, const union weft_sockaddr *a)
{
	if (!weft_sockaddr_is_set(a) || weft_sockaddr_port(a) == 0)
		return false;
	memset(out, 0, sizeof(*out));
	if (a->sa.sa_family == AF_INET) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = a->in4.sin_port;
		out->in4.sin_addr = a->in4.sin_addr;
	} else {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = a->in6.sin6_port;
		out->in6.sin6_addr = a->in6.sin6_addr;
	}
	return true;
}

bool weft_members_set_own(struct weft_members *m, const union weft_sockaddr *addrs,
			  unsigned n_addrs, const uint8_t (*links)[WEFT_GOSSIP_ID_LEN],
			  unsigned n_links, uint64_t now)
{
	union weft_sockaddr a[WEFT_GOSSIP_MAX_ADDRS];
	unsigned na = 0, nl;

	for (unsigned i = 0; i < n_addrs && na < WEFT_GOSSIP_MAX_ADDRS; i++)
		if (own_addr(&a[na], &addrs[i]))
			na++;
	if (n_links > WEFT_GOSSIP_MAX_LINKS)
		n_links = WEFT_GOSSIP_MAX_LINKS;
	nl = canon_links(m->scratch, links, n_links, m->own.key);
	if (same_addrs(&m->own, a, na) && same_links(&m->own, m->scratch, nl))
		return false;
	store_addrs(&m->own, a, na);
	if (nl)
		memcpy(m->own.links, m->scratch, (size_t)nl * ID_LEN);
	m->own.n_links = nl;
	if (m->own.seq < WEFT_GOSSIP_SEQ_MAX)
		m->own.seq++;
	m->own.changed_ms = now;
	return true;
}

static void member_entry(const struct weft_member *mem, struct weft_gossip_entry *e)
{
	e->key = mem->key;
	e->seq = mem->seq;
	memcpy(e->nickname, mem->nickname, sizeof(e->nickname));
	e->n_addrs = mem->n_addrs;
	memcpy(e->addrs, mem->addrs, sizeof(e->addrs));
	e->n_links = mem->n_links;
	e->links = mem->n_links ? mem->links[0] : NULL;
}

void weft_members_own(const struct weft_members *m, struct weft_gossip_entry *e)
{
	member_entry(&m->own, e);
}

/* ---- merge -------------------------------------------------------------------- */

/* What the parser guarantees; anything else is refused rather than trusted. */
static bool entry_sane(const struct weft_gossip_entry *e)
{
	return e->key && e->n_addrs <= WEFT_GOSSIP_MAX_ADDRS &&
	       e->n_links <= WEFT_GOSSIP_MAX_LINKS && (e->n_links == 0 || e->links) &&
	       nick_valid(e->nickname, sizeof(e->nickname));
}

static enum weft_members_merge merge_own(struct weft_members *m, const struct weft_gossip_entry *e,
					 uint64_t now)
{
	unsigned nl;

	if (e->seq < m->own.seq)
		return WEFT_MEMBERS_OWN_OLD;
	/* Our own entry coming back as we sent it is no news. */
	nl = canon_links(m->scratch, e->links, e->n_links, m->own.key);
	if (e->seq == m->own.seq && same_contents(&m->own, e, m->scratch, nl))
		return WEFT_MEMBERS_OWN_OLD;
	/* At the largest seq nothing can go past it: stay there, still announce
	 * (the codec refuses larger ones). */
	m->own.seq = e->seq < WEFT_GOSSIP_SEQ_MAX ? e->seq + 1 : WEFT_GOSSIP_SEQ_MAX;
	m->own.changed_ms = now;
	return WEFT_MEMBERS_OWN;
}

static enum weft_members_merge merge_known(struct weft_members *m, struct weft_member *mem,
					   const struct weft_gossip_entry *e, bool from_itself,
					   uint64_t now)
{
	unsigned nl;
	bool same;

	if (memcmp(mem->key, e->key, WEFT_KEY_LEN) != 0)
		return WEFT_MEMBERS_REFUSED; /* another key with this id */
	if (!from_itself && e->seq < mem->seq)
		return WEFT_MEMBERS_STALE;
	if (from_itself || e->seq == mem->seq) {
		nl = canon_links(m->scratch, e->links, e->n_links, NULL);
		same = e->seq == mem->seq && same_contents(mem, e, m->scratch, nl);
		if (same)
			return WEFT_MEMBERS_UNCHANGED;
		if (!from_itself)
			return WEFT_MEMBERS_CONFLICT;
	} else {
		nl = canon_links(m->scratch, e->links, e->n_links, NULL);
	}
	/* Out of memory: keep the entry we have, as when the table is full. */
	if (store(mem, e, m->scratch, nl, now) < 0)
		return WEFT_MEMBERS_FULL;
	return WEFT_MEMBERS_UPDATED;
}

static enum weft_members_merge merge_new(struct weft_members *m, const struct weft_gossip_entry *e,
					 unsigned pos, uint64_t now)
{
	struct weft_member *mem;
	unsigned nl;

	if (m->n >= m->max)
		return WEFT_MEMBERS_FULL;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return WEFT_MEMBERS_FULL;
	memcpy(mem->key, e->key, WEFT_KEY_LEN);
	nl = canon_links(m->scratch, e->links, e->n_links, NULL);
	if (store(mem, e, m->scratch, nl, now) < 0) {
		member_free(mem);
		return WEFT_MEMBERS_FULL;
	}
	memmove(&m->by_id[pos + 1], &m->by_id[pos], (size_t)(m->n - pos) * sizeof(m->by_id[0]));
	m->by_id[pos] = mem;
	m->n++;
	return WEFT_MEMBERS_NEW;
}

enum weft_members_merge weft_members_merge(struct weft_members *m,
					   const struct weft_gossip_entry *e,
					   const uint8_t from_key[static WEFT_KEY_LEN],
					   uint64_t now)
{
	unsigned pos = 0;
	long i;

	if (!entry_sane(e))
		return WEFT_MEMBERS_REFUSED;
	if (memcmp(e->key, m->own.key, WEFT_KEY_LEN) == 0)
		return merge_own(m, e, now);
	if (memcmp(e->key, m->own.key, ID_LEN) == 0)
		return WEFT_MEMBERS_REFUSED; /* our id, another key */
	if (m->policy && !m->policy(m->policy_ctx, e->key, e->nickname))
		return WEFT_MEMBERS_REFUSED;
	i = lookup(m, e->key, &pos);
	if (i >= 0)
		return merge_known(m, m->by_id[i], e, memcmp(e->key, from_key, WEFT_KEY_LEN) == 0,
				   now);
	return merge_new(m, e, pos, now);
}

/* ---- lookups ------------------------------------------------------------------ */

const struct weft_member *weft_members_find(const struct weft_members *m,
					    const uint8_t key[static WEFT_KEY_LEN])
{
	const struct weft_member *mem = by_id(m, key);

	return mem && memcmp(mem->key, key, WEFT_KEY_LEN) == 0 ? mem : NULL;
}

const struct weft_member *weft_members_find_id(const struct weft_members *m,
					       const uint8_t id[static WEFT_GOSSIP_ID_LEN])
{
	return by_id(m, id);
}

unsigned weft_members_count(const struct weft_members *m)
{
	return m->n;
}

const struct weft_member *weft_members_at(const struct weft_members *m, unsigned i)
{
	return i < m->n ? m->by_id[i] : NULL;
}

/* ---- routes ------------------------------------------------------------------- */

void weft_members_route(struct weft_members *m, uint64_t now)
{
	unsigned head = 0, tail = 0;

	for (unsigned i = 0; i < m->n; i++)
		m->by_id[i]->hops = 0; /* 0: not reached (yet) */
	/* Our own links are sorted by id: level 1 is queued in first-hop order. */
	for (unsigned i = 0; i < m->own.n_links; i++) {
		struct weft_member *v = by_id(m, m->own.links[i]);

		if (!v || v->hops)
			continue;
		v->hops = 1;
		memcpy(v->next_hop, v->key, ID_LEN);
		m->queue[tail++] = v;
	}
	while (head < tail) {
		const struct weft_member *u = m->queue[head++];

		for (unsigned j = 0; j < u->n_links; j++) {
			struct weft_member *v = by_id(m, u->links[j]);

			if (!v || v == u || !lists(v, u->key))
				continue;
			if (!v->hops) {
				v->hops = u->hops + 1;
				memcpy(v->next_hop, u->next_hop, ID_LEN);
				m->queue[tail++] = v;
			} else if (v->hops == u->hops + 1 &&
				   memcmp(u->next_hop, v->next_hop, ID_LEN) < 0) {
				memcpy(v->next_hop, u->next_hop, ID_LEN);
			}
		}
	}
	for (unsigned i = 0; i < m->n; i++) {
		struct weft_member *v = m->by_id[i];

		v->reachable = v->hops > 0;
		if (v->reachable) {
			v->unreachable_since_ms = 0;
			continue;
		}
		memset(v->next_hop, 0, ID_LEN);
		/* 0 means "not marked": a route() at time 0 leaves the mark to the next. */
		if (!v->unreachable_since_ms)
			v->unreachable_since_ms = now;
	}
}

unsigned weft_members_expire(struct weft_members *m, uint64_t now)
{
	unsigned kept = 0, gone;

	for (unsigned i = 0; i < m->n; i++) {
		struct weft_member *v = m->by_id[i];

		/* A clock that steps back makes nobody expire. */
		if (!v->reachable && v->unreachable_since_ms && now >= v->unreachable_since_ms &&
		    now - v->unreachable_since_ms >= WEFT_MEMBERS_UNREACHABLE_MS)
			member_free(v);
		else
			m->by_id[kept++] = v;
	}
	gone = m->n - kept;
	m->n = kept;
	return gone;
}

bool weft_members_remove(struct weft_members *m, const uint8_t key[static WEFT_KEY_LEN])
{
	long found = lookup(m, key, NULL);
	unsigned pos = (unsigned)found;

	if (found < 0)
		return false;
	member_free(m->by_id[pos]);
	memmove(&m->by_id[pos], &m->by_id[pos + 1], (m->n - pos - 1) * sizeof(*m->by_id));
	m->n--;
	return true;
}

/* ---- gossip out --------------------------------------------------------------- */

/* Adds @mem to @w; an entry too big for an empty record goes with as many of
 * its links as fit. -ENOBUFS when it does not fit @w as it is. */
static int add_member(struct weft_gossip_writer *w, const struct weft_member *mem)
{
	struct weft_gossip_entry e;
	size_t base;
	int r;

	member_entry(mem, &e);
	r = weft_gossip_writer_add(w, &e);
	if (r != -ENOBUFS || w->count > 0)
		return r;
	e.n_links = 0;
	base = WEFT_GOSSIP_RECORD_HDR_LEN + weft_gossip_entry_len(&e);
	if (w->cap < base)
		return -EMSGSIZE; /* not even without links: it cannot be sent */
	e.n_links = (unsigned)((w->cap - base) / WEFT_GOSSIP_ID_LEN);
	if (e.n_links > mem->n_links)
		e.n_links = mem->n_links;
	return weft_gossip_writer_add(w, &e);
}

size_t weft_members_encode(const struct weft_members *m, uint8_t *buf, size_t cap, unsigned *cursor,
			   uint64_t changed_since)
{
	struct weft_gossip_writer w;
	unsigned i;

	weft_gossip_writer_init(&w, buf, cap);
	for (i = *cursor; i <= m->n; i++) {
		const struct weft_member *mem = i ? m->by_id[i - 1] : &m->own;

		if (changed_since && mem->changed_ms < changed_since)
			continue;
		/* Anything but "record full" writes the entry or (a @cap below
		 * any entry's size) never could: go on either way. */
		if (add_member(&w, mem) == -ENOBUFS)
			break;
	}
	*cursor = i;
	return weft_gossip_writer_finish(&w);
}

bool weft_members_encode_done(const struct weft_members *m, unsigned cursor)
{
	return cursor > m->n;
}
