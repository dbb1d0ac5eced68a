/*
 * worker.c - the per-thread event loop.
 *
 * One turn: stamp the sends prepared since the last turn, submit and wait
 * once (io_uring_submit_and_wait_timeout, bounded by the next timer), read
 * the clock once, handle the batch of completions, retire it with one CQ
 * advance (which also republishes the recycled receive buffers), run due
 * timers, check whether the run is over. No locks, no allocation, no
 * formatted output in here.
 */
#include "worker.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>

#include "flow.h"
#include "load.h"
#include "wsc.h"
#include "xtls.h"

#define WORKER_IDLE_WAIT_NS 10000000ull /* stop-flag poll when idle */
#define WORKER_BUF_SIZE 8192
#define WORKER_WS_LINGER_NS 100000000ull /* 100 ms */

uint64_t clock_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t worker_rand(struct worker *w)
{
    /* xorshift64*: cheap, good enough for jitter, seeded from --seed */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 0x2545F4914F6CDD1Dull;
}

int worker_init(struct worker *w, uint32_t id, const struct plan *p, struct engine_ctl *ctl,
                uint32_t nconns, uint32_t ninit, uint64_t quota, uint64_t sess_quota)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->plan = p;
    w->ctl = ctl;
    w->xp = p->tls ? &xport_tls : &xport_plain;
    w->proto = p->ws ? &proto_ws : p->flow ? &proto_flow : &proto_http;
    w->sess_quota = sess_quota;
    w->nconns = nconns;
    w->ninit = ninit;
    w->quota = quota;
    w->cpu = p->ncpus ? p->cpus[id % p->ncpus] : -1;
    w->rng = (p->seed ^ (0x9E3779B97F4A7C15ull * (id + 1))) | 1;
    stats_init(&w->stats);
    if (p->flow && !(w->stats.flow = flow_stats_new(p->flow)))
        return -ENOMEM;
    w->conns = calloc(nconns ? nconns : 1, sizeof(*w->conns));
    w->ts = calloc((size_t)(nconns ? nconns : 1) * p->pipeline, sizeof(*w->ts));
    w->ts_sent = calloc((size_t)(nconns ? nconns : 1) * p->pipeline, sizeof(*w->ts_sent));
    w->stamp_list = calloc(nconns ? nconns : 1, sizeof(*w->stamp_list));
    w->series = series_ring_new();
    if (!w->conns || !w->ts || !w->ts_sent || !w->stamp_list || !w->series || load_init(w) ||
        (p->ws && wsc_pool_init(w)) || (p->flow && flow_pool_init(w)) || (p->tls && xtls_pool_init(w))) {
        worker_fini(w);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < nconns; i++)
        conn_init(&w->conns[i], w, i, w->ts + (size_t)i * p->pipeline,
                  w->ts_sent + (size_t)i * p->pipeline);
    return 0;
}

void worker_fini(struct worker *w)
{
    if (w->plan->tls)
        xtls_pool_fini(w);
    if (w->plan->ws)
        wsc_pool_fini(w);
    if (w->plan->flow)
        flow_pool_fini(w);
    flow_stats_free(w->stats.flow);
    w->stats.flow = NULL;
    load_fini(w);
    series_ring_free(w->series);
    w->series = NULL;
    free(w->conns);
    free(w->ts);
    free(w->ts_sent);
    free(w->stamp_list);
    w->conns = NULL;
    w->ts = w->ts_sent = NULL;
    w->stamp_list = NULL;
}

void worker_stamp_later(struct worker *w, struct conn *c)
{
    if (c->flags & CONN_F_STAMP)
        return;
    c->flags |= CONN_F_STAMP;
    w->stamp_list[w->nstamp++] = c->slot;
}

/* One request's send time is known: closed loop measures from it, open
 * loop measures from the intended time and records the lag. */
static void worker_stamp_one(struct worker *w, struct conn *c, uint32_t j, uint64_t t)
{
    uint64_t lag;

    c->ts_sent[j] = t;
    if (!w->plan->open_loop || w->plan->flow) {
        /* a flow step is timed from its actual send; its iteration from
         * the intended start (flow.c) */
        c->ts[j] = t;
        return;
    }
    lag = t > c->ts[j] ? t - c->ts[j] : 0;
    series_record_lag(w->series, lag);
    if (w->in_run && c->ts[j] >= w->run_start_ns)
        hist_record(&w->stats.send_lag, lag);
}

