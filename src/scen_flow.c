/*
 * scen_flow.c - scenario steps: HTTP steps compile to a struct flow
 * (request templates, captures, checks, think times, a CSV feeder);
 * WebSocket steps map onto the WebSocket flags and the plan's expect
 * fields. Templates are compiled here, once: a step may only read
 * captures of the steps before it, so a reference to a value nobody has
 * captured yet is an error at load time, not an empty string at run time.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "scen_int.h"
#include "units.h"

static const char *const step_keys[] = {
    "name", "method", "path", "get", "post", "put", "patch", "delete", "head", "headers", "body",
    "json", "body_file", "capture", "check", "think", NULL,
};

/* ---- helpers ------------------------------------------------------------------- */

static char *sc_dup(const char *s, size_t n)
{
    char *d = malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* path relative to the scenario file's directory */
static void sc_rel(const struct sc *c, const char *file, char *out, size_t len)
{
    char tmp[1024];

    if (file[0] == '/') {
        snprintf(out, len, "%s", file);
        return;
    }
    snprintf(tmp, sizeof(tmp), "%s", c->path);
    snprintf(out, len, "%s/%s", dirname(tmp), file);
}

struct sc_flow_ctx {
    struct sc *c;
    struct flow *f;
    const struct plan *p;
    const char *cap_step[FLOW_MAX_CAPS]; /* the step that first captures each */
    uint32_t caps_before;                 /* captures defined by earlier steps */
    struct tmpl_env env;
};

/* Compile src as a template with the values visible to this step. */
static int sc_tmpl(struct sc_flow_ctx *x, struct fy_node *n, const char *what, const char *src,
                   size_t len, struct tmpl *t)
{
    char err[256];

    x->env.ncaps = x->caps_before;
    if (!tmpl_compile_env(t, src, len, &x->env, err, sizeof(err)))
        return 0;
    /* a name captured by this step or a later one is a reference too early */
    for (uint32_t i = x->caps_before; i < x->f->ncaps; i++) {
        char pat[80];

        snprintf(pat, sizeof(pat), "'%s'", x->f->cap_names[i]);
        if (strstr(err, pat) && strstr(err, "unknown variable")) {
            sc_err_node(x->c, n, "%s: {{%s}} is captured by step '%s', which does not run "
                        "before this one", what, x->f->cap_names[i], x->cap_step[i]);
            return -1;
        }
    }
    sc_err_node(x->c, n, "%s: %s", what, err);
    return -1;
}

/* ---- captures and checks --------------------------------------------------------- */

static int sc_cap_slot(struct sc_flow_ctx *x, const char *name, const char *step)
{
    for (uint32_t i = 0; i < x->f->ncaps; i++)
        if (!strcmp(x->f->cap_names[i], name))
            return (int)i;
    if (x->f->ncaps == FLOW_MAX_CAPS)
        return -1;
    x->f->cap_names[x->f->ncaps] = strdup(name);
    x->cap_step[x->f->ncaps] = step;
    return (int)x->f->ncaps++;
}


/* A capture refused after its expression was copied: not counted, so the
 * flow's cleanup would never see it. */
static void sc_cap_drop(struct flow_cap *cap)
{
    free(cap->expr);
    cap->expr = NULL;
}
static void sc_capture(struct sc_flow_ctx *x, struct flow_step *st, struct fy_node *map)
{
    struct sc *c = x->c;
    struct fy_node_pair *p;
    void *it = NULL;

    if (!sc_is(map, FYNT_MAPPING)) {
        sc_err_node(c, map, "capture: expected NAME: {json: FIELD} | {header: NAME} | "
                    "{regex: RE}");
        return;
    }
    while ((p = fy_node_mapping_iterate(map, &it))) {
        static const char *const keys[] = {"json", "header", "regex", NULL};
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *name = sc_str(c, k, "capture name");
        struct flow_cap *cap = &st->caps[st->ncaps];
        struct sc_val e;
        char err[256];
        int slot;

        if (!name || !sc_keys(c, v, "a capture", keys))
            continue;
        if (fy_node_mapping_item_count(v) != 1) {
            sc_err_node(c, v, "capture '%s': give exactly one of json, header, regex", name);
            continue;
        }
        if (!strcmp(name, "conn") || !strcmp(name, "seq") || !strcmp(name, "ts") ||
            !strcmp(name, "rand")) {
            sc_err_node(c, k, "capture name '%s' is a built-in variable", name);
            continue;
        }
        slot = sc_cap_slot(x, name, st->name);
        if (slot < 0 || st->ncaps == FLOW_MAX_CAPS) {
            sc_err_node(c, k, "too many captures (max %d)", FLOW_MAX_CAPS);
            continue;
        }
        cap->slot = (uint8_t)slot;
        if (sc_get(c, v, "", "json", &e)) {
            cap->src = FLOW_CAP_JSON;
            cap->expr = strdup(e.s);
            if (jscan_compile(&cap->path, cap->expr, err, sizeof(err))) {
                sc_err(c, &e.at, "capture '%s': bad JSON path '%s': %s", name, e.s, err);
                sc_cap_drop(cap);
                continue;
            }
        } else if (sc_get(c, v, "", "header", &e)) {
            cap->src = FLOW_CAP_HEADER;
            cap->expr = strdup(e.s);
        } else if (sc_get(c, v, "", "regex", &e)) {
            int rc;

            cap->src = FLOW_CAP_REGEX;
            cap->expr = strdup(e.s);
            rc = regcomp(&cap->re, e.s, REG_EXTENDED);
            if (rc) {
                regerror(rc, &cap->re, err, sizeof(err));
                sc_err(c, &e.at, "capture '%s': bad regex '%s': %s", name, e.s, err);
                sc_cap_drop(cap);
                continue;
            }
            cap->re_ok = true;
        } else {
            continue;
        }
        st->keep_body = true;
        st->ncaps++;
    }
}

static struct flow_check *sc_check_new(struct sc_flow_ctx *x, struct flow_step *st,
                                       struct fy_node *n, const char *fmt, const char *arg)
{
    struct flow_check *k;
    char name[256];

    if (x->f->nchecks == FLOW_MAX_CHECKS) {
        sc_err_node(x->c, n, "too many checks (max %d)", FLOW_MAX_CHECKS);
        return NULL;
    }
    k = &st->checks[st->nchecks++];
    k->id = (uint16_t)x->f->nchecks;
    snprintf(name, sizeof(name), "%s: ", st->name);
    snprintf(name + strlen(name), sizeof(name) - strlen(name), fmt, arg);
    x->f->check_names[x->f->nchecks++] = strdup(name);
    return k;
}

static void sc_check_status(struct sc_flow_ctx *x, struct flow_step *st, struct fy_node *v)
{
    struct flow_check *k = sc_check_new(x, st, v, "status %s", "");
    struct fy_node *e = v;
    void *it = NULL;
    char list[128] = "";

    if (!k)
        return;
    k->kind = FLOW_CHK_STATUS;
    if (sc_is(v, FYNT_SEQUENCE))
        e = fy_node_sequence_iterate(v, &it);
    for (; e; e = sc_is(v, FYNT_SEQUENCE) ? fy_node_sequence_iterate(v, &it) : NULL) {
        const char *s = sc_str(x->c, e, "status");
        char *end;
        long code = s ? strtol(s, &end, 10) : 0;

        if (!s)
            return;
        if (*end || code < 100 || code > 999 || k->nstatus == FLOW_CHK_STATUSES) {
            sc_err_node(x->c, e, "check status: expected an HTTP status 100-999 (or a list of "
                        "at most %d), not '%s'", FLOW_CHK_STATUSES, s);
            return;
        }
        k->status[k->nstatus++] = (int)code;
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%ld",
                 k->nstatus > 1 ? "|" : "", code);
    }
    {
        char name[256];

        snprintf(name, sizeof(name), "%s: status is %s", st->name, list);
        free(x->f->check_names[k->id]);
        x->f->check_names[k->id] = strdup(name);
    }
}

