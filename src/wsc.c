/*
 * wsc.c - WebSocket client on one connection; see wsc.h.
 *
 * The in-flight ring (c->ts / c->ts_sent, --ws-pipeline entries) works as
 * in httpc.c: a message's round trip runs from the clock read just before
 * the submission that hands it to the kernel to the moment its reply is
 * parsed. Message timeouts settle the oldest message as a timeout but keep
 * the connection (a WebSocket service may drop a message and carry on);
 * the handshake has its own timeout (--timeout) and a failed handshake
 * ends the session.
 */
#include "wsc.h"

#include "jscan.h"

#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "load.h"
#include "tmpl.h"
#include "worker.h"
#include "ws.h"
#include "wsp.h"

#define WSC_FIN_WAIT_NS 1000000000ull /* after a clean close, the server's FIN */

struct wsx {
    struct wsx *next;       /* pool free list */
    struct wsp p;
    bool open;              /* p holds a wslay context */
    struct ws_hs hs;
    char key[WS_KEY_LEN + 1];
    char out[];             /* w->ws_out_cap bytes */
};

static void wsc_on_msg(void *user, int opcode, const uint8_t *data, size_t len);
static void wsc_on_pong(void *user, const uint8_t *data, size_t len);
static void wsc_on_close_frame(void *user, uint16_t code);

static const struct wsp_cb wsc_cb = {
    .on_msg = wsc_on_msg,
    .on_pong = wsc_on_pong,
    .on_close = wsc_on_close_frame,
};

int wsc_pool_init(struct worker *w)
{
    const struct plan *p = w->plan;
    size_t msg = p->ws_tmpl ? tmpl_max_len(p->ws_tmpl) : p->ws_payload_len;
    /* --hold sends only the upgrade, pings and a close: a small buffer
     * (a million connections may be mid-handshake at once) */
    size_t cap = p->hold ? 512 : 4096;

    /* room for a pipeline of messages in one send, within reason; larger
     * bursts go out over several sends */
    if (!p->hold && (msg + 14) * p->pipeline > cap)
        cap = (msg + 14) * p->pipeline;
    if (cap > (1u << 20))
        cap = 1u << 20;
    if (cap < p->ws_upgrade_len + WSC_PATH_MAX)
        cap = p->ws_upgrade_len + WSC_PATH_MAX;
    w->ws_out_cap = (uint32_t)cap;
    w->ws_scratch_cap = (uint32_t)(msg ? msg : 1);
    w->ws_scratch = malloc(w->ws_scratch_cap);
    return w->ws_scratch ? 0 : -1;
}

void wsc_pool_fini(struct worker *w)
{
    struct wsx *x;

    for (uint32_t i = 0; i < w->nconns; i++) {
        x = w->conns[i].ws;
        if (x) {
            if (x->open) /* a context still in its handshake has no wslay session */
                wsp_free(&x->p);
            free(x);
            w->conns[i].ws = NULL;
        }
    }
    while ((x = w->ws_free)) {
        w->ws_free = x->next;
        free(x);
    }
    free(w->ws_scratch);
    w->ws_scratch = NULL;
}

uint64_t wsc_conn_id(const struct conn *c)
{
    const struct plan *p = c->w->plan;
    /* dense in [0, active connections) per process; a shard's k is k*N + i */
    uint64_t k = (uint64_t)c->slot * p->threads + c->w->id;

    return p->shard_n > 1 ? k * p->shard_n + p->shard_i : k;
}

static struct wsx *wsc_attach(struct conn *c)
{
    struct worker *w = c->w;
    struct wsx *x = w->ws_free;

    if (x) {
        w->ws_free = x->next;
    } else {
        x = malloc(sizeof(*x) + w->ws_out_cap);
        if (!x)
            return NULL;
        w->ws_alloc++;
    }
    x->next = NULL;
    x->open = false;
    x->hs.len = 0;
    c->ws = x;
    w->ws_live++;
    return x;
}

static void wsc_detach(struct conn *c)
{
    struct worker *w = c->w;
    struct wsx *x = c->ws;

    if (!x)
        return;
    if (x->open)
        wsp_free(&x->p);
    x->open = false;
    x->next = w->ws_free;
    w->ws_free = x;
    c->ws = NULL;
    w->ws_live--;
}

/* Open the message layer on c's context (after the 101, or again after an
 * idle connection gave its context back). */
