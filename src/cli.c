/*
 * cli.c - command line parsing into an immutable plan.
 *
 * Flags follow wrk where wrk has one (-c -t -d -H), then wrk2/k6 names.
 * Values go through units.c so "10k", "500ms" and "2m" mean the same
 * everywhere. Errors name the flag and the offending value and map to
 * exit code 2; a host that does not resolve is a runtime failure (1).
 */
#include "cli.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "cli_tls.h"
#include "cli_ws.h"
#include "uring.h"
#include "units.h"

extern const char stampede_version[];

enum opt_id {
    O_BODY = 256,
    O_BODY_FILE,
    O_PIPELINE,
    O_TIMEOUT,
    O_CONNECT_TIMEOUT,
    O_JSON,
    O_SEED,
    O_STAGES,
    O_START,
    O_ARRIVAL,
    O_WARMUP,
    O_MAX_CONNECTIONS,
    O_CONNECT_RATE,
    O_INTERVAL,
    O_TIMESERIES,
    O_PROGRESS,
};

static const struct option long_opts[] = {
    {"connections", required_argument, NULL, 'c'},
    {"threads", required_argument, NULL, 't'},
    {"duration", required_argument, NULL, 'd'},
    {"requests", required_argument, NULL, 'n'},
    {"header", required_argument, NULL, 'H'},
    {"method", required_argument, NULL, 'm'},
    {"body", required_argument, NULL, O_BODY},
    {"body-file", required_argument, NULL, O_BODY_FILE},
    {"pipeline", required_argument, NULL, O_PIPELINE},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
    {"json", required_argument, NULL, O_JSON},
    {"seed", required_argument, NULL, O_SEED},
    {"rate", required_argument, NULL, 'R'},
    {"stages", required_argument, NULL, O_STAGES},
    {"start", required_argument, NULL, O_START},
    {"arrival", required_argument, NULL, O_ARRIVAL},
    {"warmup", required_argument, NULL, O_WARMUP},
    {"max-connections", required_argument, NULL, O_MAX_CONNECTIONS},
    {"connect-rate", required_argument, NULL, O_CONNECT_RATE},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"timeseries", required_argument, NULL, O_TIMESERIES},
    {"progress", no_argument, NULL, O_PROGRESS},
    CLI_WS_LONG_OPTS,
    CLI_TLS_LONG_OPTS,
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {NULL, 0, NULL, 0},
};

#define SHORT_OPTS ":c:t:d:n:H:m:R:qhvk"

FILE *cli_err;

int cli_opt_kind(const char *name)
{
    for (const struct option *o = long_opts; o->name; o++)
        if (!strcmp(o->name, name))
            return o->has_arg == required_argument;
    return -1;
}

