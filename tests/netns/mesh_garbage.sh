#!/bin/bash
# SPDX-License-Identifier: MIT
# Garbage gossip from a member is counted and changes nothing else. While a
# ping runs h1c1 -> h2c1 across weft for the whole test, a member of the
# network that misbehaves ("mallory": it holds the network secret and its
# own key; tests/netns/member.c) joins h2 from the underlay and sends, one
# record a datagram: first a valid MEMBERS entry about a made-up member
# "ghost" (the baseline: stored, counted nowhere), then MEMBERS records cut
# short, with a count over their entries, count 0, a 33-character nickname,
# address family 5, port 0, 9 addresses, 1025 links, a trailing byte (each
# wrapping valid entries of "partial-N" members), one of format 2; another
# ghost entry, then the same seq with another nickname, an older seq; an
# entry about h2 itself with seq 2^62; RELAYs with 0 and 9 hops left and one
# too short for a frame, a short PROBE and PROBE_ACKs of the wrong size;
# OBSERVED records empty, without an address, cut short, with a trailing
# byte, family 5, port 0, and one of format 2.
# Asserted: an idle mesh bumps no member's own seq (else no count below can be
# exact); per round, each of h2's counters (gossip_malformed, _unknown,
# _stale, _conflict, _own_bumped, relay_malformed, probe_malformed,
# observed_malformed, observed_unknown) grew by
# exactly what member says it sent, gossip_refused, gossip_full,
# members_learned and the relay counters not at all, nor any gossip counter at
# h1; h2's peers are h1 and mallory only (no ghost: nobody links to it), h1's
# is h2 only, the h1 <-> h2 sessions stayed (no new handshake), the relayed
# frames' MAC was learned nowhere; over the test the ping lost <= 2 %, both
# daemons exit 0, and their members files hold each ghost as first stated
# (not "ghost2") and no partial member.
#
#   h1c1 ─ weft0 ─ weftd(h1) ══ UDP 6783 over ul0 ══ weftd(h2) ─ weft0 ─ h2c1
#                                       ║
#                    ns <p>mbr: eth0 10.0.0.9/24 on ul0
#                    member "mallory": valid, then garbage, to 10.0.0.2:6783
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"

member=$(test_tool member)

mesh_test_begin ping jq timeout
[ -n "$member" ] || skip "member is not built"

BUDGET=60 # seconds for the whole test; the ghosts are forgotten 60 s after they came
MBR=${WT_PREFIX}mbr
MBR_IP=10.0.0.9
NICK=mallory
H2_IP=$(host_ip 2)
PORT=6783
RELAY_MAC=02:98:00:00:00:01 # the source MAC of member's relayed frames
P1='.peers[] | select(.name == "h1")'
P2='.peers[] | select(.name == "h2")'
PM=".peers[] | select(.name == \"$NICK\")"

mbr() { ip netns exec "$MBR" "$@"; }


# snap I NAME: host I's status into $WT_TMP/NAME.json.
snap() { mesh_status "$1" >"$WT_TMP/$2.json" || fail "weftctl status on h$1 failed"; }
val() { jq -r "$2" "$WT_TMP/$1.json"; }
# delta BEFORE AFTER JQPATH
delta() { echo $(($(val "$2" "$3") - $(val "$1" "$3"))); }
# now_delta I BEFORE JQPATH: host I's counter now, less its value in BEFORE.
now_delta() { echo $(($(mesh_status "$1" | jq -r "$3") - $(val "$2" "$3"))); }
peer_names() { val "$1" '[.peers[].name] | sort | join(" ")'; }
alive_daemons() { spawn_pid weftd1 >/dev/null && spawn_pid weftd2 >/dev/null; }
# session_kept SNAP PEERPATH HANDSHAKES: the peer is up, with no new handshake.
session_kept() { [ "$(val "$1" "$2 | .state")" = up ] && [ "$(val "$1" "$2 | .handshakes")" = "$3" ]; }

# What each name of member's tally is at h2, and the counters that must not
# move at all (expected 0: not in the tally).
declare -A AT=(
	[malformed]=.mesh.gossip_malformed
	[unknown]=.mesh.gossip_unknown
	[stale]=.mesh.gossip_stale
	[conflict]=.mesh.gossip_conflict
	[own]=.mesh.gossip_own_bumped
	[relay_malformed]=.router.relay_malformed
	[probe_malformed]=.router.probe_malformed
	[refused]=.mesh.gossip_refused
	[full]=.mesh.gossip_full
	[members_learned]=.mesh.members_learned
	[relay_delivered]=.router.relay_delivered
	[relay_forwarded]=.router.relay_forwarded
	[relay_unknown_origin]=.router.relay_unknown_origin
	[relay_no_route]=.router.relay_no_route
	[probes_answered]=.router.probes_answered
	[observed_malformed]=.mesh.observed_malformed
	[observed_unknown]=.mesh.observed_unknown
)
COUNTERS="malformed unknown stale conflict own relay_malformed probe_malformed refused full
	members_learned relay_delivered relay_forwarded relay_unknown_origin relay_no_route
	probes_answered observed_malformed observed_unknown"
