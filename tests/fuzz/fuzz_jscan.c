/*
 * fuzz_jscan.c - libFuzzer target for the JSON value locator: jscan_compile
 * on arbitrary paths, then jscan_find and jscan_equals on arbitrary bodies.
 *
 * Input layout: the path, then a NUL or newline, then the document (no
 * separator: the whole input is the path and the document is empty). The
 * path is copied to its own NUL-terminated block and the document to an
 * exact-size heap block, so ASan catches a read past either end.
 *
 * Aborts when: a failed compile leaves segments or a message without an
 * offset; a compiled path has no segment or more than JSCAN_MAX_DEPTH; a
 * found value is not inside the document, has no type, or (a string) is
 * not between quotes; a miss leaves anything in the result; a scalar does
 * not equal its own text or a container equals anything; the document cut
 * one byte past the value does not give the very same value.
 */
#include "jscan.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_assert(bool cond)
{
    if (!cond)
        abort();
}

static char *fz_copy(const uint8_t *p, size_t n, bool nul)
{
    size_t m = n + nul;
    char *c = malloc(m ? m : 1); /* exact size */

    fz_assert(c != NULL);
    memcpy(c, p, n);
    if (nul)
        c[n] = 0;
    return c;
}

/* Where the found value's text ends, closing quote included. */
static size_t fz_end(const struct jscan_val *v, const char *doc)
{
    return (size_t)(v->ptr - doc) + v->len + (v->type == JSCAN_STRING);
}

static void fz_check_found(const struct jscan_path *p, const struct jscan_val *v, const char *doc,
                           size_t len)
{
    size_t cut = fz_end(v, doc);
    bool scalar = v->type != JSCAN_OBJECT && v->type != JSCAN_ARRAY;
    struct jscan_val w;
    char *again;

    fz_assert(v->type != JSCAN_NONE && v->ptr >= doc && v->len <= len &&
              (size_t)(v->ptr - doc) <= len - v->len && cut <= len);
    if (v->type == JSCAN_STRING)
        fz_assert(v->ptr > doc && v->ptr[-1] == '"' && cut <= len && doc[cut - 1] == '"');
    if (v->type == JSCAN_OBJECT || v->type == JSCAN_ARRAY)
        fz_assert(v->len >= 2 && v->ptr[0] == (v->type == JSCAN_OBJECT ? '{' : '[') &&
                  v->ptr[v->len - 1] == (v->type == JSCAN_OBJECT ? '}' : ']'));
    fz_assert(jscan_equals(v, v->ptr, v->len) == scalar);
    if (v->len)
        fz_assert(!jscan_equals(v, v->ptr, v->len - 1));
    cut += cut < len; /* a number needs the byte after it */
    again = fz_copy((const uint8_t *)doc, cut, false);
    fz_assert(jscan_find(p, again, cut, &w) && w.type == v->type && w.len == v->len &&
              w.ptr - again == v->ptr - doc);
    free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *sep = data;
    size_t plen, dlen;
    struct jscan_path p;
    struct jscan_val v;
    char err[160], *path, *doc;

    while (sep < data + size && *sep && *sep != '\n')
        sep++;
    plen = (size_t)(sep - data);
    dlen = size - plen - (plen < size);
    path = fz_copy(data, plen, true);
    doc = fz_copy(data + size - dlen, dlen, false);
    err[0] = 0;
    if (jscan_compile(&p, path, err, sizeof(err))) {
        fz_assert(p.n == 0 && strstr(err, " at offset ") != NULL);
        goto out;
    }
    fz_assert(p.n >= 1 && p.n <= JSCAN_MAX_DEPTH);
    if (jscan_find(&p, doc, dlen, &v))
        fz_check_found(&p, &v, doc, dlen);
    else
        fz_assert(v.type == JSCAN_NONE && !v.ptr && !v.len && !jscan_equals(&v, "", 0));
out:
    free(path);
    free(doc);
    return 0;
}
