#!/bin/bash
# SPDX-License-Identifier: MIT
# A host with two underlay addresses, weftd bound to the wildcard address:
# every datagram to a peer leaves from the address that peer wrote to, not
# from the one the route prefers (a stateful firewall or NAT between them
# would drop the answers otherwise). Checked on the underlay with tcpdump
# for an IPv4 socket, a dual-stack socket talking IPv4, and IPv6. Then the
# address goes away: weftd falls back to the kernel's choice, counts it
# (udp.tx_source_lost), and the peer follows it to the other address.
#
#   h1c1 ─ weft0 ─ weftd(h1) ══ ul0 ══ eth0 of h2: 10.0.0.2 (preferred) + 10.0.0.12
#                                       weftd(h2), listen 0.0.0.0 / [::]
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping tcpdump iperf3 jq

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init

# pref FAMILY DST: the source address h2's kernel picks toward DST.
pref() { hN 2 ip "$1" route get "$2" | sed -n 's/.* src \([^ ]*\).*/\1/p'; }

# conf_set FILE KEY VALUE: replace the first "KEY = ..." line.
conf_set() {
	sed -i "0,/^$2 = .*/s||$2 = $3|" "$1"
	grep -qxF "$2 = $3" "$1" || fail "conf_set: no $2 in $1"
}

# h2_answers_only LISTEN: h2 listens on LISTEN and never initiates (its
# [peer "h1"] has no endpoint), so every address h2 uses is one h1 chose.
h2_answers_only() {
	conf_set "$WT_TMP/h2.conf" listen "$1"
	sed -i -e '/^endpoint = /d' -e "s|^listen = .*|&\nunderlay = eth0|" "$WT_TMP/h2.conf"
	grep -qx "underlay = eth0" "$WT_TMP/h2.conf" || fail "could not edit h2.conf"
}

# check_sources LABEL PREFERRED OTHER: with tcpdump on h2's eth0, make
# handshakes, pings both ways and a TCP burst cross, then require that
# weft's datagrams left h2 from OTHER (what h1 wrote to) and never from
# PREFERRED (what the route would pick).
check_sources() {
	local label=$1 preferred=$2 other=$3 bad good
	spawn tcpdump_ul hN 2 tcpdump --immediate-mode -i eth0 -n -U -w "$WT_TMP/ul-$label.pcap" udp port 6783
	wait_for 10 grep -q "listening on" "$(spawn_log tcpdump_ul)" || fail "$label: tcpdump did not start"
	mesh_start_all
	mesh_wait_up 1 2 15 || fail "$label: h1 has no session with h2"
	wait_for 10 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "$label: ping h1c1 -> h2c1"
	c 2 1 ping -c 5 -i 0.1 -W 1 -q "$(cont_ip 1 1)" >/dev/null || fail "$label: ping h2c1 -> h1c1"
	spawn iperf3s c 1 1 iperf3 -s -1
	wait_for 5 c 1 1 sh -c "ss -ltn | grep -q :5201"
	c 2 1 iperf3 -c "$(cont_ip 1 1)" -t 2 >"$WT_TMP/iperf-$label.txt" 2>&1 ||
		fail "$label: iperf3 h2c1 -> h1c1: $(tail -n 3 "$WT_TMP/iperf-$label.txt")"
	say "$label: $(grep sender "$WT_TMP/iperf-$label.txt")"
	kill_spawned iperf3s 2
	sleep 0.5
	kill_spawned tcpdump_ul
	bad=$(tcpdump -n -r "$WT_TMP/ul-$label.pcap" "src host $preferred" 2>/dev/null | wc -l)
	good=$(tcpdump -n -r "$WT_TMP/ul-$label.pcap" "src host $other" 2>/dev/null | wc -l)
	say "$label: h2 sent $good datagrams from $other, $bad from $preferred;" \
		"h2's udp: $(mesh_status 2 | jq -c .udp)"
	[ "$bad" = 0 ] || fail "$label: h2 sent $bad datagrams from $preferred, not from $other"
	[ "$good" -ge 100 ] || fail "$label: only $good datagrams from $other (expected the TCP burst)"
	[ "$(mesh_status 2 | jq -r '.peers[] | select(.name == "h1") | .local_address')" = "$other" ] ||
		fail "$label: h2's status does not show $other as its local address toward h1"
}

# ---- IPv4 socket, 0.0.0.0 -----------------------------------------------------
hN 2 ip addr add 10.0.0.12/24 dev eth0
pref4=$(pref -4 "$(host_ip 1)")
[ "$pref4" = "$(host_ip 2)" ] || fail "expected h2 to prefer $(host_ip 2) toward h1, got '$pref4'"
mesh_config 1
conf_set "$WT_TMP/h1.conf" endpoint 10.0.0.12:6783 # [peer "h2"]: its only peer
mesh_config 2
h2_answers_only 0.0.0.0:6783
check_sources ipv4 "$pref4" 10.0.0.12
[ "$(mesh_peer_get 1 2 endpoint)" = 10.0.0.12:6783 ] ||
	fail "ipv4: h1's endpoint for h2 moved to $(mesh_peer_get 1 2 endpoint)"

# The address goes away: h2's next datagram from it is refused by the
# kernel, sent from the preferred address instead, and h1 follows.
hN 2 ip addr del 10.0.0.12/24 dev eth0
wait_for 10 c 2 1 ping -c 1 -W 1 "$(cont_ip 1 1)" ||
	fail "no traffic after h2 lost the address h1 wrote to"
wait_for 5 sh -c "[ \"\$('$WEFTCTL' -s '$WT_TMP/h1.sock' status --json |
	jq -r '.peers[] | select(.name == \"h2\") | .endpoint')\" = $(host_ip 2):6783 ]" ||
	fail "h1 did not follow h2 to $(host_ip 2)"
lost=$(mesh_status 2 | jq .udp.tx_source_lost)
say "address removed: h2 fell back $lost time(s); h1 follows it to $(host_ip 2)"
[ "$lost" -ge 1 ] || fail "h2's udp.tx_source_lost is $lost, expected >= 1"
mesh_stop_all

# ---- dual-stack socket, [::], talking IPv4 (IPv4-mapped sources) ---------------
hN 2 ip addr add 10.0.0.12/24 dev eth0
mesh_config 1
conf_set "$WT_TMP/h1.conf" endpoint 10.0.0.12:6783
mesh_config 2
h2_answers_only "[::]:6783"
# A dual-stack socket sizes the overlay for IPv6 (1403); this one talks IPv4
# only, so it may use IPv4's 1423 like h1 and the containers.
sed -i "s|^underlay = eth0|&\nmtu = 1423|" "$WT_TMP/h2.conf"
check_sources dualstack "$pref4" 10.0.0.12
mesh_stop_all

# ---- IPv6 --------------------------------------------------------------------------
hN 2 ip addr add fd00::12/64 dev eth0 nodad
pref6=$(pref -6 "$(host_ip6 1)")
case $pref6 in
fd00::2) other6=fd00::12 ;;
fd00::12) other6=fd00::2 ;;
*) fail "unexpected IPv6 source '$pref6' toward h1" ;;
esac
set_container_mtu 1403 # IPv6's overlay MTU on a 1500 underlay
MESH_IPV6=1 mesh_config 1
conf_set "$WT_TMP/h1.conf" endpoint "[$other6]:6783"
MESH_IPV6=1 mesh_config 2
h2_answers_only "[::]:6783"
check_sources ipv6 "$pref6" "$other6"
mesh_stop_all
say "PASS"
