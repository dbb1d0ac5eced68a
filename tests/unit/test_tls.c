/*
 * test_tls.c - the memory-BIO transport (tls.c): a client and a server
 * tls_io talk through byte buffers, no socket involved.
 *
 * - The handshake completes whatever the delivery: every flight handed
 *   over byte by byte, in chunks of 2..64 bytes, and whole.
 * - Records split at every byte boundary: two records (a short and a
 *   longer message, back to back) are delivered in two pieces for every
 *   split point, and come out whole and in order.
 * - A pipeline of writes made while the peer has not read yet arrives
 *   intact (the write BIO never pushes back).
 * - Verification: the right name and IP pass; a wrong name and an
 *   untrusted CA fail with a reason that says so; -k passes anyway.
 * - Resumption: a session saved from one connection resumes the next,
 *   and tls_io_fini(keep_session) keeps it resumable.
 * - Bad configuration: missing files, bad cipher lists and bad ALPN give
 *   errors naming the value.
 * A certificate for "localhost" and 127.0.0.1 is made in memory here.
 */
#include "t.h"
#include "tls.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

static char t_cert[64], t_key[64];

static void t_ext(X509 *x, int nid, const char *v)
{
    X509V3_CTX ctx;
    X509_EXTENSION *e;

    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    e = X509V3_EXT_conf_nid(NULL, &ctx, nid, v);
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
}

/* A self-signed P-256 certificate (its own CA) written to temp files. */
static int t_make_cert(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();
    FILE *f;
    int fd;

    if (!k || !x)
        return -1;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -60);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    t_ext(x, NID_basic_constraints, "critical,CA:TRUE");
    t_ext(x, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
    if (!X509_sign(x, k, EVP_sha256()))
        return -1;
    strcpy(t_cert, "/tmp/test_tls_cert.XXXXXX");
    strcpy(t_key, "/tmp/test_tls_key.XXXXXX");
    fd = mkstemp(t_cert);
    f = fdopen(fd, "w");
    PEM_write_X509(f, x);
    fclose(f);
    fd = mkstemp(t_key);
    f = fdopen(fd, "w");
    PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    X509_free(x);
    EVP_PKEY_free(k);
    return 0;
}

/* Move everything `from` has pending into `to`, in pieces of `chunk`. */
static int t_pipe(struct tls_io *from, struct tls_io *to, size_t chunk)
{
    char buf[65536];
    size_t n = tls_io_take(from, buf, sizeof(buf));

    for (size_t off = 0; off < n; off += chunk)
        if (tls_io_feed(to, buf + off, off + chunk < n ? chunk : n - off))
            return -1;
    return (int)n;
}

/* Run both handshakes to completion, delivering in `chunk`-byte pieces
 * and stepping after each piece. Returns 0, or -1 with cr/sr set. */
static int t_handshake(struct tls_io *c, struct tls_io *s, size_t chunk, int *cr, int *sr)
{
    char buf[65536];

    *cr = *sr = TLS_AGAIN;
    for (int round = 0; round < 20; round++) {
        size_t n;

        if (*cr != TLS_OK)
            *cr = tls_io_handshake(c);
        n = tls_io_take(c, buf, sizeof(buf));
        for (size_t off = 0; off < n; off += chunk) {
            tls_io_feed(s, buf + off, off + chunk < n ? chunk : n - off);
            if (*sr != TLS_OK)
                *sr = tls_io_handshake(s);
        }
        if (*sr != TLS_OK)
            *sr = tls_io_handshake(s);
        n = tls_io_take(s, buf, sizeof(buf));
        for (size_t off = 0; off < n; off += chunk) {
            tls_io_feed(c, buf + off, off + chunk < n ? chunk : n - off);
            if (*cr != TLS_OK)
                *cr = tls_io_handshake(c);
        }
        if (*cr < 0 || *sr < 0)
            return -1;
        if (*cr == TLS_OK && *sr == TLS_OK && !tls_io_pending(c) && !tls_io_pending(s))
            return 0;
    }
    return -1;
}

struct t_pair {
    SSL_CTX *cctx, *sctx;
    struct tls_io c, s;
};

static int t_pair_open(struct t_pair *p, const struct tls_client_cfg *cfg, const char *host)
{
    char err[256];

    p->cctx = tls_client_ctx_new(cfg, err, sizeof(err));
    p->sctx = tls_server_ctx_new(t_cert, t_key, err, sizeof(err));
    if (!p->cctx || !p->sctx || tls_io_init(&p->c, p->cctx, false) ||
        tls_io_init(&p->s, p->sctx, true))
        return -1;
    return tls_io_set_host(&p->c, host, !cfg->insecure);
}

