/*
 * tls.c - OpenSSL over memory BIOs; see tls.h.
 *
 * Not on the per-request path except tls_io_feed/read/write/take, which
 * are thin wrappers around BIO_write/SSL_read/SSL_write/BIO_read. The
 * copies in and out of the memory BIOs cost little next to the record
 * crypto; they buy a ring that owns every socket operation.
 */
#include "tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#define TLS_REASON_VERIFY 0x80000000u
#define TLS_REASON_LIB_SHIFT 23

/* The first queued OpenSSL error as text (or `fallback`), queue cleared. */
static const char *tls_err_text(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return r ? r : fallback;
}

/* "h2,http/1.1" -> ALPN wire format (length-prefixed names). */
static int tls_alpn_wire(const char *list, unsigned char *out, size_t cap, size_t *len)
{
    size_t n = 0;

    while (*list) {
        size_t l = strcspn(list, ",");

        if (!l || l > 255 || n + 1 + l > cap)
            return -1;
        out[n++] = (unsigned char)l;
        memcpy(out + n, list, l);
        n += l;
        list += l;
        if (*list == ',')
            list++;
    }
    *len = n;
    return 0;
}

static int tls_client_verify(SSL_CTX *ctx, const struct tls_client_cfg *cfg, char *err,
                             size_t errlen)
{
    if (cfg->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        return 0;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    if (cfg->cacert) {
        if (SSL_CTX_load_verify_locations(ctx, cfg->cacert, NULL) != 1) {
            snprintf(err, errlen, "--cacert '%s': %s", cfg->cacert,
                     tls_err_text("cannot load CA certificates"));
            return -1;
        }
    } else if (SSL_CTX_set_default_verify_paths(ctx) != 1) {
        snprintf(err, errlen, "cannot load the system CA store: %s", tls_err_text("unknown"));
        return -1;
    }
    return 0;
}

static int tls_client_ciphers(SSL_CTX *ctx, const struct tls_client_cfg *cfg, char *err,
                              size_t errlen)
{
    unsigned char wire[256];
    size_t n;

    if (cfg->min_version && SSL_CTX_set_min_proto_version(ctx, cfg->min_version) != 1) {
        snprintf(err, errlen, "--tls-min: %s", tls_err_text("not supported"));
        return -1;
    }
    if (cfg->ciphers && SSL_CTX_set_cipher_list(ctx, cfg->ciphers) != 1) {
        snprintf(err, errlen, "--ciphers '%s': %s", cfg->ciphers, tls_err_text("no cipher matches"));
        return -1;
    }
    if (cfg->tls13_ciphers && SSL_CTX_set_ciphersuites(ctx, cfg->tls13_ciphers) != 1) {
        snprintf(err, errlen, "--tls13-ciphers '%s': %s", cfg->tls13_ciphers,
                 tls_err_text("no cipher suite matches"));
        return -1;
    }
    if (cfg->alpn && *cfg->alpn) {
        /* SSL_CTX_set_alpn_protos returns 0 on success, unlike the rest */
        if (tls_alpn_wire(cfg->alpn, wire, sizeof(wire), &n) ||
            SSL_CTX_set_alpn_protos(ctx, wire, (unsigned)n)) {
            ERR_clear_error();
            snprintf(err, errlen, "--alpn '%s': want names of 1-255 bytes separated by commas",
                     cfg->alpn);
            return -1;
        }
    }
    return 0;
}

static int tls_use_cert(SSL_CTX *ctx, const char *cert, const char *key, const char *what,
                        char *err, size_t errlen)
{
    if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
        snprintf(err, errlen, "%s '%s': %s", what, cert, tls_err_text("cannot load certificate"));
        return -1;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key ? key : cert, SSL_FILETYPE_PEM) != 1) {
        snprintf(err, errlen, "key '%s': %s", key ? key : cert,
                 tls_err_text("cannot load private key"));
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        snprintf(err, errlen, "key '%s' does not match certificate '%s'", key ? key : cert, cert);
        ERR_clear_error();
        return -1;
    }
    return 0;
}

