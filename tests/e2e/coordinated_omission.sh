#!/usr/bin/env bash
# needs: python3
# Coordinated omission, shown against a server that stalls for 1 s, 2 s
# after its first request. Open loop at a fixed rate: every request due
# during the stall is late by up to a second, so p90 of http_req_duration
# is hundreds of ms, while http_req_service_time (from the actual send)
# stays low. A closed loop of the same length hides the stall: each
# connection waits once, sends nothing meanwhile, and p90 stays low.
. "$(dirname "$0")/lib.sh"

j=$T_TMP/open.json
start_target --stall 1s@2s
run_st -R 1000 -d 5s -c 10 --timeout 5s --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "errs == 0" "abs(c['responses'] - 5000) <= 50" \
    "h['p90'] >= 300000" "h['max'] >= 900000" \
    "m['http_req_service_time']['p90'] < 50000" \
    "d['generator']['verdict'] == 'ok' or m['send_lag']['p99'] > 1000 or c['dropped'] > 0"

j=$T_TMP/closed.json
start_target --stall 1s@2s
run_st -d 5s -c 10 --timeout 5s --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "errs == 0" "h['max'] >= 900000" "h['p90'] < 50000" \
    "d['config']['model'] == 'closed'"
