/*
 * target_main.c - stampede-target's entry: flags, listeners, worker
 * threads, signals, and the stdout lines tests rely on:
 *   first line   "listening HOST:PORT"   (flushed as soon as it is true)
 *   every --report-interval   "held N"   (connections open now, all threads)
 *   on SIGTERM/SIGINT   "answered N"     (HTTP responses fully sent, all threads)
 *                       "ws_handshakes N", "ws_msgs_in N", "ws_msgs_out N",
 *                       "held_peak N", and "conns_closed_slow N" if not 0;
 *                       with --tls-cert also "tls_handshakes N",
 *                       "tls_resumed N", "tls_failed N" (and on stderr
 *                       the first failure's reason, for people)
 *                       with --api also one line "api login N cart N
 *                       checkout N health N unauthorized N bad N not_found N"
 * Exit codes: 0 after a signal, 1 on a runtime failure (bind, ring set-up,
 * a worker's fatal error), 2 on bad flags (a --tls-* file that cannot be
 * loaded included).
 *
 * The main thread blocks SIGINT/SIGTERM/SIGUSR1 before starting workers,
 * so only its sigwait() sees them; workers poll a stop flag at least every
 * 50 ms and raise SIGUSR1 when they fail. Not on the hot path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "target.h"
#include "tls.h"
#include "units.h"

#define EXIT_USAGE 2

static const char usage_text[] =
    "usage: stampede-target --port N [options]\n"
    "\n"
    "io_uring HTTP/1.1 sink: answers every request (keep-alive, pipelining)\n"
    "with a fixed 200 response; HEAD gets its head only. HTTP/1.0 requests\n"
    "are closed after their response unless they ask for keep-alive.\n"
    "WebSocket (RFC 6455) on the same port: GET /echo (or /) echoes every\n"
    "message; GET /rooms/N groups each N consecutive handshakes of a thread\n"
    "into a room and sends every message to all its members, sender included\n"
    "(rooms are per thread: use --threads 1 for exact rooms). Other paths: 404.\n"
    "With --tls-cert, HTTP and WebSocket are served over TLS (1.2 and 1.3, with\n"
    "session resumption: tickets and TLS 1.2 session ids) on that port instead.\n"
    "With --api, paths under /api are a mock REST API answering JSON\n"
    "(Content-Type: application/json); other paths are answered as above:\n"
    "  POST /api/login     200 {\"token\":\"tok-N\",\"user\":\"U\"} and header\n"
    "                      X-Session: s-N (U: the body's \"user\" string, if plain)\n"
    "  POST /api/cart      200 {\"cart_id\":\"cart-M\",\"items\":1}; needs the header\n"
    "                      Authorization: Bearer tok-DIGITS, else 401\n"
    "                      {\"error\":\"unauthorized\"}\n"
    "  POST /api/checkout  200 {\"order_id\":\"ord-K\",\"status\":\"confirmed\"}; needs\n"
    "                      the same header (else 401) and \"cart_id\":\"cart-DIGITS\"\n"
    "                      in the body (else 400 {\"error\":\"no cart\"})\n"
    "  GET /api/health     200 {\"status\":\"ok\"}\n"
    "Other /api paths: 404; another method: 405; a chunked body: 411 and a close;\n"
    "a request over 128k: 413. Tokens are checked for their form only. N, M and\n"
    "K count from 1 in each thread, plus the thread's number times 2^40.\n"
    "\n"
    "  --port N          port to listen on; 0 picks a free one (required)\n"
    "  --host ADDR       IPv4 or IPv6 address to bind (default 127.0.0.1)\n"
    "  --threads N       worker threads, one ring and listener each (default 1);\n"
    "                    each holds up to RLIMIT_NOFILE connections (direct\n"
    "                    descriptors), so N threads hold N times that\n"
    "  --delay D         send each response D after its request, e.g. 10ms, 500us\n"
    "  --body-size N     response body bytes, e.g. 13, 4k (default 13)\n"
    "  --close-after N   close each connection after its Nth response\n"
    "  --stall D@T       answer nothing for D, starting T after the first request\n"
    "                    (held responses leave when the stall ends), e.g. 1s@2s\n"
    "                    (--delay, --body-size, --close-after, --stall: HTTP only)\n"
    "  --ws-max-msg N    longest WebSocket message; longer ones get close 1009\n"
    "                    (default 1m, at most 1g)\n"
    "  --report-interval D  print \"held N\" (open connections) every D, e.g. 1s\n"
    "  --api             serve the mock REST API under /api (above); --delay,\n"
    "                    --stall and --close-after apply to it too\n"
    "  --tls-cert FILE   serve TLS with this PEM certificate (chain first)\n"
    "  --tls-key FILE    its PEM private key (default: read from --tls-cert)\n"
    "  --tls-client-ca FILE  require a client certificate signed by these PEM\n"
    "                    CAs (mutual TLS); handshakes without one fail\n"
    "  -h, --help        show this help\n"
    "\n"
    "First stdout line: \"listening HOST:PORT\". On SIGINT/SIGTERM it prints\n"
    "\"answered N\" (HTTP responses fully sent), \"ws_handshakes N\",\n"
    "\"ws_msgs_in N\", \"ws_msgs_out N\" (every broadcast copy counted),\n"
    "\"held_peak N\" (most connections open at once) and, if any member was\n"
    "dropped for not reading (close 1008), \"conns_closed_slow N\"; with TLS\n"
    "also \"tls_handshakes N\" (completed, resumed ones included),\n"
    "\"tls_resumed N\" and \"tls_failed N\" (failed handshakes, and peers that\n"
    "left during one); with --api also \"api login N cart N checkout N health N\n"
    "unauthorized N bad N not_found N\" (requests answered by kind; bad: 400,\n"
    "405, 411, 413); exits 0.\n";

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "stampede-target: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(see stampede-target --help)\n");
    return -EINVAL;
}

/* Plain decimal integer in [min, max]; the whole string must be used. */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (*s < '0' || *s > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}

