#!/bin/bash
# SPDX-License-Identifier: MIT
# Recovery: (a) a restarted weftd is back in service within seconds, with
# pings running through the restart; (b) a container's MAC that moves to
# another host (same MAC and IP, as a migrated VM) is reachable within one
# second of its first frame from the new place; (c) the same when it moves
# back home (the host it returns to had the MAC as remote: no blackout).
#
#   h1c1 ─ weft0 ─ weftd(h1) ══╗
#   h2c1 ─ weft0 ─ weftd(h2) ══╬══ ul0, UDP 6783      (a) weftd(h2) restarts
#          weft0 ─ weftd(h3) ══╝                       (b) h2c1 moves here as
#           └─ c2 ═ eth0 ns h3c2 (02:77:00:00:02:01, 192.168.77.21)  "h3c2"
#
# h1c1 pings 192.168.77.21 every 0.1 s (a) or 0.05 s (b, c) with timestamps
# (ping -D); a time is the first reply's timestamp minus the event's.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq awk

RESTART_MAX_MS=5000
MOVE_MAX_MS=1000

# replies_between LOG A B: how many replies arrived between A and B.
replies_between() {
	awk -v a="$2" -v b="$3" '/ bytes from / {
		ts = substr($1, 2, length($1) - 2) + 0
		if (ts > a + 0 && ts < b + 0) n++
	} END { print n + 0 }' "$1"
}
# steady LOG T INTERVAL: fail unless at least 80 % of the pings sent in the
# second after T (one per INTERVAL s) were answered in that second.
steady() {
	local want got
	want=$(awk -v i="$3" 'BEGIN { printf "%d\n", 0.8 / i }')
	sleep 1.1
	got=$(replies_between "$1" "$2" "$(awk -v t="$2" 'BEGIN { printf "%.6f", t + 1 }')")
	[ "$got" -ge "$want" ] || fail "only $got ping replies in the second after service resumed, expected >= $want"
}
stop_pinger() {
	local pid
	if pid=$(spawn_pid "$1"); then kill -INT "$pid" 2>/dev/null || true; fi
	kill_spawned "$1" 3
}

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
mesh_start_all
mesh_wait_all_up 15
ip21=$(cont_ip 2 1)
mac21=$(cont_mac 2 1)
wait_for 5 c 1 1 ping -c 1 -W 1 "$ip21" || fail "ping h1c1 -> h2c1 before the restart"

# ---- (a) restart weftd on h2 while h1c1 pings h2c1 ---------------------------
spawn pinger_a c 1 1 ping -D -n -i 0.1 -W 1 -w 25 "$ip21"
plog=$(spawn_log pinger_a)
t=$(now_s)
wait_reply_after "$plog" "$t" 3 >/dev/null || fail "no ping replies before the restart"
mesh_stop 2
t_stopped=$(now_s)
sleep 1
t_start=$(now_s)
mesh_start 2
t_ready=$(now_s)
t_back=$(wait_reply_after "$plog" "$t_start" 10) ||
	fail "pings h1c1 -> h2c1 did not resume within 10 s of restarting weftd on h2"
steady "$plog" "$t_back" 0.1
stop_pinger pinger_a
gap=$(replies_between "$plog" "$(awk -v t="$t_stopped" 'BEGIN { printf "%.6f", t + 0.2 }')" "$t_start")
[ "$gap" = 0 ] || fail "$gap ping replies arrived while weftd on h2 was stopped, expected none"
resume_ms=$(ms_between "$t_start" "$t_back")
say "(a) restart: weftd on h2 started, socket up after $(ms_between "$t_start" "$t_ready") ms; pings resumed after $resume_ms ms (limit $RESTART_MAX_MS)"
[ "$resume_ms" -le "$RESTART_MAX_MS" ] ||
	fail "pings resumed $resume_ms ms after restarting weftd on h2, expected <= $RESTART_MAX_MS ms"
for j in 1 3; do
	mesh_wait_up 2 "$j" 5 || fail "the restarted h2 has no session with h$j"
	mesh_wait_up "$j" 2 5 || fail "h$j has no session with the restarted h2"
done

# ---- (b) h2c1's MAC and IP move to a new container on h3 ---------------------
c 2 1 ping -c 2 -i 0.2 -W 1 -q "$(cont_ip 1 1)" >/dev/null || fail "ping h2c1 -> h1c1 before the move"
owner=$(mesh_mac_peer 1 "$mac21")
[ "$owner" = h2 ] || fail "before the move h1's MAC table puts $mac21 at '$owner', expected h2"

