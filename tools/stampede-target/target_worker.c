/*
 * target_worker.c - one stampede-target worker thread: its own ring, its
 * own SO_REUSEPORT listener and every connection accepted on it. Hot path.
 *
 * Ring: SINGLE_ISSUER|DEFER_TASKRUN when the kernel has it (NOTES.md: ~35%
 * more messages/s than no flags), multishot accept_direct into a sparse
 * file table (direct descriptors cost no process fd, NOTES.md), multishot
 * recv from one provided buffer ring, one submit+wait per turn, CQEs
 * drained in a batch with one CQ advance and one buffer-ring advance.
 *
 * Connections live in conns[], indexed by their direct-descriptor slot.
 * user_data = op << 56 | generation << 32 | slot; the generation changes on
 * every accept into a slot, so completions of an earlier connection in the
 * same slot are recognised and dropped (their buffers still go back).
 * Invariants: at most one send in flight per connection; responses leave in
 * request order; a provided buffer is never held past its CQE (the request
 * parser keeps its state in 16 bytes instead of copying partial heads).
 *
 * Responses owed are runs of one kind (target.h: with body, head only for
 * HEAD, each maybe echoing keep-alive to HTTP/1.0); a send carries up to
 * one prebuilt batch of a single run. The first run lives in the
 * connection (ready, ready_kind); later runs of another kind, which only a
 * peer mixing HEAD with GET (or HTTP/1.0 with 1.1) in a pipeline creates,
 * wait in a per-thread pool of run nodes, as a circular list whose tail
 * the connection holds (runq). A peer that never mixes never touches it:
 * plain GET keep-alive costs one more compare than before.
 *
 * --delay: every response is due delay_ns after the wake-up that saw its
 * request. The delay is the same for all, so due times grow in arrival
 * order and one FIFO per thread replaces a timer structure: the loop waits
 * until the head entry is due and releases every entry that is.
 *
 * Closing after a final response ("Connection: close", --close-after, 400):
 * a close with unread input makes the kernel send RST instead of FIN, so a
 * pipelining client would see a reset or a clean close depending on a race
 * (its next requests may sit in the socket while their recv completion is
 * still deferred). Peers that may still be sending (they pipelined, or it
 * is a 400) therefore linger: shutdown(SHUT_WR) sends FIN after the
 * response, input is drained until the peer's EOF or LINGER_NS, then the
 * slot is closed. Linger deadlines share one length, so they are a FIFO
 * too. Strict request/response peers are closed at once: lingering costs
 * ~45 instead of ~28 us of target CPU per connection (close-after 1, wrk),
 * because the kernel always runs SHUTDOWN in io-wq. io-wq looks the fixed
 * slot up only when it runs, so the slot must stay open until the
 * shutdown's CQE, or a new connection accepted into the reused slot would
 * be shut down instead (seen here with wrk).
 */
#include <errno.h>
#include <liburing.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "target.h"

#define SQ_ENTRIES 4096
#define CQ_ENTRIES 32768
#define BUF_GROUP 0
#define BUF_COUNT 2048 /* power of two, below 2^15 */
#define BUF_BYTES 4096
#define FILES_MAX 65536u
#define IDLE_WAIT_NS 50000000ull    /* bounds how late a stop request is seen */
#define ACCEPT_RETRY_NS 10000000ull /* after a failed accept (e.g. table full) */
#define LINGER_NS 2000000000ull    /* longest wait for the peer's EOF */
#define DUEQ_INIT 4096u
#define NS_PER_S 1000000000ull

enum { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL, OP_SHUTDOWN };
#define UD_GEN_MASK 0xffffffu

#define RUNS_INIT 1024u

