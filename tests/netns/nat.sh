#!/bin/bash
# SPDX-License-Identifier: MIT
# Hosts behind NAT. h3 and h4 each sit behind a router of their own, and
# they know only the seed h1 (h2 too). Two kinds of router:
#
# 1. One-to-one NAT (a cloud VM's public address, or a port forwarded to
#    the host): h3 is 10.3.0.2 on its own side and 10.0.0.13 to everyone
#    else. h3 cannot know that address itself; the peers that see its
#    datagrams tell it (OBSERVED, docs/protocol.md 13.9), it gossips it, and
#    h4 reaches h3 there directly, as h3 reaches h4: no pair is relayed.
# 2. Masquerade (a home router, a NAT gateway): nobody can open a flow toward
#    h3 or h4. Linux's masquerade also defeats both sides sending at once
#    (each router's conntrack entry for the other's first datagram takes
#    the port its own host's flow needs, so it picks another port), so h3
#    and h4 reach each other through a relay. Every pair of containers must
#    still talk. Then r3's public address changes (a new lease: the kernel
#    drops r3's NAT bindings with it), and the mesh must follow h3 to its new
#    address without anyone restarting.
#
#   weftd(h1) 10.0.0.1   weftd(h2) 10.0.0.2             ul0: 10.0.0.0/24
#        │                    │
#   ─────┴──────── ul0 ───────┴─────┬───────────────┬────
#                          10.0.0.13 wan0       10.0.0.14 wan0
#                                  r3                    r4
#                          10.3.0.1 lan0         10.4.0.1 lan0
#                               │                     │
#                          weftd(h3) 10.3.0.2    weftd(h4) 10.4.0.2
#   containers: hIc1 = 192.168.77.I1/24; h2, h3, h4 name only h1
#
# 3. Both behind one masquerading router, on one LAN (an office, a home, a
#    cloud subnet behind one NAT gateway): h3 and h4 must find each other on
#    the LAN, directly, while the public hosts see both at r3's address.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq nft iperf3 python3
BUDGET=${BUDGET:-240}

ns_router() { printf '%sr%s' "$WT_PREFIX" "$1"; }
r() { local i=$1; shift; ip netns exec "$(ns_router "$i")" "$@"; }

# behind_nat I KIND: move host I off ul0 behind router rI, which shows
# 10.I.0.2 on ul0 as 10.0.0.(10+I): KIND static (one-to-one, both ways) or
# masquerade (outgoing flows only).
behind_nat() {
	local i=$1 kind=$2 rn h pub
	rn=$(ns_router "$i")
	h=$(ns_host "$i")
	pub=10.0.0.$((10 + i))
	ip netns add "$rn"
	r "$i" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$rn" link set lo up
	# The host's underlay cable now ends at the router's LAN bridge, not at ul0.
	ip -n "$rn" link add lan0 type bridge
	ip -n "$rn" addr add "10.$i.0.1/24" dev lan0
	ip -n "$rn" link set lan0 up
	ul ip link set "h$i" nomaster
	ul ip link set "h$i" netns "$rn"
	ip -n "$rn" link set "h$i" master lan0 up
	ul ip link add "r$i" type veth peer name wan0 netns "$rn"
	ul ip link set "r$i" master ul0 up
	ip -n "$rn" addr add "$pub/24" dev wan0
	ip -n "$rn" link set wan0 up
	ip -n "$h" addr flush dev eth0
	ip -n "$h" addr add "10.$i.0.2/24" dev eth0
	ip -n "$h" route add default via "10.$i.0.1"
	if [ "$kind" = static ]; then
		r "$i" nft -f - <<-NFT
			table ip nat {
				chain pre {
					type nat hook prerouting priority -100; policy accept;
					iifname "wan0" ip daddr $pub dnat to 10.$i.0.2
				}
				chain post {
					type nat hook postrouting priority 100; policy accept;
					oifname "wan0" ip saddr 10.$i.0.2 snat to $pub
				}
			}
		NFT
	else
		r "$i" nft -f - <<-'NFT'
			table ip nat {
				chain post {
					type nat hook postrouting priority 100; policy accept;
					oifname "wan0" masquerade
				}
			}
		NFT
	fi
}

# join_lan I R: move host I off ul0 onto router rR's LAN, as 10.R.0.I.
join_lan() {
	local i=$1 rt=$2 h
	h=$(ns_host "$i")
	ul ip link set "h$i" nomaster
	ul ip link set "h$i" netns "$(ns_router "$rt")"
	ip -n "$(ns_router "$rt")" link set "h$i" master lan0 up
	ip -n "$h" addr flush dev eth0
	ip -n "$h" addr add "10.$rt.0.$i/24" dev eth0
	ip -n "$h" route add default via "10.$rt.0.1"
}

# private_addr I: where host I listens: 10.I.0.2 behind a router of its own,
# 10.3.0.4 for h4 on r3's LAN (KIND shared).
private_addr() {
	if [ "$1" = 4 ] && [ "$NAT_KIND" = shared ]; then echo 10.3.0.4; else echo "10.$1.0.2"; fi
}