static void sc_check(struct sc_flow_ctx *x, struct flow_step *st, struct fy_node *map)
{
    static const char *const keys[] = {"status", "body_contains", "json", "duration", "header",
                                       NULL};
    struct sc *c = x->c;
    struct flow_check *k;
    struct fy_node *n;
    struct sc_val v;
    char err[256];

    if (!sc_keys(c, map, "check", keys))
        return;
    st->checks = calloc(FLOW_MAX_CHECKS, sizeof(*st->checks));
    if (!st->checks)
        return;
    if ((n = fy_node_mapping_lookup_by_string(map, "status", FY_NT)))
        sc_check_status(x, st, n);
    if (sc_get(c, map, "", "body_contains", &v) &&
        (k = sc_check_new(x, st, v.node, "body contains '%s'", v.s))) {
        k->kind = FLOW_CHK_CONTAINS;
        k->text = strdup(v.s);
        k->text_len = (uint32_t)strlen(v.s);
        st->keep_body = true;
    }
    if (sc_get(c, map, "", "header", &v) &&
        (k = sc_check_new(x, st, v.node, "header %s present", v.s))) {
        k->kind = FLOW_CHK_HEADER;
        k->text = strdup(v.s);
        k->text_len = (uint32_t)strlen(v.s);
        st->keep_body = true;
    }
    if (sc_get(c, map, "", "duration", &v)) {
        const char *d = v.s + (v.s[0] == '<') + (v.s[0] == '<' && v.s[1] == '=');
        uint64_t ns;

        while (*d == ' ')
            d++;
        if (!sc_duration(d, &ns) || !ns)
            sc_err(c, &v.at, "check duration: expected e.g. '<200ms', not '%s'", v.s);
        else if ((k = sc_check_new(x, st, v.node, "duration < %s", d))) {
            k->kind = FLOW_CHK_DURATION;
            k->max_ns = ns;
        }
    }
    if ((n = fy_node_mapping_lookup_by_string(map, "json", FY_NT))) {
        struct fy_node_pair *p;
        void *it = NULL;

        if (!sc_is(n, FYNT_MAPPING)) {
            sc_err_node(c, n, "check json: expected FIELD: VALUE pairs");
            return;
        }
        while ((p = fy_node_mapping_iterate(n, &it))) {
            const char *path = sc_str(c, fy_node_pair_key(p), "JSON field");
            const char *want = sc_str(c, fy_node_pair_value(p), "JSON value");
            char label[300];

            if (!path || !want)
                continue;
            snprintf(label, sizeof(label), "%s == %s", path, want);
            k = sc_check_new(x, st, fy_node_pair_key(p), "json %s", label);
            if (!k)
                return;
            k->kind = FLOW_CHK_JSON;
            k->path_src = strdup(path);
            k->text = strdup(want);
            k->text_len = (uint32_t)strlen(want);
            if (jscan_compile(&k->path, k->path_src, err, sizeof(err)))
                sc_err_node(c, fy_node_pair_key(p), "check json: bad field '%s': %s", path, err);
            st->keep_body = true;
        }
    }
}

