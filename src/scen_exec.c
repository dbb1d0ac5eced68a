/*
 * scen_exec.c - one scenario's settings: executor and load keys become
 * stampede arguments (the executors are the flag load models by name),
 * WebSocket steps become the WebSocket flags, and the file's thresholds
 * are parsed and placed. See docs/scenarios.md.
 */
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "scen_int.h"
#include "units.h"

bool sc_duration(const char *s, uint64_t *ns)
{
    return units_parse_duration(s, ns) == 0;
}

static const char *const scen_keys[] = {
    "executor", "description", "target", "duration", "connections", "max_connections", "rate",
    "stages", "start", "sessions", "connect_rate", "reconnect_delay", "ping", "warmup",
    "threads", "timeout", "options", "headers", "data", "steps", NULL,
};

enum exec_key {
    K_DURATION = 1 << 0,
    K_CONNECTIONS = 1 << 1,
    K_MAX_CONN = 1 << 2,
    K_RATE = 1 << 3,
    K_STAGES = 1 << 4,
    K_START = 1 << 5,
    K_SESSIONS = 1 << 6,
    K_RECONNECT_DELAY = 1 << 7,
    K_PING = 1 << 8,
};

static const struct exec_def {
    const char *name;
    unsigned keys;     /* the load keys it takes */
    unsigned required;
    const char *flag;  /* the switch it adds, if any */
} execs[] = {
    {"constant-connections", K_DURATION | K_CONNECTIONS, 0, NULL},
    {"ramping-connections", K_STAGES | K_START, K_STAGES, NULL},
    {"constant-rate", K_DURATION | K_CONNECTIONS | K_MAX_CONN | K_RATE, K_RATE, NULL},
    {"ramping-rate", K_STAGES | K_START | K_CONNECTIONS | K_MAX_CONN, K_STAGES, NULL},
    {"reconnect", K_DURATION | K_CONNECTIONS | K_SESSIONS | K_RECONNECT_DELAY, 0, "--reconnect"},
    {"hold", K_DURATION | K_CONNECTIONS | K_PING, 0, "--hold"},
};

static const struct {
    const char *key;
    unsigned bit;
    const char *flag;
} load_keys[] = {
    {"duration", K_DURATION, "--duration"},
    {"connections", K_CONNECTIONS, "--connections"},
    {"max_connections", K_MAX_CONN, "--max-connections"},
    {"rate", K_RATE, "--rate"},
    {"start", K_START, "--start"},
    {"sessions", K_SESSIONS, "--sessions"},
    {"reconnect_delay", K_RECONNECT_DELAY, "--reconnect-delay"},
    {"ping", K_PING, "--ping"},
};

/* stages: [{duration: 30s, target: 100/s}, "1m:100/s", ...] -> "30s:100/s,1m:100/s".
 * A stage's keys are addressed as PREFIX.stages.N.KEY by --set, so a
 * top-level `--set duration=..` or `target=..` never rewrites a stage. */
static void sc_stages(struct sc *c, struct fy_node *n, const char *prefix, bool rate,
                      struct sc_args *a)
{
    unsigned idx = 0;
    char list[4096] = "";
    size_t used = 0;
    struct fy_node *e;
    void *it = NULL;
    struct sc_pos at = {0};

    sc_mark(n, &at);
    if (!sc_is(n, FYNT_SEQUENCE) || !fy_node_sequence_item_count(n)) {
        sc_err_node(c, n, "stages: expected a list of {duration, target}");
        return;
    }
    while ((e = fy_node_sequence_iterate(n, &it))) {
        static const char *const stage_keys[] = {"duration", "target", NULL};
        struct sc_val d, t;
        uint64_t ns;
        char one[160], at_path[128];

        snprintf(at_path, sizeof(at_path), "%s.stages.%u", prefix, idx++);
        if (sc_is(e, FYNT_SCALAR)) {
            snprintf(one, sizeof(one), "%s", fy_node_get_scalar0(e));
        } else {
            if (!sc_keys(c, e, "a stage", stage_keys))
                continue;
            if (!sc_get(c, e, at_path, "duration", &d) || !sc_get(c, e, at_path, "target", &t)) {
                sc_err_node(c, e, "a stage needs both duration and target");
                continue;
            }
            if (!sc_duration(d.s, &ns)) {
                sc_err(c, &d.at, "bad duration '%s': expected e.g. 30s, 500ms, 2m", d.s);
                continue;
            }
            if (rate != (strchr(t.s, '/') != NULL)) {
                sc_err(c, &t.at, rate ? "stage target '%s': a ramping-rate target is a rate "
                                        "like 100/s or 600/m"
                                      : "stage target '%s': a ramping-connections target is a "
                                        "connection count",
                       t.s);
                continue;
            }
            snprintf(one, sizeof(one), "%s:%s", d.s, t.s);
        }
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", used ? "," : "", one);
        if (used >= sizeof(list)) {
            sc_err(c, &at, "stages: too many");
            return;
        }
    }
    sc_arg(a, "--stages", list, &at);
}

