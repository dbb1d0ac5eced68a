/*
 * tls.h - OpenSSL over memory BIOs: bytes in, bytes out, never the fd.
 *
 * The ring owns every socket operation (NOTES.md: no kTLS here), so a TLS
 * connection is a pair of memory BIOs around an SSL object: ciphertext that
 * arrived is fed in (tls_io_feed), the handshake or SSL_read runs over it,
 * and whatever OpenSSL wrote (handshake flights, records, alerts) waits in
 * the write BIO until the caller takes it (tls_io_take) and sends it.
 * Shared by the client transport (xtls.c) and stampede-target.
 *
 * Contexts (SSL_CTX) are built once, before the workers start, and are
 * read-only afterwards (OpenSSL's SSL_CTX is safe to share between threads
 * for SSL_new). A tls_io belongs to one thread.
 *
 * Memory: SSL_MODE_RELEASE_BUFFERS is set on every context, so an idle
 * connection gives its record buffers back (~33 KB -> ~18 KB per
 * connection, NOTES.md); SSL_new alone is ~8.5 KB.
 */
#ifndef STAMPEDE_TLS_H
#define STAMPEDE_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <openssl/ssl.h>

/* Client configuration, as the flags give it (curl's names). */
struct tls_client_cfg {
    const char *cacert;        /* --cacert PEM file; NULL: the system store */
    bool insecure;             /* -k: no verification at all */
    int min_version;           /* TLS1_2_VERSION, TLS1_3_VERSION; 0: OpenSSL's default */
    const char *ciphers;       /* --ciphers: TLS 1.2 cipher list; NULL: default */
    const char *tls13_ciphers; /* --tls13-ciphers: TLS 1.3 suites; NULL: default */
    const char *alpn;          /* --alpn: comma list; "" sends none */
    const char *cert;          /* --cert: client certificate (PEM) */
    const char *key;           /* --key: its private key (PEM); NULL: in cert */
    bool resume;               /* keep sessions for resumption (callback set by caller) */
};

/* Build a client context. NULL on error, with a message (naming the file
 * or value at fault) in err. */
SSL_CTX *tls_client_ctx_new(const struct tls_client_cfg *cfg, char *err, size_t errlen);

/* Build a server context from a PEM certificate (chain) and key; it
 * selects ALPN http/1.1 when the client offers it. NULL on error with a
 * message in err. */
SSL_CTX *tls_server_ctx_new(const char *cert, const char *key, char *err, size_t errlen);

/* One TLS connection over memory BIOs. */
struct tls_io {
    SSL *ssl;
    BIO *rbio; /* ciphertext from the peer, not yet consumed */
    BIO *wbio; /* ciphertext for the peer, not yet taken */
};

/* Set up a connection (client: server = false). 0, or -ENOMEM. */
int tls_io_init(struct tls_io *t, SSL_CTX *ctx, bool server);

/* Free the connection. `keep_session`: mark it shut down first so its
 * session stays resumable (OpenSSL marks the session of an SSL freed
 * without a shutdown as not resumable: NOTES.md, 0 of 2000 resumed). */
void tls_io_fini(struct tls_io *t, bool keep_session);

/* Client: send SNI (names only, never IP literals, RFC 6066 3) and check
 * the certificate against host (name or IP literal) unless verify is off.
 * 0, or -1 when OpenSSL refused the name. */
int tls_io_set_host(struct tls_io *t, const char *host, bool verify);

/* Ciphertext arrived: hand it to OpenSSL. 0, or -1 (out of memory). */
int tls_io_feed(struct tls_io *t, const void *buf, size_t len);

enum tls_rc {
    TLS_OK = 1,    /* handshake done / bytes returned */
    TLS_AGAIN = 0, /* needs more ciphertext from the peer */
    TLS_ERR = -1,  /* failed: tls_io_reason() says why */
    TLS_CLOSED = -2, /* the peer sent close_notify */
};

/* Advance the handshake. TLS_OK once it is complete, TLS_AGAIN while it
 * waits for the peer (send what tls_io_pending() holds first), TLS_ERR. */
int tls_io_handshake(struct tls_io *t);

/* Decrypt into buf. >0: bytes; TLS_AGAIN: nothing complete buffered;
 * TLS_CLOSED; TLS_ERR. Call until it returns <= 0. */
ssize_t tls_io_read(struct tls_io *t, void *buf, size_t cap);

/* Encrypt len bytes (all of them: a memory BIO never pushes back). 0 or -1. */
int tls_io_write(struct tls_io *t, const void *buf, size_t len);

/* Ciphertext waiting to be sent. */
static inline size_t tls_io_pending(const struct tls_io *t)
{
    return BIO_ctrl_pending(t->wbio);
}

/* Everything received has been read: give OpenSSL's record buffers back.
 * SSL_MODE_RELEASE_BUFFERS does so after application data only; a TLS 1.3
 * connection that last read session tickets kept its 16 KiB read buffer
 * (client memory per held connection 36.8 -> 20.2 KB, measured). */
static inline void tls_io_idle(struct tls_io *t)
{
    SSL_free_buffers(t->ssl);
}

/* Move up to cap bytes of pending ciphertext into buf; returns the count. */
size_t tls_io_take(struct tls_io *t, void *buf, size_t cap);

/*
 * Why the last operation on this thread failed, as a stable key (for
 * counting by reason) - a certificate verification result or an OpenSSL
 * library reason - and clear OpenSSL's error queue. Never 0.
 */
uint32_t tls_io_reason(struct tls_io *t);

/* Reasons that are not OpenSSL's (library number 255, which OpenSSL does
 * not use). */
#define TLS_REASON_OURS 0x7F800000u
#define TLS_REASON_TIMEOUT (TLS_REASON_OURS | 1)   /* no handshake within the timeout */
#define TLS_REASON_CLOSED (TLS_REASON_OURS | 2)    /* the connection ended mid-handshake */
#define TLS_REASON_BAD_HOST (TLS_REASON_OURS | 3)  /* OpenSSL refused the host name */
#define TLS_REASON_NO_MEMORY (TLS_REASON_OURS | 4)
#define TLS_REASON_UNKNOWN (TLS_REASON_OURS | 5)   /* OpenSSL gave no reason */

/* Text of a reason key: "certificate verify failed: certificate has
 * expired", "wrong version number", ... */
void tls_reason_str(uint32_t key, char *buf, size_t len);

#endif
