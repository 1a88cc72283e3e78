#!/bin/bash
# SPDX-License-Identifier: MIT
# What an operator reads when a member cannot join, on both sides:
#   - the responder (h2) names the cause of each refused handshake: a wrong
#     network secret (h3, first run), a wrong network name (h3, second run;
#     the same words: the HELLO cannot tell them apart), a pinned key that
#     differs (h1; both fingerprints shown), each line limited per source;
#   - an initiator warns once per configured peer that gets no session after
#     3 failed handshakes, with the likely causes: h2 toward "ghost", an
#     address where nobody listens (no answer; warned once, not again on the
#     attempts after), and h1 toward h2 (it answers but refuses our key),
#     which says so again at info when h2 takes the right pin;
#   - under journald the lines about a peer carry PEER= and ENDPOINT= (h3's
#     second run logs to a stand-in journal socket in its own mount
#     namespace; skipped without python3);
#   - start-up creates a missing key directory 0700 and leaves the existing
#     one above it alone (h2's key lives in $WT_TMP/state/weft/).
#
#   weftd(h1, pinned wrong on h2) ══╗
#                                   ╠══ ul0 ══ weftd(h2) ── → 10.0.0.9 "ghost" (nobody)
#   weftd(h3: secret, then name) ══╝
set -eu
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/mesh.sh"
mesh_test_begin jq

WARN_AFTER=3 # daemon/handshakes.c WARN_AFTER_FAILURES
GHOST=10.0.0.9:6783

topo_create --hosts 3 --containers 1 --no-bridge
mesh_init
(umask 077 && "$WEFTD" genpsk >"$WT_TMP/secret2" && "$WEFTD" genkey >"$WT_TMP/other.key")
"$WEFTD" pubkey <"$WT_TMP/other.key" >"$WT_TMP/other.pub"
fpr() { cut -c1-8 "$1"; }

# conf I NAME SECRET KEYFILE [PEER-LINES...]: $WT_TMP/hI.conf
conf() {
	local i=$1 name=$2 secret=$3 key=$4 line
	shift 4
	{
		printf '[network]\nname = %s\nnickname = h%d\nsecret_file = %s\n' "$name" "$i" "$secret"
		printf 'private_key_file = %s\nmembers_file =\n' "$key"
		printf 'timestamps_file = %s/h%d.timestamps\n' "$WT_TMP" "$i"
		printf 'listen = %s\nbridge = %s\n' "$(mesh_endpoint "$i")" "$WT_BRIDGE"
		printf '[control]\nsocket = %s/h%d.sock\n[log]\nlevel = info\n' "$WT_TMP" "$i"
		for line in "$@"; do printf '%s\n' "$line"; done
	} >"$WT_TMP/h$i.conf"
}
# count I TEXT: lines of host I's log (as started by mesh_start) holding TEXT.
count() { grep -cF -- "$2" "$(spawn_log "weftd$1")" || true; }

# h2: the responder. Its key directory does not exist yet; the one above does.
mkdir -m 0755 "$WT_TMP/state"
conf 2 ops "$WT_TMP/secret" "$WT_TMP/state/weft/h2.key" \
	'[peer "h1"]' "public_key = $(cat "$WT_TMP/other.pub")" \
	'[peer "ghost"]' "endpoint = $GHOST"
conf 1 ops "$WT_TMP/secret" "$WT_TMP/h1.key" '[peer "h2"]' "endpoint = $(mesh_endpoint 2)"
conf 3 ops "$WT_TMP/secret2" "$WT_TMP/h3.key" '[peer "h2"]' "endpoint = $(mesh_endpoint 2)"
mesh_start 2
mesh_start 1
mesh_start 3

# ---- start-up made the key directory ----------------------------------------
[ "$(stat -c %a "$WT_TMP/state/weft")" = 700 ] || fail "key directory mode $(stat -c %a "$WT_TMP/state/weft")"
[ "$(stat -c %a "$WT_TMP/state")" = 755 ] || fail "start-up changed the existing directory above the key's"
[ -s "$WT_TMP/state/weft/h2.key" ] || fail "no key created"
grep -q "created the directory $WT_TMP/state/weft (mode 0700)" "$(spawn_log weftd2)" ||
	fail "start-up did not say it created the key directory"
