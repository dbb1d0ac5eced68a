/*
 * ci.h - what a CI job reads after a run: thresholds from flags, a JUnit
 * XML file (one test case per threshold and per check), a Markdown summary
 * (for $GITHUB_STEP_SUMMARY and the like), and a comparison against a
 * baseline result with a regression budget
 * (--max-regression 'http_req_duration:p(99):+10%').
 */
#ifndef STAMPEDE_CI_H
#define STAMPEDE_CI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "metrics.h"
#include "thresh.h"

#define CI_MAX_THR 64
#define CI_MAX_REGRESSIONS 16

struct ci_regression {
    char spec[160];
    char metric[128];
    struct thr agg;     /* the aggregation (agg, pct) to compare */
    double budget;      /* allowed growth, fraction: +10% -> 0.10 */
    /* evaluation */
    bool evaluated, passed, missing;
    double base, now;
};

struct ci_opts {
    struct thr thr[CI_MAX_THR];   /* --threshold */
    uint32_t nthr;
    const char *junit;
    const char *summary_md;
    const char *baseline;
    struct ci_regression reg[CI_MAX_REGRESSIONS];
    uint32_t nreg;
    /* outputs and the shard, taken anywhere on the command line too */
    const char *html;             /* --html FILE: the self-contained report */
    const char *hdr_log;          /* --hdr-log FILE: HdrHistogram interval log */
    uint32_t shard_i, shard_n;    /* --shard i/N (1-based); 0/0 without */
};

/* Take the CI flags out of argv (they may appear anywhere); *argc shrinks.
 * 0, or 2 after printing an error. */
int ci_extract(struct ci_opts *o, int *argc, char **argv);

/* Compare against the baseline; returns how many regressions exceed their
 * budget (a missing metric counts), -1 if the baseline cannot be read
 * (error printed). */
int ci_baseline(struct ci_opts *o, const struct metric_set *ms);

void ci_regressions_text(FILE *f, const struct ci_opts *o);

/* name: the run's title; checks: "name" -> pass/fail pairs from the
 * metric set ("checks{check:...}"). 0 or -errno. */
int ci_junit(const struct ci_opts *o, const char *name, const struct thr *t, uint32_t n,
             const struct metric_set *ms);
int ci_summary_md(const struct ci_opts *o, const char *name, const struct thr *t, uint32_t n,
                  const struct metric_set *ms, int exit_code);

#endif