# nat_mesh KIND: four hosts, h3 and h4 behind KIND routers (static or
# masquerade), or both on one LAN behind r3's masquerade (shared); h2, h3
# and h4 know only the seed; h3 and h4 listen on their private address.
nat_mesh() {
	local i
	NAT_KIND=$1
	topo_create --hosts 4 --containers 1 --no-bridge
	if [ "$1" = shared ]; then
		behind_nat 3 masquerade
		join_lan 4 3
	else
		behind_nat 3 "$1"
		behind_nat 4 "$1"
	fi
	# New keys: no member may remember the first phase's.
	rm -f "$WT_TMP"/h*.members "$WT_TMP"/h*.timestamps "$WT_TMP"/h*.banned
	mesh_init
	for i in 1 2 3 4; do MESH_SEED=1 mesh_config "$i"; done
	for i in 3 4; do
		sed -i "s/^listen = .*/listen = $(private_addr "$i"):6783/" "$WT_TMP/h$i.conf"
	done
	mesh_start_all
}

# sessions_with_public WHAT: every member gets a session with each public host.
sessions_with_public() {
	local i j
	for i in 1 2 3 4; do
		for j in 1 2; do
			[ "$i" = "$j" ] || mesh_wait_up "$i" "$j" 30 || fail "$1: h$i has no session with h$j"
		done
	done
}

# Every container pings every other.
ping_all() {
	local i j
	for i in 1 2 3 4; do
		for j in 1 2 3 4; do
			[ "$i" = "$j" ] && continue
			c "$i" 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip "$j" 1)" >/dev/null ||
				fail "$1: h${i}c1 cannot ping h${j}c1"
		done
	done
}

# Nothing authentic was refused anywhere: the NATs changed addresses, not bytes.
no_bad_datagrams() {
	local i bad
	for i in 1 2 3 4; do
		bad=$(mesh_status "$i" | jq '[.peers[].drops | .bad_record, .malformed, .replayed, .auth_failed] | add')
		[ "$bad" = 0 ] || fail "h$i dropped $bad datagrams or records as bad: $(mesh_status "$i" | jq -c '[.peers[] | {name, drops}]')"
	done
}

# ---- 1. one-to-one NAT: every pair direct -------------------------------------
nat_mesh static
t0=$SECONDS
mesh_wait_all_up 10 "one-to-one NAT"
say "one-to-one NAT: every member has a direct session with every other after $((SECONDS - t0)) s"
for i in 3 4; do
	addrs=$(mesh_status "$i" | jq -c .addresses)
	case $addrs in
	*"\"10.0.0.$((10 + i)):6783\""*) ;;
	*) fail "h$i gossips $addrs, not the address the others see it at" ;;
	esac
	"$WEFTCTL" -s "$WT_TMP/h$i.sock" status | grep -q "^addresses .*10\.0\.0\.$((10 + i)):6783" ||
		fail "weftctl status on h$i does not show 10.0.0.$((10 + i)):6783 among its addresses"
	[ "$(mesh_peer_get 1 "$i" sees_us_at)" = "10.0.0.1:6783" ] ||
		fail "h1's peer h$i says it sees h1 at $(mesh_peer_get 1 "$i" sees_us_at)"
done
for i in 1 2 4; do
	ep=$(mesh_peer_get "$i" 3 endpoint)
	[ "$ep" = 10.0.0.13:6783 ] || fail "h$i has h3 at '$ep', not 10.0.0.13:6783"
done
[ "$(mesh_peer_get 3 4 route)" = direct ] || fail "h3 reaches h4 $(mesh_peer_get 3 4 route)"
ping_all "one-to-one NAT"
mesh_tcp 3 4
mesh_tcp 4 3
no_bad_datagrams
for i in 1 2 3 4; do
	n=$(mesh_counter "$i" mesh observed_malformed)
	[ "$n" = 0 ] || fail "h$i counted $n malformed OBSERVED records"
done
say "one-to-one NAT: h3 and h4 gossip their public addresses and talk directly"
mesh_stop_all
topo_destroy

# ---- 2. masquerade: the NATed pair relayed ------------------------------------
nat_mesh masquerade

sessions_with_public masquerade
for i in 3 4; do
	for j in 1 2; do
		mesh_wait_up "$j" "$i" 10 || fail "masquerade: h$j has no session with h$i"
	done
done
say "masquerade: every member has a session with each public host"
# h3 and h4 reach each other, directly or relayed.
reached() {
	wait_for "$3" sh -c "'$WEFTCTL' -s '$WT_TMP/h$1.sock' status --json |
		jq -e '.peers[] | select(.name == \"h$2\") | .route != \"none\"' >/dev/null"
}
reached 3 4 20 || fail "h3 has no route to h4: $(mesh_status 3 | jq -c '.peers[] | select(.name == "h4")')"
reached 4 3 20 || fail "h4 has no route to h3: $(mesh_status 4 | jq -c '.peers[] | select(.name == "h3")')"

