/*
 * merge.c - stampede merge FILE... [--json OUT] [--html OUT] [-q]: add
 * result files (shards of one load, or repeats) into one result.
 *
 * Exact: counters (summed field by field), histograms (added bin by bin,
 * then every percentile recomputed from the merged bins by hist.c, as a
 * run does), count/min/max/sum hence the mean, rates from merged counters.
 * Upper bounds: the time series' per-interval percentiles (the max over
 * the inputs: the points keep no bins) and capacity.peak_established
 * (peaks of different processes need not coincide).
 *
 * Refused (exit 2, naming the file and the difference): unreadable or
 * non-result files, another schema, another histogram layout, another
 * shape (single vs several scenarios, other scenario names), another
 * url/method/protocol/model, the same shard twice.
 *
 * Thresholds (the inputs' own, deduplicated, plus --threshold) are judged
 * on the merge through the same struct metric_set a run fills.
 */
#include "merge.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hdrlog.h"
#include "html.h"
#include "merge_int.h"
#include "metrics.h"
#include "report.h"
#include "report_flow.h"
#include "units.h"

#define MERGE_EXIT_THRESHOLDS 99
#define MERGE_USAGE "usage: stampede merge FILE... [--json OUT] [--html OUT] " \
                    "[--threshold M:EXPR]... [--junit F] [--summary-md F] [-q]\n"

/* ---- loading and the shape checks ----------------------------------------------------- */

static int merge_load(struct merge *m, uint32_t i)
{
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_JSON_FORCE};
    const char *path = m->path[i], *schema;
    FILE *f = fopen(path, "r");

    if (!f) {
        fprintf(stderr, "stampede: merge: %s: %s\n", path, strerror(errno));
        return -1;
    }
    fclose(f);
    m->doc[i] = fy_document_build_from_file(&cfg, path);
    m->root[i] = m->doc[i] ? fy_document_root(m->doc[i]) : NULL;
    if (!m->root[i] || fy_node_get_type(m->root[i]) != FYNT_MAPPING) {
        fprintf(stderr, "stampede: merge: %s: not a JSON object (a stampede result file?)\n", path);
        return -1;
    }
    schema = merge_str(m->root[i], "schema");
    if (!schema || strncmp(schema, "stampede.result/", 16)) {
        fprintf(stderr, "stampede: merge: %s: not a stampede result (no \"schema\": "
                "\"stampede.result/N\")\n", path);
        return -1;
    }
    return 0;
}

static int merge_check_top(struct merge *m, uint32_t i)
{
    const char *s0 = merge_str(m->root[0], "schema"), *s = merge_str(m->root[i], "schema");
    struct fy_node *sc = merge_at(m->root[i], "scenarios");
    bool multi = sc && fy_node_get_type(sc) == FYNT_MAPPING;

    if (strcmp(s0, s)) {
        fprintf(stderr, "stampede: merge: %s: schema \"%s\", but %s has \"%s\"\n", m->path[i],
                s, m->path[0], s0);
        return -1;
    }
    if (strcmp(s, REPORT_SCHEMA)) {
        fprintf(stderr, "stampede: merge: %s: schema \"%s\": this stampede reads \"%s\"\n",
                m->path[i], s, REPORT_SCHEMA);
        return -1;
    }
    if (i == 0)
        m->multi = multi;
    if (multi != m->multi) {
        fprintf(stderr, "stampede: merge: %s is a %s result, %s a %s one\n", m->path[i],
                multi ? "multi-scenario" : "single-run", m->path[0],
                m->multi ? "multi-scenario" : "single-run");
        return -1;
    }
    if (!multi && !merge_at(m->root[i], "counters")) {
        fprintf(stderr, "stampede: merge: %s: no \"counters\": not a run's result\n", m->path[i]);
        return -1;
    }
    return 0;
}

/* Scenario `name` of every file; the files must hold the same scenarios. */
static int merge_scenario(struct merge *m, struct merge_level *lv, const char *name, uint32_t n0)
{
    lv->name = name;
    for (uint32_t i = 0; name && i < m->n; i++) {
        struct fy_node *sc = merge_at(m->root[i], "scenarios");

        lv->r[i] = merge_key(sc, name);
        if (lv->r[i] && fy_node_get_type(lv->r[i]) != FYNT_MAPPING) {
            fprintf(stderr, "stampede: merge: %s: scenarios.%s is not an object\n", m->path[i],
                    name);
            return -1;
        }
        if (!lv->r[i] || fy_node_mapping_item_count(sc) != (int)n0) {
            fprintf(stderr, "stampede: merge: %s: scenarios differ from %s's (%s has "
                    "scenario \"%s\" and %u in all)\n", m->path[i], m->path[0], m->path[0],
                    name, n0);
            return -1;
        }
    }
    return name ? 0 : -1;
}

