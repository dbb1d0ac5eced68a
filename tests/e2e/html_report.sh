#!/usr/bin/env bash
# needs: chromium python3
# The HTML report (--html FILE, stampede report RESULT --html FILE). For a
# closed-loop run, an open-loop stage ramp, a multi-scenario file, an empty
# run (connection refused), an interrupted one (SIGINT) and a merge: the
# page is one self-contained file (no http(s) reference or external
# resource outside the embedded data), embeds exactly the --json result,
# and headless chromium renders it without a script or console error, every
# plot present with as many points as the JSON has (time series intervals,
# histogram bins). The screenshot is 1280x2400 and not blank. Data that
# tries to close the script element cannot. `stampede report` re-renders a
# saved result byte for byte and rejects bad input with exit 2. Seven
# chromium launches in all.
. "$(dirname "$0")/lib.sh"

# page NAME: render $T_TMP/NAME.html headless (DOM into NAME.dom, stderr
# into NAME.log); SHOT=1 also takes a 1280x2400 screenshot NAME.png
page() {
    local shot=()
    [ -n "${SHOT:-}" ] && shot=(--screenshot="$T_TMP/$1.png" --window-size=1280,2400)
    timeout -k 5 40 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
        --no-first-run --user-data-dir="$T_TMP/prof" --virtual-time-budget=5000 \
        --enable-logging=stderr --v=0 "${shot[@]}" --dump-dom "file://$T_TMP/$1.html" \
        >"$T_TMP/$1.dom" 2>"$T_TMP/$1.log" || fail "chromium failed on $1.html: $(tail -n 5 "$T_TMP/$1.log")"
}

