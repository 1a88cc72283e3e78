#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/netns/hardening_handshake.sh: handshake floods neither cut two hosts
# apart nor buy the attacker the responder's CPU (issue 12, findings 1-3).
#
#   ns <p>h1 10.0.0.1 weftd ─┐
#   ns <p>h2 10.0.0.2 weftd ─┼── ul0 (bridge in ns <p>ul)
#   ns <p>h3 10.0.0.3 ───────┘   the attacker: tests/netns/hsflood, a raw
#                                socket that writes any source address;
#                                10.200.0.0/16 (forged sources) is routed to
#                                it from h1 and h2, where answers die
#
# h1 and h2 rekey every 10 s (reject_after 14 s), so a handshake that fails
# during a flood shows as lost pings within seconds.
#   (a) junk HELLOs forged from h1 to h2 and from h2 to h1, 1000/s each way,
#       for 30 s: the pair keeps its sessions (before version 2 the junk
#       emptied the victims' token buckets);
#   (b) 20000 junk HELLOs/s for 10 s from 4096 forged sources at h2: its CPU
#       over the flood, less that of the same flood of datagrams of an unknown
#       type, is printed and must stay under 7% of one core (measured: ~2%
#       here; before version 2, ~12%: a Noise read of every one of them);
#   (c) a member's flood: 1000 valid HELLOs/s (each with its own ephemeral
#       key) from 4096 forged sources at h2 for 20 s, while a member on a slow
#       path (500 ms between WELCOME and
#       CONFIRM) joins h2 from h3's own address, and h1 and h2 keep rekeying:
#       the slow join completes (before: its pending handshake was pushed out
#       oldest-first within milliseconds), pings flow, h2's CPU is printed.
# HH_PARTS (default abc) runs only some parts, for checking each against an
# older weftd. PROTO: the protocol of $WEFTD (2 for this tree; hsflood speaks 1 too, so
# the test can be run against a weftd from before version 2 and fail there).
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"

HSFLOOD=${HSFLOOD:-${top_builddir:-.}/tests/netns/hsflood}
mesh_test_begin jq ping
[ -x "$HSFLOOD" ] || skip "hsflood not built ($HSFLOOD)"
PROTO=1
grep -qa 'weft/2 ' "$WEFTD" && PROTO=2
say "weftd speaks protocol version $PROTO"
TICKS=$(getconf CLK_TCK)
PARTS=${HH_PARTS:-abc}
part() { case $PARTS in *"$1"*) return 0 ;; esac; return 1; }

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
for i in 1 2; do
	MESH_SEED=$((3 - i)) mesh_config "$i"
	sed -i 's/^\[timers\]$/[timers]\nrekey_after = 10\nreject_after = 14/' "$WT_TMP/h$i.conf"
	hN "$i" ip route add 10.200.0.0/16 via "$(host_ip 3)"
done
for i in 1 2; do mesh_start "$i"; done
attach_containers 1 2
mesh_wait_up 1 2 15 || fail "h1 and h2 have no session"
mesh_wait_up 2 1 5 || fail "h2 and h1 have no session"
wait_for 10 c 1 1 ping -c1 -W1 "$(cont_ip 2 1)" || fail "h1c1 does not reach h2c1"

drop() { mesh_status "$1" | jq -r ".drops.$2 // 0"; }
handshakes() { mesh_peer_get "$1" "$2" handshakes; }
cpu_ticks() {
	local f
	read -ra f <<<"$(proc_stat "$1")"
	echo $((f[11] + f[12]))
}
# ping_loss SECS: h1c1 pings h2c1 five times a second; prints the loss in %.
ping_loss() {
	c 1 1 ping -q -i 0.2 -W 1 -c $(($1 * 5)) "$(cont_ip 2 1)" 2>/dev/null |
		sed -n 's/.* \([0-9.]*\)% packet loss.*/\1/p'
}
pid2=$(spawn_pid weftd2)

