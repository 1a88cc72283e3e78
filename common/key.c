/* SPDX-License-Identifier: MIT */
#include <config.h>   /* autoconf's, not common/config.h */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/key.h"

uint8_t *weft_key_alloc(void)
{
	if (sodium_init() < 0)
		return NULL;
	return sodium_malloc(WEFT_KEY_LEN);
}

void weft_key_free(uint8_t *key)
{
	if (key)
		sodium_free(key);
}

void weft_key_encode(char out[static WEFT_KEY_B64_LEN], const uint8_t key[static WEFT_KEY_LEN])
{
	sodium_bin2base64(out, WEFT_KEY_B64_LEN, key, WEFT_KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int weft_key_decode(uint8_t key[static WEFT_KEY_LEN], const char *text, char err[static WEFT_ERRLEN])
{
	size_t len, bin_len = 0;
	const char *end = NULL;

	while (is_space(*text))
		text++;
	len = strlen(text);
	while (len > 0 && is_space(text[len - 1]))
		len--;
	if (len != WEFT_KEY_B64_LEN - 1) {
		snprintf(err, WEFT_ERRLEN, "expected %d base64 characters, found %zu",
			 WEFT_KEY_B64_LEN - 1, len);
		return -EINVAL;
	}
	if (sodium_base642bin(key, WEFT_KEY_LEN, text, len, NULL, &bin_len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != WEFT_KEY_LEN || end != text + len) {
		sodium_memzero(key, WEFT_KEY_LEN);
		snprintf(err, WEFT_ERRLEN, "not a base64-encoded %d-byte key", WEFT_KEY_LEN);
		return -EINVAL;
	}
	return 0;
}

void weft_key_generate_private(uint8_t priv[static WEFT_KEY_LEN])
{
	randombytes_buf(priv, WEFT_KEY_LEN);
	/* X25519 clamping, so the stored key is canonical (RFC 7748 §5). */
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
}

void weft_key_generate_secret(uint8_t secret[static WEFT_KEY_LEN])
{
	randombytes_buf(secret, WEFT_KEY_LEN);
}

int weft_key_public(uint8_t pub[static WEFT_KEY_LEN], const uint8_t priv[static WEFT_KEY_LEN])
{
	return crypto_scalarmult_base(pub, priv) == 0 ? 0 : -EINVAL;
}

void weft_key_fingerprint(char out[static WEFT_KEY_FPR_LEN], const uint8_t pub[static WEFT_KEY_LEN])
{
	char b64[WEFT_KEY_B64_LEN];

	weft_key_encode(b64, pub);
	memcpy(out, b64, WEFT_KEY_FPR_LEN - 1);
	out[WEFT_KEY_FPR_LEN - 1] = '\0';
}

/* -EPERM when the directory holding @path lets group or others replace the
 * file (writable without the sticky bit): the mode of the file alone would
 * not keep the key ours then. */
static int check_directory(const char *path, char err[static WEFT_ERRLEN])
{
	char dir[4096]; /* PATH_MAX */
	const char *slash = strrchr(path, '/');
	struct stat st;

	if (!slash)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else if ((size_t)(slash - path) < sizeof(dir))
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		return 0; /* longer than any path open() took: nothing to add */
	if (stat(dir, &st) < 0)
		return 0; /* the file opened, so the directory is there; nothing to add */
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(err, WEFT_ERRLEN,
			 "%s: its directory %.160s (mode %04o) lets group or others replace it "
			 "(chmod go-w)",
			 path, dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

int weft_key_load(const char *path, uint8_t key[static WEFT_KEY_LEN], char err[static WEFT_ERRLEN])
{
	/* Room for the key, a newline and enough slack to tell "too long". */
	char text[128];
	struct stat st;
	ssize_t n;
	int fd, ret;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0) {
		ret = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ret = -EINVAL;
		snprintf(err, WEFT_ERRLEN, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		ret = -EPERM;
		snprintf(err, WEFT_ERRLEN, "%s: mode %04o lets group or others access it (chmod 600)",
			 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	/* Its owner may rewrite it: root, or the user weftd runs as. */
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		ret = -EPERM;
		snprintf(err, WEFT_ERRLEN,
			 "%s: owned by uid %u, neither root nor the user weftd runs as (uid %u)",
			 path, (unsigned)st.st_uid, (unsigned)geteuid());
		goto out;
	}
	if ((ret = check_directory(path, err)) < 0)
		goto out;
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		ret = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: %s", path, strerror(errno));
		goto out;
	}
	text[n] = '\0';
	if ((size_t)n == sizeof(text) - 1) {
		ret = -EINVAL;
		snprintf(err, WEFT_ERRLEN, "%s: too long for one base64 key", path);
		goto out;
	}
	if (memchr(text, '\0', (size_t)n)) {
		ret = -EINVAL;
		snprintf(err, WEFT_ERRLEN, "%s: contains a NUL byte", path);
		goto out;
	}
	ret = weft_key_decode(key, text, err);
	if (ret < 0) {
		char reason[WEFT_ERRLEN];

		snprintf(reason, sizeof(reason), "%s", err);
		snprintf(err, WEFT_ERRLEN, "%s: %.120s", path, reason);
	}
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return ret;
}

int weft_key_save(const char *path, const uint8_t key[static WEFT_KEY_LEN], char err[static WEFT_ERRLEN])
{
	char text[WEFT_KEY_B64_LEN + 1];
	size_t len;
	int fd, ret = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: %s", path, strerror(errno));
		return ret;
	}
	weft_key_encode(text, key);
	len = strlen(text);
	text[len++] = '\n';
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		ret = errno ? -errno : -EIO;
		snprintf(err, WEFT_ERRLEN, "%s: write failed: %s", path, strerror(-ret));
		unlink(path);
	}
	sodium_memzero(text, sizeof(text));
	if (close(fd) < 0 && ret == 0) {
		ret = -errno;
		snprintf(err, WEFT_ERRLEN, "%s: %s", path, strerror(errno));
		unlink(path);
	}
	return ret;
}
