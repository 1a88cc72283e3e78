# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/netns/mesh.sh: a weft mesh on top of lib.sh's topology, shared by the
# end-to-end tests and the demo. Source lib.sh first. WEFTD defaults to
# build/daemon/weftd of this tree (make check and the demo set it).
#
#   mesh_test_begin CMD...  a test's checks: root and netns, CMDs present
#                           (else skip); cleanup trap installed
#   mesh_init               secret and per-host keys in $WT_TMP
#   mesh_config I [K=V]     write $WT_TMP/hI.conf: every other host is a peer
#                           (MESH_SEED=S: host S only, the seed; S itself names none)
#   mesh_start I            start weftd on host I (name weftdI), wait for its socket
#   mesh_start_all          mesh_start every host, then attach_containers
#   mesh_stop I             SIGTERM weftd on host I, check it exited 0
#   mesh_stop_all           mesh_stop every host
#   mesh_status I           weftctl status --json of host I
#   mesh_peer_state I J     state of host I's peer hJ
#   mesh_peer_get I J FIELD FIELD (a jq path below the peer) of host I's peer hJ
#   mesh_drop_get I NAME    host I's drops.NAME counter
#   mesh_counter I GROUP NAME
#                           host I's GROUP.NAME counter (0 when absent)
#   mesh_mac_peer I MAC     the peer host I's MAC table puts MAC behind (empty: none)
#   mesh_wait_up I J S      wait up to S seconds until host I has a live session to hJ
#   mesh_wait_all_up S [W]  mesh_wait_up for every ordered pair of hosts, or fail
#                           ("W: hI has no session with hJ")
#   mesh_tcp I J [ADDR_FN] [S]
#                           iperf3 TCP for S seconds (2) from container hIc1 to
#                           hJc1 at `ADDR_FN J 1' (cont_ip); fails under 10 Mbit/s
#   mesh_file_make BYTES    random $WT_TMP/file of BYTES bytes; MESH_FILE_SUM its SHA-256
#   mesh_file_across I J [ADDR_FN]
#                           that file from hIc1 to hJc1 over one TCP connection;
#                           fails unless the SHA-256 received matches
#   mesh_block I J          drop weft's UDP between hosts I and J on the underlay
#                           bridge (nftables table bridge wtblock)
#   mesh_unblock            lift that block

: "${WEFTD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/daemon/weftd}"
WEFTCTL=${WEFTCTL:-$(dirname "$WEFTD")/weftctl}

mesh_test_begin() {
	require_netns
	require_cmd "$@"
	install_trap
}

mesh_init() {
	wt_tmp
	(umask 077 && "$WEFTD" genpsk >"$WT_TMP/secret")
	local i
	for ((i = 1; i <= WT_HOSTS; i++)); do
		(umask 077 && "$WEFTD" genkey >"$WT_TMP/h$i.key")
		"$WEFTD" pubkey <"$WT_TMP/h$i.key" >"$WT_TMP/h$i.pub"
	done
}

# mesh_endpoint I: host I's weft address (IPv6 underlay with MESH_IPV6=1).
mesh_endpoint() {
	if [ "${MESH_IPV6:-0}" = 1 ]; then
		printf '[%s]:6783' "$(host_ip6 "$1")"
	else
		printf '%s:6783' "$(host_ip "$1")"
	fi
}

# mesh_config I [extra lines for [network]...]
# WT_SUPERFRAMES=yes|no in the environment puts `superframes = ...' in every
# configuration whose lines do not set it already, so that the whole suite
# runs with superframes off (`WT_SUPERFRAMES=no make check`).
mesh_config() {
	local i=$1 j line extra=() socket=0
	shift
	for line in "$@"; do
		extra+=("$line")
		if [ "$line" = "[socket]" ]; then
			socket=1
			[ -z "${WT_SUPERFRAMES:-}" ] || printf '%s\n' "$@" | grep -q '^superframes' ||
				extra+=("superframes = $WT_SUPERFRAMES")
		fi
	done
	if [ "$socket" = 0 ] && [ -n "${WT_SUPERFRAMES:-}" ]; then
		extra+=("[socket]" "superframes = $WT_SUPERFRAMES")
	fi
	set -- ${extra[@]+"${extra[@]}"}
	{
		printf '[network]\nname = mesh\nnickname = h%d\nsecret_file = %s/secret\n' "$i" "$WT_TMP"
		printf 'private_key_file = %s/h%d.key\n' "$WT_TMP" "$i"
		printf 'members_file = %s/h%d.members\n' "$WT_TMP" "$i"
		printf 'banned_file = %s/h%d.banned\n' "$WT_TMP" "$i"
		printf 'timestamps_file = %s/h%d.timestamps\n' "$WT_TMP" "$i"
		printf 'listen = %s\nbridge = %s\n' "$(mesh_endpoint "$i")" "$WT_BRIDGE"
		for line in "$@"; do printf '%s\n' "$line"; done
		printf '[timers]\nkeepalive_interval = 2\npeer_timeout = 8\ngossip_interval = 5\n'
		printf '[control]\nsocket = %s/h%d.sock\n' "$WT_TMP" "$i"
		printf '[log]\nlevel = %s\n' "${MESH_LOG_LEVEL:-info}"
		for ((j = 1; j <= WT_HOSTS; j++)); do
			[ "$j" = "$i" ] && continue
			[ -n "${MESH_SEED:-}" ] && [ "$j" != "$MESH_SEED" ] && continue
			printf '[peer "h%d"]\nendpoint = %s\n' "$j" "$(mesh_endpoint "$j")"
			if [ "${MESH_PIN:-0}" = 1 ]; then
				printf 'public_key = %s\n' "$(cat "$WT_TMP/h$j.pub")"
			fi
		done
	} >"$WT_TMP/h$i.conf"
}