# The new place, ready but with its link down: IPv6 off, so that bringing
# it up sends nothing on its own; its first frame is the ping's ARP request.
n32=$(ns_cont 3 2)
ip netns add "$n32"
ip netns exec "$n32" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
ip -n "$n32" link set lo up
ip -n "$(ns_host 3)" link add c2 address 02:77:01:00:03:02 mtu "$WT_MTU" type veth \
	peer name eth0 address "$mac21" mtu "$WT_MTU" netns "$n32"
ip -n "$n32" addr add "$ip21/24" dev eth0
ip -n "$(ns_host 3)" link set c2 master "$WT_BRIDGE" up

spawn pinger_b c 1 1 ping -D -n -i 0.05 -W 1 -w 20 "$ip21"
plog=$(spawn_log pinger_b)
t=$(now_s)
wait_reply_after "$plog" "$t" 3 >/dev/null || fail "no ping replies from h2c1 before the move"
ip -n "$(ns_host 2)" link del c1
t_gone=$(now_s)
sleep 0.5
t_move=$(now_s)
ip -n "$n32" link set eth0 up
c 3 2 ping -c 1 -W 1 "$(cont_ip 1 1)" >/dev/null || fail "the moved container on h3 cannot ping h1c1"
t_back=$(wait_reply_after "$plog" "$t_move" 5) ||
	fail "h1c1's pings did not reach $ip21 at its new place (h3) within 5 s"
steady "$plog" "$t_back" 0.05
stop_pinger pinger_b
gap=$(replies_between "$plog" "$(awk -v t="$t_gone" 'BEGIN { printf "%.6f", t + 0.2 }')" "$t_move")
[ "$gap" = 0 ] || fail "$gap replies came from $ip21 while it was nowhere, expected none"
move_ms=$(ms_between "$t_move" "$t_back")
say "(b) move h2 -> h3: h1c1 reached $ip21 at h3 $move_ms ms after its link came up (limit $MOVE_MAX_MS)"
owner=$(mesh_mac_peer 1 "$mac21")
[ "$owner" = h3 ] || fail "after the move h1's MAC table puts $mac21 at '$owner', expected h3"
[ "$move_ms" -le "$MOVE_MAX_MS" ] ||
	fail "h1c1 reached the moved $ip21 after $move_ms ms, expected <= $MOVE_MAX_MS ms"

# ---- (c) and back home to h2, which had learned it behind h3 ------------------
owner=$(mesh_mac_peer 2 "$mac21")
say "(c) before moving home, h2's MAC table puts $mac21 at '${owner:-nowhere}'"
n21=$(ns_cont 2 1)
ip netns exec "$n21" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
ip -n "$(ns_host 2)" link add c1 address 02:77:01:00:02:01 mtu "$WT_MTU" type veth \
	peer name eth0 address "$mac21" mtu "$WT_MTU" netns "$n21"
ip -n "$n21" addr add "$ip21/24" dev eth0
ip -n "$(ns_host 2)" link set c1 master "$WT_BRIDGE" up

spawn pinger_c c 1 1 ping -D -n -i 0.05 -W 1 -w 20 "$ip21"
plog=$(spawn_log pinger_c)
t=$(now_s)
wait_reply_after "$plog" "$t" 3 >/dev/null || fail "no ping replies from $ip21 at h3 before moving home"
ip -n "$(ns_host 3)" link del c2
sleep 0.5
t_move=$(now_s)
ip -n "$n21" link set eth0 up
c 2 1 ping -c 1 -W 1 "$(cont_ip 1 1)" >/dev/null || fail "h2c1, back home, cannot ping h1c1"
t_back=$(wait_reply_after "$plog" "$t_move" 5) ||
	fail "h1c1's pings did not reach $ip21 back on h2 within 5 s"
steady "$plog" "$t_back" 0.05
stop_pinger pinger_c
home_ms=$(ms_between "$t_move" "$t_back")
say "(c) move h3 -> h2: h1c1 reached $ip21 at h2 $home_ms ms after its link came up (limit $MOVE_MAX_MS)"
owner=$(mesh_mac_peer 1 "$mac21")
[ "$owner" = h2 ] || fail "after moving home h1's MAC table puts $mac21 at '$owner', expected h2"
owner=$(mesh_mac_peer 2 "$mac21")
[ -z "$owner" ] || fail "h2's MAC table still puts its own local $mac21 at '$owner', expected no entry"
[ "$home_ms" -le "$MOVE_MAX_MS" ] ||
	fail "h1c1 reached $ip21 back home after $home_ms ms, expected <= $MOVE_MAX_MS ms"
c 3 1 ping -c 2 -i 0.2 -W 1 -q "$ip21" >/dev/null || fail "h3c1 cannot reach $ip21 back on h2"

mesh_stop_all
say "PASS"
