/* SPDX-License-Identifier: MIT */
/* The host's identity: the network secret, the static key pair and the
 * nickname. Start-up (weft_identity_new) and `weftd -t' (weft_identity_check)
 * load the files through the same functions below, so both say the same
 * thing about a missing, too open or malformed file; only start-up creates
 * what is missing (the private key, and its directory). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/handshake.h"
#include "daemon/identity.h"
#include "daemon/log.h"

static int load_secret(const struct weft_config *cfg, uint8_t *secret, char err[static WEFT_ERRLEN])
{
	char why[WEFT_ERRLEN];
	int ret = weft_key_load(cfg->secret_file, secret, why);

	if (ret < 0)
		snprintf(err, WEFT_ERRLEN, "network secret: %.200s%s", why,
			 ret == -ENOENT ? " (create it with `weftd genpsk')" : "");
	return ret;
}

/* The private key and its public half. -ENOENT when the file does not exist
 * (the caller creates it or says it will be created). */
static int load_private_key(const struct weft_config *cfg, uint8_t *priv,
			    uint8_t pub[static WEFT_KEY_LEN], char err[static WEFT_ERRLEN])
{
	char why[WEFT_ERRLEN];
	int ret = weft_key_load(cfg->private_key_file, priv, why);

	if (ret < 0) {
		snprintf(err, WEFT_ERRLEN, "private key: %.200s", why);
		return ret;
	}
	if (weft_key_public(pub, priv) < 0) {
		snprintf(err, WEFT_ERRLEN, "private key in %.160s is not a usable X25519 key",
			 cfg->private_key_file);
		return -EINVAL;
	}
	return 0;
}

/* The directory part of @path into @dir: "/" for "/key", "." for "key". */
static int key_dir_of(const char *path, char dir[static PATH_MAX], char err[static WEFT_ERRLEN])
{
	const char *slash = strrchr(path, '/');
	size_t len = slash ? (size_t)(slash - path) : 0;

	if (len >= PATH_MAX)
		return weft_errorf(err, -ENAMETOOLONG, "private key: directory of %.160s", path);
	if (len == 0) {
		snprintf(dir, PATH_MAX, "%s", slash ? "/" : ".");
		return 0;
	}
	memcpy(dir, path, len);
	dir[len] = '\0';
	return 0;
}

/* @dir without its last component, never emptier than "/" or ".". */
static void parent_dir(char dir[static PATH_MAX])
{
	char *cut = strrchr(dir, '/');

	if (!cut)
		snprintf(dir, PATH_MAX, ".");
	else if (cut == dir)
		dir[1] = '\0';
	else
		*cut = '\0';
}

/* Start-up: creates the missing directories of the key file @path, each
 * with mode 0700, shortest first; a directory that exists is never touched.
 * *@made is the first one created ("" when none). */
static int make_key_dir(const char *path, char made[static PATH_MAX], char err[static WEFT_ERRLEN])
{
	char dir[PATH_MAX];
	int ret = key_dir_of(path, dir, err);

	made[0] = '\0';
	if (ret < 0)
		return ret;
	/* Each prefix that ends before a '/', then the whole: "/var", "/var/lib", ... */
	for (char *end = dir + 1;; end++) {
		char c = *end;
		struct stat st;

		if (c != '/' && c != '\0')
			continue;
		*end = '\0';
		if (stat(dir, &st) == 0) {
			if (!S_ISDIR(st.st_mode)) {
				snprintf(err, WEFT_ERRLEN, "private key: %.200s: not a directory",
					 dir);
				return -ENOTDIR;
			}
		} else if (errno != ENOENT) {
			return weft_errorf(err, -errno, "private key: %.200s", dir);
		} else if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
			return weft_errorf(err, -errno,
					   "private key: cannot create the directory %.160s", dir);
		} else if (!made[0]) {
			snprintf(made, PATH_MAX, "%s", dir);
		}
		*end = c;
		if (c == '\0')
			return 0;
	}
}

