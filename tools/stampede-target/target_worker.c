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
 * Invariants: at most one send in flight per connection; a provided buffer
 * is never held past its CQE. What a connection does with its input and
 * how it answers is target_http.c's (requests, responses, upgrades) or
 * target_wsconn.c's (WebSocket) business; this file owns the ring, the
 * slots, the CQE dispatch, closing and deadlines. On a TLS target,
 * target_tls.c sits between the ring and those two: received ciphertext
 * goes to it, and it hands their code plaintext (tgt_conn_input); its
 * sends are OP_TLS_SEND. A plain target tests l->tls once per receive and
 * once per send, and that is all TLS costs it.
 *
 * Closing after a final response ("Connection: close", --close-after, 400):
 * a close with unread input makes the kernel send RST instead of FIN, so a
 * pipelining client would see a reset or a clean close depending on a race
 * (its next requests may sit in the socket while their recv completion is
 * still deferred). Peers that may still be sending (they pipelined, or it
 * is a 400) therefore linger: shutdown(SHUT_WR) sends FIN after the
 * response, input is drained until the peer's EOF or LINGER_NS, then the
 * slot is closed. Linger deadlines share one length, so they are a FIFO
 * too (WebSocket close deadlines share it). Strict request/response peers
 * are closed at once: lingering costs ~45 instead of ~28 us of target CPU
 * per connection (close-after 1, wrk), because the kernel always runs
 * SHUTDOWN in io-wq. io-wq looks the fixed
 * slot up only when it runs, so the slot must stay open until the
 * shutdown's CQE, or a new connection accepted into the reused slot would
 * be shut down instead (seen here with wrk).
 *
 * Slots: the kernel picks each accepted connection's slot from the sparse
 * table (sized to the soft RLIMIT_NOFILE, which main raised to the hard
 * one), so a thread holds as many connections as the table has slots, and
 * N threads hold N tables' worth in one process (RLIMIT_NOFILE 20000 and
 * --threads 3: 60000). A multishot accept that finds the table full has
 * already taken the connection off the listen queue: it drops it (the peer
 * sees a reset) and ends with ENFILE; and it accepts everything queued in
 * one go, before we see a CQE. So it runs only while more than a reserve
 * of slots (1/16 of the table, 64 to 1024) is free: below that it is
 * cancelled (loop_accept_pause) and the last slots are filled by
 * single-shot accepts, at most one per free slot, which cannot overrun.
 * With no slot free nothing is armed, and new connections wait in the
 * listen backlog until a close frees one: no timer, no spin. (A burst that
 * overruns the reserve before the cancel lands still costs the one
 * connection the ENFILE drops.) A slot comes back to
 * the kernel's allocator when its close_direct runs, which may be before
 * the close's CQE is seen here: an accept into a slot whose old connection
 * was not yet released releases it first.
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
#include "target_loop.h"

#define SQ_ENTRIES 4096
#define CQ_ENTRIES 32768
#define BUF_GROUP 0
#define BUF_COUNT 2048 /* power of two, below 2^15 */
#define BUF_BYTES 4096
#define FILES_MAX 65536u
#define IDLE_WAIT_NS 50000000ull    /* bounds how late a stop request is seen */
#define ACCEPT_RETRY_NS 10000000ull /* after an accept failure other than a full table */
#define ACCEPT_SINGLES_MAX 8        /* single-shot accepts in flight near a full table */
#define DUEQ_INIT 4096u
#define NS_PER_S 1000000000ull

_Static_assert(sizeof(struct conn) == 112, "per-connection state grew");

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
struct io_uring_sqe *tgt_sqe_get(struct loop *l)
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
int tgt_dueq_push(struct dueq *q, const struct due *d)
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

static void conn_arm_recv(struct loop *l, struct conn *c, uint32_t slot)
{
    struct io_uring_sqe *sqe = tgt_sqe_get(l);

    io_uring_prep_recv_multishot(sqe, (int)slot, NULL, 0, 0);
    sqe->flags |= IOSQE_FIXED_FILE | IOSQE_BUFFER_SELECT;
    sqe->buf_group = BUF_GROUP;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_RECV, c->gen, slot));
    c->flags |= F_RECV;
}

