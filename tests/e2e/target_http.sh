#!/usr/bin/env bash
# needs: python3
# stampede-target speaks enough HTTP for other clients: HEAD gets the head
# only (same Content-Length, no body), pipelined GET/HEAD mixes are answered
# in order, byte for byte, also when a request is split inside its method;
# HTTP/1.0 closes unless it asked for keep-alive (which is then echoed).
# Then `stampede -m HEAD` against it: exact counts, nothing unsolicited, and
# the target's "answered" matches everything sent. The raw exchanges run
# again against a target with --delay.
. "$(dirname "$0")/lib.sh"

# raw.py PORT: byte-exact exchanges; prints how many requests it sent
cat >"$T_TMP/raw.py" <<'PY'
import socket, sys, time

port = int(sys.argv[1])
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n%s\r\n")
BODY = b"Hello, World!"
G, H = HEAD % b"" + BODY, HEAD % b""
G_CLOSE, H_CLOSE = HEAD % b"Connection: close\r\n" + BODY, HEAD % b"Connection: close\r\n"
G_KA, H_KA = HEAD % b"Connection: keep-alive\r\n" + BODY, HEAD % b"Connection: keep-alive\r\n"
REQ = {"GET": b"GET / HTTP/1.1\r\nHost: t\r\n\r\n", "HEAD": b"HEAD / HTTP/1.1\r\nHost: t\r\n\r\n"}
sent = 0
bad = []


def conn():
    s = socket.create_connection(("127.0.0.1", port), timeout=3)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def read_exact(s, n):
    """n bytes, or fewer at EOF or after 3 s of silence."""
    got = b""
    try:
        while len(got) < n:
            chunk = s.recv(n - len(got))
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    return got


def short(b):
    r = repr(b)
    return r if len(r) <= 240 else r[:200] + "... (%d bytes)" % len(b)


def quiet(s, ms=200):
    """Bytes that arrive within ms (none expected), or b'' on EOF."""
    s.settimeout(ms / 1000)
    try:
        return s.recv(4096)
    except socket.timeout:
        return None
    finally:
        s.settimeout(3)


def check(name, cond, detail=""):
    if not cond:
        bad.append(name)
        print("FAIL:", name, detail, file=sys.stderr)


def exchange(name, pieces, want, then_eof=False, nreq=None):
    """Send pieces (a pause between them), expect exactly want, then
    silence (keep-alive) or EOF."""
    global sent
    s = conn()
    for i, p in enumerate(pieces):
        if i:
            time.sleep(0.02)
        s.sendall(p)
    got = read_exact(s, len(want))
    at = next((i for i, (x, y) in enumerate(zip(got, want)) if x != y), min(len(got), len(want)))
    check(name + ": bytes", got == want,
          "got %d bytes, want %d, first difference at %d: got %s want %s"
          % (len(got), len(want), at, short(got[at:at + 60]), short(want[at:at + 60])))
    after = quiet(s)
    if then_eof:
        check(name + ": EOF after the response", after == b"", "got " + short(after))
    else:
        check(name + ": no extra bytes, still open", after is None, "got " + short(after))
    s.close()
    sent += nreq if nreq is not None else len(pieces)


hg = REQ["HEAD"] + REQ["GET"]
exchange("HEAD then GET in one write", [hg], H + G, nreq=2)
mix = REQ["GET"] + REQ["HEAD"] + REQ["GET"] + REQ["HEAD"]
exchange("GET HEAD GET HEAD in one write", [mix], G + H + G + H, nreq=4)
exchange("HEAD split inside its method", [b"HE", b"AD / HTTP/1.1\r\n\r\n"], H, nreq=1)
hhg = REQ["HEAD"] * 2 + REQ["GET"]
exchange("HEAD HEAD GET split every 7 bytes", [hhg[i:i + 7] for i in range(0, len(hhg), 7)],
         H + H + G, nreq=3)
many = (REQ["HEAD"] * 3 + REQ["GET"] * 2) * 40
exchange("200 pipelined HEAD/GET runs", [many], (H * 3 + G * 2) * 40, nreq=200)

exchange("GET HTTP/1.0", [b"GET / HTTP/1.0\r\n\r\n"], G_CLOSE, then_eof=True)
exchange("HEAD HTTP/1.0", [b"HEAD / HTTP/1.0\r\nHost: t\r\n\r\n"], H_CLOSE, then_eof=True)
exchange("HTTP/1.0 version split", [b"GET / HTTP/1.", b"0\r\n\r\n"], G_CLOSE, then_eof=True, nreq=1)
exchange("HTTP/1.1 then HTTP/1.0 pipelined", [REQ["HEAD"] + b"GET / HTTP/1.0\r\n\r\n"],
         H + G_CLOSE, then_eof=True, nreq=2)

# HTTP/1.0 with keep-alive: echoed, and the connection serves a second request
s = conn()
ka = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
s.sendall(ka)
check("1.0 keep-alive: first", read_exact(s, len(G_KA)) == G_KA)
s.sendall(b"HEAD / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
check("1.0 keep-alive: second", read_exact(s, len(H_KA)) == H_KA)
check("1.0 keep-alive: still open", quiet(s) is None)
s.sendall(b"GET / HTTP/1.0\r\n\r\n")
check("1.0 keep-alive: third without it closes", read_exact(s, len(G_CLOSE)) == G_CLOSE)
check("1.0 keep-alive: EOF", quiet(s) == b"")
s.close()
sent += 3

print(sent)
sys.exit(1 if bad else 0)
PY

start_target
python3 "$T_TMP/raw.py" "$TPORT" >"$T_TMP/sent" || fail "raw HTTP checks failed (see above)"
sent=$(cat "$T_TMP/sent")

j="$T_TMP/head.json"
run_st -m HEAD -n 1000 -c 4 --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 1000" "c['responses'] == 1000" "errs == 0" "cerrs == 0" \
    "c['status']['2xx'] == 1000" "c['unsolicited_responses'] == 0" "c['in_flight_at_end'] == 0" \
    "d['config']['method'] == 'HEAD'" "d['duration_s'] < 5"

j="$T_TMP/head_pipe.json"
run_st -m HEAD --pipeline 8 -n 2000 -c 4 --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 2000" "errs == 0" "cerrs == 0" "c['unsolicited_responses'] == 0"

stop_target
want=$((sent + 1000 + 2000))
[ "$ANSWERED" -eq "$want" ] || fail "target answered $ANSWERED, want $want"

# the same exchanges through the --delay queue, which carries runs of kinds too
start_target --delay 5ms
python3 "$T_TMP/raw.py" "$TPORT" >"$T_TMP/sent" || fail "raw HTTP checks with --delay failed"
sent=$(cat "$T_TMP/sent")
stop_target
[ "$ANSWERED" -eq "$sent" ] || fail "target (--delay) answered $ANSWERED, want $sent"
echo ok
