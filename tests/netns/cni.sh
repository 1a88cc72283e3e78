#!/bin/bash
# SPDX-License-Identifier: MIT
# weft under containers, through the real CNI plugins: conf/cni/weft.conflist
# (bridge + host-local + loopback, Debian's containernetworking-plugins) is
# run as a runtime runs it (CNI_COMMAND=ADD/CHECK/DEL, one plugin after the
# other with the previous result, the config on stdin) for two pods on each
# of two hosts joined by weft. The pods reach each other on and across hosts,
# TCP crosses, the pods have the conflist's MTU (= weftd's overlay MTU), and
# DEL removes what ADD made; a second DEL is harmless.
#
#   ns <p>h1 (host 1)                          ns <p>h2 (host 2)
#   ┌─────────────────────────────────┐        ┌─────────────────────────────────┐
#   │ weftd, creates weft0 at start   │        │ weftd, create_bridge = no,      │
#   │ bridge weft0 ─ weft0-br/-dp     │        │  started after the first pod    │
#   │  ├─ veth… ═ eth0 pod <p>h1c1    │        │ bridge weft0 (made by the CNI   │
#   │  └─ veth… ═ eth0 pod <p>h1c2    │        │  bridge plugin) ─ weft0-br/-dp  │
#   │                                 │        │  ├─ veth… ═ eth0 pod <p>h2c1    │
#   │                                 │        │  └─ veth… ═ eth0 pod <p>h2c2    │
#   │ eth0 10.0.0.1                   │        │ eth0 10.0.0.2                   │
#   └────┼────────────────────────────┘        └────┼────────────────────────────┘
#        └──────────── ns <p>ul: bridge ul0 ────────┘
#
# Pods: the conflist's subnet (a /16, 10.47.0.0/16 as shipped); host i hands
# out <subnet>.i.10 - <subnet>.i.19 (its own rangeStart/rangeEnd), and keeps
# host-local's state in $WT_TMP/cni/hI, not /var/lib/cni.
set -eu
# shellcheck source=tests/netns/lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source=tests/netns/mesh.sh
. "$(dirname "$0")/mesh.sh"

CNI_DIR=${WT_CNI_PATH:-/usr/lib/cni}
CONFLIST=${top_srcdir:-$(dirname "$0")/../..}/conf/cni/weft.conflist

mesh_test_begin ping iperf3 jq
for p in bridge host-local loopback; do
	[ -x "$CNI_DIR/$p" ] || skip "needs the CNI plugin $CNI_DIR/$p (containernetworking-plugins)"
done
[ -f "$CONFLIST" ] || fail "no $CONFLIST"
jq -e . "$CONFLIST" >/dev/null || fail "$CONFLIST is not JSON"
version=$(jq -r .cniVersion "$CONFLIST")
netname=$(jq -r .name "$CONFLIST")
CNI_COMMAND=VERSION "$CNI_DIR/bridge" </dev/null | jq -e --arg v "$version" \
	'.supportedVersions | index($v)' >/dev/null ||
	skip "the bridge plugin in $CNI_DIR does not speak cniVersion $version"
# host-local's default state directory: the test must not touch it.
[ -e "/var/lib/cni/networks/$netname" ] && sys_state_before=1 || sys_state_before=0

# ---- hosts ------------------------------------------------------------------
# The underlay of lib.sh's topo_create, without its containers: here the
# CNI plugins make the pods.
hosts_create() {
	local u h i
	WT_HOSTS=2
	# shellcheck disable=SC2034 # lib.sh's: no containers of its own
	WT_CONTAINERS=0
	wt_tmp
	u=$(ns_ul)
	ip netns add "$u"
	ip -n "$u" link set lo up
	ip -n "$u" link add ul0 type bridge
	ip -n "$u" link set ul0 up
	for ((i = 1; i <= WT_HOSTS; i++)); do
		h=$(ns_host "$i")
		ip netns add "$h"
		ip -n "$h" link set lo up
		ip -n "$u" link add "h$i" type veth peer name eth0 \
			address "$(printf '02:00:00:00:00:%02x' "$i")" netns "$h"
		ip -n "$u" link set "h$i" master ul0 up
		ip -n "$h" addr add "$(host_ip "$i")/24" dev eth0
		ip -n "$h" link set eth0 up
	done
}

# ---- a CNI runtime ----------------------------------------------------------
# As libcni (cnitool, containerd, CRI-O) runs a conflist: ADD calls every
# plugin in order, each getting the list's cniVersion and name and, from the
# second on, the previous plugin's result as prevResult; the last result is
# cached (here $WT_TMP/cni/hIcJ.result). CHECK and DEL pass the cached result
# as prevResult, DEL in reverse order, and DEL drops the cache, so a second
# DEL runs without one. The plugins run in the host's network namespace.