static void conn_cancel(struct loop *l, struct conn *c, uint32_t slot, unsigned op)
{
    struct io_uring_sqe *sqe = tgt_sqe_get(l);

    io_uring_prep_cancel64(sqe, ud_pack(op, c->gen, slot), 0);
    sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_CANCEL, c->gen, slot));
}

/*
 * A multishot recv holds its own reference to the socket, so closing the
 * slot alone would keep the connection open until the peer next sends:
 * cancel the recv first. HARDLINK, not LINK, so the close runs even when
 * the recv already ended and the cancel fails with ENOENT. A WebSocket
 * send may wait forever on a peer that does not read, and its buffer is
 * freed at the close's CQE: cancel it too, and an --api send, whose
 * buffer goes back to a pool then; the same goes for a TLS ciphertext
 * send, whichever the mode.
 */
void tgt_conn_close(struct loop *l, struct conn *c, uint32_t slot)
{
    struct io_uring_sqe *sqe;
    bool cancel_send = (c->mode == MODE_WS || c->api) && (c->flags & F_SEND);
    unsigned send_op = OP_SEND;

    if (l->tls) {
        cancel_send = tgt_tls_sending(l, slot);
        send_op = OP_TLS_SEND;
    }

    if (c->flags & F_SHUT) {
        c->flags |= F_CLOSE_WAIT; /* see the file header: slot reuse */
        return;
    }
    c->state = ST_CLOSING;
    if (c->mode == MODE_WS)
        tgt_ws_on_close(l, c);
    else
        tgt_http_on_close(l, c);
    if (io_uring_sq_space_left(&l->ring) < 3)
        io_uring_submit(&l->ring);
    if (c->flags & F_RECV)
        conn_cancel(l, c, slot, OP_RECV);
    if (cancel_send)
        conn_cancel(l, c, slot, send_op);
    sqe = tgt_sqe_get(l);
    io_uring_prep_close_direct(sqe, slot);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_CLOSE, c->gen, slot));
}

/* Plaintext from the peer (from the receive buffer, or decrypted) to the
 * HTTP or WebSocket code, unless the connection takes no more input. */
void tgt_conn_input(struct loop *l, struct conn *c, uint32_t slot, char *buf, size_t len)
{
    if (c->state == ST_LINGER || (c->flags & (F_DONE | F_WS_CLOSING)))
        c->flags |= F_PIPELINED; /* input after the final request or close: dropped */
    else if (c->mode == MODE_WS)
        tgt_ws_on_data(l, c, slot, (uint8_t *)buf, len);
    else
        tgt_http_on_data(l, c, slot, buf, len);
}

static void conn_on_recv(struct loop *l, struct conn *c, uint32_t slot, const struct io_uring_cqe *cqe)
{
    bool more = cqe->flags & IORING_CQE_F_MORE;

    if (!more)
        c->flags &= ~F_RECV;
    if (c->state != ST_OPEN && c->state != ST_LINGER)
        return;
    if (cqe->res > 0) {
        char *b = l->bufs + (size_t)(cqe->flags >> IORING_CQE_BUFFER_SHIFT) * BUF_BYTES;

        if (l->tls && c->state == ST_OPEN && !(c->flags & (F_DONE | F_WS_CLOSING)))
            tgt_tls_on_data(l, c, slot, b, (size_t)cqe->res);
        else
            tgt_conn_input(l, c, slot, b, (size_t)cqe->res);
        if (!more && c->state != ST_CLOSING)
            conn_arm_recv(l, c, slot); /* the kernel may end a multishot early */
    } else if (cqe->res == -ENOBUFS) {
        conn_arm_recv(l, c, slot); /* buffers come back at this batch's end */
    } else if (cqe->res == 0 && c->state == ST_OPEN && c->mode == MODE_HTTP) {
        tgt_http_on_eof(l, c, slot); /* still answer what was asked, then close */
    } else {
        tgt_conn_close(l, c, slot); /* error, WebSocket EOF, or the EOF a linger waits for */
    }
}

int tgt_conn_deadline(struct loop *l, struct conn *c, uint32_t slot)
{
    struct due d = {l->now_ns + LINGER_NS, slot, c->gen, 0, 0, 0};

    return tgt_dueq_push(&l->lq, &d);
}

/* After the final response: close, or for a peer that may still be
 * sending, FIN now and close at its EOF or the deadline (file header).
 * TLS sends its close_notify first, then comes back here. */