# check NAME RESULT.json: the page NAME.html against the result it was made
# from (see the header); prints what it checked
check() {
    python3 - "$T_TMP/$1" "$2" <<'PY' || fail "$1.html: checks failed (above)"
import html, json, re, struct, sys, zlib

base, result = sys.argv[1], sys.argv[2]
name = base.rsplit("/", 1)[-1]
src = open(base + ".html", encoding="utf-8").read()
dom = open(base + ".dom", encoding="utf-8").read()
log = open(base + ".log", encoding="utf-8", errors="replace").read()
want = json.load(open(result))
bad = []

# the embedded data: one block, the same value as the --json file, no '<'
m = re.findall(r'<script type="application/json" id="result">(.*?)</script>', src, re.S)
if len(m) != 1:
    bad.append("%d embedded result blocks" % len(m))
else:
    if "<" in m[0]:
        bad.append("a '<' inside the embedded JSON")
    if json.loads(m[0]) != want:
        bad.append("the embedded JSON differs from " + result)
# self-contained: no URL, no external resource outside the data
rest = src.replace(m[0], "") if m else src
for pat in (r"https?://", r"<link\b", r"<img\b", r"<iframe\b", r"\bsrc\s*=", r"@import", r"url\(", r"\bfetch\(",
            r"XMLHttpRequest", r"\bimport\("):
    if re.search(pat, rest, re.I):
        bad.append("page outside the data has " + pat)
if src.lower().count("</script") != 2:
    bad.append("%d </script in the file, want 2" % src.lower().count("</script"))

# the page ran: rendered, no error recorded, nothing on the console
body = re.search(r"<body([^>]*)>", dom)
battrs = body.group(1) if body else ""
if 'data-rendered="1"' not in battrs:
    bad.append("body has no data-rendered=1: " + battrs)
if "data-errors" in battrs:
    bad.append("script errors: " + html.unescape(battrs))
for line in log.splitlines():
    if "Uncaught" in line or ":CONSOLE" in line:
        bad.append("console: " + line.strip())

# plots: as many points as the data has
def expect(run):
    ts = run.get("timeseries") or []
    e = {"rate": len(ts), "errors": len(ts), "connections": len(ts)}
    lat = any(p.get(k, 0) > 0 for p in ts for k in ("p50_us", "p90_us", "p99_us", "max_us"))
    e["latency"] = len(ts) if lat else 0
    for k, v in (run.get("metrics") or {}).items():
        bins = (v.get("hist") or {}).get("bins") or []
        n = len(bins) if v.get("count", 0) > 0 and sum(b[1] for b in bins) > 0 else 0
        e["spectrum:" + k] = n
    return e

def plots(part):
    return {html.unescape(a): int(b) for a, b in
            re.findall(r'class="plot[^"]*" data-plot="([^"]*)" data-points="(\d+)"', part)}

dom_noscript = re.sub(r"<script\b.*?</script>", "", dom, flags=re.S)
text = html.unescape(re.sub(r"<[^>]+>", " ", dom_noscript))
runs = []
if "scenarios" in want:
    parts = re.split(r'<section class="scenario" data-scenario="', dom_noscript)
    if len(parts) - 1 != len(want["scenarios"]):
        bad.append("%d scenario sections, want %d" % (len(parts) - 1, len(want["scenarios"])))
    for p in parts[1:]:
        sname = html.unescape(p.split('"', 1)[0])
        runs.append((sname, want["scenarios"].get(sname, {}), p))
else:
    runs.append(("", want, dom_noscript))
npts = 0
for sname, run, part in runs:
    got, exp = plots(part), expect(run)
    if got != exp:
        bad.append("%s plots %s, want %s" % (sname or "run", sorted(got.items()), sorted(exp.items())))
    npts += sum(got.values())
    if 'data-exit="%s"' % run.get("exit_code") not in part:
        bad.append("%s: no banner for exit code %s" % (sname or "run", run.get("exit_code")))
    # every metric, flow step and check is in a table
    for k in list(run.get("metrics", {})) + [s["name"] for s in (run.get("flow") or {}).get("steps", [])] + \
             [c["name"] for c in (run.get("flow") or {}).get("checks", [])]:
        if k not in text:
            bad.append("%s: %r is not on the page" % (sname or "run", k))
th = want.get("thresholds") or []
if th and "Thresholds: %d of %d passed" % (sum(1 for t in th if t["passed"]), len(th)) not in text:
    bad.append("no thresholds summary for %d thresholds" % len(th))
if want.get("exit_reason") and want["exit_reason"] not in text:
    bad.append("exit reason %r is not on the page" % want["exit_reason"])

# the screenshot: right size, not blank
try:
    b = open(base + ".png", "rb").read()
except FileNotFoundError:
    b = None
if b is not None:
    assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, []
    while pos < len(b):
        n, = struct.unpack(">I", b[pos:pos + 4])
        t, data = b[pos + 4:pos + 8], b[pos + 8:pos + 8 + n]
        if t == b"IHDR":
            w, h, bd, ct, _, _, il = struct.unpack(">IIBBBBB", data[:13])
        elif t == b"IDAT":
            idat.append(data)
        pos += 12 + n
    if (w, h) != (1280, 2400):
        bad.append("screenshot is %dx%d" % (w, h))
    if bd != 8 or ct not in (2, 6) or il:
        bad.append("screenshot format: depth %d colour type %d interlace %d" % (bd, ct, il))
    else:
        bpp, raw = (3 if ct == 2 else 4), zlib.decompress(b"".join(idat))
        stride, colours, prev = w * bpp, set(), bytearray(w * bpp)
        m7, m8 = int.from_bytes(b"\x7f" * stride, "big"), int.from_bytes(b"\x80" * stride, "big")
        for y in range(h):
            f, cur = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            if f == 1:
                for i in range(bpp, stride):
                    cur[i] = (cur[i] + cur[i - bpp]) & 255
            elif f == 2:  # bytewise add, no carries, the whole row at once
                a, p = int.from_bytes(cur, "big"), int.from_bytes(prev, "big")
                cur = bytearray((((a & m7) + (p & m7)) ^ ((a ^ p) & m8)).to_bytes(stride, "big"))
            elif f == 3:
                for i in range(stride):
                    cur[i] = (cur[i] + (((cur[i - bpp] if i >= bpp else 0) + prev[i]) >> 1)) & 255
            elif f == 4:
                for i in range(stride):
                    a, bb, c = (cur[i - bpp], prev[i], prev[i - bpp]) if i >= bpp else (0, prev[i], 0)
                    pp = a + bb - c
                    pa, pb, pc = abs(pp - a), abs(pp - bb), abs(pp - c)
                    cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else bb if pb <= pc else c)) & 255
            if f != 2 or cur != prev:
                colours.update(bytes(cur[i:i + bpp]) for i in range(0, stride, bpp))
            prev = cur
        if len(colours) < 100:
            bad.append("screenshot looks blank: %d colours" % len(colours))
        print("%s: screenshot %dx%d, %d colours" % (name, w, h, len(colours)))
for e in bad:
    print(name + ": " + e, file=sys.stderr)
print("%s: %d plot(s), %d point(s), %d run section(s)" % (name, sum(len(plots(p)) for _, _, p in runs), npts, len(runs)))
sys.exit(1 if bad else 0)
PY
}

start_target

# 1. closed loop, --html next to --json: the same result; then re-rendered
run_st -q -t 1 -c 4 -d 2 --json "$T_TMP/closed.json" --html "$T_TMP/closed.html" "http://127.0.0.1:$TPORT/"
expect_rc 0
run_st report "$T_TMP/closed.json" --html "$T_TMP/again.html"
expect_rc 0
cmp -s "$T_TMP/closed.html" "$T_TMP/again.html" || fail "stampede report made a different page from the same result"
SHOT=1 page closed
check closed "$T_TMP/closed.json"

# 2. open loop, warm-up and a stage ramp (phases shaded, stages marked)
run_st -q -t 1 --warmup 500ms --stages 1s:500/s,1s:1000/s --json "$T_TMP/open.json" --html "$T_TMP/open.html" \
    "http://127.0.0.1:$TPORT/"
expect_rc 0
page open
check open "$T_TMP/open.json"

