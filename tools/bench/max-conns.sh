#!/usr/bin/env bash
# Max-connection hold test: stampede --hold opens N WebSocket connections at
# R per second against the bundled stampede-target and keeps them alive
# (a ping every 30 s) until -d ends, then this prints peak established
# connections, time to all, stampede's user memory and the host's kernel slab
# per connection (from stampede's JSON) and the target's held_peak line.
#
# As root it raises what a large hold needs (ip_local_port_range,
# somaxconn, tcp_max_syn_backlog, nf_conntrack_max when conntrack is loaded),
# prints each change and puts the old values back on exit (--keep-sysctls
# leaves them raised, --no-sysctls changes none). The target gets
# ceil(N/19000)+1 threads (a ring's direct-descriptor table holds at most
# RLIMIT_NOFILE = 20000 here).
# stampede spreads connections over 127.0.0.x source addresses by itself.
# The run is bounded: -d (default: N/R + 20 s), and a hard time-out of
# -d + 120 s on stampede.
#
# usage: tools/bench/max-conns.sh [-n N] [-r RATE] [-d SECONDS] [-t CONNECT_TIMEOUT] [--build DIR]
#                                 [--path /echo] [--keep-sysctls | --no-sysctls]
#   defaults: -n 200000 -r 50000 (per second), --build build, --path /echo
set -euo pipefail

N=200000
R=50000
D=
CT=5s
BUILD=build
WSPATH=/echo
KEEP=0
NOSYSCTL=0
while [ $# -gt 0 ]; do
    case "$1" in
    -n) N=$2; shift 2 ;;
    -r) R=${2%/s}; shift 2 ;;
    -d) D=${2%s}; shift 2 ;;
    -t) CT=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --path) WSPATH=$2; shift 2 ;;
    --keep-sysctls) KEEP=1; shift ;;
    --no-sysctls) NOSYSCTL=1; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "max-conns.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
case "$N$R" in *[!0-9]*) echo "max-conns.sh: -n and -r take integers" >&2; exit 2 ;; esac
[ -z "$D" ] && D=$(( (N + R - 1) / R + 20 ))
case "$D" in '' | *[!0-9]*) echo "max-conns.sh: -d takes whole seconds" >&2; exit 2 ;; esac
THREADS=$(( (N + 18999) / 19000 + 1 ))
for b in stampede stampede-target; do
    [ -x "$BUILD/$b" ] || { echo "max-conns.sh: $BUILD/$b not built (make)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/max-conns.XXXXXX)
TARGET_PID=
declare -a RESTORE=()

# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() {
    if [ -n "$TARGET_PID" ] && kill -0 "$TARGET_PID" 2>/dev/null; then
        kill "$TARGET_PID" 2>/dev/null || true
        wait "$TARGET_PID" 2>/dev/null || true
    fi
    local i
    for i in "${RESTORE[@]}"; do
        printf '%s\n' "${i#*=}" >"/proc/sys/$(printf '%s' "${i%%=*}" | tr . /)" &&
            echo "sysctl restored: $i"
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# raise NAME to VALUE (a number: only if larger; a range: as given)
raise() {
    local name=$1 want=$2 file old
    file=/proc/sys/${name//.//}
    [ -e "$file" ] || { echo "sysctl $name: not present, skipped"; return; }
    old=$(tr -s '\t ' '  ' < "$file")
    if [ "$old" = "$want" ]; then
        echo "sysctl $name: $old (kept)"
    elif [[ "$want" != *" "* ]] && [ "$old" -ge "$want" ]; then
        echo "sysctl $name: $old (kept, >= $want)"
    elif printf '%s\n' "$want" 2>/dev/null >"$file"; then
        echo "sysctl $name: $old -> $want"
        [ "$KEEP" = 1 ] || RESTORE+=("$name=$old")
    else
        echo "sysctl $name: $old (could not set $want)"
    fi
}

echo "# max-conns: N=$N R=$R/s -d ${D}s, target threads $THREADS, RLIMIT_NOFILE $(ulimit -n)"
if [ "$NOSYSCTL" = 1 ]; then
    echo "--no-sysctls: sysctls unchanged"
elif [ "$(id -u)" = 0 ]; then
    raise net.ipv4.ip_local_port_range "1024 65535"
    raise net.core.somaxconn 65535
    raise net.ipv4.tcp_max_syn_backlog 65535
    raise net.netfilter.nf_conntrack_max $(( 2 * N + 65536 ))
else
    echo "not root: sysctls unchanged"
fi

"$BUILD/stampede-target" --port 0 --threads "$THREADS" >"$TMP/target.out" 2>"$TMP/target.err" &
TARGET_PID=$!
PORT=
for _ in $(seq 100); do
    PORT=$(sed -n '1s/^listening .*:\([0-9]*\)$/\1/p' "$TMP/target.out")
    [ -n "$PORT" ] && break
    kill -0 "$TARGET_PID" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$PORT" ]; then
    echo "max-conns.sh: stampede-target did not start:" >&2
    cat "$TMP/target.err" >&2
    exit 1
fi
URL="ws://127.0.0.1:$PORT$WSPATH"
echo "# target listening on port $PORT; $BUILD/stampede --hold -c $N --connect-rate $R" \
     "--ping 30s -d ${D}s $URL"

RC=0
timeout --signal=INT $(( D + 120 )) "$BUILD/stampede" --hold -c "$N" --connect-rate "$R" --connect-timeout "$CT" \
    --ping 30s -d "${D}s" -q --json "$TMP/hold.json" "$URL" 2>"$TMP/stampede.err" || RC=$?

kill -TERM "$TARGET_PID" 2>/dev/null || true
wait "$TARGET_PID" 2>/dev/null || true
TARGET_PID=
HELD=$(grep -E '^held_peak' "$TMP/target.out" || true)

echo "# stampede exit code $RC"
[ -s "$TMP/stampede.err" ] && sed 's/^/# stampede: /' "$TMP/stampede.err" | tail -5
if [ ! -s "$TMP/hold.json" ]; then
    echo "max-conns.sh: stampede wrote no result" >&2
    exit 1
fi
python3 - "$TMP/hold.json" "$N" "$R" "$D" "$THREADS" "$HELD" <<'EOF'
import json, re, sys
path, n, r, d, threads, held = sys.argv[1:7]
res = json.load(open(path))
cap, c = res["capacity"], res["counters"]
m = re.search(r"held_peak\D*(\d+)", held)
errs = {k: v for k, v in c["conn_errors"].items() if v}
tta = cap["time_to_all_s"]
print()
print(f"## Hold: {n} WebSocket connections at {r}/s, ping every 30 s, -d {d}s, "
      f"target {threads} threads\n")
print("| figure | value |")
print("| --- | --- |")
print(f"| peak established (stampede) | {cap['peak_established']} of {cap['requested']} |")
print(f"| held peak (target) | {m.group(1) if m else (held or 'no held_peak line')} |")
print(f"| time to all | {f'{tta:.2f} s' if tta else 'never (not all established)'} |")
print(f"| stampede user memory per connection | {cap['user_bytes_per_conn']:.0f} bytes |")
print(f"| kernel slab per connection (host-wide, both ends) | "
      f"{cap['kernel_slab_bytes_per_conn']:.0f} bytes |")
print(f"| connections failed | {c['connections']['failed']}"
      + (f" ({', '.join(f'{k} {v}' for k, v in errs.items())})" if errs else "") + " |")
print(f"| SYN retransmits (host-wide) | {cap['syn_retransmits']} |")
EOF
echo
echo "target: $(tr '\n' ' ' < "$TMP/target.out")"
exit "$RC"