/* The levels: the file itself, or one per scenario (the first file's
 * order), plus the top of a multi-scenario file. */
static int merge_levels(struct merge *m)
{
    struct fy_node *sc0 = merge_at(m->root[0], "scenarios");
    uint32_t n0 = m->multi ? (uint32_t)fy_node_mapping_item_count(sc0) : 1;
    struct fy_node_pair *p;
    void *it = NULL;

    if (n0 == 0 || n0 > MERGE_MAX_LEVELS) {
        fprintf(stderr, "stampede: merge: %s: %u scenarios (1..%d)\n", m->path[0], n0,
                MERGE_MAX_LEVELS);
        return -1;
    }
    m->lv = calloc(n0 + 1, sizeof(*m->lv));
    if (!m->lv)
        return -1;
    m->nlv = n0;
    memcpy(m->lv[n0].r, m->root, sizeof(m->root));
    if (!m->multi) {
        memcpy(m->lv[0].r, m->root, sizeof(m->root));
        return 0;
    }
    for (uint32_t k = 0; (p = fy_node_mapping_iterate(sc0, &it)); k++)
        if (merge_scenario(m, &m->lv[k], fy_node_get_scalar0(fy_node_pair_key(p)), n0))
            return -1;
    return 0;
}

static int merge_check_config(const struct merge *m, const struct merge_level *lv)
{
    static const char *const same[] = {"url", "method", "protocol", "model", NULL};
    static const char *const objs[] = {"config", "counters", "metrics", NULL};
    char path[64];

    for (uint32_t i = 0; i < m->n; i++)
        for (const char *const *k = objs; *k; k++) {
            struct fy_node *o = merge_at(lv->r[i], *k);

            if (o && fy_node_get_type(o) == FYNT_MAPPING)
                continue;
            fprintf(stderr, "stampede: merge: %s: %s%s%s%s is not an object: not a run's "
                    "result\n", m->path[i], lv->name ? "scenarios." : "",
                    lv->name ? lv->name : "", lv->name ? "." : "", *k);
            return -1;
        }

    for (uint32_t i = 1; i < m->n; i++)
        for (const char *const *k = same; *k; k++) {
            const char *a, *b;

            snprintf(path, sizeof(path), "config/%s", *k);
            a = merge_str(lv->r[0], path);
            b = merge_str(lv->r[i], path);
            if (!a || !b || strcmp(a, b)) {
                fprintf(stderr, "stampede: merge: %s: config.%s is \"%s\", %s has \"%s\"%s%s\n",
                        m->path[i], *k, b ? b : "(none)", m->path[0], a ? a : "(none)",
                        lv->name ? " in scenario " : "", lv->name ? lv->name : "");
                return -1;
            }
        }
    return 0;
}

/* Same number within a relative 1e-9 (the results print 10 digits). */
static bool same_num(double a, double b)
{
    return fabs(a - b) <= 1e-9 * fmax(fabs(a), fabs(b));
}

/* Shards of one load ran the same schedule: the same length, warm-up,
 * interval, arrivals and stage durations, and their slices of the rate and
 * stage targets (reported as rate / N) are equal. Anything else is several
 * loads, not one. */
