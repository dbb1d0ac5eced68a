/*
 * report_ws.c - the parts of the report about WebSocket, sessions and
 * connection capacity (--hold). The JSON keys are always present (zeros
 * for a run that did not use them) so a CI parser sees one shape.
 */
#include "report_ws.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include "units.h"

static double secs(uint64_t ns)
{
    return (double)ns / 1e9;
}

static double per_s(uint64_t n, uint64_t ns)
{
    return ns ? (double)n / secs(ns) : 0;
}

/* Memory per connection at the peak: ours (everything the process holds
 * beyond its start-up size) and the kernel's slab growth (both ends when
 * the server is local). */
static double per_conn(uint64_t peak, uint64_t base, uint32_t conns)
{
    return conns && peak > base ? (double)(peak - base) / conns : 0;
}

void report_ws_text(FILE *f, const struct plan *p, const struct result *r)
{
    const struct wstats *s = &r->total;

    if (p->ws) {
        uint64_t failed = 0;

        for (int i = 0; i < WSHS_NR; i++)
            failed += s->ws_hs_failed[i];
        fprintf(f, "  %-13s%llu ok, %llu failed", "handshakes",
                (unsigned long long)s->ws_handshakes, (unsigned long long)failed);
        for (int i = 0; i < WSHS_NR; i++)
            if (s->ws_hs_failed[i])
                fprintf(f, "  %s %llu", wshs_name[i], (unsigned long long)s->ws_hs_failed[i]);
        for (int i = 0; i < STATS_STATUS_MAX; i++)
            if (s->ws_hs_status[i])
                fprintf(f, "  HTTP %d: %llu", i, (unsigned long long)s->ws_hs_status[i]);
        fputc('\n', f);
        fprintf(f, "  %-13s%llu sent, %llu received (%llu replies, %llu pushes", "messages",
                (unsigned long long)s->ws_msgs_sent, (unsigned long long)s->ws_msgs_received,
                (unsigned long long)s->responses, (unsigned long long)s->ws_pushes);
        if (s->ws_late)
            fprintf(f, ", %llu late replies", (unsigned long long)s->ws_late);
        fputc(')', f);
        if (s->ws_pings)
            fprintf(f, "; pings %llu, pongs %llu", (unsigned long long)s->ws_pings,
                    (unsigned long long)s->ws_pongs);
        if (s->ws_proto_errors)
            fprintf(f, "; protocol errors %llu", (unsigned long long)s->ws_proto_errors);
        if (p->ws_period_ns && s->dropped)
            fprintf(f, "; %llu paced sends skipped (--ws-pipeline replies still owed)",
                    (unsigned long long)s->dropped);
        fputc('\n', f);
        fprintf(f, "  %-13s", "server close");
        int any = 0;
        for (int i = 0; i < STATS_CLOSE_CODES; i++)
            if (s->ws_close_codes[i])
                fprintf(f, "%s%s%d %llu", any++ ? ", " : "", i < 16 ? "" : ">",
                        i < 16 ? 1000 + i : 1015, (unsigned long long)s->ws_close_codes[i]);
        fputs(any ? "\n" : "none\n", f);
    }
    if (p->reconnect || p->requests_per_conn || p->sessions)
        fprintf(f, "  %-13s%llu started (%.0f/s), %llu complete (%.1f%%)\n", "sessions",
                (unsigned long long)s->sessions, per_s(s->sessions, r->duration_ns),
                (unsigned long long)s->sessions_ok,
                s->sessions ? 100.0 * (double)s->sessions_ok / (double)s->sessions : 0);
    if (p->hold || p->conn_slots > 20000) {
        char t[16], u[16], k[16];

        units_fmt_duration(t, sizeof(t), r->full_ns);
        units_fmt_bytes(u, sizeof(u), per_conn(r->rss_peak, r->rss_base, r->peak_established));
        units_fmt_bytes(k, sizeof(k), per_conn(r->slab_peak, r->slab_base, r->peak_established));
        fprintf(f, "  %-13s%u requested, %u peak established, all up %s; memory per connection: "
                   "stampede %s, kernel slab %s\n", "capacity", p->conn_slots,
                r->peak_established, r->full_ns ? t : "never", u, k);
    }
    if (r->syn_retrans)
        fprintf(f, "  %-13s%llu SYN retransmits on this host during the run: connect_time "
                   "includes 1 s retransmit waits\n", "warning", (unsigned long long)r->syn_retrans);
}

void report_ws_text_latency(FILE *f, const struct plan *p, const struct result *r)
{
    const struct wstats *s = &r->total;

    if (!p->ws)
        return;
    report_text_latency_row(f, "ws_handshake_time", &s->ws_handshake_time);
    if (s->ws_fanout.count)
        report_text_latency_row(f, "ws_fanout_latency", &s->ws_fanout);
    if (p->ping_ns)
        report_text_latency_row(f, "ws_ping_rtt", &s->ws_ping_rtt);
}

