# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/netns/recovery_lib.sh: what the recovery tests (recovery_start.sh,
# recovery_path.sh, restart_move.sh) share. Source lib.sh and mesh.sh first.
#
#   recovery_two_hosts [OPT...]  topo_create --hosts 2 --containers 1 OPT...,
#                                mesh_init, both hosts' configurations; no
#                                weftd started
#   ul_drop RULE                 the underlay bridge applies nftables RULE to
#                                what it forwards (table bridge wtrecovery)
#   ul_drop_weft [PERCENT]       ul_drop weft's datagrams: all, or PERCENT % of
#                                them at random (each direction alike)
#   ul_pass                      the underlay forwards everything again
#   now_s                        the time, in seconds since the epoch (ns digits)
#   ms_between A B               (B - A) in whole milliseconds, A and B in seconds
#   first_reply_after LOG T      the timestamp of the first reply in a ping -D
#                                log LOG that arrived after T (empty if none)
#   wait_reply_after LOG T SECS  wait up to SECS (whole seconds) for one; print it

recovery_two_hosts() {
	topo_create --hosts 2 --containers 1 "$@"
	mesh_init
	mesh_config 1
	mesh_config 2
}

ul_drop() {
	local rule=$1
	ul nft -f - <<-EOF
		table bridge wtrecovery {
			chain forward {
				type filter hook forward priority 0; policy accept;
				$rule
			}
		}
	EOF
}

ul_drop_weft() {
	local rule="udp dport 6783 drop"
	[ $# = 0 ] || rule="udp dport 6783 numgen random mod 100 < $1 drop"
	ul_drop "$rule"
}

ul_pass() { ul nft delete table bridge wtrecovery; }

now_s() { date +%s.%N; }

ms_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%d\n", (b - a) * 1000 }'; }

first_reply_after() {
	awk -v t="$2" '/ bytes from / {
		ts = substr($1, 2, length($1) - 2)
		if (ts + 0 > t + 0) { print ts; exit }
	}' "$1"
}

# Polls every 0.05 s, at most SECS * 20 times.
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