/* weftd -t: could start-up create the key file @path? Its deepest existing
 * directory must be a directory we may add to. *@missing is the first
 * directory start-up would create ("" when none). */
static int check_key_dir(const char *path, char missing[static PATH_MAX],
			 char err[static WEFT_ERRLEN])
{
	char dir[PATH_MAX];
	struct stat st;
	int ret = key_dir_of(path, dir, err);

	missing[0] = '\0';
	if (ret < 0)
		return ret;
	/* Strip components until one exists; the last stripped is the first to
	 * create. ("/" and "." always exist.) */
	while (stat(dir, &st) < 0) {
		if (errno != ENOENT || !strcmp(dir, "/") || !strcmp(dir, "."))
			return weft_errorf(err, -errno, "private key: %.200s", dir);
		snprintf(missing, PATH_MAX, "%s", dir);
		parent_dir(dir);
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, WEFT_ERRLEN, "private key: %.200s: not a directory", dir);
		return -ENOTDIR;
	}
	if (access(dir, W_OK | X_OK) < 0)
		return weft_errorf(err, -errno, "private key: cannot create %.120s in %.120s",
				   missing[0] ? missing : path, dir);
	return 0;
}

/* A new private key in @priv, saved where @cfg says (its directory created
 * as needed), and its public half. */
static int create_private_key(const struct weft_config *cfg, uint8_t *priv,
			      uint8_t pub[static WEFT_KEY_LEN], char err[static WEFT_ERRLEN])
{
	char why[WEFT_ERRLEN], made[PATH_MAX];
	int ret = make_key_dir(cfg->private_key_file, made, err);

	if (ret < 0)
		return ret;
	if (made[0])
		log_info("created the directory %s (mode 0700) for the private key", made);
	weft_key_generate_private(priv);
	ret = weft_key_save(cfg->private_key_file, priv, why);
	if (ret < 0) {
		snprintf(err, WEFT_ERRLEN, "private key: %.200s", why);
		return ret;
	}
	if (weft_key_public(pub, priv) < 0) {
		snprintf(err, WEFT_ERRLEN, "new private key in %.160s is not usable",
			 cfg->private_key_file);
		return -EINVAL;
	}
	log_info("created a new private key in %s", cfg->private_key_file);
	return 0;
}

static int load_keys(struct weft_identity *id, const struct weft_config *cfg,
		     char err[static WEFT_ERRLEN])
{
	int ret;

	id->secret = weft_key_alloc();
	id->private_key = weft_key_alloc();
	if (!id->secret || !id->private_key)
		return weft_errorf(err, -ENOMEM, "out of memory for keys");
	ret = load_secret(cfg, id->secret, err);
	if (ret < 0)
		return ret;
	ret = load_private_key(cfg, id->private_key, id->public_key, err);
	if (ret == -ENOENT)
		ret = create_private_key(cfg, id->private_key, id->public_key, err);
	if (ret < 0)
		return ret;
	weft_key_fingerprint(id->fingerprint, id->public_key);
	return 0;
}

int weft_identity_check(const struct weft_config *cfg, struct weft_identity_check *out)
{
	uint8_t *key = weft_key_alloc();
	uint8_t pub[WEFT_KEY_LEN];
	char missing[PATH_MAX];
	int ret, first;

	memset(out, 0, sizeof(*out));
	if (!key)
		return weft_errorf(out->secret_err, -ENOMEM, "out of memory for keys");
	first = load_secret(cfg, key, out->secret_err);
	ret = load_private_key(cfg, key, pub, out->key_err);
	if (ret == -ENOENT) {
		out->key_err[0] = '\0';
		ret = check_key_dir(cfg->private_key_file, missing, out->key_err);
		if (ret == 0)
			snprintf(out->key_note, sizeof(out->key_note),
				 "private key %.200s does not exist yet: weftd creates it at "
				 "start%s%.200s",
				 cfg->private_key_file, missing[0] ? ", with the directory " : "",
				 missing);
	}
	weft_key_free(key);
	return first < 0 ? first : ret;
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