static void t_pair_close(struct t_pair *p)
{
    tls_io_fini(&p->c, false);
    tls_io_fini(&p->s, false);
    SSL_CTX_free(p->cctx);
    SSL_CTX_free(p->sctx);
}

static void t_handshake_chunks(void)
{
    static const size_t chunks[] = {1, 2, 3, 5, 7, 16, 64, 65536};
    struct tls_client_cfg cfg = {.cacert = t_cert, .alpn = "http/1.1"};

    for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
        struct t_pair p = {0};
        int cr = 0, sr = 0;
        const unsigned char *alpn;
        unsigned alen = 0;

        ok(!t_pair_open(&p, &cfg, "localhost"), "pair opens");
        ok(!t_handshake(&p.c, &p.s, chunks[i], &cr, &sr), "handshake in %zu-byte pieces: %d %d",
           chunks[i], cr, sr);
        SSL_get0_alpn_selected(p.c.ssl, &alpn, &alen);
        ok(alen == 8 && !memcmp(alpn, "http/1.1", 8), "ALPN http/1.1 selected");
        t_pair_close(&p);
    }
}

/* Read everything decryptable from t into out; returns bytes. */
static size_t t_drain(struct tls_io *t, char *out, size_t cap)
{
    size_t got = 0;
    ssize_t n;

    while ((n = tls_io_read(t, out + got, cap - got)) > 0)
        got += (size_t)n;
    return got;
}

/* Two records back to back, delivered in two pieces at every split. */
static void t_record_splits(void)
{
    struct tls_client_cfg cfg = {.cacert = t_cert};
    struct t_pair p = {0};
    char msg[700], cipher[4096], out[2048];
    int cr = 0, sr = 0, bad = 0;
    size_t n = 0;

    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (char)('a' + i % 26);
    ok(!t_pair_open(&p, &cfg, "localhost") && !t_handshake(&p.c, &p.s, 65536, &cr, &sr),
       "handshake");
    t_drain(&p.c, out, sizeof(out)); /* session tickets */
    for (size_t split = 0;; split++) {
        size_t got;

        tls_io_write(&p.s, msg, 10);
        tls_io_write(&p.s, msg, sizeof(msg));
        n = tls_io_take(&p.s, cipher, sizeof(cipher));
        if (split > n)
            break;
        tls_io_feed(&p.c, cipher, split);
        got = t_drain(&p.c, out, sizeof(out));
        tls_io_feed(&p.c, cipher + split, n - split);
        got += t_drain(&p.c, out + got, sizeof(out) - got);
        if (got != 10 + sizeof(msg) || memcmp(out, msg, 10) || memcmp(out + 10, msg, sizeof(msg)))
            bad++;
    }
    ok(n > sizeof(msg) + 10, "two records of ciphertext: %zu bytes", n);
    ok(!bad, "every split point of %zu bytes gives both messages whole: %d bad", n, bad);
    t_pair_close(&p);
}

/* Writes pile up in the write BIO while the peer reads nothing. */
static void t_pipeline(void)
{
    struct tls_client_cfg cfg = {.cacert = t_cert};
    struct t_pair p = {0};
    static char big[200000], out[200000];
    int cr = 0, sr = 0;
    size_t got;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)(i * 7);
    ok(!t_pair_open(&p, &cfg, "127.0.0.1") && !t_handshake(&p.c, &p.s, 65536, &cr, &sr),
       "handshake to an IP literal");
    for (int i = 0; i < 4; i++)
        ok(!tls_io_write(&p.c, big + i * 50000, 50000), "write %d of 4", i);
    while (t_pipe(&p.c, &p.s, 1000) > 0)
        ;
    got = t_drain(&p.s, out, sizeof(out));
    ok(got == sizeof(big) && !memcmp(out, big, sizeof(big)), "200 kB arrive in order: %zu", got);
    t_pair_close(&p);
}

