#!/usr/bin/env bash
# needs: curl python3 openssl
# stampede-target over TLS (--tls-cert/--tls-key), certificates made at
# test time (certs.sh). curl: a GET by IP and by name, one connection
# reused for several requests, TLS 1.2 only, a --body-size body spanning
# many records, --delay and --stall; openssl s_client: session resumption
# with TLS 1.3 tickets, TLS 1.2 tickets and TLS 1.2 session ids ("Reused");
# a plain-HTTP request to the TLS port fails without hurting the server.
# A client written here (python3 ssl over memory BIOs, so it decides where
# ciphertext is cut): handshake and records dribbled a few bytes per TCP
# write, pipelined GET/HEAD mixes in one record and one record per request,
# a request split across records, close_notify from the client (an EOF:
# what was asked is still answered), peers that leave mid-handshake or
# send garbage, HTTP/1.0 and --close-after closing with close_notify, and
# WebSocket over TLS (echo of a message spanning records, ping, close
# handshake, a /rooms/2 broadcast). --tls-client-ca: no client
# certificate, or one from another CA, fails; client.pem works. Every exit
# counter (answered, ws_*, tls_handshakes, tls_resumed, tls_failed) must
# match what the clients did exactly.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/certs.sh"

C="$T_TMP/certs"
make_certs "$C" || fail "make_certs failed"
TLS=(--tls-cert "$C/server.pem" --tls-key "$C/server.key")

# tls.py PORT CAFILE [MODE]: byte-exact exchanges over TLS; prints
# "conns N reqs N failed N ws_hs N ws_in N ws_out N" for the counters
cat >"$T_TMP/tls.py" <<'PY'
import base64, hashlib, os, socket, ssl, struct, sys, time

port, cafile = int(sys.argv[1]), sys.argv[2]
mode = sys.argv[3] if len(sys.argv) > 3 else "all"
CTX = ssl.create_default_context(cafile=cafile)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n%s\r\n"
BODY = b"Hello, World!"
G, H = HEAD % b"" + BODY, HEAD % b""
G_CLOSE = HEAD % b"Connection: close\r\n" + BODY
GET, HEADREQ = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"
n = dict(conns=0, reqs=0, failed=0, ws_hs=0, ws_in=0, ws_out=0)
bad = []


def check(name, cond, detail=""):
    if not cond:
        bad.append(name)
        print("FAIL:", name, detail, file=sys.stderr)


def short(b):
    r = repr(b)
    return r if len(r) <= 240 else r[:200] + "... (%d bytes)" % len(b)


class Tls:
    """A TLS client whose ciphertext goes out in pieces of `piece` bytes
    (0: all at once), one TCP write each, 1 ms apart."""

    def __init__(self, piece=0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=3)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.i, self.o = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.t = CTX.wrap_bio(self.i, self.o, server_hostname="localhost")
        self.piece = piece
        self.eof = False

    def flush(self):
        data = self.o.read()
        step = self.piece or len(data) or 1
        for k in range(0, len(data), step):
            if k:
                time.sleep(0.001)
            self.s.sendall(data[k:k + step])

    def fill(self):
        try:
            d = self.s.recv(65536)
        except ConnectionResetError:
            d = b""
        if not d:
            self.i.write_eof()
            self.eof = True
        self.i.write(d) if d else None
        return bool(d)

    def handshake(self):
        while True:
            try:
                self.t.do_handshake()
                self.flush()
                n["conns"] += 1
                return
            except ssl.SSLWantReadError:
                self.flush()
                if not self.fill():
                    raise EOFError("EOF during the handshake")

    def send(self, *records):
        """Each argument becomes its own record(s); all leave together."""
        for r in records:
            self.t.write(r)
        self.flush()

    def read_exact(self, want):
        got = b""
        while len(got) < want:
            try:
                d = self.t.read(want - len(got))
                if not d:
                    break  # close_notify
                got += d
            except ssl.SSLWantReadError:
                if not self.fill():
                    break
            except (ssl.SSLEOFError, socket.timeout):
                break
        return got

    def after(self, ms=200):
        """What follows within ms: None (silence), "notify" (close_notify
        then EOF), "eof" (EOF without close_notify), or the bytes."""
        self.s.settimeout(ms / 1000)
        try:
            while True:
                try:
                    d = self.t.read(65536)
                    return d if d else "notify"
                except ssl.SSLWantReadError:
                    if not self.fill():
                        return "eof"
                except ssl.SSLEOFError:
                    return "eof"
        except socket.timeout:
            return None
        finally:
            self.s.settimeout(3)

    def close(self):
        self.s.close()


