#!/bin/bash
# SPDX-License-Identifier: MIT
# Containers left at MTU 1500 (the CNI bridge plugin's and Docker's default)
# on an overlay that carries 1423: a DF packet too big gets "fragmentation
# needed" naming the overlay MTU, IPv6 gets "packet too big", a non-DF IPv4
# packet is fragmented by weftd and arrives whole, and a 20 MB TCP transfer
# completes (path MTU discovery does its job instead of stalling).
#
#   h1c1 (MTU 1500) ─ weft0 ─ weftd(h1) ══ UDP, overlay MTU 1423 ══ weftd(h2) ─ weft0 ─ h2c1 (MTU 1500)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq iperf3

topo_create --hosts 2 --containers 1 --no-bridge --mtu 1500
mesh_init
mesh_start_all
mesh_wait_all_up 15
mtu=$(mesh_status 1 | jq .mtu)
[ "$mtu" = 1423 ] || fail "overlay MTU $mtu, expected 1423"
c 1 1 ping -c 2 -W 1 -q "$(cont_ip 2 1)" >/dev/null || fail "small pings h1c1 -> h2c1"
counter() { mesh_status 1 | jq ".router.$1"; }

# ---- IPv4 without DF: fragmented by weftd, arrives whole -----------------------------------
# Before any "fragmentation needed" taught the kernels a smaller path MTU
# (then they would fragment themselves): both the request (h1) and the reply
# (h2) are fragmented by weftd.
frag0=$(counter too_big_fragmented)
frag20=$(mesh_status 2 | jq .router.too_big_fragmented)
out=$(c 1 1 ping -M dont -s 1472 -c 3 -i 0.3 -W 2 "$(cont_ip 2 1)" 2>&1) ||
	fail "non-DF 1500-byte pings lost: $out"
echo "$out" | grep -q "1480 bytes from $(cont_ip 2 1)" || fail "no whole 1480-byte reply: $out"
frag=$(($(counter too_big_fragmented) - frag0))
frag2=$(($(mesh_status 2 | jq .router.too_big_fragmented) - frag20))
[ "$frag" -ge 3 ] || fail "h1's router.too_big_fragmented moved by $frag for 3 non-DF requests"
[ "$frag2" -ge 3 ] || fail "h2's router.too_big_fragmented moved by $frag2 for 3 non-DF replies"
say "IPv4 non-DF 1500 bytes: 3 of 3 answered whole (too_big_fragmented +$frag on h1, +$frag2 on h2)"

# ---- IPv4, DF: "fragmentation needed" with the overlay MTU -------------------------------
icmp0=$(counter too_big_icmp4)
out=$(c 1 1 ping -M do -s 1472 -c 2 -i 0.3 -W 2 "$(cont_ip 2 1)" 2>&1 || true)
echo "$out" | grep -Eq "mtu ?= ?$mtu" ||
	fail "ping -M do -s 1472 got no 'fragmentation needed' naming $mtu: $out"
icmp=$(($(counter too_big_icmp4) - icmp0))
[ "$icmp" -ge 1 ] || fail "router.too_big_icmp4 did not move"
say "IPv4 DF 1500 bytes: $(echo "$out" | grep -Eo "[Ff]rag[^)]*\)|mtu ?= ?[0-9]+" | head -1) (too_big_icmp4 +$icmp)"
# The kernel took it: the route toward h2c1 now has the overlay MTU.
c 1 1 ip route get "$(cont_ip 2 1)" | grep -q "mtu $mtu" ||
	fail "h1c1's route cache has no mtu $mtu: $(c 1 1 ip route get "$(cont_ip 2 1)")"

# ---- IPv6: "packet too big" ----------------------------------------------------------------
icmp0=$(counter too_big_icmp6)
wait_for 10 c 1 1 ping -6 -c 1 -W 1 -q "$(cont_ip6 2 1)" || fail "small IPv6 pings h1c1 -> h2c1"
out=$(c 1 1 ping -6 -M do -s 1452 -c 2 -i 0.3 -W 2 "$(cont_ip6 2 1)" 2>&1 || true)
echo "$out" | grep -Eq "mtu ?= ?$mtu" || fail "ping -6 -M do -s 1452 got no 'packet too big' naming $mtu: $out"
icmp=$(($(counter too_big_icmp6) - icmp0))
[ "$icmp" -ge 1 ] || fail "router.too_big_icmp6 did not move"
say "IPv6 1500 bytes: $(echo "$out" | grep -Eo "[Pp]acket too big[^ ]* ?mtu ?= ?[0-9]+|mtu ?= ?[0-9]+" | head -1) (too_big_icmp6 +$icmp)"

# ---- a 20 MB TCP transfer ------------------------------------------------------------------------
spawn iperf3s c 2 1 iperf3 -s -1
wait_for 10 c 2 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in h2c1"
c 1 1 timeout 60 iperf3 -c "$(cont_ip 2 1)" -n 20M >"$WT_TMP/iperf.txt" 2>&1 ||
	fail "20 MB over TCP did not complete: $(tail -3 "$WT_TMP/iperf.txt")"
kill_spawned iperf3s
say "20 MB TCP h1c1 -> h2c1 at MTU 1500: $(grep receiver "$WT_TMP/iperf.txt" | awk '{print $5, $6, $7, $8}')"
[ "$(mesh_drop_get 1 frame_too_big)" = 0 ] || fail "h1 dropped frames as frame_too_big: every one should get an answer"

mesh_stop_all
say PASS
