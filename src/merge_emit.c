/*
 * merge_emit.c - write the merged result, key by key in the first input's
 * order (keys only some inputs have follow, in order of appearance).
 *
 * Each key has a rule: copy the first input's value (schema, provenance,
 * most of config), sum (counters, flow, time series counts), max (duration,
 * the time series' per-interval percentiles: an upper bound), or recompute
 * from merged values (rates, per-request CPU, percentiles from the merged
 * histogram through report_json_metric, so a merged metric reads exactly
 * like a run's). Every reader tolerates a malformed input: a missing or
 * mistyped node counts as absent, never as a crash.
 */
#include "merge_int.h"

#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "report_flow.h"

enum merge_agg {
    AGG_FIRST,
    AGG_SUM,
    AGG_MAX,
};

#define MERGE_MAX_DEPTH 12

/* ---- reading ------------------------------------------------------------------------ */

static const char *node_text(struct fy_node *n)
{
    return n && fy_node_get_type(n) == FYNT_SCALAR ? fy_node_get_scalar0(n) : NULL;
}

/* Mapping lookup by exact key text (keys may hold ':' or spaces). */
static struct fy_node *node_get(struct fy_node *n, const char *key, size_t len)
{
    struct fy_node_pair *p;
    void *it = NULL;

    if (!n || fy_node_get_type(n) != FYNT_MAPPING)
        return NULL;
    while ((p = fy_node_mapping_iterate(n, &it))) {
        const char *k = node_text(fy_node_pair_key(p));

        if (k && strlen(k) == len && !memcmp(k, key, len))
            return fy_node_pair_value(p);
    }
    return NULL;
}

struct fy_node *merge_key(struct fy_node *n, const char *key)
{
    return key ? node_get(n, key, strlen(key)) : NULL;
}

struct fy_node *merge_at(struct fy_node *n, const char *path)
{
    while (n && *path) {
        const char *sl = strchr(path, '/');
        size_t len = sl ? (size_t)(sl - path) : strlen(path);

        n = node_get(n, path, len);
        path += len + (sl != NULL);
    }
    return n;
}

static bool node_quoted(struct fy_node *n)
{
    return fy_node_get_style(n) == FYNS_DOUBLE_QUOTED || fy_node_get_style(n) == FYNS_SINGLE_QUOTED;
}

/* A plain scalar that reads as a JSON number; *is_int without '.', 'e'. */
static bool node_num(struct fy_node *n, double *v, bool *is_int)
{
    const char *s = node_text(n);
    char *end;

    if (!s || node_quoted(n) || !(*s == '-' || (*s >= '0' && *s <= '9')))
        return false;
    *v = strtod(s, &end);
    if (*end)
        return false;
    *is_int = !strpbrk(s, ".eE");
    return true;
}

bool merge_u64(struct fy_node *n, const char *path, uint64_t *v)
{
    const char *s;
    char *end;

    n = merge_at(n, path);
    s = node_text(n);
    *v = 0;
    if (!s || node_quoted(n) || *s < '0' || *s > '9')
        return false;
    *v = strtoull(s, &end, 10);
    if (*end)
        *v = 0;
    return !*end;
}

double merge_dbl(struct fy_node *n, const char *path)
{
    double v = 0;
    bool is_int;

    return node_num(merge_at(n, path), &v, &is_int) ? v : 0;
}

const char *merge_str(struct fy_node *n, const char *path)
{
    return node_text(merge_at(n, path));
}

uint64_t merge_sum(const struct merge *m, const struct merge_level *lv, const char *path)
{
    uint64_t sum = 0, v;

    for (uint32_t i = 0; i < m->n; i++)
        if (merge_u64(lv->r[i], path, &v))
            sum += v;
    return sum;
}

