/*
 * scenario.c - scenario files: YAML document -> plans, flows, thresholds.
 *
 * libfyaml builds the document tree with positions; this file walks it
 * once, checking every key against the schema (docs/scenarios.md) and
 * turning load and option keys into stampede arguments that go through
 * cli_parse, so a file can set everything a flag can with the same checks
 * and the same messages. cli_parse's messages are captured and placed at
 * the key that produced the offending argument. Steps compile into a
 * struct flow (scen_flow.c). Positions are 0-based in libfyaml, printed
 * 1-based. A mapping or sequence has no mark of its own in libfyaml 0.7:
 * errors about one are reported at its key.
 */
#include "scenario.h"

#include <errno.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "tmpl.h"
#include "scen_int.h"

/* ---- positions and messages ------------------------------------------------ */

void sc_mark(struct fy_node *n, struct sc_pos *at)
{
    struct fy_token *t;
    const struct fy_mark *m;
    void *it = NULL;

    if (!n)
        return;
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR:
        t = fy_node_get_scalar_token(n);
        m = t ? fy_token_start_mark(t) : NULL;
        if (m) {
            at->line = m->line + 1;
            at->col = m->column + 1;
        }
        return;
    case FYNT_MAPPING: {
        struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);

        if (p)
            sc_mark(fy_node_pair_key(p), at);
        return;
    }
    default:
        sc_mark(fy_node_sequence_iterate(n, &it), at);
        return;
    }
}

void sc_err(struct sc *c, const struct sc_pos *at, const char *fmt, ...)
{
    va_list ap;

    if (at && at->line)
        fprintf(c->err, "%s:%d:%d: ", c->path, at->line, at->col);
    else if (at && at->set)
        fprintf(c->err, "--set %s: ", at->set);
    else
        fprintf(c->err, "%s: ", c->path);
    va_start(ap, fmt);
    vfprintf(c->err, fmt, ap);
    va_end(ap);
    fputc('\n', c->err);
    c->nerr++;
}

void sc_err_node(struct sc *c, struct fy_node *n, const char *fmt, ...)
{
    struct sc_pos at = {0};
    char msg[512];
    va_list ap;

    sc_mark(n, &at);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sc_err(c, &at, "%s", msg);
}

/* ---- scalars --------------------------------------------------------------- */

bool sc_is(struct fy_node *n, enum fy_node_type t)
{
    return n && fy_node_get_type(n) == t;
}

/* The scalar's text, NUL-terminated in the document's own storage; NULL
 * (error given) if n is not a scalar. */
const char *sc_str(struct sc *c, struct fy_node *n, const char *what)
{
    const char *s;

    if (!sc_is(n, FYNT_SCALAR)) {
        sc_err_node(c, n, "%s: expected a single value, not a %s", what,
                    sc_is(n, FYNT_MAPPING) ? "mapping" : "list");
        return NULL;
    }
    s = fy_node_get_scalar0(n);
    if (!s)
        sc_err_node(c, n, "%s: out of memory", what);
    return s;
}

/* ---- --set overrides -------------------------------------------------------- */

/* The override for dotted path prefix.key, or NULL. Marks it used. */
static const char *sc_override(struct sc *c, const char *prefix, const char *key)
{
    char path[256];

    snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix ? "." : "", key);
    for (int i = 0; i < c->o->nsets; i++) {
        const char *eq = strchr(c->o->sets[i], '=');

        if (eq && (size_t)(eq - c->o->sets[i]) == strlen(path) &&
            !memcmp(c->o->sets[i], path, strlen(path))) {
            c->set_used[i] = true;
            return eq + 1;
        }
    }
    return NULL;
}

/* A scalar key of map (or its --set override): value and position. */
bool sc_get(struct sc *c, struct fy_node *map, const char *prefix, const char *key,
            struct sc_val *v)
{
    const char *ovr = sc_override(c, prefix, key);
    struct fy_node *n = map ? fy_node_mapping_lookup_by_string(map, key, FY_NT) : NULL;

    memset(v, 0, sizeof(*v));
    v->node = n;
    if (ovr) {
        v->s = ovr;
        snprintf(v->setbuf, sizeof(v->setbuf), "%s%s%s", prefix, *prefix ? "." : "", key);
        v->at.set = v->setbuf;
        return true;
    }
    if (!n)
        return false;
    sc_mark(n, &v->at);
    if (sc_is(n, FYNT_SCALAR) && fy_node_is_null(n) && !fy_node_get_scalar_length(n)) {
        sc_err(c, &v->at, "'%s' has no value", key);
        return false;
    }
    v->s = sc_str(c, n, key);
    return v->s != NULL;
}

/* ---- unknown keys ------------------------------------------------------------ */

