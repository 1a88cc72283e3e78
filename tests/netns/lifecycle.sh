#!/bin/bash
# SPDX-License-Identifier: MIT
# The daemon's life cycle: a second weftd on the same bridge or port is
# refused with a clear message; SIGHUP with a broken file keeps the running
# configuration, with a good one adds a peer; SIGTERM exits within a second
# and removes the links weftd created; a crashed weftd's links are adopted.
#
#   h1c1 ─ weft0 ─ weftd(h1) ══ UDP 6783 over ul0 ══ weftd(h2) ─ weft0 ─ h2c1
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq

topo_create --hosts 2 --containers 1 --no-bridge
mesh_init
mesh_config 1
# Host 2 starts without knowing host 1; a reload adds it.
mesh_config 2
sed -i '/^\[peer "h1"\]/,$d' "$WT_TMP/h2.conf"
# h2 logs at debug level from the command line; its file says info.
mesh_start 1
mesh_start 2 -d
attach_containers

# A second instance on the same bridge is refused, naming the bridge.
sed -e "s|h1.sock|h1b.sock|" -e "s|:6783|:6790|" "$WT_TMP/h1.conf" >"$WT_TMP/h1b.conf"
if out=$(hN 1 timeout 5 "$WEFTD" -c "$WT_TMP/h1b.conf" 2>&1); then
	fail "a second weftd on bridge weft0 started"
fi
echo "$out" | grep -q "another weftd already runs on bridge weft0" ||
	fail "second instance: unclear message: $out"
# The same port with another bridge is refused too.
sed -e "s|h1.sock|h1c.sock|" -e "s|^bridge = .*|bridge = weft9|" "$WT_TMP/h1.conf" >"$WT_TMP/h1c.conf"
if out=$(hN 1 timeout 5 "$WEFTD" -c "$WT_TMP/h1c.conf" 2>&1); then
	fail "a second weftd on UDP port 6783 started"
fi
echo "$out" | grep -qi "address already in use" || fail "second port: unclear message: $out"
hN 1 ip link show weft9 >/dev/null 2>&1 && fail "the refused instance left bridge weft9 behind"

# h1 knows h2, so sessions come up from h1's side; h2 learns h1 as a member.
mesh_wait_up 1 2 15 || fail "h1 has no session with h2"
c 1 1 ping -c 2 -W 2 -q "$(cont_ip 2 1)" >/dev/null || fail "ping before reload"

# A broken file on SIGHUP: logged, the running configuration stays.
pid2=$(spawn_pid weftd2)
cp "$WT_TMP/h2.conf" "$WT_TMP/h2.good"
printf '[network]\nbogus = 1\n' >>"$WT_TMP/h2.conf"
kill -HUP "$pid2"
wait_for 5 grep -q "keeping the running configuration" "$(spawn_log weftd2)" ||
	fail "SIGHUP with a broken file: no message"
c 2 1 ping -c 2 -W 2 -q "$(cont_ip 1 1)" >/dev/null || fail "ping after a failed reload"
spawn_pid weftd2 >/dev/null || fail "weftd died on a broken reload"

# A good file on SIGHUP adds the configured peer h1.
cp "$WT_TMP/h2.good" "$WT_TMP/h2.conf"
printf '[peer "h1"]\nendpoint = %s:6783\n' "$(host_ip 1)" >>"$WT_TMP/h2.conf"
kill -HUP "$pid2"
wait_for 5 grep -q "reloaded" "$(spawn_log weftd2)" || fail "SIGHUP: no reload message"
grep -q "reload: logging at debug level" "$(spawn_log weftd2)" ||
	fail "a reload dropped the debug level given by -d"
[ "$(mesh_status 2 | jq -r '.peers[] | select(.name == "h1") | .configured')" = true ] ||
	fail "reload did not make h1 a configured peer"

# SIGTERM: exit status 0 within a second, links removed.
start=$(date +%s%N)
kill_spawned weftd1 1
ms=$((($(date +%s%N) - start) / 1000000))
[ "$SPAWN_STATUS" = 0 ] || fail "weftd exited with $SPAWN_STATUS on SIGTERM"
[ "$ms" -lt 1000 ] || fail "weftd took ${ms} ms to stop"
say "SIGTERM to exit: ${ms} ms"
hN 1 ip link show weft0-br >/dev/null 2>&1 && fail "veth pair left behind after SIGTERM"

# After a crash (SIGKILL) the next start adopts the leftover links.
mesh_start 1
pid1=$(spawn_pid weftd1)
kill -KILL "$pid1"
wait "$pid1" 2>/dev/null || true
hN 1 ip link show weft0-br >/dev/null 2>&1 || fail "SIGKILL should leave the veth pair"
rm -f "$WT_TMP/weftd1.pid"
mesh_start 1
mesh_wait_up 1 2 15 || fail "no session after restarting over leftovers"
c 1 1 ping -c 2 -W 2 -q "$(cont_ip 2 1)" >/dev/null || fail "ping after restart over leftovers"
mesh_stop_all
say "PASS"