SSL_CTX *tls_client_ctx_new(const struct tls_client_cfg *cfg, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context: %s", tls_err_text("out of memory"));
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    /* a TLS 1.2 renegotiation would make SSL_write wait for the peer, which
     * a memory BIO write path cannot do: refuse it (the server gets a
     * no_renegotiation alert) */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    /* sessions are kept by the caller (one per connection slot), never in
     * OpenSSL's shared cache, which would take a lock per handshake */
    SSL_CTX_set_session_cache_mode(ctx, cfg->resume ? SSL_SESS_CACHE_CLIENT |
                                                          SSL_SESS_CACHE_NO_INTERNAL_STORE
                                                    : SSL_SESS_CACHE_OFF);
    if (tls_client_verify(ctx, cfg, err, errlen) || tls_client_ciphers(ctx, cfg, err, errlen) ||
        (cfg->cert && tls_use_cert(ctx, cfg->cert, cfg->key, "--cert", err, errlen)))
        goto fail;
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* Server side: select http/1.1 when offered, else no ALPN at all. */
static int tls_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                           const unsigned char *in, unsigned inlen, void *arg)
{
    static const unsigned char h1[] = "\x08http/1.1";

    (void)ssl;
    (void)arg;
    if (SSL_select_next_proto((unsigned char **)out, outlen, h1, sizeof(h1) - 1, in, inlen) ==
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_OK;
    return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *tls_server_ctx_new(const char *cert, const char *key, char *err, size_t errlen)
{
    static const unsigned char sid_ctx[] = "stampede-target";
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

    if (!ctx) {
        snprintf(err, errlen, "cannot create a TLS context: %s", tls_err_text("out of memory"));
        return NULL;
    }
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
    SSL_CTX_set_alpn_select_cb(ctx, tls_alpn_select, NULL);
    if (tls_use_cert(ctx, cert, key, "--tls-cert", err, errlen)) {
        SSL_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

int tls_io_init(struct tls_io *t, SSL_CTX *ctx, bool server)
{
    t->ssl = SSL_new(ctx);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    if (!t->ssl || !t->rbio || !t->wbio) {
        SSL_free(t->ssl);
        BIO_free(t->rbio);
        BIO_free(t->wbio);
        *t = (struct tls_io){0};
        ERR_clear_error();
        return -ENOMEM;
    }
    /* an empty read BIO means "wait for more", not end of file */
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio); /* the SSL owns both now */
    if (server)
        SSL_set_accept_state(t->ssl);
    else
        SSL_set_connect_state(t->ssl);
    return 0;
}

void tls_io_fini(struct tls_io *t, bool keep_session)
{
    if (!t->ssl)
        return;
    if (keep_session)
        SSL_set_shutdown(t->ssl, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(t->ssl);
    *t = (struct tls_io){0};
}

static bool tls_is_ip(const char *host)
{
    unsigned char a[16];

    return inet_pton(AF_INET, host, a) == 1 || inet_pton(AF_INET6, host, a) == 1;
}

int tls_io_set_host(struct tls_io *t, const char *host, bool verify)
{
    if (tls_is_ip(host)) {
        if (verify && X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host) != 1)
            goto fail;
        return 0;
    }
    if (SSL_set_tlsext_host_name(t->ssl, host) != 1 || (verify && SSL_set1_host(t->ssl, host) != 1))
        goto fail;
    return 0;
fail:
    ERR_clear_error();
    return -1;
}

int tls_io_feed(struct tls_io *t, const void *buf, size_t len)
{
    if (len > INT32_MAX || BIO_write(t->rbio, buf, (int)len) != (int)len) {
        ERR_clear_error();
        return -1;
    }
    return 0;
}

static int tls_rc(struct tls_io *t, int ret)
{
    switch (SSL_get_error(t->ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return TLS_AGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return TLS_CLOSED;
    default:
        return TLS_ERR;
    }
}

int tls_io_handshake(struct tls_io *t)
{
    int ret = SSL_do_handshake(t->ssl);

    return ret == 1 ? TLS_OK : tls_rc(t, ret);
}

ssize_t tls_io_read(struct tls_io *t, void *buf, size_t cap)
{
    int ret = SSL_read(t->ssl, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);

    return ret > 0 ? ret : tls_rc(t, ret);
}

int tls_io_write(struct tls_io *t, const void *buf, size_t len)
{
    while (len) {
        int n = SSL_write(t->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);

        if (n <= 0)
            return -1;
        buf = (const char *)buf + n;
        len -= (size_t)n;
    }
    return 0;
}

size_t tls_io_take(struct tls_io *t, void *buf, size_t cap)
{
    int n = BIO_read(t->wbio, buf, cap > INT32_MAX ? INT32_MAX : (int)cap);

    return n > 0 ? (size_t)n : 0;
}

/* The verification result comes first when verification was on and
 * failed: OpenSSL's queue then only says "certificate verify failed",
 * the result says which check. With -k (SSL_VERIFY_NONE) OpenSSL still
 * stores a result (e.g. self-signed) while carrying on, so it is ignored:
 * the handshake failed for another reason. */
uint32_t tls_io_reason(struct tls_io *t)
{
    long vr = t->ssl && SSL_get_verify_mode(t->ssl) != SSL_VERIFY_NONE
                  ? SSL_get_verify_result(t->ssl)
                  : X509_V_OK;
    unsigned long e = ERR_peek_last_error();
    uint32_t key = TLS_REASON_UNKNOWN;

    if (vr != X509_V_OK)
        key = TLS_REASON_VERIFY | (uint32_t)vr;
    else if (e)
        key = ((uint32_t)ERR_GET_LIB(e) << TLS_REASON_LIB_SHIFT) |
              ((uint32_t)ERR_GET_REASON(e) & ((1u << TLS_REASON_LIB_SHIFT) - 1));
    ERR_clear_error();
    return key;
}

void tls_reason_str(uint32_t key, char *buf, size_t len)
{
    const char *r;
    int lib = (int)(key >> TLS_REASON_LIB_SHIFT), reason;

    if (!key) {
        snprintf(buf, len, "unknown");
        return;
    }
    if (!(key & TLS_REASON_VERIFY) && (key & TLS_REASON_OURS) == TLS_REASON_OURS &&
        (key & 0xffu) <= 5) {
        static const char *const ours[] = {"?", "handshake timed out (--connect-timeout)",
                                           "connection closed during the handshake",
                                           "host name refused by OpenSSL", "out of memory",
                                           "no reason given by OpenSSL"};

        snprintf(buf, len, "%s", ours[key & 7u]);
        return;
    }
    if (key & TLS_REASON_VERIFY) {
        snprintf(buf, len, "certificate verify failed: %s",
                 X509_verify_cert_error_string((long)(key & ~TLS_REASON_VERIFY)));
        return;
    }
    reason = (int)(key & ((1u << TLS_REASON_LIB_SHIFT) - 1));
    r = ERR_reason_error_string(ERR_PACK(lib, 0, reason));
    if (r)
        snprintf(buf, len, "%s", r);
    else
        snprintf(buf, len, "OpenSSL error (library %d, reason %d)", lib, reason);
}
