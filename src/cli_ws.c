/*
 * cli_ws.c - WebSocket, session and hold flags; see cli_ws.h.
 *
 * Loopback spreading: connect() to one destination slows ~30x past ~14k
 * connections per (source, destination) pair and stops at the ephemeral
 * range (NOTES.md), so a loopback IPv4 target with more than
 * CLI_WS_PER_SOURCE connections gets one source address in 127.0.0.0/8
 * per CLI_WS_PER_SOURCE connections.
 */
#include "cli_ws.h"

#include "jscan.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "pace.h"
#include "tmpl.h"
#include "units.h"
#include "ws.h"

#define CLI_WS_PER_SOURCE 8000
#define CLI_WS_DEFAULT_SIZE 64
#define CLI_WS_MAX_PAYLOAD (16u << 20)

static enum cli_rc ws_bad(const char *opt, const char *val, const char *expect)
{
    fprintf(CLI_ERR, "stampede: invalid value '%s' for --%s: expected %s\n", val, opt, expect);
    return CLI_EXIT_USAGE;
}

static enum cli_rc ws_error(const char *msg)
{
    fprintf(CLI_ERR, "stampede: %s\n", msg);
    return CLI_EXIT_USAGE;
}

/* "1/5s", "10/s", "600/m", "2": messages per second per connection. */
static int ws_parse_rate(const char *s, uint64_t *period_ns)
{
    const char *slash = strchr(s, '/');
    double per_s;
    uint64_t n, d;

    if (slash && slash[1] >= '0' && slash[1] <= '9') {
        char num[32];
        size_t len = (size_t)(slash - s);

        if (!len || len >= sizeof(num))
            return -1;
        memcpy(num, s, len);
        num[len] = 0;
        if (units_parse_count(num, &n) || !n || units_parse_duration(slash + 1, &d) || !d)
            return -1;
        *period_ns = d / n;
    } else {
        if (pace_parse_rate(s, false, &per_s))
            return -1;
        *period_ns = (uint64_t)(1e9 / per_s);
    }
    return *period_ns ? 0 : -1;
}

static enum cli_rc ws_read_file(struct plan *p, const char *path)
{
    int err;

    free(p->ws_payload);
    p->ws_payload = NULL;
    err = units_read_file(path, CLI_WS_MAX_PAYLOAD, &p->ws_payload, &p->ws_payload_len);
    if (err) {
        fprintf(CLI_ERR, "stampede: --ws-msg-file '%s': %s\n", path,
                err == -EFBIG ? "larger than 16 MiB" : strerror(-err));
        return CLI_EXIT_USAGE;
    }
    return CLI_RUN;
}

static int ws_parse_addr(const char *s, struct sockaddr_storage *a)
{
    struct sockaddr_in *v4 = (struct sockaddr_in *)a;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)a;

    memset(a, 0, sizeof(*a));
    if (inet_pton(AF_INET, s, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return 0;
    }
    return -1;
}

static enum cli_rc ws_parse_sources(struct plan *p, const char *arg)
{
    char buf[64];
    const char *s = arg;

    p->nsources = 0;
    while (*s) {
        size_t n = strcspn(s, ",");

        if (!n || n >= sizeof(buf) || p->nsources == PLAN_MAX_SOURCES)
            return ws_bad("source", arg, "a list of up to 256 IP addresses: 127.0.0.2,127.0.0.3");
        memcpy(buf, s, n);
        buf[n] = 0;
        if (ws_parse_addr(buf, &p->sources[p->nsources++]))
            return ws_bad("source", buf, "an IPv4 or IPv6 address");
        s += n + (s[n] == ',');
    }
    if (!p->nsources)
        return ws_bad("source", arg, "at least one address");
    return CLI_RUN;
}

static enum cli_rc ws_opt_size(const char *opt, const char *arg, uint64_t max, uint64_t *out)
{
    if (units_parse_size(arg, out) || !*out || *out > max)
        return ws_bad(opt, arg, "a size like 64, 4KiB or 1MiB (at most 16MiB)");
    return CLI_RUN;
}

