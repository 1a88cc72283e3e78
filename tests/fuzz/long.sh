#!/bin/sh
# SPDX-License-Identifier: MIT
# Fuzzes every decoder's libFuzzer target for a while each (by hand, not in
# make check: 10 minutes a target by default), starting from a copy of its
# seed corpus, and prints per target what libFuzzer reports: executions,
# edges covered (cov), features (ft) and the corpus it grew.
#
#   tests/fuzz/long.sh [MINUTES [TARGET...]]
#
# MINUTES also from FUZZ_MINUTES (default 10); TARGETs default to every
# tests/fuzz/fuzz_*.fuzzer built in $top_builddir (`make check' builds them
# when configure found clang; `make tests/fuzz/fuzz_NAME.fuzzer' builds one).
# FUZZ_KEEP=DIR keeps each target's grown corpus and log in DIR/NAME. A crash,
# leak or timeout stops the script with the target's log tail and the input.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}" "${top_builddir:=.}"
minutes=${1:-${FUZZ_MINUTES:-10}}
[ $# -gt 0 ] && shift
case $minutes in '' | *[!0-9]*) echo "long.sh: MINUTES must be a number, not '$minutes'" >&2; exit 2 ;; esac

if [ $# -gt 0 ]; then
	targets=$*
else
	targets=$(for f in "$top_builddir"/tests/fuzz/fuzz_*.fuzzer; do
		[ -x "$f" ] || continue
		f=${f##*/fuzz_}
		echo "${f%.fuzzer}"
	done)
fi
[ -n "$targets" ] || {
	echo "long.sh: no libFuzzer binaries in $top_builddir/tests/fuzz (configure with clang, make check)" >&2
	exit 77
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
secs=$((minutes * 60))
printf '%-16s %12s %10s %8s %8s %8s\n' target executions exec/s cov ft corpus
for t in $targets; do
	fuzzer=$top_builddir/tests/fuzz/fuzz_$t.fuzzer
	seeds=$top_srcdir/tests/fuzz/corpus/$t
	[ -x "$fuzzer" ] || { echo "long.sh: $fuzzer not built" >&2; exit 1; }
	[ -d "$seeds" ] || { echo "long.sh: no seed corpus $seeds" >&2; exit 1; }
	dir=$work/$t
	mkdir -p "$dir/corpus"
	cp "$seeds"/* "$dir/corpus/"
	if ! "$fuzzer" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		-artifact_prefix="$dir/" "$dir/corpus" >"$dir/log" 2>&1; then
		tail -n 40 "$dir/log"
		echo "long.sh: fuzzer $t failed (crash, leak or timeout); input: $(ls "$dir"/crash-* "$dir"/leak-* "$dir"/timeout-* 2>/dev/null | tr '\n' ' ')" >&2
		[ -z "${FUZZ_KEEP:-}" ] || { mkdir -p "$FUZZ_KEEP" && cp -r "$dir" "$FUZZ_KEEP/"; }
		exit 1
	fi
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$dir/log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$dir/log")
	# The last status line: "#N  DONE cov: C ft: F corp: K/..."
	last=$(grep -E '^#[0-9]+' "$dir/log" | tail -n 1)
	cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
	ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
	corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
	printf '%-16s %12s %10s %8s %8s %8s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
		"${ft:-?}" "${corp:-?}"
	[ -z "${FUZZ_KEEP:-}" ] || { mkdir -p "$FUZZ_KEEP" && cp -r "$dir" "$FUZZ_KEEP/"; }
	rm -rf "$dir"
done