static const struct exec_def *sc_executor(struct sc *c, struct fy_node *map, const char *prefix)
{
    struct sc_val v;

    if (!sc_get(c, map, prefix, "executor", &v))
        return v.node ? NULL : &execs[0];
    for (size_t i = 0; i < sizeof(execs) / sizeof(execs[0]); i++)
        if (!strcmp(v.s, execs[i].name))
            return &execs[i];
    sc_err(c, &v.at, "unknown executor '%s' (constant-connections, ramping-connections, "
           "constant-rate, ramping-rate, reconnect, hold)", v.s);
    return NULL;
}

/* The executor's load keys -> arguments; keys it does not take are errors. */
static void sc_load(struct sc *c, struct fy_node *root, struct fy_node *map, const char *prefix,
                    const struct exec_def *e, struct sc_args *a)
{
    struct sc_val v;
    struct fy_node *st;

    if (e->flag)
        sc_arg(a, e->flag, NULL, NULL);
    for (size_t i = 0; i < sizeof(load_keys) / sizeof(load_keys[0]); i++) {
        bool have = sc_get(c, map, prefix, load_keys[i].key, &v);

        if (!have && load_keys[i].bit == K_DURATION && (e->keys & K_DURATION))
            have = sc_get(c, root, "", "duration", &v); /* the file's default */
        if (!have)
            continue;
        if (!(e->keys & load_keys[i].bit)) {
            if (v.node || v.at.set)
                sc_err(c, &v.at, "'%s' does not apply to executor %s", load_keys[i].key,
                       e->name);
            continue;
        }
        sc_arg(a, load_keys[i].flag, v.s, &v.at);
    }
    st = fy_node_mapping_lookup_by_string(map, "stages", FY_NT);
    if (st && !(e->keys & K_STAGES))
        sc_err_node(c, st, "'stages' does not apply to executor %s", e->name);
    else if (st)
        sc_stages(c, st, prefix, !strcmp(e->name, "ramping-rate"), a);
    if ((e->required & K_STAGES) && !st)
        sc_err_node(c, map, "executor %s needs 'stages'", e->name);
    if ((e->required & K_RATE) && !sc_get(c, map, prefix, "rate", &v))
        sc_err_node(c, map, "executor %s needs 'rate' (e.g. 100/s, 600/m)", e->name);
}

/* Plain keys that are flags of the same name. */
static void sc_plain_keys(struct sc *c, struct fy_node *map, const char *prefix, struct sc_args *a)
{
    static const char *const plain[][2] = {
        {"timeout", "--timeout"}, {"threads", "--threads"}, {"warmup", "--warmup"},
        {"connect_rate", "--connect-rate"},
    };
    struct sc_val v;

    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (sc_get(c, map, prefix, plain[i][0], &v))
            sc_arg(a, plain[i][1], v.s, &v.at);
}

bool sc_name_ok(const char *s)
{
    if (!*s || strlen(s) >= 64)
        return false;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || (unsigned)((*s | 32) - 'a') < 26u || (unsigned)(*s - '0') < 10u))
            return false;
    return true;
}

static bool sc_is_ws(const char *url)
{
    return !strncmp(url, "ws://", 5) || !strncmp(url, "wss://", 6);
}

/* The scenario's URL: its target or the file's; a WebSocket path from
 * ws_connect replaces the URL's. */
