/*
 * thresh.c - parse k6-style threshold expressions; see thresh.h.
 * Evaluation against the flattened result lives in metrics.c.
 */
#include "thresh.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plan.h"
#include "units.h"

static int thr_fail(char *err, size_t len, const char *expr, const char *why)
{
    snprintf(err, len, "bad threshold '%s': %s", expr, why);
    return -1;
}

/* The aggregation at the start of s; returns its length or 0. */
static size_t thr_agg(struct thr *t, const char *s)
{
    static const struct {
        const char *name;
        uint8_t agg;
    } aggs[] = {{"avg", THR_AVG}, {"med", THR_MED}, {"min", THR_MIN},
                {"max", THR_MAX}, {"count", THR_COUNT}, {"rate", THR_RATE}};
    char *end;

    if (!strncmp(s, "p(", 2)) {
        t->pct = strtod(s + 2, &end);
        if (end == s + 2 || *end != ')' || !(t->pct > 0) || t->pct > 100)
            return 0;
        t->agg = THR_PCT;
        return (size_t)(end + 1 - s);
    }
    for (size_t i = 0; i < sizeof(aggs) / sizeof(aggs[0]); i++)
        if (!strncmp(s, aggs[i].name, strlen(aggs[i].name))) {
            t->agg = aggs[i].agg;
            return strlen(aggs[i].name);
        }
    return 0;
}

static bool thr_is_duration(const struct thr *t)
{
    return t->agg <= THR_MAX;
}

/* The bound: a duration (bare = ms) for duration aggregations, a fraction
 * or percentage for rate, a number for count. */
static int thr_bound(struct thr *t, const char *s, char *err, size_t len)
{
    char *end;
    double v;
    uint64_t ns;

    while (*s == ' ')
        s++;
    if (thr_is_duration(t)) {
        v = strtod(s, &end);
        if (end != s && (*end == 0 || *end == ' ')) {
            t->bound = v * 1e6; /* bare number: milliseconds, as in k6 */
            return 0;
        }
        if (units_parse_duration(s, &ns))
            return thr_fail(err, len, t->expr, "expected a duration bound like 200ms");
        t->bound = (double)ns;
        return 0;
    }
    v = strtod(s, &end);
    if (end == s)
        return thr_fail(err, len, t->expr, "expected a number");
    if (*end == '%') {
        if (t->agg != THR_RATE)
            return thr_fail(err, len, t->expr, "a percentage bounds a rate only");
        v /= 100;
        end++;
    }
    while (*end == ' ')
        end++;
    if (*end || !isfinite(v))
        return thr_fail(err, len, t->expr, "trailing characters after the bound");
    t->bound = v;
    return 0;
}

int thr_parse(struct thr *t, const char *metric, const char *expr, char *err, size_t errlen)
{
    const char *s = expr;
    size_t n;

    memset(t, 0, sizeof(*t));
    snprintf(t->expr, sizeof(t->expr), "%s", expr);
    if (!*metric || strlen(metric) >= sizeof(t->metric))
        return thr_fail(err, errlen, expr, "empty or too long metric name");
    snprintf(t->metric, sizeof(t->metric), "%s", metric);
    while (*s == ' ')
        s++;
    n = thr_agg(t, s);
    if (!n)
        return thr_fail(err, errlen, expr, "expected p(N), avg, med, min, max, count or rate "
                                            "first");
    s += n;
    while (*s == ' ')
        s++;
    n = (s[0] == '<' || s[0] == '>' || s[0] == '=' || s[0] == '!') ? 1 : 0;
    if (n && s[1] == '=')
        n = 2;
    if (!n || (n == 1 && (s[0] == '=' || s[0] == '!')))
        return thr_fail(err, errlen, expr, "expected an operator: < <= > >= == !=");
    memcpy(t->op, s, n);
    return thr_bound(t, s + n, err, errlen);
}

int thr_parse_flag(struct thr *t, const char *arg, char *err, size_t errlen)
{
    /* METRIC[{tag:value}]:EXPR - the tag may hold ':' */
    const char *brace = strchr(arg, '{'), *colon;
    char metric[128];

    colon = strchr(brace && brace < strchr(arg, ':') ? strchr(brace, '}') ?: arg : arg, ':');
    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(metric)) {
        snprintf(err, errlen, "bad threshold '%s': expected METRIC:EXPR, e.g. "
                 "'http_req_duration:p(95)<200ms'", arg);
        return -1;
    }
    snprintf(metric, sizeof(metric), "%.*s", (int)(colon - arg), arg);
    if (thr_parse(t, metric, colon + 1, err, errlen))
        return -1;
    snprintf(t->where, sizeof(t->where), "--threshold");
    return 0;
}

void thr_format(const struct thr *t, double v, char *buf, size_t len)
{
    if (thr_is_duration(t) && t->agg != THR_COUNT) {
        if (v >= 1e9)
            snprintf(buf, len, "%.3gs", v / 1e9);
        else if (v >= 1e6)
            snprintf(buf, len, "%.4gms", v / 1e6);
        else
            snprintf(buf, len, "%.4gus", v / 1e3);
    } else if (t->agg == THR_RATE && v <= 1 && v >= 0) {
        snprintf(buf, len, "%.4g%%", v * 100);
    } else {
        snprintf(buf, len, "%.6g", v);
    }
}

bool thr_holds(const struct thr *t, double v)
{
    if (!strcmp(t->op, "<"))
        return v < t->bound;
    if (!strcmp(t->op, "<="))
        return v <= t->bound;
    if (!strcmp(t->op, ">"))
        return v > t->bound;
    if (!strcmp(t->op, ">="))
        return v >= t->bound;
    if (!strcmp(t->op, "=="))
        return v == t->bound;
    return v != t->bound;
}

enum thr_live thr_live_metric(const char *metric, const struct plan *p)
{
    const char *main_metric = plan_main_metric(p);

    if (!strcmp(metric, main_metric))
        return THR_LIVE_DURATION;
    if (!strcmp(metric, "http_reqs") || !strcmp(metric, "errors") ||
        !strcmp(metric, "dropped_iterations"))
        return THR_LIVE_COUNTER;
    return THR_LIVE_NONE;
}
