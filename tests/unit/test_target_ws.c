/*
 * test_target_ws.c - stampede-target's WebSocket protocol pieces
 * (tools/stampede-target/target_ws.c): the Sec-WebSocket-Accept value
 * (RFC 6455 sample key), the upgrade check and the 101, unmasking, frame
 * headers, and the frame parser.
 *
 * The tool's objects are not linked into unit programs, so its source is
 * included, as test_target_parse.c does. Each parser case is a stream of
 * client frames and the events it must give; the stream is fed whole, cut
 * at every offset, cut at every pair of offsets (small cases) and byte by
 * byte, each piece copied so it ends at a PROT_NONE page (a read past a
 * piece crashes the test). Every way must give the same events, and once
 * the input is used up the parser holds no buffer unless a message is
 * still partial.
 */
#include "../../tools/stampede-target/target_ws.c"
#include "t.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define T_MAX_EVS 8
#define T_MAX_STREAM 80000
#define T_BROKEN 100

/* A stream under construction. */
struct t_buf {
    uint8_t b[T_MAX_STREAM];
    size_t len;
};

/* Append one client frame: masked unless mask is 0 and unmasked is set. */
static void t_frame_raw(struct t_buf *s, uint8_t b0, const void *payload, size_t n, bool masked)
{
    static uint32_t seed = 0x9e3779b9u;
    uint8_t key[4];

    seed = seed * 1664525u + 1013904223u;
    memcpy(key, &seed, 4);
    s->b[s->len++] = b0;
    uint8_t mbit = masked ? 0x80 : 0;
    if (n < 126) {
        s->b[s->len++] = (uint8_t)(mbit | n);
    } else if (n <= 0xffff) {
        s->b[s->len++] = mbit | 126;
        s->b[s->len++] = (uint8_t)(n >> 8);
        s->b[s->len++] = (uint8_t)n;
    } else {
        s->b[s->len++] = mbit | 127;
        for (int i = 0; i < 8; i++)
            s->b[s->len++] = (uint8_t)((uint64_t)n >> (56 - 8 * i));
    }
    if (masked) {
        memcpy(s->b + s->len, key, 4);
        s->len += 4;
    }
    for (size_t i = 0; i < n; i++)
        s->b[s->len + i] = ((const uint8_t *)payload)[i] ^ (masked ? key[i & 3] : 0);
    s->len += n;
}

static void t_frame(struct t_buf *s, bool fin, uint8_t op, const char *payload)
{
    t_frame_raw(s, (uint8_t)((fin ? 0x80 : 0) | op), payload, strlen(payload), true);
}

/* One event as recorded. */
struct t_ev {
    int type;
    uint8_t op;
    uint16_t code;
    uint32_t len;
    uint8_t *data; /* a copy */
};

struct t_run {
    struct t_ev ev[T_MAX_EVS + 1];
    int n;
    bool held;     /* a buffer was held after the input was used up, with no partial message */
    bool in_place; /* some message was handed out from inside the fed buffer */
};

static void t_run_free(struct t_run *r)
{
    for (int i = 0; i < r->n; i++)
        free(r->ev[i].data);
    r->n = 0;
}

/* Input whose last byte sits just before a PROT_NONE page. */
static uint8_t *g_end;