uint64_t merge_sum_map(const struct merge *m, const struct merge_level *lv, const char *path)
{
    uint64_t sum = 0, v;

    for (uint32_t i = 0; i < m->n; i++) {
        struct fy_node *map = merge_at(lv->r[i], path);
        struct fy_node_pair *p;
        void *it = NULL;

        if (!map || fy_node_get_type(map) != FYNT_MAPPING)
            continue;
        while ((p = fy_node_mapping_iterate(map, &it)))
            if (merge_u64(fy_node_pair_value(p), "", &v))
                sum += v;
    }
    return sum;
}

/* ---- copying and aggregating ------------------------------------------------------- */

static void emit_scalar(struct json *j, const char *key, struct fy_node *n)
{
    const char *s = node_text(n);
    double v;
    bool is_int;

    if (!s)
        json_null(j, key);
    else if (node_quoted(n))
        json_str(j, key, s);
    else if (!strcmp(s, "true") || !strcmp(s, "false"))
        json_bool(j, key, s[0] == 't');
    else if (!strcmp(s, "null"))
        json_null(j, key);
    else if (!node_num(n, &v, &is_int))
        json_str(j, key, s);
    else if (is_int && *s == '-')
        json_i64(j, key, strtoll(s, NULL, 10));
    else if (is_int)
        json_u64(j, key, strtoull(s, NULL, 10));
    else
        json_dbl(j, key, v);
}

static void emit_copy(struct json *j, const char *key, struct fy_node *n, int depth)
{
    struct fy_node_pair *p;
    struct fy_node *e;
    void *it = NULL;

    if (!n || depth > MERGE_MAX_DEPTH || fy_node_get_type(n) == FYNT_SCALAR) {
        emit_scalar(j, key, depth > MERGE_MAX_DEPTH ? NULL : n);
    } else if (fy_node_get_type(n) == FYNT_MAPPING) {
        json_obj_begin(j, key);
        while ((p = fy_node_mapping_iterate(n, &it)))
            if (node_text(fy_node_pair_key(p)))
                emit_copy(j, node_text(fy_node_pair_key(p)), fy_node_pair_value(p), depth + 1);
        json_obj_end(j);
    } else {
        json_arr_begin(j, key);
        while ((e = fy_node_sequence_iterate(n, &it)))
            emit_copy(j, NULL, e, depth + 1);
        json_arr_end(j);
    }
}

static struct fy_node *first_of(struct fy_node **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (v[i])
            return v[i];
    return NULL;
}

/* Numbers summed or maxed (integers stay integers); booleans OR'ed;
 * anything else: the first input's. */
static void agg_scalar(struct json *j, const char *key, struct fy_node **v, uint32_t n, int agg)
{
    uint64_t usum = 0, umax = 0;
    double dsum = 0, dmax = 0;
    bool all_int = true, any = false, is_int, t = false, all_bool = true;

    for (uint32_t i = 0; i < n; i++) {
        const char *s = node_text(v[i]);
        double d;

        if (!s)
            continue;
        all_bool &= !node_quoted(v[i]) && (!strcmp(s, "true") || !strcmp(s, "false"));
        t |= !strcmp(s, "true");
        if (!node_num(v[i], &d, &is_int))
            continue;
        all_int &= is_int && d >= 0;
        dsum += d;
        dmax = !any || d > dmax ? d : dmax;
        usum += is_int && d >= 0 ? strtoull(s, NULL, 10) : 0;
        umax = is_int && d >= 0 && strtoull(s, NULL, 10) > umax ? strtoull(s, NULL, 10) : umax;
        any = true;
    }
    if (all_bool && node_text(first_of(v, n)))
        json_bool(j, key, t);
    else if (!any || agg == AGG_FIRST)
        emit_scalar(j, key, first_of(v, n));
    else if (all_int)
        json_u64(j, key, agg == AGG_SUM ? usum : umax);
    else
        json_dbl(j, key, agg == AGG_SUM ? dsum : dmax);
}

static void emit_agg(struct json *j, const char *key, struct fy_node **v, uint32_t n, int agg,
                     int depth);

