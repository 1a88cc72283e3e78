#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/netns/rings.sh: daemon/capture (RX ring) and daemon/inject (TX ring)
# on a veth pair, driven by tests/netns/ringtool.
#
#   ns <p>r
#   ┌──────────────────────────────────────────┐
#   │  va ══veth═══ vb       (MTU 1500)        │
#   │  ja ══veth═══ jb       (MTU 9000, jumbo) │
#   └──────────────────────────────────────────┘
#   inject on va → capture on vb; IPv6 off, no addresses: the only frames on
#   the wire are the test's own.
#
# RINGS_BENCH=SECS also measures frames/s with and without PACKET_QDISC_BYPASS.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
WT_PREFIX=wtrings$$-
ringtool=${top_builddir:-.}/tests/netns/ringtool
[ -x "$ringtool" ] || ringtool=$here/ringtool

require_netns
[ -x "$ringtool" ] || skip "ringtool is not built"
install_trap

ns=${WT_PREFIX}r
ip netns add "$ns"
n() { ip netns exec "$ns" "$@"; }
n sysctl -qw net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1
ip -n "$ns" link set lo up
ip -n "$ns" link add name va mtu 1500 type veth peer name vb mtu 1500
ip -n "$ns" link add name ja mtu 9000 type veth peer name jb mtu 9000
for l in va vb ja jb; do
	ip -n "$ns" link set "$l" up
done

run() {
	say "ringtool $*"
	timeout 60 ip netns exec "$ns" "$ringtool" "$@" || fail "ringtool $* (exit $?)"
}

run xfer va vb 1500
run xfer ja jb 9000
run ignore va vb
run full va vb
run drops va vb
run long va vb
run defer va vb
if [ -n "${RINGS_BENCH:-}" ]; then
	for _ in 1 2 3; do
		run bench va vb "$RINGS_BENCH"
		run bench va vb "$RINGS_BENCH" bypass
	done
fi
say "PASS"
