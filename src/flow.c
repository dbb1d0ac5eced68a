/*
 * flow.c - the multi-step HTTP flow protocol (scenario steps); see flow.h.
 *
 * One request in flight per connection: step i's response is parsed, its
 * checks counted and its captures copied into the connection's slots
 * before step i + 1 is rendered. Per connection the state is a struct
 * fconn with two buffers allocated once per worker: the rendered request
 * (flow->req_max) and, when any step reads its response, the response
 * bytes (up to FLOW_BODY_MAX; a longer response is judged on its first
 * FLOW_BODY_MAX bytes). Nothing is allocated per request.
 *
 * Load: closed loop starts the next iteration when the previous one ends;
 * open loop (rate executors) hands the connection to the dispatcher
 * between iterations, and an arrival starts an iteration: the rate counts
 * iterations. A failure (no response, or the connection lost mid-flow)
 * abandons the iteration (iterations_failed) and the connection starts
 * over from step 1.
 */
#include "flow.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conn.h"
#include "load.h"
#include "worker.h"
#include "wsc.h"

struct fconn {
    uint32_t step;       /* next step to run, or the one in flight */
    bool in_iter;        /* an iteration is under way */
    bool thinking;       /* waiting for next_ns (a think step) */
    bool truncated;      /* the response did not fit in body[] */
    uint64_t iter_start; /* intended start of the iteration */
    uint64_t seq;        /* iterations begun on this connection: {{seq}} */
    uint32_t row;        /* data row for this iteration */
    uint32_t body_len;
    char *req;
    char *body;          /* [FLOW_BODY_MAX + 1] */
    char *capbuf;        /* [ncaps * FLOW_CAP_LEN] */
    struct tmpl_str caps[FLOW_MAX_CAPS];
};

static struct fconn *fc_of(const struct conn *c)
{
    return &((struct fconn *)c->w->flow_state)[c->slot];
}

/* ---- statistics ------------------------------------------------------------------- */

struct flow_stats *flow_stats_new(const struct flow *f)
{
    struct flow_stats *s = calloc(1, sizeof(*s));
    uint32_t nh = f->nhttp ? f->nhttp : 1, nc = f->nchecks ? f->nchecks : 1;

    if (!s)
        return NULL;
    s->nhttp = f->nhttp;
    s->nchecks = f->nchecks;
    s->step_requests = calloc(nh, sizeof(uint64_t));
    s->step_responses = calloc(nh, sizeof(uint64_t));
    s->step_errors = calloc(nh, sizeof(uint64_t));
    s->step_bad = calloc(nh, sizeof(uint64_t));
    s->step_duration = calloc(nh, sizeof(struct hist));
    s->check_pass = calloc(nc, sizeof(uint64_t));
    s->check_fail = calloc(nc, sizeof(uint64_t));
    if (!s->step_requests || !s->step_responses || !s->step_errors || !s->step_bad ||
        !s->step_duration || !s->check_pass || !s->check_fail) {
        flow_stats_free(s);
        return NULL;
    }
    flow_stats_reset(s);
    return s;
}

void flow_stats_free(struct flow_stats *s)
{
    if (!s)
        return;
    free(s->step_requests);
    free(s->step_responses);
    free(s->step_errors);
    free(s->step_bad);
    free(s->step_duration);
    free(s->check_pass);
    free(s->check_fail);
    free(s);
}

void flow_stats_reset(struct flow_stats *s)
{
    s->iterations = s->iterations_failed = s->captures_missed = 0;
    hist_init(&s->iteration_duration);
    for (uint32_t i = 0; i < s->nhttp; i++) {
        s->step_requests[i] = s->step_responses[i] = s->step_errors[i] = s->step_bad[i] = 0;
        hist_init(&s->step_duration[i]);
    }
    for (uint32_t i = 0; i < s->nchecks; i++)
        s->check_pass[i] = s->check_fail[i] = 0;
}

void flow_stats_merge(struct flow_stats *d, const struct flow_stats *s)
{
    d->iterations += s->iterations;
    d->iterations_failed += s->iterations_failed;
    d->captures_missed += s->captures_missed;
    hist_merge(&d->iteration_duration, &s->iteration_duration);
    for (uint32_t i = 0; i < d->nhttp && i < s->nhttp; i++) {
        d->step_requests[i] += s->step_requests[i];
        d->step_responses[i] += s->step_responses[i];
        d->step_errors[i] += s->step_errors[i];
        d->step_bad[i] += s->step_bad[i];
        hist_merge(&d->step_duration[i], &s->step_duration[i]);
    }
    for (uint32_t i = 0; i < d->nchecks && i < s->nchecks; i++) {
        d->check_pass[i] += s->check_pass[i];
        d->check_fail[i] += s->check_fail[i];
    }
}

