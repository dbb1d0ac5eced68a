/*
 * test_jscan.c - the JSON value locator: path compile errors and their
 * offsets, finds in a table of documents (nested objects, arrays, indexes
 * out of range, escaped quotes and brackets inside strings, whitespace
 * everywhere, keys that are prefixes of others, duplicate keys, top-level
 * arrays, exponents, malformed documents before and after the value),
 * jscan_equals, every prefix of the samples, deep nesting, and linear cost
 * on large bodies. Every document is placed so it ends right before a
 * PROT_NONE page (t_guard.h): a read past its end crashes the test.
 */
#include "jscan.h"
#include "t.h"
#include "t_guard.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T_GUARD_ROOM (4 << 20)

struct t_err {
    const char *src;
    const char *want; /* substring of the message */
};

static const struct t_err t_errs[] = {
    {"", "empty path at offset 0"},
    {"a..b", "empty key at offset 2"},
    {"a.", "empty key at offset 2"},
    {".a", "empty key at offset 0"},
    {"a.[0]", "empty key at offset 2"},
    {"a[", "unclosed '[' at offset 1"},
    {"a[12", "unclosed '[' at offset 1"},
    {"a[x]", "expected a decimal array index at offset 2"},
    {"a[]", "expected a decimal array index at offset 2"},
    {"a[-1]", "expected a decimal array index at offset 2"},
    {"a[1x]", "expected ']' at offset 3"},
    {"a[0]b", "expected '.' or '[' after ']' at offset 4"},
    {"a[2147483648]", "array index too large at offset 11"},
    {"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q", "more than 16 path segments at offset 32"},
    {"[0][1][2][3][4][5][6][7][8][9][0][1][2][3][4][5][6]",
     "more than 16 path segments at offset 48"},
};

static void t_errors(void)
{
    char err[160], tiny[6];
    struct jscan_path p;

    for (size_t i = 0; i < sizeof(t_errs) / sizeof(t_errs[0]); i++) {
        const struct t_err *e = &t_errs[i];

        err[0] = 0;
        memset(&p, 0xff, sizeof(p));
        ok(jscan_compile(&p, e->src, err, sizeof(err)) == -1 && strstr(err, e->want) && !p.n,
           "compile '%s': got '%s', want '%s'", e->src, err, e->want);
    }
    ok(jscan_compile(&p, "a..b", tiny, sizeof(tiny)) == -1 && strlen(tiny) == sizeof(tiny) - 1,
       "message truncated to errlen: '%s'", tiny);
    ok(jscan_compile(&p, "a..b", NULL, 0) == -1, "no error buffer");
}

static bool t_seg(const struct jscan_seg *s, const char *key, int32_t index)
{
    if (!key)
        return s->index == index && !s->key;
    return s->index == -1 && s->key_len == strlen(key) && !memcmp(s->key, key, s->key_len);
}

static void t_compile_ok(void)
{
    static const char deepest[] = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p";
    char err[160] = "";
    struct jscan_path p;

    ok(!jscan_compile(&p, "a.b[10].c", err, sizeof(err)) && p.n == 4 && t_seg(&p.seg[0], "a", 0) &&
           t_seg(&p.seg[1], "b", 0) && t_seg(&p.seg[2], NULL, 10) && t_seg(&p.seg[3], "c", 0),
       "a.b[10].c: %s", err);
    ok(!jscan_compile(&p, "[2]", err, sizeof(err)) && p.n == 1 && t_seg(&p.seg[0], NULL, 2),
       "[2]: %s", err);
    ok(!jscan_compile(&p, "items[0][2147483647]", err, sizeof(err)) && p.n == 3 &&
           t_seg(&p.seg[2], NULL, INT32_MAX),
       "largest index: %s", err);
    ok(!jscan_compile(&p, deepest, err, sizeof(err)) && p.n == JSCAN_MAX_DEPTH &&
           t_seg(&p.seg[15], "p", 0),
       "16 segments: %s", err);
    ok(!jscan_compile(&p, "a]b. x\"\\{", err, sizeof(err)) && p.n == 2 &&
           t_seg(&p.seg[0], "a]b", 0) && t_seg(&p.seg[1], " x\"\\{", 0),
       "any byte but . [ NUL in a key: %s", err);
}

