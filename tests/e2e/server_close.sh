#!/usr/bin/env bash
# needs: python3
# A server that closes every connection after 5 responses: stampede
# reconnects and keeps counting exactly.
. "$(dirname "$0")/lib.sh"

j="$T_TMP/close.json"
start_target --close-after 5
run_st -c 10 -n 5000 --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 5000" "c['responses'] == 5000" "errs == 0" "cerrs == 0" \
    "c['in_flight_at_end'] == 0" "c['connections']['opened'] >= 1000" \
    "c['connections']['established'] >= 1000" "c['connections']['failed'] == 0" \
    "c['connections']['closed'] >= 990"
[ "$ANSWERED" -eq 5000 ] || fail "target answered $ANSWERED, want 5000"

# pipelined: requests after the 5th are dropped by the server, so some fail
j="$T_TMP/close-pipe.json"
start_target --close-after 5
run_st --pipeline 4 -c 10 -n 5000 --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 5000" "c['responses'] + errs == 5000" \
    "c['in_flight_at_end'] == 0" "c['responses'] > 0" \
    "errs == c['errors']['conn_closed'] + c['errors']['conn_reset']" \
    "c['connections']['established'] * 5 >= c['responses']" \
    "c['responses'] == $ANSWERED"
echo ok