void flow_free(struct flow *f)
{
    for (uint32_t i = 0; i < f->nsteps; i++) {
        struct flow_step *st = &f->steps[i];

        free(st->name);
        tmpl_free(&st->head);
        tmpl_free(&st->body);
        for (uint32_t k = 0; k < st->ncaps; k++) {
            free(st->caps[k].expr);
            if (st->caps[k].re_ok)
                regfree(&st->caps[k].re);
        }
        for (uint32_t k = 0; st->checks && k < st->nchecks; k++) {
            free(st->checks[k].text);
            free(st->checks[k].path_src);
        }
        free(st->checks);
    }
    for (uint32_t i = 0; i < f->ncaps; i++)
        free(f->cap_names[i]);
    for (uint32_t i = 0; i < f->nchecks; i++)
        free(f->check_names[i]);
    for (uint32_t i = 0; i < f->data.ncols; i++)
        free(f->data.names[i]);
    free(f->data.names);
    free(f->data.cells);
    free(f->data.text);
}

/* ---- per-worker state --------------------------------------------------------------- */

int flow_pool_init(struct worker *w)
{
    const struct flow *f = w->plan->flow;
    size_t per = f->req_max + (f->keep_body ? FLOW_BODY_MAX + 1 : 0) +
                 (size_t)f->ncaps * FLOW_CAP_LEN;
    struct fconn *fc = calloc(w->nconns ? w->nconns : 1, sizeof(*fc));
    char *mem = calloc(w->nconns ? w->nconns : 1, per ? per : 1);

    if (!fc || !mem) {
        free(fc);
        free(mem);
        return -1;
    }
    for (uint32_t i = 0; i < w->nconns; i++) {
        char *m = mem + (size_t)i * per;

        fc[i].req = m;
        fc[i].body = f->keep_body ? m + f->req_max : NULL;
        fc[i].capbuf = m + f->req_max + (f->keep_body ? FLOW_BODY_MAX + 1 : 0);
    }
    w->flow_state = fc;
    w->flow_mem = mem;
    return 0;
}

void flow_pool_fini(struct worker *w)
{
    free(w->flow_state);
    free(w->flow_mem);
    w->flow_state = NULL;
    w->flow_mem = NULL;
}

/* ---- iterations ------------------------------------------------------------------------ */

static struct flow_stats *fs_of(struct worker *w)
{
    return w->stats.flow;
}

/* Round robin over the rows (a shard's own slice of them, shard.h). */
static uint32_t flow_rr_row(struct worker *w)
{
    const struct plan *p = w->plan;
    uint32_t n = p->row_count ? p->row_count : p->flow->data.nrows;

    return p->row_base + (uint32_t)((w->flow_rr++ * p->threads + w->id) % n);
}

static void flow_iter_begin(struct conn *c, uint64_t intended)
{
    struct worker *w = c->w;
    const struct flow *f = w->plan->flow;
    struct fconn *fc = fc_of(c);

    fc->in_iter = true;
    fc->step = 0;
    fc->iter_start = intended;
    fc->seq++;
    if (f->data.nrows)
        fc->row = f->data.per_conn ? (uint32_t)(wsc_conn_id(c) % f->data.nrows) : flow_rr_row(w);
    for (uint32_t i = 0; i < f->ncaps; i++)
        fc->caps[i] = (struct tmpl_str){fc->capbuf + (size_t)i * FLOW_CAP_LEN, 0};
    if (w->plan->open_loop && w->in_run && intended >= w->run_start_ns) {
        hist_record(&w->stats.send_lag, w->now > intended ? w->now - intended : 0);
        series_record_lag(w->series, w->now > intended ? w->now - intended : 0);
    }
}

/* The iteration ended: all steps answered (ok) or abandoned. */
static void flow_iter_end(struct conn *c, bool ok)
{
    struct worker *w = c->w;
    struct fconn *fc = fc_of(c);

    if (!fc->in_iter)
        return;
    fc->in_iter = false;
    fc->thinking = false;
    if (w->in_run && fc->iter_start >= w->run_start_ns) {
        if (ok) {
            fs_of(w)->iterations++;
            hist_record(&fs_of(w)->iteration_duration, w->now - fc->iter_start);
        } else {
            fs_of(w)->iterations_failed++;
        }
    }
    if (ok && w->plan->flow->session) {
        /* reconnect executor: one iteration per session */
        c->flags |= CONN_F_DONE;
        conn_close(c, false);
    }
}

