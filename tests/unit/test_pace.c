/*
 * test_pace.c - arrival schedules: rate and stage parsing (table-driven,
 * with err_at offsets), the integral N(t) and its inverse, value
 * interpolation, and the per-worker streams.
 *
 * Central properties: for a constant integer rate R, N(t) = R t and
 * time_of(j) = ceil(j / R) to the nanosecond; W uniform streams together
 * hand out arrival numbers 0, 1, 2, ... exactly once each, at the times the
 * single stream would; time_of inverts count_at on every plan shape
 * (ramps, plateaus, ramps down to 0, zero-rate stages) and is never early;
 * Poisson streams have the right mean and a CV of ~1, and are reproducible
 * from the seed. Everything is deterministic: same run, same result.
 */
#include "pace.h"
#include "t.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T_S 1000000000ull
#define T_MAX_ARR 20000

/* Rate parsing */

struct t_rate {
    const char *in;
    bool allow_zero;
    int rc;
    double want;
};

static const struct t_rate t_rates[] = {
    {"1000", false, 0, 1000},
    {"1000/s", false, 0, 1000},
    {"60/m", false, 0, 1},
    {"3600/h", false, 0, 1},
    {"0.5/s", false, 0, 0.5},
    {"20k/s", false, 0, 20000},
    {"20k", false, 0, 20000},
    {"20K/S", false, 0, 20000},
    {"1.5k/m", false, 0, 25},
    {"1.1k", false, 0, 1100},
    {"2m/h", false, 0, 2e6 / 3600},
    {"1/m", false, 0, 1.0 / 60},
    {"007", false, 0, 7},
    {"0.25", false, 0, 0.25},
    {"0", true, 0, 0},
    {"0/s", true, 0, 0},
    {"0.0/m", true, 0, 0},
    {"0", false, -EINVAL, 0},
    {"0/s", false, -EINVAL, 0},
    {"0.000", false, -EINVAL, 0},
    {"", false, -EINVAL, 0},
    {"", true, -EINVAL, 0},
    {"/s", false, -EINVAL, 0},
    {"/s", true, -EINVAL, 0},
    {"-1", false, -EINVAL, 0},
    {"-1/s", true, -EINVAL, 0},
    {"+1", false, -EINVAL, 0},
    {"1000/", false, -EINVAL, 0},
    {"1000/d", false, -EINVAL, 0},
    {"1000/ss", false, -EINVAL, 0},
    {"1000/sec", false, -EINVAL, 0},
    {"1000//s", false, -EINVAL, 0},
    {"1000/s/s", false, -EINVAL, 0},
    {"abc", false, -EINVAL, 0},
    {"nan", true, -EINVAL, 0},
    {"NaN/s", true, -EINVAL, 0},
    {"inf", false, -EINVAL, 0},
    {"infinity/s", false, -EINVAL, 0},
    {"1e3", false, -EINVAL, 0},
    {"0x10", false, -EINVAL, 0},
    {"1.", false, -EINVAL, 0},
    {".5", false, -EINVAL, 0},
    {"1.k", false, -EINVAL, 0},
    {"1,5", false, -EINVAL, 0},
    {"1kk", false, -EINVAL, 0},
    {"1g", false, -EINVAL, 0},
    {" 1000", false, -EINVAL, 0},
    {"1000 ", false, -EINVAL, 0},
    {"1000 /s", false, -EINVAL, 0},
    {"1000/ s", false, -EINVAL, 0},
    {"99999999999999999999999", false, -EINVAL, 0},
};

static void t_parse_rates(void)
{
    for (size_t i = 0; i < sizeof(t_rates) / sizeof(t_rates[0]); i++) {
        const struct t_rate *c = &t_rates[i];
        double v = -42;
        int rc = pace_parse_rate(c->in, c->allow_zero, &v);
        double want = c->rc ? -42 : c->want;

        ok(rc == c->rc && v == want, "rate(\"%s\", %d) = %d, %.17g; want %d, %.17g", c->in,
           c->allow_zero, rc, v, c->rc, want);
    }
    ok(pace_parse_rate(NULL, true, &(double){0}) == -EINVAL, "rate(NULL)");
}

/* Stage parsing */

