/* SPDX-License-Identifier: MIT */
/* weftd: command line, key tools, configuration check, then the daemon. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/aead.h"
#include "common/config.h"
#include "common/key.h"
#include "daemon/daemon.h"
#include "daemon/identity.h"
#include "daemon/log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: weftd [-c FILE]               run the daemon (foreground)\n"
		"       weftd -t -c FILE              check the configuration and exit\n"
		"       weftd --dump-config -c FILE   print the normalised configuration\n"
		"       weftd --print-example         print the documented example configuration\n"
		"       weftd --print-manpage         print the weft.conf(5) manual page (roff)\n"
		"       weftd genkey                  print a new private key (base64)\n"
		"       weftd pubkey                  read a private key on stdin, print its public key\n"
		"       weftd genpsk                  print a new network secret (base64)\n"
		"\n"
		"Options:\n"
		"  -c, --config FILE   configuration file (default /etc/weft/weft.conf)\n"
		"  -t, --test          check the configuration and the key files it names, print\n"
		"                      `configuration OK' or every error\n"
		"      --dump-config   print every key, defaults filled in\n"
		"      --print-example print conf/weft.conf, every key documented\n"
		"      --print-manpage print docs/man/weft.conf.5, every key documented\n"
		"  -d, --debug         log at debug level (overrides [log] level)\n"
		"  -h, --help          this text\n"
		"  -V, --version       print the version\n");
}

/* Warn when a key is about to land in a file that others can read. */
static void warn_if_stdout_exposed(void)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) == 0 && S_ISREG(st.st_mode) &&
	    (st.st_mode & (S_IRWXG | S_IRWXO)))
		fprintf(stderr,
			"weftd: warning: writing a secret to a file that group or others can read "
			"(mode %04o); use `umask 077' first\n",
			(unsigned)(st.st_mode & 07777));
}

static int out_of_memory(void)
{
	fprintf(stderr, "weftd: out of memory\n");
	return 1;
}

