#!/bin/bash
# SPDX-License-Identifier: MIT
# What an operator does at run time, checked with real tools:
#   (a) metrics: `weftctl metrics' and GET /metrics on [metrics] listen are
#       read by Python's prometheus_client parser (the exposition format's
#       reference parser); per-peer counters move with traffic; HEAD, a wrong
#       path, a wrong method and a client that sends nothing are answered
#       or timed out without holding up the data path;
#   (b) `weftctl connect' brings in a member that nobody configured, and it
#       is back after a restart (the members file);
#   (c) `weftctl forget' ends its sessions and bans its key: its handshakes
#       are refused, gossip does not bring it back, and the ban survives a
#       restart; `weftctl unforget' lets it in again;
#   (d) a [peer] removed from the configuration and reloaded is banned the
#       same way; naming it again lets it in;
#   (e) a second weftd given the control socket of a running one refuses to
#       start, before making any link, and leaves the first one's working;
#   (f) weftctl -n NAME finds a daemon by unit instance (/etc/weft/NAME.conf),
#       by socket (/run/weft/NAME.sock) or by [network] name (here in the
#       test's directories: WEFTCTL_CONFIG_DIR, WEFTCTL_RUN_DIR).
#
#   h1c1 ─ weft0 ─ weftd(h1) ══╗    h1 and h2 name each other;
#   h2c1 ─ weft0 ─ weftd(h2) ══╬══  h3 names nobody and nobody names h3
#   h3c1 ─ weft0 ─ weftd(h3) ══╝
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin ping jq
# Debian's interpreter, where python3-prometheus-client is installed (a
# python3 earlier in PATH may be another one).
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || skip "no python3"
"$PY" -c 'import prometheus_client.parser' 2>/dev/null ||
	skip "python3-prometheus-client is not installed"

METRICS_PORT=9783

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
for i in 1 2 3; do
	mesh_config "$i" "[metrics]" "listen = 127.0.0.1:$METRICS_PORT"
done
# h3 names nobody, and nobody names h3.
awk '/^\[peer /{skip=1} !skip' "$WT_TMP/h3.conf" >"$WT_TMP/h3.new" && mv "$WT_TMP/h3.new" "$WT_TMP/h3.conf"
for i in 1 2; do
	awk -v sec='[peer "h3"]' '/^\[/ { skip = ($0 == sec) } !skip' "$WT_TMP/h$i.conf" >"$WT_TMP/h$i.new"
	mv "$WT_TMP/h$i.new" "$WT_TMP/h$i.conf"
done
grep -q '^\[peer' "$WT_TMP/h3.conf" && fail "h3.conf names a peer"
mesh_start_all
mesh_wait_up 1 2 15 || fail "no session between h1 and h2"

ctl() { local i=$1; shift; "$WEFTCTL" -s "$WT_TMP/h$i.sock" "$@"; }
pings() { c "$1" 1 ping -c 2 -i 0.2 -W 1 -q "$(cont_ip "$2" 1)" >/dev/null 2>&1; }
fpr() { jq -r .fingerprint <<<"$(mesh_status "$1")"; }

# ---- (a) metrics -------------------------------------------------------------

# parse SOURCE: the exposition on stdin, through prometheus_client's parser,
# as "name{labels} value" lines (sorted label names); fails on any error.
cat >"$WT_TMP/parse.py" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
text = sys.stdin.read()
n = 0
for fam in text_string_to_metric_families(text):
    if not fam.documentation:
        sys.exit("family %s has no HELP" % fam.name)
    if fam.type not in ("counter", "gauge"):
        sys.exit("family %s has type %s" % (fam.name, fam.type))
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("%s{%s} %r" % (s.name, labels, s.value))
        n += 1
if n < 50:
    sys.exit("only %d samples" % n)
PY
parse() { "$PY" "$WT_TMP/parse.py"; }
# metric FILE NAME LABELS: the value of one sample in parsed output
metric() { awk -v k="$2{$3}" '$1 == k { print $2 }' "$1"; }
http_get() { # http_get I PATH [METHOD]: status line, headers and body from 127.0.0.1 in host I
	hN "$1" "$PY" - "$2" "${3:-GET}" "$METRICS_PORT" <<'PY'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[3]), timeout=5)