enum { ST_FREE, ST_OPEN, ST_LINGER, ST_CLOSING };
enum { FINAL_NONE, FINAL_CLOSE, FINAL_CLOSE_HEAD, FINAL_BAD };
enum {
    F_RECV = 1 << 0,        /* multishot recv armed */
    F_SEND = 1 << 1,        /* a send in flight */
    F_SEND_FINAL = 1 << 2,  /* ... carrying the final response */
    F_EOF = 1 << 3,         /* peer finished sending */
    F_DONE = 1 << 4,        /* final request seen: further input is ignored */
    F_FINAL_READY = 1 << 5, /* final response due now */
    F_SHUT = 1 << 6,        /* lingering: shutdown(SHUT_WR) in flight */
    F_CLOSE_WAIT = 1 << 7,  /* close as soon as that shutdown completes */
    F_PIPELINED = 1 << 8,   /* peer sent a request before its last answer */
};

/* 48 bytes; nothing else is kept per connection. */
struct conn {
    struct tgt_req_parser p;
    uint32_t gen;
    uint32_t nreq;       /* requests counted for --close-after */
    uint32_t ready;      /* plain responses of ready_kind due now, not yet sent */
    uint32_t runq;       /* tail of the runs due after those (pool index), 0 = none */
    uint32_t delayed;    /* responses (final included) in the delay FIFO */
    uint32_t send_off;   /* bytes of the send in flight sent so far (short sends) */
    uint32_t send_bytes;
    uint8_t send_n;      /* responses in it, at most TGT_RESP_MAX_COPIES */
    uint8_t state;
    uint16_t flags : 10, final : 2, ready_kind : 2, send_kind : 2; /* FINAL_*, enum tgt_kind */
};
_Static_assert(sizeof(struct conn) == 48, "per-connection state grew");
_Static_assert(TGT_RESP_MAX_COPIES <= UINT8_MAX, "send_n is a byte");
_Static_assert(TGT_KIND_NR <= 4, "kinds are 2-bit fields");

/* A run of responses of one kind; pool nodes form circular lists. */
struct run {
    uint32_t next;
    uint32_t n;
    uint8_t kind;
};

/* Per-thread pool of run nodes; node 0 is never used, so 0 means none.
 * Free nodes are a stack linked through next. */
struct runpool {
    struct run *v;
    uint32_t cap, free;
};

/* A delayed run of responses, or (n, final, kind unused) a linger deadline. */
struct due {
    uint64_t due_ns;
    uint32_t slot, gen;
    uint32_t n;     /* plain responses */
    uint16_t final; /* 1 when the final response follows them */
    uint16_t kind;  /* enum tgt_kind of the n */
};

/* FIFO of deadlines; head/tail run free, cap is a power of two. */
struct dueq {
    struct due *v;
    uint32_t cap, head, tail;
};

struct loop {
    struct io_uring ring;
    struct tgt_worker *w;
    const struct tgt_config *cfg;
    const struct tgt_resp *resp;
    struct conn *conns;
    uint32_t nconns;
    struct io_uring_buf_ring *br;
    char *bufs;
    int br_added; /* buffers given back in this batch, not yet visible */
    struct dueq dq; /* delayed responses */
    struct dueq lq; /* linger deadlines */
    struct runpool runs; /* runs queued behind a connection's ready ones */
    uint64_t now_ns; /* read once per wake-up */
    uint64_t answered;
    uint64_t accept_retry_ns;
    bool accept_armed;
    bool ring_ok;
};

static void conn_kick(struct loop *l, struct conn *c, uint32_t slot);

static inline uint64_t ud_pack(unsigned op, uint32_t gen, uint32_t slot)
{
    return (uint64_t)op << 56 | (uint64_t)(gen & UD_GEN_MASK) << 32 | slot;
}

static uint64_t clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/*
 * A full SQ is flushed early. That submit cannot fail for lack of CQ room:
 * the ring has FEAT_NODROP on every kernel with multishot ops, so the bound
 * only turns an impossible endless loop into a visible crash.
 */
static struct io_uring_sqe *sqe_get(struct loop *l)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&l->ring);

    for (int tries = 0; !sqe; tries++) {
        if (tries == 1000) {
            fprintf(stderr, "stampede-target: submission queue stuck\n");
            abort();
        }
        io_uring_submit(&l->ring);
        sqe = io_uring_get_sqe(&l->ring);
    }
    return sqe;
}

