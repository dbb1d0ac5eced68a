/*
 * html.c - the HTML report: one self-contained file, the result JSON
 * embedded, plots drawn as inline SVG by the page's own script.
 *
 * The page is src/report.html, embedded at build time as `html_template`
 * (a Makefile rule turns it into a C string). The JSON goes in place of the
 * marker line, inside <script type="application/json">. The only thing that
 * could end that element early is "</script" (or "<!--" confusing the
 * tokenizer) in a string of the data, so every '<' is written as the JSON
 * escape \u003c: the data parses to the same value and the HTML tokenizer
 * never sees a '<' in it. JSON has no '<' outside strings, so this is exact.
 */
#include "html.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

/* generated from src/report.html by the Makefile */
extern const char html_template[];

#define HTML_MARKER "@@STAMPEDE_RESULT_JSON@@"
#define HTML_SCHEMA "stampede.result/1"

/* the JSON with every '<' as \u003c. 0 or -EIO */
static int html_put_json(FILE *f, const char *json, size_t len)
{
    const char *p = json, *end = json + len, *lt;

    while (p < end) {
        lt = memchr(p, '<', (size_t)(end - p));
        if (!lt) {
            fwrite(p, 1, (size_t)(end - p), f);
            break;
        }
        fwrite(p, 1, (size_t)(lt - p), f);
        fputs("\\u003c", f);
        p = lt + 1;
    }
    return ferror(f) ? -EIO : 0;
}

int html_write(const char *path, const char *json, size_t len)
{
    const char *mark = strstr(html_template, HTML_MARKER);
    FILE *f;
    int err = 0;

    if (!mark)
        return -EINVAL; /* a template without the marker: a build bug */
    f = strcmp(path, "-") ? fopen(path, "w") : stdout;
    if (!f)
        return -errno;
    fwrite(html_template, 1, (size_t)(mark - html_template), f);
    err = html_put_json(f, json, len);
    fputs(mark + strlen(HTML_MARKER), f);
    if (ferror(f) && !err)
        err = -EIO;
    if (f != stdout && fclose(f) && !err)
        err = -errno;
    return err;
}

/* the whole file into a NUL-terminated heap buffer. 0 or -errno */
static int html_slurp(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "r");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    int err = 0;

    if (!f)
        return -errno;
    do {
        if (cap - n < 65536) {
            char *nb = realloc(buf, cap = cap ? cap * 2 : 65536 * 2);
            if (!nb) {
                err = -ENOMEM;
                goto out;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
    } while (got > 0);
    if (ferror(f))
        err = -EIO;
out:
    fclose(f);
    if (err) {
        free(buf);
        return err;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

/* a JSON object whose "schema" is stampede.result/1 */
static bool html_is_result(const char *json, size_t len)
{
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET | FYPCF_JSON_FORCE};
    struct fy_document *d = fy_document_build_from_string(&cfg, json, len);
    struct fy_node *root, *schema;
    const char *s;
    bool ok = false;

    if (!d)
        return false;
    root = fy_document_root(d);
    if (root && fy_node_get_type(root) == FYNT_MAPPING) {
        schema = fy_node_mapping_lookup_by_string(root, "schema", FY_NT);
        s = schema ? fy_node_get_scalar0(schema) : NULL;
        ok = s && !strcmp(s, HTML_SCHEMA);
    }
    fy_document_destroy(d);
    return ok;
}

static int html_usage(const char *why)
{
    fprintf(stderr, "stampede: report: %s\n"
                    "usage: stampede report RESULT.json --html OUT.html\n", why);
    return 2;
}

int html_cmd_report(int argc, char **argv, const char *html_path)
{
    char *json = NULL;
    size_t len = 0;
    int err;

    if (argc < 1)
        return html_usage("no result file given");
    if (argc > 1)
        return html_usage("one result file only");
    if (argv[0][0] == '-' && argv[0][1])
        return html_usage("unknown option");
    if (!html_path)
        return html_usage("--html OUT.html is required");
    err = html_slurp(argv[0], &json, &len);
    if (err) {
        fprintf(stderr, "stampede: report: cannot read %s: %s\n", argv[0], strerror(-err));
        return 2;
    }
    if (!html_is_result(json, len)) {
        fprintf(stderr, "stampede: report: %s is not a stampede result "
                        "(a JSON object with \"schema\": \"" HTML_SCHEMA "\")\n", argv[0]);
        free(json);
        return 2;
    }
    err = html_write(html_path, json, len);
    free(json);
    if (err) {
        fprintf(stderr, "stampede: report: cannot write %s: %s\n", html_path, strerror(-err));
        return 1;
    }
    return 0;
}
