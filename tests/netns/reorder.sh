#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/netns/reorder.sh: weft over an underlay that reorders and delays its
# datagrams. This kernel has no netem, so each host's weft datagrams go
# through an NFQUEUE queue (iptables -j NFQUEUE in the host's output) to
# nfqtool, which gives the verdicts out of order or late.
#
# 1. Reordered, superframes on and then off: every 7th datagram each way
#    arrives 3 places late. TCP both ways, a 16 MB file whose SHA-256
#    matches at the other end, pings all answered; no datagram is dropped as
#    replayed, too old or unauthentic (3 places is deep inside the replay
#    window), nfqtool really held datagrams back, and with superframes on
#    the receiver still merged segments into superframes (a gap ends one, it
#    does not stop the next).
# 2. Too late: every 5000th datagram arrives 17000 places late, past the
#    replay window (16320). It is dropped and counted as too old (at least
#    one, at most as many as were held back that long), nothing else is
#    lost or dropped, and TCP (which sent it again long before) carries a
#    file intact.
# 3. Delayed: 30 ms each way. Pings all answered in 60 ms or more, TCP
#    carries.
# 4. A long path: 400 ms each way from before the daemons start (a round
#    trip of 0.8 s, a satellite hop and more). The handshake completes and
#    pings are answered in 0.8 s or more.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mesh.sh"
WT_PREFIX=wtro$$-
nfqtool=$(test_tool nfqtool)

mesh_test_begin iperf3 jq iptables python3 sha256sum
now_ms() { date +%s%3N; }
[ -n "$nfqtool" ] || skip "nfqtool is not built"

topo_create --hosts 2 --containers 1
mesh_init
mesh_file_make 16000000

# pair_up [K=V...]: both hosts' weftd afresh (their configurations written
# again, with K=V lines), a session each way and a ping through it.
pair_up() {
	mesh_config 1 "$@"
	mesh_config 2 "$@"
	mesh_start_all
	mesh_wait_up 1 2 15 || fail "no session between h1 and h2"
	wait_for 5 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "ping h1c1 -> h2c1"
}

# queue_start MODE ARGS...: every weft datagram a host sends goes through
# nfqtool MODE on that host (queue 1; bypass: while nothing listens they pass).
queue_start() {
	local i
	for i in 1 2; do
		hN "$i" iptables -A OUTPUT -p udp --dport 6783 -j NFQUEUE --queue-num 1 --queue-bypass ||
			fail "iptables NFQUEUE rule on h$i"
		spawn "nfq$i" hN "$i" "$nfqtool" "$1" 1 120 "${@:2}"
		wait_for 5 grep -q listening "$(spawn_log "nfq$i")" || fail "nfqtool on h$i did not start"
	done
}

# queue_stop: the rules go first, so nothing waits on a queue nobody reads;
# prints each host's nfqtool tally line.
queue_stop() {
	local i
	for i in 1 2; do
		hN "$i" iptables -D OUTPUT -p udp --dport 6783 -j NFQUEUE --queue-num 1 --queue-bypass
		kill_spawned "nfq$i" 5
		[ "$SPAWN_STATUS" = 0 ] || fail "nfqtool on h$i exited with status $SPAWN_STATUS"
		TALLY[i]=$(grep '^tally' "$(spawn_log "nfq$i")")
		say "  h$i nfqtool: ${TALLY[i]}"
	done
}
TALLY=()

tally_get() { # host field
	sed -n "s/.* $2=\([0-9]*\).*/\1/p" <<<"${TALLY[$1]}"
}

# pings COUNT MIN_MS: COUNT pings h1c1 -> h2c1, all answered, none faster
# than MIN_MS.
pings() {
	local out min
	out=$(c 1 1 ping -c "$1" -i 0.05 -W 2 "$(cont_ip 2 1)") || fail "pings h1c1 -> h2c1: $out"
	grep -q " $1 received" <<<"$out" || fail "pings lost: $(grep received <<<"$out")"
	min=$(sed -n 's|.* = \([0-9.]*\)/.*|\1|p' <<<"$out")
	say "  $1 pings answered, fastest ${min} ms"
	awk -v m="$min" -v want="$2" 'BEGIN { exit !(m >= want) }' ||
		fail "a ping came back in $min ms, under the $2 ms the delay adds"
}