say "start-up created $WT_TMP/state/weft (0700), left $WT_TMP/state (0755)"

# ---- the responder names each cause --------------------------------------------
secret_line="HELLO from $(host_ip 3):6783 refused: wrong network secret or network name"
wait_for 10 grep -qF "$secret_line" "$(spawn_log weftd2)" ||
	fail "h2 did not name a wrong network secret: $(grep refused "$(spawn_log weftd2)")"
say "wrong secret: $(grep -F "$secret_line" "$(spawn_log weftd2)" | head -n 1)"

pin_line="peer h1 (h1 at $(host_ip 1):6783) refused: pinned key differs: pinned $(fpr "$WT_TMP/other.pub"), presented $(fpr "$WT_TMP/h1.pub")"
wait_for 15 grep -qF "$pin_line" "$(spawn_log weftd2)" ||
	fail "h2 did not show both keys: $(grep refused "$(spawn_log weftd2)")"
say "pin: $(grep -F "$pin_line" "$(spawn_log weftd2)" | head -n 1)"

# h3 again, the right secret under another network name; this run logs to a
# stand-in journald when python3 is here.
kill_spawned weftd3
before=$(count 2 "$secret_line")
conf 3 other "$WT_TMP/secret" "$WT_TMP/h3.key" '[peer "h2"]' "endpoint = $(mesh_endpoint 2)"
journal=0
if command -v python3 >/dev/null 2>&1; then
	journal=1
	# A journald stand-in: every native-protocol datagram, its fields one a
	# line, then "--". It exits when weftd (its parent after the exec) does.
	cat >"$WT_TMP/journal.py" <<'EOF'
import os, socket, sys, time
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
s.settimeout(0.5)
parent, end = os.getppid(), time.time() + 300
with open(out, "a") as f:
    while os.getppid() == parent and time.time() < end:
        try:
            d = s.recv(65536)
        except socket.timeout:
            continue
        f.write(d.decode(errors="replace").rstrip("\n") + "\n--\n")
        f.flush()
EOF
	: >"$WT_TMP/weftd3.log"
	: >"$WT_TMP/journal.txt"
	# shellcheck disable=SC2016 # expanded by the inner shell
	spawn weftd3 h3 unshare -m sh -c '
		mount -t tmpfs tmpfs /run/systemd && mkdir /run/systemd/journal || exit 1
		python3 "$1" /run/systemd/journal/socket "$2" &
		n=0; while [ ! -S /run/systemd/journal/socket ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n+1)); done
		JOURNAL_STREAM=$(stat -L -c %d:%i /proc/self/fd/2) exec "$3" -c "$4"' \
		sh "$WT_TMP/journal.py" "$WT_TMP/journal.txt" "$WEFTD" "$WT_TMP/h3.conf"
	wait_for 10 test -S "$WT_TMP/h3.sock" || fail "h3 (journald stand-in) did not start: $(cat "$(spawn_log weftd3)")"
else
	say "no python3: the journal fields are not checked"
	mesh_start 3
fi
# One line per 10 s per source after a burst of 3: h3's earlier run may have
# spent the burst.
wait_for 25 sh -c "[ \$(grep -cF '$secret_line' '$(spawn_log weftd2)') -gt $before ]" ||
	fail "h2 did not name a wrong network name"
say "wrong name: the same words, $(($(count 2 "$secret_line") - before)) more line(s)"

# ---- initiators warn once --------------------------------------------------------
ghost_warn="peer ghost ($GHOST): no session after $WARN_AFTER handshake attempts in"
wait_for 45 grep -qF "$ghost_warn" "$(spawn_log weftd2)" || fail "h2 did not warn about ghost"
grep -F "$ghost_warn" "$(spawn_log weftd2)" | grep -q "warning: .*no answer; likely: no route to it or a wrong address or port, a firewall dropping UDP" ||
	fail "the warning about ghost lacks its level or causes: $(grep -F "$ghost_warn" "$(spawn_log weftd2)")"
