# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # variables are for the sourcing script
#
# tests/netns/lib.sh: the network-namespace topology shared by the end-to-end
# tests (tests/netns/*.sh) and the benchmark (tests/bench/overlay-bench.sh).
# Source it from bash; it is `set -eu` friendly and needs root.
#
#   ns <p>h1 (host 1)                         ns <p>h2 (host 2)
#   ┌─────────────────────────────────┐       ┌─────────────────────────────────┐
#   │ bridge weft0                    │       │ bridge weft0                    │
#   │  ├─ c1 ═veth═ eth0 ns <p>h1c1   │       │  ├─ c1 ═veth═ eth0 ns <p>h2c1   │
#   │  └─ c2 ═veth═ eth0 ns <p>h1c2   │       │  └─ c2 ═veth═ eth0 ns <p>h2c2   │
#   │ eth0 10.0.0.1 ═veth═┐           │       │ eth0 10.0.0.2 ═veth═┐           │
#   └─────────────────────┼───────────┘       └─────────────────────┼───────────┘
#                         │     ns <p>ul: bridge ul0 (ports h1, h2, h3)
#                         └──────────────── ul0 ────────────────────┘
#   (a third host <p>h3 hangs off ul0 the same way with --hosts 3)
#
# Addresses (i = host 1..3, j = container 1..2):
#   host i underlay eth0   10.0.0.<i>/24, fd00::<i>/64 (nodad), MAC 02:00:00:00:00:0<i>
#   container <p>h<i>c<j>  eth0 192.168.77.<10i+j>/24, fd77::<10i+j>/64 (nodad),
#                          MAC 02:77:00:00:0<i>:0<j>, MTU = --mtu
#   its host-side port     c<j> in ns <p>h<i>, MAC 02:77:01:00:0<i>:0<j>, same MTU
#   pre-created bridge     weft0, MAC 02:77:ff:00:00:0<i>
#
# Host namespaces have IPv6 off on every interface except eth0 and lo (set
# before any link is created, so a bridge or veth that weftd makes later is
# quiet too: no router solicitations or MLD reports from the host side).
#
# Typical use:
#   . "$(dirname "$0")/lib.sh"
#   require_netns; require_cmd ping
#   install_trap
#   topo_create --hosts 2 --containers 1 --mtu 1423 --no-bridge
#   spawn weftd1 h1 "$WEFTD" -c "$WT_TMP/h1.conf"
#   attach_containers            # waits for weftd's bridge, then plugs the veths in
#   wait_for 10 c 1 1 ping -c1 -W1 "$(cont_ip 2 1)"
#
# Every loop here is bounded by a count and, where it waits, by a deadline.

WT_PREFIX=${WT_PREFIX:-wt$$-}
WT_BRIDGE=${WT_BRIDGE:-weft0}
WT_TMP=${WT_TMP:-}
WT_TMP_OURS=0
WT_HOSTS=0
WT_CONTAINERS=0
WT_UL_MTU=1500
WT_MTU=1423
SPAWN_PID=''
SPAWN_STATUS=''

# ---- messages and requirements ----------------------------------------------

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }

# require_netns: exit 77 unless we are root and `ip netns` works here.
require_netns() {
	[ "$(id -u)" = 0 ] || skip "needs root (network namespaces)"
	command -v ip >/dev/null 2>&1 || skip "needs iproute2 (ip)"
	ip netns add "${WT_PREFIX}probe" >/dev/null 2>&1 || skip "ip netns is unavailable here"
	ip netns del "${WT_PREFIX}probe" >/dev/null 2>&1 || true
}

# require_cmd CMD...: exit 77 naming the first missing command.
require_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c"
	done
}

# ---- names and addresses ----------------------------------------------------

ns_host() { printf '%sh%s' "$WT_PREFIX" "$1"; }
ns_cont() { printf '%sh%sc%s' "$WT_PREFIX" "$1" "$2"; }
ns_ul() { printf '%sul' "$WT_PREFIX"; }
host_ip() { printf '10.0.0.%d' "$1"; }
host_ip6() { printf 'fd00::%d' "$1"; }
cont_ip() { printf '192.168.77.%d' $((10 * $1 + $2)); }
cont_ip6() { printf 'fd77::%d' $((10 * $1 + $2)); }
cont_mac() { printf '02:77:00:00:%02x:%02x' "$1" "$2"; }

