#!/bin/bash
# SPDX-License-Identifier: MIT
# weftd starts before the network it needs and follows it as it comes:
# (a) h1 has no route to its peer at start: weftd keeps running on an
#     assumed 1500-byte underlay; once the route appears the overlay works
#     and its MTU follows the route's device (down, and back up to what
#     the data path was sized for at start);
# (b) h2 has create_bridge = no and no bridge: weftd waits; the bridge made
#     2 s later is plugged into and traffic crosses;
# (c) the bridge deleted and made again: h2 waits and plugs in again; h1,
#     whose weftd may create it, makes it again at once.
# Neither weftd restarts (the same process throughout).
#
#   h1c1 ─ weft0 (weftd's) ─ weftd(h1) ══ UDP ══ weftd(h2) ─ weft0 (the test's) ─ h2c1
#          h1 eth0: 10.0.0.1/32, no route to h2 at start; then 10.0.0.0/24 dev eth0,
#          and eth0's MTU 1400, 1450, 9000, 1500
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
WT_PREFIX=wtstart$$-
mesh_test_begin ping jq

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
mesh_config 1
mesh_config 2 "create_bridge = no"
log1=$(spawn_log weftd1)
log2=$(spawn_log weftd2)
# log_has I TEXT: weftd I's log says TEXT.
log_has() { grep -qF -- "$2" "$(spawn_log "weftd$1")"; }
overlay_mtu() { mesh_status "$1" | jq -r .mtu; }
bridge_mtu() { hN "$1" cat /sys/class/net/weft0/mtu; }
master_of() { hN "$1" ip -o link show dev "$2" | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }
ping_across() {
	wait_for "${1:-10}" c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || return 1
	c 2 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 1 1)" >/dev/null
}

# ---- start-up with no route and no bridge ----------------------------------
# h1 keeps its address (weftd listens on it), without the prefix route.
h1 ip addr del "$(host_ip 1)/24" dev eth0
h1 ip addr add "$(host_ip 1)/32" dev eth0
h1 ip route get "$(host_ip 2)" >/dev/null 2>&1 && fail "h1 still has a route to h2"
mesh_start 1
mesh_start 2
pid1=$(spawn_pid weftd1) && pid2=$(spawn_pid weftd2) || fail "a weftd exited at start"
sleep 1
spawn_pid weftd1 >/dev/null || { cat "$log1" >&2; fail "(a) weftd without a route exited"; }
spawn_pid weftd2 >/dev/null || { cat "$log2" >&2; fail "(b) weftd without its bridge exited"; }
log_has 1 "assuming a 1500-byte underlay until one appears" || fail "(a) no warning about the route"
[ "$(overlay_mtu 1)" = 1423 ] || fail "(a) overlay MTU $(overlay_mtu 1) at start, want 1423"
log_has 2 "waiting for bridge weft0" || fail "(b) weftd does not say it waits for the bridge"
hN 2 ip link show weft0 >/dev/null 2>&1 && fail "(b) weftd made the bridge although create_bridge = no"
[ -z "$(master_of 2 weft0-br)" ] || fail "(b) weft0-br has a master already"
say "both weftds run: h1 without a route, h2 without its bridge"

# ---- (b) the bridge appears ------------------------------------------------
sleep 2
hN 2 ip link add weft0 address 02:77:ff:00:00:02 type bridge
hN 2 ip link set weft0 up
wait_for 5 sh -c "ip -n '$(ns_host 2)' -o link show dev weft0-br | grep -q 'master weft0 '" ||
	{ cat "$log2" >&2; fail "(b) weft0-br was not plugged into the new bridge"; }
log_has 2 "bridge weft0 is there: weft's port plugged in" || fail "(b) no log line for the plug"
[ "$(bridge_mtu 2)" = 1423 ] || fail "(b) bridge MTU $(bridge_mtu 2), want the overlay's 1423"
attach_containers 1 2
say "(b) h2 plugged into the bridge made after it started"

