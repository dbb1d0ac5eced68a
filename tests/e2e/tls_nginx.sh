#!/usr/bin/env bash
# needs: nginx python3 openssl
# HTTPS against nginx (a TLS server nobody here wrote): verified and
# --insecure runs with exact counts, one full handshake per connection on
# keep-alive, resumption on reconnect (TLS 1.3 and 1.2) and none with
# --tls-resume=off, --tls-min, --tls13-ciphers / --ciphers, --alpn, a client
# certificate, and a failed verification (exit 1, reason named).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/certs.sh"

C="$T_TMP/certs"
make_certs "$C"
start_nginx_tls "$C/server.pem" "$C/server.key"
url="https://localhost:$NPORT/"
j="$T_TMP/tls.json"

# keep-alive, verified against the test CA: one full handshake per connection
run_st -c 20 -d 2s --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['responses'] > 1000" "errs == 0" "cerrs == 0" \
    "c['status']['codes'] == {'200': c['responses']}" "c['connections']['established'] == 20"
jtls "$j" "t['handshakes_full'] == 20" "t['handshakes_resumed'] == 0" \
    "t['handshakes_failed'] == 0" "t['failures'] == {}" "t['insecure'] is False" \
    "t['resume'] is True" "nneg == 20" "all(v == 'TLSv1.3' for v, _ in neg)" \
    "m['tls_handshake_time']['count'] == 20" \
    "m.get('tls_handshake_time_resumed', {}).get('count', 0) == 0"

# -k: an IP literal (no SNI; the name would not be checked anyway), exact counts
run_st -k -c 4 -n 2000 --json "$j" "https://127.0.0.1:$NPORT/"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 2000" "c['responses'] == 2000" "errs == 0" "cerrs == 0" \
    "c['status']['2xx'] == 2000"
jtls "$j" "t['insecure'] is True" "t['handshakes_full'] == 4" "t['handshakes_failed'] == 0"

# pipelining over TLS: exact counts
run_st --pipeline 8 -c 10 -n 20000 --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['requests'] == 20000" "c['responses'] == 20000" "errs == 0" "cerrs == 0" \
    "c['status']['2xx'] == 20000" "c['in_flight_at_end'] == 0"
jtls "$j" "t['handshakes_full'] == 10" "t['handshakes_failed'] == 0"

# a new connection per request: all but the first per connection slot resume
# (handshakes cut by the end of the run may fail: at most one per connection)
run_st --reconnect --requests-per-conn 1 -c 10 -d 2s --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['sessions_ok'] > 100" "c['status']['2xx'] == c['responses']"
jtls "$j" "t['resume'] is True" "t['handshakes_failed'] <= 10" \
    "t['handshakes_resumed'] >= 0.95 * (hs - 10)" \
    "nneg == hs" \
    "m['tls_handshake_time']['count'] == hs" \
    "m['tls_handshake_time_full']['count'] == t['handshakes_full']" \
    "m['tls_handshake_time_resumed']['count'] == t['handshakes_resumed']"

# the same with --tls-resume=off: every handshake is a full one
run_st --reconnect --requests-per-conn 1 -c 10 -d 2s --tls-resume=off --cacert "$C/ca.pem" \
    --json "$j" "$url"
expect_rc 0
check_identity "$j"
jassert "$j" "c['sessions_ok'] > 20"
jtls "$j" "t['resume'] is False" "t['handshakes_resumed'] == 0" \
    "t['handshakes_full'] >= c['sessions_ok']" "t['handshakes_failed'] <= 10" \
    "m.get('tls_handshake_time_resumed', {}).get('count', 0) == 0"

# --tls-min 1.3: only TLS 1.3
run_st --tls-min 1.3 -c 4 -n 500 --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
jassert "$j" "c['responses'] == 500" "errs == 0"
jtls "$j" "t['handshakes_full'] == 4" "nneg == 4" "all(v == 'TLSv1.3' for v, _ in neg)"

# TLS 1.3 suites: offered only ChaCha20, the server must pick it
run_st --tls-min 1.2 --tls13-ciphers TLS_CHACHA20_POLY1305_SHA256 -c 4 -n 500 \
    --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
jassert "$j" "c['responses'] == 500" "errs == 0"
jtls "$j" "neg == [('TLSv1.3', 'TLS_CHACHA20_POLY1305_SHA256')]" "nneg == 4"

# ALPN: nginx without http2 accepts http/1.1 and answers a client that offers
# only h2 with a no_application_protocol alert (nginx >= 1.21.4)
run_st --alpn http/1.1 -c 2 -n 100 --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 0
jassert "$j" "c['responses'] == 100" "errs == 0"
run_st --alpn h2 -c 2 -d 1s --cacert "$C/ca.pem" --json "$j" "$url"
expect_rc 1
jtls "$j" "hs == 0" "t['handshakes_failed'] >= 1"

# a server certificate from another CA: no handshake succeeds, exit 1, and the
# reason says why
run_st -c 2 -d 1s --cacert "$C/other-ca.pem" --json "$j" "$url"
expect_rc 1
jassert "$j" "c['responses'] == 0" "'certificate verify failed' in d['exit_reason'].lower()"
jtls "$j" "hs == 0" "t['handshakes_failed'] >= 1" \
    "any('certificate verify failed' in k.lower() for k in t['failures'])" \
    "sum(t['failures'].values()) == t['handshakes_failed']"

# a TLS 1.2-only nginx: --tls-min 1.3 cannot connect; 1.2 resumes and
# --ciphers picks the 1.2 suite
start_nginx_tls "$C/server.pem" "$C/server.key" 'ssl_protocols TLSv1.2;'
url12="https://localhost:$NPORT/"
run_st --tls-min 1.3 -c 2 -d 1s --cacert "$C/ca.pem" --json "$j" "$url12"
expect_rc 1
jtls "$j" "hs == 0" "t['handshakes_failed'] >= 1"
run_st --reconnect --requests-per-conn 1 -c 10 -d 2s --cacert "$C/ca.pem" --json "$j" "$url12"
expect_rc 0
check_identity "$j"
jassert "$j" "c['sessions_ok'] > 100"
jtls "$j" "all(v == 'TLSv1.2' for v, _ in neg)" "t['handshakes_failed'] <= 10" \
    "t['handshakes_resumed'] >= 0.95 * (hs - 10)"
run_st --ciphers ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-CHACHA20-POLY1305 -c 2 -n 100 \
    --cacert "$C/ca.pem" --json "$j" "$url12"
expect_rc 0
jassert "$j" "c['responses'] == 100" "errs == 0"
jtls "$j" "len(neg) == 1" "neg[0][0] == 'TLSv1.2'" "'CHACHA20' in neg[0][1].upper()"

# client certificates: nginx asks for one signed by the test CA and answers
# 400 (not a handshake failure) to a client that sends none
start_nginx_tls "$C/server.pem" "$C/server.key" \
    "ssl_verify_client on; ssl_client_certificate $C/ca.pem;"
urlcc="https://localhost:$NPORT/"
run_st --cert "$C/client.pem" --key "$C/client.key" -c 2 -n 100 --cacert "$C/ca.pem" \
    --json "$j" "$urlcc"
expect_rc 0
jassert "$j" "c['responses'] == 100" "c['status']['codes'] == {'200': 100}" "errs == 0"
run_st -c 1 -n 10 --cacert "$C/ca.pem" --json "$j" "$urlcc"
jassert "$j" "c['status']['2xx'] == 0" "c['status']['codes'].get('400', 0) >= 1"
echo ok
