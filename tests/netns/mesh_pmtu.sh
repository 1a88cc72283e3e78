#!/bin/bash
# SPDX-License-Identifier: MIT
# A path with a smaller hop in the middle: h3 sits behind a router whose link
# toward it carries 1400 bytes, while every interface weftd sees has 1500.
# Probing finds the smaller path MTU toward h3 only; TCP between containers
# works across it; weftctl shows the lower path MTU for that peer alone.
#
#   weftd(h1) ─┐                        ┌───────── router r ─────────┐
#   weftd(h2) ─┴─ ul0 10.0.0.0/24 ─ rA 10.0.0.254        10.0.1.254 h3 (MTU 1400) ═ eth0 (MTU 1500) 10.0.1.3 weftd(h3)
#
# The router answers h1's and h2's too-big datagrams with ICMP; h3's own
# 1500-byte datagrams die silently at the router's 1400-byte interface, so
# h3 learns its path from lost probes alone. Then the hop shrinks to 1300:
# h1's kernel, told by the router, refuses weft's larger datagrams, and h1
# searches again at once; TCP from h1c1 to h3c1 goes on. Last, the hop
# shrinks to 1200 with the router's ICMP dropped (a black hole): both h1 and
# h3 find it from lost confirmations of their path MTU, and TCP goes on both
# ways.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq iperf3 nft

topo_create --hosts 3 --containers 1 --no-bridge
# The router's namespace has the test's prefix: the cleanup deletes it too.
r="${WT_PREFIX}r"
ip netns add "$r"
rt() { ip netns exec "$r" "$@"; }
rt ip link set lo up
rt sysctl -qw net.ipv4.ip_forward=1
# rA: the router on the underlay bridge.
ul ip link add rA type veth peer name eth0 netns "$r"
ul ip link set rA master ul0 up
rt ip link set eth0 name rA
rt ip addr add 10.0.0.254/24 dev rA
rt ip link set rA up
# h3's underlay cable moves from ul0 to the router, 1400 bytes on the router's end.
ul ip link set h3 nomaster
ul ip link set h3 netns "$r"
rt ip link set h3 mtu 1400 up
rt ip addr add 10.0.1.254/24 dev h3
hN 3 ip addr flush dev eth0
hN 3 ip addr add 10.0.1.3/24 dev eth0
hN 3 ip route add default via 10.0.1.254
for i in 1 2; do hN "$i" ip route add 10.0.1.0/24 via 10.0.0.254; done
hN 1 ping -c 1 -W 2 -q 10.0.1.3 >/dev/null || fail "no underlay route h1 -> h3"
hN 1 ping -M do -s 1472 -c 1 -W 2 10.0.1.3 >/dev/null 2>&1 &&
	fail "a 1500-byte DF packet crossed the 1400-byte hop"
# Forget what that taught h1's kernel: weftd must find the path itself.
hN 1 ip route flush cache

mesh_init
for i in 1 2 3; do mesh_config "$i"; done
sed -i 's/10\.0\.0\.3/10.0.1.3/' "$WT_TMP/h1.conf" "$WT_TMP/h2.conf" "$WT_TMP/h3.conf"
mesh_start_all
mesh_wait_all_up 20

# Probing settles within a few seconds (one probe a second at most).
pm() { mesh_peer_get "$1" "$2" path_mtu; }
wait_for 30 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h1.sock' status --json |
	jq -r '.peers[] | select(.name == \"h3\") | .path_mtu_probed')\" = true ]" ||
	fail "h1's path to h3 was never probed"
wait_for 30 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h3.sock' status --json |
	jq -r '.peers[] | select(.name == \"h1\") | .path_mtu_probed')\" = true ]" ||
	fail "h3's path to h1 was never probed"
p13=$(pm 1 3) p12=$(pm 1 2) p31=$(pm 3 1)
say "path MTU: h1->h3 $p13, h1->h2 $p12, h3->h1 $p31 (overlay MTU $(mesh_status 1 | jq .mtu))"
# 1400 - 28 (IP, UDP) - 35 (weft) - 14 (Ethernet) = 1323 at most.
[ "$p13" -le 1323 ] && [ "$p13" -ge 1300 ] || fail "h1's path MTU to h3 is $p13, expected 1300..1323"
[ "$p31" -le 1323 ] && [ "$p31" -ge 1300 ] || fail "h3's path MTU to h1 is $p31, expected 1300..1323"
[ "$p12" = 1423 ] || fail "h1's path MTU to h2 is $p12, expected 1423 (no small hop there)"

# TCP both ways between containers across the small hop.
spawn iperf3s c 3 1 iperf3 -s -1
wait_for 10 c 3 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in h3c1"
c 1 1 timeout 60 iperf3 -c "$(cont_ip 3 1)" -n 10M >"$WT_TMP/iperf.txt" 2>&1 ||
	fail "10 MB h1c1 -> h3c1 did not complete: $(tail -3 "$WT_TMP/iperf.txt")"
