#!/usr/bin/env bash
# netns-demo.sh: several load-generating hosts on one machine.
#
#   sudo tools/distributed/netns-demo.sh [-o DIR] [-s SHARDS] [-- stampede args]
#
# Makes SHARDS + 1 network namespaces joined by veth links to a bridge (a
# small LAN, 10.77.0.0/24): the bundled stampede-target runs in the first
# (10.77.0.1), one stampede shard in each of the others; the shards run
# through tools/distributed/stampede-shard exactly as the Kubernetes Job
# does (start barrier, --shard i/N, shard 1 merges). Results land in DIR
# (default: a new temporary directory): shard-*.json, merged.json,
# report.html, target.out (the target's own "answered N" count).
# Default load: -c 8 -n 20000 http://10.77.0.1:PORT/ with a threshold on
# the merge. Exit: the merged verdict (0, 99 threshold failed, 1 error).
# Everything it made (namespaces, links, processes) is removed on exit.
# Needs root and iproute2; every address is private to the namespaces.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
STAMPEDE=${STAMPEDE:-$root/build/stampede}
TARGET=${TARGET:-$root/build/stampede-target}
out="" shards=2
while [ $# -gt 0 ]; do
    case $1 in
    -o) out=$2; shift 2 ;;
    -s) shards=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [-o DIR] [-s SHARDS] [-- stampede args]" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "netns-demo: needs root (ip netns)" >&2; exit 2; }
case $shards in
[1-9] | [1-9][0-9] | 1[0-9][0-9] | 2[0-4][0-9] | 25[0-3]) ;;
*) echo "netns-demo: -s takes 1 to 253 shards (one /24)" >&2; exit 2 ;;
esac
[ -x "$STAMPEDE" ] && [ -x "$TARGET" ] || { echo "netns-demo: build first (make)" >&2; exit 2; }
[ -n "$out" ] || out=$(mktemp -d "${TMPDIR:-/tmp}/stampede-netns.XXXXXX")
mkdir -p "$out"
if [ -n "$(ls -A "$out")" ]; then
    echo "netns-demo: $out is not empty: give a new directory (-o)" >&2
    exit 2
fi

tag="st$$"                 # unique per run: namespaces and links
ns_t="${tag}t" br="${tag}br"
pids=()
cleanup() {
    local p k ns
    # what runs inside our namespaces is ours (stampede under `ip netns exec`)
    for ns in "$ns_t" $(for ((k = 1; k <= shards; k++)); do echo "${tag}s$k"; done); do
        for p in $(ip netns pids "$ns" 2>/dev/null); do kill -TERM "$p" 2>/dev/null || true; done
    done
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    ip netns del "$ns_t" 2>/dev/null || true
    for ((k = 1; k <= shards; k++)); do ip netns del "${tag}s$k" 2>/dev/null || true; done
}
trap cleanup EXIT

ip netns add "$ns_t"
ip -n "$ns_t" link set lo up
ip -n "$ns_t" link add "$br" type bridge
ip -n "$ns_t" addr add 10.77.0.1/24 dev "$br"
ip -n "$ns_t" link set "$br" up
for ((k = 1; k <= shards; k++)); do
    ns="${tag}s$k"
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    # one veth per shard host: eth0 in its namespace, the peer on the bridge
    ip link add "${tag}v$k" netns "$ns" type veth peer name "${tag}p$k" netns "$ns_t"
    ip -n "$ns" link set "${tag}v$k" name eth0
    ip -n "$ns" addr add "10.77.0.$((k + 1))/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns_t" link set "${tag}p$k" master "$br" up
done

ip netns exec "$ns_t" "$TARGET" --host 10.77.0.1 --port 0 >"$out/target.out" 2>&1 &
pids+=($!)
port=""
for _ in $(seq 100); do
    port=$(sed -n 's/^listening .*:\([0-9]*\)$/\1/p' "$out/target.out" | head -n 1)
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "netns-demo: target did not start: $(cat "$out/target.out")" >&2; exit 1; }
if [ $# -eq 0 ]; then
    set -- -c 8 -n 20000 --threshold 'http_req_duration:p(99)<1s' "http://10.77.0.1:$port/"
else
    set -- "${@//\{PORT\}/$port}" # the caller may write {PORT} in the URL
fi

# the shards run at the same time; shard 1 merges and gives the verdict
spids=()
for ((k = 1; k <= shards; k++)); do
    SHARD=$k SHARDS=$shards RESULTS="$out" STAMPEDE="$STAMPEDE" BARRIER_S=30 MERGE_WAIT_S=600 \
        ip netns exec "${tag}s$k" "$here/stampede-shard" -q "$@" >"$out/shard-$k.out" 2>&1 &
    spids+=($!)
    pids+=($!)
done
rc=0
for k in "${!spids[@]}"; do
    wait "${spids[$k]}" || { r=$?; [ "$k" -eq 0 ] && rc=$r; }
done
kill -TERM "${pids[0]}" && wait "${pids[0]}" || true
pids=()
cat "$out/shard-1.out"
echo "netns-demo: $shards shards, results in $out; target: $(grep '^answered' "$out/target.out")"
exit "$rc"
