/*
 * test_cli.c - cli_parse on argv arrays: defaults, the encoded request
 * (Host header forms, path, method, body, pipeline copies) and the usage
 * errors. Error messages go to stderr, which is silenced around each call
 * so the log only shows failed checks (T_LOUD=1 keeps it).
 */
#include "t.h"
#include "cli.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T_MAX_ARGS 32
#define T_NS_MS 1000000ull
#define T_NS_S 1000000000ull

static struct plan plan;
static char *t_argv[T_MAX_ARGS + 1];
static int t_saved_out = -1, t_saved_err = -1;

static void quiet(void)
{
    if (getenv("T_LOUD"))
        return;
    int null = open("/dev/null", O_WRONLY);

    fflush(stdout);
    fflush(stderr);
    t_saved_out = dup(1);
    t_saved_err = dup(2);
    dup2(null, 1);
    dup2(null, 2);
    close(null);
}

static void loud(void)
{
    if (getenv("T_LOUD"))
        return;
    fflush(stdout);
    fflush(stderr);
    dup2(t_saved_out, 1);
    dup2(t_saved_err, 2);
    close(t_saved_out);
    close(t_saved_err);
}

/* parse("-c", "5", URL, NULL): argv[0] is added. The strings are copied
 * because getopt permutes argv and the plan keeps pointers into it; they
 * stay valid until the next call. */
static enum cli_rc parse(const char *first, ...)
{
    static char store[T_MAX_ARGS][512];
    va_list ap;
    const char *a;
    int argc = 0;
    enum cli_rc rc;

    plan_fini(&plan);
    t_argv[argc++] = strcpy(store[0], "stampede");
    va_start(ap, first);
    for (a = first; a && argc < T_MAX_ARGS; a = va_arg(ap, const char *)) {
        snprintf(store[argc], sizeof(store[argc]), "%s", a);
        t_argv[argc] = store[argc];
        argc++;
    }
    va_end(ap);
    t_argv[argc] = NULL;
    quiet();
    rc = cli_parse(argc, t_argv, &plan);
    loud();
    return rc;
}

/* The encoded request as a string (requests here have no NUL bytes). */
static char *req_str(void)
{
    static char buf[8192];
    size_t n = plan.req_len < sizeof(buf) - 1 ? plan.req_len : sizeof(buf) - 1;

    memcpy(buf, plan.req ? plan.req : "", plan.req ? n : 0);
    buf[plan.req ? n : 0] = 0;
    return buf;
}

