#!/bin/bash
# SPDX-License-Identifier: MIT
# A relay whose path on is smaller than the path to it. h3's link is 1400
# bytes (a tunnel, PPPoE behind a NAT), UDP between h2 and h3 is dropped, so
# h2 reaches h3 through h1. h2's path to h1 carries 1423-byte packets, h1's
# to h3 only about 1300: without a word from h1, h2 sends frames h1 cannot
# pass on, and TCP from h2c1 to h3c1 stalls (0 Mbit/s, measured). h1 refuses
# such a frame and tells h2 the largest it passes on (RELAY_TOO_BIG,
# docs/protocol.md 13.10); h2 then answers its container's larger packets
# with "fragmentation needed" naming that size, and TCP and a file cross.
#
#   weftd(h2) ══ 1500 ══ weftd(h1) ══ 1400 ══ weftd(h3)
#        ╲__________ blocked (nftables) _________╱
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq nft iperf3 python3
BUDGET=${BUDGET:-150}

topo_create --hosts 3 --containers 1 --no-bridge
ip -n "$(ns_host 3)" link set eth0 mtu 1400
ul ip link set h3 mtu 1400
mesh_init
mesh_start_all
mesh_wait_all_up 15 "before the block"
mesh_block 2 3
wait_for 30 sh -c "'$WEFTCTL' -s '$WT_TMP/h2.sock' status --json |
	jq -e '.peers[] | select(.name == \"h3\") | .route == \"relayed\" and .via == \"h1\"' >/dev/null" ||
	fail "h2 does not reach h3 through h1: $(mesh_status 2 | jq -c '.peers[] | select(.name == "h3")')"
# h1's own path to h3, as probed: what it can pass on is that less the
# RELAY header (17 bytes).
wait_for 15 sh -c "[ \"\$('$WEFTCTL' -s '$WT_TMP/h1.sock' status --json |
	jq '.peers[] | select(.name == \"h3\") | .path_mtu')\" -lt 1400 ]" ||
	fail "h1's path to h3 is $(mesh_peer_get 1 3 path_mtu), not below 1400"
on=$(mesh_peer_get 1 3 path_mtu)
want=$((on - 17))
before=$(mesh_peer_get 2 3 path_mtu)
say "h2 -> h3 through h1: $before bytes to h1, $on from h1 on"

# The first large DF packet is lost at h1, which tells h2; the next one gets
# h2's answer with h1's size.
c 2 1 ping -c 1 -W 1 -M "do" -s 1372 "$(cont_ip 3 1)" >/dev/null 2>&1 || true
wait_for 5 sh -c "[ \"\$('$WEFTCTL' -s '$WT_TMP/h2.sock' status --json |
	jq '.peers[] | select(.name == \"h3\") | .path_mtu')\" -le $want ]" ||
	fail "h2's path to h3 stays $(mesh_peer_get 2 3 path_mtu) (h1 passes on $want)"
got=$(mesh_peer_get 2 3 path_mtu)
answer=$(c 2 1 ping -c 1 -W 1 -M "do" -s 1372 "$(cont_ip 3 1)" 2>&1 || true)
case $answer in
*"mtu = $got"* | *"mtu=$got"*) ;;
*) fail "a 1400-byte DF ping from h2c1 did not get 'fragmentation needed' naming $got: $answer" ;;
esac
say "h2's path to h3 went from $before to $got; a 1400-byte DF ping is answered with it"
c 2 1 ping -c 3 -i 0.2 -W 2 -q -M "do" -s $((got - 28)) "$(cont_ip 3 1)" >/dev/null ||
	fail "DF pings of exactly $got bytes from h2c1 do not cross"

mesh_tcp 2 3
mesh_tcp 3 2
mesh_file_make 8000000
mesh_file_across 2 3
toobig=$(mesh_counter 1 router relay_too_big)
limited=$(mesh_counter 2 router relay_limited)
[ "$toobig" -ge 1 ] || fail "h1 counted no relay_too_big"
[ "$limited" -ge 1 ] || fail "h2 counted no relay_limited"
say "TCP both ways and a file through h1; h1 refused $toobig frames, h2 took $limited answers"
[ "$(mesh_counter 2 router relay_malformed)" = 0 ] || fail "h2 counted malformed relay records"
mesh_stop_all
in_time
say "PASS"