c.request(sys.argv[2], sys.argv[1])
r = c.getresponse()
body = r.read()
sys.stdout.write("%d %s\n" % (r.status, r.getheader("Content-Type")))
sys.stdout.buffer.write(body)
PY
}
hN() { local i=$1; shift; ip netns exec "$(ns_host "$i")" "$@"; }

ctl 1 metrics >"$WT_TMP/m0.txt" || fail "weftctl metrics failed"
parse <"$WT_TMP/m0.txt" >"$WT_TMP/m0" || fail "weftctl metrics does not parse: $(parse <"$WT_TMP/m0.txt" 2>&1 | tail -1)"
grep -q '^weft_build_info{network=mesh,version=' "$WT_TMP/m0" || fail "no weft_build_info"
for f in weft_peer_rx_bytes_total weft_peer_tx_packets_total weft_peer_handshakes_total \
	weft_drops_total weft_udp_rx_datagrams_total weft_capture_kernel_packets_total \
	weft_mactable_entries weft_peers weft_peer_state weft_peer_last_handshake_timestamp_seconds \
	weft_peer_session_age_seconds weft_inject_queued_total weft_router_frames_sent_total; do
	grep -q "^$f{" "$WT_TMP/m0" || fail "weftctl metrics has no $f"
done
key2=$(fpr 2)
rx0=$(metric "$WT_TMP/m0" weft_peer_rx_packets_total "key=$key2,peer=h2")
[ -n "$rx0" ] || fail "no weft_peer_rx_packets_total for h2 (key $key2)"
[ "$(metric "$WT_TMP/m0" weft_peer_state "key=$key2,peer=h2,state=up")" = 1.0 ] ||
	fail "weft_peer_state says h2 is not up"
wait_for 10 pings 1 2 || fail "h1c1 cannot ping h2c1"
c 1 1 ping -c 20 -i 0.05 -W 1 -q "$(cont_ip 2 1)" >/dev/null || fail "20 pings h1c1 -> h2c1"
http_get 1 /metrics >"$WT_TMP/m1.http" || fail "GET /metrics failed"
head -n 1 "$WT_TMP/m1.http" | grep -q '^200 text/plain; version=0.0.4' ||
	fail "GET /metrics: $(head -n 1 "$WT_TMP/m1.http")"
tail -n +2 "$WT_TMP/m1.http" | parse >"$WT_TMP/m1" || fail "GET /metrics does not parse"
rx1=$(metric "$WT_TMP/m1" weft_peer_rx_packets_total "key=$key2,peer=h2")
"$PY" -c "import sys; sys.exit(0 if float('$rx1') >= float('$rx0') + 20 else 1)" ||
	fail "weft_peer_rx_packets_total{peer=h2}: $rx0 -> $rx1 after 20 pings, expected +20"
say "(a) metrics: $(wc -l <"$WT_TMP/m1") samples parsed; h1's rx_packets from h2 $rx0 -> $rx1 after 20 pings"
[ "$(http_get 1 /metrics HEAD | head -n 1 | cut -d' ' -f1)" = 200 ] || fail "HEAD /metrics"
[ "$(http_get 1 / | head -n 1 | cut -d' ' -f1)" = 404 ] || fail "GET / is not 404"
[ "$(http_get 1 /metrics POST | head -n 1 | cut -d' ' -f1)" = 405 ] || fail "POST is not 405"
# Clients that connect and say nothing: the data path goes on, and they are
# closed after the deadline.
spawn idle h1 "$PY" -c "
import socket, time
s = [socket.create_connection(('127.0.0.1', $METRICS_PORT)) for _ in range(12)]
time.sleep(8)"
sleep 0.5
c 1 1 ping -c 10 -i 0.05 -W 1 -q "$(cont_ip 2 1)" >/dev/null ||
	fail "pings lost while idle clients hold the metrics listener"
