#!/bin/bash
# SPDX-License-Identifier: MIT
# The quickstart demo: three hosts in network namespaces, two containers on
# each host's bridge, weftd joining the bridges over an underlay. Hosts 2 and
# 3 are given host 1's address only: gossip makes the full mesh. Then ping and
# iperf3 across the mesh, `weftctl status` of one host, and cleanup.
#
#   h1: c1 c2 ─ weft0 ─ weftd ═╗
#   h2: c1 c2 ─ weft0 ─ weftd ═╬═ underlay 10.0.0.0/24 (UDP 6783, sealed)
#   h3: c1 c2 ─ weft0 ─ weftd ═╝
#
# Usage: tests/demo.sh BUILD_DIR
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: demo.sh BUILD_DIR}
export WEFTD="$build/daemon/weftd" WEFTCTL="$build/daemon/weftctl"
. "$here/netns/lib.sh"
. "$here/netns/mesh.sh"

mesh_test_begin ping iperf3 jq

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "three hosts, two containers each (namespaces ${WT_PREFIX}*)"
topo_create --hosts 3 --containers 2 --no-bridge
mesh_init
export MESH_SEED=1
for i in 1 2 3; do mesh_config "$i"; done
sed -n '1,40p' "$WT_TMP/h2.conf" | sed 's/^/    h2.conf: /'

step "start weftd on every host (h2 and h3 know only h1's address)"
mesh_start_all
mesh_wait_all_up 15
echo "all three hosts have sessions with each other: h2 and h3 found each other by gossip"

step "ping across the mesh (container h1c1 → every other container)"
for i in 1 2 3; do
	for j in 1 2; do
		[ "$i$j" = 11 ] && continue
		printf '  %-8s ' "h${i}c$j"
		c 1 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip "$i" "$j")" | tail -n 1
	done
done

step "a full-size packet with Don't Fragment (overlay MTU $(mesh_status 1 | jq .mtu))"
mtu=$(mesh_status 1 | jq .mtu)
c 1 1 ping -c 2 -M do -s $((mtu - 28)) -W 2 -q "$(cont_ip 2 1)" | tail -n 2

step "iperf3 TCP, h1c1 → h2c1, 5 seconds"
spawn iperf3 c 2 1 iperf3 -s -1
sleep 0.5
c 1 1 iperf3 -c "$(cont_ip 2 1)" -t 5 -f m | grep -E 'sender|receiver'

step "weftctl status on host 1"
"$WEFTCTL" -s "$WT_TMP/h1.sock" status

step "done: cleaning up"
