/*
 * test_http1.c - the HTTP/1.x response parser and request builder.
 *
 * Each table case is a list of responses sent back to back. It is parsed
 * whole, in two pieces at every offset, and byte by byte; every way must
 * give the same responses and the same ending, which must match the table.
 * Every piece is copied so it ends exactly at a PROT_NONE page, so a read
 * past the end of a buffer crashes the test (picohttpparser's trick), and
 * every prefix of the input must return HTTP1_MORE until the first
 * response is complete (or HTTP1_ERR from some point on, for bad input).
 * Boundaries (head size, Content-Length and chunk-size limits), eof,
 * started, and http1_req_build have their own tests below.
 */
#include "http1.h"
#include "t.h"
#include "t_guard.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define T_MAX_PARTS 4
#define T_GUARD_ROOM (256 * 1024) /* largest input placed against the guard */

/* How parsing an input ended. */
enum t_end {
    T_END_CLEAN,    /* between responses; http1_resp_eof says MORE */
    T_END_EOF_DONE, /* the last response was delimited by the close */
    T_END_TRUNC,    /* http1_resp_eof says a response was cut short */
    T_END_ERR,      /* http1_resp_feed returned HTTP1_ERR */
    T_END_BROKEN,   /* the feed contract itself was broken (used, progress) */
};

struct t_resp {
    int status;
    int minor;
    enum http1_framing framing;
    uint64_t cl;
    bool ka;
    size_t used; /* bytes of input that belonged to this response */
};

struct t_out {
    int n;
    struct t_resp resp[T_MAX_PARTS + 1];
    enum t_end end;
};

struct t_case {
    const char *name;
    const char *parts[T_MAX_PARTS];  /* input: one response per part */
    bool head;                       /* every response answers a HEAD */
    int n;                           /* responses expected */
    struct t_resp want[T_MAX_PARTS]; /* `used` is taken from the parts */
    enum t_end end;
};

#define L HTTP1_BODY_LENGTH
#define C HTTP1_BODY_CHUNKED
#define N HTTP1_BODY_NONE
#define E HTTP1_BODY_EOF
#define OK200 "HTTP/1.1 200 OK\r\n"
#define TE_CHUNKED OK200 "Transfer-Encoding: chunked\r\n\r\n"
/* Kept on one line each: clang-format would spread each over four. */
/* clang-format off */
#define R(st, minor, framing, cl, ka) {st, minor, framing, cl, ka, 0}
/* one complete response (GET), one answering a HEAD, cut short, bad input */
#define ONE(name, raw, st, minor, fr, cl, ka) \
    {name, {raw}, false, 1, {R(st, minor, fr, cl, ka)}, T_END_CLEAN}
#define HEAD(name, raw, st, cl) {name, {raw}, true, 1, {R(st, 1, N, cl, true)}, T_END_CLEAN}
#define CUT(name, raw) {name, {raw}, false, 0, {R(0, 0, N, 0, false)}, T_END_TRUNC}
#define BAD(name, raw) {name, {raw}, false, 0, {R(0, 0, N, 0, false)}, T_END_ERR}
/* clang-format on */

