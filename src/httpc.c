/*
 * httpc.c - closed-loop HTTP/1.1 client on one connection.
 *
 * Pipelining: up to plan->pipeline requests in flight; responses are
 * matched in order (HTTP/1.1 has no other way). Each request's send time
 * sits in the connection's ring c->ts[]; it is first set to the loop's
 * clock and overwritten with the clock read just before the submission
 * that hands it to the kernel (worker_stamp_later), so queueing inside our
 * own loop turn is not billed to the server.
 *
 * New requests go out once per received chunk (httpc_flush after the parse
 * loop), so responses that arrive together are answered with one send of
 * several pre-encoded copies.
 *
 * Response timeouts are lazy: the connection timer is armed for the oldest
 * in-flight request and, when it fires, re-armed for the then-oldest one
 * if that is not late yet; a request costs no timer operation.
 */
#include "httpc.h"

#include "conn.h"
#include "load.h"
#include "worker.h"

static void httpc_arm_timeout(struct conn *c)
{
    struct worker *w = c->w;

    if (!timer_armed(&c->timer) && c->in_flight)
        timer_arm(&w->wheel, &c->timer, c->ts[c->ts_head] + w->plan->timeout_ns);
}

static uint32_t ring_next(const struct conn *c, uint32_t i)
{
    return ++i == c->w->plan->pipeline ? 0 : i;
}

/* Append n requests to c's ring; `intended` gives each one's latency start
 * (open loop), or NULL for "now" (closed loop). Then one send for all. */
static void httpc_send(struct conn *c, uint32_t n, bool from_backlog)
{
    struct worker *w = c->w;
    const struct plan *p = w->plan;
    /* the batch that ends a --requests-per-conn session asks for a close */
    bool last = p->req_close && c->sess_n + c->in_flight + n == p->requests_per_conn;

    c->stamp_from = c->ts_tail;
    c->stamp_n = n;
    for (uint32_t i = 0; i < n; i++) {
        c->ts[c->ts_tail] = from_backlog ? load_backlog_pop(w) : w->now;
        c->ts_sent[c->ts_tail] = w->now; /* provisional: worker_stamp sets it */
        c->ts_tail = ring_next(c, c->ts_tail);
    }
    c->in_flight += n;
    w->in_flight += n;
    w->stats.requests += n;
    worker_stamp_later(w, c);
    if (last)
        conn_write(c, p->req_close + (p->pipeline - n) * p->req_len,
                   (uint32_t)((n - 1) * p->req_len + p->req_close_len));
    else
        conn_write(c, p->req, (uint32_t)(n * p->req_len));
    httpc_arm_timeout(c);
}

/* --requests-per-conn: how many more this session may send. */
static uint32_t httpc_session_room(const struct conn *c)
{
    uint32_t rpc = c->w->plan->requests_per_conn, sent = c->sess_n + c->in_flight;

    if (!rpc)
        return UINT32_MAX;
    return sent < rpc ? rpc - sent : 0;
}

void httpc_send_backlog(struct conn *c)
{
    uint32_t room = c->w->plan->pipeline - c->in_flight;

    if (httpc_session_room(c) < room)
        room = httpc_session_room(c);
    httpc_send(c, room < c->w->backlog_len ? room : c->w->backlog_len, true);
}

/* --hold: one request per --ping interval, first at a random phase so a
 * million connections do not all wake in the same millisecond. */
static void httpc_hold(struct conn *c)
{
    struct worker *w = c->w;
    uint64_t ping = w->plan->ping_ns;

    if (c->in_flight)
        return;
    if (!c->next_ns)
        c->next_ns = w->now + worker_rand(w) % ping;
    if (w->now >= c->next_ns && worker_may_send(w)) {
        c->next_ns = c->next_ns + ping > w->now ? c->next_ns + ping : w->now + ping;
        timer_cancel(&w->wheel, &c->timer);
        httpc_send(c, 1, false);
        return;
    }
    timer_cancel(&w->wheel, &c->timer);
    if (worker_may_send(w))
        timer_arm(&w->wheel, &c->timer, c->next_ns);
}

