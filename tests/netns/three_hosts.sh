#!/bin/bash
# SPDX-License-Identifier: MIT
# Three hosts in a full mesh: a broadcast reaches every other host, and once
# MACs are learned a unicast goes only to the peer that owns its destination.
#
#            h1c1 ─ weft0 ─ weftd(h1)
#                          ╱         ╲        UDP 6783 over ul0 (10.0.0.0/24)
#   h2c1 ─ weft0 ─ weftd(h2) ═══════ weftd(h3) ─ weft0 ─ h3c1
#
#   containers: hIc1 = 192.168.77.I1/24, MAC 02:77:00:00:0I:01
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
mesh_start_all
mesh_wait_all_up 15
for i in 1 2 3; do
	c "$i" 1 sysctl -qw net.ipv4.icmp_echo_ignore_broadcasts=0
done

# ---- (a) a broadcast reaches every other host ---------------------------------
n=5
tx12=$(mesh_peer_get 1 2 tx_frames)
tx13=$(mesh_peer_get 1 3 tx_frames)
rx21=$(mesh_peer_get 2 1 rx_frames)
rx31=$(mesh_peer_get 3 1 rx_frames)
# Broadcast pings: every echo request is one broadcast frame; the replies come
# back as unicast (DUP! lines), one source address per host that answered.
c 1 1 ping -b -c "$n" -i 0.2 -W 2 -n "192.168.77.255" >"$WT_TMP/bping.txt" 2>&1 || true
for i in 2 3; do
	grep -q "bytes from $(cont_ip "$i" 1):" "$WT_TMP/bping.txt" ||
		fail "a broadcast ping from h1c1 got no reply from h${i}c1; ping said: $(tr '\n' ' ' <"$WT_TMP/bping.txt")"
done
d12=$(($(mesh_peer_get 1 2 tx_frames) - tx12))
d13=$(($(mesh_peer_get 1 3 tx_frames) - tx13))
d21=$(($(mesh_peer_get 2 1 rx_frames) - rx21))
d31=$(($(mesh_peer_get 3 1 rx_frames) - rx31))
say "broadcast x$n: h1 tx_frames +$d12 to h2, +$d13 to h3; rx_frames from h1: h2 +$d21, h3 +$d31"
[ "$d12" -ge "$n" ] || fail "h1 sent $d12 frames to h2 during $n broadcast pings, expected >= $n"
[ "$d13" -ge "$n" ] || fail "h1 sent $d13 frames to h3 during $n broadcast pings, expected >= $n"
[ "$d21" -ge "$n" ] || fail "h2 received $d21 frames from h1 during $n broadcast pings, expected >= $n"
[ "$d31" -ge "$n" ] || fail "h3 received $d31 frames from h1 during $n broadcast pings, expected >= $n"

# ---- (b) a unicast after learning goes only to its owner ---------------------
c 1 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 2 1)" >/dev/null || fail "ping h1c1 -> h2c1"
c 2 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 1 1)" >/dev/null || fail "ping h2c1 -> h1c1"
owner=$(mesh_mac_peer 1 "$(cont_mac 2 1)")
[ "$owner" = h2 ] || fail "h1's MAC table puts $(cont_mac 2 1) (h2c1) at '$owner', expected h2"
owner=$(mesh_mac_peer 2 "$(cont_mac 1 1)")
[ "$owner" = h1 ] || fail "h2's MAC table puts $(cont_mac 1 1) (h1c1) at '$owner', expected h1"

n=200
tx12=$(mesh_peer_get 1 2 tx_frames)
tx13=$(mesh_peer_get 1 3 tx_frames)
rx31=$(mesh_peer_get 3 1 rx_frames)
rx21=$(mesh_peer_get 2 1 rx_frames)
c 1 1 ping -c "$n" -i 0.005 -W 2 -q "$(cont_ip 2 1)" >"$WT_TMP/uping.txt" 2>&1 ||
	fail "$n pings h1c1 -> h2c1 did not all succeed: $(tail -n 2 "$WT_TMP/uping.txt" | tr '\n' ' ')"
d12=$(($(mesh_peer_get 1 2 tx_frames) - tx12))
d13=$(($(mesh_peer_get 1 3 tx_frames) - tx13))
d21=$(($(mesh_peer_get 2 1 rx_frames) - rx21))
d31=$(($(mesh_peer_get 3 1 rx_frames) - rx31))
say "unicast x$n h1c1 -> h2c1: h1 tx_frames +$d12 to h2, +$d13 to h3; rx_frames from h1: h2 +$d21, h3 +$d31"
# A handful of strays (an ARP refresh, an IPv6 multicast) may be flooded; a
# tenth of the pings is far above that and far below a leak of every frame.
few=$((n / 10))
[ "$d12" -ge "$n" ] || fail "h1 sent $d12 frames to h2 during $n unicast pings, expected >= $n"
[ "$d21" -ge "$n" ] || fail "h2 received $d21 frames from h1 during $n unicast pings, expected >= $n"
[ "$d13" -lt "$few" ] ||
	fail "h1 sent $d13 frames to h3 during $n pings to h2c1, expected < $few (unicast must not flood)"
[ "$d31" -lt "$few" ] ||
	fail "h3 received $d31 frames from h1 during $n pings to h2c1, expected < $few"

mesh_stop_all
say "PASS"