struct t_stages_good {
    const char *in;
    bool is_rate;
    unsigned n;
    struct pace_stage st[4];
};

static const struct t_stages_good t_good[] = {
    {"30s:1000/s,2m:1000/s,30s:0/s", true, 3,
     {{30 * T_S, 1000}, {120 * T_S, 1000}, {30 * T_S, 0}}},
    {"30s:500,5m:500,30s:0", false, 3, {{30 * T_S, 500}, {300 * T_S, 500}, {30 * T_S, 0}}},
    {" 10s:1k/s , 20s:2k/s ", true, 2, {{10 * T_S, 1000}, {20 * T_S, 2000}}},
    {"10s : 60/m", true, 1, {{10 * T_S, 1}}},
    {"1m30s:60/m", true, 1, {{90 * T_S, 1}}},
    {"500ms:10", false, 1, {{500000000, 10}}},
    {"10:5", false, 1, {{10 * T_S, 5}}},
    {"1s:2k,1h:0", false, 2, {{T_S, 2000}, {3600 * T_S, 0}}},
    {"2s:0.5/s,1s:3600/h", true, 2, {{2 * T_S, 0.5}, {T_S, 1}}},
    {"1s:4294967295", false, 1, {{T_S, 4294967295.0}}},
};

struct t_stages_bad {
    const char *in;
    int err_off; /* where err_at must point */
};

static const struct t_stages_bad t_bad[] = {
    {"", 0},
    {"   ", 3},
    {",", 0},
    {"30s:100,", 8},
    {"30s:100, ", 9},
    {",30s:100", 0},
    {"30s:100,,1s:1", 8},
    {"30s:100/s,1m:200", 10},
    {"30s:100/s, 1m:200,1s:3/s", 11},
    {"30s:100,1m:200/s", 8},
    {"1s:1,2s:2,3s:3/s,4s:4/s", 10},
    {"0s:100/s", 0},
    {"10s:1/s,0ms:1/s", 8},
    {"30s", 0},
    {"30s:", 0},
    {":100", 0},
    {"30x:100", 0},
    {"-1s:100", 0},
    {"30s:abc", 0},
    {"30s:100/x", 0},
    {"30s:-1", 0},
    {"30s:-1/s", 0},
    {"30s:1.5", 0},
    {"30s:nan/s", 0},
    {"30s:inf", 0},
    {"30s:4294967296", 0},
    {"1s:1/s,30s:100/s;1m:10/s", 7},
    {"1s:1/s 2s:2/s", 0},
    {"1s:1:1", 0},
    {"18446744073s:1/s,1s:1/s", 17},
    {"1s:1/s,xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx:1/s", 7},
};

static bool t_same_stage(const struct pace_stage *a, const struct pace_stage *b)
{
    return a->duration_ns == b->duration_ns && a->target == b->target;
}

static void t_parse_good(void)
{
    for (size_t i = 0; i < sizeof(t_good) / sizeof(t_good[0]); i++) {
        const struct t_stages_good *c = &t_good[i];
        struct pace_plan p = {.start = 99};
        const char *at = NULL;
        int rc = pace_parse_stages(c->in, &p, &at);
        bool same = rc == 0 && p.nstages == c->n && p.is_rate == c->is_rate && p.start == 0;

        for (unsigned k = 0; same && k < c->n; k++)
            same = t_same_stage(&p.stages[k], &c->st[k]);
        ok(same && at == NULL, "stages(\"%s\") = %d, n %u, is_rate %d", c->in, rc, p.nstages,
           p.is_rate);
    }
}

static void t_parse_bad(void)
{
    for (size_t i = 0; i < sizeof(t_bad) / sizeof(t_bad[0]); i++) {
        const struct t_stages_bad *c = &t_bad[i];
        struct pace_plan p = {.nstages = 7, .start = 3};
        const char *at = NULL;
        int rc = pace_parse_stages(c->in, &p, &at);
        long off = at ? at - c->in : -1;

        ok(rc == -EINVAL && off == c->err_off && p.nstages == 7 && p.start == 3,
           "stages(\"%s\") = %d, err_at %ld; want -EINVAL, %d, plan untouched", c->in, rc, off,
           c->err_off);
    }
    ok(pace_parse_stages("1s", &(struct pace_plan){0}, NULL) == -EINVAL, "NULL err_at");
    ok(pace_parse_stages(NULL, &(struct pace_plan){0}, NULL) == -EINVAL, "NULL string");
}

