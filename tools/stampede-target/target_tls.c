/*
 * target_tls.c - TLS for stampede-target (--tls-cert): HTTP and WebSocket
 * over TLS on the same port, through the shared memory-BIO module (tls.h).
 * Hot path of a TLS target; a plain target never calls into it.
 *
 * The ring keeps every socket op (NOTES.md: no kTLS here). Received
 * ciphertext is fed to OpenSSL (tls_io_feed); the handshake, then SSL_read
 * into one per-thread plaintext buffer, and each plaintext chunk goes to
 * tgt_conn_input exactly as a plain receive would. Every send of the HTTP
 * or WebSocket code (tgt_conn_send) is encrypted here and its ciphertext
 * leaves from an output buffer of the connection, OP_TLS_SEND, one in
 * flight; the caller's on_send sees a single completion once all of it has
 * left, so its own accounting (answered, short sends, closing) is
 * untouched. Ciphertext OpenSSL writes on its own (handshake flights,
 * tickets, alerts, close_notify) shares the write BIO, so it leaves in
 * order with the records.
 *
 * Memory: per slot, a struct tgt_tls (64 bytes) in an array allocated only
 * on a TLS target, plus OpenSSL's own (~8.5 KB after SSL_new, ~18 KB once
 * up with SSL_MODE_RELEASE_BUFFERS, NOTES.md). An output buffer (one full
 * record, 16.5 KiB) is held only while ciphertext waits to leave, and a
 * big send is encrypted a record at a time as the buffer drains, so a
 * 64 MiB body never sits encrypted in memory whole. Buffers come from a
 * per-thread cache; only past TLS_BUF_CACHE_MAX connections with output
 * waiting at once do they come from malloc (as WebSocket output does).
 *
 * Counters: tls_handshakes (completed), tls_resumed (of those, resumed),
 * tls_failed (handshakes that failed - counted when OpenSSL says so - or
 * whose peer left mid-way - counted when the slot is released).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "target_loop.h"
#include "tls.h"

#define TLS_REC_BYTES 16384u       /* plaintext per SSL_write/SSL_read: one full record */
#define TLS_REC_OVERHEAD 512u      /* a record's header, IV, MAC/tag, padding: at most ~330 */
#define TLS_OUT_BYTES (TLS_REC_BYTES + TLS_REC_OVERHEAD) /* an output buffer: a full record */
#define TLS_APP_MAX (1u << 30)     /* longest send taken at once: a longer one completes short */
#define TLS_BUF_CACHE_MAX 1024u    /* spare output buffers kept per thread (17 MiB at most) */

/* Handshake and session state of a connection. */
enum {
    TLS_ST_NEW,    /* no byte from the peer yet */
    TLS_ST_HS,     /* handshake under way */
    TLS_ST_UP,     /* application data flows */
    TLS_ST_EOF,    /* the peer sent close_notify: no more input */
    TLS_ST_ERR,    /* failed after the handshake: no more input */
    TLS_ST_FAILED, /* the handshake failed (counted): its alert leaves, then close */
};

enum {
    TF_RING_SEND = 1 << 0,  /* a ciphertext send in flight */
    TF_APP_SEND = 1 << 1,   /* the HTTP/WS code's send waits for its ciphertext to leave */
    TF_NOTIFY_LAST = 1 << 2, /* close_notify right after that send's last record */
    TF_NOTIFIED = 1 << 3,   /* close_notify written */
    TF_LINGER = 1 << 4,     /* tgt_conn_linger once everything has left ... */
    TF_MAY_SEND = 1 << 5,   /* ... with may_send */
};

struct tgt_tls {
    struct tls_io io;
    uint8_t *out;            /* ciphertext being sent (cache buffer), NULL when none */
    const uint8_t *app;      /* the caller's send: what is still to be encrypted */
    uint32_t out_len, out_off;
    uint32_t app_left, app_bytes;
    uint8_t st;              /* TLS_ST_* */
    uint8_t f;               /* TF_* */
};

