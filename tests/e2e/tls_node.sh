#!/usr/bin/env bash
# needs: node python3 openssl
# wss:// against the npm `ws` echo server behind node's TLS (a peer nobody
# here wrote; tests/node/wss_echo.js): exact counts both ways, messages
# larger than a TLS record, resumed handshakes on reconnect as the server
# saw them, and a server certificate for another name (exit 1).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/certs.sh"

C="$T_TMP/certs"
make_certs "$C"
start_node_wss "$C/server.pem" "$C/server.key"
url="wss://localhost:$WPORT/"
j="$T_TMP/wss.json"

run_st -c 10 -n 3000 --ws-pipeline 2 --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 3000" "ws['msgs_received'] == 3000" "errs == 0" "cerrs == 0" \
    "ws['handshakes'] == 10" "ws['protocol_errors'] == 0"
jtls "$j" "t['handshakes_full'] == 10" "t['handshakes_resumed'] == 0" \
    "t['handshakes_failed'] == 0" "t['failures'] == {}" "nneg == 10" "t['insecure'] is False"

# 70000-byte binary messages: each spans several TLS records (16 KiB at most)
run_st -c 3 -n 300 --ws-binary --ws-msg-size 70000 --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
jassert "$j" "c['responses'] == 300" "ws['protocol_errors'] == 0" "errs == 0" \
    "c['bytes_in'] > 300 * 70000"
jtls "$j" "t['handshakes_full'] == 3" "t['handshakes_failed'] == 0"

# a session per connection: 200 TLS + WebSocket handshakes, all but the
# first per connection slot resumed
run_st --reconnect --sessions 200 --ws-msgs-per-conn 2 -c 10 -d 20s --cacert "$C/ca.pem" \
    --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['sessions'] == 200" "c['sessions_ok'] == 200" "ws['handshakes'] == 200" \
    "c['responses'] == 400" "errs == 0"
jtls "$j" "hs == 200" "t['handshakes_failed'] == 0" "nneg == 200" \
    "t['handshakes_resumed'] >= 0.95 * (hs - 10)" \
    "m['tls_handshake_time']['count'] == hs" \
    "m['tls_handshake_time_full']['count'] == t['handshakes_full']" \
    "m['tls_handshake_time_resumed']['count'] == t['handshakes_resumed']"
resumed=$(jget "$j" "d['counters']['tls']['handshakes_resumed']")

stop_node_wss
[ "$(wcount ws_msgs_in)" = 3700 ] || fail "node server counts: $(cat "$WOUT")"
[ "$(wcount ws_handshakes)" = 213 ] || fail "node server counts: $(cat "$WOUT")"
[ "$(wcount tls_handshakes)" = 213 ] || fail "node server counts: $(cat "$WOUT")"
[ "$(wcount tls_sessions_resumed)" = "$resumed" ] ||
    fail "node server saw $(wcount tls_sessions_resumed) resumed sessions, stampede $resumed"

# a certificate for another name: nothing connects, exit 1, the reason named
start_node_wss "$C/wrongname.pem" "$C/wrongname.key"
run_st -c 2 -d 1s --cacert "$C/ca.pem" --json "$j" "wss://localhost:$WPORT/"
expect_rc 1
jassert "$j" "c['responses'] == 0" "ws['handshakes'] == 0" \
    "'certificate verify failed' in d['exit_reason'].lower()"
jtls "$j" "hs == 0" "t['handshakes_failed'] >= 1"
echo ok
