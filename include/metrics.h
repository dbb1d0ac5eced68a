/*
 * metrics.h - the merged result flattened to named, tagged metrics
 * (k6's vocabulary) for thresholds, CI outputs and baselines:
 *
 *   durations  http_req_duration, http_req_service_time, iteration_duration,
 *              connect_time, ws_msg_rtt (or the scenario's own name),
 *              ws_handshake_time, ws_ping_rtt, ws_fanout_latency,
 *              tls_handshake_time
 *   rates      http_req_failed (errors and status >= 400 over requests),
 *              checks (passed over evaluated)
 *   counters   http_reqs, iterations, data_sent, data_received,
 *              dropped_iterations
 *
 * Tags: {step:NAME} per flow step, {check:NAME} per check,
 * {scenario:NAME} per scenario when a file runs several.
 */
#ifndef STAMPEDE_METRICS_H
#define STAMPEDE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "hist.h"
#include "thresh.h"

enum metric_kind {
    METRIC_DURATION,
    METRIC_RATE,
    METRIC_COUNTER,
};

struct metric {
    char name[128];       /* "http_req_duration{step:login}" */
    uint8_t kind;
    const struct hist *h; /* durations */
    uint64_t num, den;    /* rates: num true of den; counters: num */
};

#define METRICS_MAX 512

struct metric_set {
    struct metric m[METRICS_MAX];
    uint32_t n;
    double run_s;         /* for counters' per-second rate */
    struct hist *owned[16]; /* merged histograms of several scenarios */
    uint32_t nowned;
};

struct scen_file;

/* Add one run's metrics; tag (may be NULL) is appended to every name
 * ("scenario:api"). Metrics already present by name are merged (several
 * scenarios: the untagged totals). */
void metrics_add(struct metric_set *ms, const struct plan *p, const struct result *r,
                 const char *tag);

/* The metric named "base{tag1,tag2}" (either tag may be NULL; a base that
 * already carries tags, "x{step:a}", gets tag2 added inside), created
 * zeroed if new; NULL when the set is full. */
struct metric *metrics_slot(struct metric_set *ms, const char *base, const char *tag1,
                            const char *tag2);

void metrics_fini(struct metric_set *ms);

const struct metric *metrics_find(const struct metric_set *ms, const char *name);

/* The metric's value for a threshold's aggregation (ns, fraction, count). */
bool metrics_value(const struct metric_set *ms, const struct metric *m, const struct thr *t,
                   double *out);

/* Judge every threshold; returns how many failed (a missing metric fails). */
uint32_t metrics_judge(const struct metric_set *ms, struct thr *t, uint32_t n);

/* Can a run of this file produce `name`? (false: why) */
bool metrics_known(const struct scen_file *sf, const char *name, char *why, size_t len);

#endif
