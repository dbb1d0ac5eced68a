/*
 * xtls.c - the TLS transport; see xtls.h.
 *
 * Sending: the protocol's plaintext is encrypted into the write BIO at
 * once (a memory BIO never pushes back), even while a send is in flight;
 * the ciphertext leaves in pieces of at most tls_out_cap bytes, one send
 * at a time. The protocol hears on_sent only when everything it wrote has
 * left, so "one write in flight" keeps its meaning above this layer. The
 * handshake's own flights go the same way without waking the protocol.
 *
 * Hot path: xtls_recv, xtls_write, xtls_sent: no allocation there beyond
 * OpenSSL's own. States and their output buffers come from a per-worker
 * pool that grows at connect time to its high-water mark (as the
 * WebSocket contexts do), never per request.
 */
#include "xtls.h"

#include <stdlib.h>
#include <string.h>

#include "load.h"
#include "worker.h"

#define XTLS_PLAIN_BYTES 16384          /* one TLS record's worth */
#define XTLS_OUT_MIN 2048u
#define XTLS_OUT_MAX (16384u + 512u)    /* one full record and its overhead */

struct xtls {
    struct xtls *next;      /* pool free list */
    struct tls_io io;
    uint64_t hs_start_ns;   /* TCP connected: the handshake began */
    bool app_pending;       /* the protocol wrote; on_sent is owed */
    uint32_t fail_key;      /* why the handshake failed (tls.h reason); 0: not failed */
    char out[];             /* w->tls_out_cap bytes of ciphertext being sent */
};

/* The session callback runs on the worker that owns the SSL: each slot's
 * newest session replaces the one before (we keep the reference). */
static int xtls_on_new_session(SSL *ssl, SSL_SESSION *sess)
{
    struct conn *c = SSL_get_app_data(ssl);
    SSL_SESSION **slot;

    if (!c || !c->w->tls_sessions)
        return 0;
    slot = &c->w->tls_sessions[c->slot];
    if (*slot)
        SSL_SESSION_free(*slot);
    *slot = sess;
    return 1;
}

void xtls_ctx_setup(SSL_CTX *ctx, const struct tls_client_cfg *cfg)
{
    if (cfg->resume)
        SSL_CTX_sess_set_new_cb(ctx, xtls_on_new_session);
}

int xtls_pool_init(struct worker *w)
{
    const struct plan *p = w->plan;
    /* room for one flush of the protocol: a pipeline of requests, or the
     * WebSocket output buffer, plus record overhead; larger writes leave
     * in several sends */
    size_t want = (p->ws ? w->ws_out_cap : p->req_len * p->pipeline) + 512;

    if (want < XTLS_OUT_MIN || p->hold)
        want = XTLS_OUT_MIN;
    if (want > XTLS_OUT_MAX)
        want = XTLS_OUT_MAX;
    w->tls_out_cap = (uint32_t)want;
    w->tls_plain = malloc(XTLS_PLAIN_BYTES);
    if (p->tls_cfg.resume)
        w->tls_sessions = calloc(w->nconns ? w->nconns : 1, sizeof(*w->tls_sessions));
    return w->tls_plain && (!p->tls_cfg.resume || w->tls_sessions) ? 0 : -1;
}

void xtls_pool_fini(struct worker *w)
{
    struct xtls *x;

    for (uint32_t i = 0; w->conns && i < w->nconns; i++) {
        x = w->conns[i].tls;
        if (x) {
            tls_io_fini(&x->io, false);
            free(x);
            w->conns[i].tls = NULL;
        }
    }
    for (uint32_t i = 0; w->tls_sessions && i < w->nconns; i++)
        if (w->tls_sessions[i])
            SSL_SESSION_free(w->tls_sessions[i]);
    while ((x = w->tls_free)) {
        w->tls_free = x->next;
        free(x);
    }
    free(w->tls_sessions);
    free(w->tls_plain);
    w->tls_sessions = NULL;
    w->tls_plain = NULL;
}

static struct xtls *xtls_attach(struct conn *c)
{
    struct worker *w = c->w;
    struct xtls *x = w->tls_free;

