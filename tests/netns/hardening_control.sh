#!/bin/bash
# SPDX-License-Identifier: MIT
# The control socket never stops the data path or the daemon (issue 12,
# finding 7). weftd on h1 runs with SIGPIPE at its default disposition, as a
# shell starts it (systemd would have set it ignored).
#   (a) a client sending one byte a second for 10 s while h1c1 pings h2c1
#       every 50 ms: the largest RTT stays that of an idle overlay
#       (before: the loop served the client synchronously; max RTT ~10 s)
#   (b) 40 idle clients at once: weftd holds a bounded number of them (the
#       oldest make room, counted in drops.control_busy) and still answers a
#       real `weftctl status' at once (before: each idle client cost the loop
#       its 1 s read timeout; 40 of them could not even connect in 10 s)
#   (c) 50 clients that send a request and close before reading: weftd lives
#       (already so before: replies are sent with MSG_NOSIGNAL since 56e7945)
#   (d) a request of 5000 bytes without a newline: "request too large"
#   (e) weftd's stderr is a pipe whose reader has gone: its next log lines
#       fail, weftd lives and exits 0 (before: killed by SIGPIPE, status 141)
#
#   h1c1 ─ weft0 ─ weftd(h1) ══ UDP 6783 over ul0 ══ weftd(h2) ─ weft0 ─ h2c1
#                     ╰── control socket ── clients from this shell
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq python3
env --default-signal=PIPE true 2>/dev/null || skip "env has no --default-signal (coreutils < 8.31)"
PY=$(command -v python3)

# Pings at 50 ms during (a): below this the overlay kept forwarding.
MAX_RTT_MS=${MAX_RTT_MS:-500}

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
mesh_config 1
mesh_config 2
SOCK=$WT_TMP/h1.sock

# start_h1 [STDERR]: weftd on h1 with SIGPIPE at its default disposition.
start_h1() {
	spawn weftd1 h1 sh -c 'exec env --default-signal=PIPE "$0" -c "$1" 2>"$2"' \
		"$WEFTD" "$WT_TMP/h1.conf" "${1:-$WT_TMP/h1.stderr}"
	wait_for 10 h1_started || true
	spawn_pid weftd1 >/dev/null || {
		kill_spawned weftd1
		fail "weftd on h1 died starting, status $SPAWN_STATUS (141: SIGPIPE)"
	}
	test -S "$SOCK" || fail "weftd on h1 did not start: $(cat "$WT_TMP/h1.stderr" 2>/dev/null)"
}
h1_started() { test -S "$SOCK" || ! spawn_pid weftd1 >/dev/null; }
h1_alive() { spawn_pid weftd1 >/dev/null || fail "weftd on h1 died ($*): $(tail -n 5 "$WT_TMP/h1.stderr")"; }
status_time() { # weftctl status, timed in ms; fails when weftctl does
	local t0 t1
	t0=$(date +%s%N)
	"$WEFTCTL" -s "$SOCK" status --json >"$WT_TMP/status.json" || return 1
	t1=$(date +%s%N)
	echo $(((t1 - t0) / 1000000))
}

start_h1
mesh_start 2
attach_containers
mesh_wait_up 1 2 15 || fail "no session between h1 and h2"
c 1 1 ping -c 3 -i 0.2 -W 2 -q "$(cont_ip 2 1)" >/dev/null || fail "no ping across the overlay"

# ---- (a) one byte a second ---------------------------------------------------------
spawn slow h1 "$PY" -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
t0 = time.monotonic()
try:
    for i in range(10):
        s.send(b" ")
        time.sleep(1)
    s.send(b"{\"command\":\"status\"}\n")
    print("sent everything; reply:", s.recv(100))
except OSError as e:
    print("closed by weftd after %.1f s: %s" % (time.monotonic() - t0, e))
' "$SOCK"
c 1 1 ping -c 200 -i 0.05 -W 2 "$(cont_ip 2 1)" >"$WT_TMP/ping_a.txt" 2>&1 || true
kill_spawned slow
h1_alive "slow client"
rtt=$(awk -F/ '/^rtt/ { print $6 }' "$WT_TMP/ping_a.txt")
loss=$(grep -o '[0-9.]*% packet loss' "$WT_TMP/ping_a.txt" | cut -d% -f1)
[ -n "$rtt" ] || fail "(a) no ping summary: $(tail -n 3 "$WT_TMP/ping_a.txt")"
say "(a) slow client: 200 pings at 50 ms, max RTT $rtt ms, loss $loss%; client: $(cat "$(spawn_log slow)")"
awk -v r="$rtt" -v m="$MAX_RTT_MS" 'BEGIN { exit !(r < m) }' ||
	fail "(a) max RTT $rtt ms while a control client trickled bytes (limit $MAX_RTT_MS ms)"