# ---- 1. reordered ------------------------------------------------------------
reordered() {
	local sf=$1 i j d n
	say "reordered underlay, superframes = $sf"
	pair_up "[socket]" "superframes = $sf"

	queue_start reorder 7 3
	mesh_tcp 1 2 cont_ip 3
	mesh_tcp 2 1 cont_ip 3
	mesh_file_across 1 2
	pings 20 0
	queue_stop
	for i in 1 2; do
		n=$(tally_get "$i" held)
		[ "$n" -gt 1000 ] || fail "h$i's nfqtool held back only $n datagrams"
		[ "$(tally_get "$i" overflow)" = 0 ] || fail "h$i's nfqtool hold overflowed"
	done
	for i in 1 2; do
		j=$((3 - i))
		for d in replayed too_old auth_failed; do
			n=$(mesh_peer_get "$i" "$j" "drops.$d")
			[ "$n" = 0 ] || fail "h$i dropped $n datagrams from h$j as $d"
		done
	done
	say "  no datagram dropped as replayed, too old or unauthentic"
	n=$(mesh_counter 2 inject superframes)
	say "  h2 merged $n superframes ($(mesh_counter 2 inject coalesced) segments)"
	if [ "$sf" = yes ]; then
		[ "$n" -gt 0 ] || fail "h2 merged no superframe"
	else
		[ "$n" = 0 ] || fail "h2 merged $n superframes with superframes = no"
	fi
	mesh_stop_all
}

reordered yes
reordered no

# ---- 2. too late -----------------------------------------------------------------
say "underlay holding datagrams back past the replay window"
pair_up
queue_start reorder 5000 17000 5000
mesh_tcp 1 2 cont_ip 4
mesh_file_across 1 2
queue_stop
held=0
too_old=0
for i in 1 2; do
	j=$((3 - i))
	held=$((held + $(tally_get "$i" held) - $(tally_get "$i" late)))
	too_old=$((too_old + $(mesh_peer_get "$i" "$j" drops.too_old)))
	for d in replayed auth_failed; do
		n=$(mesh_peer_get "$i" "$j" "drops.$d")
		[ "$n" = 0 ] || fail "h$i dropped $n datagrams from h$j as $d"
	done
done
say "  $too_old datagrams dropped as too old, of $held held back for 17000 places or until the queue stopped"
if [ "$too_old" -lt 1 ] || [ "$too_old" -gt "$held" ]; then
	fail "$too_old datagrams counted too old, $held held back past the window"
fi
mesh_stop_all

# ---- 3. delayed ------------------------------------------------------------------
say "delayed underlay: 30 ms each way"
pair_up
queue_start delay 30
pings 10 60
mesh_tcp 1 2
queue_stop
for i in 1 2; do
	[ "$(tally_get "$i" held)" -gt 0 ] || fail "h$i's nfqtool delayed nothing"
done
mesh_stop_all

# ---- 4. a long path ------------------------------------------------------------
say "a long path: 400 ms each way from the start"
queue_start delay 400
started=$(now_ms)
mesh_start_all
mesh_wait_up 1 2 20 || fail "no session between h1 and h2 over a 0.8 s round trip"
say "  h1 has a session with h2 $(($(now_ms) - started)) ms after the start"
mesh_wait_up 2 1 5 || fail "h2 has no session with h1 over a 0.8 s round trip"
wait_for 10 c 1 1 ping -c 1 -W 3 "$(cont_ip 2 1)" || fail "ping h1c1 -> h2c1 over 0.8 s"
pings 5 800
queue_stop
mesh_stop_all
say "PASS"
