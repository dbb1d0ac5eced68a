/*
 * target_http.c - HTTP connections of one stampede-target worker: framing
 * requests (target_parse.c), owing and sending the prebuilt responses in
 * request order, the final response before a close, and the upgrade to
 * WebSocket. Hot path.
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
 * WebSocket: a request flagged TGT_REQ_UPGRADE has its head read again
 * whole (target_ws.c), from the receive buffer or, when receives cut the
 * head, from `carry`: a head still incomplete when a receive ends is kept
 * there (malloc, freed when its request completes), which only peers that
 * split a head across writes, or pipeline past a receive buffer, cause. A
 * valid upgrade turns the connection over to target_wsconn.c, with what
 * followed the head in the same receive. An upgrade pipelined behind
 * unanswered requests is refused (400): its 101 would have to wait.
 *
 * --api: every complete request is read whole too (carry then keeps the
 * body of a cut request as well, up to TGT_API_KEEP_BYTES), and one under
 * /api is answered by target_api.c, which queues the formatted response
 * on the connection; here it is one more kind, TGT_KIND_API, whose runs
 * are sent from that queue (or FINAL_API, its last response), so ordering,
 * pipelining, --delay, --stall and --close-after work as for the rest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "target_loop.h"

#define RUNS_INIT 1024u

_Static_assert(TGT_RESP_MAX_COPIES <= UINT8_MAX, "send_n is a byte");
_Static_assert(TGT_KIND_API < 8, "kinds are 3-bit fields");

static void conn_kick(struct loop *l, struct conn *c, uint32_t slot);

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

/* The final response of c and its length. */
static const char *conn_final_resp(const struct loop *l, const struct conn *c, uint32_t *bytes)
{
    const struct tgt_resp *r = l->resp;

    switch (c->final) {
    case FINAL_BAD:
        *bytes = r->bad_bytes;
        return r->bad;
    case FINAL_WS_404:
        *bytes = r->ws_404_bytes;
        return r->ws_404;
    case FINAL_WS_400:
        *bytes = r->ws_400_bytes;
        return r->ws_400;
    default:
        *bytes = r->close_bytes[c->final == FINAL_CLOSE_HEAD];
        return r->close[c->final == FINAL_CLOSE_HEAD];
    }
}

static const char *conn_send_base(const struct loop *l, const struct conn *c)
{
    uint32_t bytes;

    if (c->send_kind == TGT_KIND_API)
        return tgt_api_sendbuf(c->api);
    if (!(c->flags & F_SEND_FINAL))
        return l->resp->kind[c->send_kind].many;
    return conn_final_resp(l, c, &bytes);
}

static void conn_send_prep(struct loop *l, struct conn *c, uint32_t slot)
{
    const char *base = conn_send_base(l, c);

    tgt_conn_send(l, c, slot, base + c->send_off, c->send_bytes - c->send_off);
}

/* k --api responses leave as one send, moved out of the connection's queue
 * (as many as its send area holds). Every one owed is queued, so the queue
 * is never short; if it were, closing beats sending something else. */
static void conn_send_api(struct loop *l, struct conn *c, uint32_t slot)
{
    uint32_t max = c->ready < TGT_RESP_MAX_COPIES ? c->ready : TGT_RESP_MAX_COPIES;
    uint32_t n = c->api ? tgt_api_take(c->api, max, &c->send_bytes) : 0;

    if (!n) {
        tgt_conn_close(l, c, slot);
        return;
    }
    c->ready -= n;
    c->send_n = (uint8_t)n;
    c->send_kind = TGT_KIND_API;
    c->send_off = 0;
    c->flags |= F_SEND;
    conn_send_prep(l, c, slot);
}

/* k plain responses of one kind leave as one send from its prebuilt batch. */
static void conn_send_plain(struct loop *l, struct conn *c, uint32_t slot)
{
    const struct tgt_resp_batch *b;
    uint32_t n;

    if (c->ready_kind == TGT_KIND_API) {
        conn_send_api(l, c, slot);
        return;
    }
    b = &l->resp->kind[c->ready_kind];
    n = c->ready < b->copies ? c->ready : b->copies;
    c->ready -= n;
    c->send_n = (uint8_t)n;
    c->send_kind = c->ready_kind;
    c->send_off = 0;
    c->send_bytes = n * b->one_bytes;
    c->flags |= F_SEND;
    conn_send_prep(l, c, slot);
}

/* The final response: prebuilt, or the last queued --api one. */
static void conn_send_final(struct loop *l, struct conn *c, uint32_t slot)
{
    c->flags = (uint16_t)((c->flags & ~F_FINAL_READY) | F_SEND | F_SEND_FINAL);
    c->send_n = 1;
    c->send_off = 0;
    c->send_kind = c->final == FINAL_API ? TGT_KIND_API : TGT_KIND_BODY;
    if (c->final != FINAL_API)
        conn_final_resp(l, c, &c->send_bytes);
    else if (!c->api || tgt_api_take(c->api, 1, &c->send_bytes) != 1)
        c->send_bytes = 0; /* cannot happen (see conn_send_api) */
    if (c->send_bytes)
        conn_send_prep(l, c, slot);
    else
        tgt_conn_close(l, c, slot);
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
        tgt_conn_close(l, c, slot);
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
            tgt_conn_close(l, c, slot);
        else
            conn_kick(l, c, slot);
    } else if (tgt_dueq_push(&l->dq, &d) < 0) {
        tgt_conn_close(l, c, slot);
    } else {
        c->delayed += n + d.final;
    }
}

