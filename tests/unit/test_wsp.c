/*
 * test_wsp.c - a client WebSocket session over buffers (wsp on wslay).
 *
 * Server streams are built by hand (unmasked frames) and fed whole, cut
 * at every split point, cut at every pair of split points (short ones),
 * and byte by byte; each piece sits against a PROT_NONE page. Every way
 * must give the same callbacks, the same return code and, once the output
 * is drained, the same client frames, and those must match the case. The
 * client frames are parsed back: the mask bit must be set, and the
 * payload is unmasked with the frame's own key. Then: masking keys,
 * the fast path against wslay's encoding, output through a small buffer,
 * wsp_idle at each step, the queue cap, ping floods, closing from either
 * side, and a rough cost per message (printed as notes).
 */
#include "t.h"
#include "t_guard.h"
#include "wsp.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define T_GUARD_ROOM (256 * 1024)
#define T_OUT_CAP 4096
#define T_MB (1u << 20)

/* A growing byte log: callbacks and client frames, in order. */
struct t_log {
    uint8_t *buf;
    size_t len, cap;
};

static void t_log_put(struct t_log *l, const void *p, size_t n)
{
    if (l->len + n > l->cap) {
        l->cap = (l->len + n) * 2 + 64;
        l->buf = realloc(l->buf, l->cap);
        if (!l->buf)
            abort();
    }
    if (n)
        memcpy(l->buf + l->len, p, n);
    l->len += n;
}

/* One entry: a kind letter, a number (opcode, code), the data. */
static void t_log_ev(struct t_log *l, char kind, uint32_t num, const void *data, size_t n)
{
    uint64_t n64 = n;

    t_log_put(l, &kind, 1);
    t_log_put(l, &num, sizeof(num));
    t_log_put(l, &n64, sizeof(n64));
    t_log_put(l, data, n);
}

static bool t_log_eq(const struct t_log *a, const struct t_log *b)
{
    return a->len == b->len && (!a->len || !memcmp(a->buf, b->buf, a->len));
}

/* The callbacks' user: records events; echo makes on_msg queue a reply. */
struct t_rec {
    struct t_log ev;
    struct wsp *p;
    bool echo;
};

static void t_on_msg(void *user, int opcode, const uint8_t *data, size_t len)
{
    struct t_rec *r = user;

    t_log_ev(&r->ev, 'M', (uint32_t)opcode, data, len);
    if (r->echo)
        wsp_queue_msg(r->p, opcode, data, len);
}

static void t_on_pong(void *user, const uint8_t *data, size_t len)
{
    t_log_ev(&((struct t_rec *)user)->ev, 'P', 0, data, len);
}

static void t_on_close(void *user, uint16_t code)
{
    t_log_ev(&((struct t_rec *)user)->ev, 'C', code, NULL, 0);
}

static const struct wsp_cb t_cb = {
    .on_msg = t_on_msg, .on_pong = t_on_pong, .on_close = t_on_close};

/* A server frame (unmasked) appended to s. */
static void t_frame(struct t_log *s, uint8_t b0, const void *data, size_t len)
{
    uint8_t h[10];
    size_t n = 2;

    h[0] = b0;
    if (len < 126) {
        h[1] = (uint8_t)len;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = (uint8_t)(len >> 8);
        h[3] = (uint8_t)len;
        n = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        n = 10;
    }
    t_log_put(s, h, n);
    t_log_put(s, data, len);
}

static void t_raw(struct t_log *s, const char *bytes, size_t n)
{
    t_log_put(s, bytes, n);
}

/* One client frame parsed from b[*off..len): the mask bit must be set. */
struct t_cframe {
    uint8_t b0;
    uint8_t len7; /* the 7-bit length field: 126/127 say which encoding */
    uint8_t key[4];
    size_t hdr_len; /* bytes before the payload */
    size_t len;
    uint8_t *payload; /* unmasked, malloc'd */
};

static bool t_parse_cframe(const uint8_t *b, size_t len, size_t *off, struct t_cframe *f)
{
    size_t p = *off, ext;
    uint64_t n = 0;

    if (len - p < 2 || !(b[p + 1] & 0x80))
        return false;
    f->b0 = b[p];
    f->len7 = b[p + 1] & 0x7f;
    ext = f->len7 == 126 ? 2 : f->len7 == 127 ? 8 : 0;
    if (len - p < 2 + ext + 4)
        return false;
    n = ext ? 0 : f->len7;
    for (size_t i = 0; i < ext; i++)
        n = n << 8 | b[p + 2 + i];
    f->hdr_len = 2 + ext + 4;
    memcpy(f->key, b + p + 2 + ext, 4);
    if (len - p - f->hdr_len < n)
        return false;
    f->len = n;
    f->payload = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        f->payload[i] = b[p + f->hdr_len + i] ^ f->key[i % 4];
    *off = p + f->hdr_len + n;
    return true;
}

