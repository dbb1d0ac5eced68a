#!/usr/bin/env bash
# needs: python3
# -n N sends exactly N requests and gets exactly N responses, whatever the
# split over threads and connections; the target confirms the count.
. "$(dirname "$0")/lib.sh"

# exact N ARGS...: one run of -n N against a fresh target
exact() {
    local n=$1 j="$T_TMP/exact-$1.json"
    shift
    start_target
    run_st "$@" -n "$n" --json "$j" "http://127.0.0.1:$TPORT/"
    stop_target
    expect_rc 0
    check_identity "$j"
    jassert "$j" "c['requests'] == $n" "c['responses'] == $n" "errs == 0" "cerrs == 0" \
        "c['in_flight_at_end'] == 0" "c['status']['2xx'] == $n" "h['count'] == $n" \
        "c['unsolicited_responses'] == 0" "d['exit_code'] == 0" "d['config']['requests'] == $n"
    [ "$ANSWERED" -eq "$n" ] || fail "target answered $ANSWERED, want $n ($*)"
}

exact 20000 -c 20
jassert "$T_TMP/exact-20000.json" "d['config']['connections'] == 20" \
    "c['connections']['established'] == 20"

# one thread, a count that does not divide by the connections
exact 1001 -t 1 -c 7
jassert "$T_TMP/exact-1001.json" "d['config']['threads'] == 1"

# two threads, uneven connections and count
exact 997 -t 2 -c 3
jassert "$T_TMP/exact-997.json" "d['config']['threads'] == 2"

# fewer requests than connections
exact 3 -c 8
# fewer requests than connections per thread: a thread's share is 0, which
# must mean "send nothing", not "unlimited" (-d only bounds a regression)
exact 1 -c 8 -t 2 -d 5s
jassert "$T_TMP/exact-1.json" "d['duration_s'] < 1"
echo ok
