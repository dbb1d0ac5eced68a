/*
 * pace.c - arrival schedules: piecewise-linear rates, their exact integral
 * N(t) and its inverse, and per-worker arrival streams. See pace.h.
 *
 * Inside a stage of D seconds whose rate goes from r0 to r1 (slope
 * s = (r1 - r0) / D), the arrivals counted tau seconds in are
 * A(tau) = tau (r0 + s tau / 2). Its inverse is taken as
 * tau = 2b / (r0 + sqrt(r0^2 + 2 s b)), which never subtracts nearly equal
 * numbers (the textbook (-r0 + sqrt(...)) / s cancels when s is small and
 * divides by zero when s is 0). Stage offsets are summed on every call:
 * O(stages), no state, no allocation; pace_time_of runs once per request
 * on the open-loop hot path, and plans have a handful of stages.
 * Parsers write their outputs only on success. Not thread-shared: a
 * pace_stream belongs to one worker; plans are read-only once parsed.
 */
#include "pace.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "units.h"

#define PACE_NS_PER_S 1e9
#define PACE_ITEM_MAX 64 /* per duration or target text; real ones are ~10 chars */

/* One stage prepared for the integral: rates in 1/s, lengths in s. */
struct pace_seg {
    double r0, slope, count; /* start rate, rate change per s, arrivals in the stage */
};

static bool pace_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool pace_space(char c)
{
    return c == ' ' || c == '\t';
}

/*
 * "<digits>[.<digits>][k|m]" into *v, or NULL. Parsed by hand rather than
 * strtod so "inf", "nan", "1e3", "0x10", signs and locale decimal commas
 * are all junk. The integer part must fit 64 bits; fraction digits past 18
 * are dropped (below 1e-18 of the unit).
 */
static const char *pace_scan_number(const char *s, double *v)
{
    static const double pow10[19] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8, 1e9,
                                      1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18};
    uint64_t ip = 0, frac = 0;
    unsigned fdig = 0;
    double mult = 1;

    if (!pace_digit(*s))
        return NULL;
    for (; pace_digit(*s); s++)
        if (__builtin_mul_overflow(ip, 10, &ip) || __builtin_add_overflow(ip, *s - '0', &ip))
            return NULL;
    if (*s == '.' && !pace_digit(*++s))
        return NULL; /* "1." and "1.k" */
    for (; pace_digit(*s); s++) {
        if (fdig < 18) {
            frac = frac * 10 + (uint64_t)(*s - '0');
            fdig++;
        }
    }
    if (*s == 'k' || *s == 'K')
        mult = 1e3;
    else if (*s == 'm' || *s == 'M')
        mult = 1e6;
    s += mult > 1;
    /* scale each part separately: "1.1k" is exactly 1100, not 1.1 * 1000 */
    *v = (double)ip * mult + (double)frac * mult / pow10[fdig];
    return s;
}

/* Seconds per unit after the '/', 0 when unknown. */
static double pace_rate_unit(const char *u)
{
    if (u[0] && u[1])
        return 0;
    switch (u[0]) {
    case 's':
    case 'S':
        return 1;
    case 'm':
    case 'M':
        return 60;
    case 'h':
    case 'H':
        return 3600;
    }
    return 0;
}

int pace_parse_rate(const char *s, bool allow_zero, double *per_s)
{
    double v, unit_s = 1;

    if (!s || !(s = pace_scan_number(s, &v)))
        return -EINVAL;
    if (*s == '/' && !(unit_s = pace_rate_unit(s + 1)))
        return -EINVAL;
    if (*s && *s != '/')
        return -EINVAL;
    if (!isfinite(v) || (v == 0 && !allow_zero))
        return -EINVAL;
    *per_s = v / unit_s; /* divide: "60/m" is exactly 1 */
    return 0;
}

/* Copy [b, e) without surrounding blanks into buf (cap bytes); false if too long. */
static bool pace_copy_trimmed(const char *b, const char *e, char *buf, size_t cap)
{
    while (b < e && pace_space(*b))
        b++;
    while (e > b && pace_space(e[-1]))
        e--;
    if ((size_t)(e - b) >= cap)
        return false;
    memcpy(buf, b, (size_t)(e - b));
    buf[e - b] = '\0';
    return true;
}

