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
#include "stats.h"

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
    char exit_reason[256];
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
};

/* Run the plan to the end. Returns the exit code (also in r->exit_code);
 * the result is filled whenever the workers ran, even when interrupted. */
int engine_run(const struct plan *p, struct result *r, FILE *ts_out);

#endif
