/*
 * stats.h - per-worker counters and histograms, merged after join.
 *
 * A struct wstats is written only by its worker thread (plain increments,
 * no atomics on the hot path) and read by the main thread only after the
 * worker has been joined. Errors are counted by kind in arrays so they can
 * be summed and printed from one name table. Request-phase errors (a
 * request was sent and will never get its response) and connect-phase
 * errors (no request involved) are kept apart, which keeps the accounting
 * identity exact:
 *     requests = responses + sum(errors) + in_flight_at_end
 */
#ifndef STAMPEDE_STATS_H
#define STAMPEDE_STATS_H

#include <stdint.h>

#include "hist.h"

enum err_kind {
    ERR_TIMEOUT,        /* no response within --timeout */
    ERR_CONN_RESET,     /* ECONNRESET / EPIPE while requests were in flight */
    ERR_CONN_CLOSED,    /* server closed with requests unanswered */
    ERR_PROTOCOL,       /* malformed response */
    ERR_IO,             /* any other send/recv error */
    ERR_NR,
};

enum cerr_kind {
    CERR_REFUSED,       /* ECONNREFUSED */
    CERR_TIMEOUT,       /* no connection within --connect-timeout */
    CERR_ADDR_UNAVAIL,  /* EADDRNOTAVAIL: out of ephemeral ports */
    CERR_TOO_MANY_FILES, /* EMFILE / ENFILE */
    CERR_UNREACHABLE,   /* ENETUNREACH / EHOSTUNREACH */
    CERR_OTHER,
    CERR_NR,
};

extern const char *const err_name[ERR_NR];
extern const char *const cerr_name[CERR_NR];

#define STATS_STATUS_MAX 1000
#define STATS_CLOSE_CODES 17 /* [0..15] = 1000..1015, [16] anything else */

/* Why a WebSocket handshake failed. */
enum wshs_kind {
    WSHS_STATUS,        /* the server answered with another status than 101 */
    WSHS_MALFORMED,     /* unparsable or oversized response head */
    WSHS_NO_UPGRADE,    /* 101 without Upgrade: websocket / Connection: upgrade */
    WSHS_BAD_ACCEPT,    /* Sec-WebSocket-Accept does not match our key */
    WSHS_SUBPROTOCOL,   /* the server picked a subprotocol we did not offer */
    WSHS_EXTENSION,     /* the server picked an extension we did not offer */
    WSHS_CLOSED,        /* the connection closed or failed before the 101 */
    WSHS_TIMEOUT,       /* no 101 within --timeout */
    WSHS_NR,
};

extern const char *const wshs_name[WSHS_NR];

/* TLS: failed handshakes by reason (tls_reason_str() names a key), and
 * the protocol version and cipher of each successful one. Small tables
 * searched linearly: a run sees a handful of distinct values, and they
 * are touched once per handshake, never per request. */
#define STATS_TLS_REASONS 8
#define STATS_TLS_NEGOTIATED 8

struct stats_tls_reason {
    uint32_t key;           /* tls.h reason key (never 0); 0 with n > 0: "other",
                             * only ever in the last entry */
    uint64_t n;
};

struct stats_tls_neg {
    const char *version;    /* OpenSSL's static strings ("TLSv1.3") */
    const char *cipher;
    uint64_t n;
};

struct flow_stats;