# ---- running commands in the namespaces --------------------------------------

hN() {
	local i=$1
	shift
	ip netns exec "$(ns_host "$i")" "$@"
}
h1() { hN 1 "$@"; }
h2() { hN 2 "$@"; }
h3() { hN 3 "$@"; }
c() {
	local i=$1 j=$2
	shift 2
	ip netns exec "$(ns_cont "$i" "$j")" "$@"
}
ul() { ip netns exec "$(ns_ul)" "$@"; }

# ---- temp dir, processes ----------------------------------------------------

# wt_tmp: make sure $WT_TMP exists (one per run; cleanup removes it if the
# lib made it, never a directory the caller passed in).
wt_tmp() {
	if [ -z "$WT_TMP" ] || [ ! -d "$WT_TMP" ]; then
		WT_TMP=$(mktemp -d "/tmp/${WT_PREFIX}XXXXXX")
		WT_TMP_OURS=1
	fi
}

# proc_stat PID: the fields of /proc/PID/stat after "(comm)", so $1 is the
# state, $12/$13 utime/stime and $20 the start time (clock ticks).
proc_stat() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	printf '%s\n' "${s##*) }"
}

# alive PID STARTTIME: the process we started is still running (not a zombie,
# not a recycled PID).
alive() {
	local st f
	st=$(proc_stat "$1") || return 1
	read -ra f <<<"$st"
	[ "${f[0]}" != Z ] && [ "${f[19]}" = "$2" ]
}

# spawn NAME WHERE CMD...: run CMD in the background inside a namespace; WHERE
# is `h1`/`h2`/`h3`, `hN I`, `c I J`, `ul` or `ns NSNAME`. Output goes to
# $WT_TMP/NAME.log; the PID (also in $SPAWN_PID) and its start time go to
# $WT_TMP/NAME.pid, which is what cleanup and kill_spawned act on.
spawn() {
	local name=$1 ns pid st
	shift
	case ${1:-} in
	h[1-9]) ns=$(ns_host "${1#h}"); shift ;;
	hN) ns=$(ns_host "$2"); shift 2 ;;
	c) ns=$(ns_cont "$2" "$3"); shift 3 ;;
	ul) ns=$(ns_ul); shift ;;
	ns) ns=$2; shift 2 ;;
	*) fail "spawn $name: say where (h1, hN I, c I J, ul, ns NAME), got '${1:-}'" ;;
	esac
	wt_tmp
	if [ -f "$WT_TMP/$name.pid" ]; then
		read -r pid st <"$WT_TMP/$name.pid" || true
		if alive "$pid" "$st"; then
			fail "spawn $name: already running as PID $pid"
		fi
	fi
	ip netns exec "$ns" "$@" </dev/null >"$WT_TMP/$name.log" 2>&1 &
	pid=$!
	st=$(proc_stat "$pid" | awk '{ print $20 }') || st=
	printf '%s %s\n' "$pid" "${st:--}" >"$WT_TMP/$name.pid"
	grep -qx "$name" "$WT_TMP/spawned" 2>/dev/null || printf '%s\n' "$name" >>"$WT_TMP/spawned"
	SPAWN_PID=$pid
}

# expect DESC TEST...: run a test command; count a failure in FAILS but
# carry on, so one run shows every broken check at once (the script ends
# with `[ "$FAILS" = 0 ] || fail ...').
FAILS=0
expect() {
	local desc=$1
	shift
	if "$@"; then
		say "ok: $desc"
	else
		say "FAIL: $desc"
		FAILS=$((FAILS + 1))
	fi
}

# in_time: fail once the script has run $BUDGET seconds.
in_time() { [ "$SECONDS" -lt "$BUDGET" ] || fail "over the time budget (${SECONDS}s >= ${BUDGET}s)"; }

