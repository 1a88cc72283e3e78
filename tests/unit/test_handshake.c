/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/cookie.h"
#include "common/handshake.h"
#include "common/key.h"
#include "common/noise.h"
#include "common/wire.h"

/* Linked with -Wl,--wrap=crypto_scalarmult,--wrap=crypto_scalarmult_base:
 * every X25519 operation of libweft is counted here. */
static unsigned dh_count, base_count;

int __real_crypto_scalarmult(unsigned char *q, const unsigned char *n, const unsigned char *p);
int __wrap_crypto_scalarmult(unsigned char *q, const unsigned char *n, const unsigned char *p);
int __real_crypto_scalarmult_base(unsigned char *q, const unsigned char *n);
int __wrap_crypto_scalarmult_base(unsigned char *q, const unsigned char *n);

int __wrap_crypto_scalarmult(unsigned char *q, const unsigned char *n, const unsigned char *p)
{
	dh_count++;
	return __real_crypto_scalarmult(q, n, p);
}

int __wrap_crypto_scalarmult_base(unsigned char *q, const unsigned char *n)
{
	base_count++;
	return __real_crypto_scalarmult_base(q, n);
}

static void reset_counts(void)
{
	dh_count = 0;
	base_count = 0;
}

#define NOW	UINT64_C(1700000000000)
#define I_INDEX 0x11223344u
#define R_INDEX 0xa0b0c0d0u
#define NET	"prod"

struct party {
	uint8_t sk[32], pk[32], e[32];
	struct weft_handshake_config cfg;
	struct weft_handshake *hs;
};

static uint8_t psk[32];

static void party_init(struct party *p, const char *nick, uint16_t port, uint32_t caps)
{
	memset(p, 0, sizeof(*p));
	randombytes_buf(p->sk, sizeof(p->sk));
	assert_int_equal(crypto_scalarmult_base(p->pk, p->sk), 0);
	p->cfg = (struct weft_handshake_config){
	    .static_priv = p->sk,
	    .static_pub = p->pk,
	    .psk = psk,
	    .network = NET,
	    .nickname = nick,
	    .capabilities = caps,
	    .listen_port = port,
	};
	p->hs = weft_handshake_new();
	assert_non_null(p->hs);
}

static void party_free(struct party *p)
{
	weft_handshake_free(p->hs);
}

/* The three messages of one complete handshake between @i and @r. */
struct flight {
	uint8_t hello[WEFT_HANDSHAKE_HELLO_MAX];
	uint8_t welcome[WEFT_HANDSHAKE_WELCOME_MAX];
	uint8_t confirm[WEFT_HANDSHAKE_CONFIRM_MAX];
	size_t hello_len, welcome_len, confirm_len;
};

static char err[WEFT_ERRLEN];

/* Expects @call to fail with @want and to say why. */
#define EXPECT_FAILS(call, want)                                                                   \
	do {                                                                                       \
		memset(err, 0, sizeof(err));                                                       \
		assert_int_equal((call), (want));                                                  \
		assert_true(strlen(err) > 0);                                                      \
	} while (0)

/* read_hello then accept_hello, as a responder without a stamp policy of
 * its own does (the daemon checks the stamp in between). */
static int read_accept(struct weft_handshake *hs, const struct weft_handshake_config *cfg,
		       struct weft_handshake_replay *cache, uint32_t index, const uint8_t *msg,
		       size_t len, uint64_t now, char why[static WEFT_ERRLEN])
{
	int r = weft_handshake_read_hello(hs, cfg, index, msg, len, why);

	return r < 0 ? r : weft_handshake_accept_hello(hs, cache, now, why);
}

static void do_hello(struct party *i, struct party *r, struct weft_handshake_replay *cache,
		     struct flight *f)
{
	assert_int_equal(weft_handshake_write_hello(i->hs, &i->cfg, I_INDEX, NOW, f->hello,
						    sizeof(f->hello), &f->hello_len, err),
			 0);
	assert_int_equal(read_accept(r->hs, &r->cfg, cache, I_INDEX, f->hello,
						   f->hello_len, NOW, err),
			 0);
}

static void do_welcome(struct party *i, struct party *r, struct flight *f)
{
	assert_int_equal(weft_handshake_write_welcome(r->hs, R_INDEX, NOW + 5, f->welcome,
						      sizeof(f->welcome), &f->welcome_len, err),
			 0);
	assert_int_equal(
	    weft_handshake_read_welcome(i->hs, R_INDEX, f->welcome, f->welcome_len, err), 0);
}

static void do_confirm(struct party *i, struct party *r, struct flight *f)
{
	assert_int_equal(weft_handshake_write_confirm(i->hs, f->confirm, sizeof(f->confirm),
						      &f->confirm_len, err),
			 0);
	assert_int_equal(weft_handshake_read_confirm(r->hs, f->confirm, f->confirm_len, err), 0);
}