/* Every key of map must be in keys[] (NULL-terminated); suggests the
 * nearest one. Returns false if any is not. */
bool sc_keys(struct sc *c, struct fy_node *map, const char *what, const char *const *keys)
{
    struct fy_node_pair *p;
    void *it = NULL;
    bool good = true;

    if (!sc_is(map, FYNT_MAPPING)) {
        sc_err_node(c, map, "%s: expected a mapping of keys", what);
        return false;
    }
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(p);
        const char *name = sc_is(k, FYNT_SCALAR) ? fy_node_get_scalar0(k) : NULL;
        const char *best = NULL;
        unsigned best_d = 3;
        bool found = false;

        for (const char *const *kk = keys; name && *kk; kk++) {
            unsigned d = cli_distance(name, *kk);

            found |= !strcmp(name, *kk);
            if (d < best_d) {
                best_d = d;
                best = *kk;
            }
        }
        if (found)
            continue;
        good = false;
        if (best)
            sc_err_node(c, k, "unknown key '%s' in %s (did you mean '%s'?)", name ? name : "?",
                        what, best);
        else
            sc_err_node(c, k, "unknown key '%s' in %s", name ? name : "?", what);
    }
    return good;
}

/* ---- arguments for cli_parse ------------------------------------------------- */

void sc_arg(struct sc_args *a, const char *flag, const char *val, const struct sc_pos *at)
{
    if (a->n + 2 >= SC_MAX_ARGS)
        return; /* reported by sc_build_plan */
    a->at[a->n] = at ? *at : (struct sc_pos){0};
    a->v[a->n++] = strdup(flag);
    if (val) {
        a->at[a->n] = a->at[a->n - 1];
        a->v[a->n++] = strdup(val);
    }
}

static void sc_args_free(struct sc_args *a)
{
    for (int i = 0; i < a->n; i++)
        free(a->v[i]);
    a->n = 0;
}

/* An `options:` mapping: every key is a long flag; true/false for
 * switches, a list for repeatable flags (header), a mapping for headers. */
void sc_options(struct sc *c, struct fy_node *map, struct sc_args *a)
{
    struct fy_node_pair *p;
    void *it = NULL;

    if (!sc_is(map, FYNT_MAPPING)) {
        sc_err_node(c, map, "options: expected a mapping of flag names to values");
        return;
    }
    while ((p = fy_node_mapping_iterate(map, &it))) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *name = fy_node_get_scalar0(k);
        char flag[80];
        struct sc_pos at = {0};
        int kind;

        if (!name)
            continue;
        snprintf(flag, sizeof(flag), "--%s", name);
        for (char *q = flag; *q; q++)
            *q = *q == '_' ? '-' : *q;
        kind = cli_opt_kind(flag + 2);
        sc_mark(k, &at);
        if (kind < 0 || !strcmp(flag, "--help") || !strcmp(flag, "--version")) {
            sc_err(c, &at, "unknown option '%s' (options are stampede's long flags, see "
                   "stampede --help)", name);
            continue;
        }
        if (!strcmp(flag, "--json") || !strcmp(flag, "--timeseries")) {
            sc_err(c, &at, "option '%s' is an output: give it on the command line", name);
            continue;
        }
        if (c->o->load_flags && scen_is_load_flag(flag + 2))
            continue; /* the command line's load flags win */
        if (sc_is(v, FYNT_SEQUENCE)) {
            void *it2 = NULL;
            struct fy_node *e;

            while ((e = fy_node_sequence_iterate(v, &it2))) {
                const char *s = sc_str(c, e, name);

                sc_mark(e, &at);
                if (s)
                    sc_arg(a, flag, s, &at);
            }
            continue;
        }
        if (sc_is(v, FYNT_MAPPING) && !strcmp(flag, "--header")) {
            sc_headers(c, v, a);
            continue;
        }
        const char *s = sc_str(c, v, name);

        if (!s)
            continue;
        sc_mark(v, &at);
        if (kind == 0) {
            if (!strcmp(s, "true"))
                sc_arg(a, flag, NULL, &at);
            else if (strcmp(s, "false"))
                sc_err(c, &at, "option '%s' is a switch: true or false, not '%s'", name, s);
        } else {
            sc_arg(a, flag, s, &at);
        }
    }
}

/* headers: {Name: value, ...} -> -H 'Name: value'. */
void sc_headers(struct sc *c, struct fy_node *map, struct sc_args *a)
{
    struct fy_node_pair *p;
    void *it = NULL;

    if (!sc_is(map, FYNT_MAPPING)) {
        sc_err_node(c, map, "headers: expected a mapping of header names to values");
        return;
    }
    while ((p = fy_node_mapping_iterate(map, &it))) {
        const char *k = sc_str(c, fy_node_pair_key(p), "header name");
        const char *v = sc_str(c, fy_node_pair_value(p), "header value");
        char hdr[8192];
        struct sc_pos at = {0};

        if (!k || !v)
            continue;
        sc_mark(fy_node_pair_key(p), &at);
        snprintf(hdr, sizeof(hdr), "%s: %s", k, v);
        sc_arg(a, "--header", hdr, &at);
    }
}