/* PACE_MAX_STAGES items parse; one more is blamed on the extra item. */
static void t_parse_many(void)
{
    char buf[PACE_MAX_STAGES * 8 + 16];
    struct pace_plan p;
    const char *at = NULL;
    size_t len = 0, last = 0;

    for (unsigned i = 0; i < PACE_MAX_STAGES; i++) {
        last = len;
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s1s:%u/s", i ? "," : "", i);
    }
    ok(pace_parse_stages(buf, &p, &at) == 0 && p.nstages == PACE_MAX_STAGES &&
           pace_total_ns(&p) == PACE_MAX_STAGES * T_S && p.stages[63].target == 63,
       "%d stages parse", PACE_MAX_STAGES);
    ok(pace_parse_stages(buf + last + 1, &p, &at) == 0 && p.nstages == 1, "last item alone");
    snprintf(buf + len, sizeof(buf) - len, ",1s:1/s");
    ok(pace_parse_stages(buf, &p, &at) == -EINVAL && at == buf + len + 1,
       "%d stages: error at the extra item (offset %ld, want %zu)", PACE_MAX_STAGES + 1,
       (long)(at - buf), len + 1);
}

/* Plans built by hand, as the CLI does for -R */

static struct pace_plan t_plan(double start, bool is_rate, unsigned n, const double *dur_s,
                               const double *target)
{
    struct pace_plan p = {.nstages = n, .start = start, .is_rate = is_rate};

    for (unsigned i = 0; i < n; i++) {
        p.stages[i].duration_ns = (uint64_t)llround(dur_s[i] * 1e9);
        p.stages[i].target = target[i];
    }
    return p;
}

static struct pace_plan t_const(double rate, double secs)
{
    return t_plan(rate, true, 1, (double[]){secs}, (double[]){rate});
}

/* N(t) = R t bit for bit, and time_of(j) = ceil(j / R) in ns, for integer R. */
static void t_constant_rate(void)
{
    static const uint64_t rates[] = {1, 3, 7, 1000, 20000, 999983, 1000000};

    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
        uint64_t r = rates[i];
        struct pace_plan p = t_const((double)r, 10);
        unsigned bad_n = 0, bad_t = 0;

        for (uint64_t t = 0; t <= 10 * T_S; t += 9999991)
            bad_n += pace_count_at(&p, t) != (double)r * ((double)t / 1e9);
        for (uint64_t j = 0; j <= 10 * r; j += 1 + r / 1000)
            bad_t += pace_time_of(&p, (double)j) != (j * T_S + r - 1) / r;
        ok(!bad_n && !bad_t, "%llu/s: %u count and %u time mismatches", (unsigned long long)r,
           bad_n, bad_t);
        ok(pace_time_of(&p, 10.0 * r) == 10 * T_S && pace_time_of(&p, 10.0 * r + 1e-6) == PACE_NEVER,
           "%llu/s: last arrival at the end, then never", (unsigned long long)r);
    }
    struct pace_plan half = t_const(0.5, 10);
    ok(pace_time_of(&half, 3) == 6 * T_S && pace_count_at(&half, 4 * T_S) == 2, "0.5/s");
    ok(pace_count_at(&half, 11 * T_S) == 5 && pace_count_at(&half, UINT64_MAX) == 5,
       "N is constant after the last stage");
    ok(pace_time_of(&half, 0) == 0 && pace_time_of(&half, -1) == 0 &&
           pace_time_of(&half, NAN) == PACE_NEVER,
       "time_of(<= 0) = 0, time_of(NaN) = never");
}

/* Streams: merge W workers' arrivals, compare with the single sequence */

struct t_merge {
    uint64_t due[T_MAX_ARR]; /* by arrival number; UINT64_MAX = not seen */
    unsigned total, dups, wrong_owner, wrong_time;
};

