#!/bin/bash
# SPDX-License-Identifier: MIT
# Membership: the network secret and pinned keys decide who gets a session.
#   (a) a host with another secret gets no session and delivers nothing, and
#       its handshakes are counted as failed authentication; the members
#       still talk to each other;
#   (b) a peer pinned to another key is refused (handshake_refused), and the
#       right pin lets it in;
#   (c) require_pinned_keys = yes with every pin right: a working mesh;
#   (d) with require_pinned_keys = yes, a member (right secret) that a host
#       does not list is refused by that host: revocation without a new secret;
#   (e) a member that joined by handshake (no [peer] section for it) and then
#       went silent is forgotten after forget_member_after, and joins again
#       when it comes back.
#
#   h1c1 ─ weft0 ─ weftd(h1) ══╗
#   h2c1 ─ weft0 ─ weftd(h2) ══╬══ ul0, UDP 6783
#   h3c1 ─ weft0 ─ weftd(h3) ══╝   (h3: another secret in (a), left out in (b))
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq

NEVER_UP_SECS=6

# never_up "I J"...: for NEVER_UP_SECS seconds, no listed pair (host I's view
# of peer hJ) may be up; fails naming the first that is.
never_up() {
	local n=0 pair i j end
	end=$(($(date +%s%N) / 1000000 + NEVER_UP_SECS * 1000))
	while [ $n -lt $((NEVER_UP_SECS * 4 + 1)) ] && [ $(($(date +%s%N) / 1000000)) -lt $end ]; do
		for pair in "$@"; do
			read -r i j <<<"$pair"
			[ "$(mesh_peer_state "$i" "$j")" != up ] ||
				fail "h$i's peer h$j is up after $((n / 4)) s, expected it never to come up"
		done
		sleep 0.25
		n=$((n + 1))
	done
}