awk -v l="$loss" 'BEGIN { exit !(l < 5) }' || fail "(a) $loss% of the pings lost"
late=$(mesh_drop_get 1 control_late)
[ "$late" -ge 1 ] || fail "(a) the slow client was not closed at its deadline (control_late $late)"

# ---- (b) many idle clients -----------------------------------------------------------
pid1=$(spawn_pid weftd1)
fds0=$(find "/proc/$pid1/fd" -mindepth 1 -maxdepth 1 | wc -l)
busy0=$(mesh_drop_get 1 control_busy)
spawn idle h1 "$PY" -c '
import socket, sys, time
conns = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    conns.append(s)
print("connected", len(conns), flush=True)
time.sleep(30)
' "$SOCK"
wait_for 10 grep -q connected "$(spawn_log idle)" ||
	fail "(b) 40 clients could not even connect in 10 s (weftd is not accepting)"
fds=$(find "/proc/$pid1/fd" -mindepth 1 -maxdepth 1 | wc -l)
ms=$(status_time) || fail "(b) weftctl status failed with 40 idle clients connected"
fds_after=$(find "/proc/$pid1/fd" -mindepth 1 -maxdepth 1 | wc -l)
busy=$(mesh_drop_get 1 control_busy)
say "(b) 40 idle clients: weftctl status answered in $ms ms; weftd's open files $fds0 -> $fds (then $fds_after); control_busy $busy0 -> $busy"
[ "$ms" -lt 2000 ] || fail "(b) weftctl status took $ms ms"
[ "$((fds - fds0))" -le 8 ] || fail "(b) weftd holds $((fds - fds0)) more files with 40 idle clients (at most 8 connections)"
[ "$((busy - busy0))" -ge 32 ] || fail "(b) control_busy rose by $((busy - busy0)), expected at least 32"
c 1 1 ping -c 10 -i 0.05 -W 1 -q "$(cont_ip 2 1)" >/dev/null || fail "(b) pings lost with idle clients connected"
kill_spawned idle
h1_alive "idle clients"

# ---- (c) clients gone before their reply ---------------------------------------------
"$PY" -c '
import socket, sys
for i in range(50):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.send(b"{\"command\":\"status\"}\n")
    s.close()
' "$SOCK"
sleep 0.5
h1_alive "clients closing before the reply"
ms=$(status_time) || fail "(c) weftctl status failed after the early-closing clients"
say "(c) 50 clients closed before their reply: weftd alive (SIGPIPE at its default), status in $ms ms"

# ---- (d) the request size cap --------------------------------------------------------
reply=$("$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
s.sendall(b" " * 5000)
print(s.recv(200).decode().strip())
' "$SOCK")
say "(d) 5000 bytes without a newline: $reply"
[ "$(jq -r .error <<<"$reply")" = "request too large" ] || fail "(d) reply $reply"

# ---- (e) stderr to a pipe nobody reads any more --------------------------------------
kill_spawned weftd1 5
[ "$SPAWN_STATUS" = 0 ] || fail "weftd on h1 exited with status $SPAWN_STATUS"
mkfifo "$WT_TMP/h1.fifo"
spawn logreader h1 head -n 1 "$WT_TMP/h1.fifo"
start_h1 "$WT_TMP/h1.fifo"
logreader_gone() { ! spawn_pid logreader >/dev/null; }
wait_for 5 logreader_gone || fail "(e) the log reader did not leave after one line"
# Log lines after the reader left: a reload logs "reloaded ...".
for i in 1 2; do
	pid1=$(spawn_pid weftd1) || { kill_spawned weftd1; fail "(e) weftd on h1 died logging to a closed pipe (status $SPAWN_STATUS; 141: SIGPIPE)"; }
	kill -HUP "$pid1"
	sleep 0.5
done
mesh_wait_up 1 2 15 || fail "(e) no session between h1 and h2 after the restart"
kill_spawned weftd1 5
say "(e) stderr a closed pipe: weftd went on and exited with status $SPAWN_STATUS"
[ "$SPAWN_STATUS" = 0 ] || fail "(e) weftd on h1 exited with status $SPAWN_STATUS (141: SIGPIPE)"

mesh_stop 2
say PASS
