/*
 * test_target_parse.c - stampede-target's incremental request framing:
 * where each request ends, HEAD, HTTP/1.0 and the Connection tokens.
 *
 * The parser is internal to the tool, whose objects unit programs do not
 * link, so its source is included here. Each table case is a list of
 * requests sent back to back; it is parsed whole, in two pieces at every
 * offset, in three pieces at every pair of offsets, and byte by byte, and
 * every way must give the table's results in order. Every piece is copied
 * so it ends exactly at a PROT_NONE page (picohttpparser's trick), so a
 * read past the end of a piece crashes the test. Every strict prefix of a
 * one-request case must leave the parser waiting for more.
 */
#include "../../tools/stampede-target/target_parse.c"
#include "t.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define T_MAX_REQS 6
#define T_BROKEN 100 /* a result that breaks the feed contract */

#define R TGT_PARSE_REQ
#define H (TGT_PARSE_REQ | TGT_REQ_HEAD)
#define C (TGT_PARSE_REQ | TGT_REQ_CLOSE)
#define HC (TGT_PARSE_REQ | TGT_REQ_HEAD | TGT_REQ_CLOSE)
#define K (TGT_PARSE_REQ | TGT_REQ_KA)
#define HK (TGT_PARSE_REQ | TGT_REQ_HEAD | TGT_REQ_KA)
#define BAD TGT_PARSE_BAD
#define U (TGT_PARSE_REQ | TGT_REQ_UPGRADE)
#define UC (TGT_PARSE_REQ | TGT_REQ_UPGRADE | TGT_REQ_CLOSE)

struct t_case {
    const char *name;
    const char *in;
    int n;
    int want[T_MAX_REQS];
};

#define GET11 "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
#define HEAD11 "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n"

