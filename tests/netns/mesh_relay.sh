#!/bin/bash
# SPDX-License-Identifier: MIT
# Relays. UDP between h2 and h3 is dropped on the underlay (nftables on the
# underlay bridge) while both reach h1 and h4: their containers still talk,
# through one of them. Broadcast (ARP) reaches every other container exactly
# once, with and without the relayed pair. Killing the relay moves the
# traffic to the other; lifting the block brings the direct path back.
#
#            weftd(h1)                 ul0: 10.0.0.0/24, nftables drops
#           ╱         ╲                UDP 10.0.0.2 <-> 10.0.0.3
#   weftd(h2)  ╳╳╳╳╳  weftd(h3)
#           ╲         ╱
#            weftd(h4)
#   containers: hIc1 = 192.168.77.I1/24; peer_timeout 8 s
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq nft tcpdump

topo_create --hosts 4 --containers 1 --no-bridge
mesh_init
mesh_start_all
mesh_wait_all_up 15 "before the block"

block() { mesh_block 2 3; }
unblock() { mesh_unblock; }

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }
route_of() { mesh_peer_get "$1" "$2" route; }
via_of() { mesh_peer_get "$1" "$2" via; }

# ARP requests for an address nobody has, from h2c1: every other container
# must see each of them exactly once.
arp_once() {
	local what=$1 i n want
	for i in 1 2 3 4; do
		spawn "tcpdump$i" c "$i" 1 tcpdump --immediate-mode -n -U -i eth0 -w "$WT_TMP/arp$i.pcap" arp
	done
	for i in 1 2 3 4; do
		wait_for 5 grep -q "listening on" "$WT_TMP/tcpdump$i.log" || fail "tcpdump $i did not start"
	done
	c 2 1 arping -c 3 -w 4 -I eth0 192.168.77.250 >/dev/null 2>&1 || true
	sleep 1
	for i in 1 2 3 4; do kill_spawned "tcpdump$i"; done
	want=$(tcpdump -n -r "$WT_TMP/arp2.pcap" 2>/dev/null | grep -c "Request who-has 192.168.77.250" || true)
	[ "$want" -ge 3 ] || fail "$what: h2c1 sent $want ARP requests, expected 3"
	for i in 1 3 4; do
		n=$(tcpdump -n -r "$WT_TMP/arp$i.pcap" 2>/dev/null | grep -c "Request who-has 192.168.77.250" || true)
		[ "$n" = "$want" ] || fail "$what: h${i}c1 saw $n of h2c1's $want ARP requests (want each exactly once)"
	done
	say "$what: $want ARP requests from h2c1, each seen exactly once by h1c1, h3c1, h4c1"
}

arp_once "all direct"

# ---- the block: h2 and h3 go through a relay ----------------------------------------
t0=$(date +%s%N)
block
wait_for 20 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h2.sock' status --json |
	jq -r '.peers[] | select(.name == \"h3\") | .route')\" = relayed ]" ||
	fail "h2 never relayed to h3: $(mesh_status 2 | jq -c '.peers[] | select(.name == "h3")')"
