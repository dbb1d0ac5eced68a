#!/usr/bin/env bash
# needs: python3
# stampede-target speaks WebSocket (RFC 6455) on its HTTP port, checked by
# a small client written here (python3 standard library only): the
# handshake and its accept value, subprotocol echo, text and binary echo
# (a 70 KB message spans receives), many frames in one write, a frame
# written byte by byte, a fragmented message with a ping between its
# fragments, an upgrade head cut across writes, frames sent in the same
# write as the upgrade, the close handshake echoing the code, close 1002 on an
# unmasked frame and 1009 over --ws-max-msg; 404 and 400 for bad upgrades
# while plain HTTP keeps working; /rooms/3 fan-out to all three members
# and the next handshake starting a new room; a member that never reads is
# dropped (1008) without holding up the room. The target's counters must
# match what the client did exactly. Then 3000 connections held at once
# against a --threads 2 target: "held" reports and held_peak see them all.
. "$(dirname "$0")/lib.sh"

cat >"$T_TMP/ws.py" <<'PY'
import base64, hashlib, os, socket, struct, sys, time

port = int(sys.argv[1])
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
bad = []
n_hs = n_in = n_out = 0  # what the target must count


def check(name, cond, detail=""):
    if not cond:
        bad.append(name)
        print("FAIL:", name, detail, file=sys.stderr)


def conn(rcvbuf=None):
    s = socket.socket()
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(3)
    return s


def read_exact(s, n):
    got = b""
    while len(got) < n:
        c = s.recv(n - len(got))
        if not c:
            raise EOFError("EOF after %d of %d bytes" % (len(got), n))
        got += c
    return got


def read_head(s):
    got = b""
    while b"\r\n\r\n" not in got:
        c = s.recv(1)
        if not c:
            break
        got += c
    return got


def upgrade(path, extra=b"", key=None):
    """Returns (socket, response head)."""
    s = conn()
    key = key or base64.b64encode(os.urandom(16))
    s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
              b"\r\nSec-WebSocket-Version: 13\r\n" + extra + b"\r\n")
    head = read_head(s)
    return s, head, key


def ws(path, extra=b""):
    global n_hs
    s, head, key = upgrade(path, extra)
    want = base64.b64encode(hashlib.sha1(key + GUID).digest())
    check("101 on " + path.decode(), head.startswith(b"HTTP/1.1 101 "), repr(head))
    check("accept on " + path.decode(), b"Sec-WebSocket-Accept: " + want + b"\r\n" in head,
          repr(head))
    n_hs += 1
    return s, head