/* The kernel sees returned buffers at the batch's single advance. */
static void buf_give_back(struct loop *l, unsigned bid)
{
    io_uring_buf_ring_add(l->br, l->bufs + (size_t)bid * BUF_BYTES, BUF_BYTES, (unsigned short)bid,
                          io_uring_buf_ring_mask(BUF_COUNT), l->br_added++);
}

static int dueq_grow(struct dueq *q)
{
    uint32_t cap = q->cap ? q->cap * 2 : DUEQ_INIT;
    struct due *v = malloc(sizeof(*v) * cap);
    uint32_t n = q->tail - q->head;

    if (!v)
        return -ENOMEM;
    for (uint32_t i = 0; i < n; i++)
        v[i] = q->v[(q->head + i) & (q->cap - 1)];
    free(q->v);
    *q = (struct dueq){.v = v, .cap = cap, .head = 0, .tail = n};
    return 0;
}

/* Append, merging with the tail entry when it is the same wake-up. */
static int dueq_push(struct dueq *q, const struct due *d)
{
    if (q->tail != q->head) {
        struct due *t = &q->v[(q->tail - 1) & (q->cap - 1)];

        if (t->slot == d->slot && t->gen == d->gen && t->due_ns == d->due_ns && !t->final &&
            (t->kind == d->kind || d->n == 0)) {
            t->n += d->n;
            t->final = d->final;
            return 0;
        }
    }
    if (q->tail - q->head == q->cap && dueq_grow(q) < 0)
        return -ENOMEM;
    q->v[q->tail++ & (q->cap - 1)] = *d;
    return 0;
}

/* Grow by doubling; indices stay valid, so realloc may move the nodes. */
static int runs_grow(struct runpool *rp)
{
    uint32_t cap = rp->cap ? rp->cap * 2 : RUNS_INIT;
    struct run *v = realloc(rp->v, sizeof(*v) * cap);

    if (!v)
        return -ENOMEM;
    for (uint32_t i = cap - 1; i >= (rp->cap ? rp->cap : 1); i--) {
        v[i].next = rp->free;
        rp->free = i;
    }
    rp->v = v;
    rp->cap = cap;
    return 0;
}

/* Append n responses of kind to the list whose tail is *tail, merging
 * with the tail run when it has the same kind. 0 or -ENOMEM. */
static int runs_push(struct runpool *rp, uint32_t *tail, uint32_t n, unsigned kind)
{
    struct run *t = *tail ? &rp->v[*tail] : NULL;
    uint32_t x;

    if (t && t->kind == kind && (uint64_t)t->n + n <= UINT32_MAX) {
        t->n += n;
        return 0;
    }
    if (!rp->free && runs_grow(rp) < 0)
        return -ENOMEM;
    x = rp->free;
    rp->free = rp->v[x].next;
    rp->v[x] = (struct run){.next = *tail ? rp->v[*tail].next : x, .n = n, .kind = (uint8_t)kind};
    if (*tail)
        rp->v[*tail].next = x;
    *tail = x;
    return 0;
}

/* Remove the oldest run of a non-empty list into *n, *kind. */
static void runs_pop(struct runpool *rp, uint32_t *tail, uint32_t *n, unsigned *kind)
{
    uint32_t h = rp->v[*tail].next;

    *n = rp->v[h].n;
    *kind = rp->v[h].kind;
    if (h == *tail)
        *tail = 0;
    else
        rp->v[*tail].next = rp->v[h].next;
    rp->v[h].next = rp->free;
    rp->free = h;
}

/* Give a whole list back to the pool. */
static void runs_drop(struct runpool *rp, uint32_t *tail)
{
    uint32_t n;
    unsigned kind;

    while (*tail)
        runs_pop(rp, tail, &n, &kind);
}

static void conn_arm_recv(struct loop *l, struct conn *c, uint32_t slot)
{
    struct io_uring_sqe *sqe = sqe_get(l);

    io_uring_prep_recv_multishot(sqe, (int)slot, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_RECV, c->gen, slot));
    c->flags |= F_RECV;
}

