/*
 * test_tmpl.c - message templates: compile errors and their offsets,
 * rendering (exact capacity, one byte short, digit-count boundaries),
 * matching back (round trips, mismatches, overflow), templates without
 * variables, and ambiguous templates, which render but do not match.
 */
#include "t.h"
#include "tmpl.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define T_JSON "{\"type\":\"vote\",\"from\":\"{{conn}}\",\"seq\":{{seq}},\"ts\":{{ts}}}"
#define T_BIT(v) (1u << (v))

static int t_compile(struct tmpl *t, const char *src, char *err, size_t errlen)
{
    return tmpl_compile(t, src, strlen(src), err, errlen);
}

struct t_err {
    const char *src;
    const char *want; /* substring of the message */
};

static const struct t_err t_errs[] = {
    {"{{conm}}", "unknown variable 'conm' at offset 2"},
    {"ab{{ x }}", "unknown variable 'x' at offset 5"},
    {"{{seq }}{{ Conn}}", "unknown variable 'Conn' at offset 11"},
    {"abc{{conn", "unclosed '{{' at offset 3"},
    {"{{conn}", "unclosed '{{' at offset 0"},
    {"x{{conn}}{{seq", "unclosed '{{' at offset 9"},
    {"{{}}", "empty variable '{{}}' at offset 0"},
    {"a{{ \t }}", "empty variable '{{}}' at offset 1"},
    {"{{co\nnn}}", "unknown variable 'co\nnn' at offset 2"},
    {"{{{{x}}", "unknown variable 'x' at offset 4"},
};

static void t_errors(void)
{
    char err[160], tiny[8];
    struct tmpl t;

    for (size_t i = 0; i < sizeof(t_errs) / sizeof(t_errs[0]); i++) {
        const struct t_err *e = &t_errs[i];

        err[0] = 0;
        ok(t_compile(&t, e->src, err, sizeof(err)) == -1 && strstr(err, e->want) && !t.segs,
           "compile '%s': got '%s', want '%s'", e->src, err, e->want);
    }
    ok(t_compile(&t, "{{a_name_much_longer_than_thirty_two_characters_is_cut}}", err,
                 sizeof(err)) == -1 &&
           strstr(err, "'a_name_much_longer_than_thirty_t' at offset 2"),
       "a long name is cut in the message: %s", err);
    ok(t_compile(&t, "{{nope}}", tiny, sizeof(tiny)) == -1 && strlen(tiny) == sizeof(tiny) - 1,
       "message truncated to errlen: '%s'", tiny);
    ok(t_compile(&t, "{{nope}}", NULL, 0) == -1, "no error buffer");
}

struct t_render {
    const char *src;
    struct tmpl_vals v;
    const char *want;
};

static const struct t_render t_renders[] = {
    {T_JSON,
     {.conn = 12, .seq = 0, .ts = UINT64_MAX},
     "{\"type\":\"vote\",\"from\":\"12\",\"seq\":0,\"ts\":18446744073709551615}"},
    {"{{ conn }}/{{\tseq\t}}/{{ts}}", {.conn = 9, .seq = 10, .ts = 99}, "9/10/99"},
    {"{{{seq}}}", {.seq = 7}, "{7}"},
    {"{\"a\":{{{conn}}}}", {.conn = 100}, "{\"a\":{100}}"},
    {"}}{{seq}}}}", {.seq = 1000000}, "}}1000000}}"},
    {"no variables {{ here", {0}, NULL}, /* an error: unclosed */
    {"plain text, no variables", {0}, "plain text, no variables"},
    {"", {0}, ""},
    {"{{conn}}{{seq}}", {.conn = 12, .seq = 34}, "1234"},
};

static void t_render(void)
{
    char out[256], err[160];
    struct tmpl t;

    for (size_t i = 0; i < sizeof(t_renders) / sizeof(t_renders[0]); i++) {
        const struct t_render *r = &t_renders[i];
        size_t n;

        if (t_compile(&t, r->src, err, sizeof(err))) {
            ok(!r->want, "compile '%s': %s", r->src, err);
            continue;
        }
        n = tmpl_render(&t, out, sizeof(out), &r->v);
        ok(r->want && n == strlen(r->want) && !memcmp(out, r->want, n), "render '%s': '%.*s'",
           r->src, (int)n, out);
        tmpl_free(&t);
        ok(!t.segs && t.nsegs == 0, "free zeroes");
        tmpl_free(&t);
    }
}