static int merge_check_shard_load(const struct merge *m, const struct merge_level *lv)
{
    static const char *const nums[] = {"duration_s", "warmup_s", "interval_s", "rate_per_s",
                                       "stages_start", NULL};
    static const char *const strs[] = {"arrival", "stages_unit", NULL};
    char path[64];

    for (uint32_t i = 1; i < m->n; i++) {
        struct fy_node *s0 = merge_at(lv->r[0], "config/stages");
        struct fy_node *si = merge_at(lv->r[i], "config/stages");
        struct fy_node *a, *b;
        void *ia = NULL, *ib = NULL;
        const char *bad = NULL;

        for (const char *const *k = nums; *k && !bad; k++) {
            snprintf(path, sizeof(path), "config/%s", *k);
            if (!same_num(merge_dbl(lv->r[0], path), merge_dbl(lv->r[i], path)))
                bad = *k;
        }
        for (const char *const *k = strs; *k && !bad; k++) {
            const char *x, *y;

            snprintf(path, sizeof(path), "config/%s", *k);
            x = merge_str(lv->r[0], path);
            y = merge_str(lv->r[i], path);
            if (!x || !y || strcmp(x, y))
                bad = *k;
        }
        if (!bad && (fy_node_get_type(s0) != FYNT_SEQUENCE || fy_node_get_type(si) != FYNT_SEQUENCE ||
                     fy_node_sequence_item_count(s0) != fy_node_sequence_item_count(si)))
            bad = "stages";
        while (!bad && (a = fy_node_sequence_iterate(s0, &ia)) &&
               (b = fy_node_sequence_iterate(si, &ib)))
            if (!same_num(merge_dbl(a, "duration_s"), merge_dbl(b, "duration_s")) ||
                !same_num(merge_dbl(a, "target"), merge_dbl(b, "target")))
                bad = "stages";
        if (bad) {
            fprintf(stderr, "stampede: merge: %s: config.%s differs from %s's: shards of one "
                    "load run the same flags\n", m->path[i], bad, m->path[0]);
            return -1;
        }
    }
    return 0;
}

/* config.shard {index, count}: distinct shards of one count; a gap is
 * allowed (warned: the merge is not the whole load), a duplicate is not. */
static int merge_check_shards(const struct merge *m, const struct merge_level *lv)
{
    uint64_t n0 = 0, idx, cnt;
    bool has0 = merge_at(lv->r[0], "config/shard") != NULL;
    uint32_t *owner;
    int rc = 0;

    merge_u64(lv->r[0], "config/shard/count", &n0);
    if (has0 && (n0 < 2 || n0 > 10000)) {
        fprintf(stderr, "stampede: merge: %s: config.shard.count %llu\n", m->path[0],
                (unsigned long long)n0);
        return -1;
    }
    owner = calloc(n0 + 1, sizeof(*owner));
    if (!owner)
        return -1;
    for (uint32_t i = 0; i < m->n && !rc; i++) {
        bool has = merge_at(lv->r[i], "config/shard") != NULL;

        merge_u64(lv->r[i], "config/shard/index", &idx);
        merge_u64(lv->r[i], "config/shard/count", &cnt);
        if (has != has0 || (has && (cnt != n0 || !idx || idx > n0))) {
            fprintf(stderr, "stampede: merge: %s: %s, but %s is %s\n", m->path[i],
                    has ? "a shard (config.shard)" : "not a shard", m->path[0],
                    has0 ? "a shard of another count" : "not a shard");
            rc = -1;
        } else if (has && owner[idx]) {
            fprintf(stderr, "stampede: merge: %s and %s are both shard %llu/%llu: a shard "
                    "counted twice would not be the load\n", m->path[owner[idx] - 1],
                    m->path[i], (unsigned long long)idx, (unsigned long long)n0);
            rc = -1;
        } else if (has) {
            owner[idx] = i + 1;
        }
    }
    for (uint64_t k = 1; !rc && k <= n0; k++)
        if (!owner[k])
            fprintf(stderr, "stampede: merge: warning: shard %llu/%llu is missing: the merge "
                    "is not the whole load\n", (unsigned long long)k, (unsigned long long)n0);
    free(owner);
    return rc ? rc : has0 ? merge_check_shard_load(m, lv) : 0;
}

/* ---- histograms ------------------------------------------------------------------------ */

static int hist_fail(const struct merge *m, uint32_t i, const char *name, const char *what)
{
    fprintf(stderr, "stampede: merge: %s: metrics.%s: %s\n", m->path[i], name, what);
    return -1;
}

static int merge_layout(const struct merge *m, uint32_t i, struct fy_node *mn, const char *name)
{
    static const char *const key[] = {"hist/sig_digits", "hist/lowest_us", "hist/highest_us"};
    const uint64_t ours[] = {HIST_SIG_DIGITS, 1, HIST_MAX_US};
    char msg[256];
    uint64_t v;

    for (int k = 0; k < 3; k++) {
        if (!merge_u64(mn, key[k], &v))
            return hist_fail(m, i, name, "no histogram layout (hist.sig_digits, lowest_us, "
                                         "highest_us)");
        if (v == ours[k])
            continue;
        snprintf(msg, sizeof(msg), "histogram layout differs: %s is %llu, not %llu as in "
                 "this stampede's results%s%s (bins of different layouts do not add up)",
                 key[k] + 5, (unsigned long long)v, (unsigned long long)ours[k],
                 i ? " and " : "", i ? m->path[0] : "");
        return hist_fail(m, i, name, msg);
    }
    return 0;
}