static enum cli_rc ws_opt_count(const char *opt, const char *arg, uint64_t lo, uint64_t hi,
                                uint64_t *out)
{
    if (units_parse_count(arg, out) || *out < lo || *out > hi)
        return ws_bad(opt, arg, "a count");
    return CLI_RUN;
}

static enum cli_rc ws_opt_dur(const char *opt, const char *arg, uint64_t *out)
{
    if (units_parse_duration(arg, out) || *out < 1000000)
        return ws_bad(opt, arg, "a duration like 500ms, 30s or 2m");
    return CLI_RUN;
}

/* --ws-expect-json FIELD=VALUE */
static enum cli_rc ws_parse_expect_json(struct plan *p, const char *arg)
{
    const char *eq = strchr(arg, '=');
    char err[160];

    if (!eq || eq == arg)
        return ws_bad("ws-expect-json", arg, "FIELD=VALUE, e.g. type=vote or data.id=7");
    free(p->ws_expect);
    free(p->ws_expect_path);
    free(p->ws_expect_field);
    p->ws_expect_field = strndup(arg, (size_t)(eq - arg));
    p->ws_expect = strdup(eq + 1);
    p->ws_expect_len = strlen(eq + 1);
    p->ws_expect_path = malloc(sizeof(*p->ws_expect_path));
    if (!p->ws_expect || !p->ws_expect_path || !p->ws_expect_field)
        return CLI_EXIT_RUNTIME;
    if (jscan_compile(p->ws_expect_path, p->ws_expect_field, err, sizeof(err)))
        return ws_bad("ws-expect-json", arg, err);
    return CLI_RUN;
}

enum cli_rc cli_ws_opt(struct plan *p, int c, const char *arg)
{
    uint64_t v;
    enum cli_rc rc;

    switch (c) {
    case O_WS_MSG:
        free(p->ws_payload);
        p->ws_payload = strdup(arg);
        p->ws_payload_len = strlen(arg);
        p->ws_msg_given = true;
        return p->ws_payload ? CLI_RUN : CLI_EXIT_RUNTIME;
    case O_WS_MSG_FILE:
        p->ws_msg_given = true;
        return ws_read_file(p, arg);
    case O_WS_MSG_SIZE:
        return ws_opt_size("ws-msg-size", arg, CLI_WS_MAX_PAYLOAD, &p->ws_msg_size);
    case O_WS_BINARY:
        p->ws_binary = true;
        return CLI_RUN;
    case O_WS_PIPELINE:
        rc = ws_opt_count("ws-pipeline", arg, 1, 1024, &v);
        p->pipeline = (uint32_t)v;
        p->pipeline_given = true;
        return rc;
    case O_WS_RATE:
        return ws_parse_rate(arg, &p->ws_period_ns)
                   ? ws_bad("ws-rate", arg, "a rate per connection like 1/5s, 10/s or 600/m")
                   : CLI_RUN;
    case O_WS_SUBPROTOCOL:
        if (!*arg || strpbrk(arg, " \t\r\n,"))
            return ws_bad("ws-subprotocol", arg, "one subprotocol token");
        p->ws_subprotocol = arg;
        return CLI_RUN;
    case O_WS_MSGS_PER_CONN:
        rc = ws_opt_count("ws-msgs-per-conn", arg, 0, UINT32_MAX, &v);
        p->ws_msgs_per_conn = (uint32_t)v;
        p->ws_msgs_per_conn_given = true;
        return rc;
    case O_WS_MAX_MSG:
        return ws_opt_size("ws-max-msg", arg, 1ull << 30, &p->ws_max_msg);
    case O_PING:
        return ws_opt_dur("ping", arg, &p->ping_ns);
    case O_RECONNECT:
        p->reconnect = true;
        return CLI_RUN;
    case O_RECONNECT_DELAY:
        return ws_opt_dur("reconnect-delay", arg, &p->reconnect_delay_ns);
    case O_SESSIONS:
        return ws_opt_count("sessions", arg, 1, UINT64_MAX, &p->sessions);
    case O_REQUESTS_PER_CONN:
        rc = ws_opt_count("requests-per-conn", arg, 1, UINT32_MAX, &v);
        p->requests_per_conn = (uint32_t)v;
        return rc;
    case O_HOLD:
        p->hold = true;
        return CLI_RUN;
    case O_SOURCE:
        return ws_parse_sources(p, arg);
    case O_WS_EXPECT_CONTAINS:
        if (!*arg)
            return ws_bad("ws-expect-contains", arg, "a non-empty string");
        free(p->ws_expect);
        p->ws_expect = strdup(arg);
        p->ws_expect_len = strlen(arg);
        return p->ws_expect ? CLI_RUN : CLI_EXIT_RUNTIME;
    case O_WS_EXPECT_JSON:
        return ws_parse_expect_json(p, arg);
    }
    return CLI_EXIT_USAGE;
}

