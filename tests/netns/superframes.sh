#!/bin/bash
# SPDX-License-Identifier: MIT
# Superframes: TCP carried 64 KiB at a time between the bridge and weftd.
#
# 1. The rings alone (tests/netns/sftool), on a veth pair in one namespace:
#      va ══veth══ vb      inject on va (superframes on) → capture on vb
#    segments merged into GSO superframes on va are cut back on vb into the
#    very same bytes, other frames pass between them in order; and with a
#    qdisc on va that drops frames over 1000 bytes, a refused slot (a frame,
#    then a superframe) is skipped and the ring goes on (no stall); more
#    frames between two flushes than the ring has slots all leave; behind
#    a superframe being cut, frames of other flows are handed out early, in
#    their order, and a frame of the superframe's own flow keeps its place.
#
# 2. Two hosts joined by weft, with [socket] superframes = yes on both, yes
#    on the sender and no on the receiver, and no on both:
#      h1c1 ─ weft0 ─ weft0-br ═ weftd(h1) ══ UDP ══ weftd(h2) ═ weft0-br ─ weft0 ─ h2c1
#    TCP over IPv4 both ways and IPv6, a 24 MB file whose SHA-256 matches
#    at the other end, no TCP checksum errors at the receiver (and with the
#    receiver injecting frame by frame, tcpdump there finds every checksum
#    of the segments weftd cut correct), TCP over an 802.1Q VLAN, a UDP
#    datagram larger than the MTU, UDP segmentation (UDP_SEGMENT) and a
#    raw IP protocol of no known kind all cross. With superframes on, the
#    counters show they were used: the sender's capture cut superframes,
#    the receiver's inject merged segments; with them off, neither. 400
#    numbered UDP datagrams beside 4 TCP streams arrive in order, and with
#    superframes on the sender some went ahead of the streams' superframes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mesh.sh"
WT_PREFIX=wtsf$$-
sftool=$(test_tool sftool)

mesh_test_begin iperf3 jq tcpdump tc python3 sha256sum nstat ethtool
[ -n "$sftool" ] || skip "sftool is not built"

# ---- 1. the rings ---------------------------------------------------------------
ns=${WT_PREFIX}r
ip netns add "$ns"
n() { ip netns exec "$ns" "$@"; }
n sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
ip -n "$ns" link set lo up
ip -n "$ns" link add name va mtu 1500 type veth peer name vb mtu 1500
ip -n "$ns" link set va up
ip -n "$ns" link set vb up
run_tool() {
	say "sftool $*"
	timeout 60 ip netns exec "$ns" "$sftool" "$@" || fail "sftool $* (exit $?)"
}
run_tool roundtrip va vb
run_tool burst va vb
run_tool early va vb
# No bypass of an empty queue below the MTU: every frame over 1000 bytes is
# dropped at the kick, the ring's head refused.
n tc qdisc add dev va root bfifo limit 1000
run_tool stall va vb
ip netns del "$ns"

# ready NAME WHAT: wait until spawned NAME's log shows WHAT, the line it
# prints once it listens (a fixed sleep lost the race on a loaded machine:
# the one packet sent went before the receiver's socket existed).
ready() {
	wait_for 10 grep -q "$2" "$(spawn_log "$1")" || fail "$1 did not start listening"
}

# ---- 2. two hosts ---------------------------------------------------------------
topo_create --hosts 2 --containers 1 --no-bridge
mesh_init

# The helper the containers run: raw IP, big UDP, UDP segmentation.
cat >"$WT_TMP/x.py" <<'EOF'
import socket, sys
UDP_SEGMENT = 103
cmd = sys.argv[1]
def data(n, seed):
    return bytes((i * 7 + seed) & 0xff for i in range(n))
if cmd == 'raw-recv':      # proto: one packet's payload must match
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(sys.argv[2]))
    s.settimeout(5)
    print('ready', flush=True)
    pkt = s.recv(4096)
    print('ok' if pkt[(pkt[0] & 15) * 4:] == data(1000, 3) else 'bad')
elif cmd == 'raw-send':    # proto dst
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, int(sys.argv[2]))
    s.sendto(data(1000, 3), (sys.argv[3], 0))
elif cmd == 'udp-recv':    # port count size: count datagrams of size, contents checked
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('', int(sys.argv[2])))
    s.settimeout(5)
    print('ready', flush=True)
    want, size, good = int(sys.argv[3]), int(sys.argv[4]), 0
    for i in range(want):
        d = s.recv(65536)
        good += d == data(size, i)
    print('ok' if good == want else 'bad %d' % good)
