/*
 * main.c - commands, runs, reports, verdicts.
 *
 *   stampede [flags] URL            one load from flags
 *   stampede run FILE [flags]       the scenarios of a file, at the same time
 *   stampede validate FILE...       check files, send nothing
 *   stampede report RESULT --html F re-render a saved result as HTML
 *   stampede merge FILE... --json F merge shards' results, judge thresholds
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage or config error, 99 a
 * threshold or the baseline budget failed, 130 interrupted (the report is
 * still written).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ci.h"
#include "cli.h"
#include "engine.h"
#include "hdrlog.h"
#include "html.h"
#include "merge.h"
#include "metrics.h"
#include "report.h"
#include "report_flow.h"
#include "scenario.h"
#include "shard.h"
#include "sysinfo.h"

#define EXIT_THRESHOLDS 99

struct run_one {
    const char *name;
    const struct plan *plan;
    struct result *r;
    FILE *ts_out;
    pthread_t thread;
};

struct verdict {
    struct thr thr[SCEN_MAX_THRESHOLDS + CI_MAX_THR];
    uint32_t nthr;
    uint32_t failed;
    int regressions;
};

static void *run_thread(void *arg)
{
    struct run_one *o = arg;

    engine_run(o->plan, o->r, o->ts_out);
    return NULL;
}

/* Run every plan at the same time (one engine each). */
static void run_all(struct run_one *runs, uint32_t n)
{
    sigset_t set, old;

    if (n == 1) {
        engine_run(runs[0].plan, runs[0].r, runs[0].ts_out);
        return;
    }
    /* signals stay blocked here: the engines take them with sigtimedwait */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    for (uint32_t i = 0; i < n; i++)
        if (pthread_create(&runs[i].thread, NULL, run_thread, &runs[i])) {
            fputs("stampede: cannot start a scenario thread\n", stderr);
            exit(1);
        }
    for (uint32_t i = 0; i < n; i++)
        pthread_join(runs[i].thread, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The JSON result: one scenario's as it is; several nested by name. */
static void write_json_f(FILE *f, struct run_one *runs, uint32_t n, int code,
                         const struct verdict *v)
{
    if (n == 1) {
        report_json(f, runs[0].plan, runs[0].r);
        return;
    }
    fprintf(f, "{\"schema\":\"%s\",\"exit_code\":%d,\"scenarios\":{", REPORT_SCHEMA, code);
    for (uint32_t i = 0; i < n; i++) {
        fprintf(f, "%s\"%s\":", i ? "," : "", runs[i].name);
        runs[i].r->nthr = 0; /* judged on the whole run, below */
        report_json(f, runs[i].plan, runs[i].r);
    }
    fputs("},\"thresholds\":[", f);
    for (uint32_t i = 0; i < v->nthr; i++) {
        const struct thr *t = &v->thr[i];

        /* metric names and expressions are checked: no quotes or controls */
        fprintf(f, "%s{\"metric\":\"%s\",\"expr\":\"%s\",\"passed\":%s,\"actual\":", i ? "," : "",
                t->metric, t->expr, t->passed ? "true" : "false");
        if (t->missing)
            fputs("null", f);
        else
            fprintf(f, "%.17g", t->actual);
        fprintf(f, ",\"bound\":%.17g}", t->bound);
    }
    fputs("]}\n", f);
}

static int write_json(const char *path, struct run_one *runs, uint32_t n, int code,
                      const struct verdict *v)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    int err = 0;

    if (!f)
        return -errno;
    write_json_f(f, runs, n, code, v);
    if (ferror(f))
        err = -EIO;
    if (f != stdout && fclose(f) && !err)
        err = -errno;
    return err;
}

/* The HTML report embeds the JSON result, built in memory. -1 + errno. */
static int write_html(const char *path, struct run_one *runs, uint32_t n, int code,
                      const struct verdict *v)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    int err;

    if (!m)
        return -1;
    write_json_f(m, runs, n, code, v);
    if (fclose(m)) {
        free(buf);
        return -1;
    }
    err = html_write(path, buf, len);
    free(buf);
    if (err) {
        errno = -err;
        return -1;
    }
    return 0;
}

