#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs every fuzz target's seed corpus through its replay driver, then, where
# clang built the libFuzzer binaries, fuzzes each for FUZZ_SECONDS.
set -eu
: "${top_srcdir:=.}" "${top_builddir:=.}" "${FUZZ_TARGETS:=}" "${FUZZ_SECONDS:=10}"

if [ -z "$FUZZ_TARGETS" ]; then
	echo "no fuzz targets registered" >&2
	exit 1
fi
for t in $FUZZ_TARGETS; do
	corpus="$top_srcdir/tests/fuzz/corpus/$t"
	[ -d "$corpus" ] || { echo "missing seed corpus $corpus" >&2; exit 1; }
	echo "== replay $t"
	"$top_builddir/tests/fuzz/replay_$t" "$corpus"
	fuzzer="$top_builddir/tests/fuzz/fuzz_$t.fuzzer"
	if [ -x "$fuzzer" ]; then
		echo "== libFuzzer $t for ${FUZZ_SECONDS}s"
		work=$(mktemp -d)
		trap 'rm -rf "$work"' EXIT
		mkdir "$work/corpus"
		cp "$corpus"/* "$work/corpus/"
		if ! "$fuzzer" -max_total_time="$FUZZ_SECONDS" -rss_limit_mb=1024 -timeout=10 \
			-print_final_stats=1 -artifact_prefix="$work/" "$work/corpus" \
			>"$work/log" 2>&1; then
			tail -n 60 "$work/log"
			echo "fuzzer $t failed (crash, leak or timeout)" >&2
			exit 1
		fi
		grep -E '^(stat::number_of_executed_units|Done)' "$work/log" || tail -n 3 "$work/log"
		rm -rf "$work"
		trap - EXIT
	else
		echo "== libFuzzer $t: not built (no clang), corpus replay only"
	fi
done
