/*
 * target_api.c - the --api mock REST API (behaviour: target_api.h): route
 * a complete request, answer it in JSON, and queue the formatted response
 * on its connection until the worker sends it.
 *
 * target_parse.c frames requests and target_http.c hands each /api one
 * over whole (joined from its receives when cut), so this file reads with
 * plain bounded scans, never past len: the request line, two headers
 * (Authorization, Transfer-Encoding; names case-insensitive) and the body.
 * JSON bodies are searched by substring ("user", "cart_id"), all a mock
 * needs; the only bytes copied back to a client are a short plain string.
 *
 * Responses are built with small append helpers rather than snprintf into
 * the connection's queue: at most API_RESP_MAX bytes each, checked once.
 * Hot path in --api mode only; no allocation once a connection holds an
 * out whose queue is as deep as its pipeline.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "target_api.h"

#define API_SEND_BYTES 4096u           /* send area: several pipelined responses */
#define API_RESP_MAX 512u              /* one formatted response, head and body */
#define API_BODY_MAX 256u              /* one response body */
#define API_QUEUE_INIT 4096u
#define API_QUEUE_KEEP (64u << 10)     /* a pooled out keeps a queue up to this */
#define API_QUEUE_LIMIT (256u << 20)   /* one connection's unsent responses */
#define API_USER_MAX 64u               /* longest user name echoed */
#define API_ID_DIGITS_MAX 20u          /* a uint64_t in decimal */
#define API_ID_SHIFT 40                /* worker id << 40: ids unique over threads */

_Static_assert(API_RESP_MAX <= API_SEND_BYTES && API_RESP_MAX <= UINT16_MAX,
               "a response fits the send area and its 2-byte length");

struct tgt_api_out {
    struct tgt_api_out *next; /* pool link */
    char *q;                  /* queued responses in [head, len): 2-byte length, bytes */
    uint32_t head, len, cap;
    char sbuf[API_SEND_BYTES]; /* what tgt_api_take moved out last: being sent */
};

const char *const tgt_api_ctr_name[TGT_API_NR] = {
    "login", "cart", "checkout", "health", "unauthorized", "bad", "not_found",
};

enum api_status { API_200, API_400, API_401, API_404, API_405, API_411, API_413, API_STATUS_NR };

static const char *const status_line[API_STATUS_NR] = {
    "HTTP/1.1 200 OK\r\n",           "HTTP/1.1 400 Bad Request\r\n",
    "HTTP/1.1 401 Unauthorized\r\n", "HTTP/1.1 404 Not Found\r\n",
    "HTTP/1.1 405 Method Not Allowed\r\n", "HTTP/1.1 411 Length Required\r\n",
    "HTTP/1.1 413 Content Too Large\r\n",
};

/* The parts of a request the API looks at; pointers into the request. */
struct api_req {
    const char *method, *path, *auth, *body;
    size_t method_len, path_len, auth_len, body_len;
    bool chunked; /* a Transfer-Encoding header: its body was not framed */
};

/* A decided answer, before it is formatted. */
struct api_answer {
    enum api_status st;
    enum tgt_api_ctr ctr;
    const char *allow; /* 405: the Allow header */
    uint64_t session;  /* login: X-Session s-N; 0 = none */
    bool close;        /* the connection must end after it (411) */
    uint32_t body_len;
    char body[API_BODY_MAX];
};

/* Bounded appender: writes stop at end, and `over` records that they did. */
struct wbuf {
    char *p, *end;
    bool over;
};

static void put(struct wbuf *w, const char *s, size_t n)
{
    if (!n)
        return; /* s may be NULL then */
    if ((size_t)(w->end - w->p) < n) {
        w->over = true;
        return;
    }
    memcpy(w->p, s, n);
    w->p += n;
}

static void put_str(struct wbuf *w, const char *s)
{
    put(w, s, strlen(s));
}

static void put_u64(struct wbuf *w, uint64_t v)
{
    char d[API_ID_DIGITS_MAX];
    size_t i = sizeof(d);

    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put(w, d + i, sizeof(d) - i);
}

/* Request parsing */

/* The line at *pos, without its CR LF (bare LF too); false past the end. */
static bool next_line(const char *s, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *nl;

    if (*pos >= len)
        return false;
    *line = s + *pos;
    nl = memchr(*line, '\n', len - *pos);
    *n = nl ? (size_t)(nl - *line) : len - *pos;
    *pos += *n + (nl != NULL);
    if (*n && (*line)[*n - 1] == '\r')
        (*n)--;
    return true;
}

/* "METHOD SP target SP version": the method, and the target's path
 * (query dropped). */