static int worst(int a, int b)
{
    static const int rank[] = {0, EXIT_THRESHOLDS, 1, 130};

    for (int i = 3; i >= 0; i--)
        if (a == rank[i] || b == rank[i])
            return rank[i];
    return a ? a : b;
}

/* Has this metric its per-interval lines already (the engines' hook)? */
static bool hdr_is_main(const struct run_one *runs, uint32_t n, const char *name)
{
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(name, plan_main_metric(runs[i].plan)) ||
            !strcmp(name, runs[i].plan->hdr_tag))
            return true;
    return false;
}

/* --hdr-log, after the run: one whole-run line (from the end of the warm-up,
 * the run's length) for every other duration metric, then close. 0/-errno. */
static int hdr_finish(struct run_one *runs, uint32_t n, const struct metric_set *ms)
{
    struct hdrlog *l = runs[0].plan->hdrlog;
    double start_s = runs[0].plan->warmup_ns / 1e9;

    for (uint32_t i = 0; i < ms->n; i++) {
        const struct metric *m = &ms->m[i];

        if (m->kind == METRIC_DURATION && m->h && !hdr_is_main(runs, n, m->name) &&
            hdrlog_write(l, m->name, start_s, ms->run_s, m->h))
            break;
    }
    /* send_lag is no threshold metric (not in ms): from each open-loop run */
    for (uint32_t i = 0; i < n; i++) {
        char tag[160];

        if (!runs[i].plan->open_loop)
            continue;
        if (n > 1)
            snprintf(tag, sizeof(tag), "send_lag{scenario:%s}", runs[i].name);
        else
            snprintf(tag, sizeof(tag), "send_lag");
        hdrlog_write(l, tag, start_s, ms->run_s, &runs[i].r->total.send_lag);
    }
    return hdrlog_close(l); /* it keeps the first write error */
}

/* After the run: judge, report, write the outputs; returns the exit code. */
static int finish(struct run_one *runs, uint32_t n, const struct scen_file *sf,
                  struct ci_opts *ci, const char *json_path, bool quiet, const char *title)
{
    static struct metric_set ms;
    static struct verdict v;
    FILE *out = json_path && !strcmp(json_path, "-") ? stderr : stdout;
    int code = 0;

    memset(&ms, 0, sizeof(ms));
    memset(&v, 0, sizeof(v));
    for (uint32_t i = 0; i < n; i++) {
        char tag[96];

        snprintf(tag, sizeof(tag), "scenario:%s", runs[i].name);
        metrics_add(&ms, runs[i].plan, runs[i].r, n > 1 ? tag : NULL);
        code = worst(code, runs[i].r->exit_code);
    }
    for (uint32_t i = 0; sf && i < sf->nthr; i++)
        v.thr[v.nthr++] = sf->thr[i];
    for (uint32_t i = 0; i < ci->nthr; i++)
        v.thr[v.nthr++] = ci->thr[i];
    v.failed = metrics_judge(&ms, v.thr, v.nthr);
    for (uint32_t i = 0; i < n; i++) {
        const struct result *r = runs[i].r;
        const struct thr *a;

        if (r->aborted_thr < 0)
            continue;
        a = &runs[i].plan->abort_thr[r->aborted_thr];
        fprintf(stderr, "stampede: %s: threshold %s:%s failed at %.1fs: run aborted "
                "(abort_on_fail)\n", runs[i].name, a->metric, a->expr, r->aborted_at_s);
        /* it failed during the run: it stays failed, whatever the end says */
        for (uint32_t k = 0; k < v.nthr; k++)
            if (v.thr[k].abort_on_fail && !strcmp(v.thr[k].expr, a->expr) &&
                !strncmp(v.thr[k].metric, a->metric, strlen(a->metric)) && v.thr[k].passed) {
                v.thr[k].passed = false;
                v.failed++;
            }
    }
    v.regressions = ci_baseline(ci, &ms);
    if (v.regressions < 0)
        code = worst(code, 2);
    else if ((v.failed || v.regressions) && code == 0 && !ci->shard_n)
        code = EXIT_THRESHOLDS; /* a shard's thresholds are judged on the merge */
    for (uint32_t i = 0; i < n; i++) {
        runs[i].r->thr = v.thr;
        runs[i].r->nthr = v.nthr;
        if (quiet)
            continue;
        if (n > 1)
            fprintf(out, "\n== scenario %s ==\n", runs[i].name);
        report_text(out, runs[i].plan, runs[i].r);
    }
    if (!quiet) {
        report_thresholds_text(out, v.thr, v.nthr);
        ci_regressions_text(out, ci);
    } else if (code == EXIT_THRESHOLDS) {
        fprintf(stderr, "stampede: %u thresholds failed\n", v.failed);
    }
    if (runs[0].plan->hdrlog) {
        int err = hdr_finish(runs, n, &ms);

        if (err) {
            fprintf(stderr, "stampede: cannot write --hdr-log %s: %s\n", ci->hdr_log,
                    strerror(-err));
            code = worst(code, 1);
        }
    }
    if (json_path) {
        int err = write_json(json_path, runs, n, code, &v);

        if (err) {
            fprintf(stderr, "stampede: cannot write %s: %s\n", json_path, strerror(-err));
            code = worst(code, 1);
        }
    }
    if (ci->html && write_html(ci->html, runs, n, code, &v)) {
        fprintf(stderr, "stampede: cannot write --html %s: %s\n", ci->html, strerror(errno));
        code = worst(code, 1);
    }
    if (ci->junit && ci_junit(ci, title, v.thr, v.nthr, &ms)) {
        fprintf(stderr, "stampede: cannot write --junit %s: %s\n", ci->junit, strerror(errno));
        code = worst(code, 1);
    }
    if (ci->summary_md && ci_summary_md(ci, title, v.thr, v.nthr, &ms, code)) {
        fprintf(stderr, "stampede: cannot write --summary-md %s: %s\n", ci->summary_md,
                strerror(errno));
        code = worst(code, 1);
    }
    metrics_fini(&ms);
    return code;
}