void tgt_conn_linger(struct loop *l, struct conn *c, uint32_t slot, bool may_send)
{
    struct io_uring_sqe *sqe;

    if (l->tls && tgt_tls_linger(l, c, slot, may_send))
        return;
    if (!may_send || !(c->flags & F_RECV) || tgt_conn_deadline(l, c, slot) < 0) {
        tgt_conn_close(l, c, slot); /* input ended, strict peer, or no memory */
        return;
    }
    c->state = ST_LINGER;
    c->flags |= F_SHUT;
    sqe = tgt_sqe_get(l);
    io_uring_prep_shutdown(sqe, (int)slot, SHUT_WR);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_SHUTDOWN, c->gen, slot));
}

static void conn_on_shutdown(struct loop *l, struct conn *c, uint32_t slot)
{
    c->flags &= ~F_SHUT;
    if (c->flags & F_CLOSE_WAIT)
        tgt_conn_close(l, c, slot);
}

/* Connections open in the whole process: now and the peak. */
static void held_add(struct loop *l, bool open)
{
    struct tgt_live *lv = l->cfg->live;
    uint64_t h, peak;

    if (!open) {
        atomic_fetch_sub_explicit(&lv->held, 1, memory_order_relaxed);
        return;
    }
    h = atomic_fetch_add_explicit(&lv->held, 1, memory_order_relaxed) + 1;
    peak = atomic_load_explicit(&lv->held_peak, memory_order_relaxed);
    while (h > peak && !atomic_compare_exchange_weak_explicit(&lv->held_peak, &peak, h,
                                                              memory_order_relaxed,
                                                              memory_order_relaxed))
        ;
}

/* The connection in c is gone for good: its buffers go, its slot counts
 * as free (loop_arm_accept may use it at the end of this turn). */
static void conn_free(struct loop *l, struct conn *c)
{
    if (c->mode == MODE_WS)
        tgt_ws_release(l, c);
    else
        tgt_http_release(l, c);
    if (l->tls)
        tgt_tls_release(l, (uint32_t)(c - l->conns));
    c->state = ST_FREE;
    l->open--;
    held_add(l, false);
}

/* Slots neither in use nor promised to a single-shot accept in flight, by
 * our count, which frees a slot only at its close's CQE: never more than
 * the kernel has. */
static uint32_t loop_free_slots(const struct loop *l)
{
    return l->nconns - l->open - l->accept_singles;
}

/* The multishot accept stops when only the reserve is left (file header). */
static void loop_accept_pause(struct loop *l)
{
    struct io_uring_sqe *sqe;

    if (!l->accept_armed || l->accept_cancelling || loop_free_slots(l) > l->accept_reserve)
        return;
    l->accept_cancelling = true;
    sqe = tgt_sqe_get(l);
    io_uring_prep_cancel64(sqe, ud_pack(OP_ACCEPT, 0, 0), 0);
    io_uring_sqe_set_data64(sqe, ud_pack(OP_CANCEL, 0, 0));
}

/* Accept CQEs: the multishot's (ud gen 0) or a single-shot's (gen 1). */
static void loop_on_accept(struct loop *l, const struct io_uring_cqe *cqe, bool single)
{
    if (single)
        l->accept_singles--;
    else if (!(cqe->flags & IORING_CQE_F_MORE))
        l->accept_armed = l->accept_cancelling = false;
    if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -ENFILE &&
        (single || !(cqe->flags & IORING_CQE_F_MORE)))
        l->accept_retry_ns = l->now_ns + ACCEPT_RETRY_NS;
    if (cqe->res < 0)
        return;

    uint32_t slot = (uint32_t)cqe->res; /* below nconns: the table's size */
    struct conn *c = &l->conns[slot];
    uint32_t gen = (c->gen + 1) & UD_GEN_MASK;

    if (c->state != ST_FREE)
        conn_free(l, c); /* its close ran; its CQE is still to come (file header) */
    memset(c, 0, sizeof(*c));
    c->gen = gen;
    c->state = ST_OPEN;
    l->open++;
    held_add(l, true);
    if (l->tls && tgt_tls_open(l, slot) < 0)
        tgt_conn_close(l, c, slot); /* no memory for its TLS state */
    else
        conn_arm_recv(l, c, slot);
    loop_accept_pause(l);
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
        loop_on_accept(l, cqe, (ud >> 32) & 1);
        break;
    case OP_RECV:
        if (c)
            conn_on_recv(l, c, slot, cqe);
        break;
    case OP_SEND:
        if (c && c->mode == MODE_WS)
            tgt_ws_on_send(l, c, slot, cqe->res);
        else if (c)
            tgt_http_on_send(l, c, slot, cqe->res);
        break;
    case OP_TLS_SEND:
        if (c)
            tgt_tls_on_send(l, c, slot, cqe->res);
        break;
    case OP_SHUTDOWN:
        if (c)
            conn_on_shutdown(l, c, slot); /* result unused: peer may be gone */
        break;
    case OP_CLOSE:
        if (c && c->state != ST_FREE)
            conn_free(l, c);
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