# h1 and h2 never had an address for h3 or h4 but the NAT's: what they show
# is the router's public address.
for i in 1 2; do
	for j in 3 4; do
		ep=$(mesh_peer_get "$i" "$j" endpoint)
		case $ep in
		"10.0.0.$((10 + j)):"*) ;;
		*) fail "h$i has h$j at '$ep', not behind 10.0.0.$((10 + j))" ;;
		esac
	done
done

route34=$(mesh_peer_get 3 4 route)
say "h3 -> h4: route $route34 ($(mesh_peer_get 3 4 endpoint))"

ping_all "masquerade"
say "masquerade: every container pings every other"

mesh_tcp 3 4
mesh_tcp 4 3
mesh_tcp 1 3
mesh_tcp 4 2
mesh_file_make 8000000
mesh_file_across 3 4
mesh_file_across 4 1
say "TCP and a file cross between the NATed hosts and to the public ones"

# A new public address for r3: the kernel forgets r3's NAT bindings with the
# old one, so h3's flows leave from 10.0.0.23 now.
# (Deleted first: deleting a primary address takes its secondaries with it.)
ip -n "$(ns_router 3)" addr del 10.0.0.13/24 dev wan0
ip -n "$(ns_router 3)" addr add 10.0.0.23/24 dev wan0
moved=$SECONDS
for i in 1 2; do
	wait_for 30 sh -c "'$WEFTCTL' -s '$WT_TMP/h$i.sock' status --json |
		jq -e '.peers[] | select(.name == \"h3\") | .endpoint | startswith(\"10.0.0.23:\")' >/dev/null" ||
		fail "h$i still has h3 at $(mesh_peer_get "$i" 3 endpoint) after r3's new address"
done
say "h1 and h2 followed h3 to 10.0.0.23 within $((SECONDS - moved)) s"
wait_for 10 sh -c "'$WEFTCTL' -s '$WT_TMP/h3.sock' status --json |
	jq -e '.addresses | index(\"10.0.0.23:6783\")' >/dev/null" ||
	fail "h3 gossips $(mesh_status 3 | jq -c .addresses), not its new public address"

wait_for 40 c 3 1 ping -c 1 -W 1 -q "$(cont_ip 4 1)" ||
	fail "h3c1 cannot reach h4c1 after r3's new address"
say "h3c1 reaches h4c1 again after $((SECONDS - moved)) s (route $(mesh_peer_get 3 4 route))"
ping_all "after r3's new address"
mesh_tcp 3 4
mesh_tcp 2 3
say "TCP crosses again after r3's new address"

for i in 1 2; do
	moves=$(mesh_peer_get "$i" 3 endpoint_moves)
	[ "$moves" -ge 1 ] || fail "h$i counted no endpoint move of h3"
done
no_bad_datagrams
mesh_stop_all
topo_destroy

# ---- 3. two hosts behind one masquerading router: direct on their LAN ---------
# h3 and h4 share r3's LAN (10.3.0.2 and 10.3.0.4) and public address. Each
# gossips its LAN address before the public one the seed sees, so they find
# each other on the LAN, with no hairpin through the router.
nat_mesh shared
sessions_with_public "shared NAT"
t0=$SECONDS
mesh_wait_up 3 4 15 || fail "shared NAT: h3 has no session with h4: $(mesh_status 3 | jq -c '.peers[] | select(.name == "h4")')"
mesh_wait_up 4 3 15 || fail "shared NAT: h4 has no session with h3"
say "shared NAT: h3 and h4 have a session $((SECONDS - t0)) s after the public ones"
for i in 3 4; do
	j=$((7 - i))
	[ "$(mesh_peer_get "$i" "$j" route)" = direct ] ||
		fail "shared NAT: h$i reaches h$j $(mesh_peer_get "$i" "$j" route), not directly"
	[ "$(mesh_peer_get "$i" "$j" endpoint)" = "$(private_addr "$j"):6783" ] ||
		fail "shared NAT: h$i has h$j at $(mesh_peer_get "$i" "$j" endpoint), not on the LAN at $(private_addr "$j"):6783"
done
# The public hosts see both behind r3's one address, on two ports.
p3=$(mesh_peer_get 1 3 endpoint)
p4=$(mesh_peer_get 1 4 endpoint)
case "$p3 $p4" in
"10.0.0.13:"*" 10.0.0.13:"*) [ "$p3" != "$p4" ] || fail "shared NAT: h1 has h3 and h4 both at $p3" ;;
*) fail "shared NAT: h1 has h3 at $p3 and h4 at $p4, not both behind 10.0.0.13" ;;
esac
ping_all "shared NAT"
mesh_tcp 3 4
mesh_tcp 4 1
no_bad_datagrams
say "shared NAT: h3 and h4 talk directly on their LAN; h1 sees them at $p3 and $p4"
mesh_stop_all
in_time
say "PASS"
