#!/bin/bash
# SPDX-License-Identifier: MIT
# Replayed HELLOs around a clock step (issue 13). A genuine HELLO between h1
# and h2 (a 10 s rekey, either direction: initiator I, responder R) is
# captured on the underlay; a replayer at 10.0.0.200 (on ul0 itself, a
# source of its own) sends its UDP payload to R and to the third member O:
#   (a) before any step;
#   (b) after R's wall clock stepped +600 s and O's -600 s.
# The replayer holds the network secret (tests/netns/hsreplay: it answers a
# COOKIE with mac2, as the initiator would), so what it gets is the most any
# replayer can get. Counted per replay: WELCOMEs and COOKIEs that came back
# to it, the target's handshake drop counters. Meanwhile h1c1 pings h2c1 and
# h3c1, and h3c1 pings h2c1, every 50 ms, and every daemon's view of the
# others is polled: the pings go on for 30 s after the step (more than
# reject_after, 20 s), and no session may drop.
#
#   weftd(h1) ═╗                      replayer 10.0.0.200 on ul0 (ns <p>ul),
#   weftd(h2) ═╬═ ul0 ─ tcpdump       tcpdump there too
#   weftd(h3) ═╝
#
# What the threat model allows (docs/threat-model.md): R answered that
# ephemeral key already, so a replay to R costs it one lookup and no WELCOME;
# O may answer it once (one WELCOME and a pending slot for 10 s, after a
# COOKIE round trip if the HELLO is older than O's last from I), never a
# session, since the CONFIRM needs I's static key.
# Before issue 13 the replays cost the same, but the step alone took every
# session of R and O down when it was next rekeyed.
# CLOCK_STEP_S (600): the size of the steps. CLOCK_AFTER_S (30): how long
# the pings go on after the step.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
. "$(dirname "$0")/clock.sh"
mesh_test_begin ping jq awk tcpdump timeout
clock_require
HSREPLAY=$(test_tool hsreplay)
[ -n "$HSREPLAY" ] || skip "hsreplay is not built"

STEP=${CLOCK_STEP_S:-600}
AFTER_S=${CLOCK_AFTER_S:-30}
REPLAYER=10.0.0.200
# shellcheck disable=SC2034 # read by clock_config
CLOCK_REKEY=10

topo_create --hosts 3 --containers 1 --no-bridge
ip -n "$(ns_ul)" addr add "$REPLAYER/24" dev ul0
mesh_init
for i in 1 2 3; do
	clock_config "$i"
	clock_start "$i"