/* Take one worker's arrivals due before horizon_ns into m. */
static void t_take_worker(struct t_merge *m, const struct pace_plan *p, uint32_t w, uint32_t nw,
                          uint64_t horizon_ns)
{
    struct pace_stream s;

    pace_stream_init(&s, p, w, nw, false, 1);
    for (; s.next_ns < horizon_ns; pace_stream_next(&s)) {
        uint64_t j = (uint64_t)s.a;

        m->wrong_owner += j % nw != w || j != s.index * nw + w || j >= T_MAX_ARR;
        if (j >= T_MAX_ARR)
            break;
        m->dups += m->due[j] != UINT64_MAX;
        m->wrong_time += s.next_ns != pace_time_of(p, (double)j);
        m->due[j] = s.next_ns;
        m->total++;
    }
}

static void t_streams_cover(const char *name, const struct pace_plan *p, uint64_t horizon_ns,
                            unsigned want)
{
    static const uint32_t nworkers[] = {1, 2, 3, 7};
    static struct t_merge m;

    for (size_t k = 0; k < sizeof(nworkers) / sizeof(nworkers[0]); k++) {
        uint32_t nw = nworkers[k];
        unsigned gaps = 0, unordered = 0;

        memset(&m, 0, sizeof(m));
        memset(m.due, 0xff, sizeof(m.due));
        for (uint32_t w = 0; w < nw; w++)
            t_take_worker(&m, p, w, nw, horizon_ns);
        for (unsigned j = 0; j < want; j++) {
            gaps += m.due[j] == UINT64_MAX;
            unordered += j && m.due[j] < m.due[j - 1];
        }
        ok(m.total == want && !gaps && !m.dups && !m.wrong_owner && !m.wrong_time && !unordered,
           "%s, W=%u: %u arrivals (want %u), %u gaps, %u dups, %u owner, %u time, %u order",
           name, nw, m.total, want, gaps, m.dups, m.wrong_owner, m.wrong_time, unordered);
    }
}

static void t_stream_ends(void)
{
    struct pace_plan p = t_const(1000, 10);
    struct pace_stream s;

    pace_stream_init(&s, &p, 0, 1, false, 0);
    ok(s.next_ns == 0 && s.a == 0 && s.index == 0, "arrival 0 of worker 0 is due at 0");
    while (s.next_ns < 10 * T_S)
        pace_stream_next(&s);
    ok(s.index == 10000 && s.next_ns == 10 * T_S, "arrival 10000 at exactly 10 s");
    pace_stream_next(&s);
    ok(s.next_ns == PACE_NEVER && s.index == 10001, "then the stream is exhausted");
    pace_stream_next(&s);
    ok(s.next_ns == PACE_NEVER && s.index == 10001, "and stays exhausted");
    pace_stream_init(&s, &p, 2, 0, false, 0);
    ok(s.workers == 1 && s.next_ns == pace_time_of(&p, 2), "workers = 0 is taken as 1");
}

/* Ramps */

/* Arrivals of a W = 1 stream in each whole second track the integral. */
static void t_ramp_seconds(const struct pace_plan *p, unsigned secs)
{
    struct pace_stream s;
    unsigned per_s[64] = {0}, bad = 0;

    pace_stream_init(&s, p, 0, 1, false, 0);
    for (; s.next_ns < (uint64_t)secs * T_S; pace_stream_next(&s))
        per_s[s.next_ns / T_S]++;
    for (unsigned t = 0; t < secs; t++) {
        double want = pace_count_at(p, (t + 1) * T_S) - pace_count_at(p, t * T_S);

        bad += fabs(per_s[t] - want) > 1;
    }
    ok(!bad, "per-second arrivals within 1 of the integral (%u seconds off)", bad);
}