# ---- (a) junk forged from each host to the other -----------------------------------
if part a; then
hs1=$(handshakes 1 2)
hs2=$(handshakes 2 1)
spawn junk12 h3 "$HSFLOOD" junk "$(host_ip 2)" 6783 "$(host_ip 1)" 1000 30 "$PROTO"
spawn junk21 h3 "$HSFLOOD" junk "$(host_ip 1)" 6783 "$(host_ip 2)" 1000 30 "$PROTO"
loss=$(ping_loss 30)
wait_for 10 sh -c "grep -q '^sent' '$(spawn_log junk12)'" || true
kill_spawned junk12
kill_spawned junk21
hs1b=$(handshakes 1 2)
hs2b=$(handshakes 2 1)
say "(a) 30 s of junk HELLOs forged from h1 to h2 and from h2 to h1 ($(tail -n1 "$(spawn_log junk12)")):" \
	"ping loss ${loss:-?}%, handshakes h1 $hs1 -> $hs1b, h2 $hs2 -> $hs2b;" \
	"h2 drops handshake_mac $(drop 2 handshake_mac) handshake_version $(drop 2 handshake_version)" \
	"handshake_auth $(drop 2 handshake_auth) handshake_rate $(drop 2 handshake_rate)"
[ -n "$loss" ] || fail "(a) no ping statistics"
awk -v l="$loss" 'BEGIN { exit !(l <= 10) }' ||
	fail "(a) ${loss}% of pings lost while junk was forged from the peers' addresses"
[ $((hs1b + hs2b - hs1 - hs2)) -ge 3 ] ||
	fail "(a) the pair did not rekey through the junk (handshakes $hs1 -> $hs1b, $hs2 -> $hs2b)"
if [ "$PROTO" = 2 ]; then
	# A host left on version 1: refused by name, counted, and named in the log.
	v0=$(drop 2 handshake_version)
	spawn v1 h3 "$HSFLOOD" junk "$(host_ip 2)" 6783 "$(host_ip 3)" 20 1 1
	wait_for 10 sh -c "grep -q '^sent' '$(spawn_log v1)'" || fail "(a) the version 1 HELLOs were not sent"
	wait_for 5 sh -c "[ \$(\"$WEFTCTL\" -s '$WT_TMP/h2.sock' status --json | jq .drops.handshake_version) -ge $((v0 + 20)) ]" ||
		fail "(a) h2 did not count 20 version 1 HELLOs as handshake_version (was $v0, now $(drop 2 handshake_version))"
	grep -q "handshake from $(host_ip 3):6783 refused: it speaks weft protocol version 1" \
		"$(spawn_log weftd2)" || fail "(a) h2 did not name the version 1 host in its log"
	say "(a) 20 HELLOs in version 1's framing: handshake_version $v0 -> $(drop 2 handshake_version), logged"
fi

fi

# ---- (b) junk from 4096 forged sources: what it costs h2 ------------------------------
# The same flood twice: first datagrams of an unknown type (what receiving
# costs, no handshake code runs), then junk HELLOs. The difference is what
# the handshake code spends on junk.
if part b; then
# flood_cpu KIND: runs 10 s of KIND at 20000/s; sets CPU_MS (h2's weftd) and SENT.
flood_cpu() {
	local t0 t1
	t0=$(cpu_ticks "$pid2")
	spawn "flood_$1" h3 "$HSFLOOD" junk "$(host_ip 2)" 6783 10.200.0.0/20 20000 10 "$1"
	wait_for 30 sh -c "grep -q '^sent' '$(spawn_log "flood_$1")'" || fail "(b) the flood did not end"
	sleep 0.5
	t1=$(cpu_ticks "$pid2")
	SENT=$(sed -n 's/^sent \([0-9]*\) .*/\1/p' "$(spawn_log "flood_$1")")
	CPU_MS=$(((t1 - t0) * 1000 / TICKS))
	[ "$SENT" -ge 150000 ] || fail "(b) only $SENT datagrams sent: the machine is too busy to tell"
}
# hs_cost: both floods; sets HS_MS (the difference), BASE_MS and BASE_SENT
# (unknown type), CPU_MS and SENT (junk HELLOs).
hs_cost() {
	flood_cpu garbage
	BASE_MS=$CPU_MS BASE_SENT=$SENT
	flood_cpu "$PROTO"
	HS_MS=$((CPU_MS - BASE_MS * SENT / BASE_SENT))
}
hs_cost
# Other work on this machine adds to one measurement or the other: a result
# over the limit is measured again, and the lower one counts.
if [ "$HS_MS" -ge 700 ]; then
	say "(b) ${HS_MS} ms the first time ($BASE_MS ms, $CPU_MS ms); measuring again"
	first="$HS_MS $BASE_MS $BASE_SENT $CPU_MS $SENT"
	hs_cost
	# shellcheck disable=SC2086 # five numbers
	[ "${first%% *}" -ge "$HS_MS" ] || set -- $first
	[ "${first%% *}" -ge "$HS_MS" ] || { HS_MS=$1 BASE_MS=$2 BASE_SENT=$3 CPU_MS=$4 SENT=$5; }
