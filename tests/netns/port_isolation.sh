#!/bin/bash
# SPDX-License-Identifier: MIT
# weft's port is not a host interface. Seen from a container on the bridge:
# the host's stack neither answers ARP through weft0-dp/weft0-br, nor takes
# IPv4 from the overlay through them, nor sends anything from them (router
# solicitations, MLD reports, ARP), and a rogue router advertisement gives
# them no address; the overlay still carries traffic.
#
#   h1c1 ─┐                                             ┌─ h2c1
#   h1c2 ─┴─ weft0 ─ weft0-br ═ weft0-dp ─ weftd(h1) ══ UDP ══ weftd(h2) ─ weft0 ─┘
#   h1: 10.0.0.1 (underlay), 198.51.100.1/32 on lo (another host address)
#
# The host namespaces get IPv6 on by default (lib.sh turns it off), as on a
# real host, so nothing here comes from the test's own quieting.
# Every check runs; the failures are listed together at the end.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
WT_PREFIX=wtiso$$-
mesh_test_begin ping arping tcpdump jq python3

topo_create --hosts 2 --containers 2
for i in 1 2; do
	hN "$i" sysctl -qw net.ipv6.conf.default.disable_ipv6=0 net.ipv6.conf.default.accept_dad=1
done
h1 ip addr add 198.51.100.1/32 dev lo
problems=()
bad() { say "problem: $*"; problems+=("$*"); }

# Everything the host side sends or forwards onto the bridge, from before
# weftd starts (weft0) and from the moment weft0-dp is up (it sees what
# weft0-br sends as input and what the stack sends on weft0-dp as output).
spawn tcpdump_br h1 tcpdump --immediate-mode -i weft0 -n -e -U -w "$WT_TMP/br.pcap"
spawn tcpdump_dp h1 bash -c 'for _ in $(seq 400); do
	ip -o link show dev weft0-dp 2>/dev/null | grep -q "[<,]UP[,>]" &&
		exec tcpdump --immediate-mode -i weft0-dp -n -e -U -w "$0"
	sleep 0.025; done; exit 1' "$WT_TMP/dp.pcap"
mesh_init
mesh_start 1
mesh_start 2
started=$(date +%s%N)
mesh_wait_up 1 2 15 || fail "no session between h1 and h2"
wait_for 5 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "ping h1c1 -> h2c1"

# ---- the ports' settings ----------------------------------------------------
mac() { hN "$1" cat "/sys/class/net/$2/address"; }
macs=()
for i in 1 2; do
	for d in weft0-dp weft0-br; do
		macs+=("$(mac "$i" "$d")")
		a=$(hN "$i" ip -6 -o addr show dev "$d")
		[ -z "$a" ] || bad "h$i $d has IPv6 addresses: $a"
		v=$(hN "$i" cat "/proc/sys/net/ipv6/conf/$d/disable_ipv6")
		[ "$v" = 1 ] || bad "h$i $d: disable_ipv6 is $v"
		hN "$i" ip -o link show dev "$d" | grep -q '[<,]NOARP[,>]' || bad "h$i $d: no NOARP flag"
		v=$(hN "$i" cat "/proc/sys/net/ipv4/conf/$d/rp_filter")
		[ "$v" = 1 ] || bad "h$i $d: rp_filter is $v"
		v=$(hN "$i" cat "/proc/sys/net/ipv4/conf/$d/arp_ignore")
		[ "$v" = 8 ] || bad "h$i $d: arp_ignore is $v"
	done
done
say "weft's MACs: h1 -dp ${macs[0]} -br ${macs[1]}, h2 -dp ${macs[2]} -br ${macs[3]}"
dp1=${macs[0]}
is_weft_mac() {
	local m
	for m in "${macs[@]}"; do [ "${1,,}" = "$m" ] && return 0; done
	return 1
}

