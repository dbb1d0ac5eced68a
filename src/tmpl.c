/*
 * tmpl.c - message templates; see tmpl.h.
 *
 * tmpl_compile scans the source twice with the same function: once to
 * validate and count, once to fill the single allocation (segments, then
 * literal bytes), so the segment array never grows. Hot path: tmpl_render
 * (per message sent) and tmpl_match (per message received), neither of
 * which allocates or re-parses the source.
 */
#include "tmpl.h"

#include "units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const tmpl_names[TMPL_VAR_NR] = {
    [TMPL_CONN] = "conn",
    [TMPL_SEQ] = "seq",
    [TMPL_TS] = "ts",
};

/* Where a scan writes; counts only while segs is NULL. */
struct tmpl_build {
    const struct tmpl_env *env;
    struct tmpl_seg *segs;
    char *lit;
    uint32_t nsegs;
    uint32_t lit_len;
    char *err;
    size_t errlen;
};

static void tmpl_add_lit(struct tmpl_build *b, const char *p, size_t n)
{
    if (!n)
        return;
    if (b->segs) {
        b->segs[b->nsegs] =
            (struct tmpl_seg){.kind = TMPL_SEG_LIT, .off = b->lit_len, .len = (uint32_t)n};
        memcpy(b->lit + b->lit_len, p, n);
    }
    b->nsegs++;
    b->lit_len += (uint32_t)n;
}

static void tmpl_add_seg(struct tmpl_build *b, const struct tmpl_seg *seg)
{
    if (b->segs)
        b->segs[b->nsegs] = *seg;
    b->nsegs++;
}

static bool tmpl_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Index of name src[a, e) in names[0..n), or -1. */
static int tmpl_find(const char *const *names, uint32_t n, const char *src, size_t a, size_t e)
{
    for (uint32_t i = 0; i < n; i++)
        if (strlen(names[i]) == e - a && !memcmp(src + a, names[i], e - a))
            return (int)i;
    return -1;
}