static void reqline_parse(struct api_req *rq, const char *s, size_t n)
{
    const char *sp = memchr(s, ' ', n), *end = s + n, *p;

    if (!sp)
        return;
    rq->method = s;
    rq->method_len = (size_t)(sp - s);
    while (sp < end && *sp == ' ')
        sp++;
    for (p = sp; p < end && *p != ' ' && *p != '?' && *p != '#'; p++)
        ;
    rq->path = sp;
    rq->path_len = (size_t)(p - sp);
}

static bool name_is(const char *s, size_t n, const char *name)
{
    return n == strlen(name) && strncasecmp(s, name, n) == 0;
}

/* One header line: Authorization's value (trimmed; the last one wins),
 * and whether Transfer-Encoding is present. */
static void header_parse(struct api_req *rq, const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n), *v, *end = s + n;
    size_t nlen;

    if (!colon)
        return;
    nlen = (size_t)(colon - s);
    if (name_is(s, nlen, "transfer-encoding")) {
        rq->chunked = true;
        return;
    }
    if (!name_is(s, nlen, "authorization"))
        return;
    for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    rq->auth = v;
    rq->auth_len = (size_t)(end - v);
}

static void req_parse(struct api_req *rq, const char *s, size_t len)
{
    size_t pos = 0, n;
    const char *line;

    memset(rq, 0, sizeof(*rq));
    while (pos < len && (s[pos] == '\r' || s[pos] == '\n'))
        pos++; /* target_parse.c skips these before a request too */
    if (!next_line(s, len, &pos, &line, &n))
        return;
    reqline_parse(rq, line, n);
    while (next_line(s, len, &pos, &line, &n) && n > 0)
        header_parse(rq, line, n);
    rq->body = s + pos;
    rq->body_len = len - pos;
}

static bool path_is_api(const struct api_req *rq)
{
    return (rq->path_len == 4 && memcmp(rq->path, "/api", 4) == 0) ||
           (rq->path_len >= 5 && memcmp(rq->path, "/api/", 5) == 0);
}

/* Body checks */

