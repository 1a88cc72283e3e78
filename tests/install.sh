#!/bin/sh
# SPDX-License-Identifier: MIT
# `make install DESTDIR=...' from the build tree, then what a packager checks:
#   - exactly the expected files are installed (every docs/*.md included), the
#     unit names the installed weftd, and the installed programs run;
#   - `systemd-analyze verify' accepts the unit (with its paths moved into
#     DESTDIR, since verify wants ExecStart= binaries to exist, and MANPATH
#     pointing there, so its Documentation= man pages are found);
#   - its exposure in `systemd-analyze security --offline=yes' is at most 2.0;
#   - sysusers.d makes the user weft, and tmpfiles.d gives /etc/weft,
#     /var/lib/weft and /run/weft the owners and modes the unit gives them;
#   - each manual page renders with `man -l' and `groff -ww' without a warning.
# Fails on any failed check; otherwise skips (77) when systemd-analyze,
# systemd-sysusers, systemd-tmpfiles, man or groff is missing, since those
# checks could not run.
set -u
: "${top_srcdir:=.}"
: "${top_builddir:=.}"
MAKE=${MAKE:-make}
# The highest exposure allowed, in tenths (systemd-analyze's --threshold).
max_exposure=20

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/dest
pass=0
fail=0
skipped=

ok() {
	echo "PASS: $1"
	pass=$((pass + 1))
}

not_ok() {
	echo "FAIL: $1: $2"
	fail=$((fail + 1))
}

skip() {
	echo "SKIP: $1"
	skipped="$skipped $1"
}

# A make of our own, not a job of the `make check' that runs this test.
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL timeout 600 $MAKE -s -C "$top_builddir" "$@"
}

if ! command -v "$MAKE" >/dev/null 2>&1; then
	echo "SKIP: no $MAKE"
	exit 77
fi
if ! submake install DESTDIR="$dest" >"$work/install.log" 2>&1; then
	not_ok "make install DESTDIR=..." "failed"
	sed 's/^/    /' "$work/install.log"
	exit 1
fi
ok "make install DESTDIR=..."
if ! dirs=$(submake print-installdirs); then
	not_ok "make print-installdirs" "failed"
	exit 1
fi
eval "$dirs"

