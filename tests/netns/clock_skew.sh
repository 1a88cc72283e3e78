#!/bin/bash
# SPDX-License-Identifier: MIT
# Hosts whose clocks disagree from the start (issue 13): weftd on h1 runs
# 10 minutes ahead, on h3 10 minutes behind, on h2 on time. Every pair must
# have a session within one handshake round of the later of its two daemons
# starting, and frames must cross every pair.
#
#            h1c1 ─ weft0 ─ weftd(h1) +600 s
#                          ╱         ╲        UDP 6783 over ul0
#   h2c1 ─ weft0 ─ weftd(h2) ═══════ weftd(h3) −600 s ─ weft0 ─ h3c1
#
# Before issue 13 a HELLO more than 120 s off the responder's clock was
# refused (handshake_stale), so no pair came up at all.
# CLOCK_SKEW_MAX_S (3): the bound on each session's time, generous for a
# loaded 2-core machine (one round trip here is well under 10 ms).
# CLOCK_GIVEUP_S (60): how long to wait for a pair before calling it lost.
# CLOCK_SKEW_S (600): the offsets of h1 (+) and h3 (-).
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
. "$(dirname "$0")/clock.sh"
mesh_test_begin ping jq awk
clock_require

MAX_S=${CLOCK_SKEW_MAX_S:-3}
GIVEUP_S=${CLOCK_GIVEUP_S:-60}
SKEW=${CLOCK_SKEW_S:-600}
OFFSETS=(x "+$SKEW" 0 "-$SKEW")

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
declare -A t_start t_up
for i in 1 2 3; do
	clock_config "$i"
	clock_set "$i" "${OFFSETS[$i]}"
done
for i in 1 2 3; do
	t_start[$i]=$(now_s)
	clock_start "$i"
done
attach_containers

# Every 0.1 s until each ordered pair is up or GIVEUP_S have passed since the
# last start: the time each host first saw each other one up.
later() { awk -v a="$1" -v b="$2" 'BEGIN { print (a > b) ? a : b }'; }
deadline=$(($(date +%s) + GIVEUP_S))
n=0 ups=0
while [ $ups -lt 6 ] && [ "$(date +%s)" -lt "$deadline" ] && [ $n -lt $((GIVEUP_S * 10 + 10)) ]; do
	for i in 1 2 3; do
		t=$(now_s)
		while read -r peer state; do
			j=${peer#h}
			if [ "$state" = up ] && [ -z "${t_up[$i$j]:-}" ]; then
				t_up[$i$j]=$t
				ups=$((ups + 1))
			fi
		done < <(mesh_status "$i" | jq -r '.peers[] | "\(.name) \(.state)"')
	done
	sleep 0.1
	n=$((n + 1))
done

for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" = "$j" ] && continue
		from=$(later "${t_start[$i]}" "${t_start[$j]}")
		if [ -n "${t_up[$i$j]:-}" ]; then
			s=$(awk -v a="$from" -v b="${t_up[$i$j]}" 'BEGIN { printf "%.2f", b - a }')
			say "h$i (${OFFSETS[$i]} s) has a session with h$j (${OFFSETS[$j]} s) after $s s (limit $MAX_S s)"
			expect "h$i-h$j up within $MAX_S s ($s s)" awk -v s="$s" -v m="$MAX_S" 'BEGIN { exit !(s <= m) }'
		else
			say "h$i (${OFFSETS[$i]} s) has no session with h$j (${OFFSETS[$j]} s) after >$GIVEUP_S s;" \
				"h$i's drops: $(clock_drops "$i")"
			expect "h$i-h$j up within $MAX_S s (none after ${GIVEUP_S} s)" false
		fi
	done
done
[ "$FAILS" = 0 ] || fail "$FAILS pairs without a session in time"

for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" = "$j" ] && continue
		c "$i" 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip "$j" 1)" >/dev/null ||
			fail "h${i}c1 cannot ping h${j}c1"
	done
done
for i in 1 2 3; do
	say "h$i: handshake drops: $(clock_drops "$i")"
done
mesh_stop_all
say PASS
