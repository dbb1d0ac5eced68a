/*
 * report.h - render a finished run: the text summary for people and the
 * JSON result (schema stampede.result/1, documented in docs/result-schema.md)
 * for machines. Rendering only reads the merged result.
 */
#ifndef STAMPEDE_REPORT_H
#define STAMPEDE_REPORT_H

#include <stdio.h>

#include "engine.h"
#include "plan.h"

#define REPORT_SCHEMA "stampede.result/1"

void report_text(FILE *f, const struct plan *p, const struct result *r);

/* Write the JSON result to path ("-" = stdout). Returns 0 or -errno. */
int report_json_file(const char *path, const struct plan *p, const struct result *r);

void report_json(FILE *f, const struct plan *p, const struct result *r);

struct json;
struct hist;

/* One duration metric: a text row / a JSON object (shared with report_ws.c). */
void report_text_latency_row(FILE *f, const char *name, const struct hist *h);
void report_json_metric(struct json *j, const char *name, const struct hist *h);

#endif
