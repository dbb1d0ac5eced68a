# Test certificates, made at test time with the openssl CLI (OpenSSL 3.0)
# alone; nothing secret is ever committed. Sourced by e2e tests:
#   . "$(dirname "$0")/certs.sh"; make_certs "$T_TMP/certs"
# make_certs DIR writes into DIR (EC P-256 keys, so it takes well under a
# second; quiet on success, and it fails loudly with openssl's own output):
#   ca.pem/ca.key               the test CA
#   server.pem/server.key       CN=localhost, DNS:localhost, IP:127.0.0.1, IP:::1
#   expired.pem/expired.key     the same names, validity wholly in the past
#   wrongname.pem/wrongname.key only DNS:wrong.example
#   client.pem/client.key       a client certificate (extendedKeyUsage clientAuth)
#   other-ca.pem/other-ca.key   a second CA nobody trusts
#   untrusted.pem/untrusted.key localhost/127.0.0.1, signed by other-ca
# OpenSSL 3.0's `req -x509` and `x509 -req` reject -days 0 and negative
# days, so the expired certificate comes from `openssl ca` with explicit
# -startdate/-enddate and a throwaway CA database in DIR/ca-db.

# certs_run LOG CMD...: run an openssl command, its output kept in LOG and
# shown (with the command) only if it fails
certs_run() {
    local log=$1
    shift
    if ! "$@" >"$log" 2>&1; then
        echo "make_certs: failed: $*" >&2
        cat "$log" >&2
        return 1
    fi
}

# certs_key DIR NAME: an EC P-256 private key DIR/NAME.key
certs_key() {
    certs_run "$1/openssl.log" openssl genpkey -algorithm EC \
        -pkeyopt ec_paramgen_curve:P-256 -out "$1/$2.key"
}

# certs_ca DIR NAME CN: a self-signed CA DIR/NAME.pem
certs_ca() {
    certs_key "$1" "$2" || return 1
    certs_run "$1/openssl.log" openssl req -x509 -new -key "$1/$2.key" -out "$1/$2.pem" \
        -days 30 -subj "/CN=$3" -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
}

# certs_leaf DIR NAME CA CN EXTFILE: DIR/NAME.pem for a new key, signed by
# DIR/CA.{pem,key} with the extensions in EXTFILE (section "ext")
certs_leaf() {
    local d=$1 n=$2 ca=$3 cn=$4 ext=$5
    certs_key "$d" "$n" || return 1
    certs_run "$d/openssl.log" openssl req -new -key "$d/$n.key" -out "$d/$n.csr" \
        -subj "/CN=$cn" || return 1
    certs_run "$d/openssl.log" openssl x509 -req -in "$d/$n.csr" -CA "$d/$ca.pem" \
        -CAkey "$d/$ca.key" -CAcreateserial -out "$d/$n.pem" -days 30 \
        -extfile "$ext" -extensions ext
}

# certs_expired DIR: DIR/expired.pem, valid from 2020 to 2021, through
# `openssl ca` and a throwaway database
certs_expired() {
    local d=$1 db=$1/ca-db
    mkdir -p "$db/new" || return 1
    : >"$db/index.txt"
    echo 1000 >"$db/serial"
    cat >"$db/ca.cnf" <<EOF
[ca]
default_ca = test_ca
[test_ca]
dir = $db
database = $db/index.txt
new_certs_dir = $db/new
serial = $db/serial
default_md = sha256
policy = any
copy_extensions = none
unique_subject = no
[any]
commonName = supplied
[ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
extendedKeyUsage = serverAuth
EOF
    certs_key "$d" expired || return 1
    certs_run "$d/openssl.log" openssl req -new -key "$d/expired.key" -out "$d/expired.csr" \
        -subj "/CN=localhost" || return 1
    certs_run "$d/openssl.log" openssl ca -batch -notext -config "$db/ca.cnf" \
        -cert "$d/ca.pem" -keyfile "$d/ca.key" -in "$d/expired.csr" -out "$d/expired.pem" \
        -startdate 20200101000000Z -enddate 20210101000000Z -extensions ext
}

make_certs() {
    local d=${1:?usage: make_certs DIR}
    mkdir -p "$d" || return 1
    cat >"$d/server.ext" <<'EOF'
[ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1
extendedKeyUsage = serverAuth
EOF
    cat >"$d/wrongname.ext" <<'EOF'
[ext]
basicConstraints = CA:FALSE
subjectAltName = DNS:wrong.example
extendedKeyUsage = serverAuth
EOF
    cat >"$d/client.ext" <<'EOF'
[ext]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
EOF
    certs_ca "$d" ca "stampede test CA" &&
        certs_leaf "$d" server ca localhost "$d/server.ext" &&
        certs_expired "$d" &&
        certs_leaf "$d" wrongname ca wrong.example "$d/wrongname.ext" &&
        certs_leaf "$d" client ca "stampede test client" "$d/client.ext" &&
        certs_ca "$d" other-ca "stampede other CA" &&
        certs_leaf "$d" untrusted other-ca localhost "$d/server.ext" || return 1
    rm -f "$d"/*.csr "$d/openssl.log"
}