static void test_full_handshake(void **state)
{
	struct party i, r;
	struct flight f;
	struct weft_handshake_replay *cache = weft_handshake_replay_new(16, 240000);
	struct weft_handshake_result ri, rr;
	uint8_t *keys = sodium_malloc(4 * 32), rs[32], box[64], back[64];
	const struct weft_handshake_identity *id;
	size_t id_i = 20 + strlen("alpha"), id_r = 20 + strlen("bravo.2");

	assert_non_null(cache);
	assert_non_null(keys);
	party_init(&i, "alpha", 6783, 0x5);
	party_init(&r, "bravo.2", 7000, 0x80000001u);
	reset_counts();

	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	assert_int_equal(f.hello_len, WEFT_HANDSHAKE_HELLO_LEN(id_i));
	assert_int_equal(dh_count, 0); /* only the ephemeral's public key */
	assert_int_equal(base_count, 1);

	reset_counts();
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, cache, I_INDEX, f.hello, f.hello_len, NOW, err),
	    0);
	assert_int_equal(dh_count + base_count, 0);
	assert_int_equal(weft_handshake_replay_count(cache), 1);
	id = weft_handshake_remote_identity(r.hs);
	assert_non_null(id);
	assert_string_equal(id->nickname, "alpha");
	assert_int_equal(id->timestamp_ms, NOW);
	assert_int_equal(weft_handshake_remote_static(r.hs, rs), -ENOENT);

	reset_counts();
	do_welcome(&i, &r, &f);
	assert_int_equal(f.welcome_len, WEFT_HANDSHAKE_WELCOME_LEN(id_r));
	assert_int_equal(dh_count, 4);	 /* responder ee, es; initiator ee, es */
	assert_int_equal(base_count, 1); /* the responder's ephemeral */
	assert_int_equal(weft_handshake_remote_static(i.hs, rs), 0);
	assert_memory_equal(rs, r.pk, 32);
	assert_int_equal(weft_handshake_check_pin(r.pk, true, rs, err), 0);
	assert_false(weft_handshake_done(i.hs));

	reset_counts();
	do_confirm(&i, &r, &f);
	assert_int_equal(f.confirm_len, WEFT_HANDSHAKE_CONFIRM_LEN(id_i));
	assert_int_equal(dh_count, 2); /* se on both sides */
	assert_int_equal(base_count, 0);
	assert_true(weft_handshake_done(i.hs) && weft_handshake_done(r.hs));
	assert_true(weft_handshake_initiator(i.hs));
	assert_false(weft_handshake_initiator(r.hs));

	assert_int_equal(weft_handshake_finish(i.hs, &ri, keys, keys + 32), 0);
	assert_int_equal(weft_handshake_finish(r.hs, &rr, keys + 64, keys + 96), 0);
	assert_int_equal(weft_handshake_finish(r.hs, &rr, keys + 64, keys + 96), -EINVAL);
	assert_memory_equal(keys, keys + 96, 32);      /* i.send == r.recv */
	assert_memory_equal(keys + 32, keys + 64, 32); /* i.recv == r.send */
	assert_memory_not_equal(keys, keys + 32, 32);
	assert_memory_equal(ri.hash, rr.hash, sizeof(ri.hash));
	assert_memory_equal(ri.remote_static, r.pk, 32);
	assert_memory_equal(rr.remote_static, i.pk, 32);
	assert_true(ri.initiator);
	assert_false(rr.initiator);
	assert_int_equal(ri.local_index, I_INDEX);
	assert_int_equal(ri.remote_index, R_INDEX);
	assert_int_equal(rr.local_index, R_INDEX);
	assert_int_equal(rr.remote_index, I_INDEX);
	assert_string_equal(ri.remote.nickname, "bravo.2");
	assert_int_equal(ri.remote.listen_port, 7000);
	assert_int_equal(ri.remote.capabilities, 0x80000001u);
	assert_int_equal(ri.remote.index, R_INDEX);
	assert_int_equal(ri.remote.timestamp_ms, NOW + 5);
	assert_string_equal(rr.remote.nickname, "alpha");
	assert_int_equal(rr.remote.listen_port, 6783);
	assert_int_equal(rr.remote.capabilities, 0x5);
	assert_int_equal(rr.remote.index, I_INDEX);
	assert_int_equal(rr.remote.version, 1);

	/* The keys carry traffic both ways. */
	assert_int_equal(weft_noise_encrypt(keys, 0, NULL, 0, (const uint8_t *)"ping", 4, box), 0);
	assert_int_equal(weft_noise_decrypt(keys + 96, 0, NULL, 0, box, 4 + 16, back), 0);
	assert_memory_equal(back, "ping", 4);
	assert_int_equal(weft_noise_encrypt(keys + 64, 0, NULL, 0, (const uint8_t *)"pong", 4, box),
			 0);
	assert_int_equal(weft_noise_decrypt(keys + 32, 0, NULL, 0, box, 4 + 16, back), 0);

	print_message(
	    "# message sizes for 5/7-char nicknames: HELLO %zu, WELCOME %zu, CONFIRM %zu\n",
	    f.hello_len, f.welcome_len, f.confirm_len);
	sodium_free(keys);
	weft_handshake_replay_free(cache);
	party_free(&i);
	party_free(&r);
}

static void test_wrong_psk_no_dh(void **state)
{
	struct party i, r;
	struct flight f;
	uint8_t other[32];

	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);
	memcpy(other, psk, 32);
	other[31] ^= 0x80;
	r.cfg.psk = other;
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	reset_counts();
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, NULL, I_INDEX, f.hello, f.hello_len, NOW, err),
	    -EBADMSG);
	assert_int_equal(dh_count, 0);
	assert_int_equal(base_count, 0);
	assert_true(strlen(err) > 0);
	assert_null(weft_handshake_remote_identity(r.hs));
	assert_int_equal(weft_handshake_write_welcome(r.hs, R_INDEX, NOW, f.welcome,
						      sizeof(f.welcome), &f.welcome_len, err),
			 -EINVAL);

	/* Another network name is another prologue: refused the same way. */
	r.cfg.psk = psk;
	r.cfg.network = "prod2";
	reset_counts();
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, NULL, I_INDEX, f.hello, f.hello_len, NOW, err),
	    -EBADMSG);
	assert_int_equal(dh_count + base_count, 0);

	/* The same state object, reused with the right settings, accepts it. */
	r.cfg.network = NET;
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, NULL, I_INDEX, f.hello, f.hello_len, NOW, err),
	    0);
	assert_int_equal(dh_count + base_count, 0);
	party_free(&i);
	party_free(&r);
}

/* The three refusals an operator must tell apart, each by its own code:
 * another network secret or name (-EBADMSG, at the HELLO), an identity that
 * does not hold up after the HELLO authenticated (-EPROTO: here a host whose
 * public key does not belong to its private key, so the static key it sends
 * fails the DH-keyed tag), and a key that differs from the pin (-EPERM,
 * naming both keys). */
static void test_refusal_kinds(void **state)
{
	char fi[WEFT_KEY_FPR_LEN], fo[WEFT_KEY_FPR_LEN], want[WEFT_ERRLEN];
	uint8_t other[32], key[32];
	struct party i, r;
	struct flight f;

	/* Network secret. */
	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);
	memcpy(other, psk, 32);
	other[0] ^= 1;
	i.cfg.psk = other;
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	err[0] = '\0';
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, NULL, I_INDEX, f.hello, f.hello_len, NOW, err),
	    -EBADMSG);
	assert_non_null(strstr(err, "HELLO of"));
	assert_non_null(strstr(err, "did not authenticate"));
	assert_int_equal(weft_handshake_drop_reason(-EBADMSG), WEFT_HANDSHAKE_DROP_AUTH);
	/* Network name. */
	i.cfg.psk = psk;
	i.cfg.network = "prod-2";
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, NULL, I_INDEX, f.hello, f.hello_len, NOW, err),
	    -EBADMSG);
	i.cfg.network = NET;

	/* Identity: the initiator sends a public key that is not its private
	 * key's. Its HELLO authenticates; its CONFIRM does not decrypt. */
	randombytes_buf(key, sizeof(key));
	i.cfg.static_pub = key;
	do_hello(&i, &r, NULL, &f);
	do_welcome(&i, &r, &f);
	assert_int_equal(
	    weft_handshake_write_confirm(i.hs, f.confirm, sizeof(f.confirm), &f.confirm_len, err),
	    0);
	err[0] = '\0';
	assert_int_equal(weft_handshake_read_confirm(r.hs, f.confirm, f.confirm_len, err), -EPROTO);
	assert_non_null(strstr(err, "CONFIRM"));
	assert_non_null(strstr(err, "did not decrypt"));
	assert_false(weft_handshake_done(r.hs));
	/* The same from the responder: its WELCOME does not decrypt. */
	i.cfg.static_pub = i.pk;
	r.cfg.static_pub = key;
	do_hello(&i, &r, NULL, &f);
	assert_int_equal(weft_handshake_write_welcome(r.hs, R_INDEX, NOW, f.welcome,
						      sizeof(f.welcome), &f.welcome_len, err),
			 0);
	err[0] = '\0';
	assert_int_equal(weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, f.welcome_len, err),
			 -EPROTO);
	assert_non_null(strstr(err, "WELCOME"));
	assert_int_equal(weft_handshake_drop_reason(-EPROTO), WEFT_HANDSHAKE_DROP_IDENTITY);
	r.cfg.static_pub = r.pk;

	/* Pin: the handshake completes, the key is not the pinned one. */
	do_hello(&i, &r, NULL, &f);
	do_welcome(&i, &r, &f);
	do_confirm(&i, &r, &f);
	assert_int_equal(weft_handshake_remote_static(r.hs, key), 0);
	randombytes_buf(other, sizeof(other));
	weft_key_fingerprint(fi, i.pk);
	weft_key_fingerprint(fo, other);
	snprintf(want, sizeof(want), "pinned key differs: pinned %s, presented %s", fo, fi);
	assert_int_equal(weft_handshake_check_pin(other, false, key, err), -EPERM);
	assert_string_equal(err, want);
	assert_int_equal(weft_handshake_check_pin(i.pk, true, key, err), 0);
	party_free(&i);
	party_free(&r);
}