/* Per-key rules inside summed sections: the time series' position, phase
 * and per-interval percentiles (max: an upper bound of the merge's). */
static int child_agg(const char *key, int agg)
{
    static const char *const first[] = {"t_s", "phase", "name", NULL};
    static const char *const max[] = {"p50_us", "p90_us", "p99_us", "max_us",
                                      "send_lag_p99_us", NULL};

    for (const char *const *k = first; *k; k++)
        if (!strcmp(*k, key))
            return AGG_FIRST;
    for (const char *const *k = max; *k; k++)
        if (!strcmp(*k, key))
            return agg == AGG_SUM ? AGG_MAX : agg;
    return agg;
}

static bool has_key(struct fy_node *n, const char *key)
{
    return node_get(n, key, strlen(key)) != NULL;
}

/* Mappings: the union of keys, each merged across the inputs. */
static void agg_map(struct json *j, const char *key, struct fy_node **v, uint32_t n, int agg,
                    int depth)
{
    struct fy_node *c[MERGE_MAX_IN];

    json_obj_begin(j, key);
    for (uint32_t i = 0; i < n; i++) {
        struct fy_node_pair *p;
        void *it = NULL;

        if (!v[i] || fy_node_get_type(v[i]) != FYNT_MAPPING)
            continue;
        while ((p = fy_node_mapping_iterate(v[i], &it))) {
            const char *k = node_text(fy_node_pair_key(p));
            bool seen = false;

            for (uint32_t e = 0; k && e < i && !seen; e++)
                seen = has_key(v[e], k);
            if (!k || seen)
                continue;
            for (uint32_t e = 0; e < n; e++)
                c[e] = node_get(v[e], k, strlen(k));
            emit_agg(j, k, c, n, child_agg(k, agg), depth + 1);
        }
    }
    json_obj_end(j);
}

/* An array element's identity: its "name", or its scalar fields but
 * "count" ({version, cipher, count}), or the scalar itself. */
static void elem_id(struct fy_node *e, char *buf, size_t len)
{
    struct fy_node_pair *p;
    void *it = NULL;
    size_t o = 0;

    buf[0] = 0;
    if (fy_node_get_type(e) == FYNT_SCALAR) {
        snprintf(buf, len, "%s", node_text(e));
        return;
    }
    if (fy_node_get_type(e) != FYNT_MAPPING)
        return;
    if (merge_str(e, "name")) {
        snprintf(buf, len, "%s", merge_str(e, "name"));
        return;
    }
    while ((p = fy_node_mapping_iterate(e, &it)) && o + 1 < len) {
        const char *k = node_text(fy_node_pair_key(p)), *s = node_text(fy_node_pair_value(p));

        if (k && s && strcmp(k, "count"))
            o += (size_t)snprintf(buf + o, len - o, "%s=%s\x1f", k, s) ;
    }
}

static struct fy_node *seq_find(struct fy_node *seq, const char *id)
{
    struct fy_node *e;
    void *it = NULL;
    char buf[512];

    if (!seq || fy_node_get_type(seq) != FYNT_SEQUENCE)
        return NULL;
    while ((e = fy_node_sequence_iterate(seq, &it))) {
        elem_id(e, buf, sizeof(buf));
        if (!strcmp(buf, id))
            return e;
    }
    return NULL;
}

/* Arrays: the union of elements by identity, equal ones merged (flow
 * steps and checks by name, TLS negotiations by version and cipher). */
