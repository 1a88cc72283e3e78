#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2016 # single-quoted awk, jq and sh programs
#
# overlay-bench.sh: weft against reference overlays, side by side in one run,
# on the same namespace topology (tests/netns/lib.sh): 2 hosts, 1 container
# each, a 1500-byte underlay (--underlay-mtu for another, e.g. 9000).
#
#   ns h1c1 ─veth─ weft0 ─ <overlay port> ═ 10.0.0.1 ─ ul0 ─ 10.0.0.2 ═ <overlay port> ─ weft0 ─veth─ ns h2c1
#   192.168.77.11                                                                               192.168.77.21
#
# Kinds: weft (weftd), weft-nosf (weftd with [socket] superframes = no), vxlan
# (kernel, unencrypted), tinc (1.0, switch mode), fastd (tap mode), openvpn
# (2.6, tap, TLS). Each gets a fresh topology. For each: the container MTU
# that overlay allows on a 1500 underlay, ping latency (avg, p99), iperf3 TCP
# throughput (median of N runs), TCP under underlay loss (--loss), iperf3
# 64-byte UDP rate at unlimited offered load (median) and where the lost
# datagrams went (the kernel's counters), and CPU seconds per GB: the overlay
# daemons' own utime+stime (both hosts) and the whole machine's busy time.
#
# Run as root; it is a benchmark, never part of `make check`. See README.md.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
WT_PREFIX=${WT_PREFIX:-wb$$-}
# shellcheck source=../netns/lib.sh
. "$here/../netns/lib.sh"

usage() {
	cat <<EOF
usage: $0 [options]
  --kinds LIST       comma-separated, from vxlan,tinc,fastd,openvpn,weft,weft-nosf
                     (default: all, in that order), and weft-base: a second
                     weftd (--weftd-base), to measure a change against its
                     baseline in the same run (with --interleave, block by
                     block)
  --runs N           iperf3 runs per test and round, median reported (3)
  --rounds R         repeat the whole sequence of kinds R times (1), so that
                     background load hits every kind alike; medians over all
  --seconds S        seconds per iperf3 run (5)
  --pings N          pings per round (100)
  --ping-interval MS milliseconds between pings (10); the daemons idle that
                     long before each one, so 1 shows a warm path and 10 or
                     more a cold one
  --tests LIST       comma-separated, from ping,tcp,udp,loaded,legs,pages
                     (default: ping,tcp,udp); e.g. --tests ping --rounds 4
                     --pings 300 for latency alone; loaded: the same pings
                     while one TCP stream from h1c1 to h2c1 fills the
                     overlay (what its queues add to a round trip under
                     load; --load-mbps caps the stream); legs: a ping's
                     round trip cut into
                     its seven legs by tcpdump on both containers and hosts
                     (medians, means, and weft's means minus the others');
                     pages: the memory pages each daemon touches while
                     pings run (its per-packet footprint, which sets what a
                     ping costs from cold caches and TLBs), counted by the
                     kernel's accessed bits, not timed
  --load-mbps N      with --tests loaded: the stream's rate in Mbit/s (0, the
                     default: as fast as the overlay carries it); a rate
                     every kind can carry compares the kinds at one load
  --load-streams N   with --tests loaded: that many TCP streams at once
                     (iperf3 -P N; 1), each at --load-mbps when it is set
  --weftd PATH       weftd binary (default: \$WEFTD, $top/build/daemon/weftd, PATH)
  --weftd-base PATH  the weftd of kind weft-base (e.g. a build of the commit
                     before a change)
  --weftctl PATH     weftctl binary (default: beside weftd, then as weftd is found)
  --tinc-cipher C    tinc Cipher (aes-128-cbc); Digest sha1, MACLength 4 (tinc 1.0's
                     default blowfish needs OpenSSL 3's legacy provider: without it
                     tinc sends every frame over its TCP meta connection)
  --fastd-method M   fastd method (salsa2012+umac)
  --loss LIST        also measure TCP with N % of the underlay's datagrams
                     dropped, for each N of the list (e.g. 0,1,5): the hosts'
                     eth0 segment everything (no GSO leaves a host, so a drop
                     is one datagram, as on a wire) and an nftables rule on
                     the underlay bridge drops N % (numgen random)
  --callgrind DIR    with --tests ping only: run every overlay daemon under
                     valgrind's callgrind, counting only while the pings run,
                     and report per ping and daemon the instructions and the
                     code that ran (64-byte lines, 4 KiB pages); the files
                     stay in DIR. Latency under valgrind means nothing: the
                     counts are the measurement
  --interleave       with --tests ping only: every kind's topology is up at
                     once and the pings run in --rounds blocks of --pings,
                     the kinds in turn (the order reversed every block), so
                     that the machine's drift between runs, which on a VM can
                     double a round trip, hits every kind alike; the report
                     adds weft's ratio per block (median, the blocks where
                     weft was lower, and that split's sign test p)
  --cpu-per-host     run host I's daemon and its container's processes (ping,
                     iperf3) on CPU I-1 alone, as if each host were a machine
                     of its own: with both hosts free to share every CPU, the
                     daemons of both hosts wait for each other on one CPU or
                     wake the other from idle, couplings two machines do not
                     have (docs/design.md, "Where an idle ping's round trip
                     waits"). Takes the first two CPUs the script may use
                     (its affinity); pick two cores, not SMT siblings, with
                     taskset -c on the script itself where that matters
  --underlay-mtu M   the hosts' eth0 and the underlay bridge at MTU M (1500);
                     each overlay gets the largest MTU it allows on it, as
                     on 1500 (tinc 1.0 at most 1500: frames of up to 1518
                     bytes unless built with jumbograms)
  --json FILE        also write the results as JSON
  --keep             keep the temp dir (configs, daemon logs, iperf3 JSON)
EOF
}

kinds=vxlan,tinc,fastd,openvpn,weft,weft-nosf
loss=
runs=3
rounds=1
seconds=5
pings=100
ping_ms=10
load_mbps=0
load_streams=1
tests=ping,tcp,udp
weftd_bin=${WEFTD:-}
weftd_base_bin=
weftctl_bin=${WEFTCTL:-}
tinc_cipher=aes-128-cbc
fastd_method=salsa2012+umac
json_out=
cg_dir=
interleave=0
cpu_per_host=0
ul_mtu=1500
while [ $# -gt 0 ]; do
	case $1 in
	--kinds) kinds=$2; shift 2 ;;
	--runs) runs=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--seconds) seconds=$2; shift 2 ;;
	--pings) pings=$2; shift 2 ;;
	--ping-interval) ping_ms=$2; shift 2 ;;
	--load-mbps) load_mbps=$2; shift 2 ;;
	--load-streams) load_streams=$2; shift 2 ;;
	--tests) tests=$2; shift 2 ;;
	--weftd) weftd_bin=$2; shift 2 ;;
	--weftd-base) weftd_base_bin=$2; shift 2 ;;
	--weftctl) weftctl_bin=$2; shift 2 ;;
	--tinc-cipher) tinc_cipher=$2; shift 2 ;;
	--fastd-method) fastd_method=$2; shift 2 ;;
	--json) json_out=$2; shift 2 ;;
	--callgrind) cg_dir=$2; shift 2 ;;
	--loss) loss=$2; shift 2 ;;
	--keep) WT_KEEP_TMP=1; shift ;;
	--interleave) interleave=1; shift ;;
	--cpu-per-host) cpu_per_host=1; shift ;;
	--underlay-mtu) ul_mtu=$2; shift 2 ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
for v in "$runs" "$rounds" "$seconds" "$pings" "$ping_ms"; do
	case $v in '' | *[!0-9]*) fail "--runs, --rounds, --seconds, --pings, --ping-interval take integers" ;; esac
	if [ "$v" -lt 1 ] || [ "$v" -gt 1000 ]; then fail "--runs, --rounds, --seconds, --pings, --ping-interval: 1..1000"; fi
done
case $ul_mtu in '' | *[!0-9]*) fail "--underlay-mtu: an MTU, 1280..65535" ;; esac
if [ "$ul_mtu" -lt 1280 ] || [ "$ul_mtu" -gt 65535 ]; then fail "--underlay-mtu: an MTU, 1280..65535"; fi
# allowed_cpus: the CPUs this script may run on (its affinity, which a
# cgroup's cpuset or a taskset may have narrowed), one number per line.
allowed_cpus() {
	local list part
	list=$(sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' /proc/self/status)
	for part in ${list//,/ }; do
		case $part in
		*-*) seq "${part%-*}" "${part#*-}" ;;
		*) echo "$part" ;;
		esac
	done
}
host_cpus=()
if [ "$cpu_per_host" = 1 ]; then
	require_cmd taskset
	mapfile -t host_cpus < <(allowed_cpus | head -n 2)
	[ "${#host_cpus[@]}" -ge 2 ] || fail "--cpu-per-host needs 2 CPUs, this script may use ${#host_cpus[@]}"
fi
# on_cpu I: sets ON_CPU to the words that run a command on host I's CPU
# (--cpu-per-host: the first and second CPUs this script may use), or to
# nothing.
on_cpu() {
	ON_CPU=()
	[ "$cpu_per_host" = 1 ] || return 0
	ON_CPU=(taskset -c "${host_cpus[$1 - 1]}")
}
# ping -i takes seconds; its -w deadline covers every ping plus 10 s.
ping_i=$(printf '%d.%03d' $((ping_ms / 1000)) $((ping_ms % 1000)))
ping_w=$((pings * ping_ms / 1000 + 10))

IFS=, read -ra test_list <<<"$tests"
[ "${#test_list[@]}" -gt 0 ] || fail "--tests: a comma-separated list of ping, tcp, udp"
for t in "${test_list[@]}"; do
	case $t in ping | tcp | udp | loaded | legs | pages) ;;
	*) fail "--tests: unknown test '$t' (ping, tcp, udp, loaded, legs, pages)" ;;
	esac