# ---- ARP: a container asks for the host's addresses ------------------------
# The bridge device itself may answer (it is the host's interface on the
# bridge); weft's port must not. The bridge's answers show the question
# reached the host at all.
br1=$(mac 1 weft0)
for target in "$(host_ip 1)" 198.51.100.1; do
	out=$(c 1 1 arping -c 3 -w 4 -I eth0 "$target" 2>&1) || true
	n_weft=0 n_br=0
	for m in $(printf '%s\n' "$out" | sed -n 's/.*reply from [^ ]* \[\([0-9A-Fa-f:]*\)\].*/\1/p'); do
		if is_weft_mac "$m"; then
			n_weft=$((n_weft + 1))
		elif [ "${m,,}" = "$br1" ]; then
			n_br=$((n_br + 1))
		fi
	done
	say "arping $target: $n_br replies from the bridge weft0, $n_weft from weft's port"
	[ "$n_weft" = 0 ] || bad "arping $target: $n_weft replies from weft's port"
	[ "$n_br" -gt 0 ] || bad "arping $target: no reply at all from h1 (the check proves nothing)"
done

# ---- IPv4 into the host through weft's port ---------------------------------
# A UDP listener on h1 notes the interface each datagram came in on. From
# h1c1: (u) unicast to 10.0.0.1 sent to weft0-dp's MAC, (b) a broadcast from
# 192.168.77.11, (z) a broadcast from 0.0.0.0 (a DHCP client's), (m) to the
# all-hosts group 224.0.0.1 from 192.168.77.11, (y) the same from 0.0.0.0.
cat >"$WT_TMP/craft.py" <<'EOF'
import socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff)
    s += s >> 16
    return ~s & 0xffff

def mac(text):
    return bytes(int(x, 16) for x in text.split(':'))

cmd = sys.argv[1]
if cmd == 'udp4':  # IFACE DSTMAC SRCIP DSTIP PORT TAG
    ifname, dst, src_ip, dst_ip, port, tag = sys.argv[2:8]
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((ifname, 0))
    payload = tag.encode()
    udp = struct.pack('!HHHH', 40000, int(port), 8 + len(payload), 0) + payload
    ip = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0,
                     socket.inet_aton(src_ip), socket.inet_aton(dst_ip))
    ip = ip[:10] + struct.pack('!H', csum(ip)) + ip[12:]
    frame = mac(dst) + s.getsockname()[4][:6] + b'\x08\x00' + ip + udp
    for _ in range(3):
        s.send(frame)
        time.sleep(0.1)
elif cmd == 'listen':  # PORT SECONDS: prints "TAG IFNAME" per datagram
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
    s.setsockopt(socket.IPPROTO_IP, 8, 1)  # IP_PKTINFO
    s.bind(('', int(sys.argv[2])))
    deadline = time.time() + float(sys.argv[3])
    print('listening', flush=True)
    while time.time() < deadline:
        s.settimeout(max(0.01, deadline - time.time()))
        try:
            data, anc, _, _ = s.recvmsg(256, 64)
        except socket.timeout:
            break
        ifindex = next((struct.unpack('i', d[:4])[0] for l, t, d in anc if t == 8), 0)
        print(data.decode(errors='replace'), socket.if_indextoname(ifindex), flush=True)
elif cmd == 'ra':  # IFACE PREFIX: a router advertisement with an autoconf prefix
    ifname, prefix = sys.argv[2:4]
    idx = socket.if_nametoindex(ifname)
    s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, idx)
    # type, code, checksum (the kernel's), hop limit, flags, router lifetime, reachable, retrans
    ra = struct.pack('!BBHBBHII', 134, 0, 0, 64, 0, 1800, 0, 0)
    # prefix information: on-link and autonomous, valid 1 day, preferred 4 h
    ra += struct.pack('!BBBBIII', 3, 4, 64, 0xc0, 86400, 14400, 0)
    ra += socket.inet_pton(socket.AF_INET6, prefix)
    for _ in range(3):
        s.sendto(ra, ('ff02::1', 0, 0, idx))
        time.sleep(0.3)