/* A request while an earlier one is unanswered: the peer pipelines. */
static bool conn_owes(const struct conn *c, uint32_t n)
{
    return n || c->ready || c->runq || c->delayed || (c->flags & (F_SEND | F_FINAL_READY));
}

/* Keep buf[0..n), part of a request the next receive continues (the file
 * header). With --api at most TGT_API_KEEP_BYTES of it: F_API_TRUNC
 * marks the rest as dropped (a plain head never gets near: the parser
 * refuses heads over TGT_MAX_HEAD_BYTES). 0 or -ENOMEM. */
static int carry_add(const struct loop *l, struct conn *c, const char *buf, size_t n)
{
    char *p;

    if (l->cfg->api && (size_t)c->carry_len + n > TGT_API_KEEP_BYTES) {
        c->flags |= F_API_TRUNC;
        n = TGT_API_KEEP_BYTES - c->carry_len;
    }
    if (!n)
        return 0;
    p = realloc(c->carry, (size_t)c->carry_len + n);
    if (!p)
        return -ENOMEM;
    memcpy(p + c->carry_len, buf, n);
    c->carry = p;
    c->carry_len += (uint32_t)n;
    return 0;
}

static void carry_drop(struct conn *c)
{
    free(c->carry);
    c->carry = NULL;
    c->carry_len = 0;
    c->flags &= ~F_API_TRUNC;
}

/* Whether a request cut by the end of a receive is kept: its head (an
 * upgrade is read whole); with --api all of it (the body matters too). */
static bool conn_keeps(const struct loop *l, const struct conn *c)
{
    return l->cfg->api ? tgt_req_started(&c->p) : tgt_req_mid_head(&c->p);
}

/* A complete request ends *n bytes after *begin; if earlier receives
 * carried its start, join them: then *begin, *n are the carry. 0 or
 * -ENOMEM. */
static int conn_whole(const struct loop *l, struct conn *c, const char **begin, size_t *n)
{
    if (!c->carry)
        return 0;
    if (carry_add(l, c, *begin, *n) < 0)
        return -ENOMEM;
    *begin = c->carry;
    *n = c->carry_len;
    return 0;
}

enum { UPG_PLAIN, UPG_SWITCHED, UPG_REFUSED, UPG_CLOSED };

/*
 * A request with an Upgrade header, whole in req[0..n) (conn_whole).
 * UPG_PLAIN: not a WebSocket upgrade, answer it as usual; UPG_REFUSED:
 * *final is its 404 or 400; UPG_SWITCHED: c speaks WebSocket now;
 * UPG_CLOSED: out of memory.
 */
static int conn_upgrade(struct loop *l, struct conn *c, uint32_t slot, const char *req, size_t n,
                        bool owes, uint8_t *final)
{
    struct tgt_ws_hs hs;
    enum tgt_hs_result res;
    char *carry;
    int ret;

    res = tgt_ws_hs_parse(req, n, &hs);
    if (res == TGT_HS_NOT_WS)
        return UPG_PLAIN;
    if (res != TGT_HS_OK || owes) {
        *final = res == TGT_HS_NOT_FOUND ? FINAL_WS_404 : FINAL_WS_400;
        return UPG_REFUSED;
    }
    tgt_api_out_put(&l->api, &c->api); /* empty (nothing is owed); the union changes hands */
    carry = c->carry; /* hs points into it, and the union changes hands now */
    c->carry = NULL;
    ret = tgt_ws_open(l, c, slot, &hs);
    free(carry);
    if (ret < 0) {
        tgt_conn_close(l, c, slot);
        return UPG_CLOSED;
    }
    return UPG_SWITCHED;
}

/* A complete request r ending *n bytes after *begin that is read whole
 * (an upgrade; any with --api): joined with its carried start, then the
 * upgrade tried. UPG_* (conn_upgrade); UPG_CLOSED: out of memory. */
static int conn_read_whole(struct loop *l, struct conn *c, uint32_t slot, int r,
                           const char **begin, size_t *n, bool owes, uint8_t *final)
{
    if (r <= 0 || (!(r & TGT_REQ_UPGRADE) && !l->cfg->api))
        return UPG_PLAIN;
    if (conn_whole(l, c, begin, n) < 0) {
        tgt_conn_close(l, c, slot);
        return UPG_CLOSED;
    }
    return (r & TGT_REQ_UPGRADE) ? conn_upgrade(l, c, slot, *begin, *n, owes, final) : UPG_PLAIN;
}

