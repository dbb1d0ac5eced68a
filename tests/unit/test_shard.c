/*
 * test_shard.c - shards' slices are exact: for awkward totals and shard
 * counts every unit (connection, request, row, open-loop arrival) belongs
 * to exactly one shard, and the shards' plans add up to the whole.
 */
#include <stdlib.h>
#include <string.h>

#include "ci.h"
#include "flow.h"
#include "pace.h"
#include "plan.h"
#include "shard.h"
#include "t.h"

static const uint64_t totals[] = {0, 1, 2, 3, 7, 10, 99, 1000, 1000003, 4294967295ull,
                                  18446744073709551615ull};
static const uint32_t counts[] = {1, 2, 3, 4, 7, 13, 64, 1000};

/* Slices tile [0, total): each starts where the previous ended. */
static void test_slices(void)
{
    for (size_t a = 0; a < sizeof(totals) / sizeof(totals[0]); a++)
        for (size_t b = 0; b < sizeof(counts) / sizeof(counts[0]); b++) {
            uint64_t t = totals[a], next = 0, sum = 0, lo = UINT64_MAX, hi = 0;
            uint32_t n = counts[b];
            int tiled = 1;

            for (uint32_t i = 0; i < n; i++) {
                uint64_t s = shard_slice(t, i, n);

                tiled &= shard_first(t, i, n) == next;
                next += s;
                sum += s;
                lo = s < lo ? s : lo;
                hi = s > hi ? s : hi;
            }
            ok(tiled && sum == t, "total %llu over %u shards: tiled %d, sum %llu",
               (unsigned long long)t, n, tiled, (unsigned long long)sum);
            ok(hi - lo <= 1, "total %llu over %u: slices differ by at most one",
               (unsigned long long)t, n);
        }
}

/* Open loop: shard i of N with W workers runs streams (N*w + i, N*W);
 * together they hand out every arrival of the schedule once, at its time,
 * whatever W each shard uses. */
static void test_arrivals(uint32_t n, const uint32_t *workers, const char *stages)
{
    struct pace_plan p = {0};
    const char *at;
    uint64_t horizon = 3000000000ull, expect;
    uint8_t *seen;
    int dup = 0, late = 0, gap = 0;

    ok(pace_parse_stages(stages, &p, &at) == 0, "stages %s", stages);
    expect = (uint64_t)pace_count_at(&p, horizon) + 2;
    seen = calloc(expect + 1, 1);
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t w = 0; w < workers[i]; w++) {
            struct pace_stream s;

            pace_stream_init(&s, &p, n * w + i, n * workers[i], false, 1);
            for (; s.next_ns < horizon; pace_stream_next(&s)) {
                uint64_t j = s.index * s.workers + s.worker;

                if (j > expect || j % n != i)
                    dup++;
                else if (seen[j]++)
                    dup++;
                if (s.next_ns != pace_time_of(&p, (double)j))
                    late++;
            }
        }
    for (uint64_t j = 0; j <= expect; j++)
        if (!seen[j] && pace_time_of(&p, (double)j) < horizon)
            gap++;
    ok(!dup && !late && !gap, "%u shards, %s: %d duplicates, %d off-time, %d gaps", n, stages,
       dup, late, gap);
    free(seen);
}

/* shard_apply on a plan: counts sliced, ids based, refusals. */
static void test_apply(void)
{
    uint64_t conns = 0, reqs = 0, sess = 0, slots = 0;
    char err[256];

    for (uint32_t i = 1; i <= 7; i++) {
        struct plan p = {.connections = 100, .conn_slots = 100, .requests = 1001,
                         .sessions = 50, .threads = 2};

        ok(shard_apply(&p, i, 7, err, sizeof(err)) == 0, "shard %u/7: %s", i, err);
        ok(p.conn_slots == shard_count(100, i - 1, 7), "shard %u/7: %u slots", i, p.conn_slots);
        slots += p.conn_slots;
        conns += p.connections;
        reqs += p.requests;
        sess += p.sessions;
    }
    ok(conns == 100 && reqs == 1001 && sess == 50 && slots == 100,
       "7 shards: %llu connections, %llu requests, %llu sessions, %llu slots",
       (unsigned long long)conns, (unsigned long long)reqs, (unsigned long long)sess,
       (unsigned long long)slots);
    {
        struct plan p = {.connections = 3, .conn_slots = 3, .threads = 1};

        ok(shard_apply(&p, 4, 4, err, sizeof(err)) == -1 && strstr(err, "at most 3"),
           "3 connections over 4 shards refused: %s", err);
    }
    {
        struct plan p = {.connections = 8, .conn_slots = 8, .requests = 3, .threads = 1};

        ok(shard_apply(&p, 4, 4, err, sizeof(err)) == -1 && strstr(err, "-n 3"),
           "-n 3 over 4 shards refused (0 would mean unlimited): %s", err);
    }
    {
        struct flow f = {0};
        struct plan p = {.connections = 8, .conn_slots = 8, .threads = 1, .flow = &f};
        uint32_t next = 0, total = 0;

        f.data.nrows = 10;
        for (uint32_t i = 1; i <= 3; i++) {
            p.row_base = p.row_count = 0;
            p.conn_slots = p.connections = 8;
            ok(shard_apply(&p, i, 3, err, sizeof(err)) == 0 && p.row_base == next,
               "rows of shard %u/3 start at %u", i, next);
            next += p.row_count;
            total += p.row_count;
        }
        ok(total == 10, "10 feeder rows over 3 shards: %u", total);
    }
}

