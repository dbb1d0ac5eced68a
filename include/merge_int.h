/*
 * merge_int.h - internals shared by merge.c (loading, checks, verdict) and
 * merge_emit.c (the merged JSON, written key by key in the first input's
 * order). Not a public API.
 *
 * A "level" is one result object: the whole file for a single run, or one
 * scenario of a multi-scenario file. Each level holds the n input nodes and
 * the merged histograms (the one piece computed before writing: thresholds
 * are judged on them and the top-level exit_code depends on that verdict).
 */
#ifndef STAMPEDE_MERGE_INT_H
#define STAMPEDE_MERGE_INT_H

#include <libfyaml.h>
#include <stdbool.h>
#include <stdint.h>

#include "hist.h"
#include "json.h"
#include "thresh.h"

#define MERGE_MAX_IN 256       /* input files */
#define MERGE_MAX_METRICS 128  /* duration metrics per result */
#define MERGE_MAX_LEVELS 64    /* scenarios */
#define MERGE_MAX_THR 128

struct merge_level {
    const char *name;                  /* scenario name; NULL for a single run */
    struct fy_node *r[MERGE_MAX_IN];   /* the inputs' result objects */
    uint32_t nmet;
    char met_name[MERGE_MAX_METRICS][128];
    struct hist *met[MERGE_MAX_METRICS]; /* merged, owned */
    double duration_s;                 /* max of the inputs' */
    int exit_code;                     /* worst of the inputs' (thresholds aside) */
};

struct merge {
    const char **path;                 /* file names, as given */
    uint32_t n;
    struct fy_document *doc[MERGE_MAX_IN];
    struct fy_node *root[MERGE_MAX_IN];
    bool multi;                        /* {"scenarios": {...}} files */
    struct merge_level *lv;            /* 1, or one per scenario */
    uint32_t nlv;
    struct thr thr[MERGE_MAX_THR];
    uint32_t nthr, failed;
    int exit_code;                     /* the merged verdict (written in the JSON) */
};

/* ---- node helpers (merge_emit.c) ---- */

/* Child by exact key (which may hold '/'), NULL if missing. */
struct fy_node *merge_key(struct fy_node *n, const char *key);
/* Child at "a/b/c" (mapping keys), NULL if any step is missing. */
struct fy_node *merge_at(struct fy_node *n, const char *path);
/* A scalar's number; false (and *v = 0) if absent or not a number. */
bool merge_u64(struct fy_node *n, const char *path, uint64_t *v);
double merge_dbl(struct fy_node *n, const char *path);
/* A scalar's text or NULL. */
const char *merge_str(struct fy_node *n, const char *path);
/* Sum of a path over the level's inputs; of every value of a mapping. */
uint64_t merge_sum(const struct merge *m, const struct merge_level *lv, const char *path);
uint64_t merge_sum_map(const struct merge *m, const struct merge_level *lv, const char *path);

/* The merged result as metrics.c would flatten a run of it (merge_metrics.c). */
struct metric_set;
int merge_metric_set(const struct merge *m, struct metric_set *ms);

/* Write one level's merged result object under key (NULL: top). */
void merge_emit_level(struct json *j, const char *key, const struct merge *m,
                      const struct merge_level *lv, bool top);

#endif
