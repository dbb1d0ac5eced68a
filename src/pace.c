/*
 * pace.c - arrival schedules: piecewise-linear rates, their integral and
 * its inverse, and per-worker arrival streams. Pure functions; see pace.h.
 *
 * Inside a stage of length D whose rate goes from r0 to r1 (slope
 * s = (r1 - r0) / D), the arrivals counted after tau seconds are
 * A(tau) = r0 tau + s tau^2 / 2. Its inverse is taken in the form
 * tau = 2a / (r0 + sqrt(r0^2 + 2 s a)), which does not cancel
 * catastrophically when s is tiny or negative.
 */
#include "pace.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "units.h"

#define NS 1e9

int pace_parse_rate(const char *s, bool allow_zero, double *per_s)
{
    char num[64];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    double mult = 1, v;
    char *end;

    if (!n || n >= sizeof(num))
        return -EINVAL;
    memcpy(num, s, n);
    num[n] = 0;
    if (slash) {
        if (!strcasecmp(slash + 1, "s"))
            mult = 1;
        else if (!strcasecmp(slash + 1, "m"))
            mult = 1.0 / 60;
        else if (!strcasecmp(slash + 1, "h"))
            mult = 1.0 / 3600;
        else
            return -EINVAL;
    }
    if (!(num[0] >= '0' && num[0] <= '9'))
        return -EINVAL;
    v = strtod(num, &end);
    if (*end == 'k' || *end == 'K')
        v *= 1e3, end++;
    else if (*end == 'm' || *end == 'M')
        v *= 1e6, end++;
    if (*end || !isfinite(v) || v < 0 || (!allow_zero && v == 0))
        return -EINVAL;
    *per_s = v * mult;
    return 0;
}

static int parse_item(const char *item, size_t len, struct pace_stage *st, int *kind)
{
    char buf[96], *colon;
    uint64_t d, n;

    if (!len || len >= sizeof(buf))
        return -EINVAL;
    memcpy(buf, item, len);
    buf[len] = 0;
    colon = strchr(buf, ':');
    if (!colon)
        return -EINVAL;
    *colon = 0;
    if (units_parse_duration(buf, &d) || !d)
        return -EINVAL;
    st->duration_ns = d;
    if (strchr(colon + 1, '/')) {
        *kind = 1;
        return pace_parse_rate(colon + 1, true, &st->target);
    }
    *kind = 2;
    if (units_parse_count(colon + 1, &n))
        return -EINVAL;
    st->target = (double)n;
    return 0;
}

int pace_parse_stages(const char *s, struct pace_plan *p, const char **err_at)
{
    const char *item = s;
    int kind0 = 0;

    memset(p, 0, sizeof(*p));
    for (;;) {
        size_t len = strcspn(item, ",");
        int kind = 0;

        *err_at = item;
        if (p->nstages == PACE_MAX_STAGES ||
            parse_item(item, len, &p->stages[p->nstages], &kind) ||
            (kind0 && kind != kind0))
            return -EINVAL;
        kind0 = kind;
        p->nstages++;
        if (!item[len])
            break;
        item += len + 1;
    }
    p->is_rate = kind0 == 1;
    return 0;
}

uint64_t pace_total_ns(const struct pace_plan *p)
{
    uint64_t t = 0;

    for (unsigned i = 0; i < p->nstages; i++)
        t += p->stages[i].duration_ns;
    return t;
}

double pace_value_at(const struct pace_plan *p, uint64_t t_ns)
{
    double from = p->start;

    for (unsigned i = 0; i < p->nstages; i++) {
        const struct pace_stage *st = &p->stages[i];

        if (t_ns < st->duration_ns)
            return from + (st->target - from) * ((double)t_ns / (double)st->duration_ns);
        t_ns -= st->duration_ns;
        from = st->target;
    }
    return p->nstages ? (p->is_rate ? 0 : from) : p->start;
}

double pace_count_at(const struct pace_plan *p, uint64_t t_ns)
{
    double from = p->start, total = 0;

    for (unsigned i = 0; i < p->nstages && t_ns; i++) {
        const struct pace_stage *st = &p->stages[i];
        double d = (double)st->duration_ns / NS;
        double tau = (double)(t_ns < st->duration_ns ? t_ns : st->duration_ns) / NS;
        double slope = (st->target - from) / d;

        total += from * tau + slope * tau * tau / 2;
        t_ns -= t_ns < st->duration_ns ? t_ns : st->duration_ns;
        from = st->target;
    }
    return total;
}

/* Time into a stage at which `a` arrivals have been counted. */
static double stage_inverse(double r0, double slope, double a)
{
    double disc = r0 * r0 + 2 * slope * a;

    if (disc < 0)
        disc = 0;
    return 2 * a / (r0 + sqrt(disc));
}

uint64_t pace_time_of(const struct pace_plan *p, double a)
{
    double from = p->start;
    uint64_t base = 0;

    if (a <= 0)
        return 0;
    for (unsigned i = 0; i < p->nstages; i++) {
        const struct pace_stage *st = &p->stages[i];
        double d = (double)st->duration_ns / NS;
        double slope = (st->target - from) / d;
        double in_stage = from * d + slope * d * d / 2;

        if (a <= in_stage && in_stage > 0) {
            double tau = stage_inverse(from, slope, a);
            uint64_t ns = (uint64_t)ceil(tau * NS);

            return base + (ns < st->duration_ns ? ns : st->duration_ns);
        }
        a -= in_stage;
        base += st->duration_ns;
        from = st->target;
    }
    return PACE_NEVER;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* Exp(1) from 53 random bits; never log(0). */
static double exp1(uint64_t *s)
{
    double u = ((double)(xorshift(s) >> 11) + 0.5) / 9007199254740992.0;

    return -log(u);
}

static void stream_schedule(struct pace_stream *s)
{
    double a = s->poisson ? s->a : (double)(s->index * s->workers + s->worker);

    s->next_ns = pace_time_of(s->plan, a);
}

void pace_stream_init(struct pace_stream *s, const struct pace_plan *p, uint32_t worker,
                      uint32_t workers, bool poisson, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->plan = p;
    s->worker = worker;
    s->workers = workers ? workers : 1;
    s->poisson = poisson;
    s->rng = (seed ^ (0x9E3779B97F4A7C15ull * (worker + 1))) | 1;
    if (poisson)
        s->a = s->workers * exp1(&s->rng);
    stream_schedule(s);
}

void pace_stream_next(struct pace_stream *s)
{
    s->index++;
    if (s->poisson)
        s->a += s->workers * exp1(&s->rng);
    stream_schedule(s);
}