pod_ns() { ns_cont "$1" "$2"; }
pod_id() { printf 'weft-cni-test-%s-h%sc%s' "$$" "$1" "$2"; }
pod_result() { printf '%s/cni/h%sc%s.result' "$WT_TMP" "$1" "$2"; }
pod_ip() { jq -r '.ips[0].address | split("/")[0]' "$(pod_result "$1" "$2")"; }
pod_mac() { jq -r '.interfaces[] | select(.name == "eth0" and .sandbox != null) | .mac' \
	"$(pod_result "$1" "$2")"; }
pod_hostveth() {
	jq -r --arg br "$WT_BRIDGE" '.interfaces[] | select(.sandbox == null and .name != $br) | .name' \
		"$(pod_result "$1" "$2")"
}
host_datadir() { printf '%s/cni/h%s/%s' "$WT_TMP" "$1" "$netname"; }

# cni_call CMD I J PREV OUT: run each plugin of host I's list for pod hIcJ.
cni_call() {
	local cmd=$1 i=$2 j=$3 prev=$4 out=$5 list n k order in type rc
	list=$WT_TMP/cni/h$i.conflist
	in=$WT_TMP/cni/in.json
	n=$(jq '.plugins | length' "$list")
	if [ "$cmd" = DEL ]; then order=$(seq $((n - 1)) -1 0); else order=$(seq 0 $((n - 1))); fi
	: >"$out"
	for k in $order; do
		jq --argjson k "$k" --slurpfile prev "$prev" \
			'.plugins[$k] + {cniVersion, name} +
			 (if ($prev | length) > 0 then {prevResult: $prev[0]} else {} end)' "$list" >"$in"
		type=$(jq -r .type "$in")
		rc=0
		hN "$i" env CNI_COMMAND="$cmd" CNI_CONTAINERID="$(pod_id "$i" "$j")" \
			CNI_NETNS="/var/run/netns/$(pod_ns "$i" "$j")" CNI_IFNAME=eth0 CNI_PATH="$CNI_DIR" \
			"$CNI_DIR/$type" <"$in" >"$out" 2>>"$WT_TMP/cni/plugins.log" || rc=$?
		if [ $rc != 0 ]; then
			say "CNI $cmd h${i}c$j: plugin $type exited $rc:"
			cat "$out" >&2
			return 1
		fi
		if [ "$cmd" = ADD ]; then
			jq -e . "$out" >/dev/null || { say "CNI ADD h${i}c$j: $type printed no result"; return 1; }
			cp "$out" "$WT_TMP/cni/prev.json"
			prev=$WT_TMP/cni/prev.json
		fi
	done
}

# cni_add I J: a new pod namespace, ADD, then CHECK at once. (The bridge
# plugin's CHECK compares the bridge's MAC with the one in the ADD result;
# a bridge whose MAC nobody set takes the lowest of its ports' MACs, so any
# port added later, another pod's or weftd's, may change it.)
cni_add() {
	ip netns add "$(pod_ns "$1" "$2")"
	cni_call ADD "$1" "$2" /dev/null "$(pod_result "$1" "$2")" || fail "CNI ADD h$1c$2"
	cni_call CHECK "$1" "$2" "$(pod_result "$1" "$2")" "$WT_TMP/cni/out.json" || fail "CNI CHECK h$1c$2"
}
# cni_del I J: DEL with the cached result (then dropped), or none if gone.
cni_del() {
	local cache prev=/dev/null
	cache=$(pod_result "$1" "$2")
	[ -f "$cache" ] && prev=$cache
	cni_call DEL "$1" "$2" "$prev" "$WT_TMP/cni/out.json" || fail "CNI DEL h$1c$2"
	[ ! -s "$WT_TMP/cni/out.json" ] || fail "CNI DEL h$1c$2 printed a result: $(cat "$WT_TMP/cni/out.json")"
	rm -f "$cache"
}

# ---- the run ----------------------------------------------------------------

hosts_create
mesh_init
mesh_config 1
mesh_config 2 'create_bridge = no'
mkdir -p "$WT_TMP/cni"

# Host 1: weftd first; it creates weft0 with the overlay MTU.
mesh_start 1
mtu=$(mesh_status 1 | jq .mtu)
shipped_mtu=$(jq '.plugins[] | select(.type == "bridge") | .mtu' "$CONFLIST")
# The shipped value is the one for the commonest underlay, IPv4 at 1500 bytes.
[ "$shipped_mtu" = "$mtu" ] ||
	fail "conflist mtu $shipped_mtu, but weftd's overlay MTU on a 1500-byte IPv4 underlay is $mtu"

