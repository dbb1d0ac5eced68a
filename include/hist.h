/*
 * hist.h - fixed-layout log-linear latency histogram (HdrHistogram layout).
 *
 * Layout: values are microseconds, tracked from 1 us to HIST_MAX_US (1 h)
 * with 3 significant digits. As in HdrHistogram, the value range is cut
 * into power-of-two buckets; each holds 1024 linear sub-buckets (2048 in
 * the first), so a bucket's width is at most 1/1024 of its value (error
 * < 0.1%), and values below 2048 us are stored exactly.
 *   bucket_count = 22 (2048 * 2^21 > 3.6e9), counts = (22 + 1) * 1024
 *   = 23552 slots * 8 bytes = 184 KiB per histogram, whatever is recorded.
 * Indexing is a clz, a shift and an add. Only the owning thread writes a
 * histogram (plain increments); histograms are merged by adding counts
 * after the writers have stopped.
 *
 * Samples are given in nanoseconds: min, max and the sum (hence the mean)
 * are kept exact in ns; the bucket index uses floor(ns / 1000) us.
 * Values above HIST_MAX_US are counted in `overflow` (and in `count`, min,
 * max and sum), never dropped; a percentile whose rank lands among them
 * reports the exact max.
 *
 * Percentiles follow HdrHistogram: rank = ceil(p/100 * count) (at least
 * 1); the value is the highest equivalent value of the bucket holding that
 * rank, capped at the exact max. So the reported value is >= the exact
 * sample at that rank and within one bucket width of it.
 *
 * Hot path: hist_record only.
 */
#ifndef STAMPEDE_HIST_H
#define STAMPEDE_HIST_H

#include <stdbool.h>
#include <stdint.h>

#define HIST_SIG_DIGITS 3
#define HIST_SUB_BUCKET_BITS 11 /* 2048 = 2 * 10^3 rounded up to a power of 2 */
#define HIST_SUB_BUCKET_COUNT (1u << HIST_SUB_BUCKET_BITS)
#define HIST_SUB_BUCKET_HALF (HIST_SUB_BUCKET_COUNT / 2)
#define HIST_BUCKET_COUNT 22
#define HIST_COUNTS_LEN ((HIST_BUCKET_COUNT + 1) * HIST_SUB_BUCKET_HALF)
#define HIST_MAX_US 3600000000ull /* 1 hour */

struct hist {
    uint64_t count;    /* all samples, overflow included */
    uint64_t overflow; /* samples above HIST_MAX_US */
    uint64_t min_ns;   /* UINT64_MAX when empty */
    uint64_t max_ns;
    uint64_t sum_ns;
    uint64_t counts[HIST_COUNTS_LEN];
};

/* Empty the histogram (embedded or heap: the caller owns the memory). */
void hist_init(struct hist *h);

/* Record one sample of `ns` nanoseconds. */
void hist_record(struct hist *h, uint64_t ns);

/* Record `n` samples of `us` microseconds at once (used to rebuild a
 * histogram from its bins; min/max/sum are updated with us * 1000). */
void hist_record_n_us(struct hist *h, uint64_t us, uint64_t n);

/* dst += src, bin by bin; min, max, sum, count and overflow combined. */
void hist_merge(struct hist *dst, const struct hist *src);

/* Value at percentile p (0 < p <= 100) in microseconds, as described above;
 * 0 when empty. */
uint64_t hist_percentile_us(const struct hist *h, double p);

/* Exact mean in microseconds (0 when empty). */
double hist_mean_us(const struct hist *h);

/* Slot index of a value in microseconds (value <= HIST_MAX_US). */
uint32_t hist_index(uint64_t us);

/* Lowest value (us) stored in slot `idx`; hist_index(hist_lowest_us(i)) == i. */
uint64_t hist_lowest_us(uint32_t idx);

/* Highest value (us) equivalent to slot `idx` (same slot). */
uint64_t hist_highest_us(uint32_t idx);

#endif
