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

#include "report_tls.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flow.h"
#include "hdrlog.h"
#include "metrics.h"
#include "series.h"
#include "sysinfo.h"
#include "worker.h"

#define ENGINE_POLL_NS 50000000L
#define ENGINE_START_AHEAD_NS 2000000ull

static uint64_t share(uint64_t total, uint32_t parts, uint32_t i)
{
    return total / parts + (i < total % parts);
}

/* The -n budget: closed loop follows the connections, so no worker idles
 * early; open loop follows the arrivals (worker i takes every W-th one). */
static uint64_t quota_share(const struct plan *p, uint32_t i, uint64_t before, uint64_t mine,
                            uint64_t total)
{
    uint64_t a, b;

    if (!p->requests)
        return 0;
    if (p->open_loop)
        return share(p->requests, p->threads, i);
    a = (unsigned __int128)p->requests * before / total;
    b = (unsigned __int128)p->requests * (before + mine) / total;
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
        uint64_t slots = share(p->conn_slots, p->threads, i);
        uint64_t n = share(p->connections, p->threads, i);
        /* connection stages may start from 0: split the budget by slots then */
        uint64_t mine = p->connections ? n : slots;
        uint64_t q = quota_share(p, i, before, mine, p->connections ? p->connections
                                                                    : p->conn_slots);

        uint64_t sq = p->sessions ? share(p->sessions, p->threads, i) : 0;

        if (worker_init(&ws[i], i, p, ctl, (uint32_t)slots, (uint32_t)n, q, sq)) {
            while (i--)
                worker_fini(&ws[i]);
            free(ws);
            return NULL;
        }
        before += mine;
    }
    return ws;
}

/* Start the clock once every worker's initial connections have resolved
 * (or the time they may take has passed), so the run measures requests,
 * not the connect storm. Warm-up and deadline are fixed from it. */
static void engine_start_clock(const struct plan *p, struct engine_ctl *ctl, struct result *r)
{
    /* a little ahead, so every worker (polling each 1 ms) is awake at t = 0
     * and the first arrivals of an open-loop schedule are not late */
    uint64_t now = clock_ns() + ENGINE_START_AHEAD_NS;

    clock_gettime(CLOCK_REALTIME, &r->start_wall);
    ctl->run_start_ns = now + p->warmup_ns;
    ctl->deadline_ns = p->duration_ns ? ctl->run_start_ns + p->duration_ns : 0;
    r->run_start_ns = ctl->run_start_ns;
    atomic_store_explicit(&ctl->start_ns, now, memory_order_release);
}

static bool engine_connects_done(const struct plan *p, struct engine_ctl *ctl, uint64_t limit)
{
    /* --hold measures the connect ramp itself: the clock starts at once */
    return p->hold || atomic_load(&ctl->ready) >= p->threads || clock_ns() >= limit;
}

/* Memory is sampled while the run goes on: the peak is what a user's host
 * must have. */
static void engine_sample_memory(struct result *r)
{
    uint64_t rss = sysinfo_rss(), slab = sysinfo_slab();

    if (rss > r->rss_peak)
        r->rss_peak = rss;
    if (slab > r->slab_peak)
        r->slab_peak = slab;
}

/* A run that has not established a single connection a whole
 * --connect-timeout after the clock started stops: retrying longer would
 * only make a typo in the URL look like a hang (-n alone has no end). */
static void engine_give_up(const struct plan *p, struct engine_ctl *ctl, struct result *r)
{
    uint64_t start = atomic_load(&ctl->start_ns);

    if (!start || r->gave_up || atomic_load(&ctl->connected) ||
        clock_ns() < start + p->connect_timeout_ns)
        return;
    r->gave_up = true;
    if (atomic_load(&ctl->stop) == ENGINE_STOP_NONE)
        atomic_store(&ctl->stop, ENGINE_STOP_GRACEFUL);
}

/* Stop signals, shared by every engine of the process (a scenario file
 * runs one engine per scenario at the same time, and a signal reaches only
 * one of their sigtimedwait calls). */
static atomic_int engine_sig_count;
static atomic_int engine_sig_first;

/* A threshold with abort_on_fail judged on the totals so far: the first
 * that fails stops the run (gracefully, like a signal). */