wait_for 10 c 2 1 ping -c 1 -W 1 -q "$(cont_ip 3 1)" || fail "h2c1 cannot reach h3c1 relayed"
t_relay=$(ms_since "$t0")
relay=$(via_of 2 3)
case $relay in h1 | h4) ;; *) fail "h2 relays to h3 via '$relay'" ;; esac
r=${relay#h}
other=$((r == 1 ? 4 : 1))
say "blocked h2<->h3: relayed via $relay, pings through ${t_relay} ms after the block"

fwd0=$(mesh_status "$r" | jq .router.relay_forwarded)
sent0=$(mesh_status 2 | jq .router.relay_sent)
c 2 1 ping -c 50 -i 0.02 -W 1 -q "$(cont_ip 3 1)" >"$WT_TMP/p.txt" 2>&1 ||
	fail "relayed pings lost: $(tail -2 "$WT_TMP/p.txt")"
fwd=$(($(mesh_status "$r" | jq .router.relay_forwarded) - fwd0))
sent=$(($(mesh_status 2 | jq .router.relay_sent) - sent0))
[ "$fwd" -ge 100 ] || fail "$relay forwarded $fwd relayed frames for 50 pings, expected >= 100 (both ways)"
[ "$sent" -ge 50 ] || fail "h2 sent $sent frames through the relay for 50 pings"
[ "$(mesh_peer_get 2 3 state)" != up ] || fail "h2 still has a direct session with h3 under the block"
say "50 relayed pings: h2 relay_sent +$sent, $relay relay_forwarded +$fwd"
c 2 1 ip neigh flush dev eth0
arp_once "with h2-h3 relayed"

# A 5 MB transfer across the relay completes.
if command -v iperf3 >/dev/null; then
	spawn iperf3s c 3 1 iperf3 -s -1
	wait_for 10 c 3 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in h3c1"
	psent0=$(mesh_status 2 | jq .router.partial_sent)
	pdone0=$(mesh_status 2 | jq .router.partial_completed)
	c 2 1 timeout 30 iperf3 -c "$(cont_ip 3 1)" -n 5M >"$WT_TMP/iperf.txt" 2>&1 ||
		fail "iperf3 over the relay failed: $(tail -3 "$WT_TMP/iperf.txt")"
	kill_spawned iperf3s
	say "iperf3 over the relay: $(grep receiver "$WT_TMP/iperf.txt" | awk '{print $7, $8}')"
	# A relayed frame's checksum is always complete (protocol.md 7.1): h2
	# completes the segments it cut, whatever h3 and the relay announce.
	# (With superframes off the kernel completes them: nothing is cut.)
	psent=$(($(mesh_status 2 | jq .router.partial_sent) - psent0))
	pdone=$(($(mesh_status 2 | jq .router.partial_completed) - pdone0))
	[ "$psent" = 0 ] || fail "through the relay h2 sent $psent partial checksums"
	if [ "${WT_SUPERFRAMES:-yes}" = yes ]; then
		[ "$pdone" -gt 0 ] || fail "through the relay h2 completed no checksum of the segments it cut"
		say "h2 completed $pdone checksums of segments for the relay, left none partial"
	fi
fi

# ---- the relay dies: the other takes over ---------------------------------------------
t0=$(date +%s%N)
kill -KILL "$(spawn_pid "weftd$r")"
kill_spawned "weftd$r"
wait_for 20 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h2.sock' status --json |
	jq -r '.peers[] | select(.name == \"h3\") | .via')\" = h$other ]" ||
	fail "h2 never moved to relay h$other: $(mesh_status 2 | jq -c '.peers[] | select(.name == "h3")')"
wait_for 10 c 2 1 ping -c 1 -W 1 -q "$(cont_ip 3 1)" || fail "h2c1 cannot reach h3c1 via h$other"
t_takeover=$(ms_since "$t0")
say "relay $relay killed: via h$other, pings through ${t_takeover} ms later (peer_timeout 8 s)"
[ "$t_takeover" -le 10000 ] || fail "takeover took ${t_takeover} ms, more than peer_timeout + 2 s"

# ---- the block lifts: the direct path comes back ------------------------------------------
t0=$(date +%s%N)
unblock
mesh_wait_up 2 3 40 || fail "h2 never got its direct session to h3 back"
wait_for 10 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h2.sock' status --json |
	jq -r '.peers[] | select(.name == \"h3\") | .route')\" = direct ]" || fail "h2's route to h3 is not direct"
t_direct=$(ms_since "$t0")
rx0=$(mesh_peer_get 3 2 rx_frames)
c 2 1 ping -c 20 -i 0.02 -W 1 -q "$(cont_ip 3 1)" >/dev/null || fail "direct pings after the block lifted"
rx=$(($(mesh_peer_get 3 2 rx_frames) - rx0))
[ "$rx" -ge 20 ] || fail "h3 got $rx frames straight from h2 for 20 pings, expected >= 20"
say "block lifted: direct again after ${t_direct} ms (h3 rx_frames from h2 +$rx)"

for i in 1 2 3 4; do [ "$i" = "$r" ] || mesh_stop "$i"; done
say PASS