static uint64_t t_pow10(int e)
{
    uint64_t x = 1;

    while (e--)
        x *= 10;
    return x;
}

/* Every digit count, at capacity L (fits), L - 1 (does not), and with the
 * per-segment checks on (cap < max_len) and off. */
static void t_capacity(void)
{
    char out[128], want[128], err[160];
    struct tmpl t;
    int bad = 0;

    ok(!t_compile(&t, "id={{conn}};", err, sizeof(err)), "compile: %s", err);
    ok(tmpl_max_len(&t) == 4 + 20, "max_len %zu", tmpl_max_len(&t));
    for (int k = 0; k <= 40; k++) {
        /* 0, then the smallest and the largest value of each digit count */
        uint64_t x = k ? t_pow10((k - 1) / 2) : 0;
        struct tmpl_vals v = {.conn = k && !(k & 1) ? (k == 40 ? UINT64_MAX : x * 10 - 1) : x};
        size_t len = (size_t)snprintf(want, sizeof(want), "id=%" PRIu64 ";", v.conn), n;

        memset(out, 'Z', sizeof(out));
        n = tmpl_render(&t, out, len, &v);
        bad += n != len || memcmp(out, want, len) || out[len] != 'Z';
        memset(out, 'Z', sizeof(out));
        bad += tmpl_render(&t, out, len - 1, &v) != 0 || out[len - 1] != 'Z';
        bad += tmpl_render(&t, out, 3, &v) != 0 || tmpl_render(&t, out, 0, &v) != 0;
        bad += tmpl_render(&t, out, sizeof(out), &v) != len || memcmp(out, want, len);
    }
    ok(!bad, "%d capacity checks failed", bad);
    tmpl_free(&t);
}

static uint64_t t_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static const char *const t_trips[] = {
    T_JSON, "{{seq}}", "a{{ts}}b{{conn}}c", "{{seq}}-{{seq}}", "{{{conn}}}", "x\0y{{ts}}",
};

static void t_round_trips(void)
{
    char out[256], err[160];
    uint64_t x = 0x1234567;
    struct tmpl t;
    int bad = 0;

    for (size_t i = 0; i < sizeof(t_trips) / sizeof(t_trips[0]); i++) {
        size_t srclen = i == 5 ? 9 : strlen(t_trips[i]);

        ok(!tmpl_compile(&t, t_trips[i], srclen, err, sizeof(err)) && tmpl_matchable(&t),
           "compile '%s': %s", t_trips[i], err);
        for (int k = 0; k < 2000; k++) {
            struct tmpl_vals v = {.conn = t_rand(&x) >> (k % 64), .seq = k, .ts = t_rand(&x)};
            struct tmpl_vals m;
            size_t n = tmpl_render(&t, out, sizeof(out), &v);

            bad += !tmpl_match(&t, out, n, &m) || m.have != t.have;
            bad += (m.have & T_BIT(TMPL_CONN)) && m.conn != v.conn;
            bad += (m.have & T_BIT(TMPL_SEQ)) && m.seq != v.seq;
            bad += (m.have & T_BIT(TMPL_TS)) && m.ts != v.ts;
        }
        tmpl_free(&t);
    }
    ok(!bad, "%d round trips failed", bad);
}

struct t_nomatch {
    const char *src, *msg, *why;
};

