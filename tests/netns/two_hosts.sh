#!/bin/bash
# SPDX-License-Identifier: MIT
# Two hosts joined by weft: containers talk across it, ARP crosses, a
# full-size DF ping fits, TCP flows both ways, and the underlay carries only
# sealed UDP to port 6783 (a marker in the ping payload never appears there).
#
#   h1c1 ─ weft0 ─ weftd(h1) ══ UDP 6783 over ul0 ══ weftd(h2) ─ weft0 ─ h2c1
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping iperf3 tcpdump jq

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
mesh_start_all
mesh_wait_up 1 2 15 || fail "no session between h1 and h2"

# ARP: nothing is resolved yet, so the first ping needs a broadcast to cross.
c 1 1 ip neigh flush all
wait_for 5 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "ping h1c1 -> h2c1"
c 1 1 ip neigh show "$(cont_ip 2 1)" | grep -q "$(cont_mac 2 1)" || fail "ARP did not resolve h2c1"
c 2 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 1 1)" >/dev/null || fail "ping h2c1 -> h1c1"
c 1 1 ping -6 -c 3 -i 0.2 -W 2 -q "$(cont_ip6 2 1)" >/dev/null || fail "ping6 h1c1 -> h2c1"

# The overlay MTU: 1500 - 20 - 8 - 35 - 14 = 1423; set on the bridge side by weftd.
mtu=$(mesh_status 1 | jq .mtu)
[ "$mtu" = 1423 ] || fail "overlay MTU is $mtu, expected 1423"
[ "$(hN 1 cat /sys/class/net/weft0/mtu)" = 1423 ] || fail "bridge weft0 MTU not set"
# weftd's own port is larger, so frames too big for the overlay reach weftd
# (which answers them) instead of dying unseen in the bridge.
[ "$(hN 1 cat /sys/class/net/weft0-br/mtu)" = 65535 ] || fail "weft0-br MTU not raised"
c 1 1 ping -c 3 -i 0.2 -M do -s $((mtu - 28)) -W 2 -q "$(cont_ip 2 1)" >/dev/null ||
	fail "a full-size ping with DF set did not cross"
# One byte more does not fit the containers' MTU: the sender refuses it locally.
if c 1 1 ping -c 1 -M do -s $((mtu - 27)) -W 1 -q "$(cont_ip 2 1)" >/dev/null 2>&1; then
	fail "an oversized DF ping crossed"
fi

# No plaintext on the underlay: a marker pattern is absent there and present
# inside the receiving container.
marker=5eed5eed5eed5eed
spawn tcpdump_ul ul tcpdump --immediate-mode -i ul0 -n -U -w "$WT_TMP/ul.pcap"
spawn tcpdump_c c 2 1 tcpdump --immediate-mode -i eth0 -n -U -w "$WT_TMP/c.pcap" icmp
for t in tcpdump_ul tcpdump_c; do
	wait_for 10 grep -q "listening on" "$(spawn_log "$t")" || fail "$t did not start"
done
c 1 1 ping -c 5 -i 0.2 -p "$marker" -W 2 -q "$(cont_ip 2 1)" >"$WT_TMP/marker.txt" || fail "marker ping"
# Each request sent and each reply received crossed the underlay once.
crossed=$(awk '/packets transmitted/ { print $1 + $4 }' "$WT_TMP/marker.txt")
sleep 0.5
kill_spawned tcpdump_ul
kill_spawned tcpdump_c
hex_of() { od -An -v -tx1 "$1" | tr -d ' \n'; }
hex_of "$WT_TMP/c.pcap" | grep -q "$marker" || fail "marker not seen in the receiving container"
if hex_of "$WT_TMP/ul.pcap" | grep -q "$marker"; then
	fail "marker seen in plaintext on the underlay"
fi
# The hosts' own link-local chatter is not weft's: ARP, neighbour discovery
# (ICMPv6) and MLD reports (ICMPv6 behind a hop-by-hop header, to ff02::/16),
# which the kernel sends at its own times.
not_weft='not (udp port 6783) and not arp and not icmp6 and not (ip6 proto 0 and dst net ff02::/16)'
other=$(tcpdump -n -r "$WT_TMP/ul.pcap" "$not_weft" 2>/dev/null | wc -l)
if [ "$other" != 0 ]; then
	tcpdump -n -r "$WT_TMP/ul.pcap" "$not_weft" 2>/dev/null | head -n 5 >&2
	fail "the underlay carried $other packets that are not weft's UDP"
fi
udp=$(tcpdump -n -r "$WT_TMP/ul.pcap" 'udp port 6783' 2>/dev/null | wc -l)
[ "$udp" -ge "${crossed:-10}" ] || fail "expected $crossed weft datagrams on the underlay, saw $udp"

# TCP both directions.
for dir in "1 1 2 1" "2 1 1 1"; do
	set -- $dir
	spawn iperf3s c "$3" "$4" iperf3 -s -1
	wait_for 5 c "$3" "$4" sh -c "ss -ltn | grep -q :5201"
	c "$1" "$2" iperf3 -c "$(cont_ip "$3" "$4")" -t 3 -J >"$WT_TMP/iperf.json" ||
		fail "iperf3 h$1c$2 -> h$3c$4 failed"
	kill_spawned iperf3s
	mbps=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$WT_TMP/iperf.json")
	say "iperf3 h$1c$2 -> h$3c$4: $mbps Mbit/s"
	[ "$mbps" -gt 10 ] || fail "TCP throughput only $mbps Mbit/s"
done

mesh_stop_all
# weftd removed the veth pair it created; the bridge it created stays while
# containers are still plugged into it.
hN 1 ip link show weft0-br >/dev/null 2>&1 && fail "weft0-br left behind"
hN 1 ip link show weft0 >/dev/null 2>&1 || fail "bridge weft0 removed under its containers"
say "PASS"
