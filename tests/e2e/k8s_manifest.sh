#!/usr/bin/env bash
# needs: node
# deploy/kubernetes/stampede-job.yaml cannot run here: schema-check it with
# kubernetes-models (the Kubernetes API's OpenAPI schemas, tests/node), check
# the wiring the distributed run relies on (Indexed Job, SHARDS =
# completions, ConfigMap scenario, shared results volume), that a broken
# manifest is caught, and that the ConfigMap's scenario is a valid stampede
# scenario whose shards the bundled target can serve.
. "$(dirname "$0")/lib.sh"

node_dir="$TESTS_DIR/node"
[ -d "$node_dir/node_modules/kubernetes-models" ] || skip "npm kubernetes-models not installed (tools/deps.sh test)"
m="$ROOT/deploy/kubernetes/stampede-job.yaml"
out=$(node "$node_dir/k8s_validate.js" "$m" "$T_TMP/cm") || fail "manifest: $out"
[ "$out" = "ok 3 documents" ] || fail "manifest: $out"

# the checker catches what it claims to: a schema violation, a wiring error
sed 's/completionMode: Indexed/completionMode: Indexd/' "$m" >"$T_TMP/bad1.yaml"
sed 's/value: "4"/value: "3"/' "$m" >"$T_TMP/bad2.yaml"
sed 's/backoffLimit: 0 /backoffLimit: zero /' "$m" >"$T_TMP/bad3.yaml"
for b in bad1 bad2 bad3; do
    if node "$node_dir/k8s_validate.js" "$T_TMP/$b.yaml" "$T_TMP/x" >"$T_TMP/$b.out" 2>&1; then
        fail "$b passed the check"
    fi
done
grep -q completionMode "$T_TMP/bad1.out" || fail "bad1: $(cat "$T_TMP/bad1.out")"
grep -q 'SHARDS != completions' "$T_TMP/bad2.out" || fail "bad2: $(cat "$T_TMP/bad2.out")"
grep -q 'backoffLimit must be integer' "$T_TMP/bad3.out" || fail "bad3: $(cat "$T_TMP/bad3.out")"

# the ConfigMap's scenario: valid, and runnable in shards against the mock API
"$STAMPEDE" validate "$T_TMP/cm/scenario.yaml" >"$T_TMP/v.out" 2>&1 || fail "scenario: $(cat "$T_TMP/v.out")"
start_target --api
for k in 1 2 3 4; do
    run_st run "$T_TMP/cm/scenario.yaml" --set target="http://127.0.0.1:$TPORT" \
        --set scenarios.checkout.duration=1s --shard "$k/4" -q --json "$T_TMP/s$k.json"
    expect_rc 0
done
python3 - "$T_TMP" <<'PY' || fail "shards of the ConfigMap scenario"
import json, sys
d = sys.argv[1]
s = [json.load(open(f"{d}/s{k}.json")) for k in (1, 2, 3, 4)]
conns = [x["config"]["connections"] for x in s]
assert conns == [10, 10, 10, 10], conns
assert [x["config"]["shard"]["index"] for x in s] == [1, 2, 3, 4]
PY
echo ok
