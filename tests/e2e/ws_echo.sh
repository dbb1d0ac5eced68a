#!/usr/bin/env bash
# needs: python3
# WebSocket against the bundled target: exact message counts both ways,
# pipelining, templates matched by conn+seq, rooms fan-out exact.
. "$(dirname "$0")/lib.sh"

# closed-loop echo, exact counts on both sides
start_target
j="$T_TMP/echo.json"
run_st -c 20 -n 5000 --json "$j" "ws://127.0.0.1:$TPORT/echo"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 5000" "c['responses'] == 5000" "errs == 0" \
    "ws['msgs_sent'] == 5000" "ws['msgs_received'] == 5000" "ws['pushes'] == 0" \
    "ws['handshakes'] == 20" "h['count'] == 5000" "d['config']['protocol'] == 'ws'" \
    "m['ws_handshake_time']['count'] == 20" "sum(ws['handshake_failures'].values()) == 0"
[ "$(tcount ws_msgs_in)" -eq 5000 ] || fail "target got $(tcount ws_msgs_in) messages, want 5000"
[ "$(tcount ws_handshakes)" -eq 20 ] || fail "target saw $(tcount ws_handshakes) handshakes"
grep -q 'ws_msg_rtt' "$T_TMP/out" || fail "no ws_msg_rtt row in the text report"

# pipelined, binary, 1 KiB random messages
start_target
run_st -c 4 -n 4000 --ws-pipeline 8 --ws-binary --ws-msg-size 1KiB --json "$j" \
    "ws://127.0.0.1:$TPORT/echo"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 4000" "ws['msgs_received'] == 4000" "errs == 0" \
    "d['config']['ws_msg_bytes'] == 1024" "c['bytes_in'] > 4000 * 1024"
[ "$(tcount ws_msgs_in)" -eq 4000 ] || fail "target got $(tcount ws_msgs_in) messages, want 4000"

# a template: replies are matched by conn + seq
start_target
run_st -c 5 -n 1000 --ws-pipeline 4 --json "$j" \
    --ws-msg '{"from":{{conn}},"seq":{{seq}},"ts":{{ts}}}' "ws://127.0.0.1:$TPORT/echo"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 1000" "ws['pushes'] == 0" "d['config']['ws_template']" \
    "m['ws_fanout_latency']['count'] == 0"

# rooms of 10 on a one-thread target: every message reaches the 10 members
start_target --threads 1
run_st -t 1 -c 30 -n 600 --ws-rate 50/s --json "$j" \
    --ws-msg '{"type":"vote","from":{{conn}},"seq":{{seq}},"ts":{{ts}}}' \
    "ws://127.0.0.1:$TPORT/rooms/10"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 600" "ws['msgs_sent'] == 600" \
    "ws['msgs_received'] == 6000" "ws['pushes'] == 5400" \
    "m['ws_fanout_latency']['count'] == 5400" "m['ws_fanout_latency']['p50'] < 100000"
[ "$(tcount ws_msgs_in)" -eq 600 ] || fail "target got $(tcount ws_msgs_in), want 600"
[ "$(tcount ws_msgs_out)" -eq 6000 ] || fail "target sent $(tcount ws_msgs_out), want 6000"
echo ok