static const struct t_case t_cases[] = {
    ONE("content-length", OK200 "Content-Length: 5\r\n\r\nhello", 200, 1, L, 5, true),
    ONE("zero length", OK200 "Content-Length: 0\r\n\r\n", 200, 1, N, 0, true),
    ONE("chunked, extensions, trailers",
        TE_CHUNKED "5;name=val\r\nhello\r\n1A ; a=\"b;c\"\r\n0123456789abcdef0123456789\r\n"
                   "f\r\n0123456789abcde\r\n0;last\r\nX-Trailer: 1\r\nChecksum: abc\r\n\r\n",
        200, 1, C, 0, true),
    ONE("chunked, no trailers", TE_CHUNKED "3\r\nabc\r\n0\r\n\r\n", 200, 1, C, 0, true),
    HEAD("HEAD with Content-Length", OK200 "Content-Length: 1234\r\n\r\n", 200, 1234),
    HEAD("HEAD with chunked", TE_CHUNKED, 200, 0),
    ONE("204", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 204, 1, N, 10, true),
    ONE("304", "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 304, 1, N, 0,
        true),
    ONE("100-continue then 200",
        "HTTP/1.1 100 Continue\r\n\r\n" OK200 "Content-Length: 2\r\n\r\nhi", 200, 1, L, 2, true),
    ONE("103 early hints, its headers forgotten",
        "HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\nConnection: close\r\n"
        "Content-Length: 99\r\n\r\n" OK200 "Content-Length: 1\r\n\r\nx",
        200, 1, L, 1, true),
    ONE("102 and 100 then 204",
        "HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 \r\n\r\n", 204, 1,
        N, 0, true),
    ONE("101 ends the response",
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        101, 1, N, 0, true),
    ONE("HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi", 200, 0, L, 2, false),
    ONE("HTTP/1.0 keep-alive",
        "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nhi", 200, 0, L, 2,
        true),
    ONE("HTTP/1.0 keep-alive, close",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive, close\r\nContent-Length: 0\r\n\r\n", 200, 0, N,
        0, false),
    ONE("HTTP/1.0 chunked closes",
        "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
        "0\r\n\r\n",
        200, 0, C, 0, false),
    ONE("Connection: close", OK200 "Connection: close\r\nContent-Length: 0\r\n\r\n", 200, 1, N, 0,
        false),
    ONE("Connection token list",
        OK200 "Connection: foo ,\tClOsE , bar\r\nContent-Length: 0\r\n\r\n", 200, 1, N, 0, false),
    ONE("Connection: not quite close",
        OK200 "Connection: closed, clos, close x, \"close\", keep-alive\r\n"
              "Content-Length: 0\r\n\r\n",
        200, 1, N, 0, true),
    {"EOF-delimited body",
     {OK200 "Content-Type: text/plain\r\n\r\nuntil the server closes"},
     false,
     1,
     {R(200, 1, E, 0, false)},
     T_END_EOF_DONE},
    {"EOF-delimited, empty",
     {"HTTP/1.0 200 OK\r\n\r\n"},
     false,
     1,
     {R(200, 0, E, 0, false)},
     T_END_EOF_DONE},
    {"chunked, gzip reads to EOF",
     {OK200 "Transfer-Encoding: chunked, gzip\r\nContent-Length: 3\r\n\r\nxyz"},
     false,
     1,
     {R(200, 1, E, 0, false)},
     T_END_EOF_DONE},
    {"pipelined",
     {OK200 "Content-Length: 3\r\n\r\nabc", TE_CHUNKED "2\r\nxy\r\n0\r\n\r\n"},
     false,
     2,
     {R(200, 1, L, 3, true), R(200, 1, C, 0, true)},
     T_END_CLEAN},
    {"pipelined three",
     {"HTTP/1.1 404 Not Found\r\nContent-Length: 1\r\n\r\n!", "HTTP/1.1 204 No Content\r\n\r\n",
      "HTTP/1.1 500 Oops\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"},
     false,
     3,
     {R(404, 1, L, 1, true), R(204, 1, N, 0, true), R(500, 1, N, 0, false)},
     T_END_CLEAN},
    {"HEAD pipelined",
     {OK200 "Content-Length: 3\r\n\r\n", OK200 "Content-Length: 3\r\n\r\n"},
     true,
     2,
     {R(200, 1, N, 3, true), R(200, 1, N, 3, true)},
     T_END_CLEAN},
    {"done then garbage",
     {OK200 "Content-Length: 0\r\n\r\n", "garbage"},
     false,
     1,
     {R(200, 1, N, 0, true)},
     T_END_ERR},
    ONE("lower and mixed case", OK200 "content-length: 3\r\nCONNECTION: CLOSE\r\n\r\nabc", 200, 1,
        L, 3, false),
    ONE("TRANSFER-ENCODING: Chunked", OK200 "TRANSFER-ENCODING: Chunked\r\n\r\n0\r\n\r\n", 200, 1,
        C, 0, true),
    ONE("LF-only lines", "HTTP/1.1 200 OK\nServer: x\nContent-Length: 2\n\nhi", 200, 1, L, 2, true),
    ONE("LF-only chunked", "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nhi\n0\nT: 1\n\n", 200,
        1, C, 0, true),
    ONE("bare LF after status", "HTTP/1.1 204\nContent-Length: 0\n\n", 204, 1, N, 0, true),
    ONE("empty reason", "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", 200, 1, N, 0, true),
    ONE("reason with spaces", "HTTP/1.1 599 It Is   Fine\r\nContent-Length: 0\r\n\r\n", 599, 1, N,
        0, true),
    ONE("Content-Length OWS and duplicate",
        OK200 "Content-Length:  \t7 \r\nContent-Length: 7\r\n\r\n1234567", 200, 1, L, 7, true),
    ONE("chunked wins over Content-Length",
        OK200 "Content-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", 200,
        1, C, 0, true),
    ONE("gzip, chunked", OK200 "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 200, 1, C, 0,
        true),
    ONE("TE on two lines",
        OK200 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 200, 1, C,
        0, true),
    ONE("look-alike names ignored",
        OK200 "Content-Lengthy: 5\r\nContent-Type: a\r\nConnection-X: close\r\nConn: close\r\n"
              "Transfer-Encodings: chunked\r\nContent: 1\r\nC: 2\r\nContent-Type-X: 2\r\n"
              "Connectiox: close\r\nTransfer-Encodinx: chunked\r\nContent-Length: 1\r\n\r\nz",
        200, 1, L, 1, true),
    {"empty input", {""}, false, 0, {R(0, 0, N, 0, false)}, T_END_CLEAN},
    CUT("truncated head", "HTTP/1.1 200 OK\r\nContent-Le"),
    CUT("truncated body", OK200 "Content-Length: 10\r\n\r\nabc"),
    CUT("truncated chunked", TE_CHUNKED "5\r\nab"),
    CUT("truncated trailers", TE_CHUNKED "0\r\nX: 1\r\n"),
    CUT("only a 100 Continue", "HTTP/1.1 100 Continue\r\n\r\n"),
    BAD("HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n"),
    BAD("lower-case version", "http/1.1 200 OK\r\n\r\n"),
    BAD("HTTP/1.x", "HTTP/1.x 200 OK\r\n\r\n"),
    BAD("no space after version", "HTTP/1.1200 OK\r\n\r\n"),
    BAD("2-digit status", "HTTP/1.1 20 OK\r\n\r\n"),
    BAD("4-digit status", "HTTP/1.1 2000 OK\r\n\r\n"),
    BAD("status 099", "HTTP/1.1 099 Low\r\n\r\n"),
    BAD("status not digits", "HTTP/1.1 2x0 OK\r\n\r\n"),
    BAD("leading space", " HTTP/1.1 200 OK\r\n\r\n"),
    BAD("doubled H", "HHTTP/1.1 200 OK\r\n\r\n"),
    BAD("leading CRLF", "\r\nHTTP/1.1 200 OK\r\n\r\n"),
    BAD("non-hex chunk size", TE_CHUNKED "zz\r\n"),
    BAD("garbage after chunk size", TE_CHUNKED "5x\r\nhello\r\n"),
    BAD("chunk size CR without LF", TE_CHUNKED "5\rhello\r\n"),
    BAD("empty chunk size", TE_CHUNKED "\r\n"),
    BAD("negative chunk size", TE_CHUNKED "-1\r\n"),
    BAD("chunk size 2^60+1", TE_CHUNKED "1000000000000001\r\n"),
    BAD("huge chunk size", TE_CHUNKED "ffffffffffffffffffffffff\r\n"),
    BAD("chunk data without CRLF", TE_CHUNKED "2\r\nabc\r\n"),
    BAD("trailer folded", TE_CHUNKED "0\r\n a\r\n\r\n"),
    BAD("conflicting Content-Length", OK200 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n"),
    BAD("Content-Length overflow", OK200 "Content-Length: 99999999999999999999999\r\n\r\n"),
    BAD("Content-Length 2^62+1", OK200 "Content-Length: 4611686018427387905\r\n\r\n"),
    BAD("Content-Length empty", OK200 "Content-Length: \r\n\r\n"),
    BAD("Content-Length +5", OK200 "Content-Length: +5\r\n\r\n"),
    BAD("Content-Length 5 5", OK200 "Content-Length: 5 5\r\n\r\n"),
    BAD("Content-Length list", OK200 "Content-Length: 5,5\r\n\r\n"),
    BAD("Content-Length bare CR", OK200 "Content-Length: 5\rX: y\r\n\r\n"),
    BAD("obs-fold", OK200 "X-A: a\r\n b\r\nContent-Length: 0\r\n\r\n"),
    BAD("no colon", OK200 "Bad Header\r\n\r\n"),
    BAD("space before colon", OK200 "Content-Length : 1\r\n\r\nx"),
    BAD("empty name", OK200 ": v\r\n\r\n"),
    BAD("CR then garbage at head end", OK200 "Content-Length: 0\r\n\rX"),
};

#undef R
#undef ONE
#undef HEAD
#undef CUT
#undef BAD
#undef L
#undef C
#undef N
#undef E

static void t_record(struct t_out *o, const struct http1_resp *r, size_t used)
{
    struct t_resp *x;

    if (o->n > T_MAX_PARTS)
        return;
    x = &o->resp[o->n++];
    *x = (struct t_resp){r->status,         r->minor_version, r->framing,
                         r->content_length, r->keep_alive,    used};
}

/* Feed one piece (placed against the guard). False once the parser failed. */
static bool t_feed_piece(const struct t_guard *g, struct http1_resp *r, const char *src, size_t n,
                         struct t_out *o, size_t *cur)
{
    const char *p = t_place(g, src, n);
    size_t off = 0, used;
    enum http1_rc rc;

    do {
        rc = http1_resp_feed(r, p + off, n - off, &used);
        if (used > n - off || (rc == HTTP1_MORE && used != n - off) ||
            (rc == HTTP1_DONE && used == 0)) {
            o->end = T_END_BROKEN;
            return false;
        }
        *cur += used;
        off += used;
        if (rc == HTTP1_ERR) {
            o->end = T_END_ERR;
            return false;
        }
        if (rc == HTTP1_DONE) {
            t_record(o, r, *cur);
            *cur = 0;
            http1_resp_reset(r);
        }
    } while (off < n);
    return true;
}

/* Parse in[0..len) cut at the sorted offsets cuts[0..ncuts). */
static void t_parse(const struct t_guard *g, const char *in, size_t len, const size_t *cuts,
                    size_t ncuts, bool head, struct t_out *o)
{
    struct http1_resp r = {.head_request = head};
    size_t from = 0, cur = 0;
    enum http1_rc rc;

    memset(o, 0, sizeof(*o));
    http1_resp_reset(&r);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = i < ncuts ? cuts[i] : len;
        if (!t_feed_piece(g, &r, in + from, to - from, o, &cur))
            return;
        from = to;
    }
    rc = http1_resp_eof(&r);
    if (rc == HTTP1_DONE)
        t_record(o, &r, cur);
    o->end = rc == HTTP1_DONE ? T_END_EOF_DONE : rc == HTTP1_ERR ? T_END_TRUNC : T_END_CLEAN;
}

