#!/usr/bin/env bash
# needs: python3 node
# WebSocket against a server nobody here wrote: the npm `ws` package
# (tests/node, installed by tools/deps.sh test). Exact counts both ways.
. "$(dirname "$0")/lib.sh"

node_dir="$TESTS_DIR/node"
[ -d "$node_dir/node_modules/ws" ] || skip "npm ws not installed (tools/deps.sh test)"
NOUT="$T_TMP/node.out"
node "$node_dir/ws_echo.js" 0 >"$NOUT" 2>&1 &
NPID=$!
T_PIDS+=("$NPID")
NPORT=$(wait_listening "node ws server" "$NPID" "$NOUT")

j="$T_TMP/node.json"
run_st -c 10 -n 3000 --ws-pipeline 2 --json "$j" "ws://127.0.0.1:$NPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 3000" "ws['msgs_received'] == 3000" "errs == 0" \
    "ws['handshakes'] == 10" "ws['protocol_errors'] == 0"
run_st -c 3 -n 300 --ws-binary --ws-msg-size 70000 --json "$j" "ws://127.0.0.1:$NPORT/"
expect_rc 0
jassert "$j" "c['responses'] == 300" "ws['protocol_errors'] == 0" "c['bytes_in'] > 300 * 70000"
# a subprotocol: npm ws selects the first one offered; the 101 must name it
run_st -c 2 -n 10 --ws-subprotocol chat --json "$j" "ws://127.0.0.1:$NPORT/"
expect_rc 0
kill -TERM "$NPID"
wait "$NPID" || true
grep -q '^ws_msgs_in 3310$' "$NOUT" || fail "node server counts: $(cat "$NOUT")"
grep -q '^ws_handshakes 15$' "$NOUT" || fail "node server counts: $(cat "$NOUT")"
echo ok
