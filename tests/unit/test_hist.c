/*
 * test_hist.c - histogram percentiles against a brute-force oracle.
 *
 * The oracle keeps every sample, sorts them and takes the exact sample at
 * rank ceil(p/100 * n), computed in integers from p in parts per million.
 * The histogram's answer must be >= that sample (floor us), within its slot
 * (relative error <= 1/1024, exact below 2048 us) and <= the exact max.
 * Data: several distributions and seeds from a local xorshift PRNG (not
 * rand(), so runs are identical everywhere), plus adversarial sets (all
 * equal, spikes, bucket edges, 0 and sub-us, the 1 h limit and overflow).
 * Also: slot maths over the whole range, merge == one histogram, exact
 * mean, and rebuilding a histogram from its bins with hist_record_n_us.
 */
#include "t.h"
#include "hist.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T_PPM 1000000ull

struct t_rng {
    uint64_t s;
};

/* xorshift64*: good enough spread for test data, reproducible by seed. */
static uint64_t t_rand(struct t_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ull;
}

/* Uniform in [0, 1). */
static double t_unit(struct t_rng *r)
{
    return (double)(t_rand(r) >> 11) / 9007199254740992.0;
}

static struct hist *t_hist_new(void)
{
    struct hist *h = malloc(sizeof(*h));

    if (!h)
        abort();
    hist_init(h);
    return h;
}

static int t_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return (x > y) - (x < y);
}

/* Exact sample (floor us) at rank ceil(ppm/1e6 * n) of sorted ns samples. */
static uint64_t t_oracle_us(const uint64_t *sorted, size_t n, uint64_t ppm)
{
    uint64_t rank = (ppm * n + T_PPM - 1) / T_PPM;

    if (rank == 0)
        rank = 1;
    return sorted[rank - 1] / 1000;
}

/* One percentile query checked against the oracle; returns 1 when good. */
static int t_check_one(const struct hist *h, const uint64_t *sorted, size_t n, uint64_t ppm,
                       const char *what)
{
    uint64_t want = t_oracle_us(sorted, n, ppm), max_us = sorted[n - 1] / 1000;
    uint64_t got = hist_percentile_us(h, (double)ppm / 1e4);
    int good;

    if (want > HIST_MAX_US)
        good = got == max_us;
    else if (want < HIST_SUB_BUCKET_COUNT)
        good = got == want;
    else
        good = got >= want && got <= hist_highest_us(hist_index(want)) && got <= max_us &&
               (got - want) * 1024 <= want;
    ok(good, "%s: p%.4f of %zu: got %llu us, exact %llu us (max %llu)", what, (double)ppm / 1e4, n,
       (unsigned long long)got, (unsigned long long)want, (unsigned long long)max_us);
    return good;
}

/* Record samples, then check fixed and random percentiles, count, min,
 * max, sum, mean and overflow against the raw data. */
static void t_check_data(uint64_t *ns, size_t n, struct t_rng *r, const char *what)
{
    static const uint64_t fixed[] = {1,      10000,  100000, 250000, 500000, 750000,
                                     900000, 990000, 999000, 999900, 999990, 1000000};
    struct hist *h = t_hist_new();
    uint64_t sum = 0, over = 0;
    int bad = 0;

    for (size_t i = 0; i < n; i++) {
        hist_record(h, ns[i]);
        sum += ns[i];
        over += ns[i] / 1000 > HIST_MAX_US;
    }
    qsort(ns, n, sizeof(*ns), t_cmp_u64);
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        bad += !t_check_one(h, ns, n, fixed[i], what);
    for (int i = 0; i < 200 && bad < 5; i++)
        bad += !t_check_one(h, ns, n, 1 + t_rand(r) % T_PPM, what);
    ok(h->count == n && h->overflow == over, "%s: count %llu overflow %llu", what,
       (unsigned long long)h->count, (unsigned long long)h->overflow);
    ok(h->min_ns == ns[0] && h->max_ns == ns[n - 1], "%s: min/max exact", what);
    ok(h->sum_ns == sum, "%s: sum exact", what);
    ok(hist_mean_us(h) == (double)sum / (double)n / 1000.0, "%s: mean exact", what);
    free(h);
}

