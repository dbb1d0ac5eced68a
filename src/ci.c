/*
 * ci.c - CI flags, JUnit XML, Markdown summary, baseline comparison; see
 * ci.h. The baseline is an earlier JSON result (read with libfyaml); its
 * histogram is rebuilt from the stored bins, so any percentile compares
 * exactly, not only the ones the result lists.
 */
#include "ci.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdlib.h>
#include <string.h>

#include "merge.h"

/* ---- flags ---------------------------------------------------------------------- */

static int ci_regression(struct ci_opts *o, const char *arg)
{
    struct ci_regression *g = &o->reg[o->nreg];
    const char *c1 = strchr(arg, ':'), *c2 = c1 ? strrchr(arg, ':') : NULL;
    char agg[64], err[200], *end;

    if (o->nreg == CI_MAX_REGRESSIONS || !c1 || c2 == c1 || (size_t)(c1 - arg) >= sizeof(g->metric))
        goto bad;
    snprintf(g->spec, sizeof(g->spec), "%s", arg);
    snprintf(g->metric, sizeof(g->metric), "%.*s", (int)(c1 - arg), arg);
    snprintf(agg, sizeof(agg), "%.*s<1", (int)(c2 - c1 - 1), c1 + 1);
    if (thr_parse(&g->agg, g->metric, agg, err, sizeof(err)) || g->agg.agg == THR_RATE ||
        g->agg.agg == THR_COUNT)
        goto bad;
    g->budget = strtod(c2 + 1, &end) / 100;
    if (end == c2 + 1 || *end != '%' || end[1] || g->budget < 0)
        goto bad;
    o->nreg++;
    return 0;
bad:
    fprintf(stderr, "stampede: invalid value '%s' for --max-regression: expected "
                    "METRIC:AGG:+N%% with a duration aggregation, e.g. "
                    "'http_req_duration:p(99):+10%%'\n", arg);
    return 2;
}

/* Value of --name=V or --name V at argv[*i]; NULL if argv[*i] is not --name. */
static const char *ci_value(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n))
        return NULL;
    if (argv[*i][n] == '=')
        return argv[*i] + n + 1;
    if (argv[*i][n])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

/* --shard i/N: this process is the i-th of N (1 <= i <= N <= 10000). */
static int ci_shard(struct ci_opts *o, const char *v)
{
    unsigned i, n;
    int used = 0;

    if (sscanf(v, "%u/%u%n", &i, &n, &used) != 2 || v[used] || !n || n > 10000 || !i || i > n) {
        fprintf(stderr, "stampede: --shard '%s': expected i/N with 1 <= i <= N <= 10000 "
                "(e.g. 2/4: the second of four shards)\n", v);
        return -1;
    }
    if (n == 1)
        return 0; /* the whole load: an ordinary run, judged as one */
    o->shard_i = i;
    o->shard_n = n;
    return 0;
}

int ci_extract(struct ci_opts *o, int *argc, char **argv)
{
    int out = 1;

    memset(o, 0, sizeof(*o));
    for (int i = 1; i < *argc; i++) {
        bool missing = false;
        const char *v;
        char err[256];
        int start = i;

        if (!strcmp(argv[i], "--")) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if ((v = ci_value(*argc, argv, &i, "--threshold", &missing))) {
            if (o->nthr == CI_MAX_THR || thr_parse_flag(&o->thr[o->nthr], v, err, sizeof(err))) {
                fprintf(stderr, "stampede: --threshold: %s\n",
                        o->nthr == CI_MAX_THR ? "too many" : err);
                return 2;
            }
            o->nthr++;
        } else if ((v = ci_value(*argc, argv, &i, "--junit", &missing))) {
            o->junit = v;
        } else if ((v = ci_value(*argc, argv, &i, "--summary-md", &missing))) {
            o->summary_md = v;
        } else if ((v = ci_value(*argc, argv, &i, "--baseline", &missing))) {
            o->baseline = v;
        } else if ((v = ci_value(*argc, argv, &i, "--max-regression", &missing))) {
            if (ci_regression(o, v))
                return 2;
        } else if ((v = ci_value(*argc, argv, &i, "--html", &missing))) {
            o->html = v;
        } else if ((v = ci_value(*argc, argv, &i, "--hdr-log", &missing))) {
            o->hdr_log = v;
        } else if ((v = ci_value(*argc, argv, &i, "--shard", &missing))) {
            if (ci_shard(o, v))
                return 2;
        } else if (!missing) {
            argv[out++] = argv[i];
            continue;
        }
        if (missing) {
            fprintf(stderr, "stampede: %s needs a value\n", argv[start]);
            return 2;
        }
    }
    argv[out] = NULL;
    *argc = out;
    if (o->nreg && !o->baseline) {
        fputs("stampede: --max-regression needs --baseline FILE\n", stderr);
        return 2;
    }
    if (o->baseline && !o->nreg) {
        fputs("stampede: --baseline needs at least one --max-regression "
              "'METRIC:AGG:+N%'\n", stderr);
        return 2;
    }
    return 0;
}

