# SPDX-License-Identifier: MIT
# shellcheck shell=bash
# tests/netns/clock.sh: a weftd whose wall clock is wrong, for the clock_*
# tests. Source lib.sh and mesh.sh first.
#
# Debian's libfaketime is preloaded into weftd only, with
# FAKETIME_DONT_FAKE_MONOTONIC=1: CLOCK_REALTIME (and time(), gettimeofday())
# are moved, CLOCK_MONOTONIC and CLOCK_BOOTTIME are the kernel's, as on a
# host whose clock is set or stepped. The offset is read from a file on every
# call (FAKETIME_NO_CACHE=1), so writing the file steps the clock at once.
#
#   clock_require            skip (77) unless libfaketime is installed
#   clock_config I [K=V...]  mesh_config I (its timestamps_file is $WT_TMP/hI.timestamps);
#                            CLOCK_REKEY=S: rekey_after S, reject_after 2 S
#   clock_set I OFFSET       host I's weftd clock is OFFSET seconds off (+600, -86400)
#   clock_start I            start weftd on host I under libfaketime (offset from
#                            clock_set, else 0); wait for its socket
#   clock_poll_start S       every 0.5 s for at most S seconds, log every host's
#                            view of every other ("T hI hJ STATE HANDSHAKES") to
#                            $(spawn_log poll)
#   clock_poll_stop
#   clock_drops I            "name=N ..." of host I's handshake drop counters
#   ping_start NAME I J S T  hIc1 pings hJc1 every T s, with timestamps, for at
#                            most S s (permanent neighbours: no ARP in the way)
#   ping_stop NAME           interrupt it and wait for its statistics
#   ping_stats LOG [END]     from a finished `ping -D' log: "sent=N replies=R
#                            lost=L gap=G", G the longest time between two
#                            replies (or from the last one to END)
#   ping_gaps LOG MIN [END]  every stretch of more than MIN s without a reply
#                            (the last one ending at END): "START END LENGTH"
#   state_drops              pairs whose state left "up" in the poll's log:
#                            "hI->hJ: up->down at T", one a line

CLOCK_FAKETIME_LIB=${CLOCK_FAKETIME_LIB:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}

clock_require() {
	[ -r "$CLOCK_FAKETIME_LIB" ] || skip "needs libfaketime ($CLOCK_FAKETIME_LIB; Debian: faketime)"
	# It must really move the wall clock and leave the monotonic one alone.
	local real fake
	real=$(date +%s)
	fake=$(LD_PRELOAD=$CLOCK_FAKETIME_LIB FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME=+86400 date +%s)
	[ $((fake - real)) -ge 86000 ] || skip "libfaketime does not move the clock here"
}

clock_config() {
	local i=$1
	shift
	mesh_config "$i" "$@"
	if [ -n "${CLOCK_REKEY:-}" ]; then
		sed -i "s/^\[timers\]\$/[timers]\nrekey_after = $CLOCK_REKEY\nreject_after = $((2 * CLOCK_REKEY))/" \
			"$WT_TMP/h$i.conf"
	fi
}

clock_set() {
	local off=$2
	case $off in [+-]*) ;; *) off=+$off ;; esac
	wt_tmp
	printf '%s\n' "$off" >"$WT_TMP/h$1.faketime"
}

clock_start() {
	local i=$1
	[ -f "$WT_TMP/h$i.conf" ] || clock_config "$i"
	[ -f "$WT_TMP/h$i.faketime" ] || clock_set "$i" 0
	spawn "weftd$i" hN "$i" env LD_PRELOAD="$CLOCK_FAKETIME_LIB" FAKETIME_DONT_FAKE_MONOTONIC=1 \
		FAKETIME_TIMESTAMP_FILE="$WT_TMP/h$i.faketime" FAKETIME_NO_CACHE=1 \
		"$WEFTD" -c "$WT_TMP/h$i.conf"
	if ! wait_for 10 test -S "$WT_TMP/h$i.sock"; then
		cat "$(spawn_log "weftd$i")" >&2
		fail "weftd on host $i did not start"
	fi
}