bool scen_is_load_flag(const char *name)
{
    static const char *const load[] = {
        "connections", "duration", "requests", "rate", "stages", "start",
        "max-connections", "connect-rate", "sessions", "reconnect", "hold", "warmup",
        "arrival", "ws-rate", "ws-pipeline", "requests-per-conn", "ws-msgs-per-conn", NULL,
    };

    for (const char *const *l = load; *l; l++)
        if (!strcmp(name, *l))
            return true;
    return false;
}

/* The argument cli_parse complained about: the one whose flag its message
 * names (the longest such), else the URL's. */
static const struct sc_pos *sc_blame(const struct sc_args *a, const char *msg,
                                     const struct sc_pos *url_at)
{
    const struct sc_pos *best = url_at;
    size_t best_len = 0;

    for (int i = 0; i < a->n; i++) {
        const char *f = a->v[i];
        size_t n = strlen(f);

        if (f[0] != '-' || n <= best_len)
            continue;
        const char *hit = strstr(msg, f);

        if (hit && !(hit[n] >= 'a' && hit[n] <= 'z') && hit[n] != '-') {
            best = &a->at[i];
            best_len = n;
        }
    }
    return best;
}

/* cli_parse over the collected arguments (and the command line's), its
 * messages placed at the keys that produced them. */
int sc_build_plan(struct sc *c, struct sc_args *a, const char *url, const struct sc_pos *url_at,
                  struct plan *p)
{
    char *argv[SC_MAX_ARGS + 64];
    char *msg = NULL;
    size_t msg_len = 0;
    FILE *mem = open_memstream(&msg, &msg_len);
    enum cli_rc rc;
    int argc = 0;

    if (!mem)
        return -1;
    if (a->n + 2 >= SC_MAX_ARGS) {
        sc_err(c, url_at, "too many options");
        fclose(mem);
        free(msg);
        return -1;
    }
    /* the plan keeps pointers into its URL (url, path): the args own a copy,
     * the caller's buffer is on its stack */
    sc_arg(a, url, NULL, url_at);
    argv[argc++] = "stampede";
    for (int i = 0; i < a->n - 1; i++)
        argv[argc++] = a->v[i];
    for (int i = 0; i < c->o->nflags && argc < SC_MAX_ARGS + 62; i++)
        argv[argc++] = c->o->flags[i];
    argv[argc++] = a->v[a->n - 1];
    argv[argc] = NULL;
    cli_err = mem;
    rc = cli_parse(argc, argv, p);
    cli_err = NULL;
    fclose(mem);
    if (rc == CLI_RUN || (rc == CLI_EXIT_RUNTIME && c->o->validate_only)) {
        if (msg_len && rc == CLI_RUN)
            fputs(msg, c->err); /* warnings */
        free(msg);
        return rc == CLI_RUN ? 0 : 1;
    }
    /* one message per line, each placed */
    for (char *line = msg, *nl; line && *line; line = nl) {
        const char *text = line;

        nl = strchr(line, '\n');
        if (nl)
            *nl++ = 0;
        if (!strncmp(text, "stampede: ", 10))
            text += 10;
        if (!strncmp(text, "Try 'stampede --help'", 21) || !*text)
            continue;
        sc_err(c, sc_blame(a, text, url_at), "%s", text);
    }
    if (rc == CLI_EXIT_RUNTIME && !c->nerr)
        sc_err(c, url_at, "cannot prepare the run");
    free(msg);
    return -1;
}

/* ---- the file ----------------------------------------------------------------- */

static int sc_parse_doc(struct sc *c, const char *path)
{
    struct fy_diag_cfg dcfg;
    struct fy_diag *diag;
    struct fy_parse_cfg cfg = {.flags = FYPCF_QUIET};

    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = NULL;
    diag = fy_diag_create(&dcfg);
    if (!diag)
        return -1;
    fy_diag_set_collect_errors(diag, true);
    cfg.diag = diag;
    c->doc = fy_document_build_from_file(&cfg, path);
    if (!c->doc) {
        struct fy_diag_error *e;
        void *it = NULL;
        bool any = false;

        while ((e = fy_diag_errors_iterate(diag, &it))) {
            struct sc_pos at = {e->line, e->column, NULL}; /* 1-based here */

            if (e->type < FYET_ERROR)
                continue;
            sc_err(c, &at, "%s", e->msg);
            any = true;
            break; /* the first error; later ones follow from it */
        }
        if (!any) {
            FILE *f = fopen(path, "r");

            if (!f)
                sc_err(c, NULL, "cannot read: %s", strerror(errno));
            else
                sc_err(c, NULL, "not a YAML document");
            if (f)
                fclose(f);
        }
    }
    fy_diag_destroy(diag);
    return c->doc ? 0 : -1;
}

