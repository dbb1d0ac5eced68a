/*
 * metrics.c - the merged result as named metrics, and threshold judging;
 * see metrics.h. Runs once, after the workers are joined.
 */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow.h"
#include "scenario.h"

struct metric *metrics_slot(struct metric_set *ms, const char *base, const char *tag1,
                            const char *tag2)
{
    size_t bl = strlen(base);
    char name[128];
    struct metric *m;

    if (bl && base[bl - 1] == '}' && tag2)
        snprintf(name, sizeof(name), "%.*s,%s}", (int)(bl - 1), base, tag2);
    else if (tag1 && tag2)
        snprintf(name, sizeof(name), "%s{%s,%s}", base, tag1, tag2);
    else if (tag1 || tag2)
        snprintf(name, sizeof(name), "%s{%s}", base, tag1 ? tag1 : tag2);
    else
        snprintf(name, sizeof(name), "%s", base);
    for (uint32_t i = 0; i < ms->n; i++)
        if (!strcmp(ms->m[i].name, name))
            return &ms->m[i];
    if (ms->n == METRICS_MAX)
        return NULL;
    m = &ms->m[ms->n++];
    memset(m, 0, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    return m;
}

static void metrics_dur(struct metric_set *ms, const char *base, const char *tag1,
                        const char *tag2, const struct hist *h)
{
    struct metric *m = metrics_slot(ms, base, tag1, tag2);

    if (!m)
        return;
    m->kind = METRIC_DURATION;
    if (!m->h) {
        m->h = h;
        return;
    }
    /* a second scenario with the same metric: merge into a copy we own */
    if (ms->nowned == sizeof(ms->owned) / sizeof(ms->owned[0]))
        return;
    for (uint32_t i = 0; i < ms->nowned; i++)
        if (ms->owned[i] == m->h) {
            hist_merge(ms->owned[i], h);
            return;
        }
    struct hist *own = malloc(sizeof(*own));

    if (!own)
        return;
    hist_init(own);
    hist_merge(own, m->h);
    hist_merge(own, h);
    ms->owned[ms->nowned++] = own;
    m->h = own;
}

static void metrics_rate(struct metric_set *ms, const char *base, const char *tag1,
                         const char *tag2, uint64_t num, uint64_t den)
{
    struct metric *m = metrics_slot(ms, base, tag1, tag2);

    if (!m)
        return;
    m->kind = METRIC_RATE;
    m->num += num;
    m->den += den;
}

static void metrics_count(struct metric_set *ms, const char *base, const char *tag1,
                          const char *tag2, uint64_t n)
{
    struct metric *m = metrics_slot(ms, base, tag1, tag2);

    if (!m)
        return;
    m->kind = METRIC_COUNTER;
    m->num += n;
}

static void metrics_flow(struct metric_set *ms, const struct flow *f, const struct flow_stats *fs,
                         const char *tag)
{
    uint64_t pass = 0, fail = 0;
    char t[160];

    metrics_dur(ms, "iteration_duration", tag, NULL, &fs->iteration_duration);
    metrics_count(ms, "iterations", tag, NULL, fs->iterations);
    for (uint32_t i = 0; i < f->nhttp; i++) {
        snprintf(t, sizeof(t), "step:%s", f->step_names[i]);
        metrics_dur(ms, "http_req_duration", t, tag, &fs->step_duration[i]);
        metrics_rate(ms, "http_req_failed", t, tag, fs->step_errors[i] + fs->step_bad[i],
                     fs->step_responses[i] + fs->step_errors[i]);
        metrics_count(ms, "http_reqs", t, tag, fs->step_requests[i]);
    }
    for (uint32_t i = 0; i < f->nchecks; i++) {
        snprintf(t, sizeof(t), "check:%s", f->check_names[i]);
        metrics_rate(ms, "checks", t, tag, fs->check_pass[i], fs->check_pass[i] + fs->check_fail[i]);
        pass += fs->check_pass[i];
        fail += fs->check_fail[i];
    }
    metrics_rate(ms, "checks", tag, NULL, pass, pass + fail);
}

void metrics_add(struct metric_set *ms, const struct plan *p, const struct result *r,
                 const char *tag)
{
    const struct wstats *s = &r->total;
    uint64_t errors = stats_errors_total(s);
    uint64_t bad = errors + s->status_class[4] + s->status_class[5];
    const char *rtt = p->ws_metric[0] ? p->ws_metric : "ws_msg_rtt";

    if (r->duration_ns / 1e9 > ms->run_s)
        ms->run_s = r->duration_ns / 1e9;
    for (int pass = 0; pass < (tag ? 2 : 1); pass++) {
        const char *t = pass ? tag : NULL;

        metrics_dur(ms, p->ws ? rtt : "http_req_duration", t, NULL, &s->req_duration);
        metrics_dur(ms, "connect_time", t, NULL, &s->connect_time);
        if (p->open_loop)
            metrics_dur(ms, "http_req_service_time", t, NULL, &s->service_time);
        if (p->ws) {
            metrics_dur(ms, "ws_handshake_time", t, NULL, &s->ws_handshake_time);
            metrics_dur(ms, "ws_ping_rtt", t, NULL, &s->ws_ping_rtt);
            metrics_dur(ms, "ws_fanout_latency", t, NULL, &s->ws_fanout);
            metrics_count(ms, "ws_msgs_sent", t, NULL, s->ws_msgs_sent);
            metrics_count(ms, "ws_msgs_received", t, NULL, s->ws_msgs_received);
        } else {
            metrics_rate(ms, "http_req_failed", t, NULL, bad, s->responses + errors);
            metrics_count(ms, "http_reqs", t, NULL, s->requests);
        }
        if (p->tls) {
            metrics_dur(ms, "tls_handshake_time_full", t, NULL, &s->tls_hs_full);
            metrics_dur(ms, "tls_handshake_time_resumed", t, NULL, &s->tls_hs_resumed);
        }
        metrics_count(ms, "data_sent", t, NULL, s->bytes_out);
        metrics_count(ms, "data_received", t, NULL, s->bytes_in);
        metrics_count(ms, "dropped_iterations", t, NULL, s->dropped);
        metrics_count(ms, "errors", t, NULL, errors + stats_conn_errors_total(s));
        if (p->flow && s->flow)
            metrics_flow(ms, p->flow, s->flow, t);
    }
}

void metrics_fini(struct metric_set *ms)
{
    for (uint32_t i = 0; i < ms->nowned; i++)
        free(ms->owned[i]);
    ms->nowned = 0;
}

const struct metric *metrics_find(const struct metric_set *ms, const char *name)
{
    for (uint32_t i = 0; i < ms->n; i++)
        if (!strcmp(ms->m[i].name, name))
            return &ms->m[i];
    return NULL;
}

bool metrics_value(const struct metric_set *ms, const struct metric *m, const struct thr *t,
                   double *out)
{
    const struct hist *h = m->h;

    switch (m->kind) {
    case METRIC_DURATION:
        if (t->agg == THR_COUNT) {
            *out = (double)h->count;
            return true;
        }
        if (t->agg == THR_RATE || !h->count)
            return false;
        switch (t->agg) {
        case THR_PCT:
            *out = (double)hist_percentile_us(h, t->pct) * 1000;
            break;
        case THR_MED:
            *out = (double)hist_percentile_us(h, 50) * 1000;
            break;
        case THR_AVG:
            *out = hist_mean_us(h) * 1000;
            break;
        case THR_MIN:
            *out = (double)h->min_ns;
            break;
        default:
            *out = (double)h->max_ns;
        }
        return true;
    case METRIC_RATE:
        if (t->agg == THR_COUNT) {
            *out = (double)m->den;
            return true;
        }
        if (t->agg != THR_RATE || !m->den)
            return false;
        *out = (double)m->num / (double)m->den;
        return true;
    default:
        if (t->agg == THR_COUNT) {
            *out = (double)m->num;
            return true;
        }
        if (t->agg != THR_RATE || ms->run_s <= 0)
            return false;
        *out = (double)m->num / ms->run_s;
        return true;
    }
}

uint32_t metrics_judge(const struct metric_set *ms, struct thr *t, uint32_t n)
{
    uint32_t failed = 0;

    for (uint32_t i = 0; i < n; i++) {
        const struct metric *m = metrics_find(ms, t[i].metric);

        t[i].evaluated = true;
        t[i].missing = !m || !metrics_value(ms, m, &t[i], &t[i].actual);
        /* no samples: nothing to judge, and that is a failure, not a pass */
        t[i].passed = !t[i].missing && thr_holds(&t[i], t[i].actual);
        failed += !t[i].passed;
    }
    return failed;
}

/* ---- which names a file can produce ---------------------------------------------- */

static const char *const base_names[] = {
    "http_req_duration", "http_req_service_time", "iteration_duration", "connect_time",
    "ws_msg_rtt", "ws_handshake_time", "ws_ping_rtt", "ws_fanout_latency",
    "tls_handshake_time_full", "tls_handshake_time_resumed", "http_req_failed", "checks",
    "http_reqs", "iterations", "data_sent", "data_received", "dropped_iterations", "errors",
    "ws_msgs_sent", "ws_msgs_received", NULL,
};

static bool metrics_tag_ok(const struct scen_file *sf, const char *tag, size_t len)
{
    for (uint32_t i = 0; i < sf->n; i++) {
        const struct flow *f = sf->s[i].flow;
        char want[160];

        snprintf(want, sizeof(want), "scenario:%s", sf->s[i].name);
        if (strlen(want) == len && !memcmp(tag, want, len))
            return true;
        for (uint32_t k = 0; f && k < f->nhttp; k++) {
            snprintf(want, sizeof(want), "step:%s", f->step_names[k]);
            if (strlen(want) == len && !memcmp(tag, want, len))
                return true;
        }
        for (uint32_t k = 0; f && k < f->nchecks; k++) {
            snprintf(want, sizeof(want), "check:%s", f->check_names[k]);
            if (strlen(want) == len && !memcmp(tag, want, len))
                return true;
        }
    }
    return false;
}

bool metrics_known(const struct scen_file *sf, const char *name, char *why, size_t len)
{
    const char *brace = strchr(name, '{');
    size_t blen = brace ? (size_t)(brace - name) : strlen(name);
    bool base = false;

    for (const char *const *b = base_names; *b && !base; b++)
        base = strlen(*b) == blen && !memcmp(*b, name, blen);
    for (uint32_t i = 0; sf && i < sf->n && !base; i++)
        base = strlen(sf->s[i].plan.ws_metric) == blen && blen &&
               !memcmp(sf->s[i].plan.ws_metric, name, blen);
    if (!base) {
        snprintf(why, len, "unknown metric '%.*s' (see docs/scenarios.md, Metrics)", (int)blen,
                 name);
        return false;
    }
    if (!brace || !sf)
        return true;
    /* {tag} or {tag,tag}: each must exist */
    const char *p = brace + 1, *end = strchr(p, '}');

    if (!end || end[1]) {
        snprintf(why, len, "metric '%s': tags go in one {key:value,...} at the end", name);
        return false;
    }
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t tl = (size_t)((comma ? comma : end) - p);

        if (!metrics_tag_ok(sf, p, tl)) {
            snprintf(why, len, "metric '%s': no %.*s in this file (tags: step:NAME, "
                     "check:NAME, scenario:NAME)", name, (int)tl, p);
            return false;
        }
        p += tl + (comma != NULL);
    }
    return true;
}
