#!/usr/bin/env bash
# needs: python3
# Nothing listens: exit 1, the reason names "refused", no request is
# counted, and reconnecting backs off instead of spinning a core. Then a
# server that dies mid-run: its in-flight requests fail, reconnects back off.
. "$(dirname "$0")/lib.sh"

port=$(free_port)
j="$T_TMP/refused.json"
TIMEFORMAT=%U+%S
{ time run_st -c 10 -d 2s --json "$j" "http://127.0.0.1:$port/"; } 2>"$T_TMP/time"
expect_rc 1
cat "$T_TMP/out" "$T_TMP/err" | grep -qi refused || fail "neither stdout nor stderr names 'refused'"
check_identity "$j"
jassert "$j" "d['exit_code'] == 1" "c['requests'] == 0" "c['responses'] == 0" \
    "c['conn_errors']['connect_refused'] > 0" "errs == 0" \
    "c['connections']['established'] == 0" \
    "c['connections']['failed'] == c['conn_errors']['connect_refused']" \
    "c['connections']['opened'] <= 400" "'refused' in d['exit_reason'].lower()"
cpu=$(tail -n 1 "$T_TMP/time")
python3 -c "import sys; sys.exit(0 if $cpu < 0.5 else 1)" ||
    fail "stampede used ${cpu}s of CPU (user+sys) against a refusing port in 2 s"
echo "cpu ${cpu}s"

j="$T_TMP/gone.json"
start_target
(sleep 1 && kill -TERM "$TPID") &
killer=$!
run_st -c 10 -d 2s --json "$j" "http://127.0.0.1:$TPORT/"
wait "$killer"
wait "$TPID" || fail "stampede-target exited with $?"
ANSWERED=$(sed -n 's/^answered \([0-9]*\)$/\1/p' "$TOUT")
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] > 0" "c['responses'] <= $ANSWERED" \
    "0 < errs <= 10" "errs == c['errors']['conn_reset'] + c['errors']['conn_closed']" \
    "c['conn_errors']['connect_refused'] > 0" "c['connections']['opened'] <= 400" \
    "c['connections']['established'] >= 10" "c['in_flight_at_end'] == 0"

# -n alone has no deadline: a run that never connects gives up after
# --connect-timeout instead of retrying forever
t0=$(date +%s%N)
run_st -n 100 -c 2 --connect-timeout 1s "http://127.0.0.1:$port/"
t1=$(date +%s%N)
expect_rc 1
grep -q "gave up" "$T_TMP/out" || fail "-n against a refusing port: no 'gave up' in the report"
[ $(((t1 - t0) / 1000000)) -lt 3000 ] || fail "-n against a refusing port took $(((t1 - t0) / 1000000)) ms"

# -n alone, the server goes away mid-run: stop after --connect-timeout, exit 1
start_target
"$STAMPEDE" -t1 -c4 -n 100000000 --connect-timeout 1s -q --json "$T_TMP/lost.json" \
    "http://127.0.0.1:$TPORT/" 2>"$T_TMP/lost.err" &
spid=$!
sleep 1
stop_target
for _ in $(seq 80); do kill -0 $spid 2>/dev/null || break; sleep 0.1; done
if kill -0 $spid 2>/dev/null; then
    kill -INT $spid
    fail "-n run kept retrying 8 s after the server went away"
fi
set +e; wait $spid; rc=$?; set -e
[ $rc -eq 1 ] || fail "-n with the server gone: exit $rc, want 1"
check_identity "$T_TMP/lost.json"
jassert "$T_TMP/lost.json" "'gave up' in d['exit_reason']" "c['responses'] > 0"
