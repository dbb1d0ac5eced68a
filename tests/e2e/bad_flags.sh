#!/usr/bin/env bash
# Usage errors exit 2, name the offending value on stderr, print no report
# and never crash; --help and --version exit 0.
. "$(dirname "$0")/lib.sh"

url=http://127.0.0.1:9/

# st ARGS...: run stampede (bounded), sets rc, leaves out/err in $T_TMP
st() {
    set +e
    timeout -k 2 5 "$STAMPEDE" "$@" >"$T_TMP/out" 2>"$T_TMP/err"
    rc=$?
    set -e
    [ $rc -ne 124 ] || fail "stampede $* ran a load instead of refusing the arguments"
    if [ $rc -ge 128 ] && [ $rc -ne 130 ]; then
        fail "stampede $* crashed (exit $rc): $(cat "$T_TMP/err")"
    fi
}

# bad WANT-IN-STDERR ARGS...: exit 2, stderr contains WANT, stdout empty
bad() {
    local want=$1
    shift
    st "$@"
    [ $rc -eq 2 ] || fail "stampede $* exited $rc, want 2; stderr: $(cat "$T_TMP/err")"
    grep -qF -- "$want" "$T_TMP/err" ||
        fail "stampede $*: stderr does not name '$want': $(cat "$T_TMP/err")"
    [ ! -s "$T_TMP/out" ] || fail "stampede $* printed on stdout: $(head -n 3 "$T_TMP/out")"
    ! grep -qE 'latency|requests +[0-9]|http_req_duration' "$T_TMP/err" ||
        fail "stampede $* printed a report: $(cat "$T_TMP/err")"
    [ "$(wc -l <"$T_TMP/err")" -le 5 ] || fail "stampede $*: stderr is not a short message"
}

bad "'abc'" -c abc "$url"
bad "'0'" -c 0 "$url"
bad "connections" -c 0 "$url"
bad "10parsecs" -d 10parsecs "$url"
bad "'-1'" -t -1 "$url"
bad "'0'" --pipeline 0 "$url"
bad "pipeline" --pipeline 0 "$url"
bad "'0'" -n 0 "$url"
bad "novalue" -H novalue "$url"
bad "'x'" --timeout x "$url"
bad "--conections" --conections 5 "$url"
bad "--connections?" --conections 5 "$url"
bad "needs a value" "$url" -c
bad "missing URL" -c 1
bad "more than one URL" "$url" http://127.0.0.1:10/
bad "http://127.0.0.1:10/" "$url" http://127.0.0.1:10/
bad "ftp" ftp://x/
bad "http://[::1" "http://[::1"
bad "99999" http://127.0.0.1:99999/
bad "0" http://127.0.0.1:0/
bad "'nope'" --body-file nope "$url"

st --help
[ $rc -eq 0 ] || fail "--help exited $rc"
grep -q examples "$T_TMP/out" || fail "--help prints no examples"
grep -q -- --connections "$T_TMP/out" || fail "--help does not list --connections"
[ ! -s "$T_TMP/err" ] || fail "--help wrote to stderr: $(cat "$T_TMP/err")"

st --version
[ $rc -eq 0 ] || fail "--version exited $rc"
grep -q '^stampede ' "$T_TMP/out" || fail "--version prints '$(cat "$T_TMP/out")'"
echo ok