static void t_ramp(void)
{
    struct pace_plan p = t_plan(0, true, 1, (double[]){10}, (double[]){1000});
    unsigned bad = 0;

    ok(pace_count_at(&p, 10 * T_S) == 5000, "ramp 0 -> 1000/s: N(10 s) = 5000");
    for (unsigned t = 0; t < 10; t++)
        bad += pace_count_at(&p, (t + 1) * T_S) - pace_count_at(&p, t * T_S) != 100 * (t + 0.5);
    ok(!bad, "ramp: N(t+1) - N(t) = 100 (t + 0.5) = rate mid-second, exactly (%u off)", bad);
    ok(pace_time_of(&p, 5000) == 10 * T_S && pace_time_of(&p, 5000.001) == PACE_NEVER,
       "ramp: last arrival at the end");
    ok(pace_time_of(&p, 50) == T_S && pace_time_of(&p, 1e-6) > 0, "ramp from 0: tau = sqrt(2a/s)");
    t_ramp_seconds(&p, 10);
    t_streams_cover("ramp 0 -> 1000/s", &p, 10 * T_S, 5000);
    p = t_plan(1000, true, 1, (double[]){10}, (double[]){0});
    ok(pace_count_at(&p, 10 * T_S) == 5000 && pace_time_of(&p, 5000) == 10 * T_S,
       "ramp down to 0: N(10 s) = 5000, reached at the end");
    t_ramp_seconds(&p, 10);
}

/* Inverse consistency */

struct t_inv {
    const char *name;
    struct pace_plan p;
};

/* Stage rate just before t: where it is >= 1/s, the inverse is sharp. */
static double t_rate_before(const struct pace_plan *p, uint64_t t)
{
    return t ? pace_value_at(p, t - 1) : 0;
}

/* time_of(count_at(t)) is t where the rate is positive, else the start of the flat part. */
static unsigned t_inverse_grid(const struct pace_plan *p, uint64_t total)
{
    unsigned bad = 0;

    for (uint64_t t = 0; t <= total + T_S; t += total / 1009 + 7) {
        double n = pace_count_at(p, t);
        uint64_t r = pace_time_of(p, n);
        uint64_t tt = t < total ? t : total;

        if (r == PACE_NEVER || r > tt + 1 || pace_count_at(p, r) < n * (1 - 1e-9)) {
            bad++;
            continue;
        }
        if (t_rate_before(p, tt) >= 1 && r + 2 < tt)
            bad++;
    }
    return bad;
}

/* For a on a grid: N(time_of(a)) >= a and N(time_of(a) - 1 ns) < a (to 1e-9). */
static unsigned t_inverse_counts(const struct pace_plan *p, uint64_t total)
{
    double n_end = pace_count_at(p, total);
    unsigned bad = 0;

    for (double a = 0.37; a <= n_end; a += n_end / 997) {
        uint64_t r = pace_time_of(p, a);

        if (r == PACE_NEVER || r > total || pace_count_at(p, r) < a * (1 - 1e-9))
            bad++;
        else if (r && pace_count_at(p, r - 1) > a * (1 + 1e-9))
            bad++;
    }
    bad += pace_time_of(p, n_end * (1 + 1e-9) + 1e-9) != PACE_NEVER;
    return bad;
}

static void t_inverse(void)
{
    const struct t_inv plans[] = {
        {"ramp up", t_plan(0, true, 1, (double[]){10}, (double[]){1000})},
        {"ramp, plateau, down to 0",
         t_plan(0, true, 3, (double[]){5, 10, 5}, (double[]){100, 100, 0})},
        {"down to 0, zero stage, up from 0",
         t_plan(200, true, 5, (double[]){2, 3, 2, 4, 1}, (double[]){500, 0, 0, 800, 800})},
        {"zero first", t_plan(0, true, 3, (double[]){1, 0.5, 3}, (double[]){0, 0, 50000})},
        {"odd numbers",
         t_plan(7.3, true, 3, (double[]){3.7, 1.1, 0.013}, (double[]){1234.5, 0.3, 77777})},
        {"constant", t_const(250, 10)},
        {"long and slow", t_plan(0.01, true, 2, (double[]){3600, 7200}, (double[]){3, 0.001})},
    };

    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++) {
        const struct pace_plan *p = &plans[i].p;
        uint64_t total = pace_total_ns(p);
        unsigned bad_t = t_inverse_grid(p, total), bad_a = t_inverse_counts(p, total);

        ok(!bad_t && !bad_a, "inverse, %s: %u times and %u counts off", plans[i].name, bad_t,
           bad_a);
    }
    const struct pace_plan *z = &plans[2].p;
    ok(pace_time_of(z, pace_count_at(z, 6 * T_S)) == 5 * T_S,
       "inside a zero-rate stage, time_of gives its start");
    ok(pace_time_of(z, pace_count_at(z, 5 * T_S) + 1e-6) > 7 * T_S,
       "the next arrival after a zero-rate stage comes after it");
}

