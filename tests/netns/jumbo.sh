#!/bin/bash
# SPDX-License-Identifier: MIT
# A jumbo underlay: every host's eth0 and the underlay bridge at MTU 9000,
# as in a datacenter. mtu = auto makes the overlay 8923 (9000 - 77), and the
# containers are left at 9000 so that the edge of the overlay is weftd's:
# - weftctl and the bridge both say 8923;
# - DF pings of exactly 8923 bytes cross both ways; one byte more gets
#   "fragmentation needed" naming 8923 (IPv4) and "packet too big" (IPv6);
#   a non-DF 9000-byte ping is fragmented by weftd and answered whole;
# - with superframes on both hosts: TCP both ways and over IPv6, and a 32 MB
#   file whose SHA-256 matches at the other end; the sender cut its
#   superframes into jumbo segments (at most 8 per 64 KiB superframe, where
#   a 1500-byte underlay takes 46) and the receiver merged them again;
# - with superframes off: TCP and the file again, no superframe anywhere;
# and in both no bad record, no frame dropped as too big, no TCP checksum
# error in a container;
# - a host still at 1500 in the jumbo mesh (h2's eth0 at 1500, so its
#   overlay is 1423, while h1's is 8923): h2 leaves h1's probes longer than
#   anything it accepts unanswered (probe_too_big), so h1's path MTU toward
#   h2 settles at most at h2's 1423, although the underlay lets a few bytes
#   more through, and is used within seconds (the plateau, a 1500-byte
#   link's size, is probed right after the ceiling); then TCP both ways, the file both ways and non-DF 9000-byte
#   pings cross, h2 drops no frame of h1's as too big, and no datagram of
#   h1's is too long for h2's eth0 (h1 packs several frames into one
#   datagram only up to the path's size, not its own interface's);
# - h2 back at 9000 but with `mtu = 1400` in its file: it leaves h1's
#   probes longer than it takes unanswered (probe_too_big), h1's path
#   toward it settles at most at 1400, TCP both ways and non-DF 9000-byte
#   pings cross, and h2 drops no frame of h1's as too big.
#
# MESH_IPV6=1 runs the same over an IPv6 underlay (8903 and 1403).
#
#   h1c1 (9000) ─ weft0 (8923) ─ weftd(h1) ══ UDP, underlay 9000 ══ weftd(h2) ─ weft0 (8923) ─ h2c1 (9000)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
WT_PREFIX=wtjumbo$$-
mesh_test_begin ping jq iperf3 python3 sha256sum nstat

topo_create --hosts 2 --containers 1 --no-bridge --underlay-mtu 9000 --mtu 9000
mesh_init
mesh_file_make 32000000
# MESH_IPV6=1 runs it all over an IPv6 underlay: 20 bytes more of header.
v6=$([ "${MESH_IPV6:-0}" = 1 ] && echo 20 || echo 0)
want_mtu=$((8923 - v6))
small_mtu=$((1423 - v6))

counter() { mesh_counter "$1" router "$2"; }
csum_errors() { c "$1" 1 nstat -az TcpInCsumErrors | awk '/TcpInCsumErrors/ { print $2 }'; }

# ---- MTU and its edge (superframes on, the default, said so for WT_SUPERFRAMES) ---
mesh_config 1 "[socket]" "superframes = yes"
mesh_config 2 "[socket]" "superframes = yes"
mesh_start_all
mesh_wait_all_up 15
for i in 1 2; do
	got=$(mesh_status "$i" | jq .mtu)
	[ "$got" = "$want_mtu" ] || fail "h$i: overlay MTU $got on a 9000-byte underlay, want $want_mtu"
	got=$(hN "$i" cat "/sys/class/net/$WT_BRIDGE/mtu")
	[ "$got" = "$want_mtu" ] || fail "h$i: $WT_BRIDGE has MTU $got, want $want_mtu"
done
say "overlay MTU $want_mtu on both hosts (weftctl and $WT_BRIDGE)"

wait_for 5 c 1 1 ping -c 1 -W 1 -q "$(cont_ip 2 1)" || fail "small pings h1c1 -> h2c1"
for i in 1 2; do
	o=$((3 - i))
	c "$i" 1 ping -M "do" -s $((want_mtu - 28)) -c 3 -i 0.2 -W 2 -q "$(cont_ip "$o" 1)" >/dev/null ||
		fail "DF pings of $want_mtu bytes h${i}c1 -> h${o}c1 lost"