/* Which combinations make sense. */
static enum cli_rc ws_check(const struct plan *p)
{
    bool ws_only = p->ws_msg_given || p->ws_msg_size || p->ws_binary || p->ws_period_ns ||
                   p->ws_subprotocol || p->ws_msgs_per_conn_given || p->ws_max_msg || p->ws_expect;

    if (!p->ws && ws_only)
        return ws_error("--ws-* options need a ws:// URL");
    if (!p->ws && p->ping_ns && !p->hold)
        return ws_error("--ping applies to ws:// URLs or --hold");
    if (p->ws && p->requests_per_conn)
        return ws_error("--requests-per-conn is for HTTP; use --ws-msgs-per-conn");
    if (p->ws && (p->body || strcmp(p->method, "GET")))
        return ws_error("-m/--body do not apply to ws:// URLs (use --ws-msg)");
    if (p->ws_msg_given && p->ws_msg_size)
        return ws_error("--ws-msg-size makes a random message: drop --ws-msg/--ws-msg-file");
    if (p->ws_msgs_per_conn_given && !p->reconnect)
        return ws_error("--ws-msgs-per-conn needs --reconnect");
    if ((p->sessions || p->reconnect_delay_ns) && !p->reconnect && !p->requests_per_conn)
        return ws_error("--sessions and --reconnect-delay need --reconnect");
    if (p->ws_period_ns && p->open_loop)
        return ws_error("--ws-rate paces each connection: drop -R/rate stages");
    if (p->hold && (p->open_loop || p->conn_stages || p->ws_period_ns || p->reconnect ||
                    p->requests_per_conn || p->requests))
        return ws_error("--hold only holds connections: drop -R, --stages, -n, --ws-rate "
                        "and session options");
    if (p->reconnect && p->open_loop)
        return ws_error("--reconnect runs closed loop: drop -R/rate stages");
    return CLI_RUN;
}

/* Random payload: printable ASCII for text frames (servers check UTF-8),
 * any byte for binary ones. */
static enum cli_rc ws_random_payload(struct plan *p)
{
    uint64_t x = p->seed | 1;
    size_t n = p->ws_msg_size ? p->ws_msg_size : CLI_WS_DEFAULT_SIZE;

    p->ws_payload = malloc(n);
    if (!p->ws_payload)
        return CLI_EXIT_RUNTIME;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p->ws_payload[i] = p->ws_binary ? (char)x : (char)('a' + x % 26);
    }
    p->ws_payload_len = n;
    return CLI_RUN;
}

static enum cli_rc ws_payload(struct plan *p)
{
    char err[160];

    if (!p->ws_msg_given)
        return ws_random_payload(p);
    if (!memmem(p->ws_payload, p->ws_payload_len, "{{", 2))
        return CLI_RUN;
    p->ws_tmpl = calloc(1, sizeof(*p->ws_tmpl));
    if (!p->ws_tmpl)
        return CLI_EXIT_RUNTIME;
    if (tmpl_compile_env(p->ws_tmpl, p->ws_payload, p->ws_payload_len, &(struct tmpl_env){0},
                         err, sizeof(err))) {
        fprintf(CLI_ERR, "stampede: invalid --ws-msg template: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    if (tmpl_has(p->ws_tmpl, TMPL_CONN) && tmpl_has(p->ws_tmpl, TMPL_SEQ) &&
        !tmpl_matchable(p->ws_tmpl))
        return ws_error("invalid --ws-msg template: replies are matched by reading {{conn}} "
                        "and {{seq}} back, so a variable must not be followed by another "
                        "variable or a digit: put a separator between them");
    return CLI_RUN;
}

static enum cli_rc ws_upgrade(struct plan *p, const char *target)
{
    struct ws_upgrade_spec spec = {
        .path = target, .host = p->host_header, .headers = p->headers,
        .nheaders = p->nheaders, .subprotocol = p->ws_subprotocol,
    };
    size_t cap = 4096 + 8192 * PLAN_MAX_HEADERS;
    long n;