/* Render step st of c's iteration into fc->req; returns the length. */
static uint32_t flow_render(struct conn *c, const struct flow_step *st)
{
    struct worker *w = c->w;
    const struct flow *f = w->plan->flow;
    struct fconn *fc = fc_of(c);
    struct tmpl_vals v = {
        .conn = wsc_conn_id(c), .seq = fc->seq, .ts = w->now / 1000, .caps = fc->caps,
        .cols = f->data.nrows ? f->data.cells + (size_t)fc->row * f->data.ncols : NULL,
        .rng = &w->rng,
    };
    size_t hmax = tmpl_max_len(&st->head), n, blen = 0;
    char *body = fc->req + hmax + 48;

    if (st->send_length)
        blen = tmpl_render(&st->body, body, f->req_max - hmax - 48, &v);
    n = tmpl_render(&st->head, fc->req, hmax, &v);
    if (st->send_length) {
        n += (size_t)snprintf(fc->req + n, 48, "Content-Length: %zu\r\n\r\n", blen);
        memmove(fc->req + n, body, blen);
        n += blen;
    } else {
        memcpy(fc->req + n, "\r\n", 2);
        n += 2;
    }
    return (uint32_t)n;
}

static void flow_send(struct conn *c, const struct flow_step *st)
{
    struct worker *w = c->w;
    struct fconn *fc = fc_of(c);
    uint32_t len = flow_render(c, st);

    c->resp.head_request = st->head_req;
    http1_resp_reset(&c->resp);
    fc->body_len = 0;
    fc->truncated = false;
    c->stamp_from = c->ts_tail;
    c->stamp_n = 1;
    c->ts[c->ts_tail] = c->ts_sent[c->ts_tail] = w->now;
    c->ts_tail = 0; /* pipeline is 1 in a flow */
    c->in_flight = 1;
    w->in_flight++;
    w->stats.requests++;
    if (w->in_run)
        fs_of(w)->step_requests[st->idx]++;
    worker_stamp_later(w, c);
    conn_write(c, fc->req, len);
    /* lazy response timeout, as in httpc: a timer still armed for an
     * earlier deadline re-arms itself for this request when it fires */
    if (!timer_armed(&c->timer))
        timer_arm(&w->wheel, &c->timer, w->now + w->plan->timeout_ns);
}

/* Run steps from fc->step until one sends or thinks, or the iteration ends. */
static void flow_advance(struct conn *c)
{
    struct worker *w = c->w;
    const struct flow *f = w->plan->flow;
    struct fconn *fc = fc_of(c);

    while (fc->in_iter && fc->step < f->nsteps) {
        const struct flow_step *st = &f->steps[fc->step];

        if (st->kind == FLOW_STEP_HTTP) {
            flow_send(c, st);
            return;
        }
        if (!fc->thinking) {
            uint64_t span = st->think_max_ns - st->think_min_ns;

            fc->thinking = true;
            c->next_ns = w->now + st->think_min_ns + (span ? worker_rand(w) % (span + 1) : 0);
            timer_cancel(&w->wheel, &c->timer);
            timer_arm(&w->wheel, &c->timer, c->next_ns);
            return;
        }
        if (w->now < c->next_ns)
            return;
        fc->thinking = false;
        fc->step++;
    }
    if (fc->in_iter)
        flow_iter_end(c, true);
}

/* ---- responses: captures and checks ------------------------------------------------------ */

/* In-place de-chunking of a chunked body; returns its new length. */
static size_t flow_dechunk(char *b, size_t len)
{
    size_t in = 0, out = 0;

    while (in < len) {
        size_t sz = 0, start = in;

        while (in < len && ((unsigned)((b[in] | 32) - 'a') < 6u || (unsigned)(b[in] - '0') < 10u)) {
            sz = sz * 16 + (size_t)(b[in] <= '9' ? b[in] - '0' : (b[in] | 32) - 'a' + 10);
            in++;
            if (sz > len)
                return out;
        }
        if (in == start)
            return out;
        while (in < len && b[in] != '\n')
            in++;
        in++;
        if (!sz || in >= len)
            return out;
        if (sz > len - in)
            sz = len - in;
        memmove(b + out, b + in, sz);
        out += sz;
        in += sz + 2;
    }
    return out;
}

struct flow_resp {
    const char *head, *body;
    size_t head_len, body_len;
};

static bool flow_header(const struct flow_resp *r, const char *name, struct tmpl_str *out)
{
    size_t nl = strlen(name);
    const char *p = r->head, *end = r->head + r->head_len;

    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
        p++;
        if ((size_t)(end - p) > nl && p[nl] == ':' && !strncasecmp(p, name, nl)) {
            const char *v = p + nl + 1, *e;

            while (v < end && (*v == ' ' || *v == '\t'))
                v++;
            e = memchr(v, '\r', (size_t)(end - v));
            if (!e)
                e = end;
            out->ptr = v;
            out->len = (uint32_t)(e - v);
            return true;
        }
    }
    return false;
}