static void t_defaults(void)
{
    ok(parse("http://127.0.0.1:8080/", NULL) == CLI_RUN, "plain URL parses");
    ok(plan.connections == 10, "default connections %u, want 10", plan.connections);
    ok(plan.duration_ns == 10 * T_NS_S, "default duration %llu ns, want 10 s",
       (unsigned long long)plan.duration_ns);
    ok(plan.requests == 0, "no -n: requests %llu", (unsigned long long)plan.requests);
    ok(plan.pipeline == 1, "default pipeline %u", plan.pipeline);
    ok(plan.timeout_ns == 10 * T_NS_S, "default timeout %llu",
       (unsigned long long)plan.timeout_ns);
    ok(plan.connect_timeout_ns == 5 * T_NS_S, "default connect timeout %llu",
       (unsigned long long)plan.connect_timeout_ns);
    ok(!strcmp(plan.method, "GET"), "default method %s", plan.method);
    ok(plan.threads >= 1 && plan.threads <= plan.connections, "threads %u within 1..connections",
       plan.threads);
    ok(plan.port == 8080 && !strcmp(plan.host, "127.0.0.1"), "host %s port %u", plan.host,
       plan.port);
    ok(!strcmp(plan.addr_str, "127.0.0.1:8080"), "addr_str %s", plan.addr_str);
    ok(!strcmp(plan.path, "/"), "path %s", plan.path);
    ok(!plan.quiet && !plan.json_path && !plan.body_len, "no output flags, no body");

    ok(parse("-n", "1000", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "-n parses");
    ok(plan.duration_ns == 0, "only -n: duration %llu, want 0",
       (unsigned long long)plan.duration_ns);
    ok(plan.requests == 1000, "-n 1000: %llu", (unsigned long long)plan.requests);

    ok(parse("-n", "10k", "-d", "2s", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "-n and -d");
    ok(plan.requests == 10000 && plan.duration_ns == 2 * T_NS_S, "-n 10k -d 2s: %llu, %llu",
       (unsigned long long)plan.requests, (unsigned long long)plan.duration_ns);

    ok(parse("-d", "500ms", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "-d 500ms parses");
    ok(plan.duration_ns == 500 * T_NS_MS, "-d 500ms: %llu ns",
       (unsigned long long)plan.duration_ns);

    ok(parse("-c", "7", "-t", "1", "--timeout", "300ms", "--connect-timeout", "2s", "--seed",
             "42", "-q", "--json", "out.json", "http://127.0.0.1:8080/", NULL) == CLI_RUN,
       "many flags parse");
    ok(plan.connections == 7 && plan.threads == 1, "-c 7 -t 1: %u, %u", plan.connections,
       plan.threads);
    ok(plan.timeout_ns == 300 * T_NS_MS && plan.connect_timeout_ns == 2 * T_NS_S,
       "timeouts %llu %llu", (unsigned long long)plan.timeout_ns,
       (unsigned long long)plan.connect_timeout_ns);
    ok(plan.seed == 42 && plan.quiet && plan.json_path && !strcmp(plan.json_path, "out.json"),
       "seed, quiet, json");

    ok(parse("--connections=3", "--threads=8", "http://127.0.0.1:8080/", NULL) == CLI_RUN,
       "--name=value parses");
    ok(plan.connections == 3 && plan.threads == 3, "threads capped at connections: %u",
       plan.threads);

    /* option after the URL (GNU getopt permutes) */
    ok(parse("http://127.0.0.1:8080/", "-c", "4", NULL) == CLI_RUN, "flag after the URL");
    ok(plan.connections == 4, "flag after the URL applied: %u", plan.connections);
}

static void t_host(void)
{
    ok(parse("http://127.0.0.1:8080/", NULL) == CLI_RUN, "URL with port");
    ok(strstr(req_str(), "\r\nHost: 127.0.0.1:8080\r\n") != NULL, "Host with port: %s",
       req_str());
    ok(!strncmp(req_str(), "GET / HTTP/1.1\r\n", 16), "request line: %s", req_str());
    ok(plan.req_len >= 4 && !memcmp(plan.req + plan.req_len - 4, "\r\n\r\n", 4),
       "request ends with an empty line");
    ok(!strstr(req_str(), "Content-Length"), "GET without body has no Content-Length");

    ok(parse("http://127.0.0.1/", NULL) == CLI_RUN, "URL without port");
    ok(plan.port == 80, "default port %u", plan.port);
    ok(strstr(req_str(), "\r\nHost: 127.0.0.1\r\n") != NULL, "Host without :80: %s",
       req_str());

    ok(parse("http://127.0.0.1", NULL) == CLI_RUN, "URL without path");
    ok(!strcmp(plan.path, "/") && !strncmp(req_str(), "GET / ", 6), "empty path is /: %s",
       req_str());

    ok(parse("http://[::1]:8080/", NULL) == CLI_RUN, "IPv6 URL");
    ok(!strcmp(plan.host, "::1"), "IPv6 host without brackets: %s", plan.host);
    ok(strstr(req_str(), "\r\nHost: [::1]:8080\r\n") != NULL, "IPv6 Host: %s", req_str());
    ok(!strcmp(plan.addr_str, "[::1]:8080"), "IPv6 addr_str %s", plan.addr_str);
    ok(plan.addr.ss_family == AF_INET6, "IPv6 address family");

    ok(parse("http://[::1]/", NULL) == CLI_RUN, "IPv6 URL without port");
    ok(strstr(req_str(), "\r\nHost: [::1]\r\n") != NULL, "IPv6 Host without port: %s",
       req_str());

    ok(parse("-H", "Host: x", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "-H Host");
    ok(strstr(req_str(), "\r\nHost: x\r\n") != NULL, "user Host present: %s", req_str());
    ok(!strstr(req_str(), "127.0.0.1"), "user Host replaces ours: %s", req_str());

    ok(parse("-H", "host: y", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "-H host lower case");
    ok(!strstr(req_str(), "Host: 127.0.0.1"), "case-insensitive Host replace: %s", req_str());
}

static void t_request(void)
{
    char *r;

    ok(parse("http://127.0.0.1:8080/a/b?q=1", NULL) == CLI_RUN, "URL with query");
    ok(!strcmp(plan.path, "/a/b?q=1"), "path %s", plan.path);
    ok(!strncmp(req_str(), "GET /a/b?q=1 HTTP/1.1\r\n", 23), "path in request: %s", req_str());

    ok(parse("http://127.0.0.1:8080/x#frag", NULL) == CLI_RUN, "URL with fragment");
    ok(!strncmp(req_str(), "GET /x", 6) && !strstr(req_str(), "frag"), "fragment not sent: %s",
       req_str());

    ok(parse("http://127.0.0.1:8080?q=1", NULL) == CLI_RUN, "URL with a query and no path");
    ok(!strncmp(req_str(), "GET /?q=1 HTTP/1.1\r\n", 20), "origin-form target: %s", req_str());
    ok(strstr(req_str(), "\r\nHost: 127.0.0.1:8080\r\n") != NULL, "Host before a query: %s",
       req_str());

    ok(parse("http://127.0.0.1:8080#top", NULL) == CLI_RUN, "URL with only a fragment");
    ok(!strncmp(req_str(), "GET / HTTP/1.1\r\n", 16), "fragment-only URL sends /: %s",
       req_str());

    ok(parse("-m", "DELETE", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "-m DELETE");
    ok(!strncmp(req_str(), "DELETE / HTTP/1.1\r\n", 19), "method: %s", req_str());
    ok(!plan.head_request, "DELETE is not HEAD");

    ok(parse("--method", "HEAD", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "--method HEAD");
    ok(plan.head_request && !strncmp(req_str(), "HEAD / ", 7), "HEAD request");

    ok(parse("-m", "POST", "--body", "hello", "http://127.0.0.1:8080/", NULL) == CLI_RUN,
       "POST with body");
    r = req_str();
    ok(strstr(r, "\r\nContent-Length: 5\r\n") != NULL, "Content-Length 5: %s", r);
    ok(plan.req_len > 9 && !memcmp(plan.req + plan.req_len - 9, "\r\n\r\nhello", 9),
       "body after the head: %s", r);
    ok(plan.body_len == 5, "body_len %zu", plan.body_len);

    ok(parse("-m", "POST", "http://127.0.0.1:8080/", NULL) == CLI_RUN, "POST without body");
    ok(strstr(req_str(), "\r\nContent-Length: 0\r\n") != NULL, "POST says length 0: %s",
       req_str());

    ok(parse("-H", "X-A: 1", "-H", "X-B:2", "--header", "X-C:   three", "http://127.0.0.1:8080/",
             NULL) == CLI_RUN,
       "three headers");
    r = req_str();
    ok(plan.nheaders == 3, "nheaders %zu", plan.nheaders);
    ok(strstr(r, "\r\nX-A: 1\r\n") && strstr(r, "\r\nX-B: 2\r\n") && strstr(r, "\r\nX-C: three\r\n"),
       "headers encoded with one space: %s", r);
    ok(strstr(r, "X-A") < strstr(r, "X-B") && strstr(r, "X-B") < strstr(r, "X-C"),
       "headers in the given order");

    ok(parse("--pipeline", "4", "-m", "POST", "--body", "xyz", "http://127.0.0.1:8080/p", NULL) ==
           CLI_RUN,
       "--pipeline 4");
    ok(plan.pipeline == 4, "pipeline %u", plan.pipeline);
    ok(plan.req_len > 0 && !memcmp(plan.req, "POST /p HTTP/1.1\r\n", 18), "first copy: %s",
       req_str());
    for (uint32_t i = 1; i < plan.pipeline; i++)
        ok(!memcmp(plan.req, plan.req + i * plan.req_len, plan.req_len), "copy %u equals copy 0",
           i);
    ok(!memcmp(plan.req + 4 * plan.req_len - 3, "xyz", 3), "last copy ends with the body");
}

static void t_usage(void)
{
    static const char *const bad[][4] = {
        {"-c", "abc"},
        {"-c", "0"},
        {"-c", ""},
        {"-d", "10parsecs"},
        {"-d", "0"},
        {"-d", "500us"},
        {"-t", "-1"},
        {"-t", "0"},
        {"--pipeline", "0"},
        {"--pipeline", "1025"},
        {"-n", "0"},
        {"-n", "-5"},
        {"-H", "novalue"},
        {"-H", ": empty name"},
        {"-H", "Bad Name: v"},
        {"-H", "X-A: a\rb"},
        {"-H", "X-A: a\nb"},
        {"-m", "GE T"},
        {"-m", ""},
        {"--timeout", "x"},
        {"--connect-timeout", "-1s"},
        {"--seed", "x"},
        {"--conections", "5"},
        {"--body-file", "/nonexistent/stampede-test-body"},
        {"-x"},
    };
    static const char *const bad_urls[] = {
        "ftp://x/",
        "http://[::1",
        "http://127.0.0.1:99999/",
        "http://127.0.0.1:0/",
        "http://127.0.0.1:/",
        "http://127.0.0.1:80a/",
        "http:///",
        "127.0.0.1:8080",
        "http://[]:80/",
        "http://127.0.0.1:8080/a b",
    };
    enum cli_rc rc;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        rc = bad[i][1] ? parse(bad[i][0], bad[i][1], "http://127.0.0.1:8080/", NULL)
                                   : parse(bad[i][0], "http://127.0.0.1:8080/", NULL);

        ok(rc == CLI_EXIT_USAGE, "%s '%s' -> %d, want usage error", bad[i][0],
           bad[i][1] ? bad[i][1] : "", rc);
    }
    for (size_t i = 0; i < sizeof(bad_urls) / sizeof(bad_urls[0]); i++)
        ok(parse(bad_urls[i], NULL) == CLI_EXIT_USAGE, "URL '%s' -> usage error", bad_urls[i]);
    ok(parse(NULL) == CLI_EXIT_USAGE, "no URL -> usage error");
    ok(parse("-c", "5", NULL) == CLI_EXIT_USAGE, "flags without URL -> usage error");
    ok(parse("http://127.0.0.1:1/", "http://127.0.0.1:2/", NULL) == CLI_EXIT_USAGE,
       "two URLs -> usage error");
    ok(parse("http://127.0.0.1:8080/", "-c", NULL) == CLI_EXIT_USAGE,
       "-c without a value -> usage error");

    /* a good parse after errors: no state leaks from the failed ones */
    rc = parse("-c", "3", "http://127.0.0.1:8080/", NULL);
    ok(rc == CLI_RUN, "parses after errors: %d", rc);
    ok(plan.connections == 3 && plan.nheaders == 0 && plan.pipeline == 1, "clean plan");

    ok(parse("--help", NULL) == CLI_EXIT_OK, "--help -> exit ok");
    ok(parse("-v", NULL) == CLI_EXIT_OK, "-v -> exit ok");
    ok(parse("-c", "5", "--version", "http://127.0.0.1:8080/", NULL) == CLI_EXIT_OK,
       "--version among flags -> exit ok");
}

static void t_distance(void)
{
    ok(cli_distance("conections", "connections") == 1, "one deletion");
    ok(cli_distance("connections", "connections") == 0, "equal");
    ok(cli_distance("", "abc") == 3, "from empty");
    ok(cli_distance("pipelnie", "pipeline") == 2, "swap counts 2");
}

int main(void)
{
    t_defaults();
    t_host();
    t_request();
    t_usage();
    t_distance();
    plan_fini(&plan);
    return done();
}
