#!/usr/bin/env bash
# needs: python3
# A server slower than --timeout: every request fails as a timeout, recorded
# at the moment it failed; nothing succeeded, so exit 1 with the reason.
. "$(dirname "$0")/lib.sh"

j="$T_TMP/timeout.json"
start_target --delay 2s
run_st --timeout 300ms -c 4 -d 1500ms --json "$j" "http://127.0.0.1:$TPORT/"
expect_rc 1
check_identity "$j"
jassert "$j" "d['exit_code'] == 1" "c['errors']['timeout'] > 0" "c['responses'] == 0" \
    "errs == c['errors']['timeout']" "h['count'] == errs" \
    "h['min'] >= 300000" "h['max'] < 1500000" "h['p50'] < 400000" \
    "'timeout' in d['exit_reason'] or 'timed out' in d['exit_reason']" \
    "d['config']['timeout_s'] == 0.3" "d['duration_s'] < 2.5"
grep -q 'timeout' "$T_TMP/out" || fail "the text summary does not mention the timeouts"
grep -q 'exit 1' "$T_TMP/out" || fail "the text summary does not show exit 1"
stop_target
# the target still answers requests of clients that closed (after 2 s), so
# only an upper bound holds here
[ "$ANSWERED" -le "$(jget "$j" "d['counters']['requests']")" ] ||
    fail "target answered $ANSWERED, more than stampede sent"
echo ok
