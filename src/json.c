/*
 * json.c - streaming JSON writer for results (cold path: runs once at the
 * end of a run). Arrays of numbers (histogram bins) are written inline to
 * keep files readable.
 */
#include "json.h"

#include <math.h>
#include <string.h>

void json_init(struct json *j, FILE *f)
{
    memset(j, 0, sizeof(*j));
    j->f = f;
}

void json_init_compact(struct json *j, FILE *f)
{
    json_init(j, f);
    j->compact = true;
}

static void json_escape(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", f);
        else if (*p == '\t')
            fputs("\\t", f);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

static void json_key(struct json *j, const char *key)
{
    if (j->need_comma[j->depth])
        fputs(j->compact ? ", " : ",", j->f);
    j->need_comma[j->depth] = true;
    if (j->depth && !j->compact) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
    if (key) {
        json_escape(j->f, key);
        fputs(": ", j->f);
    }
}

static void json_open(struct json *j, const char *key, char c)
{
    json_key(j, key);
    fputc(c, j->f);
    if (j->depth + 1 < JSON_MAX_DEPTH)
        j->depth++;
    j->need_comma[j->depth] = false;
}

static void json_close(struct json *j, char c)
{
    bool had = j->need_comma[j->depth];

    if (j->depth)
        j->depth--;
    if (had && !j->compact) {
        fputc('\n', j->f);
        for (int i = 0; i < j->depth; i++)
            fputs("  ", j->f);
    }
    fputc(c, j->f);
}

void json_obj_begin(struct json *j, const char *key)
{
    json_open(j, key, '{');
}

void json_obj_end(struct json *j)
{
    json_close(j, '}');
}

void json_arr_begin(struct json *j, const char *key)
{
    json_open(j, key, '[');
}

void json_arr_end(struct json *j)
{
    json_close(j, ']');
}

void json_str(struct json *j, const char *key, const char *v)
{
    json_key(j, key);
    if (v)
        json_escape(j->f, v);
    else
        fputs("null", j->f);
}

void json_u64(struct json *j, const char *key, uint64_t v)
{
    json_key(j, key);
    fprintf(j->f, "%llu", (unsigned long long)v);
}

void json_i64(struct json *j, const char *key, int64_t v)
{
    json_key(j, key);
    fprintf(j->f, "%lld", (long long)v);
}

void json_dbl(struct json *j, const char *key, double v)
{
    json_key(j, key);
    if (isfinite(v))
        fprintf(j->f, "%.10g", v);
    else
        fputs("null", j->f);
}

void json_bool(struct json *j, const char *key, bool v)
{
    json_key(j, key);
    fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
    json_key(j, key);
    fputs("null", j->f);
}

void json_end(struct json *j)
{
    fputc('\n', j->f);
    fflush(j->f);
}

void json_pair_u64(struct json *j, uint64_t a, uint64_t b)
{
    json_key(j, NULL);
    fprintf(j->f, "[%llu, %llu]", (unsigned long long)a, (unsigned long long)b);
}