void cli_usage(FILE *f)
{
    fputs("usage: stampede [options] URL\n"
          "       stampede run FILE.yaml [--set key=value]... [options]\n"
          "       stampede validate FILE.yaml...\n"
          "       stampede report RESULT.json --html OUT.html\n"
          "       stampede merge RESULT.json... [--json OUT] [--html OUT] [--threshold ...]\n"
          "\n"
          "HTTP/1.1, WebSocket and TLS load generator on io_uring: one ring per worker\n"
          "thread, exact latency percentiles, a JSON result for CI.\n"
          "\n"
          "load:\n"
          "  -c, --connections N     connections to keep open (default 10)\n"
          "  -t, --threads N         worker threads (default: CPUs this process may use)\n"
          "  -d, --duration D        run time: 500ms, 10s, 2m (default 10s unless -n)\n"
          "  -n, --requests N        stop after exactly N completed requests\n"
          "      --pipeline N        requests in flight per connection (default 1)\n"
          "      --timeout D         per response (default 10s)\n"
          "      --connect-timeout D per connection attempt (default 5s)\n"
          "      --seed N            seed for randomised choices (default: random)\n"
          "load model (open loop: latency from the intended send time):\n"
          "  -R, --rate R            constant arrival rate: 20000, 20000/s, 600/m\n"
          "      --stages LIST       DURATION:TARGET,... ramps linearly; a rate target\n"
          "                          (1000/s) is open loop, a bare number is connections\n"
          "      --start V           value the first stage ramps from (default 0)\n"
          "      --arrival KIND      uniform (default) or poisson\n"
          "      --warmup D          run this long first, excluded from the statistics\n"
          "      --max-connections N open loop: grow the pool up to N when none is free\n"
          "      --connect-rate R    at most R new connections per second\n"
          "      --interval D        time series and progress interval (default 1s)\n"
          "      --timeseries FILE   write one NDJSON object per interval\n"
          "      --hdr-log FILE      write an HdrHistogram interval log (format 1.3, values in us)\n"
          "      --html FILE         write a self-contained HTML report\n"
          "      --shard i/N         run the i-th of N equal slices of this load (then merge)\n"
          "      --progress          when stderr is not a TTY, print a line every 10 s\n"
          CLI_WS_USAGE
          CLI_TLS_USAGE
          "request:\n"
          "  -m, --method M          request method (default GET)\n"
          "  -H, --header 'K: V'     add a request header (repeatable)\n"
          "      --body STR          request body\n"
          "      --body-file FILE    request body from a file\n"
          "output:\n"
          "      --json FILE         write the JSON result (- for stdout; the text\n"
          "                          summary then goes to stderr)\n"
          "  -q, --quiet             no text summary\n"
          "  -h, --help              this help\n"
          "  -v, --version           print the version\n"
          "\n"
          "examples:\n"
          "  stampede -t2 -c100 -d10s http://127.0.0.1:8080/\n"
          "  stampede -c50 -n 100000 --pipeline 16 -H 'Host: x' --json out.json http://[::1]:8080/path\n"
          "  stampede -m POST --body '{\"a\":1}' -H 'Content-Type: application/json' http://localhost:8080/api\n"
          "  stampede -R 20000 -d30s http://127.0.0.1:8080/\n"
          "  stampede --stages 30s:1000/s,2m:1000/s,30s:0/s http://127.0.0.1:8080/\n"
          "  stampede --stages 30s:500,5m:500,30s:0 http://127.0.0.1:8080/\n"
          "  stampede -c200 --ws-pipeline 4 -d10s ws://127.0.0.1:9001/echo\n"
          "  stampede --reconnect --sessions 100000 --connect-rate 5000/s -c2000 ws://127.0.0.1:9001/echo\n"
          "  stampede --hold -c 200000 --connect-rate 20000/s -d2m ws://127.0.0.1:9001/\n"
          "  stampede -c100 -d10s --cacert ca.pem https://localhost:8443/\n"
          "  stampede -k --reconnect -c200 -d10s wss://127.0.0.1:8443/echo\n"
          "\n"
          "exit codes: 0 ok, 1 runtime failure (or no response at all), 2 usage or\n"
          "config error, 130 interrupted (the report is still printed and written).\n",
          f);
}