/* Open loop: -n counts arrivals; shard i owns arrivals i, i + N, ... of
 * the first n, so its budget is the number of those. */
static void test_open_n(void)
{
    static const uint64_t ns[] = {5, 7, 1000, 1001};
    char err[256];

    for (size_t k = 0; k < sizeof(ns) / sizeof(ns[0]); k++)
        for (uint32_t n = 2; n <= 5; n++) {
            uint64_t sum = 0;
            int exact = 1;

            for (uint32_t i = 1; i <= n; i++) {
                struct plan p = {.connections = 10, .conn_slots = 10, .threads = 1,
                                 .open_loop = true, .requests = ns[k]};
                uint64_t own = 0;

                if (shard_apply(&p, i, n, err, sizeof(err)))
                    continue;
                for (uint64_t j = 0; j < ns[k]; j++)
                    own += j % n == i - 1;
                exact &= p.requests == own;
                sum += p.requests;
            }
            ok(exact && sum == ns[k], "open loop -n %llu over %u shards: budgets are the "
               "arrivals each owns", (unsigned long long)ns[k], n);
        }
}

/* --shard 1/1 is no shard at all: the run is judged as one. */
static void test_one_of_one(void)
{
    static struct ci_opts o;
    char a0[] = "stampede", a1[] = "--shard", a2[] = "1/1", a3[] = "--shard=2/3";
    char *argv[] = {a0, a1, a2, NULL}, *argv2[] = {a0, a3, NULL};
    int argc = 3, argc2 = 2;

    ok(ci_extract(&o, &argc, argv) == 0 && o.shard_n == 0 && argc == 1, "--shard 1/1: no shard");
    ok(ci_extract(&o, &argc2, argv2) == 0 && o.shard_i == 2 && o.shard_n == 3, "--shard=2/3");
}

/* Connection ids: shard i's local k is k*N + i; at every level T (a ramp)
 * the shards' first shard_count(T) locals are exactly one process's 0..T-1. */
static void test_conn_ids(void)
{
    for (uint32_t n = 2; n <= 9; n++)
        for (uint64_t t = 0; t <= 60; t++) {
            uint8_t seen[61] = {0};
            int bad = 0;

            for (uint32_t i = 0; i < n; i++)
                for (uint64_t k = 0; k < shard_count(t, i, n); k++) {
                    uint64_t id = k * n + i;

                    if (id >= t || seen[id]++)
                        bad++;
                }
            for (uint64_t id = 0; id < t; id++)
                bad += !seen[id];
            if (bad)
                ok(0, "%u shards at %llu connections: %d ids wrong", n, (unsigned long long)t, bad);
        }
    ok(1, "connection ids of N shards are one process's at every level");
}

int main(void)
{
    static const uint32_t w1[] = {1, 1, 1, 1, 1, 1, 1}, w2[] = {2, 1, 3, 2, 5, 1, 4};

    test_slices();
    test_arrivals(1, w2, "3s:1000/s");
    test_arrivals(3, w1, "3s:1000/s");
    test_arrivals(3, w2, "1s:333/s,1s:1000/s,1s:7/s");
    test_arrivals(7, w2, "3s:2500/s");
    test_arrivals(2, w2 + 2, "0.5s:0/s,2.5s:777/s");
    test_apply();
    test_conn_ids();
    test_open_n();
    test_one_of_one();
    return done();
}