static void agg_seq(struct json *j, const char *key, struct fy_node **v, uint32_t n, int agg,
                    int depth)
{
    struct fy_node *c[MERGE_MAX_IN], *e;
    char id[512];

    json_arr_begin(j, key);
    for (uint32_t i = 0; i < n; i++) {
        void *it = NULL;

        if (!v[i] || fy_node_get_type(v[i]) != FYNT_SEQUENCE)
            continue;
        while ((e = fy_node_sequence_iterate(v[i], &it))) {
            bool seen = false;

            elem_id(e, id, sizeof(id));
            for (uint32_t k = 0; k < i && !seen; k++)
                seen = seq_find(v[k], id) != NULL;
            if (seen || seq_find(v[i], id) != e)
                continue;
            for (uint32_t k = 0; k < n; k++)
                c[k] = k < i ? NULL : k == i ? e : seq_find(v[k], id);
            emit_agg(j, NULL, c, n, agg, depth + 1);
        }
    }
    json_arr_end(j);
}

static void emit_agg(struct json *j, const char *key, struct fy_node **v, uint32_t n, int agg,
                     int depth)
{
    struct fy_node *f = first_of(v, n);

    if (!f || depth > MERGE_MAX_DEPTH || agg == AGG_FIRST)
        emit_copy(j, key, f, depth);
    else if (fy_node_get_type(f) == FYNT_MAPPING)
        agg_map(j, key, v, n, agg, depth);
    else if (fy_node_get_type(f) == FYNT_SEQUENCE)
        agg_seq(j, key, v, n, agg, depth);
    else
        agg_scalar(j, key, v, n, agg);
}

static void emit_path(struct json *j, const char *key, const struct merge *m,
                      const struct merge_level *lv, const char *path, int agg)
{
    struct fy_node *c[MERGE_MAX_IN];

    for (uint32_t i = 0; i < m->n; i++)
        c[i] = merge_at(lv->r[i], path);
    emit_agg(j, key, c, m->n, agg, 2);
}

/* ---- sections ----------------------------------------------------------------------- */

static double per_s(uint64_t v, double s)
{
    return s > 0 ? (double)v / s : 0;
}

static void emit_rates(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    uint64_t err = merge_sum_map(m, lv, "counters/errors");
    uint64_t bad = err + merge_sum(m, lv, "counters/status/4xx") +
                   merge_sum(m, lv, "counters/status/5xx");
    uint64_t done = merge_sum(m, lv, "counters/responses") + err;
    double d = lv->duration_s;

    json_obj_begin(j, "rates");
    json_dbl(j, "http_req_failed", done ? (double)bad / (double)done : 0);
    json_dbl(j, "requests_per_s", per_s(merge_sum(m, lv, "counters/requests"), d));
    json_dbl(j, "responses_per_s", per_s(merge_sum(m, lv, "counters/responses"), d));
    json_dbl(j, "bytes_in_per_s", per_s(merge_sum(m, lv, "counters/bytes_in"), d));
    json_dbl(j, "bytes_out_per_s", per_s(merge_sum(m, lv, "counters/bytes_out"), d));
    json_obj_end(j);
}

static void emit_strings(struct json *j, const struct merge *m, const struct merge_level *lv,
                         const char *path, bool dbl, bool prefix)
{
    char buf[1024];

    for (uint32_t i = 0; i < m->n; i++) {
        struct fy_node *s = merge_at(lv->r[i], path), *e;
        void *it = NULL;

        while (s && fy_node_get_type(s) == FYNT_SEQUENCE && (e = fy_node_sequence_iterate(s, &it))) {
            if (dbl) {
                emit_scalar(j, NULL, e);
                continue;
            }
            snprintf(buf, sizeof(buf), "%s%s%s", prefix ? m->path[i] : "", prefix ? ": " : "",
                     node_text(e) ? node_text(e) : "?");
            json_str(j, NULL, buf);
        }
    }
}

