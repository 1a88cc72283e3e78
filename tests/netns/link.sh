#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/netns/link.sh: daemon/link (rtnetlink bridge/veth set-up, offloads,
# route MTU) driven by tests/netns/linktool, all in one namespace.
#
#   ns <p>l
#   ┌────────────────────────────────────────────────────────────────────┐
#   │ wlt0 (bridge, made by linktool) ── wlt0-br ═veth═ wlt0-dp          │
#   │ wlt1 (bridge, made by linktool) ── wlt1-br ═veth═ wlt1-dp          │
#   │                                 └─ c1a ═veth═ c1b   (other port)   │
#   │ pre0 (bridge, ours not, MTU 1500) ── pre0-br ═veth═ pre0-dp        │
#   │                                   └─ p0a ═veth═ p0b (other port)   │
#   │ pre1 (bridge, ours not, MTU 1300, no other port) ── pre1-br ═ ...  │
#   │ ul0 ═veth═ ul1   ul0: MTU 1360, 10.9.0.1/24, fd00:9::1/64,         │
#   │                  route 10.8.0.0/24 dev ul0 mtu 1300                │
#   │ decoys for the error cases: vx (veth), bad (bridge) + bad-br       │
#   │ (bridge), mm-br ═ mmx and mm-dp ═ mmy (two unrelated veths)        │
#   └────────────────────────────────────────────────────────────────────┘
# (this kernel has no dummy module: veths stand in for dummies)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
WT_PREFIX=wtlink$$-
linktool=${top_builddir:-.}/tests/netns/linktool
[ -x "$linktool" ] || linktool=$here/linktool

require_netns
require_cmd ethtool
[ -x "$linktool" ] || skip "linktool is not built"
install_trap
wt_tmp

ns=${WT_PREFIX}l
ip netns add "$ns"
n() { ip netns exec "$ns" "$@"; }
checks=0
ok() { checks=$((checks + 1)); }

# lt ARGS...: run linktool, its stdout in $out, stderr (log) in $log; fail unless it exits 0.
lt() {
	local rc=0
	out=$(n "$linktool" "$@" 2>"$WT_TMP/log") || rc=$?
	log=$(cat "$WT_TMP/log")
	[ "$rc" = 0 ] || fail "linktool $*: exit $rc: $log"
	ok
}
# lt_fails WANT ARGS...: linktool must exit 1 with WANT in its message.
lt_fails() {
	local want=$1 rc=0
	shift
	out=$(n "$linktool" "$@" 2>"$WT_TMP/log") || rc=$?
	log=$(cat "$WT_TMP/log")
	[ "$rc" = 1 ] || fail "linktool $*: exit $rc, want 1 ($log)"
	case $log in
	*"$want"*) ok ;;
	*) fail "linktool $*: message does not say \`$want': $log" ;;
	esac
}

exists() { n ip link show dev "$1" >/dev/null 2>&1; }
gone() { ! exists "$1" || fail "$1 still exists"; ok; }
there() { exists "$1" || fail "$1 is missing"; ok; }
ifindex() { n ip -o link show dev "$1" | cut -d: -f1; }
mtu_of() { n ip -o link show dev "$1" | sed -n 's/.* mtu \([0-9]*\) .*/\1/p'; }
master_of() { n ip -o link show dev "$1" | sed -n 's/.* master \([^ ]*\) .*/\1/p'; }
detail() { n ip -d link show dev "$1" | tr -s ' \n' '  '; }
# has DEV TEXT: `ip -d link show DEV` contains TEXT.
has() {
	case " $(detail "$1") " in
	*"$2"*) ok ;;
	*) fail "$1: \`$2' not in: $(detail "$1")" ;;
	esac
}
hasnt() {
	case " $(detail "$1") " in
	*"$2"*) fail "$1: \`$2' unexpectedly in: $(detail "$1")" ;;
	*) ok ;;
	esac
}
is_up() {
	n ip -o link show dev "$1" | grep -q '[<,]UP[,>]' || fail "$1 is not up"
	ok
}
want_eq() { [ "$1" = "$2" ] || fail "$3: got \`$1', want \`$2'"; ok; }

