#!/usr/bin/env bash
# needs: python3 openssl
# The TLS client against the bundled target serving TLS: verification on by
# default (an unknown CA, a wrong name, an expired certificate and a
# plain-HTTP server each fail with exit 1 and the reason named; --cacert
# and -k pass), exact counts over HTTPS (names and IP literals) and WSS,
# resumption >= 95% on reconnect and none with --tls-resume=off, mutual
# TLS, a handshake that never completes (timed out), every key of a TLS
# result documented, and bad TLS flags (exit 2, the value named).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/certs.sh"

C="$T_TMP/certs"
make_certs "$C"
j="$T_TMP/tls.json"

# want_fail REASON ARGS...: a run that must end with exit 1, naming REASON
want_fail() {
    local why=$1
    shift
    run_st -c 2 -d 1s --connect-timeout 2s --json "$j" "$@"
    expect_rc 1
    grep -q "no TLS handshake succeeded" "$T_TMP/out" ||
        fail "no TLS failure in the summary for $*: $(tail -n 3 "$T_TMP/err")"
    grep -q "$why" "$T_TMP/out" || fail "the summary does not name '$why': $(tail -n 1 "$T_TMP/err")"
    jtls "$j" "t['handshakes_failed'] > 0" "hs == 0" "c['responses'] == 0" \
        "sum(t['failures'].values()) == t['handshakes_failed']" \
        "any('$why' in k for k in t['failures'])"
}

# --- verification ---
start_target --tls-cert "$C/server.pem" --tls-key "$C/server.key"
want_fail "certificate verify failed" "https://localhost:$TPORT/" # system store: unknown CA
want_fail "certificate verify failed" --cacert "$C/other-ca.pem" "https://localhost:$TPORT/"
stop_target

start_target --tls-cert "$C/wrongname.pem" --tls-key "$C/wrongname.key"
want_fail "hostname mismatch" --cacert "$C/ca.pem" "https://localhost:$TPORT/"
want_fail "IP address mismatch" --cacert "$C/ca.pem" "https://127.0.0.1:$TPORT/"
run_st -k -c 2 -n 100 --json "$j" "https://localhost:$TPORT/"
expect_rc 0
jtls "$j" "t['insecure'] is True" "t['handshakes_failed'] == 0" "c['responses'] == 100"
grep -q "NOT verified" "$T_TMP/out" || fail "-k: the text summary does not say nothing was verified"
stop_target

start_target --tls-cert "$C/expired.pem" --tls-key "$C/expired.key"
want_fail "certificate has expired" --cacert "$C/ca.pem" "https://localhost:$TPORT/"
stop_target

# a plain-HTTP server: the ClientHello gets an HTTP error back
port=$(free_port)
python3 - "$port" >"$T_TMP/plain" <<'PY' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
s.settimeout(0.5)
print("up", flush=True)
end = time.time() + 20
while time.time() < end:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    c.recv(4096)
    c.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    c.close()
PY
T_PIDS+=($!)
for _ in $(seq 100); do grep -q up "$T_TMP/plain" && break; sleep 0.05; done
want_fail "wrong version number" -k "https://127.0.0.1:$port/"

# --- exact counts, HTTPS and WSS ---
start_target --tls-cert "$C/server.pem" --tls-key "$C/server.key"
run_st -c 10 -n 5000 --pipeline 4 --cacert "$C/ca.pem" --json "$j" "https://localhost:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 5000" "c['responses'] == 5000" "errs == 0" "cerrs == 0" \
    "c['status']['codes'] == {'200': 5000}" "d['config']['tls']['verify'] is True"
jtls "$j" "t['handshakes_full'] == 10" "t['handshakes_failed'] == 0" "nneg == 10" \
    "t['insecure'] is False" "m['tls_handshake_time']['count'] == 10" \
    "m['tls_handshake_time_full']['count'] == 10"
grep -q "^  tls  *10 handshakes: 10 full" "$T_TMP/out" || fail "no tls line: $(cat "$T_TMP/out")"
# a handshake that completes before the clock starts, its last flight
# still being sent when the run begins, must still get its first request
# (it used to wait forever: 2 of 30 such runs hung)
for i in $(seq 15); do
    run_st -q -c 2 -n 50 --cacert "$C/ca.pem" "https://localhost:$TPORT/"
    expect_rc 0
done
run_st -c 3 -n 3000 --cacert "$C/ca.pem" --json "$j" "https://127.0.0.1:$TPORT/"
expect_rc 0
jassert "$j" "c['responses'] == 3000" "errs == 0"
run_st -c 10 -n 2000 --ws-pipeline 2 --cacert "$C/ca.pem" --json "$j" "wss://localhost:$TPORT/echo"
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 2000" "ws['handshakes'] == 10" "ws['msgs_received'] == 2000" \
    "errs == 0" "ws['protocol_errors'] == 0"
jtls "$j" "t['handshakes_full'] == 10" "t['handshakes_failed'] == 0"
stop_target
[ "$ANSWERED" -eq 8750 ] || fail "target answered $ANSWERED, want 8750"

# every key of a TLS result is in the schema
check_schema_keys "$j"
jassert "$j" "all(k in m for k in ('tls_handshake_time', 'tls_handshake_time_full', \
    'tls_handshake_time_resumed'))"

