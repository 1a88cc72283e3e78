#!/bin/bash
# SPDX-License-Identifier: MIT
# Recovery (issue 14): a lost handshake datagram costs about a second, not a
# handshake timeout (5 s).
#  (a) the underlay drops every weft datagram for the first 2 s after both
#      daemons started: both see each other up within 1.5 s after the block
#      ends (a HELLO is sent again after 1 s and 1.5 s more);
#  (b) 30 % of weft's datagrams dropped at random, both ways: RUNS (10)
#      starts of both daemons, each timed from the second start until both
#      see each other up; the median and the worst are printed and bounded
#      (LOSS, LOSS_WAIT_S: another loss and wait per start, to study the
#      tail by hand);
#  (c) the responder's side of it, with h2 knowing no peer (only h1
#      initiates): h1's first WELCOME dropped, its HELLO sent again gets
#      the same WELCOME again (handshake_welcome_again, no second
#      handshake); then the DATA datagrams h2 sends in the first 1.8 s
#      dropped, h1's CONFIRM sent again gets a KEEPALIVE
#      (handshake_confirm_again, still one handshake). Without
#      retransmission both took a new handshake after 5 s.
# Times come from the daemons' own log lines ("peer hJ (...) is up", with
# milliseconds) against the script's clock, so polling adds nothing.
#
#   weftd(h1) ══ h1 ─ ul0 ─ h2 ══ weftd(h2)
#                nftables on ul0: drop udp 6783 (a), 30 % of it (b), the
#                first WELCOME, then DATA from h2 (c)
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
. "$(dirname "$0")/recovery_lib.sh"
mesh_test_begin jq nft awk date

RUNS=${RUNS:-10}
# (b)'s bounds. A run with no datagram lost takes 0.1 s, one with a loss
# about 1.1-3 s now (5 s, 10 s or more before: a lost datagram cost the
# handshake timeout); 10 runs gave medians of 1.1-2.9 s and worsts of
# 2.4-10 s here (before: median 5.2 s, worst 10-30 s). A start whose five
# quick tries (0-11.5 s) all fail on both sides, about one in a hundred,
# goes on with a try every 6-7.5 s while each side hears the other, so it
# lands at 18-35 s (24.6 s seen in CI); it used to wait 30 s more and fail
# the 40 s wait. The worst bound allows two of those tries.
BLOCK_S=2
BLOCK_UP_MAX_MS=1500
LOSS=${LOSS:-30}
LOSS_MEDIAN_MAX_MS=${LOSS_MEDIAN_MAX_MS:-4000}
LOSS_WORST_MAX_MS=${LOSS_WORST_MAX_MS:-30000}
LOSS_WAIT_S=${LOSS_WAIT_S:-40}
AGAIN_UP_MAX_MS=4000
BUDGET=200

recovery_two_hosts --no-bridge
# The hosts know each other's MAC before the first HELLO: ARP is no part of it.
h1 ping -c 1 -W 2 "$(host_ip 2)" >/dev/null

# ---- (a) blocked for the first 2 s --------------------------------------------------
ul_drop_weft
up_after_block "$BLOCK_S" 20 || fail "(a) no session 20 s after the block ended"
say "(a) blocked ${BLOCK_S}s from the start (${BLOCK_RAN_MS} ms after both were running): both up ${UP_AFTER_MS} ms after the block ended"
expect "(a) up within ${BLOCK_UP_MAX_MS} ms of the block's end (${UP_AFTER_MS} ms)" [ "$UP_AFTER_MS" -le "$BLOCK_UP_MAX_MS" ]
mesh_stop 2
mesh_stop 1

# ---- (b) 30 % loss, RUNS starts ----------------------------------------------------
ul_drop_weft "$LOSS"
times=()
resent=0
welcome_again=0
confirm_again=0
for ((run = 1; run <= RUNS; run++)); do
	in_time
	mesh_start 1
	t0=$(now_ms)
	mesh_start 2
	up=$(both_up_ms "$LOSS_WAIT_S") || fail "(b) run $run: no session in $LOSS_WAIT_S s"
	times+=($((up - t0)))
	say "(b) run $run: both up $((up - t0)) ms after the second start"
	# The next start overwrites the logs: a slow one shows them now.
	[ $((up - t0)) -le "$LOSS_WORST_MAX_MS" ] || dump_logs
	for i in 1 2; do
		j=$((3 - i))
		resent=$((resent + $(mesh_peer_get "$i" "$j" "handshake_resends // 0")))
		welcome_again=$((welcome_again + $(mesh_drop_get "$i" "handshake_welcome_again // 0")))
		confirm_again=$((confirm_again + $(mesh_drop_get "$i" "handshake_confirm_again // 0")))
	done
	mesh_stop 2
	mesh_stop 1