# The whole picture for bridge B with MTU M.
check_picture() {
	local b=$1 m=$2
	there "$b"
	has "$b" "bridge forward_delay"
	is_up "$b"
	for d in "$b-br" "$b-dp"; do
		there "$d"
		has "$d" "veth"
		is_up "$d"
		want_eq "$(mtu_of "$d")" "$m" "$d MTU"
		has "$d" "addrgenmode none"
		want_eq "$(n ip -6 -o addr show dev "$d")" "" "$d IPv6 addresses"
		check_isolated "$d"
	done
	want_eq "$(master_of "$b-br")" "$b" "$b-br master"
	want_eq "$(master_of "$b-dp")" "" "$b-dp master"
	n ip -o link show dev "$b-br" | grep -q "$b-br@$b-dp" || fail "$b-br is not $b-dp's peer"
	ok
	check_offloads "$b"
}

# Not a host interface: no ARP, IPv6 off, IPv4 arriving on it not taken in.
check_isolated() {
	local d=$1
	n ip -o link show dev "$d" | grep -q '[<,]NOARP[,>]' || fail "$d: ARP is on"
	ok
	want_eq "$(n cat "/proc/sys/net/ipv6/conf/$d/disable_ipv6")" 1 "$d disable_ipv6"
	want_eq "$(n cat "/proc/sys/net/ipv4/conf/$d/rp_filter")" 1 "$d rp_filter"
	want_eq "$(n cat "/proc/sys/net/ipv4/conf/$d/arp_ignore")" 8 "$d arp_ignore"
	want_eq "$(n cat "/proc/sys/net/ipv4/conf/$d/accept_local")" 0 "$d accept_local"
	want_eq "$(n cat "/proc/sys/net/ipv4/conf/$d/forwarding")" 0 "$d forwarding"
}

# Every TX checksum and segmentation offload of B-br off, GRO off on B-dp.
check_offloads() {
	local b=$1 k
	k=$(n ethtool -k "$b-br")
	for f in tx-checksumming tcp-segmentation-offload generic-segmentation-offload \
		tx-udp-segmentation tx-gso-list tx-checksum-ip-generic tx-tcp6-segmentation; do
		printf '%s\n' "$k" | grep -Eq "^[[:space:]]*$f: off" || fail "$b-br: $f is not off"
		ok
	done
	# Not just those: any tx checksum or segmentation feature still on is a failure.
	if printf '%s\n' "$k" | grep -E '^[[:space:]]*tx-(checksum-|.*segmentation|gso-)' |
		grep -v ': off'; then
		fail "$b-br: an offload above is still on"
	fi
	ok
	k=$(n ethtool -k "$b-dp")
	printf '%s\n' "$k" | grep -q '^generic-receive-offload: off' || fail "$b-dp: GRO is on"
	ok
}

# ---- a bridge linktool creates ------------------------------------------------

lt setup wlt0 1423 create
dp=$(ifindex wlt0-dp)
want_eq "$out" "dp_ifindex $dp" "setup output"
check_picture wlt0 1423
want_eq "$(mtu_of wlt0)" 1423 "wlt0 MTU"
has wlt0 "stp_state 0 "
has wlt0 "nf_call_iptables 0 "
has wlt0 "nf_call_ip6tables 0 "
has wlt0 "nf_call_arptables 0 "
has wlt0 "alias weft: created by weftd"
case $log in *"created bridge wlt0"*"created veth pair wlt0-br/wlt0-dp"*) ok ;; *) fail "log: $log" ;; esac