/* Drain p's output (output, sent, until nothing comes) into raw. */
static void t_drain(struct wsp *p, struct t_log *raw)
{
    uint32_t n;

    for (int i = 0; i < 100000 && (n = wsp_output(p)); i++) {
        t_log_put(raw, p->out, n);
        wsp_sent(p);
    }
}

/* Client frames of raw as a log ('F', b0, unmasked payload); false if a
 * frame is malformed or unmasked. keys[] gets up to nkeys mask keys. */
static bool t_frames(const struct t_log *raw, struct t_log *frames, uint32_t *keys, size_t *nkeys)
{
    size_t off = 0, k = 0;
    struct t_cframe f;

    while (off < raw->len) {
        if (!t_parse_cframe(raw->buf, raw->len, &off, &f))
            return false;
        t_log_ev(frames, 'F', f.b0, f.payload, f.len);
        if (keys && k < *nkeys)
            memcpy(&keys[k++], f.key, 4);
        free(f.payload);
    }
    if (nkeys)
        *nkeys = k;
    return true;
}

/* What a run ends with. */
struct t_res {
    int rc;
    struct t_log ev, frames;
    bool closed, frames_ok;
    uint16_t code_sent;
};

static void t_res_free(struct t_res *r)
{
    free(r->ev.buf);
    free(r->frames.buf);
    memset(r, 0, sizeof(*r));
}

/* Feed in[0..len) cut at cuts[0..ncuts), stop at an error, drain. */
static void t_run(const struct t_guard *g, const struct t_log *in, const size_t *cuts, size_t ncuts,
                  uint64_t max_msg, struct t_res *r)
{
    struct t_rec rec = {0};
    struct wsp p;
    static char out[T_OUT_CAP];
    struct t_log raw = {0};
    uint64_t rng = 42;
    size_t start = 0;

    memset(r, 0, sizeof(*r));
    rec.p = &p;
    if (wsp_open(&p, &t_cb, &rec, &rng, out, sizeof(out), max_msg))
        abort();
    for (size_t i = 0; i <= ncuts && !r->rc; i++) {
        size_t end = i < ncuts ? cuts[i] : in->len;

        r->rc = wsp_feed(&p, t_place(g, in->buf + start, end - start), end - start);
        start = end;
    }
    t_drain(&p, &raw);
    r->frames_ok = t_frames(&raw, &r->frames, NULL, NULL);
    r->ev = rec.ev;
    r->closed = wsp_closed(&p);
    r->code_sent = wsp_close_code_sent(&p);
    wsp_free(&p);
    free(raw.buf);
}

static bool t_res_eq(const struct t_res *a, const struct t_res *b)
{
    return a->rc == b->rc && a->closed == b->closed && a->frames_ok == b->frames_ok &&
           a->code_sent == b->code_sent && t_log_eq(&a->ev, &b->ev) &&
           t_log_eq(&a->frames, &b->frames);
}

/* Cut points to try: all of them for short streams, a sample for long. */
static bool t_cut_wanted(size_t cut, size_t len)
{
    return len <= 600 || cut < 24 || cut + 24 > len || cut % 997 == 0;
}

/* Every way of cutting the stream gives what the whole stream gives. */
static size_t t_all_splits(const struct t_guard *g, const struct t_log *in, uint64_t max_msg,
                           const struct t_res *whole)
{
    size_t bad = 0, cuts[2], *bytes;
    struct t_res r;

    for (cuts[0] = 0; cuts[0] <= in->len; cuts[0]++) {
        if (!t_cut_wanted(cuts[0], in->len))
            continue;
        t_run(g, in, cuts, 1, max_msg, &r);
        bad += !t_res_eq(&r, whole);
        t_res_free(&r);
        for (cuts[1] = cuts[0]; in->len <= 40 && cuts[1] <= in->len; cuts[1]++) {
            t_run(g, in, cuts, 2, max_msg, &r);
            bad += !t_res_eq(&r, whole);
            t_res_free(&r);
        }
    }
    if (in->len > 1 && in->len <= 600) {
        bytes = malloc(in->len * sizeof(*bytes));
        for (size_t i = 0; i + 1 < in->len; i++)
            bytes[i] = i + 1;
        t_run(g, in, bytes, in->len - 1, max_msg, &r);
        bad += !t_res_eq(&r, whole);
        t_res_free(&r);
        free(bytes);
    }
    return bad;
}

/* A case: the stream, what the callbacks and client frames must be. */
struct t_case {
    const char *name;
    struct t_log in, ev, frames;
    uint64_t max_msg;
    int rc;
    bool closed;
    uint16_t code_sent; /* 0: no close sent */
};