/* The stamp is the sender's own and never compared with the reader's clock:
 * HELLOs stamped a day behind or ahead are read alike, and the stamp is
 * there for the caller's check. Only accept_hello consults the replay cache,
 * and only an accepted HELLO is remembered, so a HELLO read and then turned
 * away (asked for a cookie) can come back. */
static void test_replay_and_stamps(void **state)
{
	struct weft_handshake_replay *cache = weft_handshake_replay_new(64, 240000);
	const int64_t skews[] = {-86400000, -600000, -1, 0, 600000, 86400000};
	const struct weft_handshake_identity *id;
	struct party i, r;
	struct flight f;

	assert_non_null(cache);
	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);
	randombytes_buf(i.e, 32);
	i.cfg.ephemeral_priv = i.e;

	do_hello(&i, &r, cache, &f);
	do_welcome(&i, &r, &f);
	/* The same HELLO again, a second later: read (no DH), then refused. */
	reset_counts();
	assert_int_equal(read_accept(r.hs, &r.cfg, cache, I_INDEX, f.hello, f.hello_len,
				     NOW + 1000, err),
			 -EALREADY);
	assert_int_equal(dh_count + base_count, 0);
	assert_int_equal(weft_handshake_drop_reason(-EALREADY), WEFT_HANDSHAKE_DROP_REPLAY);
	assert_null(weft_handshake_remote_identity(r.hs));
	/* Once the cache forgot it, the same bytes are accepted once more: what
	 * stops that is the caller's stamp check. */
	assert_int_equal(read_accept(r.hs, &r.cfg, cache, I_INDEX, f.hello, f.hello_len,
				     NOW + WEFT_HANDSHAKE_REPLAY_KEEP_MS + 1000, err),
			 0);

	i.cfg.ephemeral_priv = NULL;
	for (size_t c = 0; c < WEFT_ARRAY_SIZE(skews); c++) {
		size_t before = weft_handshake_replay_count(cache);

		assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX,
							    NOW + (uint64_t)skews[c], f.hello,
							    sizeof(f.hello), &f.hello_len, err),
				 0);
		reset_counts();
		assert_int_equal(weft_handshake_read_hello(r.hs, &r.cfg, I_INDEX, f.hello,
							   f.hello_len, err),
				 0);
		id = weft_handshake_remote_identity(r.hs);
		assert_non_null(id);
		assert_int_equal(id->timestamp_ms, NOW + (uint64_t)skews[c]);
		assert_string_equal(id->nickname, "alpha");
		/* Read, not accepted: not remembered, and no WELCOME yet. */
		assert_int_equal(weft_handshake_replay_count(cache), before);
		assert_int_equal(weft_handshake_write_welcome(r.hs, R_INDEX, NOW, f.welcome,
							      sizeof(f.welcome), &f.welcome_len,
							      err),
				 -EINVAL);
		/* Read again (the same HELLO after a cookie round trip), accepted. */
		assert_int_equal(read_accept(r.hs, &r.cfg, cache, I_INDEX, f.hello, f.hello_len,
					     NOW, err),
				 0);
		assert_int_equal(dh_count + base_count, 0);
		assert_int_equal(weft_handshake_replay_count(cache), before + 1);
	}
	/* accept_hello out of order. */
	assert_int_equal(weft_handshake_accept_hello(r.hs, cache, NOW, err), -EINVAL);
	weft_handshake_replay_free(cache);
	party_free(&i);
	party_free(&r);
}

/* Every flipped byte of each message is refused; a failed WELCOME or CONFIRM
 * leaves the handshake able to take the genuine one. */
static void test_tamper(void **state)
{
	struct weft_handshake_replay *cache = weft_handshake_replay_new(64, 240000);
	struct party i, r;
	struct flight f;
	unsigned n = 0;

	assert_non_null(cache);
	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);

	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	for (size_t b = 0; b < f.hello_len; b++) {
		for (int bit = 0; bit < 8; bit += 7) {
			f.hello[b] ^= (uint8_t)(1 << bit);
			reset_counts();
			assert_int_equal(read_accept(r.hs, &r.cfg, cache, I_INDEX,
								   f.hello, f.hello_len, NOW, err),
					 -EBADMSG);
			assert_int_equal(dh_count + base_count, 0);
			f.hello[b] ^= (uint8_t)(1 << bit);
			n++;
		}
	}
	assert_int_equal(read_accept(r.hs, &r.cfg, cache, I_INDEX, f.hello,
						   f.hello_len - 1, NOW, err),
			 -EBADMSG);
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, cache, I_INDEX, f.hello, 0, NOW, err),
	    -EBADMSG);
	assert_int_equal(weft_handshake_replay_count(cache), 0);
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, cache, I_INDEX, f.hello, f.hello_len, NOW, err),
	    0);

	assert_int_equal(weft_handshake_write_welcome(r.hs, R_INDEX, NOW, f.welcome,
						      sizeof(f.welcome), &f.welcome_len, err),
			 0);
	/* After an authentic HELLO, a message that fails is the identity's
	 * failure (-EPROTO), not the network secret's (-EBADMSG). */
	for (size_t b = 0; b < f.welcome_len; b++) {
		f.welcome[b] ^= 0x01;
		assert_int_equal(
		    weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, f.welcome_len, err),
		    -EPROTO);
		f.welcome[b] ^= 0x01;
		n++;
	}
	assert_int_equal(
	    weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, f.welcome_len + 1, err),
	    -EPROTO);
	assert_int_equal(weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, 80, err), -EPROTO);
	assert_int_equal(weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, f.welcome_len, err),
			 0);

	assert_int_equal(
	    weft_handshake_write_confirm(i.hs, f.confirm, sizeof(f.confirm), &f.confirm_len, err),
	    0);
	for (size_t b = 0; b < f.confirm_len; b++) {
		f.confirm[b] ^= 0x80;
		assert_int_equal(weft_handshake_read_confirm(r.hs, f.confirm, f.confirm_len, err),
				 -EPROTO);
		f.confirm[b] ^= 0x80;
		n++;
	}
	assert_int_equal(weft_handshake_read_confirm(r.hs, f.confirm, 47, err), -EPROTO);
	assert_false(weft_handshake_done(r.hs));
	assert_int_equal(weft_handshake_read_confirm(r.hs, f.confirm, f.confirm_len, err), 0);
	assert_true(weft_handshake_done(r.hs));
	print_message("# %u tampered handshake messages refused\n", n);
	weft_handshake_replay_free(cache);
	party_free(&i);
	party_free(&r);
}