# Each host's list: the shipped file with its own range, its own host-local
# state directory, the bridge and the MTU weftctl reports. Nothing else.
subnet=$(jq -r '.plugins[] | select(.type == "bridge") | .ipam.ranges[0][0].subnet' "$CONFLIST")
case $subnet in
*.0.0/16) net16=${subnet%.0.0/16} ;;
*) fail "the test expects the conflist's subnet to be a /16, got '$subnet'" ;;
esac
for i in 1 2; do
	jq --arg br "$WT_BRIDGE" --argjson mtu "$mtu" --arg dir "$WT_TMP/cni/h$i" \
		--arg first "$net16.$i.10" --arg last "$net16.$i.19" \
		'(.plugins[] | select(.type == "bridge")) |=
			(.bridge = $br | .mtu = $mtu | .ipam.dataDir = $dir |
			 .ipam.ranges[0][0].rangeStart = $first | .ipam.ranges[0][0].rangeEnd = $last)' \
		"$CONFLIST" >"$WT_TMP/cni/h$i.conflist"
done

# Two pods on each host. On host 2 the bridge plugin makes weft0 (no weftd
# there yet), and weftd then joins the bridge it finds.
for i in 1 2; do
	for j in 1 2; do
		cni_add "$i" "$j"
	done
done
hN 2 ip link show "$WT_BRIDGE" >/dev/null 2>&1 || fail "the bridge plugin did not create $WT_BRIDGE on h2"
mesh_start 2
mesh_wait_up 1 2 15 || fail "no session h1 -> h2"
mesh_wait_up 2 1 15 || fail "no session h2 -> h1"
[ "$(mesh_status 2 | jq .mtu)" = "$mtu" ] || fail "h2's overlay MTU differs from h1's ($mtu)"

# What ADD made: an address in the host's range, eth0 with the list's MTU,
# its host end on the bridge, lo up (the loopback plugin), the lease on disk.
declare -A seen=()
for i in 1 2; do
	for j in 1 2; do
		p=h${i}c$j
		ip=$(pod_ip "$i" "$j")
		case $ip in
		"$net16.$i."1[0-9]) ;;
		*) fail "$p got $ip, outside host $i's range $net16.$i.10-19" ;;
		esac
		[ -z "${seen[$ip]:-}" ] || fail "$p got $ip, already given to ${seen[$ip]}"
		seen[$ip]=$p
		[ "$(jq -r '.ips[0].address' "$(pod_result "$i" "$j")")" = "$ip/16" ] ||
			fail "$p: address not in the /16 subnet"
		[ "$(c "$i" "$j" cat /sys/class/net/eth0/mtu)" = "$mtu" ] || fail "$p: eth0 MTU is not $mtu"
		c "$i" "$j" ip -br addr show dev eth0 | grep -qF "$ip/16" || fail "$p: $ip not on eth0"
		c "$i" "$j" ip link show lo | grep -q '<LOOPBACK,UP' || fail "$p: lo is not up"
		[ -z "$(c "$i" "$j" ip route show default)" ] || fail "$p has a default route (isGateway is off)"
		v=$(pod_hostveth "$i" "$j")
		[ -n "$v" ] || fail "$p: no host-side veth in the ADD result"
		[ "$(hN "$i" cat "/sys/class/net/$v/mtu")" = "$mtu" ] || fail "$p: host veth $v MTU is not $mtu"
		hN "$i" ip link show "$v" | grep -q "master $WT_BRIDGE" || fail "$p: $v is not on $WT_BRIDGE"
		# host-local writes "ID\r\nIFNAME"
		[ "$(head -n 1 "$(host_datadir "$i")/$ip" 2>/dev/null | tr -d '\r')" = "$(pod_id "$i" "$j")" ] ||
			fail "$p: no host-local lease $(host_datadir "$i")/$ip"
	done
	[ "$(hN "$i" cat "/sys/class/net/$WT_BRIDGE/mtu")" = "$mtu" ] || fail "h$i: bridge MTU is not $mtu"
	[ -z "$(hN "$i" ip -4 addr show dev "$WT_BRIDGE")" ] || fail "h$i: the bridge has an address"
done
say "pods: h1c1 $(pod_ip 1 1), h1c2 $(pod_ip 1 2), h2c1 $(pod_ip 2 1), h2c2 $(pod_ip 2 2), MTU $mtu"

