/*
 * scen_int.h - shared by the scenario loader's files: scenario.c (the
 * document, keys, --set, cli_parse), scen_exec.c (a scenario's settings,
 * executors, WebSocket steps, thresholds) and scen_flow.c (HTTP steps).
 * Not a public interface.
 */
#ifndef STAMPEDE_SCEN_INT_H
#define STAMPEDE_SCEN_INT_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stdio.h>

#include "scenario.h"

#define SC_MAX_ARGS 512

/* A 1-based file position, or a --set path (line 0). */
struct sc_pos {
    int line, col;
    const char *set;
};

struct sc_args {
    int n;
    char *v[SC_MAX_ARGS];
    struct sc_pos at[SC_MAX_ARGS];
};

struct sc {
    const char *path;
    FILE *err;
    const struct scen_opts *o;
    struct scen_file *sf;
    struct fy_document *doc;
    int nerr;
    bool set_used[SCEN_MAX_SETS];
};

struct sc_val {
    const char *s;          /* NUL-terminated */
    struct fy_node *node;   /* NULL for a --set value */
    struct sc_pos at;
    char setbuf[128];
};

void sc_mark(struct fy_node *n, struct sc_pos *at);
void sc_err(struct sc *c, const struct sc_pos *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sc_err_node(struct sc *c, struct fy_node *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool sc_is(struct fy_node *n, enum fy_node_type t);
const char *sc_str(struct sc *c, struct fy_node *n, const char *what);
bool sc_get(struct sc *c, struct fy_node *map, const char *prefix, const char *key,
            struct sc_val *v);
bool sc_keys(struct sc *c, struct fy_node *map, const char *what, const char *const *keys);
void sc_arg(struct sc_args *a, const char *flag, const char *val, const struct sc_pos *at);
void sc_options(struct sc *c, struct fy_node *map, struct sc_args *a);
void sc_headers(struct sc *c, struct fy_node *map, struct sc_args *a);
/* 0 ok, 1 validate-only and the host did not resolve, -1 error given */
int sc_build_plan(struct sc *c, struct sc_args *a, const char *url, const struct sc_pos *url_at,
                  struct plan *p);

/* scen_exec.c */
void sc_scenario(struct sc *c, struct fy_node *root, struct fy_node *key, struct fy_node *map);
void sc_thresholds(struct sc *c, struct fy_node *root);
void sc_check_threshold_metrics(struct sc *c);

/* scen_flow.c: HTTP steps -> s->flow; the plan is built already */
int sc_flow(struct sc *c, struct scenario *s, struct fy_node *steps, struct fy_node *data,
            const char *prefix);
/* WebSocket steps -> plan arguments (before the plan is built) */
int sc_ws_steps(struct sc *c, struct fy_node *steps, struct sc_args *a, char *path, size_t plen,
                char *metric, size_t mlen);

/* ws_connect's path template -> s->plan.ws_path_tmpl; 0 or -1 (error given) */
int sc_ws_path(struct sc *c, struct scenario *s, const char *path, const struct sc_pos *at);

/* A name for a scenario, step or metric tag: letters, digits, '_', '-'. */
bool sc_name_ok(const char *s);

/* A duration ("200ms", "1.5s", "2m"), in ns; false if malformed. */
bool sc_duration(const char *s, uint64_t *ns);

#endif