/* ---- requests ------------------------------------------------------------------------ */

static bool sc_think(struct sc *c, struct flow_step *st, struct sc_val *v)
{
    const char *dots = strstr(v->s, "..");
    char lo[64];

    st->kind = FLOW_STEP_THINK;
    if (!dots) {
        if (!sc_duration(v->s, &st->think_min_ns))
            goto bad;
        st->think_max_ns = st->think_min_ns;
        return true;
    }
    snprintf(lo, sizeof(lo), "%.*s", (int)(dots - v->s), v->s);
    if (!sc_duration(lo, &st->think_min_ns) || !sc_duration(dots + 2, &st->think_max_ns) ||
        st->think_max_ns < st->think_min_ns)
        goto bad;
    return true;
bad:
    sc_err(c, &v->at, "think: expected a duration (1s) or a range (500ms..2s), not '%s'", v->s);
    return false;
}

/* The method and path: method + path keys, or one of get: post: ... */
static bool sc_method_path(struct sc *c, struct fy_node *map, const char **method,
                           struct sc_val *path)
{
    static const char *const verbs[] = {"get", "post", "put", "patch", "delete", "head"};
    static const char *const upper[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};
    struct sc_val m;
    int n = 0;

    *method = NULL;
    for (size_t i = 0; i < 6; i++)
        if (sc_get(c, map, "", verbs[i], &m)) {
            *path = m;
            *method = upper[i];
            n++;
        }
    if (n > 1) {
        sc_err_node(c, map, "a step has one of get/post/put/patch/delete/head");
        return false;
    }
    if (!n) {
        if (!sc_get(c, map, "", "path", path)) {
            sc_err_node(c, map, "a step needs a request (get: /path, post: /path, or method + "
                        "path) or think: DURATION");
            return false;
        }
        *method = sc_get(c, map, "", "method", &m) ? m.s : "GET";
    } else if (sc_get(c, map, "", "path", &m) || sc_get(c, map, "", "method", &m)) {
        sc_err(c, &m.at, "give either %s: PATH or method + path, not both", *method);
        return false;
    }
    return true;
}

