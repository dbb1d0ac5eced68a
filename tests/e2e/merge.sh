#!/usr/bin/env bash
# needs: python3
# stampede merge: (1) a merge of one file is that file (every key but
# merged_from, floats to 1e-9 relative plus the 10 significant digits the
# inputs carry) for closed loop, open loop, WebSocket, a flow and a
# two-scenario result; (2) exactness: two concurrent -n runs against one
# target merge count for count (requests == the target's answered count,
# bins == the sum of the inputs' bins, percentiles == HdrHistogram's rule
# applied by Python to the merged bins, mean from sum_ns, min/max); (3)
# three files; shards: distinct shards merge (shard dropped, slices
# summed), a duplicate shard is refused, a missing one warned about; (4)
# refusals (exit 2, the file named): another schema, another histogram
# layout (sig_digits, lowest_us), single vs multi-scenario, another url, a
# missing file, a non-JSON file, a JSON file that is no result, malformed
# bins; (5) thresholds judged on the merge: --threshold pass/fail (0/99),
# the inputs' own thresholds carried, deduplicated and judged, JUnit and
# Markdown written; (6) a two-scenario result merged with itself doubles
# every count per scenario.
. "$(dirname "$0")/lib.sh"

cd "$T_TMP"

# same.py A B: B (a merge of A alone) equals A but for merged_from
cat > same.py <<'PY'
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert b.pop("merged_from") == [sys.argv[1]], "merged_from"
bad = []
def cmp(x, y, p):
    if isinstance(x, dict):
        if not isinstance(y, dict) or list(x) != list(y):
            bad.append("%s: keys %s vs %s" % (p, list(x), list(y) if isinstance(y, dict) else y))
            return
        for k in x:
            cmp(x[k], y[k], p + "." + k)
    elif isinstance(x, list):
        if not isinstance(y, list) or len(x) != len(y):
            bad.append("%s: %r vs %r" % (p, x, y))
            return
        for i, (u, v) in enumerate(zip(x, y)):
            cmp(u, v, "%s[%d]" % (p, i))
    elif isinstance(x, float) or isinstance(y, float):
        # the inputs carry 10 significant digits: a rate recomputed from a
        # rounded duration may differ by a few units in the 10th
        if type(x) is bool or type(y) is bool or abs(x - y) > 2e-9 * max(abs(x), abs(y)):
            bad.append("%s: %r vs %r" % (p, x, y))
    elif x != y or type(x) != type(y):
        bad.append("%s: %r vs %r" % (p, x, y))
cmp(a, b, "")
if bad:
    print("\n".join(bad[:20]), file=sys.stderr)
    sys.exit(1)
PY

# hdr.py: HdrHistogram's percentile rule over [lowest_us, count] bins
cat > hdr.py <<'PY'
from fractions import Fraction
import math
PCTS = [("p50", "50"), ("p75", "75"), ("p90", "90"), ("p95", "95"), ("p99", "99"),
        ("p99.9", "99.9"), ("p99.99", "99.99")]
def highest(v):
    b = max(0, (v | 2047).bit_length() - 11)
    return ((v >> b) << b) + (1 << b) - 1
def pct(bins, count, max_us, p):
    rank = max(1, min(count, math.ceil(Fraction(p) * count / 100)))
    seen = 0
    for v, n in bins:
        seen += n
        if seen >= rank:
            return max(v, min(highest(v), max_us))
    return max_us
def check(m, name):
    bins = m["hist"]["bins"]
    assert bins == sorted(bins), name + ": bins not sorted"
    assert sum(n for _, n in bins) + m["overflow"] == m["count"], name + ": bins vs count"
    for k, p in PCTS:
        want = pct(bins, m["count"], math.floor(m["max"]), p)
        assert m[k] == want, "%s %s: %r, HdrHistogram's rule gives %r" % (name, k, m[k], want)
    mean = m["hist"]["sum_ns"] / m["count"] / 1000 if m["count"] else 0
    assert abs(m["mean"] - mean) <= 1e-9 * max(mean, 1), name + ": mean"