static void t_check(const struct t_guard *g, struct t_case *c)
{
    struct t_res whole;
    size_t bad;

    t_run(g, &c->in, NULL, 0, c->max_msg ? c->max_msg : T_MB, &whole);
    ok(whole.rc == c->rc, "%s: rc %d (%s), want %d", c->name, whole.rc, wsp_strerror(whole.rc),
       c->rc);
    ok(whole.frames_ok, "%s: client frames malformed or unmasked", c->name);
    ok(t_log_eq(&whole.ev, &c->ev), "%s: callbacks differ (%zu bytes of log, want %zu)", c->name,
       whole.ev.len, c->ev.len);
    ok(t_log_eq(&whole.frames, &c->frames), "%s: client frames differ (%zu, want %zu)", c->name,
       whole.frames.len, c->frames.len);
    ok(whole.closed == c->closed, "%s: closed %d", c->name, whole.closed);
    ok(whole.code_sent == c->code_sent, "%s: close code sent %u, want %u", c->name, whole.code_sent,
       c->code_sent);
    bad = t_all_splits(g, &c->in, c->max_msg ? c->max_msg : T_MB, &whole);
    ok(!bad, "%s: %zu ways of cutting the stream differ from the whole", c->name, bad);
    t_res_free(&whole);
    free(c->in.buf);
    free(c->ev.buf);
    free(c->frames.buf);
    memset(c, 0, sizeof(*c));
}

/* A close payload: big-endian code, then the reason. */
static size_t t_close_payload(uint8_t *b, uint16_t code, const char *reason)
{
    b[0] = (uint8_t)(code >> 8);
    b[1] = (uint8_t)code;
    memcpy(b + 2, reason, strlen(reason));
    return 2 + strlen(reason);
}

static void t_expect_close(struct t_case *c, uint16_t code)
{
    uint8_t b[2] = {0, 0};
    size_t n = code ? t_close_payload(b, code, "") : 0;

    t_log_ev(&c->frames, 'F', 0x88, b, n);
    c->closed = true;
    c->code_sent = code ? code : 1005;
}

static void t_cases_messages(const struct t_guard *g)
{
    struct t_case c = {.name = "text"};
    uint8_t big[300], cl[16];

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7);
    t_frame(&c.in, 0x81, "hello", 5);
    t_log_ev(&c.ev, 'M', 1, "hello", 5);
    t_check(g, &c);

    c.name = "binary, 16-bit length, and empty messages";
    t_frame(&c.in, 0x82, big, sizeof(big));
    t_frame(&c.in, 0x81, NULL, 0);
    t_frame(&c.in, 0x82, NULL, 0);
    t_log_ev(&c.ev, 'M', 2, big, sizeof(big));
    t_log_ev(&c.ev, 'M', 1, NULL, 0);
    t_log_ev(&c.ev, 'M', 2, NULL, 0);
    t_check(g, &c);

    c.name = "fragmented message with a ping between fragments";
    t_frame(&c.in, 0x01, "Hel", 3);
    t_frame(&c.in, 0x89, "pp", 2);
    t_frame(&c.in, 0x00, "lo", 2);
    t_frame(&c.in, 0x89, NULL, 0);
    t_frame(&c.in, 0x80, " world", 6);
    t_log_ev(&c.ev, 'M', 1, "Hello world", 11);
    t_log_ev(&c.frames, 'F', 0x8a, "pp", 2);
    t_log_ev(&c.frames, 'F', 0x8a, NULL, 0);
    t_check(g, &c);

    c.name = "pong";
    t_frame(&c.in, 0x8a, "xy", 2);
    t_log_ev(&c.ev, 'P', 0, "xy", 2);
    t_check(g, &c);

    c.name = "messages, server close with code and reason, bytes after it";
    t_frame(&c.in, 0x81, "a", 1);
    t_frame(&c.in, 0x82, "b", 1);
    t_frame(&c.in, 0x88, cl, t_close_payload(cl, 1001, "bye"));
    t_frame(&c.in, 0x81, "late", 4);
    t_log_ev(&c.ev, 'M', 1, "a", 1);
    t_log_ev(&c.ev, 'M', 2, "b", 1);
    t_log_ev(&c.ev, 'C', 1001, NULL, 0);
    t_log_ev(&c.frames, 'F', 0x88, cl, t_close_payload(cl, 1001, "bye")); /* wslay echoes it */
    c.closed = true;
    c.code_sent = 1001;
    t_check(g, &c);

    c.name = "server close without code";
    t_frame(&c.in, 0x88, NULL, 0);
    t_log_ev(&c.ev, 'C', 1005, NULL, 0);
    t_expect_close(&c, 0);
    t_check(g, &c);
}

