/*
 * load.c - phases, open-loop pacing and connection targets of one worker.
 *
 * Timeline (all workers share it through the engine's control block):
 *   connecting: the -c connections open; no request goes out;
 *   start_ns:   the engine starts the clock once every worker's initial
 *               connects have resolved (or a time limit passed);
 *   warm-up:    the load runs, its statistics are thrown away at
 *               run_start_ns (requests still in flight then are settled
 *               but not counted: their send time predates run_start_ns);
 *   run:        until deadline_ns, or -n, or a signal; then the drain.
 *
 * The backlog of due, unsent open-loop requests is a ring of intended send
 * times of at most WORKER_BACKLOG_MAX entries; when it is full the oldest
 * request is dropped (counted) rather than growing memory without bound.
 */
#include "load.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shard.h"
#include "worker.h"

#define LOAD_CONN_TICK_NS 1000000ull /* connection targets move at most every 1 ms */
#define LOAD_START_POLL_NS 1000000ull /* how often a worker looks for the start */

int load_init(struct worker *w)
{
    uint32_t n = w->nconns ? w->nconns : 1;

    w->free_list = calloc(n, sizeof(*w->free_list));
    w->pending = calloc(n, sizeof(*w->pending));
    if (w->plan->open_loop)
        w->backlog = calloc(WORKER_BACKLOG_MAX, sizeof(*w->backlog));
    if (!w->free_list || !w->pending || (w->plan->open_loop && !w->backlog))
        return -1;
    return 0;
}

void load_fini(struct worker *w)
{
    free(w->free_list);
    free(w->pending);
    free(w->backlog);
    w->free_list = w->pending = NULL;
    w->backlog = NULL;
}

bool load_conn_wanted(const struct worker *w, const struct conn *c)
{
    return c->slot < w->want;
}

/* New connections may start at --connect-rate: a budget that grows with
 * time since the worker began, split evenly over workers. */
static uint64_t load_connect_budget(const struct worker *w)
{
    const struct plan *p = w->plan;
    double per_worker, allowed;

    if (!p->connect_rate)
        return UINT64_MAX;
    per_worker = p->connect_rate / p->threads;
    allowed = 1 + per_worker * (double)(w->now - w->connect_origin_ns) / 1e9;
    return allowed > (double)w->connects ? (uint64_t)allowed - w->connects : 0;
}

bool load_session_allowed(const struct worker *w)
{
    return !w->plan->sessions || w->sess_started < w->sess_quota;
}

void load_session_over(struct worker *w, bool finished)
{
    w->sess_over++;
    if (finished)
        w->stats.sessions_ok++;
}

/* Start c's next session now. */
static void load_connect_now(struct worker *w, struct conn *c)
{
    w->connects++;
    w->sess_started++;
    w->stats.sessions++;
    conn_connect(c);
}

void load_connect(struct worker *w, struct conn *c)
{
    if (!load_session_allowed(w)) {
        c->state = CONN_ST_DONE;
        load_conn_resolved(w, c);
        return;
    }
    if (w->pending_len || !load_connect_budget(w)) {
        w->pending[(w->pending_head + w->pending_len++) % w->nconns] = c->slot;
        c->state = CONN_ST_IDLE;
        return;
    }
    load_connect_now(w, c);
}

static void load_connect_pending(struct worker *w)
{
    uint64_t budget = load_connect_budget(w);

    while (w->pending_len && budget) {
        struct conn *c = &w->conns[w->pending[w->pending_head]];

        w->pending_head = (w->pending_head + 1) % w->nconns;
        w->pending_len--;
        if (c->state != CONN_ST_IDLE || !load_conn_wanted(w, c))
            continue;
        if (!load_session_allowed(w)) {
            c->state = CONN_ST_DONE;
            load_conn_resolved(w, c);
            continue;
        }
        budget--;
        load_connect_now(w, c);
    }
}

void load_conn_resolved(struct worker *w, struct conn *c)
{
    if (!c->initial)
        return;
    c->initial = 0;
    if (--w->init_left == 0)
        atomic_fetch_add(&w->ctl->ready, 1);
}

void load_begin(struct worker *w)
{
    w->conn_tick_ns = w->now;
    w->connect_origin_ns = w->now;
    w->want = w->ninit;
    w->init_left = w->ninit;
    if (!w->ninit)
        atomic_fetch_add(&w->ctl->ready, 1);
    for (uint32_t i = 0; i < w->ninit; i++) {
        w->conns[i].initial = 1;
        load_connect(w, &w->conns[i]);
    }
}