PY

# --- (1) identity -----------------------------------------------------------------
start_target
U=http://127.0.0.1:$TPORT
cat > flow.yaml <<Y
name: merge-flow
target: $U
thresholds:
  http_req_duration: ["p(99)<10s"]
  "http_req_duration{step:one}": "count>0"
  checks: "rate==1"
scenarios:
  s:
    executor: constant-connections
    connections: 2
    duration: 1s
    steps:
      - name: one
        get: /one?c={{conn}}
        check: {status: 200}
      - name: two
        post: /two
        json: {c: "{{conn}}"}
        check: {status: [200, 204]}
Y
cat > multi.yaml <<Y
name: merge-multi
target: $U
duration: 1s
thresholds:
  "http_req_duration{scenario:a}": ["p(99)<10s"]
scenarios:
  a:
    executor: constant-connections
    connections: 2
    steps:
      - name: get
        get: /a
  b:
    executor: constant-connections
    connections: 1
    steps:
      - name: post
        post: /b
        body: x
Y
run_st -c 2 -d 1 -q --json closed.json "$U/"
expect_rc 0
run_st -R 500 -d 1 -q --json open.json "$U/"
expect_rc 0
run_st -c 2 -d 1 -q --json ws.json "ws://127.0.0.1:$TPORT/echo"
expect_rc 0
run_st run flow.yaml -q --json flow.json
expect_rc 0
run_st run multi.yaml -q --json multi.json
expect_rc 0
for f in closed open ws flow multi; do
    run_st merge "$f.json" --json "m-$f.json"
    [ $SRC -eq 0 ] || fail "merge $f.json: exit $SRC: $(cat "$T_TMP/err")"
    python3 same.py "$f.json" "m-$f.json" || fail "merge of $f.json alone differs from it"
done
grep -q 'http_req_duration' "$T_TMP/out" || fail "no latency table in the merge's summary"
stop_target

# --- (2) exactness: two concurrent runs, one target ----------------------------------
start_target
U=http://127.0.0.1:$TPORT
timeout -k 5 60 "$STAMPEDE" -c 3 -n 3000 -q --json a.json "$U/" & pa=$!
timeout -k 5 60 "$STAMPEDE" -c 2 -n 2000 -q --json b.json "$U/" & pb=$!
wait $pa || fail "run a: exit $?"
wait $pb || fail "run b: exit $?"
run_st -c 2 -n 1000 -q --json c.json "$U/"
expect_rc 0
for i in 1 2 3; do
    run_st -c 4 -n 1000 --shard $i/3 -q --json s$i.json "$U/"
    expect_rc 0
done
stop_target
[ "$ANSWERED" -eq 7000 ] || fail "the target answered $ANSWERED, not 5000 + 1000 + 1000 (3 shards of -n 1000)"
run_st merge a.json b.json --json ab.json
[ $SRC -eq 0 ] || fail "merge a b: exit $SRC: $(cat "$T_TMP/err")"
check_identity ab.json
check_schema_keys ab.json
run_st merge a.json b.json -q --html ab.html
[ $SRC -eq 0 ] && grep -q merged_from ab.html || fail "merge --html: exit $SRC: $(cat "$T_TMP/err")"
python3 - a.json b.json ab.json "$ANSWERED" <<'PY' || fail "merge of a and b is not exact"
import json, sys
from collections import Counter
sys.path.insert(0, ".")
import hdr
a, b, m = (json.load(open(f)) for f in sys.argv[1:4])
answered = int(sys.argv[4]) - 2000 # c.json (1000) and the shards (1000 in all)
c = m["counters"]
assert c["requests"] == c["responses"] == 5000 == answered, (c["requests"], answered)
assert c["status"]["codes"] == {"200": 5000}, c["status"]["codes"]
assert c["connections"]["established"] == 5
assert m["config"]["connections"] == 5 and m["config"]["requests"] == 5000
assert m["duration_s"] == max(a["duration_s"], b["duration_s"])
assert m["merged_from"] == ["a.json", "b.json"]
assert m["generator"]["cpu"] == a["generator"]["cpu"] + b["generator"]["cpu"]
assert m["capacity"]["peak_established"] == 5
for name in ("http_req_duration", "connect_time"):
    x, y, z = a["metrics"][name], b["metrics"][name], m["metrics"][name]
    want = Counter()
    for v, n in x["hist"]["bins"] + y["hist"]["bins"]:
        want[v] += n
    assert z["hist"]["bins"] == sorted([v, n] for v, n in want.items()), name + ": bins"
    assert z["count"] == x["count"] + y["count"]
    assert z["hist"]["sum_ns"] == x["hist"]["sum_ns"] + y["hist"]["sum_ns"]
    assert z["min"] == min(x["min"], y["min"]) and z["max"] == max(x["max"], y["max"])
    hdr.check(z, name)
