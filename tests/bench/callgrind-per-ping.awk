# SPDX-License-Identifier: MIT
# Summarises one callgrind output file (written with --compress-strings=no
# --compress-pos=no --dump-instr=yes, instrumentation on only while the pings
# ran) per ping: instructions, and the code that ran on most pings, in 64-byte
# lines and 4 KiB pages. After an idle spell a ping's path runs from cold
# caches and TLBs, so the code it touches is what its time tracks; the
# instruction count is exact where a timer is not.
#
#   awk -v pings=300 -f callgrind-per-ping.awk FILE
#
# prints one line: instr/ping lines pages, then instructions per ping by
# object ("libsodium.so.23 7497 weftd 2473 ...", largest first).
# Plain POSIX awk (Debian's mawk): hexadecimal addresses are cut as strings.
function hexval(s,    i, v) {
	v = 0
	for (i = 1; i <= length(s); i++)
		v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
	return v
}
BEGIN { if (pings < 1) { print "callgrind-per-ping.awk: -v pings=N is required" > "/dev/stderr"; exit 2 } }
/^ob=/ { ob = substr($0, 4); sub(/.*\//, "", ob); sub(/\.so\..*/, ".so", ob); next }
# The cost line after calls= is the callee's inclusive cost: counted at the
# callee's own lines instead.
/^calls=/ { skip = 1; next }
/^0x/ {
	if (skip) { skip = 0; next }
	n = $NF + 0
	total += n
	by_ob[ob] += n
	# Code that runs on at least 80 % of the pings: the path every ping takes.
	if (n >= pings * 0.8) {
		a = tolower(substr($1, 3))
		while (length(a) < 4) a = "0" a
		page = ob ":" substr(a, 1, length(a) - 3)
		line = ob ":" substr(a, 1, length(a) - 2) ":" int(hexval(substr(a, length(a) - 1)) / 64)
		if (!(page in pages)) { pages[page] = 1; npages++ }
		if (!(line in lines)) { lines[line] = 1; nlines++ }
	}
}
END {
	if (pings < 1) exit 2
	printf "%d %d %d", total / pings, nlines, npages
	# Objects by cost, largest first (a selection sort: a handful of them).
	for (o in by_ob) left[o] = by_ob[o]
	for (;;) {
		best = ""
		for (o in left) if (best == "" || left[o] > left[best]) best = o
		if (best == "" || left[best] < pings) break
		printf " %s %d", best, left[best] / pings
		delete left[best]
	}
	printf "\n"
}
