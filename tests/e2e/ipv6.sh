#!/usr/bin/env bash
# needs: python3
# IPv6 literal URLs: http://[::1]:PORT/ reaches a target bound to ::1.
. "$(dirname "$0")/lib.sh"

python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null ||
    skip "::1 is not available here"
j="$T_TMP/v6.json"
start_target --host ::1
run_st -n 1000 -c 4 --json "$j" "http://[::1]:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 1000" "c['responses'] == 1000" "errs == 0" "cerrs == 0" \
    "d['config']['address'] == '[::1]:$TPORT'" \
    "d['config']['headers'] == ['Host: [::1]:$TPORT']"
[ "$ANSWERED" -eq 1000 ] || fail "target answered $ANSWERED, want 1000"
grep -qF "[::1]:$TPORT" "$T_TMP/out" || fail "the summary does not show [::1]:$TPORT"
echo ok