assert m["metrics"]["http_req_duration"]["count"] == 5000
assert abs(m["rates"]["requests_per_s"] - 5000 / m["duration_s"]) < 1e-6 * 5000
PY

# --- (3) three files; shards ------------------------------------------------------------
run_st merge a.json b.json c.json -q --json abc.json
[ $SRC -eq 0 ] || fail "merge of three: exit $SRC: $(cat "$T_TMP/err")"
python3 - a.json b.json c.json abc.json <<'PY' || fail "merge of three files"
import json, sys
sys.path.insert(0, ".")
import hdr
ins = [json.load(open(f)) for f in sys.argv[1:4]]
m = json.load(open(sys.argv[4]))
assert m["counters"]["requests"] == 6000 == sum(d["counters"]["requests"] for d in ins)
assert m["metrics"]["http_req_duration"]["count"] == 6000
assert m["config"]["connections"] == 7
assert m["merged_from"] == ["a.json", "b.json", "c.json"]
hdr.check(m["metrics"]["http_req_duration"], "http_req_duration")
PY
run_st merge s1.json s2.json s3.json -q --json s.json
[ $SRC -eq 0 ] || fail "merge of shards: exit $SRC: $(cat "$T_TMP/err")"
python3 - s.json <<'PY' || fail "merge of shards"
import json, sys
m = json.load(open(sys.argv[1]))
assert "shard" not in m["config"], "shard kept"
assert m["config"]["connections"] == 4 and m["config"]["requests"] == 1000, m["config"]
assert m["counters"]["responses"] == 1000
PY
run_st merge s1.json s2.json s1.json -q
[ $SRC -eq 2 ] && grep -q 'both shard 1/3' "$T_TMP/err" || fail "duplicate shard: exit $SRC: $(cat "$T_TMP/err")"
run_st merge s1.json s3.json -q
[ $SRC -eq 0 ] && grep -q 'shard 2/3 is missing' "$T_TMP/err" || fail "missing shard: exit $SRC: $(cat "$T_TMP/err")"
run_st merge s1.json a.json -q
[ $SRC -eq 2 ] && grep -q 'a.json' "$T_TMP/err" || fail "shard with a non-shard: exit $SRC"
# shards of two different loads (another rate slice, another length)
python3 - s2.json s2r.json s2d.json <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["config"]["rate_per_s"] = 123.5
json.dump(d, open(sys.argv[2], "w"))
d = json.load(open(sys.argv[1]))
d["config"]["duration_s"] = 7
json.dump(d, open(sys.argv[3], "w"))
PY
run_st merge s1.json s2r.json s3.json -q
[ $SRC -eq 2 ] && grep -q 's2r.json: config.rate_per_s differs' "$T_TMP/err" ||
    fail "shards of another rate: exit $SRC: $(cat "$T_TMP/err")"
run_st merge s1.json s2d.json s3.json -q
[ $SRC -eq 2 ] && grep -q 'config.duration_s differs' "$T_TMP/err" ||
    fail "shards of another length: exit $SRC: $(cat "$T_TMP/err")"

