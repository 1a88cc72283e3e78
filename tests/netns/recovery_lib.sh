# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/netns/recovery_lib.sh: what the recovery tests recovery_start.sh and
# recovery_path.sh share. Source lib.sh and mesh.sh first.
#
#   recovery_two_hosts [OPT...]  topo_create --hosts 2 --containers 1 OPT...,
#                                mesh_init, both hosts' configurations; no
#                                weftd started
#   ul_drop RULE                 the underlay bridge applies nftables RULE to
#                                what it forwards (table bridge wtrecovery)
#   ul_drop_weft [PERCENT]       ul_drop weft's datagrams: all, or PERCENT % of
#                                them at random (each direction alike)
#   ul_pass                      the underlay forwards everything again
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
