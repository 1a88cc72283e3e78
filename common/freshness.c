/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/freshness.h"
#include "common/handshake.h"
#include "common/key.h"
#include "common/lines.h"

_Static_assert(WEFT_FRESHNESS_NICK_MAX == WEFT_HANDSHAKE_NICK_MAX,
	       "the table holds any nickname a handshake carries");

void weft_freshness_init(struct weft_freshness *f)
{
	memset(f, 0, sizeof(*f));
}

void weft_freshness_free(struct weft_freshness *f)
{
	free(f->peers);
	memset(f, 0, sizeof(*f));
}

uint64_t weft_freshness_stamp(struct weft_freshness *f, uint64_t wall_ms, bool *save)
{
	uint64_t stamp = wall_ms > f->next_min ? wall_ms : f->next_min;

	*save = false;
	if (stamp > WEFT_FRESHNESS_STAMP_MAX)
		stamp = WEFT_FRESHNESS_STAMP_MAX;
	f->next_min = stamp + 1;
	if (stamp >= f->floor) {
		f->floor = stamp + WEFT_FRESHNESS_RESERVE_MS;
		*save = true;
	}
	return stamp;
}

/* FNV-1a: a quick filter before strcmp, so a lookup touches one word per
 * entry; collisions cost a comparison, nothing else. */
static uint64_t nick_hash(const char *nick)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *nick; nick++)
		h = (h ^ (uint8_t)*nick) * 0x100000001b3ULL;
	return h;
}

uint64_t weft_freshness_bar(const struct weft_freshness *f, const char *nickname)
{
	uint64_t h = nick_hash(nickname), bar = 0;

	for (size_t i = 0; i < f->n; i++) {
		const struct weft_freshness_peer *p = &f->peers[i];

		if (p->nick_hash == h && p->stamp_ms > bar && !strcmp(p->nickname, nickname))
			bar = p->stamp_ms;
	}
	return bar;
}

bool weft_freshness_is_fresh(const struct weft_freshness *f, const char *nickname,
			     uint64_t stamp_ms)
{
	return stamp_ms > weft_freshness_bar(f, nickname);
}

static struct weft_freshness_peer *find(const struct weft_freshness *f,
					const uint8_t key[static WEFT_KEY_LEN])
{
	for (size_t i = 0; i < f->n; i++)
		if (!memcmp(f->peers[i].key, key, WEFT_KEY_LEN))
			return &f->peers[i];
	return NULL;
}

const struct weft_freshness_peer *weft_freshness_find(const struct weft_freshness *f,
						      const uint8_t key[static WEFT_KEY_LEN])
{
	return find(f, key);
}

bool weft_freshness_forget(struct weft_freshness *f, const uint8_t key[static WEFT_KEY_LEN])
{
	struct weft_freshness_peer *p = find(f, key);

	if (!p)
		return false;
	*p = f->peers[--f->n];
	return true;
}

/* A slot for a new entry: a free one, or the one updated longest ago. */
static struct weft_freshness_peer *new_slot(struct weft_freshness *f)
{
	struct weft_freshness_peer *oldest;

	if (f->n < f->cap)
		return &f->peers[f->n++];
	if (f->cap < WEFT_FRESHNESS_MAX) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		struct weft_freshness_peer *peers;

		if (cap > WEFT_FRESHNESS_MAX)
			cap = WEFT_FRESHNESS_MAX;
		peers = realloc(f->peers, cap * sizeof(*peers));
		if (!peers)
			return NULL;
		f->peers = peers;
		f->cap = cap;
		return &f->peers[f->n++];
	}
	oldest = &f->peers[0];
	for (size_t i = 1; i < f->n; i++)
		if (f->peers[i].order < oldest->order)
			oldest = &f->peers[i];
	return oldest;
}

int weft_freshness_confirm(struct weft_freshness *f, const uint8_t key[static WEFT_KEY_LEN],
			   const char *nickname, uint64_t stamp_ms)
{
	struct weft_freshness_peer *p;

	if (!weft_handshake_nickname_valid(nickname))
		return -EINVAL;
	p = find(f, key);
	if (!p) {
		p = new_slot(f);
		if (!p)
			return -ENOMEM;
		memcpy(p->key, key, WEFT_KEY_LEN);
	}
	snprintf(p->nickname, sizeof(p->nickname), "%s", nickname);
	p->nick_hash = nick_hash(nickname);
	p->stamp_ms = stamp_ms;
	p->order = ++f->updates;
	return 0;
}