void report_ws_json_config(struct json *j, const struct plan *p)
{
    char ip[INET6_ADDRSTRLEN];

    json_str(j, "protocol", p->ws ? "ws" : "http");
    json_bool(j, "reconnect", p->reconnect);
    json_u64(j, "sessions", p->sessions);
    json_u64(j, "requests_per_conn", p->requests_per_conn);
    json_u64(j, "ws_msgs_per_conn", p->ws_msgs_per_conn);
    json_dbl(j, "reconnect_delay_s", secs(p->reconnect_delay_ns));
    json_bool(j, "hold", p->hold);
    json_dbl(j, "ping_s", secs(p->ping_ns));
    json_dbl(j, "ws_rate_per_s", p->ws_period_ns ? 1e9 / (double)p->ws_period_ns : 0);
    json_u64(j, "ws_msg_bytes", p->ws_tmpl ? 0 : p->ws_payload_len);
    json_bool(j, "ws_template", p->ws_tmpl != NULL);
    json_arr_begin(j, "sources");
    for (uint32_t i = 0; i < p->nsources; i++) {
        const struct sockaddr_storage *a = &p->sources[i];

        inet_ntop(a->ss_family,
                  a->ss_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)a)->sin6_addr
                                           : (const void *)&((const struct sockaddr_in *)a)->sin_addr,
                  ip, sizeof(ip));
        json_str(j, NULL, ip);
    }
    json_arr_end(j);
}

void report_ws_json_counters(struct json *j, const struct result *r)
{
    const struct wstats *s = &r->total;
    char code[12];

    json_u64(j, "sessions", s->sessions);
    json_u64(j, "sessions_ok", s->sessions_ok);
    json_obj_begin(j, "ws");
    json_u64(j, "handshakes", s->ws_handshakes);
    json_obj_begin(j, "handshake_failures");
    for (int i = 0; i < WSHS_NR; i++)
        json_u64(j, wshs_name[i], s->ws_hs_failed[i]);
    json_obj_end(j);
    json_obj_begin(j, "handshake_status");
    for (int i = 0; i < STATS_STATUS_MAX; i++) {
        if (!s->ws_hs_status[i])
            continue;
        snprintf(code, sizeof(code), "%d", i);
        json_u64(j, code, s->ws_hs_status[i]);
    }
    json_obj_end(j);
    json_obj_begin(j, "close_codes");
    for (int i = 0; i < STATS_CLOSE_CODES; i++) {
        if (!s->ws_close_codes[i])
            continue;
        snprintf(code, sizeof(code), i < 16 ? "%d" : "other", 1000 + i);
        json_u64(j, code, s->ws_close_codes[i]);
    }
    json_obj_end(j);
    json_u64(j, "protocol_errors", s->ws_proto_errors);
    json_u64(j, "msgs_sent", s->ws_msgs_sent);
    json_u64(j, "msgs_received", s->ws_msgs_received);
    json_u64(j, "pushes", s->ws_pushes);
    json_u64(j, "pings", s->ws_pings);
    json_u64(j, "pongs", s->ws_pongs);
    json_u64(j, "late_replies", s->ws_late);
    json_obj_end(j);
}

void report_ws_json_capacity(struct json *j, const struct plan *p, const struct result *r)
{
    json_obj_begin(j, "capacity");
    json_u64(j, "requested", p->conn_slots);
    json_u64(j, "peak_established", r->peak_established);
    json_dbl(j, "time_to_all_s", secs(r->full_ns));
    json_u64(j, "rss_start_bytes", r->rss_base);
    json_u64(j, "rss_peak_bytes", r->rss_peak);
    json_dbl(j, "user_bytes_per_conn", per_conn(r->rss_peak, r->rss_base, r->peak_established));
    json_dbl(j, "kernel_slab_bytes_per_conn",
             per_conn(r->slab_peak, r->slab_base, r->peak_established));
    json_u64(j, "syn_retransmits", r->syn_retrans);
    json_u64(j, "ws_contexts", r->ws_contexts);
    json_dbl(j, "sessions_per_s", per_s(r->total.sessions, r->duration_ns));
    json_obj_end(j);
}

void report_ws_json_metrics(struct json *j, const struct plan *p, const struct result *r)
{
    if (!p->ws)
        return;
    report_json_metric(j, "ws_handshake_time", &r->total.ws_handshake_time);
    report_json_metric(j, "ws_fanout_latency", &r->total.ws_fanout);
    report_json_metric(j, "ws_ping_rtt", &r->total.ws_ping_rtt);
}