static int t_guard_init(size_t room)
{
    long pg = sysconf(_SC_PAGESIZE);
    size_t n = (room + (size_t)pg - 1) / (size_t)pg * (size_t)pg;
    uint8_t *m = mmap(NULL, n + (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);

    if (m == MAP_FAILED || mprotect(m + n, (size_t)pg, PROT_NONE) < 0)
        return -1;
    g_end = m + n;
    return 0;
}

static void t_record(struct t_run *r, int t, const struct tgt_ws_ev *ev)
{
    struct t_ev *e = &r->ev[r->n++];

    e->type = t;
    e->op = ev->op;
    e->code = ev->code;
    e->len = t == TGT_WS_EV_ERROR ? 0 : ev->len;
    e->data = malloc(e->len + 1);
    if (e->len)
        memcpy(e->data, ev->data, e->len);
}

/* Feed in[0..len) cut at cuts[0..ncuts); stops after CLOSE or ERROR. */
static void t_feed(const uint8_t *in, size_t len, const size_t *cuts, size_t ncuts,
                   uint32_t max_msg, struct t_run *r)
{
    struct tgt_ws_rx rx = {0};
    size_t from = 0;
    bool stop = false;

    memset(r, 0, sizeof(*r));
    for (size_t k = 0; k <= ncuts && !stop; k++) {
        size_t to = k < ncuts ? cuts[k] : len, left = to - from, used;
        uint8_t *s = g_end - left;

        memcpy(s, in + from, left);
        while (left && !stop && r->n < T_MAX_EVS) {
            struct tgt_ws_ev ev;
            int t = tgt_ws_feed(&rx, s, left, max_msg, &ev, &used);

            if (used > left || (t == TGT_WS_EV_NONE && used != left)) {
                r->ev[r->n++] = (struct t_ev){.type = T_BROKEN};
                stop = true;
                break;
            }
            if (t == TGT_WS_EV_MSG && ev.len && ev.data >= g_end - (to - from) && ev.data < g_end)
                r->in_place = true;
            if (t != TGT_WS_EV_NONE)
                t_record(r, t, &ev);
            stop = t == TGT_WS_EV_CLOSE || t == TGT_WS_EV_ERROR;
            s += used;
            left -= used;
        }
        tgt_ws_rx_release(&rx);
        if (!rx.msg_op && !rx.in_payload && !rx.hdr_len && (rx.msg || rx.ctl))
            r->held = true;
        from = to;
    }
    tgt_ws_rx_fini(&rx);
}

static bool t_same_runs(const struct t_run *a, const struct t_run *b)
{
    if (a->n != b->n)
        return false;
    for (int i = 0; i < a->n; i++) {
        const struct t_ev *x = &a->ev[i], *y = &b->ev[i];

        if (x->type != y->type || x->op != y->op || x->code != y->code || x->len != y->len ||
            (x->len && memcmp(x->data, y->data, x->len)))
            return false;
    }
    return true;
}

/* Expected events of a case. */
struct t_want {
    int type;
    uint8_t op;
    uint16_t code;
    const char *data; /* NULL: do not compare (long payloads) */
    uint32_t len;
};

struct t_case {
    const char *name;
    struct t_buf *s;
    uint32_t max_msg;
    int n;
    struct t_want want[T_MAX_EVS];
};

static bool t_matches(const struct t_case *tc, const struct t_run *r)
{
    if (r->n != tc->n)
        return false;
    for (int i = 0; i < r->n; i++) {
        const struct t_want *w = &tc->want[i];
        const struct t_ev *e = &r->ev[i];

        if (e->type != w->type || e->code != w->code)
            return false;
        if (w->type == TGT_WS_EV_ERROR)
            continue;
        if (e->op != w->op || e->len != w->len || (w->data && memcmp(e->data, w->data, w->len)))
            return false;
    }
    return true;
}

/* Every offset of a small stream; of a long one, every offset near its
 * frame headers (the first and last 300 bytes) and every 97th between. */
static size_t t_next_cut(size_t i, size_t len)
{
    if (len <= 2000 || i < 300 || i + 300 >= len)
        return i + 1;
    return i + 97 < len - 300 ? i + 97 : len - 300;
}

static void t_check_case(const struct t_case *tc)
{
    const uint8_t *in = tc->s->b;
    size_t len = tc->s->len, cuts[2];
    struct t_run whole, r;
    bool all = true;

    t_feed(in, len, NULL, 0, tc->max_msg, &whole);
    ok(t_matches(tc, &whole), "%s: whole: %d events, first type %d code %u", tc->name, whole.n,
       whole.n ? whole.ev[0].type : -1, whole.n ? whole.ev[0].code : 0);
    ok(!whole.held, "%s: whole: a buffer is still held", tc->name);
    for (size_t i = 0; i <= len && all; i = t_next_cut(i, len)) {
        cuts[0] = i;
        t_feed(in, len, cuts, 1, tc->max_msg, &r);
        all = t_same_runs(&whole, &r) && !r.held;
        ok(all, "%s: cut at %zu: %d events (want %d), held %d", tc->name, i, r.n, whole.n, r.held);
        t_run_free(&r);
        for (size_t j = i; j <= len && all && len <= 200; j++) {
            cuts[1] = j;
            t_feed(in, len, cuts, 2, tc->max_msg, &r);
            all = t_same_runs(&whole, &r) && !r.held;
            ok(all, "%s: cuts at %zu and %zu", tc->name, i, j);
            t_run_free(&r);
        }
    }
    if (len <= 20000) {
        size_t *bytes = malloc(sizeof(*bytes) * (len + 1));

        for (size_t i = 0; i + 1 < len; i++)
            bytes[i] = i + 1;
        t_feed(in, len, bytes, len ? len - 1 : 0, tc->max_msg, &r);
        ok(t_same_runs(&whole, &r) && !r.held, "%s: byte by byte: %d events, type %d code %u held %d",
           tc->name, r.n, r.n ? r.ev[0].type : -1, r.n ? r.ev[0].code : 0, r.held);
        t_run_free(&r);
        free(bytes);
    }
    t_run_free(&whole);
}

#define MSG(o, d) {TGT_WS_EV_MSG, o, 0, d, sizeof(d) - 1}
#define PING(d) {TGT_WS_EV_PING, TGT_WS_OP_PING, 0, d, sizeof(d) - 1}
#define PONG(d) {TGT_WS_EV_PONG, TGT_WS_OP_PONG, 0, d, sizeof(d) - 1}
#define ERR(c) {TGT_WS_EV_ERROR, 0, c, NULL, 0}
#define TEXT TGT_WS_OP_TEXT
#define BIN TGT_WS_OP_BINARY
#define CONT TGT_WS_OP_CONT
#define MAX (1u << 20)

static struct t_buf sb[40];

static void t_frames(void)
{
    static char big[70000], mid[400];
    struct t_buf *s = sb;
    int k = 0;

    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < sizeof(mid); i++)
        mid[i] = (char)('A' + i % 26);

    t_frame(&s[k], true, TEXT, "hello");
    struct t_case c0 = {"one text", &s[k++], MAX, 1, {MSG(TEXT, "hello")}};
    t_check_case(&c0);

    t_frame(&s[k], true, TEXT, "a");
    t_frame(&s[k], true, BIN, "\x01\x02\x03");
    t_frame(&s[k], true, TGT_WS_OP_PING, "p");
    t_frame(&s[k], true, TEXT, "");
    t_frame(&s[k], true, TGT_WS_OP_PONG, "q");
    t_frame(&s[k], true, TEXT, "last one");
    struct t_case c1 = {"many frames in one buffer", &s[k++], MAX, 6,
                        {MSG(TEXT, "a"), MSG(BIN, "\x01\x02\x03"), PING("p"), MSG(TEXT, ""),
                         PONG("q"), MSG(TEXT, "last one")}};
    t_check_case(&c1);

    t_frame(&s[k], false, TEXT, "Hel");
    t_frame(&s[k], true, TGT_WS_OP_PING, "p1");
    t_frame(&s[k], false, CONT, "lo, ");
    t_frame(&s[k], true, TGT_WS_OP_PONG, "");
    t_frame(&s[k], false, CONT, "");
    t_frame(&s[k], true, CONT, "World");
    t_frame(&s[k], true, BIN, "after");
    struct t_case c2 = {"fragmented, ping and pong interleaved", &s[k++], MAX, 4,
                        {PING("p1"), PONG(""), MSG(TEXT, "Hello, World"), MSG(BIN, "after")}};
    t_check_case(&c2);

    t_frame(&s[k], false, BIN, "");
    t_frame(&s[k], true, CONT, "xyz");
    struct t_case c3 = {"empty first fragment", &s[k++], MAX, 1, {MSG(BIN, "xyz")}};
    t_check_case(&c3);

    t_frame_raw(&s[k], 0x80 | TEXT, mid, sizeof(mid), true);
    t_frame(&s[k], true, TGT_WS_OP_CLOSE, "\x03\xe8" "bye");
    t_frame(&s[k], true, TEXT, "ignored after close");
    struct t_case c4 = {"16-bit length, close with code", &s[k++], MAX, 2,
                        {{TGT_WS_EV_MSG, TEXT, 0, mid, sizeof(mid)},
                         {TGT_WS_EV_CLOSE, TGT_WS_OP_CLOSE, 1000, "bye", 3}}};
    t_check_case(&c4);

    t_frame_raw(&s[k], 0x80 | BIN, big, sizeof(big), true);
    t_frame(&s[k], true, TGT_WS_OP_CLOSE, "");
    struct t_case c5 = {"64-bit length, empty close", &s[k++], MAX, 2,
                        {{TGT_WS_EV_MSG, BIN, 0, big, sizeof(big)},
                         {TGT_WS_EV_CLOSE, TGT_WS_OP_CLOSE, 0, "", 0}}};
    t_check_case(&c5);

    t_frame_raw(&s[k], 0x80 | TEXT, mid, 300, true);
    t_frame_raw(&s[k], 0x00 | TEXT, mid, 200, true);
    t_frame_raw(&s[k], 0x80 | CONT, mid, 100, true);
    t_frame_raw(&s[k], 0x80 | TEXT, mid, 301, true);
    struct t_case c6 = {"exactly the cap, then one over", &s[k++], 300, 3,
                        {{TGT_WS_EV_MSG, TEXT, 0, mid, 300}, {TGT_WS_EV_MSG, TEXT, 0, NULL, 300},
                         ERR(TGT_WS_CLOSE_TOO_BIG)}};
    t_check_case(&c6);

    t_frame_raw(&s[k], 0x00 | TEXT, mid, 200, true);
    t_frame(&s[k], true, TGT_WS_OP_PING, "");
    t_frame_raw(&s[k], 0x80 | CONT, mid, 101, true);
    struct t_case c7 = {"fragments add up over the cap", &s[k++], 300, 2,
                        {PING(""), ERR(TGT_WS_CLOSE_TOO_BIG)}};
    t_check_case(&c7);

    static const struct {
        const char *name;
        uint8_t b0;
        const char *payload;
        bool masked;
        uint16_t code;
    } bad[] = {
        {"unmasked", 0x80 | TEXT, "x", false, TGT_WS_CLOSE_PROTOCOL},
        {"rsv1", 0xc0 | TEXT, "x", true, TGT_WS_CLOSE_PROTOCOL},
        {"rsv3", 0x90 | BIN, "x", true, TGT_WS_CLOSE_PROTOCOL},
        {"opcode 3", 0x83, "x", true, TGT_WS_CLOSE_PROTOCOL},
        {"opcode 11", 0x8b, "", true, TGT_WS_CLOSE_PROTOCOL},
        {"fragmented ping", 0x00 | TGT_WS_OP_PING, "x", true, TGT_WS_CLOSE_PROTOCOL},
        {"continuation first", 0x80 | CONT, "x", true, TGT_WS_CLOSE_PROTOCOL},
        {"close of 1 byte", 0x80 | TGT_WS_OP_CLOSE, "\x03", true, TGT_WS_CLOSE_PROTOCOL},
        {"close code 1005", 0x80 | TGT_WS_OP_CLOSE, "\x03\xed", true, TGT_WS_CLOSE_PROTOCOL},
        {"close code 999", 0x80 | TGT_WS_OP_CLOSE, "\x03\xe7", true, TGT_WS_CLOSE_PROTOCOL},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]) && k < 38; i++) {
        t_frame(&s[k], true, TEXT, "ok");
        t_frame_raw(&s[k], bad[i].b0, bad[i].payload, strlen(bad[i].payload), bad[i].masked);
        struct t_case c = {bad[i].name, &s[k++], MAX, 2, {MSG(TEXT, "ok"), ERR(bad[i].code)}};
        t_check_case(&c);
    }

    t_frame(&s[k], false, TEXT, "a");
    t_frame(&s[k], true, BIN, "b");
    struct t_case c8 = {"new message inside a fragmented one", &s[k++], MAX, 1,
                        {ERR(TGT_WS_CLOSE_PROTOCOL)}};
    t_check_case(&c8);

    t_frame_raw(&s[k], 0x80 | TGT_WS_OP_PING, mid, 126, true);
    struct t_case c9 = {"ping over 125 bytes", &s[k++], MAX, 1, {ERR(TGT_WS_CLOSE_PROTOCOL)}};
    t_check_case(&c9);

    /* a 64-bit length with its top bit set */
    struct t_buf *h = &s[k++];
    const uint8_t top[] = {0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
    memcpy(h->b, top, sizeof(top));
    h->len = sizeof(top);
    struct t_case c10 = {"64-bit length over 2^63", h, MAX, 1, {ERR(TGT_WS_CLOSE_PROTOCOL)}};
    t_check_case(&c10);
}

