#!/usr/bin/env bash
# needs: python3
# The JSON result matches the key list in docs/result-schema.md both ways,
# secrets never reach any output, and the numbers are self-consistent.
. "$(dirname "$0")/lib.sh"

doc="${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}/docs/result-schema.md"
[ -f "$doc" ] || fail "no $doc"
j="$T_TMP/result.json"
start_target
run_st -H 'Authorization: Bearer secret123' -H 'Cookie: a=b' -H 'X-Custom: visible' \
    --json "$j" -n 2000 -c 5 "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"

python3 - "$j" "$doc" "$TPORT" <<'PY' || fail "JSON result does not match the schema"
import json, math, re, sys

def no_dups(pairs):
    keys = [k for k, _ in pairs]
    dups = sorted(set(k for k in keys if keys.count(k) > 1))
    assert not dups, f"duplicate keys in one object: {dups}"
    return dict(pairs)

d = json.load(open(sys.argv[1]), object_pairs_hook=no_dups)
doc = open(sys.argv[2]).read()
m = re.search(r"^```keys\n(.*?)^```", doc, re.S | re.M)
assert m, "no ```keys block"
patterns = [l.split()[0] for l in m.group(1).splitlines() if l.strip()]
assert len(patterns) > 50, f"only {len(patterns)} key patterns"

def flatten(o, prefix=""):
    out = []
    for k, v in o.items():
        p = prefix + k
        out.append(p)
        if isinstance(v, dict):
            out += flatten(v, p + ".")
    return out

paths = flatten(d)
def rx(p):
    return re.compile("".join("[^.]+" if ch == "*" else re.escape(ch) for ch in p) + r"\Z")
regs = {p: rx(p) for p in patterns}
errors = []
for path in paths:
    if not any(r.match(path) for r in regs.values()):
        errors.append(f"key {path} is not in the schema")
optional = {l.split()[0] for l in m.group(1).splitlines()
            if l.strip() and len(l.split()) > 2 and l.split()[2] == "optional"}
for p, r in regs.items():
    if p not in optional and not any(r.match(path) for path in paths):
        errors.append(f"schema key {p} is missing from the result")
# types
types = {}
for l in m.group(1).splitlines():
    if l.strip():
        f = l.split()
        types[f[0]] = f[1] if len(f) > 1 else None
def type_ok(t, v):
    return {"int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "num": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "str": lambda v: isinstance(v, str), "bool": lambda v: isinstance(v, bool),
            "arr": lambda v: isinstance(v, list), "obj": lambda v: isinstance(v, dict)}[t](v)
def get(path):
    # walk greedily: keys may contain dots (p99.9)
    o, rest = d, path
    while rest:
        for k in sorted(o, key=len, reverse=True):
            if rest == k or rest.startswith(k + "."):
                o, rest = o[k], rest[len(k) + 1:]
                break
        else:
            raise KeyError(path)
    return o
for path in paths:
    for p, r in regs.items():
        if r.match(path) and types.get(p) and not type_ok(types[p], get(path)):
            errors.append(f"{path} = {get(path)!r} is not {types[p]}")
for e in errors:
    print(e, file=sys.stderr)
if errors:
    sys.exit(1)

assert d["schema"] == "stampede.result/1", d["schema"]
hdrs = d["config"]["headers"]
assert "Authorization: [redacted]" in hdrs, hdrs
assert "Cookie: [redacted]" in hdrs, hdrs
assert "X-Custom: visible" in hdrs, hdrs
assert hdrs[0] == "Host: 127.0.0.1:%d" % int(sys.argv[3]), hdrs
assert d["counters"]["status"]["codes"] == {"200": 2000}, d["counters"]["status"]
for name, h in d["metrics"].items():
    assert h["unit"] == "us", name
    assert h["hist"]["sig_digits"] == 3, name
    bins = h["hist"]["bins"]
    assert all(isinstance(b, list) and len(b) == 2 for b in bins), name
    assert [b[0] for b in bins] == sorted(set(b[0] for b in bins)), f"{name}: bins not sorted"
    assert all(b[1] > 0 for b in bins), f"{name}: empty bin listed"
    assert sum(b[1] for b in bins) == h["count"] - h["overflow"], \
        f"{name}: bins sum {sum(b[1] for b in bins)} != count {h['count']} - overflow {h['overflow']}"
    assert h["count"] > 0, name
    ps = [h[k] for k in ("p50", "p75", "p90", "p95", "p99", "p99.9", "p99.99")]
    assert ps == sorted(ps), f"{name}: percentiles not ordered: {ps}"
    assert ps[-1] <= math.ceil(h["max"]), f"{name}: p99.99 {ps[-1]} > max {h['max']}"
    assert h["min"] <= h["mean"] <= h["max"], f"{name}: min/mean/max {h['min']} {h['mean']} {h['max']}"
    assert bins[0][0] <= h["min"] and h["max"] < bins[-1][0] * 1.002 + 1, f"{name}: bins vs min/max"
assert d["metrics"]["http_req_duration"]["count"] == 2000
assert d["metrics"]["connect_time"]["count"] == d["counters"]["connections"]["established"]
PY

for f in "$j" "$T_TMP/out" "$T_TMP/err"; do
    ! grep -q secret123 "$f" || fail "$f contains the Authorization value"
    ! grep -q 'a=b' "$f" || fail "$f contains the Cookie value"
done
grep -q visible "$j" || fail "the X-Custom header value is missing from the JSON"

# --json -: JSON alone on stdout, the text summary on stderr
run_st --json - -n 200 -c 2 -H 'Cookie: a=b' "http://127.0.0.1:$TPORT/"
expect_rc 0
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T_TMP/out" ||
    fail "--json - did not write valid JSON alone on stdout: $(head -c 300 "$T_TMP/out")"
check_identity "$T_TMP/out"
jassert "$T_TMP/out" "c['responses'] == 200" "'Cookie: [redacted]' in d['config']['headers']"
grep -q 'http_req_duration' "$T_TMP/err" || fail "--json -: no text summary on stderr"
! grep -q 'a=b' "$T_TMP/out" "$T_TMP/err" || fail "--json -: the Cookie value leaked"

# a user Host header replaces ours, in the request and in config.headers
run_st -q --json "$j" -n 100 -c 2 -H 'Host: vhost.test' "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
python3 - "$j" <<'PY' || fail "config.headers does not show the Host header sent once"
import json, sys
hdrs = json.load(open(sys.argv[1]))["config"]["headers"]
print("headers", hdrs, file=sys.stderr)
sys.exit(0 if hdrs == ["Host: vhost.test"] else 1)
PY

# -q --json FILE: nothing on stdout
run_st -q --json "$j" -n 100 -c 2 "http://127.0.0.1:$TPORT/"
expect_rc 0
[ ! -s "$T_TMP/out" ] || fail "-q printed on stdout: $(head -n 3 "$T_TMP/out")"
check_identity "$j"
jassert "$j" "c['responses'] == 100"
stop_target
[ "$ANSWERED" -eq 2400 ] || fail "target answered $ANSWERED, want 2400"

# a WebSocket result: every key it has is documented (ws metrics included)
start_target
run_st -q --json "$j" -n 200 -c 2 --ping 50ms "ws://127.0.0.1:$TPORT/echo"
expect_rc 0
check_identity "$j"
check_schema_keys "$j"
jassert "$j" "all(k in m for k in ('ws_msg_rtt', 'ws_handshake_time', 'ws_ping_rtt', \
    'connect_time'))"
echo ok
