#!/usr/bin/env bash
# needs: python3 node
# --hdr-log read back by hdr-histogram-js's HistogramLogReader (tests/node,
# installed by tools/deps.sh test), a reader nobody here wrote:
#   closed loop: the http_req_duration interval lines add up to the JSON's
#     count exactly and to its bins bin by bin; the intervals follow each
#     other; connect_time is one whole-run line with the JSON's count
#   open loop: send_lag and http_req_service_time lines match the JSON too
#   two scenarios: lines tagged {scenario:NAME}
#   an unwritable path: exit 2 before any load, with a clear message
. "$(dirname "$0")/lib.sh"

node_dir="$TESTS_DIR/node"
[ -d "$node_dir/node_modules/hdr-histogram-js" ] ||
    skip "npm hdr-histogram-js not installed (tools/deps.sh test)"

# hdr_check LOG JSON MAIN_TAG JSON_KEY [OTHER_TAG=JSON_METRIC]...
hdr_check() {
    node "$node_dir/hdr_decode.js" "$1" >"$T_TMP/dec.json" || fail "hdr-histogram-js cannot read $1"
    python3 - "$T_TMP/dec.json" "$2" "$3" "$4" "${@:5}" <<'PY' || fail "--hdr-log $1 disagrees with $2"
import json, sys
dec = json.load(open(sys.argv[1]))
res = json.load(open(sys.argv[2]))
main_tag, key = sys.argv[3], sys.argv[4]
if "scenarios" in res:
    scen, metric = key.split("/")
    m = res["scenarios"][scen]["metrics"]
else:
    metric, m = key, res["metrics"]
tags = dec["tags"]
bad = []
t = tags.get(main_tag)
if not t:
    sys.exit("no %s lines; tags: %s" % (main_tag, list(tags)))
want = m[metric]
ivs = t["intervals"]
if sum(i["count"] for i in ivs) != want["count"]:
    bad.append("interval counts %d != %s count %d" % (sum(i["count"] for i in ivs), metric,
                                                      want["count"]))
if t["count"] != want["count"]:
    bad.append("merged count %d != %d" % (t["count"], want["count"]))
if len(ivs) < 2:
    bad.append("%d interval lines" % len(ivs))
for a, b in zip(ivs, ivs[1:]):
    if abs(a["end_ms"] - b["start_ms"]) > 1:
        bad.append("intervals not contiguous: %s %s" % (a, b))
if abs(ivs[0]["start_ms"] / 1000 - dec["start_s"]) > 0.01:
    bad.append("first interval %s does not start at StartTime %s" % (ivs[0], dec["start_s"]))
got_bins = {v: c for v, c in t["bins"]}
want_bins = {v: c for v, c in want["hist"]["bins"]}
if got_bins != want_bins:
    diff = sorted(set(got_bins.items()) ^ set(want_bins.items()))[:10]
    bad.append("bins differ (%d vs %d non-empty): %s" % (len(got_bins), len(want_bins), diff))
for spec in sys.argv[5:]:
    tag, name = spec.split("=")
    o = tags.get(tag)
    w = m.get(name)
    if not o or not w:
        bad.append("%s: missing (log %s, json %s)" % (tag, bool(o), bool(w)))
        continue
    if o["lines"] != 1 or o["count"] != w["count"]:
        bad.append("%s: %d lines, count %d != %d" % (tag, o["lines"], o["count"], w["count"]))
    if {v: c for v, c in o["bins"]} != {v: c for v, c in w["hist"]["bins"]}:
        bad.append("%s: bins differ" % tag)
for b in bad:
    print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

start_target
log=$T_TMP/h.hlog j=$T_TMP/r.json
run_st -c 4 -d 2 --hdr-log "$log" --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
grep -q '^#\[Histogram log format version 1.3\]$' "$log" || fail "no version line: $(head "$log")"
grep -q '^#\[StartTime: [0-9]*\.[0-9]\{3\} (seconds since epoch), ' "$log" ||
    fail "no StartTime line: $(head "$log")"
grep -q '^Tag=http_req_duration,0\.000,1\.000,[0-9.]*,HISTF' "$log" ||
    fail "first interval line: $(grep -m1 '^Tag=' "$log")"
hdr_check "$log" "$j" http_req_duration http_req_duration connect_time=connect_time
[ "$(grep -c '^Tag=connect_time,' "$log")" -eq 1 ] || fail "connect_time lines: $(cat "$log")"

# open loop: the whole-run lines of send_lag and service time
run_st -R 2000 -d 2 -c 8 --hdr-log "$log" --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
hdr_check "$log" "$j" http_req_duration http_req_duration connect_time=connect_time \
    send_lag=send_lag http_req_service_time=http_req_service_time

# two scenarios in one file share the log; tags carry the scenario
cat >"$T_TMP/two.yaml" <<EOF
name: two
duration: 2s
scenarios:
  a:
    executor: constant-connections
    target: http://127.0.0.1:$TPORT/
    connections: 2
    steps:
      - {name: home, get: /}
  b:
    executor: constant-connections
    target: http://127.0.0.1:$TPORT/
    connections: 2
    steps:
      - {name: home, get: /}
EOF
run_st run "$T_TMP/two.yaml" --hdr-log "$log" --json "$j"
expect_rc 0
hdr_check "$log" "$j" "http_req_duration{scenario:a}" a/http_req_duration
hdr_check "$log" "$j" "http_req_duration{scenario:b}" b/http_req_duration
grep -q '^Tag=http_req_duration{step:home;scenario:a},' "$log" ||
    fail "no per-step line for scenario a: $(grep -o '^Tag=[^,]*' "$log" | sort -u)"

# a merge has no intervals left: one whole-run line per merged duration
# metric, equal to the merged JSON bin by bin
run_st -c 2 -d 1 -q --json "$T_TMP/m1.json" "http://127.0.0.1:$TPORT/"
expect_rc 0
run_st merge "$T_TMP/m1.json" "$T_TMP/m1.json" -q --json "$T_TMP/mj.json" --hdr-log "$T_TMP/m.hlog"
expect_rc 0
node "$node_dir/hdr_decode.js" "$T_TMP/m.hlog" >"$T_TMP/mdec.json" || fail "cannot read the merge's log"
python3 - "$T_TMP/mdec.json" "$T_TMP/mj.json" <<'PY' || fail "the merge's --hdr-log disagrees with its JSON"
import json, sys
dec, res = json.load(open(sys.argv[1]))["tags"], json.load(open(sys.argv[2]))
for name in ("http_req_duration", "connect_time"):
    t, m = dec[name], res["metrics"][name]
    assert t["lines"] == 1 and t["count"] == m["count"], (name, t["lines"], t["count"], m["count"])
    assert {v: c for v, c in t["bins"]} == {v: c for v, c in m["hist"]["bins"]}, name
PY

# an unwritable path fails before the run, nothing sent
rm -f "$j"
run_st -c 1 -d 5 --hdr-log "$T_TMP/no/such/dir/h.hlog" --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 2
grep -q "cannot write --hdr-log $T_TMP/no/such/dir/h.hlog: No such file or directory" "$T_TMP/err" ||
    fail "message: $(cat "$T_TMP/err")"
[ ! -e "$j" ] || fail "a result was written"
echo ok