_Static_assert(sizeof(struct tgt_tls) <= 64, "per-slot TLS state grew");

/* Main thread: the server context, plus client-certificate checking. */
int tgt_tls_ctx_build(struct tgt_config *cfg, char *err, size_t errlen)
{
    STACK_OF(X509_NAME) *names;
    SSL_CTX *ctx;

    if (!cfg->tls_cert)
        return 0;
    ctx = tls_server_ctx_new(cfg->tls_cert, cfg->tls_key, err, errlen);
    if (!ctx)
        return -1;
    /* a test server has no use for renegotiation; a peer could loop on it */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
    if (cfg->tls_client_ca) {
        names = SSL_load_client_CA_file(cfg->tls_client_ca);
        if (!names || SSL_CTX_load_verify_locations(ctx, cfg->tls_client_ca, NULL) != 1) {
            snprintf(err, errlen, "--tls-client-ca '%s': cannot load CA certificates",
                     cfg->tls_client_ca);
            sk_X509_NAME_pop_free(names, X509_NAME_free);
            SSL_CTX_free(ctx);
            ERR_clear_error();
            return -1;
        }
        SSL_CTX_set_client_CA_list(ctx, names); /* the context owns names now */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    }
    cfg->tls_ctx = ctx;
    return 0;
}

void tgt_tls_ctx_free(struct tgt_config *cfg)
{
    SSL_CTX_free(cfg->tls_ctx);
    cfg->tls_ctx = NULL;
}

static uint8_t *obuf_get(struct loop *l)
{
    return l->tls_nbufs ? l->tls_bufs[--l->tls_nbufs] : malloc(TLS_OUT_BYTES);
}

static void obuf_put(struct loop *l, uint8_t *b)
{
    if (b && l->tls_nbufs < TLS_BUF_CACHE_MAX)
        l->tls_bufs[l->tls_nbufs++] = b;
    else
        free(b);
}

int tgt_tls_init(struct loop *l)
{
    if (!l->cfg->tls_ctx)
        return 0;
    l->tls = calloc(l->nconns, sizeof(*l->tls)); /* pages are touched as slots are */
    l->tls_plain = malloc(TLS_REC_BYTES);
    l->tls_bufs = malloc(sizeof(*l->tls_bufs) * TLS_BUF_CACHE_MAX);
    return l->tls && l->tls_plain && l->tls_bufs ? 0 : -ENOMEM;
}

/* At exit: every open connection's TLS state, uncounted, then the caches. */
void tgt_tls_fini(struct loop *l)
{
    for (uint32_t i = 0; l->tls && i < l->nconns; i++) {
        tls_io_fini(&l->tls[i].io, false);
        free(l->tls[i].out);
    }
    while (l->tls_nbufs)
        free(l->tls_bufs[--l->tls_nbufs]);
    free(l->tls_bufs);
    free(l->tls_plain);
    free(l->tls);
}

int tgt_tls_open(struct loop *l, uint32_t slot)
{
    struct tgt_tls *t = &l->tls[slot];

    *t = (struct tgt_tls){0};
    return tls_io_init(&t->io, l->cfg->tls_ctx, true);
}

/* The slot's connection is gone. Its session stays resumable only if its
 * handshake completed (tls.h: a session freed without a shutdown is not). */
void tgt_tls_release(struct loop *l, uint32_t slot)
{
    struct tgt_tls *t = &l->tls[slot];

    if (t->st == TLS_ST_HS)
        l->n.tls_failed++; /* the peer left mid-handshake */
    tls_io_fini(&t->io, t->st == TLS_ST_UP || t->st == TLS_ST_EOF);
    obuf_put(l, t->out);
    *t = (struct tgt_tls){0};
}

bool tgt_tls_sending(const struct loop *l, uint32_t slot)
{
    return l->tls[slot].f & TF_RING_SEND;
}