# Idempotent: again (a restarted weftd) changes nothing and returns the same ifindex.
before=$(for d in wlt0 wlt0-br wlt0-dp; do n ip -o link show dev "$d" | cut -d' ' -f1-9; done)
lt setup wlt0 1423 create
want_eq "$out" "dp_ifindex $dp" "second setup output"
case $log in *"created"*"earlier weftd"*"reusing veth pair"*) ok ;; *) fail "log: $log" ;; esac
case $log in *"created bridge"* | *"created veth"*) fail "second setup created something: $log" ;; *) ok ;; esac
after=$(for d in wlt0 wlt0-br wlt0-dp; do n ip -o link show dev "$d" | cut -d' ' -f1-9; done)
want_eq "$after" "$before" "links after a second setup"
check_picture wlt0 1423
want_eq "$(n ip -o link show type bridge | grep -c ': wlt0[:@]')" 1 "bridges named wlt0"

# Someone lowered an offload and the MTU meanwhile, and made the port an
# ordinary interface again: setup puts it all back.
n ethtool -K wlt0-br tx on gso on >/dev/null 2>&1 || true
n ip link set wlt0-dp mtu 1400
n ip link set wlt0-dp arp on
n sysctl -qw net.ipv6.conf.wlt0-br.disable_ipv6=0 net.ipv4.conf.wlt0-dp.rp_filter=0
lt setup wlt0 1423 create
check_picture wlt0 1423

# A new overlay MTU goes to the bridge weftd made, up or down; the veth pair keeps its own.
lt setup wlt0 1423 create set-mtu 1500
want_eq "$(mtu_of wlt0)" 1500 "wlt0 MTU after set-mtu 1500"
lt setup wlt0 1423 create set-mtu 1300
want_eq "$(mtu_of wlt0)" 1300 "wlt0 MTU after set-mtu 1300"
want_eq "$(mtu_of wlt0-dp)" 1423 "wlt0-dp MTU after set-mtu"
lt setup wlt0 1423 create plug
want_eq "$out" "dp_ifindex $dp
was plugged" "plug when plugged"
want_eq "$(mtu_of wlt0)" 1423 "wlt0 MTU after setup"

# Teardown (in a fresh process, as after a crash) removes all three.
lt setup wlt0 1423 create teardown
gone wlt0-br
gone wlt0-dp
gone wlt0
case $log in *"removed veth pair"*"removed bridge wlt0"*) ok ;; *) fail "log: $log" ;; esac

# A bridge we created but someone else plugged a port into survives teardown.
lt setup wlt1 1423 create
n ip link add c1a type veth peer name c1b
n ip link set c1a master wlt1
lt setup wlt1 1423 create teardown
gone wlt1-br
gone wlt1-dp
there wlt1
there c1a
case $log in *"leaving bridge wlt1: 1 other port remain (c1a)"*) ok ;; *) fail "log: $log" ;; esac

# ---- offloads, measured: what a packet socket on B-dp sees -------------------
# A TCP stream from a "container" (ns <p>c, eth0 ═ c0 on the bridge) to an
# address on wlt3-dp: every frame captured on wlt3-dp must fit the MTU. The
# control run, with wlt3-br's offloads back on, must see superframes, or the
# measurement proves nothing.

# largest_frame: the largest frame length tcpdump sees on wlt3-dp during a 1 s stream.
largest_frame() {
	local pid
	n timeout 15 tcpdump -l -i wlt3-dp -nn -e -c 2000 "tcp and dst host 10.1.0.2" \
		>"$WT_TMP/frames" 2>"$WT_TMP/tcpdump.log" &
	pid=$!
	sleep 2 # tcpdump needs a moment to attach
	n timeout 10 iperf3 -s -1 -B 10.1.0.2 >/dev/null 2>&1 &
	sleep 0.5
	ip netns exec "$cns" timeout 8 iperf3 -c 10.1.0.2 -t 1 >/dev/null 2>&1 ||
		fail "iperf3 failed"
	wait "$pid" || true
	awk '{ for (i = 1; i <= NF; i++) if ($i == "length") { l = $(i + 1); break }
	       sub(/[,:]$/, "", l); if (l + 0 > m) m = l + 0; c++ }
	     END { if (c < 100) print 0; else print m }' "$WT_TMP/frames"
}

