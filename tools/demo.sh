#!/usr/bin/env bash
# make demo: start the bundled target on a free loopback port, run a short
# default load against it (HTTP, then WebSocket echo), print the reports,
# stop the target (by PID).
set -euo pipefail
build=${1:-build}
out=$(mktemp)
"$build/stampede-target" --port 0 >"$out" 2>&1 &
tpid=$!
trap 'kill -TERM $tpid 2>/dev/null || true; wait $tpid 2>/dev/null || true; rm -f "$out"' EXIT
for _ in $(seq 100); do
    grep -q '^listening ' "$out" && break
    sleep 0.05
done
addr=$(sed -n 's/^listening //p' "$out" | head -n 1)
[ -n "$addr" ] || { echo "demo: stampede-target did not start: $(cat "$out")" >&2; exit 1; }
echo "demo: stampede-target listening on $addr"
echo "demo: $build/stampede -c 50 -d 5s http://$addr/"
echo
"$build/stampede" -c 50 -d 5s "http://$addr/"
echo
echo "demo: $build/stampede -c 50 --ws-pipeline 4 -d 3s ws://$addr/echo"
echo
"$build/stampede" -c 50 --ws-pipeline 4 -d 3s "ws://$addr/echo"
