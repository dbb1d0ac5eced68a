/*
 * engine.c - worker threads from start to join.
 *
 * Connections (and the -n budget) are split over workers as evenly as
 * integers allow, so the run sends exactly -n requests in total. All
 * workers set up their rings first and meet at a barrier; the start time
 * is taken there, so set-up is not billed to the run. Signals are blocked
 * in every thread and taken synchronously by the main thread
 * (sigtimedwait): the first SIGINT/SIGTERM asks for a graceful stop
 * (workers drain in-flight requests for a short window), a second one
 * aborts at once.
 */
#include "engine.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker.h"

#define ENGINE_POLL_NS 50000000L

static uint64_t share(uint64_t total, uint32_t parts, uint32_t i)
{
    return total / parts + (i < total % parts);
}

/* The -n budget follows the connections, so no worker idles early. */
static uint64_t quota_share(const struct plan *p, uint64_t conns_before, uint64_t conns_i)
{
    uint64_t a, b;

    if (!p->requests)
        return 0;
    a = (unsigned __int128)p->requests * conns_before / p->connections;
    b = (unsigned __int128)p->requests * (conns_before + conns_i) / p->connections;
    return b - a;
}

static struct worker *engine_workers_new(const struct plan *p, struct engine_ctl *ctl)
{
    /* C11 aligned_alloc wants the size to be a multiple of the alignment */
    struct worker *ws = aligned_alloc(64, (sizeof(*ws) * p->threads + 63) & ~(size_t)63);
    uint64_t before = 0;

    if (!ws)
        return NULL;
    for (uint32_t i = 0; i < p->threads; i++) {
        uint64_t n = share(p->connections, p->threads, i);

        if (worker_init(&ws[i], i, p, ctl, (uint32_t)n, quota_share(p, before, n))) {
            while (i--)
                worker_fini(&ws[i]);
            free(ws);
            return NULL;
        }
        before += n;
    }
    return ws;
}

/* Wait for the workers, turning signals into stop requests. */
static int engine_supervise(const struct plan *p, struct engine_ctl *ctl)
{
    struct timespec poll = {0, ENGINE_POLL_NS};
    sigset_t set;
    int first = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    while (atomic_load(&ctl->finished) < p->threads) {
        int sig = sigtimedwait(&set, NULL, &poll);

        if (sig <= 0)
            continue;
        if (!first) {
            first = sig;
            atomic_store(&ctl->stop, ENGINE_STOP_GRACEFUL);
        } else {
            atomic_store(&ctl->stop, ENGINE_STOP_ABORT);
        }
    }
    return first;
}

static void engine_collect(const struct plan *p, struct worker *ws, struct result *r)
{
    uint64_t end = ws[0].end_ns;

    stats_init(&r->total);
    r->threads = p->threads;
    r->ring_flags = ws[0].ring_flags;
    for (uint32_t i = 0; i < p->threads; i++) {
        stats_merge(&r->total, &ws[i].stats);
        r->cpu_user_ns += ws[i].cpu_user_ns;
        r->cpu_sys_ns += ws[i].cpu_sys_ns;
        r->worker_cpus[i < PLAN_MAX_CPUS ? i : PLAN_MAX_CPUS - 1] = ws[i].cpu;
        if (ws[i].end_ns > end)
            end = ws[i].end_ns;
    }
    r->duration_ns = end > ws[0].ctl->start_ns ? end - ws[0].ctl->start_ns : 0;
}

static int engine_setup_error(const struct plan *p, struct worker *ws, struct result *r)
{
    for (uint32_t i = 0; i < p->threads; i++) {
        if (ws[i].setup_err) {
            snprintf(r->exit_reason, sizeof(r->exit_reason),
                     "worker %u: io_uring set-up failed: %s", i, strerror(-ws[i].setup_err));
            return EXIT_RUNTIME;
        }
    }
    return 0;
}

static void engine_verdict(const struct plan *p, struct result *r)
{
    const struct wstats *s = &r->total;

    if (r->signal) {
        r->exit_code = EXIT_INTERRUPTED;
        snprintf(r->exit_reason, sizeof(r->exit_reason), "interrupted by %s",
                 r->signal == SIGINT ? "SIGINT" : "SIGTERM");
    } else if (!s->responses) {
        int err = s->first_conn_errno ? s->first_conn_errno : s->first_err_errno;
        char kinds[128] = "";
        size_t n = 0;

        /* timeouts and server closes carry no errno: name failures by kind */
        for (int k = 0; k < ERR_NR; k++)
            if (s->errors[k] && n < sizeof(kinds))
                n += (size_t)snprintf(kinds + n, sizeof(kinds) - n, "%s%s %llu", n ? ", " : "",
                                      err_name[k], (unsigned long long)s->errors[k]);
        r->exit_code = EXIT_RUNTIME;
        snprintf(r->exit_reason, sizeof(r->exit_reason), "no response received from %s%s%s%s%s%s",
                 p->addr_str, err ? ": " : "", err ? strerror(err) : "",
                 *kinds ? (err ? " (" : ": ") : "", kinds, *kinds && err ? ")" : "");
    } else {
        r->exit_code = EXIT_OK;
        snprintf(r->exit_reason, sizeof(r->exit_reason), "%s",
                 p->requests && s->requests >= p->requests ? "request count reached"
                                                           : "duration elapsed");
    }
}

static int engine_spawn(const struct plan *p, struct worker *ws, uint32_t *started)
{
    for (*started = 0; *started < p->threads; (*started)++) {
        if (pthread_create(&ws[*started].thread, NULL, worker_main, &ws[*started]))
            return -EAGAIN;
    }
    return 0;
}

int engine_run(const struct plan *p, struct result *r)
{
    struct engine_ctl ctl = {0};
    struct worker *ws;
    sigset_t set, old;
    uint32_t started;
    int rc;

    memset(r, 0, sizeof(*r));
    ws = engine_workers_new(p, &ctl);
    if (!ws) {
        snprintf(r->exit_reason, sizeof(r->exit_reason), "out of memory for %u workers",
                 p->threads);
        return r->exit_code = EXIT_RUNTIME;
    }
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_barrier_init(&ctl.start, NULL, p->threads + 1);
    if (engine_spawn(p, ws, &started)) {
        /* the barrier can never fill: nothing sensible to do but exit */
        fprintf(stderr, "stampede: cannot start worker threads\n");
        exit(EXIT_RUNTIME);
    }
    /* two rounds: every ring is set up, then the clock starts for all */
    pthread_barrier_wait(&ctl.start);
    if (engine_setup_error(p, ws, r))
        atomic_store(&ctl.stop, ENGINE_STOP_ABORT);
    clock_gettime(CLOCK_REALTIME, &r->start_wall);
    ctl.start_ns = clock_ns();
    ctl.deadline_ns = p->duration_ns ? ctl.start_ns + p->duration_ns : 0;
    pthread_barrier_wait(&ctl.start);
    r->signal = engine_supervise(p, &ctl);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    engine_collect(p, ws, r);
    /* precedence: interrupted (130) over runtime failure (1) over ok */
    rc = engine_setup_error(p, ws, r);
    if (rc && !r->signal)
        r->exit_code = rc;
    else
        engine_verdict(p, r);
    for (uint32_t i = 0; i < p->threads; i++)
        worker_fini(&ws[i]);
    free(ws);
    pthread_barrier_destroy(&ctl.start);
    return r->exit_code;
}