/* Unmasking 8 at a time agrees with byte by byte at every length and
 * alignment, and rotating the key continues a split payload. */
static void t_unmask(void)
{
    uint8_t a[80], b[80];
    uint32_t mask = 0x11223344u;
    bool all = true;

    for (size_t off = 0; off < 8; off++) {
        for (size_t n = 0; n + off <= sizeof(a); n++) {
            for (size_t i = 0; i < sizeof(a); i++)
                a[i] = b[i] = (uint8_t)(i * 7 + 1);
            tgt_ws_unmask(a + off, n, mask);
            for (size_t i = 0; i < n; i++)
                b[off + i] ^= (uint8_t)(mask >> (8 * (i & 3)));
            all = all && memcmp(a, b, sizeof(a)) == 0;
        }
    }
    ok(all, "unmask matches the byte-wise XOR at every offset and length");
    for (size_t cut = 0; cut <= 40; cut++) {
        for (size_t i = 0; i < sizeof(a); i++)
            a[i] = b[i] = (uint8_t)(i * 13);
        tgt_ws_unmask(a, cut, mask);
        tgt_ws_unmask(a + cut, 40 - cut, ror32(mask, 8 * (unsigned)(cut & 3)));
        tgt_ws_unmask(b, 40, mask);
        all = all && memcmp(a, b, 40) == 0;
    }
    ok(all, "a payload unmasked in two pieces with the key rotated equals one piece");
}