void load_conn_free(struct worker *w, struct conn *c)
{
    if ((c->flags & (CONN_F_FREE | CONN_F_SENDING | CONN_F_SERVER_CLOSE)) ||
        c->state != CONN_ST_ACTIVE || c->in_flight >= w->plan->pipeline)
        return;
    c->flags |= CONN_F_FREE;
    w->free_list[w->nfree++] = c->slot;
}

static struct conn *load_free_pop(struct worker *w)
{
    while (w->nfree) {
        struct conn *c = &w->conns[w->free_list[--w->nfree]];

        if (!(c->flags & CONN_F_FREE))
            continue;
        c->flags &= ~CONN_F_FREE;
        /* CONN_F_FREE survives a reconnect (conn_connect keeps it, since
         * this list may still name the slot): the state says whether the
         * connection is open now (not still connecting or in its TLS
         * handshake) */
        if (c->state == CONN_ST_ACTIVE && !(c->flags & (CONN_F_SENDING | CONN_F_SERVER_CLOSE)) &&
            c->in_flight < w->plan->pipeline && load_conn_wanted(w, c))
            return c;
    }
    return NULL;
}

uint64_t load_backlog_pop(struct worker *w)
{
    uint64_t t = w->backlog[w->backlog_head];

    w->backlog_head = (w->backlog_head + 1) % WORKER_BACKLOG_MAX;
    w->backlog_len--;
    return t;
}

static void load_drop_oldest(struct worker *w)
{
    load_backlog_pop(w);
    if (w->in_run)
        w->stats.dropped++;
}

/* Move every arrival due by now into the backlog. */
static void load_release(struct worker *w)
{
    const struct plan *p = w->plan;
    struct pace_stream *ps = &w->ps;

    while (ps->next_ns != PACE_NEVER && w->origin_ns + ps->next_ns <= w->now) {
        uint64_t due = w->origin_ns + ps->next_ns;

        if (w->stopping || (w->ctl->deadline_ns && due >= w->ctl->deadline_ns))
            break;
        if (w->in_run && p->requests && w->stats.scheduled >= w->quota)
            break;
        if (w->backlog_len == WORKER_BACKLOG_MAX)
            load_drop_oldest(w);
        w->backlog[(w->backlog_head + w->backlog_len++) % WORKER_BACKLOG_MAX] = due;
        if (w->in_run)
            w->stats.scheduled++;
        pace_stream_next(ps);
    }
}

/* Grow the pool (--max-connections) while requests wait for a connection:
 * one more per turn follows a rising demand without a connect storm. */
static void load_grow(struct worker *w)
{
    if (w->want < w->nconns)
        load_connect(w, &w->conns[w->want++]);
}

static void load_dispatch(struct worker *w)
{
    uint64_t timeout = w->plan->timeout_ns;

    while (w->backlog_len) {
        struct conn *c;

        if (w->now - w->backlog[w->backlog_head] > timeout) {
            load_drop_oldest(w); /* waited a whole --timeout for a connection */
            continue;
        }
        c = load_free_pop(w);
        if (!c) {
            load_grow(w);
            return;
        }
        w->proto->send_backlog(c);
    }
}

static void load_start_stream(struct worker *w, const struct pace_plan *pp, uint64_t origin)
{
    uint32_t sn = w->plan->shard_n ? w->plan->shard_n : 1;

    w->origin_ns = origin;
    /* shard i of N takes global arrivals i + N*k; its worker w every W-th of those */
    pace_stream_init(&w->ps, pp, sn * w->id + w->plan->shard_i, sn * w->plan->threads,
                     w->plan->poisson,
                     w->plan->seed ^ origin);
}

/* Statistics start now; warm-up requests still in flight are not counted. */
static void load_enter_run(struct worker *w)
{
    w->in_run = true;
    /* connections opened before the run belong to it; requests do not */
    stats_reset_requests(&w->stats);
    series_counts_reset(w->series);
    w->warm_left = w->in_flight;
    for (uint32_t i = 0; i < w->nconns; i++)
        w->conns[i].warm_n = w->conns[i].in_flight;
    w->backlog_len = 0; /* warm-up arrivals not sent yet: warm-up work, dropped uncounted */
    if (!w->plan->open_loop)
        for (uint32_t i = 0; i < w->want; i++)
            w->proto->flush(&w->conns[i]); /* idle ones (e.g. stopped by -n) resume */
    w->completed = 0;
    if (w->plan->open_loop)
        load_start_stream(w, &w->plan->pace, w->run_start_ns);
}

