#!/usr/bin/env bash
# needs: python3
# --hold: connections opened at --connect-rate and kept alive by pings
# (WebSocket) or a request per --ping (HTTP); requested vs established,
# the time to reach the target and memory per connection are reported.
. "$(dirname "$0")/lib.sh"

j="$T_TMP/hold.json"
start_target
run_st --hold -c 2000 --connect-rate 4000/s --ping 300ms -d 3s --json "$j" \
    "ws://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
jassert "$j" "cap['peak_established'] == 2000" "ws['handshakes'] == 2000" \
    "c['connections']['established'] == 2000" "c['connections']['failed'] == 0" \
    "0.3 < cap['time_to_all_s'] < 2.5" "ws['pings'] >= 2000 * 5" \
    "ws['pongs'] >= ws['pings'] - 2000" "m['ws_ping_rtt']['count'] == ws['pongs']" \
    "cap['user_bytes_per_conn'] > 0" "cap['ws_contexts'] < 2000"
[ "$(tcount held_peak)" -ge 2000 ] || fail "target held_peak $(tcount held_peak), want 2000"
grep -q 'capacity' "$T_TMP/out" || fail "no capacity line in the report"

# HTTP: one request per --ping per connection
start_target
run_st --hold -c 500 --ping 500ms -d 2s --json "$j" "http://127.0.0.1:$TPORT/"
stop_target
expect_rc 0
check_identity "$j"
jassert "$j" "cap['peak_established'] == 500" "1500 <= c['responses'] <= 2600" "errs == 0"
echo ok