static void flow_capture(struct conn *c, const struct flow_step *st, struct flow_resp *r)
{
    struct fconn *fc = fc_of(c);

    for (uint32_t i = 0; i < st->ncaps; i++) {
        const struct flow_cap *cap = &st->caps[i];
        struct tmpl_str val = {NULL, 0};
        struct jscan_val jv;
        regmatch_t m[2];
        bool found = false;

        if (cap->src == FLOW_CAP_JSON) {
            found = jscan_find(&cap->path, r->body, r->body_len, &jv);
            val = (struct tmpl_str){jv.ptr, (uint32_t)jv.len};
        } else if (cap->src == FLOW_CAP_HEADER) {
            found = flow_header(r, cap->expr, &val);
        } else if (!regexec(&cap->re, r->body, 2, m, 0)) {
            int g = m[1].rm_so >= 0 ? 1 : 0;

            found = true;
            val = (struct tmpl_str){r->body + m[g].rm_so, (uint32_t)(m[g].rm_eo - m[g].rm_so)};
        }
        /* a value with a line break would split the next request's head */
        if (found && (val.len > FLOW_CAP_LEN || memchr(val.ptr, '\n', val.len) ||
                      memchr(val.ptr, '\r', val.len)))
            found = false;
        fc->caps[cap->slot].len = found ? val.len : 0;
        if (found)
            memcpy(fc->capbuf + (size_t)cap->slot * FLOW_CAP_LEN, val.ptr, val.len);
        else if (c->w->in_run)
            fs_of(c->w)->captures_missed++;
    }
}

static bool flow_check_one(const struct flow_check *k, int status, uint64_t dur,
                           const struct flow_resp *r)
{
    struct jscan_val jv;
    struct tmpl_str hv;

    switch (k->kind) {
    case FLOW_CHK_STATUS:
        for (uint32_t i = 0; i < k->nstatus; i++)
            if (k->status[i] == status)
                return true;
        return false;
    case FLOW_CHK_CONTAINS:
        return memmem(r->body, r->body_len, k->text, k->text_len) != NULL;
    case FLOW_CHK_JSON:
        return jscan_find(&k->path, r->body, r->body_len, &jv) &&
               jscan_equals(&jv, k->text, k->text_len);
    case FLOW_CHK_HEADER:
        return flow_header(r, k->text, &hv);
    default:
        return dur < k->max_ns;
    }
}

static void flow_on_response(struct conn *c)
{
    struct worker *w = c->w;
    const struct flow *f = w->plan->flow;
    struct fconn *fc = fc_of(c);
    const struct flow_step *st = &f->steps[fc->step];
    uint64_t dur = w->now - c->ts[0];
    struct flow_resp r = {"", "", 0, 0};
    int status = c->resp.status;
    bool counted;

    c->sess_n++;
    counted = conn_settle(c);
    c->flags |= CONN_F_ANSWERED;
    if (!c->resp.keep_alive)
        c->flags |= CONN_F_SERVER_CLOSE;
    if (counted) {
        w->stats.responses++;
        stats_status(&w->stats, status);
        fs_of(w)->step_responses[st->idx]++;
        fs_of(w)->step_bad[st->idx] += status >= 400;
        hist_record(&fs_of(w)->step_duration[st->idx], dur);
    }
    if (st->keep_body) {
        char *end = memmem(fc->body, fc->body_len, "\r\n\r\n", 4);

        r.head = fc->body;
        r.head_len = end ? (size_t)(end - fc->body) + 2 : fc->body_len;
        r.body = end ? end + 4 : fc->body + fc->body_len;
        r.body_len = (size_t)(fc->body + fc->body_len - r.body);
        if (c->resp.framing == HTTP1_BODY_CHUNKED)
            r.body_len = flow_dechunk((char *)r.body, r.body_len);
        ((char *)r.body)[r.body_len] = 0; /* for regexec; body[] has a spare byte */
        flow_capture(c, st, &r);
    }
    for (uint32_t i = 0; counted && i < st->nchecks; i++) {
        const struct flow_check *k = &st->checks[i];

        if (flow_check_one(k, status, dur, &r))
            fs_of(w)->check_pass[k->id]++;
        else
            fs_of(w)->check_fail[k->id]++;
    }
    http1_resp_reset(&c->resp);
    fc->step++;
}