def frame(op, payload=b"", fin=True, masked=True):
    m = os.urandom(4) if masked else b""
    n = len(payload)
    b = bytes([(0x80 if fin else 0) | op])
    mb = 0x80 if masked else 0
    if n < 126:
        b += bytes([mb | n])
    elif n < 65536:
        b += bytes([mb | 126]) + struct.pack(">H", n)
    else:
        b += bytes([mb | 127]) + struct.pack(">Q", n)
    if masked and n:
        k = (m * (n // 4 + 1))[:n]
        payload = (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big")
    return b + m + payload


def read_frame(s):
    """(fin, opcode, payload) of one server frame, which must be unmasked."""
    h = read_exact(s, 2)
    n = h[1] & 0x7F
    check("server frames are unmasked", not h[1] & 0x80)
    if n == 126:
        n = struct.unpack(">H", read_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack(">Q", read_exact(s, 8))[0]
    return bool(h[0] & 0x80), h[0] & 0x0F, read_exact(s, n)


def expect_eof(name, s):
    try:
        s.settimeout(3)
        rest = s.recv(100)
        check(name + ": EOF after close", rest == b"", repr(rest[:40]))
    except OSError as e:
        check(name + ": EOF after close", False, repr(e))
    s.close()


def echo(s, op, payload, name):
    global n_in, n_out
    s.sendall(frame(op, payload))
    got = read_frame(s)
    check(name, got == (True, op, payload), repr(got)[:120])
    n_in += 1
    n_out += 1


def close_check(s, payload, want, name):
    s.sendall(frame(8, payload))
    got = read_frame(s)
    check(name + ": close echoed", got == (True, 8, want), repr(got))
    expect_eof(name, s)


# plain HTTP on the same port still gets its 200
s = conn()
s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
check("plain HTTP", read_head(s).startswith(b"HTTP/1.1 200 ") and read_exact(s, 13) == b"Hello, World!")
s.sendall(b"GET / HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n")
check("h2c upgrade is plain HTTP", read_head(s).startswith(b"HTTP/1.1 200 "))
read_exact(s, 13)
s.close()

# echo: subprotocol, text, binary, 70 KB, many frames per write, byte by byte
s, head = ws(b"/echo", b"Sec-WebSocket-Protocol: chat, superchat\r\n")
check("first subprotocol echoed", b"\r\nSec-WebSocket-Protocol: chat\r\n" in head, repr(head))
echo(s, 1, b"hello", "text echo")
echo(s, 2, bytes(range(256)) * 3, "binary echo")
echo(s, 2, os.urandom(70000), "70 KB echo")
echo(s, 1, b"", "empty text")
msgs = [("m%d" % i).encode() * (i + 1) for i in range(50)]
s.sendall(b"".join(frame(1, m) for m in msgs))
got = [read_frame(s) for _ in msgs]
check("50 frames in one write, answered in order", got == [(True, 1, m) for m in msgs])
n_in += 50
n_out += 50
f = frame(2, b"split at every byte")
for i in range(len(f)):
    s.sendall(f[i:i + 1])
    time.sleep(0.002)
check("frame written byte by byte", read_frame(s) == (True, 2, b"split at every byte"))
n_in += 1
n_out += 1
# fragmented message, a ping between its fragments: pong first, then one frame
s.sendall(frame(1, b"Hel", fin=False) + frame(9, b"p1"))
time.sleep(0.02)
s.sendall(frame(0, b"lo, ", fin=False))
time.sleep(0.02)
s.sendall(frame(10, b"unsolicited pong") + frame(0, b"World"))
check("pong for the interleaved ping", read_frame(s) == (True, 10, b"p1"))
check("fragments echoed as one frame", read_frame(s) == (True, 1, b"Hello, World"))
n_in += 1
n_out += 1
close_check(s, struct.pack(">H", 4001) + b"bye", struct.pack(">H", 4001), "close 4001")

# an upgrade head cut across writes; frames sent along with the head
s = conn()
key = base64.b64encode(os.urandom(16))
req = (b"GET /echo HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
       b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
for piece in (req[:10], req[10:70], req[70:]):
    s.sendall(piece)
    time.sleep(0.02)
head = read_head(s)
check("101 for a head cut in three", head.startswith(b"HTTP/1.1 101 ") and
      base64.b64encode(hashlib.sha1(key + GUID).digest()) in head, repr(head))
n_hs += 1
echo(s, 1, b"after a cut head", "echo after a cut head")
s.close()
s = conn()
s.sendall(req + frame(1, b"early") + frame(2, b"bird"))
check("101 with frames behind it", read_head(s).startswith(b"HTTP/1.1 101 "))
check("frames sent with the upgrade", read_frame(s) == (True, 1, b"early") and
      read_frame(s) == (True, 2, b"bird"))
n_hs += 1
n_in += 2
n_out += 2
s.close()

s, _ = ws(b"/")
echo(s, 1, b"root is echo", "echo on /")
close_check(s, b"", b"", "empty close")

# protocol errors: unmasked frame -> 1002, over --ws-max-msg -> 1009
s, _ = ws(b"/echo")
s.sendall(frame(1, b"naked", masked=False))
check("unmasked: close 1002", read_frame(s) == (True, 8, struct.pack(">H", 1002)))
expect_eof("unmasked", s)
s, _ = ws(b"/echo")
s.sendall(frame(2, bytes(100001)))
check("oversized: close 1009", read_frame(s) == (True, 8, struct.pack(">H", 1009)))
expect_eof("oversized", s)

# refused upgrades
s, head, _ = upgrade(b"/nope")
check("404 on /nope", head.startswith(b"HTTP/1.1 404 "), repr(head))
expect_eof("404", s)
s = conn()
s.sendall(b"GET /echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
          b"Sec-WebSocket-Version: 13\r\n\r\n")
head = read_head(s)
check("400 without a key", head.startswith(b"HTTP/1.1 400 "), repr(head))
expect_eof("400", s)
s, head, _ = upgrade(b"/echo", key=b"tooshort")
check("400 on a bad key", head.startswith(b"HTTP/1.1 400 "), repr(head))
s.close()

# rooms of 3: everyone gets every message, the sender too
room = [ws(b"/rooms/3")[0] for _ in range(3)]
for sender, text in ((1, b"from one"), (0, b"from zero"), (2, b"x" * 3000)):
    room[sender].sendall(frame(1, text))
    for i, m in enumerate(room):
        check("room message reaches member %d" % i, read_frame(m) == (True, 1, text))
    n_in += 1
    n_out += 3
fourth = ws(b"/rooms/3")[0]  # the 4th handshake starts the next room
echo(fourth, 2, b"alone", "a new room after three")
for m in room:
    m.settimeout(0.2)
    try:
        extra = m.recv(10)
        check("no message from another room", False, repr(extra))
    except socket.timeout:
        pass
room[2].close()  # a member leaving: the others still talk
room[0].settimeout(3)
room[1].settimeout(3)
room[0].sendall(frame(1, b"two left"))
check("after a member left", read_frame(room[0]) == (True, 1, b"two left") and
      read_frame(room[1]) == (True, 1, b"two left"))
n_in += 1
n_out += 2
for m in room[:2] + [fourth]:
    m.close()

# a member that never reads is dropped; the other keeps its round trips
silent = socket.socket()
silent.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
silent.connect(("127.0.0.1", port))
key = base64.b64encode(os.urandom(16))
silent.sendall(b"GET /rooms/2 HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
n_hs += 1
busy = ws(b"/rooms/2")[0]
blob = os.urandom(65536)
t0 = time.time()
for i in range(160):  # 10 MiB: past the 4 MiB queue and the kernel's buffers
    busy.sendall(frame(2, blob))
    if read_frame(busy) != (True, 2, blob):
        check("busy member's round trip %d" % i, False)
        break
    n_in += 1
    n_out += 1  # plus the silent member's copies until it was dropped
check("the silent member did not slow the room down", time.time() - t0 < 5)
busy.close()
silent.close()
print("counts %d %d %d" % (n_hs, n_in, n_out))
sys.exit(1 if bad else 0)
PY

cat >"$T_TMP/hold.py" <<'PY'
import socket, sys, time

port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


def held_seen(want, deadline):
    while time.time() < deadline:
        lines = [l for l in open(out).read().split("\n") if l.startswith("held ")]
        if lines and int(lines[-1].split()[1]) == want:
            return True
        time.sleep(0.05)
    return False


socks = []
for i in range(n):
    s = socket.socket()
    s.connect(("127.0.0.1", port))
    socks.append(s)
if not held_seen(n, time.time() + 5):
    print("FAIL: no 'held %d' report" % n, file=sys.stderr)
    sys.exit(1)
for s in socks:
    s.close()
if not held_seen(0, time.time() + 5):
    print("FAIL: no 'held 0' report after closing", file=sys.stderr)
    sys.exit(1)
PY

start_target --threads 1 --ws-max-msg 100000
python3 "$T_TMP/ws.py" "$TPORT" >"$T_TMP/counts" || fail "WebSocket checks failed (see above)"
read -r _ hs in out <"$T_TMP/counts"
stop_target
[ "$(tcount ws_handshakes)" -eq "$hs" ] || fail "ws_handshakes $(tcount ws_handshakes), want $hs"
[ "$(tcount ws_msgs_in)" -eq "$in" ] || fail "ws_msgs_in $(tcount ws_msgs_in), want $in"
# the silent member's copies count until it is dropped, so ws_msgs_out is
# at least what the client saw and at most every copy the room could get
o=$(tcount ws_msgs_out)
[ "$o" -ge "$out" ] && [ "$o" -le $((out + 160)) ] || fail "ws_msgs_out $o, want $out..$((out + 160))"
[ "$(tcount conns_closed_slow)" = 1 ] || fail "conns_closed_slow '$(tcount conns_closed_slow)', want 1"
[ "$ANSWERED" -eq 5 ] || fail "answered $ANSWERED, want 5 (2 plain, 1 404, 2 400)"

start_target --threads 2 --report-interval 100ms
python3 "$T_TMP/hold.py" "$TPORT" 3000 "$TOUT" || fail "held connections not reported"
stop_target
[ "$(tcount held_peak)" -eq 3000 ] || fail "held_peak $(tcount held_peak), want 3000"
echo ok