kill_spawned iperf3s
spawn iperf3s c 1 1 iperf3 -s -1
wait_for 10 c 1 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in h1c1"
c 3 1 timeout 60 iperf3 -c "$(cont_ip 1 1)" -n 10M >"$WT_TMP/iperf2.txt" 2>&1 ||
	fail "10 MB h3c1 -> h1c1 did not complete: $(tail -3 "$WT_TMP/iperf2.txt")"
kill_spawned iperf3s
say "10 MB each way across the 1400-byte hop: $(grep receiver "$WT_TMP/iperf.txt" | awk '{print $7, $8}'), $(grep receiver "$WT_TMP/iperf2.txt" | awk '{print $7, $8}')"
icmp=$(mesh_status 1 | jq .router.too_big_icmp4)
[ "$icmp" -ge 1 ] || fail "h1 never answered a too-big frame toward h3"

# The hop shrinks after the search (a reroute through a smaller link): the
# router's ICMP teaches h1's kernel, which refuses weft's larger datagrams
# (EMSGSIZE), and h1 searches again at once instead of at the 10-minute
# recheck. 1300 - 28 - 35 - 14 = 1223 at most.
rt ip link set h3 mtu 1300
emsg0=$(mesh_status 1 | jq .udp.tx_emsgsize)
spawn iperf3s c 3 1 iperf3 -s -1
wait_for 10 c 3 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in h3c1"
t0=$(now_s)
c 1 1 timeout 60 iperf3 -c "$(cont_ip 3 1)" -n 10M >"$WT_TMP/iperf3.txt" 2>&1 ||
	fail "10 MB h1c1 -> h3c1 after the hop shrank did not complete: $(tail -3 "$WT_TMP/iperf3.txt")"
kill_spawned iperf3s
p13=$(pm 1 3)
emsg=$(($(mesh_status 1 | jq .udp.tx_emsgsize) - emsg0))
say "hop at 1300: h1's path MTU to h3 now $p13 ($emsg datagrams refused by h1's kernel);" \
	"10 MB h1c1 -> h3c1 in $(ms_between "$t0" "$(now_s)") ms"
[ "$emsg" -ge 1 ] || fail "h1's kernel refused nothing: the router's ICMP did not reach it"
[ "$p13" -le 1223 ] && [ "$p13" -ge 1200 ] || fail "h1's path MTU to h3 is $p13 after the hop shrank, expected 1200..1223"

# The hop shrinks once more, to 1200, and this time the router says nothing
# (its ICMP errors dropped, as a filtering firewall does): a black hole for
# every datagram over 1172 bytes, which no kernel hears of. Each weftd that
# sends large datagrams into it finds out from its lost confirmations of the
# size in use (common/pmtu.c) and searches again, in seconds rather than at
# the 10-minute recheck. Both directions: h3's own path to h1 has gone
# through the shrinking hop all along. 1200 - 28 - 35 - 14 = 1123 at most
# toward h3; toward h1, 4 bytes more (a veth takes in up to its MTU plus a
# VLAN tag's room: 1127).
rt nft -f - <<-'NFT'
	table ip silent {
		chain out {
			type filter hook output priority 0; policy accept;
			icmp type destination-unreachable drop
		}
	}
NFT
rt ip link set h3 mtu 1200
bh0_1=$(mesh_peer_get 1 3 path_black_holes)
bh0_3=$(mesh_peer_get 3 1 path_black_holes)
emsg0=$(mesh_status 1 | jq .udp.tx_emsgsize)
for dir in "1 3" "3 1"; do
	read -r from to <<<"$dir"
	spawn iperf3s c "$to" 1 iperf3 -s -1
	wait_for 10 c "$to" 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in h${to}c1"
	t0=$(now_s)
	c "$from" 1 timeout 90 iperf3 -c "$(cont_ip "$to" 1)" -n 10M >"$WT_TMP/iperf4.txt" 2>&1 ||
		fail "10 MB h${from}c1 -> h${to}c1 through the silent 1200-byte hop did not complete: $(tail -3 "$WT_TMP/iperf4.txt")"
	kill_spawned iperf3s
	p=$(pm "$from" "$to")
	say "silent hop at 1200: h$from's path MTU to h$to now $p, $(mesh_peer_get "$from" "$to" path_black_holes)" \
		"black hole(s) found; 10 MB h${from}c1 -> h${to}c1 in $(ms_between "$t0" "$(now_s)") ms"
	most=$((from == 1 ? 1123 : 1127))
	[ "$p" -le "$most" ] && [ "$p" -ge 1100 ] ||
		fail "h$from's path MTU to h$to is $p after the hop shrank silently, expected 1100..$most"
done
[ "$(mesh_peer_get 1 3 path_black_holes)" -gt "$bh0_1" ] || fail "h1 counted no black hole toward h3"
[ "$(mesh_peer_get 3 1 path_black_holes)" -gt "$bh0_3" ] || fail "h3 counted no black hole toward h1"
[ "$(mesh_status 1 | jq .udp.tx_emsgsize)" = "$emsg0" ] ||
	fail "h1's kernel refused datagrams: the router's ICMP was not silenced"
[ "$(mesh_peer_get 1 2 path_black_holes)" = 0 ] || fail "h1 found a black hole toward h2, whose path never changed"

mesh_stop_all
say PASS
