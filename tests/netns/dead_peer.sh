#!/bin/bash
# SPDX-License-Identifier: MIT
# A peer that is really gone costs no more handshakes than before quick
# retries existed (issue 14). h2's weftd stops for good; h1's HELLOs to it
# are captured on h1's underlay for DEAD_PEER_SECONDS (75 under make check;
# 600 by hand) from the first one, and counted twice: datagrams, and
# handshakes (distinct ephemeral keys: a HELLO sent again is the same
# handshake). Neither may exceed what the schedule before quick retries sent
# at most in that time: a handshake every 5 s (its timeout) four times, then
# 8 s, 16 s and 30 s apart (each interval plus up to 1/4 at random, so the
# sums without it are the most it can send). Nothing waits for h2 (no
# container is attached) unless DEAD_PEER_TRAFFIC=1, which pings h2c1 from
# h1c1 all along, to measure what waiting frames cost (no bound then).
#
#   weftd(h1) ══ eth0 (tcpdump: udp to 10.0.0.2:6783) ─ ul0 ─ eth0 ══ weftd(h2), stopped
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin jq tcpdump awk

W=${DEAD_PEER_SECONDS:-75}
TRAFFIC=${DEAD_PEER_TRAFFIC:-0}
PEER_TIMEOUT=8 # mesh.sh's peer_timeout: h1 starts handshaking after this much silence
BUDGET=$((W + PEER_TIMEOUT + 60))

# old_max SECS: HELLOs the old schedule sends at most in SECS from its first.
old_max() {
	awk -v w="$1" 'BEGIN {
		split("0 5 10 15 23 39", t, " ")
		for (i = 1; i <= 6; i++) n += t[i] < w
		for (x = 69; x < w; x += 30) n++
		print n
	}'
}

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
mesh_start 1
mesh_start 2
mesh_wait_all_up 15 "at the start"
if [ "$TRAFFIC" = 1 ]; then
	attach_containers
	spawn ping c 1 1 ping -i 0.5 "$(cont_ip 2 1)"
fi
spawn tcpdump h1 tcpdump --immediate-mode -i eth0 -nn -U -w "$WT_TMP/dead.pcap" \
	"udp and dst host $(host_ip 2) and dst port 6783"
wait_for 10 grep -q "listening on" "$(spawn_log tcpdump)" || fail "tcpdump did not start"

mesh_stop 2
stopped=$(date +%s.%N)
say "h2's weftd stopped; counting h1's HELLOs to it for ${W}s from the first"
sleep $((PEER_TIMEOUT + 2))
in_time
sleep "$W"
kill_spawned tcpdump
[ "$TRAFFIC" = 0 ] || kill_spawned ping

# One line per HELLO sent after the stop: its time and its ephemeral key
# (UDP payload bytes 8-39; the payload starts after 20 bytes of IPv4 and 8
# of UDP header).
tcpdump -r "$WT_TMP/dead.pcap" -nn -tt -x 2>/dev/null | awk -v t0="$stopped" '
	function done() { if (ts > t0 + 0 && substr(hex, 57, 2) == "01") print ts, substr(hex, 73, 64) }
	/^[0-9]/ { done(); ts = $1; hex = ""; next }
	{ for (i = 2; i <= NF; i++) hex = hex $i }
	END { done() }' >"$WT_TMP/hellos"
first=$(awk 'NR == 1 { print $1 }' "$WT_TMP/hellos")
[ -n "$first" ] || fail "h1 sent no HELLO to the stopped h2"
awk -v a="$first" -v w="$W" '$1 < a + w' "$WT_TMP/hellos" >"$WT_TMP/window"
datagrams=$(wc -l <"$WT_TMP/window")
handshakes=$(awk '{ print $2 }' "$WT_TMP/window" | sort -u | wc -l)
bound=$(old_max "$W")
offsets=$(awk -v a="$first" '{ printf "%s%.1f", (NR > 1 ? " " : ""), $1 - a }' "$WT_TMP/window")
say "first HELLO $(awk -v a="$stopped" -v b="$first" 'BEGIN { printf "%.1f", b - a }') s after the stop;" \
	"in ${W}s: $datagrams HELLO datagrams, $handshakes handshakes (the old schedule: at most $bound)"
say "HELLOs at (s from the first): $offsets"
if [ "$TRAFFIC" = 0 ]; then
	expect "no more HELLO datagrams than before ($datagrams <= $bound)" [ "$datagrams" -le "$bound" ]
	expect "no more handshakes than before ($handshakes <= $bound)" [ "$handshakes" -le "$bound" ]
fi
mesh_stop 1
[ "$FAILS" = 0 ] || fail "$FAILS check(s) failed"
say "PASS"