static int wsc_open_msgs(struct conn *c)
{
    struct wsx *x = c->ws ? c->ws : wsc_attach(c);

    if (!x)
        return -1;
    if (x->open)
        return 0;
    if (wsp_open(&x->p, &wsc_cb, c, &c->w->rng, x->out, c->w->ws_out_cap, c->w->plan->ws_max_msg))
        return -1;
    x->open = true;
    return 0;
}

static uint32_t ring_next(const struct conn *c, uint32_t i)
{
    return ++i == c->w->plan->pipeline ? 0 : i;
}

/* Hand whatever wslay has queued to the kernel (one send in flight). */
static void wsc_pump(struct conn *c)
{
    struct wsx *x = c->ws;
    uint32_t n;

    if (!x || !x->open || (c->flags & CONN_F_SENDING) || c->state != CONN_ST_ACTIVE)
        return;
    n = wsp_output(&x->p);
    if (n)
        conn_write(c, x->out, n);
}

/* Make sure c's timer fires by the next moment something is due:
 * handshake or oldest message timeout, paced send, keep-alive ping. */
static void wsc_arm(struct conn *c)
{
    struct worker *w = c->w;
    uint64_t due = UINT64_MAX, t = w->plan->timeout_ns;

    if (c->state != CONN_ST_ACTIVE || (c->flags & CONN_F_DONE))
        return; /* closing: wsc_begin_close / wsc_closed armed their own */
    if (c->flags & CONN_F_HANDSHAKE)
        due = c->next_ns + t;
    else {
        if (c->in_flight)
            due = c->ts[c->ts_head] + t;
        /* nothing may be sent (quota reached, draining): no wake-ups for it */
        if (worker_may_send(w) && w->plan->ws_period_ns && c->next_ns && c->next_ns < due)
            due = c->next_ns;
        if (worker_may_send(w) && c->ping_due && c->ping_due < due)
            due = c->ping_due;
    }
    /* lazy, as in httpc.c: a timer already due no later stays (if it fires
     * early, wsc_on_timer finds nothing due and re-arms), so a message
     * costs no timer operation in the common case */
    if (due == UINT64_MAX || (timer_armed(&c->timer) && c->timer.due_ns <= due))
        return;
    timer_cancel(&w->wheel, &c->timer);
    timer_arm(&w->wheel, &c->timer, due);
}

/* --hold: an idle connection keeps no context. */
static void wsc_maybe_detach(struct conn *c)
{
    struct wsx *x = c->ws;

    /* not even a ping in flight keeps it: its pong carries the send time
     * and attaches a fresh context; at a million connections the round
     * trip can take seconds, and contexts held that long were gigabytes */
    if (!c->w->plan->hold || !x || (c->flags & (CONN_F_SENDING | CONN_F_HANDSHAKE)) ||
        c->in_flight || (x->open && !wsp_idle(&x->p)))
        return;
    wsc_detach(c);
}

static void wsc_fail(struct conn *c, enum err_kind kind)
{
    struct wstats *s = &c->w->stats;

    if (c->flags & CONN_F_HANDSHAKE) {
        c->flags &= ~CONN_F_HANDSHAKE;
        s->ws_hs_failed[kind == ERR_TIMEOUT ? WSHS_TIMEOUT : WSHS_CLOSED]++;
    }
    while (c->in_flight)
        if (conn_settle(c))
            s->errors[kind]++;
}

/* Queue one data message (the template rendered, or the fixed payload). */
static int wsc_queue_one(struct conn *c)
{
    struct worker *w = c->w;
    const struct plan *p = w->plan;
    int op = p->ws_binary ? 2 : 1;

    if (p->ws_tmpl) {
        struct tmpl_vals v = {.conn = wsc_conn_id(c), .seq = c->seq, .ts = w->now / 1000};
        size_t n = tmpl_render(p->ws_tmpl, w->ws_scratch, w->ws_scratch_cap, &v);

        return wsp_queue_msg(&c->ws->p, op, w->ws_scratch, n);
    }
    return wsp_queue_msg(&c->ws->p, op, p->ws_payload, p->ws_payload_len);
}

/* Send n messages; each takes a ring entry whose latency starts at its
 * intended time (open loop) or at the submission. */
