#!/usr/bin/env bash
# Install what stampede needs from the distribution, only if missing.
#   tools/deps.sh build   compiler, liburing, wslay, OpenSSL, libfyaml
#   tools/deps.sh test    the above plus the test peers (nginx, python3)
# As root it runs apt-get; otherwise it prints the command and fails.
set -euo pipefail

build_pkgs=(gcc make pkg-config liburing-dev libwslay-dev libssl-dev libfyaml-dev)
test_pkgs=(nginx-light python3 curl)

want=("${build_pkgs[@]}")
[ "${1:-build}" = test ] && want+=("${test_pkgs[@]}")

missing=()
for p in "${want[@]}"; do
    case $p in
    nginx-light) command -v nginx >/dev/null 2>&1 && continue ;;
    python3) command -v python3 >/dev/null 2>&1 && continue ;;
    gcc) command -v cc >/dev/null 2>&1 && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
