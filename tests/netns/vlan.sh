#!/bin/bash
# SPDX-License-Identifier: MIT
# VLAN tags cross weft intact. The capture ring hands weftd frames with their
# outer tag stripped into the ring header; weftd must put it back, TPID and
# TCI (VID, priority, DEI) as they were, before sealing the frame.
#
#   ns h1c1: eth0 ─ weft0 ─ weftd(h1) ══ UDP 6783 ══ weftd(h2) ─ weft0 ─ eth0 :ns h2c1
#            (send, tcpdump -e)                                (send, tcpdump -e)
#
# This kernel may lack 8021q (no VLAN devices), so the containers send tagged
# frames themselves from a packet socket (a few lines of perl) and tcpdump
# -e on the other container's eth0 must see each of them byte for byte:
#   (a) 802.1Q VID 100, priority 5, both ways, sizes up to the largest tagged
#       frame the overlay carries (MTU + 14 bytes, tag included);
#   (b) a tagged frame 4 bytes larger (a full MTU-sized packet plus the tag)
#       does not cross and is counted in drops.frame_too_big;
#   (c) 802.1ad VID 300 (TPID 0x88a8), and QinQ: 802.1ad 300 over 802.1Q 100;
#   (d) a priority tag (VID 0, TCI 0x0000 and 0x6000) keeps its tag, and an
#       untagged frame arrives untagged.
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping tcpdump jq perl

# SENDFRAMES, perl: IFACE DST SRC TAGS COUNT SIZES...: send COUNT frames per size
# from a packet socket, tagged with TAGS (comma-separated TPID:TCI in hex,
# outer first; "-" for none), ethertype 0x88b5 (local experimental), a payload
# naming the run; SIZE is the whole frame, tags included. Prints each frame
# in hex, one a line.
# shellcheck disable=SC2016 # perl, not shell
SENDFRAMES='
use strict; use warnings;
my ($if, $dst, $src, $tags, $count, @sizes) = @ARGV;
open(my $fh, "<", "/sys/class/net/$if/ifindex") or die "ifindex of $if: $!";
my $ifindex = <$fh> + 0;
my $mac = sub { pack("H12", join("", split(/:/, $_[0]))) };
socket(my $s, 17, 3, 0) or die "AF_PACKET socket: $!";           # AF_PACKET, SOCK_RAW
my $to = pack("S n i S C C a8", 17, 0, $ifindex, 0, 0, 6, $mac->($dst));
my $hdr = $mac->($dst) . $mac->($src);
if ($tags ne "-") {
	for my $t (split(/,/, $tags)) { my ($p, $c) = split(/:/, $t); $hdr .= pack("nn", hex($p), hex($c)); }
}
$hdr .= pack("n", 0x88b5);
my $seq = 0;
for my $size (@sizes) {
	for (1 .. $count) {
		my $body = sprintf("weft-vlan %s %s %05d ", $tags, $src, $seq);
		$body .= chr(($seq + $_) & 0xff) for 1 .. ($size - length($hdr) - length($body));
		my $f = $hdr . $body;
		defined(send($s, $f, 0, $to)) or die "send $size: $!";
		print unpack("H*", $f), "\n";
		$seq++;
		select(undef, undef, undef, 0.005);
	}
}
'

# pcapframes PCAP SRC: the frames in PCAP from MAC SRC carrying our payload, in hex.
# shellcheck disable=SC2016 # perl, not shell
PCAPFRAMES='
use strict; use warnings;
my ($file, $src) = @ARGV;
open(my $fh, "<:raw", $file) or die "$file: $!";
local $/; my $d = <$fh>;
my $magic = unpack("V", substr($d, 0, 4));
my $e = $magic == 0xa1b2c3d4 || $magic == 0xa1b23c4d ? "V" : "N";
my $want = pack("H12", join("", split(/:/, $src)));
for (my $o = 24; $o + 16 <= length($d);) {
	my $caplen = unpack($e, substr($d, $o + 8, 4));
	my $f = substr($d, $o + 16, $caplen);
	$o += 16 + $caplen;
	print unpack("H*", $f), "\n" if substr($f, 6, 6) eq $want && index($f, "weft-vlan ") >= 0;
}
'
pcapframes() { perl -e "$PCAPFRAMES" "$@"; }

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
mesh_start_all
mesh_wait_up 1 2 15 || fail "no session between h1 and h2"
mesh_wait_up 2 1 5 || fail "no session between h2 and h1"
# Both bridges and both weftds learn both MACs: the frames below are unicast.
wait_for 5 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "untagged ping h1c1 -> h2c1"

mac1=$(cont_mac 1 1)
mac2=$(cont_mac 2 1)
mtu=$(mesh_status 1 | jq .mtu)
max=$((mtu + 14)) # the largest frame a datagram carries, tags included

for i in 1 2; do
	spawn "tcpdump$i" c "$i" 1 tcpdump --immediate-mode -i eth0 -e -n -U -s 0 -w "$WT_TMP/c$i.pcap"
done
for i in 1 2; do
	wait_for 5 grep -q 'listening on' "$(spawn_log "tcpdump$i")" || fail "tcpdump in h${i}c1 did not start"
done

# send I J TAGS COUNT SIZES...: from hIc1 to hJc1, appending what was sent to
# $WT_TMP/sent<I><J>.
send() {
	local i=$1 j=$2
	shift 2
	c "$i" 1 perl -e "$SENDFRAMES" eth0 "$(cont_mac "$j" 1)" "$(cont_mac "$i" 1)" "$@" \
		>>"$WT_TMP/sent$i$j" || fail "sending frames from h${i}c1 failed"
}