# ---- the installed files ----------------------------------------------------
{
	echo "$sbindir/weftd"
	echo "$bindir/weftctl"
	echo "$systemdunitdir/weftd@.service"
	echo "$tmpfilesdir/weft.conf"
	echo "$sysusersdir/weft.conf"
	echo "$mandir/man8/weftd.8"
	echo "$mandir/man8/weftctl.8"
	echo "$mandir/man5/weft.conf.5"
	echo "$bashcompletiondir/weftctl"
	echo "$bashcompletiondir/weftd"
	echo "$docdir/README.md"
	echo "$docdir/LICENSE"
	echo "$docexamplesdir/weft.conf"
	for f in "$top_srcdir"/docs/*.md; do
		echo "$docdir/$(basename "$f")"
	done
} | sort >"$work/want"
(cd "$dest" && find . -type f -o -type l) | sed 's/^\.//' | sort >"$work/got"
if cmp -s "$work/want" "$work/got"; then
	ok "installed files: $(wc -l <"$work/got")"
else
	not_ok "installed files" "differ from the expected list (- expected, + installed)"
	diff -u "$work/want" "$work/got" | sed 's/^/    /'
fi

unit=$dest$systemdunitdir/weftd@.service
if grep -n '@[a-z_]*@' "$unit" >"$work/left"; then
	not_ok "weftd@.service" "placeholders left"
	sed 's/^/    /' "$work/left"
elif ! grep -qx "ExecStart=$sbindir/weftd -c /etc/weft/%i.conf" "$unit"; then
	not_ok "weftd@.service" "ExecStart= does not run $sbindir/weftd"
else
	ok "weftd@.service runs $sbindir/weftd"
fi
if cmp -s "$dest$docexamplesdir/weft.conf" "$top_srcdir/conf/weft.conf"; then
	ok "the example is conf/weft.conf"
else
	not_ok "$docexamplesdir/weft.conf" "differs from conf/weft.conf"
fi
for p in "$dest$sbindir/weftd" "$dest$bindir/weftctl"; do
	if timeout 10 "$p" --help >/dev/null 2>&1; then
		ok "$(basename "$p") --help runs"
	else
		not_ok "$(basename "$p") --help" "does not run"
	fi
done
got=$(timeout 10 "$dest$sbindir/weftd" --version 2>&1)
case $got in
"weftd $VERSION (AEAD: "libcrypto\ ?*"; short records after idle: "[a-z]*" "?*")" | \
	"weftd $VERSION (AEAD: "libsodium\ ?*"; short records after idle: "[a-z]*" "?*")")
	ok "weftd --version: $got" ;;
*)
	not_ok "weftd --version" "\`$got', expected \`weftd $VERSION (AEAD: LIBRARY VERSION; short records after idle: LIBRARY VERSION[; linked in: LIBRARIES])'" ;;
esac
for c in weftctl weftd; do
	if bash -c ". '$dest$bashcompletiondir/$c' && complete -p $c" >/dev/null 2>&1; then
		ok "the $c completion loads"
	else
		not_ok "$bashcompletiondir/$c" "does not load in bash"
	fi
done

# ---- the unit ----------------------------------------------------------------
if command -v systemd-analyze >/dev/null 2>&1; then
	mkdir -p "$work/unit"
	sed "s|$sbindir/|$dest$sbindir/|g" "$unit" >"$work/unit/weftd@.service"
	if MANPATH=$dest$mandir timeout 60 systemd-analyze verify \
		"$work/unit/weftd@.service" >"$work/verify" 2>&1 && ! [ -s "$work/verify" ]; then
		ok "systemd-analyze verify"
	else
		not_ok "systemd-analyze verify" "complains"
		sed 's/^/    /' "$work/verify"
	fi
	timeout 60 systemd-analyze security --offline=yes --threshold=$max_exposure \
		"$unit" >"$work/security" 2>&1
	rc=$?
	level=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$work/security")
	if [ $rc -eq 0 ] && [ -n "$level" ]; then
		ok "systemd-analyze security --offline=yes: exposure $level"
	else
		not_ok "systemd-analyze security --offline=yes" \
			"exposure ${level:-unknown}, more than $max_exposure/10"
		grep '✗' "$work/security" | sed 's/^/    /'
	fi
else
	skip "systemd-analyze verify and security (no systemd-analyze)"
fi

# ---- the user and the directories: sysusers.d, tmpfiles.d and the unit agree --
# Applied to an empty root: the user weft, then its directories with the owners
# and modes the unit's User= and *DirectoryMode= give them.
if command -v systemd-sysusers >/dev/null 2>&1 && command -v systemd-tmpfiles >/dev/null 2>&1; then
	root=$work/root
	mkdir -p "$root/etc"
	: >"$root/etc/passwd"
	: >"$root/etc/group"
	if timeout 20 systemd-sysusers --root="$root" "$dest$sysusersdir/weft.conf" \
		>"$work/sysusers" 2>&1 &&
		uid=$(awk -F: '$1 == "weft" { print $3 }' "$root/etc/passwd") &&
		gid=$(awk -F: '$1 == "weft" { print $3 }' "$root/etc/group") &&
		[ -n "$uid" ] && [ -n "$gid" ]; then
		ok "sysusers.d makes the user and group weft"
	else
		not_ok "sysusers.d" "no user and group weft"
		sed 's/^/    /' "$work/sysusers"
		uid=x gid=x
	fi
	if ! timeout 20 systemd-tmpfiles --root="$root" --create "$dest$tmpfilesdir/weft.conf" \
		>"$work/tmpfiles" 2>&1; then
		not_ok "tmpfiles.d" "systemd-tmpfiles --create fails"
		sed 's/^/    /' "$work/tmpfiles"
	fi
	user=$(sed -n 's/^User=//p' "$unit")
	[ "$user" = weft ] || not_ok "weftd@.service" "User=$user, expected weft"
	# directory, the unit's setting for it, its owner (uid gid)
	for d in "/run/weft RuntimeDirectoryMode $uid $gid" \
		"/var/lib/weft StateDirectoryMode $uid $gid" \
		"/etc/weft ConfigurationDirectoryMode 0 $gid"; do
		set -- $d
		mode=$(sed -n "s/^$2=0*//p" "$unit")
		got=$(stat -c '%a %u %g' "$root$1" 2>&1)
		if [ "$got" = "$mode $3 $4" ]; then
			ok "$1: $2=$mode, tmpfiles.d makes it $got"
		else
			not_ok "$1" "tmpfiles.d makes it \`$got', the unit says $2=$mode (owner $3 $4)"
		fi
	done
else
	skip "sysusers.d and tmpfiles.d (no systemd-sysusers or systemd-tmpfiles)"
fi

# ---- the manual pages ----------------------------------------------------------
for page in "$dest$mandir"/man8/weftd.8 "$dest$mandir"/man8/weftctl.8 \
	"$dest$mandir"/man5/weft.conf.5; do
	name=$(basename "$page")
	if command -v man >/dev/null 2>&1; then
		if LC_ALL=C.UTF-8 MANWIDTH=80 timeout 20 man --warnings -l "$page" \
			>"$work/man.out" 2>"$work/man.err" &&
			[ -s "$work/man.out" ] && ! [ -s "$work/man.err" ]; then
			ok "man -l $name"
		else
			not_ok "man -l $name" "fails or warns"
			sed 's/^/    /' "$work/man.err"
		fi
	else
		skip "man -l $name (no man)"
	fi
	if command -v groff >/dev/null 2>&1; then
		if timeout 20 groff -man -Tutf8 -ww -z "$page" >"$work/groff.err" 2>&1 &&
			! [ -s "$work/groff.err" ]; then
			ok "groff -ww $name"
		else
			not_ok "groff -ww $name" "fails or warns"
			sed 's/^/    /' "$work/groff.err"
		fi
	else
		skip "groff -ww $name (no groff)"
	fi
done

echo "install: $pass passed, $fail failed"
[ "$fail" -eq 0 ] || exit 1
[ -z "$skipped" ] || exit 77
exit 0