static void wsc_send(struct conn *c, uint32_t n, bool from_backlog)
{
    struct worker *w = c->w;
    uint32_t i;

    if (!n || wsc_open_msgs(c))
        return;
    c->stamp_from = c->ts_tail;
    for (i = 0; i < n; i++) {
        if (wsc_queue_one(c))
            break; /* wslay's queue is full: the rest waits */
        c->ts[c->ts_tail] = from_backlog ? load_backlog_pop(w) : w->now;
        c->ts_sent[c->ts_tail] = w->now;
        c->ts_tail = ring_next(c, c->ts_tail);
        c->seq++;
    }
    c->stamp_n = i;
    c->in_flight += i;
    w->in_flight += i;
    w->stats.requests += i;
    w->stats.ws_msgs_sent += i;
    if (i)
        worker_stamp_later(w, c);
    wsc_pump(c);
    wsc_arm(c);
}

static void wsc_send_backlog(struct conn *c)
{
    uint32_t room = c->w->plan->pipeline - c->in_flight;

    if (c->flags & (CONN_F_HANDSHAKE | CONN_F_DONE))
        return; /* no message before the 101 (RFC 6455 4.1) */
    wsc_send(c, room < c->w->backlog_len ? room : c->w->backlog_len, true);
}

/* Start the closing handshake: the session has done its work. */
static void wsc_begin_close(struct conn *c)
{
    if ((c->flags & CONN_F_DONE) || wsc_open_msgs(c))
        return;
    c->flags |= CONN_F_DONE | CONN_F_ANSWERED;
    wsp_queue_close(&c->ws->p, 1000);
    wsc_pump(c);
    /* a server that never answers our close does not hold the slot */
    timer_cancel(&c->w->wheel, &c->timer);
    timer_arm(&c->w->wheel, &c->timer, c->w->now + c->w->plan->timeout_ns);
}

/* --reconnect: messages this session may still send. */
static uint32_t wsc_session_room(const struct conn *c)
{
    const struct plan *p = c->w->plan;
    uint32_t sent = c->seq; /* sent this session, timed out or not */

    if (!p->reconnect)
        return UINT32_MAX;
    return sent < p->ws_msgs_per_conn ? p->ws_msgs_per_conn - sent : 0;
}

/* Paced sends (--ws-rate) and keep-alive pings that are due now. */
static void wsc_timed(struct conn *c)
{
    struct worker *w = c->w;
    const struct plan *p = w->plan;

    if (p->ws_period_ns && c->next_ns && w->now >= c->next_ns && worker_may_send(w)) {
        c->next_ns += p->ws_period_ns;
        if (c->next_ns <= w->now)
            c->next_ns = w->now + p->ws_period_ns; /* we were late: no burst */
        if (c->in_flight < p->pipeline && wsc_session_room(c))
            wsc_send(c, 1, false);
        else if (w->in_run && wsc_session_room(c))
            w->stats.dropped++; /* --ws-pipeline replies still owed: not sent */
    }
    if (c->ping_due && w->now >= c->ping_due && worker_may_send(w) && !wsc_open_msgs(c)) {
        uint64_t t = w->now;

        c->ping_due = w->now + p->ping_ns;
        if (!wsp_queue_ping(&c->ws->p, &t, sizeof(t))) {
            c->ping_ns = w->now;
            w->stats.ws_pings++;
        }
        wsc_pump(c);
    }
}

static void wsc_flush(struct conn *c)
{
    struct worker *w = c->w;
    const struct plan *p = w->plan;
    uint32_t n;

    if (c->state != CONN_ST_ACTIVE || (c->flags & (CONN_F_HANDSHAKE | CONN_F_DONE)))
        return;
    /* frames queued while a send of the transport's own (TLS) held the
     * connection busy (a pong, a close) go first */
    wsc_pump(c);
    if (!load_conn_wanted(w, c)) {
        if (!c->in_flight)
            conn_close(c, false); /* retired by a falling connection target */
        return;
    }
    if (w->started && !wsc_session_room(c) && !c->in_flight) {
        wsc_begin_close(c);
        return;
    }
    if (w->started && !c->next_ns && p->ws_period_ns)
        c->next_ns = w->now + worker_rand(w) % p->ws_period_ns;
    if (w->started && !c->ping_due && p->ping_ns)
        c->ping_due = w->now + worker_rand(w) % p->ping_ns;
    if (p->ws_period_ns || p->hold) {
        wsc_timed(c);
    } else if (p->open_loop) {
        if (!(c->flags & CONN_F_SENDING))
            load_conn_free(w, c);
    } else if (worker_may_send(w)) {
        n = p->pipeline - c->in_flight;
        if (wsc_session_room(c) < n)
            n = wsc_session_room(c);
        if (p->requests && w->in_run && w->quota - w->stats.requests < n)
            n = (uint32_t)(w->quota - w->stats.requests);
        if (!(c->flags & CONN_F_SENDING))
            wsc_send(c, n, false);
    }
    wsc_arm(c);
    wsc_maybe_detach(c);
}

