# bench/lib.sh: what the bench scripts share (sourced, not run).

# bench_wait_events SOCKET STREAM N: returns once STREAM has N entries,
# polling XLEN every 10 ms over one connection. A redis-cli process per
# poll costs about 16 ms of CPU each: on two cores that took a quarter of
# the machine from dunningd's side of a comparison, and from no anchor's.
bench_wait_events() {
        /usr/bin/python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
cmd, n = b"XLEN " + sys.argv[2].encode() + b"\r\n", int(sys.argv[3])
while True:
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