static void sc_hdr_append(char *head, size_t cap, size_t *len, const char *k, const char *v)
{
    *len += (size_t)snprintf(head + *len, *len < cap ? cap - *len : 0, "%s: %s\r\n", k, v);
}

static bool sc_has_header(const struct plan *p, struct fy_node *hdrs, const char *name)
{
    for (size_t i = 0; i < p->nheaders; i++)
        if (!strcasecmp(p->headers[i].name, name))
            return true;
    if (!sc_is(hdrs, FYNT_MAPPING))
        return false;
    struct fy_node_pair *q;
    void *it = NULL;

    while ((q = fy_node_mapping_iterate(hdrs, &it)))
        if (!strcasecmp(fy_node_get_scalar0(fy_node_pair_key(q)) ?: "", name))
            return true;
    return false;
}

/* The body: body (text), json (a YAML value sent as JSON) or body_file. */
static char *sc_body(struct sc_flow_ctx *x, struct fy_node *map, bool *is_json, struct fy_node **at)
{
    struct sc *c = x->c;
    struct fy_node *j = fy_node_mapping_lookup_by_string(map, "json", FY_NT);
    struct sc_val v;
    int n = 0;
    char *body = NULL;

    *is_json = false;
    if (sc_get(c, map, "", "body", &v)) {
        body = strdup(v.s);
        *at = v.node;
        n++;
    }
    if (j) {
        free(body);
        body = fy_emit_node_to_string(j, FYECF_MODE_JSON_ONELINE | FYECF_NO_ENDING_NEWLINE);
        *is_json = true;
        *at = j;
        n++;
    }
    if (sc_get(c, map, "", "body_file", &v)) {
        char path[1024];
        size_t len;

        free(body);
        body = NULL;
        sc_rel(c, v.s, path, sizeof(path));
        if (units_read_file(path, 16 << 20, &body, &len)) {
            sc_err(c, &v.at, "body_file '%s': cannot read", path);
            return NULL;
        }
        *at = v.node;
        n++;
    }
    if (n > 1) {
        sc_err_node(c, map, "give one of body, json, body_file");
        free(body);
        return NULL;
    }
    return body;
}