static uint64_t t_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

/* A value in [0, max) with a 1 in 4 chance of exactly 0 (flat or dead stages). */
static double t_rand_rate(uint64_t *s, double max)
{
    return t_rand(s) % 4 == 0 ? 0 : max * (double)(t_rand(s) >> 11) * 0x1p-53;
}

static struct pace_plan t_random_plan(uint64_t *s)
{
    struct pace_plan p = {.is_rate = true, .nstages = 1 + (unsigned)(t_rand(s) % 6)};

    p.start = t_rand_rate(s, 5000);
    for (unsigned i = 0; i < p.nstages; i++) {
        p.stages[i].duration_ns = 1 + t_rand(s) % (20 * T_S);
        p.stages[i].target = t_rand(s) % 3 == 0 ? p.start : t_rand_rate(s, 5000);
    }
    return p;
}

/* Boundaries map back to themselves (or the start of the flat part before them),
 * and time_of never decreases as a grows. */
static unsigned t_inverse_edges(const struct pace_plan *p)
{
    uint64_t t = 0, prev = 0;
    unsigned bad = 0;

    for (unsigned i = 0; i < p->nstages; i++) {
        t += p->stages[i].duration_ns;
        bad += pace_time_of(p, pace_count_at(p, t)) > t;
    }
    for (double a = 0, n = pace_count_at(p, t); a <= n; a += n / 4999 + 1e-9) {
        uint64_t r = pace_time_of(p, a);

        bad += r < prev || r == PACE_NEVER;
        prev = r;
    }
    return bad;
}

/* Random plans with odd durations and rates, zero stages and plateaus. */
static void t_inverse_random(void)
{
    uint64_t seed = 0x5eed;
    unsigned bad_plans = 0;

    for (unsigned k = 0; k < 300; k++) {
        struct pace_plan p = t_random_plan(&seed);
        uint64_t total = pace_total_ns(&p);
        unsigned bad = t_inverse_grid(&p, total) + t_inverse_counts(&p, total) +
                       t_inverse_edges(&p);

        if (bad && bad_plans++ < 5)
            note("random plan %u (%u stages, start %g): %u checks off", k, p.nstages, p.start,
                 bad);
    }
    ok(!bad_plans, "inverse on 300 random plans: %u plans off", bad_plans);
}

/* Poisson */

/* Due times of all workers' arrivals before horizon, unsorted; returns the count. */
static unsigned t_poisson_run(uint64_t *due, const struct pace_plan *p, uint32_t nw,
                              uint64_t seed, uint64_t horizon_ns)
{
    unsigned n = 0;

    for (uint32_t w = 0; w < nw; w++) {
        struct pace_stream s;

        pace_stream_init(&s, p, w, nw, true, seed);
        for (; s.next_ns < horizon_ns && n < T_MAX_ARR; pace_stream_next(&s))
            due[n++] = s.next_ns;
    }
    return n;
}

static int t_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Coefficient of variation of the gaps between sorted due times. */
static double t_gap_cv(uint64_t *due, unsigned n)
{
    double sum = 0, sq = 0, mean;

    qsort(due, n, sizeof(*due), t_cmp_u64);
    for (unsigned i = 1; i < n; i++) {
        double g = (double)(due[i] - due[i - 1]);

        sum += g;
        sq += g * g;
    }
    mean = sum / (n - 1);
    return sqrt(sq / (n - 1) - mean * mean) / mean;
}

static void t_poisson_stats(void)
{
    static const uint32_t nworkers[] = {1, 2, 4, 7};
    static uint64_t due[T_MAX_ARR];
    struct pace_plan p = t_const(1000, 10);

    for (size_t k = 0; k < sizeof(nworkers) / sizeof(nworkers[0]); k++) {
        double mean = 0, cv = 0;

        for (uint64_t seed = 1; seed <= 5; seed++) {
            unsigned n = t_poisson_run(due, &p, nworkers[k], seed, 10 * T_S);

            mean += n / 5.0;
            cv += t_gap_cv(due, n) / 5;
        }
        ok(fabs(mean - 10000) < 300 && fabs(cv - 1) < 0.1,
           "poisson 1000/s x 10 s, W=%u: mean %.1f (want 10000 +- 3%%), gap CV %.3f",
           nworkers[k], mean, cv);
    }
}