/* The upgrade request with a fresh key; a scenario's ws_connect path
 * template is rendered for this connection in place of the URL's path
 * (the plan's upgrade reads "GET / HTTP/1.1..."). */
static size_t wsc_upgrade(struct conn *c, struct wsx *x)
{
    struct worker *w = c->w;
    const struct plan *p = w->plan;
    size_t shift = 0, path_end = 5; /* after "GET /" */

    ws_make_key(worker_rand(w), worker_rand(w), x->key);
    if (p->ws_path_tmpl) {
        struct tmpl_vals v = {.conn = wsc_conn_id(c), .ts = w->now / 1000, .rng = &w->rng};
        size_t n = tmpl_render(p->ws_path_tmpl, x->out + 4, WSC_PATH_MAX, &v);

        memcpy(x->out, "GET ", 4);
        memcpy(x->out + 4 + n, p->ws_upgrade + path_end, p->ws_upgrade_len - path_end);
        shift = 4 + n - path_end;
    } else {
        memcpy(x->out, p->ws_upgrade, p->ws_upgrade_len);
    }
    memcpy(x->out + p->ws_key_off + shift, x->key, WS_KEY_LEN);
    return p->ws_upgrade_len + shift;
}

static void wsc_on_open(struct conn *c)
{
    struct worker *w = c->w;
    struct wsx *x = wsc_attach(c);

    if (!x) {
        w->stats.ws_hs_failed[WSHS_CLOSED]++;
        conn_close(c, true);
        return;
    }
    size_t len = wsc_upgrade(c, x);

    c->flags |= CONN_F_HANDSHAKE;
    c->next_ns = w->now; /* handshake start */
    conn_write(c, x->out, (uint32_t)len);
    wsc_arm(c);
}

static enum wshs_kind wsc_hs_kind(enum ws_hs_err e)
{
    switch (e) {
    case WS_HS_BAD_STATUS:
        return WSHS_STATUS;
    case WS_HS_NO_UPGRADE:
        return WSHS_NO_UPGRADE;
    case WS_HS_BAD_ACCEPT:
        return WSHS_BAD_ACCEPT;
    case WS_HS_BAD_SUBPROTOCOL:
        return WSHS_SUBPROTOCOL;
    case WS_HS_BAD_EXTENSION:
        return WSHS_EXTENSION;
    default:
        return WSHS_MALFORMED;
    }
}

static int wsc_feed(struct conn *c, const char *buf, size_t len);

/* Bytes of the 101 response; what follows it belongs to the message layer. */
static int wsc_handshake(struct conn *c, const char *buf, size_t len)
{
    struct worker *w = c->w;
    struct wsx *x = c->ws;
    size_t used;
    int status = 0, rc = ws_hs_feed(&x->hs, buf, len, &used);
    enum ws_hs_err e;

    if (rc == 0)
        return 0;
    c->flags &= ~CONN_F_HANDSHAKE;
    if (rc < 0) {
        w->stats.ws_hs_failed[WSHS_MALFORMED]++;
        return -1;
    }
    e = ws_hs_verify(x->hs.head, x->hs.len, x->key, w->plan->ws_subprotocol, &status);
    if (e != WS_HS_OK) {
        w->stats.ws_hs_failed[wsc_hs_kind(e)]++;
        if (e == WS_HS_BAD_STATUS && status > 0 && status < STATS_STATUS_MAX)
            w->stats.ws_hs_status[status]++;
        return -1;
    }
    if (!w->stats.ws_handshakes++)
        atomic_fetch_add_explicit(&w->ctl->connected, 1, memory_order_relaxed);
    hist_record(&w->stats.ws_handshake_time, w->now - c->next_ns);
    c->next_ns = 0;
    /* a session that ends before any reply is a failed one (back-off),
     * except when holding the connection was the whole point */
    if (w->plan->hold)
        c->flags |= CONN_F_ANSWERED;
    if (wsc_open_msgs(c))
        return -1;
    if (len > used) {
        rc = wsc_feed(c, buf + used, len - used);
        if (rc)
            return rc < 0 ? -1 : 0;
    }
    wsc_flush(c);
    return 0;
}

