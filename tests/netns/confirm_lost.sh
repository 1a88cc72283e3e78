#!/bin/bash
# SPDX-License-Identifier: MIT
# An initiator whose CONFIRM is refused (or lost) must start over, even when
# the other side does not know its address and so never initiates itself.
# h1 lists nobody and first requires pinned keys (it refuses h2's CONFIRM),
# then restarts accepting members; h2 must come up without waiting for a
# rekey (120 s).
#
#   h1c1 ─ weft0 ─ weftd(h1, lists no peer) ══ ul0 ══ weftd(h2 → h1) ─ weft0 ─ h2c1
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq

drop_peer_h2() {
	awk '/^\[/ { skip = ($0 == "[peer \"h2\"]") } !skip { print }' "$WT_TMP/h1.conf" >"$WT_TMP/x"
	mv "$WT_TMP/x" "$WT_TMP/h1.conf"
}

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
MESH_PIN=1 mesh_config 1 "require_pinned_keys = yes"
drop_peer_h2
mesh_config 2
mesh_start_all
wait_for 10 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h1.sock' status --json | jq .drops.handshake_refused)\" -ge 1 ]" ||
	fail "h1 did not refuse h2"

mesh_stop 1
mesh_config 1
drop_peer_h2
start=$(date +%s%N)
mesh_start 1
mesh_wait_up 2 1 20 || fail "h2 never came up after its CONFIRM was refused"
ms=$((($(date +%s%N) - start) / 1000000))
say "h2 up ${ms} ms after h1 began accepting it"
[ "$ms" -lt 15000 ] || fail "recovery took ${ms} ms"
wait_for 5 c 2 1 ping -c 1 -W 1 "$(cont_ip 1 1)" || fail "ping h2c1 -> h1c1 after recovery"
mesh_stop_all
say "PASS"
