#!/usr/bin/env bash
# needs: python3
# Malformed scenario files: each one is refused with exit code 2 before
# anything is sent, with a message at the exact file:line:col of the
# offending key or value (a table of broken files, one per kind of
# mistake); a --set path that names no key and a load flag on a file with
# several scenarios are refused too.
. "$(dirname "$0")/lib.sh"

cd "$T_TMP"
printf 'user,password\nu1,p1\n' > users.csv
# case NAME EXPECTED-LOCATION EXPECTED-TEXT, then the file on stdin
case_() {
    local name=$1 loc=$2 text=$3 f="$T_TMP/$1.yaml"
    cat > "$f"
    run_st validate "$f"
    expect_rc 2
    grep -qF "$f:$loc: " "$T_TMP/err" || fail "$name: want $f:$loc in: $(cat "$T_TMP/err")"
    grep -qF -- "$text" "$T_TMP/err" || fail "$name: want '$text' in: $(cat "$T_TMP/err")"
}

case_ unknown_top 2:1 "unknown key 'tagret' in the file (did you mean 'target'?)" <<'Y'
target: http://127.0.0.1:1
tagret: x
scenarios: {a: {connections: 1}}
Y
case_ unknown_scen_key 5:5 "unknown key 'conections'" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    executor: constant-connections
    conections: 4
Y
case_ bad_duration 4:15 "invalid value '10q' for --duration" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    duration: 10q
Y
case_ bad_executor 4:15 "unknown executor 'constant-rat'" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    executor: constant-rat
Y
case_ key_not_for_executor 5:11 "'rate' does not apply to executor constant-connections" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    executor: constant-connections
    rate: 10/s
Y
case_ impossible_rate 5:11 "invalid value '0/s' for --rate" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    executor: constant-rate
    rate: 0/s
Y
case_ stage_rate_target 6:33 "a ramping-rate target is a rate" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    executor: ramping-rate
    stages:
      - {duration: 10s, target: 100}
Y
case_ wrong_type 4:15 "options: expected a mapping" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    options: [1, 2]
Y
case_ undefined_variable 6:14 "unknown variable 'tokn'" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    steps:
      - name: one
        get: /x/{{tokn}}
Y
case_ capture_too_early 6:14 "{{token}} is captured by step 'login', which does not run before this one" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    steps:
      - name: cart
        get: /cart/{{token}}
      - name: login
        post: /login
        capture: {token: {json: token}}
Y
case_ bad_json_path 6:30 "bad JSON path 'a..b'" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    steps:
      - get: /
        capture: {t: {json: "a..b"}}
Y
case_ bad_regex 6:31 "bad regex" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    steps:
      - get: /
        capture: {t: {regex: "(unclosed"}}
Y
case_ bad_threshold 3:23 "bad threshold 'p(95)<<1'" <<'Y'
target: http://127.0.0.1:1
thresholds:
  http_req_duration: "p(95)<<1"
scenarios: {a: {connections: 1}}
Y
case_ unknown_metric 3:25 "unknown metric 'http_req_durations'" <<'Y'
target: http://127.0.0.1:1
thresholds:
  http_req_durations: ["p(95)<1s"]
scenarios: {a: {connections: 1}}
Y
case_ unknown_step_tag 3:37 "no step:nope in this file" <<'Y'
target: http://127.0.0.1:1
thresholds:
  "http_req_duration{step:nope}": ["p(95)<1s"]
scenarios:
  a:
    steps: [{name: home, get: /}]
Y
case_ bad_status_check 6:25 "expected an HTTP status" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    steps:
      - get: /
        check: {status: 2000}
Y
case_ bad_think 5:16 "think: expected a duration" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    steps:
      - think: 2s..1s
      - get: /
Y
case_ missing_data 5:13 "cannot read" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    data:
      file: nope.csv
    steps: [{get: /}]
Y
case_ unknown_option 5:7 "unknown option 'pipelines'" <<'Y'
target: http://127.0.0.1:1
scenarios:
  a:
    options:
      pipelines: 4
Y
case_ yaml_syntax 4:1 "" <<'Y'
target: http://127.0.0.1:1
scenarios:
 - a: [
Y
case_ ws_two_sends 7:15 "a second send is not supported" <<'Y'
target: ws://127.0.0.1:1
scenarios:
  a:
    steps:
      - ws_connect: /echo
      - send: one
      - send: two
Y
case_ abort_not_live 3:25 "abort_on_fail: 'checks' cannot be judged during the run" <<'Y'
target: http://127.0.0.1:1
thresholds:
  checks: [{threshold: "rate>0.9", abort_on_fail: true}]
scenarios: {a: {steps: [{get: /, check: {status: 200}}]}}
Y
case_ no_scenarios 1:1 "no 'scenarios:'" <<'Y'
target: http://127.0.0.1:1
Y

# --set with a path the file does not have; load flags on several scenarios
cat > two.yaml <<'Y'
target: http://127.0.0.1:1
scenarios: {a: {connections: 1}, b: {connections: 1}}
Y
run_st run two.yaml --set scenarios.c.rate=1/s
expect_rc 2
grep -q -- "--set scenarios.c.rate=1/s: no such key" "$T_TMP/err" || fail "bad --set: $(cat "$T_TMP/err")"
run_st run two.yaml -c 5
expect_rc 2
grep -q "load flags (-c, -R, --stages, ...) cannot apply to a file with 2 scenarios" "$T_TMP/err" ||
    fail "load flag with 2 scenarios: $(cat "$T_TMP/err")"
run_st run missing.yaml
expect_rc 2
grep -q "missing.yaml: cannot read" "$T_TMP/err" || fail "missing file: $(cat "$T_TMP/err")"
echo "scenario errors: all placed"