EOF
spawn listener h1 python3 "$WT_TMP/craft.py" listen 9999 10
wait_for 5 grep -q listening "$(spawn_log listener)" || fail "the UDP listener did not start"
c 1 1 python3 "$WT_TMP/craft.py" udp4 eth0 "$dp1" "$(cont_ip 1 1)" "$(host_ip 1)" 9999 u
c 1 1 python3 "$WT_TMP/craft.py" udp4 eth0 ff:ff:ff:ff:ff:ff "$(cont_ip 1 1)" 255.255.255.255 9999 b
c 1 1 python3 "$WT_TMP/craft.py" udp4 eth0 ff:ff:ff:ff:ff:ff 0.0.0.0 255.255.255.255 9999 z
c 1 1 python3 "$WT_TMP/craft.py" udp4 eth0 01:00:5e:00:00:01 "$(cont_ip 1 1)" 224.0.0.1 9999 m
c 1 1 python3 "$WT_TMP/craft.py" udp4 eth0 01:00:5e:00:00:01 0.0.0.0 224.0.0.1 9999 y
sleep 0.5
kill_spawned listener
got=$(grep -v listening "$(spawn_log listener)" | sort | uniq -c | tr -s ' \n' '  ')
say "datagrams delivered on h1 (count, case, interface): ${got:-none}"
for tag in u b m; do
	if grep -Eq "^$tag weft0-(dp|br)\$" "$(spawn_log listener)"; then
		bad "case $tag: the host took a datagram from the overlay through weft's port"
	fi
done
grep -q '^b weft0$' "$(spawn_log listener)" ||
	bad "case b: not even the bridge device delivered the broadcast (the check proves nothing)"
# Measured, not required: from 0.0.0.0 a packet passes the reverse-path
# filter (it has no source to check), so without a filter after the ring
# tap the host still takes it through weft0-dp.
for tag in z y; do
	if grep -Eq "^$tag weft0-dp\$" "$(spawn_log listener)"; then
		say "note: case $tag (from 0.0.0.0) still reaches the host through weft0-dp"
	fi
done

# ---- a rogue router advertisement from a container -------------------------
# h1c2 (IPv6 on, accepting RAs) configures an address from it: the RA was
# valid and reached the bridge. weft's ports must get none, nor a route.
c 1 1 python3 "$WT_TMP/craft.py" ra eth0 2001:db8:77::
wait_for 5 sh -c "ip netns exec '$(ns_cont 1 2)' ip -6 -o addr show dev eth0 | grep -q 2001:db8:77:" ||
	bad "h1c2 took no address from the RA (the check proves nothing)"
sleep 1
for i in 1 2; do
	for d in weft0-dp weft0-br; do
		a=$(hN "$i" ip -6 -o addr show dev "$d")
		[ -z "$a" ] || bad "after the RA, h$i $d has IPv6 addresses: $a"
		r=$(hN "$i" ip -6 route show dev "$d" 2>/dev/null)
		[ -z "$r" ] || bad "after the RA, h$i has routes through $d: $r"
	done
done

# ---- what weft's port sent --------------------------------------------------
# At least 3 s after the start; nothing with a source MAC of weft's ports
# (weftd injects other hosts' frames with their own source MACs).
now=$(date +%s%N)
left=$((3000 - (now - started) / 1000000))
[ "$left" -le 0 ] || sleep "$(printf '0.%03d' "$left")"
sleep 0.5
kill_spawned tcpdump_br
kill_spawned tcpdump_dp
[ -s "$WT_TMP/dp.pcap" ] || bad "no capture on weft0-dp: $(cat "$(spawn_log tcpdump_dp)")"
filter="ether src ${macs[0]} or ether src ${macs[1]} or ether src ${macs[2]} or ether src ${macs[3]}"
for f in br dp; do
	[ -s "$WT_TMP/$f.pcap" ] || continue
	dev=weft0
	[ "$f" = br ] || dev=weft0-dp
	total=$(tcpdump -n -r "$WT_TMP/$f.pcap" 2>/dev/null | wc -l)
	seen=$(tcpdump -n -e -r "$WT_TMP/$f.pcap" "$filter" 2>/dev/null)
	n=$(printf '%s' "$seen" | grep -c . || true)
	say "capture on $dev: $total frames, $n from weft's ports"
	if [ "$n" != 0 ]; then
		printf '%s\n' "$seen" | head -n 5 >&2
		bad "$n frames from weft's ports in the capture on $dev"
	fi
done

# ---- the overlay still works -----------------------------------------------
c 1 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 2 1)" >/dev/null || bad "ping h1c1 -> h2c1 after the checks"
c 2 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 1 2)" >/dev/null || bad "ping h2c1 -> h1c2 after the checks"

mesh_stop_all
if [ ${#problems[@]} -gt 0 ]; then
	fail "${#problems[@]} problems: $(printf '%s; ' "${problems[@]}")"
fi
say "PASS"
