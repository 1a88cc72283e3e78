#!/bin/bash
# SPDX-License-Identifier: MIT
# Keys are identities. h1 and h2 know each other by name and address, with no
# pinned keys; a ping runs h1c1 -> h2c1 across weft the whole time. Then a
# third host tries what a member (it has the network secret) could do:
#   (a) nickname takeover: weftd on h3 with a fresh key calls itself "h1" and
#       handshakes with h2: refused and counted on h2's peer h1 (key_conflicts),
#       h1's endpoint stays where it is, the ping loses nothing;
#   (b) a reflected identity: weftd on h3 with h2's own key: refused;
#   (c) trust on first use: h3 joins h2 as a new member with key A, comes back
#       with key B under the same name: refused until `weftctl unpin h3' on
#       h2, then B is kept;
#   (d) sybils: with max_learned_members = 3 on h2, made-up members (member,
#       fresh keys and names) get in until 3 members are known, the rest are
#       refused and counted as handshake_members_full; h1 is unaffected.
#
#   weftd(h1) ══ weftd(h2) ══ h3 (weftd, then tests/netns/member)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"

member=$(test_tool member)

mesh_test_begin ping jq timeout
[ -n "$member" ] || skip "member is not built"

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
mesh_config 1
mesh_config 2 "max_learned_members = 3"
# h1 and h2 know only each other; h3 is nobody's [peer].
sed -i '/^\[peer "h3"\]/,/^endpoint/d' "$WT_TMP/h1.conf" "$WT_TMP/h2.conf"
mesh_start 1
mesh_start 2
attach_containers 1 2
mesh_wait_up 1 2 15 || fail "h1 and h2 have no session"
mesh_wait_up 2 1 15 || fail "h2 has no session with h1"

PINGS=$WT_TMP/ping.log
c 1 1 timeout 120 ping -i 0.1 -W 1 "$(cont_ip 2 1)" >"$PINGS" 2>&1 &
PING_PID=$!
wait_for 10 grep -q "bytes from" "$PINGS" || fail "no ping across weft"

h2_peer() { mesh_status 2 | jq -r --arg p "$1" ".peers[] | select(.name == \$p) | .$2"; }
h1_endpoint=$(h2_peer h1 endpoint)
h1_key=$(h2_peer h1 public_key)
[ "$(h2_peer h1 key_source)" = learned ] || fail "h2 did not keep h1's key as learned"

# h3_config NICKNAME KEYFILE: a weftd on h3 that knows only h2.
h3_config() {
	{
		printf '[network]\nname = mesh\nnickname = %s\nsecret_file = %s/secret\n' "$1" "$WT_TMP"
		printf 'private_key_file = %s\n' "$2"
		printf 'members_file = %s/h3.members\nbanned_file = %s/h3.banned\n' "$WT_TMP" "$WT_TMP"
		printf 'timestamps_file = %s/h3.timestamps\n' "$WT_TMP"
		printf 'listen = %s\nbridge = %s\n' "$(mesh_endpoint 3)" "$WT_BRIDGE"
		printf '[timers]\nkeepalive_interval = 2\npeer_timeout = 8\ngossip_interval = 5\n'
		printf '[control]\nsocket = %s/h3.sock\n' "$WT_TMP"
		printf '[peer "h2"]\nendpoint = %s\n' "$(mesh_endpoint 2)"
	} >"$WT_TMP/h3.conf"
	rm -f "$WT_TMP/h3.members"
}

# ---- (a) a fresh key calling itself h1 ---------------------------------------------------
(umask 077 && "$WEFTD" genkey >"$WT_TMP/mallory.key")
h3_config h1 "$WT_TMP/mallory.key"
conflicts0=$(h2_peer h1 key_conflicts)
mesh_start 3
wait_for 15 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h2.sock' status --json |
	jq '.peers[] | select(.name == \"h1\") | .key_conflicts')\" -gt $conflicts0 ]" ||
	fail "h2 did not refuse the second key for h1: $(mesh_status 2 | jq -c '.peers')"
sleep 3
[ "$(h2_peer h1 endpoint)" = "$h1_endpoint" ] || fail "h1's endpoint moved to $(h2_peer h1 endpoint)"
[ "$(h2_peer h1 public_key)" = "$h1_key" ] || fail "h1's key changed on h2"
[ "$(mesh_status 2 | jq '.peers | length')" = 1 ] ||
	fail "h2 made a peer of the impostor: $(mesh_status 2 | jq -c '[.peers[].name]')"
say "(a) takeover: h1's key_conflicts on h2 $conflicts0 -> $(h2_peer h1 key_conflicts), endpoint still $h1_endpoint"
mesh_stop 3

# ---- (b) our own key, reflected --------------------------------------------------------
# As initiator: weftd on h3 with h2's key refuses h2's WELCOME (h2's key is its
# own). As responder: a member with h2's key gets h2's WELCOME, and its
# CONFIRM is refused.
h3_config h3 "$WT_TMP/h2.key"
mesh_start 3
wait_for 15 grep -q "our own key" "$(spawn_log weftd3)" || fail "h3 did not refuse its own key"
mesh_stop 3
refused0=$(mesh_drop_get 2 handshake_refused)
if hN 3 timeout 30 "$member" "$WT_TMP/secret" "$WT_TMP/h2.key" mesh mirror "$(host_ip 2)" 6783 \
	valid >"$WT_TMP/mirror.log" 2>&1; then
	fail "a member with h2's own key joined h2"
