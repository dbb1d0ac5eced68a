/*
 * conn.c - connection lifecycle over io_uring direct descriptors.
 *
 * socket_direct (into the connection's own slot) and connect are linked in
 * one submission; the socket's success completion is skipped. Once
 * connected, one multishot recv with provided buffers stays armed for the
 * connection's life. Teardown cancels whatever is still pending on the slot
 * (hard-linked, so it runs whether or not anything matched) and closes the
 * slot; the close completion decides between reconnecting now, backing off
 * (after a failed session, exponentially, capped, with jitter: a dead or
 * refusing server must never spin a core) and staying down (run over).
 *
 * Hot path: conn_on_cqe (recv, send). Errors are counted by kind, never
 * fatal.
 */
#include "conn.h"

#include <errno.h>
#include <netinet/in.h>
#include <stddef.h>
#include <unistd.h>

#include "load.h"
#include "worker.h"

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
/* newer than liburing 2.3's headers: filled by hand (NOTES.md) */
#define CONN_OP_BIND 56
#define CONN_SOCKET_URING_OP_SETSOCKOPT 3

#define BACKOFF_BASE_NS 10000000ull   /* 10 ms */
#define BACKOFF_MAX_NS 1000000000ull  /* 1 s */

static void conn_on_timer(struct timer *t, uint64_t now_ns);
static void conn_connect_failed(struct conn *c, int err);

static void plain_open(struct conn *c)
{
    c->w->proto->on_open(c);
}

static int plain_recv(struct conn *c, const char *buf, size_t len)
{
    return c->w->proto->on_data(c, buf, len);
}

static void plain_sent(struct conn *c)
{
    c->flags &= ~CONN_F_SENDING;
    c->w->proto->on_sent(c);
}

static void plain_nop(struct conn *c)
{
    (void)c;
}

const struct xport_ops xport_plain = {
    .open = plain_open,
    .recv = plain_recv,
    .write = conn_send_raw,
    .sent = plain_sent,
    .on_timer = plain_nop,
    .on_close = plain_nop,
    .release = plain_nop,
};

void conn_init(struct conn *c, struct worker *w, uint32_t slot, uint64_t *ts, uint64_t *ts_sent)
{
    *c = (struct conn){.slot = slot, .w = w, .ts = ts, .ts_sent = ts_sent, .state = CONN_ST_IDLE};
    c->resp.head_request = w->plan->head_request;
    timer_init(&c->timer, conn_on_timer);
}

static struct io_uring_sqe *conn_sqe(struct conn *c, unsigned op)
{
    struct io_uring_sqe *sqe = uring_sqe(&c->w->u);

    io_uring_sqe_set_data64(sqe, uring_ud(op, c->gen, c->slot));
    return sqe;
}

/* The local address this connection binds to (--source, or the loopback
 * spreading): connections take the addresses in turn. */
static const struct sockaddr_storage *conn_source(const struct conn *c)
{
    const struct plan *p = c->w->plan;
    uint64_t g = (uint64_t)c->slot * p->threads + c->w->id;

    return &p->sources[g % p->nsources];
}

static socklen_t conn_addr_len(const struct sockaddr_storage *a)
{
    return a->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

/* socket -> setsockopt(IP_BIND_ADDRESS_NO_PORT) -> bind, linked in the ring
 * (kernel 6.11+): the port is chosen at connect time per 4-tuple, so each
 * source address gets the whole ephemeral range towards the target. */
static void conn_prep_bind_linked(struct conn *c, const struct sockaddr_storage *src)
{
    static const int one = 1;
    struct io_uring_sqe *sqe = conn_sqe(c, OP_SOCKET);

    io_uring_prep_rw(IORING_OP_URING_CMD, sqe, (int)c->slot, NULL, 0, 0);
    sqe->off = CONN_SOCKET_URING_OP_SETSOCKOPT; /* cmd_op: the low half of off */
    sqe->addr = (uint64_t)IPPROTO_IP | ((uint64_t)IP_BIND_ADDRESS_NO_PORT << 32); /* level, optname */
    sqe->file_index = sizeof(one);                                             /* optlen */
    sqe->addr3 = (uint64_t)(uintptr_t)&one;                                    /* optval */
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, uring_ud(OP_SOCKET, c->gen, c->slot));

    sqe = conn_sqe(c, OP_SOCKET);
    io_uring_prep_rw(CONN_OP_BIND, sqe, (int)c->slot, src, 0, conn_addr_len(src));
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
}

