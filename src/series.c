/*
 * series.c - interval snapshots from the workers to the main thread, merged
 * into the NDJSON time series and the live progress line. See series.h for
 * the hand-over protocol.
 */
#include "series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "pace.h"
#include "plan.h"
#include "shard.h"
#include "units.h"

struct series_ring *series_ring_new(void)
{
    struct series_ring *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    hist_init(&r->dur);
    hist_init(&r->lag);
    return r;
}

void series_ring_free(struct series_ring *r)
{
    free(r);
}

static void counts_sub(struct series_counts *d, const struct series_counts *a,
                       const struct series_counts *b)
{
    d->requests = a->requests - b->requests;
    d->responses = a->responses - b->responses;
    d->errors = a->errors - b->errors;
    d->dropped = a->dropped - b->dropped;
    d->scheduled = a->scheduled - b->scheduled;
    for (unsigned c = 0; c < 6; c++)
        d->status_class[c] = a->status_class[c] - b->status_class[c];
}

void series_publish(struct series_ring *r, const struct series_counts *cum, uint32_t conns)
{
    uint64_t seq = atomic_load_explicit(&r->seq, memory_order_relaxed);
    struct series_snap *s = &r->slot[seq % SERIES_SLOTS];

    s->index = r->index;
    counts_sub(&s->d, cum, &r->last);
    s->connections = conns;
    memcpy(&s->dur, &r->dur, sizeof(s->dur));
    memcpy(&s->lag, &r->lag, sizeof(s->lag));
    atomic_store_explicit(&r->seq, seq + 1, memory_order_release);
    r->last = *cum;
    hist_init(&r->dur);
    hist_init(&r->lag);
}

void series_counts_reset(struct series_ring *r)
{
    memset(&r->last, 0, sizeof(r->last));
}

int series_reader_init(struct series_reader *s, struct series_ring **rings, uint32_t n,
                       const void *plan, FILE *out, bool tty, bool plain)
{
    const struct plan *p = plan;

    memset(s, 0, sizeof(*s));
    s->rings = rings;
    s->nrings = n;
    s->plan = plan;
    s->out = out;
    s->tty = tty;
    s->plain = plain;
    s->interval_ns = p->interval_ns;
    s->warmup_ns = p->warmup_ns;
    s->total_ns = p->warmup_ns + p->duration_ns;
    s->seen = calloc(n, sizeof(*s->seen));
    s->latest = calloc(n, sizeof(*s->latest));
    s->acc = calloc(SERIES_SLOTS, sizeof(*s->acc));
    s->cum = calloc(1, sizeof(*s->cum));
    if (s->cum)
        hist_init(&s->cum->dur);
    if (!s->seen || !s->latest || !s->acc) {
        series_reader_fini(s);
        return -1;
    }
    for (unsigned i = 0; i < SERIES_SLOTS; i++) {
        s->acc[i].index = i;
        hist_init(&s->acc[i].dur);
        hist_init(&s->acc[i].lag);
    }
    return 0;
}

void series_reader_fini(struct series_reader *s)
{
    if (s->drew && s->tty)
        fputs("\r\033[K", stderr); /* the status line leaves no trace */
    free(s->seen);
    free(s->latest);
    free(s->acc);
    free(s->cum);
    free(s->points);
    s->points = NULL;
    s->npoints = s->cap_points = 0;
    s->cum = NULL;
    s->seen = s->latest = NULL;
    s->acc = NULL;
}

static const char *phase_of(const struct series_reader *s, uint64_t t_end)
{
    if (t_end <= s->warmup_ns)
        return "warmup";
    if (!s->total_ns || t_end <= s->total_ns + s->interval_ns / 2)
        return "run";
    return "drain";
}

/* A connection target as this process holds it: a shard's share of the
 * whole count (shard.h), the schedule's value unsharded. */
static double conn_target(const struct plan *p, double v)
{
    if (p->shard_n <= 1)
        return v;
    return (double)shard_count((uint64_t)floor(v + 0.5), p->shard_i, p->shard_n);
}

