#!/bin/sh
# package.sh: installs the Debian package on this machine, checks it, runs
# the daemon once and purges it again. Run by hand or by CI on a throwaway
# machine (it installs and removes system packages and a system user):
#
#   tests/package.sh [DEB]
#
# DEB defaults to the newest dist/dunningd_*_<arch>.deb; without one,
# scripts/package builds it. Steps:
# - the .deb holds the binaries, templates, man pages, unit, sysusers and
#   tmpfiles snippets, and /etc/dunningd/dunningd.yaml as a conffile;
# - `apt-get install ./DEB` (dependencies resolved); the postinst created the
#   dunningd user and the spool, and enabled the unit;
# - `dunningd --check-config` passes as user dunningd;
# - with a Redis on /run/redis/redis.sock (the example config's; one is
#   started by hand when none answers), dunningd runs as user dunningd, logs
#   "dunningd started" and "ready", answers /healthz, and stops on SIGTERM;
# - `apt-get purge` removes every file and the conffile, and the empty spool.
# No systemd as PID 1 is needed: the postinst starts the service only under
# systemd, so here the daemon is run by hand with the unit's command line.
#
# Exit 0 pass, 1 fail, 77 skip (not root, no dpkg/apt-get, or dunningd is
# already installed: this test would purge it).
set -u

if [ "$(id -u)" -ne 0 ]; then
        echo "SKIP: needs root (installs a package)"
        exit 77
fi
for t in dpkg dpkg-deb apt-get setpriv runuser; do
        if ! command -v "$t" >/dev/null 2>&1; then
                echo "SKIP: no $t"
                exit 77
        fi
done
if dpkg-query -W -f='${Status}\n' dunningd 2>/dev/null | grep -q 'installed$'; then
        echo "SKIP: dunningd is installed already; this test would purge it (apt-get purge dunningd)"
        exit 77
fi

cd "$(dirname "$0")/.." || exit 99
arch=$(dpkg --print-architecture)
deb=${1:-}
if [ -z "$deb" ]; then
        deb=$(ls -t dist/dunningd_*_"$arch".deb 2>/dev/null | head -n 1)
        if [ -z "$deb" ]; then
                scripts/package --out dist >/dev/null || { echo "not ok - scripts/package"; exit 1; }
                deb=$(ls -t dist/dunningd_*_"$arch".deb | head -n 1)
        fi
fi
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")
echo "# $deb"

fails=0
ok() { echo "ok - $*"; }
notok() { echo "not ok - $*"; fails=$((fails + 1)); }
check() { # check DESCRIPTION COMMAND...
        d=$1
        shift
        if "$@" >/dev/null 2>&1; then ok "$d"; else notok "$d"; fi
}

