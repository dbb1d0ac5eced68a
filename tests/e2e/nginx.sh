#!/usr/bin/env bash
# needs: nginx python3
# Against nginx (a real server, 13-byte body): no errors, exact counts with
# pipelining, and HEAD responses (no body) parse.
. "$(dirname "$0")/lib.sh"

start_nginx
url="http://127.0.0.1:$NPORT/"

j="$T_TMP/get.json"
run_st -c 50 -d 2s --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] > 1000" "errs == 0" "cerrs == 0" \
    "c['status']['2xx'] == c['responses']" "c['status']['codes'] == {'200': c['responses']}" \
    "c['connections']['established'] == 50" "c['connections']['closed'] <= 50" \
    "c['unsolicited_responses'] == 0"

j="$T_TMP/pipe.json"
run_st --pipeline 8 -c 10 -n 20000 --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 20000" "c['responses'] == 20000" "errs == 0" "cerrs == 0" \
    "c['status']['2xx'] == 20000" "c['in_flight_at_end'] == 0"
get_per=$(jget "$j" "d['counters']['bytes_in'] // 20000")

j="$T_TMP/head.json"
run_st -m HEAD -n 1000 -c 4 --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 1000" "c['responses'] == 1000" "errs == 0" "cerrs == 0" \
    "c['status']['2xx'] == 1000" "d['config']['method'] == 'HEAD'" \
    "c['bytes_in'] // 1000 <= $get_per - 13" "h['max'] < 1000000"
echo ok