/* Same (seed, worker): the same stream; a different seed or worker: another. */
static unsigned t_poisson_diff(const struct pace_plan *p, uint32_t w1, uint64_t s1, uint32_t w2,
                               uint64_t s2)
{
    struct pace_stream a, b;
    unsigned diff = 0;

    pace_stream_init(&a, p, w1, 4, true, s1);
    pace_stream_init(&b, p, w2, 4, true, s2);
    for (unsigned i = 0; i < 1000; i++, pace_stream_next(&a), pace_stream_next(&b))
        diff += a.next_ns != b.next_ns || a.a != b.a;
    return diff;
}

static void t_poisson_seeds(void)
{
    struct pace_plan p = t_const(1000, 100);
    struct pace_stream s;

    ok(t_poisson_diff(&p, 1, 42, 1, 42) == 0, "same seed and worker: identical");
    ok(t_poisson_diff(&p, 1, 42, 1, 43) > 990, "different seed: different");
    ok(t_poisson_diff(&p, 1, 42, 2, 42) > 990, "different worker: different");
    ok(t_poisson_diff(&p, 0, 0, 0, 1) > 990, "seeds 0 and 1: different");
    pace_stream_init(&s, &p, 0, 1, true, 7);
    ok(s.a > 0 && s.next_ns > 0 && s.next_ns == pace_time_of(&p, s.a),
       "poisson: the first arrival is one gap in");
    p = t_const(1000, 0.01);
    pace_stream_init(&s, &p, 0, 1, true, 7);
    while (s.next_ns != PACE_NEVER)
        pace_stream_next(&s);
    ok(s.index > 0 && s.index < 30, "poisson stream ends with the schedule (%llu arrivals)",
       (unsigned long long)s.index);
}

/* Values and connection plans */

struct t_value {
    uint64_t t_ns;
    double want;
};

static void t_values(void)
{
    static const struct t_value conn[] = {
        {0, 50},        {5 * T_S, 75},   {10 * T_S, 100}, {20 * T_S, 100},
        {35 * T_S, 50}, {40 * T_S, 0},   {100 * T_S, 0},  {UINT64_MAX, 0},
        {T_S / 2, 52.5}, {39 * T_S, 10},
    };
    struct pace_plan p;
    unsigned bad = 0;

    ok(pace_parse_stages("10s:100,20s:100,10s:0", &p, NULL) == 0 && !p.is_rate, "conn plan");
    p.start = 50;
    for (size_t i = 0; i < sizeof(conn) / sizeof(conn[0]); i++)
        bad += fabs(pace_value_at(&p, conn[i].t_ns) - conn[i].want) > 1e-9;
    ok(!bad, "connection plan: %u interpolated values off", bad);
    ok(pace_parse_stages("10s:100", &p, NULL) == 0 && pace_value_at(&p, 20 * T_S) == 100,
       "a connection count holds its last target");
    ok(pace_parse_stages("10s:100/s", &p, NULL) == 0 && pace_value_at(&p, 5 * T_S) == 50 &&
           pace_value_at(&p, 10 * T_S) == 0,
       "a rate starts at start (0) and is 0 after the last stage");
    ok(pace_total_ns(&p) == 10 * T_S, "total_ns");
}

int main(void)
{
    struct pace_plan p = t_const(1000, 10);

    t_parse_rates();
    t_parse_good();
    t_parse_bad();
    t_parse_many();
    t_constant_rate();
    t_stream_ends();
    t_streams_cover("1000/s x 10 s", &p, 10 * T_S, 10000);
    p = t_const(3, 10);
    t_streams_cover("3/s x 10 s", &p, 10 * T_S + 1, 31);
    t_ramp();
    t_inverse();
    t_inverse_random();
    t_poisson_stats();
    t_poisson_seeds();
    t_values();
    return done();
}