static void emit_generator(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    bool sat = false;
    double user = 0, sys = 0;
    uint64_t reqs = merge_sum(m, lv, "counters/requests");

    for (uint32_t i = 0; i < m->n; i++) {
        const char *v = merge_str(lv->r[i], "generator/verdict");

        sat |= v && !strcmp(v, "saturated");
        user += merge_dbl(lv->r[i], "generator/cpu_user_s");
        sys += merge_dbl(lv->r[i], "generator/cpu_sys_s");
    }
    json_obj_begin(j, "generator");
    json_str(j, "verdict", sat ? "saturated" : "ok");
    json_arr_begin(j, "reasons");
    emit_strings(j, m, lv, "generator/reasons", false, m->n > 1); /* "FILE: reason" */
    json_arr_end(j);
    json_arr_begin(j, "cpu");
    emit_strings(j, m, lv, "generator/cpu", true, false);
    json_arr_end(j);
    json_dbl(j, "cpu_user_s", user);
    json_dbl(j, "cpu_sys_s", sys);
    json_dbl(j, "cpu_us_per_request", reqs ? (user + sys) * 1e6 / (double)reqs : 0);
    json_obj_end(j);
}

static double per_conn(uint64_t peak, uint64_t base, uint64_t conns)
{
    return conns && peak > base ? (double)(peak - base) / (double)conns : 0;
}

/* Summed: each shard's peak is its own, so peak_established is an upper
 * bound of the simultaneous peak (as it already is across workers). */
static void emit_capacity(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    uint64_t peak = merge_sum(m, lv, "capacity/peak_established"), pk;
    double slab = 0, full = 0;
    bool never = false;

    for (uint32_t i = 0; i < m->n; i++) {
        double t = merge_dbl(lv->r[i], "capacity/time_to_all_s");

        merge_u64(lv->r[i], "capacity/peak_established", &pk);
        slab += merge_dbl(lv->r[i], "capacity/kernel_slab_bytes_per_conn") * (double)pk;
        never |= t <= 0;
        full = t > full ? t : full;
    }
    json_obj_begin(j, "capacity");
    json_u64(j, "requested", merge_sum(m, lv, "capacity/requested"));
    json_u64(j, "peak_established", peak);
    json_dbl(j, "time_to_all_s", never ? 0 : full);
    json_u64(j, "rss_start_bytes", merge_sum(m, lv, "capacity/rss_start_bytes"));
    json_u64(j, "rss_peak_bytes", merge_sum(m, lv, "capacity/rss_peak_bytes"));
    json_dbl(j, "user_bytes_per_conn", per_conn(merge_sum(m, lv, "capacity/rss_peak_bytes"),
                                                merge_sum(m, lv, "capacity/rss_start_bytes"),
                                                peak));
    json_dbl(j, "kernel_slab_bytes_per_conn", peak ? slab / (double)peak : 0);
    json_u64(j, "syn_retransmits", merge_sum(m, lv, "capacity/syn_retransmits"));
    json_u64(j, "ws_contexts", merge_sum(m, lv, "capacity/ws_contexts"));
    json_dbl(j, "sessions_per_s", per_s(merge_sum(m, lv, "counters/sessions"), lv->duration_s));
    json_obj_end(j);
}

/* The sliced fields add up (each shard reports its slice); the rest is
 * the first input's. shard is dropped: the merge is the whole load. */
static int config_agg(const char *key)
{
    static const char *const sum[] = {"connections", "threads", "requests", "rate_per_s",
                                      "stages_start", "max_connections", "connect_rate_per_s",
                                      "sessions", NULL};

    for (const char *const *k = sum; *k; k++)
        if (!strcmp(*k, key))
            return AGG_SUM;
    return AGG_FIRST;
}

static void emit_stages(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    struct fy_node *c[MERGE_MAX_IN], *st = merge_at(lv->r[0], "config/stages"), *e;
    void *it = NULL;
    int idx = 0;

    json_arr_begin(j, "stages");
    while (st && fy_node_get_type(st) == FYNT_SEQUENCE && (e = fy_node_sequence_iterate(st, &it))) {
        for (uint32_t i = 0; i < m->n; i++) {
            struct fy_node *s = merge_at(lv->r[i], "config/stages");

            c[i] = s && fy_node_get_type(s) == FYNT_SEQUENCE
                       ? fy_node_sequence_get_by_index(s, idx) : NULL;
        }
        json_obj_begin(j, NULL);
        emit_copy(j, "duration_s", merge_at(e, "duration_s"), 3);
        for (uint32_t i = 0; i < m->n; i++)
            c[i] = merge_at(c[i], "target");
        emit_agg(j, "target", c, m->n, AGG_SUM, 3);
        json_obj_end(j);
        idx++;
    }
    json_arr_end(j);
}