/* Give this turn's sends the time they are really handed to the kernel. */
static void worker_stamp(struct worker *w)
{
    uint64_t t;

    if (!w->nstamp)
        return;
    t = clock_ns();
    for (uint32_t i = 0; i < w->nstamp; i++) {
        struct conn *c = &w->conns[w->stamp_list[i]];
        uint32_t j = c->stamp_from;

        if (!(c->flags & CONN_F_STAMP))
            continue; /* closed since: its requests are settled */
        c->flags &= ~CONN_F_STAMP;
        for (uint32_t n = 0; n < c->stamp_n; n++) {
            worker_stamp_one(w, c, j, t);
            if (++j == w->plan->pipeline)
                j = 0;
        }
    }
    w->nstamp = 0;
}

static void worker_on_cqe(struct worker *w, const struct io_uring_cqe *cqe)
{
    uint64_t ud = cqe->user_data;
    uint32_t slot = uring_ud_slot(ud);
    struct conn *c;

    if (slot >= w->nconns)
        return;
    c = &w->conns[slot];
    if (uring_ud_gen(ud) != (c->gen & 0xffffff)) {
        /* a completion for an earlier incarnation: only its buffer matters */
        if (cqe->flags & IORING_CQE_F_BUFFER)
            uring_buf_recycle(&w->u, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
        return;
    }
    conn_on_cqe(c, uring_ud_op(ud), cqe);
}

static void worker_drain_cqes(struct worker *w)
{
    struct io_uring_cqe *cqes[WORKER_CQE_BATCH];
    unsigned n;

    do {
        n = uring_peek(&w->u, cqes, WORKER_CQE_BATCH);
        for (unsigned i = 0; i < n; i++)
            worker_on_cqe(w, cqes[i]);
        uring_done(&w->u, n);
    } while (n == WORKER_CQE_BATCH);
}

static void worker_begin_drain(struct worker *w)
{
    uint64_t window = w->plan->timeout_ns < WORKER_DRAIN_MAX_NS ? w->plan->timeout_ns
                                                                : WORKER_DRAIN_MAX_NS;

    w->stopping = true;
    if (!w->drain_deadline || w->drain_deadline > w->now + window)
        w->drain_deadline = w->now + window;
}

/* -n: every request of this worker's share has been sent (or dropped). */
static bool worker_quota_sent(const struct worker *w)
{
    if (w->plan->open_loop)
        return w->stats.scheduled >= w->quota && !w->backlog_len;
    return w->stats.requests >= w->quota;
}

/* -n alone has no deadline: when every connection has been down for a whole
 * --connect-timeout (the server went away), end instead of retrying forever. */
static bool worker_lost_server(struct worker *w)
{
    const struct plan *p = w->plan;

    if ((!p->requests && !p->sessions) || p->duration_ns || w->established || w->in_flight ||
        !w->want ||
        w->now - w->last_up_ns < p->connect_timeout_ns)
        return false;
    w->lost_server = true;
    return true;
}

/* Decide whether the loop ends after this turn. */
static bool worker_should_exit(struct worker *w)
{
    int stop = atomic_load_explicit(&w->ctl->stop, memory_order_relaxed);
    uint64_t deadline;

    if (stop == ENGINE_STOP_ABORT)
        return true;
    if (!w->started)
        return stop != ENGINE_STOP_NONE;
    deadline = w->ctl->deadline_ns; /* ordered by the acquire of start_ns */
    if (stop || (deadline && w->now >= deadline) || worker_lost_server(w))
        worker_begin_drain(w);
    else if (w->in_run && w->plan->requests && worker_quota_sent(w))
        w->stopping = true; /* -n: wait for every answer (or its timeout) */
    else if (w->plan->sessions && w->sess_over >= w->sess_quota)
        w->stopping = true; /* --sessions: every session of this worker is over */
    if (!w->stopping)
        return false;
    if (w->backlog_len) {
        w->stats.dropped += w->backlog_len; /* due, never sent: the run ended */
        w->backlog_len = 0;
    }
    if (!w->in_flight) {
        /* WebSocket: copies of the last messages may still be on their way
         * to other members of a room; a short linger counts them */
        if (!w->plan->ws || w->ctl->stop == ENGINE_STOP_ABORT)
            return true;
        if (!w->linger_until)
            w->linger_until = w->now + WORKER_WS_LINGER_NS;
        return w->now >= w->linger_until;
    }
    return w->drain_deadline && w->now >= w->drain_deadline;
}

static void worker_loop(struct worker *w)
{
    for (;;) {
        uint64_t cap = w->stopping ? WORKER_IDLE_WAIT_NS / 10 : WORKER_IDLE_WAIT_NS;
        int ret;

        worker_stamp(w);
        ret = uring_wait(&w->u, load_wait_ns(w, timer_wait_ns(&w->wheel, w->now, cap)));
        w->now = clock_ns();
        if (ret < 0 && ret != -EBUSY && ret != -EAGAIN) {
            w->setup_err = ret;
            return;
        }
        worker_drain_cqes(w);
        timer_expire(&w->wheel, w->now);
        load_tick(w);
        if (worker_should_exit(w))
            return;
    }
}

static int worker_setup_ring(struct worker *w)
{
    unsigned n = w->nconns;
    struct uring_cfg cfg = {
        .sq_entries = n * 4 < 256 ? 256 : (n * 4 > 16384 ? 16384 : n * 4),
        .files = n ? n : 1,
        .buf_count = n * 2 < 256 ? 256 : (n * 2 > 4096 ? 4096 : n * 2),
        .buf_size = WORKER_BUF_SIZE,
    };
    struct io_uring_probe *probe;
    int rc;

    if (w->plan->hold) {
        /* idle connections: many rings, little traffic, small buffers */
        cfg.buf_count = 512;
        cfg.buf_size = 4096;
    }
    cfg.cq_entries = cfg.sq_entries * 4;
    rc = uring_init(&w->u, &cfg);
    if (rc)
        return rc;
    probe = io_uring_get_probe_ring(&w->u.ring);
    w->bind_linked = probe && io_uring_opcode_supported(probe, 56 /* IORING_OP_BIND */);
    if (probe)
        io_uring_free_probe(probe);
    return 0;
}

static void worker_pin(struct worker *w)
{
    cpu_set_t set;

    /* the default 50 us timer slack would show up as send lag in open loop */
    prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
    if (w->cpu < 0)
        return;
    CPU_ZERO(&set);
    CPU_SET(w->cpu, &set);
    sched_setaffinity(0, sizeof(set), &set);
}

static void worker_cpu_times(struct worker *w)
{
    struct rusage ru;

    if (getrusage(RUSAGE_THREAD, &ru))
        return;
    w->cpu_user_ns = ru.ru_utime.tv_sec * 1000000000ull + ru.ru_utime.tv_usec * 1000ull;
    w->cpu_sys_ns = ru.ru_stime.tv_sec * 1000000000ull + ru.ru_stime.tv_usec * 1000ull;
}

void *worker_main(void *arg)
{
    struct worker *w = arg;

    w->begin_ns = clock_ns();
    worker_pin(w);
    w->setup_err = worker_setup_ring(w);
    w->ring_flags = w->u.setup_flags;
    /* everyone meets at the barrier, failed or not, so the engine never hangs */
    pthread_barrier_wait(&w->ctl->start);
    pthread_barrier_wait(&w->ctl->start); /* the engine has checked every set-up */
    if (!w->setup_err && atomic_load(&w->ctl->stop) == ENGINE_STOP_NONE) {
        w->now = clock_ns();
        timer_wheel_init(&w->wheel, w->now);
        load_begin(w);
        worker_loop(w);
    }
    w->end_ns = clock_ns();
    w->now = w->end_ns;
    if (w->started)
        load_series_publish(w); /* the last, partial interval */
    if (!w->in_run) {
        /* stopped during the warm-up (or before): nothing of it counts */
        stats_reset_requests(&w->stats);
        w->warm_left = w->in_flight;
    }
    w->stats.in_flight_at_end = w->in_flight - w->warm_left;
    worker_cpu_times(w);
    uring_fini(&w->u);
    atomic_fetch_add(&w->ctl->finished, 1);
    return NULL;
}