/* "127.0.0.1", "::1" or "[::1]" into cfg->addr (port set later). */
static int parse_host(struct tgt_config *cfg, const char *s)
{
    struct sockaddr_in *in4 = (struct sockaddr_in *)&cfg->addr;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&cfg->addr;
    char buf[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(s);

    memset(&cfg->addr, 0, sizeof(cfg->addr));
    if (inet_pton(AF_INET, s, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        cfg->addr_len = sizeof(*in4);
        return 0;
    }
    if (n >= 2 && n < sizeof(buf) && s[0] == '[' && s[n - 1] == ']') {
        memcpy(buf, s + 1, n - 2);
        buf[n - 2] = '\0';
        s = buf;
    }
    if (inet_pton(AF_INET6, s, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        cfg->addr_len = sizeof(*in6);
        return 0;
    }
    return -EINVAL;
}

static void set_port(struct tgt_config *cfg, uint16_t port)
{
    if (cfg->addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&cfg->addr)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&cfg->addr)->sin_port = htons(port);
}

/* --stall D@T: D of silence starting T after the first request. */
static int parse_stall(struct tgt_config *cfg, const char *arg)
{
    const char *at = strchr(arg, '@');
    char d[32];

    if (!at || at == arg || (size_t)(at - arg) >= sizeof(d))
        return -EINVAL;
    memcpy(d, arg, (size_t)(at - arg));
    d[at - arg] = 0;
    if (units_parse_duration(d, &cfg->stall_ns) || !cfg->stall_ns ||
        units_parse_duration(at + 1, &cfg->stall_at_ns))
        return -EINVAL;
    return 0;
}

/* One flag's value; -EINVAL (message printed) when it is bad. */
static int parse_flag(struct tgt_config *cfg, int opt, const char *arg, uint64_t *port)
{
    uint64_t v;

    switch (opt) {
    case 'p':
        return parse_uint(arg, 0, 65535, port) ? usage_error("invalid --port '%s' (0-65535)", arg) : 0;
    case 'H':
        return parse_host(cfg, arg) ? usage_error("invalid --host '%s' (numeric IPv4 or IPv6 address)", arg) : 0;
    case 't':
        if (parse_uint(arg, 1, TGT_MAX_THREADS, &v))
            return usage_error("invalid --threads '%s' (1-256)", arg);
        cfg->threads = (unsigned)v;
        return 0;
    case 'd':
        if (units_parse_duration(arg, &cfg->delay_ns) || cfg->delay_ns > 3600 * 1000000000ull)
            return usage_error("invalid --delay '%s' (a duration like 10ms, 500us; at most 1h)", arg);
        return 0;
    case 'b':
        if (units_parse_size(arg, &cfg->body_bytes) || cfg->body_bytes > TGT_MAX_BODY_BYTES)
            return usage_error("invalid --body-size '%s' (bytes, e.g. 13 or 4k; at most 64m)", arg);
        return 0;
    case 's':
        return parse_stall(cfg, arg) ? usage_error("invalid --stall '%s' (DURATION@AFTER, e.g. "
                                                   "1s@2s)", arg)
                                     : 0;
    case 'c':
        return parse_uint(arg, 1, UINT32_MAX, &cfg->close_after)
                   ? usage_error("invalid --close-after '%s' (a count of 1 or more)", arg)
                   : 0;
    case 'm':
        if (units_parse_size(arg, &v) || v < 1 || v > TGT_WS_MAX_MSG_LIMIT)
            return usage_error("invalid --ws-max-msg '%s' (bytes, e.g. 1000 or 1m; 1 to 1g)", arg);
        cfg->ws_max_msg = (uint32_t)v;
        return 0;
    case 'r':
        if (units_parse_duration(arg, &cfg->report_ns) || cfg->report_ns < 1000000)
            return usage_error("invalid --report-interval '%s' (a duration of 1ms or more, "
                               "e.g. 1s)", arg);
        return 0;
    case 'a':
        cfg->api = true;
        return 0;
    case 'T':
    case 'K':
    case 'A':
        *(opt == 'T' ? &cfg->tls_cert : opt == 'K' ? &cfg->tls_key : &cfg->tls_client_ca) = arg;
        return 0; /* the files are read once all flags are known */
    default:
        return -EINVAL;
    }
}

/* argv -> cfg. Returns 0, 1 for --help (already printed), or -EINVAL. */
static int parse_args(int argc, char **argv, struct tgt_config *cfg)
{
    static const struct option opts[] = {
        {"port", required_argument, NULL, 'p'},     {"host", required_argument, NULL, 'H'},
        {"threads", required_argument, NULL, 't'},  {"delay", required_argument, NULL, 'd'},
        {"body-size", required_argument, NULL, 'b'}, {"close-after", required_argument, NULL, 'c'},
        {"stall", required_argument, NULL, 's'},    {"ws-max-msg", required_argument, NULL, 'm'},
        {"report-interval", required_argument, NULL, 'r'},
        {"tls-cert", required_argument, NULL, 'T'}, {"tls-key", required_argument, NULL, 'K'},
        {"tls-client-ca", required_argument, NULL, 'A'}, {"api", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    uint64_t port = UINT64_MAX;
    int opt;

    *cfg = (struct tgt_config){.threads = 1, .body_bytes = 13, .ws_max_msg = TGT_WS_MAX_MSG_DEFAULT};
    parse_host(cfg, "127.0.0.1");
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage_text, stdout);
            return 1;
        }
        if (opt == '?' || parse_flag(cfg, opt, optarg, &port) < 0)
            return opt == '?' ? usage_error("%s", "bad option") : -EINVAL;
    }
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    if (port == UINT64_MAX)
        return usage_error("%s", "--port is required (0 picks a free port)");
    if (!cfg->tls_cert && (cfg->tls_key || cfg->tls_client_ca))
        return usage_error("%s", "--tls-key and --tls-client-ca need --tls-cert");
    set_port(cfg, (uint16_t)port);
    return 0;
}

/* Soft = hard: each ring's file table (one connection per slot) may not
 * exceed the soft limit, and liburing 2.3 would otherwise try (and may
 * fail) to raise it itself. */
static void raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* Start every worker; after the barrier each has reported its set-up. */
static int start_workers(struct tgt_worker *ws, unsigned n, pthread_barrier_t *ready)
{
    for (unsigned i = 0; i < n; i++) {
        int ret = pthread_create(&ws[i].thread, NULL, tgt_worker_main, &ws[i]);

        if (ret) {
            fprintf(stderr, "stampede-target: pthread_create: %s\n", strerror(ret));
            exit(1); /* the barrier can never complete now */
        }
    }
    pthread_barrier_wait(ready);
    for (unsigned i = 0; i < n; i++)
        if (ws[i].err < 0)
            return -1; /* stop_workers reports it */
    return 0;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Wait for SIGINT/SIGTERM (0) or a worker's SIGUSR1 failure (-1),
 * printing "held N" every cfg->report_ns meanwhile. */
static int wait_signal(const sigset_t *set, const struct tgt_config *cfg)
{
    uint64_t next = mono_ns() + cfg->report_ns;
    int sig;

    for (;;) {
        if (!cfg->report_ns) {
            if (sigwait(set, &sig) == 0)
                return sig == SIGUSR1 ? -1 : 0;
            continue;
        }
        uint64_t now = mono_ns(), wait = next > now ? next - now : 0;
        struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};

        sig = sigtimedwait(set, NULL, &ts);
        if (sig > 0)
            return sig == SIGUSR1 ? -1 : 0;
        if (mono_ns() < next)
            continue; /* EINTR */
        printf("held %llu\n", (unsigned long long)atomic_load(&cfg->live->held));
        fflush(stdout);
        next += cfg->report_ns;
        if (next < mono_ns())
            next = mono_ns() + cfg->report_ns; /* stopped for long: no burst of lines */
    }
}

/* Join every worker; their counters summed into *sum. Returns answered. */
static uint64_t stop_workers(struct tgt_worker *ws, unsigned n, atomic_bool *stop,
                             struct tgt_counters *sum)
{
    uint64_t total = 0;

    atomic_store(stop, true);
    *sum = (struct tgt_counters){0};
    for (unsigned i = 0; i < n; i++) {
        pthread_join(ws[i].thread, NULL);
        total += atomic_load(&ws[i].answered);
        sum->ws_handshakes += ws[i].n.ws_handshakes;
        sum->ws_msgs_in += ws[i].n.ws_msgs_in;
        sum->ws_msgs_out += ws[i].n.ws_msgs_out;
        sum->closed_slow += ws[i].n.closed_slow;
        sum->tls_handshakes += ws[i].n.tls_handshakes;
        sum->tls_resumed += ws[i].n.tls_resumed;
        sum->tls_failed += ws[i].n.tls_failed;
        for (unsigned k = 0; k < TGT_API_NR; k++)
            sum->api[k] += ws[i].n.api[k];
        if (!sum->tls_fail_reason)
            sum->tls_fail_reason = ws[i].n.tls_fail_reason;
        if (ws[i].err < 0)
            fprintf(stderr, "stampede-target: worker %u: %s: %s\n", i, ws[i].err_what,
                    strerror(-ws[i].err));
    }
    return total;
}

/* The TLS lines; the first failure's reason goes to stderr, for people. */
static void print_tls_counters(const struct tgt_counters *n)
{
    char why[256];

    printf("tls_handshakes %llu\n", (unsigned long long)n->tls_handshakes);
    printf("tls_resumed %llu\n", (unsigned long long)n->tls_resumed);
    printf("tls_failed %llu\n", (unsigned long long)n->tls_failed);
    if (n->tls_fail_reason) {
        tls_reason_str(n->tls_fail_reason, why, sizeof(why));
        fflush(stdout);
        fprintf(stderr, "stampede-target: first TLS handshake failure: %s\n", why);
    }
}

/* One line: "api login N cart N ..." in enum tgt_api_ctr order. */
static void print_api_counters(const struct tgt_counters *n)
{
    fputs("api", stdout);
    for (unsigned k = 0; k < TGT_API_NR; k++)
        printf(" %s %llu", tgt_api_ctr_name[k], (unsigned long long)n->api[k]);
    putchar('\n');
}

static void print_counters(const struct tgt_config *cfg, uint64_t answered,
                           const struct tgt_counters *n)
{
    const struct tgt_live *live = cfg->live;

    printf("answered %llu\n", (unsigned long long)answered);
    printf("ws_handshakes %llu\n", (unsigned long long)n->ws_handshakes);
    printf("ws_msgs_in %llu\n", (unsigned long long)n->ws_msgs_in);
    printf("ws_msgs_out %llu\n", (unsigned long long)n->ws_msgs_out);
    printf("held_peak %llu\n", (unsigned long long)atomic_load(&live->held_peak));
    if (n->closed_slow)
        printf("conns_closed_slow %llu\n", (unsigned long long)n->closed_slow);
    if (cfg->tls_ctx)
        print_tls_counters(n);
    if (cfg->api)
        print_api_counters(n);
    fflush(stdout);
}

/* Listeners, workers, "listening", wait, "answered". Returns the exit code. */
static int serve(const struct tgt_config *cfg, const struct tgt_resp *resp, const sigset_t *sigs)
{
    static struct tgt_worker ws[TGT_MAX_THREADS];
    int fds[TGT_MAX_THREADS];
    atomic_bool stop = false;
    pthread_barrier_t ready;
    char addr[INET6_ADDRSTRLEN + 16];
    uint16_t port;
    int ret = tgt_listen_all(cfg, fds, &port);

    tgt_format_addr(&cfg->addr, port, addr, sizeof(addr));
    if (ret < 0) {
        fprintf(stderr, "stampede-target: cannot listen on %s: %s\n", addr, strerror(-ret));
        return 1;
    }
    pthread_barrier_init(&ready, NULL, cfg->threads + 1);
    for (unsigned i = 0; i < cfg->threads; i++)
        ws[i] = (struct tgt_worker){.id = i, .listen_fd = fds[i], .cfg = cfg, .resp = resp,
                                    .stop = &stop, .ready = &ready};
    ret = start_workers(ws, cfg->threads, &ready);
    if (ret == 0) {
        printf("listening %s\n", addr);
        fflush(stdout);
        ret = wait_signal(sigs, cfg);
    }
    struct tgt_counters sum;
    uint64_t answered = stop_workers(ws, cfg->threads, &stop, &sum);

    if (ret == 0)
        print_counters(cfg, answered, &sum);
    for (unsigned i = 0; i < cfg->threads; i++)
        close(fds[i]);
    pthread_barrier_destroy(&ready);
    return ret == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct tgt_config cfg;
    _Atomic uint64_t first_req_ns = 0; /* outlives every worker: joined below */
    struct tgt_live live = {0};
    struct tgt_resp resp;
    sigset_t sigs;
    char err[512];
    int ret = parse_args(argc, argv, &cfg);

    cfg.first_req_ns = &first_req_ns;
    cfg.live = &live;
    if (ret != 0)
        return ret > 0 ? 0 : EXIT_USAGE;
    if (tgt_tls_ctx_build(&cfg, err, sizeof(err)) < 0) {
        fprintf(stderr, "stampede-target: %s\n", err);
        return EXIT_USAGE;
    }
    raise_nofile();
    if (tgt_resp_build(&resp, cfg.body_bytes) < 0) {
        fprintf(stderr, "stampede-target: out of memory\n");
        tgt_tls_ctx_free(&cfg);
        return 1;
    }
    /* blocked before any thread exists, so workers inherit the mask */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    ret = serve(&cfg, &resp, &sigs);
    tgt_resp_free(&resp);
    tgt_tls_ctx_free(&cfg);
    return ret;
}