static int by_order(const void *a, const void *b)
{
	const struct weft_freshness_peer *const *x = a, *const *y = b;

	return (*x)->order < (*y)->order ? -1 : (*x)->order > (*y)->order;
}

/* "peer KEY NICK STAMP\n": 5 + 44 + 1 + 32 + 1 + 20 + 1 */
#define LINE_MAX_LEN (WEFT_KEY_B64_LEN + WEFT_FRESHNESS_NICK_MAX + 32)

char *weft_freshness_format(const struct weft_freshness *f)
{
	static const char header[] =
	    "# weft handshake stamps: the floor of ours, then each peer's last; rewritten by "
	    "weftd\n";
	size_t cap = sizeof(header) + (f->n + 1) * LINE_MAX_LEN, pos;
	const struct weft_freshness_peer **sorted = malloc((f->n + 1) * sizeof(*sorted));
	char *out = malloc(cap), key[WEFT_KEY_B64_LEN];

	if (!out || !sorted) {
		free(out);
		free(sorted);
		return NULL;
	}
	for (size_t i = 0; i < f->n; i++)
		sorted[i] = &f->peers[i];
	qsort(sorted, f->n, sizeof(*sorted), by_order);
	pos = (size_t)snprintf(out, cap, "%sfloor %" PRIu64 "\n", header, f->floor);
	for (size_t i = 0; i < f->n; i++) {
		weft_key_encode(key, sorted[i]->key);
		pos += (size_t)snprintf(out + pos, cap - pos, "peer %s %s %" PRIu64 "\n", key,
					sorted[i]->nickname, sorted[i]->stamp_ms);
	}
	free(sorted);
	return out;
}

static int parse_u64(const char *text, uint64_t *out, char why[static WEFT_ERRLEN])
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno || *end || text[0] < '0' || text[0] > '9' || v > WEFT_FRESHNESS_STAMP_MAX) {
		snprintf(why, WEFT_ERRLEN, "`%.32s' is not a stamp in milliseconds", text);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

static int parse_line(void *ctx, char *line, char why[static WEFT_ERRLEN])
{
	struct weft_freshness *f = ctx;
	char *save = NULL, *word, *fields[3];
	uint8_t key[WEFT_KEY_LEN];
	unsigned n = 0;
	uint64_t stamp;

	word = strtok_r(line, " \t\r", &save);
	if (!word || word[0] == '#')
		return 0;
	while (n < 3 && (fields[n] = strtok_r(NULL, " \t\r", &save)))
		n++;
	if (strtok_r(NULL, " \t\r", &save))
		n = 4;
	if (!strcmp(word, "floor")) {
		if (n != 1) {
			snprintf(why, WEFT_ERRLEN, "expected floor STAMP");
			return -EINVAL;
		}
		if (parse_u64(fields[0], &stamp, why) < 0)
			return -EINVAL;
		if (stamp > f->floor)
			f->floor = stamp;
		if (stamp > f->next_min)
			f->next_min = stamp;
		return 0;
	}
	if (strcmp(word, "peer")) {
		snprintf(why, WEFT_ERRLEN, "`%.32s' is neither floor nor peer", word);
		return -EINVAL;
	}
	if (n != 3) {
		snprintf(why, WEFT_ERRLEN, "expected peer KEY NICKNAME STAMP");
		return -EINVAL;
	}
	if (weft_key_decode(key, fields[0], why) < 0 || parse_u64(fields[2], &stamp, why) < 0)
		return -EINVAL;
	if (!weft_handshake_nickname_valid(fields[1])) {
		snprintf(why, WEFT_ERRLEN, "`%.40s' is not a nickname", fields[1]);
		return -EINVAL;
	}
	return weft_freshness_confirm(f, key, fields[1], stamp);
}

int weft_freshness_parse(struct weft_freshness *f, const char *text, size_t len,
			 char err[static WEFT_ERRLEN])
{
	return weft_lines_parse(text, len, LINE_MAX_LEN + 64, parse_line, f, err);
}
