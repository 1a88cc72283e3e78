# SPDX-License-Identifier: MIT
# Cuts each ping of a traced sequential ping run into twelve stages, from
# the kernel's own scheduler, system call and socket events, and prints each
# stage's median and mean per overlay, then weft's means minus each other
# overlay's. Where tcpdump's legs (--tests legs) stop at the wire, these go
# inside each host: a daemon's wake-up, its work up to a system call, the
# kernel's part of that call. By hand, as root, x86-64 (system call numbers):
#
#   perf record -a -o F -e sched:sched_switch,sched:sched_wakeup \
#       -e raw_syscalls:sys_enter,raw_syscalls:sys_exit -e sock:sk_data_ready \
#       -- tests/bench/overlay-bench.sh --kinds fastd,weft --tests ping \
#          --rounds 1 --pings 300
#   perf script -i F -F comm,tid,cpu,time,event,trace | awk -f ping-stages.awk
#
# Tracing costs each event about a microsecond on a VM, and it costs the
# overlay that makes more events more: compare stage with stage, not the
# totals with an untraced run. Plain POSIX awk (Debian's mawk).
#
# How a round trip is found: ping's sendto() wakes the daemon that captures
# the request (h1's); the data-ready of a UDP socket (family 2, protocol 17)
# in that daemon's context is its send, and the task that wakes then is
# h2's daemon; h2's daemon's own capture (any other family: a packet socket,
# a tap) runs inside its inject call, its UDP data-ready inside its send;
# h1's daemon's inject ends at the ICMP socket's data-ready (protocol 1);
# ping's recvmsg() returning ends the round trip. A stage that starts at a
# system call starts at that call's entry.
function stage_names() {
	nstages = split("h1 ping sends, its daemon runs|h1 daemon runs, calls its send|" \
	    "h1 send to h2 socket (kernel)|h2 daemon woken, runs|" \
	    "h2 daemon runs, calls inject|h2 inject, echo, capture, send|" \
	    "h2 send to h1 socket (kernel)|h1 daemon woken, runs|" \
	    "h1 daemon runs, calls inject|h1 inject to ping's socket|" \
	    "h1 ping woken, runs|h1 ping runs, recvmsg returns", name, "|")
}
# st: the last stage marked in the round trip being followed (0: none); a
# fraction, between two stages, an event seen that the next one waits on
# (ping's send entered, h1's daemon woken). pd, ed: h1's and h2's daemons.
function reset() { st = 0; pd = ""; ed = "" }
# val(KEY): the value of KEY=... in the event's text.
function val(key,    i) {
	for (i = first; i <= NF; i++)
		if (index($i, key "=") == 1)
			return substr($i, length(key) + 2)
	return ""
}
function mark(k) { m[k] = t; st = k; ran_on[k] = cpu }
function finish(    k, kind) {
	kind = pcomm
	kinds[kind] = 1
	n[kind]++
	for (k = 1; k <= nstages; k++)
		v[kind, k, n[kind]] = m[k] - m[k - 1]
	# A daemon woken onto its waker's CPU waits for the waker to sleep or
	# be preempted; onto the other, it waits for that CPU to wake.
	same4[kind] += ran_on[4] == waker_cpu[4]
	same8[kind] += ran_on[8] == waker_cpu[8]
	v[kind, 0, n[kind]] = m[nstages] - m[0]
	reset()
}
function sort_n(a, cnt,    i, j, x) {
	for (i = 2; i <= cnt; i++) {
		x = a[i]
		for (j = i - 1; j >= 1 && a[j] > x; j--)
			a[j + 1] = a[j]
		a[j + 1] = x
	}
}
# mean(KIND, K): the mean of stage K (0: the whole round trip), µs.
function mean(kind, k,    i, sum) {
	sum = 0
	for (i = 1; i <= n[kind]; i++)
		sum += v[kind, k, i]
	return sum / n[kind] * 1e6
}
# shown(KIND, K): the mean of stage K as the table prints it, so that the
# differences below are those of the printed means.
function shown(kind, k) { return sprintf("%.1f", mean(kind, k)) + 0 }
# stat(KIND, K): "median mean" of stage K, µs.
function stat(kind, k,    i, a) {
	for (i = 1; i <= n[kind]; i++)
		a[i] = v[kind, k, i]
	sort_n(a, n[kind])
	return sprintf("%.1f %.1f", a[int((n[kind] + 1) / 2)] * 1e6, mean(kind, k))
}
BEGIN { stage_names(); reset() }
{
	# "comm tid [cpu] time: event: text"; comm may hold spaces.
	for (i = 2; i <= NF; i++)
		if ($i ~ /^\[[0-9]+\]$/)
			break
	if (i > NF - 2)
		next
	tid = $(i - 1)
	cpu = $i
	t = $(i + 1) + 0
	ev = $(i + 2)
	first = i + 3
}
ev == "raw_syscalls:sys_enter:" {
	entered[tid] = t
	nr = $(first + 1)
	if (nr == 44 && $1 == "ping") {
		reset()
		ping = tid
		m[0] = t
		st = 0.5
	}
	next
}
ev == "raw_syscalls:sys_exit:" {
	if (st == 11 && tid == ping && $(first + 1) == 47)
		mark(12)
	if (st == 12)
		finish()
	next
}
ev == "sched:sched_wakeup:" {
	w = val("pid")
	if (st == 0.5 && tid == ping && w != ping) {
		pd = w
		pcomm = val("comm")
		st = 0.75
	} else if (st == 3 && tid == pd) {
		ed = w
		waker_cpu[4] = cpu
		st = 3.5
	} else if (st == 7 && tid == ed && w == pd) {
		waker_cpu[8] = cpu
	}
	next
}
ev == "sched:sched_switch:" {
	nx = val("next_pid")
	if (st == 0.75 && nx == pd)
		mark(1)
	else if (st == 3.5 && nx == ed)
		mark(4)
	else if (st == 7 && nx == pd)
		mark(8)
	else if (st == 10 && nx == ping)
		mark(11)
	next
}
ev == "sock:sk_data_ready:" {
	fam = val("family")
	proto = val("protocol")
	if (st == 1 && tid == pd && fam == 2 && proto == 17) {
		m[2] = entered[tid]
		mark(3)
	} else if (st == 4 && tid == ed && fam != 2) {
		m[5] = entered[tid]
		st = 5
	} else if (st == 5 && tid == ed && fam == 2 && proto == 17) {
		m[6] = entered[tid]
		mark(7)
	} else if (st == 8 && tid == pd && fam == 2 && proto == 1) {
		m[9] = entered[tid]
		mark(10)
	}
	next
}
END {
	any = 0
	for (kind in kinds) {
		any = 1
		printf "%s: %d round trips; stage: median mean, µs\n", kind, n[kind]
		for (k = 1; k <= nstages; k++)
			printf "  %2d %-32s %s\n", k, name[k], stat(kind, k)
		printf "     %-32s %s\n", "round trip", stat(kind, 0)
		printf "  daemons woken onto their waker's CPU: h2 %d, h1 %d of %d\n", same4[kind], same8[kind], n[kind]
	}
	if (!any) {
		print "ping-stages.awk: no complete round trip (see the header for the events it needs)" > "/dev/stderr"
		exit 1
	}
	if (!("weftd" in kinds))
		exit 0
	for (kind in kinds) {
		if (kind == "weftd")
			continue
		printf "weftd minus %s, means, µs:", kind
		for (k = 1; k <= nstages; k++)
			printf " %d:%+.1f", k, shown("weftd", k) - shown(kind, k)
		printf "; round trip %+.1f\n", shown("weftd", 0) - shown(kind, 0)
	}
}
