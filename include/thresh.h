/*
 * thresh.h - k6-style thresholds judged on the merged result.
 *
 *   http_req_duration:p(95)<200ms     a duration metric's percentile
 *   http_req_duration{step:login}:avg<100ms
 *   http_req_failed:rate<1%           a rate metric (fraction of true)
 *   checks:rate>99%
 *   iterations:count>100              a counter
 *
 * Aggregations: p(N), avg, med, min, max, count (durations); rate, count
 * (rates: the fraction true, the number of samples); count, rate (counters:
 * the total, per second of run). Operators < <= > >= == !=. A duration
 * bound takes a unit (us, ms, s, m; a bare number is milliseconds, as in
 * k6); a rate bound is a fraction or a percentage.
 *
 * The metrics a threshold may name come from struct metric_set
 * (metrics.h): the merged result flattened to names and tags.
 */
#ifndef STAMPEDE_THRESH_H
#define STAMPEDE_THRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum thr_agg {
    THR_PCT,
    THR_AVG,
    THR_MED,
    THR_MIN,
    THR_MAX,
    THR_COUNT,
    THR_RATE,
};

struct thr {
    char metric[128];   /* "http_req_duration{step:login}" */
    char expr[64];      /* "p(95)<200ms" as written */
    char where[160];    /* "file:line:col" or "--threshold" */
    uint8_t agg;        /* enum thr_agg */
    double pct;         /* THR_PCT */
    char op[3];
    double bound;       /* ns for durations, fraction for rates, count or per second */
    bool abort_on_fail;
    /* evaluation */
    bool evaluated, passed, missing;
    double actual;      /* same unit as bound */
};

/* Parse "METRIC:EXPR" (a --threshold flag) into t. 0, or -1 with err. */
int thr_parse_flag(struct thr *t, const char *arg, char *err, size_t errlen);

/* Parse EXPR for metric into t. 0, or -1 with err. */
int thr_parse(struct thr *t, const char *metric, const char *expr, char *err, size_t errlen);

/* Does value v satisfy t (its operator and bound)? */
bool thr_holds(const struct thr *t, double v);

/* Which metrics an abort_on_fail threshold can be judged on during the
 * run (from the time series): the run's main duration metric, and the
 * counters http_reqs, errors, dropped_iterations. */
enum thr_live {
    THR_LIVE_NONE,
    THR_LIVE_DURATION,
    THR_LIVE_COUNTER,
};
struct plan;
enum thr_live thr_live_metric(const char *metric, const struct plan *p);

/* A bound or actual value in its natural unit: "212.3ms", "0.84%", "1200". */
void thr_format(const struct thr *t, double v, char *buf, size_t len);

#endif
