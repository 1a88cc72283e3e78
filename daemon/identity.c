/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/handshake.h"
#include "daemon/identity.h"
#include "daemon/log.h"

static int load_keys(struct weft_identity *id, const struct weft_config *cfg,
		     char err[static WEFT_ERRLEN])
{
	char why[WEFT_ERRLEN];
	int ret;

	id->secret = weft_key_alloc();
	id->private_key = weft_key_alloc();
	if (!id->secret || !id->private_key)
		return weft_errorf(err, -ENOMEM, "out of memory for keys");
	ret = weft_key_load(cfg->secret_file, id->secret, why);
	if (ret < 0) {
		snprintf(err, WEFT_ERRLEN, "network secret: %.200s%s", why,
			 ret == -ENOENT ? " (create it with `weftd genpsk')" : "");
		return ret;
	}
	ret = weft_key_load(cfg->private_key_file, id->private_key, why);
	if (ret == -ENOENT) {
		weft_key_generate_private(id->private_key);
		ret = weft_key_save(cfg->private_key_file, id->private_key, why);
		if (ret < 0) {
			snprintf(err, WEFT_ERRLEN, "private key: %.200s", why);
			return ret;
		}
		log_info("created a new private key in %s", cfg->private_key_file);
	} else if (ret < 0) {
		snprintf(err, WEFT_ERRLEN, "private key: %.200s", why);
		return ret;
	}
	if (weft_key_public(id->public_key, id->private_key) < 0) {
		snprintf(err, WEFT_ERRLEN, "private key in %.160s is not a usable X25519 key",
			 cfg->private_key_file);
		return -EINVAL;
	}
	weft_key_fingerprint(id->fingerprint, id->public_key);
	return 0;
}

/* The configured nickname, else the host name cut to what a nickname allows. */
static void pick_nickname(struct weft_identity *id, const struct weft_config *cfg)
{
	char host[256] = "";
	size_t n = 0;

	if (cfg->nickname[0]) {
		snprintf(id->nickname, sizeof(id->nickname), "%s", cfg->nickname);
		return;
	}
	if (gethostname(host, sizeof(host) - 1) < 0)
		host[0] = '\0';
	for (const char *c = host; *c && *c != '.' && n < sizeof(id->nickname) - 1; c++)
		if (strchr(WEFT_NAME_CHARS, *c))
			id->nickname[n++] = *c;
	id->nickname[n] = '\0';
	if (n == 0)
		snprintf(id->nickname, sizeof(id->nickname), "%.8s", id->fingerprint);
	if (!weft_handshake_nickname_valid(id->nickname))
		snprintf(id->nickname, sizeof(id->nickname), "host");
}

int weft_identity_new(struct weft_identity **out, const struct weft_config *cfg,
		       char err[static WEFT_ERRLEN])
{
	struct weft_identity *id = calloc(1, sizeof(*id));
	int ret;

	*out = NULL;
	if (!id)
		return weft_errorf(err, -ENOMEM, "out of memory for keys");
	ret = load_keys(id, cfg, err);
	if (ret < 0) {
		weft_identity_free(id);
		return ret;
	}
	pick_nickname(id, cfg);
	*out = id;
	return 0;
}

void weft_identity_free(struct weft_identity *id)
{
	if (!id)
		return;
	weft_key_free(id->secret);
	weft_key_free(id->private_key);
	free(id);
}
