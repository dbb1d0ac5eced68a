/*
 * jscan.c - find one value in a JSON document by path; see jscan.h.
 *
 * Why not a JSON library: captures and checks run per response on the
 * worker's hot path, where nothing may allocate, and they want one value,
 * not a tree. So jscan walks the body once, left to right: at each path
 * segment it steps through the members of one container, comparing raw
 * keys (or counting elements) and skipping the values that do not match.
 * Skipping is iterative, with a stack of the expected closing brackets
 * (JSCAN_MAX_NEST bytes) instead of recursion, so a hostile body cannot
 * overflow the C stack; each byte is consumed once, so the cost is linear
 * in the length. Every read is checked against len: a body may be any
 * bytes and may stop anywhere.
 */
#include "jscan.h"

#include <stdio.h>
#include <string.h>

#define JS_STR_RAW(x) #x
#define JS_STR(x) JS_STR_RAW(x)

/* A read position in the caller's document. */
struct js {
    const char *s;
    size_t len, pos;
};

static bool js_at(const struct js *j, char c)
{
    return j->pos < j->len && j->s[j->pos] == c;
}

/* Loops keep the position in a local: j->s is a char pointer, so every
 * store to j->pos would otherwise force reloads of j->s and j->len. */
static void js_ws(struct js *j)
{
    size_t i = j->pos;

    while (i < j->len && (j->s[i] == ' ' || j->s[i] == '\t' || j->s[i] == '\n' || j->s[i] == '\r'))
        i++;
    j->pos = i;
}

static bool js_hex(char c)
{
    return (unsigned)(c - '0') < 10u || (unsigned)((c | 32) - 'a') < 6u;
}

/* The string whose '"' is at pos; pos ends past the closing quote. Raw
 * control bytes and bad escapes are malformed (RFC 8259 section 7). */
static bool js_string(struct js *j)
{
    for (size_t i = j->pos + 1; i < j->len; i++) {
        unsigned char c = (unsigned char)j->s[i];

        if (c == '"') {
            j->pos = i + 1;
            return true;
        }
        if (c < 0x20 || (c == '\\' && ++i == j->len))
            return false;
        if (c != '\\')
            continue;
        if (j->s[i] == 'u') {
            if (j->len - i < 5 || !js_hex(j->s[i + 1]) || !js_hex(j->s[i + 2]) ||
                !js_hex(j->s[i + 3]) || !js_hex(j->s[i + 4]))
                return false;
            i += 4;
        } else if (!memchr("\"\\/bfnrt", j->s[i], 8)) {
            return false;
        }
    }
    return false;
}

static bool js_digits(struct js *j)
{
    size_t i = j->pos, a = i;

    while (i < j->len && (unsigned)(j->s[i] - '0') < 10u)
        i++;
    j->pos = i;
    return i > a;
}

/* -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, then some byte: a number
 * that runs to the end of the buffer may have been cut short. */
static bool js_number(struct js *j)
{
    j->pos += js_at(j, '-');
    if (js_at(j, '0'))
        j->pos++;
    else if (!js_digits(j))
        return false;
    if (js_at(j, '.') && (j->pos++, !js_digits(j)))
        return false;
    if (js_at(j, 'e') || js_at(j, 'E')) {
        j->pos++;
        j->pos += js_at(j, '+') || js_at(j, '-');
        if (!js_digits(j))
            return false;
    }
    return j->pos < j->len;
}

static bool js_lit(struct js *j, const char *word, size_t n)
{
    if (j->len - j->pos < n || memcmp(j->s + j->pos, word, n))
        return false;
    j->pos += n;
    return true;
}

/* The scalar at pos (pos < len); JSCAN_NONE if malformed. */
static enum jscan_type js_scalar(struct js *j)
{
    char c = j->s[j->pos];

    if (c == '"')
        return js_string(j) ? JSCAN_STRING : JSCAN_NONE;
    if (c == 't')
        return js_lit(j, "true", 4) ? JSCAN_TRUE : JSCAN_NONE;
    if (c == 'f')
        return js_lit(j, "false", 5) ? JSCAN_FALSE : JSCAN_NONE;
    if (c == 'n')
        return js_lit(j, "null", 4) ? JSCAN_NULL : JSCAN_NONE;
    return js_number(j) ? JSCAN_NUMBER : JSCAN_NONE;
}

/* `"key":` with whitespace around; *key, *klen: the raw key. */
static bool js_key(struct js *j, const char **key, size_t *klen)
{
    size_t a;

    js_ws(j);
    a = j->pos + 1;
    if (!js_at(j, '"') || !js_string(j))
        return false;
    *key = j->s + a;
    *klen = j->pos - 1 - a;
    js_ws(j);
    if (!js_at(j, ':'))
        return false;
    j->pos++;
    js_ws(j);
    return true;
}

