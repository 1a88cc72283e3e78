/* SPDX-License-Identifier: MIT */
/*
 * linktool: drives daemon/link for tests/netns/link.sh. Commands run in
 * order on one rtnetlink handle; the first failure prints its reason and
 * exits 1.
 *
 *   setup BRIDGE MTU create|nocreate   prints "dp_ifindex N", then "unplugged"
 *                                      when the bridge is missing and may not be made
 *   plug                               prints "plugged" (now) or "was plugged"
 *   set-mtu MTU                        the overlay MTU, for the bridge
 *   teardown
 *   route-mtu ADDRESS                  prints "IFNAME MTU"
 *   mtu IFNAME                         prints "MTU"
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "daemon/link.h"
#include "daemon/log.h"

static void usage(void)
{
	fprintf(stderr, "usage: linktool [-v] {setup BRIDGE MTU create|nocreate | plug | "
			"set-mtu MTU | teardown | route-mtu ADDRESS | mtu IFNAME}...\n");
	exit(2);
}

static int parse_addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

int main(int argc, char **argv)
{
	char err[WEFT_ERRLEN] = "";
	struct weft_link *l;
	int i = 1, rc = 0;

	weft_log_init(LOG_INFO);
	if (i < argc && strcmp(argv[i], "-v") == 0) {
		weft_log_init(LOG_DEBUG);
		i++;
	}
	if (i >= argc)
		usage();
	if (weft_link_new(&l, err)) {
		fprintf(stderr, "linktool: %s\n", err);
		return 1;
	}
	while (i < argc && rc == 0) {
		const char *cmd = argv[i++];

		if (strcmp(cmd, "setup") == 0) {
			struct weft_link_spec spec = {0}; /* port_mtu 0: the overlay MTU */
			int dp;

			if (argc - i < 3)
				usage();
			spec.bridge = argv[i];
			spec.mtu = (unsigned)strtoul(argv[i + 1], NULL, 10);
			if (strcmp(argv[i + 2], "create") == 0)
				spec.create_bridge = true;
			else if (strcmp(argv[i + 2], "nocreate") == 0)
				spec.create_bridge = false;
			else
				usage();
			i += 3;
			rc = weft_link_setup(l, &spec, &dp, err);
			if (rc == 0)
				printf("dp_ifindex %d\n%s", dp,
				       weft_link_plugged(l) ? "" : "unplugged\n");
		} else if (strcmp(cmd, "plug") == 0) {
			rc = weft_link_plug(l, err);
			if (rc >= 0)
				printf("%s\n", rc ? "plugged" : "was plugged");
			rc = rc < 0 ? rc : 0;
		} else if (strcmp(cmd, "set-mtu") == 0) {
			if (i >= argc)
				usage();
			rc = weft_link_set_mtu(l, (unsigned)strtoul(argv[i++], NULL, 10), err);
		} else if (strcmp(cmd, "teardown") == 0) {
			rc = weft_link_teardown(l);
			if (rc)
				snprintf(err, sizeof(err), "teardown failed (see the log above)");
		} else if (strcmp(cmd, "route-mtu") == 0) {
			struct sockaddr_storage ss;
			char ifname[IFNAMSIZ];
			unsigned mtu;

			if (i >= argc)
				usage();
			if (parse_addr(argv[i], &ss) < 0) {
				fprintf(stderr, "linktool: `%s': not an address\n", argv[i]);
				return 2;
			}
			i++;
			rc = weft_link_route_mtu(l, (struct sockaddr *)&ss, ifname, &mtu, err);
			if (rc == 0)
				printf("%s %u\n", ifname, mtu);
		} else if (strcmp(cmd, "mtu") == 0) {
			unsigned mtu;

			if (i >= argc)
				usage();
			rc = weft_link_mtu_by_name(l, argv[i++], &mtu, err);
			if (rc == 0)
				printf("%u\n", mtu);
		} else {
			usage();
		}
		fflush(stdout);
	}
	if (rc)
		fprintf(stderr, "linktool: %s\n", err);
	weft_link_free(l);
	return rc ? 1 : 0;
}