/*
 * The target of one item: a rate when it carries a unit ("/s"), else a
 * connection count. Counts must fit 32 bits: they become slot counts.
 */
static int pace_parse_target(const char *t, struct pace_stage *st, bool *is_rate)
{
    uint64_t n;

    *is_rate = strchr(t, '/') != NULL;
    if (*is_rate)
        return pace_parse_rate(t, true, &st->target);
    if (units_parse_count(t, &n) || n > UINT32_MAX)
        return -EINVAL;
    st->target = (double)n;
    return 0;
}

/* One "DURATION:TARGET" item spanning [b, e), blanks allowed around both parts. */
static int pace_parse_item(const char *b, const char *e, struct pace_stage *st, bool *is_rate)
{
    char dur[PACE_ITEM_MAX], tgt[PACE_ITEM_MAX];
    const char *colon = memchr(b, ':', (size_t)(e - b));
    uint64_t ns;

    if (!colon || !pace_copy_trimmed(b, colon, dur, sizeof(dur)) ||
        !pace_copy_trimmed(colon + 1, e, tgt, sizeof(tgt)))
        return -EINVAL;
    if (units_parse_duration(dur, &ns) || ns == 0)
        return -EINVAL;
    st->duration_ns = ns;
    return pace_parse_target(tgt, st, is_rate);
}

/* Parse every item into *p; on error *at is the offending item. */
static int pace_parse_items(const char *s, struct pace_plan *p, const char **at)
{
    uint64_t total_ns = 0;
    bool kind = false, is_rate;

    for (;;) {
        const char *e = s + strcspn(s, ",");

        while (s < e && pace_space(*s))
            s++;
        *at = s;
        if (p->nstages == PACE_MAX_STAGES)
            return -EINVAL;
        if (pace_parse_item(s, e, &p->stages[p->nstages], &is_rate))
            return -EINVAL;
        if (p->nstages && is_rate != kind)
            return -EINVAL; /* mixed kinds: blame the first odd one */
        if (__builtin_add_overflow(total_ns, p->stages[p->nstages].duration_ns, &total_ns))
            return -EINVAL; /* pace_total_ns must fit uint64 */
        kind = is_rate;
        p->nstages++;
        if (!*e)
            break;
        s = e + 1;
    }
    p->is_rate = kind;
    return 0;
}

int pace_parse_stages(const char *s, struct pace_plan *p, const char **err_at)
{
    struct pace_plan tmp;
    const char *at = s;

    memset(&tmp, 0, sizeof(tmp)); /* start = 0: the caller may set --start later */
    if (!s || pace_parse_items(s, &tmp, &at)) {
        if (err_at)
            *err_at = at;
        return -EINVAL;
    }
    *p = tmp;
    return 0;
}

uint64_t pace_total_ns(const struct pace_plan *p)
{
    uint64_t t = 0;

    for (unsigned i = 0; i < p->nstages; i++)
        if (__builtin_add_overflow(t, p->stages[i].duration_ns, &t))
            return UINT64_MAX; /* hand-built plans only; the parser refuses this */
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
    /* The rate stops after the schedule; a connection count holds its last value. */
    return p->is_rate ? 0 : from;
}

static void pace_seg_init(struct pace_seg *g, const struct pace_stage *st, double r0)
{
    double d_s = (double)st->duration_ns / PACE_NS_PER_S;

    g->r0 = r0;
    g->slope = (st->target - r0) / d_s;
    g->count = d_s * (r0 + st->target) / 2;
}

/* Arrivals counted in the first tau_ns of the segment. */
static double pace_seg_count(const struct pace_seg *g, uint64_t tau_ns)
{
    double tau = (double)tau_ns / PACE_NS_PER_S;

    return tau * (g->r0 + g->slope * tau / 2);
}

double pace_count_at(const struct pace_plan *p, uint64_t t_ns)
{
    double r0 = p->start, n = 0;
    struct pace_seg g;

    for (unsigned i = 0; i < p->nstages; i++) {
        const struct pace_stage *st = &p->stages[i];

        pace_seg_init(&g, st, r0);
        if (t_ns < st->duration_ns)
            return n + pace_seg_count(&g, t_ns);
        t_ns -= st->duration_ns;
        n += g.count;
        r0 = st->target;
    }
    return n;
}