done
case $load_mbps in '' | *[!0-9]*) fail "--load-mbps: a rate in Mbit/s (0: unlimited)" ;; esac
case $load_streams in '' | *[!0-9]*) fail "--load-streams: a number of TCP streams, 1..128" ;; esac
if [ "$load_streams" -lt 1 ] || [ "$load_streams" -gt 128 ]; then fail "--load-streams: a number of TCP streams, 1..128"; fi
IFS=, read -ra loss_list <<<"$loss"
for v in "${loss_list[@]}"; do
	case $v in '' | *[!0-9]*) fail "--loss: percentages, 0..99" ;; esac
	[ "$v" -lt 100 ] || fail "--loss: percentages, 0..99"
done
[ "${#loss_list[@]}" = 0 ] || require_cmd nft ethtool
if [ -n "$cg_dir" ]; then
	[ "$tests" = ping ] || fail "--callgrind counts a ping's path: use it with --tests ping alone"
	[ "${#loss_list[@]}" = 0 ] || fail "--callgrind counts a ping's path: not with --loss"
	require_cmd valgrind callgrind_control
	mkdir -p "$cg_dir" || fail "--callgrind: cannot make $cg_dir"
	cg_dir=$(cd "$cg_dir" && pwd)
fi
if [ "$interleave" = 1 ]; then
	[ "$tests" = ping ] || fail "--interleave alternates pings: use it with --tests ping alone"
	[ -z "$cg_dir" ] || fail "--interleave: not with --callgrind (counts need no interleaving)"
	[ "${#loss_list[@]}" = 0 ] || fail "--interleave: not with --loss"