/* The schedule's value for the interval, as this process's slice: rates
 * as their share, connections as the count it holds. */
static double target_of(const struct series_reader *s, uint64_t t_end)
{
    const struct plan *p = s->plan;
    double v;

    if (t_end <= s->warmup_ns)
        v = p->warmup_value;
    else if (p->open_loop || p->conn_stages)
        /* the middle of the interval: for a linear ramp, the interval's mean */
        v = pace_value_at(&p->pace, t_end - s->warmup_ns - s->interval_ns / 2);
    else
        return p->connections; /* a constant -c: sliced already (shard_apply) */
    if (p->open_loop)
        return v * shard_share(p);
    return p->conn_stages ? conn_target(p, v) : v;
}

/* The interval as the result keeps it: computed once, written to the
 * NDJSON and kept for the JSON result's "timeseries". */
static void point_make(const struct series_reader *s, const struct series_snap *a,
                       uint64_t t_end, struct series_point *pt)
{
    pt->t_s = (double)t_end / 1e9;
    pt->phase = phase_of(s, t_end);
    pt->target = target_of(s, t_end);
    pt->d = a->d;
    pt->p50_us = hist_percentile_us(&a->dur, 50);
    pt->p90_us = hist_percentile_us(&a->dur, 90);
    pt->p99_us = hist_percentile_us(&a->dur, 99);
    pt->lag_p99_us = hist_percentile_us(&a->lag, 99);
    pt->max_us = a->dur.count ? (double)a->dur.max_ns / 1000 : 0;
    pt->connections = a->connections;
}

void series_point_json(struct json *j, const struct series_point *pt, uint64_t interval_ns)
{
    static const char *const cls[6] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};

    json_obj_begin(j, NULL);
    json_dbl(j, "t_s", pt->t_s);
    json_str(j, "phase", pt->phase);
    json_dbl(j, "target", pt->target);
    json_u64(j, "requests", pt->d.requests);
    json_u64(j, "responses", pt->d.responses);
    json_u64(j, "errors", pt->d.errors);
    json_dbl(j, "rps", (double)pt->d.responses * 1e9 / (double)interval_ns);
    json_u64(j, "p50_us", pt->p50_us);
    json_u64(j, "p90_us", pt->p90_us);
    json_u64(j, "p99_us", pt->p99_us);
    json_dbl(j, "max_us", pt->max_us);
    json_u64(j, "connections", pt->connections);
    json_u64(j, "send_lag_p99_us", pt->lag_p99_us);
    json_u64(j, "dropped", pt->d.dropped);
    json_obj_begin(j, "status");
    for (unsigned c = 1; c <= 6; c++)
        json_u64(j, cls[c % 6], pt->d.status_class[c % 6]);
    json_obj_end(j);
    json_obj_end(j);
}

/* Keep the interval for the result; on allocation failure the series in
 * the result just stops growing (the NDJSON file is unaffected). */
static void keep_point(struct series_reader *s, const struct series_point *pt)
{
    if (s->npoints == s->cap_points) {
        uint32_t cap = s->cap_points ? s->cap_points * 2 : 64;
        struct series_point *n = realloc(s->points, cap * sizeof(*n));

        if (!n)
            return;
        s->points = n;
        s->cap_points = cap;
    }
    s->points[s->npoints++] = *pt;
}

struct series_point *series_take_points(struct series_reader *s, uint32_t *n)
{
    struct series_point *p = s->points;

    *n = s->npoints;
    s->points = NULL;
    s->npoints = s->cap_points = 0;
    return p;
}