/*
 * A multishot recv holds its own reference to the socket, so closing the
 * slot alone would keep the connection open until the peer next sends:
 * cancel the recv first. HARDLINK, not LINK, so the close runs even when
 * the recv already ended and the cancel fails with ENOENT.
 */
static void conn_close(struct loop *l, struct conn *c, uint32_t slot)
{
    struct io_uring_sqe *sqe;

    if (c->flags & F_SHUT) {
        c->flags |= F_CLOSE_WAIT; /* see the file header: slot reuse */
        return;
    }
    c->state = ST_CLOSING;
    runs_drop(&l->runs, &c->runq);
    if (io_uring_sq_space_left(&l->ring) < 2)
        io_uring_submit(&l->ring);
    if (c->flags & F_RECV) {
        sqe = sqe_get(l);
        io_uring_prep_cancel64(sqe, ud_pack(OP_RECV, c->gen, slot), 0);
        sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
        io_uring_sqe_set_data64(sqe, ud_pack(OP_CANCEL, c->gen, slot));
    }
    sqe = sqe_get(l);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_CLOSE, c->gen, slot));
}

static const char *conn_send_base(const struct loop *l, const struct conn *c)
{
    const struct tgt_resp *r = l->resp;

    if (!(c->flags & F_SEND_FINAL))
        return r->kind[c->send_kind].many;
    return c->final == FINAL_BAD ? r->bad : r->close[c->final == FINAL_CLOSE_HEAD];
}

static void conn_send_prep(struct loop *l, struct conn *c, uint32_t slot)
{
    const char *base = conn_send_base(l, c);
    struct io_uring_sqe *sqe = sqe_get(l);

    io_uring_prep_send(sqe, (int)slot, base + c->send_off, c->send_bytes - c->send_off, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_SEND, c->gen, slot));
}

/* k plain responses of one kind leave as one send from its prebuilt batch. */
static void conn_send_plain(struct loop *l, struct conn *c, uint32_t slot)
{
    const struct tgt_resp_batch *b = &l->resp->kind[c->ready_kind];
    uint32_t n = c->ready < b->copies ? c->ready : b->copies;

    c->ready -= n;
    c->send_n = (uint8_t)n;
    c->send_kind = c->ready_kind;
    c->send_off = 0;
    c->send_bytes = n * b->one_bytes;
    c->flags |= F_SEND;
    conn_send_prep(l, c, slot);
}

static void conn_send_final(struct loop *l, struct conn *c, uint32_t slot)
{
    c->flags = (uint16_t)((c->flags & ~F_FINAL_READY) | F_SEND | F_SEND_FINAL);
    c->send_n = 1;
    c->send_off = 0;
    c->send_bytes = c->final == FINAL_BAD ? l->resp->bad_bytes
                                          : l->resp->close_bytes[c->final == FINAL_CLOSE_HEAD];
    conn_send_prep(l, c, slot);
}

/* Start the next send if none is in flight; close an idle finished peer. */
static void conn_kick(struct loop *l, struct conn *c, uint32_t slot)
{
    if (c->state != ST_OPEN || (c->flags & F_SEND))
        return;
    if (!c->ready && c->runq) {
        uint32_t n;
        unsigned kind;

        runs_pop(&l->runs, &c->runq, &n, &kind);
        c->ready = n;
        c->ready_kind = kind;
    }
    if (c->ready)
        conn_send_plain(l, c, slot);
    else if (c->flags & F_FINAL_READY)
        conn_send_final(l, c, slot);
    else if ((c->flags & F_EOF) && c->delayed == 0)
        conn_close(l, c, slot);
}

/* n plain responses of kind are due now, behind all the earlier ones (the
 * ready run, then the queued runs); then maybe the final one. The first
 * test is the hot path: no queue and the same kind (or nothing) ready.
 * 0 or -ENOMEM. */