    if (x) {
        w->tls_free = x->next;
    } else {
        x = malloc(sizeof(*x) + w->tls_out_cap);
        if (!x)
            return NULL;
    }
    if (tls_io_init(&x->io, w->plan->tls_ctx, false)) {
        x->next = w->tls_free;
        w->tls_free = x;
        return NULL;
    }
    x->next = NULL;
    x->app_pending = false;
    x->fail_key = 0;
    c->tls = x;
    return x;
}

/* Send the next piece of pending ciphertext unless a send is in flight.
 * Returns true when a send is (now) in flight. */
static bool xtls_flush(struct conn *c)
{
    struct xtls *x = c->tls;
    size_t n;

    if (c->flags & CONN_F_SENDING)
        return true;
    if ((c->state != CONN_ST_ACTIVE && c->state != CONN_ST_HANDSHAKE) ||
        !tls_io_pending(&x->io))
        return false;
    n = tls_io_take(&x->io, x->out, c->w->tls_out_cap);
    if (!n)
        return false;
    conn_send_raw(c, x->out, (uint32_t)n);
    return true;
}

/* The handshake failed (reason key from tls.h); the caller closes, and
 * xtls_on_close counts it: once, whatever the path. */
static void xtls_hs_failed(struct conn *c, uint32_t key)
{
    if (c->tls && !c->tls->fail_key)
        c->tls->fail_key = key;
}

/* Offer a copy of the slot's session: OpenSSL marks the session object a
 * TLS 1.3 handshake resumed as not resumable, so a server that sends no
 * new ticket after a resumption (Node does not) would get a full
 * handshake every other time; the copy keeps the ticket usable for as
 * long as the server accepts it, and a fresh ticket replaces it. */
static void xtls_offer_session(SSL *ssl, SSL_SESSION *sess)
{
    SSL_SESSION *copy = SSL_SESSION_get_protocol_version(sess) == TLS1_3_VERSION
                            ? SSL_SESSION_dup(sess)
                            : NULL;

    SSL_set_session(ssl, copy ? copy : sess);
    if (copy)
        SSL_SESSION_free(copy); /* the SSL holds its own reference */
}

static void xtls_open(struct conn *c)
{
    struct worker *w = c->w;
    const struct plan *p = w->plan;
    struct xtls *x = xtls_attach(c);

    c->state = CONN_ST_HANDSHAKE;
    if (!x || tls_io_set_host(&x->io, p->host, !p->tls_cfg.insecure)) {
        xtls_hs_failed(c, TLS_REASON_BAD_HOST); /* no state at all: out of memory */
        conn_close(c, true);
        return;
    }
    SSL_set_app_data(x->io.ssl, c);
    if (w->tls_sessions && w->tls_sessions[c->slot])
        xtls_offer_session(x->io.ssl, w->tls_sessions[c->slot]);
    x->hs_start_ns = w->now;
    /* the handshake has --connect-timeout of its own */
    timer_arm(&w->wheel, &c->timer, w->now + p->connect_timeout_ns);
    if (tls_io_handshake(&x->io) == TLS_ERR) {
        xtls_hs_failed(c, tls_io_reason(&x->io));
        conn_close(c, true);
        return;
    }
    xtls_flush(c);
}

/* The handshake is complete: count it, then open the protocol. */
static void xtls_established(struct conn *c)
{
    struct worker *w = c->w;
    struct wstats *s = &w->stats;
    SSL *ssl = c->tls->io.ssl;
    uint64_t d = w->now - c->tls->hs_start_ns;

    c->state = CONN_ST_ACTIVE;
    timer_cancel(&w->wheel, &c->timer);
    load_conn_resolved(w, c);
    if (SSL_session_reused(ssl)) {
        s->tls_resumed++;
        hist_record(&s->tls_hs_resumed, d);
    } else {
        s->tls_full++;
        hist_record(&s->tls_hs_full, d);
    }
    stats_tls_negotiated(s, SSL_get_version(ssl), SSL_get_cipher_name(ssl));
    /* a WebSocket counts as connected once its own handshake succeeds */
    if (s->tls_full + s->tls_resumed == 1 && !w->plan->ws)
        atomic_fetch_add_explicit(&w->ctl->connected, 1, memory_order_relaxed);
    w->proto->on_open(c);
}