static void test_pin(void **state)
{
	char fa[WEFT_KEY_FPR_LEN], fb[WEFT_KEY_FPR_LEN], want[WEFT_ERRLEN];
	uint8_t a[32], b[32];
	struct party i, r;
	struct flight f;

	randombytes_buf(a, 32);
	memcpy(b, a, 32);
	assert_int_equal(weft_handshake_check_pin(a, false, b, err), 0);
	assert_int_equal(weft_handshake_check_pin(a, true, b, err), 0);
	assert_int_equal(weft_handshake_check_pin(NULL, false, b, err), 0);
	err[0] = '\0';
	/* Not pinned where pins are required: -EACCES, naming the key presented. */
	assert_int_equal(weft_handshake_check_pin(NULL, true, b, err), -EACCES);
	assert_non_null(strstr(err, "require_pinned_keys"));
	weft_key_fingerprint(fb, b);
	assert_non_null(strstr(err, fb));
	assert_int_equal(weft_handshake_drop_reason(-EACCES), WEFT_HANDSHAKE_DROP_PIN);
	/* A pin that differs: -EPERM, naming the pinned key, then the presented one. */
	b[1] ^= 4;
	weft_key_fingerprint(fa, a);
	weft_key_fingerprint(fb, b);
	assert_string_not_equal(fa, fb);
	snprintf(want, sizeof(want), "pinned key differs: pinned %s, presented %s", fa, fb);
	err[0] = '\0';
	assert_int_equal(weft_handshake_check_pin(a, false, b, err), -EPERM);
	assert_string_equal(err, want);
	assert_int_equal(weft_handshake_check_pin(a, true, b, err), -EPERM);
	assert_string_equal(err, want);
	assert_int_equal(weft_handshake_drop_reason(-EPERM), WEFT_HANDSHAKE_DROP_PIN);
	/* A difference past the fingerprint's bytes still refuses. */
	b[1] ^= 4;
	b[17] ^= 4;
	assert_int_equal(weft_handshake_check_pin(a, false, b, err), -EPERM);

	/* In a handshake: the initiator learns the key from the WELCOME. */
	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);
	do_hello(&i, &r, NULL, &f);
	do_welcome(&i, &r, &f);
	assert_int_equal(weft_handshake_remote_static(i.hs, b), 0);
	assert_int_equal(weft_handshake_check_pin(a, false, b, err), -EPERM);
	assert_int_equal(weft_handshake_check_pin(r.pk, true, b, err), 0);
	do_confirm(&i, &r, &f);
	assert_int_equal(weft_handshake_remote_static(r.hs, b), 0);
	assert_int_equal(weft_handshake_check_pin(i.pk, true, b, err), 0);
	assert_int_equal(weft_handshake_check_pin(r.pk, true, b, err), -EPERM);
	party_free(&i);
	party_free(&r);
}

static void test_identity_record(void **state)
{
	struct weft_handshake_identity id = {.index = 0xdeadbeef,
					     .timestamp_ms = UINT64_C(0x0102030405060708),
					     .capabilities = 0xffffffffu,
					     .listen_port = 65535,
					     .nickname = "Node_1.a-b"},
				       back;
	uint8_t buf[WEFT_HANDSHAKE_PAYLOAD_MAX], ext[WEFT_HANDSHAKE_PAYLOAD_MAX];
	static const uint8_t expect_head[20] = {1,    0xde, 0xad, 0xbe, 0xef, 1, 2,
						3,    4,    5,	  6,	7,    8, 0xff,
						0xff, 0xff, 0xff, 0xff, 0xff, 10};
	size_t len;

	assert_int_equal(weft_handshake_identity_encode(&id, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 30);
	assert_memory_equal(buf, expect_head, sizeof(expect_head));
	assert_memory_equal(buf + 20, "Node_1.a-b", 10);
	assert_int_equal(weft_handshake_identity_decode(&back, buf, len, 0xdeadbeef, err), 0);
	assert_int_equal(back.version, 1);
	assert_int_equal(back.index, id.index);
	assert_int_equal(back.timestamp_ms, id.timestamp_ms);
	assert_int_equal(back.capabilities, id.capabilities);
	assert_int_equal(back.listen_port, id.listen_port);
	assert_string_equal(back.nickname, id.nickname);
	assert_int_equal(weft_handshake_identity_encode(&id, buf, 29, &len), -ENOBUFS);

	/* Truncated anywhere, or one byte too many for version 1. */
	for (size_t l = 0; l < 30; l++)
		assert_int_equal(weft_handshake_identity_decode(&back, buf, l, 0xdeadbeef, err),
				 -EPROTO);
	buf[30] = 0;
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 31, 0xdeadbeef, err), -EPROTO);
	/* Index mismatch. */
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 30, 0xdeadbeee, err), -EPROTO);
	assert_non_null(strstr(err, "index"));
	/* Version 0. */
	buf[0] = 0;
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 30, 0xdeadbeef, err), -EPROTO);
	buf[0] = 1;
	/* Nicknames: a bad character, empty, too long (encode and decode). */
	buf[22] = ' ';
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 30, 0xdeadbeef, err), -EPROTO);
	buf[22] = '\0';
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 30, 0xdeadbeef, err), -EPROTO);
	buf[22] = 'd';
	buf[19] = 0;
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 20, 0xdeadbeef, err), -EPROTO);
	memset(buf + 20, 'x', 33);
	buf[19] = 33;
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 53, 0xdeadbeef, err), -EPROTO);
	buf[19] = 32;
	assert_int_equal(weft_handshake_identity_decode(&back, buf, 52, 0xdeadbeef, err), 0);
	assert_int_equal(strlen(back.nickname), 32);
	strcpy(id.nickname, "a/b");
	assert_int_equal(weft_handshake_identity_encode(&id, buf, sizeof(buf), &len), -EINVAL);
	id.nickname[0] = '\0';
	assert_int_equal(weft_handshake_identity_encode(&id, buf, sizeof(buf), &len), -EINVAL);
	assert_false(weft_handshake_nickname_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	assert_true(weft_handshake_nickname_valid("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
	assert_false(weft_handshake_nickname_valid(NULL));
	assert_false(weft_handshake_nickname_valid("é"));

	/* A later version appends fields: its v1 fields are read, the rest ignored. */
	strcpy(id.nickname, "n");
	assert_int_equal(weft_handshake_identity_encode(&id, ext, sizeof(ext), &len), 0);
	ext[0] = 7;
	memset(ext + len, 0xaa, 100);
	assert_int_equal(weft_handshake_identity_decode(&back, ext, len + 100, 0xdeadbeef, err), 0);
	assert_int_equal(back.version, 7);
	assert_string_equal(back.nickname, "n");
	assert_int_equal(back.listen_port, 65535);
	/* ...but not without them. */
	assert_int_equal(weft_handshake_identity_decode(&back, ext, len - 1, 0xdeadbeef, err),
			 -EPROTO);
}

/* Identity problems inside the handshake: index mismatches, a later version. */
static void test_identity_in_handshake(void **state)
{
	struct party i, r;
	struct flight f;

	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	reset_counts();
	assert_int_equal(read_accept(r.hs, &r.cfg, NULL, I_INDEX + 1, f.hello,
						   f.hello_len, NOW, err),
			 -EPROTO);
	assert_int_equal(dh_count + base_count, 0);
	assert_int_equal(weft_handshake_drop_reason(-EPROTO), WEFT_HANDSHAKE_DROP_IDENTITY);
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, NULL, I_INDEX, f.hello, f.hello_len, NOW, err),
	    0);
	assert_int_equal(weft_handshake_write_welcome(r.hs, R_INDEX, NOW, f.welcome,
						      sizeof(f.welcome), &f.welcome_len, err),
			 0);
	/* The WELCOME's clear sender index must be the one inside. */
	assert_int_equal(
	    weft_handshake_read_welcome(i.hs, R_INDEX ^ 1, f.welcome, f.welcome_len, err), -EPROTO);
	assert_int_equal(weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, f.welcome_len, err),
			 0);
	do_confirm(&i, &r, &f);
	party_free(&i);
	party_free(&r);
}