# (a) 802.1Q VID 100, PCP 5 (TCI 0xa064), both ways, up to the largest size.
sizes=(64 200 1000 $((max - 1)) "$max")
send 1 2 8100:a064 4 "${sizes[@]}"
send 2 1 8100:a064 4 "${sizes[@]}"
# (c) 802.1ad VID 300 (TCI 0x012c), and 802.1ad 300 over 802.1Q 100.
send 1 2 88a8:012c 4 64 $max
send 2 1 88a8:012c,8100:0064 4 64 $max
# (d) priority tags and an untagged frame.
send 1 2 8100:0000 4 64 $max
send 2 1 8100:6000 4 64 $max
send 1 2 - 4 64 $max

# (b) 4 bytes over: a tagged frame of max + 4 (a full-MTU packet plus its tag).
big0=$(mesh_drop_get 1 frame_too_big)
c 1 1 perl -e "$SENDFRAMES" eth0 "$mac2" "$mac1" 8100:a064 3 $((max + 4)) >"$WT_TMP/big12" ||
	fail "sending oversized frames from h1c1 failed"
# Until every frame sent has reached the other side's tcpdump (a loaded
# machine takes longer than a fixed pause), at most 5 s; then 0.3 s more
# for anything that should not arrive.
arrived() { # I J: frames from hIc1 to hJc1 in hJc1's capture so far
	tcpdump -r "$WT_TMP/c$2.pcap" -n "ether src $(cont_mac "$1" 1) and ether dst $(cont_mac "$2" 1)" \
		2>/dev/null | wc -l
}
for _ in $(seq 50); do
	[ "$(arrived 1 2)" -ge "$(wc -l <"$WT_TMP/sent12")" ] &&
		[ "$(arrived 2 1)" -ge "$(wc -l <"$WT_TMP/sent21")" ] && break
	sleep 0.1
done
sleep 0.3
for i in 1 2; do
	kill_spawned "tcpdump$i"
done
big=$(($(mesh_drop_get 1 frame_too_big) - big0))

# (b)'s frames are checked apart: here only those that the overlay carries.
pcapframes "$WT_TMP/c2.pcap" "$mac1" | awk -v m=$max 'length($0) / 2 <= m' >"$WT_TMP/got12"
pcapframes "$WT_TMP/c1.pcap" "$mac2" >"$WT_TMP/got21"
for d in 12 21; do
	sort -o "$WT_TMP/sent$d" "$WT_TMP/sent$d"
	sort -o "$WT_TMP/got$d" "$WT_TMP/got$d"
	sent=$(wc -l <"$WT_TMP/sent$d")
	got=$(wc -l <"$WT_TMP/got$d")
	same=$(comm -12 "$WT_TMP/sent$d" "$WT_TMP/got$d" | wc -l)
	say "h${d:0:1}c1 -> h${d:1:1}c1: sent $sent tagged/untagged frames, $got arrived, $same byte for byte"
	if [ "$same" != "$sent" ] || [ "$got" != "$sent" ]; then
		# Name the first frame that did not arrive as sent (first 40 bytes).
		miss=$(comm -23 "$WT_TMP/sent$d" "$WT_TMP/got$d" | head -n 1 | cut -c 1-80)
		odd=$(comm -13 "$WT_TMP/sent$d" "$WT_TMP/got$d" | head -n 1 | cut -c 1-80)
		fail "h${d:0:1}c1 -> h${d:1:1}c1: expected all $sent frames to arrive unchanged, $same did ($got arrived); first missing: ${miss:-none}; first unexpected: ${odd:-none}"
	fi
done

# What tcpdump -e says about them, for the record and as a second opinion.
tcpdump -r "$WT_TMP/c2.pcap" -e -n "ether src $mac1 and vlan 100" 2>/dev/null >"$WT_TMP/v100.txt"
n100=$(grep -c 'ethertype 802\.1Q (0x8100), length [0-9]*: vlan 100, p 5,' "$WT_TMP/v100.txt" || true)
say "tcpdump -e in h2c1: $(head -n 1 "$WT_TMP/v100.txt" | cut -d' ' -f2-)"
[ "$n100" -ge 20 ] || fail "tcpdump -e in h2c1 shows $n100 frames tagged 802.1Q vlan 100 p 5 from h1c1, expected >= 20"
n300=$(tcpdump -r "$WT_TMP/c2.pcap" -e -n "ether src $mac1" 2>/dev/null |
	grep -c 'ethertype 802\.1Q-QinQ (0x88a8), length [0-9]*: vlan 300,' || true)
[ "$n300" -ge 8 ] || fail "tcpdump -e in h2c1 shows $n300 frames tagged 802.1ad vlan 300 from h1c1, expected >= 8"

big_seen=$(pcapframes "$WT_TMP/c2.pcap" "$mac1" | awk -v m=$max 'length($0) / 2 > m' | wc -l)
say "(b) 3 tagged frames of $((max + 4)) bytes (largest carried: $max): h1 drops.frame_too_big +$big, $big_seen arrived"
[ "$big_seen" = 0 ] || fail "$big_seen tagged frames of $((max + 4)) bytes arrived in h2c1, expected none (the overlay carries $max)"
[ "$big" -ge 3 ] || fail "h1's drops.frame_too_big grew by $big for 3 oversized tagged frames, expected >= 3"

mesh_stop_all
say "PASS"
