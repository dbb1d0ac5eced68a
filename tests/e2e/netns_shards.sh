#!/usr/bin/env bash
# needs: root ip python3
# Several hosts on one machine: network namespaces joined by veth links
# (tools/distributed/netns-demo.sh), the target in one, two shards in the
# others through tools/distributed/stampede-shard (as the Kubernetes Job
# runs them), merged by shard 1. The merge is checked against the target's
# own count and judged on its thresholds.
. "$(dirname "$0")/lib.sh"

ip netns add "stprobe$$" 2>/dev/null || skip "cannot create network namespaces here"
ip netns del "stprobe$$"
ns_before=$(ip netns list | wc -l)
demo="$ROOT/tools/distributed/netns-demo.sh"

# run_demo DIR [stampede args]: sets RC
run_demo() {
    local dir=$1
    shift
    RC=0
    STAMPEDE="$STAMPEDE" TARGET="$TARGET" timeout 120 "$demo" -o "$dir" -s 2 -- "$@" \
        >"$dir.log" 2>&1 || RC=$?
    ANSWERED=$(sed -n 's/^answered \([0-9]*\)$/\1/p' "$dir/target.out")
    [ -n "$ANSWERED" ] || fail "no target count: $(cat "$dir.log")"
}

# 1. closed loop, exact -n: each shard its half, the merge = the target's count
d="$T_TMP/closed"
run_demo "$d" -c 8 -n 20001 --threshold 'http_req_duration:p(99)<2s' 'http://10.77.0.1:{PORT}/'
[ "$RC" -eq 0 ] || fail "closed loop: exit $RC: $(cat "$d.log")"
[ "$ANSWERED" -eq 20001 ] || fail "target answered $ANSWERED, not 20001"
python3 - "$d" <<'PY' || fail "closed loop: merged counts"
import json, sys
d = sys.argv[1]
s = [json.load(open(f"{d}/shard-{k}.json")) for k in (1, 2)]
m = json.load(open(f"{d}/merged.json"))
assert [x["config"]["shard"]["index"] for x in s] == [1, 2], "shard indexes"
assert [x["counters"]["requests"] for x in s] == [10001, 10000], "shares of -n"
assert [x["config"]["connections"] for x in s] == [4, 4], "shares of -c"
c = m["counters"]
assert c["requests"] == c["responses"] == 20001 and c["status"]["2xx"] == 20001, c
assert m["metrics"]["http_req_duration"]["count"] == 20001
assert m["config"]["connections"] == 8 and "shard" not in m["config"]
t = m["thresholds"]
assert len(t) == 1 and t[0]["passed"], t
assert m["exit_code"] == 0
PY

# 2. open loop: the shards' arrivals together are exactly one process's
d="$T_TMP/open"
run_demo "$d" -c 4 -R 1500 -d 2 'http://10.77.0.1:{PORT}/'
[ "$RC" -eq 0 ] || fail "open loop: exit $RC: $(cat "$d.log")"
python3 - "$d" "$ANSWERED" <<'PY' || fail "open loop: merged counts"
import json, sys
d, answered = sys.argv[1], int(sys.argv[2])
s = [json.load(open(f"{d}/shard-{k}.json")) for k in (1, 2)]
m = json.load(open(f"{d}/merged.json"))
assert [x["counters"]["scheduled"] for x in s] == [1500, 1500], [x["counters"]["scheduled"] for x in s]
c = m["counters"]
assert c["scheduled"] == 3000 and c["requests"] + c["dropped"] == 3000, c
assert c["responses"] == answered, (c["responses"], answered)
assert abs(m["config"]["rate_per_s"] - 1500) < 1e-6, m["config"]["rate_per_s"]
PY

# 3. a threshold that fails on the merge: the shards exit 0, the merge 99
d="$T_TMP/fail"
run_demo "$d" -c 4 -n 3001 --threshold 'http_reqs:count<3000' 'http://10.77.0.1:{PORT}/'
[ "$RC" -eq 99 ] || fail "failing threshold: exit $RC, not 99: $(cat "$d.log")"
[ "$ANSWERED" -eq 3001 ] || fail "target answered $ANSWERED"
python3 - "$d" <<'PY' || fail "failing threshold: merged verdict"
import json, sys
d = sys.argv[1]
s = [json.load(open(f"{d}/shard-{k}.json")) for k in (1, 2)]
m = json.load(open(f"{d}/merged.json"))
# each shard alone passes (1500 < 3000): only the merge can fail it
assert all(x["thresholds"][0]["passed"] for x in s), [x["thresholds"] for x in s]
assert not m["thresholds"][0]["passed"] and m["exit_code"] == 99, m["thresholds"]
PY
grep -q 'FAIL' "$d.log" || fail "the merged threshold table is not printed: $(cat "$d.log")"
# nothing left behind
[ "$(ip netns list | wc -l)" -eq "$ns_before" ] || fail "namespaces left behind: $(ip netns list)"
echo ok
