/*
 * flow.h - multi-step HTTP flows from scenario files: the compiled form
 * (built once by scenario.c, read-only afterwards) and the per-worker
 * statistics the flow protocol (flow.c) keeps.
 *
 * An iteration runs the steps in order on one connection, one request in
 * flight at a time (a flow is a conversation: a step may need the
 * previous answer). Each HTTP step is a request template: its head
 * (request line and headers, without Content-Length) and its body are
 * compiled templates (tmpl.h) rendered into the connection's buffer, so a
 * request costs a few memcpys and no parsing. Captures copy a value out of
 * a response (JSON field, header, regex group) into the connection's
 * capture slots, which later templates read; checks count pass/fail
 * without ever stopping the run.
 *
 * Timing: a step is timed from its actual send (http_req_duration, and
 * per step http_req_duration{step:NAME}); an iteration from its intended
 * start (iteration_duration): the arrival time in open loop, the end of
 * the previous iteration in closed loop.
 */
#ifndef STAMPEDE_FLOW_H
#define STAMPEDE_FLOW_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "jscan.h"
#include "tmpl.h"

#define FLOW_MAX_STEPS 32
#define FLOW_MAX_CAPS 32
#define FLOW_MAX_CHECKS 128
#define FLOW_CAP_LEN 256        /* bytes of one captured value */
#define FLOW_BODY_MAX (64 * 1024) /* response bytes kept for captures and checks */

enum flow_step_kind {
    FLOW_STEP_HTTP,
    FLOW_STEP_THINK,
};

enum flow_cap_src {
    FLOW_CAP_JSON,   /* a field of a JSON body */
    FLOW_CAP_HEADER, /* a response header's value */
    FLOW_CAP_REGEX,  /* group 1 (or the whole match) of a regex over the body */
};

enum flow_chk_kind {
    FLOW_CHK_STATUS,   /* the status is one of a list */
    FLOW_CHK_CONTAINS, /* the body contains a string */
    FLOW_CHK_JSON,     /* a JSON field equals a value */
    FLOW_CHK_DURATION, /* the step's duration is under a bound */
    FLOW_CHK_HEADER,   /* a response header is present */
};

struct flow_cap {
    uint8_t src;       /* enum flow_cap_src */
    uint8_t slot;      /* capture slot (tmpl_env caps index) */
    struct jscan_path path;
    char *expr;        /* the path, header name or regex as written */
    regex_t re;
    bool re_ok;
};

#define FLOW_CHK_STATUSES 8

struct flow_check {
    uint8_t kind;      /* enum flow_chk_kind */
    uint16_t id;       /* index in flow->check_names and the stats arrays */
    uint16_t nstatus;
    int status[FLOW_CHK_STATUSES];
    char *text;        /* contains / equals / header name */
    uint32_t text_len;
    struct jscan_path path;
    char *path_src;
    uint64_t max_ns;
};

struct flow_step {
    uint8_t kind;        /* enum flow_step_kind */
    char *name;          /* the step tag (step:NAME) */
    uint32_t idx;        /* HTTP steps: index in the per-step stats */
    struct tmpl head;    /* request line + headers, without Content-Length */
    struct tmpl body;
    bool send_length;    /* a Content-Length header (a body, or POST/PUT/PATCH) */
    bool head_req;
    bool keep_body;      /* captures or checks read the response */
    uint64_t think_min_ns, think_max_ns;
    struct flow_cap caps[FLOW_MAX_CAPS];
    uint32_t ncaps;
    struct flow_check *checks;
    uint32_t nchecks;
};

/* A CSV data feeder: a header row of column names, then rows. */
struct flow_data {
    char **names;
    uint32_t ncols, nrows;
    struct tmpl_str *cells; /* nrows * ncols */
    char *text;             /* the file, cells point into it */
    bool per_conn;          /* row = connection id % rows; else round robin per iteration */
};

struct flow {
    struct flow_step steps[FLOW_MAX_STEPS];
    uint32_t nsteps;
    uint32_t nhttp;          /* HTTP steps: per-step stats */
    const char *step_names[FLOW_MAX_STEPS]; /* of the HTTP steps, by idx */
    char *cap_names[FLOW_MAX_CAPS];
    uint32_t ncaps;
    char *check_names[FLOW_MAX_CHECKS]; /* "STEP: what", by check id */
    uint32_t nchecks;
    struct flow_data data;
    uint32_t req_max;        /* bound of a rendered request */
    bool keep_body;          /* any step reads its response */
    bool session;            /* one iteration per connection (reconnect) */
};

/* Per-worker statistics of a flow, merged after join like struct wstats. */
struct flow_stats {
    uint32_t nhttp, nchecks;
    uint64_t iterations;       /* completed, every step answered */
    uint64_t iterations_failed; /* cut short: a step failed or timed out */
    uint64_t captures_missed;  /* a capture found nothing (the slot is emptied) */
    struct hist iteration_duration;
    uint64_t *step_requests;   /* [nhttp] */
    uint64_t *step_responses;  /* [nhttp] */
    uint64_t *step_errors;     /* [nhttp]: no response (timeout, reset, ...) */
    uint64_t *step_bad;        /* [nhttp]: responses with status >= 400 */
    struct hist *step_duration; /* [nhttp] */
    uint64_t *check_pass;      /* [nchecks] */
    uint64_t *check_fail;      /* [nchecks] */
};

struct flow_stats *flow_stats_new(const struct flow *f);
void flow_stats_free(struct flow_stats *s);
void flow_stats_reset(struct flow_stats *s);
void flow_stats_merge(struct flow_stats *dst, const struct flow_stats *src);

void flow_free(struct flow *f);

struct worker;

/* Per-worker connection state for a plan with a flow. */
int flow_pool_init(struct worker *w);
void flow_pool_fini(struct worker *w);

#endif