static void load_on_start(struct worker *w, uint64_t start)
{
    const struct plan *p = w->plan;

    w->started = true;
    w->last_up_ns = w->now;
    w->run_start_ns = w->ctl->run_start_ns;
    if (p->warmup_ns) {
        w->warm_plan.nstages = 1;
        w->warm_plan.is_rate = p->open_loop;
        w->warm_plan.start = p->warmup_value;
        w->warm_plan.stages[0].target = p->warmup_value;
        w->warm_plan.stages[0].duration_ns = p->warmup_ns;
        if (p->open_loop)
            load_start_stream(w, &w->warm_plan, start);
    } else {
        w->in_run = true;
        if (p->open_loop)
            load_start_stream(w, &p->pace, start);
    }
    /* the protocol knows when a connection can take work (not before
     * its WebSocket handshake); in open loop its flush offers it */
    for (uint32_t i = 0; i < w->want; i++)
        w->proto->flush(&w->conns[i]);
}

/* Closed-loop stages: the wanted connection count follows the schedule. */
static void load_conn_targets(struct worker *w)
{
    const struct plan *p = w->plan;
    const struct pace_plan *pp = w->in_run ? &p->pace : &w->warm_plan;
    uint64_t origin = w->in_run ? w->run_start_ns : w->ctl->start_ns;
    double total;
    uint32_t want, old = w->want;

    if (!p->conn_stages || w->now - w->conn_tick_ns < LOAD_CONN_TICK_NS || w->stopping)
        return;
    w->conn_tick_ns = w->now;
    total = (double)shard_count((uint64_t)floor(pace_value_at(pp, w->now - origin) + 0.5),
                                p->shard_i, p->shard_n);
    want = (uint32_t)(total / p->threads) + (w->id < (uint32_t)fmod(total, p->threads));
    if (want > w->nconns)
        want = w->nconns;
    w->want = want;
    for (uint32_t i = old; i < want; i++)
        if (w->conns[i].state == CONN_ST_IDLE || w->conns[i].state == CONN_ST_DONE)
            load_connect(w, &w->conns[i]);
    for (uint32_t i = want; i < old; i++)
        w->proto->flush(&w->conns[i]); /* idle ones close now, busy ones after their answer */
}

void load_series_publish(struct worker *w)
{
    const struct wstats *s = &w->stats;
    struct series_counts cum = {
        .requests = s->requests,
        .responses = s->responses,
        .errors = stats_errors_total(s),
        .dropped = s->dropped,
        .scheduled = s->scheduled,
    };
    uint64_t start = w->ctl->start_ns, cur = (w->now - start) / w->plan->interval_ns;
    struct series_ring *r = w->series;

    memcpy(cum.status_class, s->status_class, sizeof(cum.status_class));
    series_publish(r, &cum, w->established);
    /* a loop turn that outlasted whole intervals (a busy host, thousands of
     * connects in one turn): the skipped intervals still get this worker's
     * connection level, with no counts, so the merged series never reads
     * a missing worker as 0 connections; at most a ring's worth, so the
     * reader is never lapped */
    for (uint64_t first = r->index, i = first + 1; i < cur && i < first + SERIES_SLOTS / 2; i++) {
        r->index = i;
        series_publish(r, &cum, w->established);
    }
    r->index = cur;
}

/* Hand over the interval that just ended, if one did. */
static void load_series_tick(struct worker *w)
{
    uint64_t start = w->ctl->start_ns;

    if (w->now >= start + (w->series->index + 1) * w->plan->interval_ns)
        load_series_publish(w);
}

void load_tick(struct worker *w)
{
    if (w->pending_len)
        load_connect_pending(w); /* initial connects are paced before the clock too */
    if (!w->started) {
        uint64_t start = atomic_load_explicit(&w->ctl->start_ns, memory_order_acquire);

        if (!start || w->now < start)
            return;
        load_on_start(w, start);
    }
    load_series_tick(w);
    if (!w->in_run && w->now >= w->run_start_ns)
        load_enter_run(w);
    load_conn_targets(w);
    if (w->plan->open_loop) {
        load_release(w);
        load_dispatch(w);
    }
}

uint64_t load_wait_ns(const struct worker *w, uint64_t cap_ns)
{
    uint64_t due;

    if (!w->started) {
        /* poll the engine's start often enough to begin on time */
        uint64_t start = atomic_load_explicit(&w->ctl->start_ns, memory_order_acquire);

        if (start > w->now)
            return start - w->now < cap_ns ? start - w->now : cap_ns;
        return cap_ns < LOAD_START_POLL_NS ? cap_ns : LOAD_START_POLL_NS;
    }
    if (!w->plan->open_loop || w->ps.next_ns == PACE_NEVER || w->stopping ||
        (w->in_run && w->plan->requests && w->stats.scheduled >= w->quota))
        return cap_ns; /* nothing more will be released: wait for completions */
    due = w->origin_ns + w->ps.next_ns;
    if (due <= w->now)
        return 0;
    return due - w->now < cap_ns ? due - w->now : cap_ns;
}