clock_poll_start() {
	local script=$WT_TMP/poll.sh
	cat >"$script" <<'EOF'
# poll.sh WEFTCTL TMP HOSTS SECS: every 0.5 s, "T hI hJ STATE HANDSHAKES" lines.
n=0
end=$(($(date +%s) + $4))
while [ $n -lt $(($4 * 2 + 2)) ] && [ "$(date +%s)" -lt "$end" ]; do
	t=$(date +%s.%N)
	for ((i = 1; i <= $3; i++)); do
		[ -S "$2/h$i.sock" ] || continue
		"$1" -s "$2/h$i.sock" status --json 2>/dev/null |
			jq -r --arg t "$t" --arg h "h$i" \
				'.peers[] | "\($t) \($h) \(.name) \(.state) \(.handshakes)"' 2>/dev/null
	done
	sleep 0.5
	n=$((n + 1))
done
EOF
	spawn poll ul bash "$script" "$WEFTCTL" "$WT_TMP" "$WT_HOSTS" "$1"
}

clock_poll_stop() { kill_spawned poll 2; }

clock_drops() {
	mesh_status "$1" | jq -r '.drops | to_entries[] | select(.key | startswith("handshake")) |
		select(.value > 0) | "\(.key)=\(.value)"' | tr '\n' ' '
}

ping_stats() {
	awk -v end="${2:-0}" '
		/icmp_seq=/ && / bytes from / {
			ts = substr($1, 2, length($1) - 2) + 0
			if (n && ts - last > gap) gap = ts - last
			last = ts
			n++
		}
		/packets transmitted/ { sent = $1 }
		END {
			if (n && end - last > gap) gap = end - last
			printf "sent=%d replies=%d lost=%d gap=%.2f\n", sent, n, sent - n, gap
		}' "$1"
}

ping_gaps() {
	awk -v min="$2" -v end="${3:-0}" '
		/icmp_seq=/ && / bytes from / {
			ts = substr($1, 2, length($1) - 2) + 0
			if (n && ts - last > min + 0) printf "%.3f %.3f %.2f\n", last, ts, ts - last
			last = ts
			n++
		}
		END { if (n && end - last > min + 0) printf "%.3f %.3f %.2f\n", last, end, end - last }' "$1"
}

# ping_start NAME I J SECS INTERVAL: container hIc1 pings hJc1 every INTERVAL
# s with timestamps until ping_stop (at most SECS s: then it is interrupted).
# No deadline of ping's own: with one (-w), ping quits at the first ICMP
# error, which would cut the record of an outage short. The neighbours are
# made permanent first, so that an outage is the overlay's, not ARP's.
ping_start() {
	local name=$1 i=$2 j=$3
	c "$i" 1 ip neigh replace "$(cont_ip "$j" 1)" lladdr "$(cont_mac "$j" 1)" dev eth0 nud permanent
	c "$j" 1 ip neigh replace "$(cont_ip "$i" 1)" lladdr "$(cont_mac "$i" 1)" dev eth0 nud permanent
	spawn "$name" c "$i" 1 timeout -s INT "$4" ping -D -n -i "$5" -W 1 "$(cont_ip "$j" 1)"
}

# ping_stop NAME: interrupt it (it prints its statistics), wait for it.
ping_stop() {
	local pid
	if pid=$(spawn_pid "$1"); then
		kill -INT "$pid" 2>/dev/null || true
		# timeout passes the signal on to ping
	fi
	wait_for 10 grep -q 'packets transmitted' "$(spawn_log "$1")" || say "$1: no statistics"
	kill_spawned "$1" 3
}

state_drops() {
	awk '{
		k = $2 "->" $3
		if ((k in st) && st[k] == "up" && $4 != "up") printf "%s: up->%s at %s\n", k, $4, $1
		st[k] = $4
	}' "$(spawn_log poll)" 2>/dev/null
}
