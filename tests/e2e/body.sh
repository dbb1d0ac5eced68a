#!/usr/bin/env bash
# needs: python3
# Request bodies: --body and a 100 KB --body-file go out whole, every time.
. "$(dirname "$0")/lib.sh"

j="$T_TMP/post.json"
start_target
run_st -m POST --body hello -n 100 -c 2 --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 100" "c['responses'] == 100" "errs == 0" "cerrs == 0" \
    "d['config']['method'] == 'POST'" "d['config']['body_bytes'] == 5" \
    "c['bytes_out'] >= 100 * (len('POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello'))" \
    "c['bytes_out'] % 100 == 0"
[ "$ANSWERED" -eq 100 ] || fail "target answered $ANSWERED, want 100"

python3 -c 'import sys; open(sys.argv[1], "wb").write(bytes(i % 251 for i in range(100000)))' \
    "$T_TMP/body.bin"
j="$T_TMP/file.json"
start_target
run_st -m PUT --body-file "$T_TMP/body.bin" -n 50 -c 2 --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 50" "c['responses'] == 50" "errs == 0" "cerrs == 0" \
    "d['config']['body_bytes'] == 100000" "c['bytes_out'] >= 50 * 100000" \
    "c['bytes_out'] < 50 * 101000" "c['bytes_out'] % 50 == 0"
[ "$ANSWERED" -eq 50 ] || fail "target answered $ANSWERED, want 50"

# pipelined large bodies (several short sends per batch)
start_target
run_st -m POST --body-file "$T_TMP/body.bin" --pipeline 4 -n 40 -c 2 --json "$j" \
    "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] == 40" "errs == 0" "c['bytes_out'] >= 40 * 100000"
[ "$ANSWERED" -eq 40 ] || fail "target answered $ANSWERED, want 40"
echo ok