static void emit_config(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    struct fy_node *cfg = merge_at(lv->r[0], "config");
    struct fy_node_pair *p;
    void *it = NULL;
    char path[160];

    json_obj_begin(j, "config");
    while (cfg && fy_node_get_type(cfg) == FYNT_MAPPING && (p = fy_node_mapping_iterate(cfg, &it))) {
        const char *k = node_text(fy_node_pair_key(p));

        if (!k || !strcmp(k, "shard"))
            continue;
        if (!strcmp(k, "stages")) {
            emit_stages(j, m, lv);
            continue;
        }
        snprintf(path, sizeof(path), "config/%s", k);
        emit_path(j, k, m, lv, path, config_agg(k));
    }
    json_obj_end(j);
}

static void emit_metrics(struct json *j, const struct merge_level *lv)
{
    json_obj_begin(j, "metrics");
    for (uint32_t i = 0; i < lv->nmet; i++)
        report_json_metric(j, lv->met_name[i], lv->met[i]);
    json_obj_end(j);
}

static void emit_flow(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    struct fy_node *flow = merge_at(lv->r[0], "flow");
    struct fy_node_pair *p;
    uint64_t pass = 0, fail = 0, v;
    void *it = NULL;
    char path[160];

    for (uint32_t i = 0; i < m->n; i++) {
        struct fy_node *ck = merge_at(lv->r[i], "flow/checks"), *e;
        void *ci = NULL;

        while (ck && fy_node_get_type(ck) == FYNT_SEQUENCE && (e = fy_node_sequence_iterate(ck, &ci))) {
            pass += merge_u64(e, "passes", &v) ? v : 0;
            fail += merge_u64(e, "fails", &v) ? v : 0;
        }
    }
    json_obj_begin(j, "flow");
    while (flow && fy_node_get_type(flow) == FYNT_MAPPING && (p = fy_node_mapping_iterate(flow, &it))) {
        const char *k = node_text(fy_node_pair_key(p));

        if (k && !strcmp(k, "checks_rate")) {
            json_dbl(j, k, pass + fail ? (double)pass / (double)(pass + fail) : 0);
        } else if (k) {
            snprintf(path, sizeof(path), "flow/%s", k);
            emit_path(j, k, m, lv, path, AGG_SUM);
        }
    }
    json_obj_end(j);
}

/* Intervals aligned by index: shards started together. One cursor per
 * input (libfyaml's by-index access walks the list: quadratic). */
static void emit_series(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    struct fy_node *c[MERGE_MAX_IN], *seq[MERGE_MAX_IN];
    void *it[MERGE_MAX_IN] = {NULL};
    bool more = true;

    for (uint32_t i = 0; i < m->n; i++) {
        seq[i] = merge_at(lv->r[i], "timeseries");
        if (seq[i] && fy_node_get_type(seq[i]) != FYNT_SEQUENCE)
            seq[i] = NULL;
    }
    json_arr_begin(j, "timeseries");
    while (more) {
        more = false;
        for (uint32_t i = 0; i < m->n; i++) {
            c[i] = seq[i] ? fy_node_sequence_iterate(seq[i], &it[i]) : NULL;
            if (!c[i])
                seq[i] = NULL; /* exhausted: the iterator must not restart */
            more |= c[i] != NULL;
        }
        if (more)
            emit_agg(j, NULL, c, m->n, AGG_SUM, 2);
    }
    json_arr_end(j);
}