void httpc_flush(struct conn *c)
{
    struct worker *w = c->w;
    const struct plan *p = w->plan;
    uint32_t n = p->pipeline - c->in_flight;

    if (c->state != CONN_ST_ACTIVE || (c->flags & (CONN_F_SENDING | CONN_F_SERVER_CLOSE)))
        return;
    if (!load_conn_wanted(w, c)) {
        /* retired by a falling connection target: close once answered */
        if (!c->in_flight)
            conn_close(c, false);
        return;
    }
    if (!httpc_session_room(c)) {
        /* --requests-per-conn reached: the session ends once answered */
        if (!c->in_flight) {
            c->flags |= CONN_F_DONE;
            conn_close(c, false);
        }
        return;
    }
    if (p->hold) {
        if (w->started)
            httpc_hold(c);
        return;
    }
    if (p->open_loop) {
        load_conn_free(w, c);
        return;
    }
    if (!n || !worker_may_send(w))
        return;
    if (httpc_session_room(c) < n)
        n = httpc_session_room(c);
    if (p->requests && w->in_run && w->quota - w->stats.requests < n)
        n = (uint32_t)(w->quota - w->stats.requests);
    httpc_send(c, n, false);
}

void httpc_on_open(struct conn *c)
{
    httpc_flush(c);
}

void httpc_on_sent(struct conn *c)
{
    httpc_flush(c);
}


static void httpc_on_response(struct conn *c)
{
    struct wstats *s = &c->w->stats;

    c->sess_n++;
    if (conn_settle(c)) {
        s->responses++;
        stats_status(s, c->resp.status);
    }
    c->flags |= CONN_F_ANSWERED;
    if (!c->resp.keep_alive)
        c->flags |= CONN_F_SERVER_CLOSE;
    http1_resp_reset(&c->resp);
}

void httpc_fail(struct conn *c, enum err_kind kind)
{
    struct wstats *s = &c->w->stats;

    while (c->in_flight)
        if (conn_settle(c))
            s->errors[kind]++;
}

int httpc_on_data(struct conn *c, const char *buf, size_t len)
{
    size_t used;

    while (len) {
        enum http1_rc rc;

        if (!c->in_flight) {
            /* bytes nobody asked for: the stream cannot be trusted any more */
            c->w->stats.unsolicited++;
            return -1;
        }
        rc = http1_resp_feed(&c->resp, buf, len, &used);
        if (rc == HTTP1_MORE)
            break;
        if (rc == HTTP1_ERR) {
            httpc_fail(c, ERR_PROTOCOL);
            return -1;
        }
        httpc_on_response(c);
        buf += used;
        len -= used;
    }
    if ((c->flags & CONN_F_SERVER_CLOSE) && !c->in_flight) {
        if (c->w->plan->requests_per_conn && c->sess_n >= c->w->plan->requests_per_conn)
            c->flags |= CONN_F_DONE; /* the close we asked for */
        conn_close(c, false);
        return 0;
    }
    httpc_flush(c);
    return 0;
}

void httpc_on_eof(struct conn *c)
{
    if (c->in_flight && http1_resp_eof(&c->resp) == HTTP1_DONE)
        httpc_on_response(c);
    httpc_fail(c, ERR_CONN_CLOSED);
}

void httpc_on_timer(struct conn *c)
{
    struct worker *w = c->w;

    if (!c->in_flight) {
        httpc_flush(c); /* --hold: the next keep-alive request is due */
        return;
    }
    if (w->now >= c->ts[c->ts_head] + w->plan->timeout_ns) {
        httpc_fail(c, ERR_TIMEOUT);
        conn_close(c, true);
        return;
    }
    httpc_arm_timeout(c);
}

static void httpc_on_close(struct conn *c)
{
    (void)c;
}

static void httpc_release(struct conn *c)
{
    (void)c;
}

const struct proto_ops proto_http = {
    .on_open = httpc_on_open,
    .on_data = httpc_on_data,
    .on_eof = httpc_on_eof,
    .on_sent = httpc_on_sent,
    .fail = httpc_fail,
    .on_timer = httpc_on_timer,
    .flush = httpc_flush,
    .send_backlog = httpc_send_backlog,
    .on_close = httpc_on_close,
    .release = httpc_release,
};
