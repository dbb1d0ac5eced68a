#!/usr/bin/env bash
# needs: python3
# SIGINT/SIGTERM stop a 30 s run promptly with exit 130 and a full report;
# a second signal during the drain aborts it, still with a report.
. "$(dirname "$0")/lib.sh"

start_target

# interrupt NAME SIGNAL...: start a 30 s run, send the signals ~1 s in, then
# require exit 130 within 3 s and a JSON result
interrupt() {
    local name=$1 j="$T_TMP/$1.json" pid rc=0 s
    shift
    "$STAMPEDE" -c 10 -d 30s --json "$j" "http://127.0.0.1:$TPORT/" \
        >"$T_TMP/$name.out" 2>"$T_TMP/$name.err" &
    pid=$!
    T_PIDS+=("$pid")
    sleep 1
    kill -0 "$pid" 2>/dev/null || fail "$name: stampede exited before the signal"
    for s in "$@"; do
        kill -"$s" "$pid" || fail "$name: stampede exited before SIG$s"
        sleep 0.1
    done
    for _ in $(seq 60); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid"
        fail "$name: stampede still running 3 s after SIG$*"
    fi
    wait "$pid" || rc=$?
    [ $rc -eq 130 ] || fail "$name: exit $rc after SIG$*, want 130: $(cat "$T_TMP/$name.err")"
    [ -s "$j" ] || fail "$name: no JSON result written"
    check_identity "$j"
    jassert "$j" "d['exit_code'] == 130" "c['responses'] > 0" "d['duration_s'] < 5" \
        "'interrupted' in d['exit_reason']" "cerrs == 0"
    grep -q 'interrupted' "$T_TMP/$name.out" || fail "$name: no text report on stdout"
    grep -q 'http_req_duration' "$T_TMP/$name.out" || fail "$name: text report has no latency"
}

interrupt int INT
jassert "$T_TMP/int.json" "'SIGINT' in d['exit_reason']" "errs == 0" "c['in_flight_at_end'] == 0"
interrupt term TERM
jassert "$T_TMP/term.json" "'SIGTERM' in d['exit_reason']" "errs == 0"
stop_target
[ "$ANSWERED" -ge "$(jget "$T_TMP/int.json" "d['counters']['responses']")" ] ||
    fail "the target answered $ANSWERED, fewer than stampede counted"

# responses take 0.7 s: at the first SIGINT (~1 s in) every connection waits
# for an answer due at ~1.4 s, which a graceful drain would wait for; the
# second SIGINT 0.1 s later must cut the drain short
start_target --delay 700ms
interrupt int2 INT INT
jassert "$T_TMP/int2.json" "'SIGINT' in d['exit_reason']" "c['in_flight_at_end'] > 0" \
    "d['duration_s'] < 1.35"
stop_target
echo ok
