/*
 * report_flow.h - scenario sections of the report: flow steps, checks and
 * iterations, and the threshold verdicts (text and JSON).
 */
#ifndef STAMPEDE_REPORT_FLOW_H
#define STAMPEDE_REPORT_FLOW_H

#include <stdio.h>

#include "engine.h"
#include "plan.h"
#include "thresh.h"

struct json;

void report_flow_text_latency(FILE *f, const struct plan *p, const struct result *r);
void report_flow_text(FILE *f, const struct plan *p, const struct result *r);
void report_flow_json_metrics(struct json *j, const struct plan *p, const struct result *r);
void report_flow_json(struct json *j, const struct plan *p, const struct result *r);

void report_thresholds_text(FILE *f, const struct thr *t, uint32_t n);
void report_thresholds_json(struct json *j, const struct thr *t, uint32_t n);

#endif