static void t_cases_sizes(const struct t_guard *g)
{
    struct t_case c = {.name = "message of exactly max_msg", .max_msg = 100};
    uint8_t *big = calloc(1, 70001);

    t_frame(&c.in, 0x82, big, 100);
    t_log_ev(&c.ev, 'M', 2, big, 100);
    t_check(g, &c);

    c = (struct t_case){.name = "oversized message", .max_msg = 100, .rc = WSP_ERR_TOO_BIG};
    t_frame(&c.in, 0x81, "ok", 2);
    t_frame(&c.in, 0x82, big, 101);
    t_log_ev(&c.ev, 'M', 1, "ok", 2);
    t_expect_close(&c, 1009);
    t_check(g, &c);

    c = (struct t_case){.name = "oversized, 16-bit length", .max_msg = 200, .rc = WSP_ERR_TOO_BIG};
    t_frame(&c.in, 0x82, big, 300);
    t_expect_close(&c, 1009);
    t_check(g, &c);

    c = (struct t_case){.name = "oversized by fragments", .max_msg = 100, .rc = WSP_ERR_TOO_BIG};
    t_frame(&c.in, 0x02, big, 60);
    t_frame(&c.in, 0x89, "p", 1);
    t_frame(&c.in, 0x80, big, 41);
    t_expect_close(&c, 1009); /* the ping's pong is dropped behind the close */
    t_check(g, &c);

    c = (struct t_case){.name = "fragments of exactly max_msg", .max_msg = 100};
    t_frame(&c.in, 0x02, big, 60);
    t_frame(&c.in, 0x80, big, 40);
    t_log_ev(&c.ev, 'M', 2, big, 100);
    t_check(g, &c);

    c = (struct t_case){
        .name = "oversized after 16-bit lengths", .max_msg = 300, .rc = WSP_ERR_TOO_BIG};
    t_frame(&c.in, 0x82, big, 300);
    t_frame(&c.in, 0x82, big, 301);
    t_log_ev(&c.ev, 'M', 2, big, 300);
    t_expect_close(&c, 1009);
    t_check(g, &c);

    c = (struct t_case){
        .name = "oversized after a 64-bit length", .max_msg = 70000, .rc = WSP_ERR_TOO_BIG};
    t_frame(&c.in, 0x82, big, 70000);
    t_frame(&c.in, 0x81, "ok", 2);
    t_frame(&c.in, 0x82, big, 70001);
    t_log_ev(&c.ev, 'M', 2, big, 70000);
    t_log_ev(&c.ev, 'M', 1, "ok", 2);
    t_expect_close(&c, 1009);
    t_check(g, &c);

    c = (struct t_case){.name = "64-bit length"};
    for (int i = 0; i < 70000; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    t_frame(&c.in, 0x82, big, 70000);
    t_frame(&c.in, 0x81, "z", 1);
    t_log_ev(&c.ev, 'M', 2, big, 70000);
    t_log_ev(&c.ev, 'M', 1, "z", 1);
    t_check(g, &c);
    free(big);
}

static void t_cases_errors(const struct t_guard *g)
{
    struct t_case c = {.name = "masked server frame", .rc = WSP_ERR_PROTO};
    uint8_t cl[4];

    t_raw(&c.in, "\x81\x82\x01\x02\x03\x04xy", 8);
    t_expect_close(&c, 1002);
    t_check(g, &c);

    c = (struct t_case){.name = "invalid UTF-8 in text", .rc = WSP_ERR_PROTO};
    t_frame(&c.in, 0x81, "a\xff", 2);
    t_expect_close(&c, 1007);
    t_check(g, &c);

    c = (struct t_case){.name = "truncated UTF-8 at the end of text", .rc = WSP_ERR_PROTO};
    t_frame(&c.in, 0x81, "a\xc3", 2);
    t_expect_close(&c, 1007);
    t_check(g, &c);

    c = (struct t_case){.name = "continuation first", .rc = WSP_ERR_PROTO};
    t_frame(&c.in, 0x80, "x", 1);
    t_expect_close(&c, 1002);
    t_check(g, &c);

    c = (struct t_case){.name = "new message inside a fragmented one", .rc = WSP_ERR_PROTO};
    t_frame(&c.in, 0x01, "a", 1);
    t_frame(&c.in, 0x81, "b", 1);
    t_expect_close(&c, 1002);
    t_check(g, &c);

    c = (struct t_case){.name = "reserved bit", .rc = WSP_ERR_PROTO};
    t_frame(&c.in, 0xc1, "a", 1);
    t_expect_close(&c, 1002);
    t_check(g, &c);

    c = (struct t_case){.name = "reserved opcode", .rc = WSP_ERR_PROTO};
    t_frame(&c.in, 0x83, "a", 1);
    t_expect_close(&c, 1002);
    t_check(g, &c);

    c = (struct t_case){.name = "close code 999", .rc = WSP_ERR_PROTO, .max_msg = 100};
    t_frame(&c.in, 0x88, cl, t_close_payload(cl, 999, ""));
    t_raw(&c.in, "\x82\x7e\x00\xc8", 4); /* a big frame's header after it: not to blame */
    t_expect_close(&c, 1002);
    t_check(g, &c);

    /* framing errors wslay_frame_recv catches itself: a close without code */
    c = (struct t_case){.name = "fragmented ping", .rc = WSP_ERR_PROTO};
    t_frame(&c.in, 0x09, "p", 1);
    t_expect_close(&c, 0);
    t_check(g, &c);

    c = (struct t_case){.name = "16-bit length under 126", .rc = WSP_ERR_PROTO};
    t_raw(&c.in, "\x82\x7e\x00\x05hello", 9);
    t_expect_close(&c, 0);
    t_check(g, &c);
}

/* Masking: the mask bit, the payload under it, a fresh key per frame, on
 * the fast path and through wslay (a ping queued first sends the rest
 * through wslay). */
static void t_masking(void)
{
    static char out[T_OUT_CAP];
    static const char msg[] = "a payload long enough to see the mask";
    uint64_t rng = 7;
    struct t_rec rec = {0};
    struct t_log raw = {0}, frames = {0}, want = {0};
    uint32_t keys[8];
    size_t nkeys = 8, same = 0;
    struct wsp p;

    wsp_open(&p, &t_cb, &rec, &rng, out, sizeof(out), T_MB);
    ok(!wsp_queue_msg(&p, 1, msg, sizeof(msg) - 1) && p.out_len, "fast path: encoded at once");
    ok(!memmem(p.out, p.out_len, "payload", 7), "fast path: payload is masked");
    ok(!wsp_queue_msg(&p, 2, msg, 5), "fast path: second message");
    ok(!wsp_queue_ping(&p, "pi", 2), "ping through wslay");
    ok(!wsp_queue_msg(&p, 1, msg, 9), "message after a ping: through wslay");
    ok(!wsp_queue_msg(&p, 2, msg, sizeof(msg) - 1), "and another");
    t_drain(&p, &raw);
    ok(t_frames(&raw, &frames, keys, &nkeys) && nkeys == 5, "5 masked frames (%zu)", nkeys);
    ok(!memmem(raw.buf, raw.len, "payload", 7), "wslay path: payload is masked");
    t_log_ev(&want, 'F', 0x81, msg, sizeof(msg) - 1);
    t_log_ev(&want, 'F', 0x82, msg, 5);
    t_log_ev(&want, 'F', 0x89, "pi", 2); /* wslay sends control frames first */
    t_log_ev(&want, 'F', 0x81, msg, 9);
    t_log_ev(&want, 'F', 0x82, msg, sizeof(msg) - 1);
    ok(t_log_eq(&frames, &want), "frames unmask to the payloads, in order");
    for (size_t i = 0; i < nkeys; i++)
        for (size_t j = i + 1; j < nkeys; j++)
            same += keys[i] == keys[j];
    ok(!same && keys[0] != 0, "every frame has its own key (%zu equal pairs)", same);
    wsp_free(&p);
    free(raw.buf);
    free(frames.buf);
    free(want.buf);
}

/* One message through the fast path and through wslay: same header form,
 * same payload. */
static void t_fast_vs_wslay_one(size_t len, const uint8_t *data, char *out, uint32_t cap)
{
    uint64_t rng = 99;
    struct t_rec rec = {0};
    struct t_log raw[2] = {{0}, {0}};
    struct t_cframe f[2];
    size_t off[2] = {0, 0};
    struct wsp p;
    bool good = true;

    for (int w = 0; w < 2; w++) {
        wsp_open(&p, &t_cb, &rec, &rng, out, cap, T_MB);
        if (w)
            wsp_queue_ping(&p, NULL, 0); /* forces the message through wslay */
        good &= !wsp_queue_msg(&p, 2, data, len) && (w || p.out_len);
        t_drain(&p, &raw[w]);
        wsp_free(&p);
    }
    off[1] = 6; /* skip the empty ping */
    good &= t_parse_cframe(raw[0].buf, raw[0].len, &off[0], &f[0]) && off[0] == raw[0].len;
    good &= t_parse_cframe(raw[1].buf, raw[1].len, &off[1], &f[1]) && off[1] == raw[1].len;
    ok(good && f[0].b0 == 0x82 && f[0].b0 == f[1].b0 && f[0].len7 == f[1].len7 &&
           f[0].hdr_len == f[1].hdr_len && f[0].len == len && f[1].len == len &&
           !memcmp(f[0].payload, data, len) && !memcmp(f[1].payload, data, len),
       "length %zu: fast path and wslay agree", len);
    if (good) {
        free(f[0].payload);
        free(f[1].payload);
    }
    free(raw[0].buf);
    free(raw[1].buf);
}

static void t_fast_vs_wslay(void)
{
    static const size_t lens[] = {0,  1,   3,   4,   7,    8,    9,     15,    16,
                                  17, 125, 126, 127, 1000, 1021, 65535, 65536, 70001};
    uint8_t *data = malloc(70001);
    char *out = malloc(80000);

    for (size_t i = 0; i < 70001; i++)
        data[i] = (uint8_t)(i * 31 + 5);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        t_fast_vs_wslay_one(lens[i], data, out, 80000);
    free(data);
    free(out);
}

/* Output handed out freezes out: later messages wait in wslay. Frames
 * larger than out go over several sends. */
static void t_output_rules(void)
{
    static char out[T_OUT_CAP], small[16];
    static const char big[100] = "0123456789";
    uint64_t rng = 3;
    struct t_rec rec = {0};
    struct t_log raw = {0}, frames = {0}, want = {0};
    struct wsp p;
    uint32_t n;

    wsp_open(&p, &t_cb, &rec, &rng, out, sizeof(out), T_MB);
    wsp_queue_msg(&p, 1, "one", 3);
    n = wsp_output(&p);
    ok(n == 9, "one 3-byte message is 9 bytes (%u)", n);
    ok(!wsp_queue_msg(&p, 1, "two", 3) && p.out_len == n, "handed-out output is not touched");
    wsp_queue_msg(&p, 1, "six", 3);
    n = wsp_output(&p);
    ok(n == 27, "output again before sending: wslay appends the rest (%u)", n);
    t_log_put(&raw, p.out, n);
    wsp_sent(&p);
    t_drain(&p, &raw);
    t_log_ev(&want, 'F', 0x81, "one", 3);
    t_log_ev(&want, 'F', 0x81, "two", 3);
    t_log_ev(&want, 'F', 0x81, "six", 3);
    ok(t_frames(&raw, &frames, NULL, NULL) && t_log_eq(&frames, &want), "both, in order");
    wsp_free(&p);

    raw.len = frames.len = want.len = 0;
    wsp_open(&p, &t_cb, &rec, &rng, small, sizeof(small), T_MB);
    ok(!wsp_queue_msg(&p, 2, big, sizeof(big)) && !p.out_len, "too big for out: queued in wslay");
    t_drain(&p, &raw);
    t_log_ev(&want, 'F', 0x82, big, sizeof(big));
    ok(raw.len == 106 && t_frames(&raw, &frames, NULL, NULL) && t_log_eq(&frames, &want),
       "a 106-byte frame through a 16-byte buffer");
    wsp_free(&p);
    ok(wsp_open(&p, &t_cb, &rec, &rng, small, WSP_HDR_MAX - 1, T_MB) == WSP_ERR_INVAL && !p.ctx,
       "out smaller than a header is refused");
    free(raw.buf);
    free(frames.buf);
    free(want.buf);
    free(rec.ev.buf);
}

static int t_feed_str(struct wsp *p, const char *s, size_t n)
{
    return wsp_feed(p, s, n);
}

static void t_idle(void)
{
    static char out[T_OUT_CAP];
    uint64_t rng = 5;
    struct t_rec rec = {0};
    struct t_log raw = {0};
    struct wsp p;

    rec.p = &p;
    wsp_open(&p, &t_cb, &rec, &rng, out, sizeof(out), T_MB);
    ok(wsp_idle(&p), "idle: fresh");
    t_feed_str(&p, "\x81", 1);
    ok(!wsp_idle(&p), "idle: not after one header byte");
    t_feed_str(&p, "\x03", 1);
    ok(!wsp_idle(&p), "idle: not after the header");
    t_feed_str(&p, "ab", 2);
    ok(!wsp_idle(&p), "idle: not mid-payload");
    t_feed_str(&p, "c", 1);
    ok(wsp_idle(&p), "idle: after a whole frame");
    t_feed_str(&p, "\x82\x7e\x01\x00", 4);
    for (int i = 0; i < 256; i++)
        t_feed_str(&p, "x", 1);
    ok(wsp_idle(&p), "idle: after a frame with a 16-bit length");
    t_feed_str(&p, "\001\001a", 3);
    ok(!wsp_idle(&p), "idle: not after a first fragment");
    t_feed_str(&p, "\x8a\x00", 2);
    ok(!wsp_idle(&p), "idle: not after a pong inside a fragmented message");
    t_feed_str(&p, "\200\001b", 3);
    ok(wsp_idle(&p), "idle: after the last fragment");
    t_feed_str(&p, "\x89\x00", 2);
    ok(!wsp_idle(&p), "idle: not with a pong queued");
    t_drain(&p, &raw);
    ok(wsp_idle(&p), "idle: once the pong is out");
    wsp_queue_msg(&p, 1, "x", 1);
    ok(!wsp_idle(&p), "idle: not with output pending");
    wsp_output(&p);
    wsp_sent(&p);
    ok(wsp_idle(&p), "idle: after it was sent");
    wsp_queue_close(&p, 1000);
    ok(!wsp_idle(&p), "idle: not while closing");
    wsp_free(&p);
    ok(wsp_idle(&p) && wsp_closed(&p), "idle and closed without a context");
    free(raw.buf);
    free(rec.ev.buf);
}

static void t_queue_cap(void)
{
    static char small[16];
    static const char m[20] = "twenty bytes message";
    static const char big[126];
    uint64_t rng = 11;
    struct t_rec rec = {0};
    struct t_log raw = {0};
    struct wsp p;
    int fails = 0;

    wsp_open(&p, &t_cb, &rec, &rng, small, sizeof(small), T_MB);
    for (int i = 0; i < WSP_QUEUE_MAX; i++)
        fails += wsp_queue_msg(&p, 1, m, sizeof(m)) != 0;
    ok(!fails, "cap: %d messages queue (%d failed)", WSP_QUEUE_MAX, fails);
    ok(wsp_queue_msg(&p, 1, m, sizeof(m)) == WSP_ERR_QUEUE, "cap: one more is refused");
    ok(wsp_queue_ping(&p, "p", 1) == WSP_ERR_QUEUE, "cap: a ping too");
    t_drain(&p, &raw);
    ok(raw.len == WSP_QUEUE_MAX * 26u, "cap: all went out (%zu bytes)", raw.len);
    ok(!wsp_queue_msg(&p, 1, m, sizeof(m)), "cap: room again after output");
    ok(!wsp_queue_close(&p, 1000), "cap: a close is never refused for the cap");
    ok(wsp_queue_msg(&p, 1, m, 1) == WSP_ERR_CLOSED && wsp_queue_ping(&p, "p", 1) == WSP_ERR_CLOSED,
       "after our close: no more messages");
    ok(wsp_queue_close(&p, 1000) == WSP_ERR_CLOSED, "a second close is refused");
    ok(wsp_queue_msg(&p, 9, m, 1) == WSP_ERR_INVAL, "opcode 9 is not a message");
    wsp_free(&p);
    wsp_open(&p, &t_cb, &rec, &rng, small, sizeof(small), T_MB);
    ok(wsp_queue_ping(&p, big, 126) == WSP_ERR_INVAL, "ping over 125 bytes");
    wsp_free(&p);
    wsp_free(&p);
    ok(wsp_feed(&p, "x", 1) == WSP_ERR_CLOSED && wsp_queue_msg(&p, 1, "x", 1) == WSP_ERR_CLOSED &&
           wsp_queue_close(&p, 1000) == WSP_ERR_CLOSED && wsp_output(&p) == 0,
       "freed twice, then everything says closed");
    free(raw.buf);
    free(rec.ev.buf);
}

/* n empty pings in one feed, nothing sent in between. */
static int t_pings(int n, struct t_log *frames)
{
    static char out[T_OUT_CAP];
    uint64_t rng = 13;
    struct t_rec rec = {0};
    struct t_log in = {0}, raw = {0};
    struct wsp p;
    int rc;

    for (int i = 0; i < n; i++)
        t_frame(&in, 0x89, NULL, 0);
    wsp_open(&p, &t_cb, &rec, &rng, out, sizeof(out), T_MB);
    rc = wsp_feed(&p, (const char *)in.buf, in.len);
    t_drain(&p, &raw);
    t_frames(&raw, frames, NULL, NULL);
    wsp_free(&p);
    free(in.buf);
    free(raw.buf);
    free(rec.ev.buf);
    return rc;
}

static void t_flood(void)
{
    struct t_log frames = {0}, want = {0};
    int rc;

    rc = t_pings(WSP_FLOOD_MAX, &frames);
    for (int i = 0; i < WSP_FLOOD_MAX; i++)
        t_log_ev(&want, 'F', 0x8a, NULL, 0);
    ok(rc == 0 && t_log_eq(&frames, &want), "%d pings: that many pongs", WSP_FLOOD_MAX);
    frames.len = want.len = 0;
    rc = t_pings(WSP_FLOOD_MAX + 1, &frames);
    t_log_ev(&want, 'F', 0x88, "\x03\xf0", 2); /* 1008, pongs dropped */
    ok(rc == WSP_ERR_FLOOD && t_log_eq(&frames, &want), "%d pings: flood, close 1008 (rc %d)",
       WSP_FLOOD_MAX + 1, rc);
    free(frames.buf);
    free(want.buf);
}

/* We close first; the server answers; then the connection can go. Also a
 * reply queued from inside on_msg. */
static void t_closing(void)
{
    static char out[T_OUT_CAP];
    uint64_t rng = 17;
    struct t_rec rec = {.echo = true};
    struct t_log raw = {0}, frames = {0}, want = {0};
    struct wsp p;

    rec.p = &p;
    wsp_open(&p, &t_cb, &rec, &rng, out, sizeof(out), T_MB);
    ok(!t_feed_str(&p, "\x81\x02hi\x82\x01!", 7), "echo: feed");
    ok(!wsp_queue_close(&p, 1000), "our close queued");
    t_drain(&p, &raw);
    t_log_ev(&want, 'F', 0x81, "hi", 2);
    t_log_ev(&want, 'F', 0x82, "!", 1);
    t_log_ev(&want, 'F', 0x88, "\x03\xe8", 2);
    ok(t_frames(&raw, &frames, NULL, NULL) && t_log_eq(&frames, &want),
       "echoes queued from on_msg, then our close");
    ok(!wsp_closed(&p) && wsp_close_code_sent(&p) == 1000, "close sent, not received yet");
    ok(!t_feed_str(&p, "\x88\x02\x03\xe8", 4) && wsp_closed(&p), "closed once the server answers");
    raw.len = 0;
    t_drain(&p, &raw);
    ok(raw.len == 0, "nothing more to send");
    ok(wsp_queue_msg(&p, 1, "x", 1) == WSP_ERR_CLOSED, "no message after the close");
    wsp_free(&p);
    free(raw.buf);
    free(frames.buf);
    free(want.buf);
    free(rec.ev.buf);
    for (int e = 0; e >= -8; e--)
        ok(wsp_strerror(e) && *wsp_strerror(e), "strerror %d", e);
}

static double t_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* queue + output + sent per message; slow: through wslay (handed-out
 * output sends the next message to wslay). */
static double t_cost_send(size_t size, bool slow, int iters)
{
    static char out[T_OUT_CAP];
    char msg[1024];
    uint64_t rng = 1;
    struct t_rec rec = {0};
    struct wsp p;
    double t0;

    memset(msg, 'm', sizeof(msg));
    wsp_open(&p, &t_cb, &rec, &rng, out, sizeof(out), T_MB);
    if (slow) {
        wsp_queue_msg(&p, 1, msg, size);
        wsp_output(&p); /* handed out: the next message goes to wslay */
    }
    t0 = t_now_us();
    for (int i = 0; i < iters; i++) {
        wsp_queue_msg(&p, 1, msg, size);
        if (slow) {
            wsp_sent(&p);
            wsp_output(&p);
        } else {
            wsp_output(&p);
            wsp_sent(&p);
        }
    }
    t0 = (t_now_us() - t0) / iters;
    wsp_free(&p);
    return t0;
}

static void t_nop_msg(void *user, int opcode, const uint8_t *data, size_t len)
{
    (void)opcode;
    (void)data;
    *(size_t *)user += len;
}

/* wsp_feed per 64-byte text message, 64 messages per feed. */
static double t_cost_feed(int iters)
{
    static const struct wsp_cb cb = {.on_msg = t_nop_msg};
    static char out[T_OUT_CAP];
    char msg[64];
    struct t_log in = {0};
    uint64_t rng = 1;
    size_t got = 0;
    struct wsp p;
    double t0;

    memset(msg, 'm', sizeof(msg));
    for (int i = 0; i < 64; i++)
        t_frame(&in, 0x81, msg, sizeof(msg));
    wsp_open(&p, &cb, &got, &rng, out, sizeof(out), T_MB);
    t0 = t_now_us();
    for (int i = 0; i < iters / 64; i++)
        wsp_feed(&p, (const char *)in.buf, in.len);
    t0 = (t_now_us() - t0) / (iters / 64 * 64);
    wsp_free(&p);
    free(in.buf);
    ok(got == (size_t)(iters / 64 * 64) * 64, "cost loop: every message arrived");
    return t0;
}

static void t_costs(void)
{
    int n = 100000;

    note("cost per 64-byte message: queue+output fast %.3f us, through wslay %.3f us",
         t_cost_send(64, false, n), t_cost_send(64, true, n));
    note("cost per 1 KiB message: queue+output fast %.3f us, through wslay %.3f us",
         t_cost_send(1024, false, n / 4), t_cost_send(1024, true, n / 4));
    note("cost per 64-byte message: feed %.3f us", t_cost_feed(n));
}

int main(void)
{
    struct t_guard g;

    t_guard_init(&g, T_GUARD_ROOM);
    t_cases_messages(&g);
    t_cases_sizes(&g);
    t_cases_errors(&g);
    t_masking();
    t_fast_vs_wslay();
    t_output_rules();
    t_idle();
    t_queue_cap();
    t_flood();
    t_closing();
    t_costs();
    return done();
}