unsigned cli_distance(const char *a, const char *b)
{
    unsigned row[64], n = strlen(b), m = strlen(a);

    if (n >= 64 || m >= 64)
        return 99;
    for (unsigned j = 0; j <= n; j++)
        row[j] = j;
    for (unsigned i = 1; i <= m; i++) {
        unsigned prev = row[0]++;

        for (unsigned j = 1; j <= n; j++) {
            unsigned cur = row[j];
            unsigned sub = prev + (a[i - 1] != b[j - 1]);
            unsigned del = row[j] + 1, ins = row[j - 1] + 1;

            row[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    return row[n];
}

static void cli_suggest(const char *arg)
{
    const char *name = arg;
    const char *best = NULL;
    unsigned best_d = 3;

    while (*name == '-')
        name++;
    for (const struct option *o = long_opts; o->name; o++) {
        unsigned d = cli_distance(name, o->name);

        if (d < best_d) {
            best_d = d;
            best = o->name;
        }
    }
    if (best)
        fprintf(CLI_ERR, " (did you mean --%s?)", best);
}

static const char *opt_name(int id, char *buf, size_t len)
{
    for (const struct option *o = long_opts; o->name; o++) {
        if (o->val == id) {
            snprintf(buf, len, "--%s", o->name);
            return buf;
        }
    }
    snprintf(buf, len, "-%c", id);
    return buf;
}

static enum cli_rc bad_value(int id, const char *val, const char *expect)
{
    char name[40];

    fprintf(CLI_ERR, "stampede: invalid value '%s' for %s: expected %s\n", val,
            opt_name(id, name, sizeof(name)), expect);
    return CLI_EXIT_USAGE;
}

static enum cli_rc bad_url(const char *url, const char *expect)
{
    fprintf(CLI_ERR, "stampede: invalid URL '%s': expected %s\n", url, expect);
    return CLI_EXIT_USAGE;
}

static int parse_u32(const char *s, uint32_t lo, uint32_t hi, uint32_t *out)
{
    uint64_t v;

    if (units_parse_count(s, &v) || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static enum cli_rc parse_header(struct plan *p, const char *arg)
{
    const char *colon = strchr(arg, ':');
    char *name;
    const char *value;

    if (!colon || colon == arg || strcspn(arg, " \t\r\n") < (size_t)(colon - arg))
        return bad_value('H', arg, "'Name: value'");
    if (p->nheaders == PLAN_MAX_HEADERS) {
        fprintf(CLI_ERR, "stampede: too many -H headers (max %d)\n", PLAN_MAX_HEADERS);
        return CLI_EXIT_USAGE;
    }
    if ((size_t)(colon - arg) == 14 && !strncasecmp(arg, "content-length", 14)) {
        fprintf(CLI_ERR, "stampede: invalid header '%s': Content-Length is set from --body or "
                        "--body-file\n", arg);
        return CLI_EXIT_USAGE;
    }
    name = strndup(arg, (size_t)(colon - arg));
    value = colon + 1;
    while (*value == ' ' || *value == '\t')
        value++;
    if (!name)
        return CLI_EXIT_RUNTIME;
    p->headers[p->nheaders].name = name;
    p->headers[p->nheaders].value = value;
    p->nheaders++;
    return CLI_RUN;
}

static enum cli_rc read_body_file(struct plan *p, const char *path)
{
    int err;

    free(p->body);
    p->body = NULL;
    err = units_read_file(path, 64 << 20, &p->body, &p->body_len);
    if (err) {
        fprintf(CLI_ERR, "stampede: --body-file '%s': %s\n", path,
                err == -EFBIG ? "larger than 64 MiB" : strerror(-err));
        return CLI_EXIT_USAGE;
    }
    p->body_file = path;
    return CLI_RUN;
}

static enum cli_rc parse_duration_opt(int id, const char *arg, uint64_t min_ns, uint64_t *out)
{
    uint64_t ns;

    if (units_parse_duration(arg, &ns) || ns < min_ns)
        return bad_value(id, arg, "a positive duration like 500ms, 10s or 2m");
    *out = ns;
    return CLI_RUN;
}

static enum cli_rc parse_stages_opt(struct plan *p, const char *arg)
{
    const char *at = arg;

    if (pace_parse_stages(arg, &p->pace, &at)) {
        fprintf(CLI_ERR, "stampede: invalid value '%s' for --stages at '%s': expected "
                        "DURATION:TARGET,... with all targets rates (1000/s) or all "
                        "connection counts (500)\n", arg, at);
        return CLI_EXIT_USAGE;
    }
    p->stages_given = true;
    return CLI_RUN;
}

/* Flags of the load model (open loop, stages, pacing of connections). */
static enum cli_rc parse_model_opt(struct plan *p, int c, const char *arg)
{
    switch (c) {
    case 'R':
        if (pace_parse_rate(arg, false, &p->rate))
            return bad_value(c, arg, "a rate like 20000, 20000/s or 600/m");
        return CLI_RUN;
    case O_STAGES:
        return parse_stages_opt(p, arg);
    case O_START:
        p->start_arg = arg;
        return CLI_RUN;
    case O_ARRIVAL:
        if (strcmp(arg, "uniform") && strcmp(arg, "poisson"))
            return bad_value(c, arg, "uniform or poisson");
        p->poisson = !strcmp(arg, "poisson");
        return CLI_RUN;
    case O_WARMUP:
        return parse_duration_opt(c, arg, 1000000, &p->warmup_ns);
    case O_MAX_CONNECTIONS:
        return parse_u32(arg, 1, 10000000, &p->max_connections)
                   ? bad_value(c, arg, "a connection count from 1 to 10m")
                   : CLI_RUN;
    case O_CONNECT_RATE:
        if (pace_parse_rate(arg, false, &p->connect_rate))
            return bad_value(c, arg, "a rate like 2000/s");
        return CLI_RUN;
    case O_INTERVAL:
        return parse_duration_opt(c, arg, 10000000, &p->interval_ns);
    case O_TIMESERIES:
        p->timeseries_path = arg;
        return CLI_RUN;
    case O_PROGRESS:
        p->progress = true;
        return CLI_RUN;
    }
    return CLI_EXIT_USAGE;
}

static enum cli_rc parse_opt(struct plan *p, int c, const char *arg)
{
    switch (c) {
    case 'c':
        return parse_u32(arg, 1, 10000000, &p->connections)
                   ? bad_value(c, arg, "a connection count from 1 to 10m")
                   : CLI_RUN;
    case 't':
        p->threads_given = true;
        return parse_u32(arg, 1, 4096, &p->threads) ? bad_value(c, arg, "1 to 4096 threads")
                                                    : CLI_RUN;
    case 'd':
        p->duration_given = true;
        return parse_duration_opt(c, arg, 1000000, &p->duration_ns);
    case 'n':
        if (units_parse_count(arg, &p->requests) || !p->requests)
            return bad_value(c, arg, "a positive request count like 100000 or 1m");
        return CLI_RUN;
    case 'H':
        return parse_header(p, arg);
    case 'm':
        if (!*arg || strpbrk(arg, " \t\r\n:/"))
            return bad_value(c, arg, "an HTTP method token like GET or POST");
        p->method = arg;
        return CLI_RUN;
    case O_BODY:
        free(p->body);
        p->body = strdup(arg);
        p->body_len = strlen(arg);
        return p->body ? CLI_RUN : CLI_EXIT_RUNTIME;
    case O_BODY_FILE:
        return read_body_file(p, arg);
    case O_PIPELINE:
        p->pipeline_given = true;
        return parse_u32(arg, 1, 1024, &p->pipeline) ? bad_value(c, arg, "1 to 1024")
                                                     : CLI_RUN;
    case O_TIMEOUT:
        return parse_duration_opt(c, arg, 1000000, &p->timeout_ns);
    case O_CONNECT_TIMEOUT:
        return parse_duration_opt(c, arg, 1000000, &p->connect_timeout_ns);
    case O_JSON:
        p->json_path = arg;
        return CLI_RUN;
    case O_SEED:
        return units_parse_count(arg, &p->seed) ? bad_value(c, arg, "an unsigned integer")
                                                : CLI_RUN;
    case 'q':
        p->quiet = true;
        return CLI_RUN;
    case O_TLS_INSECURE:
        return cli_tls_opt(p, c, arg);
    default:
        if (c >= O_TLS_CACERT)
            return cli_tls_opt(p, c, arg);
        if (c >= O_WS_MSG)
            return cli_ws_opt(p, c, arg);
        return parse_model_opt(p, c, arg);
    }
    return CLI_EXIT_USAGE;
}

/* Split http://host[:port][/path] (IPv6 literals in brackets). */
static enum cli_rc parse_url(struct plan *p, const char *url)
{
    const char *rest, *host, *host_end, *port_s = NULL, *path;

    p->url = url;
    rest = strstr(url, "://");
    if (!rest || (size_t)(rest - url) >= sizeof(p->scheme))
        return bad_url(url, "a URL like http://host:port/path");
    memcpy(p->scheme, url, (size_t)(rest - url));
    p->scheme[rest - url] = 0;
    if (strcasecmp(p->scheme, "http") && strcasecmp(p->scheme, "ws") &&
        strcasecmp(p->scheme, "https") && strcasecmp(p->scheme, "wss")) {
        fprintf(CLI_ERR, "stampede: unsupported URL scheme '%s' in '%s': http://, https://, "
                        "ws:// and wss:// are supported\n", p->scheme, url);
        return CLI_EXIT_USAGE;
    }
    p->ws = !strncasecmp(p->scheme, "ws", 2);
    p->tls = !strcasecmp(p->scheme, "https") || !strcasecmp(p->scheme, "wss");
    host = rest + 3;
    if (*host == '[') {
        host_end = strchr(++host, ']');
        if (!host_end)
            return bad_url(url, "a closing ']' after the IPv6 address");
        rest = host_end + 1;
    } else {
        host_end = host + strcspn(host, ":/?#");
        rest = host_end;
    }
    if (host_end == host || (size_t)(host_end - host) >= sizeof(p->host))
        return bad_url(url, "a host name");
    memcpy(p->host, host, (size_t)(host_end - host));
    p->host[host_end - host] = 0;
    if (*rest == ':')
        port_s = ++rest;
    path = rest + strcspn(rest, "/?#");
    if (port_s) {
        uint32_t port;
        char buf[8];
        size_t n = (size_t)(path - port_s);

        if (!n || n >= sizeof(buf))
            return bad_url(url, "a port from 1 to 65535");
        memcpy(buf, port_s, n);
        buf[n] = 0;
        if (strspn(buf, "0123456789") != n || parse_u32(buf, 1, 65535, &port))
            return bad_url(url, "a port from 1 to 65535");
        p->port = (uint16_t)port;
    } else if (path != rest) {
        return bad_url(url, "a URL like http://host:port/path");
    } else {
        p->port = p->tls ? 443 : 80;
    }
    if (*path == '#' )
        path = "";
    p->path = *path ? path : "/";
    return CLI_RUN;
}

static enum cli_rc resolve(struct plan *p)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_family = AF_UNSPEC};
    struct addrinfo *res;
    char port[8], ip[INET6_ADDRSTRLEN];
    int rc;

    snprintf(port, sizeof(port), "%u", p->port);
    rc = getaddrinfo(p->host, port, &hints, &res);
    if (rc) {
        fprintf(CLI_ERR, "stampede: cannot resolve '%s': %s\n", p->host, gai_strerror(rc));
        return CLI_EXIT_RUNTIME;
    }
    memcpy(&p->addr, res->ai_addr, res->ai_addrlen);
    p->addr_len = res->ai_addrlen;
    freeaddrinfo(res);
    if (p->addr.ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&p->addr)->sin6_addr, ip, sizeof(ip));
        snprintf(p->addr_str, sizeof(p->addr_str), "[%s]:%u", ip, p->port);
    } else {
        inet_ntop(AF_INET, &((struct sockaddr_in *)&p->addr)->sin_addr, ip, sizeof(ip));
        snprintf(p->addr_str, sizeof(p->addr_str), "%s:%u", ip, p->port);
    }
    return CLI_RUN;
}

static void plan_defaults(struct plan *p)
{
    cpu_set_t set;

    memset(p, 0, sizeof(*p));
    p->connections = 10;
    p->pipeline = 1;
    p->timeout_ns = 10000000000ull;
    p->connect_timeout_ns = 5000000000ull;
    p->method = "GET";
    p->tls_cfg.alpn = "http/1.1";
    p->tls_cfg.resume = true;
    if (getrandom(&p->seed, sizeof(p->seed), 0) != sizeof(p->seed))
        p->seed = (uint64_t)time(NULL);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int i = 0; i < CPU_SETSIZE && p->ncpus < PLAN_MAX_CPUS; i++)
            if (CPU_ISSET(i, &set))
                p->cpus[p->ncpus++] = i;
    }
}

