#!/bin/sh
# SPDX-License-Identifier: MIT
# The bash completions in conf/bash-completion/: each file parses (bash -n),
# registers its function with `complete', and completing a line built in
# COMP_WORDS/COMP_CWORD gives exactly the expected words. The options weftd
# --help lists and the ones completed must be the same; every option weftctl
# -h lists must be completed. Uses $WEFTD (exported by make check); skips (77)
# only without bash.
set -u
# the expected lists are in the C locale's sort order
LC_ALL=C
export LC_ALL
: "${top_srcdir:=.}"
WEFTD=${WEFTD:-${top_builddir:-.}/daemon/weftd}
WEFTCTL=${WEFTD%/*}/weftctl

if ! command -v bash >/dev/null 2>&1; then
	echo "SKIP: no bash"
	exit 77
fi
dir=$(cd "$top_srcdir/conf/bash-completion" && pwd) || exit 1
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

# complete FILE WORD... : the sorted completions, space-separated, of the
# line WORD... whose last word is the one being completed. The function is
# the one FILE registered for the command (the first WORD). The test
# directories stand in for /etc/weft and /run/weft; $work/cwd for the cwd.
complete() {
	file=$1
	shift
	(cd "$work/cwd" && bash -c '
		. "$1" || exit 1
		_weftctl_confdir=$2/etc
		_weftctl_rundir=$2/run
		shift 2
		f=$(complete -p "$1" 2>/dev/null | sed -n "s/.*-F \([^ ]*\) .*/\1/p")
		[ -n "$f" ] || { echo "no completion registered for $1"; exit 1; }
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		"$f" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' _ "$file" "$work" "$@" 2>&1)
}

# expect FILE 'EXPECTED' WORD... : completing WORD... gives EXPECTED.
expect() {
	file=$1
	want=$2
	shift 2
	if ! got=$(complete "$file" "$@"); then
		not_ok "$(basename "$file"): $*|" "bash failed: $got"
		return
	fi
	got=${got% }
	if [ "$got" = "$want" ]; then
		ok "$(basename "$file"): $*| -> $want"
	else
		not_ok "$(basename "$file"): $*|" "expected \`$want', got \`$got'"
	fi
}

# The options a --help text names (-x and --long), sorted, space-separated.
help_options() {
	grep -oE '(^|[ ,[|])--?[A-Za-z][A-Za-z-]*' | sed 's/^[ ,[|]//' | sort -u | tr '\n' ' '
}

for f in "$dir/weftctl" "$dir/weftd"; do
	if bash -n "$f"; then
		ok "bash -n $(basename "$f")"
	else
		not_ok "bash -n $(basename "$f")" "syntax error"
	fi
done

mkdir -p "$work/etc" "$work/run" "$work/cwd/sub"
touch "$work/etc/prod.conf" "$work/etc/lab.conf" "$work/etc/prod.secret" \
	"$work/run/prod.sock" "$work/run/test.sock" \
	"$work/cwd/a.conf" "$work/cwd/b.txt" "$work/cwd/sub/c.conf"

c=$dir/weftctl
commands="connect forget macs metrics peers status unforget unpin"
options="--help --json --name --socket --version -V -h -j -n -s"
expect "$c" "$commands" weftctl ""
expect "$c" "status" weftctl st
expect "$c" "$options" weftctl -
expect "$c" "lab prod test" weftctl -n ""
expect "$c" "prod" weftctl --name p
expect "$c" "prod" weftctl --network p
expect "$c" "lab prod test" weftctl --name = ""
expect "$c" "lab" weftctl --name = l
expect "$c" "$commands" weftctl -n prod ""
expect "$c" "status" weftctl --name = prod st
expect "$c" "metrics" weftctl -s /run/weft/prod.sock me
expect "$c" "--json" weftctl -n prod status ""
expect "$c" "--json" weftctl peers --
expect "$c" "--json" weftctl -j metrics ""
expect "$c" "" weftctl -n prod forget ""
expect "$c" "" weftctl connect ""
expect "$c" "a.conf b.txt sub" weftctl -s ""

d=$dir/weftd
doptions="--config --debug --dump-config --help --print-example --print-manpage --test --version -V -c -d -h -t"
expect "$d" "$doptions" weftd -
expect "$d" "--print-example --print-manpage" weftd --print
expect "$d" "a.conf sub" weftd -c ""
expect "$d" "sub/c.conf" weftd --config sub/
expect "$d" "a.conf sub" weftd --config = ""
expect "$d" "genkey genpsk pubkey" weftd ""
expect "$d" "genkey genpsk" weftd -d gen
expect "$d" "" weftd genkey ""

# Drift: the completions offer what the programs' help texts list.
if [ -x "$WEFTD" ]; then
	helped=$("$WEFTD" --help | help_options)
	if [ "${helped% }" = "$doptions" ]; then
		ok "weftd --help lists the completed options"
	else
		not_ok "weftd options" "--help lists \`${helped% }', completion offers \`$doptions'"
	fi
else
	not_ok "weftd options" "$WEFTD not built"
fi
if [ -x "$WEFTCTL" ]; then
	missing=
	for o in $("$WEFTCTL" -h | help_options); do
		case " $options " in
		*" $o "*) ;;
		*) missing="$missing $o" ;;
		esac
	done
	if [ -z "$missing" ]; then
		ok "every option weftctl -h lists is completed"
	else
		not_ok "weftctl options" "not completed:$missing"
	fi
else
	not_ok "weftctl options" "$WEFTCTL not built"
fi

echo "completion: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
