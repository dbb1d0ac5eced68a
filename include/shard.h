/*
 * shard.h - one process's exact slice of a load (--shard i/N).
 *
 * k6's "execution segments", with equal segments: N processes given the
 * same flags and i = 1..N together make the load one process would make,
 * with no overlap and no gap.
 *   - counts (connections, connection slots, -n, --sessions, the rows of
 *     a round-robin data feeder) are cut in contiguous integer slices:
 *     shard i (0-based here) gets floor(T*(i+1)/N) - floor(T*i/N), which
 *     sum to T exactly for any T and N;
 *   - connection ids are global: shard i's ids start at floor(S*i/N) of
 *     the S connection slots, so templates ({{conn}}) and per-connection
 *     feeder rows see the ids one process would give those connections;
 *   - open-loop arrivals are numbered globally (pace.h) and shard i takes
 *     arrivals i, i + N, i + 2N, ...; its W workers stripe those, i.e.
 *     worker w takes arrivals i + N*w (mod N*W). Any W on any shard;
 *   - ramping connection targets are sliced at every tick, the rates the
 *     reports show are the shard's share (rate / N), so a merge adds up.
 * Pure functions, table-tested in tests/unit/test_shard.c.
 */
#ifndef STAMPEDE_SHARD_H
#define STAMPEDE_SHARD_H

#include <stddef.h>
#include <stdint.h>

struct plan;

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