static FILE *open_ts(const struct plan *p, int *code)
{
    FILE *f;

    if (!p->timeseries_path)
        return NULL;
    f = fopen(p->timeseries_path, "w");
    if (!f) {
        fprintf(stderr, "stampede: cannot write --timeseries %s: %s\n", p->timeseries_path,
                strerror(errno));
        *code = 2;
    }
    return f;
}

/* --hdr-log: created before the run, so an unwritable path fails (2) early. */
static struct hdrlog *hdr_open(const struct ci_opts *ci, int *code)
{
    struct timespec now;
    struct hdrlog *l;

    if (!ci->hdr_log)
        return NULL;
    clock_gettime(CLOCK_REALTIME, &now);
    l = hdrlog_open(ci->hdr_log, (double)now.tv_sec + now.tv_nsec / 1e9);
    if (!l) {
        fprintf(stderr, "stampede: cannot write --hdr-log %s: %s\n", ci->hdr_log, strerror(errno));
        *code = 2;
    }
    return l;
}

/* Give a plan the log (may be NULL) and the tag of its interval lines. */
static void hdr_attach(struct plan *p, struct hdrlog *l, const char *scenario)
{
    p->hdrlog = l;
    if (scenario)
        snprintf(p->hdr_tag, sizeof(p->hdr_tag), "%s{scenario:%s}", plan_main_metric(p),
                 scenario);
    else
        snprintf(p->hdr_tag, sizeof(p->hdr_tag), "%s", plan_main_metric(p));
}

/* --shard i/N: this process's slice of the plan (shard.h). */
static int apply_shard(struct plan *p, const struct ci_opts *ci)
{
    char err[256];

    if (!ci->shard_n || !shard_apply(p, ci->shard_i, ci->shard_n, err, sizeof(err)))
        return 0;
    fprintf(stderr, "stampede: %s\n", err);
    return -1;
}

