/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/key.h"

/* RFC 7748 §6.1 Alice's key pair. */
static const char alice_priv_b64[] = "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=";
static const uint8_t alice_pub[32] = {
	0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7, 0x5a,
	0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b, 0x4e, 0x6a,
};

static char tmpdir[64];

static int setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/weft-test-key.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void test_encode_decode_roundtrip(void **state)
{
	uint8_t key[WEFT_KEY_LEN], back[WEFT_KEY_LEN];
	char b64[WEFT_KEY_B64_LEN], err[WEFT_ERRLEN];

	for (int i = 0; i < 100; i++) {
		randombytes_buf(key, sizeof(key));
		weft_key_encode(b64, key);
		assert_int_equal(strlen(b64), 44);
		assert_int_equal(weft_key_decode(back, b64, err), 0);
		assert_memory_equal(key, back, sizeof(key));
	}
}

static void test_decode_known_public(void **state)
{
	uint8_t priv[WEFT_KEY_LEN], pub[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN];

	assert_int_equal(weft_key_decode(priv, "  \t" "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", err), 0);
	assert_int_equal(weft_key_decode(priv, alice_priv_b64, err), 0);
	assert_int_equal(weft_key_public(pub, priv), 0);
	assert_memory_equal(pub, alice_pub, sizeof(pub));
}