const char *merge_hist_read(struct fy_node *mn, struct hist *h)
{
    struct fy_node *bins = merge_at(mn, "hist/bins"), *b;
    uint64_t count, overflow, sum, us, n, seen = 0;
    void *it = NULL;

    if (!merge_u64(mn, "count", &count) || !merge_u64(mn, "overflow", &overflow) ||
        merge_dbl(mn, "min") < 0 || merge_dbl(mn, "max") < 0 || !bins ||
        fy_node_get_type(bins) != FYNT_SEQUENCE)
        return "count, overflow, min, max or hist.bins missing or not a number";
    /* results written before hist.sum_ns existed: the mean's 10 digits */
    if (!merge_at(mn, "hist/sum_ns"))
        sum = (uint64_t)llround(merge_dbl(mn, "mean") * (double)count * 1000);
    else if (!merge_u64(mn, "hist/sum_ns", &sum))
        return "hist.sum_ns is not a number";
    hist_init(h);
    while ((b = fy_node_sequence_iterate(bins, &it))) {
        if (fy_node_get_type(b) != FYNT_SEQUENCE || fy_node_sequence_item_count(b) != 2 ||
            !merge_u64(fy_node_sequence_get_by_index(b, 0), "", &us) ||
            !merge_u64(fy_node_sequence_get_by_index(b, 1), "", &n) || us > HIST_MAX_US ||
            __builtin_add_overflow(seen, n, &seen))
            return "a bin is not [value_us, count] within the layout";
        hist_record_n_us(h, us, n);
    }
    if (__builtin_add_overflow(seen, overflow, &seen) || seen != count)
        return "bins + overflow do not add up to count";
    h->count = count;
    h->overflow = overflow;
    h->sum_ns = sum;
    h->min_ns = count ? (uint64_t)llround(merge_dbl(mn, "min") * 1000) : UINT64_MAX;
    h->max_ns = count ? (uint64_t)llround(merge_dbl(mn, "max") * 1000) : 0;
    return NULL;
}

/* One input's histogram, its layout checked first. */
static int merge_hist_one(const struct merge *m, uint32_t i, struct fy_node *mn, const char *name,
                          struct hist *h)
{
    const char *why;

    if (merge_layout(m, i, mn, name))
        return -1;
    why = merge_hist_read(mn, h);
    return why ? hist_fail(m, i, name, why) : 0;
}

static int merge_metric_slot(const struct merge *m, struct merge_level *lv, const char *name)
{
    for (uint32_t k = 0; k < lv->nmet; k++)
        if (!strcmp(lv->met_name[k], name))
            return (int)k;
    if (lv->nmet == MERGE_MAX_METRICS || strlen(name) >= sizeof(lv->met_name[0])) {
        fprintf(stderr, "stampede: merge: %s: too many metrics or name too long\n", m->path[0]);
        return -1;
    }
    lv->met[lv->nmet] = malloc(sizeof(struct hist));
    if (!lv->met[lv->nmet])
        return -1;
    hist_init(lv->met[lv->nmet]);
    snprintf(lv->met_name[lv->nmet], sizeof(lv->met_name[0]), "%s", name);
    return (int)lv->nmet++;
}

static int merge_hists(const struct merge *m, struct merge_level *lv, struct hist *tmp)
{
    for (uint32_t i = 0; i < m->n; i++) {
        struct fy_node *ms = merge_at(lv->r[i], "metrics");
        struct fy_node_pair *p;
        void *it = NULL;

        if (!ms || fy_node_get_type(ms) != FYNT_MAPPING)
            return hist_fail(m, i, "", "no metrics object");
        while ((p = fy_node_mapping_iterate(ms, &it))) {
            const char *name = fy_node_get_scalar0(fy_node_pair_key(p));
            int k = name ? merge_metric_slot(m, lv, name) : -1;

            if (k < 0 || merge_hist_one(m, i, fy_node_pair_value(p), name, tmp))
                return -1;
            hist_merge(lv->met[k], tmp);
        }
    }
    return 0;
}

static int exit_rank(int code)
{
    return code == 130 ? 3 : code == 1 ? 2 : code && code != MERGE_EXIT_THRESHOLDS ? 1 : 0;
}

