#!/usr/bin/env bash
# needs: python3 script
# Live progress: on a TTY one status line is redrawn and erased at the end;
# not a TTY: nothing, or one plain line per 10 s with --progress.
. "$(dirname "$0")/lib.sh"

start_target
# a pty through script(1); the typescript records every byte written to it
script -qec "$STAMPEDE -c 4 -d 2500ms http://127.0.0.1:$TPORT/" "$T_TMP/tty" >/dev/null ||
    fail "stampede under a pty failed: $(tail -n 5 "$T_TMP/tty")"
python3 - "$T_TMP/tty" <<'PY' || fail "no status line redrawn and erased on the TTY"
import sys
b = open(sys.argv[1], "rb").read()
draws = b.count(b"\r\x1b[K[")
erase = b.rfind(b"\r\x1b[K")
summary = b.find(b"http_req_duration")
print("draws", draws, "erase at", erase, "summary at", summary, file=sys.stderr)
assert draws >= 2 and b"req/s" in b and b"p99" in b
assert 0 <= erase < summary  # erased before the summary is printed
PY

run_st -c 4 -d 1500ms "http://127.0.0.1:$TPORT/"
expect_rc 0
[ ! -s "$T_TMP/err" ] || fail "progress written when stderr is not a TTY: $(head -c 200 "$T_TMP/err")"

run_st -c 4 -d 10500ms --progress "http://127.0.0.1:$TPORT/"
expect_rc 0
n=$(grep -c 'req/s' "$T_TMP/err" || true)
[ "$n" -eq 1 ] || fail "--progress without a TTY printed $n lines, want 1: $(cat "$T_TMP/err")"
! grep -q $'\r' "$T_TMP/err" || fail "--progress without a TTY used carriage returns"
stop_target