/* A u64 literal at src[*a, e) after blanks; false if none. */
static bool tmpl_num(const char *src, size_t *a, size_t e, uint64_t *x)
{
    size_t i = *a;
    uint64_t acc = 0;

    while (i < e && tmpl_blank(src[i]))
        i++;
    if (i == e || src[i] < '0' || src[i] > '9')
        return false;
    for (; i < e && src[i] >= '0' && src[i] <= '9'; i++) {
        unsigned d = (unsigned)(src[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    while (i < e && tmpl_blank(src[i]))
        i++;
    *a = i;
    *x = acc;
    return true;
}

/* rand(lo,hi) in src[a, e) (the name already matched up to the '('). */
static int tmpl_rand(struct tmpl_build *b, const char *src, size_t a, size_t e, struct tmpl_seg *seg)
{
    size_t i = a;

    seg->kind = TMPL_SEG_RAND;
    if (!tmpl_num(src, &i, e, &seg->arg) || i == e || src[i++] != ',' ||
        !tmpl_num(src, &i, e, &seg->arg2) || i + 1 != e || src[i] != ')' || seg->arg2 < seg->arg) {
        snprintf(b->err, b->errlen, "bad random value at offset %zu: expected rand(LO,HI) with "
                 "integers LO <= HI", a);
        return -1;
    }
    return 0;
}

/* `var op N` after the variable: src[i, e). */
static int tmpl_expr(struct tmpl_build *b, const char *src, size_t i, size_t e, struct tmpl_seg *seg)
{
    size_t at = i;

    if (!strchr("+-*/%", src[i]) || (i++, !tmpl_num(src, &i, e, &seg->arg)) || i != e) {
        snprintf(b->err, b->errlen, "bad expression at offset %zu: expected NAME, or NAME OP "
                 "INTEGER with OP one of + - * / %%", at);
        return -1;
    }
    seg->op = (uint8_t)src[at];
    if ((seg->op == '/' || seg->op == '%') && !seg->arg) {
        snprintf(b->err, b->errlen, "division by zero at offset %zu", at);
        return -1;
    }
    seg->kind = TMPL_SEG_EXPR;
    return 0;
}

static int tmpl_unknown(struct tmpl_build *b, const char *src, size_t a, size_t e)
{
    snprintf(b->err, b->errlen, "unknown variable '%.*s' at offset %zu (known: conn, seq, ts%s)",
             (int)(e - a > 32 ? 32 : e - a), src + a, a,
             b->env && (b->env->ncaps || b->env->ncols) ? ", captures and data columns" : "");
    return -1;
}

/* The segment for src[a, e) (a variable, expression, rand() or string
 * slot, blanks around it trimmed), or -1 with the error written (offsets
 * are from the start of the template). */
static int tmpl_lookup(struct tmpl_build *b, const char *src, size_t a, size_t e, size_t open,
                       struct tmpl_seg *seg)
{
    size_t n;
    int v;

    while (a < e && tmpl_blank(src[a]))
        a++;
    while (e > a && tmpl_blank(src[e - 1]))
        e--;
    if (a == e) {
        snprintf(b->err, b->errlen, "empty variable '{{}}' at offset %zu", open);
        return -1;
    }
    for (n = a; n < e && (src[n] == '_' || (unsigned)((src[n] | 32) - 'a') < 26u ||
                          (unsigned)(src[n] - '0') < 10u);
         n++)
        ;
    memset(seg, 0, sizeof(*seg));
    if (b->env && n - a == 4 && !memcmp(src + a, "rand", 4) && n < e && src[n] == '(')
        return tmpl_rand(b, src, n + 1, e, seg);
    v = tmpl_find(tmpl_names, TMPL_VAR_NR, src, a, n);
    if (v >= 0) {
        seg->kind = TMPL_SEG_VAR;
        seg->var = (uint8_t)v;
        while (n < e && tmpl_blank(src[n]))
            n++;
        if (n == e)
            return 0;
        if (b->env)
            return tmpl_expr(b, src, n, e, seg);
        return tmpl_unknown(b, src, a, e);
    }
    if (n == e && b->env && (v = tmpl_find(b->env->caps, b->env->ncaps, src, a, e)) >= 0) {
        seg->kind = TMPL_SEG_CAP;
        seg->off = (uint32_t)v;
        return 0;
    }
    if (n == e && b->env && (v = tmpl_find(b->env->cols, b->env->ncols, src, a, e)) >= 0) {
        seg->kind = TMPL_SEG_COL;
        seg->off = (uint32_t)v;
        return 0;
    }
    return tmpl_unknown(b, src, a, e);
}

/* One pass over the source; 0 or -1 (error written). */
static int tmpl_scan(struct tmpl_build *b, const char *src, size_t len)
{
    size_t pos = 0, lit = 0;
    const char *o, *c;
    struct tmpl_seg seg;

    while (pos < len && (o = memmem(src + pos, len - pos, "{{", 2))) {
        size_t open = (size_t)(o - src), close;

        while (open + 2 < len && src[open + 2] == '{')
            open++; /* the last two of a run of braces open the variable */
        c = memmem(src + open + 2, len - open - 2, "}}", 2);
        if (!c) {
            snprintf(b->err, b->errlen, "unclosed '{{' at offset %zu", open);
            return -1;
        }
        close = (size_t)(c - src);
        if (tmpl_lookup(b, src, open + 2, close, open, &seg))
            return -1;
        tmpl_add_lit(b, src + lit, open - lit);
        tmpl_add_seg(b, &seg);
        pos = lit = close + 2;
    }
    tmpl_add_lit(b, src + lit, len - lit);
    return 0;
}

/* Fill the summary fields from the segments. */
static void tmpl_summarise(struct tmpl *t, uint32_t str_max)
{
    t->max_len = 0;
    t->have = 0;
    t->matchable = true;
    for (uint32_t i = 0; i < t->nsegs; i++) {
        const struct tmpl_seg *s = &t->segs[i];
        const struct tmpl_seg *next = i + 1 < t->nsegs ? s + 1 : NULL;

        if (s->kind == TMPL_SEG_LIT) {
            t->max_len += s->len;
            continue;
        }
        if (s->kind == TMPL_SEG_CAP || s->kind == TMPL_SEG_COL) {
            t->max_len += str_max;
            t->matchable = false;
            if (s->kind == TMPL_SEG_CAP && s->off < 64)
                t->caps |= 1ull << s->off;
            continue;
        }
        t->max_len += TMPL_U64_DIGITS;
        if (s->kind == TMPL_SEG_VAR)
            t->have |= 1u << s->var;
        if (next &&
            (next->kind != TMPL_SEG_LIT || (t->lit[next->off] >= '0' && t->lit[next->off] <= '9')))
            t->matchable = false;
    }
}

int tmpl_compile(struct tmpl *t, const char *src, size_t len, char *err, size_t errlen)
{
    return tmpl_compile_env(t, src, len, NULL, err, errlen);
}

int tmpl_compile_env(struct tmpl *t, const char *src, size_t len, const struct tmpl_env *env,
                     char *err, size_t errlen)
{
    char dummy[1];
    struct tmpl_build b = {.env = env, .err = errlen ? err : dummy, .errlen = errlen ? errlen : 1};
    size_t seg_bytes;

    memset(t, 0, sizeof(*t));
    if (len > UINT32_MAX) {
        snprintf(b.err, b.errlen, "template longer than 4 GiB");
        return -1;
    }
    if (tmpl_scan(&b, src, len))
        return -1;
    seg_bytes = b.nsegs * sizeof(struct tmpl_seg);
    b.segs = malloc(seg_bytes + b.lit_len + 1);
    if (!b.segs) {
        snprintf(b.err, b.errlen, "out of memory");
        return -1;
    }
    b.lit = (char *)b.segs + seg_bytes;
    b.nsegs = b.lit_len = 0;
    tmpl_scan(&b, src, len); /* cannot fail: same input */
    t->segs = b.segs;
    t->lit = b.lit;
    t->nsegs = b.nsegs;
    tmpl_summarise(t, env ? env->str_max : 0);
    return 0;
}

void tmpl_free(struct tmpl *t)
{
    free(t->segs);
    memset(t, 0, sizeof(*t));
}

size_t tmpl_max_len(const struct tmpl *t)
{
    return t->max_len;
}

bool tmpl_has(const struct tmpl *t, enum tmpl_var var)
{
    return (unsigned)var < TMPL_VAR_NR && (t->have >> var & 1);
}

bool tmpl_matchable(const struct tmpl *t)
{
    return t->matchable;
}

/* Decimal digits of x: log10 from the bit length (1233 / 4096 ~ log10 2),
 * then one compare to fix the estimate. */
static size_t tmpl_digits(uint64_t x)
{
    unsigned t = (unsigned)(64 - __builtin_clzll(x | 1)) * 1233 >> 12;

    return t + 1 - ((x | 1) < units_pow10[t]);
}

/* x in decimal into out[0..n), n = tmpl_digits(x), two digits per step. */
static void tmpl_put_u64(char *out, uint64_t x, size_t n)
{
    static const char pairs[] = "00010203040506070809101112131415161718192021222324"
                                "25262728293031323334353637383940414243444546474849"
                                "50515253545556575859606162636465666768697071727374"
                                "75767778798081828384858687888990919293949596979899";

    while (x >= 100) {
        size_t i = (size_t)(x % 100) * 2;
        x /= 100;
        out[--n] = pairs[i + 1];
        out[--n] = pairs[i];
    }
    if (x >= 10) {
        out[--n] = pairs[x * 2 + 1];
        out[--n] = pairs[x * 2];
    } else {
        out[--n] = (char)('0' + x);
    }
}

static uint64_t *tmpl_field(struct tmpl_vals *v, unsigned var)
{
    switch (var) {
    case TMPL_CONN:
        return &v->conn;
    case TMPL_SEQ:
        return &v->seq;
    default:
        return &v->ts;
    }
}

static uint64_t tmpl_value(const struct tmpl_vals *v, unsigned var)
{
    switch (var) {
    case TMPL_CONN:
        return v->conn;
    case TMPL_SEQ:
        return v->seq;
    default:
        return v->ts;
    }
}

static uint64_t tmpl_apply(uint8_t op, uint64_t x, uint64_t arg)
{
    switch (op) {
    case '+':
        return x + arg;
    case '-':
        return x > arg ? x - arg : 0; /* counts never go negative */
    case '*':
        return x * arg;
    case '/':
        return x / arg;
    default:
        return x % arg;
    }
}

/* The number a numeric segment renders. */
static uint64_t tmpl_seg_num(const struct tmpl_seg *s, const struct tmpl_vals *v)
{
    uint64_t x, span;

    if (s->kind == TMPL_SEG_VAR)
        return tmpl_value(v, s->var);
    if (s->kind == TMPL_SEG_EXPR)
        return tmpl_apply(s->op, tmpl_value(v, s->var), s->arg);
    /* TMPL_SEG_RAND: xorshift64* on the caller's state */
    x = v->rng ? *v->rng : 88172645463325252ull;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    if (v->rng)
        *v->rng = x;
    x *= 2685821657736338717ull;
    span = s->arg2 - s->arg + 1;
    return span ? s->arg + x % span : x;
}

/* The bytes of a string slot. */
static struct tmpl_str tmpl_seg_str(const struct tmpl_seg *s, const struct tmpl_vals *v)
{
    const struct tmpl_str *tab = s->kind == TMPL_SEG_CAP ? v->caps : v->cols;

    return tab ? tab[s->off] : (struct tmpl_str){"", 0};
}

size_t tmpl_render(const struct tmpl *t, char *out, size_t cap, const struct tmpl_vals *v)
{
    bool check = cap < t->max_len;
    size_t n = 0, k;

    for (uint32_t i = 0; i < t->nsegs; i++) {
        const struct tmpl_seg *s = &t->segs[i];

        if (s->kind == TMPL_SEG_LIT) {
            if (check && s->len > cap - n)
                return 0;
            memcpy(out + n, t->lit + s->off, s->len);
            n += s->len;
        } else if (s->kind == TMPL_SEG_CAP || s->kind == TMPL_SEG_COL) {
            struct tmpl_str str = tmpl_seg_str(s, v);

            if (str.len > cap - n)
                return 0; /* always checked: the bound is the caller's promise */
            memcpy(out + n, str.ptr, str.len);
            n += str.len;
        } else {
            uint64_t x = tmpl_seg_num(s, v);

            k = tmpl_digits(x);
            if (check && k > cap - n)
                return 0;
            tmpl_put_u64(out + n, x, k);
            n += k;
        }
    }
    return n;
}

/* 1-20 digits at msg[*pos] into *x; false if none or past UINT64_MAX. */
static bool tmpl_get_u64(const char *msg, size_t len, size_t *pos, uint64_t *x)
{
    size_t i = *pos;
    uint64_t acc = 0;

    for (; i < len && msg[i] >= '0' && msg[i] <= '9'; i++) {
        unsigned d = (unsigned)(msg[i] - '0');
        if (acc > (UINT64_MAX - d) / 10)
            return false;
        acc = acc * 10 + d;
    }
    if (i == *pos)
        return false;
    *pos = i;
    *x = acc;
    return true;
}

bool tmpl_match(const struct tmpl *t, const char *msg, size_t len, struct tmpl_vals *v)
{
    size_t pos = 0;
    uint64_t x;

    memset(v, 0, sizeof(*v));
    if (!t->matchable)
        return false;
    for (uint32_t i = 0; i < t->nsegs; i++) {
        const struct tmpl_seg *s = &t->segs[i];
        uint32_t bit = 1u << s->var;

        if (s->kind == TMPL_SEG_LIT) {
            if (s->len > len - pos || memcmp(msg + pos, t->lit + s->off, s->len))
                goto fail;
            pos += s->len;
            continue;
        }
        if (!tmpl_get_u64(msg, len, &pos, &x))
            goto fail;
        if (s->kind != TMPL_SEG_VAR)
            continue; /* a number not read back */
        if ((v->have & bit) && tmpl_value(v, s->var) != x)
            goto fail;
        *tmpl_field(v, s->var) = x;
        v->have |= bit;
    }
    if (pos == len)
        return true;
fail:
    memset(v, 0, sizeof(*v));
    return false;
}