/* Settle what depends on several flags: threads, duration, the request. */
static enum cli_rc model_error(const char *msg)
{
    fprintf(CLI_ERR, "stampede: %s\n", msg);
    return CLI_EXIT_USAGE;
}

static double stages_max(const struct pace_plan *pp)
{
    double m = pp->start;

    for (unsigned i = 0; i < pp->nstages; i++)
        if (pp->stages[i].target > m)
            m = pp->stages[i].target;
    return m;
}

/* --start: a rate for rate stages, a connection count otherwise. */
static enum cli_rc model_start(struct plan *p)
{
    uint64_t n;

    if (!p->start_arg)
        return CLI_RUN;
    if (!p->stages_given)
        return model_error("--start needs --stages");
    if (p->pace.is_rate ? pace_parse_rate(p->start_arg, true, &p->pace.start)
                        : units_parse_count(p->start_arg, &n))
        return bad_value(O_START, p->start_arg,
                         p->pace.is_rate ? "a rate like 100/s" : "a connection count");
    if (!p->pace.is_rate)
        p->pace.start = (double)n;
    return CLI_RUN;
}

/* Settle the load model: open or closed loop, the schedule, the run's length
 * and how many connection slots the workers need. */
static enum cli_rc plan_model(struct plan *p)
{
    enum cli_rc rc;