static void merge_level_sums(const struct merge *m, struct merge_level *lv)
{
    for (uint32_t i = 0; i < m->n; i++) {
        double d = merge_dbl(lv->r[i], "duration_s");
        uint64_t code = 0;
        int c;

        merge_u64(lv->r[i], "exit_code", &code);
        c = code > 255 ? 1 : (int)code;
        lv->duration_s = d > lv->duration_s ? d : lv->duration_s;
        if (exit_rank(c) > exit_rank(lv->exit_code))
            lv->exit_code = c;
    }
}

/* ---- thresholds ---------------------------------------------------------------------------- */

static int merge_thr_add(struct merge *m, const struct thr *t)
{
    for (uint32_t k = 0; k < m->nthr; k++)
        if (!strcmp(m->thr[k].metric, t->metric) && !strcmp(m->thr[k].expr, t->expr))
            return 0;
    if (m->nthr == MERGE_MAX_THR) {
        fputs("stampede: merge: too many thresholds\n", stderr);
        return -1;
    }
    m->thr[m->nthr++] = *t;
    return 0;
}

static int merge_thr_file(struct merge *m, uint32_t i, struct fy_node *arr)
{
    struct fy_node *e;
    void *it = NULL;

    while (arr && fy_node_get_type(arr) == FYNT_SEQUENCE && (e = fy_node_sequence_iterate(arr, &it))) {
        const char *metric = merge_str(e, "metric"), *expr = merge_str(e, "expr");
        const char *src = merge_str(e, "source");
        char err[256];
        struct thr t;

        if (!metric || !expr || thr_parse(&t, metric, expr, err, sizeof(err))) {
            fprintf(stderr, "stampede: merge: %s: threshold %s:%s: %s\n", m->path[i],
                    metric ? metric : "?", expr ? expr : "?", metric && expr ? err : "malformed");
            return -1;
        }
        snprintf(t.where, sizeof(t.where), "%s", src && *src ? src : m->path[i]);
        if (merge_thr_add(m, &t))
            return -1;
    }
    return 0;
}

static int merge_thresholds(struct merge *m, const struct ci_opts *ci)
{
    char why[256];

    for (uint32_t i = 0; i < m->n; i++) {
        if (merge_thr_file(m, i, merge_at(m->root[i], "thresholds")))
            return -1;
        for (uint32_t k = 0; m->multi && k < m->nlv; k++)
            if (merge_thr_file(m, i, merge_at(m->lv[k].r[i], "thresholds")))
                return -1;
    }
    for (uint32_t k = 0; k < ci->nthr; k++) {
        if (!metrics_known(NULL, ci->thr[k].metric, why, sizeof(why))) {
            fprintf(stderr, "stampede: --threshold: %s\n", why);
            return -1;
        }
        if (merge_thr_add(m, &ci->thr[k]))
            return -1;
    }
    return 0;
}

/* ---- text --------------------------------------------------------------------------------- */

static void merge_text_level(FILE *f, const struct merge *m, const struct merge_level *lv)
{
    static const char *const pct[] = {"p50", "p75", "p90", "p95", "p99", "p99.9", "p99.99"};
    uint64_t req = merge_sum(m, lv, "counters/requests");
    uint64_t resp = merge_sum(m, lv, "counters/responses");
    uint64_t err = merge_sum_map(m, lv, "counters/errors");
    char b[32];

    if (lv->name)
        fprintf(f, "\n== scenario %s ==\n", lv->name);
    units_fmt_duration(b, sizeof(b), (uint64_t)(lv->duration_s * 1e9));
    fprintf(f, "  %-13s%s (the longest input)\n", "duration", b);
    fprintf(f, "  %-13s%llu sent, %llu answered, %llu errors, %llu conn errors\n", "requests",
            (unsigned long long)req, (unsigned long long)resp, (unsigned long long)err,
            (unsigned long long)merge_sum_map(m, lv, "counters/conn_errors"));
    fprintf(f, "  %-13s%.1f/s sent, %.1f/s answered\n", "rate",
            lv->duration_s > 0 ? (double)req / lv->duration_s : 0,
            lv->duration_s > 0 ? (double)resp / lv->duration_s : 0);
    fprintf(f, "\n  %-18s %9s %9s", "latency", "min", "mean");
    for (size_t i = 0; i < sizeof(pct) / sizeof(pct[0]); i++)
        fprintf(f, " %9s", pct[i]);
    fprintf(f, " %9s\n", "max");
    for (uint32_t k = 0; k < lv->nmet; k++)
        report_text_latency_row(f, lv->met_name[k], lv->met[k]);
}

