/*
 * scenario.h - YAML scenario files (libfyaml) -> plans, flows, thresholds.
 *
 * A file holds one or more named scenarios. Each compiles to an ordinary
 * struct plan (the same one flags build: the loader turns keys into
 * arguments and runs them through cli_parse, so everything a flag can set a
 * scenario can set, with the same checks) plus, for multi-step HTTP work, a
 * compiled struct flow. Every error names the file position it comes from,
 * "file:line:col: message", and nothing is sent before the whole file
 * has been accepted. The schema is documented in docs/scenarios.md.
 */
#ifndef STAMPEDE_SCENARIO_H
#define STAMPEDE_SCENARIO_H

#include <stdbool.h>
#include <stdio.h>

#include "flow.h"
#include "plan.h"
#include "thresh.h"

#define SCEN_MAX 8
#define SCEN_MAX_THRESHOLDS 64
#define SCEN_MAX_SETS 64

struct sc_args;

struct scenario {
    char name[64];
    struct sc_args *args;    /* the plan's strings point into these */
    struct plan plan;
    struct flow *flow;       /* HTTP steps; NULL for a plain or WebSocket scenario */
};

/* What the command line adds to a file. */
struct scen_opts {
    const char *sets[SCEN_MAX_SETS]; /* --set dotted.path=value */
    int nsets;
    char **flags;            /* plain stampede flags, appended to every scenario */
    int nflags;
    bool load_flags;         /* flags hold a load flag (-c, -R, ...) */
    bool validate_only;      /* do not resolve names (stampede validate) */
};

struct scen_file {
    const char *path;
    char title[128];
    uint32_t n;
    struct scenario *s;      /* [n] */
    struct thr thr[SCEN_MAX_THRESHOLDS];
    uint32_t nthr;
};

/* Load and check path. Returns 0, or an exit code (2: the file is wrong,
 * every error printed to err as file:line:col: message; 1: I/O). */
int scen_load(struct scen_file *sf, const char *path, const struct scen_opts *o, FILE *err);

void scen_free(struct scen_file *sf);

/* t's metric for scenario s, without its {scenario:NAME} tag, into base;
 * false if t is about another scenario or carries other tags. */
bool scen_thr_for(const struct scenario *s, const struct thr *t, char *base, size_t len);

/* Is this long flag (without dashes) part of the load model? */
bool scen_is_load_flag(const char *name);

#endif
