# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/netns/recovery_lib.sh: what the recovery tests recovery_start.sh,
# recovery_heard.sh and recovery_path.sh share. Source lib.sh and mesh.sh
# first.
#
#   recovery_two_hosts [OPT...]  topo_create --hosts 2 --containers 1 OPT...,
#                                mesh_init, both hosts' configurations; no
#                                weftd started
#   ul_drop RULE                 the underlay bridge applies nftables RULE to
#                                what it forwards (table bridge wtrecovery)
#   ul_drop_weft [PERCENT]       ul_drop weft's datagrams: all, or PERCENT % of
#                                them at random (each direction alike)
#   ul_pass                      the underlay forwards everything again
#   now_ms                       the time, Unix ms
#   up_ms I J                    when host I's log first said peer hJ is up
#                                (Unix ms; empty if not yet)
#   both_up_ms SECS              wait up to SECS for h1 and h2 to see each
#                                other up; print the later of the two moments
#   up_after_block SECS WAIT     with a rule on the underlay (ul_drop), start
#                                h1 and h2, lift the rule SECS later, wait up
#                                to WAIT s for both up (false if not): sets
#                                BLOCK_RAN_MS (both running before the rule
#                                went) and UP_AFTER_MS (from then to both up)
#
# The ping -D log helpers they use (now_s, ms_between, first_reply_after,
# wait_reply_after) are lib.sh's.

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

now_ms() { date +%s%3N; }
# up_ms I J: when host I's log first said peer hJ is up (Unix ms; empty if not yet).
up_ms() {
	local when
	when=$(awk -v p="peer h$2 (" '$0 ~ / is up$/ && index($0, p) { print $1 " " $2; exit }' \
		"$(spawn_log "weftd$1")")
	[ -n "$when" ] && date -d "$when" +%s%3N
}
# both_up_ms SECS: wait up to SECS for h1 and h2 to see each other up; print
# the later of the two moments.
both_up_ms() {
	local n=0 a b
	while [ $n -lt $(($1 * 20)) ]; do
		a=$(up_ms 1 2 || true)
		b=$(up_ms 2 1 || true)
		if [ -n "$a" ] && [ -n "$b" ]; then
			echo $((a > b ? a : b))
			return 0
		fi
		sleep 0.05
		n=$((n + 1))
	done
	return 1
}

up_after_block() {
	local started unblocked up
	mesh_start 1
	mesh_start 2
	started=$(now_ms)
	sleep "$1"
	ul_pass
	unblocked=$(now_ms)
	up=$(both_up_ms "$2") || return 1
	BLOCK_RAN_MS=$((unblocked - started))
	UP_AFTER_MS=$((up - unblocked))
}