# a large body crosses many TLS records per response
start_target --tls-cert "$C/server.pem" --tls-key "$C/server.key" --body-size 100000
run_st -c 4 -n 400 --cacert "$C/ca.pem" --json "$j" "https://localhost:$TPORT/"
expect_rc 0
jassert "$j" "c['responses'] == 400" "errs == 0" "c['bytes_in'] > 400 * 100000"
stop_target

# --- open loop over TLS, the server closing every 20th request: a
# reconnected connection still in its handshake must not be handed work ---
start_target --tls-cert "$C/server.pem" --tls-key "$C/server.key" --close-after 20
run_st -R 2000 -d 2s -c 4 --max-connections 16 --pipeline 2 --cacert "$C/ca.pem" --json "$j" \
    "https://localhost:$TPORT/"
expect_rc 0
check_identity "$j"
# (a request pipelined behind the 20th answer meets the close: conn_closed)
jassert "$j" "c['responses'] > 3000" "c['errors']['io_error'] == 0" \
    "c['errors']['protocol_error'] == 0" "c['scheduled'] == c['requests'] + c['dropped']"
jtls "$j" "t['handshakes_failed'] == 0" "t['errors'] == 0" "hs > 100"
stop_target

# --- holding TLS connections: every one up, keep-alive requests answered ---
start_target --tls-cert "$C/server.pem" --tls-key "$C/server.key"
run_st --hold -c 200 --ping 300ms -d 2s --cacert "$C/ca.pem" --json "$j" "https://localhost:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['connections']['established'] == 200" "errs == 0" "c['responses'] >= 200" \
    "cap['peak_established'] == 200"
jtls "$j" "t['handshakes_full'] == 200" "t['handshakes_failed'] == 0"
stop_target

# --- resumption ---
start_target --tls-cert "$C/server.pem" --tls-key "$C/server.key"
run_st -c 10 -d 2s --reconnect --cacert "$C/ca.pem" --json "$j" "https://localhost:$TPORT/"
expect_rc 0
check_identity "$j"
jtls "$j" "t['handshakes_full'] >= 10" "hs > 200" "t['handshakes_failed'] == 0" \
    "t['handshakes_resumed'] >= 0.95 * (hs - 10)" \
    "m['tls_handshake_time_resumed']['count'] == t['handshakes_resumed']" \
    "m['tls_handshake_time']['count'] == hs"
run_st -c 10 -d 2s --reconnect --tls-resume=off --cacert "$C/ca.pem" --json "$j" \
    "https://localhost:$TPORT/"
expect_rc 0
jtls "$j" "hs > 100" "t['handshakes_resumed'] == 0" "t['handshakes_full'] == hs" \
    "t['resume'] is False"
run_st -c 5 -d 2s --reconnect --ws-msgs-per-conn 2 --cacert "$C/ca.pem" --json "$j" \
    "wss://localhost:$TPORT/echo"
expect_rc 0
jtls "$j" "hs > 100" "t['handshakes_resumed'] >= 0.95 * (hs - 5)"
stop_target

# --- mutual TLS ---
start_target --tls-cert "$C/server.pem" --tls-key "$C/server.key" --tls-client-ca "$C/ca.pem"
run_st -c 2 -d 1s --cacert "$C/ca.pem" --json "$j" "https://localhost:$TPORT/"
expect_rc 1
jtls "$j" "c['responses'] == 0" "any('certificate required' in k for k in t['error_reasons'])"
run_st -c 2 -n 200 --cacert "$C/ca.pem" --cert "$C/client.pem" --key "$C/client.key" \
    --json "$j" "https://localhost:$TPORT/"
expect_rc 0
jassert "$j" "c['responses'] == 200" "d['config']['tls']['client_cert'] is True"
stop_target

# --- a server that accepts TCP and never answers the ClientHello ---
port=$(free_port)
python3 -c 'import socket,sys,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(64); print("up", flush=True); time.sleep(30)' "$port" >"$T_TMP/mute" &
T_PIDS+=($!)
for _ in $(seq 100); do grep -q up "$T_TMP/mute" && break; sleep 0.05; done
run_st -c 2 -d 1500ms --connect-timeout 300ms -k --json "$j" "https://127.0.0.1:$port/"
expect_rc 1
jtls "$j" "hs == 0" "t['handshakes_failed'] >= 2" \
    "any('handshake timed out' in k for k in t['failures'])"

# --- bad TLS flags: exit 2, the value named ---
bad() {
    local want=$1
    shift
    run_st "$@"
    expect_rc 2
    grep -q -- "$want" "$T_TMP/err" || fail "stderr for $* lacks '$want': $(cat "$T_TMP/err")"
}
bad "https:// and wss:// URLs only" --cacert "$C/ca.pem" "http://127.0.0.1:1/"
bad "https:// and wss:// URLs only" -k "ws://127.0.0.1:1/"
bad "'1.1'" --tls-min 1.1 "https://127.0.0.1:1/"
bad "/nonexistent/ca.pem" --cacert /nonexistent/ca.pem "https://127.0.0.1:1/"
bad "NOPE" --ciphers NOPE "https://127.0.0.1:1/"
bad "TLS_NOPE" --tls13-ciphers TLS_NOPE "https://127.0.0.1:1/"
bad "'maybe'" --tls-resume maybe "https://127.0.0.1:1/"
bad "mismatch" --cert "$C/client.pem" --key "$C/server.key" "https://127.0.0.1:1/"
bad "--key needs --cert" --key "$C/client.key" "https://127.0.0.1:1/"
bad "is a directory" --cacert "$C" "https://127.0.0.1:1/"
echo ok