/* Feed the message layer. After a protocol error wslay has queued a close
 * (1002, 1007, 1009...): it goes out first, then the connection drops
 * (wsc_on_sent), counted as a failed session. Returns -1 to drop now. */
static int wsc_feed(struct conn *c, const char *buf, size_t len)
{
    if (wsc_open_msgs(c))
        return -1;
    if (!wsp_feed(&c->ws->p, buf, len))
        return 0;
    c->w->stats.ws_proto_errors++;
    wsc_fail(c, ERR_PROTOCOL);
    c->flags &= ~CONN_F_ANSWERED;
    c->flags |= CONN_F_BAD_CLOSE; /* reconnect with back-off */
    if (c->flags & CONN_F_SENDING)
        return 1; /* the close follows the send in flight */
    if (!wsp_output(&c->ws->p))
        return -1;
    conn_write(c, c->ws->out, c->ws->p.out_len);
    return 1;
}

/* The close handshake is over (or failed). After our own clean close the
 * server closes TCP first (RFC 6455 7.1.1: TIME_WAIT stays on its side,
 * which keeps a reconnect storm from exhausting our ports): wait for its
 * FIN (conn.c closes on EOF), at most WSC_FIN_WAIT_NS. */
static void wsc_closed(struct conn *c)
{
    struct worker *w = c->w;

    if (!(c->flags & CONN_F_DONE) || (c->flags & CONN_F_BAD_CLOSE)) {
        conn_close(c, c->flags & CONN_F_BAD_CLOSE);
        return;
    }
    c->next_ns = 0;
    c->ping_due = 0;
    timer_cancel(&w->wheel, &c->timer);
    timer_arm(&w->wheel, &c->timer, w->now + WSC_FIN_WAIT_NS);
}

static int wsc_on_data(struct conn *c, const char *buf, size_t len)
{
    int rc;

    if (c->flags & CONN_F_HANDSHAKE)
        return wsc_handshake(c, buf, len);
    if (c->ws && c->ws->open && wsp_closed(&c->ws->p))
        return 0; /* closing: our close (or the error's) is on its way out */
    rc = wsc_feed(c, buf, len);
    if (rc)
        return rc < 0 ? -1 : 0;
    if (c->state != CONN_ST_ACTIVE)
        return 0; /* a callback closed it */
    if (wsp_closed(&c->ws->p) && !(c->flags & CONN_F_SENDING) && !wsp_output(&c->ws->p)) {
        wsc_closed(c);
        return 0;
    }
    wsc_pump(c);
    wsc_flush(c);
    return 0;
}

/* A data message: a reply to one of ours, or a push (fan-out). */
/* Are replies told apart by reading {{conn}} and {{seq}} back? */
static bool wsc_matched(const struct plan *p)
{
    return p->ws_tmpl && tmpl_has(p->ws_tmpl, TMPL_CONN) && tmpl_has(p->ws_tmpl, TMPL_SEQ);
}

/* A scenario's expect: a substring, or a JSON field's value. */
static bool wsc_expected(const struct plan *p, const char *msg, size_t len)
{
    struct jscan_val v;

    if (!p->ws_expect_path)
        return memmem(msg, len, p->ws_expect, p->ws_expect_len) != NULL;
    return jscan_find(p->ws_expect_path, msg, len, &v) &&
           jscan_equals(&v, p->ws_expect, p->ws_expect_len);
}

static void wsc_on_msg(void *user, int opcode, const uint8_t *data, size_t len)
{
    struct conn *c = user;
    struct worker *w = c->w;
    const struct plan *p = w->plan;
    struct tmpl_vals v;
    bool reply = c->in_flight > 0;

    (void)opcode;
    w->stats.ws_msgs_received++;
    if (p->ws_expect) {
        /* expect: the first message that matches answers the oldest in flight */
        reply = c->in_flight && wsc_expected(p, (const char *)data, len);
    } else if (wsc_matched(p)) {
        bool ours = tmpl_match(p->ws_tmpl, (const char *)data, len, &v) &&
                    v.conn == wsc_conn_id(c);

        reply = ours && c->in_flight && v.seq == c->seq - c->in_flight;
        if (ours && !reply) {
            w->stats.ws_late++; /* ours, but not in flight: it timed out */
            return;
        }
        if (!ours && tmpl_has(p->ws_tmpl, TMPL_TS) && (v.have & (1u << TMPL_TS)) && w->in_run) {
            uint64_t now_us = w->now / 1000;

            hist_record(&w->stats.ws_fanout, now_us > v.ts ? (now_us - v.ts) * 1000 : 0);
        }
    } else if (c->late) {
        /* first in, first out: this answers a message that already timed
         * out, not the one now oldest in flight */
        c->late--;
        w->stats.ws_late++;
        return;
    }
    if (!reply) {
        w->stats.ws_pushes++;
        return;
    }
    c->sess_n++;
    c->flags |= CONN_F_ANSWERED;
    if (conn_settle(c))
        w->stats.responses++;
}