static void test_misuse(void **state)
{
	struct party i, r;
	struct flight f;
	struct weft_handshake_result res;
	uint8_t k1[32], k2[32];

	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);
	/* Nothing started. */
	assert_int_equal(weft_handshake_write_welcome(r.hs, R_INDEX, NOW, f.welcome,
						      sizeof(f.welcome), &f.welcome_len, err),
			 -EINVAL);
	assert_int_equal(weft_handshake_read_confirm(r.hs, f.confirm, 100, err), -EINVAL);
	assert_int_equal(
	    weft_handshake_write_confirm(i.hs, f.confirm, sizeof(f.confirm), &f.confirm_len, err),
	    -EINVAL);
	assert_int_equal(weft_handshake_finish(i.hs, &res, k1, k2), -EINVAL);
	assert_null(weft_handshake_remote_identity(i.hs));
	/* Bad configurations. */
	i.cfg.nickname = "bad nick";
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 -EINVAL);
	i.cfg.nickname = "alpha";
	i.cfg.psk = NULL;
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 -EINVAL);
	i.cfg.psk = psk;
	/* Too small a buffer. */
	assert_int_equal(
	    weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello, 10, &f.hello_len, err),
	    -ENOBUFS);
	do_hello(&i, &r, NULL, &f);
	/* The initiator does not read HELLOs' answers twice nor CONFIRMs. */
	assert_int_equal(weft_handshake_read_confirm(i.hs, f.hello, f.hello_len, err), -EINVAL);
	assert_int_equal(
	    weft_handshake_write_welcome(r.hs, R_INDEX, NOW, f.welcome, 20, &f.welcome_len, err),
	    -ENOBUFS);
	do_welcome(&i, &r, &f);
	assert_int_equal(weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, f.welcome_len, err),
			 -EINVAL);
	assert_int_equal(weft_handshake_write_confirm(i.hs, f.confirm, 30, &f.confirm_len, err),
			 -ENOBUFS);
	assert_int_equal(weft_handshake_finish(i.hs, &res, k1, k2), -EINVAL);
	do_confirm(&i, &r, &f);
	assert_int_equal(weft_handshake_finish(i.hs, &res, k1, k2), 0);
	assert_false(weft_handshake_done(i.hs));
	weft_handshake_free(NULL);
	party_free(&i);
	party_free(&r);
}

static void test_replay_cache(void **state)
{
	struct weft_handshake_replay *c = weft_handshake_replay_new(4, 1000);
	uint8_t k[6][32];

	assert_non_null(c);
	assert_null(weft_handshake_replay_new(0, 1000));
	for (int j = 0; j < 6; j++)
		randombytes_buf(k[j], 32);
	for (int j = 0; j < 4; j++)
		assert_int_equal(weft_handshake_replay_add(c, k[j], 100 + (uint64_t)j), 0);
	/* Already there: no second entry (and no refusal, though full). */
	assert_int_equal(weft_handshake_replay_add(c, k[0], 104), 0);
	assert_int_equal(weft_handshake_replay_count(c), 4);
	for (int j = 0; j < 4; j++)
		assert_true(weft_handshake_replay_contains(c, k[j], 200));
	assert_false(weft_handshake_replay_contains(c, k[4], 200));
	/* Full of entries inside their window: the new key is refused and no
	 * entry leaves early (a flood must not reopen a replay). */
	assert_int_equal(weft_handshake_replay_add(c, k[4], 201), -ENOSPC);
	assert_int_equal(weft_handshake_replay_count(c), 4);
	assert_false(weft_handshake_replay_contains(c, k[4], 202));
	for (int j = 0; j < 4; j++)
		assert_true(weft_handshake_replay_contains(c, k[j], 202));
	/* k[0] (added at 100, kept 1000 ms) has expired at 1100: room again. */
	assert_int_equal(weft_handshake_replay_add(c, k[4], 1099), -ENOSPC);
	assert_int_equal(weft_handshake_replay_add(c, k[4], 1100), 0);
	assert_false(weft_handshake_replay_contains(c, k[0], 1100));
	assert_true(weft_handshake_replay_contains(c, k[4], 1100));
	/* Expiry: k[1] was added at 101. */
	assert_true(weft_handshake_replay_contains(c, k[1], 1100));
	assert_false(weft_handshake_replay_contains(c, k[1], 1101));
	assert_true(weft_handshake_replay_contains(c, k[2], 1101));
	assert_false(weft_handshake_replay_contains(c, k[4], 2100));
	assert_int_equal(weft_handshake_replay_count(c), 0);
	weft_handshake_replay_free(c);

	/* Many keys through a small cache, faster than it can hold: each key is
	 * either taken and kept for its whole window, or refused; the hash
	 * table stays consistent through thousands of expiries. */
	{
		enum { N = 3 * WEFT_HANDSHAKE_REPLAY_CAPACITY + 123 };
		uint8_t(*keys)[32] = malloc(N * 32);
		bool *taken = calloc(N, sizeof(bool));
		size_t refused = 0, inside = 0;
		uint64_t end = 5 + (uint64_t)(N - 1) / 8;

		c = weft_handshake_replay_new(WEFT_HANDSHAKE_REPLAY_CAPACITY, 1000);
		assert_non_null(c);
		assert_non_null(keys);
		assert_non_null(taken);
		randombytes_buf(keys, (size_t)N * 32);
		/* 8 keys a millisecond: 8000 a window, twice the capacity. */
		for (int j = 0; j < N; j++) {
			uint64_t t = 5 + (uint64_t)j / 8;

			assert_false(weft_handshake_replay_contains(c, keys[j], t));
			taken[j] = weft_handshake_replay_add(c, keys[j], t) == 0;
			refused += !taken[j];
		}
		assert_true(refused > 0);
		for (int j = 0; j < N; j++) {
			bool in_window = end - (5 + (uint64_t)j / 8) < 1000;

			assert_int_equal(weft_handshake_replay_contains(c, keys[j], end),
					 taken[j] && in_window);
			inside += taken[j] && in_window;
		}
		assert_int_equal(weft_handshake_replay_count(c), inside);
		free(taken);
		free(keys);
		weft_handshake_replay_free(c);
	}
	weft_handshake_replay_free(NULL);
}

/* read_hello refuses a HELLO it cannot remember (-ENOSPC) and remembers
 * nothing of it; once an entry expired, the same HELLO is taken. */
static void test_replay_full_refuses(void **state)
{
	struct weft_handshake_replay *cache = weft_handshake_replay_new(1, 1000);
	struct party i, r;
	struct flight f, g;

	assert_non_null(cache);
	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);
	do_hello(&i, &r, cache, &f);
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, g.hello,
						    sizeof(g.hello), &g.hello_len, err),
			 0);
	reset_counts();
	EXPECT_FAILS(read_accept(r.hs, &r.cfg, cache, I_INDEX, g.hello, g.hello_len,
					       NOW + 999, err),
		     -ENOSPC);
	assert_int_equal(dh_count + base_count, 0);
	assert_null(weft_handshake_remote_identity(r.hs));
	assert_int_equal(weft_handshake_drop_reason(-ENOSPC), WEFT_HANDSHAKE_DROP_REPLAY_FULL);
	assert_int_equal(read_accept(r.hs, &r.cfg, cache, I_INDEX, g.hello,
						   g.hello_len, NOW + 1000, err),
			 0);
	/* The first HELLO is forgotten now; its timestamp still bounds it. */
	assert_int_equal(weft_handshake_replay_count(cache), 1);
	weft_handshake_replay_free(cache);
	party_free(&i);
	party_free(&r);
}

