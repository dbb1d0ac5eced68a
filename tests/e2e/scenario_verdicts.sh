#!/usr/bin/env bash
# needs: python3
# A scenario run against the bundled target with a two-step flow: exact
# per-step counts (every iteration sends both steps, the target answers
# exactly what was sent), templates rendered, checks counted; thresholds:
# a passing run exits 0, a failing one 99 with a FAIL line, and the JUnit
# and Markdown files say the same; --threshold on a plain flag run; a
# baseline comparison passes against itself and fails against a faster
# baseline (the target's --delay makes the second run slower by a known
# amount); abort_on_fail stops a run early once its threshold fails.
. "$(dirname "$0")/lib.sh"

start_target
cd "$T_TMP"
cat > flow.yaml <<Y
name: verdicts
target: http://127.0.0.1:$TPORT
thresholds:
  http_req_duration: ["p(99)<2s", "max<5s"]
  "http_req_duration{step:one}": "count>0"
  checks: "rate==1"
  iterations: "count>10"
scenarios:
  s:
    executor: constant-connections
    connections: 3
    duration: 1s
    steps:
      - name: one
        get: /one?c={{conn}}&i={{seq}}&r={{conn % 2}}
        check: {status: 200, duration: "<2s"}
      - name: two
        post: /two
        json: {c: "{{conn}}", n: "{{rand(1,9)}}"}
        check: {status: [200, 204]}
Y
run_st run flow.yaml --json r.json --junit j.xml --summary-md s.md
expect_rc 0
stop_target
python3 - r.json "$ANSWERED" <<'PY' || fail "flow counts"
import json, sys
d = json.load(open(sys.argv[1])); answered = int(sys.argv[2])
f = d["flow"]; st = {s["name"]: s for s in f["steps"]}
one, two = st["one"], st["two"]
assert f["iterations"] > 10, f
# iterations in flight at the end are not counted: each connection has at most one
assert 0 <= one["requests"] - f["iterations"] <= 3, (one, f)
assert two["requests"] in (one["requests"], one["requests"] - 1, one["requests"] - 2, one["requests"] - 3), st
assert one["responses"] == one["requests"] and two["responses"] == two["requests"], st
assert d["counters"]["requests"] == one["requests"] + two["requests"] == answered, (d["counters"], answered)
checks = {c["name"]: c for c in f["checks"]}
assert checks["one: status is 200"]["passes"] == one["responses"], checks
assert checks["two: status is 200|204"]["passes"] == two["responses"], checks
assert all(c["fails"] == 0 for c in f["checks"]), checks
m = d["metrics"]
assert m["http_req_duration{step:one}"]["count"] == one["responses"], m.keys()
assert m["iteration_duration"]["count"] == f["iterations"]
assert all(t["passed"] for t in d["thresholds"]) and len(d["thresholds"]) == 5, d["thresholds"]
PY
grep -q 'tests="8" failures="0"' j.xml || fail "junit: $(cat j.xml)"
grep -q 'classname="checks" name="one: status is 200"' j.xml || fail "junit checks: $(cat j.xml)"
grep -q "## stampede: verdicts: passed" s.md || fail "summary: $(cat s.md)"
grep -q '| ✅ | `checks` | `rate==1` | 100% |' s.md || fail "summary table: $(cat s.md)"

# failing thresholds: exit 99, the table, JUnit failures, Markdown
start_target --delay 30ms
sed -i "s/127.0.0.1:[0-9]*/127.0.0.1:$TPORT/; s/p(99)<2s/p(99)<10ms/" flow.yaml
run_st run flow.yaml --json r2.json --junit j2.xml --summary-md s2.md --threshold 'http_reqs:count<1'
expect_rc 99
grep -q "FAIL http_req_duration  *p(99)<10ms" "$T_TMP/out" || fail "no FAIL line: $(cat "$T_TMP/out")"
grep -q "2 of 6 thresholds failed" "$T_TMP/out" || fail "count of failures: $(cat "$T_TMP/out")"
grep -q 'failures="2"' j2.xml || fail "junit failures: $(cat j2.xml)"
grep -q '<failure message="p(99)&lt;10ms failed: actual' j2.xml || fail "junit message: $(cat j2.xml)"
grep -q "thresholds failed" s2.md || fail "summary: $(cat s2.md)"
python3 -c "
import json; d = json.load(open('r2.json')); t = {x['expr']: x for x in d['thresholds']}
assert not t['p(99)<10ms']['passed'] and t['p(99)<10ms']['actual'] >= 30e6, t
assert t['count<1']['source'] == '--threshold' and not t['count<1']['passed']" || fail "r2.json thresholds"

# baseline: the fast run is the baseline; the slow run regresses by far more than 10%
run_st run flow.yaml --baseline r2.json --max-regression 'http_req_duration:p(99):+10%' \
    --set 'duration=500ms'
[ "$SRC" -eq 99 ] || fail "slow run against itself-ish baseline: want 99 (thresholds), got $SRC"
stop_target
start_target
sed -i "s/127.0.0.1:[0-9]*/127.0.0.1:$TPORT/; s/p(99)<10ms/p(99)<2s/" flow.yaml
run_st run flow.yaml --baseline r2.json --max-regression 'http_req_duration:p(99):+10%'
expect_rc 0
grep -q "PASS http_req_duration:p(99):+10%" "$T_TMP/out" || fail "baseline pass: $(cat "$T_TMP/out")"
run_st run flow.yaml --baseline r.json --max-regression 'http_req_duration{step:one}:max:+0%' \
    --set scenarios.s.duration=300ms
stop_target
start_target --delay 20ms
sed -i "s/127.0.0.1:[0-9]*/127.0.0.1:$TPORT/" flow.yaml
run_st run flow.yaml --baseline r.json --max-regression 'http_req_duration:p(50):+10%' \
    --set scenarios.s.duration=500ms
expect_rc 99
grep -q "FAIL http_req_duration:p(50):+10%" "$T_TMP/out" || fail "baseline regression: $(cat "$T_TMP/out")"

# abort_on_fail: a 10 s run against a 20 ms server stops within ~2 s
cat > abort.yaml <<Y
target: http://127.0.0.1:$TPORT
thresholds:
  http_req_duration: [{threshold: "p(95)<5ms", abort_on_fail: true}]
scenarios:
  a: {connections: 2, duration: 10s}
Y
t0=$(date +%s%N)
run_st run abort.yaml --json ra.json
t1=$(date +%s%N)
expect_rc 99
grep -q "threshold http_req_duration:p(95)<5ms failed at .*run aborted (abort_on_fail)" "$T_TMP/err" ||
    fail "abort message: $(cat "$T_TMP/err")"
[ $(( (t1 - t0) / 1000000 )) -lt 4000 ] || fail "abort_on_fail did not stop the run early"
python3 -c "
import json; d = json.load(open('ra.json'))
assert d['duration_s'] < 3 and not d['thresholds'][0]['passed'], d['duration_s']" || fail "aborted result"

# --threshold on a plain flag run
run_st -c 2 -d 300ms --threshold 'http_req_duration:p(50)<1ms' "http://127.0.0.1:$TPORT/"
expect_rc 99
run_st -c 2 -d 300ms --threshold 'http_req_duration:p(50)>10ms' --threshold 'http_req_failed:rate<1%' \
    "http://127.0.0.1:$TPORT/"
expect_rc 0
stop_target
echo "verdicts ok"