/* Older kernels: a plain socket bound with syscalls, then installed in the
 * connection's slot. Returns 0 or an errno. */
static int conn_bind_sync(struct conn *c, const struct sockaddr_storage *src)
{
    int one = 1, err = 0;
    int fd = socket(src->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return errno;
    if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one)) ||
        bind(fd, (const struct sockaddr *)src, conn_addr_len(src)))
        err = errno;
    else if (io_uring_register_files_update(&c->w->u.ring, c->slot, &fd, 1) != 1)
        err = EBADF;
    close(fd);
    return err;
}

void conn_connect(struct conn *c)
{
    const struct plan *p = c->w->plan;
    struct io_uring_sqe *sqe;

    c->state = CONN_ST_CONNECTING;
    c->flags &= CONN_F_FREE; /* a free-list entry may still name this slot */
    c->in_flight = 0;
    c->warm_n = 0;
    c->sess_n = 0;
    c->seq = 0;
    c->late = 0;
    c->next_ns = c->ping_ns = c->ping_due = 0;
    c->ts_head = c->ts_tail = 0;
    http1_resp_reset(&c->resp);
    c->connect_start_ns = c->w->now;
    c->w->stats.conn_opened++;

    uring_reserve(&c->w->u, 4); /* socket [-> setsockopt -> bind] -> connect */
    if (p->nsources && !c->w->bind_linked) {
        int err = conn_bind_sync(c, conn_source(c));

        if (err) {
            conn_connect_failed(c, err);
            return;
        }
    } else {
        sqe = conn_sqe(c, OP_SOCKET);
        io_uring_prep_socket_direct(sqe, p->addr.ss_family, SOCK_STREAM, 0, c->slot, 0);
        sqe->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
        if (p->nsources)
            conn_prep_bind_linked(c, conn_source(c));
    }

    sqe = conn_sqe(c, OP_CONNECT);
    io_uring_prep_connect(sqe, c->slot, (const struct sockaddr *)&p->addr, p->addr_len);
    sqe->flags |= IOSQE_FIXED_FILE;

    timer_arm(&c->w->wheel, &c->timer, c->w->now + p->connect_timeout_ns);
}