static void emit_progress(struct series_reader *s, const struct series_snap *a, uint64_t t_end)
{
    const struct plan *p = s->plan;
    char el[16], tot[16], p99[16];
    double secs = (double)s->interval_ns / 1e9;
    uint64_t every = s->interval_ns ? 10000000000ull / s->interval_ns : 10;

    if (!s->tty && !(s->plain && every && (a->index + 1) % (every ? every : 1) == 0))
        return;
    units_fmt_duration(el, sizeof(el), t_end - t_end % 1000000000ull);
    units_fmt_duration(tot, sizeof(tot), s->total_ns);
    units_fmt_duration(p99, sizeof(p99), hist_percentile_us(&a->dur, 99) * 1000);
    fprintf(stderr, "%s[%s / %s] %s target %.0f%s  %.0f req/s  p99 %s  errors %llu  conns %u%s",
            s->tty ? "\r\033[K" : "", el, s->total_ns ? tot : "-", phase_of(s, t_end),
            target_of(s, t_end), p->open_loop ? "/s" : " conns", (double)a->d.responses / secs,
            p99, (unsigned long long)a->d.errors, a->connections, s->tty ? "" : "\n");
    fflush(stderr);
    s->drew = true;
}

static void emit(struct series_reader *s)
{
    struct series_point pt;
    struct series_snap *a = &s->acc[s->emit % SERIES_SLOTS];
    uint64_t t_end = (s->emit + 1) * s->interval_ns;

    if (s->cum && t_end > s->warmup_ns) {
        s->cum->d.requests += a->d.requests;
        s->cum->d.responses += a->d.responses;
        s->cum->d.errors += a->d.errors;
        s->cum->d.dropped += a->d.dropped;
        s->cum->d.scheduled += a->d.scheduled;
        hist_merge(&s->cum->dur, &a->dur);
    }
    point_make(s, a, t_end, &pt);
    if (s->out) {
        struct json j;

        json_init_compact(&j, s->out);
        series_point_json(&j, &pt, s->interval_ns);
        json_end(&j);
    }
    keep_point(s, &pt);
    if (s->hook)
        s->hook(s->hook_ctx, t_end - s->interval_ns, s->interval_ns, a);
    emit_progress(s, a, t_end);
    memset(&a->d, 0, sizeof(a->d));
    a->connections = 0;
    hist_init(&a->dur);
    hist_init(&a->lag);
    a->index = s->emit + SERIES_SLOTS;
    s->emit++;
}

static void merge(struct series_reader *s, const struct series_snap *src)
{
    struct series_snap *a;

    while (src->index >= s->emit + SERIES_SLOTS)
        emit(s); /* a worker ran far ahead: make room */
    if (src->index < s->emit) {
        s->lost++;
        return;
    }
    a = &s->acc[src->index % SERIES_SLOTS];
    a->d.requests += src->d.requests;
    a->d.responses += src->d.responses;
    a->d.errors += src->d.errors;
    a->d.dropped += src->d.dropped;
    a->d.scheduled += src->d.scheduled;
    for (unsigned c = 0; c < 6; c++)
        a->d.status_class[c] += src->d.status_class[c];
    a->connections += src->connections;
    hist_merge(&a->dur, &src->dur);
    hist_merge(&a->lag, &src->lag);
}

void series_poll(struct series_reader *s, bool final)
{
    uint64_t upto = UINT64_MAX;

    for (uint32_t i = 0; i < s->nrings; i++) {
        struct series_ring *r = s->rings[i];
        uint64_t seq = atomic_load_explicit(&r->seq, memory_order_acquire);

        for (; s->seen[i] < seq; s->seen[i]++) {
            if (seq - s->seen[i] > SERIES_SLOTS) {
                s->lost++; /* lapped: that snapshot was overwritten */
                continue;
            }
            merge(s, &r->slot[s->seen[i] % SERIES_SLOTS]);
            s->latest[i] = r->slot[s->seen[i] % SERIES_SLOTS].index + 1;
        }
        if (s->latest[i] < upto)
            upto = s->latest[i];
    }
    while (s->emit < upto)
        emit(s);
    if (final) {
        uint64_t last = 0;

        for (uint32_t i = 0; i < s->nrings; i++)
            if (s->latest[i] > last)
                last = s->latest[i];
        while (s->emit < last)
            emit(s);
    }
}