/* A handshake failed: count it, keep its reason if it is the first. */
static void tls_fail(struct loop *l, struct tgt_tls *t)
{
    uint32_t why = tls_io_reason(&t->io); /* also clears the thread's error queue */

    t->st = TLS_ST_FAILED;
    l->n.tls_failed++;
    if (!l->n.tls_fail_reason)
        l->n.tls_fail_reason = why;
}

/* Queue close_notify (once, and only on an established session). */
static void tls_notify(struct tgt_tls *t)
{
    if ((t->f & TF_NOTIFIED) || (t->st != TLS_ST_UP && t->st != TLS_ST_EOF))
        return;
    t->f |= TF_NOTIFIED;
    if (SSL_shutdown(t->io.ssl) < 0)
        ERR_clear_error();
}

static void tls_send_prep(struct loop *l, struct conn *c, uint32_t slot, struct tgt_tls *t)
{
    struct io_uring_sqe *sqe = tgt_sqe_get(l);

    io_uring_prep_send(sqe, (int)slot, t->out + t->out_off, t->out_len - t->out_off, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_TLS_SEND, c->gen, slot));
    t->f |= TF_RING_SEND;
}

/* Fill t->out with pending ciphertext, encrypting more of the caller's send
 * a record at a time while the record fits, so that what leaves is whole
 * records and the write BIO holds none of ours. 0, or -1 (no memory,
 * OpenSSL failed). */
static int tls_fill(struct loop *l, struct tgt_tls *t)
{
    t->out_off = t->out_len = 0;
    if (!t->app_left && !tls_io_pending(&t->io))
        return 0;
    if (!t->out && !(t->out = obuf_get(l)))
        return -1;
    t->out_len = (uint32_t)tls_io_take(&t->io, t->out, TLS_OUT_BYTES);
    while (t->app_left) {
        uint32_t n = t->app_left < TLS_REC_BYTES ? t->app_left : TLS_REC_BYTES;

        if (TLS_OUT_BYTES - t->out_len < n + TLS_REC_OVERHEAD)
            break;
        if (tls_io_write(&t->io, t->app, n) < 0)
            return -1;
        t->app += n;
        t->app_left -= n;
        if (!t->app_left && (t->f & TF_NOTIFY_LAST))
            tls_notify(t);
        t->out_len += (uint32_t)tls_io_take(&t->io, t->out + t->out_len, TLS_OUT_BYTES - t->out_len);
    }
    return 0;
}

/* Everything queued has left: finish what waited for it. */
static void tls_sent_all(struct loop *l, struct conn *c, uint32_t slot, struct tgt_tls *t)
{
    if (t->f & TF_APP_SEND) {
        t->f &= ~TF_APP_SEND;
        if (c->mode == MODE_WS)
            tgt_ws_on_send(l, c, slot, (int)t->app_bytes);
        else
            tgt_http_on_send(l, c, slot, (int)t->app_bytes);
    } else if (t->st == TLS_ST_FAILED) {
        tgt_conn_close(l, c, slot); /* its alert, if any, has left */
    } else if (t->f & TF_LINGER) {
        t->f &= ~TF_LINGER;
        tgt_conn_linger(l, c, slot, t->f & TF_MAY_SEND);
    }
}

/* Start a ciphertext send unless one is in flight; with nothing left to
 * send, complete whatever waited for that. */
static void tls_flush(struct loop *l, struct conn *c, uint32_t slot)
{
    struct tgt_tls *t = &l->tls[slot];

    if ((t->f & TF_RING_SEND) || c->state != ST_OPEN)
        return;
    if (tls_fill(l, t) < 0) {
        ERR_clear_error();
        tgt_conn_close(l, c, slot);
        return;
    }
    if (t->out_len) {
        tls_send_prep(l, c, slot, t);
        return;
    }
    obuf_put(l, t->out);
    t->out = NULL;
    tls_sent_all(l, c, slot, t);
}

/* tgt_conn_send over TLS. The HTTP and WebSocket code keep at most one send
 * in flight, so there is at most one caller's send here at a time. */
