#!/bin/bash
# SPDX-License-Identifier: MIT
# weft over an IPv6 underlay: sessions come up between [fd00::1] and
# [fd00::2], the overlay MTU is 1500 - 40 - 8 - 35 - 14 = 1403, a full-size
# DF ping crosses, and the underlay carries only UDP over IPv6.
#
#   h1c1 ─ weft0 ─ weftd [fd00::1]:6783 ══ ul0 ══ [fd00::2]:6783 weftd ─ weft0 ─ h2c1
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping tcpdump jq
export MESH_IPV6=1

topo_create --hosts 2 --containers 1 --no-bridge --mtu 1403
mesh_init
mesh_start_all
mesh_wait_up 1 2 15 || fail "no session over IPv6"
mtu=$(mesh_status 1 | jq .mtu)
[ "$mtu" = 1403 ] || fail "overlay MTU over IPv6 is $mtu, expected 1403"
endpoint=$(mesh_status 1 | jq -r '.peers[0].endpoint')
[ "$endpoint" = "[fd00::2]:6783" ] || fail "peer endpoint is $endpoint, expected [fd00::2]:6783"

spawn tcpdump_ul ul tcpdump --immediate-mode -i ul0 -n -U -w "$WT_TMP/ul.pcap"
wait_for 10 grep -q "listening on" "$(spawn_log tcpdump_ul)" || fail "tcpdump did not start"
c 1 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 2 1)" >/dev/null || fail "ping over an IPv6 underlay"
c 1 1 ping -c 3 -i 0.2 -M do -s $((mtu - 28)) -W 2 -q "$(cont_ip 2 1)" >/dev/null ||
	fail "a full-size DF ping did not cross the IPv6 underlay"
sleep 0.5
kill_spawned tcpdump_ul
v6=$(tcpdump -n -r "$WT_TMP/ul.pcap" 'ip6 and udp port 6783' 2>/dev/null | wc -l)
v4=$(tcpdump -n -r "$WT_TMP/ul.pcap" 'ip and not igmp' 2>/dev/null | wc -l)
frag=$(tcpdump -n -r "$WT_TMP/ul.pcap" 'ip6[6] == 44' 2>/dev/null | wc -l)
[ "$v6" -ge 12 ] || fail "expected weft datagrams over IPv6, saw $v6"
[ "$v4" = 0 ] || fail "$v4 IPv4 packets on an IPv6 underlay: $(tcpdump -n -r "$WT_TMP/ul.pcap" ip 2>/dev/null | head -n 3)"
[ "$frag" = 0 ] || fail "$frag IPv6 fragments on the underlay"
mesh_stop_all
say "PASS"
