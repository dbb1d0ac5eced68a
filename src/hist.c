/*
 * hist.c - log-linear latency histogram with the HdrHistogram layout
 * described in hist.h (1 us .. 1 h, 3 significant digits, 23552 slots).
 *
 * Slot maths: for a value v (us), bucket b = position of v's top bit above
 * bit 10 (0 for v < 2048), sub-bucket s = v >> b, which lies in
 * [1024, 2048) for b > 0 and [0, 2048) for b == 0. The slot is
 * b * 1024 + s, so bucket 0 takes slots 0..2047 and every later bucket
 * takes the 1024 slots after its predecessor (its lower half would
 * duplicate the previous bucket). Slot width is 2^b.
 *
 * Invariants: count == sum(counts) + overflow; min/max/sum are exact in ns.
 * Hot path: hist_record (a division by a constant, a clz, a shift, an add);
 * everything else runs at report time.
 */
#include "hist.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* Top bits a value may use before its bucket index grows: 2047 = 11 bits. */
#define HIST_SUB_MASK ((uint64_t)HIST_SUB_BUCKET_COUNT - 1)
#define HIST_HALF_BITS (HIST_SUB_BUCKET_BITS - 1)

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min_ns = UINT64_MAX;
}

uint32_t hist_index(uint64_t us)
{
    /* OR-ing the mask makes every value below 2048 land in bucket 0 and
     * keeps the clz argument non-zero. */
    uint32_t bucket = 64 - HIST_SUB_BUCKET_BITS - (uint32_t)__builtin_clzll(us | HIST_SUB_MASK);

    return (bucket << HIST_HALF_BITS) + (uint32_t)(us >> bucket);
}

/* Bucket (power-of-two exponent of the slot width) of slot idx. */
static uint32_t hist_bucket_of(uint32_t idx)
{
    return idx < HIST_SUB_BUCKET_COUNT ? 0 : (idx >> HIST_HALF_BITS) - 1;
}

uint64_t hist_lowest_us(uint32_t idx)
{
    uint32_t bucket = hist_bucket_of(idx);

    if (bucket == 0)
        return idx;
    return (uint64_t)((idx & (HIST_SUB_BUCKET_HALF - 1)) + HIST_SUB_BUCKET_HALF) << bucket;
}

uint64_t hist_highest_us(uint32_t idx)
{
    return hist_lowest_us(idx) + (1ull << hist_bucket_of(idx)) - 1;
}

/* min/max/count/sum bookkeeping shared by both record paths. */
static void hist_account(struct hist *h, uint64_t ns, uint64_t n)
{
    h->count += n;
    h->sum_ns += ns * n; /* wraps only after ~584 years of summed latency */
    if (ns < h->min_ns)
        h->min_ns = ns;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void hist_record(struct hist *h, uint64_t ns)
{
    uint64_t us = ns / 1000;

    hist_account(h, ns, 1);
    if (us > HIST_MAX_US)
        h->overflow++;
    else
        h->counts[hist_index(us)]++;
}

void hist_record_n_us(struct hist *h, uint64_t us, uint64_t n)
{
    if (n == 0)
        return; /* no sample: min and max must not move */
    hist_account(h, us * 1000, n);
    if (us > HIST_MAX_US)
        h->overflow += n;
    else
        h->counts[hist_index(us)] += n;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (uint32_t i = 0; i < HIST_COUNTS_LEN; i++)
        dst->counts[i] += src->counts[i];
    dst->count += src->count;
    dst->overflow += src->overflow;
    dst->sum_ns += src->sum_ns;
    if (src->min_ns < dst->min_ns)
        dst->min_ns = src->min_ns;
    if (src->max_ns > dst->max_ns)
        dst->max_ns = src->max_ns;
}

/*
 * rank = ceil(p/100 * count), clamped to [1, count]. p/100*count is
 * computed in floating point, so an exact integer product may come out a
 * hair above it (e.g. 57.000000000000007) and ceil would then pick the
 * next rank. A result within a few ulps (two roundings) above an integer
 * is snapped down to it: that close, "exactly on the boundary" and
 * "rounding noise" cannot be told apart, and the former is what was meant.
 */
static uint64_t hist_rank(double p, uint64_t count)
{
    double x, c;

    if (!(p > 0.0))
        return 1; /* also catches NaN */
    if (p >= 100.0)
        return count;
    x = p / 100.0 * (double)count;
    c = ceil(x);
    if (c - x > 0.0 && x - (c - 1.0) <= x * 4 * DBL_EPSILON)
        c -= 1.0;
    if (c < 1.0)
        return 1;
    return c >= (double)count ? count : (uint64_t)c;
}

/*
 * The reported value is the slot's highest equivalent value, capped at the
 * exact max (floor us). The cap cannot undershoot the sample at that rank:
 * max >= every sample, so floor(max) >= floor(sample) >= lowest(slot). The
 * lowest-value floor below is only a guard for a histogram whose max was
 * edited inconsistently with its bins (e.g. a decoder bug upstream).
 */
static uint64_t hist_slot_value(const struct hist *h, uint32_t idx)
{
    uint64_t v = hist_highest_us(idx), max_us = h->max_ns / 1000;

    if (v > max_us)
        v = max_us < hist_lowest_us(idx) ? hist_lowest_us(idx) : max_us;
    return v;
}

uint64_t hist_percentile_us(const struct hist *h, double p)
{
    uint64_t rank, seen = 0;

    if (h->count == 0)
        return 0;
    rank = hist_rank(p, h->count);
    for (uint32_t i = 0; i < HIST_COUNTS_LEN; i++) {
        seen += h->counts[i];
        if (seen >= rank)
            return hist_slot_value(h, i);
    }
    /* The rank lies among the overflow samples, which are all above any
     * slot: only the exact max describes them. */
    return h->max_ns / 1000;
}

double hist_mean_us(const struct hist *h)
{
    if (h->count == 0)
        return 0.0;
    return (double)h->sum_ns / (double)h->count / 1000.0;
}