/* prefix, then 1 to 20 digits, and nothing else. */
static bool id_ok(const char *s, size_t n, const char *prefix)
{
    size_t plen = strlen(prefix);

    if (n <= plen || n > plen + API_ID_DIGITS_MAX || memcmp(s, prefix, plen) != 0)
        return false;
    for (size_t i = plen; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* "Bearer" (any case), spaces, and a token of the shape we issue. */
static bool auth_ok(const struct api_req *rq)
{
    const char *v = rq->auth;
    size_t n = rq->auth_len, i = 6;

    if (!v || n < 7 || strncasecmp(v, "bearer", 6) != 0 || v[6] != ' ')
        return false;
    while (i < n && v[i] == ' ')
        i++;
    return id_ok(v + i, n - i, "tok-");
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* The raw bytes of the first string value of key (quoted) in a JSON
 * body: key, optional whitespace, ':', optional whitespace, a string. */
static bool json_str(const char *s, size_t len, const char *key, const char **v, size_t *n)
{
    const char *p = s, *end = s + len, *q;
    size_t klen = strlen(key);

    while ((p = memmem(p, (size_t)(end - p), key, klen))) {
        p += klen;
        q = skip_ws(p, end);
        if (q == end || *q != ':')
            continue;
        q = skip_ws(q + 1, end);
        if (q == end || *q != '"')
            continue;
        *v = ++q;
        while (q < end && *q != '"')
            q += *q == '\\' ? 2 : 1;
        if (q >= end)
            return false;
        *n = (size_t)(q - *v);
        return true;
    }
    return false;
}

/* The "user" string if it is short and plain (no escapes, no control
 * bytes), so echoing it raw keeps the answer valid JSON; else empty. */
static size_t login_user(const struct api_req *rq, const char **user)
{
    size_t n;

    if (!json_str(rq->body, rq->body_len, "\"user\"", user, &n) || n > API_USER_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)(*user)[i] < 0x20 || (*user)[i] == '\\')
            return 0;
    return n;
}

/* Answers */

static struct wbuf body_start(struct api_answer *ans, enum api_status st, enum tgt_api_ctr ctr)
{
    ans->st = st;
    ans->ctr = ctr;
    return (struct wbuf){ans->body, ans->body + sizeof(ans->body), false};
}

static void body_end(struct api_answer *ans, const struct wbuf *w)
{
    ans->body_len = (uint32_t)(w->p - ans->body);
}

static void answer_error(struct api_answer *ans, enum api_status st, enum tgt_api_ctr ctr,
                         const char *msg)
{
    struct wbuf w = body_start(ans, st, ctr);

    put_str(&w, "{\"error\":\"");
    put_str(&w, msg);
    put_str(&w, "\"}");
    body_end(ans, &w);
}

/* {"<key>":"<prefix><id>"<rest> */
static void answer_id(struct api_answer *ans, enum tgt_api_ctr ctr, const char *key,
                      const char *prefix, uint64_t id, const char *rest)
{
    struct wbuf w = body_start(ans, API_200, ctr);

    put_str(&w, "{\"");
    put_str(&w, key);
    put_str(&w, "\":\"");
    put_str(&w, prefix);
    put_u64(&w, id);
    put_str(&w, rest);
    body_end(ans, &w);
}

static void api_login(struct tgt_api *a, const struct api_req *rq, struct api_answer *ans)
{
    const char *user = NULL;
    size_t ulen = login_user(rq, &user);
    uint64_t id = a->id_base + ++a->logins;
    struct wbuf w = body_start(ans, API_200, TGT_API_LOGIN);

    put_str(&w, "{\"token\":\"tok-");
    put_u64(&w, id);
    put_str(&w, "\",\"user\":\"");
    put(&w, user, ulen);
    put_str(&w, "\"}");
    body_end(ans, &w);
    ans->session = id;
}

static void api_cart(struct tgt_api *a, const struct api_req *rq, struct api_answer *ans)
{
    if (!auth_ok(rq))
        answer_error(ans, API_401, TGT_API_UNAUTHORIZED, "unauthorized");
    else
        answer_id(ans, TGT_API_CART, "cart_id", "cart-", a->id_base + ++a->carts,
                  "\",\"items\":1}");
}

static void api_checkout(struct tgt_api *a, const struct api_req *rq, struct api_answer *ans)
{
    const char *cart;
    size_t n;

    if (!auth_ok(rq))
        answer_error(ans, API_401, TGT_API_UNAUTHORIZED, "unauthorized");
    else if (!json_str(rq->body, rq->body_len, "\"cart_id\"", &cart, &n) ||
             !id_ok(cart, n, "cart-"))
        answer_error(ans, API_400, TGT_API_BAD, "no cart");
    else
        answer_id(ans, TGT_API_CHECKOUT, "order_id", "ord-", a->id_base + ++a->orders,
                  "\",\"status\":\"confirmed\"}");
}

static void api_health(struct tgt_api *a, const struct api_req *rq, struct api_answer *ans)
{
    struct wbuf w = body_start(ans, API_200, TGT_API_HEALTH);

    (void)a;
    (void)rq;
    put_str(&w, "{\"status\":\"ok\"}");
    body_end(ans, &w);
}

typedef void (*api_handler_fn)(struct tgt_api *a, const struct api_req *rq,
                               struct api_answer *ans);

static const struct api_route {
    const char *path;
    const char *allow; /* the Allow header of its 405 */
    bool get;          /* GET and HEAD; else POST only */
    api_handler_fn fn;
} api_routes[] = {
    {"/api/login", "POST", false, api_login},
    {"/api/cart", "POST", false, api_cart},
    {"/api/checkout", "POST", false, api_checkout},
    {"/api/health", "GET, HEAD", true, api_health},
};

static bool method_is(const struct api_req *rq, const char *m)
{
    return rq->method_len == strlen(m) && memcmp(rq->method, m, rq->method_len) == 0;
}

static bool method_ok(const struct api_route *r, const struct api_req *rq)
{
    return r->get ? method_is(rq, "GET") || method_is(rq, "HEAD") : method_is(rq, "POST");
}

static const struct api_route *route_find(const struct api_req *rq)
{
    for (size_t i = 0; i < sizeof(api_routes) / sizeof(api_routes[0]); i++) {
        const struct api_route *r = &api_routes[i];

        if (rq->path_len == strlen(r->path) && memcmp(rq->path, r->path, rq->path_len) == 0)
            return r;
    }
    return NULL;
}

static void api_route(struct tgt_api *a, const struct api_req *rq, unsigned flags,
                      struct api_answer *ans)
{
    const struct api_route *r = route_find(rq);

    memset(ans, 0, offsetof(struct api_answer, body));
    if (rq->chunked) {
        answer_error(ans, API_411, TGT_API_BAD, "length required");
        ans->close = true; /* its body was never framed: what follows is unknown */
    } else if (flags & TGT_API_F_TRUNC) {
        answer_error(ans, API_413, TGT_API_BAD, "too large");
    } else if (!r) {
        answer_error(ans, API_404, TGT_API_NOT_FOUND, "not found");
    } else if (!method_ok(r, rq)) {
        answer_error(ans, API_405, TGT_API_BAD, "method not allowed");
        ans->allow = r->allow;
    } else {
        r->fn(a, rq, ans);
    }
}

/* The queue */

/* Room for `need` more bytes at the queue's end; 0 or -ENOMEM. */
static int out_room(struct tgt_api_out *o, uint32_t need)
{
    uint32_t cap;
    char *q;

    if (o->cap - o->len >= need)
        return 0;
    if (o->head) {
        memmove(o->q, o->q + o->head, o->len - o->head);
        o->len -= o->head;
        o->head = 0;
        if (o->cap - o->len >= need)
            return 0;
    }
    cap = o->cap ? o->cap * 2 : API_QUEUE_INIT; /* need < API_QUEUE_INIT: one doubling is enough */
    if (cap > API_QUEUE_LIMIT || !(q = realloc(o->q, cap)))
        return -ENOMEM;
    o->q = q;
    o->cap = cap;
    return 0;
}

/* Head and (unless HEAD) body of ans, framed with its length, at the
 * queue's end. 0, -ENOMEM, or -EOVERFLOW (cannot happen: sizes are fixed). */
static int out_queue(struct tgt_api_out *o, const struct api_answer *ans, unsigned flags)
{
    struct wbuf w;
    uint16_t n;
    int ret = out_room(o, API_RESP_MAX + sizeof(n));

    if (ret < 0)
        return ret;
    w = (struct wbuf){o->q + o->len + sizeof(n), o->q + o->len + sizeof(n) + API_RESP_MAX, false};
    put_str(&w, status_line[ans->st]);
    put_str(&w, "Content-Type: application/json\r\nContent-Length: ");
    put_u64(&w, ans->body_len);
    if (ans->session) {
        put_str(&w, "\r\nX-Session: s-");
        put_u64(&w, ans->session);
    }
    if (ans->st == API_401)
        put_str(&w, "\r\nWWW-Authenticate: Bearer");
    if (ans->allow) {
        put_str(&w, "\r\nAllow: ");
        put_str(&w, ans->allow);
    }
    if (flags & TGT_API_F_CLOSE)
        put_str(&w, "\r\nConnection: close");
    else if (flags & TGT_API_F_KA)
        put_str(&w, "\r\nConnection: keep-alive");
    put_str(&w, "\r\n\r\n");
    if (!(flags & TGT_API_F_HEAD))
        put(&w, ans->body, ans->body_len);
    if (w.over)
        return -EOVERFLOW;
    n = (uint16_t)(w.p - (o->q + o->len + sizeof(n)));
    memcpy(o->q + o->len, &n, sizeof(n));
    o->len += (uint32_t)(sizeof(n) + n);
    return 0;
}

static struct tgt_api_out *out_get(struct tgt_api *a)
{
    struct tgt_api_out *o = a->pool;

    if (o) {
        a->pool = o->next;
        return o;
    }
    return calloc(1, sizeof(*o));
}

void tgt_api_out_put(struct tgt_api *a, struct tgt_api_out **op)
{
    struct tgt_api_out *o = *op;

    if (!o)
        return;
    *op = NULL;
    if (o->cap > API_QUEUE_KEEP) {
        free(o->q); /* a deep pipeline's queue is not kept for everyone */
        o->q = NULL;
        o->cap = 0;
    }
    o->head = o->len = 0;
    o->next = a->pool;
    a->pool = o;
}

uint32_t tgt_api_take(struct tgt_api_out *o, uint32_t max_n, uint32_t *bytes)
{
    uint32_t n = 0, used = 0;

    while (n < max_n && o->head < o->len) {
        uint16_t one;

        memcpy(&one, o->q + o->head, sizeof(one));
        if (used + one > sizeof(o->sbuf))
            break;
        memcpy(o->sbuf + used, o->q + o->head + sizeof(one), one);
        used += one;
        o->head += (uint32_t)sizeof(one) + one;
        n++;
    }
    if (o->head == o->len)
        o->head = o->len = 0;
    *bytes = used;
    return n;
}

const char *tgt_api_sendbuf(const struct tgt_api_out *o)
{
    return o->sbuf;
}

int tgt_api_answer(struct tgt_api *a, struct tgt_api_out **out, const char *req, size_t len,
                   unsigned flags)
{
    struct api_req rq;
    struct api_answer ans;
    int ret;

    req_parse(&rq, req, len);
    if (!path_is_api(&rq))
        return TGT_API_PASS;
    if (!*out && !(*out = out_get(a)))
        return -ENOMEM;
    api_route(a, &rq, flags, &ans);
    if (ans.close)
        flags |= TGT_API_F_CLOSE;
    if ((ret = out_queue(*out, &ans, flags)) < 0)
        return ret;
    a->n[ans.ctr]++;
    return (flags & TGT_API_F_CLOSE) ? TGT_API_CLOSE : TGT_API_KEEP;
}

void tgt_api_init(struct tgt_api *a, unsigned worker_id, uint64_t *counters)
{
    *a = (struct tgt_api){.n = counters, .id_base = (uint64_t)worker_id << API_ID_SHIFT};
}

void tgt_api_fini(struct tgt_api *a)
{
    while (a->pool) {
        struct tgt_api_out *o = a->pool;

        a->pool = o->next;
        free(o->q);
        free(o);
    }
}
