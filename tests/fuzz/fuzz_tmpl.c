/*
 * fuzz_tmpl.c - libFuzzer target for message templates: tmpl_compile on
 * arbitrary bytes, then render and tmpl_match.
 *
 * Input layout: bytes 0-1 (little endian) are the template's length,
 * taken modulo what is left; the template follows, and the rest is a
 * message to match against it. Each is copied to an exact-size heap block
 * so ASan catches a read past its end.
 *
 * Aborts when: a failed compile leaves no message naming an offset; a
 * rendering is longer than tmpl_max_len, empty for a non-empty template,
 * or fits one byte short; a matchable template does not match its own
 * rendering with the same values; a template that is not matchable
 * matches anything; a message that matched, rendered back from what was
 * read, does not match again with the same values.
 */
#include "tmpl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_assert(bool cond)
{
    if (!cond)
        abort();
}

static char *fz_copy(const uint8_t *p, size_t n)
{
    char *c = malloc(n ? n : 1);

    fz_assert(c != NULL);
    memcpy(c, p, n);
    return c;
}

static bool fz_same(const struct tmpl_vals *a, const struct tmpl_vals *b, uint32_t have)
{
    return (!(have & 1u << TMPL_CONN) || a->conn == b->conn) &&
           (!(have & 1u << TMPL_SEQ) || a->seq == b->seq) &&
           (!(have & 1u << TMPL_TS) || a->ts == b->ts);
}

/* Render v, check the bounds, and that it matches back when it should. */
static void fz_render(const struct tmpl *t, const struct tmpl_vals *v)
{
    size_t max = tmpl_max_len(t), n;
    char *out = malloc(max ? max : 1);
    struct tmpl_vals m;

    fz_assert(out != NULL);
    n = tmpl_render(t, out, max, v);
    fz_assert(n <= max && (n == 0) == (t->nsegs == 0));
    if (n)
        fz_assert(tmpl_render(t, out, n - 1, v) == 0 && tmpl_render(t, out, n, v) == n);
    if (tmpl_matchable(t))
        fz_assert(tmpl_match(t, out, n, &m) && m.have == t->have && fz_same(&m, v, m.have));
    else
        fz_assert(!tmpl_match(t, out, n, &m) && m.have == 0);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct tmpl t;
    struct tmpl_vals v = {.conn = 0, .seq = 7, .ts = UINT64_MAX}, m;
    char err[160], *src, *msg;
    size_t tlen;

    if (size < 2)
        return 0;
    tlen = (size_t)(data[0] | data[1] << 8) % (size - 1);
    src = fz_copy(data + 2, tlen);
    msg = fz_copy(data + 2 + tlen, size - 2 - tlen);
    err[0] = 0;
    if (tmpl_compile(&t, src, tlen, err, sizeof(err))) {
        fz_assert(strstr(err, "offset") != NULL && t.segs == NULL);
    } else {
        fz_render(&t, &v);
        if (tmpl_match(&t, msg, size - 2 - tlen, &m)) {
            fz_assert(tmpl_matchable(&t) && m.have == t.have);
            v = m;
            fz_render(&t, &v); /* canonical form of what was read */
        }
        tmpl_free(&t);
    }
    free(src);
    free(msg);
    return 0;
}