fi
# want TEST: TEST is one of the --tests.
want() { case ",$tests," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# find_bin NAME [EXPLICIT]: explicit path, else the build dir's, else PATH.
find_bin() {
	if [ -n "${2:-}" ]; then
		printf '%s\n' "$2"
	elif [ -x "$top/build/daemon/$1" ]; then
		printf '%s\n' "$top/build/daemon/$1"
	else
		command -v "$1" || true
	fi
}
weftd_bin=$(find_bin weftd "$weftd_bin")
# under_callgrind KIND HOST: sets VG to the words that start a daemon of KIND
# on HOST under callgrind (--callgrind), or to nothing. Instrumentation starts
# off, so the daemon starts at close to its own speed; cg_toggle turns it on
# for the pings alone.
under_callgrind() {
	VG=()
	[ -n "$cg_dir" ] || return 0
	VG=(valgrind --tool=callgrind --instr-atstart=no --compress-strings=no --compress-pos=no
		--dump-instr=yes "--callgrind-out-file=$cg_dir/$1-h$2-r$round.callgrind")
}
# weftctl: given, else the one beside weftd (the same build), else searched
# as weftd is.
if [ -z "$weftctl_bin" ] && [ -n "$weftd_bin" ] && [ -x "$(dirname "$weftd_bin")/weftctl" ]; then
	weftctl_bin=$(dirname "$weftd_bin")/weftctl
fi
weftctl_bin=$(find_bin weftctl "$weftctl_bin")

require_netns
require_cmd iperf3 jq ping awk ss timeout nstat
if want legs; then require_cmd tcpdump; fi
install_trap
# --interleave points WT_PREFIX at one kind's namespaces at a time; whenever
# the script exits, the lib's cleanup must see the prefix they all share.
base_prefix=$WT_PREFIX
bench_exit_trap() {
	local rc=$?
	trap - EXIT
	WT_PREFIX=$base_prefix
	cleanup
	exit "$rc"
}
trap bench_exit_trap EXIT
wt_tmp
clk_tck=$(getconf CLK_TCK)
srv_ip=$(cont_ip 2 1)

# ---- small helpers ----------------------------------------------------------

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

# median: of the numbers on stdin (mean of the middle two for an even count).
median() {
	grep . | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2]
		else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ticks NAME...: utime+stime (clock ticks) of the spawned daemons, summed.
ticks() {
	local n pid sum=0 f
	for n in "$@"; do
		pid=$(spawn_pid "$n") || continue
		read -ra f <<<"$(proc_stat "$pid")"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# busy: the whole machine's non-idle CPU ticks (all cores), from /proc/stat.
busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }

# frags: IPv4 fragments created + reassembled in the host namespaces; an
# overlay whose datagrams outgrow the underlay MTU shows up here.
frags() {
	local i s=0 v
	for i in 1 2; do
		v=$(hN "$i" awk '$1 == "Ip:" && !n { for (f = 2; f <= NF; f++) col[$f] = f; n = 1; next }
			$1 == "Ip:" { print $col["ReasmReqds"] + $col["FragCreates"]; exit }' /proc/net/snmp)
		s=$((s + v))
	done
	echo "$s"
}

# on_bridge I DEV: DEV is a port of the bridge on host I.
on_bridge() { ip -n "$(ns_host "$1")" link show dev "$2" 2>/dev/null | grep -q "master $WT_BRIDGE"; }

# listening: the iperf3 server in h2c1 accepts connections.
listening() { ip netns exec "$(ns_cont 2 1)" ss -Htln 'sport = :5201' | grep -q .; }

iperf_server() {
	on_cpu 2
	spawn "iperf-s$1" c 2 1 "${ON_CPU[@]}" iperf3 -s -1
	wait_for 5 listening
}

# iperf_client OUT ARGS...: one bounded iperf3 run from h1c1 into h2c1.
iperf_client() {
	local out=$1
	shift
	on_cpu 1
	timeout $((seconds + 20)) ip netns exec "$(ns_cont 1 1)" \
		"${ON_CPU[@]}" iperf3 -c "$srv_ip" -t "$seconds" -J "$@" >"$out" 2>&1
}

# tail_logs NAME...: show the end of spawned processes' logs (why it failed).
tail_logs() {
	local n
	for n in "$@"; do
		[ -s "$(spawn_log "$n")" ] || continue
		echo "---- $n:" >&2
		tail -n 8 "$(spawn_log "$n")" >&2
	done
}

# ---- the overlays -----------------------------------------------------------
# Each setup_<kind> builds the topology and its overlay and sets MTU, DAEMONS
# (spawn names whose CPU is counted), INFO (how it is configured); on failure it
# returns 1 with REASON set.

MTU=0
DAEMONS=()
INFO=
REASON=

setup_vxlan() {
	MTU=$((ul_mtu - 50)) # underlay - IPv4 20 - UDP 8 - VXLAN 8 - inner Ethernet 14
	INFO="kernel vxlan, id 42, UDP 4789, no encryption"
	topo_create --underlay-mtu "$ul_mtu" --mtu "$MTU" --bridge-nf off
	local i o
	for i in 1 2; do
		o=$((3 - i))
		hN "$i" ip link add vxlan0 mtu "$MTU" type vxlan id 42 local "$(host_ip "$i")" \
			dstport 4789 dev eth0
		hN "$i" bridge fdb append 00:00:00:00:00:00 dev vxlan0 dst "$(host_ip "$o")"
		hN "$i" ip link set vxlan0 master "$WT_BRIDGE" up
	done
}

# tinc 1.0 UDP packet: seqno(4) + frame, CBC-padded (PKCS#7, always 1..B
# bytes), then MACLength bytes of HMAC; + IPv4/UDP 28. Largest MTU that fits.
tinc_mtu() {
	local block=$1 mac=$2 m=$((ul_mtu < 1500 ? ul_mtu : 1500))
	while [ $m -gt 576 ]; do
		[ $((28 + ((4 + 14 + m) / block + 1) * block + mac)) -le "$ul_mtu" ] && break
		m=$((m - 1))
	done
	echo "$m"
}

setup_tinc() {
	command -v tincd >/dev/null 2>&1 || { REASON="tincd not found (Debian package tinc)"; return 1; }
	local block=16 d=$WT_TMP/tinc i o
	case $tinc_cipher in bf-* | blowfish) block=8 ;; esac
	MTU=$(tinc_mtu "$block" 4)
	INFO="tinc $(tincd --version | awk 'NR == 1 { print $3 }'), Mode = switch, Cipher = $tinc_cipher, Digest = sha1, MACLength = 4, PMTUDiscovery = no"
	topo_create --underlay-mtu "$ul_mtu" --mtu "$MTU" --bridge-nf off
	for i in 1 2; do
		o=$((3 - i))
		mkdir -p "$d/h$i/hosts"
		cat >"$d/h$i/tinc.conf" <<EOF
Name = h$i
Mode = switch
DeviceType = tap
Interface = tinc0
AddressFamily = ipv4
BindToAddress = $(host_ip "$i")
ConnectTo = h$o
EOF
		cat >"$d/h$i/tinc-up" <<EOF
#!/bin/sh
ip link set "\$INTERFACE" mtu $MTU master $WT_BRIDGE up
EOF
		chmod 755 "$d/h$i/tinc-up"
		timeout 60 tincd -c "$d/h$i" -K2048 </dev/null >"$d/keygen$i.log" 2>&1 ||
			{ REASON="tincd -K failed: $(tail -n 1 "$d/keygen$i.log")"; return 1; }
		# PMTU discovery off: frames are sent over UDP from the first one
		# (with it on, tinc 1.0 sends frames larger than the PMTU found so
		# far over its TCP meta connection until discovery converges).
		cat >>"$d/h$i/hosts/h$i" <<EOF
Address = $(host_ip "$i")
Port = 655
Cipher = $tinc_cipher
Digest = sha1
MACLength = 4
Compression = 0
PMTUDiscovery = no
EOF
	done
	for i in 1 2; do
		cp "$d/h$i/hosts/h$i" "$d/h$((3 - i))/hosts/h$i"
	done
	for i in 1 2; do
		under_callgrind tinc "$i"
		on_cpu "$i"
		spawn "tinc$i" h$i "${ON_CPU[@]}" "${VG[@]}" tincd -D -d1 -c "$d/h$i" --pidfile="$d/h$i/tinc.pid"
		DAEMONS+=("tinc$i")
	done
	for i in 1 2; do
		wait_for 10 on_bridge "$i" tinc0 || { REASON="tinc0 not on the bridge of host $i"; return 1; }
	done
}

# tinc 1.0 falls back to its TCP meta connection when it cannot set up the
# UDP cipher (e.g. blowfish under OpenSSL 3): connectivity, but not the path
# meant to be measured.
check_tinc() {
	if grep -q 'Error during initialisation of key' "$(spawn_log tinc1)" "$(spawn_log tinc2)"; then
		REASON="tinc cannot use Cipher = $tinc_cipher here ($(grep -h -m1 'Error during init' \
			"$(spawn_log tinc1)" "$(spawn_log tinc2)" | head -n 1 | sed 's/.*: error:/error:/')): frames would go over TCP"
		return 1
	fi
}

setup_fastd() {
	command -v fastd >/dev/null 2>&1 || { REASON="fastd not found (Debian package fastd)"; return 1; }
	local d=$WT_TMP/fastd i o sec pub
	MTU=$((ul_mtu - 66)) # fastd docs: underlay - IPv4/UDP 28 - method 24 - tap Ethernet 14
	INFO="$(fastd --version 2>&1 | head -n 1), mode tap, method \"$fastd_method\""
	topo_create --underlay-mtu "$ul_mtu" --mtu "$MTU" --bridge-nf off
	mkdir -p "$d"
	for i in 1 2; do
		timeout 30 fastd --generate-key </dev/null >"$d/key$i" 2>/dev/null ||
			{ REASON="fastd --generate-key failed"; return 1; }
	done
	for i in 1 2; do
		o=$((3 - i))
		sec=$(awk '/^Secret:/ { print $2 }' "$d/key$i")
		pub=$(awk '/^Public:/ { print $2 }' "$d/key$o")
		cat >"$d/h$i.conf" <<EOF
log level verbose;
interface "fastd0";
mode tap;
method "$fastd_method";
bind $(host_ip "$i"):10000;
secret "$sec";
mtu $MTU;
on up "ip link set \$INTERFACE master $WT_BRIDGE up";
peer "h$o" {
	key "$pub";
EOF
		# Only h1 initiates: when both sides handshake at once, fastd 22
		# can settle on crossed sessions that carry nothing until the next
		# handshake, ~20 s later.
		if [ "$i" = 1 ]; then
			printf '\tremote %s:10000;\n' "$(host_ip "$o")" >>"$d/h$i.conf"
		fi
		printf '}\n' >>"$d/h$i.conf"
	done
	for i in 2 1; do
		under_callgrind fastd "$i"
		on_cpu "$i"
		spawn "fastd$i" h$i "${ON_CPU[@]}" "${VG[@]}" fastd -c "$d/h$i.conf"
		DAEMONS+=("fastd$i")
		wait_for 5 grep -q 'bound to' "$(spawn_log "fastd$i")" || true
	done
	for i in 1 2; do
		wait_for 10 on_bridge "$i" fastd0 || { REASON="fastd0 not on the bridge of host $i"; return 1; }
	done
}

setup_openvpn() {
	command -v openvpn >/dev/null 2>&1 || { REASON="openvpn not found"; return 1; }
	command -v openssl >/dev/null 2>&1 || { REASON="openssl not found (certificates)"; return 1; }
	local d=$WT_TMP/openvpn i o role fp
	# P_DATA_V2: opcode+peer-id 4, packet-id 4, GCM tag 16; + IPv4/UDP 28,
	# + the tap's Ethernet header 14.
	MTU=$((ul_mtu - 28 - 24 - 14))
	INFO="$(openvpn --version | awk 'NR == 1 { print $1, $2 }'), dev-type tap, p2p TLS (self-signed certs, --peer-fingerprint), AES-128-GCM, mssfix 0"
	topo_create --underlay-mtu "$ul_mtu" --mtu "$MTU" --bridge-nf off
	mkdir -p "$d"
	for i in 1 2; do
		timeout 30 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-keyout "$d/h$i.key" -out "$d/h$i.crt" -days 2 -subj "/CN=h$i" \
			>"$d/openssl$i.log" 2>&1 || { REASON="openssl req failed"; return 1; }
	done
	printf '#!/bin/sh\nip link set "$1" master %s up\n' "$WT_BRIDGE" >"$d/up.sh"
	chmod 755 "$d/up.sh"
	for i in 1 2; do
		o=$((3 - i))
		role=tls-client
		[ "$i" = 1 ] && role=tls-server
		fp=$(openssl x509 -in "$d/h$o.crt" -noout -fingerprint -sha256 | sed 's/.*=//')
		cat >"$d/h$i.conf" <<EOF
dev ovpn0
dev-type tap
proto udp
local $(host_ip "$i")
lport 1194
remote $(host_ip "$o") 1194
rport 1194
$role
dh none
cert $d/h$i.crt
key $d/h$i.key
peer-fingerprint $fp
data-ciphers AES-128-GCM
tun-mtu $MTU
mssfix 0
disable-dco
script-security 2
up $d/up.sh
verb 3
EOF
	done
	for i in 1 2; do
		under_callgrind openvpn "$i"
		on_cpu "$i"
		spawn "openvpn$i" h$i "${ON_CPU[@]}" "${VG[@]}" openvpn --config "$d/h$i.conf"
		DAEMONS+=("openvpn$i")
	done
	for i in 1 2; do
		wait_for 20 grep -q 'Initialization Sequence Completed' "$(spawn_log "openvpn$i")" ||
			{ REASON="openvpn on host $i did not complete its initialisation"; return 1; }
		wait_for 5 on_bridge "$i" ovpn0 || { REASON="ovpn0 not on the bridge of host $i"; return 1; }
	done
}

# bridge_or_dead I NAME: weftd NAME on host I has made its bridge, or has exited.
bridge_or_dead() {
	ip -n "$(ns_host "$1")" link show "$WT_BRIDGE" >/dev/null 2>&1 || ! spawn_pid "$2" >/dev/null
}

# setup_weft SUPERFRAMES NAME BINARY
setup_weft() {
	local sf=$1 name=$2 bin=$3 i o d
	if [ -z "$bin" ] || [ ! -x "$bin" ]; then
		REASON="no weftd binary; build it or pass --weftd (--weftd-base for weft-base)"
		return 1
	fi
	d=$WT_TMP/$name
	MTU=$((ul_mtu - 77)) # underlay - IPv4/UDP 28 - header/index/counter 16 - tag 16 - record 3 - Ethernet 14
	INFO="weftd $bin, bridge created by weftd, mtu = auto, superframes = $sf"
	topo_create --underlay-mtu "$ul_mtu" --mtu "$MTU" --no-bridge --bridge-nf off
	mkdir -p "$d"
	(umask 077 && timeout 10 "$bin" genpsk >"$d/secret") 2>"$d/genpsk.log" ||
		{ REASON="weftd genpsk failed: $(tail -n 1 "$d/genpsk.log")"; return 1; }
	for i in 1 2; do
		o=$((3 - i))
		cat >"$d/h$i.conf" <<EOF
[network]
name = bench
secret_file = $d/secret
private_key_file = $d/h$i.key
members_file =
banned_file =
timestamps_file =
listen = $(host_ip "$i"):6783
bridge = $WT_BRIDGE
mtu = auto

[socket]
superframes = $sf

[control]
socket = $d/h$i.sock

[peer "h$o"]
endpoint = $(host_ip "$o"):6783
EOF
	done
	# Spawn names per kind (weft1, weft-nosf1), so that both kinds can run at
	# once (--interleave).
	for i in 1 2; do
		under_callgrind "$name" "$i"
		on_cpu "$i"
		spawn "$name$i" h$i "${ON_CPU[@]}" "${VG[@]}" "$bin" -c "$d/h$i.conf"
		DAEMONS+=("$name$i")
	done
	for i in 1 2; do
		if ! wait_for 10 bridge_or_dead "$i" "$name$i" ||
			! ip -n "$(ns_host "$i")" link show "$WT_BRIDGE" >/dev/null 2>&1; then
			if spawn_pid "$name$i" >/dev/null; then
				REASON="weftd on host $i made no bridge $WT_BRIDGE in 10 s"
			else
				REASON="weftd failed to start: $(tail -n 1 "$(spawn_log "$name$i")")"
			fi
			return 1
		fi
		if [ -n "$weftctl_bin" ] && [ -x "$weftctl_bin" ]; then
			wait_for 5 "$weftctl_bin" -s "$d/h$i.sock" status ||
				log "weft: weftctl status on host $i does not answer (measuring anyway)"
		elif [ "$i" = 1 ]; then
			log "weft: no weftctl (--weftctl): weft's own counters, its rings' drops among them, read 0"
		fi
	done
	attach_containers || { REASON="containers could not be attached"; return 1; }
	WEFT_DIR=$d
}

setup_kind() {
	case $1 in
	weft) setup_weft yes weft "$weftd_bin" ;;
	weft-nosf) setup_weft no weft-nosf "$weftd_bin" ;;
	weft-base) setup_weft yes weft-base "$weftd_base_bin" ;;
	*) "setup_$1" ;;
	esac
}

