#!/bin/bash
# SPDX-License-Identifier: MIT
#
# tests/netns/udp.sh: daemon/udp, driven by tests/netns/udptool.
#
#   ns <p>s (sender)                          ns <p>r (receiver)
#   ┌────────────────────────────┐           ┌────────────────────────────┐
#   │ lo: loop tests             │           │                            │
#   │ s 10.9.0.1/24 fd09::1/64 ══╪═══veth════╪═ r 10.9.0.2/24 fd09::2/64  │
#   └────────────────────────────┘ MTU 1280  └────────────────────────────┘
#
# UDP_BENCH=SECS also measures datagrams/s on loopback, GSO+GRO and sendmmsg.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/netns/lib.sh
. "$here/lib.sh"
WT_PREFIX=wtudp$$-
udptool=${top_builddir:-.}/tests/netns/udptool
[ -x "$udptool" ] || udptool=$here/udptool

require_netns
[ -x "$udptool" ] || skip "udptool is not built"
install_trap

s=${WT_PREFIX}s
r=${WT_PREFIX}r
ip netns add "$s"
ip netns add "$r"
for x in "$s" "$r"; do
	ip -n "$x" link set lo up
	ip netns exec "$x" sysctl -qw net.ipv6.conf.default.accept_dad=0 \
		net.ipv6.conf.all.accept_dad=0
done
ip -n "$s" link add s mtu 1280 type veth peer name r mtu 1280 netns "$r"
ip -n "$s" addr add 10.9.0.1/24 dev s
ip -n "$s" addr add fd09::1/64 dev s nodad
ip -n "$r" addr add 10.9.0.2/24 dev r
ip -n "$r" addr add fd09::2/64 dev r nodad
ip -n "$s" link set s up
ip -n "$r" link set r up

run() {
	say "udptool $*"
	timeout 60 ip netns exec "$s" "$udptool" "$@" || fail "udptool $* (exit $?)"
}

for fam in 4 6 dual; do
	run loop "$fam"
	run loop "$fam" nogso
	run loop "$fam" nogro
	run loop "$fam" nogso nogro
done
# Neighbour resolution first, so the test's datagrams are not queued behind ARP/ND.
wait_for 5 ip netns exec "$s" ping -c1 -W1 10.9.0.2
wait_for 5 ip netns exec "$s" ping -6 -c1 -W1 fd09::2
run df 10.9.0.1 "$r" 10.9.0.2
run df :: "$r" 10.9.0.2
run df fd09::1 "$r" fd09::2
run df :: "$r" fd09::2
if [ -n "${UDP_BENCH:-}" ]; then
	for _ in 1 2 3; do
		run bench "$UDP_BENCH"
		run bench "$UDP_BENCH" nogso
	done
fi
say "PASS"