    if (p->rate && p->stages_given)
        return model_error("-R and --stages cannot be combined (a stage list with rate "
                           "targets is a ramping rate)");
    if (p->stages_given && p->duration_given)
        return model_error("--stages sets the run's length: drop -d");
    rc = model_start(p);
    if (rc != CLI_RUN)
        return rc;
    if (!p->duration_given && !p->requests && !p->stages_given && !p->sessions)
        p->duration_ns = 10000000000ull;
    if (!p->interval_ns)
        p->interval_ns = 1000000000ull;
    p->conn_slots = p->connections;
    if (p->rate) {
        /* one constant stage; with only -n it lasts as long as needed */
        p->pace.nstages = 1;
        p->pace.is_rate = true;
        p->pace.start = p->rate;
        p->pace.stages[0].target = p->rate;
        p->pace.stages[0].duration_ns = p->duration_ns ? p->duration_ns : 365ull * 86400 * 1000000000;
    }
    if (p->stages_given) {
        p->duration_ns = pace_total_ns(&p->pace);
        p->duration_given = true;
    }
    p->open_loop = p->pace.is_rate && p->pace.nstages;
    p->conn_stages = p->stages_given && !p->pace.is_rate;
    if (p->conn_stages) {
        p->conn_slots = (uint32_t)stages_max(&p->pace);
        p->connections = (uint32_t)p->pace.start;
        if (!p->conn_slots)
            return model_error("--stages: every connection target is 0");
    }
    if (p->max_connections) {
        if (!p->open_loop)
            return model_error("--max-connections applies to open loop (-R or rate stages)");
        if (p->max_connections < p->connections)
            return model_error("--max-connections is below -c");
        p->conn_slots = p->max_connections;
    }
    if (p->warmup_ns)
        p->warmup_value = p->open_loop ? (p->stages_given ? p->pace.stages[0].target : p->rate)
                                       : (p->conn_stages ? p->pace.stages[0].target
                                                         : p->connections);
    if (p->poisson && !p->open_loop)
        return model_error("--arrival applies to open loop (-R or rate stages)");
    return CLI_RUN;
}

