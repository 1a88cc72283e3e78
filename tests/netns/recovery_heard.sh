#!/bin/bash
# SPDX-License-Identifier: MIT
# Recovery: a peer we hear from is not unreachable (docs/protocol.md 4.9,
# "Timing"). Every WELCOME is dropped for the first BLOCK_S (20) s after both
# daemons started: each side's HELLOs reach the other, which answers them
# (so each hears the other), yet no handshake completes, and both run
# through their quick tries (1, 1.5, 3 and 6 s). A peer that answers nothing
# would wait 30 s next (its sixth try at 41.5 s or later, 21.5 s after the
# block); one heard within 30 s keeps a try every 6 to 7.5 s, so both see
# each other up within UP_MAX_MS of the block's end (the slow wait, for a
# peer never heard, is dead_peer.sh's). The warning after three failed
# attempts (at about 17 s) says the peer reaches us, not that it is silent.
#
#   weftd(h1) ══ h1 ─ ul0 ─ h2 ══ weftd(h2)
#                nftables on ul0: drop weft's WELCOMEs
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
. "$(dirname "$0")/recovery_lib.sh"
mesh_test_begin jq nft awk date

BLOCK_S=20
# The sixth try of a heard peer comes 6-7.5 s after the fifth (at about
# 11.5-14 s), the seventh 6-7.5 s later: one is due within 7.5 s of any
# moment past the fifth; plus a round trip and the log line.
UP_MAX_MS=9000
BUDGET=100

# blocked NAME TYPE: drop weft's datagrams of message TYPE (2: WELCOME) for
# BLOCK_S from both starts; UP_AFTER_MS: ms from the block's end to both up;
# stops both.
blocked() {
	in_time
	ul_drop "udp dport 6783 @th,64,8 $2 drop"
	up_after_block "$BLOCK_S" 60 || fail "($1) no session 60 s after the block ended"
	say "($1) every ${1} dropped for ${BLOCK_S} s: both up ${UP_AFTER_MS} ms after the block ended"
	# The operator is told the peer is there and the way back fails, not
	# that it answers nothing.
	expect "($1) h1's warning says h2 reaches it" \
		grep -q "warning: peer h2 .*it reaches us (its handshake messages arrive" \
		"$(spawn_log weftd1)"
	mesh_stop 2
	mesh_stop 1
}

recovery_two_hosts --no-bridge
h1 ping -c 1 -W 2 "$(host_ip 2)" >/dev/null

blocked WELCOME 2
expect "(WELCOME) heard peers keep quick tries: up within ${UP_MAX_MS} ms of the block's end (${UP_AFTER_MS} ms)" \
	[ "$UP_AFTER_MS" -le "$UP_MAX_MS" ]

[ "$FAILS" = 0 ] || fail "$FAILS check(s) failed"
say "PASS"
