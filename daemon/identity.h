/* SPDX-License-Identifier: MIT */
/* This host's identity in the network: the network secret, its static key
 * pair (created on first start) and the nickname it gives in handshakes. */
#ifndef WEFT_IDENTITY_H
#define WEFT_IDENTITY_H

#include <stdint.h>

#include "common/config.h"
#include "common/key.h"

struct weft_identity {
	uint8_t *secret;      /* sodium_malloc */
	uint8_t *private_key; /* sodium_malloc */
	uint8_t public_key[WEFT_KEY_LEN];
	char fingerprint[WEFT_KEY_FPR_LEN];
	char nickname[WEFT_CONFIG_NAME_MAX + 1];
};

/* Loads the secret and the private key (creating and saving a new key when
 * the file does not exist, and the missing directories above it, mode 0700)
 * named by @cfg, and picks the nickname: the configured one, else the host
 * name cut to what a nickname allows. */
int weft_identity_new(struct weft_identity **out, const struct weft_config *cfg,
		      char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Wipes the keys and frees; accepts NULL. */
void weft_identity_free(struct weft_identity *id);

/* What `weftd -t' reports about the files weft_identity_new() would load. */
struct weft_identity_check {
	char secret_err[WEFT_ERRLEN];	/* "" when the secret loads */
	char key_err[WEFT_ERRLEN];	/* "" when the private key loads or can be created */
	char key_note[2 * WEFT_ERRLEN]; /* "" or what start-up will create (two paths) */
};

/* Loads the secret and the private key named by @cfg with the code and the
 * messages of weft_identity_new(), but creates nothing: a missing private
 * key is no error when start-up can create it (its directory exists or can
 * be made), and @out->key_note says so. Returns 0, or the first error with
 * every message in @out. */
int weft_identity_check(const struct weft_config *cfg, struct weft_identity_check *out) WEFT_WUR;

#endif