grep -F "$ghost_warn" "$(spawn_log weftd2)" | grep -q "another network secret or network name on its side" ||
	fail "the warning about ghost does not name a wrong secret or name"
say "ghost: $(grep -F "$ghost_warn" "$(spawn_log weftd2)")"

h2_warn="peer h2 ($(mesh_endpoint 2)): no session after $WARN_AFTER handshake attempts in"
wait_for 30 grep -qF "$h2_warn" "$(spawn_log weftd1)" || fail "h1 did not warn about h2"
grep -F "$h2_warn" "$(spawn_log weftd1)" | grep -q "it answers but refuses our key $(fpr "$WT_TMP/h1.pub"); likely: it requires pinned keys" ||
	fail "h1's warning does not say h2 refuses its key: $(grep -F "$h2_warn" "$(spawn_log weftd1)")"
say "h1: $(grep -F "$h2_warn" "$(spawn_log weftd1)")"

# More failed attempts after the warning, and still one warning each (the
# retry timer is at 30-37.5 s by then).
wait_for 45 sh -c "[ \$(\"$WEFTCTL\" -s '$WT_TMP/h2.sock' status --json |
	jq '.peers[] | select(.name == \"ghost\") | .handshakes_failed') -gt $WARN_AFTER ]" ||
	fail "ghost's handshakes_failed did not pass $WARN_AFTER: $(mesh_status 2 | jq -c '.peers[] | select(.name == "ghost")')"
[ "$(count 2 "$ghost_warn")" = 1 ] || fail "h2 warned $(count 2 "$ghost_warn") times about ghost"
[ "$(count 1 "$h2_warn")" = 1 ] || fail "h1 warned $(count 1 "$h2_warn") times about h2"
say "one warning each; ghost's handshakes_failed: $(mesh_status 2 | jq '.peers[] | select(.name == "ghost") | .handshakes_failed')"

# ---- the journal fields -------------------------------------------------------------
if [ "$journal" = 1 ]; then
	h3_warn="MESSAGE=peer h2 ($(mesh_endpoint 2)): no session after $WARN_AFTER handshake attempts"
	wait_for 20 grep -qF "$h3_warn" "$WT_TMP/journal.txt" ||
		fail "h3's warning is not in the journal: $(cat "$WT_TMP/journal.txt")"
	entry=$(awk -v w="$h3_warn" 'index($0, w) == 1 { on = 1 } on { print } on && /^--$/ { exit }' "$WT_TMP/journal.txt")
	for field in "PRIORITY=4" "PEER=h2" "ENDPOINT=$(mesh_endpoint 2)" "SYSLOG_IDENTIFIER=weftd"; do
		printf '%s\n' "$entry" | grep -qxF "$field" || fail "journal entry lacks $field: $entry"
	done
	# Lines about no peer stay on the stream, with their priority prefix.
	grep -q '^<6>ready: ' "$(spawn_log weftd3)" || fail "h3's stream lines lack the <N> prefix"
	! grep -qF "no session after" "$(spawn_log weftd3)" || fail "h3's warning went to the stream too"
	say "journal: $(printf '%s' "$entry" | tr '\n' ' ')"
fi

# ---- and the warned initiator says when it works ------------------------------------
conf 2 ops "$WT_TMP/secret" "$WT_TMP/state/weft/h2.key" \
	'[peer "h1"]' "public_key = $(cat "$WT_TMP/h1.pub")" \
	'[peer "ghost"]' "endpoint = $GHOST"
kill -HUP "$(spawn_pid weftd2)"
"$WEFTD" pubkey <"$WT_TMP/state/weft/h2.key" >"$WT_TMP/h2.pub"
reached="peer h2 ($(fpr "$WT_TMP/h2.pub")) reached: session established after"
wait_for 30 grep -qF "$reached" "$(spawn_log weftd1)" ||
	fail "h1 did not say h2 is reached: $(grep 'h2' "$(spawn_log weftd1)" | tail -n 5)"
grep -F "$reached" "$(spawn_log weftd1)" | grep -q " info: " || fail "the recovery is not at info level"
say "h1: $(grep -F "$reached" "$(spawn_log weftd1)")"

kill_spawned weftd3
mesh_stop 1
mesh_stop 2
say PASS