# At h1, which only ever hears h2's word: no gossip counter moves.
H1_COUNTERS="malformed unknown stale conflict own refused full members_learned relay_malformed
	probe_malformed observed_malformed observed_unknown"

# ---- member -------------------------------------------------------------------------

declare -A T
GHOSTS=()
# run_member MODE: member against h2 from its namespace. Sets T from its
# tally line, N_MEMBERS to the MEMBERS records it sent, adds its ghost's key
# to GHOSTS; its output goes to $WT_TMP/member-MODE.log and to stderr.
run_member() {
	local mode=$1 out line kv
	out=$(mbr timeout 30 "$member" "$WT_TMP/secret" "$WT_TMP/$NICK.key" mesh "$NICK" \
		"$H2_IP" "$PORT" "$mode" "$(cat "$WT_TMP/h2.pub")") || fail "member $mode failed: $out"
	printf '%s\n' "$out" >"$WT_TMP/member-$mode.log"
	printf '%s\n' "$out" | sed "s/^/  member $mode: /" >&2
	line=$(printf '%s\n' "$out" | grep '^tally ') || fail "member $mode: no tally"
	T=()
	for kv in ${line#tally }; do
		T[${kv%%=*}]=${kv#*=}
	done
	GHOSTS+=("$(printf '%s\n' "$out" | sed -n 's/^ghost //p')")
	N_MEMBERS=$(printf '%s\n' "$out" | grep -c '^sent MEMBERS ') || true
}

# arrived BEFORE: h2 has seen every MEMBERS record member sent and counted
# at least what it should have in the router (member sends those last).
arrived() {
	[ "$(now_delta 2 "$1" .mesh.gossip_records_received)" -ge "$N_MEMBERS" ] &&
		[ "$(now_delta 2 "$1" .router.relay_malformed)" -ge "${T[relay_malformed]}" ] &&
		[ "$(now_delta 2 "$1" .router.probe_malformed)" -ge "${T[probe_malformed]}" ] &&
		[ "$(now_delta 2 "$1" .mesh.observed_malformed)" -ge "${T[observed_malformed]:-0}" ]
}

# round MODE: member sends MODE; every counter at h2 grew by its tally, none
# at h1, and nothing else changed.
round() {
	local mode=$1 k d want got=() h1got=()
	in_time
	snap 2 "b2_$mode"
	snap 1 "b1_$mode"
	run_member "$mode"
	wait_for 5 arrived "b2_$mode" || say "h2 has not seen all of member's $mode records in 5 s"
	sleep 0.5 # anything counted twice, or late, is counted by now
	snap 2 "a2_$mode"
	snap 1 "a1_$mode"
	for k in $COUNTERS; do
		d=$(delta "b2_$mode" "a2_$mode" "${AT[$k]}")
		want=${T[$k]:-0}
		got+=("$k +$d ($want)")
		expect "$mode: h2's ${AT[$k]#.} grew by $want" [ "$d" -eq "$want" ]
	done
	say "$mode at h2: ${got[*]}"
	for k in $H1_COUNTERS; do
		d=$(delta "b1_$mode" "a1_$mode" "${AT[$k]}")
		h1got+=("$k +$d")
		expect "$mode: h1's ${AT[$k]#.} did not move" [ "$d" -eq 0 ]
	done
	say "$mode at h1: ${h1got[*]}"
	expect "$mode: h2 dropped none of member's datagrams nor records" \
		[ "$(delta "b2_$mode" "a2_$mode" "[$PM | .drops | del(.no_session, .seal, .send)[]] | add // 0")" -eq 0 ]
	expect "$mode: h2's peers are h1 and $NICK ($(peer_names "a2_$mode"))" \
		[ "$(peer_names "a2_$mode")" = "h1 $NICK" ]
	expect "$mode: h1's peers are h2 ($(peer_names "a1_$mode"))" [ "$(peer_names "a1_$mode")" = h2 ]
	expect "$mode: no ghost among h2's peers" \
		[ "$(val "a2_$mode" '[.peers[].name | select(startswith("ghost"))] | length')" = 0 ]
	expect "$mode: h2 gossips the addresses it did ($(val "a2_$mode" '.addresses | join(" ")'))" \
		[ "$(val "b2_$mode" '.addresses | join(" ")')" = "$(val "a2_$mode" '.addresses | join(" ")')" ]
	expect "$mode: both daemons alive" alive_daemons
}

# ---- topology, start-up -------------------------------------------------------------------

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
(umask 077 && "$WEFTD" genkey >"$WT_TMP/$NICK.key")

# The member's namespace on the underlay.
ip netns add "$MBR"
mbr sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip -n "$MBR" link set lo up
ip -n "$(ns_ul)" link add mbr type veth peer name eth0 netns "$MBR"
ip -n "$(ns_ul)" link set mbr master ul0 up
ip -n "$MBR" addr add "$MBR_IP/24" dev eth0
ip -n "$MBR" link set eth0 up

mesh_start_all
mesh_wait_all_up 15

wait_for 10 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "no ping h1c1 -> h2c1 before the test"
spawn ping c 1 1 ping -i 0.05 -W 2 -w 120 "$(cont_ip 2 1)"

snap 2 start2
snap 1 start1
hs2=$(val start2 "$P1 | .handshakes")
hs1=$(val start1 "$P2 | .handshakes")

# ---- an idle mesh: nobody's own seq is outbid --------------------------------------------
# (A member that gets its own current entry echoed back must not take it for
# a newer one: every exact count of gossip_own_bumped below depends on it.)
sleep 3
snap 2 idle2
snap 1 idle1
own2=$(delta start2 idle2 .mesh.gossip_own_bumped)
own1=$(delta start1 idle1 .mesh.gossip_own_bumped)
say "idle for 3 s: gossip_own_bumped +$own2 at h2, +$own1 at h1;" \
	"MEMBERS records h1 -> h2: $(delta start2 idle2 .mesh.gossip_records_received)"
expect "idle: h2's own seq was not bumped (+$own2)" [ "$own2" -eq 0 ]
expect "idle: h1's own seq was not bumped (+$own1)" [ "$own1" -eq 0 ]

# ---- the rounds ---------------------------------------------------------------------------
round valid
round garbage

snap 2 end2
snap 1 end1
expect "h2 still has h1 up on its first session (handshakes $(val end2 "$P1 | .handshakes"), were $hs2)" \
	session_kept end2 "$P1" "$hs2"
expect "h1 still has h2 up on its first session (handshakes $(val end1 "$P2 | .handshakes"), were $hs1)" \
	session_kept end1 "$P2" "$hs1"
say "$NICK at h2: $(jq -c "$PM | {state, handshakes, learned, rx_packets}" "$WT_TMP/end2.json")"
expect "the relayed frames' source MAC $RELAY_MAC is in no MAC table" \
	[ "$(jq -s --arg m "$RELAY_MAC" '[.[].macs[] | select(.mac == $m)] | length' \
		"$WT_TMP/end1.json" "$WT_TMP/end2.json")" -eq 0 ]

# ---- the real traffic, all along ------------------------------------------------------------
pping=$(spawn_pid ping) || fail "the steady ping ended early"
kill -INT "$pping"
for ((k = 0; k < 50; k++)); do
	spawn_pid ping >/dev/null || break
	sleep 0.1
done
kill_spawned ping
stats=$(grep 'packets transmitted' "$(spawn_log ping)") || fail "no ping summary"
ptx=$(printf '%s\n' "$stats" | sed -n 's/^\([0-9]*\) packets transmitted.*/\1/p')
prx=$(printf '%s\n' "$stats" | sed -n 's/.* \([0-9]*\) received.*/\1/p')
loss_pm=$(((ptx - prx) * 1000 / (ptx ? ptx : 1)))
say "steady ping h1c1 -> h2c1: $ptx sent, $prx received, loss $((loss_pm / 10)).$((loss_pm % 10)) %"
expect "ping ran through the test ($ptx sent)" [ "$ptx" -ge 100 ]
expect "ping loss <= 2 % ($((ptx - prx)) of $ptx)" [ "$loss_pm" -le 20 ]

# ---- the members files: what was stored ----------------------------------------------------
mesh_stop_all
in_time
members() { grep -v '^#' "$WT_TMP/h$1.members" 2>/dev/null || true; }
say "h2's members file: $(members 2 | awk '{ print $2, $3 }' | paste -sd, -)"
say "h1's members file: $(members 1 | awk '{ print $2, $3 }' | paste -sd, -)"
for i in 1 2; do
	for g in "${GHOSTS[@]}"; do
		expect "h$i stored the ghost ${g:0:8}… as first stated" \
			grep -qxF "$g ghost 10.0.0.77:6783" "$WT_TMP/h$i.members"
	done
	expect "h$i stored no partial member, no ghost2, no impostor" \
		[ "$(members "$i" | grep -cE ' (partial-[0-9]+|ghost2|impostor) ')" -eq 0 ]
	expect "h$i stored ${#GHOSTS[@]} ghosts and its peer, nothing more ($(members "$i" | wc -l) lines)" \
		[ "$(members "$i" | wc -l)" -eq $((${#GHOSTS[@]} + 1)) ]
done
expect "h2 stored h1 as itself" grep -q "^$(cat "$WT_TMP/h1.pub") h1 " "$WT_TMP/h2.members"

say "${SECONDS}s"
[ "$FAILS" = 0 ] || fail "$FAILS checks failed"
say "PASS"
