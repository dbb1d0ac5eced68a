#!/usr/bin/env bash
# Install what stampede needs from the distribution, only if missing.
#   tools/deps.sh build   compiler, liburing, wslay, OpenSSL, libfyaml, zlib
#   tools/deps.sh test    the above plus the test peers (nginx, python3, node and
#                         the npm `ws` server and hdr-histogram-js in tests/node;
#                         chromium, headless, for the HTML report test)
# As root it runs apt-get; otherwise it prints the command and fails.
set -euo pipefail

build_pkgs=(gcc make pkg-config liburing-dev libwslay-dev libssl-dev libfyaml-dev zlib1g-dev openssl)
test_pkgs=(nginx-light python3 curl nodejs npm chromium)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    case $p in
    nginx-light) command -v nginx >/dev/null 2>&1 && continue ;;
    python3) command -v python3 >/dev/null 2>&1 && continue ;;
    nodejs) command -v node >/dev/null 2>&1 && continue ;;
    npm) command -v npm >/dev/null 2>&1 && continue ;;
    chromium) command -v chromium >/dev/null 2>&1 && continue ;;
    gcc) command -v cc >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# the npm peers (tests/node/package-lock.json pins them)
node_peers() {
    [ "${1:-build}" = test ] || return 0
    local dir
    dir="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
    local m have=1
    for m in ws hdr-histogram-js kubernetes-models yaml; do
        [ -d "$dir/node_modules/$m" ] || have=0
    done
    [ "$have" -eq 1 ] && return 0
    command -v npm >/dev/null 2>&1 || return 0
    echo "deps: npm ci in tests/node" >&2
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >&2) ||
        echo "deps: npm ci failed: tests that need the node ws server will be skipped" >&2
}

if [ ${#missing[@]} -eq 0 ]; then
    node_peers "${1:-build}"
    exit 0
fi

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" != 0 ]; then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: run as root: apt-get update && $cmd" >&2
    exit 1
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
# nginx's package starts a system service on port 80; keep it from doing so
if printf '%s\n' "${missing[@]}" | grep -q nginx && [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$cmd >&2
node_peers "${1:-build}"