static void merge_text(FILE *f, const struct merge *m)
{
    fprintf(f, "stampede merge: %u result%s:", m->n, m->n == 1 ? "" : "s");
    for (uint32_t i = 0; i < m->n; i++)
        fprintf(f, " %s", m->path[i]);
    fputc('\n', f);
    for (uint32_t k = 0; k < m->nlv; k++)
        merge_text_level(f, m, &m->lv[k]);
    report_thresholds_text(f, m->thr, m->nthr);
    fprintf(f, "\n  merged verdict: exit %d\n", m->exit_code);
}

/* ---- outputs ------------------------------------------------------------------------------ */

static int merge_json_buf(const struct merge *m, char **buf, size_t *len)
{
    FILE *f = open_memstream(buf, len);
    struct json j;

    if (!f)
        return -1;
    json_init(&j, f);
    merge_emit_level(&j, NULL, m, m->multi ? &m->lv[m->nlv] : &m->lv[0], true);
    json_end(&j);
    return fclose(f) ? -1 : 0;
}

static int merge_write(const char *path, const char *buf, size_t len)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    int err = 0;

    if (!f)
        return -errno;
    if (fwrite(buf, 1, len, f) != len)
        err = -EIO;
    if (f != stdout && fclose(f) && !err)
        err = -errno;
    return err;
}

/* --hdr-log on a merge: the intervals are gone (results carry totals), so
 * one whole-run line per merged duration metric, from 0 over the merged
 * duration; StartTime is the time of the merge. -errno on failure. */
static int merge_hdr_log(const char *path, const struct metric_set *ms)
{
    struct timespec now;
    struct hdrlog *l;

    clock_gettime(CLOCK_REALTIME, &now);
    l = hdrlog_open(path, (double)now.tv_sec + now.tv_nsec / 1e9);
    if (!l)
        return -errno;
    for (uint32_t i = 0; i < ms->n; i++)
        if (ms->m[i].kind == METRIC_DURATION && ms->m[i].h)
            hdrlog_write(l, ms->m[i].name, 0, ms->run_s, ms->m[i].h);
    return hdrlog_close(l); /* it keeps the first write error */
}

static int merge_outputs(const struct merge *m, struct ci_opts *ci, const struct metric_set *ms,
                         const char *json_path)
{
    char *buf = NULL;
    size_t len = 0;
    int err, rc = 0;

    if (merge_json_buf(m, &buf, &len)) {
        fputs("stampede: merge: out of memory\n", stderr);
        return 1;
    }
    if (json_path && (err = merge_write(json_path, buf, len))) {
        fprintf(stderr, "stampede: cannot write %s: %s\n", json_path, strerror(-err));
        rc = 1;
    }
    if (ci->html && (err = html_write(ci->html, buf, len))) {
        fprintf(stderr, "stampede: cannot write --html %s: %s\n", ci->html, strerror(-err));
        rc = 1;
    }
    if (ci->hdr_log && (err = merge_hdr_log(ci->hdr_log, ms))) {
        fprintf(stderr, "stampede: cannot write --hdr-log %s: %s\n", ci->hdr_log, strerror(-err));
        rc = 1;
    }
    if (ci->junit && ci_junit(ci, "stampede merge", m->thr, m->nthr, ms)) {
        fprintf(stderr, "stampede: cannot write --junit %s: %s\n", ci->junit, strerror(errno));
        rc = 1;
    }
    if (ci->summary_md && ci_summary_md(ci, "stampede merge", m->thr, m->nthr, ms, m->exit_code)) {
        fprintf(stderr, "stampede: cannot write --summary-md %s: %s\n", ci->summary_md,
                strerror(errno));
        rc = 1;
    }
    free(buf);
    return rc;
}

/* ---- the command -------------------------------------------------------------------------- */

struct merge_args {
    const char *json;
    bool quiet;
};

