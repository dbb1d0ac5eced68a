#!/usr/bin/env bash
# make demo: start the bundled target on a free loopback port, run a short
# default load against it (HTTP, then WebSocket echo), then the same target
# serving TLS with a throwaway test CA (HTTPS, verified against that CA),
# print the reports, stop the targets (by PID).
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$tmp"
}
trap cleanup EXIT

# start_target OUT ARGS...: sets addr to its "listening HOST:PORT"
start_target() {
    local out=$1
    shift
    "$build/stampede-target" --port 0 "$@" >"$out" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
        grep -q '^listening ' "$out" && break
        sleep 0.05
    done
    addr=$(sed -n 's/^listening //p' "$out" | head -n 1)
    [ -n "$addr" ] || { echo "demo: stampede-target did not start: $(cat "$out")" >&2; exit 1; }
}

start_target "$tmp/plain.out"
echo "demo: stampede-target listening on $addr"
echo "demo: $build/stampede -c 50 -d 5s --html $build/demo-report.html http://$addr/"
echo
"$build/stampede" -c 50 -d 5s --html "$build/demo-report.html" "http://$addr/"
echo "demo: the same run as one self-contained page: $build/demo-report.html (open it in a browser)"
echo
echo "demo: $build/stampede -c 50 --ws-pipeline 4 -d 3s ws://$addr/echo"
echo
"$build/stampede" -c 50 --ws-pipeline 4 -d 3s "ws://$addr/echo"

if ! command -v openssl >/dev/null; then
    echo "demo: no openssl command: skipping the HTTPS run (apt-get install openssl)"
    exit 0
fi
. "$root/tests/e2e/certs.sh"
make_certs "$tmp/certs"
start_target "$tmp/tls.out" --tls-cert "$tmp/certs/server.pem" --tls-key "$tmp/certs/server.key"
port=${addr##*:}
echo
echo "demo: stampede-target serving TLS on $addr (a throwaway CA made by tools/certs.sh)"
echo "demo: $build/stampede -c 50 -d 3s --reconnect --requests-per-conn 20 --cacert ca.pem https://localhost:$port/"
echo
"$build/stampede" -c 50 -d 3s --reconnect --requests-per-conn 20 --cacert "$tmp/certs/ca.pem" \
    "https://localhost:$port/"