/* ---- baseline -------------------------------------------------------------------- */

/* Rebuild metric `name`'s histogram from the baseline, exactly as merge
 * reads a result (min, max and sum too, so percentiles cap at the max). */
static bool ci_base_hist(struct fy_document *d, const char *name, struct hist *h)
{
    struct fy_node *root = fy_document_root(d), *m;

    m = root ? fy_node_mapping_lookup_by_string(root, "metrics", FY_NT) : NULL;
    m = m ? fy_node_mapping_lookup_by_string(m, name, FY_NT) : NULL;
    return m && !merge_hist_read(m, h);
}

int ci_baseline(struct ci_opts *o, const struct metric_set *ms)
{
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_JSON_FORCE};
    struct fy_document *d;
    struct hist *h;
    int failed = 0;

    if (!o->baseline)
        return 0;
    d = fy_document_build_from_file(&cfg, o->baseline);
    if (!d) {
        fprintf(stderr, "stampede: --baseline %s: cannot read it as a JSON result\n",
                o->baseline);
        return -1;
    }
    h = malloc(sizeof(*h));
    for (uint32_t i = 0; h && i < o->nreg; i++) {
        struct ci_regression *g = &o->reg[i];
        const struct metric *cur = metrics_find(ms, g->metric);
        struct metric base = {.kind = METRIC_DURATION, .h = h};

        g->evaluated = true;
        g->missing = !cur || !metrics_value(ms, cur, &g->agg, &g->now) ||
                     !ci_base_hist(d, g->metric, h) || !metrics_value(ms, &base, &g->agg, &g->base);
        g->passed = !g->missing && g->now <= g->base * (1 + g->budget);
        failed += !g->passed;
    }
    free(h);
    fy_document_destroy(d);
    return failed;
}

void ci_regressions_text(FILE *f, const struct ci_opts *o)
{
    if (!o->nreg)
        return;
    fprintf(f, "\n  baseline %s\n", o->baseline);
    for (uint32_t i = 0; i < o->nreg; i++) {
        const struct ci_regression *g = &o->reg[i];
        char a[32], b[32];

        thr_format(&g->agg, g->base, a, sizeof(a));
        thr_format(&g->agg, g->now, b, sizeof(b));
        if (g->missing)
            fprintf(f, "    FAIL %-44s metric missing in the run or the baseline\n", g->spec);
        else
            fprintf(f, "    %s %-44s baseline %s, now %s (%+.1f%%)\n", g->passed ? "PASS" : "FAIL",
                    g->spec, a, b, g->base > 0 ? 100 * (g->now / g->base - 1) : 0);
    }
}

/* ---- JUnit ----------------------------------------------------------------------- */

static void xml_esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

static uint32_t ci_ncheck_groups(const struct metric_set *ms)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < ms->n; i++)
        n += !strncmp(ms->m[i].name, "checks{check:", 13);
    return n;
}

static int ci_close(FILE *f)
{
    int err = ferror(f) ? -EIO : 0;

    if (fclose(f) && !err)
        err = -errno;
    return err;
}