static int conn_release(struct loop *l, struct conn *c, uint32_t n, unsigned kind, bool final)
{
    if (final)
        c->flags |= F_FINAL_READY;
    if (!c->runq && (c->ready_kind == kind || !c->ready)) {
        c->ready += n;
        c->ready_kind = kind;
        return 0;
    }
    return n ? runs_push(&l->runs, &c->runq, n, kind) : 0;
}

/* When a response received now may leave: after --delay, and never inside
 * the --stall window (held to its end, which keeps due times in order). */
static uint64_t conn_due(struct loop *l)
{
    const struct tgt_config *cfg = l->cfg;
    uint64_t due = l->now_ns + cfg->delay_ns, first, from;

    if (!cfg->stall_ns)
        return due;
    first = atomic_load_explicit(cfg->first_req_ns, memory_order_relaxed);
    if (!first) {
        uint64_t zero = 0;

        first = atomic_compare_exchange_strong(cfg->first_req_ns, &zero, l->now_ns) ? l->now_ns
                                                                                     : zero;
    }
    from = first + cfg->stall_at_ns;
    return due >= from && due < from + cfg->stall_ns ? from + cfg->stall_ns : due;
}

/* n plain responses of kind (then maybe the final one) are owed: now or
 * later. Out of memory drops this one client. */
static void conn_schedule(struct loop *l, struct conn *c, uint32_t slot, uint32_t n, unsigned kind,
                          uint8_t final)
{
    struct due d = {conn_due(l), slot, c->gen, n, final != FINAL_NONE, (uint16_t)kind};

    if (c->state != ST_OPEN)
        return; /* closed by an earlier run of the same receive */
    if (final != FINAL_NONE) {
        c->final = final;
        c->flags |= F_DONE;
    }
    if (d.due_ns == l->now_ns && !l->cfg->stall_ns) {
        if (conn_release(l, c, n, kind, d.final) < 0)
            conn_close(l, c, slot);
        else
            conn_kick(l, c, slot);
    } else if (dueq_push(&l->dq, &d) < 0) {
        conn_close(l, c, slot);
    } else {
        c->delayed += n + d.final;
    }
}

/* A request while an earlier one is unanswered: the peer pipelines. */
static bool conn_owes(const struct conn *c, uint32_t n)
{
    return n || c->ready || c->runq || c->delayed || (c->flags & (F_SEND | F_FINAL_READY));
}

/* Frame every request in a received chunk; stop at the final one. Each
 * run of one kind is scheduled when the kind changes, the rest at the end. */
static void conn_parse(struct loop *l, struct conn *c, uint32_t slot, const char *buf, size_t len)
{
    uint32_t n = 0;
    unsigned kind = TGT_KIND_BODY;
    uint8_t final = FINAL_NONE;

    while (len && final == FINAL_NONE) {
        size_t used;
        int r = tgt_req_parse(&c->p, buf, len, &used);

        buf += used;
        len -= used;
        if (r == TGT_PARSE_MORE)
            break;
        if (conn_owes(c, n))
            c->flags |= F_PIPELINED;
        if (r == TGT_PARSE_BAD)
            final = FINAL_BAD;
        else if ((r & TGT_REQ_CLOSE) || ++c->nreq == l->cfg->close_after)
            final = (r & TGT_REQ_HEAD) ? FINAL_CLOSE_HEAD : FINAL_CLOSE;
        if (final != FINAL_NONE)
            break;
        if (n && tgt_req_kind(r) != kind) {
            conn_schedule(l, c, slot, n, kind, FINAL_NONE);
            n = 0;
        }
        kind = tgt_req_kind(r);
        n++;
    }
    if (len)
        c->flags |= F_PIPELINED; /* bytes after the final request */
    if (n || final != FINAL_NONE)
        conn_schedule(l, c, slot, n, kind, final);
}

