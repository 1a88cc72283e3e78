#!/bin/bash
# SPDX-License-Identifier: MIT
# Gossip never introduces a key that local policy refuses. h2 and h3 know each
# other; h1 knows only h2 and requires pinned keys (h2 pinned). h2 tells h1
# about h3: h1 refuses the entry (counted), makes no peer of it, and h3's own
# attempts to join h1 are refused too. Then h1 drops require_pinned_keys but
# pins the name h3 to another key: gossip about the real h3 is still refused.
#
#   weftd(h1) ══ weftd(h2) ══ weftd(h3)      (h1 ╳ h3: policy, not the network)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
for i in 1 2 3; do mesh_config "$i"; done
# h1: only h2, pinned, and every peer must be pinned.
sed -i '/^\[peer "h3"\]/,/^endpoint/d' "$WT_TMP/h1.conf"
sed -i "s|^\[peer \"h2\"\]|[peer \"h2\"]\npublic_key = $(cat "$WT_TMP/h2.pub")|" "$WT_TMP/h1.conf"
sed -i 's|^\[network\]|[network]\nrequire_pinned_keys = yes|' "$WT_TMP/h1.conf"
"$WEFTD" -t -c "$WT_TMP/h1.conf" >/dev/null || fail "h1.conf is invalid: $("$WEFTD" -t -c "$WT_TMP/h1.conf" 2>&1)"
mesh_start_all
mesh_wait_up 1 2 15 || fail "h1 has no session with h2"
mesh_wait_up 2 3 15 || fail "h2 has no session with h3"

# h2 gossips h3 to h1 at once and every 30 s; h3 learns h1 from h2 and tries
# to handshake with it. Give it time: three handshake rounds.
wait_for 15 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h1.sock' status --json | jq .mesh.gossip_refused)\" -ge 1 ]" ||
	fail "h1 never refused the gossip about h3: $(mesh_status 1 | jq -c .mesh)"
sleep 5
n=$(mesh_status 1 | jq '[.peers[] | select(.fingerprint == "'"$(cut -c1-8 "$WT_TMP/h3.pub")"'")] | length')
[ "$n" = 0 ] || fail "h1 made a peer of h3's key: $(mesh_status 1 | jq -c .peers)"
[ "$(mesh_peer_state 3 1)" != up ] || fail "h3 got a session with h1"
ref=$(mesh_drop_get 1 handshake_refused)
say "(a) require_pinned_keys: gossip_refused $(mesh_status 1 | jq .mesh.gossip_refused), h3's handshakes refused $ref, no peer h3 on h1"

# ---- (b) the name h3 pinned to another key -----------------------------------------
sed -i 's|^require_pinned_keys = yes||' "$WT_TMP/h1.conf"
(umask 077 && "$WEFTD" genkey >"$WT_TMP/other.key")
printf '[peer "h3"]\npublic_key = %s\n' "$("$WEFTD" pubkey <"$WT_TMP/other.key")" >>"$WT_TMP/h1.conf"
"$WEFTD" -t -c "$WT_TMP/h1.conf" >/dev/null || fail "h1.conf (b) is invalid"
refused0=$(mesh_status 1 | jq .mesh.gossip_refused)
kill -HUP "$(spawn_pid weftd1)"
wait_for 20 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h1.sock' status --json | jq .mesh.gossip_refused)\" -gt $refused0 ]" ||
	fail "h1 did not refuse the gossip about h3 under another pin"
[ "$(mesh_peer_state 1 3)" != up ] || fail "h1 has a session with h3 though h3's key is not the pin"
say "(b) h3 pinned to another key: gossip refused again ($(mesh_status 1 | jq .mesh.gossip_refused)), no session"

mesh_stop_all
say PASS
