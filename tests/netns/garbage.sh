#!/bin/bash
# SPDX-License-Identifier: MIT
# Garbage in, nothing lost, every drop counted. While a ping runs h1c1 -> h2c1
# across weft for the whole test, an attacker on the underlay (10.0.0.9) throws
# at h2's weftd random datagrams, truncated and oversized ones, DATA to unknown
# and to live indices with forged ciphertext or counters past the limit,
# replays of captured DATA, and a HELLO flood (garbage and a replayed real
# HELLO); a namespace on h1's bridge throws oversized and link-local frames at
# h1's weftd. garbler (tests/netns/garbler.c) crafts every datagram and frame
# and says which counter it belongs in. Asserted, per round: each counter grew
# by exactly what was thrown at it, the replays did not move h1's endpoint at
# h2, the sessions stayed (no new handshake), the daemons are alive. Over the
# test: ping loss <= 2 %, h2's weftd RSS grows < 2 MB across the rounds after
# the warm-up one, a replay made old by a flood of new traffic is too_old,
# both daemons exit 0 on SIGTERM.
#
#   h1c1 ─ weft0 ─ weftd(h1) ══ UDP 6783 over ul0 ══ weftd(h2) ─ weft0 ─ h2c1
#            │                        │
#   ns <p>h1x (eth0, MTU 1500)     ns <p>atk: eth0 10.0.0.9/24 on ul0
#   raw frames via garbler frame   garbler random/trunc/big/data/hellos/replay
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"

garbler=$(test_tool garbler)

mesh_test_begin ping tcpdump jq timeout
[ -n "$garbler" ] || skip "garbler is not built"

ROUNDS=${GARBAGE_ROUNDS:-4} # the first is the warm-up for the RSS measurement
# Datagrams per second from garbler: fast enough for a flood (the handshake
# limit is 20/s), slow enough that h2's socket buffer never overflows even on
# a busy machine (the kernel would drop before weftd could count).
export GARBLER_PPS=${GARBLER_PPS:-10000}
BUDGET=85                   # seconds for the whole test
ATK=${WT_PREFIX}atk
BRX=${WT_PREFIX}h1x
ATK_IP=10.0.0.9
H2_IP=$(host_ip 2)
H1_IP=$(host_ip 1)
PORT=6783
P1='.peers[] | select(.name == "h1")'
P2='.peers[] | select(.name == "h2")'

atk() { ip netns exec "$ATK" "$@"; }
brx() { ip netns exec "$BRX" "$@"; }

# between X LO HI
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
alive_daemons() { spawn_pid weftd1 >/dev/null && spawn_pid weftd2 >/dev/null; }

# snap I NAME: host I's status into $WT_TMP/NAME.json.
snap() { mesh_status "$1" >"$WT_TMP/$2.json" || fail "weftctl status on h$1 failed"; }
val() { jq -r "$2" "$WT_TMP/$1.json"; }
# delta BEFORE AFTER JQPATH
delta() {
	local a b
	a=$(val "$1" "$3")
	b=$(val "$2" "$3")
	echo $((b - a))
}
# UDP receive errors in h2's namespace (InErrors includes RcvbufErrors): what
# the kernel dropped before the daemon could see it.
udp_errors() {
	h2 awk '/^Udp:/ { if (!h) { for (i = 2; i <= NF; i++) c[$i] = i; h = 1 }
		else print $c["InErrors"] }' /proc/net/snmp
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# ---- the tally of what was thrown ---------------------------------------------

