#!/usr/bin/env bash
# needs: python3
# tools/distributed/stampede-shard on loopback (the netns test runs the
# happy path over links): two shards and a merge; a shard that can leave no
# result fails the merge at once instead of waiting; a directory holding an
# earlier run's files is refused.
. "$(dirname "$0")/lib.sh"

runner="$ROOT/tools/distributed/stampede-shard"
start_target
# shard K of 2 into DIR with ARGS: background, pid in SP
shard() {
    local k=$1 dir=$2
    shift 2
    SHARD=$k SHARDS=2 RESULTS=$dir STAMPEDE=$STAMPEDE BARRIER_S=20 MERGE_WAIT_S=60 \
        timeout 90 "$runner" -q "$@" >"$dir.$k.out" 2>&1 &
    SP=$!
}

d="$T_TMP/ok"
shard 2 "$d" -c 4 -n 3001 "http://127.0.0.1:$TPORT/"
p2=$SP
shard 1 "$d" -c 4 -n 3001 "http://127.0.0.1:$TPORT/"
wait "$SP" || fail "shard 1 (merge) exited $?: $(cat "$d.1.out")"
wait "$p2" || fail "shard 2 exited $?: $(cat "$d.2.out")"
jassert "$d/merged.json" "c['requests'] == 3001" "c['responses'] == 3001"
[ -s "$d/report.html" ] || fail "no report.html"

# -c 1 over 2 shards: shard 2 gets no connection (exit 2, no result); shard 1
# must not wait MERGE_WAIT_S for that result
d="$T_TMP/fail"
t0=$(date +%s)
shard 2 "$d" -c 1 -n 100 "http://127.0.0.1:$TPORT/"
p2=$SP
shard 1 "$d" -c 1 -n 100 "http://127.0.0.1:$TPORT/"
rc=0
wait "$SP" || rc=$?
wait "$p2" || true
[ "$rc" -eq 1 ] || fail "a shard without a result: merge exit $rc, want 1: $(cat "$d.1.out")"
grep -q "shard 2/2 left no result" "$d.1.out" || fail "message: $(cat "$d.1.out")"
[ $(($(date +%s) - t0)) -lt 30 ] || fail "waited for a result that could not come"

# an earlier run's directory is refused
SHARD=1 SHARDS=2 RESULTS="$T_TMP/ok" STAMPEDE=$STAMPEDE "$runner" -q -c 4 -n 10 \
    "http://127.0.0.1:$TPORT/" >"$T_TMP/stale.out" 2>&1 && fail "a used directory was accepted"
grep -q "earlier run's files" "$T_TMP/stale.out" || fail "stale: $(cat "$T_TMP/stale.out")"
stop_target
echo ok