# test_tool NAME: the path of the test program NAME (tests/netns/NAME.c) in
# the build tree, beside $WEFTD's, or beside the script; empty when none is
# built.
test_tool() {
	local t
	for t in "${top_builddir:-}/tests/netns/$1" "$(dirname "$WEFTD")/../tests/netns/$1" \
		"$(cd "$(dirname "$0")" && pwd)/$1"; do
		if [ -x "$t" ]; then
			printf '%s\n' "$t"
			return 0
		fi
	done
}

# spawn_pid NAME: print the PID of a spawned process (fails if it has exited).
spawn_pid() {
	local pid st
	read -r pid st <"$WT_TMP/$1.pid" 2>/dev/null || return 1
	alive "$pid" "$st" || return 1
	printf '%s\n' "$pid"
}

# spawn_log NAME: print the path of a spawned process's log.
spawn_log() { printf '%s/%s.log\n' "$WT_TMP" "$1"; }

# kill_spawned NAME [SECS]: SIGTERM, wait up to SECS (5) seconds, then SIGKILL.
# Sets SPAWN_STATUS to its exit status (128+N if killed by signal N; 127 if
# it was not a child of this shell, i.e. spawned from a subshell). Returns 0.
kill_spawned() {
	local name=$1 secs=${2:-5} pid st n=0 rc=0
	SPAWN_STATUS=
	[ -n "$WT_TMP" ] && [ -f "$WT_TMP/$name.pid" ] || return 0
	read -r pid st <"$WT_TMP/$name.pid" || return 0
	if alive "$pid" "$st"; then
		kill -TERM "$pid" 2>/dev/null || true
		while [ $n -lt $((secs * 20)) ] && alive "$pid" "$st"; do
			sleep 0.05
			n=$((n + 1))
		done
		if alive "$pid" "$st"; then
			say "$name (PID $pid) ignored SIGTERM for ${secs}s; SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	# Reap it and get its status if it is our child (wait says 127 if not).
	wait "$pid" 2>/dev/null || rc=$?
	SPAWN_STATUS=$rc
	rm -f "$WT_TMP/$name.pid"
	return 0
}

# wait_for SECS CMD...: run CMD (output discarded) every 0.1 s until it
# succeeds; fail after SECS seconds. Keep CMD short (e.g. ping -c1 -W1).
wait_for() {
	local secs=$1 n=0 deadline
	shift
	deadline=$(($(date +%s%N) / 1000000 + secs * 1000))
	while [ $n -lt $((secs * 10 + 1)) ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		[ $(($(date +%s%N) / 1000000)) -lt "$deadline" ] || break
		sleep 0.1
		n=$((n + 1))
	done
	say "timed out after ${secs}s waiting for: $*"
	return 1
}

# ---- ping -D logs -----------------------------------------------------------

# now_s: the time now, in seconds since the epoch with ns digits (the clock
# ping -D stamps its lines with).
now_s() { date +%s.%N; }

# ms_between A B: (B - A) in whole milliseconds, A and B in seconds.
ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d\n", (b - a) * 1000 }'; }

# first_reply_after LOG T: the stamp of the first reply in the ping -D log
# LOG that arrived after T (empty if none).
first_reply_after() {
	awk -v t="$2" '/ bytes from / {
		ts = substr($1, 2, length($1) - 2)
		if (ts + 0 > t + 0) { print ts; exit }
	}' "$1"
}

# wait_reply_after LOG T SECS: wait up to SECS (whole seconds) for such a
# reply and print its stamp; polls every 0.05 s, at most SECS * 20 times.
wait_reply_after() {
	local n=0 ts
	while [ $n -lt $(($3 * 20)) ]; do
		ts=$(first_reply_after "$1" "$2")
		if [ -n "$ts" ]; then
			printf '%s\n' "$ts"
			return 0
		fi
		sleep 0.05
		n=$((n + 1))
	done
	return 1
}

# ---- topology ---------------------------------------------------------------