static int cmd_flags(int argc, char **argv, struct ci_opts *ci)
{
    static struct plan plan;
    struct run_one run = {.name = "default", .plan = &plan};
    int code = 0;

    switch (cli_parse(argc, argv, &plan)) {
    case CLI_RUN:
        break;
    case CLI_EXIT_OK:
        return 0;
    case CLI_EXIT_RUNTIME:
        return 1;
    default:
        return 2;
    }
    for (uint32_t i = 0; i < ci->nthr; i++) {
        char why[256];

        if (!metrics_known(NULL, ci->thr[i].metric, why, sizeof(why))) {
            fprintf(stderr, "stampede: --threshold: %s\n", why);
            return 2;
        }
    }
    if (apply_shard(&plan, ci))
        return 2;
    run.r = calloc(1, sizeof(*run.r));
    run.ts_out = open_ts(&plan, &code);
    if (!code)
        hdr_attach(&plan, hdr_open(ci, &code), NULL);
    if (!run.r || code) {
        free(run.r);
        return run.r ? code : 1;
    }
    sysinfo_check(stderr, &plan);
    engine_run(&plan, run.r, run.ts_out);
    if (run.ts_out && fclose(run.ts_out) && run.r->exit_code == 0)
        run.r->exit_code = 1;
    code = finish(&run, 1, NULL, ci, plan.json_path, plan.quiet, "stampede");
    result_fini(run.r);
    free(run.r);
    plan_fini(&plan);
    return code;
}

/* Does this flag take the next argument as its value? */
static bool flag_takes_value(const char *a)
{
    if (a[0] == '-' && a[1] == '-') {
        char name[64];

        if (strchr(a, '='))
            return false;
        snprintf(name, sizeof(name), "%s", a + 2);
        return cli_opt_kind(name) == 1;
    }
    return a[0] == '-' && a[1] && !a[2] && strchr("ctdnHmR", a[1]);
}

struct run_args {
    const char *file;
    const char *json;
    bool quiet;
    struct scen_opts so;
    char *flags[256];
};

static int run_args(int argc, char **argv, struct run_args *ra)
{
    memset(ra, 0, sizeof(*ra));
    ra->so.flags = ra->flags;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];

        if (!strcmp(a, "--set") || !strncmp(a, "--set=", 6)) {
            const char *v = a[5] ? a + 6 : (i + 1 < argc ? argv[++i] : NULL);

            if (!v || ra->so.nsets == SCEN_MAX_SETS) {
                fputs("stampede: --set needs dotted.path=value\n", stderr);
                return 2;
            }
            ra->so.sets[ra->so.nsets++] = v;
        } else if (!strcmp(a, "--json") || !strncmp(a, "--json=", 7)) {
            ra->json = a[6] ? a + 7 : (i + 1 < argc ? argv[++i] : NULL);
            if (!ra->json) {
                fputs("stampede: --json needs a value\n", stderr);
                return 2;
            }
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            ra->quiet = true;
        } else if (a[0] != '-' && !ra->file) {
            ra->file = a;
        } else if (a[0] != '-') {
            fprintf(stderr, "stampede: run takes one file ('%s' and '%s' given)\n", ra->file, a);
            return 2;
        } else if (ra->so.nflags + 2 < 256) {
            char name[64];
            const char *eq = strchr(a, '=');

            snprintf(name, sizeof(name), "%.*s", (int)(eq ? eq - a - 2 : (long)strlen(a) - 2),
                     a + 2);
            ra->so.load_flags |= (a[1] == '-' && scen_is_load_flag(name)) ||
                                 (a[1] != '-' && strchr("cdnR", a[1]));
            ra->flags[ra->so.nflags++] = (char *)a;
            if (flag_takes_value(a) && i + 1 < argc)
                ra->flags[ra->so.nflags++] = argv[++i];
        }
    }
    if (!ra->file) {
        fputs("usage: stampede run FILE [--set key=value]... [flags]\n", stderr);
        return 2;
    }
    return 0;
}

/* Each scenario's abort_on_fail thresholds, tags stripped. */
static void set_aborts(struct scen_file *sf)
{
    static struct thr abort_thr[SCEN_MAX][SCEN_MAX_THRESHOLDS];

    for (uint32_t i = 0; i < sf->n; i++) {
        struct plan *p = &sf->s[i].plan;

        for (uint32_t k = 0; k < sf->nthr; k++) {
            struct thr *t = &abort_thr[i][p->nabort];
            char base[128];

            if (!sf->thr[k].abort_on_fail || !scen_thr_for(&sf->s[i], &sf->thr[k], base, sizeof(base)))
                continue;
            *t = sf->thr[k];
            snprintf(t->metric, sizeof(t->metric), "%s", base);
            p->nabort++;
        }
        p->abort_thr = abort_thr[i];
    }
}