static void test_drop_names(void **state)
{
	const int errs[] = {-EBADMSG, -EPROTO, -EALREADY, -EPERM,
			    -EACCES,  -ENOSPC, -ENOMEM,	  -ETIME};
	const char *names[] = {"auth_failed", "bad_identity", "replayed", "pin_refused",
			       "pin_refused", "replay_full",  "other",	  "other"};

	for (size_t j = 0; j < WEFT_ARRAY_SIZE(errs); j++)
		assert_string_equal(weft_handshake_drop_name(weft_handshake_drop_reason(errs[j])),
				    names[j]);
	assert_string_equal(weft_handshake_drop_name(WEFT_HANDSHAKE_DROP_COUNT), "other");
}

/* Room for any handshake datagram we write. */
#define DGRAM_MAX (WEFT_WIRE_WELCOME_HEADER_LEN + WEFT_HANDSHAKE_WELCOME_MAX)
_Static_assert(DGRAM_MAX >= WEFT_HANDSHAKE_HELLO_DATAGRAM_MAX, "room for a HELLO");

/* The one-call datagrams are byte for byte what writing the Noise message and
 * framing it with common/wire gives (fixed ephemeral keys on both sides make
 * two runs of the same handshake identical). */
static void test_datagrams(void **state)
{
	struct party i, r;
	struct weft_handshake *i2, *r2;
	struct flight f;
	struct weft_wire_msg msg;
	struct weft_cookie_keys keys;
	uint8_t two_step[DGRAM_MAX], one_call[DGRAM_MAX];
	size_t two_len, one_len;

	party_init(&i, "alpha", 6783, 1);
	party_init(&r, "bravo", 6783, 2);
	randombytes_buf(i.e, sizeof(i.e));
	randombytes_buf(r.e, sizeof(r.e));
	i.cfg.ephemeral_priv = i.e;
	r.cfg.ephemeral_priv = r.e;
	i2 = weft_handshake_new();
	r2 = weft_handshake_new();
	assert_non_null(i2);
	assert_non_null(r2);

	/* HELLO */
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	assert_int_equal(weft_wire_build_hello(two_step, sizeof(two_step), I_INDEX, f.hello,
					       f.hello_len, &two_len),
			 0);
	/* mac1 keyed from the PSK and the network name, mac2 zero (no cookie). */
	assert_int_equal(weft_cookie_keys_derive(&keys, psk, NET), 0);
	weft_cookie_put_macs(&keys, NULL, two_step, two_len);
	assert_int_equal(weft_handshake_write_hello_datagram(i2, &i.cfg, I_INDEX, NOW, one_call,
							     sizeof(one_call), &one_len, err),
			 0);
	assert_int_equal(one_len, two_len);
	assert_memory_equal(one_call, two_step, two_len);
	/* The same with the keys given: derived once by the caller. */
	i.cfg.macs = &keys;
	assert_int_equal(weft_handshake_write_hello_datagram(i2, &i.cfg, I_INDEX, NOW, one_call,
							     sizeof(one_call), &one_len, err),
			 0);
	i.cfg.macs = NULL;
	assert_memory_equal(one_call, two_step, two_len);
	assert_int_equal(weft_wire_parse(&msg, one_call, one_len), 0);
	assert_int_equal(msg.type, WEFT_WIRE_HELLO);
	assert_int_equal(msg.sender_index, I_INDEX);
	assert_true(weft_cookie_mac1_valid(&keys, one_call, one_len));
	assert_true(sodium_is_zero(msg.mac2, WEFT_WIRE_MAC_LEN));
	assert_int_equal(
	    read_accept(r.hs, &r.cfg, NULL, I_INDEX, f.hello, f.hello_len, NOW, err),
	    0);
	assert_int_equal(read_accept(r2, &r.cfg, NULL, msg.sender_index, msg.body,
						   msg.body_len, NOW, err),
			 0);

	/* WELCOME */
	assert_int_equal(weft_handshake_write_welcome(r.hs, R_INDEX, NOW + 5, f.welcome,
						      sizeof(f.welcome), &f.welcome_len, err),
			 0);
	assert_int_equal(weft_wire_build_welcome(two_step, sizeof(two_step), R_INDEX, I_INDEX,
						 f.welcome, f.welcome_len, &two_len),
			 0);
	assert_int_equal(weft_handshake_write_welcome_datagram(r2, R_INDEX, I_INDEX, NOW + 5,
							       one_call, sizeof(one_call), &one_len,
							       err),
			 0);
	assert_int_equal(one_len, two_len);
	assert_memory_equal(one_call, two_step, two_len);
	assert_int_equal(weft_wire_parse(&msg, one_call, one_len), 0);
	assert_int_equal(msg.type, WEFT_WIRE_WELCOME);
	assert_int_equal(msg.sender_index, R_INDEX);
	assert_int_equal(msg.receiver_index, I_INDEX);
	assert_int_equal(weft_handshake_read_welcome(i.hs, R_INDEX, f.welcome, f.welcome_len, err),
			 0);
	assert_int_equal(
	    weft_handshake_read_welcome(i2, msg.sender_index, msg.body, msg.body_len, err), 0);

	/* CONFIRM */
	assert_int_equal(
	    weft_handshake_write_confirm(i.hs, f.confirm, sizeof(f.confirm), &f.confirm_len, err),
	    0);
	assert_int_equal(weft_wire_build_confirm(two_step, sizeof(two_step), R_INDEX, f.confirm,
						 f.confirm_len, &two_len),
			 0);
	/* Exactly the datagram's size is enough. */
	assert_int_equal(
	    weft_handshake_write_confirm_datagram(i2, R_INDEX, one_call, two_len, &one_len, err),
	    0);
	assert_int_equal(one_len, two_len);
	assert_memory_equal(one_call, two_step, two_len);
	assert_int_equal(weft_wire_parse(&msg, one_call, one_len), 0);
	assert_int_equal(msg.type, WEFT_WIRE_CONFIRM);
	assert_int_equal(msg.receiver_index, R_INDEX);
	assert_int_equal(weft_handshake_read_confirm(r2, msg.body, msg.body_len, err), 0);
	assert_true(weft_handshake_done(i2) && weft_handshake_done(r2));

	weft_handshake_free(i2);
	weft_handshake_free(r2);
	party_free(&i);
	party_free(&r);
}