/* Field by field: memcmp would compare padding. */
static bool t_resp_eq(const struct t_resp *a, const struct t_resp *b)
{
    return a->status == b->status && a->minor == b->minor && a->framing == b->framing &&
           a->cl == b->cl && a->ka == b->ka && a->used == b->used;
}

static bool t_out_eq(const struct t_out *a, const struct t_out *b)
{
    if (a->n != b->n || a->end != b->end)
        return false;
    for (int i = 0; i < a->n; i++)
        if (!t_resp_eq(&a->resp[i], &b->resp[i]))
            return false;
    return true;
}

/* Two pieces at every offset, then byte by byte: all like the whole. */
static void t_check_splits(const struct t_guard *g, const char *name, const char *in, size_t len,
                           bool head, const struct t_out *whole)
{
    struct t_out o;
    size_t bad = 0, first_bad = 0, *cuts = calloc(len + 1, sizeof(*cuts));

    for (size_t k = 0; k <= len; k++) {
        t_parse(g, in, len, &k, 1, head, &o);
        if (!t_out_eq(&o, whole) && !bad++)
            first_bad = k;
    }
    ok(!bad, "%s: %zu of %zu two-piece splits differ (first at %zu)", name, bad, len + 1,
       first_bad);
    for (size_t k = 1; k < len; k++)
        cuts[k - 1] = k;
    t_parse(g, in, len, cuts, len ? len - 1 : 0, head, &o);
    ok(t_out_eq(&o, whole), "%s: byte by byte differs", name);
    free(cuts);
}

