/*
 * worker.h - one thread, one ring, its connections, timers and stats.
 *
 * Everything here is owned by the worker thread; the only shared state is
 * the read-only plan and the engine's control block (stop flag, start
 * time), read with relaxed atomics once per loop turn.
 */
#ifndef STAMPEDE_WORKER_H
#define STAMPEDE_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conn.h"
#include "pace.h"
#include "series.h"
#include "plan.h"
#include "stats.h"
#include "timer.h"
#include "uring.h"

/* Shared between the engine (writer) and the workers (readers). */
struct engine_ctl {
    atomic_int stop;        /* ENGINE_STOP_* */
    _Atomic uint64_t start_ns; /* clock start (after the initial connects); 0 before */
    uint64_t run_start_ns;  /* start + warm-up: statistics count from here */
    uint64_t deadline_ns;   /* run end; 0: none. Written before start_ns is published */
    atomic_uint ready;      /* workers whose initial connects have resolved */
    atomic_uint connected;  /* workers that have established any connection */
    pthread_barrier_t start;
    atomic_uint finished;   /* workers whose loop has ended */
};

enum {
    ENGINE_STOP_NONE,
    ENGINE_STOP_GRACEFUL, /* drain in-flight for a short window */
    ENGINE_STOP_ABORT,    /* stop now */
};

#define WORKER_CQE_BATCH 512
#define WORKER_DRAIN_MAX_NS 1000000000ull

struct worker {
    uint32_t id;
    int cpu;                 /* -1: not pinned */
    const struct plan *plan;
    struct engine_ctl *ctl;
    const struct xport_ops *xp;
    const struct proto_ops *proto; /* proto_http or proto_ws */
    bool bind_linked;        /* IORING_OP_BIND usable: source binding inside the ring */
    struct uring u;
    struct timer_wheel wheel;
    struct conn *conns;
    uint32_t nconns;
    uint64_t *ts;            /* nconns * pipeline: latency start (intended send) */
    uint64_t *ts_sent;       /* nconns * pipeline: actual send (submit time) */
    uint32_t *stamp_list;    /* conns with sends prepared this turn */
    uint32_t nstamp;
    uint64_t now;            /* clock read once per wake-up */
    uint64_t quota;          /* -n share (may be 0); unused without -n */
    uint64_t completed;      /* responses + request errors */
    uint64_t in_flight;
    uint64_t drain_deadline;
    uint64_t linger_until;   /* ws: end of the post-drain linger (0: not begun) */
    uint64_t rng;            /* xorshift state for backoff jitter */
    bool stopping;           /* no new requests */
    bool started;            /* the engine has started the clock */
    bool in_run;             /* past the warm-up: statistics count */
    uint64_t run_start_ns;
    uint64_t warm_left;      /* warm-up requests still in flight at run start */
    uint32_t ninit;          /* connections to open before the clock starts */
    uint32_t init_left;      /* of those, not yet established or failed */
    uint32_t want;           /* connections wanted now: slots [0, want) */
    /* open loop */
    struct pace_plan warm_plan;
    struct pace_stream ps;
    uint64_t origin_ns;      /* t = 0 of the current schedule */
    uint64_t *backlog;       /* intended times of due, unsent requests (ring) */
    uint32_t backlog_head, backlog_len;
    uint32_t *free_list;     /* conns able to take a request (open loop) */
    uint32_t nfree;
    /* --connect-rate */
    uint32_t *pending;       /* conns waiting for a connect token (ring) */
    uint32_t pending_head, pending_len;
    uint64_t connects;       /* connect attempts made */
    uint64_t conn_tick_ns;   /* last connection-target update */
    uint64_t connect_origin_ns; /* --connect-rate budget counts from here */
    /* sessions (--sessions splits like -n) */
    uint64_t sess_quota;     /* this worker's share of --sessions */
    uint64_t sess_started, sess_over;
    /* WebSocket contexts: a pool, attached to busy connections only */
    struct wsx *ws_free;
    uint32_t ws_out_cap;     /* output buffer of a context */
    uint32_t ws_live;        /* attached now */
    uint32_t ws_alloc;       /* allocated (the pool's high-water mark) */
    char *ws_scratch;        /* a rendered template message */
    uint32_t ws_scratch_cap;
    /* scenario flows (flow.c): per-connection state and buffers */
    void *flow_state;        /* struct fconn[nconns] */
    char *flow_mem;
    uint64_t flow_rr;        /* round-robin data rows handed out */
    /* TLS state: a pool, attached from connect to close (xtls.c) */
    struct xtls *tls_free;
    uint32_t tls_out_cap;    /* ciphertext output buffer of a state */
    SSL_SESSION **tls_sessions; /* newest session per connection slot (resumption) */
    char *tls_plain;         /* decrypted bytes, handed to the protocol */
    uint64_t full_ns;        /* first time every wanted connection was up (0: never) */
    uint32_t peak_established;
    struct series_ring *series; /* interval snapshots for the main thread */
    uint32_t established;    /* connections established right now */
    uint64_t last_up_ns;     /* last time a connection was established */
    bool lost_server;        /* -n alone: no connection for --connect-timeout */
    int setup_err;           /* -errno if the ring could not be set up */
    unsigned ring_flags;     /* IORING_SETUP_* obtained */
    uint64_t end_ns;         /* when the loop ended */
    uint64_t begin_ns;       /* when the thread began */
    uint64_t cpu_user_ns, cpu_sys_ns;
    pthread_t thread;
    struct wstats stats;
};

/* Allocate per-worker memory (conns, stamps); 0 or -ENOMEM. */
int worker_init(struct worker *w, uint32_t id, const struct plan *p, struct engine_ctl *ctl,
                uint32_t nconns, uint32_t ninit, uint64_t quota, uint64_t sess_quota);
void worker_fini(struct worker *w);

/* Thread entry: set up the ring, wait at the start barrier, run, tidy. */
void *worker_main(void *arg);

/* May this worker hand out another request now? */
static inline bool worker_may_send(const struct worker *w)
{
    /* -n counts the run only: the warm-up is not bounded by it */
    return w->started && !w->stopping &&
           (!w->plan->requests || !w->in_run || w->stats.requests < w->quota);
}

#define WORKER_BACKLOG_MAX 65536u

/* Record that c's sends prepared this turn need the submit-time stamp. */
void worker_stamp_later(struct worker *w, struct conn *c);

uint64_t worker_rand(struct worker *w);

uint64_t clock_ns(void);

#endif