static void test_datagram_errors(void **state)
{
	struct party i, r;
	uint8_t buf[DGRAM_MAX];
	size_t len, need;

	party_init(&i, "alpha", 1, 0);
	party_init(&r, "bravo", 1, 0);

	/* Out of order: nothing to answer or confirm yet. */
	EXPECT_FAILS(weft_handshake_write_welcome_datagram(r.hs, R_INDEX, I_INDEX, NOW, buf,
							   sizeof(buf), &len, err),
		     -EINVAL);
	EXPECT_FAILS(
	    weft_handshake_write_confirm_datagram(i.hs, R_INDEX, buf, sizeof(buf), &len, err),
	    -EINVAL);
	/* Bad configuration. */
	i.cfg.nickname = "no spaces";
	EXPECT_FAILS(weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, buf,
							 sizeof(buf), &len, err),
		     -EINVAL);
	i.cfg.nickname = "alpha";
	i.cfg.static_priv = NULL;
	EXPECT_FAILS(weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, buf,
							 sizeof(buf), &len, err),
		     -EINVAL);
	i.cfg.static_priv = i.sk;

	/* Too small for the header, and for the Noise message behind it. */
	need = WEFT_WIRE_HELLO_HEADER_LEN + WEFT_HANDSHAKE_HELLO_LEN(20 + strlen("alpha")) +
	       WEFT_WIRE_HELLO_TRAILER_LEN;
	EXPECT_FAILS(
	    weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, buf, 0, &len, err),
	    -ENOBUFS);
	EXPECT_FAILS(weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, buf,
							 WEFT_WIRE_HELLO_HEADER_LEN - 1, &len, err),
		     -ENOBUFS);
	EXPECT_FAILS(weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, buf, need - 1,
							 &len, err),
		     -ENOBUFS);
	assert_int_equal(
	    weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, buf, need, &len, err),
	    0);
	assert_int_equal(len, need);
	assert_int_equal(read_accept(
			     r.hs, &r.cfg, NULL, I_INDEX, buf + WEFT_WIRE_HELLO_HEADER_LEN,
			     len - WEFT_WIRE_HELLO_HEADER_LEN - WEFT_WIRE_HELLO_TRAILER_LEN, NOW,
			     err),
			 0);

	/* A WELCOME or CONFIRM that does not fit changes nothing: retry with room. */
	need = WEFT_WIRE_WELCOME_HEADER_LEN + WEFT_HANDSHAKE_WELCOME_LEN(20 + strlen("bravo"));
	EXPECT_FAILS(weft_handshake_write_welcome_datagram(r.hs, R_INDEX, I_INDEX, NOW, buf,
							   WEFT_WIRE_WELCOME_HEADER_LEN - 1, &len,
							   err),
		     -ENOBUFS);
	EXPECT_FAILS(weft_handshake_write_welcome_datagram(r.hs, R_INDEX, I_INDEX, NOW, buf,
							   need - 1, &len, err),
		     -ENOBUFS);
	assert_int_equal(weft_handshake_write_welcome_datagram(r.hs, R_INDEX, I_INDEX, NOW, buf,
							       need, &len, err),
			 0);
	assert_int_equal(len, need);
	assert_int_equal(weft_handshake_read_welcome(i.hs, R_INDEX,
						     buf + WEFT_WIRE_WELCOME_HEADER_LEN,
						     len - WEFT_WIRE_WELCOME_HEADER_LEN, err),
			 0);
	need = WEFT_WIRE_CONFIRM_HEADER_LEN + WEFT_HANDSHAKE_CONFIRM_LEN(20 + strlen("alpha"));
	EXPECT_FAILS(weft_handshake_write_confirm_datagram(i.hs, R_INDEX, buf, 3, &len, err),
		     -ENOBUFS);
	EXPECT_FAILS(weft_handshake_write_confirm_datagram(i.hs, R_INDEX, buf, need - 1, &len, err),
		     -ENOBUFS);
	assert_int_equal(weft_handshake_write_confirm_datagram(i.hs, R_INDEX, buf, need, &len, err),
			 0);
	assert_int_equal(weft_handshake_read_confirm(r.hs, buf + WEFT_WIRE_CONFIRM_HEADER_LEN,
						     len - WEFT_WIRE_CONFIRM_HEADER_LEN, err),
			 0);
	/* Done: nothing more to write. */
	EXPECT_FAILS(
	    weft_handshake_write_confirm_datagram(i.hs, R_INDEX, buf, sizeof(buf), &len, err),
	    -EINVAL);
	EXPECT_FAILS(weft_handshake_write_welcome_datagram(r.hs, R_INDEX, I_INDEX, NOW, buf,
							   sizeof(buf), &len, err),
		     -EINVAL);
	party_free(&i);
	party_free(&r);
}

/* The COOKIE round trip as both sides run it: the responder answers the HELLO
 * with a COOKIE (common/cookie), the initiator sends the very same HELLO again
 * with mac2, the responder accepts that mac2 and the handshake goes on. */