/* One feed of every prefix: MORE until the first response is complete,
 * then DONE with the same length; for bad input, ERR from some point on. */
static void t_check_prefixes(const struct t_guard *g, const char *name, const char *in, size_t len,
                             bool head, const struct t_out *whole)
{
    bool fed_done = whole->n > 0 && !(whole->n == 1 && whole->end == T_END_EOF_DONE);
    size_t first = fed_done ? whole->resp[0].used : SIZE_MAX, bad = 0, used;
    bool erred = false;

    for (size_t k = 0; k <= len; k++) {
        struct http1_resp r = {.head_request = head};
        enum http1_rc rc = http1_resp_feed(&r, t_place(g, in, k), k, &used);
        if (k >= first)
            bad += rc != HTTP1_DONE || used != first;
        else if (rc == HTTP1_ERR)
            erred = true;
        else
            bad += erred || rc != HTTP1_MORE || used != k;
    }
    ok(!bad, "%s: %zu prefixes misbehave", name, bad);
}

static size_t t_case_join(const struct t_case *c, char *buf, size_t cap, size_t *lens)
{
    size_t len = 0;

    for (int i = 0; i < T_MAX_PARTS && c->parts[i]; i++) {
        lens[i] = strlen(c->parts[i]);
        if (len + lens[i] > cap)
            abort();
        memcpy(buf + len, c->parts[i], lens[i]);
        len += lens[i];
    }
    return len;
}