static const struct t_nomatch t_nomatches[] = {
    {T_JSON, "{\"type\":\"vote\",\"from\":\"1\",\"seq\":2,\"ts\":3", "truncated"},
    {T_JSON, "{\"type\":\"vote\",\"from\":\"1\",\"seq\":2,\"ts\":3}x", "trailing byte"},
    {T_JSON, "{\"type\":\"VOTE\",\"from\":\"1\",\"seq\":2,\"ts\":3}", "literal mismatch"},
    {T_JSON, "{\"type\":\"vote\",\"from\":\"\",\"seq\":2,\"ts\":3}", "no digits"},
    {T_JSON, "{\"type\":\"vote\",\"from\":\"-1\",\"seq\":2,\"ts\":3}", "a sign"},
    {T_JSON, "{\"type\":\"vote\",\"from\":\"1a\",\"seq\":2,\"ts\":3}", "non-digit"},
    {T_JSON, "{\"type\":\"vote\",\"from\":\"1\",\"seq\":18446744073709551616,\"ts\":3}",
     "overflow by one"},
    {T_JSON, "{\"type\":\"vote\",\"from\":\"1\",\"seq\":99999999999999999999,\"ts\":3}",
     "overflow"},
    {"{{seq}}-{{seq}}", "1-2", "a variable read twice differs"},
    {"{{seq}}", "", "empty message"},
    {"abc", "abd", "no variables, mismatch"},
    {"{{conn}}{{seq}}", "1234", "adjacent variables"},
    {"{{seq}}0", "10", "variable then digit"},
};

static void t_no_match(void)
{
    char err[160];
    struct tmpl t;
    struct tmpl_vals v;

    for (size_t i = 0; i < sizeof(t_nomatches) / sizeof(t_nomatches[0]); i++) {
        const struct t_nomatch *c = &t_nomatches[i];

        ok(!t_compile(&t, c->src, err, sizeof(err)), "compile '%s': %s", c->src, err);
        memset(&v, 0xff, sizeof(v));
        ok(!tmpl_match(&t, c->msg, strlen(c->msg), &v) && v.have == 0 && v.conn == 0,
           "no match (%s): '%s'", c->why, c->msg);
        tmpl_free(&t);
    }
}

static void t_matches(void)
{
    static const char big[] =
        "{\"type\":\"vote\",\"from\":\"007\",\"seq\":18446744073709551615,\"ts\":0}";
    char err[160];
    struct tmpl t;
    struct tmpl_vals v;

    ok(!t_compile(&t, T_JSON, err, sizeof(err)), "compile: %s", err);
    ok(tmpl_match(&t, big, strlen(big), &v) && v.conn == 7 && v.seq == UINT64_MAX && v.ts == 0 &&
           v.have == 7,
       "leading zeros and UINT64_MAX");
    ok(tmpl_has(&t, TMPL_CONN) && tmpl_has(&t, TMPL_SEQ) && tmpl_has(&t, TMPL_TS) &&
           !tmpl_has(&t, TMPL_VAR_NR),
       "has all three");
    tmpl_free(&t);
    ok(!t_compile(&t, "{{ts}}", err, sizeof(err)) && tmpl_has(&t, TMPL_TS) &&
           !tmpl_has(&t, TMPL_CONN) && tmpl_match(&t, "5", 1, &v) && v.have == T_BIT(TMPL_TS),
       "one variable: have says which");
    tmpl_free(&t);
    ok(!t_compile(&t, "static", err, sizeof(err)) && tmpl_max_len(&t) == 6 && tmpl_matchable(&t) &&
           !t.have && tmpl_match(&t, "static", 6, &v) && v.have == 0,
       "no variables: max_len is the length, matches itself");
    tmpl_free(&t);
    ok(!t_compile(&t, "", err, sizeof(err)) && tmpl_max_len(&t) == 0 && tmpl_match(&t, "", 0, &v),
       "empty template");
    tmpl_free(&t);
    ok(!t_compile(&t, "{{conn}}{{seq}}", err, sizeof(err)) && !tmpl_matchable(&t) &&
           tmpl_max_len(&t) == 40,
       "adjacent variables compile, not matchable");
    tmpl_free(&t);
    ok(!t_compile(&t, "{{seq}}x0", err, sizeof(err)) && tmpl_matchable(&t) &&
           tmpl_match(&t, "12x0", 4, &v) && v.seq == 12,
       "a digit after a non-digit literal byte is fine");
    tmpl_free(&t);
}

