/*
 * engine.h - run a plan: spawn and pin the workers, start them together,
 * handle SIGINT/SIGTERM, join, merge their statistics in worker order.
 */
#ifndef STAMPEDE_ENGINE_H
#define STAMPEDE_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "plan.h"
#include "series.h"
#include "stats.h"
#include "thresh.h"

enum exit_code {
    EXIT_OK = 0,
    EXIT_RUNTIME = 1,
    EXIT_USAGE = 2,
    EXIT_INTERRUPTED = 130,
};

struct result {
    struct wstats total;       /* merged, in worker order */
    uint64_t duration_ns;      /* start barrier -> last worker's loop end */
    int exit_code;
    char exit_reason[512];
    int signal;                /* first stop signal, 0 if none */
    bool lost_server;          /* -n alone: connections down for --connect-timeout */
    bool gave_up;              /* stopped: no connection at all in --connect-timeout */
    unsigned ring_flags;       /* setup flags obtained (worker 0) */
    uint32_t threads;
    int worker_cpus[PLAN_MAX_CPUS];
    uint64_t cpu_user_ns, cpu_sys_ns; /* all workers */
    float worker_busy[PLAN_MAX_CPUS];  /* CPU time / wall time of each worker */
    struct timespec start_wall;
    uint64_t run_start_ns;     /* CLOCK_MONOTONIC when statistics began */
    /* connections at scale (--hold and every run) */
    uint32_t peak_established; /* sum of the workers' peaks */
    uint64_t full_ns;          /* clock start -> every connection up (0: never) */
    uint64_t rss_base, rss_peak;   /* our resident memory before connecting / at most */
    uint64_t slab_base, slab_peak; /* kernel slab, same moments */
    uint64_t syn_retrans;      /* host-wide SYN retransmits during the run */
    uint64_t ws_contexts;      /* WebSocket contexts allocated (pool high-water marks) */
    /* thresholds judged on this result (set by main before reporting) */
    const struct thr *thr;
    uint32_t nthr;
    int aborted_thr;           /* index in plan->abort_thr that stopped the run, or -1 */
    double aborted_at_s;       /* when, from the clock start */
    struct series_point *series; /* every interval of the time series (owned) */
    uint32_t nseries;
};

/* Release what a result owns (flow statistics). */
void result_fini(struct result *r);

/* Run the plan to the end. Returns the exit code (also in r->exit_code);
 * the result is filled whenever the workers ran, even when interrupted. */
int engine_run(const struct plan *p, struct result *r, FILE *ts_out);

#endif
