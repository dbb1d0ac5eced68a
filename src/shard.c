/*
 * shard.c - cut a plan down to one shard's slice; see shard.h.
 *
 * Applied once, after the plan is built from flags or a scenario and before
 * any worker exists. The open-loop schedule (plan->pace) stays the whole
 * run's: the stride in the pace streams does the slicing, so arrival times
 * are exactly those one process would use.
 */
#include "shard.h"

#include <stdio.h>

#include "flow.h"
#include "plan.h"

double shard_share(const struct plan *p)
{
    return p->shard_n > 1 ? 1.0 / p->shard_n : 1.0;
}

/* Round-robin feeder rows: a contiguous slice per shard, so no two shards
 * ever use the same row (per-connection rows follow the global ids). */
static int shard_rows(struct plan *p, uint32_t i, uint32_t n, char *err, size_t len)
{
    uint32_t rows = p->flow ? p->flow->data.nrows : 0;

    if (!rows || p->flow->data.per_conn)
        return 0;
    p->row_base = (uint32_t)shard_first(rows, i, n);
    p->row_count = (uint32_t)shard_slice(rows, i, n);
    if (!p->row_count) {
        snprintf(err, len, "--shard %u/%u: the data file's %u rows leave this shard none "
                 "(use at most %u shards)", i + 1, n, rows, rows);
        return -1;
    }
    return 0;
}

int shard_apply(struct plan *p, uint32_t i1, uint32_t n, char *err, size_t len)
{
    uint32_t i = i1 - 1;
    uint32_t slots = p->conn_slots;
    uint64_t req = p->requests, sess = p->sessions;

    if (n <= 1)
        return 0;
    p->shard_i = i;
    p->shard_n = n;
    p->conn_slots = (uint32_t)shard_count(slots, i, n);
    if (!p->conn_slots) {
        snprintf(err, len, "--shard %u/%u: %u connection%s leave this shard none "
                 "(use at most %u shards)", i1, n, slots, slots == 1 ? "" : "s", slots);
        return -1;
    }
    p->connections = (uint32_t)shard_count(p->connections, i, n);
    if (p->max_connections)
        p->max_connections = p->conn_slots;
    /* open loop: -n counts arrivals, and this shard owns every N-th one */
    p->requests = shard_count(req, i, n);
    p->sessions = shard_count(sess, i, n);
    /* 0 means "unbounded" for both: a shard must not turn a bound into none */
    if ((req && !p->requests) || (sess && !p->sessions)) {
        snprintf(err, len, "--shard %u/%u: %s %llu leaves this shard none (use at most %llu "
                 "shards)", i1, n, req ? "-n" : "--sessions",
                 (unsigned long long)(req ? req : sess), (unsigned long long)(req ? req : sess));
        return -1;
    }
    if (!p->open_loop && !p->conn_stages)
        p->warmup_value = p->connections;
    p->connect_rate /= n;
    if (p->threads > p->conn_slots)
        p->threads = p->conn_slots;
    return shard_rows(p, i, n, err, len);
}
