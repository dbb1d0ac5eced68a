/*
 * stats.c - error-kind names, errno mapping and the after-join merge of
 * per-worker statistics. Nothing here runs on the hot path except the
 * inline stats_status() in the header.
 */
#include "stats.h"

#include "flow.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

const char *const err_name[ERR_NR] = {
    [ERR_TIMEOUT] = "timeout",
    [ERR_CONN_RESET] = "conn_reset",
    [ERR_CONN_CLOSED] = "conn_closed",
    [ERR_PROTOCOL] = "protocol_error",
    [ERR_IO] = "io_error",
};

const char *const cerr_name[CERR_NR] = {
    [CERR_REFUSED] = "connect_refused",
    [CERR_TIMEOUT] = "connect_timeout",
    [CERR_ADDR_UNAVAIL] = "addr_unavailable",
    [CERR_TOO_MANY_FILES] = "too_many_files",
    [CERR_UNREACHABLE] = "unreachable",
    [CERR_OTHER] = "other",
};

const char *const wshs_name[WSHS_NR] = {
    [WSHS_STATUS] = "status",
    [WSHS_MALFORMED] = "malformed",
    [WSHS_NO_UPGRADE] = "no_upgrade",
    [WSHS_BAD_ACCEPT] = "bad_accept",
    [WSHS_SUBPROTOCOL] = "subprotocol",
    [WSHS_EXTENSION] = "extension",
    [WSHS_CLOSED] = "closed",
    [WSHS_TIMEOUT] = "timeout",
};

void stats_init(struct wstats *s)
{
    memset(s, 0, sizeof(*s));
    hist_init(&s->ws_handshake_time);
    hist_init(&s->tls_hs_full);
    hist_init(&s->tls_hs_resumed);
    hist_init(&s->ws_fanout);
    hist_init(&s->ws_ping_rtt);
    hist_init(&s->req_duration);
    hist_init(&s->connect_time);
    hist_init(&s->service_time);
    hist_init(&s->send_lag);
    if (s->flow)
        flow_stats_reset(s->flow);
}

void stats_reset_requests(struct wstats *s)
{
    s->requests = s->responses = s->bytes_out = s->bytes_in = 0;
    memset(s->status_class, 0, sizeof(s->status_class));
    memset(s->status, 0, sizeof(s->status));
    memset(s->errors, 0, sizeof(s->errors));
    s->in_flight_at_end = s->unsolicited = s->scheduled = s->dropped = 0;
    s->first_err_errno = 0;
    s->ws_msgs_sent = s->ws_msgs_received = s->ws_pushes = s->ws_pings = s->ws_pongs = 0;
    s->ws_late = 0;
    hist_init(&s->ws_fanout);
    hist_init(&s->ws_ping_rtt);
    hist_init(&s->req_duration);
    hist_init(&s->service_time);
    hist_init(&s->send_lag);
}

/* Add n under key; a full table folds new keys into the "other" entry
 * (key 0), which only the last slot holds, so keys stay unique. */
static void stats_tls_reason_add(struct stats_tls_reason *t, uint32_t key, uint64_t n)
{
    int i = 0;

    if (!n)
        return;
    if (key)
        while (i < STATS_TLS_REASONS - 1 && t[i].n && t[i].key != key)
            i++;
    if (!key || (i == STATS_TLS_REASONS - 1 && t[i].n && t[i].key != key)) {
        i = STATS_TLS_REASONS - 1;
        key = 0;
    }
    t[i].key = key;
    t[i].n += n;
}

void stats_tls_failed(struct wstats *s, uint32_t key)
{
    s->tls_failed++;
    stats_tls_reason_add(s->tls_reasons, key, 1);
}

void stats_tls_error(struct wstats *s, uint32_t key)
{
    s->tls_errors++;
    stats_tls_reason_add(s->tls_err_reasons, key, 1);
}