/* --requests-per-conn: the session's last request asks the server to close
 * (Connection: close), so the server closes first and TIME_WAIT stays on
 * its side, as with ab or wrk -H 'Connection: close': a reconnect storm
 * does not exhaust our ephemeral ports. p->req_close holds pipeline - 1
 * plain copies, then the closing one: a batch ending the session is its
 * tail. */
static enum cli_rc plan_req_close(struct plan *p, struct http1_req_spec *spec)
{
    struct http1_header hdrs[PLAN_MAX_HEADERS + 1];
    size_t cap = 4096 + p->body_len + 8192 * PLAN_MAX_HEADERS, plain = (p->pipeline - 1) * p->req_len;
    long n;

    if (!p->requests_per_conn)
        return CLI_RUN;
    for (size_t i = 0; i < p->nheaders; i++)
        if (!strcasecmp(p->headers[i].name, "Connection"))
            return CLI_RUN; /* the user decides */
    memcpy(hdrs, p->headers, p->nheaders * sizeof(hdrs[0]));
    hdrs[p->nheaders] = (struct http1_header){"Connection", "close"};
    spec->headers = hdrs;
    spec->nheaders = p->nheaders + 1;
    p->req_close = malloc(plain + cap);
    if (!p->req_close)
        return CLI_EXIT_RUNTIME;
    memcpy(p->req_close, p->req, plain);
    n = http1_req_build(p->req_close + plain, cap, spec);
    if (n < 0) {
        fputs("stampede: cannot encode the closing request\n", CLI_ERR);
        return CLI_EXIT_USAGE;
    }
    p->req_close_len = (size_t)n;
    return CLI_RUN;
}