static void t_check_want(const struct t_case *c, const struct t_out *o, const size_t *lens)
{
    ok(o->n == c->n, "%s: %d responses, want %d", c->name, o->n, c->n);
    ok(o->end == c->end, "%s: ended %d, want %d", c->name, o->end, c->end);
    for (int i = 0; i < c->n && i < o->n; i++) {
        struct t_resp w = c->want[i];
        const struct t_resp *x = &o->resp[i];
        w.used = lens[i];
        ok(t_resp_eq(&w, x),
           "%s #%d: got %d 1.%d framing %d cl %" PRIu64 " ka %d used %zu, want %d 1.%d %d %" PRIu64
           " %d %zu",
           c->name, i, x->status, x->minor, x->framing, x->cl, x->ka, x->used, w.status, w.minor,
           w.framing, w.cl, w.ka, w.used);
    }
}

static void t_run_case(const struct t_guard *g, const struct t_case *c)
{
    char in[1024];
    size_t lens[T_MAX_PARTS] = {0};
    size_t len = t_case_join(c, in, sizeof(in), lens);
    struct t_out whole;

    t_parse(g, in, len, NULL, 0, c->head, &whole);
    t_check_want(c, &whole, lens);
    t_check_splits(g, c->name, in, len, c->head, &whole);
    t_check_prefixes(g, c->name, in, len, c->head, &whole);
}

/* Whole, a few splits, and (if asked) byte by byte, for big inputs. */
static void t_check_big(const struct t_guard *g, const char *name, const char *in, size_t len,
                        enum t_end end, bool bytewise)
{
    struct t_out whole, o;
    size_t *cuts = calloc(len + 1, sizeof(*cuts));
    size_t k3[3] = {1, len / 2, len - 1};

