#!/usr/bin/env bash
# needs: python3
# Regressions found in review: requests in flight across the warm-up/run
# boundary were counted as responses but not requests (closed loop, -n
# overshot, in_flight_at_end wrapped); warm-up backlog leaked into the run
# (open loop); a free-list entry kept for a closed connection overflowed the
# list (open loop with server closes); a run stopped in warm-up mixed counts.
. "$(dirname "$0")/lib.sh"

start_target
j=$T_TMP/r.json
run_st -t2 -c64 --pipeline 4 -n 50000 --warmup 300ms --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 50000" "c['responses'] == 50000" "c['in_flight_at_end'] == 0"
stop_target

start_target --delay 20ms
run_st -t1 -R 2000 -c4 -d 1s --warmup 500ms --json "$j" "http://127.0.0.1:$TPORT/"
check_identity "$j"
jassert "$j" "c['scheduled'] == c['requests'] + c['dropped']" "c['in_flight_at_end'] < 100"
stop_target

start_target --close-after 1
run_st -t1 -R 2000 -c2 --pipeline 2 -d 1s --json "$j" "http://127.0.0.1:$TPORT/"
check_identity "$j"
jassert "$j" "c['scheduled'] == c['requests'] + c['dropped']" "c['responses'] > 0"
stop_target

# SIGINT inside the warm-up: nothing of it is counted
start_target
"$STAMPEDE" -c4 -d 5s --warmup 5s -q --json "$j" "http://127.0.0.1:$TPORT/" &
pid=$!
sleep 1
kill -INT $pid
set +e; wait $pid; rc=$?; set -e
[ $rc -eq 130 ] || fail "SIGINT in warm-up: exit $rc, want 130"
check_identity "$j"
jassert "$j" "c['requests'] == 0" "c['responses'] == 0"
stop_target
