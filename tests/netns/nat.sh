#!/bin/bash
# SPDX-License-Identifier: MIT
# Hosts behind NAT. h3 and h4 each sit behind a router of their own that
# masquerades (nftables `masquerade`, the home-router or cloud-NAT-gateway
# case): nobody can open a flow toward them, and they know only the seed h1.
# Every member must still reach every other, the NATed pair directly (both
# sides send, so each NAT lets the other in) or through a relay, and traffic
# must cross between every pair of containers. Then r3's public address
# changes (a new lease: the kernel drops r3's NAT bindings with it), and the
# mesh must follow h3 to its new address without anyone restarting.
#
#   weftd(h1) 10.0.0.1   weftd(h2) 10.0.0.2             ul0: 10.0.0.0/24
#        │                    │
#   ─────┴──────── ul0 ───────┴─────┬───────────────┬────
#                          10.0.0.13 wan0       10.0.0.14 wan0
#                              r3 (masquerade)      r4 (masquerade)
#                          10.3.0.1 lan0         10.4.0.1 lan0
#                               │                     │
#                          weftd(h3) 10.3.0.2    weftd(h4) 10.4.0.2
#   containers: hIc1 = 192.168.77.I1/24; h2, h3, h4 name only h1
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq nft iperf3 python3
BUDGET=${BUDGET:-240}

topo_create --hosts 4 --containers 1 --no-bridge

ns_router() { printf '%sr%s' "$WT_PREFIX" "$1"; }
r() { local i=$1; shift; ip netns exec "$(ns_router "$i")" "$@"; }

# behind_nat I: move host I off ul0 behind router rI, which masquerades
# 10.I.0.0/24 as 10.0.0.(10+I) on ul0.
behind_nat() {
	local i=$1 rn h
	rn=$(ns_router "$i")
	h=$(ns_host "$i")
	ip netns add "$rn"
	r "$i" sysctl -qw net.ipv4.ip_forward=1
	ip -n "$rn" link set lo up
	# The host's underlay cable now ends at the router, not at ul0.
	ul ip link set "h$i" nomaster
	ul ip link set "h$i" netns "$rn"
	ip -n "$rn" link set "h$i" name lan0
	ip -n "$rn" addr add "10.$i.0.1/24" dev lan0
	ip -n "$rn" link set lan0 up
	ul ip link add "r$i" type veth peer name wan0 netns "$rn"
	ul ip link set "r$i" master ul0 up
	ip -n "$rn" addr add "10.0.0.$((10 + i))/24" dev wan0
	ip -n "$rn" link set wan0 up
	ip -n "$h" addr flush dev eth0
	ip -n "$h" addr add "10.$i.0.2/24" dev eth0
	ip -n "$h" route add default via "10.$i.0.1"
	r "$i" nft -f - <<-'NFT'
		table ip nat {
			chain post {
				type nat hook postrouting priority 100; policy accept;
				oifname "wan0" masquerade
			}
		}
	NFT
}
behind_nat 3
behind_nat 4

# h2, h3 and h4 know only the seed; h3 and h4 listen on their private address.
export MESH_SEED=1
mesh_init
for i in 1 2 3 4; do mesh_config "$i"; done
for i in 3 4; do
	sed -i "s/^listen = .*/listen = 10.$i.0.2:6783/" "$WT_TMP/h$i.conf"
done
mesh_start_all

# Every member has a session with each public host.
for i in 1 2 3 4; do
	for j in 1 2; do
		[ "$i" = "$j" ] || mesh_wait_up "$i" "$j" 30 || fail "behind NAT: h$i has no session with h$j"
	done
done
for i in 3 4; do
	for j in 1 2; do
		mesh_wait_up "$j" "$i" 10 || fail "behind NAT: h$j has no session with h$i"
	done
done
say "every member has a session with each public host"
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
ping_all "behind NAT"
say "every container pings every other"

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
# Nothing authentic was refused anywhere: the NAT changed addresses, not bytes.
for i in 1 2 3 4; do
	bad=$(mesh_status "$i" | jq '[.peers[].drops | .bad_record, .malformed, .replayed, .auth_failed] | add')
	[ "$bad" = 0 ] || fail "h$i dropped $bad datagrams or records as bad: $(mesh_status "$i" | jq -c '[.peers[] | {name, drops}]')"
done
mesh_stop_all
in_time
say "PASS"