done
say "DF pings of $want_mtu bytes cross both ways"

# Non-DF first: once a "fragmentation needed" taught h1c1 the path MTU its
# kernel fragments by itself. The request (h1) and the reply (h2) are both
# larger than the overlay: weftd fragments each.
frag1=$(counter 1 too_big_fragmented)
frag2=$(counter 2 too_big_fragmented)
out=$(c 1 1 ping -M dont -s 8972 -c 3 -i 0.3 -W 2 "$(cont_ip 2 1)" 2>&1) ||
	fail "non-DF 9000-byte pings lost: $out"
echo "$out" | grep -q "8980 bytes from $(cont_ip 2 1)" || fail "no whole 8980-byte reply: $out"
frag1=$(($(counter 1 too_big_fragmented) - frag1))
frag2=$(($(counter 2 too_big_fragmented) - frag2))
if [ "$frag1" -lt 3 ] || [ "$frag2" -lt 3 ]; then
	fail "router.too_big_fragmented moved by $frag1 on h1 and $frag2 on h2 for 3 requests and 3 replies"
fi
say "non-DF 9000-byte pings: 3 of 3 answered whole (too_big_fragmented +$frag1 on h1, +$frag2 on h2)"

icmp0=$(counter 1 too_big_icmp4)
out=$(c 1 1 ping -M "do" -s $((want_mtu - 27)) -c 2 -i 0.3 -W 2 "$(cont_ip 2 1)" 2>&1 || true)
echo "$out" | grep -Eq "mtu ?= ?$want_mtu" ||
	fail "a DF ping of $((want_mtu + 1)) bytes got no 'fragmentation needed' naming $want_mtu: $out"
[ "$(counter 1 too_big_icmp4)" -gt "$icmp0" ] || fail "h1 router.too_big_icmp4 did not move"
wait_for 10 c 1 1 ping -6 -c 1 -W 1 -q "$(cont_ip6 2 1)" || fail "small IPv6 pings h1c1 -> h2c1"
out=$(c 1 1 ping -6 -M "do" -s $((want_mtu - 47)) -c 2 -i 0.3 -W 2 "$(cont_ip6 2 1)" 2>&1 || true)
echo "$out" | grep -Eq "mtu ?= ?$want_mtu" ||
	fail "an IPv6 ping of $((want_mtu + 1)) bytes got no 'packet too big' naming $want_mtu: $out"
say "one byte over: 'fragmentation needed' and 'packet too big' name $want_mtu"

# ---- TCP and a file, superframes on ----------------------------------------------------
mesh_tcp 1 2
mesh_tcp 2 1
mesh_tcp 1 2 cont_ip6
mesh_file_across 1 2
cut=$(mesh_counter 1 capture kernel_superframes)
segs=$(mesh_counter 1 capture kernel_segments)
merged=$(mesh_counter 2 inject superframes)
say "  h1 cut $cut superframes into $segs segments; h2 merged $merged superframes"
[ "$cut" -gt 100 ] || fail "h1 cut only $cut superframes"
if [ "$segs" -le "$cut" ] || [ "$segs" -gt $((8 * cut)) ]; then
	fail "h1 cut $cut superframes into $segs segments: not jumbo segments"
fi
[ "$merged" -gt 100 ] || fail "h2 merged only $merged superframes"

check_clean() {
	local i got
	for i in 1 2; do
		got=$(mesh_peer_get "$i" $((3 - i)) drops.bad_record)
		[ "$got" = 0 ] || fail "$1: h$i counted $got bad records"
		got=$(mesh_drop_get "$i" frame_too_big)
		[ "$got" = 0 ] || fail "$1: h$i dropped $got frames as frame_too_big"
		got=$(mesh_drop_get "$i" superframe_bad)
		[ "$got" = 0 ] || fail "$1: h$i dropped $got superframes it could not cut"
		got=$(csum_errors "$i")
		[ "${got:-0}" = 0 ] || fail "$1: h${i}c1 counted $got TCP checksum errors"
	done
}
check_clean "superframes on"
mesh_stop_all

# ---- superframes off ---------------------------------------------------------------------
say "superframes off on both hosts"
mesh_config 1 "[socket]" "superframes = no"
mesh_config 2 "[socket]" "superframes = no"
mesh_start_all
mesh_wait_all_up 15
mesh_tcp 1 2
mesh_tcp 2 1
mesh_file_across 2 1
for i in 1 2; do
	got=$(mesh_counter "$i" capture kernel_superframes)
	[ "$got" = 0 ] || fail "h$i cut $got superframes with superframes = no"
	got=$(mesh_counter "$i" inject superframes)
	[ "$got" = 0 ] || fail "h$i merged $got superframes with superframes = no"