# --- (4) refusals ------------------------------------------------------------------------
edit() { # edit IN OUT PYTHON-STATEMENT (on d)
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); exec(sys.argv[3]); json.dump(d, open(sys.argv[2], "w"))' "$@"
}
refused() { # refused WHY FILE-IN-MESSAGE WORD ARGS...
    local why=$1 file=$2 word=$3
    shift 3
    run_st merge "$@" -q
    [ $SRC -eq 2 ] || fail "$why: exit $SRC, expected 2"
    grep -q -- "$file" "$T_TMP/err" || fail "$why: $file not named: $(cat "$T_TMP/err")"
    grep -q -- "$word" "$T_TMP/err" || fail "$why: no '$word' in: $(cat "$T_TMP/err")"
}
edit a.json schema2.json 'd["schema"] = "stampede.result/2"'
refused "another schema" schema2.json 'stampede.result/2' a.json schema2.json
edit a.json sig2.json 'd["metrics"]["http_req_duration"]["hist"]["sig_digits"] = 2'
refused "another sig_digits" sig2.json sig_digits a.json sig2.json
edit a.json low5.json 'd["metrics"]["connect_time"]["hist"]["lowest_us"] = 5'
refused "another lowest_us" low5.json lowest_us a.json low5.json
refused "single vs multi" multi.json multi-scenario a.json multi.json
edit a.json url.json 'd["config"]["url"] = "http://127.0.0.1:1/other"'
refused "another url" url.json config.url a.json url.json
edit a.json model.json 'd["config"]["model"] = "open"'
refused "another model" model.json config.model a.json model.json
refused "a missing file" nosuch.json 'No such file' a.json nosuch.json
echo 'not json {' > text.json
refused "a non-JSON file" text.json 'not a JSON' a.json text.json
echo '{"hello": 1}' > other.json
refused "a JSON file that is no result" other.json 'not a stampede result' a.json other.json
edit a.json bins.json 'd["metrics"]["http_req_duration"]["hist"]["bins"][0] = "x"'
refused "a malformed bin" bins.json 'bin' a.json bins.json
edit a.json neg.json 'd["metrics"]["http_req_duration"]["hist"]["bins"][0][1] = -5'
refused "a negative count" neg.json 'bin' a.json neg.json
edit a.json cnt.json 'd["metrics"]["http_req_duration"]["count"] += 1'
refused "bins not adding up" cnt.json 'add up' a.json cnt.json
edit multi.json multi2.json 'd["scenarios"]["c"] = d["scenarios"].pop("b")'
refused "other scenario names" multi2.json scenario multi.json multi2.json
run_st merge
[ $SRC -eq 2 ] || fail "merge without files: exit $SRC"
run_st merge a.json --bogus
[ $SRC -eq 2 ] || fail "merge with an unknown flag: exit $SRC"

# --- (5) thresholds on the merge ------------------------------------------------------
run_st merge a.json b.json --threshold 'http_req_duration:p(99)<10s' --threshold 'http_reqs:count==5000' -q --json t.json
[ $SRC -eq 0 ] || fail "passing thresholds: exit $SRC: $(cat "$T_TMP/err")"
[ "$(jget t.json 'd["exit_code"]')" = 0 ] || fail "exit_code of a passing merge"
run_st merge a.json b.json --threshold 'http_req_duration:p(99)<1us' --json t.json \
    --junit t.xml --summary-md t.md
[ $SRC -eq 99 ] || fail "failing threshold: exit $SRC"
grep -q 'FAIL http_req_duration' "$T_TMP/out" || fail "no FAIL line"
[ "$(jget t.json 'd["exit_code"]')" = 99 ] || fail "exit_code of a failing merge"
[ "$(jget t.json '[t["passed"] for t in d["thresholds"]]')" = "[False]" ] || fail "thresholds in the JSON"
grep -q 'failures="1"' t.xml || fail "JUnit: $(cat t.xml)"
grep -q 'http_req_duration' t.md || fail "Markdown summary"
run_st merge a.json b.json -q --json - --threshold 'http_reqs:count<5000'
[ $SRC -eq 99 ] && [ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["exit_code"])' <"$T_TMP/out")" = 99 ] ||
    fail "--json -: exit $SRC"