static void sc_request(struct sc_flow_ctx *x, struct flow_step *st, struct fy_node *map)
{
    struct sc *c = x->c;
    const struct plan *p = x->p;
    struct fy_node *hdrs = fy_node_mapping_lookup_by_string(map, "headers", FY_NT), *bat = map;
    const char *method;
    struct sc_val path;
    char head[16384];
    size_t len = 0;
    bool is_json;
    char *body;

    if (!sc_method_path(c, map, &method, &path))
        return;
    if (path.s[0] != '/') {
        sc_err(c, &path.at, "path '%s': must start with '/'", path.s);
        return;
    }
    len = (size_t)snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\n", method, path.s);
    if (!sc_has_header(p, hdrs, "Host"))
        sc_hdr_append(head, sizeof(head), &len, "Host", p->host_header);
    for (size_t i = 0; i < p->nheaders; i++)
        sc_hdr_append(head, sizeof(head), &len, p->headers[i].name, p->headers[i].value);
    if (hdrs) {
        struct fy_node_pair *q;
        void *it = NULL;

        if (!sc_is(hdrs, FYNT_MAPPING)) {
            sc_err_node(c, hdrs, "headers: expected a mapping of header names to values");
            return;
        }
        while ((q = fy_node_mapping_iterate(hdrs, &it))) {
            const char *k = sc_str(c, fy_node_pair_key(q), "header name");
            const char *v = sc_str(c, fy_node_pair_value(q), "header value");

            if (!k || !v)
                return;
            if (strpbrk(k, " \t\r\n:") || strpbrk(v, "\r\n") || !strcasecmp(k, "Content-Length")) {
                sc_err_node(c, fy_node_pair_key(q), "header '%s': not a valid header (or "
                            "Content-Length, which is set from the body)", k);
                return;
            }
            sc_hdr_append(head, sizeof(head), &len, k, v);
        }
    }
    body = sc_body(x, map, &is_json, &bat);
    if (is_json && !sc_has_header(p, hdrs, "Content-Type"))
        sc_hdr_append(head, sizeof(head), &len, "Content-Type", "application/json");
    if (len >= sizeof(head)) {
        sc_err_node(c, map, "request head too large");
        free(body);
        return;
    }
    st->head_req = !strcmp(method, "HEAD");
    st->send_length = body || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
                      !strcmp(method, "PATCH");
    if (!sc_tmpl(x, path.node ? path.node : map, "request", head, len, &st->head) &&
        sc_tmpl(x, bat, "body", body ? body : "", body ? strlen(body) : 0, &st->body) == 0) {
        size_t need = tmpl_max_len(&st->head) + tmpl_max_len(&st->body) + 64;

        if (need > x->f->req_max)
            x->f->req_max = (uint32_t)need;
    }
    free(body);
}

/* ---- the CSV feeder ---------------------------------------------------------------------- */

static int sc_csv_split(char *line, struct tmpl_str *out, uint32_t max)
{
    uint32_t n = 0;
    char *s = line;

    for (;;) {
        char *comma = strchr(s, ',');

        if (n == max)
            return -1;
        out[n].ptr = s;
        out[n].len = (uint32_t)(comma ? (size_t)(comma - s) : strlen(s));
        n++;
        if (!comma)
            return (int)n;
        *comma = 0;
        s = comma + 1;
    }
}

static void sc_data(struct sc_flow_ctx *x, struct fy_node *map)
{
    static const char *const keys[] = {"file", "mode", NULL};
    struct sc *c = x->c;
    struct flow_data *d = &x->f->data;
    struct sc_val file, mode;
    struct tmpl_str hdr[64];
    char path[1024], *line, *save = NULL;
    size_t len;
    int nh;

    if (!sc_keys(c, map, "data", keys) || !sc_get(c, map, "", "file", &file)) {
        if (!c->nerr)
            sc_err_node(c, map, "data needs 'file: users.csv'");
        return;
    }
    d->per_conn = true;
    if (sc_get(c, map, "", "mode", &mode)) {
        if (strcmp(mode.s, "per-connection") && strcmp(mode.s, "round-robin")) {
            sc_err(c, &mode.at, "data mode: per-connection or round-robin, not '%s'", mode.s);
            return;
        }
        d->per_conn = !strcmp(mode.s, "per-connection");
    }
    sc_rel(c, file.s, path, sizeof(path));
    if (units_read_file(path, 256 << 20, &d->text, &len)) {
        sc_err(c, &file.at, "data file '%s': cannot read", path);
        return;
    }
    {
        char *t = realloc(d->text, len + 1); /* NUL-terminated for strtok */

        if (!t) {
            sc_err(c, &file.at, "out of memory");
            return;
        }
        t[len] = 0;
        d->text = t;
    }
    line = strtok_r(d->text, "\r\n", &save);
    nh = line ? sc_csv_split(line, hdr, 64) : -1;
    if (nh <= 0) {
        sc_err(c, &file.at, "data file '%s': expected a header row of column names", path);
        return;
    }
    d->ncols = (uint32_t)nh;
    d->names = calloc((size_t)nh, sizeof(char *));
    for (int i = 0; i < nh; i++)
        d->names[i] = sc_dup(hdr[i].ptr, hdr[i].len);
    /* rows: count, then fill */
    size_t cap = 1024;

    d->cells = malloc(cap * d->ncols * sizeof(*d->cells));
    while (d->cells && (line = strtok_r(NULL, "\r\n", &save))) {
        if (d->nrows == cap) {
            struct tmpl_str *g = realloc(d->cells, 2 * cap * d->ncols * sizeof(*d->cells));

            if (!g)
                break;
            d->cells = g;
            cap *= 2;
        }
        if (sc_csv_split(line, d->cells + (size_t)d->nrows * d->ncols, d->ncols) != (int)d->ncols) {
            sc_err(c, &file.at, "data file '%s': row %u has not %u columns (no quoting: "
                   "values hold no commas)", path, d->nrows + 2, d->ncols);
            return;
        }
        for (uint32_t i = 0; i < d->ncols; i++) {
            struct tmpl_str *cell = &d->cells[(size_t)d->nrows * d->ncols + i];

            if (cell->len > x->env.str_max)
                x->env.str_max = cell->len;
        }
        d->nrows++;
    }
    if (!d->nrows)
        sc_err(c, &file.at, "data file '%s': no rows after the header", path);
    x->env.cols = (const char *const *)d->names;
    x->env.ncols = d->ncols;
}