static bool same(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Pointers compare equal within one process (OpenSSL's static names);
 * strcmp keeps the merge right whatever their origin. A full table folds
 * new pairs into its last entry, renamed "other". */
static void stats_tls_neg_add(struct wstats *s, const char *version, const char *cipher,
                              uint64_t n)
{
    struct stats_tls_neg *t = s->tls_neg;
    int i;

    for (i = 0; i < STATS_TLS_NEGOTIATED - 1; i++)
        if (!t[i].n || (same(t[i].version, version) && same(t[i].cipher, cipher)))
            break;
    if (i == STATS_TLS_NEGOTIATED - 1 && t[i].n &&
        !(same(t[i].version, version) && same(t[i].cipher, cipher)))
        version = cipher = "other";
    t[i].version = version;
    t[i].cipher = cipher;
    t[i].n += n;
}

void stats_tls_negotiated(struct wstats *s, const char *version, const char *cipher)
{
    stats_tls_neg_add(s, version, cipher, 1);
}

static void add_array(uint64_t *dst, const uint64_t *src, size_t n)
{
    for (size_t i = 0; i < n; i++)
        dst[i] += src[i];
}

static void stats_tls_merge(struct wstats *dst, const struct wstats *src)
{
    dst->tls_full += src->tls_full;
    dst->tls_resumed += src->tls_resumed;
    dst->tls_failed += src->tls_failed;
    dst->tls_errors += src->tls_errors;
    for (int i = 0; i < STATS_TLS_REASONS; i++) {
        stats_tls_reason_add(dst->tls_reasons, src->tls_reasons[i].key, src->tls_reasons[i].n);
        stats_tls_reason_add(dst->tls_err_reasons, src->tls_err_reasons[i].key,
                             src->tls_err_reasons[i].n);
    }
    for (int i = 0; i < STATS_TLS_NEGOTIATED && src->tls_neg[i].n; i++)
        stats_tls_neg_add(dst, src->tls_neg[i].version, src->tls_neg[i].cipher,
                          src->tls_neg[i].n);
    hist_merge(&dst->tls_hs_full, &src->tls_hs_full);
    hist_merge(&dst->tls_hs_resumed, &src->tls_hs_resumed);
}

void stats_merge(struct wstats *dst, const struct wstats *src)
{
    if (dst->flow && src->flow)
        flow_stats_merge(dst->flow, src->flow);
    dst->requests += src->requests;
    dst->responses += src->responses;
    dst->bytes_out += src->bytes_out;
    dst->bytes_in += src->bytes_in;
    add_array(dst->status_class, src->status_class, 6);
    add_array(dst->status, src->status, STATS_STATUS_MAX);
    add_array(dst->errors, src->errors, ERR_NR);
    add_array(dst->conn_errors, src->conn_errors, CERR_NR);
    dst->conn_opened += src->conn_opened;
    dst->conn_established += src->conn_established;
    dst->conn_closed += src->conn_closed;
    dst->conn_failed += src->conn_failed;
    dst->in_flight_at_end += src->in_flight_at_end;
    dst->unsolicited += src->unsolicited;
    dst->scheduled += src->scheduled;
    dst->dropped += src->dropped;
    if (!dst->first_conn_errno)
        dst->first_conn_errno = src->first_conn_errno;
    if (!dst->first_err_errno)
        dst->first_err_errno = src->first_err_errno;
    dst->sessions += src->sessions;
    dst->sessions_ok += src->sessions_ok;
    dst->ws_handshakes += src->ws_handshakes;
    add_array(dst->ws_hs_failed, src->ws_hs_failed, WSHS_NR);
    add_array(dst->ws_hs_status, src->ws_hs_status, STATS_STATUS_MAX);
    add_array(dst->ws_close_codes, src->ws_close_codes, STATS_CLOSE_CODES);
    dst->ws_proto_errors += src->ws_proto_errors;
    dst->ws_msgs_sent += src->ws_msgs_sent;
    dst->ws_msgs_received += src->ws_msgs_received;
    dst->ws_pushes += src->ws_pushes;
    dst->ws_pings += src->ws_pings;
    dst->ws_pongs += src->ws_pongs;
    dst->ws_late += src->ws_late;
    stats_tls_merge(dst, src);
    hist_merge(&dst->ws_handshake_time, &src->ws_handshake_time);
    hist_merge(&dst->ws_fanout, &src->ws_fanout);
    hist_merge(&dst->ws_ping_rtt, &src->ws_ping_rtt);
    hist_merge(&dst->req_duration, &src->req_duration);
    hist_merge(&dst->connect_time, &src->connect_time);
    hist_merge(&dst->service_time, &src->service_time);
    hist_merge(&dst->send_lag, &src->send_lag);
}

enum cerr_kind stats_cerr_kind(int err)
{
    switch (err) {
    case ECONNREFUSED:
        return CERR_REFUSED;
    case ETIMEDOUT:
    case ECANCELED:
        return CERR_TIMEOUT;
    case EADDRNOTAVAIL:
    case EADDRINUSE:
        return CERR_ADDR_UNAVAIL;
    case EMFILE:
    case ENFILE:
        return CERR_TOO_MANY_FILES;
    case ENETUNREACH:
    case EHOSTUNREACH:
        return CERR_UNREACHABLE;
    default:
        return CERR_OTHER;
    }
}

static uint64_t sum(const uint64_t *a, size_t n)
{
    uint64_t t = 0;

    for (size_t i = 0; i < n; i++)
        t += a[i];
    return t;
}

uint64_t stats_errors_total(const struct wstats *s)
{
    return sum(s->errors, ERR_NR);
}

uint64_t stats_conn_errors_total(const struct wstats *s)
{
    return sum(s->conn_errors, CERR_NR);
}
