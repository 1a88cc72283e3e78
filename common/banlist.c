/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/banlist.h"
#include "common/lines.h"
#include "common/key.h"

void weft_banlist_init(struct weft_banlist *bl)
{
	memset(bl, 0, sizeof(*bl));
}

void weft_banlist_free(struct weft_banlist *bl)
{
	free(bl->bans);
	weft_banlist_init(bl);
}

static bool name_valid(const char *name)
{
	size_t n = strlen(name);

	return n >= 1 && n <= WEFT_BANLIST_NAME_MAX && strspn(name, WEFT_NAME_CHARS) == n;
}

static struct weft_ban *find(const struct weft_banlist *bl, const uint8_t key[static WEFT_KEY_LEN])
{
	/* Linear: the list is short and consulted once per handshake, never
	 * per frame. */
	for (size_t i = 0; i < bl->n; i++)
		if (!sodium_memcmp(bl->bans[i].key, key, WEFT_KEY_LEN))
			return &bl->bans[i];
	return NULL;
}

int weft_banlist_add(struct weft_banlist *bl, const uint8_t key[static WEFT_KEY_LEN],
		     const char *name, uint64_t since)
{
	struct weft_ban *b;

	if (!name || !*name)
		name = "-";
	if (strcmp(name, "-") && !name_valid(name))
		return -EINVAL;
	if (find(bl, key))
		return 0;
	if (bl->n == WEFT_BANLIST_MAX)
		return -ENOSPC;
	if (bl->n == bl->cap) {
		size_t cap = bl->cap ? 2 * bl->cap : 16;
		struct weft_ban *bans = realloc(bl->bans, cap * sizeof(*bans));

		if (!bans)
			return -ENOMEM;
		bl->bans = bans;
		bl->cap = cap;
	}
	b = &bl->bans[bl->n++];
	memcpy(b->key, key, WEFT_KEY_LEN);
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->since = since;
	return 1;
}

bool weft_banlist_remove(struct weft_banlist *bl, const uint8_t key[static WEFT_KEY_LEN])
{
	struct weft_ban *b = find(bl, key);

	if (!b)
		return false;
	/* keeps the order: the list reads as the history of the bans */
	memmove(b, b + 1, (size_t)(bl->bans + bl->n - (b + 1)) * sizeof(*b));
	bl->n--;
	return true;
}

const struct weft_ban *weft_banlist_find(const struct weft_banlist *bl,
					 const uint8_t key[static WEFT_KEY_LEN])
{
	return find(bl, key);
}

const struct weft_ban *weft_banlist_find_name(const struct weft_banlist *bl, const char *name)
{
	for (size_t i = 0; i < bl->n; i++)
		if (!strcmp(bl->bans[i].name, name))
			return &bl->bans[i];
	return NULL;
}

/* "KEY NAME SINCE\n": 44 + 1 + 32 + 1 + 20 + 1 */
#define LINE_MAX_LEN (WEFT_KEY_B64_LEN + WEFT_BANLIST_NAME_MAX + 24)

char *weft_banlist_format(const struct weft_banlist *bl)
{
	static const char header[] = "# weft: keys banned by `weftctl forget' or a removed [peer]; "
				     "rewritten by weftd\n";
	size_t cap = sizeof(header) + bl->n * LINE_MAX_LEN, pos;
	char *out = malloc(cap), key[WEFT_KEY_B64_LEN];

	if (!out)
		return NULL;
	pos = (size_t)snprintf(out, cap, "%s", header);
	for (size_t i = 0; i < bl->n; i++) {
		weft_key_encode(key, bl->bans[i].key);
		pos += (size_t)snprintf(out + pos, cap - pos, "%s %s %" PRIu64 "\n", key,
					bl->bans[i].name, bl->bans[i].since);
	}
	return out;
}

/* One line (NUL-terminated, no newline): a ban or nothing (0), -EINVAL with
 * the reason in @why (a full list too: the line is skipped, like a bad one),
 * or -ENOMEM. */
static int parse_line(void *ctx, char *line, char why[static WEFT_ERRLEN])
{
	struct weft_banlist *bl = ctx;
	char *save = NULL, *key_text, *name, *since_text, *end;
	uint8_t key[WEFT_KEY_LEN];
	unsigned long long since;
	int ret;

	key_text = strtok_r(line, " \t\r", &save);
	if (!key_text || key_text[0] == '#')
		return 0;
	name = strtok_r(NULL, " \t\r", &save);
	since_text = strtok_r(NULL, " \t\r", &save);
	if (!name || !since_text || strtok_r(NULL, " \t\r", &save)) {
		snprintf(why, WEFT_ERRLEN, "expected KEY NAME SINCE");
		return -EINVAL;
	}
	if (weft_key_decode(key, key_text, why) < 0)
		return -EINVAL;
	errno = 0;
	since = strtoull(since_text, &end, 10);
	if (errno || *end || since_text[0] == '-' || since_text[0] == '+') {
		snprintf(why, WEFT_ERRLEN, "`%.32s' is not a time in seconds", since_text);
		return -EINVAL;
	}
	ret = weft_banlist_add(bl, key, name, since);
	if (ret == -EINVAL)
		snprintf(why, WEFT_ERRLEN, "`%.40s' is not a peer name", name);
	else if (ret == -ENOSPC)
		snprintf(why, WEFT_ERRLEN, "more than %d bans", WEFT_BANLIST_MAX);
	if (ret == -ENOSPC)
		return -EINVAL;
	return ret < 0 ? ret : 0;
}

int weft_banlist_parse(struct weft_banlist *bl, const char *text, size_t len,
		       char err[static WEFT_ERRLEN])
{
	return weft_lines_parse(text, len, LINE_MAX_LEN + 63, parse_line, bl, err);
}
