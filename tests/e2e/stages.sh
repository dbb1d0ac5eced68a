#!/usr/bin/env bash
# needs: python3
# Stages: a ramping rate follows its targets interval by interval (within
# 5%), and connection stages move the number of open connections.
. "$(dirname "$0")/lib.sh"

start_target
j=$T_TMP/r.json ts=$T_TMP/ts.ndjson
run_st --stages 3s:10000/s,3s:0/s -c 50 --json "$j" --timeseries "$ts" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
# the integral of the ramp: 2 * (3 s * 10000/s / 2) = 30000
jassert "$j" "abs(c['scheduled'] - 30000) <= 2" "abs(c['requests'] - 30000) <= 300" \
    "d['config']['stages_unit'] == 'per_s'" "len(d['config']['stages']) == 2"
python3 - "$ts" <<'PY' || fail "per-interval rates do not follow the ramp"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["phase"] == "run"]
def expected(t0, t1):  # integral of the 0 -> 10000 -> 0 ramp over [t0, t1]
    f = lambda t: 10000 * t * t / 6 if t <= 3 else 30000 / 2 + 10000 * (t - 3) - 10000 * (t - 3) ** 2 / 6
    return f(min(t1, 6)) - f(min(t0, 6))
checked = 0
for r in rows:
    t1 = r["t_s"]; t0 = t1 - 1
    if t1 > 6:
        continue
    e = expected(t0, t1)
    assert abs(r["requests"] - e) <= max(0.05 * e, 50), (r, e)
    checked += 1
assert checked >= 5, rows
PY

# closed loop: 0 -> 8 connections, hold, back to 0
run_st --stages 1s:8,1s:8,1s:0 --json "$j" --timeseries "$ts" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "d['config']['model'] == 'closed'" "d['config']['stages_unit'] == 'connections'" \
    "c['connections']['established'] >= 8"
python3 - "$ts" <<'PY' || fail "connections did not follow the stages"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert max(r["connections"] for r in rows) == 8, rows
assert rows[1]["connections"] == 8, rows  # end of the hold
PY

# bad combinations are usage errors
run_st -R 100 --stages 1s:10/s "http://127.0.0.1:$TPORT/"; expect_rc 2
run_st --stages 1s:10/s,1s:5 "http://127.0.0.1:$TPORT/"; expect_rc 2
grep -q "1s:5" "$T_TMP/err" || fail "mixed stages: the bad item is not named"
run_st -R fast "http://127.0.0.1:$TPORT/"; expect_rc 2
grep -q "'fast'" "$T_TMP/err" || fail "-R fast: the bad value is not named"
stop_target
