/*
 * merge_metrics.c - the merged result flattened to the metric set a run
 * fills (metrics.c's names, tags and counters), so thresholds, JUnit,
 * Markdown and baselines judge a merge exactly as they judge a run:
 * durations are the merged histograms; rates and counters add up each
 * input's contribution, from the same counters metrics_add reads.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "merge_int.h"
#include "metrics.h"

/* metrics_slot, with the kind set on a new metric. */
static struct metric *ms_slot(struct metric_set *ms, const char *base, const char *tag1,
                              const char *tag2, uint8_t kind)
{
    uint32_t n = ms->n;
    struct metric *x = metrics_slot(ms, base, tag1, tag2);

    if (x && ms->n != n)
        x->kind = kind;
    return x;
}

static void ms_add(struct metric_set *ms, const char *base, const char *t1, const char *t2,
                   uint8_t kind, uint64_t num, uint64_t den)
{
    struct metric *x = ms_slot(ms, base, t1, t2, kind);

    if (x) {
        x->num += num;
        x->den += den;
    }
}

/* A duration: the level's merged histogram, or (untagged, several
 * scenarios) their sum in a histogram the set owns. */
static void ms_dur(struct metric_set *ms, const char *name, const char *tag,
                   struct hist *h)
{
    struct metric *x = ms_slot(ms, name, NULL, tag, METRIC_DURATION);
    struct hist *own;

    if (!x || x->h == h)
        return;
    if (!x->h) {
        x->h = h;
        return;
    }
    for (uint32_t i = 0; i < ms->nowned; i++)
        if (ms->owned[i] == x->h) {
            hist_merge(ms->owned[i], h);
            return;
        }
    own = ms->nowned < 16 ? malloc(sizeof(*own)) : NULL;
    if (!own)
        return;
    hist_init(own);
    hist_merge(own, x->h);
    hist_merge(own, h);
    ms->owned[ms->nowned++] = own;
    x->h = own;
}

static void ms_flow(struct metric_set *ms, struct fy_node *flow, const char *tag)
{
    uint64_t it = 0, req, resp, err, bad, pass = 0, fail = 0, p, f;
    struct fy_node *e;
    void *i1 = NULL, *i2 = NULL;
    char t[160];

    struct fy_node *steps = merge_at(flow, "steps"), *checks = merge_at(flow, "checks");

    steps = steps && fy_node_get_type(steps) == FYNT_SEQUENCE ? steps : NULL;
    checks = checks && fy_node_get_type(checks) == FYNT_SEQUENCE ? checks : NULL;
    merge_u64(flow, "iterations", &it);
    ms_add(ms, "iterations", tag, NULL, METRIC_COUNTER, it, 0);
    while (steps && (e = fy_node_sequence_iterate(steps, &i1))) {
        snprintf(t, sizeof(t), "step:%s", merge_str(e, "name") ? merge_str(e, "name") : "?");
        merge_u64(e, "requests", &req);
        merge_u64(e, "responses", &resp);
        merge_u64(e, "errors", &err);
        merge_u64(e, "status_4xx_5xx", &bad);
        ms_add(ms, "http_req_failed", t, tag, METRIC_RATE, err + bad, resp + err);
        ms_add(ms, "http_reqs", t, tag, METRIC_COUNTER, req, 0);
    }
    while (checks && (e = fy_node_sequence_iterate(checks, &i2))) {
        snprintf(t, sizeof(t), "check:%s", merge_str(e, "name") ? merge_str(e, "name") : "?");
        merge_u64(e, "passes", &p);
        merge_u64(e, "fails", &f);
        ms_add(ms, "checks", t, tag, METRIC_RATE, p, p + f);
        pass += p;
        fail += f;
    }
    ms_add(ms, "checks", tag, NULL, METRIC_RATE, pass, pass + fail);
}

/* One input's counters and rates, as metrics_add takes them from a run. */
static void ms_input(struct metric_set *ms, struct fy_node *r, const char *tag)
{
    struct merge_level one = {.r = {r}};
    struct merge m1 = {.n = 1};
    uint64_t err = merge_sum_map(&m1, &one, "counters/errors");
    uint64_t bad = err + merge_sum(&m1, &one, "counters/status/4xx") +
                   merge_sum(&m1, &one, "counters/status/5xx");
    const char *proto = merge_str(r, "config/protocol");
    struct fy_node *flow = merge_at(r, "flow");

    if (proto && !strcmp(proto, "ws")) {
        ms_add(ms, "ws_msgs_sent", tag, NULL, METRIC_COUNTER,
               merge_sum(&m1, &one, "counters/ws/msgs_sent"), 0);
        ms_add(ms, "ws_msgs_received", tag, NULL, METRIC_COUNTER,
               merge_sum(&m1, &one, "counters/ws/msgs_received"), 0);
    } else {
        ms_add(ms, "http_req_failed", tag, NULL, METRIC_RATE, bad,
               merge_sum(&m1, &one, "counters/responses") + err);
        ms_add(ms, "http_reqs", tag, NULL, METRIC_COUNTER,
               merge_sum(&m1, &one, "counters/requests"), 0);
    }
    ms_add(ms, "data_sent", tag, NULL, METRIC_COUNTER, merge_sum(&m1, &one, "counters/bytes_out"), 0);
    ms_add(ms, "data_received", tag, NULL, METRIC_COUNTER,
           merge_sum(&m1, &one, "counters/bytes_in"), 0);
    ms_add(ms, "dropped_iterations", tag, NULL, METRIC_COUNTER,
           merge_sum(&m1, &one, "counters/dropped"), 0);
    ms_add(ms, "errors", tag, NULL, METRIC_COUNTER,
           err + merge_sum_map(&m1, &one, "counters/conn_errors"), 0);
    if (flow && fy_node_get_type(flow) == FYNT_MAPPING)
        ms_flow(ms, flow, tag);
}

/* The merged result as metrics.c would flatten a run of it: untagged,
 * and per scenario ({scenario:NAME}) when the files hold several. */
int merge_metric_set(const struct merge *m, struct metric_set *ms)
{
    char tag[160];

    for (uint32_t k = 0; k < m->nlv; k++) {
        const struct merge_level *lv = &m->lv[k];

        snprintf(tag, sizeof(tag), "scenario:%s", lv->name ? lv->name : "");
        for (int pass = 0; pass < (lv->name ? 2 : 1); pass++) {
            const char *t = pass ? tag : NULL;

            for (uint32_t i = 0; i < lv->nmet; i++)
                ms_dur(ms, lv->met_name[i], t, lv->met[i]);
            for (uint32_t i = 0; i < m->n; i++)
                ms_input(ms, lv->r[i], t);
        }
        ms->run_s = lv->duration_s > ms->run_s ? lv->duration_s : ms->run_s;
    }
    return 0;
}