static const char *const top_keys[] = {
    "name", "description", "target", "duration", "options", "thresholds", "scenarios", NULL,
};

/* Scenarios run at the same time share the CPUs. */
static void sc_share_threads(struct scen_file *sf)
{
    for (uint32_t i = 0; i < sf->n && sf->n > 1; i++) {
        struct plan *p = &sf->s[i].plan;

        if (!p->threads_given && p->threads > 1) {
            uint32_t t = p->ncpus / sf->n;

            p->threads = t ? t : 1;
        }
    }
}

static void sc_check_sets(struct sc *c)
{
    for (int i = 0; i < c->o->nsets; i++) {
        struct sc_pos at = {0, 0, c->o->sets[i]};

        if (!strchr(c->o->sets[i], '='))
            sc_err(c, &at, "expected --set dotted.path=value");
        else if (!c->set_used[i])
            sc_err(c, &at, "no such key in this file (keys: target, duration, "
                   "scenarios.NAME.KEY, ...; see docs/scenarios.md)");
    }
}

int scen_load(struct scen_file *sf, const char *path, const struct scen_opts *o, FILE *err)
{
    struct sc c = {.path = path, .err = err, .o = o, .sf = sf};
    struct fy_node *root, *scen;
    struct sc_val v;

    memset(sf, 0, sizeof(*sf));
    sf->path = path;
    if (sc_parse_doc(&c, path))
        return 2;
    root = fy_document_root(c.doc);
    if (!root || !sc_is(root, FYNT_MAPPING)) {
        sc_err_node(&c, root, "expected a mapping with 'scenarios:' (see docs/scenarios.md)");
        goto out;
    }
    sc_keys(&c, root, "the file", top_keys);
    if (sc_get(&c, root, "", "name", &v))
        snprintf(sf->title, sizeof(sf->title), "%s", v.s);
    scen = fy_node_mapping_lookup_by_string(root, "scenarios", FY_NT);
    if (!scen) {
        sc_err_node(&c, root, "no 'scenarios:' in the file");
        goto out;
    }
    if (!sc_is(scen, FYNT_MAPPING) || !fy_node_mapping_item_count(scen)) {
        sc_err_node(&c, scen, "'scenarios:' must map scenario names to their settings");
        goto out;
    }
    if (o->load_flags && fy_node_mapping_item_count(scen) > 1) {
        sc_err_node(&c, scen, "load flags (-c, -R, --stages, ...) cannot apply to a file with "
                    "%d scenarios: set them in the file or with --set scenarios.NAME.KEY=VALUE",
                    fy_node_mapping_item_count(scen));
        goto out;
    }
    if (fy_node_mapping_item_count(scen) > SCEN_MAX) {
        sc_err_node(&c, scen, "at most %d scenarios in a file", SCEN_MAX);
        goto out;
    }
    sf->s = calloc(SCEN_MAX, sizeof(*sf->s));
    if (!sf->s) {
        sc_err(&c, NULL, "out of memory");
        goto out;
    }
    sc_thresholds(&c, root);
    {
        struct fy_node_pair *p;
        void *it = NULL;

        while ((p = fy_node_mapping_iterate(scen, &it)))
            sc_scenario(&c, root, fy_node_pair_key(p), fy_node_pair_value(p));
    }
    sc_check_sets(&c);
    if (!c.nerr)
        sc_check_threshold_metrics(&c);
    sc_share_threads(sf);
out:
    fy_document_destroy(c.doc);
    if (c.nerr) {
        scen_free(sf);
        return 2;
    }
    return 0;
}

void scen_free(struct scen_file *sf)
{
    for (uint32_t i = 0; sf->s && i < sf->n; i++) {
        if (sf->s[i].plan.ws_path_tmpl) {
            tmpl_free(sf->s[i].plan.ws_path_tmpl);
            free(sf->s[i].plan.ws_path_tmpl);
        }
        plan_fini(&sf->s[i].plan);
        if (sf->s[i].args) {
            sc_args_free(sf->s[i].args);
            free(sf->s[i].args);
        }
        if (sf->s[i].flow) {
            flow_free(sf->s[i].flow);
            free(sf->s[i].flow);
        }
    }
    free(sf->s);
    sf->s = NULL;
    sf->n = 0;
}