tmp=$(mktemp -d)
chmod 0755 "$tmp"
installed=0
daemon=
redis=
made_run_redis=0
cleanup() {
        [ -n "$daemon" ] && kill -KILL "$daemon" 2>/dev/null
        if [ -n "$redis" ]; then
                kill -TERM "$redis" 2>/dev/null
                wait "$redis" 2>/dev/null
                rm -f /run/redis/redis.sock
        fi
        [ "$made_run_redis" -eq 1 ] && rmdir /run/redis 2>/dev/null
        if [ "$installed" -eq 1 ]; then
                DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq dunningd >/dev/null 2>&1
        fi
        rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# --- the .deb itself ------------------------------------------------------
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' >"$tmp/contents"
for f in /usr/sbin/dunningd /usr/bin/dunningctl \
         /usr/share/dunningd/templates/en/reminder-1/email.txt.mustache \
         /usr/share/dunningd/templates/nl/layout/letter.txt.mustache \
         /usr/share/man/man8/dunningd.8.gz /usr/share/man/man1/dunningctl.1.gz \
         /usr/share/man/man5/dunningd.yaml.5.gz \
         /lib/systemd/system/dunningd.service /usr/lib/sysusers.d/dunningd.conf \
         /usr/lib/tmpfiles.d/dunningd.conf /etc/dunningd/dunningd.yaml \
         /usr/share/doc/dunningd/copyright; do
        check "deb contains $f" grep -qx "$f" "$tmp/contents"
done
# The letter renderer, loaded on the first letter (channels/letter.h).
check "deb contains the letter module" grep -qx '/usr/lib/[^/]*/dunningd/dunningd-letter.so' \
        "$tmp/contents"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles >"$tmp/conffiles" 2>/dev/null
check "conffiles lists /etc/dunningd/dunningd.yaml" grep -qx /etc/dunningd/dunningd.yaml "$tmp/conffiles"

# --- install ----------------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive apt-get install -y "$deb" >"$tmp/install.log" 2>&1; then
        installed=1
        ok "apt-get install $(basename "$deb")"
else
        tail -n 30 "$tmp/install.log" | sed 's/^/# /'
        notok "apt-get install $(basename "$deb")"
        exit 1
fi
check "dpkg says installed" sh -c \
        "dpkg-query -W -f='\${Status}' dunningd | grep -qx 'install ok installed'"
check "user dunningd: home /var/spool/dunningd, shell nologin" sh -c \
        'getent passwd dunningd | cut -d: -f6,7 | grep -qx /var/spool/dunningd:/usr/sbin/nologin'
check "group dunningd" getent group dunningd
for d in /var/spool/dunningd /var/spool/dunningd/outbox /var/spool/dunningd/outbox/email \
         /var/spool/dunningd/outbox/sms /var/spool/dunningd/outbox/letter; do
        check "$d is dunningd:dunningd 750" sh -c "[ \"\$(stat -c '%U:%G %a' $d)\" = 'dunningd:dunningd 750' ]"
done
check "dpkg records /etc/dunningd/dunningd.yaml as a conffile" sh -c \
        "dpkg-query -W -f='\${Conffiles}' dunningd | grep -q '^ /etc/dunningd/dunningd.yaml '"
check "the unit is enabled (multi-user.target.wants)" sh -c \
        '[ "$(readlink /etc/systemd/system/multi-user.target.wants/dunningd.service)" = /lib/systemd/system/dunningd.service ]'
check "dunningd --version" sh -c '/usr/sbin/dunningd --version | grep -q "^dunningd "'
if runuser -u dunningd -- /usr/sbin/dunningd --check-config --config /etc/dunningd/dunningd.yaml \
        >"$tmp/check.log" 2>&1; then
        ok "dunningd --check-config as user dunningd"
else
        sed 's/^/# /' "$tmp/check.log"
        notok "dunningd --check-config as user dunningd"
fi

# A letter made by the installed dunningctl: the module found where it was
# installed, cairo and pango loaded from there.
cat >"$tmp/job.json" <<'JOB'
{"v":1,"campaign":"pkg","step":"reminder-1","customer":{"id":"C-1","name":"Klant 1",
"locale":"nl-NL","address":{"lines":["Dorpsstraat 1"],"postal_code":"1234 AB",
"city":"Utrecht","country":"NL"},"preferred_channel":"letter"},"invoices":[{"number":"INV-1",
"amount_cents":1001,"currency":"EUR","issued":"2026-10-01","due":"2026-10-31"}]}
JOB
mkdir -p "$tmp/preview"
if /usr/bin/dunningctl --config /etc/dunningd/dunningd.yaml preview "$tmp/job.json" \
        --channel letter --out "$tmp/preview" >"$tmp/preview.log" 2>&1 &&
        find "$tmp/preview" -name '*.pdf' | grep -q .; then
        ok "dunningctl preview makes a letter with the installed module"
else
        sed 's/^/# /' "$tmp/preview.log"
        notok "dunningctl preview makes a letter with the installed module"
fi

# --- run it -----------------------------------------------------------------
# A Redis of the test's own on /run/redis/redis.sock (the example config
# points at 127.0.0.1:6379, which may be a real one): dunningd runs with a
# copy of the installed config that points at it.
conf=/etc/dunningd/dunningd.yaml
sock=/run/redis/redis.sock
pong() { command -v redis-cli >/dev/null 2>&1 && redis-cli -s "$sock" ping 2>/dev/null | grep -q PONG; }
run=1
if pong; then
        echo "# a Redis answers on $sock already"
elif [ -e "$sock" ]; then
        echo "# $sock exists but does not answer: not running dunningd"
        run=0
elif ! command -v redis-server >/dev/null 2>&1; then
        echo "# no redis-server: not running dunningd"
        run=0
else
        if [ ! -d /run/redis ]; then
                mkdir -p /run/redis
                made_run_redis=1
        fi
        redis-server --port 0 --unixsocket "$sock" --unixsocketperm 777 --save '' \
                --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
        redis=$!
        i=0
        while [ ! -S "$sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
        check "redis-server on $sock" test -S "$sock"
fi
if [ "$run" -eq 1 ]; then
        # The example listens on 127.0.0.1:9464; when that is taken (another
        # dunningd, a test), the copy listens elsewhere.
        port=9464
        if command -v ss >/dev/null 2>&1 && ss -ltnH "sport = :$port" | grep -q .; then
                port=$((20000 + $$ % 20000))
                echo "# 127.0.0.1:9464 is taken: listening on 127.0.0.1:$port"
        fi
        sed -e "s/^listen:.*/listen: 127.0.0.1:$port/" \
            -e "s|^  url: redis://.*|  url: unix://$sock|" /etc/dunningd/dunningd.yaml \
                >"$tmp/dunningd.yaml"
        chmod 0644 "$tmp/dunningd.yaml"
        conf=$tmp/dunningd.yaml
        check "the copy of the config names the test's Redis" grep -q "^  url: unix://$sock" "$conf"
        # setpriv execs dunningd (runuser would stay its parent): $daemon
        # is dunningd itself, for the SIGTERM below.
        setpriv --reuid=dunningd --regid=dunningd --init-groups -- \
                /usr/sbin/dunningd --config "$conf" >"$tmp/dunningd.log" 2>&1 &
        daemon=$!
        i=0
        while ! grep -q 'msg=ready' "$tmp/dunningd.log" && kill -0 "$daemon" 2>/dev/null &&
              [ $i -lt 150 ]; do
                sleep 0.1
                i=$((i + 1))
        done
        check "dunningd logs \"dunningd started\"" grep -q 'msg="dunningd started"' "$tmp/dunningd.log"
        check "dunningd logs ready (Redis answers)" grep -q 'msg=ready' "$tmp/dunningd.log"
        if command -v curl >/dev/null 2>&1; then
                code=$(curl -s -o "$tmp/healthz" -w '%{http_code}' "http://127.0.0.1:$port/healthz")
                check "/healthz answers 200 ok" sh -c "[ '$code' = 200 ] && grep -q '\"status\":\"ok\"' '$tmp/healthz'"
        fi
        kill -TERM "$daemon" 2>/dev/null
        i=0
        while kill -0 "$daemon" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
        if kill -0 "$daemon" 2>/dev/null; then
                notok "dunningd stops on SIGTERM"
        else
                wait "$daemon"
                st=$?
                daemon=
                check "dunningd stops on SIGTERM with status 0 ($st)" test "$st" -eq 0
        fi
        check "dunningd logs \"dunningd stopped\"" grep -q 'msg="dunningd stopped"' "$tmp/dunningd.log"
        if [ "$fails" -gt 0 ]; then sed 's/^/# dunningd: /' "$tmp/dunningd.log"; fi
        if [ -n "$redis" ]; then
                kill -TERM "$redis" 2>/dev/null
                wait "$redis" 2>/dev/null
                redis=
                rm -f "$sock"
        fi
fi

# --- purge ------------------------------------------------------------------
if DEBIAN_FRONTEND=noninteractive apt-get purge -y dunningd >"$tmp/purge.log" 2>&1; then
        installed=0
        ok "apt-get purge dunningd"
else
        tail -n 30 "$tmp/purge.log" | sed 's/^/# /'
        notok "apt-get purge dunningd"
fi
check "dpkg forgot dunningd" sh -c \
        "! dpkg-query -W -f='\${Status}' dunningd 2>/dev/null | grep -q 'installed'"
left=
while read -r f; do
        # directories shared with other packages stay
        if [ -f "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done <"$tmp/contents"
for f in /etc/dunningd /var/spool/dunningd \
         /etc/systemd/system/multi-user.target.wants/dunningd.service; do
        if [ -e "$f" ] || [ -L "$f" ]; then left="$left $f"; fi
done
if [ -z "$left" ]; then ok "purge left no file behind"; else notok "purge left:$left"; fi
# Debian convention: system users stay after purge (files may still be theirs).
if getent passwd dunningd >/dev/null; then echo "# user dunningd stays after purge (as in Debian)"; fi

if [ "$fails" -gt 0 ]; then
        echo "package.sh: $fails failed"
        exit 1
fi
echo "package.sh: all passed"
exit 0
