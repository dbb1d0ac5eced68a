#!/usr/bin/env bash
# needs: python3
# Pipelining: exact counts, no errors, and the summary says pipeline 16.
. "$(dirname "$0")/lib.sh"

j="$T_TMP/pipe.json"
start_target
run_st --pipeline 16 -c 10 -n 50000 --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 50000" "c['responses'] == 50000" "errs == 0" "cerrs == 0" \
    "c['in_flight_at_end'] == 0" "c['unsolicited_responses'] == 0" \
    "d['config']['pipeline'] == 16" "c['connections']['opened'] == 10"
[ "$ANSWERED" -eq 50000 ] || fail "target answered $ANSWERED, want 50000"
grep -q 'pipeline 16' "$T_TMP/out" || fail "text summary does not mention pipeline 16: $(head -n 3 "$T_TMP/out")"

# a pipeline deeper than the -n budget of a connection
start_target
run_st --pipeline 64 -c 4 -n 100 --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 100" "c['responses'] == 100" "errs == 0"
[ "$ANSWERED" -eq 100 ] || fail "target answered $ANSWERED, want 100"
echo ok