# ---- underlay loss ----------------------------------------------------------
# loss_on PCT: every host's eth0 segments what it sends (UDP GSO, tunnel GSO:
# on a wire each datagram is lost alone, never 64 at once), and the underlay
# bridge drops PCT % of what it forwards. loss_off undoes both.
loss_on() {
	local i f
	for i in 1 2; do
		f=$(hN "$i" ethtool -k eth0 | awk -F': ' '
			/^[ \t]+tx-[a-z0-9_-]*(segmentation|gso-list): on$/ { sub(/^[ \t]+/, "", $1); print $1 }')
		printf '%s\n' "$f" >"$WT_TMP/gso_on.h$i"
		for f in $f; do
			hN "$i" ethtool -K eth0 "$f" off >/dev/null 2>&1 || true
		done
	done
	ul nft -f - <<EOF
table bridge wtloss {
	chain forward {
		type filter hook forward priority 0; policy accept;
		numgen random mod 100 < $1 drop
	}
}
EOF
}

loss_off() {
	local i f
	ul nft delete table bridge wtloss 2>/dev/null || true
	for i in 1 2; do
		[ -f "$WT_TMP/gso_on.h$i" ] || continue
		while read -r f; do
			[ -z "$f" ] || hN "$i" ethtool -K eth0 "$f" on </dev/null >/dev/null 2>&1 || true
		done <"$WT_TMP/gso_on.h$i"
	done
}

# ---- where 64-byte datagrams are lost ------------------------------------------

# nstat_abs NS NAME: the kernel's counter NAME in namespace NS (absolute).
nstat_abs() {
	ip netns exec "$1" nstat -az "$2" 2>/dev/null |
		awk -v k="$2" '$1 == k { v = $2 } END { print v + 0 }'
}

# weft_counter I JQPATH: a counter of weftd on host I (0 when not weft).
weft_counter() {
	if [ -z "${WEFT_DIR:-}" ] || [ -z "$weftctl_bin" ] || [ ! -x "$weftctl_bin" ]; then
		echo 0
		return
	fi
	"$weftctl_bin" -s "$WEFT_DIR/h$1.sock" status --json 2>/dev/null | jq "$2 // 0" || echo 0
}

# loss_points: the counters that say where a datagram from h1c1 to h2c1 was
# lost: the receiving iperf3's socket (h2c1 UdpRcvbufErrors), the overlay's
# receiving socket (h2 UdpRcvbufErrors), the sender's socket (h1c1
# UdpSndbufErrors) and, for weft, its rings (h1's capture ring full, h2's
# inject ring full).
loss_points() {
	printf '%s %s %s %s\n' "$(nstat_abs "$(ns_cont 2 1)" UdpRcvbufErrors)" \
		"$(nstat_abs "$(ns_host 2)" UdpRcvbufErrors)" \
		"$(nstat_abs "$(ns_cont 1 1)" UdpSndbufErrors)" \
		$(($(weft_counter 1 .capture.kernel_drops) + $(weft_counter 2 .inject.ring_full)))
}

# ---- measuring --------------------------------------------------------------
# One round of one kind appends its raw numbers under $WT_TMP/raw/KIND/:
#   ping   one RTT (ms) per line
#   tcp    Mbit/s, bytes received, daemon ticks, machine busy ticks (one per run)
#   udp    received kpps, loss % (one per run)
#   pages  pages each daemon touched in 100 ms of pings (pages_touched)
#   warn   anything suspicious (one per line)

# ping_legs DIR: $pings pings h1c1 -> h2c1 with tcpdump on both containers'
# eth0 and both hosts' underlay eth0 (each direction apart), then one line
# per complete round trip, the seven legs in µs:
#   h1 out   request leaves h1c1 -> its datagram leaves h1 (h1's daemon)
#   wire     -> arrives at h2 (underlay)
#   h2 in    -> the request reaches h2c1 (h2's daemon)
#   reply    -> h2c1's reply leaves (the container's kernel)
#   h2 out   -> its datagram leaves h2 (h2's daemon)
#   wire     -> arrives at h1
#   h1 in    -> the reply reaches h1c1 (h1's daemon)
# Each stamp is the kernel's (the packet taps'), so tcpdump's own wake-ups
# add nothing to them; its buffers are read once a second (no immediate
# mode), which keeps it off the CPUs while the pings run.
ping_legs() {
	local dir=$1 n
	mkdir -p "$dir"
	spawn legs-c1 c 1 1 tcpdump -i eth0 -n -tt -l icmp
	spawn legs-c2 c 2 1 tcpdump -i eth0 -n -tt -l icmp
	spawn legs-h1o hN 1 tcpdump -i eth0 -Q out -n -tt -l udp
	spawn legs-h1i hN 1 tcpdump -i eth0 -Q in -n -tt -l udp
	spawn legs-h2o hN 2 tcpdump -i eth0 -Q out -n -tt -l udp
	spawn legs-h2i hN 2 tcpdump -i eth0 -Q in -n -tt -l udp
	sleep 1
	on_cpu 1
	c 1 1 "${ON_CPU[@]}" ping -c "$pings" -i "$ping_i" -W 1 -w "$ping_w" "$srv_ip" >"$dir/ping.txt" 2>&1 || true
	sleep 2 # tcpdump reads its ring once a second
	for n in c1 c2 h1o h1i h2o h2i; do
		kill_spawned "legs-$n" 2
		cp "$(spawn_log "legs-$n")" "$dir/$n.txt"
	done
	# One time line: A request out of h1c1, D in at h2c1, E reply out of
	# h2c1, H in at h1c1; B/G h1's datagrams out/in, F/C h2's out/in.
	{
		awk '/echo request/ { print $1, "A" } /echo reply/ { print $1, "H" }' "$dir/c1.txt"
		awk '/echo request/ { print $1, "D" } /echo reply/ { print $1, "E" }' "$dir/c2.txt"
		awk '/UDP|udp/ { print $1, "B" }' "$dir/h1o.txt"
		awk '/UDP|udp/ { print $1, "G" }' "$dir/h1i.txt"
		awk '/UDP|udp/ { print $1, "F" }' "$dir/h2o.txt"
		awk '/UDP|udp/ { print $1, "C" }' "$dir/h2i.txt"
	} | sort -g -k1,1 | awk '
		# Each stage takes the first event of its kind after the previous
		# stage; a request starts over. Pings are --ping-interval apart
		# (1 ms or more) and a round trip is well under that, so round
		# trips never overlap.
		$2 == "A" { st = 1; t["A"] = $1; next }
		st == 1 && $2 == "B" { st = 2; t["B"] = $1; next }
		st == 2 && $2 == "C" { st = 3; t["C"] = $1; next }
		st == 3 && $2 == "D" { st = 4; t["D"] = $1; next }
		st == 4 && $2 == "E" { st = 5; t["E"] = $1; next }
		st == 5 && $2 == "F" { st = 6; t["F"] = $1; next }
		st == 6 && $2 == "G" { st = 7; t["G"] = $1; next }
		st == 7 && $2 == "H" { st = 0
			printf "%.0f %.0f %.0f %.0f %.0f %.0f %.0f\n",
				(t["B"] - t["A"]) * 1e6, (t["C"] - t["B"]) * 1e6, (t["D"] - t["C"]) * 1e6,
				(t["E"] - t["D"]) * 1e6, (t["F"] - t["E"]) * 1e6, (t["G"] - t["F"]) * 1e6,
				($1 - t["G"]) * 1e6 }' | grep .
}

# PAGE_CLASSES: what pages_referenced counts, in its order.
PAGE_CLASSES="total code rodata heap writable shared stack"

# pages_referenced PID: the pages (4 KiB) of PID's own mappings whose
# accessed bit is set: total, then the daemon binary's code, its read-only
# data, heap, other private writable memory (anonymous mappings, every
# object's .data and .bss), shared mappings (AF_PACKET rings), stack.
# /proc/PID/smaps' Referenced: counts what clear_refs cleared. Shared
# libraries' code and read-only data are left out: the kernel also marks
# their pages referenced when any other process maps them (every command
# this script starts does), so their count is not the daemon's. A daemon
# that links its crypto and event loop statically shows them as its code.
pages_referenced() {
	local exe
	exe=$(readlink "/proc/$1/exe") || return 1
	awk -v exe="$exe" '
		/^[0-9a-f]+-[0-9a-f]+ / {
			perm = $2; name = $6
			if (name == "[heap]") c = "heap"
			else if (name == "[stack]") c = "stack"
			else if (perm ~ /s/) c = "shared"
			else if (perm ~ /w/) c = "writable"
			else if (name == exe) c = (perm ~ /x/ ? "code" : "rodata")
			else c = ""
			next
		}
		/^Referenced:/ && c != "" { kb[c] += $2; t += $2 }
		END { printf "%d %d %d %d %d %d %d\n", t / 4, kb["code"] / 4, kb["rodata"] / 4,
			kb["heap"] / 4, kb["writable"] / 4, kb["shared"] / 4, kb["stack"] / 4 }
	' "/proc/$1/smaps"
}

# pages_touched: while $pings pings run from h1c1 to h2c1, windows of 100 ms
# (about 100 / --ping-interval pings): clear every daemon's accessed bits,
# wait, count them (pages_referenced). One line per daemon and window. The
# same pages serve every ping, so a window counts the per-packet footprint
# once, plus the ring slots of its pings and any timer that fell in it.
# The window itself starts no process (the wait is a read with a timeout
# on a FIFO nobody writes), so nothing but the daemons runs their pages.
pages_touched() {
	local n pid w pids=() ping_pid fifo=$WT_TMP/pages.fifo fd
	for n in "${DAEMONS[@]}"; do
		pid=$(spawn_pid "$n") && pids+=("$pid")
	done
	[ "${#pids[@]}" -gt 0 ] || return 0
	[ -p "$fifo" ] || mkfifo "$fifo"
	exec {fd}<>"$fifo"
	on_cpu 1
	c 1 1 "${ON_CPU[@]}" ping -c "$pings" -i "$ping_i" -W 1 -w "$ping_w" "$srv_ip" >/dev/null 2>&1 &
	ping_pid=$!
	sleep 0.5
	for ((w = 0; w < 20; w++)); do
		kill -0 "$ping_pid" 2>/dev/null || break
		for pid in "${pids[@]}"; do echo 1 >"/proc/$pid/clear_refs" 2>/dev/null || true; done
		read -r -t 0.1 -u "$fd" _ || true
		kill -0 "$ping_pid" 2>/dev/null || break
		for pid in "${pids[@]}"; do pages_referenced "$pid" || true; done
		sleep 0.2
	done
	exec {fd}>&-
	wait "$ping_pid" || true
}

# pages_medians FILE: the median of each column of pages_touched's lines.
pages_medians() {
	local i out="" cl
	read -ra cl <<<"$PAGE_CLASSES"
	for i in "${!cl[@]}"; do
		out="$out${out:+, }${cl[$i]} $(awk -v i=$((i + 1)) '{ print $i }' "$1" | median)"
	done
	printf '%s; %d windows\n' "$out" "$(wc -l <"$1")"
}

# legs_means FILE: the mean of each leg's column, µs, seven words. A leg is
# bimodal on a 2-CPU VM (the next daemon woken on the same CPU or the other),
# so the median of one kind can sit in one mode and another's in the other;
# the means compare the legs of two kinds fairly.
legs_means() {
	awk '{ for (i = 1; i <= 7; i++) s[i] += $i; n++ }
		END { if (n) for (i = 1; i <= 7; i++) printf "%.1f%s", s[i] / n, i < 7 ? " " : "\n" }' "$1"
}

# legs_named V1 .. V7: the seven legs with their values, in ping_legs' order.
legs_named() {
	printf 'h1 out %s, wire %s, h2 in %s, reply %s, h2 out %s, wire %s, h1 in %s' "$@"
}

# legs_medians FILE: the median of each leg's column and of their sum.
legs_medians() {
	local i out=
	for i in 1 2 3 4 5 6 7; do
		out="$out $(awk -v i=$i '{ print $i }' "$1" | median)"
	done
	# shellcheck disable=SC2086 # $out is the seven medians, one word each
	printf '%s; sum %s; %d round trips\n' "$(legs_named $out)" \
		"$(awk '{ print $1 + $2 + $3 + $4 + $5 + $6 + $7 }' "$1" | median)" "$(wc -l <"$1")"
}

# cg_toggle on|off: callgrind's instrumentation of every daemon (--callgrind).
cg_toggle() {
	local n pid
	[ -n "$cg_dir" ] || return 0
	for n in "${DAEMONS[@]}"; do
		pid=$(spawn_pid "$n") || continue
		timeout 20 callgrind_control -i "$1" "$pid" >/dev/null 2>&1 ||
			log "callgrind_control -i $1 $n (PID $pid) failed"
	done
}

# cg_summarise KIND: after its daemons have exited, one line per daemon of
# this round to $cg_dir/summary.txt: kind, round, host, then what
# callgrind-per-ping.awk prints.
cg_summarise() {
	local f h line
	[ -n "$cg_dir" ] || return 0
	for f in "$cg_dir/$1-h"*"-r$round.callgrind"; do
		[ -s "$f" ] || continue
		h=${f##*/"$1"-h}
		h=${h%%-*}
		line=$(awk -v pings="$pings" -f "$here/callgrind-per-ping.awk" "$f") || continue
		printf '%s %s %s %s\n' "$1" "$round" "$h" "$line" >>"$cg_dir/summary.txt"
		log "$1: host $h, per ping: $line (instructions, code lines, code pages, instructions by object)"
	done
}

# ready KIND: the overlay just set up carries frames (on failure: REASON,
# status 1); records its MTU, configuration and daemon count under raw/KIND.
ready() {
	local k=$1 raw=$WT_TMP/raw/$1 out=$WT_TMP/$1
	mkdir -p "$raw" "$out"
	if ! wait_for 30 ip netns exec "$(ns_cont 1 1)" ping -c1 -W1 "$srv_ip"; then
		REASON="no connectivity between the containers within 30 s"
		return 1
	fi
	if declare -F "check_$k" >/dev/null && ! "check_$k"; then
		return 1
	fi
	printf '%s\n' "$MTU" >"$raw/mtu"
	printf '%s\n' "$INFO" >"$raw/info"
	printf '%s\n' "${#DAEMONS[@]}" >"$raw/ndaemons"
	if ! c 1 1 ping -c 3 -i 0.2 -W 1 -M "do" -s $((MTU - 28)) "$srv_ip" >/dev/null 2>&1; then
		echo "full-size ($MTU) ping with DF failed" >>"$raw/warn"
		log "$k: WARNING: full-size ($MTU) ping with DF failed"
	fi
}

# ping_times OUT: --pings pings from h1c1 to h2c1 at --ping-interval, ping's
# output in OUT; prints each round trip's time (ms), one per line.
ping_times() {
	on_cpu 1
	c 1 1 "${ON_CPU[@]}" ping -c "$pings" -i "$ping_i" -W 1 -w "$ping_w" "$srv_ip" >"$1" 2>&1 || true
	sed -n 's/.* time=\([0-9.]*\) ms.*/\1/p' "$1"
}

# measure KIND: ping, TCP and 64-byte UDP between h1c1 and h2c1.
measure() {
	local k=$1 raw=$WT_TMP/raw/$1 out=$WT_TMP/$1 r t0 t1 b0 b1 f0 f1 res
	ready "$k" || return 1
	f0=$(frags)

	# Latency: the per-ping times.
	if want ping; then
		cg_toggle on
		ping_times "$out/ping$round.txt" >>"$raw/ping"
		cg_toggle off
		log "$k: ping: $(tail -n 1 "$out/ping$round.txt")"
	fi

	# Latency under load: the same pings while one TCP stream from h1c1
	# (--load-streams of them) fills the overlay toward h2c1, from a second
	# after its start (past slow start) to a second or so before its end.
	# Each request waits behind the stream's data in every queue on the way
	# (capture ring or TAP queue, the daemon's batches, sockets), each reply
	# behind its ACKs.
	if want loaded; then
		local ld_s=$((pings * ping_ms / 1000 + 3)) ld=iperf-c$k-loaded$round
		iperf_server "$k-loaded$round"
		on_cpu 1
		spawn "$ld" c 1 1 "${ON_CPU[@]}" timeout $((ld_s + 20)) iperf3 -c "$srv_ip" -t "$ld_s" -b "${load_mbps}M" \
			-P "$load_streams" -J
		sleep 1
		ping_times "$out/loadedping$round.txt" >>"$raw/loaded"
		wait_for $((ld_s + 25)) sh -c "! kill -0 $(spawn_pid "$ld") 2>/dev/null" || true
		kill_spawned "$ld" 2
		kill_spawned "iperf-s$k-loaded$round" 2
		res=$(jq -r '.end.sum_received | select(.bytes != null) | .bits_per_second / 1e5 | round / 10' \
			"$(spawn_log "$ld")" 2>/dev/null || true)
		[ -z "$res" ] || echo "$res" >>"$raw/loadedtcp"
		log "$k: ping under load (TCP ${res:-failed} Mbit/s): $(tail -n 1 "$out/loadedping$round.txt")"
	fi

	# Where a ping's round trip goes: each leg timed by the kernel's own
	# stamps on the containers' and hosts' interfaces.
	if want legs; then
		ping_legs "$out/legs$round" >>"$raw/legs" || log "$k: ping legs: no complete round trip"
		[ ! -s "$raw/legs" ] || log "$k: ping legs (median µs so far): $(legs_medians "$raw/legs")"
	fi

	# The pages each daemon touches while pings run.
	if want pages && [ "${#DAEMONS[@]}" -gt 0 ]; then
		pages_touched >>"$raw/pages"
		[ ! -s "$raw/pages" ] || log "$k: pages per daemon and 100 ms of pings (median so far): $(pages_medians "$raw/pages")"
	fi

	# TCP: daemon CPU and machine busy time around each run.
	for ((r = 1; r <= runs; r++)); do
		want tcp || break
		iperf_server "$k-tcp$round.$r"
		t0=$(ticks "${DAEMONS[@]}")
		b0=$(busy)
		iperf_client "$out/tcp$round.$r.json" || true
		t1=$(ticks "${DAEMONS[@]}")
		b1=$(busy)
		kill_spawned "iperf-s$k-tcp$round.$r" 2
		res=$(jq -r '.end.sum_received | select(.bytes != null) |
			"\(.bits_per_second / 1e5 | round / 10) \(.bytes)"' "$out/tcp$round.$r.json" 2>/dev/null || true)
		if [ -z "$res" ]; then
			log "$k: TCP run $r failed: $(tail -c 300 "$out/tcp$round.$r.json" | tr '\n' ' ')"
			continue
		fi
		printf '%s %s %s %s\n' "$res" $((t1 - t0)) $((b1 - b0)) "$round" >>"$raw/tcp"
		log "$k: TCP run $r/$runs: ${res% *} Mbit/s"
	done

	# TCP again under underlay loss, each level in turn.
	local l
	for l in "${loss_list[@]}"; do
		want tcp || break
		loss_on "$l"
		for ((r = 1; r <= runs; r++)); do
			iperf_server "$k-loss$l.$round.$r"
			iperf_client "$out/loss$l.$round.$r.json" || true
			kill_spawned "iperf-s$k-loss$l.$round.$r" 2
			res=$(jq -r '.end | select(.sum_received.bytes != null) |
				"\(.sum_received.bits_per_second / 1e5 | round / 10) \(.sum_sent.retransmits)"' \
				"$out/loss$l.$round.$r.json" 2>/dev/null || true)
			[ -n "$res" ] || { log "$k: TCP run at $l % loss failed"; continue; }
			printf '%s\n' "$res" >>"$raw/loss$l"
			log "$k: TCP at $l % loss, run $r/$runs: ${res% *} Mbit/s, ${res#* } retransmits"
		done
		loss_off
	done

	# 64-byte UDP at unlimited offered rate: received datagrams/s and loss,
	# and the kernel's and weft's counters of where the lost ones went.
	for ((r = 1; r <= runs; r++)); do
		want udp || break
		local p0 p1
		iperf_server "$k-udp$round.$r"
		p0=$(loss_points)
		iperf_client "$out/udp$round.$r.json" -u -l 64 -b 0 || true
		kill_spawned "iperf-s$k-udp$round.$r" 2
		p1=$(loss_points)
		res=$(jq -r '.end.sum_received | select(.packets != null) |
			"\((.packets - .lost_packets) / .seconds / 100 | round / 10) \(.lost_percent * 100 | round / 100) \(.lost_packets)"' \
			"$out/udp$round.$r.json" 2>/dev/null || true)
		if [ -z "$res" ]; then
			log "$k: UDP run $r failed: $(tail -c 300 "$out/udp$round.$r.json" | tr '\n' ' ')"
			continue
		fi
		printf '%s\n' "${res% *}" >>"$raw/udp"
		# lost, then the deltas: receiver socket, overlay socket, sender socket, weft rings
		awk -v lost="${res##* }" -v a="$p0" -v b="$p1" 'BEGIN { split(a, x); split(b, y)
			printf "%d %d %d %d %d\n", lost, y[1] - x[1], y[2] - x[2], y[3] - x[3], y[4] - x[4] }' \
			>>"$raw/udploss"
		log "$k: 64B UDP run $r/$runs: ${res%% *} kpps received, $(echo "$res" | cut -d' ' -f2) % lost;" \
			"lost at: $(tail -n 1 "$raw/udploss" | awk '{ printf "receiver socket %d, overlay socket %d, sender socket %d, weft rings %d of %d", $2, $3, $4, $5, $1 }')"
	done
	f1=$(frags)
	if [ "$f1" -gt "$f0" ]; then
		echo "underlay IP fragmentation seen" >>"$raw/warn"
		log "$k: WARNING: underlay IP fragments: $((f1 - f0))"
	fi
}

# cg_median KIND FIELD: the median of one column of $cg_dir/summary.txt over
# KIND's daemons (both hosts, every round).
cg_median() {
	awk -v k="$1" -v f="$2" '$1 == k { print $f }' "$cg_dir/summary.txt" | median
}

# ping_stats FILE: the average, the 99th percentile (nearest rank) and the
# count of the round trips in FILE, one per line (ms).
ping_stats() {
	sort -g "$1" | awk '{ v[NR] = $1; s += $1 }
		END { r = int(0.99 * NR); if (r < 0.99 * NR) r++
		      printf "%.4f %.4f %d\n", s / NR, v[r], NR }'
}

# aggregate KIND: the raw numbers of every round → one JSON object.
aggregate() {
	local raw=$WT_TMP/raw/$1 tcp=null kpps=null loss=null gb=0 dcpu=null hcpu=null
	local pavg=null p99=null pn=0 cg=null lavg=null l99=null ln=0 ltcp=null warn=
	if [ -n "$cg_dir" ] && awk -v k="$1" '$1 == k' "$cg_dir/summary.txt" 2>/dev/null | grep -q .; then
		cg=$(jq -cn --argjson i "$(cg_median "$1" 4)" --argjson l "$(cg_median "$1" 5)" \
			--argjson p "$(cg_median "$1" 6)" \
			--argjson n "$(awk -v k="$1" '$1 == k' "$cg_dir/summary.txt" | wc -l)" \
			'{instructions: $i, code_lines: $l, code_pages: $p, daemons: $n}')
	fi
	[ ! -s "$raw/ping" ] || read -r pavg p99 pn < <(ping_stats "$raw/ping")
	[ ! -s "$raw/loaded" ] || read -r lavg l99 ln < <(ping_stats "$raw/loaded")
	[ ! -s "$raw/loadedtcp" ] || ltcp=$(median <"$raw/loadedtcp")
	if [ -s "$raw/tcp" ]; then
		tcp=$(awk '{ print $1 }' "$raw/tcp" | median)
		read -r gb dcpu hcpu < <(awk -v h="$clk_tck" -v nd="$(cat "$raw/ndaemons")" '
			{ b += $2; d += $3; m += $4 }
			END { g = b / 1e9
			      if (g == 0) { print "0 null null"; exit }
			      printf "%.6f %s %.3f\n", g, (nd > 0 ? sprintf("%.3f", d / h / g) : "null"), m / h / g }' \
			"$raw/tcp")
	fi
	if [ -s "$raw/udp" ]; then
		kpps=$(awk '{ print $1 }' "$raw/udp" | median)
		loss=$(awk '{ print $2 }' "$raw/udp" | median)
	fi
	[ ! -s "$raw/warn" ] || warn=$(sort -u "$raw/warn" | paste -sd ';' - | sed 's/;/; /g')
	# Pages per daemon and 100 ms of pings: {"total": median, "code": ..., "windows": n}
	local pagesj=null pv i cl
	if [ -s "$raw/pages" ]; then
		pagesj=$(jq -cn --argjson n "$(wc -l <"$raw/pages")" '{windows: $n}')
		read -ra cl <<<"$PAGE_CLASSES"
		for i in "${!cl[@]}"; do
			pv=$(awk -v i=$((i + 1)) '{ print $i }' "$raw/pages" | median)
			pagesj=$(jq -c --arg k "${cl[$i]}" --argjson v "$pv" '. + {($k): $v}' <<<"$pagesj")
		done
	fi
	# TCP under loss: {"1": {"mbps": median, "retransmits": median}, ...}
	local lossj='{}' l m rt
	for l in "${loss_list[@]}"; do
		[ -s "$raw/loss$l" ] || continue
		m=$(awk '{ print $1 }' "$raw/loss$l" | median)
		rt=$(awk '{ print $2 }' "$raw/loss$l" | median)
		lossj=$(jq -c --arg l "$l" --argjson m "$m" --argjson rt "$rt" \
			'. + {($l): {mbps: $m, retransmits: $rt}}' <<<"$lossj")
	done
	# 64B datagrams lost, summed over the runs, and where the counters saw them
	local where=null
	if [ -s "$raw/udploss" ]; then
		where=$(awk '{ for (i = 1; i <= 5; i++) s[i] += $i }
			END { printf "{\"lost\": %d, \"receiver_socket\": %d, \"overlay_socket\": %d, \"sender_socket\": %d, \"weft_rings\": %d}\n",
			      s[1], s[2], s[3], s[4], s[5] }' "$raw/udploss")
	fi
	jq -cn --arg kind "$1" --arg info "$(cat "$raw/info")" --arg warn "$warn" \
		--argjson mtu "$(cat "$raw/mtu")" --argjson tcp "$tcp" --argjson pavg "$pavg" \
		--argjson p99 "$p99" --argjson pn "$pn" --argjson kpps "$kpps" --argjson loss "$loss" \
		--argjson gb "$gb" --argjson dcpu "$dcpu" --argjson hcpu "$hcpu" \
		--argjson lossj "$lossj" --argjson where "$where" \
		--argjson lavg "$lavg" --argjson l99 "$l99" --argjson ln "$ln" --argjson ltcp "$ltcp" \
		--argjson tcp_runs "$(awk '{ print $1 }' "$raw/tcp" 2>/dev/null | jq -sc .)" \
		--argjson udp_runs "$(awk '{ print $1 }' "$raw/udp" 2>/dev/null | jq -sc .)" \
		--argjson dcpu_rounds "$(cpu_per_round "$raw")" --argjson cg "$cg" --argjson pages "$pagesj" \
		'{kind: $kind, status: "ok", info: $info, warning: (if $warn == "" then null else $warn end),
		  mtu: $mtu, tcp_mbps: $tcp, tcp_runs_mbps: $tcp_runs,
		  ping_avg_ms: $pavg, ping_p99_ms: $p99, ping_replies: $pn,
		  loaded_ping_avg_ms: $lavg, loaded_ping_p99_ms: $l99, loaded_ping_replies: $ln,
		  loaded_tcp_mbps: $ltcp,
		  udp64_kpps: $kpps, udp64_runs_kpps: $udp_runs, udp64_loss_pct: $loss, udp64_lost_at: $where,
		  tcp_under_loss: $lossj,
		  tcp_gb: $gb, daemon_cpu_s_per_gb: $dcpu, host_cpu_s_per_gb: $hcpu,
		  daemon_cpu_s_per_gb_rounds: $dcpu_rounds, callgrind_per_ping: $cg,
		  pages_per_100ms_of_pings: $pages}'
}

# cpu_per_round RAWDIR: the daemons' CPU per GB of each round's TCP runs, as
# a JSON object {"ROUND": s/GB}; {} without daemons or TCP runs.
cpu_per_round() {
	local raw=$1
	if [ ! -s "$raw/tcp" ] || [ "$(cat "$raw/ndaemons")" = 0 ]; then
		echo '{}'
		return
	fi
	awk -v h="$clk_tck" '{ b[$5] += $2; d[$5] += $3 }
		END { printf "{"; sep = ""
		      for (r in b) if (b[r] > 0) { printf "%s\"%s\": %.3f", sep, r, d[r] / h / (b[r] / 1e9); sep = ", " }
		      print "}" }' "$raw/tcp"
}

# ---- main -------------------------------------------------------------------

IFS=, read -ra kind_list <<<"$kinds"
for k in "${kind_list[@]}"; do
	case $k in vxlan | tinc | fastd | openvpn | weft | weft-nosf | weft-base) ;; *) fail "unknown kind '$k'" ;; esac
done
log "kinds: ${kind_list[*]}; $rounds round(s) of $runs runs x $seconds s; $pings pings at $ping_ms ms;" \
	"temp dir $WT_TMP; load average $(cut -d' ' -f1-3 /proc/loadavg)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A status reason

# interleaved_pings: --interleave. Every kind is set up first, each under a
# namespace prefix of its own (the same addresses, in other namespaces); then
# --rounds blocks of --pings pings, the kinds in turn, the order reversed
# every other block so that neither always follows the other. The block
# averages go to $WT_TMP/blocks ("BLOCK KIND AVG_MS").
interleaved_pings() {
	local k n=0 b i order=() out
	declare -A prefix
	for k in "${kind_list[@]}"; do
		n=$((n + 1))
		WT_PREFIX=${base_prefix}k$n-
		prefix[$k]=$WT_PREFIX
		log "== $k (set up under $WT_PREFIX)"
		MTU=0
		DAEMONS=()
		INFO=
		REASON=
		WEFT_DIR=
		round=1
		if ! setup_kind "$k"; then
			status[$k]=unavailable
		elif ! ready "$k"; then
			status[$k]=failed
		else
			status[$k]=ok
			order+=("$k")
			continue
		fi
		reason[$k]=$REASON
		log "$k: $([ "${status[$k]}" = unavailable ] && echo "not available" || echo failed): $REASON"
		[ "${#DAEMONS[@]}" -eq 0 ] || tail_logs "${DAEMONS[@]}"
	done
	: >"$WT_TMP/blocks"
	for ((b = 1; b <= rounds; b++)); do
		for ((i = 0; i < ${#order[@]}; i++)); do
			if ((b % 2)); then k=${order[i]}; else k=${order[${#order[@]} - 1 - i]}; fi
			WT_PREFIX=${prefix[$k]}
			out=$WT_TMP/$k/ping$b.txt
			ping_times "$out" | tee -a "$WT_TMP/raw/$k/ping" |
				awk -v b="$b" -v k="$k" '{ s += $1; n++ } END { if (n) printf "%d %s %.4f\n", b, k, s / n }' \
					>>"$WT_TMP/blocks"
		done
		log "block $b/$rounds: $(awk -v b="$b" '$1 == b { printf "%s %s ms  ", $2, $3 }' "$WT_TMP/blocks")"
	done
	WT_PREFIX=$base_prefix
	topo_destroy
}

# block_ratios KIND REFS: KIND's ping average over the better of the kinds in
# REFS (space-separated), per block of --interleave: "median RATIO, KIND
# lower in N of M blocks (sign test p P)". P is the two-sided sign test's:
# how often a fair coin would split M blocks at least as unevenly, so that
# a difference between two builds is told from the drift between blocks
# (P well under 0.05 over a run or two; 0.5 or more says nothing either way).
block_ratios() {
	local per
	[ -s "$WT_TMP/blocks" ] || return 0
	# One line per block with KIND and a reference: "RATIO LOWER" (LOWER 1
	# where KIND's average was below the reference's).
	per=$(awk -v k="$1" -v refs="$2" '{ v[$1, $2] = $3; blk[$1] = 1 }
		END {
			n = split(refs, r, " ")
			for (b in blk) {
				ref = -1
				for (i = 1; i <= n; i++)
					if ((b, r[i]) in v && (ref < 0 || v[b, r[i]] < ref)) ref = v[b, r[i]]
				if (ref > 0 && (b, k) in v) printf "%.6f %d\n", v[b, k] / ref, v[b, k] < ref
			}
		}' "$WT_TMP/blocks")
	[ -n "$per" ] || return 0
	printf 'median %.2fx, %s lower in %s\n' "$(cut -d' ' -f1 <<<"$per" | median)" "$1" \
		"$(awk '{ k += $2; n++ }
		END {
			# Binomial(n, 1/2) tail up to the smaller side, in doubles scaled
			# by 2^-n from the start (no overflow up to about 1000 blocks).
			m = k < n - k ? k : n - k
			c = 1
			for (i = 0; i < n; i++) c /= 2
			for (i = 0; i <= m; i++) { tail += c; c = c * (n - i) / (i + 1) }
			p = 2 * tail > 1 ? 1 : 2 * tail
			printf "%d of %d blocks (sign test p %.2g)", k, n, p
		}' <<<"$per")"
}

[ "$interleave" = 0 ] || interleaved_pings
for ((round = 1; round <= rounds; round++)); do
	[ "$interleave" = 0 ] || break
	for k in "${kind_list[@]}"; do
		# A missing binary stays missing; a failure may be transient.
		[ "${status[$k]:-}" != unavailable ] || continue
		log "== $k (round $round/$rounds)"
		MTU=0
		DAEMONS=()
		INFO=
		REASON=
		WEFT_DIR=
		st=ok
		if ! setup_kind "$k"; then
			st=unavailable
		elif ! measure "$k"; then
			st=failed
		fi
		if [ $st = ok ]; then
			status[$k]=ok
		else
			log "$k: $([ $st = unavailable ] && echo "not available" || echo failed): $REASON"
			[ "${#DAEMONS[@]}" -eq 0 ] || tail_logs "${DAEMONS[@]}"
			if [ "${status[$k]:-}" != ok ]; then
				status[$k]=$st
				reason[$k]=$REASON
			fi
		fi
		if [ -n "$WEFT_DIR" ] && [ $st = ok ] && [ -n "$weftctl_bin" ] && [ -x "$weftctl_bin" ]; then
			for i in 1 2; do
				"$weftctl_bin" -s "$WEFT_DIR/h$i.sock" status --json \
					>"$WEFT_DIR/status-h$i.round$round.json" 2>&1 || true
			done
		fi
		topo_destroy
		[ $st != ok ] || cg_summarise "$k"
	done
done

: >"$WT_TMP/results.jsonl"
for k in "${kind_list[@]}"; do
	if [ "${status[$k]}" = ok ]; then
		aggregate "$k" >>"$WT_TMP/results.jsonl"
	else
		jq -cn --arg kind "$k" --arg status "${status[$k]}" --arg reason "${reason[$k]}" \
			'{kind: $kind, status: $status, reason: $reason}' >>"$WT_TMP/results.jsonl"
	fi
done

# ---- report -----------------------------------------------------------------

cpu_model=$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine=$(jq -cn --arg nproc "$(nproc)" --arg cpu "$cpu_model" --arg kernel "$(uname -r)" \
	--arg iperf3 "$(iperf3 --version | head -n 1)" \
	--arg load_start "$load_start" --arg load_end "$(cut -d' ' -f1-3 /proc/loadavg)" \
	'{nproc: ($nproc | tonumber), cpu: $cpu, kernel: $kernel, iperf3: $iperf3,
	  loadavg_start: $load_start, loadavg_end: $load_end}')
results=$(jq -sc . "$WT_TMP/results.jsonl")

# ratios: weft against the better of tinc and fastd, per metric.
ratios=$(jq -c '
	(map(select(.status == "ok")) | map({(.kind): .}) | add // {}) as $r
	| [$r.tinc, $r.fastd] | map(select(. != null)) as $ref
	| def best(f; better): ($ref | map(select(f != null)) | sort_by(f)
		| if better == "max" then last else first end);
	  def ratio(f; better): (best(f; better)) as $b
		| if $r.weft == null or $b == null or ($r.weft | f) == null or ($b | f) == 0 then null
		  else {ratio: (($r.weft | f) / ($b | f)), weft: ($r.weft | f), ref: ($b | f), ref_kind: $b.kind,
			better: (if better == "max" then "higher" else "lower" end)} end;
	  # Rounds take turns, so each round compares kinds under the same load.
	  def cpu_rounds: if $r.weft == null then null else
		[($r.weft.daemon_cpu_s_per_gb_rounds // {}) | to_entries[] | .key as $k | .value as $w
		 | ([$ref[] | .daemon_cpu_s_per_gb_rounds[$k] // empty] | min) as $b
		 | select($b != null and $b > 0) | {round: ($k | tonumber), ratio: ($w / $b)}]
		| sort_by(.round) | map(.ratio) | if length > 1 then . else null end end;
	  def median: sort | if length % 2 == 1 then .[length / 2 | floor]
		else (.[length / 2 - 1] + .[length / 2]) / 2 end;
	{tcp: ratio(.tcp_mbps; "max"), ping: ratio(.ping_avg_ms; "min"),
	 loaded: ratio(.loaded_ping_avg_ms; "min"),
	 udp64: ratio(.udp64_kpps; "max"), cpu: (ratio(.daemon_cpu_s_per_gb; "min")
		| if . == null then null else . + {rounds: cpu_rounds}
		  | . + {rounds_median: (if .rounds == null then null else .rounds | median end)} end)}' <<<"$results")
# weft against kernel VXLAN, and with superframes against without
vs=$(jq -c '
	(map(select(.status == "ok")) | map({(.kind): .}) | add // {}) as $r
	| def r(a; b; f): if a == null or b == null or (a | f) == null or (b | f) == null or (b | f) == 0
		then null else {ratio: ((a | f) / (b | f)), a: (a | f), b: (b | f)} end;
	{vxlan_tcp: r($r.weft; $r.vxlan; .tcp_mbps), vxlan_host_cpu: r($r.weft; $r.vxlan; .host_cpu_s_per_gb),
	 nosf_tcp: r($r.weft; $r["weft-nosf"]; .tcp_mbps),
	 nosf_cpu: r($r.weft; $r["weft-nosf"]; .daemon_cpu_s_per_gb),
	 nosf_host_cpu: r($r.weft; $r["weft-nosf"]; .host_cpu_s_per_gb),
	 loss: (($r.weft.tcp_under_loss // {}) | keys | map(. as $l |
		{key: $l, value: r($r.weft; $r["weft-nosf"]; .tcp_under_loss[$l].mbps)}) | from_entries)}' <<<"$results")

{
	echo
	echo "overlay benchmark: 2 hosts, 1 container each, underlay MTU $ul_mtu; tests: $tests;" \
		"TCP/64B: median of $((runs * rounds)) x ${seconds}s; ping: $((pings * rounds)) at $ping_ms ms"
	printf '%-9s %5s %10s %9s %9s %10s %7s %11s %11s\n' kind MTU "TCP Mbit/s" "ping avg" \
		"ping p99" "64B kpps" "loss %" "daemon s/GB" "host s/GB"
	jq -r '.[] | select(.status == "ok") |
		[.kind, .mtu, .tcp_mbps, .ping_avg_ms, .ping_p99_ms, .udp64_kpps, .udp64_loss_pct,
		 .daemon_cpu_s_per_gb, .host_cpu_s_per_gb] | map(if . == null then "-" else . end) | @tsv' \
		<<<"$results" |
		awk -F'\t' 'function f(v, fmt) { return v == "-" ? "-" : sprintf(fmt, v) }
			{ printf "%-9s %5s %10s %9s %9s %10s %7s %11s %11s\n", $1, $2, f($3, "%.0f"),
			  f($4, "%.3f ms"), f($5, "%.3f ms"), f($6, "%.1f"), f($7, "%.1f"),
			  f($8, "%.2f"), f($9, "%.2f") }'
	jq -r '.[] | select(.status != "ok") |
		"\(.kind): \(if .status == "unavailable" then "not available" else "failed" end)" +
		" (\(.reason))"' <<<"$results"
	jq -r '.[] | select(.warning != null) | "\(.kind): warning: \(.warning)"' <<<"$results"
	if want loaded; then
		echo
		echo "ping under load: $((pings * rounds)) pings at $ping_ms ms while" \
			"$([ "$load_streams" = 1 ] && echo "one TCP stream runs" || echo "$load_streams TCP streams run") the same way" \
			"(h1c1 to h2c1, $([ "$load_mbps" = 0 ] && echo "as fast as it goes" || echo "at $load_mbps Mbit/s$([ "$load_streams" = 1 ] || echo " each")")):"
		printf '  %-9s %9s %9s %15s\n' kind "ping avg" "ping p99" "its TCP Mbit/s"
		jq -r '.[] | select(.status == "ok" and .loaded_ping_avg_ms != null) |
			[.kind, .loaded_ping_avg_ms, .loaded_ping_p99_ms, .loaded_tcp_mbps] |
			map(if . == null then "-" else . end) | @tsv' <<<"$results" |
			awk -F'\t' 'function f(v, fmt) { return v == "-" ? "-" : sprintf(fmt, v) }
				{ printf "  %-9s %9s %9s %15s\n", $1, f($2, "%.3f ms"), f($3, "%.3f ms"), f($4, "%.0f") }'
	fi
	if want legs; then
		echo
		echo "ping legs, median µs (h1 out: h1's daemon; h2 in, h2 out: h2's; h1 in: h1's; reply: h2c1's kernel):"
		for k in "${kind_list[@]}"; do
			[ ! -s "$WT_TMP/raw/$k/legs" ] || echo "  $k: $(legs_medians "$WT_TMP/raw/$k/legs")"
		done
		echo "ping legs, mean µs (the same seven), and weft's minus each other kind's:"
		declare -A leg_means=()
		for k in "${kind_list[@]}"; do
			[ -s "$WT_TMP/raw/$k/legs" ] || continue
			leg_means[$k]=$(legs_means "$WT_TMP/raw/$k/legs")
			# shellcheck disable=SC2086 # seven means, one word each
			printf '  %-9s %s\n' "$k" "$(legs_named ${leg_means[$k]})"
		done
		for k in "${kind_list[@]}"; do
			if [ -z "${leg_means[weft]:-}" ] || [ "$k" = weft ] || [ -z "${leg_means[$k]:-}" ]; then
				continue
			fi
			# shellcheck disable=SC2046 # seven differences, one word each
			printf '  weft-%-4s %s\n' "$k" "$(legs_named $(awk -v a="${leg_means[weft]}" -v b="${leg_means[$k]}" \
				'BEGIN { split(a, x); split(b, y); for (i = 1; i <= 7; i++) printf "%+.1f ", x[i] - y[i] }'))"
		done
	fi
	if want pages; then
		echo
		echo "pages (4 KiB) of its own a daemon touches in 100 ms of pings at $ping_ms ms (shared libraries' code not counted), median over daemons and windows:"
		printf '  %-9s %6s %5s %7s %5s %9s %7s %6s\n' kind total code rodata heap writable shared stack
		jq -r '.[] | select(.pages_per_100ms_of_pings != null) | .kind as $k | .pages_per_100ms_of_pings
			| [$k, .total, .code, .rodata, .heap, .writable, .shared, .stack] | @tsv' <<<"$results" |
			awk -F'\t' '{ printf "  %-9s %6s %5s %7s %5s %9s %7s %6s\n", $1, $2, $3, $4, $5, $6, $7, $8 }'
	fi
	if [ -n "$cg_dir" ] && [ -s "$cg_dir/summary.txt" ]; then
		echo
		echo "per ping and daemon under callgrind (median over hosts and rounds; $cg_dir):"
		printf '  %-9s %12s %10s %10s  %s\n' kind instructions "code lines" "code pages" "instructions by object (first daemon)"
		jq -r '.[] | select(.callgrind_per_ping != null) |
			"\(.kind) \(.callgrind_per_ping.instructions) \(.callgrind_per_ping.code_lines) \(.callgrind_per_ping.code_pages)"' \
			<<<"$results" | while read -r k i l p; do
			printf '  %-9s %12s %10s %10s  %s\n' "$k" "$i" "$l" "$p" \
				"$(awk -v k="$k" '$1 == k { $1 = $2 = $3 = $4 = $5 = $6 = ""; sub(/^ +/, ""); print; exit }' "$cg_dir/summary.txt")"
		done
	fi
	if [ "${#loss_list[@]}" -gt 0 ]; then
		echo
		echo "TCP Mbit/s under underlay loss (median; retransmits):"
		jq -r --arg levels "${loss_list[*]}" '.[] | select(.status == "ok" and .tcp_under_loss != null) |
			.kind as $k | .tcp_under_loss as $t |
			"  \($k):" + ([$levels | split(" ")[] | . as $l | $t[$l] |
				if . == null then "  \($l) %: -" else "  \($l) %: \(.mbps) (\(.retransmits))" end] | join(""))' \
			<<<"$results"
	fi
	if jq -e 'map(select(.udp64_lost_at != null)) | length > 0' <<<"$results" >/dev/null; then
		echo
		echo "64B datagrams lost, by where the kernel (and weft) counted them:"
		jq -r '.[] | select(.udp64_lost_at != null) | .kind as $k | .udp64_lost_at |
			"  \($k): \(.lost) lost: receiver'"'"'s socket \(.receiver_socket), overlay'"'"'s socket" +
			" \(.overlay_socket), sender'"'"'s socket \(.sender_socket), weft'"'"'s rings \(.weft_rings)," +
			((.lost - .receiver_socket - .overlay_socket - .sender_socket - .weft_rings) as $e |
			if $e >= 0 then " elsewhere \($e)"
			else " elsewhere 0 (the counters saw \(-$e) more than iperf3 lost: datagrams" +
				" still on their way when iperf3 stopped counting, dropped after it)" end)' \
			<<<"$results"
	fi
	echo
	echo "configurations:"
	jq -r '.[] | select(.info != null) | "  \(.kind): \(.info)"' <<<"$results"
	echo "  all: bridge netfilter off (bridge-nf-call-*tables = 0) in every namespace;" \
		"daemon s/GB = the overlay daemons' utime+stime on both hosts during the TCP runs," \
		"host s/GB = the whole machine's busy CPU (includes iperf3 and the kernel; noisy on a shared box)"
	[ "$cpu_per_host" = 0 ] ||
		echo "  --cpu-per-host: host 1's daemon, ping and iperf3 client on CPU ${host_cpus[0]}, host 2's daemon and iperf3 server on CPU ${host_cpus[1]}"
	echo
	echo "weft vs the better of tinc and fastd:"
	if jq -e '.tcp == null and .ping == null and .loaded == null and .udp64 == null and .cpu == null' <<<"$ratios" >/dev/null; then
		echo "  (no ratios: weft or both references missing)"
	else
		jq -r 'to_entries[] | select(.value != null) | .key as $m | .value |
			"  \({tcp: "TCP throughput", ping: "ping avg", loaded: "ping avg under load", udp64: "64B rate", cpu: "CPU per GB"}[$m]): " +
			"\(.ratio * 100 | round / 100)x  (weft \(.weft * 1000 | round / 1000) vs \(.ref_kind) \(.ref * 1000 | round / 1000); \(.better) is better)" +
			(if .rounds == null then "" else "; round by round \(.rounds | map(. * 1000 | round / 1000 | tostring + "x") | join(" ")), median \(.rounds_median * 1000 | round / 1000)x" end)' \
			<<<"$ratios"
	fi
	blocks_said=$(block_ratios weft "fastd tinc")
	[ -z "$blocks_said" ] || echo "  ping avg, block by block (--interleave): $blocks_said"
	blocks_said=$(block_ratios weft weft-base)
	[ -z "$blocks_said" ] || echo "  ping avg, weft / weft-base, block by block: $blocks_said"
	if jq -e 'map(select(. != null and . != {})) | length > 0' <<<"$vs" >/dev/null; then
		echo
		echo "weft against kernel VXLAN, and with superframes against without (weft-nosf):"
		jq -r 'def l(n; v): if v == null then empty else "  \(n): \(v.ratio * 100 | round / 100)x (\(v.a * 100 | round / 100) vs \(v.b * 100 | round / 100))" end;
			l("TCP, weft / vxlan"; .vxlan_tcp), l("host CPU per GB, weft / vxlan"; .vxlan_host_cpu),
			l("TCP, superframes on / off"; .nosf_tcp), l("daemon CPU per GB, on / off"; .nosf_cpu),
			l("host CPU per GB, on / off"; .nosf_host_cpu),
			(.loss | to_entries[] | l("TCP at \(.key) % loss, on / off"; .value))' <<<"$vs"
	fi
	echo
	echo "machine: $(nproc) CPUs, $cpu_model, kernel $(uname -r); $(iperf3 --version | head -n 1);" \
		"load average $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
} | tee "$WT_TMP/report.txt"

if [ -n "$json_out" ]; then
	jq -n --argjson machine "$machine" --argjson results "$results" --argjson ratios "$ratios" \
		--argjson runs "$runs" --argjson rounds "$rounds" --argjson seconds "$seconds" \
		--argjson pings "$pings" --argjson ping_ms "$ping_ms" --argjson ul_mtu "$ul_mtu" \
		--argjson vs "$vs" --arg loss "$loss" --argjson cpu_per_host "$cpu_per_host" \
		--argjson load_mbps "$load_mbps" --argjson load_streams "$load_streams" \
		'{machine: $machine, params: {runs: $runs, rounds: $rounds, seconds: $seconds, pings: $pings,
		  ping_interval_ms: $ping_ms, underlay_mtu: $ul_mtu, loss: $loss, cpu_per_host: ($cpu_per_host == 1),
		  load_mbps: $load_mbps, load_streams: $load_streams}, results: $results, ratios: $ratios, weft_vs: $vs}' >"$json_out"
	log "wrote $json_out"
fi