def exchange(name, records, want, then=None, nreq=None, piece=0):
    c = Tls(piece)
    c.handshake()
    c.send(*records)
    got = c.read_exact(len(want))
    at = next((k for k, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
    check(name + ": bytes", got == want, "got %d bytes, want %d, first difference at %d: %s / %s"
          % (len(got), len(want), at, short(got[at:at + 60]), short(want[at:at + 60])))
    a = c.after()
    check(name + ": then " + str(then), a == then, "got " + (a if isinstance(a, str) else short(a)))
    c.close()
    n["reqs"] += nreq if nreq is not None else len(records)


def http_checks():
    exchange("dribbled handshake and request", [GET], G, piece=5)
    mix = (GET + HEADREQ + HEADREQ) * 60
    exchange("180 pipelined GET/HEAD in one record", [mix], (G + H + H) * 60, nreq=180)
    exchange("50 records, one write", [GET] * 50, G * 50)
    exchange("a request split across records", [b"GET / HT", b"TP/1.1\r\n\r\n"], G, nreq=1)
    exchange("HTTP/1.0 closes with close_notify", [b"GET / HTTP/1.0\r\n\r\n"], G_CLOSE, "notify")
    big = (HEADREQ + GET) * 400  # ~21 KB of requests: more than one record
    exchange("800 pipelined over two records", [big], (H + G) * 400, nreq=800, piece=1000)


def close_notify_checks():
    c = Tls()
    c.handshake()
    c.send(GET)
    check("keep-alive before close_notify", c.read_exact(len(G)) == G)
    c.send(GET, GET, GET)
    try:
        c.t.unwrap()  # close_notify right behind three requests
    except ssl.SSLWantReadError:
        pass
    c.flush()
    check("requests before close_notify answered", c.read_exact(3 * len(G)) == 3 * G)
    a = c.after(1000)
    check("EOF after the client's close_notify", a in ("eof", "notify"), str(a))
    c.close()
    n["reqs"] += 4


def failed_checks():
    # a ClientHello cut short, then the peer leaves
    c = Tls()
    try:
        c.t.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = c.o.read()
    c.s.sendall(hello[:len(hello) // 2])
    time.sleep(0.05)
    c.close()
    # a whole ClientHello, the server's flight read, then the peer leaves
    c = Tls()
    try:
        c.t.do_handshake()
    except ssl.SSLWantReadError:
        pass
    c.flush()
    check("server flight after a ClientHello", len(c.s.recv(65536)) > 0)
    c.close()
    # garbage in a handshake record: the server closes
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.sendall(b"\x16\x03\x01\x00\x05hello" + b"\x00" * 64)
    try:
        rest = s.recv(4096)
        while rest and len(rest) < 64:
            more = s.recv(4096)
            if not more:
                break
            rest += more
    except (ConnectionResetError, socket.timeout):
        rest = b""
    check("garbage gets an alert at most", len(rest) < 64, short(rest))
    s.close()
    n["failed"] += 3


GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def frame(op, payload):
    key = os.urandom(4)
    ln = len(payload)
    hdr = bytes([0x80 | op])
    if ln < 126:
        hdr += bytes([0x80 | ln])
    elif ln < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", ln)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", ln)
    m = (key * (ln // 4 + 1))[:ln]
    x = (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(ln, "big")
    return hdr + key + x


def read_frame(c):
    h = c.read_exact(2)
    if len(h) < 2:
        return None, b""
    ln = h[1] & 0x7F
    if ln == 126:
        ln = struct.unpack("!H", c.read_exact(2))[0]
    elif ln == 127:
        ln = struct.unpack("!Q", c.read_exact(8))[0]
    return h[0] & 0x0F, c.read_exact(ln)


def ws_open(path):
    c = Tls()
    c.handshake()
    key = base64.b64encode(os.urandom(16))
    c.send(b"GET " + path + b" HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        d = c.read_exact(1)
        if not d:
            break
        head += d
    acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
    check("101 on " + path.decode(), head.startswith(b"HTTP/1.1 101 ") and
          b"Sec-WebSocket-Accept: " + acc + b"\r\n" in head, short(head))
    n["ws_hs"] += 1
    return c


def ws_checks():
    c = ws_open(b"/echo")
    c.send(frame(1, b"hello"))
    check("ws text echo", read_frame(c) == (1, b"hello"))
    big = os.urandom(70000)  # spans five records each way
    c.send(frame(2, big))
    check("ws 70 KB echo", read_frame(c) == (2, big))
    c.send(frame(9, b"p"))
    check("ws pong", read_frame(c) == (10, b"p"))
    c.send(frame(8, struct.pack("!H", 1000)))
    check("ws close echoed", read_frame(c) == (8, struct.pack("!H", 1000)))
    a = c.after(1000)
    check("ws close then close_notify", a == "notify", str(a))
    c.close()
    n["ws_in"] += 2
    n["ws_out"] += 2
    a, b = ws_open(b"/rooms/2"), ws_open(b"/rooms/2")
    a.send(frame(1, b"to the room"))
    check("room: sender's copy", read_frame(a) == (1, b"to the room"))
    check("room: member's copy", read_frame(b) == (1, b"to the room"))
    a.close()
    b.close()
    n["ws_in"] += 1
    n["ws_out"] += 2


def close_after_checks():
    exchange("--close-after 2: pipelined third dropped", [GET + GET + GET], G + G_CLOSE, "notify",
             nreq=2)


if mode == "close-after":
    close_after_checks()
else:
    failed_checks()
    http_checks()
    close_notify_checks()
    ws_checks()
print(" ".join("%s %d" % kv for kv in n.items()))
sys.exit(1 if bad else 0)
PY

# one_curl URL [curl flags...]: a GET that must give the 13-byte body
one_curl() {
    local url=$1 body
    shift
    body=$(curl -sS --max-time 5 --cacert "$C/ca.pem" "$@" "$url") || fail "curl $* $url failed"
    [ "$body" = "Hello, World!" ] || fail "curl $url: body '$body'"
}

# resume_check PORT [s_client flags...]: two connections, the second
# resumes the first one's session; one request each
resume_check() {
    local port=$1 i
    shift
    rm -f "$T_TMP/sess"
    for i in 1 2; do
        printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
            timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername localhost \
                -CAfile "$C/ca.pem" -verify_return_error -ign_eof "$@" \
                $([ $i = 1 ] && echo -sess_out || echo -sess_in) "$T_TMP/sess" \
                >"$T_TMP/s_client.$i" 2>&1 || fail "s_client $* (connection $i) failed: $(tail -n 5 "$T_TMP/s_client.$i")"
        grep -q 'Hello, World!' "$T_TMP/s_client.$i" || fail "s_client $* got no body"
    done
    grep -q '^New, ' "$T_TMP/s_client.1" || fail "s_client $*: first connection not new"
    grep -q '^Reused, ' "$T_TMP/s_client.2" ||
        fail "s_client $*: second connection not resumed: $(grep -E '^(New|Reused)' "$T_TMP/s_client.2")"
}

# expect_counter NAME WANT
expect_counter() {
    local got
    got=$(tcount "$1")
    [ "$got" = "$2" ] || fail "target printed '$1 ${got:-(none)}', want $2: $(cat "$TOUT")"
}

start_target "${TLS[@]}"
conns=0 reqs=0 resumed=0 failed=0

one_curl "https://127.0.0.1:$TPORT/"
one_curl "https://localhost:$TPORT/" --resolve "localhost:$TPORT:127.0.0.1"
conns=$((conns + 2)) reqs=$((reqs + 2))

# keep-alive: four requests, one connection, one handshake
u="https://127.0.0.1:$TPORT/"
out=$(curl -sS --max-time 5 --cacert "$C/ca.pem" -w ' %{num_connects}\n' "$u" "$u" "$u" "$u") ||
    fail "curl keep-alive failed"
[ "$out" = "$(printf 'Hello, World! 1\nHello, World! 0\nHello, World! 0\nHello, World! 0')" ] ||
    fail "curl keep-alive: $out"
conns=$((conns + 1)) reqs=$((reqs + 4))

curl -sS --max-time 5 --cacert "$C/ca.pem" --tls-max 1.2 -v "https://127.0.0.1:$TPORT/" \
    >"$T_TMP/tls12.out" 2>"$T_TMP/tls12.err" || fail "curl --tls-max 1.2 failed: $(tail -n 3 "$T_TMP/tls12.err")"
grep -q 'SSL connection using TLSv1.2' "$T_TMP/tls12.err" || fail "curl --tls-max 1.2 did not use TLS 1.2"
[ "$(cat "$T_TMP/tls12.out")" = "Hello, World!" ] || fail "curl --tls-max 1.2: wrong body"
conns=$((conns + 1)) reqs=$((reqs + 1))

resume_check "$TPORT" -tls1_3
resume_check "$TPORT" -tls1_2
resume_check "$TPORT" -tls1_2 -no_ticket
conns=$((conns + 6)) reqs=$((reqs + 6)) resumed=$((resumed + 3))

# plain HTTP to the TLS port: the request fails, the server lives on
if curl -sS --max-time 5 "http://127.0.0.1:$TPORT/" >/dev/null 2>"$T_TMP/plain.err"; then
    fail "a plain HTTP request to the TLS port succeeded"
fi
kill -0 "$TPID" 2>/dev/null || fail "target died after a plain HTTP request"
one_curl "https://127.0.0.1:$TPORT/"
conns=$((conns + 1)) reqs=$((reqs + 1)) failed=$((failed + 1))

python3 "$T_TMP/tls.py" "$TPORT" "$C/ca.pem" >"$T_TMP/py" || fail "TLS client checks failed (see above)"
read -r _ pc _ pr _ pf _ wh _ wi _ wo <"$T_TMP/py"
conns=$((conns + pc)) reqs=$((reqs + pr)) failed=$((failed + pf))
sleep 0.2 # the last closes reach the target
stop_target
[ "$ANSWERED" -eq "$reqs" ] || fail "target answered $ANSWERED, want $reqs"
expect_counter tls_handshakes "$conns"
expect_counter tls_resumed "$resumed"
expect_counter tls_failed "$failed"
expect_counter ws_handshakes "$wh"
expect_counter ws_msgs_in "$wi"
expect_counter ws_msgs_out "$wo"

# --body-size: a body of many records, TLS 1.3 and 1.2, and pipelined
start_target "${TLS[@]}" --body-size 70000
for v in 1.3 1.2; do
    curl -sS --max-time 5 --cacert "$C/ca.pem" --tls-max "$v" -o "$T_TMP/body" \
        "https://127.0.0.1:$TPORT/" || fail "curl --body-size (TLS $v) failed"
    [ "$(stat -c %s "$T_TMP/body")" -eq 70000 ] || fail "TLS $v body is $(stat -c %s "$T_TMP/body") bytes"
done
stop_target
[ "$ANSWERED" -eq 2 ] || fail "--body-size target answered $ANSWERED, want 2"

# --delay and --stall hold responses over TLS as over TCP
start_target "${TLS[@]}" --delay 20ms --stall 400ms@0s
t1=$(curl -sS --max-time 5 --cacert "$C/ca.pem" -o /dev/null -w '%{time_total}' "https://127.0.0.1:$TPORT/")
t2=$(curl -sS --max-time 5 --cacert "$C/ca.pem" -o /dev/null -w '%{time_total}' "https://127.0.0.1:$TPORT/")
python3 -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); sys.exit(0 if a >= 0.38 and 0.02 <= b < 0.38 else 1)" \
    "$t1" "$t2" || fail "--stall/--delay over TLS: first took $t1 s (want >= 0.4), second $t2 s (want 0.02-0.38)"
stop_target
[ "$ANSWERED" -eq 2 ] || fail "--delay target answered $ANSWERED, want 2"

# --close-after: the final response, then close_notify, then EOF
start_target "${TLS[@]}" --close-after 2
python3 "$T_TMP/tls.py" "$TPORT" "$C/ca.pem" close-after >"$T_TMP/py" || fail "--close-after over TLS failed"
stop_target
[ "$ANSWERED" -eq 2 ] || fail "--close-after target answered $ANSWERED, want 2"
expect_counter tls_handshakes 1

# mutual TLS: no certificate and a certificate from another CA fail
start_target "${TLS[@]}" --tls-client-ca "$C/ca.pem"
if curl -sS --max-time 5 --cacert "$C/ca.pem" "https://127.0.0.1:$TPORT/" >/dev/null 2>&1; then
    fail "mTLS target accepted a client without a certificate"
fi
if curl -sS --max-time 5 --cacert "$C/ca.pem" --cert "$C/untrusted.pem" --key "$C/untrusted.key" \
    "https://127.0.0.1:$TPORT/" >/dev/null 2>&1; then
    fail "mTLS target accepted a client certificate from another CA"
fi
one_curl "https://127.0.0.1:$TPORT/" --cert "$C/client.pem" --key "$C/client.key"
sleep 0.1
stop_target
[ "$ANSWERED" -eq 1 ] || fail "mTLS target answered $ANSWERED, want 1"
expect_counter tls_handshakes 1
expect_counter tls_failed 2
grep -q 'first TLS handshake failure: .*certificate' "$TOUT" || fail "no certificate failure reason: $(cat "$TOUT")"

# the key may sit in the certificate's file; IPv6 where there is ::1 (the
# certificate names it)
cat "$C/server.pem" "$C/server.key" >"$C/combined.pem"
host=127.0.0.1 uhost=127.0.0.1
if python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    host=::1 uhost="[::1]"
fi
start_target --tls-cert "$C/combined.pem" --host "$host"
one_curl "https://$uhost:$TPORT/"
stop_target
[ "$ANSWERED" -eq 1 ] || fail "combined-PEM target answered $ANSWERED, want 1"

# bad TLS flags
set +e
"$TARGET" --port 0 --tls-key "$C/server.key" >"$T_TMP/bad" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "--tls-key without --tls-cert exited $rc, want 2"
set +e
"$TARGET" --port 0 --tls-cert "$C/nonexistent.pem" >"$T_TMP/bad" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] && grep -q 'nonexistent.pem' "$T_TMP/bad" || fail "a missing --tls-cert exited $rc: $(cat "$T_TMP/bad")"
set +e
"$TARGET" --port 0 --tls-cert "$C/server.pem" --tls-key "$C/client.key" >"$T_TMP/bad" 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "a key that does not match exited $rc, want 2"
echo ok
