/*
 * plan.h - the run's effective configuration.
 *
 * Built by cli.c from argv, then immutable: every worker reads it without
 * locks. Owns the encoded request bytes (pipeline copies back to back) so
 * workers send them as they are.
 */
#ifndef STAMPEDE_PLAN_H
#define STAMPEDE_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http1.h"
#include "pace.h"
#include "tls.h"

#define PLAN_MAX_HEADERS 64
#define PLAN_MAX_CPUS 1024
#define PLAN_MAX_SOURCES 256

struct tmpl;
struct thr;
struct flow;
struct jscan_path;
struct hdrlog;

struct plan {
    /* target */
    const char *url;
    char scheme[8];
    char host[256];      /* as written, without brackets */
    uint16_t port;
    char host_header[288];
    const char *path;    /* points into url, or "/" */
    struct sockaddr_storage addr;
    socklen_t addr_len;
    char addr_str[80];   /* "127.0.0.1:8080", "[::1]:8080" */

    /* load */
    uint32_t connections;   /* opened before the clock starts */
    uint32_t conn_slots;    /* connection structs: max of -c, --max-connections, stages */
    uint32_t threads;
    uint64_t duration_ns;   /* 0: none (only -n) */
    uint64_t requests;      /* -n; 0: unlimited */
    uint32_t pipeline;
    bool pipeline_given;
    uint64_t timeout_ns;
    uint64_t connect_timeout_ns;
    uint64_t seed;
    bool duration_given;

    /* load model */
    bool open_loop;         /* -R or rate stages: arrivals on a schedule */
    struct pace_plan pace;  /* the run's schedule (rates, or connections) */
    bool conn_stages;       /* closed loop with ramping connections */
    bool poisson;           /* --arrival poisson */
    uint64_t warmup_ns;     /* --warmup: before the run, not in the statistics */
    double warmup_value;    /* rate or connections during the warm-up */
    uint32_t max_connections; /* open loop: the pool may grow to this */
    double connect_rate;    /* new connections per second; 0: unlimited */
    uint64_t interval_ns;   /* time series / progress interval */
    const char *timeseries_path;
    bool progress;          /* --progress: plain lines when not a TTY */
    double rate;            /* -R */
    bool stages_given;
    const char *start_arg;  /* --start, read once the stage kind is known */

    /* request */
    const char *method;
    struct http1_header headers[PLAN_MAX_HEADERS];
    size_t nheaders;
    char *body;
    size_t body_len;
    const char *body_file;
    bool head_request;
    char *req;              /* one encoded request x pipeline copies */
    size_t req_len;         /* length of one copy */
    char *req_close;        /* --requests-per-conn: pipeline - 1 copies, then one with Connection: close */
    size_t req_close_len;   /* length of the closing copy */

    /* WebSocket (ws:// URLs), see wsc.h */
    bool ws;
    struct tmpl *ws_tmpl;   /* --ws-msg with {{...}}: rendered per message */
    char *ws_payload;       /* fixed payload (string, file or random); NULL with a template */
    size_t ws_payload_len;
    bool ws_binary;         /* binary frames (default text) */
    bool ws_msg_given;      /* --ws-msg or --ws-msg-file */
    uint64_t ws_msg_size;   /* --ws-msg-size: random payload of this size */
    bool ws_msgs_per_conn_given;
    uint64_t ws_period_ns;  /* --ws-rate: one message per connection per period; 0: closed loop */
    const char *ws_subprotocol;
    uint64_t ws_max_msg;    /* largest message accepted from the server */
    uint32_t ws_msgs_per_conn; /* --reconnect: messages per session (0: none) */
    char *ws_upgrade;       /* the upgrade request with a placeholder key */
    size_t ws_upgrade_len;
    size_t ws_key_off;

    /* WebSocket scenario steps (owned by the scenario loader) */
    struct tmpl *ws_path_tmpl; /* ws_connect path with {{...}}: rendered per connection */
    char *ws_expect;        /* expect contains: a reply is the first message holding it */
    size_t ws_expect_len;
    struct jscan_path *ws_expect_path; /* expect json: FIELD equals ws_expect */
    char *ws_expect_field;  /* the FIELD text ws_expect_path points into */
    char ws_metric[48];     /* the send->expect metric's name (default ws_msg_rtt) */

    /* thresholds with abort_on_fail that can be judged during the run (on
     * the time series' totals): the run stops when one fails */
    const struct thr *abort_thr;
    uint32_t nabort;

    /* multi-step HTTP flow (scenario steps), see flow.h; owned by the loader */
    const struct flow *flow;

    /* TLS (https://, wss://), see xtls.h */
    bool tls;
    bool tls_flags_given;   /* any TLS flag: refused on a plain URL */
    struct tls_client_cfg tls_cfg;
    SSL_CTX *tls_ctx;       /* shared by every worker (SSL_new is thread-safe) */

    /* sessions and connection holding */
    bool reconnect;         /* close and reconnect after each session */
    uint64_t reconnect_delay_ns;
    uint64_t sessions;      /* stop after exactly this many sessions; 0: no limit */
    uint32_t requests_per_conn; /* HTTP: new connection after this many; 0: never */
    bool hold;              /* --hold: open -c connections, keep them alive */
    uint64_t ping_ns;       /* keep-alive interval (WebSocket ping / HTTP request) */
    struct sockaddr_storage sources[PLAN_MAX_SOURCES]; /* local addresses to bind */
    uint32_t nsources;
    bool sources_auto;      /* chosen by stampede (loopback spreading) */

    /* output */
    const char *json_path;  /* "-" for stdout */
    bool quiet;
    struct hdrlog *hdrlog;  /* --hdr-log (hdrlog.h), shared by the scenarios; NULL: none */
    char hdr_tag[160];      /* its interval lines' tag: the main metric's name */

    /* CPUs this process may run on (sched_getaffinity); workers pin here */
    int cpus[PLAN_MAX_CPUS];
    uint32_t ncpus;
    bool threads_given;

    /* --shard i/N (shard.h): 0-based index, count (0: not sharded) */
    uint32_t shard_i, shard_n;
    uint32_t row_base, row_count; /* round-robin feeder rows of this shard (0: all) */
};

void plan_fini(struct plan *p);

/* The run's main latency metric: http_req_duration, or for WebSocket the
 * scenario's metric name (default ws_msg_rtt). */
const char *plan_main_metric(const struct plan *p);

/* True when a header's value must not appear in any output. */
bool plan_header_secret(const char *name);

#endif