done
check_clean "superframes off"
mesh_stop_all

# ---- a host at 1500 in a jumbo mesh ----------------------------------------------------------
say "h2's eth0 at 1500, h1's at 9000"
hN 2 ip link set eth0 mtu 1500
mesh_config 1
mesh_config 2
mesh_start_all
mesh_wait_all_up 15
got=$(mesh_status 2 | jq .mtu)
[ "$got" = "$small_mtu" ] || fail "h2: overlay MTU $got on a 1500-byte eth0, want $small_mtu"
path_to_h2() { mesh_peer_get 1 2 path_mtu; }
# The ceiling's probe is lost (1 s), the plateau's (a 1500-byte link's
# size) acked and used at once: frames toward h2 flow within seconds, not
# after the whole search (about ten more lost probes above the plateau).
t0=$(now_s)
wait_for 5 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h1.sock' status --json |
	jq '.peers[] | select(.name == \"h2\") | .path_mtu <= $small_mtu')\" = true ]" ||
	fail "h1's path MTU toward h2 still $(path_to_h2) 5 s after the session, want at most $small_mtu"
say "  h1 uses a path MTU toward h2 of $(path_to_h2) after $(ms_between "$t0" "$(now_s)") ms"
wait_for 30 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h1.sock' status --json |
	jq '.peers[] | select(.name == \"h2\") | .path_mtu_probed and .path_mtu <= $small_mtu')\" = true ]" ||
	fail "h1's path MTU toward h2 is $(path_to_h2), not found at most $small_mtu"
say "  h1's path MTU toward h2: $(path_to_h2) once probed" \
	"(h2 left $(mesh_counter 2 router probe_too_big) probes unanswered as too big)"
# to_smaller_h2 [FILES]: TCP both ways (and the file both ways with FILES),
# non-DF 9000-byte pings, and h2 drops none of h1's frames as too big.
to_smaller_h2() {
	local dropped0 got out
	dropped0=$(mesh_peer_get 2 1 drops.frame_too_big)
	mesh_tcp 1 2
	mesh_tcp 2 1
	if [ -n "${1:-}" ]; then
		mesh_file_across 1 2
		mesh_file_across 2 1
	fi
	out=$(c 1 1 ping -M dont -s 8972 -c 3 -i 0.3 -W 2 "$(cont_ip 2 1)" 2>&1) ||
		fail "non-DF 9000-byte pings h1c1 -> h2c1 lost: $out"
	got=$(($(mesh_peer_get 2 1 drops.frame_too_big) - dropped0))
	[ "$got" = 0 ] || fail "h2 dropped $got of h1's frames as too big"
}
# Datagrams longer than h2's eth0 takes die at its end of the underlay's
# veth (the port's tx_dropped): none may once the path is known, although
# h1's own interface allows 9000 and its frames come in bursts.
wire_drops() { ul cat /sys/class/net/h2/statistics/tx_dropped; }
wire0=$(wire_drops)
to_smaller_h2 files
got=$(($(wire_drops) - wire0))
[ "$got" = 0 ] || fail "the underlay dropped $got datagrams from h1 too long for h2's eth0"
mesh_stop_all

# ---- a smaller MTU set by hand -------------------------------------------------------------
# h2's eth0 at 9000 again, but `mtu = 1400` in its file: every probe of
# h1's reaches h2, which leaves those longer than it takes unanswered.
say "h2's eth0 at 9000, mtu = 1400 in its configuration"
hN 2 ip link set eth0 mtu 9000
mesh_config 1
mesh_config 2 "mtu = 1400"
mesh_start_all
mesh_wait_all_up 15
wait_for 30 sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h1.sock' status --json |
	jq '.peers[] | select(.name == \"h2\") | .path_mtu_probed and .path_mtu <= 1400')\" = true ]" ||
	fail "h1's path MTU toward h2 is $(path_to_h2), not found at most 1400"
refused=$(mesh_counter 2 router probe_too_big)
[ "$refused" -gt 0 ] || fail "h2 answered every probe of h1's (probe_too_big $refused)"
say "  h1's path MTU toward h2: $(path_to_h2) (h2 left $refused probes unanswered as too big)"
to_smaller_h2
mesh_stop_all
say PASS