/* Random distributions, each with a few seeds. */
static void t_random(void)
{
    enum { N = 50000 };
    uint64_t *ns = malloc(N * sizeof(*ns));
    char what[64];

    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct t_rng r = {seed * 0x9e3779b97f4a7c15ull};

        for (int dist = 0; dist < 4; dist++) {
            for (size_t i = 0; i < N; i++) {
                double u = t_unit(&r);

                if (dist == 0) /* uniform 0..10 ms */
                    ns[i] = t_rand(&r) % 10000000;
                else if (dist == 1) /* log-uniform 1 us .. 10 min */
                    ns[i] = (uint64_t)(1000.0 * exp(u * log(600e6)));
                else if (dist == 2) /* exponential, mean 2 ms */
                    ns[i] = (uint64_t)(-log(1.0 - u) * 2e6);
                else /* long tail: 1% in 1 s .. 2 h, some overflowing */
                    ns[i] = u < 0.99 ? t_rand(&r) % 5000000
                                     : (uint64_t)(1e9 * exp(t_unit(&r) * log(7200.0)));
            }
            snprintf(what, sizeof(what), "dist %d seed %llu", dist, (unsigned long long)seed);
            t_check_data(ns, N, &r, what);
        }
    }
    free(ns);
}

/* Values on and around every bucket edge, with random sub-us parts. */
static size_t t_fill_edges(uint64_t *ns, struct t_rng *r)
{
    static const uint64_t fixed_us[] = {0,    1,    1023, 1024, 2047, 2048,
                                        2049, 4095, 4096, 4097, 8191, 8192};
    size_t n = 0;

    for (size_t i = 0; i < sizeof(fixed_us) / sizeof(fixed_us[0]); i++)
        ns[n++] = fixed_us[i] * 1000 + t_rand(r) % 1000;
    for (uint64_t edge = 4096; edge <= HIST_MAX_US; edge *= 2) {
        ns[n++] = (edge - 1) * 1000;
        ns[n++] = edge * 1000 + 999;
        ns[n++] = (edge + 1) * 1000 + t_rand(r) % 1000;
    }
    return n;
}

static void t_adversarial(void)
{
    uint64_t ns[256];
    struct t_rng r = {42};
    size_t n;

    for (n = 0; n < 7; n++)
        ns[n] = 123456789; /* all equal */
    t_check_data(ns, n, &r, "all equal");
    for (n = 0; n < 200; n++)
        ns[n] = n % 2 ? 100000 : 30000000000ull; /* two spikes: 100 us, 30 s */
    t_check_data(ns, n, &r, "two spikes");
    n = t_fill_edges(ns, &r);
    t_check_data(ns, n, &r, "bucket edges");
    n = 0;
    ns[n++] = 0;
    ns[n++] = 1;
    ns[n++] = 999;
    ns[n++] = 1000;
    t_check_data(ns, n, &r, "0 ns and sub-us");
    n = 0;
    ns[n++] = HIST_MAX_US * 1000;
    ns[n++] = HIST_MAX_US * 1000 + 999;
    ns[n++] = (HIST_MAX_US + 1) * 1000;
    ns[n++] = 36000000000000ull; /* 10 h */
    ns[n++] = 5000;
    t_check_data(ns, n, &r, "limit and overflow");
    ns[0] = 36000000000000ull;
    t_check_data(ns, 1, &r, "overflow only");
}

/* Every slot: lowest/highest map back to it, slots tile the range without
 * gap or overlap, and the width honours the 3-digit error bound. */
static void t_slots(void)
{
    int bad = 0;

    for (uint32_t i = 0; i < HIST_COUNTS_LEN && bad < 5; i++) {
        uint64_t lo = hist_lowest_us(i), hi = hist_highest_us(i);
        int good = hist_index(lo) == i && hist_index(hi) == i && hist_index(hi + 1) == i + 1 &&
                   (i == 0 || hist_highest_us(i - 1) + 1 == lo) &&
                   (lo < 2048 ? lo == i && hi == lo : (hi - lo + 1) * 1024 <= lo);

        bad += !good;
        ok(good, "slot %u: lowest %llu highest %llu", i, (unsigned long long)lo,
           (unsigned long long)hi);
    }
    ok(hist_index(0) == 0, "0 us is slot 0");
    ok(hist_index(HIST_MAX_US) < HIST_COUNTS_LEN, "1 h fits: slot %u", hist_index(HIST_MAX_US));
    ok(hist_highest_us(HIST_COUNTS_LEN - 1) >= HIST_MAX_US, "last slot reaches 1 h");
    ok(hist_lowest_us(HIST_COUNTS_LEN - HIST_SUB_BUCKET_HALF) <= HIST_MAX_US,
       "last bucket is needed (no spare bucket)");
    ok(HIST_COUNTS_LEN == 23552, "23552 slots");
}

/* Two hists must agree on everything merge touches. */
static int t_hist_equal(const struct hist *a, const struct hist *b)
{
    return a->count == b->count && a->overflow == b->overflow && a->min_ns == b->min_ns &&
           a->max_ns == b->max_ns && a->sum_ns == b->sum_ns &&
           memcmp(a->counts, b->counts, sizeof(a->counts)) == 0;
}

