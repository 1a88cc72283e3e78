#!/bin/bash
# SPDX-License-Identifier: MIT
# A host back with its clock a day behind (issue 13): weftd on h2 is
# restarted with its wall clock 86400 s behind what h1 and h3 last saw from
# it, as a host whose RTC battery died, or a VM restored from a snapshot.
# It must be back within one handshake round, twice:
#   (a) its timestamps file kept (a restart with a wrong clock);
#   (b) its timestamps file deleted as well (a snapshot: clock and state went
#       back together; the peers still remember the newer timestamps).
# h1c1 and h3c1 ping h2c1 every 50 ms through both restarts; a time is from
# weftd's start to the first answered ping.
#
#   h1c1 ─ weft0 ─ weftd(h1) ══╗
#   h2c1 ─ weft0 ─ weftd(h2) ══╬══ ul0, UDP 6783    weftd(h2) restarted at -86400 s
#   h3c1 ─ weft0 ─ weftd(h3) ══╝
#
# h2 starts last, so that it initiates the first handshakes with both peers
# and they have a timestamp of its to compare with.
# Before issue 13 every HELLO between h2 and the others was a day off the
# responder's clock (handshake_stale) and h2 never came back.
# CLOCK_RESTART_MAX_S (5): the bound, generous for a loaded 2-core machine
# (weftd's start-up, one handshake round with a COOKIE round trip).
# CLOCK_GIVEUP_S (60): how long to wait before calling h2 lost.
# CLOCK_BEHIND_S (86400): how far behind h2 restarts.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
. "$(dirname "$0")/clock.sh"
mesh_test_begin ping jq awk timeout
clock_require

MAX_S=${CLOCK_RESTART_MAX_S:-5}
GIVEUP_S=${CLOCK_GIVEUP_S:-60}
BEHIND=-${CLOCK_BEHIND_S:-86400}

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
for i in 1 3 2; do
	clock_config "$i"
	clock_start "$i"
done
attach_containers
mesh_wait_all_up 15
for j in 1 3; do
	wait_for 10 c "$j" 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "h${j}c1 does not reach h2c1"
done

# restart CASE: stop weftd on h2, start it a day behind; sets BACK_1 and
# BACK_3 to the seconds until h1c1's and h3c1's pings were answered again
# (empty: not within GIVEUP_S).
restart() {
	local j n=0 t_start deadline ts
	mesh_stop 2
	sleep 1
	[ "$1" = kept ] || rm -f "$WT_TMP/h2.timestamps"
	clock_set 2 "$BEHIND"
	t_start=$(now_s)
	clock_start 2
	BACK_1='' BACK_3=''
	deadline=$(($(date +%s) + GIVEUP_S))
	while [ -z "$BACK_1" ] || [ -z "$BACK_3" ]; do
		if [ "$(date +%s)" -ge "$deadline" ] || [ $n -ge $((GIVEUP_S * 10 + 10)) ]; then
			break
		fi
		for j in 1 3; do
			ts=$(first_reply_after "$(spawn_log "ping$j")" "$t_start")
			if [ -n "$ts" ] && [ -z "$(eval echo "\$BACK_$j")" ]; then
				eval "BACK_$j=$(awk -v a="$t_start" -v b="$ts" 'BEGIN { printf "%.2f", b - a }')"
			fi
		done
		sleep 0.1
		n=$((n + 1))
	done
	for j in 1 3; do
		local back
		back=$(eval echo "\$BACK_$j")
		if [ -n "$back" ]; then
			say "($1) h2 restarted $BEHIND s behind, timestamps file $1: h${j}c1's pings answered after $back s (limit $MAX_S s)"
			expect "($1) h${j}c1 reaches h2c1 within $MAX_S s ($back s)" \
				awk -v s="$back" -v m="$MAX_S" 'BEGIN { exit !(s <= m) }'
		else
			say "($1) h2 restarted $BEHIND s behind, timestamps file $1: h${j}c1's pings not answered after >$GIVEUP_S s"
			expect "($1) h${j}c1 reaches h2c1 within $MAX_S s (not after $GIVEUP_S s)" false
		fi
	done
	say "($1) handshake drops: h1 $(clock_drops 1); h2 $(clock_drops 2); h3 $(clock_drops 3)"
}

for j in 1 3; do
	ping_start "ping$j" "$j" 2 $((2 * GIVEUP_S + 60)) 0.05
done
restart kept
restart deleted
for j in 1 3; do
	ping_stop "ping$j"
done
[ "$FAILS" = 0 ] || fail "$FAILS checks failed"
for j in 1 3; do
	mesh_wait_up 2 "$j" 5 || fail "the restarted h2 has no session with h$j"
	mesh_wait_up "$j" 2 5 || fail "h$j has no session with the restarted h2"
done
mesh_stop_all
say PASS