/* Rough cost of one render and one match of T_JSON (printed). */
static void t_cost(void)
{
    char out[256], err[160];
    struct tmpl t;
    struct tmpl_vals v = {.conn = 123456, .ts = 1700000000000000ull}, m;
    struct timespec a, b;
    size_t n = 0, sum = 0;
    int iters = 1000000;

    t_compile(&t, T_JSON, err, sizeof(err));
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++) {
        v.seq = (uint64_t)i;
        n = tmpl_render(&t, out, sizeof(out), &v);
        sum += n;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    note("render: %.1f ns",
         ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / iters);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < iters; i++)
        sum += tmpl_match(&t, out, n, &m);
    clock_gettime(CLOCK_MONOTONIC, &b);
    note("match: %.1f ns",
         ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / iters);
    ok(sum > 0, "cost loop ran");
    tmpl_free(&t);
}

/* Scenario values: expressions, rand(), captures and data columns. */
static void t_env(void)
{
    static const char *const caps[] = {"token", "cart"};
    static const char *const cols[] = {"user"};
    const struct tmpl_env env = {caps, 2, cols, 1, 64};
    const struct tmpl_str capv[] = {{"abc", 3}, {"c-9", 3}}, colv[] = {{"u17", 3}};
    char out[256], err[160];
    uint64_t rng = 42;
    struct tmpl_vals v = {.conn = 57, .seq = 3, .caps = capv, .cols = colv, .rng = &rng};
    struct tmpl t;
    size_t n;

    static const char expr[] = "/rooms/{{conn / 10}}/{{ conn%10 }}/{{seq+1}}/{{seq - 9}}/{{conn*2}}";

    ok(!tmpl_compile_env(&t, expr, sizeof(expr) - 1, &env, err, sizeof(err)),
       "expressions compile: %s", err);
    n = tmpl_render(&t, out, sizeof(out), &v);
    ok(n == 18 && !memcmp(out, "/rooms/5/7/4/0/114", 18), "expressions render '%.*s'", (int)n, out);
    tmpl_free(&t);
    ok(!tmpl_compile_env(&t, "Bearer {{token}} {{user}} {{cart}}", 34, &env, err, sizeof(err)),
       "string slots compile: %s", err);
    ok(t.caps == 3 && !t.matchable && t.max_len == 9 + 3 * 64, "slots summarised");
    n = tmpl_render(&t, out, sizeof(out), &v);
    ok(n == 18 && !memcmp(out, "Bearer abc u17 c-9", 18), "slots render '%.*s'", (int)n, out);
    ok(tmpl_render(&t, out, 12, &v) == 0, "slot past the capacity refused");
    tmpl_free(&t);
    ok(!tmpl_compile_env(&t, "{{rand(5,7)}}", 13, &env, err, sizeof(err)), "rand compiles: %s", err);
    for (int i = 0, bad = 0; i < 1000; i++) {
        n = tmpl_render(&t, out, sizeof(out), &v);
        bad += n != 1 || out[0] < '5' || out[0] > '7';
        if (i == 999)
            ok(!bad, "rand stays in [5, 7]");
    }
    tmpl_free(&t);
    ok(tmpl_compile_env(&t, "{{conn / 0}}", 12, &env, err, sizeof(err)) &&
       strstr(err, "division by zero"), "division by zero refused: %s", err);
    ok(tmpl_compile_env(&t, "{{tokn}}", 8, &env, err, sizeof(err)) &&
       strstr(err, "unknown variable 'tokn'"), "unknown name refused: %s", err);
    ok(tmpl_compile_env(&t, "{{rand(9,1)}}", 13, &env, err, sizeof(err)), "rand(9,1) refused");
    ok(tmpl_compile_env(&t, "{{conn ^ 2}}", 12, &env, err, sizeof(err)), "bad operator refused");
    ok(tmpl_compile(&t, "{{conn / 10}}", 13, err, sizeof(err)), "no expressions without env");
    ok(tmpl_compile(&t, "{{token}}", 9, err, sizeof(err)), "no slots without env");
}

int main(void)
{
    t_env();
    t_errors();
    t_render();
    t_capacity();
    t_round_trips();
    t_no_match();
    t_matches();
    t_cost();
    return done();
}
