/*
 * jscan.h - find one value in a JSON document by path, without a tree.
 *
 * Used on the hot path to capture values from HTTP response bodies and to
 * check fields (`capture: token: json(cart.id)`, `check: json(ok) == true`).
 * A path is compiled once at start-up; jscan_find then walks the body once,
 * left to right, with no allocation and no recursion, and hands back a
 * pointer into the caller's buffer. Nothing is decoded: a string comes back
 * as the raw bytes between its quotes, escapes included.
 *
 * Path syntax: `token`, `cart.id`, `items[0].sku`, `[2]`, `a.b[10].c`. A
 * key is one or more of any byte but '.', '[' and NUL (no escapes: a key
 * with a '.' cannot be named); `[N]` is a decimal array index. At most
 * JSCAN_MAX_DEPTH segments.
 *
 * Documents: RFC 8259 grammar and whitespace, checked up to the value found
 * (and through the members skipped on the way), not after it; strings are
 * not checked for valid UTF-8. A value skipped or returned that nests
 * non-empty containers more than JSCAN_MAX_NEST deep counts as malformed.
 */
#ifndef STAMPEDE_JSCAN_H
#define STAMPEDE_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JSCAN_MAX_DEPTH 16 /* path segments */
#define JSCAN_MAX_NEST 256 /* container nesting in a document */

struct jscan_seg {
    const char *key; /* into the source of jscan_compile; NULL for an index */
    uint32_t key_len;
    int32_t index; /* -1: a key */
};

struct jscan_path {
    uint8_t n;
    struct jscan_seg seg[JSCAN_MAX_DEPTH];
};

/* Compile the NUL-terminated src into p. src must stay alive as long as p
 * (keys point into it). Returns 0, or -1 with a NUL-terminated message in
 * err[0..errlen) that names the byte offset: "empty key at offset 2". */
int jscan_compile(struct jscan_path *p, const char *src, char *err, size_t errlen);

enum jscan_type {
    JSCAN_NONE,
    JSCAN_STRING,
    JSCAN_NUMBER,
    JSCAN_TRUE,
    JSCAN_FALSE,
    JSCAN_NULL,
    JSCAN_OBJECT,
    JSCAN_ARRAY,
};

/* A value inside the caller's document. */
struct jscan_val {
    enum jscan_type type;
    const char *ptr; /* string: the raw content between the quotes; other
                      * scalars: the literal; object/array: brackets included */
    size_t len;
};

/* Find the value at path p in json[0..len). Returns true with *out filled
 * (out->ptr + out->len <= json + len) when the path leads to a complete
 * value in a well-formed prefix of the document; false (out->type
 * JSCAN_NONE) when a key is absent, an index is out of range, a segment
 * meets the wrong type, or the document is malformed or cut short before
 * the value ends. A number must be followed by some byte, so a cut "12"
 * of "123" is never returned. Object members are compared byte for byte
 * with the path key, escapes undecoded; the first of duplicate keys wins.
 * Linear in len; reads nothing outside json[0..len). */
bool jscan_find(const struct jscan_path *p, const char *json, size_t len, struct jscan_val *out);

/* Is v's text want[0..want_len)? A string compares its raw content, a
 * number, true, false or null its literal, so "42" matches both 42 and
 * "42". Objects, arrays and JSCAN_NONE never match. */
bool jscan_equals(const struct jscan_val *v, const char *want, size_t want_len);

#endif