# ---- (a) the route appears -------------------------------------------------
h1 ip link set eth0 mtu 1400
h1 ip route add 10.0.0.0/24 dev eth0
wait_for 5 sh -c "[ \"\$('$WEFTCTL' -s '$WT_TMP/h1.sock' status --json | jq .mtu)\" = 1323 ]" ||
	{ cat "$log1" >&2; fail "(a) overlay MTU $(overlay_mtu 1) after the route came, want 1323"; }
[ "$(bridge_mtu 1)" = 1323 ] || fail "(a) bridge MTU $(bridge_mtu 1), want 1323"
log_has 1 "overlay MTU 1323, was 1423 (underlay eth0 MTU 1400, IPv4)" || fail "(a) no log line for the new MTU"
mesh_wait_up 1 2 20 || { cat "$log1" >&2; fail "(a) no session once the route came"; }
ping_across || fail "(a)(b) ping across"
c 1 1 ping -c 2 -i 0.2 -M do -s $((1323 - 28)) -W 2 -q "$(cont_ip 2 1)" >/dev/null ||
	fail "(a) a full-size DF ping (overlay MTU 1323) did not cross"
say "(a) route came: overlay MTU 1323 on a 1400-byte underlay, traffic crosses"

# The device's MTU moves: the overlay follows, up to the 1423 it was sized for.
h1 ip link set eth0 mtu 1450
wait_for 5 sh -c "[ \"\$(ip netns exec '$(ns_host 1)' cat /sys/class/net/weft0/mtu)\" = 1373 ]" ||
	fail "(a) bridge MTU $(bridge_mtu 1) after eth0 went to 1450, want 1373"
[ "$(overlay_mtu 1)" = 1373 ] || fail "(a) overlay MTU $(overlay_mtu 1), want 1373"
h1 ip link set eth0 mtu 9000
wait_for 5 log_has 1 "underlay eth0 MTU 9000: weftd's buffers were sized at start-up" ||
	fail "(a) nothing said about an underlay larger than the data path"
[ "$(overlay_mtu 1)" = 1423 ] || fail "(a) overlay MTU $(overlay_mtu 1) on a 9000 underlay, want 1423"
[ "$(bridge_mtu 1)" = 1423 ] || fail "(a) bridge MTU $(bridge_mtu 1) on a 9000 underlay, want 1423"
h1 ip link set eth0 mtu 1500
ping_across || fail "(a) ping across after the MTU changes"
say "(a) the overlay MTU followed eth0: 1400 -> 1323, 1450 -> 1373, 9000 -> 1423 (capped)"

# ---- (c) the bridges deleted and made again ---------------------------------
hN 2 ip link del weft0
wait_for 5 log_has 2 "bridge weft0 is gone; waiting for it to come back" ||
	{ cat "$log2" >&2; fail "(c) h2 said nothing when its bridge went"; }
spawn_pid weftd2 >/dev/null || fail "(c) weftd on h2 exited when its bridge went"
sleep 1
hN 2 ip link add weft0 address 02:77:ff:00:00:02 type bridge
hN 2 ip link set weft0 up
wait_for 5 sh -c "ip -n '$(ns_host 2)' -o link show dev weft0-br | grep -q 'master weft0 '" ||
	{ cat "$log2" >&2; fail "(c) weft0-br was not plugged into the bridge made again"; }
[ "$(grep -cF "weft's port plugged in" "$log2")" = 2 ] || fail "(c) h2 did not log the second plug"
# h1 may create its bridge: it makes it again itself.
hN 1 ip link del weft0
wait_for 5 sh -c "ip -n '$(ns_host 1)' -o link show dev weft0-br | grep -q 'master weft0 '" ||
	{ cat "$log1" >&2; fail "(c) h1's weftd did not make its bridge again"; }
[ "$(bridge_mtu 1)" = 1423 ] || fail "(c) h1's new bridge has MTU $(bridge_mtu 1), want 1423"
attach_containers 1 2
ping_across || fail "(c) ping across after both bridges were made again"
say "(c) bridges deleted and made again: plugged in again, traffic crosses"

[ "$(spawn_pid weftd1)" = "$pid1" ] && [ "$(spawn_pid weftd2)" = "$pid2" ] ||
	fail "a weftd restarted"
mesh_stop_all
say "PASS"
