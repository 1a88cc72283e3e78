#!/bin/bash
# SPDX-License-Identifier: MIT
# A container that moves between hosts and keeps its MAC and addresses: a
# VM's live migration, a pod restarted elsewhere with a fixed MAC. The
# container's own interface stays as it is; its host end (a veth) moves from
# one host's bridge to another's, and the container announces itself with a
# gratuitous ARP, as a hypervisor or a CNI plugin does after a move. weft must
# follow at once (docs/design.md, Frames: "A MAC that appears at a different
# peer moves at once", and "moved home" when it appears behind this host's
# own bridge), while a ping and a TCP stream run across the move.
#
#   weftd(h1) ═══ weftd(h2) ═══ weftd(h3)      (full mesh, UDP over ul0)
#      │             │             │
#    h1c1          h2c1          h3c1           192.168.77.I1
#                   mv ──→ h3 ──→ h1 ──→ h2      the mover, 192.168.77.99
#
# (a) mv on h2: every container reaches it, every weftd maps its MAC to h2.
# (b) h2 → h3, under a ping and a TCP stream from h1c1: the first reply after
#     the announcement comes within 2 s, h1 counts the move, h2 (the host it
#     left) maps it to h3, and the stream carries data after the move.
# (c) h3 → h1, the pinger's host (h2c1 pings now): h1's weftd drops its
#     remote entry (moved home), h2 and h3 map it to h1, h1c1 reaches it
#     through the bridge alone.
# (d) h1 → h2, back out of a host where it was local, announced the way QEMU
#     announces a migrated guest (a RARP broadcast): h1 maps it to h2, and so
#     does h3, which no frame of the mover but the RARP reaches (h1's bridge
#     floods h1c1's pings while it has no entry, but the replies are unicast).
# IPv6 reaches it after every move, with no announcement of its own.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping arping jq iperf3 python3
BUDGET=150

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
mesh_start_all
mesh_wait_all_up 15

MV_NS="${WT_PREFIX}mv"
MV_MAC=02:77:00:00:09:09
MV_IP=192.168.77.99
MV_IP6=fd77::99
mv() { ip netns exec "$MV_NS" "$@"; }

ip netns add "$MV_NS"
mv sysctl -qw net.ipv6.conf.default.accept_dad=0
ip -n "$MV_NS" link set lo up
ip -n "$(ns_host 2)" link add mv mtu "$WT_MTU" type veth peer name eth0 \
	address "$MV_MAC" mtu "$WT_MTU" netns "$MV_NS"
ip -n "$MV_NS" addr add "$MV_IP/24" dev eth0
ip -n "$MV_NS" addr add "$MV_IP6/64" dev eth0 nodad
ip -n "$MV_NS" link set eth0 up
ip -n "$(ns_host 2)" link set mv master "$WT_BRIDGE" up
MV_AT=2

# move_to J: move the mover's host end from its host's bridge to host J's,
# as a migration does; the container's eth0 is not touched.
move_to() {
	ip -n "$(ns_host "$MV_AT")" link set mv netns "$(ns_host "$1")"
	ip -n "$(ns_host "$1")" link set mv master "$WT_BRIDGE" up
	wait_for 5 sh -c "ip -n '$MV_NS' link show eth0 | grep -q LOWER_UP" || fail "mover's eth0 has no carrier"
	MV_AT=$1
}

# announce: one gratuitous ARP from the mover (iputils arping -U), which
# every bridge floods and every weftd carries to every peer.
announce() {
	mv arping -q -U -c 1 -I eth0 "$MV_IP" || true
}

# announce_rarp: the announcement QEMU sends after a live migration, a RARP
# request (ethertype 0x8035) from the guest's MAC to broadcast, with no IP.
announce_rarp() {
	mv python3 -c '
import socket, struct, sys
mac = bytes.fromhex(sys.argv[1].replace(":", ""))
rarp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 3) + mac + bytes(4) + mac + bytes(4)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send((b"\xff" * 6 + mac + b"\x80\x35" + rarp).ljust(60, b"\0"))' "$MV_MAC" ||
		fail "could not send the RARP announcement"
}

# mac_at I: the peer host I's weftd maps the mover's MAC to (empty: none).
mac_at() { mesh_mac_peer "$1" "$MV_MAC"; }

# reaches I ADDR: container hIc1 gets a reply from ADDR within 5 s.
reaches() { wait_for 5 c "$1" 1 ping -c 1 -W 1 -n "$2"; }

# every_container_reaches: IPv4 and IPv6, from every host's container.
every_container_reaches() {
	local i
	for i in 1 2 3; do
		reaches "$i" "$MV_IP" || fail "$1: h${i}c1 does not reach the mover ($MV_IP) on h$MV_AT"
		reaches "$i" "$MV_IP6" || fail "$1: h${i}c1 does not reach the mover ($MV_IP6) on h$MV_AT"
	done
}

