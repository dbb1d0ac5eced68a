#!/usr/bin/env bash
# tools/certs.sh DIR: make a throwaway test CA and certificates in DIR with
# the openssl CLI (the same set the tests use, see tests/e2e/certs.sh):
# DIR/ca.pem to pass to --cacert, DIR/server.pem + DIR/server.key for
# `stampede-target --tls-cert ... --tls-key ...` (localhost, 127.0.0.1, ::1),
# DIR/client.pem + DIR/client.key for --cert/--key, and expired, wrong-name
# and untrusted ones to see verification fail.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: tools/certs.sh DIR" >&2; exit 2; }
. "$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/certs.sh"
make_certs "$1"
echo "certs: CA $1/ca.pem, server $1/server.pem + $1/server.key, client $1/client.pem + $1/client.key"
