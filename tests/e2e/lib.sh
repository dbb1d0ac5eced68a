# Shared helpers for the end-to-end scripts (sourced, not run).
# Every server a test starts is recorded and killed by PID on exit; loads
# are bounded by stampede's own -d/-n and by `timeout`.
set -euo pipefail

: "${STAMPEDE:?run through tests/run.sh}" "${TARGET:?}"
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/stampede-e2e.XXXXXX")
T_PIDS=()

t_cleanup() {
    local p
    for p in "${T_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${T_PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$T_TMP"
}
trap t_cleanup EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

skip() {
    echo "$*"
    exit 77
}

# wait_listening WHAT PID OUT: wait (5 s at most) for the server PID to
# print "listening [HOST:]PORT" into OUT; prints PORT
wait_listening() {
    local port
    for _ in $(seq 100); do
        grep -q '^listening ' "$3" && break
        kill -0 "$2" 2>/dev/null || fail "$1 exited: $(cat "$3")"
        sleep 0.05
    done
    port=$(sed -n 's/^listening \(.*:\)\{0,1\}\([0-9]*\)$/\2/p' "$3" | head -n 1)
    [ -n "$port" ] || fail "$1 did not report its port: $(cat "$3")"
    echo "$port"
}

# start_target [target flags...]: sets TPID, TPORT, TOUT (its stdout file)
start_target() {
    TOUT=$(mktemp "$T_TMP/target.XXXX")
    "$TARGET" --port 0 "$@" >"$TOUT" 2>&1 &
    TPID=$!
    T_PIDS+=("$TPID")
    TPORT=$(wait_listening stampede-target "$TPID" "$TOUT")
}

# stop_target: SIGTERM, wait, sets ANSWERED from its "answered N" line
stop_target() {
    kill -TERM "$TPID"
    wait "$TPID" || fail "stampede-target exited with $?"
    ANSWERED=$(sed -n 's/^answered \([0-9]*\)$/\1/p' "$TOUT")
    [ -n "$ANSWERED" ] || fail "stampede-target printed no 'answered' line: $(cat "$TOUT")"
}

# free_port: a TCP port nobody listens on right now
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# run_st ARGS...: run stampede (bounded), sets SRC and leaves output in $T_TMP/out, $T_TMP/err
run_st() {
    set +e
    timeout -k 5 60 "$STAMPEDE" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
    SRC=$?
    set -e
    [ $SRC -ne 124 ] || fail "stampede did not finish in time: $*"
}

# jget FILE EXPR: evaluate a Python expression over the JSON document `d`
jget() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