    t_parse(g, in, len, NULL, 0, false, &whole);
    ok(whole.end == end, "%s: ended %d, want %d", name, whole.end, end);
    t_parse(g, in, len, k3, 3, false, &o);
    ok(t_out_eq(&o, &whole), "%s: split in 4 differs", name);
    if (bytewise) {
        for (size_t k = 1; k < len; k++)
            cuts[k - 1] = k;
        t_parse(g, in, len, cuts, len - 1, false, &o);
        ok(t_out_eq(&o, &whole), "%s: byte by byte differs", name);
    }
    free(cuts);
}

/* A head of exactly `head` bytes: a padding header, then Content-Length: 0. */
static size_t t_make_head(char *buf, size_t head)
{
    static const char pre[] = "HTTP/1.1 200 OK\r\nX-Pad: ",
                      post[] = "\r\nContent-Length: 0\r\n\r\n";
    size_t pad = head - (sizeof(pre) - 1) - (sizeof(post) - 1);

    memcpy(buf, pre, sizeof(pre) - 1);
    memset(buf + sizeof(pre) - 1, 'a', pad);
    memcpy(buf + sizeof(pre) - 1 + pad, post, sizeof(post) - 1);
    return head;
}

static void t_head_limit(const struct t_guard *g)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
    char *buf = malloc(2 * HTTP1_MAX_HEAD + 64);
    size_t n;

    t_check_big(g, "head of HTTP1_MAX_HEAD", buf, t_make_head(buf, HTTP1_MAX_HEAD), T_END_CLEAN,
                true);
    t_check_big(g, "head of HTTP1_MAX_HEAD + 1", buf, t_make_head(buf, HTTP1_MAX_HEAD + 1),
                T_END_ERR, true);
    memset(buf, 'a', 2 * HTTP1_MAX_HEAD);
    memcpy(buf, "HTTP/1.1 200 OK\r\nX: ", 20);
    t_check_big(g, "endless header line", buf, 2 * HTTP1_MAX_HEAD, T_END_ERR, false);
    /* the limit is per head: an interim response does not eat into it */
    memcpy(buf, cont, sizeof(cont) - 1);
    n = t_make_head(buf + sizeof(cont) - 1, HTTP1_MAX_HEAD) + sizeof(cont) - 1;
    t_check_big(g, "100 Continue then a full-size head", buf, n, T_END_CLEAN, false);
    free(buf);
}

/* Feed s whole to a fresh parser; return the rc, leave the parser in r. */
static enum http1_rc t_feed_str(struct http1_resp *r, const char *s, size_t *used)
{
    http1_resp_reset(r);
    return http1_resp_feed(r, s, strlen(s), used);
}

static void t_number_limits(void)
{
    struct http1_resp r = {0};
    size_t used;

    ok(t_feed_str(&r, OK200 "Content-Length: 4611686018427387904\r\n\r\n", &used) == HTTP1_MORE &&
           r.framing == HTTP1_BODY_LENGTH && r.content_length == 1ull << 62,
       "Content-Length 2^62 accepted");
    ok(t_feed_str(&r, OK200 "Content-Length: 0000000000000000000000000000000000000000001\r\n\r\n",
                  &used) == HTTP1_MORE &&
           r.content_length == 1,
       "leading zeros in Content-Length");
    ok(t_feed_str(&r, OK200 "Transfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", &used) ==
               HTTP1_MORE &&
           used == strlen(OK200 "Transfer-Encoding: chunked\r\n\r\n1000000000000000\r\n"),
       "chunk size 2^60 accepted");
    ok(t_feed_str(&r, OK200 "Transfer-Encoding: chunked\r\n\r\n00000000000000000000001\r\nx\r\n",
                  &used) == HTTP1_MORE,
       "leading zeros in a chunk size");
}