/*
 * Nanoseconds into the segment at which b (0 < b <= g->count, give or
 * take an ulp: beyond the end it clamps to dur_ns) arrivals are counted,
 * rounded up. The discriminant is r(tau)^2 >= 0; rounding
 * can take it just below 0 at the end of a ramp down to 0, hence the
 * clamp. Near such an end the rate is ~0, so the answer is ill-conditioned
 * in b (a 1-ulp change of b moves it by up to ~sqrt(ulp/|s|) s): there
 * "never early" holds only to the precision of the double b.
 */
static uint64_t pace_seg_time_ns(const struct pace_seg *g, double b, uint64_t dur_ns)
{
    double disc = g->r0 * g->r0 + 2 * g->slope * b;
    double den = g->r0 + sqrt(disc > 0 ? disc : 0);
    double tau_ns;

    if (!(den > 0))
        return dur_ns; /* only by underflow: err late, never early */
    /* 2 b 1e9 is exact for integer b < 2^52 / 1e9, so a constant integer
     * rate gives the exact quotient and ceil(j / R) to the nanosecond. */
    tau_ns = 2 * b * PACE_NS_PER_S / den;
    return tau_ns >= (double)dur_ns ? dur_ns : (uint64_t)ceil(tau_ns);
}

uint64_t pace_time_of(const struct pace_plan *p, double a)
{
    double r0 = p->start, n = 0;
    uint64_t base_ns = 0;
    struct pace_seg g;

    if (a <= 0)
        return 0;
    for (unsigned i = 0; i < p->nstages; i++) {
        const struct pace_stage *st = &p->stages[i];

        pace_seg_init(&g, st, r0);
        /* Compare with the very sum pace_count_at builds, not a - n <= count:
         * (n + c) - n can exceed c by an ulp, which would push an arrival
         * due at a stage's end into the next stage, or to PACE_NEVER.
         * Zero-rate stages add 0 and are skipped: a > n there. */
        if (a <= n + g.count)
            return base_ns + pace_seg_time_ns(&g, a - n, st->duration_ns);
        n += g.count;
        base_ns += st->duration_ns;
        r0 = st->target;
    }
    return PACE_NEVER; /* also for a NaN a */
}

/* splitmix64: spreads (seed, worker) over the whole state space. */
static uint64_t pace_mix(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* xorshift64*: tiny, fast, good enough for exponential gaps. */
static uint64_t pace_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* Exp(1) by inversion of u in (0, 1]: never log(0). */
static double pace_exp1(uint64_t *s)
{
    double u = (double)((pace_rand(s) >> 11) + 1) * 0x1p-53;

    return -log(u);
}

/*
 * Position of the stream's current arrival. Uniform: arrival number
 * index * W + worker, recomputed rather than accumulated so it never
 * drifts. Poisson: each worker runs its own Poisson process of rate 1/W
 * in N-space (gaps W * Exp(1)); the superposition of W of them is a
 * unit-rate Poisson process, with no coordination between workers.
 */
static void pace_stream_schedule(struct pace_stream *s)
{
    if (s->poisson)
        s->a += s->workers * pace_exp1(&s->rng);
    else
        s->a = (double)(s->index * s->workers + s->worker);
    s->next_ns = pace_time_of(s->plan, s->a);
}

void pace_stream_init(struct pace_stream *s, const struct pace_plan *p, uint32_t worker,
                      uint32_t workers, bool poisson, uint64_t seed)
{
    memset(s, 0, sizeof(*s));
    s->plan = p;
    s->workers = workers ? workers : 1;
    s->worker = worker;
    s->poisson = poisson;
    s->rng = pace_mix(seed ^ pace_mix(worker));
    if (!s->rng)
        s->rng = 1; /* xorshift's one fixed point */
    pace_stream_schedule(s); /* poisson: the first arrival is one gap in, not at 0 */
}

void pace_stream_next(struct pace_stream *s)
{
    if (s->next_ns == PACE_NEVER)
        return; /* exhausted streams stay exhausted */
    s->index++;
    pace_stream_schedule(s);
}