static void emit_reason(struct json *j, const struct merge *m, const struct merge_level *lv)
{
    char buf[1024] = "";
    size_t o = 0;

    for (uint32_t i = 0; i < m->n && o + 1 < sizeof(buf); i++) {
        const char *r = merge_str(lv->r[i], "exit_reason");
        bool dup = !r;

        for (uint32_t k = 0; k < i && !dup; k++)
            dup = merge_str(lv->r[k], "exit_reason") &&
                  !strcmp(merge_str(lv->r[k], "exit_reason"), r);
        if (!dup)
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", o ? "; " : "", r);
    }
    json_str(j, "exit_reason", buf);
}

/* A multi-scenario file's top-level list has no "source" (src/main.c). */
static void emit_thresholds_top(struct json *j, const struct merge *m)
{
    json_arr_begin(j, "thresholds");
    for (uint32_t i = 0; i < m->nthr; i++) {
        const struct thr *t = &m->thr[i];

        json_obj_begin(j, NULL);
        json_str(j, "metric", t->metric);
        json_str(j, "expr", t->expr);
        json_bool(j, "passed", t->passed);
        if (t->missing)
            json_null(j, "actual");
        else
            json_dbl(j, "actual", t->actual);
        json_dbl(j, "bound", t->bound);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void emit_scenarios(struct json *j, const struct merge *m)
{
    json_obj_begin(j, "scenarios");
    for (uint32_t i = 0; i < m->nlv; i++)
        merge_emit_level(j, m->lv[i].name, m, &m->lv[i], false);
    json_obj_end(j);
}

static void emit_key(struct json *j, const char *k, const struct merge *m,
                     const struct merge_level *lv, bool top)
{
    if (!strcmp(k, "exit_code"))
        json_i64(j, k, top ? m->exit_code : lv->exit_code);
    else if (!strcmp(k, "exit_reason"))
        emit_reason(j, m, lv);
    else if (!strcmp(k, "config"))
        emit_config(j, m, lv);
    else if (!strcmp(k, "duration_s"))
        json_dbl(j, k, lv->duration_s);
    else if (!strcmp(k, "counters"))
        emit_path(j, k, m, lv, k, AGG_SUM);
    else if (!strcmp(k, "rates"))
        emit_rates(j, m, lv);
    else if (!strcmp(k, "generator"))
        emit_generator(j, m, lv);
    else if (!strcmp(k, "capacity"))
        emit_capacity(j, m, lv);
    else if (!strcmp(k, "metrics"))
        emit_metrics(j, lv);
    else if (!strcmp(k, "flow"))
        emit_flow(j, m, lv);
    else if (!strcmp(k, "timeseries"))
        emit_series(j, m, lv);
    else if (!strcmp(k, "scenarios") && top && m->multi)
        emit_scenarios(j, m);
    else if (!strcmp(k, "thresholds") && top && m->multi)
        emit_thresholds_top(j, m);
    else if (!strcmp(k, "thresholds"))
        report_thresholds_json(j, m->thr, top ? m->nthr : 0);
    else if (strcmp(k, "merged_from"))
        emit_path(j, k, m, lv, k, AGG_FIRST);
}

void merge_emit_level(struct json *j, const char *key, const struct merge *m,
                      const struct merge_level *lv, bool top)
{
    json_obj_begin(j, key);
    for (uint32_t i = 0; i < m->n; i++) {
        struct fy_node_pair *p;
        void *it = NULL;

        while ((p = fy_node_mapping_iterate(lv->r[i], &it))) {
            const char *k = node_text(fy_node_pair_key(p));
            bool seen = false;

            for (uint32_t e = 0; k && e < i && !seen; e++)
                seen = has_key(lv->r[e], k);
            if (k && !seen)
                emit_key(j, k, m, lv, top);
        }
    }
    if (top) {
        json_arr_begin(j, "merged_from");
        for (uint32_t i = 0; i < m->n; i++)
            json_str(j, NULL, m->path[i]);
        json_arr_end(j);
    }
    json_obj_end(j);
}