wait_for 10 sh -c "ip netns exec $(ns_host 1) $PY -c \"
import http.client; c = http.client.HTTPConnection('127.0.0.1', $METRICS_PORT, timeout=2)
c.request('GET', '/metrics'); assert c.getresponse().status == 200\"" ||
	fail "metrics not served again after the idle clients' deadline"
kill_spawned idle

# ---- (b) connect ------------------------------------------------------------------

out=$(ctl 1 connect "$(host_ip 3):6783") || fail "weftctl connect failed"
say "(b) weftctl connect: $out"
wait_for 15 pings 1 3 || fail "h1c1 cannot reach h3c1 after weftctl connect"
wait_for 15 sh -c "[ \"\$('$WEFTCTL' -s '$WT_TMP/h1.sock' status --json |
	jq -r '.peers[] | select(.name == \"h3\") | .learned')\" = connect ]" ||
	fail "h1's peer for h3 is not named h3 (learned: connect)"
ctl 1 connect 10.0.0.999 >/dev/null 2>&1 && fail "weftctl connect accepted a bad address"
ctl 1 connect "$(host_ip 3):6783" | grep -q "handshaking again" || fail "a second connect made another peer"
# the members file brings it back after a restart
sleep 6 # members file written at most every few seconds
mesh_stop 1
mesh_start 1
wait_for 20 pings 1 3 || fail "h3 not back after h1 restarted (members file)"
say "(b) h3, connected by hand, is back after h1 restarted"

# ---- (c) forget, ban, unforget ------------------------------------------------------

key3=$(fpr 3)
refused0=$(mesh_drop_get 1 handshake_refused)
ctl 1 forget h3 | grep -q "forgot h3" || fail "weftctl forget h3"
[ -z "$(mesh_peer_state 1 3)" ] || fail "h1 still has a peer h3 after forget"
ctl 1 peers --json | jq -e --arg k "$key3" '.banned[] | select(.fingerprint == $k)' >/dev/null ||
	fail "h3's key is not in h1's ban list"
ctl 1 peers | grep -q "^h3 .*$key3" || fail "weftctl peers does not list the ban"
NEVER_SECS=12
for _ in $(seq $((NEVER_SECS * 2))); do
	[ -z "$(mesh_peer_state 1 3)" ] || fail "h3 came back to h1 while banned"
	sleep 0.5
done
pings 1 3 && fail "h1c1 reaches h3c1 while h3 is banned"
refused1=$(mesh_drop_get 1 handshake_refused)
[ "$refused1" -gt "$refused0" ] || fail "h3's handshakes were not refused (handshake_refused $refused0 -> $refused1)"
say "(c) forget: h3 stayed out for ${NEVER_SECS} s, handshake_refused $refused0 -> $refused1"
mesh_stop 1
mesh_start 1
mesh_wait_up 1 2 15 || fail "h1 and h2 not back after the restart"
ctl 1 peers --json | jq -e --arg k "$key3" '.banned[] | select(.fingerprint == $k)' >/dev/null ||
	fail "the ban did not survive a restart"
for _ in $(seq 16); do
	[ -z "$(mesh_peer_state 1 3)" ] || fail "h3 came back to h1 after the restart while banned"
	sleep 0.5
done
say "(c) the ban survived a restart"
ctl 1 forget nosuchpeer >/dev/null 2>&1 && fail "forget of an unknown peer succeeded"
ctl 1 unforget "$key3" | grep -q "may join again" || fail "weftctl unforget"
ctl 1 connect "$(host_ip 3):6783" >/dev/null || fail "connect after unforget"
wait_for 15 pings 1 3 || fail "h3 not back after unforget"
say "(c) unforget: h3 back"

# ---- (d) a [peer] removed from the configuration ----------------------------------------

key2=$(fpr 2)
cp "$WT_TMP/h1.conf" "$WT_TMP/h1.full"
awk -v sec='[peer "h2"]' '/^\[/ { skip = ($0 == sec) } !skip' "$WT_TMP/h1.full" >"$WT_TMP/h1.conf"
kill -HUP "$(spawn_pid weftd1)"
wait_for 5 sh -c "'$WEFTCTL' -s '$WT_TMP/h1.sock' peers --json | jq -e '.banned[] | select(.name == \"h2\")'" ||
	fail "h2, removed from h1's configuration, is not banned"
