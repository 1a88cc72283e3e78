#!/bin/bash
# SPDX-License-Identifier: MIT
# weftd as systemd/weftd@.service runs it: a user of its own with only
# CAP_NET_ADMIN and CAP_NET_RAW (ambient; NoNewPrivileges=), /proc/sys
# read-only but for /proc/sys/net/ipv{4,6}/conf (ProtectKernelTunables= with
# ReadWritePaths=), its runtime directory 0750 and its files its own. Two
# hosts: weftd really runs with that uid and those capabilities, sessions come
# up and containers ping across, weftd creates a missing private key as that
# user, switches IPv6 off on its veth pair through the writable part of
# /proc/sys, and its control socket answers the daemon's group, not others.
#
#   h1c1 ─ weft0 ─ weftd(h1, uid U) ══ UDP 6783 ══ weftd(h2, uid U) ─ weft0 ─ h2c1
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq setpriv unshare nsenter mount stat

# Ids no account uses: weft's user and group, and two other users.
U=61901
G=61901
OTHER=61902

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
mesh_config 1
mesh_config 2
rm -f "$WT_TMP/h2.key" # weftd makes it on the first start
# The state and runtime directory of the unit: the user's, 0750.
chown -R "$U:$G" "$WT_TMP"
chmod 0750 "$WT_TMP"
# lib.sh keeps IPv6 off on new links by default; here weftd must do it.
for i in 1 2; do
	hN "$i" sysctl -qw net.ipv6.conf.default.disable_ipv6=0
done

# unit_start I: weftd on host I the way the unit runs it.
unit_start() {
	local i=$1
	# shellcheck disable=SC2016 # expanded by the inner shell
	spawn "weftd$i" hN "$i" unshare -m --propagation private sh -c '
		mount --bind /proc/sys /proc/sys &&
		mount --bind /proc/sys/net/ipv4/conf /proc/sys/net/ipv4/conf &&
		mount --bind /proc/sys/net/ipv6/conf /proc/sys/net/ipv6/conf &&
		mount -o remount,bind,ro /proc/sys &&
		exec setpriv --reuid="$1" --regid="$2" --clear-groups --no-new-privs \
			--inh-caps=-all,+net_admin,+net_raw --ambient-caps=+net_admin,+net_raw \
			--bounding-set=-all,+net_admin,+net_raw "$3" -c "$4"' \
		sh "$U" "$G" "$WEFTD" "$WT_TMP/h$i.conf"
	if ! wait_for 10 test -S "$WT_TMP/h$i.sock"; then
		cat "$(spawn_log "weftd$i")" >&2
		fail "weftd on host $i did not start as uid $U"
	fi
}

unit_start 1
unit_start 2
attach_containers

# It is really that user, with those two capabilities and no others.
pid=$(spawn_pid weftd1) || fail "weftd on host 1 died"
uid=$(awk '$1 == "Uid:" { print $2, $3, $4, $5 }' "/proc/$pid/status")
[ "$uid" = "$U $U $U $U" ] || fail "weftd runs with uids $uid, expected $U"
for set in CapEff CapPrm CapBnd; do
	caps=$(awk -v s="$set:" '$1 == s { print $2 }' "/proc/$pid/status")
	# bit 12 CAP_NET_ADMIN, bit 13 CAP_NET_RAW
	[ "$((16#$caps))" = $((0x3000)) ] || fail "weftd's $set is $caps, expected 0x3000"
done
ro=$(hN 1 nsenter -t "$pid" -m sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' 2>&1) &&
	fail "/proc/sys/net/ipv4/ip_forward is writable in weftd's mount namespace"
case $ro in *"Read-only file system"*) ;; *) fail "writing /proc/sys: $ro" ;; esac

mesh_wait_up 1 2 15 || fail "no session between h1 and h2"
wait_for 5 c 1 1 ping -c 1 -W 1 "$(cont_ip 2 1)" || fail "ping h1c1 -> h2c1"
c 2 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 1 1)" >/dev/null || fail "ping h2c1 -> h1c1"

got=$(stat -c '%a %u %g' "$WT_TMP/h2.key")
[ "$got" = "600 $U $G" ] || fail "the key weftd made is $got, expected 600 $U $G"

for i in 1 2; do
	for port in "$WT_BRIDGE-dp" "$WT_BRIDGE-br"; do
		v=$(hN "$i" cat "/proc/sys/net/ipv6/conf/$port/disable_ipv6")
		[ "$v" = 1 ] || fail "host $i: IPv6 is on on $port (disable_ipv6 = $v)"
	done
	if grep -q 'cannot switch IPv6 off' "$(spawn_log "weftd$i")"; then
		fail "host $i: weftd could not write /proc/sys/net/ipv6/conf"
	fi
done

# The control socket: 0660 and the daemon's; a member of its group may use
# weftctl, another user may not.
got=$(stat -c '%a %u %g' "$WT_TMP/h1.sock")
[ "$got" = "660 $U $G" ] || fail "control socket is $got, expected 660 $U $G"
as() { setpriv --reuid="$1" --regid="$2" --clear-groups --inh-caps=-all --bounding-set=-all "${@:3}"; }
as "$OTHER" "$G" "$WEFTCTL" -s "$WT_TMP/h1.sock" status --json | jq -e '.peers | length == 1' \
	>/dev/null || fail "a member of weftd's group cannot use weftctl"
if as "$OTHER" "$OTHER" "$WEFTCTL" -s "$WT_TMP/h1.sock" status >/dev/null 2>&1; then
	fail "a user outside weftd's group can use weftctl"
fi

mesh_stop_all
hN 1 ip link show "$WT_BRIDGE-dp" >/dev/null 2>&1 && fail "weftd left its veth pair behind"
say "PASS: weftd as uid $U with CAP_NET_ADMIN and CAP_NET_RAW only"