static enum cli_rc plan_finish(struct plan *p)
{
    unsigned nofile = uring_raise_nofile();
    uint32_t per_ring = nofile > 128 ? nofile - 64 : 64;
    char host_hdr[272];
    enum cli_rc rc;
    long n;

    rc = plan_model(p);
    if (rc != CLI_RUN)
        return rc;
    if (!p->threads_given)
        p->threads = p->ncpus ? p->ncpus : 1;
    if (p->threads > p->conn_slots)
        p->threads = p->conn_slots;
    /* a ring's file table holds at most RLIMIT_NOFILE direct descriptors */
    if ((p->conn_slots + p->threads - 1) / p->threads > per_ring)
        p->threads = (p->conn_slots + per_ring - 1) / per_ring;
    p->head_request = !strcasecmp(p->method, "HEAD");
    snprintf(host_hdr, sizeof(host_hdr), "%s%s%s", strchr(p->host, ':') ? "[" : "", p->host,
             strchr(p->host, ':') ? "]" : "");
    if (p->port != (p->tls ? 443 : 80))
        snprintf(p->host_header, sizeof(p->host_header), "%s:%u", host_hdr, p->port);
    else
        snprintf(p->host_header, sizeof(p->host_header), "%s", host_hdr);
    /* the request target: never the #fragment, and "?q" becomes "/?q" */
    size_t plen = strcspn(p->path, "#");
    char *target = malloc(plen + 2);

    if (!target)
        return CLI_EXIT_RUNTIME;
    snprintf(target, plen + 2, "%s%.*s", *p->path == '/' ? "" : "/", (int)plen, p->path);
    rc = cli_tls_finish(p);
    if (rc == CLI_RUN)
        rc = cli_ws_finish(p, target);
    if (rc != CLI_RUN) {
        free(target);
        return rc;
    }
    struct http1_req_spec spec = {
        .method = p->method, .path = target, .host = p->host_header,
        .headers = p->headers, .nheaders = p->nheaders, .body = p->body,
        .body_len = p->body_len,
    };
    size_t cap = 4096 + p->body_len;
    char *one = malloc(cap + 8192 * PLAN_MAX_HEADERS);

