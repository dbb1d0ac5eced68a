/*
 * report_flow.c - the scenario parts of a report: steps, checks,
 * iterations (text and JSON), and the threshold table.
 */
#include "report_flow.h"

#include <string.h>

#include "flow.h"
#include "json.h"
#include "report.h"
#include "units.h"

void report_flow_text_latency(FILE *f, const struct plan *p, const struct result *r)
{
    const struct flow *fl = p->flow;
    const struct flow_stats *s = r->total.flow;
    char name[80];

    if (!fl || !s)
        return;
    report_text_latency_row(f, "iteration_duration", &s->iteration_duration);
    for (uint32_t i = 0; i < fl->nhttp; i++) {
        snprintf(name, sizeof(name), "step:%s", fl->step_names[i]);
        report_text_latency_row(f, name, &s->step_duration[i]);
    }
}

void report_flow_text(FILE *f, const struct plan *p, const struct result *r)
{
    const struct flow *fl = p->flow;
    const struct flow_stats *s = r->total.flow;
    uint64_t pass = 0, fail = 0;

    if (!fl || !s)
        return;
    fprintf(f, "  iterations     %llu completed, %llu failed; captures missed %llu\n",
            (unsigned long long)s->iterations, (unsigned long long)s->iterations_failed,
            (unsigned long long)s->captures_missed);
    fprintf(f, "  %-28s %10s %10s %10s %10s\n", "step", "requests", "responses", "errors",
            "status>=400");
    for (uint32_t i = 0; i < fl->nhttp; i++)
        fprintf(f, "  %-28s %10llu %10llu %10llu %10llu\n", fl->step_names[i],
                (unsigned long long)s->step_requests[i], (unsigned long long)s->step_responses[i],
                (unsigned long long)s->step_errors[i], (unsigned long long)s->step_bad[i]);
    if (!fl->nchecks)
        return;
    fputs("  checks\n", f);
    for (uint32_t i = 0; i < fl->nchecks; i++) {
        uint64_t n = s->check_pass[i] + s->check_fail[i];

        pass += s->check_pass[i];
        fail += s->check_fail[i];
        fprintf(f, "    %s %-44s %llu/%llu passed\n", s->check_fail[i] ? "FAIL" : " ok ",
                fl->check_names[i], (unsigned long long)s->check_pass[i], (unsigned long long)n);
    }
    fprintf(f, "    checks: %.2f%% of %llu passed\n",
            pass + fail ? 100.0 * (double)pass / (double)(pass + fail) : 0,
            (unsigned long long)(pass + fail));
}

void report_flow_json_metrics(struct json *j, const struct plan *p, const struct result *r)
{
    const struct flow *fl = p->flow;
    const struct flow_stats *s = r->total.flow;
    char name[160];

    if (!fl || !s)
        return;
    report_json_metric(j, "iteration_duration", &s->iteration_duration);
    for (uint32_t i = 0; i < fl->nhttp; i++) {
        snprintf(name, sizeof(name), "http_req_duration{step:%s}", fl->step_names[i]);
        report_json_metric(j, name, &s->step_duration[i]);
    }
}

void report_flow_json(struct json *j, const struct plan *p, const struct result *r)
{
    const struct flow *fl = p->flow;
    const struct flow_stats *s = r->total.flow;
    uint64_t pass = 0, fail = 0;

    if (!fl || !s)
        return;
    json_obj_begin(j, "flow");
    json_u64(j, "iterations", s->iterations);
    json_u64(j, "iterations_failed", s->iterations_failed);
    json_u64(j, "captures_missed", s->captures_missed);
    json_arr_begin(j, "steps");
    for (uint32_t i = 0; i < fl->nhttp; i++) {
        json_obj_begin(j, NULL);
        json_str(j, "name", fl->step_names[i]);
        json_u64(j, "requests", s->step_requests[i]);
        json_u64(j, "responses", s->step_responses[i]);
        json_u64(j, "errors", s->step_errors[i]);
        json_u64(j, "status_4xx_5xx", s->step_bad[i]);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_arr_begin(j, "checks");
    for (uint32_t i = 0; i < fl->nchecks; i++) {
        pass += s->check_pass[i];
        fail += s->check_fail[i];
        json_obj_begin(j, NULL);
        json_str(j, "name", fl->check_names[i]);
        json_u64(j, "passes", s->check_pass[i]);
        json_u64(j, "fails", s->check_fail[i]);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_dbl(j, "checks_rate", pass + fail ? (double)pass / (double)(pass + fail) : 0);
    json_obj_end(j);
}

void report_thresholds_text(FILE *f, const struct thr *t, uint32_t n)
{
    uint32_t failed = 0;

    if (!n)
        return;
    fputs("\n  thresholds\n", f);
    for (uint32_t i = 0; i < n; i++) {
        char b[32] = "-", bound[32];

        if (!t[i].missing)
            thr_format(&t[i], t[i].actual, b, sizeof(b));
        thr_format(&t[i], t[i].bound, bound, sizeof(bound));
        failed += !t[i].passed;
        fprintf(f, "    %s %-40s %-18s actual %-12s%s\n", t[i].passed ? "PASS" : "FAIL",
                t[i].metric, t[i].expr, b, t[i].missing ? " (no samples)" : "");
    }
    fprintf(f, "  %u of %u thresholds failed\n", failed, n);
}

void report_thresholds_json(struct json *j, const struct thr *t, uint32_t n)
{
    json_arr_begin(j, "thresholds");
    for (uint32_t i = 0; i < n; i++) {
        json_obj_begin(j, NULL);
        json_str(j, "metric", t[i].metric);
        json_str(j, "expr", t[i].expr);
        json_str(j, "source", t[i].where);
        json_bool(j, "passed", t[i].passed);
        if (t[i].missing)
            json_null(j, "actual");
        else
            json_dbl(j, "actual", t[i].actual);
        json_dbl(j, "bound", t[i].bound);
        json_obj_end(j);
    }
    json_arr_end(j);
}