/* ---- protocol operations ------------------------------------------------------------------ */

static void flow_fail(struct conn *c, enum err_kind kind)
{
    struct worker *w = c->w;
    struct fconn *fc = fc_of(c);

    if (c->in_flight) {
        if (conn_settle(c)) {
            w->stats.errors[kind]++;
            fs_of(w)->step_errors[w->plan->flow->steps[fc->step].idx]++;
        }
    }
    flow_iter_end(c, false);
}

static void flow_flush(struct conn *c)
{
    struct worker *w = c->w;
    struct fconn *fc = fc_of(c);

    if (c->state != CONN_ST_ACTIVE || (c->flags & (CONN_F_SENDING | CONN_F_SERVER_CLOSE)) ||
        c->in_flight)
        return;
    if (fc->in_iter) {
        if (!w->stopping)
            flow_advance(c);
        /* the iteration may have ended: then the next one starts below */
        if (fc->in_iter || c->state != CONN_ST_ACTIVE || c->in_flight ||
            (c->flags & (CONN_F_SENDING | CONN_F_SERVER_CLOSE)))
            return;
    }
    if (!load_conn_wanted(w, c)) {
        conn_close(c, false);
        return;
    }
    if (w->plan->open_loop) {
        load_conn_free(w, c);
        return;
    }
    if (!worker_may_send(w))
        return;
    flow_iter_begin(c, w->now);
    flow_advance(c);
}

static void flow_send_backlog(struct conn *c)
{
    struct worker *w = c->w;

    if (c->in_flight || fc_of(c)->in_iter || !w->backlog_len)
        return;
    flow_iter_begin(c, load_backlog_pop(w));
    flow_advance(c);
}

static void flow_on_open(struct conn *c)
{
    flow_flush(c);
}

static void flow_on_sent(struct conn *c)
{
    flow_flush(c);
}

static int flow_on_data(struct conn *c, const char *buf, size_t len)
{
    struct fconn *fc = fc_of(c);
    size_t used;

    while (len) {
        enum http1_rc rc;
        const struct flow_step *st;

        if (!c->in_flight) {
            c->w->stats.unsolicited++;
            return -1;
        }
        rc = http1_resp_feed(&c->resp, buf, len, &used);
        if (rc == HTTP1_ERR) {
            flow_fail(c, ERR_PROTOCOL);
            return -1;
        }
        st = &c->w->plan->flow->steps[fc->step];
        if (st->keep_body) {
            size_t room = FLOW_BODY_MAX - fc->body_len, n = used < room ? used : room;

            memcpy(fc->body + fc->body_len, buf, n);
            fc->body_len += (uint32_t)n;
            fc->truncated |= n < used;
        }
        if (rc == HTTP1_MORE)
            break;
        flow_on_response(c);
        buf += used;
        len -= used;
    }
    if ((c->flags & CONN_F_SERVER_CLOSE) && !c->in_flight) {
        /* the server ends the connection: an unfinished iteration is lost */
        if (fc->in_iter && fc->step >= c->w->plan->flow->nsteps)
            flow_iter_end(c, true);
        flow_iter_end(c, false);
        conn_close(c, false);
        return 0;
    }
    flow_flush(c);
    return 0;
}

static void flow_on_eof(struct conn *c)
{
    if (c->in_flight && http1_resp_eof(&c->resp) == HTTP1_DONE)
        flow_on_response(c);
    flow_fail(c, ERR_CONN_CLOSED);
}

static void flow_on_timer(struct conn *c)
{
    struct worker *w = c->w;
    struct fconn *fc = fc_of(c);

    if (c->in_flight) {
        if (w->now >= c->ts[0] + w->plan->timeout_ns) {
            flow_fail(c, ERR_TIMEOUT);
            conn_close(c, true);
        } else {
            timer_arm(&w->wheel, &c->timer, c->ts[0] + w->plan->timeout_ns);
        }
        return;
    }
    if (fc->thinking && w->now >= c->next_ns)
        flow_flush(c);
    else if (fc->thinking)
        timer_arm(&w->wheel, &c->timer, c->next_ns);
}

static void flow_on_close(struct conn *c)
{
    flow_iter_end(c, false);
}

static void flow_release(struct conn *c)
{
    (void)c;
}

const struct proto_ops proto_flow = {
    .on_open = flow_on_open,
    .on_data = flow_on_data,
    .on_eof = flow_on_eof,
    .on_sent = flow_on_sent,
    .fail = flow_fail,
    .on_timer = flow_on_timer,
    .flush = flow_flush,
    .send_backlog = flow_send_backlog,
    .on_close = flow_on_close,
    .release = flow_release,
};