/* A document, a path, and what jscan_find should say (type NONE: false). */
struct t_find {
    const char *doc, *path;
    enum jscan_type type;
    const char *want; /* ptr[0..len) */
};

#define T_DOC                                                                                      \
    "{\"idx\":\"x\",\"id\":7,\"cart\":{\"id\":\"c-9\",\"items\":[{\"sku\":\"A1\",\"qty\":2},"      \
    "{\"sku\":\"B\\\"]}{,2\",\"qty\":1e3}]},\"s\":\"a\\\"b\\\\\",\"t\":true,\"f\":false,"          \
    "\"n\":null,\"e\":[],\"o\":{},\"neg\":-0.5E-7,\"dup\":1,\"dup\":2,\"a\\\"b\":5,"               \
    "\"u\":\"\\u00e9\\n\",\"big\":2E+10,\"z\":0}"

#define T_WS                                                                                       \
    " \t\r\n{ \n\"a\" \t:\r\n[ 1 ,\n\t{ \"b\" : \"x\" , \"c\"\n:\n[ ] } ,\r\n\"y\" ] , \"d\" : "   \
    "-1.5e+3\n}\n "

static const struct t_find t_finds[] = {
    {T_DOC, "id", JSCAN_NUMBER, "7"},
    {T_DOC, "idx", JSCAN_STRING, "x"},
    {T_DOC, "cart.id", JSCAN_STRING, "c-9"},
    {T_DOC, "cart.items[0].sku", JSCAN_STRING, "A1"},
    {T_DOC, "cart.items[1].sku", JSCAN_STRING, "B\\\"]}{,2"},
    {T_DOC, "cart.items[1].qty", JSCAN_NUMBER, "1e3"},
    {T_DOC, "cart.items[0]", JSCAN_OBJECT, "{\"sku\":\"A1\",\"qty\":2}"},
    {T_DOC, "cart.items[2]", JSCAN_NONE, NULL},
    {T_DOC, "cart.items[2147483647]", JSCAN_NONE, NULL},
    {T_DOC, "cart.items[0].price", JSCAN_NONE, NULL},
    {T_DOC, "cart.item", JSCAN_NONE, NULL},
    {T_DOC, "cart[0]", JSCAN_NONE, NULL},
    {T_DOC, "id.x", JSCAN_NONE, NULL},
    {T_DOC, "id[0]", JSCAN_NONE, NULL},
    {T_DOC, "[0]", JSCAN_NONE, NULL},
    {T_DOC, "s", JSCAN_STRING, "a\\\"b\\\\"},
    {T_DOC, "t", JSCAN_TRUE, "true"},
    {T_DOC, "f", JSCAN_FALSE, "false"},
    {T_DOC, "n", JSCAN_NULL, "null"},
    {T_DOC, "e", JSCAN_ARRAY, "[]"},
    {T_DOC, "e[0]", JSCAN_NONE, NULL},
    {T_DOC, "o", JSCAN_OBJECT, "{}"},
    {T_DOC, "o.x", JSCAN_NONE, NULL},
    {T_DOC, "neg", JSCAN_NUMBER, "-0.5E-7"},
    {T_DOC, "big", JSCAN_NUMBER, "2E+10"},
    {T_DOC, "z", JSCAN_NUMBER, "0"},
    {T_DOC, "dup", JSCAN_NUMBER, "1"},
    {T_DOC, "a\\\"b", JSCAN_NUMBER, "5"},
    {T_DOC, "a\"b", JSCAN_NONE, NULL},
    {T_DOC, "u", JSCAN_STRING, "\\u00e9\\n"},
    {T_DOC, "i", JSCAN_NONE, NULL},
    {T_DOC, "ids", JSCAN_NONE, NULL},
    {T_WS, "a[0]", JSCAN_NUMBER, "1"},
    {T_WS, "a[1].b", JSCAN_STRING, "x"},
    {T_WS, "a[1].c", JSCAN_ARRAY, "[ ]"},
    {T_WS, "a[1]", JSCAN_OBJECT, "{ \"b\" : \"x\" , \"c\"\n:\n[ ] }"},
    {T_WS, "a[2]", JSCAN_STRING, "y"},
    {T_WS, "a[3]", JSCAN_NONE, NULL},
    {T_WS, "d", JSCAN_NUMBER, "-1.5e+3"},
    {"[{\"id\":1},{\"id\":2}]", "[1].id", JSCAN_NUMBER, "2"},
    {"[0,1,2]", "[2]", JSCAN_NUMBER, "2"},
    {"[[1,[2,3]],4]", "[0][1][1]", JSCAN_NUMBER, "3"},
    {"[[1,[2,3]],4]", "[1]", JSCAN_NUMBER, "4"},
    {"\"x\"", "[0]", JSCAN_NONE, NULL},
    {"", "a", JSCAN_NONE, NULL},
    {"   ", "a", JSCAN_NONE, NULL},
    /* the value is checked, and what follows it must fit the container */
    {"{\"a\":01}", "a", JSCAN_NONE, NULL},
    {"{\"a\":1.}", "a", JSCAN_NONE, NULL},
    {"{\"a\":.5}", "a", JSCAN_NONE, NULL},
    {"{\"a\":1e}", "a", JSCAN_NONE, NULL},
    {"{\"a\":+1}", "a", JSCAN_NONE, NULL},
    {"{\"a\":-}", "a", JSCAN_NONE, NULL},
    {"{\"a\":1 2}", "a", JSCAN_NONE, NULL},
    {"{\"a\":1]", "a", JSCAN_NONE, NULL},
    {"{\"a\":truex}", "a", JSCAN_NONE, NULL},
    {"{\"a\":True}", "a", JSCAN_NONE, NULL},
    {"{\"a\":\"x\"y}", "a", JSCAN_NONE, NULL},
    {"{\"a\":[1,}", "a", JSCAN_NONE, NULL},
    /* malformed after the value is not looked at */
    {"[1,2 3]", "[0]", JSCAN_NUMBER, "1"},
    {"{\"a\":1,\"b\":}", "a", JSCAN_NUMBER, "1"},
    {"{\"a\":\"v\",}", "a", JSCAN_STRING, "v"},
    /* malformed before the value */
    {"{\"x\":[1,2},\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":{\"y\"]},\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":{\"y\":1,},\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":[1,],\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\" 1,\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":1 \"a\":1}", "a", JSCAN_NONE, NULL},
    {"{x:1,\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":tru,\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":\"\\q\",\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":\"\\u12G4\",\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":\"\t\",\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":1,,\"a\":1}", "a", JSCAN_NONE, NULL},
    {"{\"x\":[{\"y\":[]},{}],\"a\":1}", "a", JSCAN_NUMBER, "1"},
    /* whitespace is RFC 8259's four bytes only */
    {"{\"a\":\f1}", "a", JSCAN_NONE, NULL},
    {"{\"a\":\v1}", "a", JSCAN_NONE, NULL},
};

static void t_find_table(const struct t_guard *g)
{
    char err[160];
    struct jscan_path p;
    struct jscan_val v;

    for (size_t i = 0; i < sizeof(t_finds) / sizeof(t_finds[0]); i++) {
        const struct t_find *c = &t_finds[i];
        size_t n = strlen(c->doc);
        const char *doc = t_place(g, c->doc, n);
        bool found;

        ok(!jscan_compile(&p, c->path, err, sizeof(err)), "compile '%s': %s", c->path, err);
        found = jscan_find(&p, doc, n, &v);
        if (c->type == JSCAN_NONE)
            ok(!found && v.type == JSCAN_NONE && !v.ptr && !v.len,
               "'%s' in %s: want not found, got type %d '%.*s'", c->path, c->doc, v.type,
               (int)v.len, v.ptr);
        else
            ok(found && v.type == c->type && v.len == strlen(c->want) &&
                   !memcmp(v.ptr, c->want, v.len) && v.ptr >= doc && v.ptr + v.len <= doc + n,
               "'%s' in %s: want %d '%s', got %d %d '%.*s'", c->path, c->doc, c->type, c->want,
               found, v.type, (int)v.len, v.ptr ? v.ptr : "");
    }
}

/* Every prefix of a document: false, or the very value the whole gives. */
static void t_prefixes(const struct t_guard *g, const char *whole, const char *path)
{
    size_t len = strlen(whole), bad = 0, found = 0;
    struct jscan_path p;
    struct jscan_val full, v;
    char err[160];

    ok(!jscan_compile(&p, path, err, sizeof(err)) && jscan_find(&p, whole, len, &full),
       "'%s' in the whole sample: %s", path, err);
    for (size_t k = 0; k <= len; k++) {
        const char *doc = t_place(g, whole, k);

        if (!jscan_find(&p, doc, k, &v))
            continue;
        found++;
        bad += v.type != full.type || v.len != full.len || v.ptr - doc != full.ptr - whole ||
               v.ptr + v.len > doc + k;
    }
    ok(!bad && found > 0, "'%s': %zu of %zu prefixes misbehave (%zu found)", path, bad, len + 1,
       found);
}

/* Every prefix of every table case that finds something. */
static void t_all_prefixes(const struct t_guard *g)
{
    for (size_t i = 0; i < sizeof(t_finds) / sizeof(t_finds[0]); i++)
        if (t_finds[i].type != JSCAN_NONE)
            t_prefixes(g, t_finds[i].doc, t_finds[i].path);
    t_prefixes(g, "[0,1,22]", "[2]");
}

static void t_equals(void)
{
    static const char doc[] = "{\"n\":42,\"s\":\"42\",\"t\":true,\"z\":null,\"o\":{},\"e\":\"\","
                              "\"q\":\"a\\\"b\"}";
    struct jscan_path p;
    struct jscan_val v;

#define T_EQ(path, want, expect)                                                                   \
    ok(!jscan_compile(&p, path, NULL, 0) && (jscan_find(&p, doc, sizeof(doc) - 1, &v), 1) &&       \
           jscan_equals(&v, want, strlen(want)) == (expect),                                       \
       "%s == '%s' should be %d", path, want, expect)
    T_EQ("n", "42", true);
    T_EQ("s", "42", true);
    T_EQ("n", "420", false);
    T_EQ("n", "4", false);
    T_EQ("s", "\"42\"", false);
    T_EQ("t", "true", true);
    T_EQ("z", "null", true);
    T_EQ("o", "{}", false);
    T_EQ("e", "", true);
    T_EQ("q", "a\\\"b", true);
    T_EQ("missing", "", false);
#undef T_EQ
    v = (struct jscan_val){JSCAN_NONE, NULL, 0};
    ok(!jscan_equals(&v, NULL, 0), "nothing equals nothing");
}

/* Nesting: up to JSCAN_MAX_NEST skipped, one more is malformed; a value
 * JSCAN_MAX_DEPTH objects down is found. */
static void t_nesting(const struct t_guard *g)
{
    static char doc[4096];
    struct jscan_path p;
    struct jscan_val v;
    size_t n;

    for (int extra = 0; extra <= 1; extra++) {
        int depth = JSCAN_MAX_NEST + extra;

        n = (size_t)snprintf(doc, sizeof(doc), "{\"x\":");
        for (int i = 0; i < depth; i++)
            doc[n++] = '[';
        doc[n++] = '0'; /* an empty innermost array would need no stack entry */
        for (int i = 0; i < depth; i++)
            doc[n++] = ']';
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, ",\"a\":1}");
        jscan_compile(&p, "a", NULL, 0);
        ok(jscan_find(&p, t_place(g, doc, n), n, &v) == !extra, "%d nested arrays skipped: %d",
           depth, !extra);
        jscan_compile(&p, "x", NULL, 0);
        ok(jscan_find(&p, t_place(g, doc, n), n, &v) == !extra, "%d nested arrays found: %d", depth,
           !extra);
    }
    n = 0;
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "{\"k\":0,\"k%d\":", i);
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "\"deep\"");
    for (int i = 0; i < JSCAN_MAX_DEPTH; i++)
        doc[n++] = '}';
    ok(!jscan_compile(&p, "k0.k1.k2.k3.k4.k5.k6.k7.k8.k9.k10.k11.k12.k13.k14.k15", NULL, 0) &&
           jscan_find(&p, t_place(g, doc, n), n, &v) && jscan_equals(&v, "deep", 4),
       "16 levels down");
    memset(doc, '[', sizeof(doc));
    jscan_compile(&p, "[0]", NULL, 0);
    ok(!jscan_find(&p, t_place(g, doc, sizeof(doc)), sizeof(doc), &v), "4096 '[' is malformed");
}