/* ---- the flow ---------------------------------------------------------------------------- */

static void sc_step_name(struct sc *c, struct fy_node *map, struct flow_step *st, uint32_t i)
{
    struct sc_val v;
    char def[32];

    if (sc_get(c, map, "", "name", &v)) {
        if (!sc_name_ok(v.s))
            sc_err(c, &v.at, "step name '%s': use letters, digits, '_' and '-'", v.s);
        st->name = strdup(v.s);
        return;
    }
    snprintf(def, sizeof(def), "step%u", i + 1);
    st->name = strdup(def);
}

/* First pass: names and captures, so templates can tell "too early" from
 * "unknown". */
static void sc_steps_pass1(struct sc_flow_ctx *x, struct fy_node *steps)
{
    struct fy_node *e;
    void *it = NULL;
    uint32_t i = 0;

    while ((e = fy_node_sequence_iterate(steps, &it))) {
        struct flow_step *st = &x->f->steps[i];
        struct fy_node *cap;

        if (i == FLOW_MAX_STEPS) {
            sc_err_node(x->c, e, "too many steps (max %d)", FLOW_MAX_STEPS);
            return;
        }
        if (!sc_keys(x->c, e, "a step", step_keys))
            continue;
        sc_step_name(x->c, e, st, i);
        for (uint32_t j = 0; j < i; j++)
            if (x->f->steps[j].name && !strcmp(x->f->steps[j].name, st->name))
                sc_err_node(x->c, e, "step name '%s' used twice", st->name);
        if ((cap = fy_node_mapping_lookup_by_string(e, "capture", FY_NT)) &&
            sc_is(cap, FYNT_MAPPING)) {
            struct fy_node_pair *p;
            void *it2 = NULL;

            while ((p = fy_node_mapping_iterate(cap, &it2)))
                sc_cap_slot(x, fy_node_get_scalar0(fy_node_pair_key(p)) ?: "?", st->name);
        }
        i++;
    }
    x->f->nsteps = i;
}