fi
hs_ms=$HS_MS base_ms=$BASE_MS base_sent=$BASE_SENT
say "(b) 10 s at 20000/s from 4096 sources, h2's weftd CPU: ${base_ms} ms for $base_sent datagrams" \
	"of an unknown type, ${CPU_MS} ms for $SENT junk HELLOs: the handshake code spent ${hs_ms} ms" \
	"($(awk -v m="$hs_ms" -v n="$SENT" 'BEGIN { printf "%.2f us per HELLO, %.1f%% of a core", m * 1000 / n, m / 100 }')); drops handshake_mac" \
	"$(drop 2 handshake_mac) handshake_auth $(drop 2 handshake_auth) handshake_rate $(drop 2 handshake_rate)"
[ "$hs_ms" -lt 700 ] ||
	fail "(b) h2 spent ${hs_ms} ms on 10 s of junk HELLOs beyond receiving them (limit 700: 7% of a core)"
[ "$CPU_MS" -lt 5000 ] || fail "(b) h2 spent ${CPU_MS} ms of CPU in 10 s of junk (limit 5000)"
mesh_wait_up 1 2 5 || fail "(b) h1 lost h2"
fi

# ---- (c) a member's valid HELLOs from forged sources, and a slow genuine join ------------
if part c; then
hs1=$(handshakes 1 2)
cookies0=$(drop 2 handshake_cookie)
t0=$(cpu_ticks "$pid2")
spawn valid h3 "$HSFLOOD" valid "$(host_ip 2)" 6783 10.200.0.0/20 1000 20 "$PROTO" \
	"$WT_TMP/secret" mesh 20000
wait_for 30 grep -q '^built' "$(spawn_log valid)" || fail "(c) the flood did not start"
sleep 3
spawn join h3 "$HSFLOOD" join "$(host_ip 2)" 6783 "$PROTO" "$WT_TMP/secret" mesh 500 12000
loss=$(ping_loss 15)
wait_for 15 sh -c "grep -q '^sent' '$(spawn_log valid)'" || fail "(c) the flood did not end"
t1=$(cpu_ticks "$pid2")
kill_spawned join 15
join_status=$SPAWN_STATUS
hs1b=$(handshakes 1 2)
cpu_ms=$(((t1 - t0) * 1000 / TICKS))
say "(c) $(tail -n1 "$(spawn_log valid)") valid HELLOs from 4096 forged sources:" \
	"slow join: $(tail -n1 "$(spawn_log join)"); h1-h2 ping loss ${loss:-?}%," \
	"h1's handshakes with h2 $hs1 -> $hs1b; h2's weftd ${cpu_ms} ms of CPU;" \
	"h2 drops handshake_cookie $cookies0 -> $(drop 2 handshake_cookie)" \
	"handshake_pending_full $(drop 2 handshake_pending_full) handshake_busy" \
	"$(drop 2 handshake_busy) handshake_replay $(drop 2 handshake_replay)"
[ "$join_status" = 0 ] && grep -q '^joined' "$(spawn_log join)" ||
	fail "(c) the slow genuine handshake did not complete through the flood"
[ -n "$loss" ] || fail "(c) no ping statistics"
awk -v l="$loss" 'BEGIN { exit !(l <= 10) }' || fail "(c) ${loss}% of pings lost during the flood"
[ "$hs1b" -gt "$hs1" ] || fail "(c) h1 and h2 did not rekey during the flood"
fi
for i in 1 2; do
	kill -0 "$(spawn_pid "weftd$i")" 2>/dev/null || fail "weftd on h$i died"
done
say PASS