static const struct t_case cases[] = {
    {"GET 1.1", GET11, 1, {R}},
    {"HEAD 1.1", HEAD11, 1, {H}},
    {"HEAD no headers", "HEAD /x?y=1 HTTP/1.1\r\n\r\n", 1, {H}},
    {"GET 1.0", "GET / HTTP/1.0\r\n\r\n", 1, {C}},
    {"HEAD 1.0", "HEAD / HTTP/1.0\r\nHost: a\r\n\r\n", 1, {HC}},
    {"GET 1.0 keep-alive", "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", 1, {K}},
    {"GET 1.0 Keep-Alive", "GET / HTTP/1.0\r\nHost: a\r\nCONNECTION: Keep-Alive\r\n\r\n", 1, {K}},
    {"HEAD 1.0 keep-alive", "HEAD / HTTP/1.0\r\nconnection:keep-alive\r\n\r\n", 1, {HK}},
    {"1.0 kkeep-alive", "GET / HTTP/1.0\r\nConnection: kkeep-alive\r\n\r\n", 1, {K}},
    {"1.0 keep-alive then close", "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", 1, {C}},
    {"1.0 close then keep-alive", "GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n", 1, {C}},
    {"1.0 keep-alive in another header", "GET / HTTP/1.0\r\nX-Connection: keep-alive\r\n\r\n", 1,
     {C}},
    {"1.0 keep-al", "GET / HTTP/1.0\r\nConnection: keep-al\r\n\r\n", 1, {C}},
    {"1.0 ep-alive", "GET / HTTP/1.0\r\nConnection:ep-alive\r\n\r\n", 1, {C}},
    {"1.1 keep-alive is not echoed", "GET / HTTP/1.1\r\nConnection: keep-alive\r\n\r\n", 1, {R}},
    {"1.1 close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", 1, {C}},
    {"HEAD 1.1 close", "HEAD / HTTP/1.1\r\nConnection: Close\r\n\r\n", 1, {HC}},
    {"bare LF 1.0", "GET / HTTP/1.0\n\n", 1, {C}},
    {"bare LF HEAD", "HEAD / HTTP/1.1\nHost: a\n\n", 1, {H}},
    {"stray CRLF before", "\r\n\r\nHEAD / HTTP/1.0\r\n\r\n", 1, {HC}},
    {"HEADX is not HEAD", "HEADX / HTTP/1.1\r\n\r\n", 1, {R}},
    {"HEA is not HEAD", "HEA / HTTP/1.1\r\n\r\n", 1, {R}},
    {"head is not HEAD", "head / HTTP/1.1\r\n\r\n", 1, {R}},
    {"HHEAD is not HEAD", "HHEAD / HTTP/1.1\r\n\r\n", 1, {R}},
    {"line ends inside the method", "H\n\nHEAD\n\n", 2, {R, R}},
    {"HEAD in the path", "GET /HEAD HTTP/1.1\r\n\r\n", 1, {R}},
    {"HTTP/1.0 in the path", "GET /HTTP/1.0 HTTP/1.1\r\n\r\n", 1, {R}},
    {"HTTP/1.00", "GET / HTTP/1.00\r\n\r\n", 1, {R}},
    {"HTTP/1.0 short line", "X HTTP/1.0\r\n\r\n", 1, {C}},
    {"long path 1.0",
     "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.0\r\n\r\n",
     1, {C}},
    {"POST 1.0 body says HEAD", "POST / HTTP/1.0\r\nContent-Length: 19\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
     1, {C}},
    {"GET HEAD", GET11 HEAD11, 2, {R, H}},
    {"HEAD GET", HEAD11 GET11, 2, {H, R}},
    {"GET HEAD GET HEAD", GET11 HEAD11 GET11 HEAD11, 4, {R, H, R, H}},
    {"flags reset between requests",
     "HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" GET11 "GET / HTTP/1.0\r\n\r\n", 3,
     {HK, R, C}},
    {"1.0 keep-alive twice",
     "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
     2, {K, HK}},
    {"body then HEAD", "POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\nHEADHEAD / HTTP/1.1\r\n\r\n", 2,
     {R, H}},
    {"upgrade", "GET /echo HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 1, {U}},
    {"UPGRADE then GET", "GET / HTTP/1.1\r\nUPGRADE:x\r\n\r\n" GET11, 2, {U, R}},
    {"upgrade 1.0", "GET / HTTP/1.0\r\nupgrade: websocket\r\n\r\n", 1, {UC}},
    {"upgrade with a body is plain",
     "GET / HTTP/1.1\r\nUpgrade: websocket\r\nContent-Length: 2\r\n\r\nab" GET11, 2, {R, R}},
    {"Upgrade-Insecure-Requests is not Upgrade",
     "GET / HTTP/1.1\r\nUpgrade-Insecure-Requests: 1\r\nUpgrad: x\r\n\r\n", 1, {R}},
};

/* Input whose last byte sits just before a PROT_NONE page. */
struct t_guard {
    char *end;
    size_t room;
};

static int t_guard_init(struct t_guard *g, size_t room)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t n = (room + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
    char *m = mmap(NULL, n + (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (m == MAP_FAILED || mprotect(m + n, (size_t)pg, PROT_NONE) < 0)
        return -1;
    g->end = m + n;
    g->room = n;
    return 0;
}

/* Feed in[0..len) cut at the sorted offsets cuts[0..ncuts); results go to
 * out (at most T_MAX_REQS + 1), the count is returned. Parsing stops at
 * BAD; a broken contract is recorded as T_BROKEN. */
static int t_parse(const struct t_guard *g, const char *in, size_t len, const size_t *cuts,
                   size_t ncuts, int *out)
{
    struct tgt_req_parser p = {0};
    size_t from = 0;
    int n = 0;

    for (size_t k = 0; k <= ncuts && n <= T_MAX_REQS; k++) {
        size_t to = k < ncuts ? cuts[k] : len, left = to - from, used;
        const char *s = g->end - left;

        memcpy(g->end - left, in + from, left);
        while (left && n <= T_MAX_REQS) {
            int r = tgt_req_parse(&p, s, left, &used);

            if (used > left || (r == TGT_PARSE_MORE && used != left) || (r > 0 && used == 0))
                r = T_BROKEN;
            if (r != TGT_PARSE_MORE)
                out[n++] = r;
            if (r == TGT_PARSE_BAD || r == T_BROKEN)
                return n;
            s += used;
            left -= used;
        }
        from = to;
    }
    return n;
}

static bool t_same(const struct t_case *tc, const int *got, int n)
{
    return n == tc->n && memcmp(got, tc->want, sizeof(int) * (size_t)n) == 0;
}

static void t_check_cuts(const struct t_guard *g, const struct t_case *tc)
{
    size_t len = strlen(tc->in);
    int got[T_MAX_REQS + 1];
    size_t cuts[2];
    int n = t_parse(g, tc->in, len, NULL, 0, got);
    bool all = true;

    ok(t_same(tc, got, n), "%s: whole: %d results, first %d", tc->name, n, n ? got[0] : 0);
    for (size_t i = 0; i <= len; i++) {
        cuts[0] = i;
        n = t_parse(g, tc->in, len, cuts, 1, got);
        ok(t_same(tc, got, n), "%s: cut at %zu: %d results, first %d", tc->name, i, n,
           n ? got[0] : 0);
        for (size_t j = i; j <= len && all; j++) {
            cuts[1] = j;
            n = t_parse(g, tc->in, len, cuts, 2, got);
            all = t_same(tc, got, n);
            ok(all, "%s: cuts at %zu and %zu", tc->name, i, j);
        }
    }
}

static void t_check_bytewise(const struct t_guard *g, const struct t_case *tc)
{
    size_t len = strlen(tc->in);
    size_t *cuts = malloc(sizeof(*cuts) * (len + 1));
    int got[T_MAX_REQS + 1];
    int n;

    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    n = t_parse(g, tc->in, len, cuts, len ? len - 1 : 0, got);
    ok(t_same(tc, got, n), "%s: byte by byte", tc->name);
    free(cuts);
}

/* A one-request case: every strict prefix is incomplete. */
static void t_check_prefixes(const struct t_guard *g, const struct t_case *tc)
{
    size_t len = strlen(tc->in);
    int got[T_MAX_REQS + 1];

    if (tc->n != 1)
        return;
    for (size_t i = 0; i < len; i++) {
        int n = t_parse(g, tc->in, i, NULL, 0, got);

        ok(n == 0, "%s: prefix of %zu bytes gave %d results", tc->name, i, n);
    }
}

/* A request line of about `path` bytes ending in version, fed in pieces
 * of `step` bytes: the version is seen however far the line's end is from
 * its start, and a head over the limit is refused. */
static void t_check_long_line(const struct t_guard *g, size_t path, const char *version,
                              size_t step, int want)
{
    size_t len = path + 64;
    char *in = malloc(len);
    size_t ncuts = 0, *cuts = malloc(sizeof(*cuts) * (len / step + 1));
    int got[T_MAX_REQS + 1];
    int n;

    memcpy(in, "HEAD /", 6);
    memset(in + 6, 'a', path);
    len = 6 + path + (size_t)sprintf(in + 6 + path, " %s\r\n\r\n", version);
    for (size_t at = step; at < len; at += step)
        cuts[ncuts++] = at;
    n = t_parse(g, in, len, cuts, ncuts, got);
    ok(n == 1 && got[0] == want, "path %zu, %s, pieces of %zu: %d results, first %d", path,
       version, step, n, n ? got[0] : 0);
    free(cuts);
    free(in);
}

static void t_check_limits(const struct t_guard *g)
{
    t_check_long_line(g, 3000, "HTTP/1.0", 7, HC);
    t_check_long_line(g, 3000, "HTTP/1.1", 1000, H);
    t_check_long_line(g, TGT_MAX_HEAD_BYTES - 100, "HTTP/1.0", 4093, HC);
    t_check_long_line(g, TGT_MAX_HEAD_BYTES + 10, "HTTP/1.1", 4096, BAD);
    t_check_long_line(g, TGT_MAX_HEAD_BYTES + 10, "HTTP/1.0", 13, BAD);
}

int main(void)
{
    struct t_guard g;

    if (t_guard_init(&g, 128 * 1024) < 0) {
        note("cannot map a guard page");
        return T_SKIP;
    }
    ok(sizeof(struct tgt_req_parser) == 16, "parser state is %zu bytes", sizeof(struct tgt_req_parser));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        t_check_cuts(&g, &cases[i]);
        t_check_bytewise(&g, &cases[i]);
        t_check_prefixes(&g, &cases[i]);
    }
    t_check_limits(&g);
    return done();
}
