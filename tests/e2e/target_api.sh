#!/usr/bin/env bash
# needs: curl python3
# stampede-target --api: the mock REST API of the "log in, add to cart,
# check out" flow. curl walks login -> cart (bearer token) -> checkout
# (cart id) and the 401/400/404/405 answers; one connection pipelines API
# and plain requests split every 5 bytes (answers in order, nothing
# extra); stampede pipelines /api/health. The target's exit line
# "api login L cart C checkout K health H unauthorized U bad B not_found N"
# must match what was sent exactly, and "answered" everything.
. "$(dirname "$0")/lib.sh"

start_target --api
U="http://127.0.0.1:$TPORT"
sent=0

# api METHOD PATH [curl args...]: sets CODE, BODY ($T_TMP/body), HDRS ($T_TMP/hdrs)
api() {
    local m=$1 p=$2
    shift 2
    CODE=$(curl -sS -X "$m" -o "$T_TMP/body" -D "$T_TMP/hdrs" -w '%{http_code}' "$@" "$U$p") ||
        fail "curl $m $p failed"
    BODY=$(cat "$T_TMP/body")
    sent=$((sent + 1))
}

# expect WANT_CODE BODY_REGEX: the last answer
expect() {
    [ "$CODE" = "$1" ] || fail "status $CODE, want $1; body: $BODY"
    [[ $BODY =~ ^$2$ ]] || fail "body '$BODY' does not match '$2' (status $CODE)"
}

json=(-H 'Content-Type: application/json')

api POST /api/login "${json[@]}" -d '{"user":"u1","password":"pw-1"}'
expect 200 '\{"token":"tok-[0-9]+","user":"u1"\}'
grep -qi '^content-type: application/json' "$T_TMP/hdrs" || fail "login: no JSON content type"
tok=$(sed -n 's/.*"token":"\(tok-[0-9]*\)".*/\1/p' <<<"$BODY")
sess=$(tr -d '\r' <"$T_TMP/hdrs" | sed -n 's/^[Xx]-[Ss]ession: *//p')
[ "$sess" = "s-${tok#tok-}" ] || fail "X-Session '$sess' does not match token $tok"

api POST /api/login "${json[@]}" -d '{"user":"u2","password":"pw-2"}'
expect 200 '\{"token":"tok-[0-9]+","user":"u2"\}'
[[ $BODY != *"\"$tok\""* ]] || fail "second login got the same token $tok"

api POST /api/cart "${json[@]}" -H "Authorization: Bearer $tok" -d '{"sku":"sku-1","qty":1}'
expect 200 '\{"cart_id":"cart-[0-9]+","items":1\}'
cart=$(sed -n 's/.*"cart_id":"\(cart-[0-9]*\)".*/\1/p' <<<"$BODY")

# header name in lower case, whitespace after the colon in the body
api POST /api/checkout "${json[@]}" -H "authorization: Bearer $tok" -d "{\"cart_id\": \"$cart\"}"
expect 200 '\{"order_id":"ord-[0-9]+","status":"confirmed"\}'

api GET /api/health
expect 200 '\{"status":"ok"\}'

# refusals: no token, malformed tokens (401); no or bad cart id (400);
# unknown path (404); wrong method (405)
api POST /api/cart -d '{}'
expect 401 '\{"error":"unauthorized"\}'
grep -qi '^www-authenticate: bearer' "$T_TMP/hdrs" || fail "401 without WWW-Authenticate"
api POST /api/cart -H 'Authorization: Bearer tok-abc' -d '{}'
expect 401 '\{"error":"unauthorized"\}'
api POST /api/checkout -H "Authorization: Basic dTE6cHc=" -d "{\"cart_id\":\"$cart\"}"
expect 401 '\{"error":"unauthorized"\}'
api POST /api/checkout -H "Authorization: Bearer $tok" -d '{"sku":"sku-1"}'
expect 400 '\{"error":"no cart"\}'
api POST /api/checkout -H "Authorization: Bearer $tok" -d '{"cart_id":"cart-x1"}'
expect 400 '\{"error":"no cart"\}'
api GET /api/orders
expect 404 '\{"error":"not found"\}'
api GET /api/login
expect 405 '\{"error":"method not allowed"\}'

# other paths keep their usual answer
api GET /
expect 200 'Hello, World!'

# one connection, requests pipelined and split every 5 bytes: answers in order
cat >"$T_TMP/pipe.py" <<'PY'
import socket, sys, time

def post(path, body, auth=""):
    h = "Authorization: Bearer %s\r\n" % auth if auth else ""
    return ("POST %s HTTP/1.1\r\nHost: t\r\n%sContent-Length: %d\r\n\r\n%s"
            % (path, h, len(body), body)).encode()

reqs = (post("/api/login", '{"user":"p"}') + b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" +
        post("/api/cart", "{}", "tok-7") + post("/api/checkout", '{"cart_id":"cart-3"}', "tok-7") +
        post("/api/checkout", "{}") + b"GET /api/health HTTP/1.1\r\nHost: t\r\n\r\n")
want = [200, 200, 200, 200, 401, 200]
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=3)
for i in range(0, len(reqs), 5):
    s.sendall(reqs[i:i + 5])
    time.sleep(0.001)
buf, got = b"", []
while len(got) < len(want):
    end = buf.find(b"\r\n\r\n")
    if end >= 0:
        head = buf[:end].decode().split("\r\n")
        n = int([h.split(":")[1] for h in head if h.lower().startswith("content-length:")][0])
        if len(buf) >= end + 4 + n:
            got.append(int(head[0].split()[1]))
            buf = buf[end + 4 + n:]
            continue
    chunk = s.recv(4096)
    if not chunk:
        break
    buf += chunk
s.settimeout(0.2)
try:
    extra = s.recv(4096)
except socket.timeout:
    extra = None
if got != want or buf or extra is not None:
    sys.exit("pipelined: statuses %s, want %s; left over %r %r" % (got, want, buf, extra))
print(len(want))
PY
python3 "$T_TMP/pipe.py" "$TPORT" >"$T_TMP/pipe" || fail "pipelined exchange failed"
sent=$((sent + $(cat "$T_TMP/pipe")))

j="$T_TMP/health.json"
run_st -n 2000 -c 4 --pipeline 8 --json "$j" "$U/api/health"
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 2000" "c['status']['2xx'] == 2000" "errs == 0" "cerrs == 0" \
    "c['unsolicited_responses'] == 0"

stop_target
[ "$ANSWERED" -eq $((sent + 2000)) ] || fail "target answered $ANSWERED, want $((sent + 2000))"
# curl: login 2, cart 1, checkout 1, health 1, 401 x3, 400 x2 + 405, 404;
# pipelined: login, cart, checkout, 401, health; stampede: 2000 health
want="api login 3 cart 2 checkout 2 health 2002 unauthorized 4 bad 3 not_found 1"
got=$(grep '^api ' "$TOUT") || fail "no 'api' counter line: $(cat "$TOUT")"
[ "$got" = "$want" ] || fail "counters '$got', want '$want'"
echo ok