static void test_decode_rejects(void **state)
{
	uint8_t key[WEFT_KEY_LEN];
	char err[WEFT_ERRLEN];

	/* Too short, too long, bad alphabet, URL-safe variant, missing padding. */
	assert_int_equal(weft_key_decode(key, "", err), -EINVAL);
	assert_non_null(strstr(err, "expected 44"));
	assert_int_equal(weft_key_decode(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC=", err), -EINVAL);
	assert_int_equal(weft_key_decode(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo==", err), -EINVAL);
	assert_int_equal(weft_key_decode(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L*o=", err), -EINVAL);
	assert_non_null(strstr(err, "not a base64"));
	assert_int_equal(weft_key_decode(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25L_o=", err), -EINVAL);
	assert_int_equal(weft_key_decode(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCoA", err), -EINVAL);
	/* 33 bytes encoded with padding is 44 characters too; it must not pass. */
	assert_int_equal(weft_key_decode(key, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo", err), -EINVAL);
}

static void test_generate_private_clamped(void **state)
{
	uint8_t a[WEFT_KEY_LEN], b[WEFT_KEY_LEN];

	weft_key_generate_private(a);
	weft_key_generate_private(b);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(a[0] & 7, 0);
	assert_int_equal(a[31] & 0x80, 0);
	assert_int_equal(a[31] & 0x40, 0x40);
}

static void test_fingerprint(void **state)
{
	char fpr[WEFT_KEY_FPR_LEN];

	weft_key_fingerprint(fpr, alice_pub);
	assert_string_equal(fpr, "hSDwCYkw");
}

static void test_load_good(void **state)
{
	char path[128], err[WEFT_ERRLEN];
	uint8_t key[WEFT_KEY_LEN], want[WEFT_KEY_LEN];

	snprintf(path, sizeof(path), "%s/good.key", tmpdir);
	write_file(path, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", 0600);
	assert_int_equal(weft_key_load(path, key, err), 0);
	assert_int_equal(weft_key_decode(want, alice_priv_b64, err), 0);
	assert_memory_equal(key, want, sizeof(key));
	/* Owner read-only is fine too. */
	chmod(path, 0400);
	assert_int_equal(weft_key_load(path, key, err), 0);
}

static void test_load_refuses_open_modes(void **state)
{
	static const mode_t bad[] = {0640, 0604, 0660, 0644, 0610, 0601};
	char path[128], err[WEFT_ERRLEN];
	uint8_t key[WEFT_KEY_LEN];

	snprintf(path, sizeof(path), "%s/open.key", tmpdir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(path);
		write_file(path, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", bad[i]);
		assert_int_equal(weft_key_load(path, key, err), -EPERM);
		assert_non_null(strstr(err, "chmod 600"));
		assert_non_null(strstr(err, path));
	}
}

/* Who may rewrite the file matters as much as who may read it. */
static void test_load_refuses_foreign_owner_and_open_directory(void **state)
{
	char dir[96], path[128], err[WEFT_ERRLEN];
	uint8_t key[WEFT_KEY_LEN];

	snprintf(dir, sizeof(dir), "%s/d", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/k.key", dir);
	write_file(path, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", 0600);
	assert_int_equal(weft_key_load(path, key, err), 0);
	/* a directory others may write to: the file could be swapped */
	assert_int_equal(chmod(dir, 0777), 0);
	assert_int_equal(weft_key_load(path, key, err), -EPERM);
	assert_non_null(strstr(err, "lets group or others replace it"));
	assert_int_equal(chmod(dir, 0770), 0);
	assert_int_equal(weft_key_load(path, key, err), -EPERM);
	/* the sticky bit (as /tmp has) keeps others' hands off our file */
	assert_int_equal(chmod(dir, 01777), 0);
	assert_int_equal(weft_key_load(path, key, err), 0);
	assert_int_equal(chmod(dir, 0700), 0);
	/* owned by another user: only root can test this */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 61903, 61903), 0);
		assert_int_equal(weft_key_load(path, key, err), -EPERM);
		assert_non_null(strstr(err, "owned by uid 61903"));
	}
}

static void test_load_refuses_non_regular_and_missing(void **state)
{
	char path[128], err[WEFT_ERRLEN];
	uint8_t key[WEFT_KEY_LEN];

	assert_int_equal(weft_key_load(tmpdir, key, err), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	snprintf(path, sizeof(path), "%s/missing.key", tmpdir);
	assert_int_equal(weft_key_load(path, key, err), -ENOENT);
	/* A symlink is refused (O_NOFOLLOW), even to a good key. */
	char target[128];
	snprintf(target, sizeof(target), "%s/target.key", tmpdir);
	write_file(target, "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n", 0600);
	snprintf(path, sizeof(path), "%s/link.key", tmpdir);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(weft_key_load(path, key, err), -ELOOP);
}

static void test_load_refuses_bad_content(void **state)
{
	static const char *const bad[] = {
		"",
		"hello\n",
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\ndwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=\n",
		"dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LC\n",
	};
	char path[128], err[WEFT_ERRLEN];
	uint8_t key[WEFT_KEY_LEN];

	snprintf(path, sizeof(path), "%s/bad.key", tmpdir);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unlink(path);
		write_file(path, bad[i], 0600);
		assert_int_equal(weft_key_load(path, key, err), -EINVAL);
		assert_non_null(strstr(err, path));
	}
	/* A long file is refused without reading it all. */
	unlink(path);
	char big[4096];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	write_file(path, big, 0600);
	assert_int_equal(weft_key_load(path, key, err), -EINVAL);
	assert_non_null(strstr(err, "too long"));
}

static void test_save_creates_0600_and_never_overwrites(void **state)
{
	char path[128], err[WEFT_ERRLEN];
	uint8_t key[WEFT_KEY_LEN], back[WEFT_KEY_LEN];
	struct stat st;

	snprintf(path, sizeof(path), "%s/new.key", tmpdir);
	weft_key_generate_private(key);
	assert_int_equal(weft_key_save(path, key, err), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(weft_key_load(path, back, err), 0);
	assert_memory_equal(key, back, sizeof(key));
	assert_int_equal(weft_key_save(path, key, err), -EEXIST);
}

static void test_alloc_free(void **state)
{
	uint8_t *k = weft_key_alloc();

	assert_non_null(k);
	memset(k, 0xaa, WEFT_KEY_LEN);
	weft_key_free(k);
	weft_key_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decode_roundtrip),
		cmocka_unit_test(test_decode_known_public),
		cmocka_unit_test(test_decode_rejects),
		cmocka_unit_test(test_generate_private_clamped),
		cmocka_unit_test(test_fingerprint),
		cmocka_unit_test(test_load_good),
		cmocka_unit_test(test_load_refuses_open_modes),
		cmocka_unit_test(test_load_refuses_foreign_owner_and_open_directory),
		cmocka_unit_test(test_load_refuses_non_regular_and_missing),
		cmocka_unit_test(test_load_refuses_bad_content),
		cmocka_unit_test(test_save_creates_0600_and_never_overwrites),
		cmocka_unit_test(test_alloc_free),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