static void engine_check_abort(const struct plan *p, struct engine_ctl *ctl, struct result *r,
                               const struct series_reader *sr)
{
    const struct series_snap *c = sr->cum;

    if (!p->nabort || !c || r->aborted_thr >= 0)
        return;
    for (uint32_t i = 0; i < p->nabort; i++) {
        const struct thr *t = &p->abort_thr[i];
        struct metric m = {.kind = METRIC_COUNTER, .h = &c->dur};
        struct metric_set none = {.run_s = 0};
        double v;

        if (thr_live_metric(t->metric, p) == THR_LIVE_DURATION)
            m.kind = METRIC_DURATION;
        else if (!strcmp(t->metric, "http_reqs"))
            m.num = c->d.requests;
        else if (!strcmp(t->metric, "errors"))
            m.num = c->d.errors;
        else if (!strcmp(t->metric, "dropped_iterations"))
            m.num = c->d.dropped;
        else
            continue;
        if (!metrics_value(&none, &m, t, &v) || thr_holds(t, v))
            continue;
        r->aborted_thr = (int)i;
        r->aborted_at_s = (double)(clock_ns() - atomic_load(&ctl->start_ns)) / 1e9;
        atomic_store(&ctl->stop, ENGINE_STOP_GRACEFUL);
        return;
    }
}

/* Wait for the workers, turning signals into stop requests. */
static int engine_supervise(const struct plan *p, struct engine_ctl *ctl, struct result *r,
                            struct series_reader *sr)
{
    struct timespec poll = {0, ENGINE_POLL_NS};
    uint64_t limit = clock_ns() + p->connect_timeout_ns + 1000000000ull +
                     (p->connect_rate ? (uint64_t)(p->connections / p->connect_rate * 1e9) : 0);
    sigset_t set;
    int first = 0;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    while (atomic_load(&ctl->finished) < p->threads) {
        int sig;

        if (!atomic_load(&ctl->start_ns) && engine_connects_done(p, ctl, limit))
            engine_start_clock(p, ctl, r);
        sig = sigtimedwait(&set, NULL, atomic_load(&ctl->start_ns) ? &poll : &(struct timespec){0, 1000000});
        if (sr && atomic_load(&ctl->start_ns)) {
            series_poll(sr, false);
            engine_check_abort(p, ctl, r, sr);
        }
        engine_sample_memory(r);
        engine_give_up(p, ctl, r);
        if (sig > 0 && atomic_fetch_add(&engine_sig_count, 1) == 0)
            atomic_store(&engine_sig_first, sig);
        if (atomic_load(&engine_sig_count) >= 1 && !first) {
            first = atomic_load(&engine_sig_first) ?: SIGINT;
            atomic_store(&ctl->stop, ENGINE_STOP_GRACEFUL);
        }
        if (atomic_load(&engine_sig_count) >= 2)
            atomic_store(&ctl->stop, ENGINE_STOP_ABORT);
    }
    return first;
}