static void test_cookie_resend(void **state)
{
	struct party i, r;
	struct weft_cookie_keys *keys = weft_cookie_keys_new(psk, NET);
	struct weft_cookie_secret *secret = weft_cookie_secret_new();
	uint8_t hello[DGRAM_MAX], again[DGRAM_MAX], reply[WEFT_WIRE_COOKIE_LEN], cookie[16];
	uint8_t jar_cookie[16], e1[32], e2[32];
	size_t hello_len, again_len, reply_len;
	struct weft_wire_msg msg, cmsg;
	union weft_sockaddr src = {.in4 = {.sin_family = AF_INET, .sin_port = htons(6783)}};
	struct weft_handshake *plain = weft_handshake_new();

	assert_non_null(keys);
	assert_non_null(secret);
	assert_non_null(plain);
	src.in4.sin_addr.s_addr = htonl(0x0a000001);
	party_init(&i, "alpha", 6783, 1);
	party_init(&r, "bravo", 6783, 1);
	i.cfg.macs = keys;

	/* No HELLO datagram of ours yet (write_hello alone keeps none). */
	assert_int_equal(weft_handshake_write_hello(plain, &i.cfg, I_INDEX, NOW, hello,
						    sizeof(hello), &hello_len, err),
			 0);
	assert_int_equal(weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, hello,
							     sizeof(hello), &hello_len, err),
			 0);
	assert_int_equal(weft_wire_parse(&msg, hello, hello_len), 0);
	assert_true(weft_cookie_mac1_valid(keys, hello, hello_len));
	/* Responder under load: no valid mac2, so a COOKIE and nothing else. */
	assert_false(weft_cookie_check(secret, 1000, &src, hello, hello_len));
	reset_counts();
	assert_int_equal(weft_cookie_reply(keys, secret, 1000, &src, hello, hello_len, reply,
					   sizeof(reply), &reply_len),
			 0);
	assert_int_equal(dh_count + base_count, 0);
	assert_int_equal(reply_len, WEFT_WIRE_COOKIE_LEN);
	assert_int_equal(weft_wire_parse(&cmsg, reply, reply_len), 0);
	assert_int_equal(cmsg.type, WEFT_WIRE_COOKIE);
	assert_int_equal(cmsg.receiver_index, I_INDEX);

	/* Misdirected or forged COOKIEs change nothing. */
	EXPECT_FAILS(weft_handshake_read_cookie(plain, keys, &cmsg, cookie, again, sizeof(again),
						&again_len, err),
		     -EINVAL);
	cmsg.receiver_index ^= 1;
	EXPECT_FAILS(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again, sizeof(again),
						&again_len, err),
		     -EINVAL);
	cmsg.receiver_index ^= 1;
	EXPECT_FAILS(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again, hello_len - 1,
						&again_len, err),
		     -ENOBUFS);
	for (size_t b = 8; b < reply_len; b++) {
		reply[b] ^= 0x20;
		EXPECT_FAILS(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again,
							sizeof(again), &again_len, err),
			     -EBADMSG);
		reply[b] ^= 0x20;
	}
	/* Another network's COOKIE key. */
	{
		struct weft_cookie_keys other;

		assert_int_equal(weft_cookie_keys_derive(&other, psk, "prod2"), 0);
		EXPECT_FAILS(weft_handshake_read_cookie(i.hs, &other, &cmsg, cookie, again,
							sizeof(again), &again_len, err),
			     -EBADMSG);
	}

	/* The genuine one: the same HELLO, only mac2 differs, and it is valid. */
	assert_int_equal(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again, sizeof(again),
						    &again_len, err),
			 0);
	assert_int_equal(again_len, hello_len);
	assert_memory_equal(again, hello, hello_len - WEFT_WIRE_MAC_LEN);
	assert_memory_not_equal(again + hello_len - 16, hello + hello_len - 16, 16);
	assert_true(weft_cookie_mac1_valid(keys, again, again_len));
	assert_true(weft_cookie_check(secret, 1000, &src, again, again_len));
	assert_true(weft_cookie_mac2_valid(cookie, again, again_len));
	/* From another address the cookie proves nothing. */
	src.in4.sin_port = htons(6784);
	assert_false(weft_cookie_check(secret, 1000, &src, again, again_len));
	src.in4.sin_port = htons(6783);

	/* The same COOKIE again (replayed) makes us send nothing. */
	EXPECT_FAILS(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again, sizeof(again),
						&again_len, err),
		     -EALREADY);
	/* A COOKIE from the responder's next secret: taken once more, then no more. */
	assert_int_equal(weft_cookie_reply(keys, secret, 1000 + WEFT_COOKIE_ROTATE_MS, &src, hello,
					   hello_len, reply, sizeof(reply), &reply_len),
			 0);
	assert_int_equal(weft_wire_parse(&cmsg, reply, reply_len), 0);
	assert_int_equal(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again, sizeof(again),
						    &again_len, err),
			 0);
	assert_true(
	    weft_cookie_check(secret, 1000 + WEFT_COOKIE_ROTATE_MS, &src, again, again_len));
	assert_int_equal(weft_cookie_reply(keys, secret, 1000 + 2 * WEFT_COOKIE_ROTATE_MS, &src,
					   hello, hello_len, reply, sizeof(reply), &reply_len),
			 0);
	assert_int_equal(weft_wire_parse(&cmsg, reply, reply_len), 0);
	EXPECT_FAILS(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again, sizeof(again),
						&again_len, err),
		     -EALREADY);

	/* The resent HELLO is the same Noise message: same ephemeral key, and
	 * the responder takes it. */
	assert_int_equal(weft_wire_parse(&msg, again, again_len), 0);
	memcpy(e1, hello + 8, 32);
	memcpy(e2, msg.body, 32);
	assert_memory_equal(e1, e2, 32);
	assert_int_equal(read_accept(r.hs, &r.cfg, NULL, msg.sender_index, msg.body,
						   msg.body_len, NOW, err),
			 0);
	{
		struct flight f;

		do_welcome(&i, &r, &f);
		do_confirm(&i, &r, &f);
	}
	/* After the WELCOME no COOKIE applies. */
	EXPECT_FAILS(weft_handshake_read_cookie(i.hs, keys, &cmsg, cookie, again, sizeof(again),
						&again_len, err),
		     -EINVAL);

	/* The next HELLO to that responder carries the cookie at once. */
	weft_cookie_make(secret, 5000, &src, jar_cookie);
	i.cfg.cookie = jar_cookie;
	assert_int_equal(weft_handshake_write_hello_datagram(i.hs, &i.cfg, I_INDEX, NOW, hello,
							     sizeof(hello), &hello_len, err),
			 0);
	assert_true(weft_cookie_mac1_valid(keys, hello, hello_len));
	assert_true(weft_cookie_check(secret, 5000, &src, hello, hello_len));

	weft_handshake_free(plain);
	weft_cookie_secret_free(secret);
	weft_cookie_keys_free(keys);
	party_free(&i);
	party_free(&r);
}

/* The prologue names the protocol version: a HELLO made with version 1's
 * prologue ("weft/1 ", the same PSK and name) fails the first AEAD tag of a
 * version 2 responder, and the other way round, whatever the headers say. */
static void test_prologue_version(void **state)
{
	static const char v1[] = "weft/1 " NET;
	struct weft_noise *n = weft_noise_new();
	struct weft_handshake_identity id = {.index = I_INDEX, .timestamp_ms = NOW};
	uint8_t sk[32], pk[32], record[64], msg1[256], plain[256];
	size_t rlen, mlen, plen;
	struct party i, r;
	struct flight f;
	struct weft_noise_config nc = {
	    .pattern = WEFT_NOISE_XXPSK0,
	    .initiator = true,
	    .prologue = (const uint8_t *)v1,
	    .prologue_len = sizeof(v1) - 1,
	    .static_priv = sk,
	    .static_pub = pk,
	    .psk = psk,
	};

	assert_non_null(n);
	assert_string_equal(WEFT_HANDSHAKE_PROLOGUE, "weft/2 ");
	randombytes_buf(sk, sizeof(sk));
	assert_int_equal(crypto_scalarmult_base(pk, sk), 0);
	strcpy(id.nickname, "old");
	assert_int_equal(weft_handshake_identity_encode(&id, record, sizeof(record), &rlen), 0);
	assert_int_equal(weft_noise_init(n, &nc), 0);
	assert_int_equal(weft_noise_write(n, record, rlen, msg1, sizeof(msg1), &mlen), 0);
	party_init(&r, "bravo", 1, 0);
	reset_counts();
	EXPECT_FAILS(read_accept(r.hs, &r.cfg, NULL, I_INDEX, msg1, mlen, NOW, err),
		     -EBADMSG);
	assert_int_equal(dh_count + base_count, 0);

	/* A version 2 HELLO read with version 1's prologue. */
	party_init(&i, "alpha", 1, 0);
	assert_int_equal(weft_handshake_write_hello(i.hs, &i.cfg, I_INDEX, NOW, f.hello,
						    sizeof(f.hello), &f.hello_len, err),
			 0);
	nc.initiator = false;
	assert_int_equal(weft_noise_init(n, &nc), 0);
	assert_int_equal(weft_noise_read(n, f.hello, f.hello_len, plain, sizeof(plain), &plen),
			 -EBADMSG);
	weft_noise_free(n);
	party_free(&i);
	party_free(&r);
}

/* Nicknames take exactly the characters of WEFT_NAME_CHARS. */
static void test_nickname_chars(void **state)
{
	char nick[2] = {0, 0};

	for (int c = 1; c < 256; c++) {
		nick[0] = (char)c;
		assert_int_equal(weft_handshake_nickname_valid(nick),
				 strchr(WEFT_NAME_CHARS, c) != NULL);
	}
	assert_false(weft_handshake_nickname_valid(""));
}

static int setup(void **state)
{
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(psk, sizeof(psk));
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_handshake),
	    cmocka_unit_test(test_wrong_psk_no_dh),
	    cmocka_unit_test(test_refusal_kinds),
	    cmocka_unit_test(test_replay_and_stamps),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_pin),
	    cmocka_unit_test(test_identity_record),
	    cmocka_unit_test(test_identity_in_handshake),
	    cmocka_unit_test(test_misuse),
	    cmocka_unit_test(test_replay_cache),
	    cmocka_unit_test(test_replay_full_refuses),
	    cmocka_unit_test(test_cookie_resend),
	    cmocka_unit_test(test_prologue_version),
	    cmocka_unit_test(test_drop_names),
	    cmocka_unit_test(test_datagrams),
	    cmocka_unit_test(test_datagram_errors),
	    cmocka_unit_test(test_nickname_chars),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