# 3. two scenarios (a flow with a check each), one threshold that fails
cat >"$T_TMP/multi.yaml" <<EOF
name: html report
target: http://127.0.0.1:$TPORT
duration: 1s
thresholds:
  "http_req_duration{scenario:users}": ["p(99)<5s"]
  "http_req_duration{step:paced_home}": ["p(99)<1us"]
scenarios:
  users:
    executor: ramping-connections
    stages:
      - {duration: 500ms, target: 3}
      - {duration: 500ms, target: 3}
    steps:
      - name: home
        get: /
        check: {status: 200}
  paced:
    executor: constant-rate
    rate: 200/s
    connections: 2
    steps:
      - name: paced_home
        get: /
        check: {status: 200}
EOF
run_st run "$T_TMP/multi.yaml" -q --json "$T_TMP/multi.json" --html "$T_TMP/multi.html"
expect_rc 99
page multi
check multi "$T_TMP/multi.json"

# 4. nothing answered: every plot says "no samples" or draws zeros
port=$(free_port)
run_st -q -t 1 -c 2 -d 1 --json "$T_TMP/empty.json" --html "$T_TMP/empty.html" "http://127.0.0.1:$port/"
expect_rc 1
page empty
check empty "$T_TMP/empty.json"

# 5. interrupted: the report is still written
"$STAMPEDE" -q -t 1 -c 2 -d 20 --json "$T_TMP/int.json" --html "$T_TMP/int.html" "http://127.0.0.1:$TPORT/" \
    >"$T_TMP/int.out" 2>&1 &
spid=$!
sleep 1.5
kill -INT "$spid"
set +e
wait "$spid"
SRC=$?
set -e
expect_rc 130
page int
check int "$T_TMP/int.json"

# 6. a merge (extra key merged_from), its --html straight from stampede merge
run_st merge "$T_TMP/closed.json" "$T_TMP/int.json" -q --json "$T_TMP/merged.json" --html "$T_TMP/merged.html"
expect_rc 130 # the merged verdict: one input was interrupted
page merged
check merged "$T_TMP/merged.json"
grep -q "Merged from 2 result" "$T_TMP/merged.dom" || fail "the merged page does not list its inputs"

# 7. data that tries to end the script element, re-rendered by stampede report
python3 - "$T_TMP/closed.json" "$T_TMP/evil.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["exit_reason"] = "</script><script>document.body.dataset.errors='injected'</script><!-- & \u2028 \"x\""
d["config"]["url"] = "http://127.0.0.1/</SCRIPT>"
d["metrics"]["</script><b>m</b>"] = d["metrics"]["connect_time"]
# an object where a string belongs must not pass for markup
d["thresholds"] = [{"metric": {"html": "<img src=x onerror=\"document.body.dataset.pwned=1\">"},
                    "expr": "p(99)<1ms", "passed": False, "actual": 1, "bound": 2}]
json.dump(d, open(sys.argv[2], "w"))
PY
run_st report "$T_TMP/evil.json" --html "$T_TMP/evil.html"
expect_rc 0
page evil
check evil "$T_TMP/evil.json"
! grep -q 'data-pwned' "$T_TMP/evil.dom" || fail "markup from the data ran in the page"

# bad input for stampede report
run_st report "$T_TMP/missing.json" --html "$T_TMP/x.html"
expect_rc 2
grep -q "report: cannot read $T_TMP/missing.json" "$T_TMP/err" || fail "missing file: $(cat "$T_TMP/err")"
echo '{"schema": "something/else", "a": 1}' >"$T_TMP/other.json"
run_st report "$T_TMP/other.json" --html "$T_TMP/x.html"
expect_rc 2
grep -q "is not a stampede result" "$T_TMP/err" || fail "non-result JSON: $(cat "$T_TMP/err")"
echo 'not json at all {' >"$T_TMP/garbage.json"
run_st report "$T_TMP/garbage.json" --html "$T_TMP/x.html"
expect_rc 2
grep -q "is not a stampede result" "$T_TMP/err" || fail "garbage: $(cat "$T_TMP/err")"
run_st report "$T_TMP/closed.json"
expect_rc 2
grep -q -- "--html OUT.html is required" "$T_TMP/err" && grep -q "usage: stampede report" "$T_TMP/err" ||
    fail "no --html: $(cat "$T_TMP/err")"
run_st report --html "$T_TMP/x.html"
expect_rc 2
grep -q "usage: stampede report" "$T_TMP/err" || fail "no result file: $(cat "$T_TMP/err")"
[ ! -e "$T_TMP/x.html" ] || fail "a failed stampede report wrote its output"
# flags report would ignore are refused, not dropped
run_st report "$T_TMP/closed.json" --html "$T_TMP/x.html" --threshold 'http_reqs:count>1'
expect_rc 2
grep -q "stampede merge RESULT.json" "$T_TMP/err" || fail "report --threshold: $(cat "$T_TMP/err")"
[ ! -e "$T_TMP/x.html" ] || fail "a refused stampede report wrote its output"
stop_target
echo "ok"
