/*
 * shard.h - one process's exact slice of a load (--shard i/N).
 *
 * k6's "execution segments", with equal segments: N processes given the
 * same flags and i = 1..N together make the load one process would make,
 * with no overlap and no gap. Shard i (0-based here) owns the units whose
 * global number j has j % N == i:
 *   - connections: one process numbers its connections 0..T-1 (the first
 *     T are the active ones, also while stages ramp); shard i's local
 *     connection k is global connection k*N + i, so it holds
 *     T/N + (i < T%N) of them at every level T, and templates ({{conn}})
 *     and per-connection feeder rows see the ids one process would use;
 *   - open-loop arrivals are numbered globally (pace.h): shard i takes
 *     arrivals i, i + N, ...; its W workers stripe those, i.e. worker w
 *     takes arrivals i + N*w (mod N*W), any W on any shard; -n counts
 *     arrivals, so the shard's budget is the number of those below n;
 *   - -n (closed loop) and --sessions: the same count, T/N + (i < T%N);
 *   - a round-robin data feeder's rows are the exception: a contiguous
 *     slice floor(R*i/N) .. floor(R*(i+1)/N), so no two shards ever use
 *     the same row;
 *   - the rates the reports show are the shard's share (rate / N), so a
 *     merge adds up.
 * Pure functions, table-tested in tests/unit/test_shard.c.
 */
#ifndef STAMPEDE_SHARD_H
#define STAMPEDE_SHARD_H

#include <stddef.h>
#include <stdint.h>

struct plan;

/* How many of 0..total-1 are = i (mod n): shard i's count of total. */
static inline uint64_t shard_count(uint64_t total, uint32_t i, uint32_t n)
{
    return n <= 1 ? total : total / n + (i < total % n);
}

/* The i-th (0-based) of n contiguous slices of total. */
static inline uint64_t shard_slice(uint64_t total, uint32_t i, uint32_t n)
{
    if (n <= 1)
        return total;
    return (uint64_t)((unsigned __int128)total * (i + 1) / n - (unsigned __int128)total * i / n);
}

/* Where the i-th slice starts. */
static inline uint64_t shard_first(uint64_t total, uint32_t i, uint32_t n)
{
    return n <= 1 ? 0 : (uint64_t)((unsigned __int128)total * i / n);
}

/* Make p this shard's slice: i is 1-based as on the command line (1..n).
 * Returns 0, or -1 with a message in err (a shard that would get no
 * connection, or no feeder row). */
int shard_apply(struct plan *p, uint32_t i, uint32_t n, char *err, size_t len);

/* The share of rates and rate targets a report shows: 1/N, 1 unsharded. */
double shard_share(const struct plan *p);

#endif