sleep 3
for _ in $(seq 16); do
	[ "$(mesh_peer_state 1 2)" != up ] || fail "h2 is up on h1 after its [peer] was removed"
	sleep 0.5
done
pings 1 2 && fail "h1c1 reaches h2c1 after h2's [peer] was removed"
cp "$WT_TMP/h1.full" "$WT_TMP/h1.conf"
kill -HUP "$(spawn_pid weftd1)"
mesh_wait_up 1 2 20 || fail "h2 not back after its [peer] was named again"
ctl 1 peers --json | jq -e '.banned[] | select(.name == "h2")' >/dev/null &&
	fail "h2 still banned after its [peer] was named again"
say "(d) a removed [peer] was banned, and let in again when named again"

# ---- (e) a second daemon on the same control socket -----------------------------------------

sed -e "s|^listen = .*|listen = $(host_ip 1):6799|" -e 's|^bridge = .*|bridge = weft9|' \
	-e "s|^members_file = .*|members_file =|" -e "/^\[metrics\]/,/^listen/d" \
	"$WT_TMP/h1.conf" >"$WT_TMP/second.conf"
grep -q "^socket = $WT_TMP/h1.sock" "$WT_TMP/second.conf" || fail "second.conf does not share h1's socket"
if hN 1 timeout 10 "$WEFTD" -c "$WT_TMP/second.conf" >"$WT_TMP/second.log" 2>&1; then
	fail "a second weftd started on h1's control socket"
fi
grep -q "served by another running weftd" "$WT_TMP/second.log" ||
	fail "the second weftd did not say why: $(tail -n 1 "$WT_TMP/second.log")"
ctl 1 status >/dev/null || fail "h1's control socket stopped working"
hN 1 ip link show weft9 >/dev/null 2>&1 && fail "the refused weftd left its bridge behind"
say "(e) $(grep -m1 'served by another' "$WT_TMP/second.log")"
grep -q "created bridge\|created veth" "$WT_TMP/second.log" && fail "the refused weftd made links before refusing"

# ---- (f) weftctl -n: by unit instance, by network name ----------------------------------------

mkdir -p "$WT_TMP/etc" "$WT_TMP/run"
cp "$WT_TMP/h1.conf" "$WT_TMP/etc/prod.conf" # weftd@prod runs /etc/weft/prod.conf (h1's socket)
sed -e 's/^name = mesh/name = other/' "$WT_TMP/h3.conf" >"$WT_TMP/etc/x.conf" # network "other": h3
ln -s "$WT_TMP/h2.sock" "$WT_TMP/run/mesh.sock" # network mesh's default socket: h2
n_ctl() { WEFTCTL_CONFIG_DIR="$WT_TMP/etc" WEFTCTL_RUN_DIR="$WT_TMP/run" "$WEFTCTL" "$@"; }
[ "$(n_ctl -n prod status --json | jq -r .fingerprint)" = "$(fpr 1)" ] ||
	fail "weftctl -n prod did not find the instance prod (h1)"
[ "$(n_ctl -n mesh status --json | jq -r .fingerprint)" = "$(fpr 2)" ] ||
	fail "weftctl -n mesh did not find /run/weft/mesh.sock (h2)"
[ "$(n_ctl -n other status --json | jq -r .fingerprint)" = "$(fpr 3)" ] ||
	fail "weftctl -n other did not find the file whose network is other (h3)"
[ "$(n_ctl status --json | jq -r .fingerprint)" = "$(fpr 2)" ] ||
	fail "weftctl without -n did not use the only socket"
n_ctl -n nosuch status >/dev/null 2>&1 && fail "weftctl -n nosuch succeeded"
ln -s "$WT_TMP/h3.sock" "$WT_TMP/run/third.sock"
n_ctl status 2>&1 | grep -q "name one with -n" || fail "weftctl without -n, two sockets: no clear error"
"$WEFTCTL" --version | grep -qx "weftctl [0-9.]*" || fail "weftctl --version"
say "(f) weftctl -n finds instances by unit instance and by network name"

mesh_stop_all
say PASS