static void wsc_on_pong(void *user, const uint8_t *data, size_t len)
{
    struct conn *c = user;
    struct worker *w = c->w;

    uint64_t t;

    c->ping_ns = 0;
    c->flags |= CONN_F_ANSWERED;
    if (len != sizeof(t))
        return; /* not one of ours (unsolicited pongs are allowed) */
    /* the ping carried its send time: an answer to an older ping is timed
     * right too */
    memcpy(&t, data, sizeof(t));
    if (w->in_run && t >= w->run_start_ns && t <= w->now) {
        w->stats.ws_pongs++;
        hist_record(&w->stats.ws_ping_rtt, w->now - t);
    }
}

static void wsc_on_close_frame(void *user, uint16_t code)
{
    struct conn *c = user;
    struct wstats *s = &c->w->stats;

    s->ws_close_codes[code >= 1000 && code < 1016 ? code - 1000 : 16]++;
    /* 1005 (no code) is a legal answer to our own close */
    if (code != 1000 && code != 1001 && !(code == 1005 && (c->flags & CONN_F_DONE)))
        c->flags |= CONN_F_BAD_CLOSE; /* reconnect with back-off, not in a tight loop */
    if (!(c->flags & CONN_F_DONE))
        wsc_fail(c, ERR_CONN_CLOSED); /* the server ended it: what is in flight is lost */
}

static void wsc_on_sent(struct conn *c)
{
    struct wsx *x = c->ws;

    if (!x)
        return;
    if (!x->open) {
        /* the upgrade request went out */
        return;
    }
    wsp_sent(&x->p);
    if (wsp_closed(&x->p) && !wsp_output(&x->p)) {
        wsc_closed(c);
        return;
    }
    wsc_pump(c);
    if (!(c->flags & CONN_F_SENDING))
        wsc_flush(c);
}

static void wsc_on_eof(struct conn *c)
{
    wsc_fail(c, ERR_CONN_CLOSED);
}

static void wsc_on_timer(struct conn *c)
{
    struct worker *w = c->w;

    if (c->flags & CONN_F_DONE) {
        /* our close: either the server's FIN never came after the close
         * handshake (fine), or its close frame never came (a failure) */
        bool exchanged = c->ws && c->ws->open && wsp_closed(&c->ws->p);

        conn_close(c, !exchanged || (c->flags & CONN_F_BAD_CLOSE));
        return;
    }
    if (c->flags & CONN_F_HANDSHAKE) {
        if (w->now >= c->next_ns + w->plan->timeout_ns) {
            wsc_fail(c, ERR_TIMEOUT);
            conn_close(c, true);
            return;
        }
    } else {
        /* late messages are timeouts; the connection carries on */
        while (c->in_flight && w->now >= c->ts[c->ts_head] + w->plan->timeout_ns) {
            if (conn_settle(c))
                w->stats.errors[ERR_TIMEOUT]++;
            if (!wsc_matched(w->plan))
                c->late++; /* its reply, if it ever comes, is not the next one's */
        }
        wsc_timed(c);
    }
    wsc_flush(c);
    wsc_arm(c);
}

static void wsc_on_close(struct conn *c)
{
    wsc_fail(c, ERR_CONN_CLOSED); /* counts a handshake cut short too */
}

/* The close completed: no send can still read the context's buffer. */
static void wsc_release(struct conn *c)
{
    wsc_detach(c);
}

const struct proto_ops proto_ws = {
    .on_open = wsc_on_open,
    .on_data = wsc_on_data,
    .on_eof = wsc_on_eof,
    .on_sent = wsc_on_sent,
    .fail = wsc_fail,
    .on_timer = wsc_on_timer,
    .flush = wsc_flush,
    .send_backlog = wsc_send_backlog,
    .on_close = wsc_on_close,
    .release = wsc_release,
};