# an input that failed (exit_code 1) makes the verdict 1, over a failed threshold
edit a.json failed.json 'd["exit_code"] = 1'
run_st merge failed.json b.json -q --json fl.json --threshold 'http_reqs:count<5000'
[ $SRC -eq 1 ] && [ "$(jget fl.json 'd["exit_code"]')" = 1 ] || fail "a failed input: exit $SRC"
# the inputs' own thresholds, judged on the merge, deduplicated
run_st merge flow.json flow.json -q --json ff.json
[ $SRC -eq 0 ] || fail "flow merge: exit $SRC: $(cat "$T_TMP/err")"
python3 - flow.json ff.json <<'PY' || fail "thresholds carried from the inputs"
import json, sys
f, m = (json.load(open(x)) for x in sys.argv[1:3])
want = [(t["metric"], t["expr"]) for t in f["thresholds"]]
got = [(t["metric"], t["expr"]) for t in m["thresholds"]]
assert want and got == want, (got, want)
assert all(t["passed"] for t in m["thresholds"])
one = [t for t in m["thresholds"] if t["metric"] == "http_req_duration{step:one}"][0]
steps = {s["name"]: s for s in f["flow"]["steps"]}
assert one["actual"] == 2 * f["metrics"]["http_req_duration{step:one}"]["count"], one
msteps = {s["name"]: s for s in m["flow"]["steps"]}
for n, s in steps.items():
    assert msteps[n]["requests"] == 2 * s["requests"] and msteps[n]["responses"] == 2 * s["responses"]
assert m["flow"]["iterations"] == 2 * f["flow"]["iterations"]
assert m["flow"]["checks_rate"] == 1
assert [c["passes"] for c in m["flow"]["checks"]] == [2 * c["passes"] for c in f["flow"]["checks"]]
PY
edit flow.json flowbad.json 'd["thresholds"][0]["expr"] = "p(99)<1us"'
run_st merge flow.json flowbad.json -q --json fb.json
[ $SRC -eq 99 ] || fail "a failing threshold from an input: exit $SRC: $(cat "$T_TMP/err")"
[ "$(jget fb.json 'len(d["thresholds"])')" = 4 ] || fail "thresholds not merged: $(jget fb.json 'd["thresholds"]')"

# --- (6) a two-scenario result merged with itself ----------------------------------------
run_st merge multi.json multi.json -q --json mm.json --threshold 'http_reqs{scenario:b}:count>0'
[ $SRC -eq 0 ] || fail "multi merge: exit $SRC: $(cat "$T_TMP/err")"
python3 - multi.json mm.json <<'PY' || fail "multi-scenario merge"
import json, sys
sys.path.insert(0, ".")
import hdr
s, m = (json.load(open(x)) for x in sys.argv[1:3])
assert list(m["scenarios"]) == list(s["scenarios"]) == ["a", "b"]
for n, r in s["scenarios"].items():
    x = m["scenarios"][n]
    for k in ("requests", "responses", "bytes_in", "bytes_out"):
        assert x["counters"][k] == 2 * r["counters"][k], (n, k)
    assert x["duration_s"] == r["duration_s"]
    for name, mt in r["metrics"].items():
        y = x["metrics"][name]
        assert y["count"] == 2 * mt["count"], (n, name)
        assert y["hist"]["bins"] == [[v, 2 * c] for v, c in mt["hist"]["bins"]], (n, name)
        hdr.check(y, n + " " + name)
assert m["exit_code"] == 0
got = [(t["metric"], t["expr"], t["passed"]) for t in m["thresholds"]]
assert got == [("http_req_duration{scenario:a}", "p(99)<10s", True),
               ("http_reqs{scenario:b}", "count>0", True)], got
PY
echo ok
