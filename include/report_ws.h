/*
 * report_ws.h - report sections for WebSocket, sessions and capacity.
 */
#ifndef STAMPEDE_REPORT_WS_H
#define STAMPEDE_REPORT_WS_H

#include <stdio.h>

#include "engine.h"
#include "json.h"
#include "plan.h"
#include "report.h"

void report_ws_text(FILE *f, const struct plan *p, const struct result *r);
void report_ws_text_latency(FILE *f, const struct plan *p, const struct result *r);
void report_ws_json_config(struct json *j, const struct plan *p);
void report_ws_json_counters(struct json *j, const struct result *r);
void report_ws_json_capacity(struct json *j, const struct plan *p, const struct result *r);
void report_ws_json_metrics(struct json *j, const struct plan *p, const struct result *r);

#endif