static void t_eof_and_started(void)
{
    struct http1_resp r = {0};
    size_t used;

    ok(http1_resp_eof(&r) == HTTP1_MORE && !http1_resp_started(&r), "eof on a fresh parser");
    ok(http1_resp_feed(&r, "", 0, &used) == HTTP1_MORE && used == 0 && !http1_resp_started(&r),
       "empty feed consumes nothing");
    ok(http1_resp_feed(&r, "H", 1, &used) == HTTP1_MORE && http1_resp_started(&r),
       "started after one byte");
    ok(http1_resp_eof(&r) == HTTP1_ERR, "eof inside a status line");
    ok(http1_resp_feed(&r, "TTP", 3, &used) == HTTP1_ERR && used == 0, "feed after an error");
    ok(http1_resp_eof(&r) == HTTP1_ERR, "eof after an error");
    t_feed_str(&r, "HTTP/1.1 100 Continue\r\n\r\n", &used);
    ok(http1_resp_started(&r), "started after a 100 Continue");
    ok(t_feed_str(&r, OK200 "Content-Length: 1\r\n\r\nx", &used) == HTTP1_DONE &&
           http1_resp_eof(&r) == HTTP1_MORE,
       "eof after DONE: nothing cut short");
    http1_resp_reset(&r);
    ok(!http1_resp_started(&r) && http1_resp_eof(&r) == HTTP1_MORE, "eof after reset");
    t_feed_str(&r, OK200 "\r\nbody", &used);
    ok(http1_resp_eof(&r) == HTTP1_DONE && r.framing == HTTP1_BODY_EOF, "eof ends an EOF body");
    ok(http1_resp_eof(&r) == HTTP1_MORE, "second eof reports nothing new");
}

/* Per-response head_request, and feeding after DONE without a reset. */
static void t_sequence(void)
{
    static const char two[] = OK200 "Content-Length: 2\r\n\r\nhi" OK200 "Content-Length: 2\r\n\r\n";
    size_t first = strlen(OK200 "Content-Length: 2\r\n\r\nhi"), used;
    struct http1_resp r = {0};

    ok(http1_resp_feed(&r, two, sizeof(two) - 1, &used) == HTTP1_DONE && used == first,
       "GET response");
    r.head_request = true; /* no reset: feed must start the next response itself */
    ok(http1_resp_feed(&r, two + first, sizeof(two) - 1 - first, &used) == HTTP1_DONE &&
           used == sizeof(two) - 1 - first && r.framing == HTTP1_BODY_NONE && r.content_length == 2,
       "HEAD response after it, no reset");
}

/* Bytes the table cannot hold: NUL inside a header line. */
static void t_nul_bytes(const struct t_guard *g)
{
    static const char v[] = OK200 "X-A: a\0b\r\nContent-Length: 0\r\n\r\n";
    static const char n[] = OK200 "X-\0A: b\r\nContent-Length: 0\r\n\r\n";
    struct t_out whole;

    t_parse(g, v, sizeof(v) - 1, NULL, 0, false, &whole);
    ok(whole.end == T_END_ERR || (whole.end == T_END_CLEAN && whole.n == 1), "NUL in a value");
    t_check_splits(g, "NUL in a value", v, sizeof(v) - 1, false, &whole);
    t_parse(g, n, sizeof(n) - 1, NULL, 0, false, &whole);
    ok(whole.end == T_END_ERR, "NUL in a name");
    t_check_splits(g, "NUL in a name", n, sizeof(n) - 1, false, &whole);
}

struct t_req {
    const char *name;
    struct http1_req_spec spec;
    size_t cap;
    long rc;          /* expected error, or 0 */
    const char *want; /* expected bytes */
    size_t want_len;  /* when want holds a NUL */
};

static const struct http1_header t_hdr_host[] = {{"hOsT", "other:81"}, {"Accept", "*/*"}};
static const struct http1_header t_hdr_two[] = {{"X-A", "1"}, {"X-B", " spaced value "}};
static const struct http1_header t_hdr_lf[] = {{"X-A", "1\r\nEvil: 1"}};
static const struct http1_header t_hdr_badname[] = {{"X A", "1"}};
static const struct http1_header t_hdr_crname[] = {{"X-A\r", "1"}};

