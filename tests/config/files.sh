#!/bin/sh
# SPDX-License-Identifier: MIT
# `weftd -t' checks the files a configuration names, as start-up would:
#   - a missing, unreadable, too open or malformed secret or private key is
#     an error (exit 1), worded as start-up words it (one code path: the same
#     line is checked in the daemon's own output for two of the cases);
#   - a missing private key is fine: start-up creates it (and its missing
#     directories), and -t says so on stdout; it creates nothing itself;
#   - a configuration path that is a directory says so.
# Every file is made here, in a temporary directory. Uses $WEFTD (exported by
# make check); exits 77 (skip) only when weftd is not built.
set -u
WEFTD=${WEFTD:-${top_builddir:-.}/daemon/weftd}

if [ ! -x "$WEFTD" ]; then
	echo "SKIP: $WEFTD not built"
	exit 77
fi
case $WEFTD in /*) ;; *) WEFTD=$(pwd)/$WEFTD ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
AS=

ok() {
	echo "PASS: $1"
	pass=$((pass + 1))
}

not_ok() {
	echo "FAIL: $1: $2"
	sed 's/^/    out: /' "$work/out"
	sed 's/^/    err: /' "$work/err"
	fail=$((fail + 1))
}

(umask 077 && "$WEFTD" genpsk >"$work/good.secret" && "$WEFTD" genkey >"$work/good.key") ||
	{ echo "FAIL: weftd genpsk/genkey"; exit 1; }

# conf SECRET KEY: $work/c.conf naming those two files.
conf() {
	printf '[network]\nname = files\nsecret_file = %s\nprivate_key_file = %s\n' "$1" "$2" \
		>"$work/c.conf"
}

# check NAME RC [--out TEXT] [--err TEXT]...: `weftd -t -c $work/c.conf'
# (or the path in $CONF) must exit RC, and print each TEXT as a whole line
# on stdout or stderr, nothing else on stderr, and `configuration OK' as its
# last line exactly when RC is 0.
check() {
	name=$1 want=$2
	shift 2
	# shellcheck disable=SC2086 # $AS: a command prefix, or nothing
	timeout 20 $AS "$WEFTD" -t -c "${CONF:-$work/c.conf}" >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		not_ok "$name" "exit $rc, expected $want"
		return
	fi
	lines=0
	while [ $# -gt 0 ]; do
		case $1 in
		--out) file=$work/out ;;
		--err) file=$work/err lines=$((lines + 1)) ;;
		esac
		if ! grep -qxF -- "$2" "$file"; then
			not_ok "$name" "no line \`$2' on std${1#--}"
			return
		fi
		shift 2
	done
	if [ "$(wc -l <"$work/err")" != "$lines" ]; then
		not_ok "$name" "expected $lines lines on stderr"
		return
	fi
	last=$(tail -n 1 "$work/out")
	if [ "$want" = 0 ] && [ "$last" != "configuration OK" ]; then
		not_ok "$name" "no \`configuration OK' at the end"
		return
	fi
	if [ "$want" != 0 ] && grep -q "configuration OK" "$work/out"; then
		not_ok "$name" "says \`configuration OK' with an error"
		return
	fi
	ok "$name"
}

# same_at_start NAME: start-up (weftd -c, which stops at the first bad key
# file, before it touches any network state) logs the line -t printed first.
same_at_start() {
	line=$(head -n 1 "$work/err")
	timeout 20 "$WEFTD" -c "$work/c.conf" >"$work/out" 2>"$work/err"
	rc=$?
	if [ "$rc" = 1 ] && grep -q "error: $line\$" "$work/err"; then
		ok "$1"
	else
		not_ok "$1" "start-up (exit $rc) did not log \`error: $line'"
	fi
}

conf "$work/good.secret" "$work/good.key"
check "good secret and key" 0

conf "$work/none.secret" "$work/good.key"
check "missing secret" 1 \
	--err "network secret: $work/none.secret: No such file or directory (create it with \`weftd genpsk')"
same_at_start "missing secret: the same words at start-up"

cp "$work/good.secret" "$work/open.secret"
chmod 0644 "$work/open.secret"
conf "$work/open.secret" "$work/good.key"
check "secret mode 0644" 1 \
	--err "network secret: $work/open.secret: mode 0644 lets group or others access it (chmod 600)"

(umask 077 && echo garbage >"$work/garbage.secret")
conf "$work/garbage.secret" "$work/good.key"
check "garbage secret" 1 \
	--err "network secret: $work/garbage.secret: expected 44 base64 characters, found 7"

(umask 077 && printf '%044d\n' 0 | tr 0 '!' >"$work/garbage.key")
conf "$work/good.secret" "$work/garbage.key"
check "garbage private key" 1 \
	--err "private key: $work/garbage.key: not a base64-encoded 32-byte key"
same_at_start "garbage private key: the same words at start-up"

conf "$work/garbage.secret" "$work/garbage.key"
check "garbage secret and key: both said" 1 \
	--err "network secret: $work/garbage.secret: expected 44 base64 characters, found 7" \
	--err "private key: $work/garbage.key: not a base64-encoded 32-byte key"

conf "$work" "$work/good.key"
check "secret is a directory" 1 --err "network secret: $work: not a regular file"

conf "$work/good.secret" "$work/new.key"
check "missing private key: OK, created at start" 0 \
	--out "private key $work/new.key does not exist yet: weftd creates it at start"
if [ -e "$work/new.key" ]; then
	not_ok "missing private key" "-t created $work/new.key"
else
	ok "missing private key: -t created nothing"
fi

conf "$work/good.secret" "$work/state/weft/new.key"
check "missing private key and directories: OK" 0 \
	--out "private key $work/state/weft/new.key does not exist yet: weftd creates it at start, with the directory $work/state"
if [ -e "$work/state" ]; then
	not_ok "missing key directory" "-t created $work/state"
else
	ok "missing key directory: -t created nothing"
fi

conf "$work/good.secret" "$work/good.secret/sub/new.key"
check "key directory under a regular file" 1 \
	--err "private key: $work/good.secret/sub/new.key: Not a directory"

CONF=$work check "configuration path is a directory" 1 \
	--err "$work: is a directory, not a configuration file (e.g. $work/NAME.conf)"

# Unreadable: as the daemon's own user would meet a root-only file. Root
# reads anything, so then run weftd as nobody (if setpriv can).
chmod 0755 "$work"
cp "$work/good.secret" "$work/locked.secret"
chmod 0600 "$work/locked.secret"
conf "$work/locked.secret" "$work/good.key"
chmod 0644 "$work/c.conf"
if [ "$(id -u)" != 0 ]; then
	chmod 0000 "$work/locked.secret"
	check "unreadable secret" 1 \
		--err "network secret: $work/locked.secret: Permission denied"
elif command -v setpriv >/dev/null 2>&1 &&
	setpriv --reuid=65534 --regid=65534 --clear-groups "$WEFTD" --version >/dev/null 2>&1; then
	AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
	check "unreadable secret and key (as nobody)" 1 \
		--err "network secret: $work/locked.secret: Permission denied" \
		--err "private key: $work/good.key: Permission denied"
	AS=
else
	echo "SKIP: unreadable secret: root, and nobody cannot run $WEFTD"
fi

echo "files: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