/* Decrypt what has arrived and hand it up. 0, or -1 to drop. */
static int xtls_read(struct conn *c)
{
    struct worker *w = c->w;

    while (c->state == CONN_ST_ACTIVE) {
        ssize_t n = tls_io_read(&c->tls->io, w->tls_plain, XTLS_PLAIN_BYTES);

        if (n > 0) {
            if (w->proto->on_data(c, w->tls_plain, (size_t)n) < 0)
                return -1;
            continue;
        }
        if (n == TLS_AGAIN) {
            tls_io_idle(&c->tls->io);
            break;
        }
        if (n == TLS_CLOSED) {
            w->proto->on_eof(c); /* close_notify: the server's orderly end */
            return -1;
        }
        /* e.g. a TLS 1.3 server rejecting our certificate: its alert
         * comes after our handshake completed */
        stats_tls_error(&w->stats, tls_io_reason(&c->tls->io));
        w->proto->fail(c, ERR_PROTOCOL);
        return -1;
    }
    xtls_flush(c); /* a read may have produced output (key update, alert) */
    return 0;
}

static int xtls_handshake(struct conn *c)
{
    struct xtls *x = c->tls;
    int rc = tls_io_handshake(&x->io);

    if (rc == TLS_AGAIN) {
        xtls_flush(c);
        return 0;
    }
    if (rc != TLS_OK) {
        xtls_hs_failed(c, rc == TLS_CLOSED ? TLS_REASON_CLOSED : tls_io_reason(&x->io));
        return -1;
    }
    /* open first, so the last handshake flight and the first request
     * leave in one send */
    xtls_established(c);
    if (c->state != CONN_ST_ACTIVE)
        return 0;
    return xtls_read(c);
}

static int xtls_recv(struct conn *c, const char *buf, size_t len)
{
    if (!c->tls || tls_io_feed(&c->tls->io, buf, len)) {
        xtls_hs_failed(c, TLS_REASON_NO_MEMORY);
        c->w->proto->fail(c, ERR_IO);
        return -1;
    }
    if (c->state == CONN_ST_HANDSHAKE)
        return xtls_handshake(c);
    return xtls_read(c);
}

static void xtls_write(struct conn *c, const char *buf, uint32_t len)
{
    struct xtls *x = c->tls;

    if (tls_io_write(&x->io, buf, len)) {
        stats_tls_error(&c->w->stats, tls_io_reason(&x->io));
        c->w->proto->fail(c, ERR_IO);
        conn_close(c, true);
        return;
    }
    x->app_pending = true;
    xtls_flush(c);
}

static void xtls_sent(struct conn *c)
{
    struct xtls *x = c->tls;

    c->flags &= ~CONN_F_SENDING;
    if (xtls_flush(c))
        return;
    if (x->app_pending) {
        x->app_pending = false;
        c->w->proto->on_sent(c);
    } else if (c->state == CONN_ST_ACTIVE) {
        /* our own flight (the handshake's last, an alert) held the
         * connection busy while the protocol was offered work, e.g. at
         * the clock's start: offer it again */
        c->w->proto->flush(c);
    }
}

static void xtls_on_timer(struct conn *c)
{
    xtls_hs_failed(c, TLS_REASON_TIMEOUT);
    conn_close(c, true);
}

/* Closing with the handshake unfinished: it failed for the reason
 * recorded, or the server cut it short. (At the run's end connections are
 * not closed one by one: a handshake still under way is not a failure.) */
static void xtls_on_close(struct conn *c)
{
    uint32_t key = TLS_REASON_NO_MEMORY; /* no state could be attached */

    if (c->state != CONN_ST_HANDSHAKE)
        return;
    if (c->tls)
        key = c->tls->fail_key ? c->tls->fail_key : TLS_REASON_CLOSED;
    stats_tls_failed(&c->w->stats, key);
    load_conn_resolved(c->w, c);
}

/* The close completed. The SSL is marked shut down before it is freed so
 * its session stays resumable (NOTES.md: 0 of 2000 resumed otherwise). */
static void xtls_release(struct conn *c)
{
    struct worker *w = c->w;
    struct xtls *x = c->tls;

    if (!x)
        return;
    tls_io_fini(&x->io, true);
    x->next = w->tls_free;
    w->tls_free = x;
    c->tls = NULL;
}

const struct xport_ops xport_tls = {
    .open = xtls_open,
    .recv = xtls_recv,
    .write = xtls_write,
    .sent = xtls_sent,
    .on_timer = xtls_on_timer,
    .on_close = xtls_on_close,
    .release = xtls_release,
};