# Every pod reaches every other, on its host and across weft.
wait_for 10 c 1 1 ping -c 1 -W 1 "$(pod_ip 2 1)" || fail "ping h1c1 -> h2c1"
pods="1,1 1,2 2,1 2,2"
for a in $pods; do
	for b in $pods; do
		[ "$a" = "$b" ] && continue
		c "${a%,*}" "${a#*,}" ping -c 2 -i 0.2 -W 2 -q "$(pod_ip "${b%,*}" "${b#*,}")" >/dev/null ||
			fail "ping h${a%,*}c${a#*,} -> h${b%,*}c${b#*,}"
	done
done
rtt=$(c 1 1 ping -c 20 -i 0.1 -W 2 -q "$(pod_ip 2 2)" | sed -n 's|^rtt .* = [^/]*/\([^/]*\)/.*|\1|p')
say "ping h1c1 -> h2c2 across weft: avg $rtt ms (20 pings)"
# A packet of the pods' full MTU, DF set, fits the overlay.
c 1 2 ping -c 3 -i 0.2 -M "do" -s $((mtu - 28)) -W 2 -q "$(pod_ip 2 1)" >/dev/null ||
	fail "a full-MTU DF ping h1c2 -> h2c1 did not cross"
# weft carried it: h1 has the remote pods' MACs behind h2.
for j in 1 2; do
	[ "$(mesh_mac_peer 1 "$(pod_mac 2 "$j")")" = h2 ] || fail "h1 has not learned h2c$j's MAC from h2"
done

# TCP across, both ways.
for dir in "1 1 2 1" "2 2 1 2"; do
	read -r -a ends <<<"$dir"
	set -- "${ends[@]}"
	spawn iperf3s ns "$(pod_ns "$3" "$4")" iperf3 -s -1
	wait_for 5 c "$3" "$4" sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server in h$3c$4"
	c "$1" "$2" iperf3 -c "$(pod_ip "$3" "$4")" -t 3 -J >"$WT_TMP/iperf.json" ||
		fail "iperf3 h$1c$2 -> h$3c$4 failed"
	kill_spawned iperf3s
	bytes=$(jq '.end.sum_received.bytes' "$WT_TMP/iperf.json")
	mbps=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$WT_TMP/iperf.json")
	say "iperf3 h$1c$2 -> h$3c$4: $mbps Mbit/s ($bytes bytes in 3 s)"
	[ "$bytes" -gt 0 ] || fail "TCP h$1c$2 -> h$3c$4 carried no data"
	[ "$mbps" -gt 10 ] || fail "TCP h$1c$2 -> h$3c$4: only $mbps Mbit/s"
done

# DEL. h2c2's namespace goes first, as when a pod dies before the runtime
# cleans up; DEL must still release its address.
ip netns del "$(pod_ns 2 2)"
for i in 1 2; do
	for j in 1 2; do
		p=h${i}c$j
		ip=$(pod_ip "$i" "$j")
		v=$(pod_hostveth "$i" "$j")
		cni_del "$i" "$j"
		[ ! -e "$(host_datadir "$i")/$ip" ] || fail "$p: DEL left the lease of $ip"
		wait_for 5 sh -c "! ip -n '$(ns_host "$i")' link show '$v'" || fail "$p: DEL left host veth $v"
		if [ "$p" != h2c2 ]; then
			if c "$i" "$j" ip link show eth0 >/dev/null 2>&1; then fail "$p: DEL left eth0 in the pod"; fi
		fi
	done
done
# A second DEL (no cached result any more) succeeds and changes nothing.
for i in 1 2; do
	for j in 1 2; do
		cni_del "$i" "$j"
	done
done
for i in 1 2; do
	leases=$(find "$(host_datadir "$i")" -type f ! -name lock ! -name 'last_reserved_ip.*' | wc -l)
	[ "$leases" = 0 ] || fail "h$i: $leases host-local leases left after DEL"
	ports=$(hN "$i" ip -o link show master "$WT_BRIDGE" | awk -F': ' '{ print $2 }' | sed 's/@.*//' |
		tr '\n' ' ')
	[ "$ports" = "$WT_BRIDGE-br " ] || fail "h$i: bridge ports after DEL: '$ports', expected weftd's only"
done
# The pods' namespaces are the runtime's to remove.
for ij in 1,1 1,2 2,1; do
	ip netns del "$(pod_ns "${ij%,*}" "${ij#*,}")"
done

mesh_stop_all
# weftd removes the bridge it made (h1, now empty), never the CNI plugin's (h2).
if hN 1 ip link show "$WT_BRIDGE" >/dev/null 2>&1; then fail "h1: weftd left the bridge it created"; fi
hN 2 ip link show "$WT_BRIDGE" >/dev/null 2>&1 || fail "h2: weftd removed the CNI plugin's bridge"
if [ "$sys_state_before" = 0 ] && [ -e "/var/lib/cni/networks/$netname" ]; then
	fail "host-local wrote /var/lib/cni/networks/$netname (dataDir not used)"
fi
say "PASS"
