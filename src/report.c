/*
 * report.c - text summary and JSON result of a finished run.
 *
 * Everything is derived from the merged struct result: percentiles come
 * only from the merged histogram (never averaged per thread), rates from
 * merged counters over the measured duration. Secret header values are
 * redacted here, in the only place that prints configuration.
 */
#include "report.h"

#include "report_flow.h"
#include "shard.h"

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>

#include "json.h"
#include "report_tls.h"
#include "report_ws.h"
#include "units.h"
#include "uring.h"

extern const char stampede_version[];

static const double pct_list[] = {50, 75, 90, 95, 99, 99.9, 99.99};
static const char *const pct_name[] = {"p50", "p75", "p90", "p95", "p99", "p99.9", "p99.99"};
#define NPCT (sizeof(pct_list) / sizeof(pct_list[0]))

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static double per_s(uint64_t n, uint64_t ns)
{
    return ns ? (double)n / secs(ns) : 0;
}

static double req_failed_rate(const struct wstats *s)
{
    uint64_t bad = stats_errors_total(s) + s->status_class[4] + s->status_class[5];
    uint64_t done = s->responses + stats_errors_total(s);

    return done ? (double)bad / (double)done : 0;
}

/* "1,234,567" */
static const char *fmt_count(char *buf, size_t len, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;

    for (int i = 0; i < n && o + 2 < (int)len; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = 0;
    return buf;
}

#define VERDICT_MAX_REASONS 8
#define VERDICT_LAG_US 1000   /* open loop: send lag p99 above 1 ms */
#define VERDICT_BUSY 0.95f    /* a worker above 95% of its CPU */

struct verdict {
    bool saturated;
    unsigned n;
    char reasons[VERDICT_MAX_REASONS][96];
};

/* Did the generator keep up? Only open loop can tell: there the schedule
 * says when each request was due. In closed loop a busy CPU is the expected
 * state, so it is reported, not judged. */
static void verdict_make(const struct plan *p, const struct result *r, struct verdict *v)
{
    const struct wstats *s = &r->total;
    uint64_t lag = hist_percentile_us(&s->send_lag, 99);

    memset(v, 0, sizeof(*v));
    if (!p->open_loop)
        return;
    if (lag > VERDICT_LAG_US && v->n < VERDICT_MAX_REASONS)
        snprintf(v->reasons[v->n++], sizeof(v->reasons[0]), "send lag p99 %llu us > %d us",
                 (unsigned long long)lag, VERDICT_LAG_US);
    if (s->dropped && v->n < VERDICT_MAX_REASONS)
        snprintf(v->reasons[v->n++], sizeof(v->reasons[0]), "%llu requests dropped",
                 (unsigned long long)s->dropped);
    for (uint32_t i = 0; i < r->threads && i < PLAN_MAX_CPUS; i++)
        if (r->worker_busy[i] > VERDICT_BUSY && v->n < VERDICT_MAX_REASONS)
            snprintf(v->reasons[v->n++], sizeof(v->reasons[0]), "worker %u at %.0f%% CPU", i,
                     r->worker_busy[i] * 100);
    v->saturated = v->n > 0;
}

static void text_verdict(FILE *f, const struct plan *p, const struct result *r)
{
    struct verdict v;

    verdict_make(p, r, &v);
    fprintf(f, "  %-13s", "generator");
    if (!p->open_loop)
        fputs("closed loop (CPU is information, not a verdict)", f);
    else if (v.saturated)
        fputs("SATURATED: ", f);
    else
        fputs("ok: kept the schedule", f);
    for (unsigned i = 0; i < v.n; i++)
        fprintf(f, "%s%s", i ? "; " : "", v.reasons[i]);
    fputs("; worker CPU", f);
    for (uint32_t i = 0; i < r->threads && i < PLAN_MAX_CPUS; i++)
        fprintf(f, " %.0f%%", r->worker_busy[i] * 100);
    fputc('\n', f);
}

void report_text_latency_row(FILE *f, const char *name, const struct hist *h)
{
    char b[16];

    fprintf(f, "  %-18s", name);
    if (!h->count) {
        fputs("  (no samples)\n", f);
        return;
    }
    units_fmt_duration(b, sizeof(b), h->min_ns);
    fprintf(f, " %9s", b);
    units_fmt_duration(b, sizeof(b), (uint64_t)(hist_mean_us(h) * 1000));
    fprintf(f, " %9s", b);
    for (size_t i = 0; i < NPCT; i++) {
        units_fmt_duration(b, sizeof(b), hist_percentile_us(h, pct_list[i]) * 1000);
        fprintf(f, " %9s", b);
    }
    units_fmt_duration(b, sizeof(b), h->max_ns);
    fprintf(f, " %9s\n", b);
    if (h->overflow)
        fprintf(f, "  %-18s %llu samples above 1h (counted, max exact)\n", "",
                (unsigned long long)h->overflow);
}

static void text_counts(FILE *f, const char *label, const uint64_t *a, const char *const *names,
                        size_t n)
{
    char b[32];
    bool any = false;

    fprintf(f, "  %-13s", label);
    for (size_t i = 0; i < n; i++) {
        if (!a[i])
            continue;
        fprintf(f, "%s%s %s", any ? ", " : "", names[i], fmt_count(b, sizeof(b), a[i]));
        any = true;
    }
    fputs(any ? "\n" : "none\n", f);
}

static void text_status(FILE *f, const struct wstats *s)
{
    static const char *const cls[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    char b[32];

    fprintf(f, "  %-13s%s", "responses", fmt_count(b, sizeof(b), s->responses));
    for (int i = 1; i <= 5; i++)
        if (s->status_class[i])
            fprintf(f, "   %s %s", cls[i], fmt_count(b, sizeof(b), s->status_class[i]));
    if (s->status_class[0])
        fprintf(f, "   other %s", fmt_count(b, sizeof(b), s->status_class[0]));
    fputc('\n', f);
}

static void text_header(FILE *f, const struct plan *p, const struct result *r)
{
    char d[16];

    units_fmt_duration(d, sizeof(d), r->duration_ns);
    fprintf(f, "stampede %s  %s %s (%s)\n", stampede_version, p->ws ? "WebSocket" : p->method,
            p->url, p->addr_str);
    fprintf(f, "  %s, %u threads, %u connections, pipeline %u", d, r->threads, p->connections,
            p->pipeline);
    if (p->requests)
        fprintf(f, ", -n %llu", (unsigned long long)p->requests);
    if (p->shard_n > 1)
        fprintf(f, ", shard %u/%u", p->shard_i + 1, p->shard_n);
    fputs("\n\n", f);
}

static void text_rates(FILE *f, const struct plan *p, const struct result *r)
{
    const struct wstats *s = &r->total;
    char b[32], b2[32], in[16], out[16];
    double cpu = secs(r->cpu_user_ns + r->cpu_sys_ns);

    fprintf(f, "  %-13s%s sent   %s/s\n", "requests", fmt_count(b, sizeof(b), s->requests),
            fmt_count(b2, sizeof(b2), (uint64_t)(per_s(s->requests, r->duration_ns) + 0.5)));
    if (p->open_loop)
        fprintf(f, "  %-13s%s scheduled, %s dropped (never sent: no free connection within "
                   "--timeout, or the run ended)\n", "schedule",
                fmt_count(b, sizeof(b), s->scheduled), fmt_count(b2, sizeof(b2), s->dropped));
    text_status(f, s);
    text_counts(f, "errors", s->errors, err_name, ERR_NR);
    if (s->unsolicited)
        fprintf(f, "  %-13s%llu connections dropped: response bytes with no request in flight\n",
                "unsolicited", (unsigned long long)s->unsolicited);
    report_ws_text(f, p, r);
    report_tls_text(f, p, r);
    if (s->in_flight_at_end)
        fprintf(f, "  %-13s%llu unanswered at the end\n", "in flight",
                (unsigned long long)s->in_flight_at_end);
    fprintf(f, "  %-13s%llu opened, %llu established, %llu closed, %llu failed\n", "connections",
            (unsigned long long)s->conn_opened, (unsigned long long)s->conn_established,
            (unsigned long long)s->conn_closed, (unsigned long long)s->conn_failed);
    if (stats_conn_errors_total(s))
        text_counts(f, "conn errors", s->conn_errors, cerr_name, CERR_NR);
    units_fmt_bytes(in, sizeof(in), per_s(s->bytes_in, r->duration_ns));
    units_fmt_bytes(out, sizeof(out), per_s(s->bytes_out, r->duration_ns));
    fprintf(f, "  %-13sin %s/s   out %s/s\n", "transfer", in, out);
    fprintf(f, "  %-13s%.2fs user+sys", "client cpu", cpu);
    if (s->responses + stats_errors_total(s))
        fprintf(f, "   %.2fus per request", cpu * 1e6 / (double)(s->requests ? s->requests : 1));
    fputc('\n', f);
}

void report_text(FILE *f, const struct plan *p, const struct result *r)
{
    text_header(f, p, r);
    text_rates(f, p, r);
    fprintf(f, "\n  %-18s %9s %9s", "latency", "min", "mean");
    for (size_t i = 0; i < NPCT; i++)
        fprintf(f, " %9s", pct_name[i]);
    fprintf(f, " %9s\n", "max");
    report_text_latency_row(f, plan_main_metric(p), &r->total.req_duration);
    report_flow_text_latency(f, p, r);
    if (p->open_loop) {
        report_text_latency_row(f, "service_time", &r->total.service_time);
        report_text_latency_row(f, "send_lag", &r->total.send_lag);
    }
    report_text_latency_row(f, "connect_time", &r->total.connect_time);
    report_ws_text_latency(f, p, r);
    report_tls_text_latency(f, p, r);
    fputc('\n', f);
    report_flow_text(f, p, r);
    text_verdict(f, p, r);
    fprintf(f, "\n  %s (exit %d)\n", r->exit_reason, r->exit_code);
    fflush(f);
}

void report_json_metric(struct json *j, const char *name, const struct hist *h)
{
    json_obj_begin(j, name);
    json_str(j, "unit", "us");
    json_u64(j, "count", h->count);
    json_dbl(j, "min", h->count ? (double)h->min_ns / 1000 : 0);
    json_dbl(j, "mean", hist_mean_us(h));
    json_dbl(j, "max", (double)h->max_ns / 1000);
    for (size_t i = 0; i < NPCT; i++)
        json_u64(j, pct_name[i], hist_percentile_us(h, pct_list[i]));
    json_u64(j, "overflow", h->overflow);
    json_obj_begin(j, "hist");
    json_u64(j, "sig_digits", HIST_SIG_DIGITS);
    json_u64(j, "lowest_us", 1);
    json_u64(j, "highest_us", HIST_MAX_US);
    json_u64(j, "sum_ns", h->sum_ns);
    json_arr_begin(j, "bins");
    for (uint32_t i = 0; i < HIST_COUNTS_LEN; i++) {
        if (!h->counts[i])
            continue;
        json_pair_u64(j, hist_lowest_us(i), h->counts[i]);
    }
    json_arr_end(j);
    json_obj_end(j);
    json_obj_end(j);
}

static void json_provenance(struct json *j, const struct plan *p, const struct result *r)
{
    struct utsname u;
    char flags[128], when[32];
    struct tm tm;

    uring_flags_str(r->ring_flags, flags, sizeof(flags));
    gmtime_r(&r->start_wall.tv_sec, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_obj_begin(j, "provenance");
    json_str(j, "version", stampede_version);
    json_str(j, "kernel", uname(&u) ? "unknown" : u.release);
    json_obj_begin(j, "ring");
    json_str(j, "setup_flags", flags);
    json_arr_begin(j, "fallbacks");
    if (!(r->ring_flags & IORING_SETUP_DEFER_TASKRUN))
        json_str(j, NULL, "DEFER_TASKRUN refused");
    if (!(r->ring_flags & (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_COOP_TASKRUN)))
        json_str(j, NULL, "COOP_TASKRUN refused");
    json_arr_end(j);
    json_obj_end(j);
    json_arr_begin(j, "worker_cpus");
    for (uint32_t i = 0; i < r->threads && i < PLAN_MAX_CPUS; i++)
        json_i64(j, NULL, r->worker_cpus[i]);
    json_arr_end(j);
    json_u64(j, "seed", p->seed);
    json_str(j, "start_time", when);
    json_obj_end(j);
}

static void json_hdr(struct json *j, const char *name, const char *value)
{
    char buf[1024];

    snprintf(buf, sizeof(buf), "%s: %s", name, value);
    json_str(j, NULL, buf);
}

static void json_config_model(struct json *j, const struct plan *p)
{
    double share = shard_share(p); /* a shard reports its slice: merges add up */

    json_str(j, "model", p->open_loop ? "open" : "closed");
    json_dbl(j, "rate_per_s", p->rate * share);
    json_arr_begin(j, "stages");
    for (unsigned i = 0; p->stages_given && i < p->pace.nstages; i++) {
        json_obj_begin(j, NULL);
        json_dbl(j, "duration_s", secs(p->pace.stages[i].duration_ns));
        json_dbl(j, "target", p->pace.stages[i].target * share);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_dbl(j, "stages_start", p->stages_given ? p->pace.start * share : 0);
    json_str(j, "stages_unit", !p->stages_given ? "" : p->pace.is_rate ? "per_s" : "connections");
    json_str(j, "arrival", p->poisson ? "poisson" : "uniform");
    json_dbl(j, "warmup_s", secs(p->warmup_ns));
    json_u64(j, "max_connections", p->max_connections);
    json_dbl(j, "connect_rate_per_s", p->connect_rate);
    json_dbl(j, "interval_s", secs(p->interval_ns));
}

static void json_config(struct json *j, const struct plan *p, const struct result *r)
{
    size_t i;

    json_obj_begin(j, "config");
    json_str(j, "url", p->url);
    json_str(j, "address", p->addr_str);
    json_str(j, "method", p->method);
    json_u64(j, "connections", p->connections);
    if (p->shard_n > 1) {
        json_obj_begin(j, "shard");
        json_u64(j, "index", p->shard_i + 1);
        json_u64(j, "count", p->shard_n);
        json_obj_end(j);
    }
    json_u64(j, "threads", r->threads);
    json_dbl(j, "duration_s", secs(p->duration_ns));
    json_u64(j, "requests", p->requests);
    json_u64(j, "pipeline", p->pipeline);
    json_dbl(j, "timeout_s", secs(p->timeout_ns));
    json_dbl(j, "connect_timeout_s", secs(p->connect_timeout_ns));
    json_u64(j, "seed", p->seed);
    /* as sent, in order ("Name: value"); a user -H Host replaces ours and
     * repeated names stay repeated */
    json_arr_begin(j, "headers");
    for (i = 0; i < p->nheaders && strcasecmp(p->headers[i].name, "Host"); i++)
        ;
    if (i == p->nheaders)
        json_hdr(j, "Host", p->host_header);
    for (i = 0; i < p->nheaders; i++)
        json_hdr(j, p->headers[i].name,
                 plan_header_secret(p->headers[i].name) ? "[redacted]" : p->headers[i].value);
    json_arr_end(j);
    json_u64(j, "body_bytes", p->body_len);
    json_config_model(j, p);
    report_ws_json_config(j, p);
    report_tls_json_config(j, p);
    json_obj_end(j);
}

static void json_kinds(struct json *j, const char *key, const uint64_t *a,
                       const char *const *names, size_t n)
{
    json_obj_begin(j, key);
    for (size_t i = 0; i < n; i++)
        json_u64(j, names[i], a[i]);
    json_obj_end(j);
}

static void json_status(struct json *j, const struct wstats *s)
{
    static const char *const cls[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    char code[12];

    json_obj_begin(j, "status");
    for (int i = 1; i <= 5; i++)
        json_u64(j, cls[i], s->status_class[i]);
    json_u64(j, "other", s->status_class[0]);
    json_obj_begin(j, "codes");
    for (int i = 0; i < STATS_STATUS_MAX; i++) {
        if (!s->status[i])
            continue;
        snprintf(code, sizeof(code), "%d", i);
        json_u64(j, code, s->status[i]);
    }
    json_obj_end(j);
    json_obj_end(j);
}

static void json_counters(struct json *j, const struct plan *p, const struct result *r)
{
    const struct wstats *s = &r->total;

    json_obj_begin(j, "counters");
    json_u64(j, "requests", s->requests);
    json_u64(j, "responses", s->responses);
    json_status(j, s);
    json_kinds(j, "errors", s->errors, err_name, ERR_NR);
    json_kinds(j, "conn_errors", s->conn_errors, cerr_name, CERR_NR);
    json_obj_begin(j, "connections");
    json_u64(j, "opened", s->conn_opened);
    json_u64(j, "established", s->conn_established);
    json_u64(j, "closed", s->conn_closed);
    json_u64(j, "failed", s->conn_failed);
    json_obj_end(j);
    json_u64(j, "in_flight_at_end", s->in_flight_at_end);
    json_u64(j, "unsolicited_responses", s->unsolicited);
    json_u64(j, "scheduled", s->scheduled);
    json_u64(j, "dropped", s->dropped);
    json_u64(j, "bytes_out", s->bytes_out);
    json_u64(j, "bytes_in", s->bytes_in);
    report_ws_json_counters(j, r);
    report_tls_json_counters(j, p, r);
    json_obj_end(j);
}

static void json_rates(struct json *j, const struct result *r)
{
    const struct wstats *s = &r->total;

    json_obj_begin(j, "rates");
    json_dbl(j, "http_req_failed", req_failed_rate(s));
    json_dbl(j, "requests_per_s", per_s(s->requests, r->duration_ns));
    json_dbl(j, "responses_per_s", per_s(s->responses, r->duration_ns));
    json_dbl(j, "bytes_in_per_s", per_s(s->bytes_in, r->duration_ns));
    json_dbl(j, "bytes_out_per_s", per_s(s->bytes_out, r->duration_ns));
    json_obj_end(j);
}

static void json_generator(struct json *j, const struct plan *p, const struct result *r)
{
    uint64_t reqs = r->total.requests;
    struct verdict v;

    verdict_make(p, r, &v);
    json_obj_begin(j, "generator");
    json_str(j, "verdict", v.saturated ? "saturated" : "ok");
    json_arr_begin(j, "reasons");
    for (unsigned i = 0; i < v.n; i++)
        json_str(j, NULL, v.reasons[i]);
    json_arr_end(j);
    json_arr_begin(j, "cpu");
    for (uint32_t i = 0; i < r->threads && i < PLAN_MAX_CPUS; i++)
        json_dbl(j, NULL, r->worker_busy[i]);
    json_arr_end(j);
    json_dbl(j, "cpu_user_s", secs(r->cpu_user_ns));
    json_dbl(j, "cpu_sys_s", secs(r->cpu_sys_ns));
    json_dbl(j, "cpu_us_per_request",
             reqs ? (double)(r->cpu_user_ns + r->cpu_sys_ns) / 1000.0 / (double)reqs : 0);
    json_obj_end(j);
}

/* The time series as kept by the reader: the NDJSON lines' objects. */
static void json_series(struct json *j, const struct plan *p, const struct result *r)
{
    json_arr_begin(j, "timeseries");
    for (uint32_t i = 0; i < r->nseries; i++)
        series_point_json(j, &r->series[i], p->interval_ns);
    json_arr_end(j);
}

void report_json(FILE *f, const struct plan *p, const struct result *r)
{
    struct json j;

    json_init(&j, f);
    json_obj_begin(&j, NULL);
    json_str(&j, "schema", REPORT_SCHEMA);
    json_i64(&j, "exit_code", r->exit_code);
    json_str(&j, "exit_reason", r->exit_reason);
    json_provenance(&j, p, r);
    json_config(&j, p, r);
    json_dbl(&j, "duration_s", secs(r->duration_ns));
    json_counters(&j, p, r);
    json_rates(&j, r);
    json_generator(&j, p, r);
    report_ws_json_capacity(&j, p, r);
    json_obj_begin(&j, "metrics");
    report_json_metric(&j, plan_main_metric(p), &r->total.req_duration);
    report_json_metric(&j, "connect_time", &r->total.connect_time);
    report_flow_json_metrics(&j, p, r);
    report_ws_json_metrics(&j, p, r);
    report_tls_json_metrics(&j, p, r);
    if (p->open_loop) {
        report_json_metric(&j, "http_req_service_time", &r->total.service_time);
        report_json_metric(&j, "send_lag", &r->total.send_lag);
    }
    json_obj_end(&j);
    report_flow_json(&j, p, r);
    report_thresholds_json(&j, r->thr, r->nthr);
    json_series(&j, p, r);
    json_obj_end(&j);
    json_end(&j);
}

int report_json_file(const char *path, const struct plan *p, const struct result *r)
{
    FILE *f;
    int err = 0;

    if (!strcmp(path, "-")) {
        report_json(stdout, p, r);
        return ferror(stdout) ? -EIO : 0;
    }
    f = fopen(path, "w");
    if (!f)
        return -errno;
    report_json(f, p, r);
    if (ferror(f))
        err = -EIO;
    if (fclose(f) && !err)
        err = -errno;
    return err;
}
