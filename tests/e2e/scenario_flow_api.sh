#!/usr/bin/env bash
# needs: python3
# A three-step flow against the target's mock API (--api): log in (the
# token comes back in JSON and a header), add to the cart with
# "Authorization: Bearer {{token}}" (401 unless the captured token is
# used), check out with the captured cart id (400 unless it is). Exact
# per-step counts against the target's own api counters, every check
# passed, no 4xx: the captured values were used. Then the same flow in
# open loop (a rate of iterations) sends exactly rate x duration
# iterations, and a deliberately wrong capture shows up as failed checks
# and 401s, not as a crash or a stop.
. "$(dirname "$0")/lib.sh"

start_target --api --threads 1
cd "$T_TMP"
printf 'user,password\nalice,a1\nbob,b2\ncarol,c3\n' > users.csv
cat > api.yaml <<Y
target: http://127.0.0.1:$TPORT
thresholds:
  checks: "rate==1"
  http_req_failed: "rate==0"
scenarios:
  shop:
    executor: constant-connections
    connections: 4
    duration: 1s
    data: {file: users.csv, mode: round-robin}
    steps:
      - name: login
        post: /api/login
        json: {user: "{{user}}", password: "{{password}}"}
        capture:
          token: {json: token}
          session: {header: X-Session}
        check: {status: 200, header: X-Session}
      - name: cart
        post: /api/cart
        headers: {Authorization: "Bearer {{token}}", X-Session: "{{session}}"}
        json: {sku: "sku-{{rand(1,9)}}"}
        capture: {cart: {regex: '"cart_id":"(cart-[0-9]+)"'}}
        check: {status: 200, body_contains: cart_id}
      - name: checkout
        post: /api/checkout
        headers: {Authorization: "Bearer {{token}}"}
        json: {cart_id: "{{cart}}"}
        check: {status: 200, json: {status: confirmed}}
Y
run_st run api.yaml --json r.json
expect_rc 0
stop_target
line=$(grep '^api ' "$TOUT") || fail "no api line: $(cat "$TOUT")"
python3 - r.json "$line" <<'PY' || fail "flow against the mock API"
import json, sys
d = json.load(open(sys.argv[1])); f = d["flow"]
a = sys.argv[2].split(); api = dict(zip(a[1::2], map(int, a[2::2])))
st = {s["name"]: s for s in f["steps"]}
assert st["login"]["responses"] == api["login"], (st, api)
assert st["cart"]["responses"] == api["cart"], (st, api)
assert st["checkout"]["responses"] == api["checkout"], (st, api)
assert api["unauthorized"] == 0 and api["bad"] == 0, api
assert f["iterations"] > 20 and f["captures_missed"] == 0, f
assert 0 <= api["login"] - f["iterations"] <= 4, (api, f)
assert all(c["fails"] == 0 and c["passes"] > 0 for c in f["checks"]), f["checks"]
assert sum(s["status_4xx_5xx"] for s in f["steps"]) == 0
PY

# open loop: 40 iterations a second for 2 s is exactly 80 iterations
start_target --api --threads 1
sed -i "s/127.0.0.1:[0-9]*/127.0.0.1:$TPORT/; s/executor: constant-connections/executor: constant-rate\n    rate: 40\/s/; s/duration: 1s/duration: 2s/" api.yaml
run_st run api.yaml --json r2.json
expect_rc 0
stop_target
python3 - r2.json "$(grep '^api ' "$TOUT")" <<'PY' || fail "open-loop flow"
import json, sys
d = json.load(open(sys.argv[1])); f = d["flow"]
a = sys.argv[2].split(); api = dict(zip(a[1::2], map(int, a[2::2])))
assert f["iterations"] == 80 and api["checkout"] == 80 and api["login"] == 80, (f, api)
assert d["metrics"]["iteration_duration"]["count"] == 80
PY

# a wrong capture (a field the login answer does not have): counted, not fatal
start_target --api --threads 1
sed -i "s/127.0.0.1:[0-9]*/127.0.0.1:$TPORT/; s/token: {json: token}/token: {json: nope}/" api.yaml
run_st run api.yaml --json r3.json
expect_rc 99
stop_target
python3 - r3.json "$(grep '^api ' "$TOUT")" <<'PY' || fail "missed capture"
import json, sys
d = json.load(open(sys.argv[1])); f = d["flow"]
a = sys.argv[2].split(); api = dict(zip(a[1::2], map(int, a[2::2])))
st = {s["name"]: s for s in f["steps"]}
assert f["iterations"] == 80 and f["captures_missed"] == 160 and api["unauthorized"] == 160, (f, api)
assert st["cart"]["status_4xx_5xx"] == 80, st
PY
echo "mock API flow ok"
