/* SPDX-License-Identifier: MIT */
/*
 * The links weftd plugs into (rtnetlink via libmnl, offloads via ethtool):
 *
 *   bridge B ── B-br ═veth═ B-dp ── weftd (capture and inject rings)
 *
 * Needs CAP_NET_ADMIN for setup and teardown. Calls block (a few netlink
 * round trips each, 5 s receive timeout): use them at start-up and exit,
 * not from the data path.
 */
#ifndef WEFT_LINK_H
#define WEFT_LINK_H

#include <stdbool.h>
#include <net/if.h>
#include <sys/socket.h>

#include "common/weft.h"

#define WEFT_LINK_PORT_SUFFIX "-br" /* the veth end that is a bridge port */
#define WEFT_LINK_DP_SUFFIX   "-dp" /* the veth end weftd's rings use */
/* Longest bridge name that leaves room for the suffixes within IFNAMSIZ. */
#define WEFT_LINK_BRIDGE_NAME_MAX (IFNAMSIZ - 1 - 3)
/* Alias set on a bridge weftd creates, so a restarted weftd knows it is its own. */
#define WEFT_LINK_ALIAS "weft: created by weftd"

struct weft_link;

struct weft_link_spec {
	const char *bridge; /* borrowed; at most WEFT_LINK_BRIDGE_NAME_MAX characters */
	unsigned mtu;	    /* overlay MTU (weft_frame_overlay_mtu()), 68 .. 65535 */
	bool create_bridge; /* create B if it is missing; otherwise a missing B is an error */
	/* The veth pair's MTU, above the overlay MTU so that the bridge hands
	 * weftd the frames too big for the overlay instead of dropping them
	 * unseen; 0: the overlay MTU. The bridge itself keeps the overlay MTU. */
	unsigned port_mtu;
};
#define WEFT_LINK_PORT_MTU 65535

/* Opens the rtnetlink socket (in the caller's network namespace). */
int weft_link_new(struct weft_link **out, char err[static WEFT_ERRLEN]) WEFT_WUR;

/* Closes the socket; does not tear anything down. Accepts NULL. */
void weft_link_free(struct weft_link *l);

/* "B-br" and "B-dp" for bridge @bridge; -EINVAL (and @err) if the name is bad or too long. */
int weft_link_veth_names(const char *bridge, char port[static IFNAMSIZ], char dp[static IFNAMSIZ],
			 char err[static WEFT_ERRLEN]) WEFT_WUR;

/*
 * Makes the picture above true, reusing whatever already exists (setup is
 * idempotent; a veth pair or bridge left by a crashed weftd is adopted):
 * - bridge B: created if missing and @spec->create_bridge (STP off, bridge
 *   netfilter off for it, alias WEFT_LINK_ALIAS); a link B that is not a
 *   bridge is an error. A bridge we did not create is left as configured,
 *   except that its MTU is lowered to @spec->mtu if larger (never raised).
 * - veth pair B-br/B-dp: created if missing, MTU @spec->mtu, no IPv6
 *   link-local address (no RS/MLD chatter from plumbing); a B-br or B-dp that
 *   is not a veth, or not the two ends of one pair, is an error.
 * - B-br: bridge port of B; every TX checksum and segmentation offload off,
 *   so captured frames are whole and checksummed. B-dp: GRO off.
 * - all three up.
 * On success *@dp_ifindex is B-dp's ifindex. On failure, @err says what and
 * why; whatever was created so far is remembered, so weft_link_teardown()
 * removes it.
 */
int weft_link_setup(struct weft_link *l, const struct weft_link_spec *spec, int *dp_ifindex,
		    char err[static WEFT_ERRLEN]) WEFT_WUR;

/*
 * Removes what setup put in place: the veth pair (always; deleting B-br
 * deletes B-dp) and bridge B only if weftd created it (now or in an earlier
 * run, by its alias) and no other port remains. Logs what it does; returns 0
 * or the first error (and carries on past it). Nothing to do without a setup.
 */
int weft_link_teardown(struct weft_link *l);

/*
 * The underlay interface toward @dst (AF_INET or AF_INET6; v4-mapped IPv6 is
 * looked up as IPv4) and the MTU of that path: the interface MTU, or the
 * route's (or cached path MTU's) if smaller. -ENETUNREACH if there is no route.
 */
int weft_link_route_mtu(struct weft_link *l, const struct sockaddr *dst,
			char ifname[static IFNAMSIZ], unsigned *mtu,
			char err[static WEFT_ERRLEN]) WEFT_WUR;

/* The MTU of interface @ifname; -ENODEV if there is none. */
int weft_link_mtu_by_name(struct weft_link *l, const char *ifname, unsigned *mtu,
			  char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