void tgt_tls_send(struct loop *l, struct conn *c, uint32_t slot, const void *buf, uint32_t len)
{
    struct tgt_tls *t = &l->tls[slot];

    t->app = buf;
    t->app_bytes = t->app_left = len < TLS_APP_MAX ? len : TLS_APP_MAX;
    t->f |= TF_APP_SEND;
    /* the last response before a close: its close_notify rides along */
    if (c->mode == MODE_HTTP && (c->flags & F_SEND_FINAL) && len == t->app_bytes)
        t->f |= TF_NOTIFY_LAST;
    tls_flush(l, c, slot);
}

void tgt_tls_on_send(struct loop *l, struct conn *c, uint32_t slot, int res)
{
    struct tgt_tls *t = &l->tls[slot];

    t->f &= ~TF_RING_SEND;
    if (c->state != ST_OPEN)
        return; /* closing: the buffer goes at the close's CQE */
    if (res <= 0) {
        tgt_conn_close(l, c, slot);
        return;
    }
    t->out_off += (uint32_t)res;
    if (t->out_off < t->out_len)
        tls_send_prep(l, c, slot, t); /* short send: the rest */
    else
        tls_flush(l, c, slot);
}

/* tgt_conn_linger's first step: close_notify, then linger once it has
 * left. false: nothing to send first (already sent, or no session). */
bool tgt_tls_linger(struct loop *l, struct conn *c, uint32_t slot, bool may_send)
{
    struct tgt_tls *t = &l->tls[slot];

    if ((t->f & TF_NOTIFIED) || (t->st != TLS_ST_UP && t->st != TLS_ST_EOF))
        return false;
    tls_notify(t);
    t->f |= TF_LINGER | (may_send ? TF_MAY_SEND : 0);
    tls_flush(l, c, slot);
    return true;
}

/* Advance the handshake; true once it is complete. */
static bool tls_handshake(struct loop *l, struct tgt_tls *t)
{
    int rc = tls_io_handshake(&t->io);

    if (rc == TLS_OK) {
        t->st = TLS_ST_UP;
        l->n.tls_handshakes++;
        if (SSL_session_reused(t->io.ssl))
            l->n.tls_resumed++;
        return true;
    }
    if (rc == TLS_AGAIN)
        t->st = TLS_ST_HS;
    else
        tls_fail(l, t); /* TLS_ERR, or a close_notify before the handshake ended */
    return false;
}

/* Decrypt all complete records into the HTTP/WS code, record by record,
 * until OpenSSL wants more, the peer closed, or the connection did. */
static void tls_read_all(struct loop *l, struct conn *c, uint32_t slot, struct tgt_tls *t)
{
    while (c->state == ST_OPEN) {
        ssize_t n = tls_io_read(&t->io, l->tls_plain, TLS_REC_BYTES);

        if (n > 0) {
            tgt_conn_input(l, c, slot, l->tls_plain, (size_t)n);
            continue;
        }
        if (n == TLS_AGAIN)
            return;
        if (n == TLS_CLOSED) {
            t->st = TLS_ST_EOF; /* close_notify: what a plain peer's EOF is */
            if (c->mode == MODE_HTTP)
                tgt_http_on_eof(l, c, slot);
            else
                tgt_conn_close(l, c, slot);
            return;
        }
        tls_io_reason(&t->io); /* clear the error queue: other connections share it */
        t->st = TLS_ST_ERR;
        tgt_conn_close(l, c, slot);
        return;
    }
}

/* Ciphertext arrived (the connection is open and still takes input). */
void tgt_tls_on_data(struct loop *l, struct conn *c, uint32_t slot, const char *buf, size_t len)
{
    struct tgt_tls *t = &l->tls[slot];

    if (t->st >= TLS_ST_EOF)
        return; /* no more input after close_notify or a failure */
    if (tls_io_feed(&t->io, buf, len) < 0) {
        tgt_conn_close(l, c, slot);
        return;
    }
    if (t->st == TLS_ST_UP || tls_handshake(l, t))
        tls_read_all(l, c, slot, t);
    tls_flush(l, c, slot);
}