static int cmd_run(int argc, char **argv, struct ci_opts *ci)
{
    static struct scen_file sf;
    static struct run_args ra;
    struct run_one runs[SCEN_MAX] = {{0}};
    int code = run_args(argc, argv, &ra);

    if (code)
        return code;
    code = scen_load(&sf, ra.file, &ra.so, stderr);
    if (code)
        return code;
    for (uint32_t i = 0; i < ci->nthr; i++) {
        char why[256];

        if (!metrics_known(&sf, ci->thr[i].metric, why, sizeof(why))) {
            fprintf(stderr, "stampede: --threshold: %s\n", why);
            scen_free(&sf);
            return 2;
        }
    }
    set_aborts(&sf);
    for (uint32_t i = 0; i < sf.n; i++)
        if (apply_shard(&sf.s[i].plan, ci)) {
            scen_free(&sf);
            return 2;
        }
    for (uint32_t i = 0; i < sf.n; i++) {
        runs[i].name = sf.s[i].name;
        runs[i].plan = &sf.s[i].plan;
        runs[i].r = calloc(1, sizeof(*runs[i].r));
        if (!runs[i].r) {
            fputs("stampede: out of memory\n", stderr);
            return 1;
        }
        sysinfo_check(stderr, &sf.s[i].plan);
    }
    if (sf.n == 1)
        runs[0].ts_out = open_ts(runs[0].plan, &code);
    if (!code) {
        struct hdrlog *l = hdr_open(ci, &code);

        for (uint32_t i = 0; i < sf.n; i++)
            hdr_attach(&sf.s[i].plan, l, sf.n > 1 ? sf.s[i].name : NULL);
    }
    if (code)
        return code;
    run_all(runs, sf.n);
    if (runs[0].ts_out)
        fclose(runs[0].ts_out);
    code = finish(runs, sf.n, &sf, ci, ra.json, ra.quiet, sf.title[0] ? sf.title : ra.file);
    for (uint32_t i = 0; i < sf.n; i++) {
        result_fini(runs[i].r);
        free(runs[i].r);
    }
    scen_free(&sf);
    return code;
}

static int cmd_validate(int argc, char **argv)
{
    static struct scen_file sf;
    struct scen_opts so = {.validate_only = true};
    int code = 0;

    if (!argc) {
        fputs("usage: stampede validate FILE...\n", stderr);
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        int rc = scen_load(&sf, argv[i], &so, stderr);

        if (!rc) {
            printf("%s: ok (%u scenario%s, %u threshold%s)\n", argv[i], sf.n, sf.n == 1 ? "" : "s",
                   sf.nthr, sf.nthr == 1 ? "" : "s");
            scen_free(&sf);
        }
        code = rc > code ? rc : code;
    }
    return code;
}

int main(int argc, char **argv)
{
    static struct ci_opts ci;
    int rc;

    /* a peer closing mid-send must never kill the process */
    signal(SIGPIPE, SIG_IGN);
    if (argc > 1 && !strcmp(argv[1], "validate"))
        return cmd_validate(argc - 2, argv + 2);
    rc = ci_extract(&ci, &argc, argv);
    if (rc)
        return rc;
    if (argc > 1 && !strcmp(argv[1], "run"))
        return cmd_run(argc - 2, argv + 2, &ci);
    if (argc > 1 && !strcmp(argv[1], "merge")) {
        if (ci.shard_n) {
            fputs("stampede: merge: --shard applies to a run, not to a merge\n", stderr);
            return 2;
        }
        return merge_cmd(argc - 2, argv + 2, &ci);
    }
    if (argc > 1 && !strcmp(argv[1], "report")) {
        if (ci.nthr || ci.junit || ci.summary_md || ci.baseline || ci.hdr_log || ci.shard_n) {
            fputs("stampede: report takes RESULT.json --html OUT.html only; thresholds, "
                  "--junit, --summary-md, --baseline and --hdr-log on a saved result: "
                  "stampede merge RESULT.json ...\n", stderr);
            return 2;
        }
        return html_cmd_report(argc - 2, argv + 2, ci.html);
    }
    return cmd_flags(argc, argv, &ci);
}
