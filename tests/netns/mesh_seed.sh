#!/bin/bash
# SPDX-License-Identifier: MIT
# A cluster grown from one seed address: six hosts, each configured with h1's
# address only (h1 names nobody). Gossip tells every member about every other;
# each connects directly. Prints the time from the last start to a full mesh
# and to every container pinging every other.
#
#   h2..h6 ── [peer "h1"] ──▶ weftd(h1)      all on ul0 (10.0.0.0/24)
#   after gossip: 30 sessions, a full mesh
#   containers: hIc1 = 192.168.77.I1/24
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq

topo_create --hosts 6 --containers 1 --no-bridge
mesh_init
export MESH_SEED=1
for i in 1 2 3 4 5 6; do mesh_config "$i"; done
for i in 2 3 4 5 6; do
	n=$(grep -c '^\[peer ' "$WT_TMP/h$i.conf")
	[ "$n" = 1 ] || fail "h$i.conf names $n peers, expected the seed only"
done
[ "$(grep -c '^\[peer ' "$WT_TMP/h1.conf" || true)" = 0 ] || fail "the seed names peers"

mesh_start_all
t0=$(date +%s%N)
mesh_wait_all_up 20 "full mesh from one seed"
t_mesh=$((($(date +%s%N) - t0) / 1000000))

# Every container pings every other (first ping after the ARP exchange).
for i in 1 2 3 4 5 6; do
	for j in 1 2 3 4 5 6; do
		[ "$i" = "$j" ] && continue
		wait_for 10 c "$i" 1 ping -c 1 -W 1 -q "$(cont_ip "$j" 1)" ||
			fail "h${i}c1 cannot ping h${j}c1"
	done
done
t_ping=$((($(date +%s%N) - t0) / 1000000))
say "6 hosts from one seed: every session up ${t_mesh} ms after the last start," \
	"all 30 container pairs pinged by ${t_ping} ms"

# Every member was learned by gossip except the seed (configured) on h2..h6,
# and the seed learned everyone by handshake or gossip; every route is direct.
for i in 2 3 4 5 6; do
	st=$(mesh_status "$i")
	for j in 1 2 3 4 5 6; do
		[ "$i" = "$j" ] && continue
		learned=$(echo "$st" | jq -r --arg p "h$j" '.peers[] | select(.name == $p) | .learned')
		route=$(echo "$st" | jq -r --arg p "h$j" '.peers[] | select(.name == $p) | .route')
		# A member may handshake before the gossip about it arrives.
		case "$j:$learned" in
		1:config | [2-6]:gossip | [2-6]:handshake) ;;
		*) fail "h$i learned h$j by '$learned'" ;;
		esac
		[ "$route" = direct ] || fail "h$i's route to h$j is '$route', expected direct"
	done
done
n=$(mesh_status 1 | jq '.peers | length')
[ "$n" = 5 ] || fail "the seed knows $n peers, expected 5"

# A restart keeps what was learned: with the seed gone, h3 comes back and
# reaches h6 from its members file alone.
mesh_stop 3
mesh_stop 1
[ -s "$WT_TMP/h3.members" ] || fail "h3 wrote no members file"
grep -q " h6 " "$WT_TMP/h3.members" || fail "h3's members file lacks h6: $(cat "$WT_TMP/h3.members")"
mesh_start 3
mesh_wait_up 3 6 15 || fail "restarted h3 has no session with h6"
say "h3 restarted with the seed down: back in the mesh from its members file"
for i in 2 3 4 5 6; do mesh_stop "$i"; done
say PASS