declare -A E
tally_reset() {
	local k
	for k in sent empty garbage unknown_index hello auth_failed counter_limit replayed; do
		E[$k]=0
	done
}
# g MODE ARGS...: run garbler against h2 from the attacker namespace and add
# its tally line to E.
g() {
	local mode=$1 out kv
	shift
	out=$(atk timeout 20 "$garbler" "$mode" "$H2_IP" "$PORT" "$@") ||
		fail "garbler $mode $* failed: $out"
	out=$(printf '%s\n' "$out" | grep '^tally ') || fail "garbler $mode: no tally"
	for kv in ${out#tally }; do
		E[${kv%%=*}]=$((E[${kv%%=*}] + ${kv#*=}))
	done
}
# frames DSTMAC LEN COUNT: raw frames into h1's bridge; sets F_SENT, F_FAILED, F_ERR.
frames() {
	local out
	out=$(brx timeout 20 "$garbler" frame eth0 "$@") || fail "garbler frame $* failed: $out"
	F_SENT=$(printf '%s\n' "$out" | sed -n 's/^frames sent=\([0-9]*\) .*/\1/p')
	F_FAILED=$(printf '%s\n' "$out" | sed -n 's/.* failed=\([0-9]*\) .*/\1/p')
	F_ERR=$(printf '%s\n' "$out" | sed -n 's/.* errno=\(.*\)$/\1/p')
}

# ---- topology, captures, start-up ---------------------------------------------

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init

# The attacker on the underlay.
ip netns add "$ATK"
atk sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip -n "$ATK" link set lo up
ip -n "$(ns_ul)" link add atk type veth peer name eth0 netns "$ATK"
ip -n "$(ns_ul)" link set atk master ul0 up
ip -n "$ATK" addr add "$ATK_IP/24" dev eth0
ip -n "$ATK" link set eth0 up

# Handshakes from the start, to replay an answered HELLO later.
spawn tcpdump_hs ul tcpdump --immediate-mode -i ul0 -n -U -s 2048 -w "$WT_TMP/hs.pcap" \
	"udp port $PORT and (udp[8] = 1 or udp[8] = 2)"
wait_for 5 grep -q 'listening on' "$(spawn_log tcpdump_hs)" || fail "tcpdump did not start"

# h2 first: then h1's HELLO finds h2 listening and is the one h2 answers.
mesh_start 2
mesh_start 1
attach_containers
mesh_wait_up 1 2 15 || fail "no session h1 -> h2"
mesh_wait_up 2 1 15 || fail "no session h2 -> h1"

# The attacker on h1's bridge: a port with the underlay's MTU, above weft's.
ip netns add "$BRX"
brx sysctl -qw net.ipv6.conf.default.disable_ipv6=1
ip -n "$BRX" link set lo up
h1 ip link add x9 mtu 1500 type veth peer name eth0 mtu 1500 netns "$BRX"
brx sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1
h1 ip link set x9 master "$WT_BRIDGE" up
brx ip link set eth0 up
# The bridge forwards LLDP (01:80:c2:00:00:0e) only when told to; as STP is
# off it forwards 01:80:c2:00:00:00 anyway. weftd must drop both.
h1 ip link set "$WT_BRIDGE" type bridge group_fwd_mask 0x4000

wait_for 10 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "no ping h1c1 -> h2c1 before the test"
spawn ping c 1 1 ping -i 0.05 -W 2 -w 120 "$(cont_ip 2 1)"

# Real DATA h1 -> h2 on the underlay, for its receiver index and for replays.
spawn tcpdump_data ul tcpdump --immediate-mode -i ul0 -n -U -w "$WT_TMP/data.pcap" \
	"src host $H1_IP and dst host $H2_IP and udp dst port $PORT and udp[8] = 4"
wait_for 5 grep -q 'listening on' "$(spawn_log tcpdump_data)" || fail "tcpdump did not start"
sleep 2
kill_spawned tcpdump_data
kill_spawned tcpdump_hs
index=$("$garbler" index "$WT_TMP/data.pcap" "$H1_IP" "$H2_IP" "$PORT") ||
	fail "no DATA h1 -> h2 captured"
ndata=$(tcpdump -n -r "$WT_TMP/data.pcap" 2>/dev/null | wc -l)
say "captured $ndata DATA datagrams h1 -> h2; h2's receiver index for h1: $index"

snap 2 start2
snap 1 start1
ep0=$(val start2 "$P1 | .endpoint")
hs2=$(val start2 "$P1 | .handshakes")
hs1=$(val start1 "$P2 | .handshakes")
[ "$ep0" = "$H1_IP:$PORT" ] || fail "h2 has h1 at $ep0, expected $H1_IP:$PORT"
pid2=$(spawn_pid weftd2) || fail "weftd on h2 is not running"
rss_start=$(rss_kb "$pid2")
say "h2's weftd (PID $pid2): VmRSS ${rss_start} kB before any garbage"

# ---- the barrage, repeated ------------------------------------------------------

TOTAL_GARBAGE=0
TOTAL_HS=0
TOTAL_FORGED=0
TOTAL_REPLAYED=0
TOTAL_FRAMES=0
barrage() {
	local r=$1 kerr0 kerr seed=$((1000 * $1))
	tally_reset
	snap 2 "b2_$r"
	snap 1 "b1_$r"
	kerr0=$(udp_errors)
	# Garbage HELLOs fail their mac1 (handshake_mac) before any bucket or
	# state, the replayed real HELLO is a handshake_replay, datagrams in
	# version 1's framing are handshake_version.
	sleep 0.6
	g hellos 4 "$((seed + 1))"
	g replay "$WT_TMP/hs.pcap" "$H1_IP" "$H2_IP" 1 1 200
	g hellos 1000 "$((seed + 2))"
	g random 2000 "$((seed + 3))"
	g headed 1000 "$((seed + 4))"
	g trunc 3
	g big "$index"
	g data 500 random
	g data 500 "$index"
	g data 100 "$index" limit
	g replay "$WT_TMP/data.pcap" "$H1_IP" "$H2_IP" 4 500 1

	# Frames into h1's bridge.
	local mac=02:99:00:00:00:01 too_big=0 bridge_big link_local=0 runt_sent short_sent
	frames "$mac" 1441 50 # the largest the bridge passes to weft0-br: MTU + 14 + 4 (VLAN slack)
	too_big=$((too_big + F_SENT))
	frames "$mac" 1438 50 # one byte over weft's largest frame
	too_big=$((too_big + F_SENT))
	# Beyond the overlay MTU too: weft0-br (MTU 65535) hands them to weftd,
	# which has nothing to answer (not IP) and drops and counts them.
	frames "$mac" 1514 20
	bridge_big=$F_SENT
	too_big=$((too_big + F_SENT))
	frames 01:80:c2:00:00:00 60 30
	link_local=$((link_local + F_SENT))
	frames 01:80:c2:00:00:0e 60 30
	link_local=$((link_local + F_SENT))
	frames "$mac" 10 5 # shorter than an Ethernet header
	runt_sent=$F_SENT
	local runt_err=$F_ERR runt_failed=$F_FAILED
	frames "$mac" 14 10 # a bare header: the smallest frame weft carries
	short_sent=$F_SENT
	sleep 0.5

	snap 2 "a2_$r"
	snap 1 "a1_$r"
	kerr=$(($(udp_errors) - kerr0))
	local b2=b2_$r a2=a2_$r b1=b1_$r a1=a1_$r d_garbage d_unknown d_rate d_auth d_replay d_stale
	local d_refused d_hs d_forged d_limit d_replayed d_old d_big d_ll d_runt d_mac d_ver d_other
	d_garbage=$(delta "$b2" "$a2" .drops.garbage)
	d_unknown=$(delta "$b2" "$a2" .drops.unknown_index)
	d_rate=$(delta "$b2" "$a2" .drops.handshake_rate)
	d_auth=$(delta "$b2" "$a2" .drops.handshake_auth)
	d_replay=$(delta "$b2" "$a2" .drops.handshake_replay)
	d_stale=$(delta "$b2" "$a2" .drops.handshake_stale)
	d_refused=$(delta "$b2" "$a2" .drops.handshake_refused)
	d_mac=$(delta "$b2" "$a2" .drops.handshake_mac)
	d_ver=$(delta "$b2" "$a2" .drops.handshake_version)
	d_other=$(($(delta "$b2" "$a2" .drops.handshake_cookie) + $(delta "$b2" "$a2" .drops.handshake_busy) +
		$(delta "$b2" "$a2" .drops.handshake_pending_full) + $(delta "$b2" "$a2" .drops.handshake_replay_full)))
	d_hs=$((d_rate + d_auth + d_replay + d_stale + d_refused + d_mac + d_ver + d_other))
	d_forged=$(delta "$b2" "$a2" "$P1 | .drops.auth_failed")
	d_limit=$(delta "$b2" "$a2" "$P1 | .drops.counter_limit")
	d_replayed=$(delta "$b2" "$a2" "$P1 | .drops.replayed")
	d_old=$(delta "$b2" "$a2" "$P1 | .drops.too_old")
	d_big=$(delta "$b1" "$a1" .drops.frame_too_big)
	d_ll=$(delta "$b1" "$a1" .drops.frame_link_local)
	d_runt=$(delta "$b1" "$a1" .drops.frame_runt)

	say "round $r: sent ${E[sent]} datagrams to h2 (kernel dropped $kerr):" \
		"garbage +$d_garbage (expected ${E[garbage]} + ${E[empty]} empty)," \
		"unknown_index +$d_unknown (${E[unknown_index]})," \
		"handshake mac/version/rate/auth/replay/stale/refused/other" \
		"+$d_mac/$d_ver/$d_rate/$d_auth/$d_replay/$d_stale/$d_refused/$d_other" \
		"(${E[hello]} HELLOs), auth_failed +$d_forged (${E[auth_failed]})," \
		"counter_limit +$d_limit (${E[counter_limit]}), replayed/too_old +$d_replayed/$d_old" \
		"(${E[replayed]}); h1: frame_too_big +$d_big ($too_big), frame_link_local +$d_ll" \
		"($link_local), frame_runt +$d_runt; ${bridge_big} frames of 1514 bytes"

	# Not weft's doing, but every check below allows for it.
	[ "$kerr" -eq 0 ] || say "round $r: WARNING: h2's kernel dropped $kerr datagrams (busy machine?)"
	expect "round $r: garbage counts every non-empty runt, bad type, bad length" \
		between "$d_garbage" $((E[garbage] - kerr)) $((E[garbage] + E[empty]))
	expect "round $r: garbage counts the ${E[empty]} zero-length datagrams too" \
		[ "$d_garbage" -ge $((E[garbage] + E[empty] - kerr)) ]
	expect "round $r: unknown_index counts every DATA/WELCOME/CONFIRM to an unknown index" \
		between "$d_unknown" $((E[unknown_index] - kerr)) "${E[unknown_index]}"
	expect "round $r: every HELLO is counted by a handshake reason" \
		between "$d_hs" $((E[hello] - kerr)) "${E[hello]}"
	expect "round $r: handshake_mac grew (garbage HELLOs stopped by mac1)" [ "$d_mac" -gt 0 ]
	expect "round $r: no garbage HELLO reached the Noise layer (handshake_auth +$d_auth)" \
		[ "$d_auth" -eq 0 ]
	expect "round $r: handshake_version grew (version 1 framing)" [ "$d_ver" -gt 0 ]
	expect "round $r: handshake_replay grew (the replayed real HELLO)" [ "$d_replay" -gt 0 ]
	expect "round $r: h1's auth_failed at h2 counts every forged DATA" \
		between "$d_forged" $((E[auth_failed] - kerr)) "${E[auth_failed]}"
	expect "round $r: h1's counter_limit at h2 counts every DATA past 2^60" \
		between "$d_limit" $((E[counter_limit] - kerr)) "${E[counter_limit]}"
	expect "round $r: h1's replayed (or too_old) at h2 counts ~every replayed DATA" \
		between $((d_replayed + d_old)) $((E[replayed] * 95 / 100 - kerr)) "${E[replayed]}"
	expect "round $r: h1's endpoint at h2 did not move to the attacker" \
		[ "$(val "$a2" "$P1 | .endpoint")" = "$ep0" ]
	expect "round $r: h1's frame_too_big counts every oversized frame weft0-br passed" \
		[ "$d_big" -eq "$too_big" ]
	expect "round $r: h1's frame_link_local counts every 01:80:c2:00:00:0x frame" \
		[ "$d_ll" -eq "$link_local" ]
	expect "round $r: the kernel refuses a 10-byte frame ($runt_err), no runt reaches weftd" \
		eval "[ $runt_sent -eq 0 ] && [ $runt_failed -eq 5 ] && [ $d_runt -eq 0 ]"
	expect "round $r: 14-byte frames went out ($short_sent)" [ "$short_sent" -eq 10 ]
	expect "round $r: both daemons alive" alive_daemons
	local st2 st1 n2 n1
	st2=$(val "$a2" "$P1 | .state")
	st1=$(val "$a1" "$P2 | .state")
	n2=$(val "$a2" "$P1 | .handshakes")
	n1=$(val "$a1" "$P2 | .handshakes")
	expect "round $r: sessions kept (h1 at h2 $st2, h2 at h1 $st1; handshakes $n2/$n1, were $hs2/$hs1)" \
		eval "[ $st2 = up ] && [ $st1 = up ] && [ $n2 = $hs2 ] && [ $n1 = $hs1 ]"
	TOTAL_GARBAGE=$((TOTAL_GARBAGE + d_garbage))
	TOTAL_HS=$((TOTAL_HS + d_hs))
	TOTAL_FORGED=$((TOTAL_FORGED + d_forged + d_limit))
	TOTAL_REPLAYED=$((TOTAL_REPLAYED + d_replayed + d_old))
	TOTAL_FRAMES=$((TOTAL_FRAMES + d_big + d_ll))
}

for ((round = 1; round <= ROUNDS; round++)); do
	in_time
	barrage "$round"
	if [ "$round" = 1 ]; then
		pid2=$(spawn_pid weftd2) || fail "weftd on h2 died"
		rss_warm=$(rss_kb "$pid2")
	fi
done
rss_end=$(rss_kb "$pid2")
say "h2's weftd VmRSS: ${rss_start} kB at start, ${rss_warm} kB after the warm-up round," \
	"${rss_end} kB after $((ROUNDS - 1)) more rounds ($((rss_end - rss_warm)) kB)"
expect "h2's weftd RSS grew < 2048 kB over $((ROUNDS - 1)) rounds" \
	[ $((rss_end - rss_warm)) -lt 2048 ]

# ---- too_old: a replay of datagrams the window has long passed -----------------
in_time
snap 2 old_b
snap 1 old_b1
tx0=$(val old_b1 "$P2 | .tx_packets")
for ((k = 0; k < 4; k++)); do
	c 1 1 timeout 10 ping -f -c 6000 -s 16 -q "$(cont_ip 2 1)" >/dev/null 2>&1 || true
	snap 1 old_m1
	[ $(($(val old_m1 "$P2 | .tx_packets") - tx0)) -lt 17000 ] || break
	in_time
done
advanced=$(($(val old_m1 "$P2 | .tx_packets") - tx0))
say "h1 sent $advanced datagrams to h2 since the last replay (window: 16320)"
tally_reset
g replay "$WT_TMP/data.pcap" "$H1_IP" "$H2_IP" 4 500 1
sleep 0.3
snap 2 old_a
d_old=$(delta old_b old_a "$P1 | .drops.too_old")
d_replayed=$(delta old_b old_a "$P1 | .drops.replayed")
say "replayed ${E[replayed]} old DATA datagrams: too_old +$d_old, replayed +$d_replayed"
expect "too_old counts replays from behind the window" \
	eval "[ $advanced -ge 17000 ] && between $d_old $((E[replayed] * 95 / 100)) ${E[replayed]}"
expect "h1's endpoint at h2 did not move" [ "$(val old_a "$P1 | .endpoint")" = "$ep0" ]

# ---- the real traffic, all along -------------------------------------------------
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

snap 2 end2
snap 1 end1
say "totals at h2: $(jq -c .drops "$WT_TMP/end2.json")"
say "h1 at h2: $(jq -c "$P1 | .drops" "$WT_TMP/end2.json")"
say "totals at h1: $(jq -c .drops "$WT_TMP/end1.json")"
say "over $ROUNDS rounds: garbage $TOTAL_GARBAGE, handshake drops $TOTAL_HS," \
	"forged DATA $TOTAL_FORGED, replays $TOTAL_REPLAYED, bad frames $TOTAL_FRAMES"

mesh_stop_all
say "${SECONDS}s"
[ "$FAILS" = 0 ] || fail "$FAILS checks failed"
say "PASS"
