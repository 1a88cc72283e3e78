#!/bin/sh
# SPDX-License-Identifier: MIT
# Golden configuration tests (OpenBSD bgpd style):
#   good/NAME.conf  `weftd --dump-config -c' must print exactly good/NAME.dump;
#   bad/NAME.conf   `weftd -t -c' must exit 1 and print one line on stderr per
#                   line of bad/NAME.err, each containing that line;
#   conf/*.conf     `weftd --dump-config -c' must succeed without a word on
#                   stderr (`weftd -t' also opens the key files they name,
#                   which need not exist here: tests/config/files.sh tests
#                   that), and conf/weft.conf must be exactly `weftd --print-example';
#   docs/man/weft.conf.5 must be exactly `weftd --print-manpage'.
# Files are checked from their own directory, so messages read `NAME.conf:LINE: ...'.
# Uses $WEFTD (exported by make check); exits 77 (skip) only when weftd is not
# built. A built weftd is always tested: its --help text is not the interface,
# so a weftd whose --print-example fails is a failure, never a skip.
set -u
: "${top_srcdir:=.}"
WEFTD=${WEFTD:-${top_builddir:-.}/daemon/weftd}

if [ ! -x "$WEFTD" ]; then
	echo "SKIP: $WEFTD not built"
	exit 77
fi
if ! timeout 20 "$WEFTD" --print-example >/dev/null 2>&1; then
	echo "FAIL: $WEFTD --print-example does not work:"
	timeout 20 "$WEFTD" --print-example 2>&1 >/dev/null | sed 's/^/    /'
	exit 1
fi
case $WEFTD in /*) ;; *) WEFTD=$(pwd)/$WEFTD ;; esac
here=$(cd "$top_srcdir/tests/config" && pwd)
conf=$(cd "$top_srcdir/conf" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0

ok() {
	echo "PASS: $1"
	pass=$((pass + 1))
}

not_ok() {
	echo "FAIL: $1: $2"
	fail=$((fail + 1))
}

# weftd ARGS... in directory $1, bounded in time; output in $work/out and $work/err
run() {
	dir=$1
	shift
	(cd "$dir" && timeout 20 "$WEFTD" "$@") >"$work/out" 2>"$work/err"
}

for f in "$here"/good/*.conf; do
	name=good/$(basename "$f")
	run "$here/good" --dump-config -c "$(basename "$f")"
	rc=$?
	if [ "$rc" -ne 0 ]; then
		not_ok "$name" "exit $rc"
		sed 's/^/    /' "$work/err"
	elif [ -s "$work/err" ]; then
		not_ok "$name" "wrote to stderr"
		sed 's/^/    /' "$work/err"
	elif ! cmp -s "$work/out" "${f%.conf}.dump"; then
		not_ok "$name" "--dump-config differs from $(basename "${f%.conf}").dump"
		diff -u "${f%.conf}.dump" "$work/out" | sed 's/^/    /'
	else
		ok "$name"
	fi
done

for f in "$here"/bad/*.conf; do
	name=bad/$(basename "$f")
	want=${f%.conf}.err
	if [ ! -s "$want" ]; then
		not_ok "$name" "no expected errors in $(basename "$want")"
		continue
	fi
	run "$here/bad" -t -c "$(basename "$f")"
	rc=$?
	if [ "$rc" -ne 1 ]; then
		not_ok "$name" "exit $rc, expected 1"
		sed 's/^/    /' "$work/err"
		continue
	fi
	if ! why=$(awk -v wantfile="$want" '
		{ got[++m] = $0 }
		END {
			while ((getline line < wantfile) > 0)
				expect[++n] = line
			for (i = 1; i <= n && i <= m; i++)
				if (index(got[i], expect[i]) == 0) {
					printf "line %d: expected `%s'\''\n    got `%s'\''\n", i, expect[i], got[i]
					exit 1
				}
			if (n != m) {
				printf "%d error lines, expected %d\n", m, n
				exit 1
			}
		}' "$work/err"); then
		not_ok "$name" "$why"
		sed 's/^/    /' "$work/err"
	else
		ok "$name"
	fi
done

for f in "$conf"/*.conf; do
	name=conf/$(basename "$f")
	run "$conf" --dump-config -c "$(basename "$f")"
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$work/err" ]; then
		ok "$name"
	else
		not_ok "$name" "weftd --dump-config: exit $rc"
		sed 's/^/    /' "$work/err"
	fi
done

run "$conf" --print-example
if [ $? -eq 0 ] && cmp -s "$work/out" "$conf/weft.conf"; then
	ok "conf/weft.conf is weftd --print-example"
else
	not_ok "conf/weft.conf" "differs from weftd --print-example (regenerate it)"
	diff -u "$conf/weft.conf" "$work/out" | sed 's/^/    /'
fi

run "$conf" --print-manpage
if [ $? -eq 0 ] && cmp -s "$work/out" "$top_srcdir/docs/man/weft.conf.5"; then
	ok "docs/man/weft.conf.5 is weftd --print-manpage"
else
	not_ok "docs/man/weft.conf.5" "differs from weftd --print-manpage (regenerate it)"
	diff -u "$top_srcdir/docs/man/weft.conf.5" "$work/out" | sed 's/^/    /'
fi

echo "config: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
