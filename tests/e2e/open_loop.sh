#!/usr/bin/env bash
# needs: python3
# Open loop keeps its schedule: -R gives the requested number of requests
# (within 1%), every interval of the time series near the rate, and the
# schedule identity scheduled = requests + dropped; a warm-up is excluded.
. "$(dirname "$0")/lib.sh"

start_target
j=$T_TMP/r.json ts=$T_TMP/ts.ndjson
run_st -R 20000 -d 5s -c 50 --json "$j" --timeseries "$ts" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "d['config']['model'] == 'open'" \
    "abs(c['responses'] - 100000) <= 1000" "errs == 0" \
    "c['scheduled'] == c['requests'] + c['dropped']" \
    "m['send_lag']['count'] == c['requests']" \
    "m['http_req_service_time']['count'] == c['responses'] + errs" \
    "d['generator']['verdict'] in ('ok', 'saturated')"
python3 - "$ts" <<'PY' || fail "time series is not flat at 20000/s"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
run = [r for r in rows if r["phase"] == "run"]
assert len(run) >= 4, rows
for r in run[1:-1]:  # whole seconds inside the run
    assert abs(r["requests"] - 20000) <= 200, r
    assert r["target"] == 20000, r
keys = {"t_s", "phase", "target", "requests", "responses", "errors", "rps", "p50_us", "p90_us",
        "p99_us", "max_us", "connections", "send_lag_p99_us", "dropped", "status"}
assert all(set(r) == keys for r in rows), rows[0]
PY

# warm-up: 1 s at the same rate before 2 s of run; only the run counts
run_st -R 5000 -d 2s --warmup 1s -c 20 --json "$j" --timeseries "$ts" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "abs(c['requests'] - 10000) <= 100" "c['scheduled'] == c['requests'] + c['dropped']" \
    "d['config']['warmup_s'] == 1"
grep -q '"phase": "warmup"' "$ts" || fail "the time series does not show the warm-up"

# -n with -R: exactly n requests, paced
run_st -R 10000 -n 5000 -c 20 --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 5000" "c['responses'] == 5000" "0.4 < d['duration_s'] < 0.7"

# pipelining combines with open loop: 5 connections carry 4 requests each
run_st -R 20000 -d 1s -c 5 --pipeline 4 --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "abs(c['requests'] - 20000) <= 200" "errs == 0" \
    "c['scheduled'] == c['requests'] + c['dropped']" "c['connections']['established'] == 5"

# poisson arrivals: the same mean rate, reproducible with --seed
run_st -R 5000 -d 2s --arrival poisson --seed 7 -c 20 --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "abs(c['scheduled'] - 10000) <= 500" "d['config']['arrival'] == 'poisson'" \
    "c['scheduled'] == c['requests'] + c['dropped']"

# --connect-rate: 100 connections at 200/s take about half a second, before the clock
t0=$(date +%s%N)
run_st -R 1000 -d 1s -c 100 --connect-rate 200/s --json "$j" "http://127.0.0.1:$TPORT/"
t1=$(date +%s%N)
expect_rc 0
check_identity "$j"
jassert "$j" "c['connections']['established'] == 100" "abs(c['requests'] - 1000) <= 10"
ms=$(((t1 - t0) / 1000000))
[ "$ms" -ge 1400 ] || fail "--connect-rate 200/s opened 100 connections too fast (run took $ms ms)"
stop_target

# --max-connections: one connection cannot carry 2000/s of 5 ms requests; the pool grows
start_target --delay 5ms
run_st -R 2000 -d 2s -c 1 --max-connections 40 --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['connections']['established'] >= 10" "c['dropped'] == 0" \
    "abs(c['responses'] - 4000) <= 40" "h['p50'] < 20000"
stop_target