static void engine_collect(const struct plan *p, struct worker *ws, struct result *r)
{
    uint64_t end = ws[0].end_ns, full = 0;
    bool all_full = true;

    stats_init(&r->total);
    if (p->flow)
        r->total.flow = flow_stats_new(p->flow); /* freed by result_fini */
    r->threads = p->threads;
    r->ring_flags = ws[0].ring_flags;
    for (uint32_t i = 0; i < p->threads; i++) {
        r->lost_server |= ws[i].lost_server;
        stats_merge(&r->total, &ws[i].stats);
        r->cpu_user_ns += ws[i].cpu_user_ns;
        r->cpu_sys_ns += ws[i].cpu_sys_ns;
        if (i < PLAN_MAX_CPUS) {
            uint64_t wall = ws[i].end_ns - ws[i].begin_ns;

            r->worker_cpus[i] = ws[i].cpu;
            r->worker_busy[i] = wall ? (float)(ws[i].cpu_user_ns + ws[i].cpu_sys_ns) / wall : 0;
        }
        if (ws[i].end_ns > end)
            end = ws[i].end_ns;
        r->peak_established += ws[i].peak_established;
        r->ws_contexts += ws[i].ws_alloc;
        if (!ws[i].full_ns)
            all_full = false;
        else if (ws[i].full_ns > full)
            full = ws[i].full_ns;
    }
    /* --hold: how long the ramp took (the clock starts with it) */
    if (all_full && full > r->run_start_ns - p->warmup_ns)
        r->full_ns = full - (r->run_start_ns - p->warmup_ns);
    /* the run's length: warm-up excluded, the short drain included */
    r->duration_ns = r->run_start_ns && end > r->run_start_ns ? end - r->run_start_ns : 0;
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

/* No WebSocket handshake succeeded: say why, in the server's words. */
static void engine_ws_failed(const struct plan *p, struct result *r)
{
    const struct wstats *s = &r->total;
    int kind = -1, status = 0;
    char why[96] = "";

    for (int k = 0; k < WSHS_NR; k++)
        if (s->ws_hs_failed[k] && (kind < 0 || s->ws_hs_failed[k] > s->ws_hs_failed[kind]))
            kind = k;
    for (int i = 0; i < STATS_STATUS_MAX; i++)
        if (s->ws_hs_status[i] > s->ws_hs_status[status])
            status = i;
    if (kind == WSHS_STATUS)
        snprintf(why, sizeof(why), ": the server answered HTTP %d (%llu times)", status,
                 (unsigned long long)s->ws_hs_status[status]);
    else if (kind >= 0)
        snprintf(why, sizeof(why), ": %s (%llu times)", wshs_name[kind],
                 (unsigned long long)s->ws_hs_failed[kind]);
    else if (s->first_conn_errno)
        snprintf(why, sizeof(why), ": %s", strerror(s->first_conn_errno));
    r->exit_code = EXIT_RUNTIME;
    snprintf(r->exit_reason, sizeof(r->exit_reason), "no WebSocket handshake succeeded with %s%s%s",
             p->addr_str, why, r->gave_up ? " (gave up after --connect-timeout)" : "");
}

/* No TLS handshake succeeded: say why, in OpenSSL's words. */
static void engine_tls_failed(const struct plan *p, struct result *r)
{
    char why[160];
    uint64_t n = report_tls_top_reason(r->total.tls_reasons, why, sizeof(why));

    r->exit_code = EXIT_RUNTIME;
    if (n)
        snprintf(r->exit_reason, sizeof(r->exit_reason),
                 "no TLS handshake succeeded with %.64s (%s): %.110s (%llu times)%s", p->host,
                 p->addr_str, why, (unsigned long long)n,
                 r->gave_up ? " (gave up after --connect-timeout)" : "");
    else
        snprintf(r->exit_reason, sizeof(r->exit_reason),
                 "no TLS handshake succeeded with %.64s (%s)%s%.60s%s", p->host, p->addr_str,
                 r->total.first_conn_errno ? ": " : "",
                 r->total.first_conn_errno ? strerror(r->total.first_conn_errno) : "",
                 r->gave_up ? " (gave up: no connection within --connect-timeout)" : "");
}

/* Not one response: say why (errno, failures by kind, a TLS alert). */
static void engine_no_response(const struct plan *p, struct result *r)
{
    const struct wstats *s = &r->total;
    int err = s->first_conn_errno ? s->first_conn_errno : s->first_err_errno;
    char kinds[128] = "", tls[128] = "";
    size_t n = 0;

    /* timeouts and server closes carry no errno: name failures by kind */
    for (int k = 0; k < ERR_NR; k++)
        if (s->errors[k] && n < sizeof(kinds))
            n += (size_t)snprintf(kinds + n, sizeof(kinds) - n, "%s%s %llu", n ? ", " : "",
                                  err_name[k], (unsigned long long)s->errors[k]);
    /* e.g. a TLS 1.3 server rejecting our client certificate: its alert
     * arrives after our side of the handshake completed, on the first read */
    report_tls_top_reason(s->tls_err_reasons, tls, sizeof(tls));
    r->exit_code = EXIT_RUNTIME;
    snprintf(r->exit_reason, sizeof(r->exit_reason),
             "no response received from %s%s%s%s%s%s%s%s%.120s", p->addr_str,
             r->gave_up ? " (gave up: no connection within --connect-timeout)" : "",
             err ? ": " : "", err ? strerror(err) : "", *kinds ? (err ? " (" : ": ") : "",
             kinds, *kinds && err ? ")" : "", *tls ? "; TLS error after the handshake: " : "",
             tls);
}

static void engine_verdict(const struct plan *p, struct result *r)
{
    const struct wstats *s = &r->total;

    if (r->signal) {
        r->exit_code = EXIT_INTERRUPTED;
        snprintf(r->exit_reason, sizeof(r->exit_reason), "interrupted by %s",
                 r->signal == SIGINT ? "SIGINT" : "SIGTERM");
    } else if (r->lost_server && s->responses) {
        r->exit_code = EXIT_RUNTIME;
        snprintf(r->exit_reason, sizeof(r->exit_reason),
                 "gave up after %llu of -n %llu: no connection to %s for --connect-timeout",
                 (unsigned long long)(s->responses + stats_errors_total(s)),
                 (unsigned long long)p->requests, p->addr_str);
    } else if (p->tls && !s->tls_full && !s->tls_resumed) {
        engine_tls_failed(p, r);
    } else if (p->ws && !s->ws_handshakes) {
        engine_ws_failed(p, r);
    } else if (!s->responses && !s->ws_handshakes && !(p->hold && s->conn_established)) {
        engine_no_response(p, r);
    } else {
        r->exit_code = EXIT_OK;
        snprintf(r->exit_reason, sizeof(r->exit_reason), "%s",
                 p->requests && s->requests >= p->requests ? "request count reached"
                 : p->sessions && s->sessions >= p->sessions ? "session count reached"
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

/* The time series reader: NDJSON to ts_out (may be NULL), progress on a
 * TTY unless -q, plain lines with --progress. */
static int engine_series_open(const struct plan *p, struct worker *ws, struct series_ring **rings,
                              struct series_reader *sr, FILE *ts_out)
{
    bool tty = !p->quiet && isatty(STDERR_FILENO);
    bool plain = !p->quiet && p->progress && !tty;

    /* always read: the result keeps the series (JSON, HTML report) */
    for (uint32_t i = 0; i < p->threads; i++)
        rings[i] = ws[i].series;
    return series_reader_init(sr, rings, p->threads, p, ts_out, tty, plain);
}

int engine_run(const struct plan *p, struct result *r, FILE *ts_out)
{
    struct series_ring **rings = calloc(p->threads, sizeof(*rings));
    struct series_reader sr;
    struct hdrlog_hook hk = {.log = p->hdrlog, .tag = p->hdr_tag};
    bool sr_ok = false;
    struct engine_ctl ctl = {0};
    struct worker *ws;
    sigset_t set, old;
    uint32_t started;
    int rc;

    memset(r, 0, sizeof(*r));
    r->aborted_thr = -1;
    r->rss_base = sysinfo_rss();
    r->slab_base = sysinfo_slab();
    r->syn_retrans = sysinfo_syn_retrans();
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
    sr_ok = engine_series_open(p, ws, rings, &sr, ts_out) == 0;
    if (sr_ok && p->hdrlog) {
        sr.hook = hdrlog_series_hook;
        sr.hook_ctx = &hk;
    }
    /* every ring is set up before any connection opens */
    pthread_barrier_wait(&ctl.start);
    if (engine_setup_error(p, ws, r))
        atomic_store(&ctl.stop, ENGINE_STOP_ABORT);
    pthread_barrier_wait(&ctl.start);
    r->signal = engine_supervise(p, &ctl, r, sr_ok ? &sr : NULL);
    for (uint32_t i = 0; i < started; i++)
        pthread_join(ws[i].thread, NULL);
    if (sr_ok) {
        series_poll(&sr, true);
        r->series = series_take_points(&sr, &r->nseries);
        series_reader_fini(&sr);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    engine_sample_memory(r);
    r->syn_retrans = sysinfo_syn_retrans() - r->syn_retrans;
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
    free(rings);
    pthread_barrier_destroy(&ctl.start);
    return r->exit_code;
}

void result_fini(struct result *r)
{
    flow_stats_free(r->total.flow);
    r->total.flow = NULL;
    free(r->series);
    r->series = NULL;
    r->nseries = 0;
}
