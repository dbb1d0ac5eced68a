#!/usr/bin/env bash
# needs: python3
# Reconnection storms: --sessions N makes exactly N sessions (N handshakes
# at the server), each doing its --ws-msgs-per-conn / --requests-per-conn.
. "$(dirname "$0")/lib.sh"

j="$T_TMP/sess.json"
start_target
run_st --reconnect --sessions 500 --ws-msgs-per-conn 2 -c 20 -d 20s --json "$j" \
    "ws://127.0.0.1:$TPORT/echo"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['sessions'] == 500" "c['sessions_ok'] == 500" "ws['handshakes'] == 500" \
    "c['responses'] == 1000" "ws['msgs_sent'] == 1000" "errs == 0" \
    "ws['close_codes'].get('1000', 0) == 500" "d['exit_reason'] == 'session count reached'" \
    "c['connections']['established'] == 500" "m['ws_handshake_time']['count'] == 500"
[ "$(tcount ws_handshakes)" -eq 500 ] || fail "target saw $(tcount ws_handshakes) handshakes, want 500"
[ "$(tcount ws_msgs_in)" -eq 1000 ] || fail "target got $(tcount ws_msgs_in) messages, want 1000"
grep -q 'sessions' "$T_TMP/out" || fail "no sessions line in the report"

# no messages at all: connect, hand shake, close; capped by --connect-rate
start_target
run_st --reconnect --sessions 300 -c 50 --connect-rate 1000/s -d 20s --json "$j" \
    "ws://127.0.0.1:$TPORT/echo"
stop_target
expect_rc 0
jassert "$j" "c['sessions'] == 300" "ws['handshakes'] == 300" "c['requests'] == 0" \
    "d['duration_s'] > 0.2"
[ "$(tcount ws_handshakes)" -eq 300 ] || fail "target saw $(tcount ws_handshakes) handshakes, want 300"

# HTTP: a new connection after every 3 requests
start_target
run_st --requests-per-conn 3 --sessions 200 -c 10 -d 20s --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['sessions'] == 200" "c['sessions_ok'] == 200" "c['responses'] == 600" \
    "c['connections']['established'] == 200"
[ "$ANSWERED" -eq 600 ] || fail "target answered $ANSWERED, want 600"

# --reconnect with HTTP defaults to one request per connection; a delay spaces them
start_target
run_st --reconnect --reconnect-delay 50ms -c 4 -d 1s --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
jassert "$j" "d['config']['requests_per_conn'] == 1" "40 <= c['sessions'] <= 130" \
    "0 <= c['responses'] - c['sessions_ok'] <= 4"
echo ok