/* --api: answer req[0..n) if its path is under /api (target_api.h). */
static int conn_api(struct loop *l, struct conn *c, int r, const char *req, size_t n, bool last)
{
    unsigned f = ((r & TGT_REQ_HEAD) ? TGT_API_F_HEAD : 0) | ((r & TGT_REQ_KA) ? TGT_API_F_KA : 0) |
                 (last ? TGT_API_F_CLOSE : 0) | ((c->flags & F_API_TRUNC) ? TGT_API_F_TRUNC : 0);

    return tgt_api_answer(&l->api, &c->api, req, n, f);
}

/*
 * How complete request r (whole in req[0..n) with --api) is answered: the
 * kind of its response, or a final one in *final (already set for a
 * refused upgrade). -1: out of memory, the connection is closed.
 */
static int conn_answer(struct loop *l, struct conn *c, uint32_t slot, int r, const char *req,
                       size_t n, uint8_t *final)
{
    bool last;
    int a = TGT_API_PASS;

    if (*final != FINAL_NONE)
        return 0;
    if (r == TGT_PARSE_BAD) {
        *final = FINAL_BAD;
        return 0;
    }
    last = (r & TGT_REQ_CLOSE) || ++c->nreq == l->cfg->close_after;
    if (l->cfg->api && (a = conn_api(l, c, r, req, n, last)) < 0) {
        tgt_conn_close(l, c, slot);
        return -1;
    }
    if (a == TGT_API_CLOSE)
        *final = FINAL_API;
    else if (last && a == TGT_API_PASS)
        *final = (r & TGT_REQ_HEAD) ? FINAL_CLOSE_HEAD : FINAL_CLOSE;
    return a == TGT_API_KEEP ? TGT_KIND_API : (int)tgt_req_kind(r);
}

/* Frame every request in a received chunk; stop at the final one. Each
 * run of one kind is scheduled when the kind changes, the rest at the end.
 * After a successful upgrade the rest of the chunk is WebSocket frames. */
void tgt_http_on_data(struct loop *l, struct conn *c, uint32_t slot, char *buf, size_t len)
{
    uint32_t n = 0;
    unsigned kind = TGT_KIND_BODY;
    uint8_t final = FINAL_NONE;

    while (len && final == FINAL_NONE) {
        const char *begin = buf;
        size_t used;
        int r = tgt_req_parse(&c->p, buf, len, &used), u, k;

        buf += used;
        len -= used;
        if (r == TGT_PARSE_MORE) {
            if (conn_keeps(l, c) && carry_add(l, c, begin, used) < 0)
                tgt_conn_close(l, c, slot);
            break;
        }
        if (conn_owes(c, n))
            c->flags |= F_PIPELINED;
        u = conn_read_whole(l, c, slot, r, &begin, &used, conn_owes(c, n), &final);
        if (u == UPG_SWITCHED)
            tgt_ws_on_data(l, c, slot, (uint8_t *)buf, len);
        if (u == UPG_SWITCHED || u == UPG_CLOSED)
            return;
        k = conn_answer(l, c, slot, r, begin, used, &final);
        carry_drop(c);
        if (k < 0)
            return;
        if (final != FINAL_NONE)
            break;
        if (n && (unsigned)k != kind) {
            conn_schedule(l, c, slot, n, kind, FINAL_NONE);
            n = 0;
        }
        kind = (unsigned)k;
        n++;
    }
    if (len)
        c->flags |= F_PIPELINED; /* bytes after the final request */
    if (n || final != FINAL_NONE)
        conn_schedule(l, c, slot, n, kind, final);
}

void tgt_http_on_send(struct loop *l, struct conn *c, uint32_t slot, int res)
{
    if (c->state != ST_OPEN)
        return;
    if (res <= 0) {
        tgt_conn_close(l, c, slot);
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
        tgt_conn_linger(l, c, slot, (c->flags & F_PIPELINED) || c->final == FINAL_BAD);
    else
        conn_kick(l, c, slot);
}

void tgt_http_release_due(struct loop *l)
{
    struct dueq *q = &l->dq;

    while (q->head != q->tail && q->v[q->head & (q->cap - 1)].due_ns <= l->now_ns) {
        struct due d = q->v[q->head++ & (q->cap - 1)];
        struct conn *c = &l->conns[d.slot];

        if (c->gen != d.gen || c->state != ST_OPEN || c->mode != MODE_HTTP)
            continue; /* connection gone since */
        c->delayed -= d.n + d.final;
        if (conn_release(l, c, d.n, d.kind, d.final) < 0)
            tgt_conn_close(l, c, d.slot);
        else
            conn_kick(l, c, d.slot);
    }
}

void tgt_http_on_eof(struct loop *l, struct conn *c, uint32_t slot)
{
    c->flags |= F_EOF;
    conn_kick(l, c, slot);
}

void tgt_http_on_close(struct loop *l, struct conn *c)
{
    runs_drop(&l->runs, &c->runq);
}

void tgt_http_release(struct loop *l, struct conn *c)
{
    carry_drop(c);
    tgt_api_out_put(&l->api, &c->api);
}