static void conn_on_recv(struct loop *l, struct conn *c, uint32_t slot, const struct io_uring_cqe *cqe)
{
    bool more = cqe->flags & IORING_CQE_F_MORE;

    if (!more)
        c->flags &= ~F_RECV;
    if (c->state != ST_OPEN && c->state != ST_LINGER)
        return;
    if (cqe->res > 0) {
        unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;

        if (!(c->flags & F_DONE))
            conn_parse(l, c, slot, l->bufs + (size_t)bid * BUF_BYTES, (size_t)cqe->res);
        else
            c->flags |= F_PIPELINED; /* input after the final request */
        if (!more && c->state != ST_CLOSING)
            conn_arm_recv(l, c, slot); /* the kernel may end a multishot early */
    } else if (cqe->res == -ENOBUFS) {
        conn_arm_recv(l, c, slot); /* buffers come back at this batch's end */
    } else if (cqe->res == 0 && c->state == ST_OPEN) {
        c->flags |= F_EOF; /* still answer what was asked, then close */
        conn_kick(l, c, slot);
    } else {
        conn_close(l, c, slot); /* error, or the EOF a linger waits for */
    }
}

/* After the final response: close, or for a peer that may still be
 * sending, FIN now and close at its EOF or the deadline (file header). */
static void conn_linger(struct loop *l, struct conn *c, uint32_t slot)
{
    struct due d = {l->now_ns + LINGER_NS, slot, c->gen, 0, 0, 0};
    bool may_send = (c->flags & F_PIPELINED) || c->final == FINAL_BAD;
    struct io_uring_sqe *sqe;

    if (!may_send || !(c->flags & F_RECV) || dueq_push(&l->lq, &d) < 0) {
        conn_close(l, c, slot); /* input ended, strict peer, or no memory */
        return;
    }
    c->state = ST_LINGER;
    c->flags |= F_SHUT;
    sqe = sqe_get(l);
    io_uring_prep_shutdown(sqe, (int)slot, SHUT_WR);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_SHUTDOWN, c->gen, slot));
}

static void conn_on_shutdown(struct loop *l, struct conn *c, uint32_t slot)
{
    c->flags &= ~F_SHUT;
    if (c->flags & F_CLOSE_WAIT)
        conn_close(l, c, slot);
}

static void conn_on_send(struct loop *l, struct conn *c, uint32_t slot, int res)
{
    if (c->state != ST_OPEN)
        return;
    if (res <= 0) {
        conn_close(l, c, slot);
        return;
    }
    c->send_off += (uint32_t)res;
    if (c->send_off < c->send_bytes) {
        conn_send_prep(l, c, slot); /* short send: the rest, same order */
        return;
    }
    l->answered += c->send_n;
    c->flags &= ~F_SEND;
    if (c->flags & F_SEND_FINAL)
        conn_linger(l, c, slot);
    else
        conn_kick(l, c, slot);
}

static void loop_on_accept(struct loop *l, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE)) {
        l->accept_armed = false;
        if (cqe->res < 0)
            l->accept_retry_ns = l->now_ns + ACCEPT_RETRY_NS;
    }
    if (cqe->res < 0)
        return;

    uint32_t slot = (uint32_t)cqe->res; /* below nconns: the table's size */
    struct conn *c = &l->conns[slot];
    uint32_t gen = (c->gen + 1) & UD_GEN_MASK;

    memset(c, 0, sizeof(*c));
    c->gen = gen;
    c->state = ST_OPEN;
    conn_arm_recv(l, c, slot);
}