mesh_start() {
	local i=$1
	shift
	[ -f "$WT_TMP/h$i.conf" ] || mesh_config "$i"
	spawn "weftd$i" hN "$i" "$WEFTD" -c "$WT_TMP/h$i.conf" "$@"
	if ! wait_for 10 test -S "$WT_TMP/h$i.sock"; then
		cat "$(spawn_log "weftd$i")" >&2
		fail "weftd on host $i did not start"
	fi
}

mesh_stop() {
	kill_spawned "weftd$1" 5
	[ "$SPAWN_STATUS" = 0 ] || {
		cat "$(spawn_log "weftd$1")" >&2
		fail "weftd on host $1 exited with status $SPAWN_STATUS"
	}
}

mesh_start_all() {
	local i
	for ((i = 1; i <= WT_HOSTS; i++)); do
		mesh_start "$i"
	done
	attach_containers
}

mesh_stop_all() {
	local i
	for ((i = 1; i <= WT_HOSTS; i++)); do
		mesh_stop "$i"
	done
}

mesh_status() {
	"$WEFTCTL" -s "$WT_TMP/h$1.sock" status --json
}

mesh_peer_state() {
	mesh_status "$1" | jq -r --arg p "h$2" '.peers[] | select(.name == $p) | .state'
}

mesh_wait_up() {
	wait_for "$3" sh -c "[ \"\$(\"$WEFTCTL\" -s '$WT_TMP/h$1.sock' status --json |
		jq -r '.peers[] | select(.name == \"h$2\") | .state')\" = up ]"
}

mesh_peer_get() {
	mesh_status "$1" | jq -r --arg p "h$2" ".peers[] | select(.name == \$p) | .$3"
}

mesh_drop_get() {
	mesh_status "$1" | jq -r ".drops.$2"
}

mesh_counter() {
	mesh_status "$1" | jq -r ".$2.$3 // 0"
}

mesh_mac_peer() {
	mesh_status "$1" | jq -r --arg m "$2" '.macs[] | select(.mac == $m) | .peer'
}

mesh_wait_all_up() {
	local i j
	for ((i = 1; i <= WT_HOSTS; i++)); do
		for ((j = 1; j <= WT_HOSTS; j++)); do
			[ "$i" = "$j" ] || mesh_wait_up "$i" "$j" "$1" ||
				fail "${2:+$2: }h$i has no session with h$j"
		done
	done
}

mesh_tcp() {
	local from=$1 to=$2 addr=${3:-cont_ip} secs=${4:-2} mbps
	spawn iperf3s c "$to" 1 iperf3 -s -1
	wait_for 5 c "$to" 1 sh -c "ss -ltn | grep -q :5201" || fail "iperf3 server"
	c "$from" 1 timeout $((secs + 30)) iperf3 -c "$($addr "$to" 1)" -t "$secs" -J >"$WT_TMP/iperf.json" ||
		fail "iperf3 h${from}c1 -> h${to}c1 ($addr) failed"
	kill_spawned iperf3s
	mbps=$(jq '.end.sum_received.bits_per_second / 1e6 | floor' "$WT_TMP/iperf.json")
	say "  TCP h${from}c1 -> h${to}c1 ($addr): $mbps Mbit/s"
	[ "$mbps" -gt 10 ] || fail "TCP h${from}c1 -> h${to}c1 ($addr) only $mbps Mbit/s"
}

mesh_file_make() {
	head -c "$1" /dev/urandom >"$WT_TMP/file"
	MESH_FILE_SUM=$(sha256sum "$WT_TMP/file" | cut -d' ' -f1)
}

# A plain Python sender and receiver, not iperf3 -F: iperf3 3.12 delivers a
# shorter, different file over a reordering path even with no weft on it (a
# bare veth pair through tests/netns/nfqtool), a whole one over loopback.
mesh_file_across() {
	local from=$1 to=$2 addr=${3:-cont_ip} dst got
	dst=$($addr "$to" 1)
	spawn frecv c "$to" 1 python3 -c '
import hashlib, socket, sys
v6 = ":" in sys.argv[1]
s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET)
s.bind(("::" if v6 else "0.0.0.0", 9000)); s.listen(1)
c, _ = s.accept(); h = hashlib.sha256()
while True:
    b = c.recv(1 << 20)
    if not b: break
    h.update(b)
print(h.hexdigest())' "$dst"
	wait_for 5 c "$to" 1 sh -c "ss -ltn | grep -q :9000" || fail "file receiver in h${to}c1"
	c "$from" 1 timeout 60 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 9000))
s.sendall(open(sys.argv[2], "rb").read())
s.close()' "$dst" "$WT_TMP/file" || fail "sending the file h${from}c1 -> h${to}c1 ($addr)"
	wait_for 10 sh -c "! kill -0 $(spawn_pid frecv) 2>/dev/null" || fail "file receiver in h${to}c1 hangs"
	got=$(tail -n 1 "$(spawn_log frecv)")
	[ "$got" = "$MESH_FILE_SUM" ] ||
		fail "file h${from}c1 -> h${to}c1 ($addr): SHA-256 $got received, $MESH_FILE_SUM sent"
	say "  $(stat -c %s "$WT_TMP/file")-byte file h${from}c1 -> h${to}c1 ($addr): SHA-256 matches"
}

mesh_block() {
	ul nft -f - <<-NFT
		table bridge wtblock {
			chain forward {
				type filter hook forward priority 0; policy accept;
				ip saddr $(host_ip "$1") ip daddr $(host_ip "$2") udp dport 6783 drop
				ip saddr $(host_ip "$2") ip daddr $(host_ip "$1") udp dport 6783 drop
			}
		}
	NFT
}

mesh_unblock() { ul nft delete table bridge wtblock; }