static int print_key(uint8_t *key)
{
	char b64[WEFT_KEY_B64_LEN];

	warn_if_stdout_exposed();
	weft_key_encode(b64, key);
	printf("%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	return fflush(stdout) == 0 ? 0 : 1;
}

static int cmd_genkey(void)
{
	uint8_t *priv = weft_key_alloc();
	int ret;

	if (!priv)
		return out_of_memory();
	weft_key_generate_private(priv);
	ret = print_key(priv);
	weft_key_free(priv);
	return ret;
}

static int cmd_genpsk(void)
{
	uint8_t *psk = weft_key_alloc();
	int ret;

	if (!psk)
		return out_of_memory();
	weft_key_generate_secret(psk);
	ret = print_key(psk);
	weft_key_free(psk);
	return ret;
}

static int cmd_pubkey(void)
{
	char line[256], err[WEFT_ERRLEN], b64[WEFT_KEY_B64_LEN];
	uint8_t *priv = weft_key_alloc();
	uint8_t pub[WEFT_KEY_LEN];
	int ret = 1;

	if (!priv)
		return out_of_memory();
	if (!fgets(line, sizeof(line), stdin)) {
		fprintf(stderr, "weftd pubkey: expected a private key on standard input\n");
		goto out;
	}
	if (weft_key_decode(priv, line, err) < 0) {
		fprintf(stderr, "weftd pubkey: %s\n", err);
		goto out;
	}
	if (weft_key_public(pub, priv) < 0) {
		fprintf(stderr, "weftd pubkey: not a usable X25519 private key\n");
		goto out;
	}
	weft_key_encode(b64, pub);
	printf("%s\n", b64);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	sodium_memzero(line, sizeof(line));
	weft_key_free(priv);
	return ret;
}

static struct weft_config *load_config(const char *path)
{
	struct weft_config_errors errs;
	struct weft_config *cfg;
	struct stat st;

	/* fopen() takes a directory and its first read fails: say what it is. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		fprintf(stderr, "%s: is a directory, not a configuration file (e.g. %s/NAME.conf)\n",
			path, path);
		return NULL;
	}
	weft_config_errors_init(&errs);
	cfg = weft_config_load_file(path, &errs);
	for (size_t i = 0; i < errs.count; i++)
		fprintf(stderr, "%s\n", errs.msg[i]);
	weft_config_errors_free(&errs);
	return cfg;
}

/* weftd -t after the file parsed: the key files it names are loaded as
 * start-up loads them (daemon/identity.c), with the same messages. Notes on
 * stdout, errors on stderr; exits 1 on any error. Takes @cfg. */
static int check_config(struct weft_config *cfg)
{
	struct weft_identity_check chk;
	int ret = weft_identity_check(cfg, &chk);

	weft_config_free(cfg);
	if (chk.secret_err[0])
		fprintf(stderr, "%s\n", chk.secret_err);
	if (chk.key_err[0])
		fprintf(stderr, "%s\n", chk.key_err);
	if (ret < 0)
		return 1;
	if (chk.key_note[0])
		printf("%s\n", chk.key_note);
	printf("configuration OK\n");
	return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	enum { OPT_DUMP = 256, OPT_EXAMPLE, OPT_MANPAGE };
	static const struct option options[] = {
		{"config", required_argument, NULL, 'c'},
		{"test", no_argument, NULL, 't'},
		{"dump-config", no_argument, NULL, OPT_DUMP},
		{"print-example", no_argument, NULL, OPT_EXAMPLE},
		{"print-manpage", no_argument, NULL, OPT_MANPAGE},
		{"debug", no_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	const char *path = "/etc/weft/weft.conf";
	bool test = false, dump = false, debug = false;
	struct weft_config *cfg;
	int c, ret;

	while ((c = getopt_long(argc, argv, "c:tdhV", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = true;
			break;
		case OPT_DUMP:
			dump = true;
			break;
		case OPT_EXAMPLE:
			weft_config_write_docs(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		case OPT_MANPAGE:
			weft_config_write_manpage(stdout);
			return fflush(stdout) == 0 ? 0 : 1;
		case 'd':
			debug = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V': {
			/* which library seals DATA (a build option, and libcrypto may
			 * refuse the cipher at run time) */
			enum weft_aead_backend aead = weft_aead_probe(), cold = weft_aead_cold();
#if defined(WEFT_STATIC_DATAPATH) && defined(HAVE_NETTLE)
			/* configure --with-static-datapath: what a distribution's
			 * library update does not reach without a rebuild */
			const char *linked_in = "; linked in: libev, libsodium, nettle";
#elif defined(WEFT_STATIC_DATAPATH)
			const char *linked_in = "; linked in: libev, libsodium";
#else
			const char *linked_in = "";
#endif

			printf("weftd %s (AEAD: %s %s; short records after idle: %s %s%s)\n",
			       PACKAGE_VERSION, weft_aead_name(aead), weft_aead_version(aead),
			       weft_aead_name(cold), weft_aead_version(cold), linked_in);
			return 0;
		}
		default:
			usage(stderr);
			return 2;
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "weftd: libsodium failed to initialise\n");
		return 1;
	}
	if (optind < argc) {
		const char *cmd = argv[optind];

		if (optind + 1 != argc) {
			usage(stderr);
			return 2;
		}
		if (!strcmp(cmd, "genkey"))
			return cmd_genkey();
		if (!strcmp(cmd, "genpsk"))
			return cmd_genpsk();
		if (!strcmp(cmd, "pubkey"))
			return cmd_pubkey();
		fprintf(stderr, "weftd: unknown command `%s'\n", cmd);
		usage(stderr);
		return 2;
	}

	cfg = load_config(path);
	if (!cfg)
		return 1;
	if (test)
		return check_config(cfg);
	if (dump) {
		weft_config_dump(cfg, stdout);
		weft_config_free(cfg);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	/* -d outlives reloads: an operator debugging a reload must see it. */
	if (debug)
		weft_log_force(LOG_DEBUG);
	weft_log_init(cfg->log_level);
	/* A write to a peer that is gone (a control client closed before its
	 * reply, a log pipe closed under us) is an error to handle where it
	 * happens, never the end of weftd. systemd sets SIGPIPE ignored; a
	 * shell does not. */
	signal(SIGPIPE, SIG_IGN);
	ret = weft_daemon_run(cfg, path);
	/* weft_daemon_run took ownership of cfg (it may have been replaced by a reload). */
	return ret;
}
