#!/bin/bash
# SPDX-License-Identifier: MIT
# What one member can do to the others through FRAME records (issue 12,
# findings 5 and 6). A member of the network ("mallory": it holds the secret
# and its own key; tests/netns/member.c) joins h2 from the underlay and sends
# frames as if they came from its bridge:
#   (a) frames no bridge may pass on: 5 STP BPDUs, LACP, 802.1X and LLDP
#       (01:80:c2:00:00:0x), a BPDU relayed through the mesh, frames from a
#       multicast and from the zero source, one of 1500 bytes (over the
#       overlay MTU), a 13-byte FRAME, four FRAME_PARTIALs that have no TCP
#       or UDP checksum to complete (not IP, ICMP, a UDP fragment, 13
#       bytes); then one good broadcast frame.
#       Asserted: tcpdump on h2's weft0-br (everything weftd injects passes
#       there) and in h2c1 sees the good frame and nothing else of mallory's;
#       h2 counts each one against mallory under its reason.
#   (b) 30000 frames from random source MACs (defaults: 4096 live MACs and
#       100 new a second, a burst of 1000, per peer): h1c1's MAC stays in h2's
#       table behind h1, mallory holds at most 4096 entries, the rest is
#       refused and counted (mactable refused_rate, mallory's mac_rate), and
#       h2's bridge learned no more than that (bridge fdb show).
#   (c) reload: max_macs_per_peer = 500, no rate to speak of; 5000 more random
#       sources: all refused as mac_limit, mallory's entries do not grow.
#   (d) reload: max_macs_per_peer = 16384 (the whole table); 20000 more: the
#       table fills up to its 16384 entries but h1c1's MAC stays; a new MAC
#       from h1 (h1c2 under a fresh address) is refused and counted
#       (mac_table_full: never evict a live entry), its ping fails, h1c1's
#       still works.
#   (e) the kernel's bound: 25000 frames from random sources on h2's local
#       port (h2c1): the bridge weftd created learns at most
#       fdb_max_learned = 20480 entries (16384 + 4096 for local ports).
# On the code before this (a37f534), (a) lets the BPDUs reach h2c1, (b)
# evicts h1c1's MAC and grows h2's FDB by 30000 entries, and (e) is unbounded.
#
#   h1c1 ─┬ weft0 ─ weftd(h1) ══ UDP 6783 over ul0 ══ weftd(h2) ─ weft0 ─ h2c1
#   h1c2 ─┘                             ║
#                    ns <p>mbr: eth0 10.0.0.9/24 on ul0
#                    member "mallory": filter, macflood:N to 10.0.0.2:6783
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"

member=$(test_tool member)

mesh_test_begin ping jq timeout tcpdump bridge python3
[ -n "$member" ] || skip "member is not built"

BUDGET=240
MBR=${WT_PREFIX}mbr
MBR_IP=10.0.0.9
NICK=mallory
H2_IP=$(host_ip 2)
PORT=6783
H1C1_MAC=$(cont_mac 1 1)
FRESH_MAC=02:77:ee:00:01:02 # h1c2's address in (d): a MAC h2 has never seen
TABLE=16384                 # WEFT_MACTABLE_DEFAULT_CAPACITY
FDB_MAX=20480               # WEFT_LINK_FDB_MAX_LEARNED
PM=".peers[] | select(.name == \"$NICK\")"
P1='.peers[] | select(.name == "h1")'

mbr() { ip netns exec "$MBR" "$@"; }