static void loop_on_cqe(struct loop *l, const struct io_uring_cqe *cqe)
{
    uint64_t ud = cqe->user_data;
    unsigned op = (unsigned)(ud >> 56);
    uint32_t slot = (uint32_t)ud;
    struct conn *c = NULL;

    if (op != OP_ACCEPT && slot < l->nconns && l->conns[slot].gen == ((ud >> 32) & UD_GEN_MASK))
        c = &l->conns[slot];
    switch (op) {
    case OP_ACCEPT:
        loop_on_accept(l, cqe);
        break;
    case OP_RECV:
        if (c)
            conn_on_recv(l, c, slot, cqe);
        break;
    case OP_SEND:
        if (c)
            conn_on_send(l, c, slot, cqe->res);
        break;
    case OP_SHUTDOWN:
        if (c)
            conn_on_shutdown(l, c, slot); /* result unused: peer may be gone */
        break;
    case OP_CLOSE:
        if (c)
            c->state = ST_FREE;
        break;
    default: /* OP_CANCEL failures: the recv had already ended */
        break;
    }
    if (cqe->flags & IORING_CQE_F_BUFFER)
        buf_give_back(l, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
}

/* Batch: handle every CQE, then one buffer-ring and one CQ advance. */
static void loop_drain(struct loop *l)
{
    struct io_uring_cqe *cqe;
    unsigned head, n = 0;

    io_uring_for_each_cqe(&l->ring, head, cqe) {
        loop_on_cqe(l, cqe);
        n++;
    }
    if (l->br_added) {
        io_uring_buf_ring_advance(l->br, l->br_added);
        l->br_added = 0;
    }
    io_uring_cq_advance(&l->ring, n);
}

static void loop_release_due(struct loop *l)
{
    struct dueq *q = &l->dq;

    while (q->head != q->tail && q->v[q->head & (q->cap - 1)].due_ns <= l->now_ns) {
        struct due d = q->v[q->head++ & (q->cap - 1)];
        struct conn *c = &l->conns[d.slot];

        if (c->gen != d.gen || c->state != ST_OPEN)
            continue; /* connection gone since */
        c->delayed -= d.n + d.final;
        if (conn_release(l, c, d.n, d.kind, d.final) < 0)
            conn_close(l, c, d.slot);
        else
            conn_kick(l, c, d.slot);
    }
}

/* Lingering connections whose peer never sent EOF are closed now. */
static void loop_release_linger(struct loop *l)
{
    struct dueq *q = &l->lq;

    while (q->head != q->tail && q->v[q->head & (q->cap - 1)].due_ns <= l->now_ns) {
        struct due d = q->v[q->head++ & (q->cap - 1)];
        struct conn *c = &l->conns[d.slot];

        if (c->gen == d.gen && c->state == ST_LINGER)
            conn_close(l, c, d.slot);
    }
}

static void loop_arm_accept(struct loop *l)
{
    struct io_uring_sqe *sqe;

    if (l->accept_armed || l->now_ns < l->accept_retry_ns)
        return;
    sqe = sqe_get(l);
    io_uring_prep_multishot_accept_direct(sqe, l->w->listen_fd, NULL, NULL, 0);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_ACCEPT, 0, 0));
    l->accept_armed = true;
}

static uint64_t dueq_wait_ns(const struct dueq *q, uint64_t now, uint64_t wait)
{
    uint64_t due;

    if (q->head == q->tail)
        return wait;
    due = q->v[q->head & (q->cap - 1)].due_ns;
    return due <= now ? 0 : due - now < wait ? due - now : wait;
}

/* Sleep until the next deadline, at most IDLE_WAIT_NS. */
static void loop_wait_time(struct loop *l, struct __kernel_timespec *ts)
{
    uint64_t wait = IDLE_WAIT_NS;

    if (l->dq.head != l->dq.tail || l->lq.head != l->lq.tail) {
        uint64_t now = clock_ns();

        wait = dueq_wait_ns(&l->lq, now, dueq_wait_ns(&l->dq, now, wait));
    }
    ts->tv_sec = (long long)(wait / NS_PER_S);
    ts->tv_nsec = (long long)(wait % NS_PER_S);
}

static int loop_run(struct loop *l)
{
    while (!atomic_load_explicit(l->w->stop, memory_order_relaxed)) {
        struct __kernel_timespec ts;
        struct io_uring_cqe *cqe;
        int ret;

        loop_arm_accept(l);
        loop_wait_time(l, &ts);
        ret = io_uring_submit_and_wait_timeout(&l->ring, &cqe, 1, &ts, NULL);
        if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
            l->w->err_what = "io_uring_submit_and_wait_timeout";
            return ret;
        }
        l->now_ns = clock_ns();
        loop_drain(l);
        loop_release_due(l);
        loop_release_linger(l);
        atomic_store_explicit(&l->w->answered, l->answered, memory_order_relaxed);
    }
    return 0;
}

