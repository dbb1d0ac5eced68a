#!/usr/bin/env bash
# needs: python3
# WebSocket failures are named and counted, never hang: a 404 upgrade, a
# wrong Sec-WebSocket-Accept, a 101 without Upgrade, a server close code,
# an oversized message; bad flags exit 2.
. "$(dirname "$0")/lib.sh"

j="$T_TMP/err.json"
start_target
# 404 on an unknown path: handshake failures by status, exit 1 (nothing answered)
run_st -c 3 -d 1s --json "$j" "ws://127.0.0.1:$TPORT/nope"
expect_rc 1
jassert "$j" "ws['handshakes'] == 0" "ws['handshake_failures']['status'] >= 3" \
    "ws['handshake_status'].get('404', 0) >= 3"

# the target closes with 1009 when a message exceeds its --ws-max-msg
stop_target
start_target --ws-max-msg 1000
run_st -c 2 -d 1s --ws-msg-size 2000 --json "$j" "ws://127.0.0.1:$TPORT/echo"
jassert "$j" "ws['close_codes'].get('1009', 0) >= 2" "c['responses'] == 0"
stop_target

# our own cap: the server sends more than --ws-max-msg -> protocol error, dropped
start_target
run_st -c 1 -d 1s --ws-msg-size 4000 --ws-max-msg 1000 --json "$j" \
    "ws://127.0.0.1:$TPORT/echo"
jassert "$j" "ws['protocol_errors'] >= 1" "c['responses'] == 0"
stop_target

# misbehaving servers: wrong accept, missing Upgrade header
fake() { # fake MODE: a one-file server answering every upgrade wrongly
    PORT=$(free_port)
    python3 - "$PORT" "$1" <<'PY' &
import socket, sys, threading
port, mode = int(sys.argv[1]), sys.argv[2]
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", port)); s.listen(64)
def serve(c):
    try:
        c.recv(65536)
        if mode == "accept":
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                      b"Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n")
        else:
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: x\r\n\r\n")
        c.recv(65536)
    except OSError:
        pass
    c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    T_PIDS+=($!)
    for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return 0; sleep 0.05; done
    fail "fake server did not start"
}
fake accept
run_st -c 2 -d 1s --json "$j" "ws://127.0.0.1:$PORT/"
expect_rc 1
jassert "$j" "ws['handshake_failures']['bad_accept'] >= 2" "ws['handshakes'] == 0"
fake upgrade
run_st -c 2 -d 1s --json "$j" "ws://127.0.0.1:$PORT/"
expect_rc 1
jassert "$j" "ws['handshake_failures']['no_upgrade'] >= 2"

# bad flags: exit 2 with the offending value
for args in "--ws-rate 0/s" "--ws-msg-size 0" "--ws-msg {{nope}}" "--ws-pipeline 0" \
    "--ws-msgs-per-conn 3" "--hold -R 100" "--ping 0s"; do
    # shellcheck disable=SC2086
    run_st $args -d 1s "ws://127.0.0.1:1/"
    expect_rc 2
    [ -s "$T_TMP/err" ] || fail "no message for $args"
done
run_st --ws-msg hi -d 1s "http://127.0.0.1:1/"
expect_rc 2
grep -q 'ws://' "$T_TMP/err" || fail "--ws-msg on http:// not explained: $(cat "$T_TMP/err")"
echo ok
