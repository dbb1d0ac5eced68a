/*
 * report_tls.h - the parts of the report about TLS: handshakes (full,
 * resumed, failed by reason), negotiated versions and ciphers, and
 * whether the server's identity was verified.
 */
#ifndef STAMPEDE_REPORT_TLS_H
#define STAMPEDE_REPORT_TLS_H

#include <stdio.h>

#include "engine.h"
#include "json.h"
#include "plan.h"

void report_tls_text(FILE *f, const struct plan *p, const struct result *r);
void report_tls_text_latency(FILE *f, const struct plan *p, const struct result *r);
void report_tls_json_config(struct json *j, const struct plan *p);
void report_tls_json_counters(struct json *j, const struct plan *p, const struct result *r);
void report_tls_json_metrics(struct json *j, const struct plan *p, const struct result *r);

/* The most frequent reason of a table (tls_reasons, tls_err_reasons) as
 * text ("certificate verify failed: ..."), and how often; 0: empty. */
uint64_t report_tls_top_reason(const struct stats_tls_reason *t, char *buf, size_t len);

#endif
