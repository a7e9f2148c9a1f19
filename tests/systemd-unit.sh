#!/bin/sh
# systemd-unit.sh: checks config/dunningd.service the way systemd reads it.
#
#   tests/systemd-unit.sh SOURCE_ROOT DUNNINGD_BINARY
#
# - `systemd-analyze verify` must print nothing (it exits 0 on warnings
#   such as an unknown key, so its output is what counts);
# - `systemd-analyze security --offline=true` must rate the unit 2.0 or
#   lower ("Overall exposure level");
# - as root, dunningd.sysusers and dunningd.tmpfiles are applied to a
#   scratch root and the spool's owner and mode checked.
# Exit 0 pass, 1 fail, 77 skip (meson's code: no systemd-analyze, or one
# without offline analysis, which came with systemd 250), 99 bad usage.
#
# ExecStart: verify fails when /usr/sbin/dunningd does not exist, as before
# `meson install`. It checks a copy of the unit whose ExecStart names the
# binary just built (DUNNINGD_BINARY) instead; every other line is as
# shipped, and the binary is a real one. Verifying with --root= and an
# installed tree was the other way, but verify then wants a whole systemd
# in that root (sysinit.target, /bin/kill, ...). The security rating is
# taken on the shipped file itself: it does not look at ExecStart.
set -u

max=2.0
src=${1:-}
bin=${2:-}
if [ -z "$src" ] || [ -z "$bin" ] || [ ! -f "$src/config/dunningd.service" ] ||
   [ ! -x "$bin" ]; then
        echo "usage: $0 SOURCE_ROOT DUNNINGD_BINARY" >&2
        exit 99
fi
src=$(cd "$src" && pwd)
case $bin in /*) ;; *) bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin") ;; esac
unit=$src/config/dunningd.service

if ! command -v systemd-analyze >/dev/null 2>&1; then
        echo "SKIP: systemd-analyze not found"
        exit 77
fi
if ! systemd-analyze --offline=true --help >/dev/null 2>&1; then
        echo "SKIP: $(systemd-analyze --version | head -n 1) has no offline analysis (systemd >= 250)"
        exit 77
fi
systemd-analyze --version | head -n 1

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0

# verify: the unit with ExecStart on the built binary, and the man pages of
# its Documentation= lines found in the source tree.
sed "s|^ExecStart=/usr/sbin/dunningd |ExecStart=\"$bin\" |" "$unit" >"$tmp/dunningd.service"
if ! grep -q "^ExecStart=\"$bin\" " "$tmp/dunningd.service"; then
        echo "FAIL: no 'ExecStart=/usr/sbin/dunningd ' line in $unit"
        exit 1
fi
man=--man=true
if command -v man >/dev/null 2>&1; then
        for page in "$src"/man/*.[158]; do
                mkdir -p "$tmp/man/man${page##*.}"
                ln -s "$page" "$tmp/man/man${page##*.}/"
        done
else
        man=--man=false
        echo "note: man not installed, Documentation= pages not checked"
fi
out=$(MANPATH=$tmp/man systemd-analyze verify "$man" "$tmp/dunningd.service" 2>&1)
rc=$?
if [ $rc -eq 0 ] && [ -z "$out" ]; then
        echo "ok: systemd-analyze verify $man (ExecStart=$bin): clean"
else
        echo "FAIL: systemd-analyze verify (exit $rc):"
        echo "$out"
        status=1
fi

# security: the exposure score of the shipped file.
out=$(systemd-analyze security --offline=true --no-pager "$unit" 2>&1)
score=$(echo "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9][0-9.]*\).*/\1/p')
if [ -z "$score" ]; then
        echo "FAIL: systemd-analyze security --offline=true gave no score:"
        echo "$out"
        status=1
elif awk -v s="$score" -v m="$max" 'BEGIN { exit !(s + 0 <= m + 0) }'; then
        echo "ok: systemd-analyze security --offline=true: exposure $score (at most $max)"
else
        echo "FAIL: systemd-analyze security --offline=true: exposure $score, more than $max:"
        echo "$out"
        status=1
fi

# sysusers + tmpfiles: only root may chown in the scratch root.
if [ "$(id -u)" -ne 0 ]; then
        echo "note: not root, dunningd.sysusers and dunningd.tmpfiles not applied"
elif ! command -v systemd-sysusers >/dev/null 2>&1 ||
     ! command -v systemd-tmpfiles >/dev/null 2>&1; then
        echo "note: no systemd-sysusers/systemd-tmpfiles, snippets not applied"
else
        mkdir -p "$tmp/root/etc"
        # With --root= a file argument is read inside the root: use stdin.
        systemd-sysusers --root="$tmp/root" - <"$src/config/dunningd.sysusers" 2>"$tmp/log" &&
                systemd-tmpfiles --root="$tmp/root" --create - \
                        <"$src/config/dunningd.tmpfiles" 2>>"$tmp/log"
        rc=$?
        ids=$(awk -F: '$1 == "dunningd" { print $3 ":" $4 }' "$tmp/root/etc/passwd" 2>/dev/null)
        got=$(cd "$tmp/root/var/spool" 2>/dev/null &&
              stat -c '%n %a %u:%g' dunningd dunningd/outbox dunningd/outbox/email \
                      dunningd/outbox/sms dunningd/outbox/letter 2>&1)
        want=$(for d in dunningd dunningd/outbox dunningd/outbox/email dunningd/outbox/sms \
                        dunningd/outbox/letter; do echo "$d 750 $ids"; done)
        if [ $rc -eq 0 ] && [ -n "$ids" ] && [ "$got" = "$want" ]; then
                echo "ok: sysusers + tmpfiles: user dunningd ($ids), spool, outbox and its" \
                     "email, sms, letter 0750 dunningd:dunningd"
        else
                echo "FAIL: sysusers + tmpfiles (exit $rc):"
                cat "$tmp/log"
                echo "$got"
                status=1
        fi
fi
exit $status