    if (!one) {
        free(target);
        return CLI_EXIT_RUNTIME;
    }
    n = http1_req_build(one, cap + 8192 * PLAN_MAX_HEADERS, &spec);
    if (n < 0) {
        free(target);
        free(one);
        fprintf(CLI_ERR, "stampede: cannot encode the request: %s\n",
                n == -EINVAL ? "the method, path or a header is not valid HTTP (control "
                                     "characters, spaces in the path, or a bad header name)"
                                   : "too large");
        return CLI_EXIT_USAGE;
    }
    p->req_len = (size_t)n;
    p->req = malloc(p->req_len * p->pipeline);
    if (!p->req) {
        free(target);
        free(one);
        return CLI_EXIT_RUNTIME;
    }
    for (uint32_t i = 0; i < p->pipeline; i++)
        memcpy(p->req + i * p->req_len, one, p->req_len);
    free(one);
    rc = plan_req_close(p, &spec);
    free(target);
    return rc;
}

static enum cli_rc cli_unknown(int argc, char **argv)
{
    const char *bad = argv[optind - 1 < argc ? optind - 1 : argc - 1];

    if (optopt && optopt < 256) {
        fprintf(CLI_ERR, "stampede: unknown option '-%c'", optopt);
    } else {
        fprintf(CLI_ERR, "stampede: unknown option '%s'", bad);
        cli_suggest(bad);
    }
    fputs("\nTry 'stampede --help'.\n", CLI_ERR);
    return CLI_EXIT_USAGE;
}

enum cli_rc cli_parse(int argc, char **argv, struct plan *p)
{
    enum cli_rc rc;
    int c;

    plan_defaults(p);
    opterr = 0;
    optind = 0; /* glibc and musl: 0 also resets getopt's scan state */
    while ((c = getopt_long(argc, argv, SHORT_OPTS, long_opts, NULL)) != -1) {
        char name[40];

        switch (c) {
        case 'h':
            cli_usage(stdout);
            return CLI_EXIT_OK;
        case 'v':
            printf("stampede %s\n", stampede_version);
            return CLI_EXIT_OK;
        case '?':
            return cli_unknown(argc, argv);
        case ':':
            fprintf(CLI_ERR, "stampede: %s needs a value\n",
                    opt_name(optopt, name, sizeof(name)));
            return CLI_EXIT_USAGE;
        default:
            rc = parse_opt(p, c, optarg);
            if (rc != CLI_RUN)
                return rc;
        }
    }
    if (optind >= argc) {
        fputs("stampede: missing URL\nTry 'stampede --help'.\n", CLI_ERR);
        return CLI_EXIT_USAGE;
    }
    if (optind != argc - 1) {
        fprintf(CLI_ERR, "stampede: more than one URL given: '%s', '%s'\nTry 'stampede --help'.\n",
                argv[optind], argv[optind + 1]);
        return CLI_EXIT_USAGE;
    }
    rc = parse_url(p, argv[optind]);
    if (rc == CLI_RUN)
        rc = resolve(p);
    if (rc == CLI_RUN)
        rc = plan_finish(p);
    return rc;
}

void plan_fini(struct plan *p)
{
    for (size_t i = 0; i < p->nheaders; i++)
        free((char *)p->headers[i].name);
    free(p->body);
    free(p->req);
    free(p->req_close);
    p->req_close = NULL;
    cli_ws_fini(p);
    cli_tls_fini(p);
    p->nheaders = 0;
    p->body = p->req = NULL;
}

const char *plan_main_metric(const struct plan *p)
{
    return !p->ws ? "http_req_duration" : p->ws_metric[0] ? p->ws_metric : "ws_msg_rtt";
}

bool plan_header_secret(const char *name)
{
    static const char *const secret[] = {
        "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key",
        "x-auth-token", "api-key",
    };

    for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
        if (!strcasecmp(name, secret[i]))
            return true;
    return false;
}
