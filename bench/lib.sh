# bench/lib.sh: what the bench scripts share (sourced, not run).
#
# Every bench/run-NAME prints its progress on stderr and one Markdown table
# (and a machine line) on stdout; bench/run collects those into
# bench/RESULTS.md. The helpers below are what the scripts had each copied.

# bench_need PACKAGE...: installs the Debian packages that are missing
# (apt-get update only then). Packages that only benchmarks use live here,
# not in scripts/deps.
bench_need() {
        local need="" p
        for p in "$@"; do
                dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
                        grep -q '^install ok installed$' || need="$need $p"
        done
        [ -z "$need" ] && return 0
        echo "bench: installing$need" >&2
        # postfix asks which configuration to write; smtp-sink needs none.
        echo "postfix postfix/main_mailer_type select No configuration" |
                debconf-set-selections 2>/dev/null || true
        apt-get update -qq
        # shellcheck disable=SC2086
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $need \
                >/dev/null
}

# bench_build: the release build of dunningd, dunningctl and bench-* in
# build-bench/.
bench_build() {
        scripts/build build-bench --buildtype=release -Dtests=false
}

# bench_npm DIR PACKAGE...: npm packages into DIR/node_modules (a
# temporary directory: nothing downloaded into the repo); node and npm from
# Debian when there are none.
bench_npm() {
        local dir=$1
        shift
        command -v node >/dev/null && command -v npm >/dev/null || bench_need nodejs npm
        PUPPETEER_SKIP_DOWNLOAD=1 npm install --prefix "$dir" --no-audit --no-fund --silent "$@" \
                >/dev/null
}

# bench_npm_version DIR PACKAGE: the installed version.
bench_npm_version() {
        node -p "require('$1/node_modules/$2/package.json').version"
}

# bench_free_port: a TCP port free on 127.0.0.1 right now.
bench_free_port() {
        /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_redis DIR [redis-server options...]: a private redis-server on the
# unix socket DIR/redis.sock (no TCP, no persistence unless options say
# so), its log in DIR/redis.log; sets BENCH_REDIS_PID and returns once it
# answers. The caller's EXIT trap should call bench_cleanup.
BENCH_PIDS=""
bench_redis() {
        local dir=$1
        shift
        redis-server --port 0 --unixsocket "$dir/redis.sock" --dir "$dir" --save "" \
                --appendonly no --logfile "$dir/redis.log" "$@" &
        BENCH_REDIS_PID=$!
        BENCH_PIDS="$BENCH_PIDS $BENCH_REDIS_PID"
        until redis-cli -s "$dir/redis.sock" ping >/dev/null 2>&1; do sleep 0.05; done
}

# bench_cleanup: stops what bench_redis (or the caller, by adding to
# BENCH_PIDS) started.
bench_cleanup() {
        local p
        for p in $BENCH_PIDS; do
                kill "$p" 2>/dev/null || true
        done
        for p in $BENCH_PIDS; do
                wait "$p" 2>/dev/null || true
        done
}

# bench_jobs N CHANNELS FIELDS [FIRST]: N jobs of JSON version 1, one a
# line, nl-NL, reminder-1, one invoice each, customers and invoices
# numbered from FIRST (default 1); the preferred channel cycles through
# CHANNELS ("email sms"); FIELDS says which contact data they carry, any of
# email, phone, address ("email phone address").
bench_jobs() {
        awk -v n="$1" -v chans="$2" -v fields="$3" -v first="${4:-1}" 'BEGIN {
                nc = split(chans, ch, " ")
                e = fields ~ /email/; p = fields ~ /phone/; a = fields ~ /address/
                for (i = first; i < first + n; i++) {
                        printf "{\"v\":1,\"campaign\":\"bench\",\"step\":\"reminder-1\",\"customer\":{\"id\":\"C-%d\",\"name\":\"Klant %d\",\"locale\":\"nl-NL\"", i, i
                        if (e) printf ",\"email\":\"klant%d@example.nl\"", i
                        if (p) printf ",\"phone\":\"+3161%07d\"", i
                        if (a) printf ",\"address\":{\"lines\":[\"Dorpsstraat %d\"],\"postal_code\":\"1234 AB\",\"city\":\"Utrecht\",\"country\":\"NL\"}", i
                        printf ",\"preferred_channel\":\"%s\"},\"invoices\":[{\"number\":\"INV-%d\",\"amount_cents\":%d,\"currency\":\"EUR\",\"issued\":\"2026-10-01\",\"due\":\"2026-10-31\"}]}\n", ch[i % nc + 1], i, 1000 + i
                }
        }'
}

# bench_config DIR OUTBOX [YAML...]: writes DIR/dunningd.yaml for a
# benchmark: the private Redis of bench_redis, prefix bench, 8 workers,
# batch 100, the shipped templates, warnings only, the outbox OUTBOX, a
# free port to listen on (the default 9464 may be another dunningd's); each
# further argument is one more line of YAML (a channel's transport...).
bench_config() {
        local dir=$1 outbox=$2 line
        shift 2
        {
                cat <<CONF
redis: { url: "unix://$dir/redis.sock", prefix: bench }
workers: 8
queue: { batch: 100, block_ms: 200 }
listen: 127.0.0.1:$(bench_free_port)
outbox: $outbox
templates: $(pwd)/templates/default
log: { level: warning }
creditor: { name: Acme Energie B.V., iban: NL91ABNA0417164300, address: ["Postbus 123", "3500 AA Utrecht"] }
history: { enabled: ${HISTORY:-true} }
CONF
                for line in "$@"; do
                        printf '%s\n' "$line"
                done
        } >"$dir/dunningd.yaml"
}