static double t_ns(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) * 1e9 + (double)(b->tv_nsec - a->tv_nsec);
}

/* Cost per byte of a large body: the last of many elements, and many
 * small keys that share a prefix with the one wanted (printed). */
static void t_linear(const struct t_guard *g)
{
    size_t cap = T_GUARD_ROOM, n = 0;
    char *doc = malloc(cap);
    const char *placed;
    bool found;
    struct jscan_path p;
    struct jscan_val v;
    struct timespec a, b;
    int count = 0;

    n += (size_t)snprintf(doc, cap, "{\"items\":[");
    for (; n < cap - 200; count++)
        n += (size_t)snprintf(doc + n, cap - n, "%s{\"id\":%d,\"name\":\"n\\\"%d\",\"t\":[1,{}]}",
                              count ? "," : "", count, count);
    n += (size_t)snprintf(doc + n, cap - n, "],\"id\":\"end\"}");
    jscan_compile(&p, "id", NULL, 0);
    placed = t_place(g, doc, n);
    clock_gettime(CLOCK_MONOTONIC, &a);
    found = jscan_find(&p, placed, n, &v);
    clock_gettime(CLOCK_MONOTONIC, &b);
    ok(found && jscan_equals(&v, "end", 3), "key after %d elements", count);
    note("skip %zu bytes: %.2f ns/byte", n, t_ns(&a, &b) / (double)n);
    ok(!jscan_compile(&p, "items[0].name", NULL, 0) && jscan_find(&p, placed, n, &v) &&
           jscan_equals(&v, "n\\\"0", 4),
       "first element found");
    free(doc);
}