    p->ws_upgrade = malloc(cap);
    if (!p->ws_upgrade)
        return CLI_EXIT_RUNTIME;
    n = ws_upgrade_build(p->ws_upgrade, cap, &spec, &p->ws_key_off);
    if (n < 0) {
        fprintf(CLI_ERR, "stampede: cannot encode the WebSocket upgrade: %s\n",
                n == -EINVAL ? "a header is not valid (control characters, or one stampede "
                               "sets itself: Upgrade, Connection, Sec-WebSocket-*)"
                             : "too large");
        return CLI_EXIT_USAGE;
    }
    p->ws_upgrade_len = (size_t)n;
    return CLI_RUN;
}

/* Past CLI_WS_PER_SOURCE connections to a loopback IPv4 target, connect
 * from 127.0.0.1, .2, ... (IP_BIND_ADDRESS_NO_PORT keeps ports per pair). */
static void ws_auto_sources(struct plan *p)
{
    const struct sockaddr_in *dst = (const struct sockaddr_in *)&p->addr;
    uint32_t k;

    if (p->nsources || p->addr.ss_family != AF_INET ||
        (ntohl(dst->sin_addr.s_addr) >> 24) != 127 || p->conn_slots <= CLI_WS_PER_SOURCE)
        return;
    k = (p->conn_slots + CLI_WS_PER_SOURCE - 1) / CLI_WS_PER_SOURCE;
    if (k > PLAN_MAX_SOURCES)
        k = PLAN_MAX_SOURCES;
    for (uint32_t i = 0; i < k; i++) {
        struct sockaddr_in *a = (struct sockaddr_in *)&p->sources[i];

        memset(a, 0, sizeof(*a));
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(0x7f000001u + i);
    }
    p->nsources = k;
    p->sources_auto = true;
}

enum cli_rc cli_ws_finish(struct plan *p, const char *target)
{
    enum cli_rc rc = ws_check(p);

    if (rc != CLI_RUN)
        return rc;
    for (uint32_t i = 0; i < p->nsources; i++)
        if (p->sources[i].ss_family != p->addr.ss_family)
            return ws_error("--source: every address must be of the target's family "
                            "(IPv4 or IPv6)");
    if (p->reconnect && !p->ws && !p->requests_per_conn)
        p->requests_per_conn = 1;
    if (p->hold && !p->ping_ns)
        p->ping_ns = 30000000000ull;
    if (p->ws_period_ns && !p->pipeline_given)
        p->pipeline = 16; /* replies a paced connection may wait for at once */
    ws_auto_sources(p);
    if (!p->ws)
        return CLI_RUN;
    if (!p->ws_max_msg)
        p->ws_max_msg = 16u << 20;
    rc = ws_payload(p);
    if (rc == CLI_RUN)
        rc = ws_upgrade(p, target);
    return rc;
}

void cli_ws_fini(struct plan *p)
{
    free(p->ws_expect);
    free(p->ws_expect_path);
    free(p->ws_expect_field);
    p->ws_expect = p->ws_expect_field = NULL;
    p->ws_expect_path = NULL;
    if (p->ws_tmpl) {
        tmpl_free(p->ws_tmpl);
        free(p->ws_tmpl);
    }
    free(p->ws_payload);
    free(p->ws_upgrade);
    p->ws_tmpl = NULL;
    p->ws_payload = p->ws_upgrade = NULL;
}