snap() { mesh_status 2 >"$WT_TMP/$1.json" || fail "weftctl status on h2 failed"; }
val() { jq -r "$2" "$WT_TMP/$1.json"; }
# num SNAP JQPATH: the number there, 0 when it is missing (older weftd).
num() { jq -r "($2) // 0" "$WT_TMP/$1.json"; }
delta() { echo $(($(num "$2" "$3") - $(num "$1" "$3"))); }
# pcap_count FILE [FILTER]: packets in a capture (matching FILTER).
pcap_count() { tcpdump -r "$1" --count "${@:2}" 2>/dev/null | awk '{ print $1 }'; }
# pings I J: container hIcJ reaches h2c1.
pings() { c "$1" "$2" ping -c 1 -W 2 "$(cont_ip 2 1)" >/dev/null; }
mallory_macs() { val "$1" "[.macs[] | select(.peer == \"$NICK\")] | length"; }
mac_at() { val "$1" ".macs[] | select(.mac == \"$2\") | .peer"; }
# fdb_learned: entries h2's bridge learned (its own and the ports' addresses
# are permanent, not learned).
fdb_learned() { h2 bridge fdb show br "$WT_BRIDGE" | grep -vc permanent || true; }

# run_member MODE: member against h2; its tally line into T.
declare -A T
run_member() {
	local mode=$1 out line kv
	out=$(mbr timeout 60 "$member" "$WT_TMP/secret" "$WT_TMP/$NICK.key" mesh "$NICK" \
		"$H2_IP" "$PORT" "$mode" "$(cat "$WT_TMP/h2.pub")") || fail "member $mode failed: $out"
	printf '%s\n' "$out" >"$WT_TMP/member-${mode%%:*}.log"
	printf '%s\n' "$out" | grep -v '^sent FRAME' | sed "s/^/  member $mode: /" >&2
	line=$(printf '%s\n' "$out" | grep '^tally ') || fail "member $mode: no tally"
	T=()
	for kv in ${line#tally }; do
		T[${kv%%=*}]=${kv#*=}
	done
}

# reload_h2 LINES...: h2's configuration with these [network] lines, applied by SIGHUP.
reload_h2() {
	local n
	mesh_config 2 "$@"
	n=$(grep -c 'reloaded' "$(spawn_log weftd2)" || true)
	kill -HUP "$(spawn_pid weftd2)"
	wait_for 5 sh -c "[ \$(grep -c reloaded '$(spawn_log weftd2)') -gt $n ]" ||
		fail "h2 did not reload"
}

# settled SNAP JQPATH N: h2's counter at JQPATH has grown by N since SNAP
# (the flood is received), or it stopped moving.
settled() {
	local before=$1 path=$2 want=$3 last=-1 now k
	for ((k = 0; k < 50; k++)); do
		snap cur
		now=$(delta "$before" cur "$path")
		[ "$now" -ge "$want" ] && return 0
		[ "$now" = "$last" ] && return 0
		last=$now
		sleep 0.2
	done
}

# ---- topology, start-up -------------------------------------------------------------

topo_create --hosts 2 --containers 2 --no-bridge
mesh_init
(umask 077 && "$WEFTD" genkey >"$WT_TMP/$NICK.key")
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
grep -q "learned FDB bounded to $FDB_MAX entries" "$(spawn_log weftd2)" &&
	say "h2: $(grep -o "bridge .*learned FDB bounded.*" "$(spawn_log weftd2)")"

# ---- (a) frames no bridge passes on ---------------------------------------------------
in_time
# Everything of mallory's: sources x2:98:... and x3:98:... (the group bit), and the zero one.
FILTER='ether[6:2] & 0xfeff = 0x0298 or ether src 00:00:00:00:00:00'
spawn tcpdump_br h2 tcpdump -U --immediate-mode -n -e -i "$WT_BRIDGE-br" -w "$WT_TMP/br.pcap" "$FILTER"
spawn tcpdump_c c 2 1 tcpdump -U --immediate-mode -n -e -i eth0 -w "$WT_TMP/c.pcap" "$FILTER"
wait_for 5 grep -q 'listening on' "$(spawn_log tcpdump_br)" || fail "tcpdump on $WT_BRIDGE-br did not start"
wait_for 5 grep -q 'listening on' "$(spawn_log tcpdump_c)" || fail "tcpdump in h2c1 did not start"
snap a0
run_member filter
good_injected() { [ "$(mesh_status 2 | jq -r "$PM | .rx_frames - $(num a0 "$PM | .rx_frames")")" -ge 1 ]; }
wait_for 5 good_injected || say "the good frame was not injected in 5 s"
sleep 0.5
kill_spawned tcpdump_br
kill_spawned tcpdump_c
snap a1
for k in frame_link_local frame_bad_source frame_too_big bad_record; do
	d=$(delta a0 a1 "$PM | .drops.$k")
	expect "(a) h2 counted mallory's $k +$d (${T[$k]})" [ "$d" = "${T[$k]}" ]
done
d=$(delta a0 a1 "$PM | .rx_frames")
expect "(a) h2 injected mallory's good frame and nothing else (rx_frames +$d)" [ "$d" = 1 ]
for cap in br c; do
	where=$([ $cap = br ] && echo "h2's $WT_BRIDGE-br" || echo "h2c1")
	all=$(pcap_count "$WT_TMP/$cap.pcap")
	good=$(pcap_count "$WT_TMP/$cap.pcap" 'ether src 02:98:00:00:00:01')
	bpdu=$(pcap_count "$WT_TMP/$cap.pcap" 'ether dst 01:80:c2:00:00:00')
	say "(a) seen on $where: $all of mallory's frames, $good good, $bpdu BPDUs"
	expect "(a) $where saw the good frame" [ "$good" = 1 ]
	expect "(a) $where saw nothing else of mallory's ($((all - good)) frames, $bpdu BPDUs)" \
		[ "$all" = 1 ]
done

# ---- (b) a flood of random source MACs, default bounds -----------------------------------
in_time
snap b0
expect "(b) before: h2 has h1c1's MAC behind h1 ($(mac_at b0 "$H1C1_MAC"))" [ "$(mac_at b0 "$H1C1_MAC")" = h1 ]
fdb0=$(fdb_learned)
run_member macflood:30000
settled b0 "[$PM | .drops.mac_rate, .drops.mac_limit, .drops.mac_table_full] | add" 28000
snap b1
fdb1=$(fdb_learned)
refused=$(delta b0 b1 "[$PM | .drops.mac_rate, .drops.mac_limit, .drops.mac_table_full] | add")
say "(b) h2: mallory has $(mallory_macs b1) MACs, $refused refused (mac_rate +$(delta b0 b1 "$PM | .drops.mac_rate"));" \
	"table $(num b1 .mactable.count)/$(num b1 .mactable.capacity); h2's FDB $fdb0 -> $fdb1 learned entries"
expect "(b) h1c1's MAC is still behind h1 at h2 ($(mac_at b1 "$H1C1_MAC"))" [ "$(mac_at b1 "$H1C1_MAC")" = h1 ]
expect "(b) mallory holds at most max_macs_per_peer = 4096 MACs ($(mallory_macs b1))" \
	[ "$(mallory_macs b1)" -le 4096 ]
expect "(b) the rest was refused and counted against mallory ($refused of ${T[frames]})" \
	[ "$refused" -ge $((T[frames] - 4096)) ]
expect "(b) h2's MAC table counted them (refused_rate +$(delta b0 b1 .mactable.refused_rate))" \
	[ "$(delta b0 b1 '.mactable.refused_rate + .mactable.refused_peer_limit')" -ge $((T[frames] - 4096)) ]
expect "(b) h2's bridge learned no more than weftd did ($fdb0 -> $fdb1)" \
	[ "$fdb1" -le $((fdb0 + 4096)) ]
expect "(b) h1c1 still reaches h2c1" pings 1 1

# ---- (c) a lower bound by reload ------------------------------------------------------------
in_time
reload_h2 "max_macs_per_peer = 500" "mac_learn_rate = 100000" "mac_learn_burst = 16384"
snap c0
run_member macflood:5000
settled c0 "$PM | .drops.mac_limit" 5000
snap c1
d=$(delta c0 c1 "$PM | .drops.mac_limit")
say "(c) h2: mallory has $(mallory_macs c1) MACs (was $(mallory_macs c0)), mac_limit +$d"
expect "(c) mallory learned no new MAC above the bound ($(mallory_macs c0) -> $(mallory_macs c1))" \
	[ "$(mallory_macs c1)" -le "$(mallory_macs c0)" ]
expect "(c) its new sources were refused as mac_limit (+$d of ${T[frames]})" \
	[ "$d" -ge $((T[frames] * 95 / 100)) ]

# ---- (d) the whole table for one peer: full, and nobody evicted ---------------------------------
in_time
reload_h2 "max_macs_per_peer = $TABLE" "mac_learn_rate = 100000" "mac_learn_burst = 16384"
c 1 1 ping -c 1 -W 2 "$(cont_ip 2 1)" >/dev/null || true # h1c1's entry fresh
snap d0
run_member macflood:20000
settled d0 "$PM | .drops.mac_table_full" $((20000 - TABLE))
snap d1
say "(d) h2: table $(num d1 .mactable.count)/$TABLE, mallory $(mallory_macs d1) MACs," \
	"refused_full +$(delta d0 d1 .mactable.refused_full)"
expect "(d) the table is full ($(num d1 .mactable.count))" [ "$(num d1 .mactable.count)" = $TABLE ]
expect "(d) h1c1's MAC is still behind h1 ($(mac_at d1 "$H1C1_MAC"))" [ "$(mac_at d1 "$H1C1_MAC")" = h1 ]
expect "(d) mallory's newcomers were refused as mac_table_full (+$(delta d0 d1 "$PM | .drops.mac_table_full"))" \
	[ "$(delta d0 d1 "$PM | .drops.mac_table_full")" -gt 0 ]
ip -n "$(ns_cont 1 2)" link set eth0 address "$FRESH_MAC"
ip -n "$(ns_cont 1 2)" neigh flush all
! c 1 2 ping -c 2 -W 1 "$(cont_ip 2 1)" >/dev/null 2>&1 && fresh_ping=failed || fresh_ping=answered
snap d2
d=$(delta d1 d2 "$P1 | .drops.mac_table_full")
say "(d) a new MAC from h1: ping $fresh_ping, h1's mac_table_full +$d"
expect "(d) h1's new MAC was refused and counted, not let in by evicting (+$d)" [ "$d" -gt 0 ]
expect "(d) ... and it is in no entry ($(mac_at d2 "$FRESH_MAC"))" [ -z "$(mac_at d2 "$FRESH_MAC")" ]
expect "(d) h1c1, already known, still reaches h2c1" pings 1 1

# ---- (e) the kernel's learned-FDB bound, from a local port --------------------------------------
in_time
c 2 1 python3 - <<'EOF'
import os, socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
dst = bytes.fromhex("029900000002")
for _ in range(25000):
    src = bytearray(os.urandom(6))
    src[0] = (src[0] & 0xfc) | 0x02
    s.send(dst + bytes(src) + b"\x88\xb5" + bytes(46))
EOF
fdb=$(fdb_learned)
say "(e) h2's bridge after 25000 local random sources: $fdb learned entries"
expect "(e) h2's bridge learned at most fdb_max_learned = $FDB_MAX ($fdb)" [ "$fdb" -le $FDB_MAX ]
expect "(e) ... and up to it ($fdb): the bound is what stopped it" [ "$fdb" -ge $((FDB_MAX - 16)) ]

expect "both daemons alive" sh -c "kill -0 $(spawn_pid weftd1) && kill -0 $(spawn_pid weftd2)"
mesh_stop_all
say "${SECONDS}s"
[ "$FAILS" = 0 ] || fail "$FAILS checks failed"
say "PASS"
