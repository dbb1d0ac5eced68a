#!/usr/bin/env bash
# Test runner: unit programs, corpus replays of the fuzz drivers, and end to
# end scripts. Each test runs under a timeout and exits 0 (pass), 1 (fail)
# or 77 (skip). An e2e script declares what it needs in a header line
#   # needs: nginx python3
# and is skipped, with the reason, when a need is missing. A test whose
# name starts with xfail_ is expected to fail. The last line is
#   N passed, N failed, N skipped
# Usage: tests/run.sh BUILD_DIR [NAME-FILTER]
set -u
build=${1:-build}
filter=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export STAMPEDE="$root/$build/stampede" TARGET="$root/$build/stampede-target"
export TESTS_DIR="$here" ROOT="$root"
logdir="$root/$build/test-logs"
mkdir -p "$logdir"
timings="$root/$build/test-timings"
touch "$timings"
pass=0 fail=0 skip=0
failed=()

last_time() { awk -v n="$1" '$1 == n { print $2 }' "$timings"; }

# run NAME TIMEOUT CMD...
run() {
    local name=$1 limit=$2 rc t0 t1 ms prev note=""
    shift 2
    [ -n "$filter" ] && [[ $name != *$filter* ]] && return
    mkdir -p "$(dirname "$logdir/$name.log")"
    t0=$(date +%s%N)
    timeout -k 5 "$limit" "$@" >"$logdir/$name.log" 2>&1
    rc=$?
    t1=$(date +%s%N)
    ms=$(((t1 - t0) / 1000000))
    prev=$(last_time "$name")
    [ -n "$prev" ] && note=" (last run ${prev}ms)"
    { grep -v "^$name " "$timings"; echo "$name $ms"; } >"$timings.new" && mv "$timings.new" "$timings"
    if [[ $name == xfail_* ]]; then
        [ $rc -ne 0 ] && [ $rc -ne 77 ] && rc=0 || rc=1
    fi
    case $rc in
    0) pass=$((pass + 1)); echo "PASS $name ${ms}ms$note" ;;
    77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$logdir/$name.log")" ;;
    124 | 137) fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name: timed out after $limit s" ;;
    *) fail=$((fail + 1)); failed+=("$name"); echo "FAIL $name (exit $rc), log: $logdir/$name.log"
       tail -n 15 "$logdir/$name.log" | sed 's/^/    /' ;;
    esac
}

# needs WORD...: print the first missing need
missing_need() {
    local w
    for w in "$@"; do
        case $w in
        slow) [ -n "${STAMPEDE_SLOW:-}" ] || { echo "slow (set STAMPEDE_SLOW=1)"; return; } ;;
        root) [ "$(id -u)" -eq 0 ] || { echo "root (ip netns) not available"; return; } ;;
        *) command -v "$w" >/dev/null 2>&1 || { echo "$w not installed"; return; } ;;
        esac
    done
}

for t in "$root/$build"/tests/test_*; do
    [ -x "$t" ] && run "unit/$(basename "$t")" 60 "$t"
done
for t in "$root/$build"/tests/replay_*; do
    [ -x "$t" ] || continue
    n=$(basename "$t"); n=${n#replay_}
    run "fuzz-corpus/$n" 60 "$t" "$here/fuzz/corpus/$n"
done
for t in "$here"/e2e/*.sh; do
    [ -e "$t" ] || continue
    [ "$(basename "$t")" = lib.sh ] && continue # helpers, sourced by the tests
    n=e2e/$(basename "$t" .sh)
    needs=$(sed -n 's/^# needs: *//p' "$t" | head -n 1)
    why=$(missing_need $needs)
    if [ -n "$why" ]; then
        [ -n "$filter" ] && [[ $n != *$filter* ]] && continue
        skip=$((skip + 1)); echo "SKIP $n: needs $why"; continue
    fi
    run "$n" 120 bash "$t"
done

[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]