done
ul_pass
say "(b) datagrams sent again (HELLO or CONFIRM, both hosts): $resent; WELCOMEs again: $welcome_again; CONFIRMs answered again: $confirm_again"
mapfile -t sorted < <(printf '%s\n' "${times[@]}" | sort -n)
median=$(((sorted[(RUNS - 1) / 2] + sorted[RUNS / 2]) / 2))
worst=${sorted[RUNS - 1]}
say "(b) ${LOSS} % loss, $RUNS starts: ms to a session: ${times[*]}; median $median, worst $worst"
expect "(b) median within $LOSS_MEDIAN_MAX_MS ms ($median)" [ "$median" -le "$LOSS_MEDIAN_MAX_MS" ]
expect "(b) worst within $LOSS_WORST_MAX_MS ms ($worst)" [ "$worst" -le "$LOSS_WORST_MAX_MS" ]

# ---- (c) the responder answers what is sent again --------------------------------------
# h2 lists no peer: it learns h1 from h1's handshake and never starts one.
awk '/^\[/ { skip = ($0 == "[peer \"h1\"]") } !skip { print }' "$WT_TMP/h2.conf" >"$WT_TMP/x"
mv "$WT_TMP/x" "$WT_TMP/h2.conf"
# again NAME RULE SECS: with RULE on the underlay (removed SECS after h1
# starts, 0: left on), h1 starts toward h2; AGAIN_MS: ms to both up.
again() {
	local t0 up
	in_time
	# Nor does h2 know h1 from an earlier run's members file.
	rm -f "$WT_TMP"/h[12].members
	mesh_start 2
	ul_drop "$2"
	t0=$(now_ms)
	mesh_start 1
	if [ "$3" != 0 ]; then
		sleep "$3"
		ul_pass
	fi
	up=$(both_up_ms 20) || fail "($1) no session in 20 s"
	[ "$3" != 0 ] || ul_pass
	AGAIN_MS=$((up - t0))
}
# check_again WHAT ANSWERED DROPPED: after `again`, h2 answered what was sent
# again (counter ANSWERED >= 1) instead of dropping it (counter DROPPED = 0),
# with one handshake on each side, up within AGAIN_UP_MAX_MS; then stops both.
check_again() {
	local what=$1 answered=$2 dropped=$3 ms=$AGAIN_MS a d n1 n2
	a=$(mesh_drop_get 2 "$answered // 0")
	d=$(mesh_drop_get 2 "$dropped")
	n2=$(mesh_peer_get 2 1 handshakes)
	n1=$(mesh_peer_get 1 2 handshakes)
	say "(c) $what: up in $ms ms; h2: $answered $a, $dropped $d, handshakes $n2 (h1: $n1)"
	expect "(c) $what: answered again ($answered $a), not dropped ($dropped $d)" \
		eval "[ '$a' -ge 1 ] && [ '$d' = 0 ]"
	expect "(c) one handshake on each side ($n2, $n1)" eval "[ '$n2' = 1 ] && [ '$n1' = 1 ]"
	expect "(c) up within $AGAIN_UP_MAX_MS ms ($ms)" [ "$ms" -le "$AGAIN_UP_MAX_MS" ]
	mesh_stop 1
	mesh_stop 2
}
# The first WELCOME (type 2) only: a quota of one such datagram's bytes. The
# HELLO sent again must get its WELCOME again, not a replay drop.
again welcome "udp sport 6783 @th,64,8 2 quota until 250 bytes drop" 0
check_again "first WELCOME lost" handshake_welcome_again handshake_replay
# DATA (type 4) from h2 for 1.8 s: the KEEPALIVE after the CONFIRM and the
# answer to the first CONFIRM sent again (about 1 s after it) are lost. The
# CONFIRM sent again must get a KEEPALIVE, not an unknown_index drop.
again confirm "udp sport 6783 @th,64,8 4 drop" 1.8
check_again "answers to the CONFIRM lost" handshake_confirm_again unknown_index

[ "$FAILS" = 0 ] || fail "$FAILS check(s) failed"
say "PASS"