# check_identity FILE: requests = responses + sum(errors) + in_flight_at_end
check_identity() {
    python3 - "$1" <<'PY' || fail "accounting identity broken in $1"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["counters"]
lhs = c["requests"]
rhs = c["responses"] + sum(c["errors"].values()) + c["in_flight_at_end"]
m = d["metrics"].get("http_req_duration") or d["metrics"]["ws_msg_rtt"]
done = c["responses"] + sum(c["errors"].values())
ok = lhs == rhs and m["count"] == done
if "http_req_duration" in d["metrics"]:
    ok = ok and sum(c["status"][k] for k in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")) == c["responses"]
    ok = ok and sum(c["status"]["codes"].values()) == c["responses"]
if not ok:
    print("requests", lhs, "responses+errors+in_flight", rhs, "histogram count", m["count"],
          "settled", done, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# nginx_start DIR PORT HTTP_LINES SERVER_LINES: write DIR/nginx.conf (one
# worker, access log off, 200 "Hello, World!" at /) with extra lines in the
# http and server blocks, start nginx (killed on exit), wait for PORT
nginx_start() {
    local dir=$1 port=$2
    cat >"$dir/nginx.conf" <<NGX
worker_processes 1;
daemon off;
error_log $dir/error.log;
pid $dir/nginx.pid;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $dir;
    proxy_temp_path $dir;
    fastcgi_temp_path $dir;
    uwsgi_temp_path $dir;
    scgi_temp_path $dir;
    $3
    server {
        $4
        location / { return 200 "Hello, World!"; }
    }
}
NGX
    nginx -c "$dir/nginx.conf" -p "$dir" &
    T_PIDS+=($!)
    for _ in $(seq 100); do
        (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && return 0
        sleep 0.05
    done
    fail "nginx did not start: $(cat "$dir/error.log" 2>/dev/null)"
}

# start_nginx [extra location config]: sets NPORT; nginx serves a 13-byte body
start_nginx() {
    command -v nginx >/dev/null || skip "nginx not installed"
    NPORT=$(free_port)
    local dir="$T_TMP/nginx"
    mkdir -p "$dir"
    nginx_start "$dir" "$NPORT" "" "listen 127.0.0.1:$NPORT; ${1:-}"
}

# jassert FILE EXPR...: every Python expression must be true over the JSON
# document `d`; shorthands: c = d["counters"], m = d["metrics"],
# errs = sum(c["errors"]), cerrs = sum(c["conn_errors"]), h = m["http_req_duration"]
jassert() {
    python3 - "$@" <<'PY' || fail "checks on $1 failed (see above)"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["counters"]
m = d["metrics"]
h = m.get("http_req_duration") or m.get("ws_msg_rtt") or {}
ws = c["ws"]
cap = d["capacity"]
errs = sum(c["errors"].values())
cerrs = sum(c["conn_errors"].values())
bad = [e for e in sys.argv[2:] if not eval(e)]
for e in bad:
    print("check failed:", e, file=sys.stderr)
if bad:
    print("exit_code", d["exit_code"], d["exit_reason"], file=sys.stderr)
    print("counters", json.dumps(c, sort_keys=True), file=sys.stderr)
    print("http_req_duration", json.dumps({k: v for k, v in h.items() if k != "hist"}),
          file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# expect_rc WANT: the last run_st exit code must be WANT
expect_rc() {
    [ "$SRC" -eq "$1" ] || fail "stampede exited $SRC, want $1; stderr: $(tail -n 5 "$T_TMP/err")"
}

# tcount NAME: a counter line "NAME N" the target printed on exit
tcount() {
    sed -n "s/^$1 \([0-9]*\)$/\1/p" "$TOUT" | tail -n 1
}

# v6_loopback: true when ::1 can be bound here
v6_loopback() {
    python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null
}

# start_nginx_tls CERT KEY [extra server config]: like start_nginx, but
# TLS (1.2 and 1.3) with session tickets and a shared session cache, so
# resumption works; sets NPORT. Listens on 127.0.0.1 and, when it exists,
# [::1] (a URL naming localhost may resolve to either). The extra config goes
# in the server block: it may override the ssl_* settings of the http block
# (e.g. `ssl_protocols TLSv1.2;`). Several may run at once.
start_nginx_tls() {
    command -v nginx >/dev/null || skip "nginx not installed"
    nginx -V 2>&1 | grep -q http_ssl_module || skip "nginx has no http_ssl_module"
    local cert key
    cert=$(readlink -f "$1") key=$(readlink -f "$2")
    [ -r "$cert" ] && [ -r "$key" ] || fail "start_nginx_tls: cannot read $1 / $2"
    NPORT=$(free_port)
    local dir v6=""
    dir=$(mktemp -d "$T_TMP/nginx-tls.XXXX")
    v6_loopback && v6="listen [::1]:$NPORT ssl;"
    nginx_start "$dir" "$NPORT" "ssl_certificate $cert;
    ssl_certificate_key $key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:TLS:10m;
    ssl_session_timeout 10m;
    ssl_session_tickets on;" "listen 127.0.0.1:$NPORT ssl;
        $v6
        server_name localhost;
        ${3:-}"
}

# start_node_wss CERT KEY: the npm `ws` echo server behind TLS
# (tests/node/wss_echo.js) on a free port; sets WPORT, WPID (killed on exit)
# and WOUT (its stdout: counters printed on SIGTERM, see stop_node_wss)
start_node_wss() {
    command -v node >/dev/null || skip "node not installed"
    local node_dir="${TESTS_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}/node"
    [ -d "$node_dir/node_modules/ws" ] || skip "npm ws not installed (tools/deps.sh test)"
    [ -r "$1" ] && [ -r "$2" ] || fail "start_node_wss: cannot read $1 / $2"
    WOUT=$(mktemp "$T_TMP/wss.XXXX")
    node "$node_dir/wss_echo.js" 0 "$1" "$2" >"$WOUT" 2>&1 &
    WPID=$!
    T_PIDS+=("$WPID")
    WPORT=$(wait_listening "node wss server" "$WPID" "$WOUT")
}

# stop_node_wss: SIGTERM the server of start_node_wss and wait for its
# counters (wcount NAME reads them)
stop_node_wss() {
    kill -TERM "$WPID" 2>/dev/null || true
    wait "$WPID" || true
}

# wcount NAME: a counter line "NAME N" the node wss server printed on exit
wcount() {
    sed -n "s/^$1 \([0-9]*\)$/\1/p" "$WOUT" | tail -n 1
}

# jtls FILE EXPR...: like jassert, over a result's TLS counters: shorthands
# c, m, d as in jassert, t = c["tls"], neg = [(version, cipher), ...] from
# t["negotiated"], nneg = the handshakes that list covers,
# hs = t["handshakes_full"] + t["handshakes_resumed"]
jtls() {
    python3 - "$@" <<'PY' || fail "TLS checks on $1 failed (see above)"
import json, sys
d = json.load(open(sys.argv[1]))
c = d["counters"]
m = d["metrics"]
t = c["tls"]
neg = [(n["version"], n["cipher"]) for n in t["negotiated"]]
nneg = sum(n["count"] for n in t["negotiated"])
hs = t["handshakes_full"] + t["handshakes_resumed"]
bad = [e for e in sys.argv[2:] if not eval(e)]
for e in bad:
    print("check failed:", e, file=sys.stderr)
if bad:
    print("exit_code", d["exit_code"], d["exit_reason"], file=sys.stderr)
    print("tls", json.dumps(t, sort_keys=True), file=sys.stderr)
    print("tls_handshake_time(_resumed) counts",
          m.get("tls_handshake_time", {}).get("count"),
          m.get("tls_handshake_time_resumed", {}).get("count"), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}

# check_schema_keys FILE: every key of the result FILE is listed in
# docs/result-schema.md (the ```keys block)
check_schema_keys() {
    python3 - "$1" "${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}/docs/result-schema.md" <<'PY' || fail "$1 has keys the schema does not list"
import json, re, sys
d = json.load(open(sys.argv[1]))
m = re.search(r"^```keys\n(.*?)^```", open(sys.argv[2]).read(), re.S | re.M)
pats = [re.compile("".join("[^.]+" if ch == "*" else re.escape(ch) for ch in l.split()[0]) + r"\Z")
        for l in m.group(1).splitlines() if l.strip()]
def flat(o, pre=""):
    for k, v in o.items():
        yield pre + k
        if isinstance(v, dict):
            yield from flat(v, pre + k + ".")
bad = [p for p in flat(d) if not any(r.match(p) for r in pats)]
print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
PY
}
