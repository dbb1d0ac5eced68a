#!/usr/bin/env bash
# needs: python3
# Every file in scenarios/ validates, then runs briefly against the bundled
# target (durations, stages and connection counts shrunk in a copy, ports
# pointed at the target) and exits 0: its thresholds hold on loopback.
# rest-checkout runs against the target's mock API (--api); the voting
# one against a --threads 1 target (exact rooms).
. "$(dirname "$0")/lib.sh"

run_st validate "$ROOT"/scenarios/*.yaml
expect_rc 0
[ "$(grep -c ': ok (' "$T_TMP/out")" -eq "$(ls "$ROOT"/scenarios/*.yaml | wc -l)" ] ||
    fail "validate: $(cat "$T_TMP/out")"

api=
"$TARGET" --help 2>&1 | grep -q -- '--api' && api=--api
start_target --threads 1 $api
mkdir -p "$T_TMP/sc"
cp -r "$ROOT/scenarios/data" "$T_TMP/sc/"
for f in "$ROOT"/scenarios/*.yaml; do
    n=$(basename "$f")
    if [ "$n" = rest-checkout.yaml ] && [ -z "$api" ]; then
        echo "skip $n: this stampede-target has no --api"
        continue
    fi
    # shrink: minutes to a second, big counts to small ones, fast rates kept
    sed -e "s/127.0.0.1:[0-9]*/127.0.0.1:$TPORT/g" \
        -e 's/duration: [0-9]*[ms]$/duration: 1s/; s/duration: [0-9]*m /duration: 1s /' \
        -e 's/{duration: [0-9]*[ms], /{duration: 500ms, /' \
        -e 's/connections: 5000 /connections: 100 /; s/target: 1000}/target: 50}/' \
        -e 's/warmup: 10s/warmup: 200ms/; s/rate: 100\/m/rate: 20\/s/; s/interval: 10s/interval: 1s/' \
        "$f" >"$T_TMP/sc/$n"
    run_st run "$T_TMP/sc/$n" --json "$T_TMP/sc/$n.json"
    [ "$SRC" -eq 0 ] || fail "$n exited $SRC: $(tail -n 25 "$T_TMP/out") $(tail -n 5 "$T_TMP/err")"
    python3 - "$T_TMP/sc/$n.json" "$n" <<'PY' || fail "$n: nothing was exchanged"
import json, sys
d = json.load(open(sys.argv[1]))
runs = d["scenarios"].values() if "scenarios" in d else [d]
for r in runs:
    c = r["counters"]
    assert c["requests"] > 0 or c.get("sessions", 0) > 0, (sys.argv[2], c)
    assert r["exit_code"] == 0, (sys.argv[2], r["exit_reason"])
PY
    echo "ran $n"
done
stop_target