struct wstats {
    struct flow_stats *flow; /* scenario steps (flow.h); NULL without */
    uint64_t requests;      /* sent (handed to the kernel) */
    uint64_t responses;     /* complete responses, any status */
    uint64_t bytes_out;
    uint64_t bytes_in;
    uint64_t status_class[6]; /* [1]..[5] = 1xx..5xx; [0] anything else */
    uint64_t status[STATS_STATUS_MAX];
    uint64_t errors[ERR_NR];
    uint64_t conn_errors[CERR_NR];
    uint64_t conn_opened;   /* connect attempts started */
    uint64_t conn_established;
    uint64_t conn_closed;   /* established connections closed */
    uint64_t conn_failed;   /* attempts that never established */
    uint64_t in_flight_at_end;
    uint64_t unsolicited;   /* response bytes with no request in flight */
    uint64_t scheduled;     /* open loop: arrivals due (= requests + dropped) */
    uint64_t dropped;       /* open loop: never sent, --timeout late or run over */
    int first_conn_errno;   /* first connect-phase errno, for the report */
    int first_err_errno;
    /* sessions (--reconnect, --sessions, --requests-per-conn); kept over warm-up */
    uint64_t sessions;      /* connect attempts started as sessions */
    uint64_t sessions_ok;   /* sessions that did all their work and closed */
    /* WebSocket: connection level, kept over the warm-up */
    uint64_t ws_handshakes; /* 101 received and verified */
    uint64_t ws_hs_failed[WSHS_NR];
    uint64_t ws_hs_status[STATS_STATUS_MAX]; /* non-101 answers by status */
    uint64_t ws_close_codes[STATS_CLOSE_CODES]; /* close frames received from the server */
    uint64_t ws_proto_errors; /* invalid frames, oversized messages */
    /* WebSocket: message level (ws_msg_rtt lives in req_duration) */
    uint64_t ws_msgs_sent;
    uint64_t ws_msgs_received; /* every data message, replies and pushes */
    uint64_t ws_pushes;     /* data messages that were not a reply to this connection */
    uint64_t ws_pings, ws_pongs;
    uint64_t ws_late;       /* replies to messages that had already timed out */
    /* TLS (https://, wss://): connection level, kept over the warm-up */
    uint64_t tls_full;      /* full handshakes completed */
    uint64_t tls_resumed;   /* resumed handshakes completed */
    uint64_t tls_failed;    /* handshakes that failed (by reason below) */
    uint64_t tls_errors;    /* TLS failures after the handshake (bad record, alert) */
    struct stats_tls_reason tls_reasons[STATS_TLS_REASONS];     /* of tls_failed */
    struct stats_tls_reason tls_err_reasons[STATS_TLS_REASONS]; /* of tls_errors */
    struct stats_tls_neg tls_neg[STATS_TLS_NEGOTIATED];
    struct hist tls_hs_full;    /* tls_handshake_time of full handshakes */
    struct hist tls_hs_resumed; /* ... of resumed ones */
    struct hist ws_handshake_time;
    struct hist ws_fanout;    /* ws_fanout_latency: {{ts}} of another connection -> here */
    struct hist ws_ping_rtt;
    struct hist req_duration; /* http_req_duration, or ws_msg_rtt */
    struct hist connect_time;
    struct hist service_time; /* http_req_service_time: from the actual send */
    struct hist send_lag;     /* actual send - intended send (open loop) */
};

void stats_init(struct wstats *s);

/* Forget request-level statistics (end of the warm-up); connection
 * counters and connect_time stay. */
void stats_reset_requests(struct wstats *s);

/* dst += src; histograms merged bin by bin. */
void stats_merge(struct wstats *dst, const struct wstats *src);

/* Count one response with this status code. */
static inline void stats_status(struct wstats *s, int code)
{
    unsigned cls = (unsigned)code / 100;

    s->status_class[cls <= 5 ? cls : 0]++;
    if ((unsigned)code < STATS_STATUS_MAX)
        s->status[code]++;
}

/* Count one failed TLS handshake under its reason key. */
void stats_tls_failed(struct wstats *s, uint32_t key);

/* Count one TLS failure after the handshake under its reason key. */
void stats_tls_error(struct wstats *s, uint32_t key);

/* Count one completed TLS handshake's version and cipher. */
void stats_tls_negotiated(struct wstats *s, const char *version, const char *cipher);

/* Map a connect-phase errno to its kind. */
enum cerr_kind stats_cerr_kind(int err);

uint64_t stats_errors_total(const struct wstats *s);
uint64_t stats_conn_errors_total(const struct wstats *s);

#endif