/* Skip the value at pos (whitespace before it allowed), checking it. */
static bool js_skip(struct js *j)
{
    char close[JSCAN_MAX_NEST]; /* the bracket that ends each open container */
    unsigned depth = 0;
    const char *k;
    size_t kl;

    for (;;) {
        js_ws(j);
        if (j->pos == j->len)
            return false;
        if (js_at(j, '{') || js_at(j, '[')) {
            char c = j->s[j->pos++] == '{' ? '}' : ']';

            js_ws(j);
            if (!js_at(j, c)) { /* not empty: open it and read its first value */
                if (depth == JSCAN_MAX_NEST || (c == '}' && !js_key(j, &k, &kl)))
                    return false;
                close[depth++] = c;
                continue;
            }
            j->pos++;
        } else if (js_scalar(j) == JSCAN_NONE) {
            return false;
        }
        /* after a value: close containers until a ',' leads to the next one */
        for (;;) {
            if (depth == 0)
                return true;
            js_ws(j);
            if (js_at(j, ',')) {
                j->pos++;
                if (close[depth - 1] == '}' && !js_key(j, &k, &kl))
                    return false;
                break;
            }
            if (!js_at(j, close[--depth]))
                return false;
            j->pos++;
        }
    }
}

/* At a container: move to the value seg names (pos on its first byte). */
static bool js_enter(struct js *j, const struct jscan_seg *seg)
{
    bool is_obj = seg->index < 0;
    const char *k;
    size_t kl;

    if (!js_at(j, is_obj ? '{' : '['))
        return false;
    j->pos++;
    js_ws(j);
    if (js_at(j, is_obj ? '}' : ']'))
        return false;
    for (size_t i = 0;; i++) {
        if (is_obj && !js_key(j, &k, &kl))
            return false;
        if (is_obj ? kl == seg->key_len && !memcmp(k, seg->key, kl) : i == (size_t)seg->index)
            return true; /* the first of duplicate keys wins */
        if (!js_skip(j))
            return false;
        js_ws(j);
        if (!js_at(j, ','))
            return false; /* the closing bracket (not found) or garbage */
        j->pos++;
        js_ws(j);
    }
}

bool jscan_find(const struct jscan_path *p, const char *json, size_t len, struct jscan_val *out)
{
    struct js j = {json, len, 0};
    enum jscan_type type;
    size_t a, e;

    *out = (struct jscan_val){JSCAN_NONE, NULL, 0};
    if (!p->n)
        return false;
    js_ws(&j);
    for (unsigned i = 0; i < p->n; i++)
        if (!js_enter(&j, &p->seg[i]))
            return false;
    a = j.pos;
    if (js_at(&j, '{') || js_at(&j, '['))
        type = !js_skip(&j) ? JSCAN_NONE : json[a] == '{' ? JSCAN_OBJECT : JSCAN_ARRAY;
    else
        type = a < len ? js_scalar(&j) : JSCAN_NONE;
    e = j.pos;
    js_ws(&j); /* what follows, when it is there, must fit the container */
    if (type == JSCAN_NONE ||
        (j.pos < len && !js_at(&j, ',') && !js_at(&j, p->seg[p->n - 1].index < 0 ? '}' : ']')))
        return false;
    if (type == JSCAN_STRING)
        *out = (struct jscan_val){type, json + a + 1, e - a - 2};
    else
        *out = (struct jscan_val){type, json + a, e - a};
    return true;
}

bool jscan_equals(const struct jscan_val *v, const char *want, size_t want_len)
{
    if (v->type == JSCAN_NONE || v->type == JSCAN_OBJECT || v->type == JSCAN_ARRAY)
        return false;
    return v->len == want_len && (!want_len || !memcmp(v->ptr, want, want_len));
}

/* `[N]` at src[*i]: *i ends past the ']'; NULL, or why not (at *i). */
static const char *js_index(const char *src, size_t *i, int32_t *index)
{
    size_t open = (*i)++;
    int64_t x = 0;

    for (; (unsigned)(src[*i] - '0') < 10u; ++*i)
        if ((x = x * 10 + (src[*i] - '0')) > INT32_MAX)
            return "array index too large";
    if (!src[*i]) {
        *i = open;
        return "unclosed '['";
    }
    if (*i == open + 1)
        return "expected a decimal array index";
    if (src[*i] != ']')
        return "expected ']'";
    ++*i;
    *index = (int32_t)x;
    return NULL;
}

int jscan_compile(struct jscan_path *p, const char *src, char *err, size_t errlen)
{
    const char *why = "empty path";
    size_t i = 0, a;
    bool key = src[0] != '[';

    memset(p, 0, sizeof(*p));
    while (src[0]) {
        why = "more than " JS_STR(JSCAN_MAX_DEPTH) " path segments";
        if (p->n == JSCAN_MAX_DEPTH)
            break;
        if (key) {
            for (a = i; src[i] && src[i] != '.' && src[i] != '['; i++)
                ;
            if ((why = i == a ? "empty key" : NULL))
                break;
            p->seg[p->n] = (struct jscan_seg){src + a, (uint32_t)(i - a), -1};
        } else if ((why = js_index(src, &i, &p->seg[p->n].index))) {
            break;
        }
        p->n++;
        if (!src[i])
            return 0;
        key = src[i] == '.';
        i += key;
        if ((why = !key && src[i] != '[' ? "expected '.' or '[' after ']'" : NULL))
            break;
    }
    memset(p, 0, sizeof(*p));
    if (err && errlen)
        snprintf(err, errlen, "%s at offset %zu", why, i);
    return -1;
}
