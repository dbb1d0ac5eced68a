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

static void tmpl_add_var(struct tmpl_build *b, enum tmpl_var var)
{
    if (b->segs)
        b->segs[b->nsegs] = (struct tmpl_seg){.kind = TMPL_SEG_VAR, .var = (uint8_t)var};
    b->nsegs++;
}

/* The variable named src[a, e) with blanks around it trimmed, or -1 with
 * the error written (offsets are from the start of the template). */
static int tmpl_lookup(struct tmpl_build *b, const char *src, size_t a, size_t e, size_t open)
{
    while (a < e && (src[a] == ' ' || src[a] == '\t'))
        a++;
    while (e > a && (src[e - 1] == ' ' || src[e - 1] == '\t'))
        e--;
    for (int v = 0; v < TMPL_VAR_NR; v++)
        if (strlen(tmpl_names[v]) == e - a && !memcmp(src + a, tmpl_names[v], e - a))
            return v;
    if (a == e)
        snprintf(b->err, b->errlen, "empty variable '{{}}' at offset %zu", open);
    else
        snprintf(b->err, b->errlen, "unknown variable '%.*s' at offset %zu (known: conn, seq, ts)",
                 (int)(e - a > 32 ? 32 : e - a), src + a, a);
    return -1;
}

/* One pass over the source; 0 or -1 (error written). */
static int tmpl_scan(struct tmpl_build *b, const char *src, size_t len)
{
    size_t pos = 0, lit = 0;
    const char *o, *c;
    int v;

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
        v = tmpl_lookup(b, src, open + 2, close, open);
        if (v < 0)
            return -1;
        tmpl_add_lit(b, src + lit, open - lit);
        tmpl_add_var(b, (enum tmpl_var)v);
        pos = lit = close + 2;
    }
    tmpl_add_lit(b, src + lit, len - lit);
    return 0;
}

/* Fill the summary fields from the segments. */
static void tmpl_summarise(struct tmpl *t)
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
        t->max_len += TMPL_U64_DIGITS;
        t->have |= 1u << s->var;
        if (next &&
            (next->kind != TMPL_SEG_LIT || (t->lit[next->off] >= '0' && t->lit[next->off] <= '9')))
            t->matchable = false;
    }
}

int tmpl_compile(struct tmpl *t, const char *src, size_t len, char *err, size_t errlen)
{
    char dummy[1];
    struct tmpl_build b = {.err = errlen ? err : dummy, .errlen = errlen ? errlen : 1};
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
    tmpl_summarise(t);
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
        } else {
            uint64_t x = tmpl_value(v, s->var);

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
        if (!tmpl_get_u64(msg, len, &pos, &x) || ((v->have & bit) && tmpl_value(v, s->var) != x))
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
