#!/usr/bin/env bash
# needs: python3
# A server delay of D shows up as latency D plus a little, never less.
. "$(dirname "$0")/lib.sh"

# delay D LO HI: p50 must fall in [LO, HI] us and min must be >= LO
delay() {
    local j="$T_TMP/delay-$1.json"
    start_target --delay "$1"
    run_st -c 10 -d 2s --json "$j" "http://127.0.0.1:$TPORT/"
    stop_target
    expect_rc 0
    check_identity "$j"
    jassert "$j" "errs == 0" "cerrs == 0" "c['responses'] > 0" \
        "$2 <= h['p50'] <= $3" "h['min'] >= $2" "h['p99'] < 2 * $3" \
        "c['responses'] <= $ANSWERED"
}

delay 10ms 10000 11000
# 10 connections, 2 s, 10 ms each: about 2000 responses, not 10x more or less
jassert "$T_TMP/delay-10ms.json" "1000 <= c['responses'] <= 2100"
delay 50ms 50000 51500
jassert "$T_TMP/delay-50ms.json" "200 <= c['responses'] <= 420"
echo ok