static void t_verify_fails(const char *host, bool insecure, const char *cacert, const char *want)
{
    struct tls_client_cfg cfg = {.cacert = cacert, .insecure = insecure};
    struct t_pair p = {0};
    char why[200] = "";
    int cr = 0, sr = 0, rc;

    ok(!t_pair_open(&p, &cfg, host), "pair opens for %s", host);
    rc = t_handshake(&p.c, &p.s, 65536, &cr, &sr);
    if (!want) {
        ok(!rc, "handshake with %s passes (insecure %d)", host, insecure);
    } else {
        tls_reason_str(tls_io_reason(&p.c), why, sizeof(why));
        ok(rc && cr == TLS_ERR && strstr(why, want), "%s: fails with '%s': got '%s'", host, want,
           why);
    }
    t_pair_close(&p);
}

static void t_verification(void)
{
    t_verify_fails("localhost", false, t_cert, NULL);
    t_verify_fails("127.0.0.1", false, t_cert, NULL);
    t_verify_fails("wrong.example", false, t_cert, "hostname mismatch");
    t_verify_fails("127.0.0.2", false, t_cert, "IP address mismatch");
    /* the system store does not know our self-signed CA */
    t_verify_fails("localhost", false, NULL, "certificate verify failed");
    t_verify_fails("wrong.example", true, NULL, NULL);
}

static SSL_SESSION *t_saved;

static int t_new_session(SSL *ssl, SSL_SESSION *s)
{
    (void)ssl;
    if (t_saved)
        SSL_SESSION_free(t_saved);
    t_saved = s;
    return 1;
}

static void t_resumption(int version)
{
    struct tls_client_cfg cfg = {.cacert = t_cert, .resume = true, .min_version = version};
    char err[256], out[256];
    SSL_CTX *cctx = tls_client_ctx_new(&cfg, err, sizeof(err));
    SSL_CTX *sctx = tls_server_ctx_new(t_cert, t_key, err, sizeof(err));
    int reused = 0, cr = 0, sr = 0;

    if (version == TLS1_2_VERSION)
        SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
    SSL_CTX_sess_set_new_cb(cctx, t_new_session);
    for (int i = 0; i < 5; i++) {
        struct tls_io c, s;

        tls_io_init(&c, cctx, false);
        tls_io_init(&s, sctx, true);
        tls_io_set_host(&c, "localhost", true);
        if (t_saved)
            SSL_set_session(c.ssl, t_saved);
        ok(!t_handshake(&c, &s, 65536, &cr, &sr), "handshake %d", i);
        t_drain(&c, out, sizeof(out)); /* TLS 1.3 tickets come after it */
        reused += SSL_session_reused(c.ssl);
        tls_io_fini(&c, true);
        tls_io_fini(&s, true);
    }
    ok(reused == 4, "TLS 1.%d: 4 of 4 reconnects resumed: %d", version & 0xf, reused);
    SSL_SESSION_free(t_saved);
    t_saved = NULL;
    SSL_CTX_free(cctx);
    SSL_CTX_free(sctx);
}

static void t_bad_config(void)
{
    static const struct {
        struct tls_client_cfg cfg;
        const char *want;
    } cases[] = {
        {{.cacert = "/nonexistent/ca.pem"}, "--cacert '/nonexistent/ca.pem'"},
        {{.insecure = true, .ciphers = "NO-SUCH-CIPHER"}, "--ciphers 'NO-SUCH-CIPHER'"},
        {{.insecure = true, .tls13_ciphers = "TLS_NOPE"}, "--tls13-ciphers 'TLS_NOPE'"},
        {{.insecure = true, .alpn = "h2,,x"}, "--alpn 'h2,,x'"},
        {{.insecure = true, .cert = "/nonexistent/c.pem"}, "--cert '/nonexistent/c.pem'"},
    };
    char err[256];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        SSL_CTX *ctx = tls_client_ctx_new(&cases[i].cfg, err, sizeof(err));

        ok(!ctx && strstr(err, cases[i].want), "bad config %zu: '%s'", i, err);
        SSL_CTX_free(ctx);
    }
    ok(!tls_server_ctx_new(t_cert, "/nonexistent/k.pem", err, sizeof(err)) &&
           strstr(err, "/nonexistent/k.pem"),
       "server: missing key named: '%s'", err);
}

int main(void)
{
    if (t_make_cert()) {
        note("cannot make a test certificate");
        return 1;
    }
    t_handshake_chunks();
    t_record_splits();
    t_pipeline();
    t_verification();
    t_resumption(TLS1_3_VERSION);
    t_resumption(TLS1_2_VERSION);
    t_bad_config();
    unlink(t_cert);
    unlink(t_key);
    return done();
}