/* Fastest set-up first (NOTES.md table); older kernels get the next one. */
static int ring_init(struct loop *l)
{
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    int ret = -EINVAL;

    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
        struct io_uring_params p = {0};

        p.flags = tries[i] | IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
        p.cq_entries = CQ_ENTRIES;
        ret = io_uring_queue_init_params(SQ_ENTRIES, &l->ring, &p);
        if (ret == 0)
            return 0;
    }
    return ret;
}

/* 2.3 has no io_uring_setup_buf_ring: page-aligned ring, register, fill. */
static int bufs_init(struct loop *l)
{
    struct io_uring_buf_reg reg = {0};
    int ret;

    if (posix_memalign((void **)&l->br, 4096, BUF_COUNT * sizeof(struct io_uring_buf)))
        return -ENOMEM;
    l->bufs = malloc((size_t)BUF_COUNT * BUF_BYTES);
    if (!l->bufs)
        return -ENOMEM;
    reg.ring_addr = (uint64_t)(uintptr_t)l->br;
    reg.ring_entries = BUF_COUNT;
    reg.bgid = BUF_GROUP;
    ret = io_uring_register_buf_ring(&l->ring, &reg, 0);
    if (ret < 0)
        return ret;
    io_uring_buf_ring_init(l->br);
    for (unsigned i = 0; i < BUF_COUNT; i++)
        buf_give_back(l, i);
    io_uring_buf_ring_advance(l->br, l->br_added);
    l->br_added = 0;
    return 0;
}

/* Table size: the soft fd limit (main raised it to the hard one) is the
 * kernel's cap for a registered table (NOTES.md), 64 Ki ours. */
static uint32_t files_count(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
        return FILES_MAX;
    return rl.rlim_cur < FILES_MAX ? (uint32_t)rl.rlim_cur : FILES_MAX;
}

static int loop_init(struct loop *l, struct tgt_worker *w)
{
    int ret;

    l->w = w;
    l->cfg = w->cfg;
    l->resp = w->resp;
    w->err_what = "io_uring_queue_init_params";
    if ((ret = ring_init(l)) < 0)
        return ret;
    l->ring_ok = true;
    l->nconns = files_count();
    w->err_what = "io_uring_register_files_sparse";
    if ((ret = io_uring_register_files_sparse(&l->ring, l->nconns)) < 0)
        return ret;
    w->err_what = "io_uring_register_buf_ring";
    if ((ret = bufs_init(l)) < 0)
        return ret;
    w->err_what = "allocating connection table";
    l->conns = calloc(l->nconns, sizeof(*l->conns));
    if (!l->conns || ((l->cfg->delay_ns || l->cfg->stall_ns) && dueq_grow(&l->dq) < 0) || dueq_grow(&l->lq) < 0)
        return -ENOMEM;
    l->now_ns = clock_ns();
    return 0;
}

static void loop_fini(struct loop *l)
{
    if (l->ring_ok)
        io_uring_queue_exit(&l->ring); /* closes every direct descriptor */
    free(l->conns);
    free(l->bufs);
    free(l->br);
    free(l->dq.v);
    free(l->lq.v);
    free(l->runs.v);
    free(l);
}

void *tgt_worker_main(void *arg)
{
    struct tgt_worker *w = arg;
    struct loop *l = calloc(1, sizeof(*l));
    char name[16];
    int ret;

    snprintf(name, sizeof(name), "tgt-w%u", w->id);
    pthread_setname_np(pthread_self(), name);
    /* hrtimer slack would add ~50 us to every --delay wake-up */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    ret = l ? loop_init(l, w) : -ENOMEM;
    w->err = ret;
    pthread_barrier_wait(w->ready);
    if (ret == 0 && (ret = loop_run(l)) < 0) {
        w->err = ret;
        kill(getpid(), SIGUSR1); /* main's sigwait turns this into exit 1 */
    }
    if (l) {
        atomic_store(&w->answered, l->answered);
        loop_fini(l);
    }
    return NULL;
}
