/*
 * json.h - a small streaming JSON writer (no tree, no allocation).
 *
 * Keys and strings are escaped; doubles that are not finite are written as
 * null. Nesting is tracked so commas come out right; depth is bounded by
 * JSON_MAX_DEPTH. Output is indented two spaces per level.
 */
#ifndef STAMPEDE_JSON_H
#define STAMPEDE_JSON_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
    FILE *f;
    int depth;
    bool need_comma[JSON_MAX_DEPTH];
    bool compact;       /* one line, no indentation (NDJSON) */
};

void json_init(struct json *j, FILE *f);
/* Same, everything on one line: an NDJSON record (json_end adds the '\n'). */
void json_init_compact(struct json *j, FILE *f);
/* key may be NULL inside arrays */
void json_obj_begin(struct json *j, const char *key);
void json_obj_end(struct json *j);
void json_arr_begin(struct json *j, const char *key);
void json_arr_end(struct json *j);
void json_str(struct json *j, const char *key, const char *v);
void json_u64(struct json *j, const char *key, uint64_t v);
void json_i64(struct json *j, const char *key, int64_t v);
void json_dbl(struct json *j, const char *key, double v);
void json_bool(struct json *j, const char *key, bool v);
void json_null(struct json *j, const char *key);
/* an array element [a, b] on one line (histogram bins) */
void json_pair_u64(struct json *j, uint64_t a, uint64_t b);
/* finish the document with a newline */
void json_end(struct json *j);

#endif