int sc_flow(struct sc *c, struct scenario *s, struct fy_node *steps, struct fy_node *data,
            const char *prefix)
{
    struct flow *f = calloc(1, sizeof(*f));
    struct sc_flow_ctx x = {.c = c, .f = f, .p = &s->plan};
    struct fy_node *e;
    void *it = NULL;
    uint32_t i = 0, nerr = (uint32_t)c->nerr;

    (void)prefix;
    if (!f)
        return -1;
    s->flow = f;
    s->plan.flow = f;
    x.env.caps = (const char *const *)f->cap_names;
    x.env.str_max = FLOW_CAP_LEN;
    if (!sc_is(steps, FYNT_SEQUENCE) || !fy_node_sequence_item_count(steps)) {
        sc_err_node(c, steps, "steps: expected a list of steps");
        return -1;
    }
    if (data)
        sc_data(&x, data);
    sc_steps_pass1(&x, steps);
    if ((uint32_t)c->nerr != nerr)
        return -1;
    /* second pass: captures in order; x.caps_before grows step by step */
    while ((e = fy_node_sequence_iterate(steps, &it)) && i < f->nsteps) {
        struct flow_step *st = &f->steps[i++];
        struct fy_node *n;
        struct sc_val v;

        if (sc_get(c, e, "", "think", &v)) {
            if (fy_node_mapping_item_count(e) > 1 + (fy_node_mapping_lookup_by_string(e, "name",
                                                                                     FY_NT) != NULL))
                sc_err(c, &v.at, "a think step has only think (and name)");
            else
                sc_think(c, st, &v);
            continue;
        }
        st->kind = FLOW_STEP_HTTP;
        st->idx = f->nhttp;
        f->step_names[f->nhttp++] = st->name;
        sc_request(&x, st, e);
        if ((n = fy_node_mapping_lookup_by_string(e, "check", FY_NT)))
            sc_check(&x, st, n);
        if ((n = fy_node_mapping_lookup_by_string(e, "capture", FY_NT)))
            sc_capture(&x, st, n);
        f->keep_body |= st->keep_body;
        /* captures of this step are visible to the next ones */
        for (uint32_t k = 0; k < st->ncaps; k++)
            if (st->caps[k].slot + 1u > x.caps_before)
                x.caps_before = st->caps[k].slot + 1u;
    }
    if (!f->nhttp)
        sc_err_node(c, steps, "steps: no request (only think times)");
    if (s->plan.open_loop && s->plan.pipeline > 1)
        sc_err_node(c, steps, "steps run one request at a time: pipeline does not apply");
    if (s->plan.requests)
        sc_err_node(c, steps, "steps count iterations: bound the run with duration, not "
                    "requests");
    f->session = s->plan.reconnect;
    return (uint32_t)c->nerr == nerr ? 0 : -1;
}

/* ---- WebSocket steps ----------------------------------------------------------------------- */

static const char *const ws_step_keys[] = {"name", "ws_connect", "send", "expect", "loop",
                                           NULL};

static void sc_ws_expect(struct sc *c, struct fy_node *n, struct sc_args *a, char *metric,
                         size_t mlen)
{
    static const char *const keys[] = {"echo", "contains", "json", "timeout", "metric", NULL};
    struct sc_val v;
    struct fy_node *j;

    if (!sc_keys(c, n, "expect", keys))
        return;
    if (sc_get(c, n, "", "timeout", &v))
        sc_arg(a, "--timeout", v.s, &v.at);
    if (sc_get(c, n, "", "metric", &v)) {
        bool good = strlen(v.s) < mlen && strlen(v.s) > 0;

        for (const char *q = v.s; *q; q++)
            good &= *q == '_' || (unsigned)((*q | 32) - 'a') < 26u || (unsigned)(*q - '0') < 10u;
        if (!good)
            sc_err(c, &v.at, "metric name '%s': letters, digits and '_', at most %zu", v.s,
                   mlen - 1);
        else
            snprintf(metric, mlen, "%s", v.s);
    }
    if (sc_get(c, n, "", "contains", &v))
        sc_arg(a, "--ws-expect-contains", v.s, &v.at);
    if ((j = fy_node_mapping_lookup_by_string(n, "json", FY_NT))) {
        struct fy_node_pair *p;
        void *it = NULL;

        if (!sc_is(j, FYNT_MAPPING) || fy_node_mapping_item_count(j) != 1) {
            sc_err_node(c, j, "expect json: one FIELD: VALUE pair");
            return;
        }
        p = fy_node_mapping_iterate(j, &it);
        const char *k = sc_str(c, fy_node_pair_key(p), "JSON field");
        const char *val = sc_str(c, fy_node_pair_value(p), "JSON value");
        struct sc_pos at = {0};
        char both[1024];

        if (!k || !val)
            return;
        sc_mark(fy_node_pair_key(p), &at);
        snprintf(both, sizeof(both), "%s=%s", k, val);
        sc_arg(a, "--ws-expect-json", both, &at);
    }
    if (sc_get(c, n, "", "echo", &v) && strcmp(v.s, "true") && strcmp(v.s, "false"))
        sc_err(c, &v.at, "echo: true or false, not '%s'", v.s);
}

struct ws_shape {
    int connect, send, expect, loop;
};

