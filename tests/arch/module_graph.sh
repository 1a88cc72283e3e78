#!/bin/bash
# SPDX-License-Identifier: MIT
# The module graph, read from the built objects with nm: module A uses module B
# when A has an undefined symbol that B defines. A module is a source file's
# name without directory, automake prefix or suffix: common/libweft.a's
# libweft_a-peer.o, daemon/weftd-peer.o and daemon/peer.o are all `peer'.
# Symbols no module defines (libc, libsodium, libev ...) make no edge.
# Fails, printing each, on a cycle (`a -> b -> a') and on a common/ module
# using a daemon/ module; otherwise prints the graph in layers, leaves first.
# Skips (77) without nm or without the objects.
set -eu -o pipefail
: "${top_builddir:=.}"
lib=$top_builddir/common/libweft.a

skip() { echo "SKIP: $*"; exit 77; }
command -v nm >/dev/null || skip "nm not found"
[ -f "$lib" ] || skip "$lib not built"

# daemon objects: weftd's and weftctl's (daemon/weftd-peer.o), else unprefixed
# ones (daemon/peer.o); other programs' copies (daemon/tests_*-log.o) are not ours.
declare -A obj=()
for o in "$top_builddir"/daemon/weftd-*.o "$top_builddir"/daemon/weftctl-*.o \
	"$top_builddir"/daemon/*.o; do
	[ -f "$o" ] || continue
	b=$(basename "$o" .o)
	case $b in weftd-* | weftctl-*) ;; *-*) continue ;; esac
	m=${b#*-}
	[ -n "${obj[$m]:-}" ] || obj[$m]=$o
done
[ ${#obj[@]} -gt 0 ] || skip "no daemon objects in $top_builddir/daemon"

# one line per module ("DIR MODULE - -") and per external symbol
# ("DIR MODULE TYPE SYMBOL"), sorted by module
symbols() {
	nm -g -P "$lib" | awk '/\]:$/ { m = $1; sub(/.*\[/, "", m); sub(/\.o\]:$/, "", m)
		sub(/.*-/, "", m); print "common", m, "-", "-"; next }
		NF >= 2 { print "common", m, $2, $1 }'
	for m in "${!obj[@]}"; do
		echo "daemon $m - -"
		nm -g -P "${obj[$m]}" | awk -v m="$m" 'NF >= 2 { print "daemon", m, $2, $1 }'
	done
}

symbols | sort -k2,2 -k4,4 | awk '
	!($2 in dir) { name[++n] = $2; dir[$2] = $1 }
	dir[$2] != $1 && !dup[$2]++ { print "FAIL: module " $2 " is in both common/ and daemon/"; bad = 1 }
	$3 == "-" { next }
	$3 ~ /^[Uwv]$/ { nu++; user[nu] = $2; usym[nu] = $4; next }
	{ def[$4] = def[$4] " " $2 }

	# every simple cycle once, from its first module in name order
	function walk(s, v, path,    j, w) {
		for (j = s; j <= n; j++) {
			w = name[j]
			if (!((v, w) in edge)) continue
			if (j == s) { print "FAIL: cycle " path " -> " w; bad = 1 }
			else if (!(w in on)) { on[w] = 1; walk(s, w, path " -> " w); delete on[w] }
		}
	}
	function uses(m,    j, s) {
		for (j = 1; j <= n; j++)
			if ((m, name[j]) in edge) s = s (s == "" ? "" : ", ") name[j]
		return m ": uses " (s == "" ? "nothing" : s)
	}
	END {
		for (i = 1; i <= nu; i++) {
			k = split(def[usym[i]], d, " ")
			for (j = 1; j <= k; j++) {
				a = user[i]; b = d[j]
				if (a == b || (a, b) in edge) continue
				edge[a, b] = 1
				if (dir[a] == "common" && dir[b] == "daemon") {
					print "FAIL: common/" a " uses daemon/" b " (" usym[i] ")"; bad = 1
				}
			}
		}
		for (s = 1; s <= n; s++) { on[name[s]] = 1; walk(s, name[s], name[s]); delete on[name[s]] }

		# layer L holds the modules whose every use is in a layer below L
		for (L = 0; placed < n; L++) {
			k = 0
			for (i = 1; i <= n; i++) {
				if (name[i] in layer) continue
				ok = 1
				for (j = 1; j <= n && ok; j++)
					if ((name[i], name[j]) in edge && !(name[j] in layer)) ok = 0
				if (ok) now[++k] = name[i]
			}
			if (k == 0) break
			print "layer " L ":"
			for (i = 1; i <= k; i++) { layer[now[i]] = L; placed++; print "  " uses(now[i]) }
		}
		if (placed < n) {
			print "in or above a cycle:"
			for (i = 1; i <= n; i++) if (!(name[i] in layer)) print "  " uses(name[i])
		}
		exit bad
	}'