done
attach_containers
mesh_wait_all_up 15
PAIRS="1-2 1-3 3-2"
for p in $PAIRS; do
	wait_for 10 c "${p%-*}" 1 ping -c 1 -W 1 "$(cont_ip "${p#*-}" 1)" ||
		fail "h${p%-*}c1 does not reach h${p#*-}c1"
done

clock_poll_start $((AFTER_S + 120))
for p in $PAIRS; do
	ping_start "ping$p" "${p%-*}" "${p#*-}" $((AFTER_S + 120)) 0.05
done

# ---- a genuine HELLO between h1 and h2 ------------------------------------------------
filter="udp dst port 6783 and udp[8] = 1 and udp[9] = 2 and
	((src host $(host_ip 1) and dst host $(host_ip 2)) or (src host $(host_ip 2) and dst host $(host_ip 1)))"
spawn capture ul tcpdump --immediate-mode -i ul0 -n -U -c 1 -w "$WT_TMP/hello.pcap" "$filter"
# h1 and h2 rekey every 10 s, the responder of a session after 15 s.
n=0
while spawn_pid capture >/dev/null && [ $n -lt 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
kill_spawned capture
[ -s "$WT_TMP/hello.pcap" ] || fail "no HELLO between h1 and h2 within 30 s"
tcpdump -r "$WT_TMP/hello.pcap" -n -x 2>/dev/null >"$WT_TMP/hello.txt"
read -r I R < <(sed -n 's/.* IP 10\.0\.0\.\([0-9]\)\.6783 > 10\.0\.0\.\([0-9]\)\.6783: .*/\1 \2/p' "$WT_TMP/hello.txt")
if [ -z "${I:-}" ] || [ -z "${R:-}" ]; then
	fail "cannot read the captured HELLO: $(head -n 1 "$WT_TMP/hello.txt")"
fi
O=$((6 - I - R))
# The IP packet in hex; the HELLO is what follows its IP (IHL words) and UDP (8 bytes) headers.
hex=$(awk '/^[ \t]+0x[0-9a-f]+:/ { for (i = 2; i <= NF; i++) printf "%s", $i }' "$WT_TMP/hello.txt")
ihl=$((16#${hex:1:1} * 4))
printf '%s\n' "${hex:$(((ihl + 8) * 2))}" >"$WT_TMP/hello.hex"
say "captured a HELLO h$I -> h$R ($(($(wc -c <"$WT_TMP/hello.hex") / 2)) bytes); the other member is h$O"

# replay WHEN TARGET: one replay to host TARGET, what came back and what it counted.
declare -A welcomes
replay() {
	local when=$1 t=$2 before after out w
	before=$(clock_drops "$t")
	out=$(ul "$HSREPLAY" "$WT_TMP/hello.hex" "$(host_ip "$t")" 6783 1500 "$WT_TMP/secret" mesh) ||
		fail "hsreplay: $out"
	after=$(clock_drops "$t")
	w=$(printf '%s\n' "$out" | sed -n 's/.* welcomes=\([0-9]*\) .*/\1/p')
	welcomes[$t]=$((${welcomes[$t]:-0} + w))
	say "($when) the HELLO replayed to h$t: $out; h$t's handshake drops: $before -> $after"
}

replay a "$R"
replay a "$O"

# ---- the step -----------------------------------------------------------------------------
clock_set "$R" "+$STEP"
clock_set "$O" "-$STEP"
t_step=$(now_s)
say "h$R's clock stepped +$STEP s, h$O's -$STEP s"
sleep 2
replay b "$R"
replay b "$O"
sleep $((AFTER_S - 5))
t_end=$(now_s)
for p in $PAIRS; do
	ping_stop "ping$p"
done
clock_poll_stop

# ---- what it cost ----------------------------------------------------------------------
say "WELCOMEs to the replayer: from h$R (the responder) ${welcomes[$R]}, from h$O ${welcomes[$O]}"
expect "h$R (which had answered that HELLO) sent no WELCOME to a replay" [ "${welcomes[$R]}" = 0 ]
expect "h$O sent at most one WELCOME to the replays" [ "${welcomes[$O]}" -le 1 ]
for p in $PAIRS; do
	stats=$(ping_stats "$(spawn_log "ping$p")" "$t_end")
	say "pings h${p%-*}c1 -> h${p#*-}c1: $stats"
	ping_gaps "$(spawn_log "ping$p")" 0.5 "$t_end" | while read -r from _ len; do
		say "  no reply for $len s from $(awk -v a="$t_step" -v b="$from" 'BEGIN { printf "%.1f", b - a }') s after the step"
	done
	gap=$(printf '%s\n' "$stats" | sed -n 's/.* gap=\([0-9.]*\).*/\1/p')
	expect "h${p%-*}c1 -> h${p#*-}c1: no gap over 2 s between replies ($gap s)" \
		awk -v g="${gap:-999}" 'BEGIN { exit !(g <= 2) }'
done
drops=$(state_drops)
[ -z "$drops" ] || say "sessions dropped: $(printf '%s' "$drops" | tr '\n' ';')"
expect "no session dropped (states polled every 0.5 s)" [ -z "$drops" ]
[ "$FAILS" = 0 ] || fail "$FAILS checks failed"
mesh_stop_all
say PASS