static void t_hdr(void)
{
    uint8_t h[10];

    ok(tgt_ws_hdr(h, TEXT, 5) == 2 && h[0] == 0x81 && h[1] == 5, "small header");
    ok(tgt_ws_hdr(h, BIN, 125) == 2 && h[1] == 125, "125 fits 7 bits");
    ok(tgt_ws_hdr(h, BIN, 126) == 4 && h[1] == 126 && h[2] == 0 && h[3] == 126, "126 takes 16 bits");
    ok(tgt_ws_hdr(h, BIN, 65535) == 4 && h[2] == 0xff && h[3] == 0xff, "65535 takes 16 bits");
    ok(tgt_ws_hdr(h, BIN, 65536) == 10 && h[1] == 127 && h[7] == 1 && h[8] == 0 && h[9] == 0,
       "65536 takes 64 bits");
}

static void t_accept(void)
{
    char out[29];

    ok(tgt_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", 24, out) == 0 &&
           strcmp(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
       "RFC 6455 sample key gives s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, got %s", out);
}

#define KEY "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
#define V13 "Sec-WebSocket-Version: 13\r\n"
#define UPG "Upgrade: websocket\r\nConnection: Upgrade\r\n"
#define REQ(path) "GET " path " HTTP/1.1\r\nHost: a\r\n" UPG KEY V13

static void t_handshakes(void)
{
    static const struct {
        const char *name, *head;
        enum tgt_hs_result want;
        enum tgt_ws_path path;
        uint32_t room_n;
        const char *proto;
    } cases[] = {
        {"echo", REQ("/echo") "\r\n", TGT_HS_OK, TGT_WS_PATH_ECHO, 0, NULL},
        {"root is echo", REQ("/") "\r\n", TGT_HS_OK, TGT_WS_PATH_ECHO, 0, NULL},
        {"query ignored", REQ("/echo?a=1") "\r\n", TGT_HS_OK, TGT_WS_PATH_ECHO, 0, NULL},
        {"rooms/3", REQ("/rooms/3") "\r\n", TGT_HS_OK, TGT_WS_PATH_ROOM, 3, NULL},
        {"rooms/1000", REQ("/rooms/1000") "\r\n", TGT_HS_OK, TGT_WS_PATH_ROOM, 1000, NULL},
        {"rooms/0", REQ("/rooms/0") "\r\n", TGT_HS_NOT_FOUND, 0, 0, NULL},
        {"rooms/x", REQ("/rooms/x") "\r\n", TGT_HS_NOT_FOUND, 0, 0, NULL},
        {"rooms/", REQ("/rooms/") "\r\n", TGT_HS_NOT_FOUND, 0, 0, NULL},
        {"rooms/3/", REQ("/rooms/3/") "\r\n", TGT_HS_NOT_FOUND, 0, 0, NULL},
        {"unknown path", REQ("/nope") "\r\n", TGT_HS_NOT_FOUND, 0, 0, NULL},
        {"unknown path, bad key too", "GET /nope HTTP/1.1\r\n" UPG "\r\n", TGT_HS_NOT_FOUND, 0, 0,
         NULL},
        {"no upgrade", "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n", TGT_HS_NOT_WS, 0, 0, NULL},
        {"h2c upgrade", "GET /echo HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
         TGT_HS_NOT_WS, 0, 0, NULL},
        {"case and lists",
         "GET /echo HTTP/1.1\r\nUPGRADE: foo, WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
         "sec-websocket-key:dGhlIHNhbXBsZSBub25jZQ==  \r\nSEC-WEBSOCKET-VERSION: 13\r\n\r\n",
         TGT_HS_OK, TGT_WS_PATH_ECHO, 0, NULL},
        {"bare LF", "GET /rooms/7 HTTP/1.1\nUpgrade: websocket\nConnection: upgrade\n"
                    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n",
         TGT_HS_OK, TGT_WS_PATH_ROOM, 7, NULL},
        {"subprotocols", REQ("/echo") "Sec-WebSocket-Protocol: chat, superchat\r\n"
                                      "Sec-WebSocket-Protocol: other\r\n\r\n",
         TGT_HS_OK, TGT_WS_PATH_ECHO, 0, "chat"},
        {"no Connection: upgrade", "GET /echo HTTP/1.1\r\nUpgrade: websocket\r\n" KEY V13 "\r\n",
         TGT_HS_BAD, 0, 0, NULL},
        {"version 8", "GET /echo HTTP/1.1\r\n" UPG KEY "Sec-WebSocket-Version: 8\r\n\r\n",
         TGT_HS_BAD, 0, 0, NULL},
        {"no version", "GET /echo HTTP/1.1\r\n" UPG KEY "\r\n", TGT_HS_BAD, 0, 0, NULL},
        {"no key", "GET /echo HTTP/1.1\r\n" UPG V13 "\r\n", TGT_HS_BAD, 0, 0, NULL},
        {"short key", "GET /echo HTTP/1.1\r\n" UPG "Sec-WebSocket-Key: abc==\r\n" V13 "\r\n",
         TGT_HS_BAD, 0, 0, NULL},
        {"POST", "POST /echo HTTP/1.1\r\n" UPG KEY V13 "\r\n", TGT_HS_BAD, 0, 0, NULL},
        {"HTTP/1.0", "GET /echo HTTP/1.0\r\n" UPG KEY V13 "\r\n", TGT_HS_BAD, 0, 0, NULL},
        {"with a body", REQ("/echo") "Content-Length: 3\r\n\r\n", TGT_HS_BAD, 0, 0, NULL},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct tgt_ws_hs hs;
        enum tgt_hs_result r = tgt_ws_hs_parse(cases[i].head, strlen(cases[i].head), &hs);
        bool good = r == cases[i].want;

        if (good && r == TGT_HS_OK) {
            good = hs.path == cases[i].path && hs.room_n == cases[i].room_n &&
                   !cases[i].proto == !hs.proto &&
                   (!hs.proto || (hs.proto_len == strlen(cases[i].proto) &&
                                  memcmp(hs.proto, cases[i].proto, hs.proto_len) == 0)) &&
                   hs.key && memcmp(hs.key, "dGhlIHNhbXBsZSBub25jZQ==", 24) == 0;
        }
        ok(good, "handshake %s: result %d, want %d", cases[i].name, r, cases[i].want);
    }
}

static void t_101(void)
{
    static const char head[] = REQ("/echo") "Sec-WebSocket-Protocol: chat\r\n\r\n";
    struct tgt_ws_hs hs;
    char out[TGT_WS_101_MAX];
    int n;

    tgt_ws_hs_parse(head, sizeof(head) - 1, &hs);
    n = tgt_ws_101(&hs, out);
    ok(n > 0 && (size_t)n == strlen(out), "101 length");
    ok(strncmp(out, "HTTP/1.1 101 Switching Protocols\r\n", 34) == 0, "101 status line");
    ok(strstr(out, "\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n") != NULL,
       "101 carries the accept value: %s", out);
    ok(strstr(out, "\r\nSec-WebSocket-Protocol: chat\r\n") != NULL, "101 echoes the subprotocol");
    ok(n >= 4 && memcmp(out + n - 4, "\r\n\r\n", 4) == 0, "101 ends its head");
}

/* A message arriving whole is handed out from the fed buffer, not copied. */
static void t_in_place(void)
{
    struct t_buf *s = &sb[39];
    struct t_run r;

    s->len = 0;
    t_frame(s, true, TEXT, "zero copy please");
    t_feed(s->b, s->len, NULL, 0, MAX, &r);
    ok(r.n == 1 && r.in_place, "a whole message is handed out in place");
    t_run_free(&r);
}

int main(void)
{
    if (t_guard_init(T_MAX_STREAM + 4096) < 0) {
        note("cannot map a guard page");
        return T_SKIP;
    }
    ok(sizeof(struct tgt_ws_rx) == 56, "receive state is %zu bytes", sizeof(struct tgt_ws_rx));
    t_accept();
    t_handshakes();
    t_101();
    t_hdr();
    t_unmask();
    t_frames();
    t_in_place();
    return done();
}