# topo_create [--hosts N] [--containers K] [--underlay-mtu M] [--mtu M]
#             [--no-bridge] [--bridge-nf keep|off]
#   --hosts 2|3 (2), --containers 1|2 (1), --underlay-mtu (1500), --mtu: the
#   containers' MTU (underlay − 77, weft's overhead: 1423 on 1500).
#   --no-bridge: leave weft0 to weftd (it creates it); call attach_containers
#   once it exists. Otherwise weft0 is created and the containers attached.
#   --bridge-nf off: net.bridge.bridge-nf-call-{ip,ip6,arp}tables = 0 in the
#   host and underlay namespaces (a bridge option cannot turn it off: the
#   kernel calls the hooks if the netns sysctl OR the bridge option is on).
topo_create() {
	local precreate=1 nf=keep i j mtu=
	WT_HOSTS=2
	WT_CONTAINERS=1
	WT_UL_MTU=1500
	while [ $# -gt 0 ]; do
		case $1 in
		--hosts) WT_HOSTS=$2; shift 2 ;;
		--containers) WT_CONTAINERS=$2; shift 2 ;;
		--underlay-mtu) WT_UL_MTU=$2; shift 2 ;;
		--mtu) mtu=$2; shift 2 ;;
		--no-bridge) precreate=0; shift ;;
		--bridge-nf) nf=$2; shift 2 ;;
		*) fail "topo_create: unknown option '$1'" ;;
		esac
	done
	case $WT_HOSTS in [1-9]) ;; *) fail "topo_create: --hosts 1..9" ;; esac
	case $WT_CONTAINERS in [1-9]) ;; *) fail "topo_create: --containers 1..9" ;; esac
	WT_MTU=${mtu:-$((WT_UL_MTU - 77))}
	wt_tmp

	local u h
	u=$(ns_ul)
	ip netns add "$u"
	ip -n "$u" link set lo up
	ip -n "$u" link add ul0 type bridge
	ip -n "$u" link set ul0 up
	[ "$nf" = keep ] || nf_off "$u"

	for ((i = 1; i <= WT_HOSTS; i++)); do
		h=$(ns_host "$i")
		ip netns add "$h"
		ip netns exec "$h" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 \
			net.ipv6.conf.default.accept_dad=0
		[ "$nf" = keep ] || nf_off "$h"
		ip -n "$h" link set lo up
		ip -n "$u" link add "h$i" mtu "$WT_UL_MTU" type veth peer name eth0 \
			address "$(printf '02:00:00:00:00:%02x' "$i")" mtu "$WT_UL_MTU" netns "$h"
		ip -n "$u" link set "h$i" master ul0 up
		ip netns exec "$h" sysctl -qw net.ipv6.conf.eth0.disable_ipv6=0
		ip -n "$h" addr add "$(host_ip "$i")/24" dev eth0
		ip -n "$h" addr add "$(host_ip6 "$i")/64" dev eth0 nodad
		ip -n "$h" link set eth0 up
		if [ $precreate = 1 ]; then
			ip -n "$h" link add "$WT_BRIDGE" address "$(printf '02:77:ff:00:00:%02x' "$i")" \
				type bridge
			ip -n "$h" link set "$WT_BRIDGE" up
		fi
		for ((j = 1; j <= WT_CONTAINERS; j++)); do
			local cn
			cn=$(ns_cont "$i" "$j")
			ip netns add "$cn"
			ip netns exec "$cn" sysctl -qw net.ipv6.conf.default.accept_dad=0
			ip -n "$cn" link set lo up
			ip -n "$h" link add "c$j" address "$(printf '02:77:01:00:%02x:%02x' "$i" "$j")" \
				mtu "$WT_MTU" type veth peer name eth0 address "$(cont_mac "$i" "$j")" \
				mtu "$WT_MTU" netns "$cn"
			ip -n "$cn" addr add "$(cont_ip "$i" "$j")/24" dev eth0
			ip -n "$cn" addr add "$(cont_ip6 "$i" "$j")/64" dev eth0 nodad
			ip -n "$cn" link set eth0 up
		done
	done
	if [ $precreate = 1 ]; then
		# shellcheck disable=SC2119 # all hosts
		attach_containers
	fi
}