int ci_junit(const struct ci_opts *o, const char *name, const struct thr *t, uint32_t n,
             const struct metric_set *ms)
{
    FILE *f = fopen(o->junit, "w");
    uint32_t tests = n + ci_ncheck_groups(ms) + o->nreg, failures = 0;

    if (!f)
        return -errno;
    for (uint32_t i = 0; i < n; i++)
        failures += !t[i].passed;
    for (uint32_t i = 0; i < ms->n; i++)
        failures += !strncmp(ms->m[i].name, "checks{check:", 13) && ms->m[i].num != ms->m[i].den;
    for (uint32_t i = 0; i < o->nreg; i++)
        failures += !o->reg[i].passed;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n", f);
    fputs("  <testsuite name=\"", f);
    xml_esc(f, name);
    fprintf(f, "\" tests=\"%u\" failures=\"%u\" errors=\"0\" time=\"%.3f\">\n", tests, failures,
            ms->run_s);
    for (uint32_t i = 0; i < n; i++) {
        char a[32] = "no samples", b[32];

        if (!t[i].missing)
            thr_format(&t[i], t[i].actual, a, sizeof(a));
        thr_format(&t[i], t[i].bound, b, sizeof(b));
        fputs("    <testcase classname=\"thresholds\" name=\"", f);
        xml_esc(f, t[i].metric);
        fputs(": ", f);
        xml_esc(f, t[i].expr);
        fputs("\">", f);
        if (!t[i].passed) {
            fputs("<failure message=\"", f);
            xml_esc(f, t[i].expr);
            fprintf(f, " failed: actual %s\"/>", a);
        }
        fputs("</testcase>\n", f);
    }
    for (uint32_t i = 0; i < ms->n; i++) {
        const struct metric *m = &ms->m[i];
        size_t len = strlen(m->name);

        if (strncmp(m->name, "checks{check:", 13))
            continue;
        fputs("    <testcase classname=\"checks\" name=\"", f);
        fprintf(f, "%.*s", (int)(len - 14), m->name + 13);
        fputs("\">", f);
        if (m->num != m->den)
            fprintf(f, "<failure message=\"%llu of %llu failed\"/>",
                    (unsigned long long)(m->den - m->num), (unsigned long long)m->den);
        fputs("</testcase>\n", f);
    }
    for (uint32_t i = 0; i < o->nreg; i++) {
        fputs("    <testcase classname=\"baseline\" name=\"", f);
        xml_esc(f, o->reg[i].spec);
        fputs("\">", f);
        if (!o->reg[i].passed)
            fprintf(f, "<failure message=\"%s\"/>",
                    o->reg[i].missing ? "metric missing" : "regression over budget");
        fputs("</testcase>\n", f);
    }
    fputs("  </testsuite>\n</testsuites>\n", f);
    return ci_close(f);
}

/* ---- Markdown ------------------------------------------------------------------------- */

static void md_duration_row(FILE *f, const struct metric *m)
{
    struct thr t = {.agg = THR_PCT};
    double v;

    fprintf(f, "| `%s` | %llu |", m->name, (unsigned long long)m->h->count);
    for (int k = 0; k < 4; k++) {
        static const double pct[] = {50, 95, 99, 100};
        char b[32] = "-";

        t.pct = pct[k];
        t.agg = k == 3 ? THR_MAX : THR_PCT;
        if (metrics_value(NULL, m, &t, &v))
            thr_format(&t, v, b, sizeof(b));
        fprintf(f, " %s |", b);
    }
    fputc('\n', f);
}

int ci_summary_md(const struct ci_opts *o, const char *name, const struct thr *t, uint32_t n,
                  const struct metric_set *ms, int exit_code)
{
    FILE *f = fopen(o->summary_md, "a"); /* $GITHUB_STEP_SUMMARY is appended to */
    uint32_t failed = 0;

    if (!f)
        return -errno;
    for (uint32_t i = 0; i < n; i++)
        failed += !t[i].passed;
    fprintf(f, "## stampede: %s: %s\n\n", name,
            exit_code == 0 ? "passed" : exit_code == 99 ? "thresholds failed" : "run failed");
    if (n) {
        fprintf(f, "%u of %u thresholds passed.\n\n", n - failed, n);
        fputs("| | metric | threshold | actual |\n|---|---|---|---|\n", f);
        for (uint32_t i = 0; i < n; i++) {
            char a[32] = "no samples";

            if (!t[i].missing)
                thr_format(&t[i], t[i].actual, a, sizeof(a));
            fprintf(f, "| %s | `%s` | `%s` | %s |\n", t[i].passed ? "✅" : "❌", t[i].metric,
                    t[i].expr, a);
        }
        fputc('\n', f);
    }
    if (ci_ncheck_groups(ms)) {
        fputs("| | check | passed | failed |\n|---|---|---|---|\n", f);
        for (uint32_t i = 0; i < ms->n; i++) {
            const struct metric *m = &ms->m[i];

            if (strncmp(m->name, "checks{check:", 13))
                continue;
            fprintf(f, "| %s | %.*s | %llu | %llu |\n", m->num == m->den ? "✅" : "❌",
                    (int)(strlen(m->name) - 14), m->name + 13, (unsigned long long)m->num,
                    (unsigned long long)(m->den - m->num));
        }
        fputc('\n', f);
    }
    for (uint32_t i = 0; i < o->nreg; i++)
        fprintf(f, "%s baseline `%s`%s\n\n", o->reg[i].passed ? "✅" : "❌", o->reg[i].spec,
                o->reg[i].missing ? " (metric missing)" : "");
    fputs("| metric | count | p50 | p95 | p99 | max |\n|---|---|---|---|---|---|\n", f);
    for (uint32_t i = 0; i < ms->n; i++)
        if (ms->m[i].kind == METRIC_DURATION && ms->m[i].h->count &&
            !strstr(ms->m[i].name, "scenario:"))
            md_duration_row(f, &ms->m[i]);
    fputc('\n', f);
    return ci_close(f);
}