static void sc_ws_list(struct sc *c, struct fy_node *steps, struct sc_args *a, char *path,
                       size_t plen, char *metric, size_t mlen, struct ws_shape *sh, bool inner)
{
    struct fy_node *e;
    void *it = NULL;

    while ((e = fy_node_sequence_iterate(steps, &it))) {
        struct sc_val v;
        struct fy_node *n;

        if (!sc_keys(c, e, "a WebSocket step", ws_step_keys))
            continue;
        if (sc_get(c, e, "", "ws_connect", &v)) {
            if (inner || sh->connect++ || sh->send) {
                sc_err(c, &v.at, "ws_connect comes once, first");
                continue;
            }
            if (v.s[0] != '/') {
                sc_err(c, &v.at, "ws_connect: a path starting with '/', not '%s'", v.s);
                continue;
            }
            snprintf(path, plen, "%s", v.s);
        } else if (sc_get(c, e, "", "send", &v)) {
            if (sh->send++) {
                sc_err(c, &v.at, "WebSocket steps send one message (repeated by a loop); a "
                       "second send is not supported");
                continue;
            }
            sc_arg(a, "--ws-msg", v.s, &v.at);
        } else if ((n = fy_node_mapping_lookup_by_string(e, "expect", FY_NT))) {
            if (!sh->send || sh->expect++) {
                sc_err_node(c, n, "expect follows the send it answers, once");
                continue;
            }
            sc_ws_expect(c, n, a, metric, mlen);
        } else if ((n = fy_node_mapping_lookup_by_string(e, "loop", FY_NT))) {
            static const char *const keys[] = {"period", "steps", NULL};
            struct fy_node *inner_steps;
            char rate[80];

            if (inner || sh->loop++ || sh->send) {
                sc_err_node(c, n, "one loop, holding the send (and expect)");
                continue;
            }
            if (!sc_keys(c, n, "loop", keys))
                continue;
            if (sc_get(c, n, "", "period", &v)) {
                uint64_t ns;

                if (!sc_duration(v.s, &ns) || !ns) {
                    sc_err(c, &v.at, "loop period: expected a duration like 1s, not '%s'", v.s);
                    continue;
                }
                snprintf(rate, sizeof(rate), "1/%s", v.s);
                sc_arg(a, "--ws-rate", rate, &v.at);
            }
            inner_steps = fy_node_mapping_lookup_by_string(n, "steps", FY_NT);
            if (!sc_is(inner_steps, FYNT_SEQUENCE)) {
                sc_err_node(c, n, "loop needs steps: [send, expect]");
                continue;
            }
            sc_ws_list(c, inner_steps, a, path, plen, metric, mlen, sh, true);
        } else {
            sc_err_node(c, e, "a WebSocket step is one of ws_connect, send, expect, loop");
        }
    }
}

int sc_ws_steps(struct sc *c, struct fy_node *steps, struct sc_args *a, char *path, size_t plen,
                char *metric, size_t mlen)
{
    struct ws_shape sh = {0};
    int nerr = c->nerr;

    if (!sc_is(steps, FYNT_SEQUENCE)) {
        sc_err_node(c, steps, "steps: expected a list of steps");
        return -1;
    }
    sc_ws_list(c, steps, a, path, plen, metric, mlen, &sh, false);
    if (!sh.send && c->nerr == nerr)
        sc_err_node(c, steps, "WebSocket steps need a send");
    return c->nerr == nerr ? 0 : -1;
}

int sc_ws_path(struct sc *c, struct scenario *s, const char *path, const struct sc_pos *at)
{
    struct tmpl *t = calloc(1, sizeof(*t));
    char err[256];

    if (!t)
        return -1;
    if (tmpl_compile_env(t, path, strlen(path), &(struct tmpl_env){0}, err, sizeof(err))) {
        sc_err(c, at, "ws_connect path: %s", err);
        free(t);
        return -1;
    }
    if (strpbrk(path, " \t\r\n") && !strstr(path, "{{")) {
        sc_err(c, at, "ws_connect path: no spaces");
        tmpl_free(t);
        free(t);
        return -1;
    }
    s->plan.ws_path_tmpl = t;
    return 0;
}