# conf_pin FILE PEER KEY: set public_key of [peer "PEER"] in FILE to KEY.
conf_pin() {
	awk -v sec="[peer \"$2\"]" -v key="$3" '
		/^\[/ { insec = ($0 == sec) }
		insec && /^public_key[ \t]*=/ { print "public_key = " key; next }
		{ print }' "$1" >"$1.new"
	mv "$1.new" "$1"
	grep -qx "public_key = $3" "$1" || fail "conf_pin: no [peer \"$2\"] public_key in $1"
}

# conf_drop_peer FILE PEER: remove the [peer "PEER"] section from FILE.
conf_drop_peer() {
	awk -v sec="[peer \"$2\"]" '/^\[/ { skip = ($0 == sec) } !skip { print }' "$1" >"$1.new"
	mv "$1.new" "$1"
}

pings() { # pings I J: h<I>c1 reaches h<J>c1
	c "$1" 1 ping -c 2 -i 0.2 -W 1 -q "$(cont_ip "$2" 1)" >/dev/null 2>&1
}

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init

# ---- (a) another secret: no session, nothing delivered -----------------------
(umask 077 && "$WEFTD" genpsk >"$WT_TMP/secret3")
cmp -s "$WT_TMP/secret" "$WT_TMP/secret3" && fail "genpsk made the same secret twice"
for i in 1 2 3; do
	mesh_config "$i"
done
sed -i "s|^secret_file = .*|secret_file = $WT_TMP/secret3|" "$WT_TMP/h3.conf"
mesh_start_all
mesh_wait_up 1 2 15 || fail "h1 and h2 (same secret) have no session"
mesh_wait_up 2 1 5 || fail "h2 and h1 (same secret) have no session"
auth1=$(mesh_drop_get 1 handshake_mac)
never_up "3 1" "3 2" "1 3" "2 3"
pings 3 1 && fail "h3c1 (another secret) reached h1c1"
pings 1 3 && fail "h1c1 reached h3c1 (another secret)"
pings 1 2 || fail "h1c1 does not reach h2c1 (same secret) while h3 knocks"
for i in 1 2; do
	got=$(mesh_peer_get "$i" 3 rx_frames)
	[ "$got" = 0 ] || fail "h$i received $got frames from h3 (another secret), expected 0"
done
for i in 1 2; do
	got=$(mesh_peer_get 3 "$i" rx_frames)
	[ "$got" = 0 ] || fail "h3 (another secret) received $got frames from h$i, expected 0"
done
auth1b=$(mesh_drop_get 1 handshake_mac)
auth3=$(mesh_drop_get 3 handshake_mac)
say "(a) handshake_mac drops: h1 $auth1 -> $auth1b over ${NEVER_UP_SECS}s, h3 $auth3"
[ "$auth1b" -gt "$auth1" ] ||
	fail "h1's drops.handshake_mac stayed at $auth1 while h3 (another secret) retried, expected it to grow"
[ "$auth3" -ge 1 ] || fail "h3's drops.handshake_mac is $auth3, expected >= 1 (HELLOs from h1, h2)"
mesh_stop_all

# ---- (b) a peer pinned to another key is refused -----------------------------
other=$("$WEFTD" genkey | "$WEFTD" pubkey)
MESH_PIN=1 mesh_config 1
conf_pin "$WT_TMP/h1.conf" h2 "$other"
mesh_config 2
mesh_start 1
mesh_start 2
never_up "1 2" "2 1"
pings 1 2 && fail "h1c1 reached h2c1 although h1 pins h2 to another key"
ref=$(mesh_drop_get 1 handshake_refused)
say "(b) h1 pinning h2 to another key: drops.handshake_refused = $ref"
[ "$ref" -ge 1 ] || fail "h1's drops.handshake_refused is $ref, expected >= 1 (h2's key is not the pin)"
grep -q refused "$(spawn_log weftd1)" || fail "h1 did not log why it refused h2"
# The right pin lets it in.
mesh_stop 1
MESH_PIN=1 mesh_config 1
mesh_start 1
mesh_wait_up 1 2 10 || fail "h1 with h2's right pin has no session with h2"
mesh_wait_up 2 1 5 || fail "h2 has no session with h1 (which pins h2's right key)"
wait_for 5 pings 1 2 || fail "h1c1 does not reach h2c1 with the right pin"
ref=$(mesh_drop_get 1 handshake_refused)
[ "$ref" = 0 ] || fail "h1 with the right pin refused $ref handshakes, expected 0"
mesh_stop 1
mesh_stop 2

# ---- (c) require_pinned_keys = yes, every pin right -------------------------
for i in 1 2 3; do
	MESH_PIN=1 mesh_config "$i" "require_pinned_keys = yes"
done
for i in 1 2 3; do
	mesh_start "$i"
done
mesh_wait_all_up 10 "require_pinned_keys = yes, pins right"
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" = "$j" ] || wait_for 5 pings "$i" "$j" ||
			fail "require_pinned_keys = yes, pins right: h${i}c1 does not reach h${j}c1"
	done
done
say "(c) require_pinned_keys = yes with right pins: all pairs up, all pings pass"

# ---- (d) an unlisted member is refused under require_pinned_keys -------------
# h3 restarts too: its session with the old h1 would look up until peer_timeout.
mesh_stop 1
mesh_stop 3
MESH_PIN=1 mesh_config 1 "require_pinned_keys = yes"
conf_drop_peer "$WT_TMP/h1.conf" h3
grep -q 'peer "h3"' "$WT_TMP/h1.conf" && fail "could not remove h3 from h1.conf"
mesh_start 1
mesh_start 3
mesh_wait_up 1 2 10 || fail "h1 (h3 unlisted) has no session with h2"
mesh_wait_up 3 2 10 || fail "h3 has no session with h2 (both list each other)"
never_up "1 3" "3 1"
pings 3 1 && fail "h3c1 reached h1c1 although h1 does not list h3 and requires pins"
pings 3 2 || fail "h3c1 does not reach h2c1 (both list each other)"
ref=$(mesh_drop_get 1 handshake_refused)
say "(d) h1 requires pins and does not list h3: drops.handshake_refused = $ref"
[ "$ref" -ge 1 ] || fail "h1's drops.handshake_refused is $ref, expected >= 1 (h3 is not listed)"

mesh_stop_all

# ---- (e) a silent learned member is forgotten ---------------------------------
FORGET=12 # seconds; mesh_config's peer_timeout is 8
mesh_config 1
mesh_config 2
conf_drop_peer "$WT_TMP/h2.conf" h1
sed -i "s/^peer_timeout = .*/&\nforget_member_after = $FORGET/" "$WT_TMP/h2.conf"
grep -qx "forget_member_after = $FORGET" "$WT_TMP/h2.conf" || fail "could not set forget_member_after"
mesh_start 1
mesh_start 2
mesh_wait_up 2 1 10 || fail "h2 did not learn h1 as a member"
[ "$(mesh_status 2 | jq -r '.peers[] | select(.name == "h1") | .configured')" = false ] ||
	fail "h2 lists h1 as configured, expected a member learned by handshake"
wait_for 5 pings 2 1 || fail "h2c1 does not reach h1c1 (learned member)"
mesh_stop 1
start=$(date +%s)
if ! wait_for $((FORGET + 10)) grep -q "member h1 .* forgotten" "$(spawn_log weftd2)"; then
	fail "h2 did not forget the silent member h1 within $((FORGET + 10)) s"
fi
secs=$(($(date +%s) - start))
n=$(mesh_status 2 | jq '[.peers[] | select(.name == "h1")] | length')
[ "$n" = 0 ] || fail "h2 still lists h1 after forgetting it"
[ "$secs" -ge $((FORGET - 2)) ] || fail "h2 forgot h1 after ${secs} s, before forget_member_after ($FORGET s)"
say "(e) silent member forgotten ${secs} s after it stopped (forget_member_after = $FORGET)"
mesh_start 1
mesh_wait_up 2 1 10 || fail "h1 did not join h2 again after being forgotten"
wait_for 5 pings 2 1 || fail "h2c1 does not reach h1c1 after h1 joined again"
mesh_stop 1
mesh_stop 2
say "PASS"
