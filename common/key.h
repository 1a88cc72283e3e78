/* SPDX-License-Identifier: MIT */
/* Key and secret files and their base64 text form. */
#ifndef WEFT_KEY_H
#define WEFT_KEY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/weft.h"

/* 44 base64 characters (padded) plus the terminating NUL. */
#define WEFT_KEY_B64_LEN 45
/* Short printable public-key fingerprint for logs: 8 base64 characters + NUL. */
#define WEFT_KEY_FPR_LEN 9

/* Secret-holding buffer of WEFT_KEY_LEN bytes in sodium_malloc memory
 * (guarded, locked, wiped on free). Returns NULL when out of memory. */
uint8_t *weft_key_alloc(void) WEFT_WUR;
/* Wipes and frees a buffer from weft_key_alloc(); accepts NULL. */
void weft_key_free(uint8_t *key);

void weft_key_encode(char out[static WEFT_KEY_B64_LEN], const uint8_t key[static WEFT_KEY_LEN]);
/* Decodes exactly one base64 key; surrounding whitespace is ignored. */
int weft_key_decode(uint8_t key[static WEFT_KEY_LEN], const char *text,
		    char err[static WEFT_ERRLEN]) WEFT_WUR;

/* A new X25519 private key (random, clamped) or network secret (random). */
void weft_key_generate_private(uint8_t priv[static WEFT_KEY_LEN]);
void weft_key_generate_secret(uint8_t secret[static WEFT_KEY_LEN]);
int weft_key_public(uint8_t pub[static WEFT_KEY_LEN], const uint8_t priv[static WEFT_KEY_LEN]) WEFT_WUR;
void weft_key_fingerprint(char out[static WEFT_KEY_FPR_LEN], const uint8_t pub[static WEFT_KEY_LEN]);

/* Loads a key file: a regular file, not readable or writable by group or
 * others, holding one base64 key. Returns 0, -ENOENT when it does not exist
 * (so callers may create it), or another negative errno with a reason. */
int weft_key_load(const char *path, uint8_t key[static WEFT_KEY_LEN],
		  char err[static WEFT_ERRLEN]) WEFT_WUR;
/* Creates a new key file (mode 0600, never overwrites an existing one). */
int weft_key_save(const char *path, const uint8_t key[static WEFT_KEY_LEN],
		  char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