static void t_merge(void)
{
    struct hist *all = t_hist_new(), *dst = t_hist_new(), *shard[4], *empty = t_hist_new();
    struct t_rng r = {7};

    for (int k = 0; k < 4; k++)
        shard[k] = t_hist_new();
    for (int i = 0; i < 20000; i++) {
        uint64_t ns = (uint64_t)(1000.0 * exp(t_unit(&r) * log(8000e6)));

        hist_record(all, ns);
        hist_record(shard[t_rand(&r) % 4], ns);
    }
    for (int k = 0; k < 4; k++)
        hist_merge(dst, shard[k]);
    ok(t_hist_equal(dst, all), "merge of 4 shards == one histogram");
    ok(all->overflow > 0, "merge data includes overflow (%llu)", (unsigned long long)all->overflow);
    hist_merge(dst, empty);
    ok(t_hist_equal(dst, all), "merging an empty histogram changes nothing");
    hist_merge(empty, all);
    ok(t_hist_equal(empty, all), "merge into empty == copy");
    for (int k = 0; k < 4; k++)
        free(shard[k]);
    free(all);
    free(dst);
    free(empty);
}

static void t_empty_and_rank(void)
{
    struct hist *h = t_hist_new();
    int bad = 0;

    ok(hist_percentile_us(h, 50) == 0 && hist_mean_us(h) == 0.0, "empty: p50 0, mean 0");
    ok(h->min_ns == UINT64_MAX && h->count == 0, "empty: min UINT64_MAX");
    for (uint64_t us = 1; us <= 100; us++)
        hist_record(h, us * 1000);
    for (int p = 1; p <= 100 && bad < 5; p++) {
        uint64_t got = hist_percentile_us(h, p);

        bad += got != (uint64_t)p;
        ok(got == (uint64_t)p, "1..100: p%d = %llu", p, (unsigned long long)got);
    }
    ok(hist_percentile_us(h, 0) == 1 && hist_percentile_us(h, -5) == 1, "p <= 0 -> rank 1");
    ok(hist_percentile_us(h, 150) == 100, "p > 100 -> max");
    ok(hist_percentile_us(h, NAN) == 1, "NaN -> rank 1, no UB");
    hist_record_n_us(h, 5, 0);
    ok(h->count == 100 && h->min_ns == 1000, "record_n_us with n=0 is a no-op");
    free(h);
}

/* Rebuild from bins as a result file would; overflow is kept as its max. */
static void t_rebuild(struct hist *dst, const struct hist *src)
{
    for (uint32_t i = 0; i < HIST_COUNTS_LEN; i++)
        hist_record_n_us(dst, hist_lowest_us(i), src->counts[i]);
    hist_record_n_us(dst, src->max_ns / 1000, src->overflow);
}

static void t_round_trip(void)
{
    struct hist *src = t_hist_new(), *dst = t_hist_new();
    struct t_rng r = {99};
    int bad = 0;

    for (int i = 0; i < 30000; i++)
        hist_record(src, (uint64_t)(1000.0 * exp(t_unit(&r) * log(4000e6))));
    t_rebuild(dst, src);
    ok(memcmp(dst->counts, src->counts, sizeof(src->counts)) == 0, "rebuilt bins identical");
    ok(dst->count == src->count && dst->overflow == src->overflow, "rebuilt count/overflow");
    for (int k = 0; k < 300 && bad < 5; k++) {
        double p = k < 100 ? k + 1 : 100.0 * t_unit(&r) + 1e-9;
        uint64_t a = hist_percentile_us(src, p), b = hist_percentile_us(dst, p);
        int good = a > HIST_MAX_US ? a == b : hist_index(a) == hist_index(b);

        bad += !good;
        ok(good, "rebuilt p%g: %llu vs %llu in the same slot", p, (unsigned long long)b,
           (unsigned long long)a);
    }
    /* With the exact min/max/sum restored (stored beside the bins), every
     * percentile is identical. */
    dst->min_ns = src->min_ns;
    dst->max_ns = src->max_ns;
    dst->sum_ns = src->sum_ns;
    for (int k = 0; k < 300 && bad < 5; k++) {
        double p = k < 100 ? k + 1 : 100.0 * t_unit(&r) + 1e-9;
        uint64_t a = hist_percentile_us(src, p), b = hist_percentile_us(dst, p);

        bad += a != b;
        ok(a == b, "restored p%g: %llu vs %llu", p, (unsigned long long)b, (unsigned long long)a);
    }
    free(src);
    free(dst);
}

int main(void)
{
    t_slots();
    t_empty_and_rank();
    t_adversarial();
    t_random();
    t_merge();
    t_round_trip();
    return done();
}