static int merge_args(int argc, char **argv, struct merge_args *a, const char **files,
                      uint32_t *n)
{
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];

        if (!strcmp(s, "--json") || !strncmp(s, "--json=", 7)) {
            a->json = s[6] ? s + 7 : i + 1 < argc ? argv[++i] : NULL;
            if (!a->json || !*a->json) {
                fputs("stampede: merge: --json needs a file (or -)\n", stderr);
                return 2;
            }
        } else if (!strcmp(s, "-q") || !strcmp(s, "--quiet")) {
            a->quiet = true;
        } else if (!strcmp(s, "-h") || !strcmp(s, "--help")) {
            fputs(MERGE_USAGE "  Adds result files (shards of one load, or repeats) into one: "
                  "counters and\n  histograms exactly; thresholds judged on the merge "
                  "(README: Merging results).\n", stdout);
            return -1;
        } else if (s[0] == '-' && s[1]) {
            fprintf(stderr, "stampede: merge: unknown flag '%s'\n" MERGE_USAGE, s);
            return 2;
        } else if (*n == MERGE_MAX_IN) {
            fprintf(stderr, "stampede: merge: at most %d files\n", MERGE_MAX_IN);
            return 2;
        } else {
            files[(*n)++] = s;
        }
    }
    if (!*n) {
        fputs(MERGE_USAGE, stderr);
        return 2;
    }
    return 0;
}

/* Load, check and merge everything the JSON needs; 0 or -1 (printed). */
static int merge_prepare(struct merge *m, const struct ci_opts *ci, struct hist *tmp)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (merge_load(m, i) || merge_check_top(m, i))
            return -1;
    if (merge_levels(m))
        return -1;
    for (uint32_t k = 0; k < m->nlv; k++) {
        if (merge_check_config(m, &m->lv[k]) || merge_hists(m, &m->lv[k], tmp))
            return -1;
        merge_level_sums(m, &m->lv[k]);
    }
    if (merge_check_shards(m, &m->lv[0]))
        return -1;
    merge_level_sums(m, &m->lv[m->nlv]);
    m->exit_code = m->multi ? m->lv[m->nlv].exit_code : m->lv[0].exit_code;
    return merge_thresholds(m, ci);
}

/* Thresholds and the baseline on the merge; 0, or -1 (baseline unreadable). */
static int merge_judge(struct merge *m, struct ci_opts *ci, const struct metric_set *ms)
{
    int reg;

    m->failed = metrics_judge(ms, m->thr, m->nthr);
    reg = ci_baseline(ci, ms);
    if (reg < 0)
        return -1;
    if ((m->failed || reg) && m->exit_code == 0)
        m->exit_code = MERGE_EXIT_THRESHOLDS;
    return 0;
}

static void merge_free(struct merge *m)
{
    for (uint32_t k = 0; m->lv && k <= m->nlv; k++)
        for (uint32_t i = 0; i < m->lv[k].nmet; i++)
            free(m->lv[k].met[i]);
    free(m->lv);
    for (uint32_t i = 0; i < m->n; i++)
        if (m->doc[i])
            fy_document_destroy(m->doc[i]);
}

int merge_cmd(int argc, char **argv, struct ci_opts *ci)
{
    struct merge_args a = {0};
    struct merge *m = calloc(1, sizeof(*m));
    struct metric_set *ms = calloc(1, sizeof(*ms));
    struct hist *tmp = malloc(sizeof(*tmp));
    const char **files = calloc(MERGE_MAX_IN, sizeof(*files));
    FILE *out;
    int code = 2;

    if (!m || !ms || !tmp || !files)
        goto out;
    m->path = files;
    code = merge_args(argc, argv, &a, files, &m->n);
    if (code < 0) {
        code = 0; /* --help */
        goto out;
    }
    if (code)
        goto out;
    code = 2;
    if (merge_prepare(m, ci, tmp) || merge_metric_set(m, ms) || merge_judge(m, ci, ms))
        goto out;
    out = a.json && !strcmp(a.json, "-") ? stderr : stdout;
    if (!a.quiet) {
        merge_text(out, m);
        ci_regressions_text(out, ci);
    } else if (m->failed) {
        fprintf(stderr, "stampede: %u thresholds failed\n", m->failed);
    }
    /* the merged verdict: an input's failure (1) or interruption (130)
     * outranks a failed threshold (99); a write failure is 1 */
    code = merge_outputs(m, ci, ms, a.json);
    if (!code || exit_rank(m->exit_code) >= exit_rank(1))
        code = m->exit_code;
out:
    if (m)
        merge_free(m);
    if (ms)
        metrics_fini(ms);
    free(ms);
    free(tmp);
    free(files);
    free(m);
    return code;
}