if command -v iperf3 >/dev/null 2>&1 && command -v tcpdump >/dev/null 2>&1; then
	cns=${WT_PREFIX}c
	ip netns add "$cns"
	lt setup wlt3 1423 create
	n ip link add c0 type veth peer name eth0 netns "$cns"
	n ip link set c0 master wlt3 up
	ip netns exec "$cns" ip link set eth0 mtu 1423 up
	ip netns exec "$cns" ip addr add 10.1.0.1/24 dev eth0
	n ip addr add 10.1.0.2/24 dev wlt3-dp
	# An address on weft's port makes it a host interface for this
	# measurement, ARP included (its answers must reach the container).
	n ip link set wlt3-dp arp on
	# Else the bridge device itself answers ARP for 10.1.0.2 (same namespace).
	ip netns exec "$cns" ip neigh replace 10.1.0.2 dev eth0 nud permanent \
		lladdr "$(n cat /sys/class/net/wlt3-dp/address)"
	big=$(largest_frame)
	[ "$big" -gt 0 ] || fail "too few frames captured: $(cat "$WT_TMP/tcpdump.log")"
	[ "$big" -le 1437 ] || fail "a $big-byte frame reached wlt3-dp (MTU 1423: at most 1437)"
	ok
	say "largest frame captured on wlt3-dp: $big bytes"
	n ethtool -K wlt3-br tx on sg on tso on gso on >/dev/null 2>&1 || true
	big=$(largest_frame)
	[ "$big" -gt 1437 ] || fail "control: offloads on, yet no frame over 1437 bytes ($big)"
	ok
	say "control, offloads on: largest frame $big bytes"
	n ip link del c0 # the last other port: now teardown removes the bridge
	lt setup wlt3 1423 create teardown
	gone wlt3
else
	say "no iperf3 or tcpdump: offloads checked by ethtool only"
fi

# ---- bridges that were there before -----------------------------------------

n ip link add pre0 type bridge
# Set by hand (a real change: setting the current value is a no-op), so the
# bridge no longer follows its ports' MTU and only linktool can lower it.
n ip link set pre0 mtu 1499
n ip link set pre0 mtu 1500
if n ip link set pre0 type bridge nf_call_iptables 1 2>/dev/null; then pre0_nf=1; else pre0_nf=0; fi
n ip link add p0a mtu 1500 type veth peer name p0b
n ip link set p0a master pre0
n ip link set pre0 up
lt setup pre0 1423 nocreate
check_picture pre0 1423
want_eq "$(mtu_of pre0)" 1423 "pre0 MTU (lowered from 1500)"
case $log in *"MTU lowered from 1500 to the overlay MTU 1423"*) ok ;; *) fail "log: $log" ;; esac
has pre0 "nf_call_iptables $pre0_nf " # left as it was
hasnt pre0 "alias"
lt setup pre0 1423 nocreate teardown
gone pre0-br
gone pre0-dp
there pre0
there p0a
want_eq "$(master_of p0a)" pre0 "p0a master"

n ip link add pre1 type bridge
n ip link set pre1 mtu 1300
lt setup pre1 1423 create
want_eq "$(mtu_of pre1)" 1300 "pre1 MTU (smaller: left alone)"
want_eq "$(master_of pre1-br)" pre1 "pre1-br master"
lt teardown # nothing set up in this process: nothing happens
there pre1-br
lt setup pre1 1423 create teardown
gone pre1-br
there pre1 # not ours, even though it has no port left

# ---- failures say why and leave nothing behind ------------------------------