fi
[ "$(mesh_drop_get 2 handshake_refused)" -gt "$refused0" ] || fail "h2 did not count its own key refused"
[ -z "$(h2_peer mirror name)" ] || fail "h2 made a peer of its own key"
grep -q "our own key" "$(spawn_log weftd2)" || fail "h2 did not say why it refused its own key"
say "(b) own key: refused by h3 as initiator; h2 as responder: handshake_refused $refused0 -> $(mesh_drop_get 2 handshake_refused)"

# ---- (c) trust on first use ----------------------------------------------------------
(umask 077 && "$WEFTD" genkey >"$WT_TMP/h3a.key" && "$WEFTD" genkey >"$WT_TMP/h3b.key")
key_a=$("$WEFTD" pubkey <"$WT_TMP/h3a.key")
key_b=$("$WEFTD" pubkey <"$WT_TMP/h3b.key")
h3_config h3 "$WT_TMP/h3a.key"
mesh_start 3
mesh_wait_up 2 3 15 || fail "h3 (key A) did not join h2"
[ "$(h2_peer h3 public_key)" = "$key_a" ] || fail "h2 does not show h3's whole key"
"$WEFTCTL" -s "$WT_TMP/h2.sock" status | grep -q "key $key_a (learned)" ||
	fail "weftctl status does not print h3's whole key"
mesh_stop 3
h3_config h3 "$WT_TMP/h3b.key"
mesh_start 3
wait_for 15 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h2.sock' status --json |
	jq '.peers[] | select(.name == \"h3\") | .key_conflicts')\" -ge 1 ]" ||
	fail "h2 did not refuse h3's second key"
[ "$(h2_peer h3 public_key)" = "$key_a" ] || fail "h3's key on h2 changed without the operator"
[ "$(mesh_peer_state 3 2)" != up ] || fail "h3 with key B has a session with h2"
"$WEFTCTL" -s "$WT_TMP/h2.sock" unpin h3 >/dev/null || fail "weftctl unpin h3 failed"
mesh_wait_up 2 3 20 || fail "h3 (key B) did not join h2 after unpin"
[ "$(h2_peer h3 public_key)" = "$key_b" ] || fail "h2 did not keep h3's new key"
if out=$("$WEFTCTL" -s "$WT_TMP/h2.sock" unpin nosuch 2>&1); then fail "unpin nosuch succeeded"; fi
case $out in *"no peer nosuch"*) ;; *) fail "unpin nosuch: $out" ;; esac
say "(c) first use: key B refused ($(h2_peer h3 key_conflicts) conflicts) until unpin, then kept"
mesh_stop 3

# ---- (d) sybils ----------------------------------------------------------------------
full0=$(mesh_drop_get 2 handshake_members_full)
joined=0
for n in 1 2 3 4; do
	(umask 077 && "$WEFTD" genkey >"$WT_TMP/s$n.key")
	if hN 3 timeout 30 "$member" "$WT_TMP/secret" "$WT_TMP/s$n.key" mesh "sybil$n" \
		"$(host_ip 2)" 6783 valid "$(cat "$WT_TMP/h2.pub")" >"$WT_TMP/sybil$n.log" 2>&1; then
		joined=$((joined + 1))
	fi
done
members=$(mesh_status 2 | jq '[.peers[] | select(.configured | not)] | length')
full=$(mesh_drop_get 2 handshake_members_full)
[ "$members" -le 3 ] || fail "h2 keeps $members learned members, max_learned_members = 3"
[ "$full" -gt "$full0" ] || fail "no sybil was refused (handshake_members_full $full0 -> $full)"
[ "$joined" -lt 4 ] || fail "all 4 sybils joined"
[ "$(mesh_peer_state 2 1)" = up ] || fail "h1 is not up on h2 after the sybils"
say "(d) sybils: $joined of 4 joined, h2 keeps $members learned members, handshake_members_full $full0 -> $full"

kill "$PING_PID" 2>/dev/null || true
wait "$PING_PID" 2>/dev/null || true
sent=$(grep -c "bytes from" "$PINGS" || true)
icmp_seq_max=$(grep -Eo 'icmp_seq=[0-9]+' "$PINGS" | tail -1 | cut -d= -f2)
[ -n "$icmp_seq_max" ] || fail "no ping replies"
# One reply per sequence number sent: nothing the third host did may cost
# h1 and h2 a ping (3 allowed for a loaded machine).
missing=$((icmp_seq_max - sent))
[ "$missing" -le 3 ] || fail "the ping lost $missing of $icmp_seq_max"
say "ping h1c1 -> h2c1: $missing of $icmp_seq_max lost"
mesh_stop 1
mesh_stop 2
say PASS
