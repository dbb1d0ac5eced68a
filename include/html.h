/*
 * html.h - the self-contained HTML report: one file, the result JSON
 * embedded, plots drawn as inline SVG by inline script; no network fetch.
 */
#ifndef STAMPEDE_HTML_H
#define STAMPEDE_HTML_H

#include <stddef.h>

/* Write the report for this result JSON (a stampede.result/1 object: one
 * run, several scenarios or a merge). 0 or -errno. */
int html_write(const char *path, const char *json, size_t len);

/* stampede report RESULT.json --html OUT.html; returns the exit code.
 * argv[0] is the result file; --html was already taken into `html_path`
 * (NULL when absent). */
int html_cmd_report(int argc, char **argv, const char *html_path);

#endif
