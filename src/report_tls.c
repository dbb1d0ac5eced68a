/*
 * report_tls.c - TLS in the text summary and the JSON result. The JSON
 * keys are always present (zeros for a plain run) so a CI parser sees one
 * shape; the handshake metrics appear for TLS runs only, like the
 * WebSocket ones.
 */
#include "report_tls.h"

#include <stdlib.h>

#include "report.h"
#include "tls.h"

static void reason_text(const struct stats_tls_reason *t, char *why, size_t len)
{
    if (t->key)
        tls_reason_str(t->key, why, len);
    else
        snprintf(why, len, "other");
}

static void text_reasons(FILE *f, const char *what, const struct stats_tls_reason *t)
{
    char why[160];

    for (int i = 0; i < STATS_TLS_REASONS; i++) {
        if (!t[i].n)
            continue;
        reason_text(&t[i], why, sizeof(why));
        fprintf(f, "  %-13s%s %s: %llu\n", "", what, why, (unsigned long long)t[i].n);
    }
}

void report_tls_text(FILE *f, const struct plan *p, const struct result *r)
{
    const struct wstats *s = &r->total;
    uint64_t ok = s->tls_full + s->tls_resumed;

    if (!p->tls)
        return;
    fprintf(f, "  %-13s%llu handshakes: %llu full, %llu resumed (%.1f%%), %llu failed", "tls",
            (unsigned long long)ok, (unsigned long long)s->tls_full,
            (unsigned long long)s->tls_resumed, ok ? 100.0 * (double)s->tls_resumed / (double)ok : 0,
            (unsigned long long)s->tls_failed);
    if (s->tls_errors)
        fprintf(f, "; %llu errors after the handshake", (unsigned long long)s->tls_errors);
    if (!p->tls_cfg.resume)
        fputs("; resumption off", f);
    fputc('\n', f);
    for (int i = 0; i < STATS_TLS_NEGOTIATED && s->tls_neg[i].n; i++)
        fprintf(f, "  %-13s%s %s: %llu\n", "", s->tls_neg[i].version, s->tls_neg[i].cipher,
                (unsigned long long)s->tls_neg[i].n);
    text_reasons(f, "handshake failed:", s->tls_reasons);
    text_reasons(f, "error after the handshake:", s->tls_err_reasons);
    if (p->tls_cfg.insecure)
        fprintf(f, "  %-13s-k: the server's certificate and name were NOT verified\n", "warning");
}

void report_tls_text_latency(FILE *f, const struct plan *p, const struct result *r)
{
    if (!p->tls)
        return;
    report_text_latency_row(f, "tls_hs_full", &r->total.tls_hs_full);
    if (r->total.tls_resumed)
        report_text_latency_row(f, "tls_hs_resumed", &r->total.tls_hs_resumed);
}

static const char *tls_version_name(int v)
{
    return v == TLS1_3_VERSION ? "1.3" : v == TLS1_2_VERSION ? "1.2" : "default";
}

void report_tls_json_config(struct json *j, const struct plan *p)
{
    const struct tls_client_cfg *t = &p->tls_cfg;

    json_obj_begin(j, "tls");
    json_bool(j, "enabled", p->tls);
    json_bool(j, "verify", p->tls && !t->insecure);
    json_str(j, "cacert", t->cacert ? t->cacert : (p->tls && !t->insecure ? "system" : ""));
    json_str(j, "min_version", tls_version_name(t->min_version));
    json_str(j, "ciphers", t->ciphers ? t->ciphers : "");
    json_str(j, "tls13_ciphers", t->tls13_ciphers ? t->tls13_ciphers : "");
    json_str(j, "alpn", t->alpn ? t->alpn : "");
    json_bool(j, "client_cert", t->cert != NULL);
    json_bool(j, "resume", t->resume);
    json_obj_end(j);
}

static void json_reasons(struct json *j, const char *key, const struct stats_tls_reason *t)
{
    char why[160];

    json_obj_begin(j, key);
    for (int i = 0; i < STATS_TLS_REASONS; i++) {
        if (!t[i].n)
            continue;
        reason_text(&t[i], why, sizeof(why));
        json_u64(j, why, t[i].n);
    }
    json_obj_end(j);
}

void report_tls_json_counters(struct json *j, const struct plan *p, const struct result *r)
{
    const struct wstats *s = &r->total;

    json_obj_begin(j, "tls");
    json_u64(j, "handshakes_full", s->tls_full);
    json_u64(j, "handshakes_resumed", s->tls_resumed);
    json_u64(j, "handshakes_failed", s->tls_failed);
    json_u64(j, "errors", s->tls_errors);
    json_reasons(j, "failures", s->tls_reasons);
    json_reasons(j, "error_reasons", s->tls_err_reasons);
    json_arr_begin(j, "negotiated");
    for (int i = 0; i < STATS_TLS_NEGOTIATED && s->tls_neg[i].n; i++) {
        json_obj_begin(j, NULL);
        json_str(j, "version", s->tls_neg[i].version);
        json_str(j, "cipher", s->tls_neg[i].cipher);
        json_u64(j, "count", s->tls_neg[i].n);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_bool(j, "insecure", p->tls && p->tls_cfg.insecure);
    json_bool(j, "resume", p->tls && p->tls_cfg.resume);
    json_obj_end(j);
}

void report_tls_json_metrics(struct json *j, const struct plan *p, const struct result *r)
{
    struct hist *all;

    if (!p->tls)
        return;
    /* every handshake, full or resumed: merged from the two exactly */
    all = malloc(sizeof(*all));
    if (all) {
        hist_init(all);
        hist_merge(all, &r->total.tls_hs_full);
        hist_merge(all, &r->total.tls_hs_resumed);
        report_json_metric(j, "tls_handshake_time", all);
        free(all);
    }
    report_json_metric(j, "tls_handshake_time_full", &r->total.tls_hs_full);
    report_json_metric(j, "tls_handshake_time_resumed", &r->total.tls_hs_resumed);
}

uint64_t report_tls_top_reason(const struct stats_tls_reason *t, char *buf, size_t len)
{
    int top = -1;

    for (int i = 0; i < STATS_TLS_REASONS; i++)
        if (t[i].n && (top < 0 || t[i].n > t[top].n))
            top = i;
    if (top < 0)
        return 0;
    reason_text(&t[top], buf, len);
    return t[top].n;
}
