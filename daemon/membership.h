/* SPDX-License-Identifier: MIT */
/* Membership as the operator changes it at run time: `weftctl connect'
 * (a new member at an address), `weftctl forget' (end a member's sessions
 * and ban its key), `weftctl unforget', and the same ban for a [peer]
 * section removed from the configuration. The bans are kept in the
 * configured banned_file, rewritten whenever they change. */
#ifndef WEFT_MEMBERSHIP_H
#define WEFT_MEMBERSHIP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "common/banlist.h"
#include "common/weft.h"

struct weft_config;
struct weft_handshakes;
struct weft_mesh;
struct weft_peers;

/* What membership works with; every member is borrowed. */
struct weft_membership_deps {
	const struct weft_config *cfg; /* replaced by weft_membership_reconfigure() */
	struct weft_peers *peers;
	struct weft_handshakes *handshakes; /* set later: weft_membership_attach() */
	struct weft_mesh *mesh;		    /* likewise */
};

struct weft_membership;

/* Loads the ban list from cfg->banned_file (a missing file is an empty
 * list; malformed lines are skipped with a warning). */
int weft_membership_new(struct weft_membership **out, const struct weft_membership_deps *deps,
			char err[static WEFT_ERRLEN]) WEFT_WUR;
void weft_membership_free(struct weft_membership *m); /* accepts NULL */
/* The modules built after the ban list (they consult it). */
void weft_membership_attach(struct weft_membership *m, struct weft_handshakes *handshakes,
			    struct weft_mesh *mesh);

/* The ban list, for the handshakes and the mesh to consult. */
const struct weft_banlist *weft_membership_bans(const struct weft_membership *m);

/* A reload from @old to @cfg, before the peers follow @cfg: the key of
 * every [peer] that @cfg no longer names is banned, and a peer that @cfg
 * names anew (by name or pinned key) is let in again. */
void weft_membership_reconfigure(struct weft_membership *m, const struct weft_config *old,
				 const struct weft_config *cfg);

/* The control commands; each returns a new JSON reply ({"error": ...} when
 * refused). @request holds the arguments. */
json_t *weft_membership_connect(struct weft_membership *m, json_t *request, uint64_t now);
json_t *weft_membership_forget(struct weft_membership *m, json_t *request, uint64_t now);
json_t *weft_membership_unforget(struct weft_membership *m, json_t *request, uint64_t now);
/* `weftctl unpin PEER': forgets the key a peer proved first (trust on first
 * use), so that the next one it proves is kept; not for configured pins. */
json_t *weft_membership_unpin(struct weft_membership *m, json_t *request, uint64_t now);
/* The bans as a JSON array (a new reference). */
json_t *weft_membership_bans_json(const struct weft_membership *m);

#endif
