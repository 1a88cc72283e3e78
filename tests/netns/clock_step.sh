#!/bin/bash
# SPDX-License-Identifier: MIT
# Wall-clock steps under traffic (issue 13): h1c1 pings h2c1 every 10 ms
# while weftd on h1 has its wall clock stepped +600 s, back (-600 s), to
# -600 s, and back (+600 s), CLOCK_PHASE_S (30) seconds apart. Both daemons
# rekey every 10 s (reject_after 20 s), so each phase holds several
# handshakes. No session may drop (every host's view of the other, polled
# twice a second, stays "up"), every phase must rekey, and at most the pings
# of one handshake may be lost.
#
#   h1c1 ─ weft0 ─ weftd(h1, clock stepped) ══ UDP 6783 over ul0 ══ weftd(h2) ─ weft0 ─ h2c1
#
# Before issue 13 the first rekey after the +600 s step failed (its HELLO
# was stale at h2, h2's at h1) and the tunnel went down when the session
# expired, until the clock was set back; the same after the step to -600 s.
# CLOCK_PHASE_S: seconds between steps. CLOCK_LOST_MAX (100: one second of
# pings) and CLOCK_GAP_MAX_S (1: a handshake round and its first retry)
# bound what may be lost, generously for a loaded 2-core machine.
# CLOCK_STEP_S (600): the size of the steps.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
. "$(dirname "$0")/clock.sh"
mesh_test_begin ping jq awk
clock_require

PHASE=${CLOCK_PHASE_S:-30}
LOST_MAX=${CLOCK_LOST_MAX:-100}
GAP_MAX=${CLOCK_GAP_MAX_S:-1}
STEP=${CLOCK_STEP_S:-600}
STEPS=("+$STEP" 0 "-$STEP" 0)
LEAD=5
TOTAL=$((LEAD + ${#STEPS[@]} * PHASE))
# shellcheck disable=SC2034 # read by clock_config
CLOCK_REKEY=10

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
for i in 1 2; do
	clock_config "$i"
	clock_start "$i"
done
attach_containers
mesh_wait_up 1 2 15 || fail "h1 has no session with h2"
mesh_wait_up 2 1 15 || fail "h2 has no session with h1"
wait_for 10 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "h1c1 does not reach h2c1"

clock_poll_start $((TOTAL + 5))
ping_start pinger 1 2 $((TOTAL + 10)) 0.01
PINGS=$(spawn_log pinger)
sleep "$LEAD"
declare -a t_step hs_step
for k in "${!STEPS[@]}"; do
	hs=$(mesh_peer_get 1 2 handshakes)
	t_step[k]=$(now_s)
	clock_set 1 "${STEPS[$k]}"
	say "h1's clock set to ${STEPS[$k]} s (h1's handshakes with h2 so far: $hs)"
	sleep "$PHASE"
	hs_step[k]=$(($(mesh_peer_get 1 2 handshakes) - hs))
done
t_end=$(now_s)
ping_stop pinger
clock_poll_stop

stats=$(ping_stats "$PINGS" "$t_end")
say "pings h1c1 -> h2c1 every 10 ms for ${TOTAL} s: $stats (gap: the longest time without a reply, s)"
# Every stretch without a reply of more than 0.2 s, placed after its step.
ping_gaps "$PINGS" 0.2 "$t_end" | while read -r from _ len; do
	after=''
	for k in "${!STEPS[@]}"; do
		if awk -v a="${t_step[$k]}" -v b="$from" 'BEGIN { exit !(b >= a) }'; then
			after=$(awk -v a="${t_step[$k]}" -v b="$from" -v s="${STEPS[$k]}" \
				'BEGIN { printf "%.1f s after the step to %s s", b - a, s }')
		fi
	done
	say "no reply for $len s, from ${after:-before the first step}"
done
for k in "${!STEPS[@]}"; do
	say "clock at ${STEPS[$k]} s: h1 made ${hs_step[$k]} handshakes with h2 in $PHASE s"
	expect "h1 and h2 rekeyed (twice at least) with h1's clock at ${STEPS[$k]} s" [ "${hs_step[$k]}" -ge 2 ]
done
say "h1's handshake drops: $(clock_drops 1); h2's: $(clock_drops 2)"
drops=$(state_drops)
[ -z "$drops" ] || say "sessions dropped: $(printf "%s" "$drops" | tr "\n" ";")"
expect "no session dropped (states polled every 0.5 s)" [ -z "$drops" ]
lost=$(printf '%s\n' "$stats" | sed -n 's/.* lost=\([0-9-]*\) .*/\1/p')
gap=$(printf '%s\n' "$stats" | sed -n 's/.* gap=\([0-9.]*\).*/\1/p')
expect "at most $LOST_MAX pings lost ($lost)" [ "${lost:-999999}" -le "$LOST_MAX" ]
expect "no gap over $GAP_MAX s between replies ($gap s)" awk -v g="${gap:-999}" -v m="$GAP_MAX" 'BEGIN { exit !(g <= m) }'
[ "$FAILS" = 0 ] || fail "$FAILS checks failed"
mesh_stop_all
say PASS