# expect_mapped WHAT I... : every weftd but MV_AT's maps the mover to h$MV_AT,
# and MV_AT's has no entry for it (it is behind its own bridge).
expect_mapped() {
	local what=$1 i got
	for i in 1 2 3; do
		got=$(mac_at "$i")
		if [ "$i" = "$MV_AT" ]; then
			[ -z "$got" ] || fail "$what: h$i's weftd maps the mover to $got, but it is behind h$i's own bridge"
		else
			[ "$got" = "h$MV_AT" ] || fail "$what: h$i's weftd maps the mover to '${got}', not h$MV_AT"
		fi
	done
}

# ping_start I: hIc1 pings the mover every 50 ms (ping -D stamps), at most 30 s.
ping_start() { spawn "ping$1" c "$1" 1 ping -D -n -i 0.05 -w 30 "$MV_IP"; }

# gap_after LOG MARK WHAT: MOVE_GAP_MS, the time from MARK (the announcement)
# to the first reply in LOG after it; fails past 2 s.
gap_after() {
	local log=$1 mark=$2 what=$3 ts
	ts=$(wait_reply_after "$log" "$mark" 5) || fail "$what: no reply from the mover within 5 s of its announcement"
	MOVE_GAP_MS=$(ms_between "$mark" "$ts")
	[ "$MOVE_GAP_MS" -le 2000 ] || fail "$what: the first reply came $MOVE_GAP_MS ms after the announcement"
}

# ---- (a) the mover on h2 --------------------------------------------------------
every_container_reaches "(a) on h2"
expect_mapped "(a) on h2"
say "(a) the mover on h2: every container reaches it (IPv4, IPv6); h1 and h3 map it to h2"

# ---- (b) h2 → h3 under a ping and a TCP stream from h1c1 -------------------------
moved0=$(mesh_counter 1 mactable moved)
spawn iperf3s ns "$MV_NS" iperf3 -s -1
wait_for 5 mv sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in the mover"
spawn iperf3c c 1 1 timeout 40 iperf3 -c "$MV_IP" -t 8 -i 1 -J
ping_start 1
sleep 3
move_to 3
mark=$(now_s)
announce
gap_after "$(spawn_log ping1)" "$mark" "(b) h2 -> h3"
gap_b=$MOVE_GAP_MS
wait_for 15 sh -c "! kill -0 $(spawn_pid iperf3c) 2>/dev/null" || fail "(b) iperf3 still runs 15 s on"
kill_spawned iperf3c
[ "$SPAWN_STATUS" = 0 ] || fail "(b) the TCP stream across the move failed: $(tail -c 400 "$(spawn_log iperf3c)")"
kill_spawned iperf3s
kill_spawned ping1
# The stream's last two seconds, well after the move: data still crossing.
tail_mb=$(jq '[.intervals[-2:][].sum.bytes] | add / 1e6 | floor' "$(spawn_log iperf3c)")
total_mb=$(jq '.end.sum_received.bytes / 1e6 | floor' "$(spawn_log iperf3c)")
[ "$tail_mb" -gt 1 ] || fail "(b) the TCP stream carried only $tail_mb MB in its last 2 s, after the move"
[ "$(($(mesh_counter 1 mactable moved) - moved0))" -ge 1 ] || fail "(b) h1 counted no MAC move"
expect_mapped "(b) on h3"
every_container_reaches "(b) on h3"
say "(b) h2 -> h3: first reply ${gap_b} ms after the announcement; TCP $total_mb MB, $tail_mb MB in its last 2 s; h1 and h2 map it to h3"

# ---- (c) h3 → h1, the host of h1c1; h2c1 pings -----------------------------------
removed0=$(mesh_counter 1 mactable removed)
ping_start 2
sleep 1
move_to 1
mark=$(now_s)
announce
gap_after "$(spawn_log ping2)" "$mark" "(c) h3 -> h1"
gap_c=$MOVE_GAP_MS
kill_spawned ping2
[ "$(($(mesh_counter 1 mactable removed) - removed0))" -ge 1 ] || fail "(c) h1 counted no MAC moved home"
expect_mapped "(c) on h1"
every_container_reaches "(c) on h1"
say "(c) h3 -> h1: first reply to h2c1 ${gap_c} ms after the announcement; h1 dropped its remote entry, h2 and h3 map it to h1"

# h1c1 and the mover are on one bridge now: a burst between them crosses no
# peer.
tx1=$(mesh_peer_get 1 3 tx_frames)
c 1 1 ping -c 20 -i 0.01 -q -n "$MV_IP" >/dev/null || fail "(c) h1c1 -> the mover on h1"
tx2=$(mesh_peer_get 1 3 tx_frames)
[ $((tx2 - tx1)) -lt 5 ] || fail "(c) 20 pings between h1c1 and the mover on h1 sent $((tx2 - tx1)) frames to h3"

# ---- (d) h1 → h2: out of the host where it was local, announced by RARP -----------
ping_start 1
sleep 1
move_to 2
mark=$(now_s)
announce_rarp
gap_after "$(spawn_log ping1)" "$mark" "(d) h1 -> h2"
gap_d=$MOVE_GAP_MS
kill_spawned ping1
expect_mapped "(d) on h2"
every_container_reaches "(d) on h2"
say "(d) h1 -> h2: first reply to h1c1 ${gap_d} ms after the RARP announcement; h1 and h3 map it to h2"

mesh_stop_all
in_time
say "PASS"