/* Lingering connections whose peer never sent EOF, and WebSocket ones
 * whose close frame could not leave in time, are closed now. */
static void loop_release_linger(struct loop *l)
{
    struct dueq *q = &l->lq;

    while (q->head != q->tail && q->v[q->head & (q->cap - 1)].due_ns <= l->now_ns) {
        struct due d = q->v[q->head++ & (q->cap - 1)];
        struct conn *c = &l->conns[d.slot];

        if (c->gen == d.gen && (c->state == ST_LINGER ||
                                (c->state == ST_OPEN && (c->flags & F_WS_CLOSING))))
            tgt_conn_close(l, c, d.slot);
    }
}

/* Multishot while more than the reserve is free, else single-shot accepts
 * for the free slots, a few at a time; nothing while none is free. */
static void loop_arm_accept(struct loop *l)
{
    struct io_uring_sqe *sqe;
    uint32_t free = loop_free_slots(l);

    if (l->accept_armed || l->now_ns < l->accept_retry_ns)
        return;
    if (free > l->accept_reserve) {
        sqe = tgt_sqe_get(l);
        io_uring_prep_multishot_accept_direct(sqe, l->w->listen_fd, NULL, NULL, 0);
        io_uring_sqe_set_data64(sqe, ud_pack(OP_ACCEPT, 0, 0));
        l->accept_armed = true;
        return;
    }
    for (; free && l->accept_singles < ACCEPT_SINGLES_MAX; free--) {
        sqe = tgt_sqe_get(l);
        io_uring_prep_accept(sqe, l->w->listen_fd, NULL, NULL, 0);
        /* 2.3's prep_accept_direct adds 1 to IORING_FILE_INDEX_ALLOC: 0, a plain fd */
        sqe->file_index = IORING_FILE_INDEX_ALLOC;
        io_uring_sqe_set_data64(sqe, ud_pack(OP_ACCEPT, 1, 0));
        l->accept_singles++;
    }
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
        tgt_http_release_due(l);
        loop_release_linger(l);
        tgt_ws_flush(l);
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
    l->accept_reserve = l->nconns / 16 < 64 ? 64 : l->nconns / 16 > 1024 ? 1024 : l->nconns / 16;
    if (l->accept_reserve > l->nconns / 2)
        l->accept_reserve = l->nconns / 2;
    w->err_what = "allocating connection table";
    l->conns = calloc(l->nconns, sizeof(*l->conns));
    if (!l->conns || ((l->cfg->delay_ns || l->cfg->stall_ns) && dueq_grow(&l->dq) < 0) ||
        dueq_grow(&l->lq) < 0 || tgt_ws_init(l) < 0 || tgt_tls_init(l) < 0)
        return -ENOMEM;
    tgt_api_init(&l->api, w->id, l->n.api);
    l->now_ns = clock_ns();
    return 0;
}

static void loop_fini(struct loop *l)
{
    if (l->ring_ok)
        io_uring_queue_exit(&l->ring); /* closes every direct descriptor */
    for (uint32_t i = 0; l->conns && i < l->nconns; i++) {
        struct conn *c = &l->conns[i];

        if (c->state != ST_FREE && c->mode == MODE_WS)
            tgt_ws_release(l, c);
        else if (c->state != ST_FREE)
            tgt_http_release(l, c);
    }
    tgt_api_fini(&l->api);
    tgt_ws_fini(l);
    tgt_tls_fini(l);
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
        w->n = l->n;
        loop_fini(l);
    }
    return NULL;
}
