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

#include "common/mactable.h"
#include "common/weft.h"

#define WEFT_LINK_PORT_SUFFIX "-br" /* the veth end that is a bridge port */
#define WEFT_LINK_DP_SUFFIX   "-dp" /* the veth end weftd's rings use */
/* Longest bridge name that leaves room for the suffixes within IFNAMSIZ. */
#define WEFT_LINK_BRIDGE_NAME_MAX (IFNAMSIZ - 1 - 3)
/* Alias set on a bridge weftd creates, so a restarted weftd knows it is its own. */
#define WEFT_LINK_ALIAS "weft: created by weftd"
/*
 * The bound on learned FDB entries (fdb_max_learned) of a bridge weftd owns.
 * The remote MACs it learns through B-br are the sources of frames weftd
 * injected, each one live in weftd's MAC table when it was, so the table's
 * capacity (WEFT_MACTABLE_DEFAULT_CAPACITY) covers them while the bridge's
 * ageing time is not above mac_ageing; WEFT_LINK_FDB_LOCAL_MACS more are
 * for the machines on the bridge's own ports. At the bound the kernel learns
 * no new MAC (frames to it are flooded on the bridge), it forgets none.
 */
#define WEFT_LINK_FDB_LOCAL_MACS  4096
#define WEFT_LINK_FDB_MAX_LEARNED (WEFT_MACTABLE_DEFAULT_CAPACITY + WEFT_LINK_FDB_LOCAL_MACS)

struct weft_link;

struct weft_link_spec {
	const char *bridge; /* borrowed; at most WEFT_LINK_BRIDGE_NAME_MAX characters */
	unsigned mtu;	    /* overlay MTU (weft_frame_overlay_mtu()), 68 .. 65535 */
	bool create_bridge; /* create B if it is missing; otherwise a missing B is waited for */
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
 *   netfilter off for it, alias WEFT_LINK_ALIAS, learned FDB bounded to
 *   WEFT_LINK_FDB_MAX_LEARNED where the kernel can: a warning where not); a
 *   link B that is not a bridge is an error. A bridge we did not create is
 *   left as configured, except that its MTU is lowered to @spec->mtu if
 *   larger (never raised).
 * - veth pair B-br/B-dp: created if missing, MTU @spec->port_mtu; a B-br or
 *   B-dp that is not a veth, or not the two ends of one pair, is an error.
 * - both ends are no host interface: IFF_NOARP, no IPv6 (no link-local
 *   address, disable_ipv6 where /proc/sys is writable, else one warning),
 *   IPv4 that arrives on them is not taken in (rp_filter 1, arp_ignore 8,
 *   accept_local 0, forwarding 0); all before they go up.
 * - B-br: bridge port of B; every TX checksum and segmentation offload off,
 *   so captured frames are whole and checksummed. B-dp: GRO off.
 * - all three up.
 * When B is missing and may not be created, everything but the bridge is
 * done and setup still succeeds: weft_link_plugged() says false, and
 * weft_link_plug() plugs B-br in once B exists.
 * On success *@dp_ifindex is B-dp's ifindex. On failure, @err says what and
 * why; whatever was created so far is remembered, so weft_link_teardown()
 * removes it.
 */
int weft_link_setup(struct weft_link *l, const struct weft_link_spec *spec, int *dp_ifindex,
		    char err[static WEFT_ERRLEN]) WEFT_WUR;

/* B-br is a port of bridge B, as of the last setup or plug. */
bool weft_link_plugged(const struct weft_link *l);

/*
 * Looks again (after the kernel said links changed): plugs B-br into B if
 * it is not (B appeared, or was deleted and made again; B is created when
 * the spec allows), and sizes and raises B as setup does. Returns 1 if it
 * plugged the port in now, 0 if it already was, -ENODEV if B is missing
 * and may not be created (the port waits unplugged), -ENXIO if B-br is
 * gone, another negative errno (and @err) if B is not a bridge or a change
 * failed.
 */
int weft_link_plug(struct weft_link *l, char err[static WEFT_ERRLEN]) WEFT_WUR;

/*
 * A new overlay MTU (the underlay changed): applied to B now if plugged,
 * by the rules of setup (B exactly if weftd created it, else lowered only),
 * and to any B plugged into later. The veth pair keeps its MTU.
 */
int weft_link_set_mtu(struct weft_link *l, unsigned mtu, char err[static WEFT_ERRLEN]) WEFT_WUR;

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

/*
 * The path datagrams toward @dst take now, as far as it tells whether a host
 * there may have become reachable: the route's interface, whether that
 * interface can carry anything (up, and with a carrier: the kernel keeps
 * routes through one that lost it), the route's gateway and our preferred
 * source address (zero when the route has none). -ENETUNREACH if there is
 * no route.
 */
struct weft_link_path {
	int ifindex;
	bool usable;
	uint8_t gateway[16]; /* 4 bytes for IPv4, then zeros */
	uint8_t prefsrc[16];
};
int weft_link_path(struct weft_link *l, const struct sockaddr *dst, struct weft_link_path *path,
		   char err[static WEFT_ERRLEN]) WEFT_WUR;

/* The MTU of interface @ifname; -ENODEV if there is none. */
int weft_link_mtu_by_name(struct weft_link *l, const char *ifname, unsigned *mtu,
			  char err[static WEFT_ERRLEN]) WEFT_WUR;

#endif