static bool sc_target(struct sc *c, struct fy_node *root, struct fy_node *map, const char *prefix,
                      struct fy_node *key, struct sc_val *t)
{
    if (sc_get(c, map, prefix, "target", t) || sc_get(c, root, "", "target", t))
        return true;
    if (!t->node)
        sc_err_node(c, key, "no target: set 'target' (e.g. http://127.0.0.1:8080) in the "
                    "scenario or at the top of the file");
    return false;
}

void sc_scenario(struct sc *c, struct fy_node *root, struct fy_node *key, struct fy_node *map)
{
    struct scen_file *sf = c->sf;
    const char *name = sc_str(c, key, "scenario name");
    struct scenario *s;
    struct fy_node *opts, *steps, *hdrs;
    const struct exec_def *e;
    struct sc_val t;
    char prefix[96], what[96], url[2048], wspath[1024] = "", metric[48] = "";
    struct sc_pos url_at = {0};
    int nerr = c->nerr;

    if (!name)
        return;
    if (!sc_name_ok(name)) {
        sc_err_node(c, key, "scenario name '%s': use letters, digits, '_' and '-'", name);
        return;
    }
    s = &sf->s[sf->n++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(prefix, sizeof(prefix), "scenarios.%s", name);
    snprintf(what, sizeof(what), "scenario '%s'", name);
    s->args = calloc(1, sizeof(*s->args));
    if (!s->args || !sc_keys(c, map, what, scen_keys))
        return;
    if ((opts = fy_node_mapping_lookup_by_string(root, "options", FY_NT)))
        sc_options(c, opts, s->args);
    if ((opts = fy_node_mapping_lookup_by_string(map, "options", FY_NT)))
        sc_options(c, opts, s->args);
    e = sc_executor(c, map, prefix);
    if (!e)
        return;
    if (!c->o->load_flags)
        sc_load(c, root, map, prefix, e, s->args);
    sc_plain_keys(c, map, prefix, s->args);
    if ((hdrs = fy_node_mapping_lookup_by_string(map, "headers", FY_NT)))
        sc_headers(c, hdrs, s->args);
    if (!sc_target(c, root, map, prefix, key, &t))
        return;
    url_at = t.at;
    snprintf(url, sizeof(url), "%s", t.s);
    steps = fy_node_mapping_lookup_by_string(map, "steps", FY_NT);
    if (steps && sc_is_ws(url)) {
        sc_ws_steps(c, steps, s->args, wspath, sizeof(wspath), metric, sizeof(metric));
        if (*wspath) {
            /* ws_connect's path replaces the target's */
            char *slash = strchr(strstr(url, "://") + 3, '/');

            if (slash)
                *slash = 0;
        }
        if (fy_node_mapping_lookup_by_string(map, "data", FY_NT))
            sc_err_node(c, fy_node_mapping_lookup_by_string(map, "data", FY_NT),
                        "'data' feeds HTTP steps; WebSocket steps do not read it");
    }
    if (steps && !sc_is_ws(url) && (!strcmp(e->name, "hold")))
        sc_err_node(c, steps, "executor hold keeps connections idle: it runs no steps");
    if (c->nerr != nerr)
        return;
    if (sc_build_plan(c, s->args, url, &url_at, &s->plan) < 0)
        return;
    snprintf(s->plan.ws_metric, sizeof(s->plan.ws_metric), "%s", metric);
    if (*wspath && sc_ws_path(c, s, wspath, &url_at))
        return;
    if (steps && !sc_is_ws(url))
        sc_flow(c, s, steps, fy_node_mapping_lookup_by_string(map, "data", FY_NT), prefix);
}

/* ---- thresholds ---------------------------------------------------------------- */

static void sc_one_threshold(struct sc *c, const char *metric, struct fy_node *n)
{
    struct scen_file *sf = c->sf;
    struct thr *t;
    const char *expr;
    bool abort_on_fail = false;
    char err[256];
    struct sc_pos at = {0};
    struct fy_node *en = n;

    if (sc_is(n, FYNT_MAPPING)) {
        static const char *const keys[] = {"threshold", "abort_on_fail", NULL};
        struct sc_val v;

        if (!sc_keys(c, n, "a threshold", keys))
            return;
        if (sc_get(c, n, "", "abort_on_fail", &v)) {
            if (strcmp(v.s, "true") && strcmp(v.s, "false")) {
                sc_err(c, &v.at, "abort_on_fail: true or false, not '%s'", v.s);
                return;
            }
            abort_on_fail = !strcmp(v.s, "true");
        }
        en = fy_node_mapping_lookup_by_string(n, "threshold", FY_NT);
        if (!en) {
            sc_err_node(c, n, "a threshold mapping needs 'threshold: EXPR'");
            return;
        }
    }
    expr = sc_str(c, en, "threshold");
    if (!expr)
        return;
    sc_mark(en, &at);
    if (sf->nthr == SCEN_MAX_THRESHOLDS) {
        sc_err(c, &at, "at most %d thresholds", SCEN_MAX_THRESHOLDS);
        return;
    }
    t = &sf->thr[sf->nthr];
    if (thr_parse(t, metric, expr, err, sizeof(err))) {
        sc_err(c, &at, "%s", err);
        return;
    }
    t->abort_on_fail = abort_on_fail;
    snprintf(t->where, sizeof(t->where), "%s:%d:%d", c->path, at.line, at.col);
    sf->nthr++;
}

void sc_thresholds(struct sc *c, struct fy_node *root)
{
    struct fy_node *th = fy_node_mapping_lookup_by_string(root, "thresholds", FY_NT);
    struct fy_node_pair *p;
    void *it = NULL;

    if (!th)
        return;
    if (!sc_is(th, FYNT_MAPPING)) {
        sc_err_node(c, th, "thresholds: expected a mapping of metric names to expressions");
        return;
    }
    while ((p = fy_node_mapping_iterate(th, &it))) {
        const char *metric = sc_str(c, fy_node_pair_key(p), "metric name");
        struct fy_node *v = fy_node_pair_value(p), *e;
        void *it2 = NULL;

        if (!metric)
            continue;
        if (!sc_is(v, FYNT_SEQUENCE)) {
            sc_one_threshold(c, metric, v);
            continue;
        }
        while ((e = fy_node_sequence_iterate(v, &it2)))
            sc_one_threshold(c, metric, e);
    }
}

/* The metric of t without a {scenario:NAME} tag, for scenario s; false if
 * the tag names another scenario (or t has other tags). */
bool scen_thr_for(const struct scenario *s, const struct thr *t, char *base, size_t len)
{
    const char *brace = strchr(t->metric, '{');
    char want[96];

    if (!brace) {
        snprintf(base, len, "%s", t->metric);
        return true;
    }
    snprintf(want, sizeof(want), "{scenario:%s}", s->name);
    if (strcmp(brace, want))
        return false;
    snprintf(base, len, "%.*s", (int)(brace - t->metric), t->metric);
    return true;
}

/* abort_on_fail: judged live on some scenario's time series. */
static bool sc_abort_ok(const struct scen_file *sf, const struct thr *t)
{
    bool any = false;

    for (uint32_t i = 0; i < sf->n; i++) {
        char base[128];

        if (!scen_thr_for(&sf->s[i], t, base, sizeof(base)))
            continue;
        if (thr_live_metric(base, &sf->s[i].plan) == THR_LIVE_NONE)
            return false;
        any = true;
    }
    return any;
}

/* Every threshold names a metric this file can produce. */
void sc_check_threshold_metrics(struct sc *c)
{
    struct scen_file *sf = c->sf;

    for (uint32_t i = 0; i < sf->nthr; i++) {
        char why[256];

        if (metrics_known(sf, sf->thr[i].metric, why, sizeof(why))) {
            if (sf->thr[i].abort_on_fail && !sc_abort_ok(sf, &sf->thr[i])) {
                fprintf(c->err, "%s: abort_on_fail: '%s' cannot be judged during the run (only "
                        "the main latency metric, http_reqs, errors and dropped_iterations, "
                        "optionally {scenario:NAME}); judge it at the end without "
                        "abort_on_fail\n", sf->thr[i].where, sf->thr[i].metric);
                c->nerr++;
            }
            continue;
        }
        fprintf(c->err, "%s: %s\n", sf->thr[i].where, why);
        c->nerr++;
    }
}