# nf_off NS: no bridge netfilter hooks in that namespace (if br_netfilter is loaded).
nf_off() {
	local k
	for k in iptables ip6tables arptables; do
		if ip netns exec "$1" test -e "/proc/sys/net/bridge/bridge-nf-call-$k"; then
			ip netns exec "$1" sysctl -qw "net.bridge.bridge-nf-call-$k=0"
		fi
	done
}

# shellcheck disable=SC2120 # the hosts are optional
# attach_containers [I...]: on hosts I (default all), wait up to
# $WT_ATTACH_WAIT (10) s for the bridge, then enslave and raise the ports c<j>.
attach_containers() {
	local i j hosts
	if [ $# -gt 0 ]; then hosts=("$@"); else mapfile -t hosts < <(seq 1 "$WT_HOSTS"); fi
	for i in "${hosts[@]}"; do
		wait_for "${WT_ATTACH_WAIT:-10}" ip -n "$(ns_host "$i")" link show "$WT_BRIDGE" ||
			{ say "attach_containers: no bridge $WT_BRIDGE on host $i"; return 1; }
		for ((j = 1; j <= WT_CONTAINERS; j++)); do
			ip -n "$(ns_host "$i")" link set "c$j" master "$WT_BRIDGE" up
		done
	done
}

# set_container_mtu M: set every container's eth0 and its host-side port to M.
set_container_mtu() {
	local i j
	WT_MTU=$1
	for ((i = 1; i <= WT_HOSTS; i++)); do
		for ((j = 1; j <= WT_CONTAINERS; j++)); do
			ip -n "$(ns_host "$i")" link set "c$j" mtu "$1"
			ip -n "$(ns_cont "$i" "$j")" link set eth0 mtu "$1"
		done
	done
}

# ---- teardown ---------------------------------------------------------------

# topo_destroy: stop every spawned process (newest first), delete every
# namespace with our prefix. Keeps $WT_TMP (logs). Safe to call repeatedly.
topo_destroy() {
	local -
	set +e
	local names n ns
	if [ -n "$WT_TMP" ] && [ -f "$WT_TMP/spawned" ]; then
		names=$(tac "$WT_TMP/spawned")
		for n in $names; do
			kill_spawned "$n" 3
		done
		: >"$WT_TMP/spawned"
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		case $ns in
		"$WT_PREFIX"*) ip netns del "$ns" 2>/dev/null ;;
		esac
	done
	WT_HOSTS=0
	WT_CONTAINERS=0
	return 0
}

# cleanup: topo_destroy, then remove $WT_TMP if the lib made it (unless
# WT_KEEP_TMP=1).
cleanup() {
	topo_destroy
	if [ "$WT_TMP_OURS" = 1 ] && [ -n "$WT_TMP" ] && [ -d "$WT_TMP" ]; then
		if [ "${WT_KEEP_TMP:-0}" = 1 ]; then
			say "kept $WT_TMP"
		else
			rm -rf "$WT_TMP"
		fi
		WT_TMP=
		WT_TMP_OURS=0
	fi
	return 0
}

# install_trap: cleanup on exit (keeping the exit status) and on INT/TERM/HUP.
install_trap() {
	trap 'wt_exit_trap' EXIT
	trap 'exit 129' HUP
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
wt_exit_trap() {
	local rc=$?
	trap - EXIT
	[ "$rc" = 0 ] || [ "$rc" = 77 ] || dump_logs
	cleanup
	exit "$rc"
}
# dump_logs: the last WT_LOG_TAIL (40) lines of every spawned program's log
# on stderr, so a failed run's report says what the daemons saw before its
# temp dir goes.
dump_logs() {
	local f
	[ -n "$WT_TMP" ] && [ -d "$WT_TMP" ] || return 0
	for f in "$WT_TMP"/*.log; do
		[ -f "$f" ] || continue
		echo "---- last ${WT_LOG_TAIL:-40} lines of $(basename "$f")" >&2
		tail -n "${WT_LOG_TAIL:-40}" "$f" >&2
	done
}