/* Rough cost of one capture from a typical response body (printed). */
static void t_cost(void)
{
    static const char body[] = "{\"status\":\"ok\",\"user\":{\"id\":12345,\"name\":\"ada\","
                               "\"roles\":[\"a\",\"b\"]},\"cart\":{\"items\":[{\"sku\":\"X1\","
                               "\"qty\":1},{\"sku\":\"X2\",\"qty\":3}],\"id\":\"c-77\"},"
                               "\"token\":\"eyJhbGciOiJIUzI1NiJ9.e30.abc\"}";
    struct jscan_path p;
    struct jscan_val v;
    struct timespec a, b;
    size_t sum = 0;
    int iters = 1000000;

    jscan_compile(&p, "cart.id", NULL, 0);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++)
        sum += jscan_find(&p, body, sizeof(body) - 1, &v) ? v.len : 0;
    clock_gettime(CLOCK_MONOTONIC, &b);
    note("find cart.id in %zu bytes: %.1f ns", sizeof(body) - 1, t_ns(&a, &b) / iters);
    ok(sum == (size_t)iters * 4, "cost loop found it every time");
}

int main(void)
{
    struct t_guard g;

    t_guard_init(&g, T_GUARD_ROOM);
    t_errors();
    t_compile_ok();
    t_find_table(&g);
    t_all_prefixes(&g);
    t_equals();
    t_nesting(&g);
    t_linear(&g);
    t_cost();
    return done();
}