static const struct t_req t_reqs[] = {
    {"defaults", {.host = "h"}, 256, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0},
    {"empty path",
     {.path = "", .host = "h:8080"},
     256,
     0,
     "GET / HTTP/1.1\r\nHost: h:8080\r\n\r\n",
     0},
    {"Host override, order kept",
     {.method = "GET", .path = "/a?b=c", .host = "h", .headers = t_hdr_host, .nheaders = 2},
     256,
     0,
     "GET /a?b=c HTTP/1.1\r\nhOsT: other:81\r\nAccept: */*\r\n\r\n",
     0},
    {"headers after Host",
     {.host = "h", .headers = t_hdr_two, .nheaders = 2},
     256,
     0,
     "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-B:  spaced value \r\n\r\n",
     0},
    {"body",
     {.method = "PUT", .path = "/x", .host = "h", .body = "a\0b", .body_len = 3},
     256,
     0,
     "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\na\0b",
     50},
    {"POST without body",
     {.method = "POST", .host = "h"},
     256,
     0,
     "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
     0},
    {"PATCH without body",
     {.method = "PATCH", .host = "h"},
     256,
     0,
     "PATCH / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
     0},
    {"DELETE without body",
     {.method = "DELETE", .host = "h"},
     256,
     0,
     "DELETE / HTTP/1.1\r\nHost: h\r\n\r\n",
     0},
    {"exact fit", {.host = "h"}, 27, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", 0},
    {"one byte short", {.host = "h"}, 26, -ENOSPC, NULL, 0},
    {"no room", {.host = "h"}, 0, -ENOSPC, NULL, 0},
    {"body does not fit",
     {.method = "POST", .host = "h", .body = "abcdef", .body_len = 6},
     48,
     -ENOSPC,
     NULL,
     0},
    {"CRLF in value", {.host = "h", .headers = t_hdr_lf, .nheaders = 1}, 256, -EINVAL, NULL, 0},
    {"space in name",
     {.host = "h", .headers = t_hdr_badname, .nheaders = 1},
     256,
     -EINVAL,
     NULL,
     0},
    {"CR in name", {.host = "h", .headers = t_hdr_crname, .nheaders = 1}, 256, -EINVAL, NULL, 0},
    {"LF in host", {.host = "h\nX: y"}, 256, -EINVAL, NULL, 0},
    {"LF in method", {.method = "GET\n", .host = "h"}, 256, -EINVAL, NULL, 0},
    {"space in method", {.method = "G T", .host = "h"}, 256, -EINVAL, NULL, 0},
    {"CR in path", {.path = "/a\r\nX: y", .host = "h"}, 256, -EINVAL, NULL, 0},
    {"space in path", {.path = "/a b", .host = "h"}, 256, -EINVAL, NULL, 0},
    {"empty method", {.method = "", .host = "h"}, 256, -EINVAL, NULL, 0},
    {"body_len without body", {.host = "h", .body_len = 1}, 256, -EINVAL, NULL, 0},
    {"EINVAL before ENOSPC", {.path = "/a\n", .host = "h"}, 1, -EINVAL, NULL, 0},
};

static void t_req_build(void)
{
    char buf[256];

    for (size_t i = 0; i < sizeof(t_reqs) / sizeof(t_reqs[0]); i++) {
        const struct t_req *q = &t_reqs[i];
        long want = q->want_len ? (long)q->want_len : q->want ? (long)strlen(q->want) : q->rc;
        long rc;

        memset(buf, 'Z', sizeof(buf));
        rc = http1_req_build(buf, q->cap, &q->spec);
        ok(rc == want, "req %s: rc %ld, want %ld", q->name, rc, want);
        if (q->want && rc == want)
            ok(!memcmp(buf, q->want, (size_t)rc), "req %s: bytes differ: %.*s", q->name, (int)rc,
               buf);
        ok(q->cap >= sizeof(buf) || buf[q->cap] == 'Z', "req %s: wrote past cap", q->name);
    }
}

int main(void)
{
    struct t_guard g;

    t_guard_init(&g, T_GUARD_ROOM);
    for (size_t i = 0; i < sizeof(t_cases) / sizeof(t_cases[0]); i++)
        t_run_case(&g, &t_cases[i]);
    t_head_limit(&g);
    t_number_limits();
    t_eof_and_started();
    t_sequence();
    t_nul_bytes(&g);
    t_req_build();
    return done();
}