static void conn_arm_recv(struct conn *c)
{
    struct io_uring_sqe *sqe = conn_sqe(c, OP_RECV);

    io_uring_prep_recv_multishot(sqe, c->slot, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = URING_BGID;
}

static void conn_submit_send(struct conn *c)
{
    struct io_uring_sqe *sqe = conn_sqe(c, OP_SEND);

    io_uring_prep_send(sqe, c->slot, c->send_buf + c->send_off, c->send_len - c->send_off,
                       MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
}

void conn_write(struct conn *c, const char *buf, uint32_t len)
{
    c->w->xp->write(c, buf, len);
}

void conn_send_raw(struct conn *c, const char *buf, uint32_t len)
{
    c->send_buf = buf;
    c->send_len = len;
    c->send_off = 0;
    c->flags |= CONN_F_SENDING;
    conn_submit_send(c);
}

void conn_close(struct conn *c, bool failed)
{
    struct io_uring_sqe *sqe;

    if (c->state == CONN_ST_CLOSING || c->state == CONN_ST_DONE)
        return;
    timer_cancel(&c->w->wheel, &c->timer);
    c->w->proto->on_close(c);
    c->w->xp->on_close(c);
    if (failed && c->backoff < 255)
        c->backoff++;
    else if (!failed)
        c->backoff = 0;
    c->state = CONN_ST_CLOSING;
    c->gen++; /* everything still pending on the old incarnation is stale */
    uring_reserve(&c->w->u, 2);

    sqe = conn_sqe(c, OP_CANCEL);
    io_uring_prep_cancel_fd(sqe, c->slot, IORING_ASYNC_CANCEL_FD_FIXED | IORING_ASYNC_CANCEL_ALL);
    sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;

    sqe = conn_sqe(c, OP_CLOSE);
    io_uring_prep_close_direct(sqe, c->slot);
}

/* Settle the oldest in-flight request (or WebSocket message); its latency
 * ends now. Returns false for a warm-up one, which no statistic counts. */
bool conn_settle(struct conn *c)
{
    struct worker *w = c->w;
    uint64_t start = c->ts[c->ts_head], sent = c->ts_sent[c->ts_head];
    /* a request is warm-up when it was in flight as the run began (FIFO per
     * connection) or was settled before it: one rule, whatever its stamps */
    bool counted = w->in_run && !c->warm_n;

    c->ts_head = (c->ts_head + 1 == w->plan->pipeline ? 0 : c->ts_head + 1);
    c->in_flight--;
    w->in_flight--;
    series_record_dur(w->series, w->now - start); /* warm-up shows in the series */
    if (!counted) {
        if (w->in_run) {
            c->warm_n--;
            w->warm_left--;
        }
        return false;
    }
    hist_record(&w->stats.req_duration, w->now - start);
    if (w->plan->open_loop)
        hist_record(&w->stats.service_time, w->now - sent);
    w->completed++;
    return true;
}

static uint64_t conn_backoff_ns(struct conn *c)
{
    unsigned shift = c->backoff > 8 ? 7 : c->backoff - 1;
    uint64_t d = BACKOFF_BASE_NS << shift;

    if (d > BACKOFF_MAX_NS)
        d = BACKOFF_MAX_NS;
    /* jitter in [0.5, 1.5): failed connections must not retry in lockstep */
    return d / 2 + worker_rand(c->w) % d;
}

static void conn_on_close(struct conn *c)
{
    struct worker *w = c->w;
    bool finished = c->flags & CONN_F_DONE;
    uint64_t delay = w->plan->reconnect_delay_ns;

    if (c->flags & CONN_F_ESTABLISHED) {
        w->stats.conn_closed++;
        w->established--;
    }
    c->flags &= CONN_F_FREE; /* a free-list entry may still name this slot */
    w->proto->release(c);
    w->xp->release(c);
    load_session_over(w, finished);
    if (w->stopping || !load_session_allowed(w)) {
        c->state = CONN_ST_DONE;
        return;
    }
    if (!load_conn_wanted(w, c)) {
        c->state = CONN_ST_IDLE; /* retired: a rising target may want it again */
        return;
    }
    if (c->backoff) {
        c->state = CONN_ST_BACKOFF;
        timer_arm(&w->wheel, &c->timer, w->now + conn_backoff_ns(c));
        return;
    }
    if (finished && delay) {
        /* --reconnect-delay with jitter in [0.5, 1.5): no lockstep storms */
        c->state = CONN_ST_BACKOFF;
        timer_arm(&w->wheel, &c->timer, w->now + delay / 2 + worker_rand(w) % delay);
        return;
    }
    load_connect(w, c);
}

static void conn_connect_failed(struct conn *c, int err)
{
    struct wstats *s = &c->w->stats;

    s->conn_errors[stats_cerr_kind(err)]++;
    s->conn_failed++;
    if (!s->first_conn_errno)
        s->first_conn_errno = err;
    load_conn_resolved(c->w, c);
    conn_close(c, true);
}

static void conn_on_connect(struct conn *c, int res)
{
    struct worker *w = c->w;

    if (res < 0) {
        conn_connect_failed(c, -res);
        return;
    }
    timer_cancel(&w->wheel, &c->timer);
    c->state = CONN_ST_ACTIVE;
    c->flags |= CONN_F_ESTABLISHED;
    /* a WebSocket counts as connected once its handshake succeeded (wsc.c),
     * a TLS connection once its TLS handshake did (xtls.c) */
    if (!w->stats.conn_established++ && !w->plan->ws && !w->plan->tls)
        atomic_fetch_add_explicit(&w->ctl->connected, 1, memory_order_relaxed);
    w->established++;
    if (w->established > w->peak_established)
        w->peak_established = w->established;
    if (!w->full_ns && w->established >= w->want && w->want == w->nconns)
        w->full_ns = w->now;
    w->last_up_ns = w->now;
    hist_record(&w->stats.connect_time, w->now - c->connect_start_ns);
    /* the clock waits for TLS handshakes too: the run measures requests,
     * not the handshake storm (xtls.c resolves after its handshake) */
    if (!w->plan->tls)
        load_conn_resolved(w, c);
    conn_arm_recv(c);
    w->xp->open(c);
}

static enum err_kind conn_err_kind(int err)
{
    return err == ECONNRESET || err == EPIPE ? ERR_CONN_RESET : ERR_IO;
}

/* Drop the connection after an I/O error with requests possibly in flight. */
static void conn_io_error(struct conn *c, int err)
{
    struct wstats *s = &c->w->stats;

    if (!s->first_err_errno)
        s->first_err_errno = err;
    c->w->proto->fail(c, conn_err_kind(err));
    conn_close(c, !(c->flags & CONN_F_ANSWERED));
}

/* Does c keep its multishot receive armed? */
static bool conn_reading(const struct conn *c)
{
    return c->state == CONN_ST_ACTIVE || c->state == CONN_ST_HANDSHAKE;
}

static void conn_on_recv(struct conn *c, const struct io_uring_cqe *cqe)
{
    struct worker *w = c->w;
    int res = cqe->res;

    if (res > 0) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        int rc;

        w->stats.bytes_in += (unsigned)res;
        rc = w->xp->recv(c, uring_buf(&w->u, bid), (size_t)res);
        uring_buf_recycle(&w->u, bid);
        if (rc < 0)
            conn_close(c, !(c->flags & CONN_F_ANSWERED));
        else if (!(cqe->flags & IORING_CQE_F_MORE) && conn_reading(c))
            conn_arm_recv(c);
        return;
    }
    if (res == 0) {
        w->proto->on_eof(c);
        conn_close(c, !(c->flags & CONN_F_ANSWERED));
        return;
    }
    if (res == -ENOBUFS) {
        /* buffers are handed back at the end of this batch: re-arm */
        if (conn_reading(c))
            conn_arm_recv(c);
        return;
    }
    conn_io_error(c, -res);
}

static void conn_on_send(struct conn *c, int res)
{
    if (res < 0) {
        conn_io_error(c, -res);
        return;
    }
    c->w->stats.bytes_out += (unsigned)res;
    c->send_off += (unsigned)res;
    if (c->send_off < c->send_len) {
        conn_submit_send(c); /* short send: resume where the kernel stopped */
        return;
    }
    c->w->xp->sent(c);
}

void conn_on_cqe(struct conn *c, unsigned op, const struct io_uring_cqe *cqe)
{
    switch (op) {
    case OP_SOCKET: /* only failures complete (CQE_SKIP_SUCCESS) */
        if (cqe->res < 0 && c->state == CONN_ST_CONNECTING)
            conn_connect_failed(c, -cqe->res);
        break;
    case OP_CONNECT:
        if (c->state == CONN_ST_CONNECTING)
            conn_on_connect(c, cqe->res);
        break;
    case OP_RECV:
        conn_on_recv(c, cqe);
        break;
    case OP_SEND:
        conn_on_send(c, cqe->res);
        break;
    case OP_CLOSE:
        if (c->state == CONN_ST_CLOSING)
            conn_on_close(c);
        break;
    default: /* OP_CANCEL: nothing matched; harmless */
        break;
    }
}

static void conn_on_timer(struct timer *t, uint64_t now_ns)
{
    struct conn *c = (struct conn *)((char *)t - offsetof(struct conn, timer));

    (void)now_ns;
    switch (c->state) {
    case CONN_ST_CONNECTING:
        conn_connect_failed(c, ETIMEDOUT);
        break;
    case CONN_ST_BACKOFF:
        if (c->w->stopping || !load_session_allowed(c->w))
            c->state = CONN_ST_DONE;
        else if (!load_conn_wanted(c->w, c))
            c->state = CONN_ST_IDLE;
        else
            load_connect(c->w, c);
        break;
    case CONN_ST_HANDSHAKE:
        c->w->xp->on_timer(c);
        break;
    case CONN_ST_ACTIVE:
        c->w->proto->on_timer(c);
        break;
    default:
        break;
    }
}