# bench_enqueue DIR JOBS_FILE: empties the Redis of DIR and enqueues the
# file with dunningctl; prints the enqueue rate in jobs/s.
bench_enqueue() {
        local t0 t1 n
        redis-cli -s "$1/redis.sock" FLUSHALL >/dev/null
        n=$(wc -l <"$2")
        t0=$(date +%s.%N)
        build-bench/dunningctl --config "$1/dunningd.yaml" enqueue "$2" >/dev/null
        t1=$(date +%s.%N)
        echo "$t0 $t1" | awk -v n="$n" '{ printf "%.0f\n", n / ($2 - $1) }'
}

# bench_dunningd DIR N: runs build-bench/dunningd with DIR/dunningd.yaml
# until bench:events has N entries, then stops it with SIGTERM; prints
# "jobs/s peak_rss_kib". Timed from the start of the process until the
# N-th event (its stream id: Redis's clock). A function named by
# BENCH_BEFORE_STOP, if set, is called with the pid just before the stop.
bench_dunningd() {
        local dir=$1 n=$2 t0 t1 pid hwm
        t0=$(date +%s.%N)
        build-bench/dunningd --config "$dir/dunningd.yaml" 2>>"$dir/dunningd.log" &
        pid=$!
        bench_wait_events "$dir/redis.sock" bench:events "$n" "$pid"
        t1=$(bench_last_event_s "$dir/redis.sock" bench:events)
        # VmHWM is the peak resident set over the process's whole life.
        hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
        [ -n "${BENCH_BEFORE_STOP:-}" ] && "$BENCH_BEFORE_STOP" "$pid"
        kill -TERM "$pid"
        wait "$pid"
        echo "$t0 $t1 $hwm" | awk -v n="$n" '{ printf "%.0f %d\n", n / ($2 - $1), $3 }'
}

# bench_wait_events SOCKET STREAM N [PID]: returns once STREAM has N
# entries, polling XLEN every 10 ms over one connection; fails at once if
# process PID (the dunningd that should write them) is gone. A redis-cli process per
# poll costs about 16 ms of CPU each: on two cores that took a quarter of
# the machine from dunningd's side of a comparison, and from no anchor's.
bench_wait_events() {
        /usr/bin/python3 - "$1" "$2" "$3" "${4:-0}" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
cmd, n, pid = b"XLEN " + sys.argv[2].encode() + b"\r\n", int(sys.argv[3]), int(sys.argv[4])
while True:
    if pid:
        try:
            state = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()[0]
        except OSError:
            state = "gone"
        if state in ("Z", "X", "gone"):
            sys.exit("bench: process %d ended before %s had %d entries" % (pid, sys.argv[2], n))
    s.sendall(cmd)
    reply = b""
    while not reply.endswith(b"\r\n"):
        reply += s.recv(64)
    if int(reply[1:-2]) >= n:
        break
    time.sleep(0.01)
PY
}

# bench_last_event_s SOCKET STREAM: the time the last entry of STREAM was
# written, in Unix seconds: its id is Redis's clock in ms, not late by a
# poll.
bench_last_event_s() {
        redis-cli -s "$1" XREVRANGE "$2" + - COUNT 1 | head -1 |
                awk -F- '{ printf "%.3f", $1 / 1000 }'
}

# The rounds' figures are kept as space-separated lists ("$a $b $c").
# bench_median / bench_spread read one on stdin: the middle value, and
# "lowest-highest".
bench_median() {
        tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}
bench_spread() {
        tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'
}
# bench_ms LIST: "median (lowest-highest)".
bench_ms() {
        echo "$(echo "$*" | bench_median) ($(echo "$*" | bench_spread))"
}
# bench_ratio A B [DIGITS]: A / B.
bench_ratio() {
        awk -v a="$1" -v b="$2" -v d="${3:-2}" 'BEGIN { printf "%.*f", d, b ? a / b : 0 }'
}
# bench_mib KIB: in MiB, one decimal.
bench_mib() {
        awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'
}

# bench_machine: the machine line of every table: cores, CPU model, memory,
# the load average when it was printed (others' work skews the sides).
bench_machine() {
        echo "$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)," \
                "$(free -g | awk '/^Mem:/ { print $2 }') GiB, Debian $(cat /etc/debian_version)," \
                "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# bench_calls DIR JOBS: what the Redis of DIR spent per job since its last
# CONFIG RESETSTAT, by command, largest first, on stderr (CALLS=1 in
# run-queue and run-history).
bench_calls() {
        redis-cli -s "$1/redis.sock" INFO commandstats | tr -d '\r' |
                awk -F'[:=,]' -v n="$2" '/^cmdstat_/ {
                        sub("cmdstat_", "", $1); calls += $3; us += $5
                        printf "  %-22s %6.2f calls/job %7.2f us/job\n", $1, $3 / n, $5 / n }
                        END { printf "  %-22s %6.2f calls/job %7.2f us/job\n", "total", calls / n, us / n }' |
                sort -k4 -n -r >&2
}