elif cmd == 'udp-send':    # dst port count size [gso]: one send per datagram, or one GSO send
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dst, count, size = (sys.argv[2], int(sys.argv[3])), int(sys.argv[4]), int(sys.argv[5])
    if len(sys.argv) > 6:
        s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, size)
        s.sendto(b''.join(data(size, i) for i in range(count)), dst)
    else:
        for i in range(count):
            s.sendto(data(size, i), dst)
elif cmd == 'seq-recv':    # port count: datagrams numbered 0.., how many came and out of order
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('', int(sys.argv[2])))
    s.settimeout(3)
    print('ready', flush=True)
    want, got, disorder, last = int(sys.argv[3]), 0, 0, -1
    try:
        while got < want:
            n = int.from_bytes(s.recv(2048)[:4], 'big')
            got += 1
            disorder += n <= last
            last = max(last, n)
    except socket.timeout:
        pass
    print('got %d disorder %d' % (got, disorder))
elif cmd == 'seq-send':    # dst port count: numbered 100-byte datagrams, 5 ms apart
    import time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for i in range(int(sys.argv[4])):
        s.sendto(i.to_bytes(4, 'big') + bytes(96), (sys.argv[2], int(sys.argv[3])))
        time.sleep(0.005)
elif cmd == 'vlan-gso':    # ifname dst_mac src_mac: one tagged TCP superframe, 8 x 1000
    import struct
    mac = lambda m: bytes.fromhex(m.replace(':', ''))
    pay = data(8000, 5)
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 40 + len(pay), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton('10.100.0.1'), socket.inet_aton('10.100.0.2'))
    s16 = lambda b: sum(struct.unpack('!%dH' % (len(b) // 2), b))
    fold = lambda x: (x & 0xffff) + (x >> 16)
    ipc = 0xffff - fold(fold(s16(ip)))
    ip = ip[:10] + struct.pack('!H', ipc) + ip[12:]
    pseudo = fold(fold(s16(ip[12:20]) + 6 + 20 + len(pay)))
    tcp = struct.pack('!HHIIBBHHH', 40000, 9999, 1, 1, 5 << 4, 0x18, 500, pseudo, 0)
    frame = mac(sys.argv[3]) + mac(sys.argv[4]) + b'\x81\x00\x00\x64\x08\x00' + ip + tcp + pay
    vnet = struct.pack('=BBHHHH', 1, 1, 18 + 40, 1000, 18 + 20, 16)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.setsockopt(263, 15, 1)   # SOL_PACKET, PACKET_VNET_HDR
    s.bind((sys.argv[2], 0))
    s.send(vnet + frame)
EOF
mesh_file_make 24000000
px() { local i=$1 j=$2; shift 2; c "$i" "$j" python3 "$WT_TMP/x.py" "$@"; }

tcp_csum_errors() { # host: the container's TcpInCsumErrors since its start
	c "$1" 1 nstat -az TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }'
}

# ---- one configuration --------------------------------------------------------
# run_mode SENDER RECEIVER [PARTIAL]: superframes yes|no on h1 (the sender)
# and h2; partial_checksums yes|no on h2 (default yes; h1 always yes).
run_mode() {
	local s1=$1 s2=$2 p2=${3:-yes} got sf_cut sf_merged errs sent completed recv
	say "superframes: h1 $s1, h2 $s2; partial checksums: h1 yes, h2 $p2"
	rm -f "$WT_TMP/h1.conf" "$WT_TMP/h2.conf"
	mesh_config 1 "[socket]" "superframes = $s1"
	mesh_config 2 "[socket]" "superframes = $s2" "partial_checksums = $p2"
	mesh_start_all
	mesh_wait_up 1 2 15 || fail "no session between h1 and h2"
	wait_for 5 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "ping h1c1 -> h2c1"
	wait_for 5 c 1 1 ping -6 -c 1 -W 1 "$(cont_ip6 2 1)" || fail "ping6 h1c1 -> h2c1"

	# The bridge port keeps TSO exactly when superframes are on.
	got=$(hN 1 ethtool -k weft0-br | awk '/^tcp-segmentation-offload:/ { print $2 }')
	[ "$got" = "$([ "$s1" = yes ] && echo on || echo off)" ] ||
		fail "h1 weft0-br: tcp-segmentation-offload $got with superframes = $s1"

	# TCP h1 -> h2 with tcpdump in the receiving container: where h2 injects
	# frame by frame, every segment h1's weftd cut has a correct checksum.
	spawn tcpdump_c c 2 1 tcpdump --immediate-mode -i eth0 -n -vv -c 400 -U \
		"tcp dst port 5201 and greater 1000"
	ready tcpdump_c 'listening on'
	mesh_tcp 1 2
	kill_spawned tcpdump_c
	local log ok bad
	log=$(spawn_log tcpdump_c)
	ok=$(grep -c 'cksum 0x[0-9a-f]* (correct)' "$log" || true)
	bad=$(grep -c 'incorrect' "$log" || true)
	if [ "$s2" = no ]; then
		[ "$ok" -ge 100 ] && [ "$bad" = 0 ] ||
			fail "tcpdump in h2c1: $ok correct checksums, $bad incorrect"
		say "  tcpdump in h2c1: $ok TCP checksums correct, none incorrect"
	fi
	sf_cut=$(mesh_counter 1 capture kernel_superframes)
	sf_merged=$(mesh_counter 2 inject superframes)
	say "  h1 capture superframes $sf_cut ($(mesh_counter 1 capture kernel_segments) segments)," \
		"h2 inject superframes $sf_merged ($(mesh_counter 2 inject coalesced) segments)"
	if [ "$s1" = yes ]; then
		[ "$sf_cut" -gt 0 ] || fail "h1 cut no superframe"
	else
		[ "$sf_cut" = 0 ] || fail "h1 cut $sf_cut superframes with superframes = no"
	fi
	if [ "$s2" = yes ]; then
		[ "$sf_merged" -gt 0 ] || fail "h2 merged no superframe"
	else
		[ "$sf_merged" = 0 ] || fail "h2 merged $sf_merged superframes with superframes = no"
	fi

	# Segments h1 cut go with their checksum partial exactly when h2 takes
	# them (CSUM_PARTIAL in its handshake); otherwise h1 completes them.
	sent=$(mesh_counter 1 router partial_sent)
	completed=$(mesh_counter 1 router partial_completed)
	recv=$(mesh_counter 2 router partial_received)
	say "  h1 sent $sent segments with a partial checksum, completed $completed;" \
		"h2 received $recv, completed $(mesh_counter 2 inject csum_completed) alone"
	if [ "$s1" = no ]; then
		[ "$sent" = 0 ] && [ "$completed" = 0 ] ||
			fail "h1 without superframes left $sent + $completed checksums partial"
	elif [ "$p2" = yes ]; then
		[ "$sent" -gt 100 ] && [ "$completed" = 0 ] && [ "$recv" -gt 100 ] && [ "$recv" -le "$sent" ] ||
			fail "partial checksums to h2, which takes them: sent $sent, completed $completed, received $recv"
	else
		[ "$sent" = 0 ] && [ "$completed" -gt 100 ] && [ "$recv" = 0 ] ||
			fail "partial checksums to h2, which does not take them: sent $sent, completed $completed, received $recv"
	fi

	mesh_tcp 2 1
	mesh_tcp 1 2 cont_ip6

	# A flow of small datagrams beside 4 TCP streams: with superframes its
	# frames go ahead of the streams' superframes (daemon/capture's
	# look-ahead), all of them in their order; without, nothing goes early.
	local early0 early got_seq
	early0=$(mesh_counter 1 capture kernel_early)
	spawn iperf3s c 2 1 iperf3 -s -1
	wait_for 5 c 2 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server"
	spawn seqrecv c 2 1 python3 "$WT_TMP/x.py" seq-recv 7001 400
	ready seqrecv '^ready$'
	spawn iperf3c c 1 1 timeout 30 iperf3 -c "$(cont_ip 2 1)" -t 4 -P 4
	sleep 1
	px 1 1 seq-send "$(cont_ip 2 1)" 7001 400
	wait_for 30 sh -c "! kill -0 $(spawn_pid iperf3c) 2>/dev/null" || fail "iperf3 -P 4 hangs"
	wait_for 10 sh -c "! kill -0 $(spawn_pid seqrecv) 2>/dev/null" || fail "seq receiver hangs"
	kill_spawned iperf3c
	kill_spawned iperf3s
	got_seq=$(tail -n 1 "$(spawn_log seqrecv)")
	early=$(($(mesh_counter 1 capture kernel_early) - early0))
	say "  400 numbered datagrams beside 4 TCP streams: $got_seq; $early frames went early"
	case $got_seq in
	"got "*" disorder 0") ;;
	*) fail "the numbered datagrams beside TCP: $got_seq" ;;
	esac
	[ "$(echo "$got_seq" | cut -d' ' -f2)" -ge 360 ] ||
		fail "fewer than 360 of 400 numbered datagrams arrived: $got_seq"
	if [ "$s1" = yes ]; then
		[ "$early" -gt 0 ] || fail "no frame went ahead of a superframe on h1"
	else
		[ "$early" = 0 ] || fail "$early frames went early with superframes = no"
	fi

	# A file, byte for byte.
	mesh_file_across 1 2

	errs=$(tcp_csum_errors 2)
	[ "${errs:-0}" = 0 ] || fail "h2c1 counted $errs TCP checksum errors"
	errs=$(tcp_csum_errors 1)
	[ "${errs:-0}" = 0 ] || fail "h1c1 counted $errs TCP checksum errors"

	# An 802.1Q-tagged TCP superframe (this kernel has no VLAN devices: a
	# packet socket with a virtio-net header sends it, as a VM's tap would).
	# It crosses as 8 tagged segments whose checksums tcpdump finds correct.
	spawn tcpdump_v c 2 1 tcpdump --immediate-mode -i eth0 -n -vv -c 8 -U "vlan 100 and tcp"
	ready tcpdump_v 'listening on'
	sf_cut=$(mesh_counter 1 capture kernel_superframes)
	px 1 1 vlan-gso eth0 "$(cont_mac 2 1)" "$(cont_mac 1 1)"
	wait_for 5 sh -c "! kill -0 $(spawn_pid tcpdump_v) 2>/dev/null" ||
		fail "the tagged segments did not all arrive"
	ok=$(grep -c 'cksum 0x[0-9a-f]* (correct)' "$(spawn_log tcpdump_v)" || true)
	[ "$ok" = 8 ] || fail "tagged segments: $ok of 8 with a correct TCP checksum"
	if [ "$s1" = yes ] && [ "$(mesh_counter 1 capture kernel_superframes)" = "$sf_cut" ]; then
		fail "h1 did not cut the tagged superframe itself"
	fi
	say "  a tagged TCP superframe crossed as 8 segments, checksums correct"

	# UDP: a datagram larger than the MTU (IP fragments), then UDP_SEGMENT.
	spawn udprecv c 2 1 python3 "$WT_TMP/x.py" udp-recv 9001 3 4000
	ready udprecv '^ready$'
	px 1 1 udp-send "$(cont_ip 2 1)" 9001 3 4000
	wait_for 6 sh -c "! kill -0 $(spawn_pid udprecv) 2>/dev/null" || fail "UDP receiver hangs"
	[ "$(tail -n 1 "$(spawn_log udprecv)")" = ok ] || fail "4000-byte UDP datagrams"
	spawn udprecv c 2 1 python3 "$WT_TMP/x.py" udp-recv 9002 20 1300
	ready udprecv '^ready$'
	sf_cut=$(mesh_counter 1 capture kernel_superframes)
	px 1 1 udp-send "$(cont_ip 2 1)" 9002 20 1300 gso
	wait_for 6 sh -c "! kill -0 $(spawn_pid udprecv) 2>/dev/null" || fail "UDP receiver hangs"
	[ "$(tail -n 1 "$(spawn_log udprecv)")" = ok ] || fail "UDP_SEGMENT datagrams"
	if [ "$s1" = yes ] && [ "$(mesh_counter 1 capture kernel_superframes)" = "$sf_cut" ]; then
		fail "h1 did not cut the UDP_SEGMENT superframe itself"
	fi
	say "  UDP: 4000-byte datagrams and 20 x 1300 bytes through UDP_SEGMENT arrived whole"

	# An IP protocol nobody knows (253, for experiments).
	spawn rawrecv c 2 1 python3 "$WT_TMP/x.py" raw-recv 253
	ready rawrecv '^ready$'
	px 1 1 raw-send 253 "$(cont_ip 2 1)"
	wait_for 6 sh -c "! kill -0 $(spawn_pid rawrecv) 2>/dev/null" || fail "raw receiver hangs"
	[ "$(tail -n 1 "$(spawn_log rawrecv)")" = ok ] || fail "IP protocol 253"
	say "  IP protocol 253 crossed"

	got=$(mesh_drop_get 1 superframe_bad)
	[ "$got" = 0 ] || fail "h1 dropped $got superframes it could not cut"
	for i in 1 2; do
		got=$(mesh_peer_get "$i" $((3 - i)) drops.bad_record)
		[ "$got" = 0 ] || fail "h$i counted $got bad records from h$((3 - i))"
	done
	mesh_stop_all
}

run_mode yes yes
run_mode yes yes no
run_mode yes no
run_mode no no
say "PASS"