# ---- a bridge that is not there yet (create = no) ----------------------------
# The veth pair is made and waits unplugged; the bridge is plugged into once it
# exists, and again after it was deleted and made again.
lt setup nob 1423 nocreate
nobdp=$(ifindex nob-dp)
want_eq "$out" "dp_ifindex $nobdp
unplugged" "setup without the bridge"
gone nob
for d in nob-br nob-dp; do
	there "$d"
	is_up "$d"
	check_isolated "$d"
done
want_eq "$(master_of nob-br)" "" "nob-br master, no bridge yet"
lt_fails "bridge nob does not exist and creating it is off" setup nob 1423 nocreate plug
n ip link add nob type bridge
n ip link set nob mtu 1499
n ip link set nob mtu 1500
lt setup nob 1423 nocreate plug
want_eq "$out" "dp_ifindex $nobdp
was plugged" "setup once the bridge exists"
want_eq "$(master_of nob-br)" nob "nob-br master"
is_up nob
want_eq "$(mtu_of nob)" 1423 "nob MTU (lowered from 1500)"
lt setup nob 1423 nocreate set-mtu 1500
want_eq "$(mtu_of nob)" 1423 "nob MTU: not ours, never raised"
lt setup nob 1423 nocreate set-mtu 1400
want_eq "$(mtu_of nob)" 1400 "nob MTU: lowered to 1400"
n ip link del nob
want_eq "$(master_of nob-br)" "" "nob-br master after the bridge was deleted"
lt_fails "bridge nob does not exist" setup nob 1400 nocreate plug
n ip link add nob type bridge
lt setup nob 1400 nocreate
want_eq "$(master_of nob-br)" nob "nob-br master, bridge made again"
want_eq "$(ifindex nob-dp)" "$nobdp" "nob-dp kept across the bridge's absence"
lt setup nob 1400 nocreate teardown
gone nob-br
gone nob-dp
there nob # not ours
n ip link add vx type veth peer name vxp
lt_fails "vx exists and is not a bridge (it is a veth)" setup vx 1423 create
gone vx-br
n ip link add bad type bridge
n ip link add bad-br type bridge
lt_fails "bad-br exists and is not a veth (it is a bridge)" setup bad 1423 create
n ip link add mm-br type veth peer name mmx
n ip link add mm-dp type veth peer name mmy
n ip link add mm type bridge
lt_fails "mm-br and mm-dp are not the two ends of one veth pair" setup mm 1423 create
n ip link del mm-dp
lt_fails "mm-br exists but mm-dp does not" setup mm 1423 create
lt_fails "must be 1 to 12 characters" setup abcdefghijklm 1423 create
lt_fails "overlay MTU 40" setup wlt2 40 create
gone wlt2

# ---- route MTU --------------------------------------------------------------

n ip link add ul0 mtu 1360 type veth peer name ul1
n ip link set ul1 up
n ip link set ul0 up
n ip addr add 10.9.0.1/24 dev ul0
n ip -6 addr add fd00:9::1/64 dev ul0 nodad
n ip route add 10.8.0.0/24 dev ul0 mtu 1300
lt route-mtu 10.9.0.77
want_eq "$out" "ul0 1360" "route MTU toward 10.9.0.77"
lt route-mtu 10.8.0.5
want_eq "$out" "ul0 1300" "route MTU toward 10.8.0.5 (route metric)"
lt route-mtu fd00:9::5
want_eq "$out" "ul0 1360" "route MTU toward fd00:9::5"
lt route-mtu ::ffff:10.8.0.5
want_eq "$out" "ul0 1300" "route MTU toward ::ffff:10.8.0.5"
lt mtu ul0
want_eq "$out" 1360 "MTU of ul0"
lt_fails "route to 192.0.2.1: Network is unreachable" route-mtu 192.0.2.1
lt_fails "interface nosuch: No such device" mtu nosuch

say "$checks checks passed"
