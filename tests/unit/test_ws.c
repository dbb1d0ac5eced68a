/*
 * test_ws.c - the RFC 6455 client handshake: key, accept, upgrade request,
 * response accumulation and verification.
 *
 * The accept value is checked against RFC 6455's own example; keys for
 * distinctness and base64 shape. The upgrade request is compared byte for
 * byte. ws_hs_feed runs on a 101 followed by frame bytes cut at every
 * split point (and every pair of split points for the short one, and byte
 * by byte), with each piece placed against a PROT_NONE page, and must
 * always find the same head and leave the frame bytes. ws_hs_verify is
 * table-driven over good and bad heads.
 */
#include "t.h"
#include "t_guard.h"
#include "ws.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#define T_SAMPLE_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define T_SAMPLE_ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define T_GUARD_ROOM (16 * 1024)

static void t_accept(void)
{
    char out[WS_ACCEPT_LEN + 1], big[WS_KEY_IN_MAX + 2];

    ws_accept_for(T_SAMPLE_KEY, out);
    ok(!strcmp(out, T_SAMPLE_ACCEPT), "RFC 6455 sample accept: %s", out);
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    ws_accept_for(big, out);
    ok(out[0] == 0, "an over-long key gives an empty accept");
}

static bool t_is_b64(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[i]))
            return false;
    return true;
}

struct t_key {
    char s[WS_KEY_LEN + 1];
};

static int t_cmp_key(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct t_key));
}

static uint64_t t_xorshift(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void t_keys(void)
{
    enum { N = 1000 };
    struct t_key *keys = malloc(N * sizeof(*keys));
    unsigned char raw[18];
    uint64_t r1, r2, x = 88172645463325252ull;
    int dup = 0, bad = 0;

    memcpy(&r1, "the samp", 8); /* RFC 6455 4.1's example nonce */
    memcpy(&r2, "le nonce", 8);
    ws_make_key(r1, r2, keys[0].s);
    ok(!strcmp(keys[0].s, T_SAMPLE_KEY), "RFC nonce gives the RFC key: %s", keys[0].s);
    for (int i = 0; i < N; i++) {
        r1 = t_xorshift(&x);
        r2 = t_xorshift(&x);
        ws_make_key(r1, r2, keys[i].s);
        if (strlen(keys[i].s) != WS_KEY_LEN || !t_is_b64(keys[i].s, 22) ||
            strcmp(keys[i].s + 22, "==") ||
            EVP_DecodeBlock(raw, (unsigned char *)keys[i].s, WS_KEY_LEN) != 18 ||
            memcmp(raw, &r1, 8) || memcmp(raw + 8, &r2, 8))
            bad++;
    }
    qsort(keys, N, sizeof(*keys), t_cmp_key);
    for (int i = 1; i < N; i++)
        dup += !t_cmp_key(&keys[i - 1], &keys[i]);
    ok(!bad, "%d keys are not 24-char base64 of their 16 bytes", bad);
    ok(!dup, "%d duplicate keys out of %d", dup, N);
    free(keys);
}

struct t_up {
    const char *name;
    struct ws_upgrade_spec spec;
    long rc;          /* expected length or -errno; 0: strlen(want) */
    const char *want; /* expected bytes */
};

#define T_KEY_PH "AAAAAAAAAAAAAAAAAAAAAA=="
#define T_UP_HEAD(path, host)                                                                      \
    "GET " path " HTTP/1.1\r\nHost: " host "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"     \
    "Sec-WebSocket-Key: " T_KEY_PH "\r\nSec-WebSocket-Version: 13\r\n"

static const struct http1_header t_h_user[] = {{"X-Token", "abc"}, {"Cookie", "a=1; b=2"}};
static const struct http1_header t_h_host[] = {{"hOsT", "other:81"}};
static const struct http1_header t_h_origin[] = {{"Origin", "https://mine"}};
static const struct http1_header t_h_upgrade[] = {{"Upgrade", "h2c"}};
static const struct http1_header t_h_conn[] = {{"connection", "close"}};
static const struct http1_header t_h_ext[] = {{"Sec-WebSocket-Extensions", "permessage-deflate"}};
static const struct http1_header t_h_key[] = {{"SEC-WEBSOCKET-KEY", "x"}};
static const struct http1_header t_h_lf[] = {{"X-A", "1\r\nEvil: 1"}};
static const struct http1_header t_h_badname[] = {{"X A", "1"}};

static const struct t_up t_ups[] = {
    {"plain",
     {.path = "/chat", .host = "example.com"},
     0,
     T_UP_HEAD("/chat", "example.com") "\r\n"},
    {"default path", {.host = "h:8080"}, 0, T_UP_HEAD("/", "h:8080") "\r\n"},
    {"subprotocol, origin, user headers",
     {.path = "/ws?x=1",
      .host = "h",
      .headers = t_h_user,
      .nheaders = 2,
      .subprotocol = "chat.v2",
      .origin = "http://h"},
     0,
     T_UP_HEAD("/ws?x=1", "h") "Sec-WebSocket-Protocol: chat.v2\r\nOrigin: http://h\r\n"
                               "X-Token: abc\r\nCookie: a=1; b=2\r\n\r\n"},
    {"user Host replaces ours",
     {.path = "/", .host = "h", .headers = t_h_host, .nheaders = 1},
     0,
     "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " T_KEY_PH
     "\r\nSec-WebSocket-Version: 13\r\nhOsT: other:81\r\n\r\n"},
    {"user Origin replaces spec origin",
     {.path = "/", .host = "h", .headers = t_h_origin, .nheaders = 1, .origin = "http://h"},
     0,
     T_UP_HEAD("/", "h") "Origin: https://mine\r\n\r\n"},
    {"user Upgrade", {.host = "h", .headers = t_h_upgrade, .nheaders = 1}, -EINVAL, NULL},
    {"user Connection", {.host = "h", .headers = t_h_conn, .nheaders = 1}, -EINVAL, NULL},
    {"user Sec-WebSocket-Extensions",
     {.host = "h", .headers = t_h_ext, .nheaders = 1},
     -EINVAL,
     NULL},
    {"user Sec-WebSocket-Key", {.host = "h", .headers = t_h_key, .nheaders = 1}, -EINVAL, NULL},
    {"LF in a value", {.host = "h", .headers = t_h_lf, .nheaders = 1}, -EINVAL, NULL},
    {"space in a name", {.host = "h", .headers = t_h_badname, .nheaders = 1}, -EINVAL, NULL},
    {"LF in host", {.host = "h\nX: y"}, -EINVAL, NULL},
    {"CR in origin", {.host = "h", .origin = "o\r"}, -EINVAL, NULL},
    {"space in path", {.path = "/a b", .host = "h"}, -EINVAL, NULL},
    {"subprotocol not a token", {.host = "h", .subprotocol = "a, b"}, -EINVAL, NULL},
    {"empty subprotocol", {.host = "h", .subprotocol = ""}, -EINVAL, NULL},
};

static void t_upgrade_one(const struct t_up *u)
{
    char buf[1024], key[WS_KEY_LEN + 1];
    long want = u->rc ? u->rc : (long)strlen(u->want), rc;
    size_t off = 12345;

    memset(buf, 'Z', sizeof(buf));
    rc = ws_upgrade_build(buf, sizeof(buf), &u->spec, &off);
    ok(rc == want, "upgrade %s: rc %ld, want %ld", u->name, rc, want);
    if (rc < 0 || rc != want)
        return;
    ok(!memcmp(buf, u->want, (size_t)rc), "upgrade %s: bytes differ:\n%.*s", u->name, (int)rc, buf);
    ok(off + WS_KEY_LEN < (size_t)rc && !memcmp(buf + off, T_KEY_PH, WS_KEY_LEN) &&
           !memcmp(buf + off - 19, "Sec-WebSocket-Key: ", 19),
       "upgrade %s: key placeholder at %zu", u->name, off);
    ws_make_key(1, 2, key);
    memcpy(buf + off, key, WS_KEY_LEN);
    ok(strstr(buf, key) == buf + off, "upgrade %s: patched key in place", u->name);
    for (size_t cap = 0; cap < (size_t)rc; cap++) {
        memset(buf, 'Z', sizeof(buf));
        if (ws_upgrade_build(buf, cap, &u->spec, &off) != -ENOSPC || buf[cap] != 'Z') {
            ok(0, "upgrade %s: cap %zu should be -ENOSPC, untouched past cap", u->name, cap);
            return;
        }
    }
    ok(ws_upgrade_build(buf, (size_t)rc, &u->spec, &off) == rc, "upgrade %s: exact cap", u->name);
}

static void t_upgrade(void)
{
    char buf[8];
    size_t off;
    const struct ws_upgrade_spec bad = {.path = "/a b"};

    for (size_t i = 0; i < sizeof(t_ups) / sizeof(t_ups[0]); i++)
        t_upgrade_one(&t_ups[i]);
    ok(ws_upgrade_build(buf, 1, &bad, &off) == -EINVAL, "EINVAL before ENOSPC");
}

/* A 101 for T_SAMPLE_KEY, with frame bytes after it. */
#define T_101                                                                                      \
    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"            \
    "Sec-WebSocket-Accept: " T_SAMPLE_ACCEPT "\r\n\r\n"
#define T_FRAME "\x81\x05hello\x89\x00"

/* Feed in[0..len) cut at cuts[0..ncuts) (sorted); the head and the bytes
 * left over for the WebSocket stream. rc as ws_hs_feed's last. */
static int t_feed_cuts(const struct t_guard *g, const char *in, size_t len, const size_t *cuts,
                       size_t ncuts, struct ws_hs *h, char *rest, size_t *rest_len)
{
    size_t start = 0, used;
    int rc = 0;

    h->len = 0;
    *rest_len = 0;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len, n = end - start;
        const char *p = t_place(g, in + start, n);

        if (rc == 1) {
            memcpy(rest + *rest_len, p, n);
            *rest_len += n;
        } else {
            rc = ws_hs_feed(h, p, n, &used);
            if (used > n || (rc == 0 && used != n))
                return -2;
            if (rc == 1) {
                memcpy(rest + *rest_len, p + used, n - used);
                *rest_len += n - used;
            }
            if (rc < 0)
                return rc;
        }
        start = end;
    }
    return rc;
}

static bool t_feed_ok(const struct t_guard *g, const char *in, size_t len, size_t head_len,
                      const size_t *cuts, size_t ncuts)
{
    struct ws_hs h;
    char rest[256];
    size_t rest_len;
    int rc = t_feed_cuts(g, in, len, cuts, ncuts, &h, rest, &rest_len);

    return rc == 1 && h.len == head_len && !memcmp(h.head, in, head_len) &&
           rest_len == len - head_len && !memcmp(rest, in + head_len, rest_len);
}

static void t_feed_splits(const struct t_guard *g, const char *name, const char *in, size_t len,
                          size_t head_len)
{
    size_t cuts[2], bad = 0, nbytes = len - 1, bytes[512];

    for (cuts[0] = 0; cuts[0] <= len; cuts[0]++) {
        bad += !t_feed_ok(g, in, len, head_len, cuts, 1);
        for (cuts[1] = cuts[0]; cuts[1] <= len; cuts[1]++)
            bad += !t_feed_ok(g, in, len, head_len, cuts, 2);
    }
    for (size_t i = 0; i < nbytes; i++)
        bytes[i] = i + 1;
    bad += !t_feed_ok(g, in, len, head_len, bytes, nbytes);
    ok(!bad, "hs_feed %s: %zu split ways went wrong", name, bad);
}

static void t_feed(const struct t_guard *g)
{
    static const char lf[] = "HTTP/1.1 101 S\nUpgrade: websocket\n\nXY";
    static const char mixed[] = "HTTP/1.1 101 S\r\nA: b\n\r\n\x81";
    char *big = malloc(WS_HS_MAX + 8);
    struct ws_hs h;
    size_t used, n;
    int rc;

    t_feed_splits(g, "101 + frames", T_101 T_FRAME, sizeof(T_101 T_FRAME) - 1, sizeof(T_101) - 1);
    t_feed_splits(g, "LF only", lf, sizeof(lf) - 1, sizeof(lf) - 3);
    t_feed_splits(g, "LF then CRLF", mixed, sizeof(mixed) - 1, sizeof(mixed) - 2);
    /* a head of exactly WS_HS_MAX bytes fits; one more does not */
    for (int extra = 0; extra <= 1; extra++) {
        n = WS_HS_MAX + (size_t)extra;
        memset(big, 'x', n);
        memcpy(big, "HTTP/1.1 101 S\r\nX: ", 19);
        memcpy(big + n - 4, "\r\n\r\n", 4);
        h.len = 0;
        rc = ws_hs_feed(&h, big, n, &used);
        ok(extra ? rc == -1 : rc == 1 && used == n && h.len == n,
           "head of %zu bytes: rc %d used %zu", n, rc, used);
        h.len = 0;
        rc = ws_hs_feed(&h, big, n - 3, &used);
        rc = rc ? rc : ws_hs_feed(&h, big + n - 3, 3, &used);
        ok(extra ? rc == -1 : rc == 1 && used == 3, "head of %zu bytes in 2: rc %d", n, rc);
    }
    h.len = 0;
    ok(ws_hs_feed(&h, "", 0, &used) == 0 && used == 0 && h.len == 0, "empty feed");
    free(big);
}

struct t_vcase {
    const char *name;
    const char *head;
    const char *subprotocol;
    enum ws_hs_err want;
    int status;
};

#define T_ST "HTTP/1.1 101 Switching Protocols\r\n"
#define T_UPG "Upgrade: websocket\r\n"
#define T_CON "Connection: Upgrade\r\n"
#define T_ACC "Sec-WebSocket-Accept: " T_SAMPLE_ACCEPT "\r\n"
#define T_GOOD T_ST T_UPG T_CON T_ACC "\r\n"

static const struct t_vcase t_vcases[] = {
    {"good", T_GOOD, NULL, WS_HS_OK, 101},
    {"good, no reason", "HTTP/1.1 101\r\n" T_UPG T_CON T_ACC "\r\n", NULL, WS_HS_OK, 101},
    {"good, LF only",
     "HTTP/1.1 101 S\n"
     "Upgrade: websocket\nConnection: Upgrade\n"
     "Sec-WebSocket-Accept: " T_SAMPLE_ACCEPT "\n\n",
     NULL, WS_HS_OK, 101},
    {"header case variants",
     T_ST "UPGRADE: WebSocket\r\nconnection: keep-alive, UPGRADE\r\n"
          "sec-websocket-ACCEPT:" T_SAMPLE_ACCEPT "  \r\nServer: x\r\n\r\n",
     NULL, WS_HS_OK, 101},
    {"subprotocol selected", T_ST T_UPG T_CON T_ACC "Sec-WebSocket-Protocol: chat\r\n\r\n", "chat",
     WS_HS_OK, 101},
    {"empty extensions header", T_ST T_UPG T_CON T_ACC "Sec-WebSocket-Extensions: \r\n\r\n", NULL,
     WS_HS_OK, 101},
    {"status 403", "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", NULL, WS_HS_BAD_STATUS,
     403},
    {"status 200 with upgrade headers", "HTTP/1.1 200 OK\r\n" T_UPG T_CON T_ACC "\r\n", NULL,
     WS_HS_BAD_STATUS, 200},
    {"status line garbage", "HTTP/1.1 1o1 S\r\n\r\n", NULL, WS_HS_MALFORMED, 0},
    {"not HTTP", "SSH-2.0-OpenSSH\r\n\r\n", NULL, WS_HS_MALFORMED, 0},
    {"status 4 digits", "HTTP/1.1 1010\r\n\r\n", NULL, WS_HS_MALFORMED, 0},
    {"no empty line", T_ST T_UPG T_CON T_ACC, NULL, WS_HS_MALFORMED, 101},
    {"header without colon", T_ST T_UPG "Connection Upgrade\r\n" T_ACC "\r\n", NULL,
     WS_HS_MALFORMED, 101},
    {"space before colon", T_ST "Upgrade : websocket\r\n" T_CON T_ACC "\r\n", NULL, WS_HS_MALFORMED,
     101},
    {"obs-fold", T_ST T_UPG T_CON T_ACC " folded\r\n\r\n", NULL, WS_HS_MALFORMED, 101},
    {"bare CR", T_ST T_UPG "X: a\rb\r\n" T_CON T_ACC "\r\n", NULL, WS_HS_MALFORMED, 101},
    {"missing upgrade", T_ST T_CON T_ACC "\r\n", NULL, WS_HS_NO_UPGRADE, 101},
    {"upgrade h2c", T_ST "Upgrade: h2c\r\n" T_CON T_ACC "\r\n", NULL, WS_HS_NO_UPGRADE, 101},
    {"second upgrade not websocket", T_ST T_UPG "Upgrade: h2c\r\n" T_CON T_ACC "\r\n", NULL,
     WS_HS_NO_UPGRADE, 101},
    {"missing connection", T_ST T_UPG T_ACC "\r\n", NULL, WS_HS_NO_UPGRADE, 101},
    {"connection keep-alive", T_ST T_UPG "Connection: keep-alive\r\n" T_ACC "\r\n", NULL,
     WS_HS_NO_UPGRADE, 101},
    {"connection upgraded (not the token)", T_ST T_UPG "Connection: upgraded\r\n" T_ACC "\r\n",
     NULL, WS_HS_NO_UPGRADE, 101},
    {"missing accept", T_ST T_UPG T_CON "\r\n", NULL, WS_HS_BAD_ACCEPT, 101},
    {"wrong accept", T_ST T_UPG T_CON "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\r\n\r\n",
     NULL, WS_HS_BAD_ACCEPT, 101},
    {"accept case differs",
     T_ST T_UPG T_CON "Sec-WebSocket-Accept: S3PPLMBITXAQ9KYGZZHZRBK+XOO=\r\n"
                      "\r\n",
     NULL, WS_HS_BAD_ACCEPT, 101},
    {"second accept wrong", T_ST T_UPG T_CON T_ACC "Sec-WebSocket-Accept: x\r\n\r\n", NULL,
     WS_HS_BAD_ACCEPT, 101},
    {"subprotocol not offered", T_ST T_UPG T_CON T_ACC "Sec-WebSocket-Protocol: chat\r\n\r\n", NULL,
     WS_HS_BAD_SUBPROTOCOL, 101},
    {"subprotocol missing", T_GOOD, "chat", WS_HS_BAD_SUBPROTOCOL, 101},
    {"subprotocol mismatch", T_ST T_UPG T_CON T_ACC "Sec-WebSocket-Protocol: chat2\r\n\r\n", "chat",
     WS_HS_BAD_SUBPROTOCOL, 101},
    {"subprotocol case differs", T_ST T_UPG T_CON T_ACC "Sec-WebSocket-Protocol: Chat\r\n\r\n",
     "chat", WS_HS_BAD_SUBPROTOCOL, 101},
    {"extension not offered",
     T_ST T_UPG T_CON T_ACC "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n", NULL,
     WS_HS_BAD_EXTENSION, 101},
};

static void t_verify(const struct t_guard *g)
{
    for (size_t i = 0; i < sizeof(t_vcases) / sizeof(t_vcases[0]); i++) {
        const struct t_vcase *c = &t_vcases[i];
        size_t n = strlen(c->head);
        int status = -1;
        enum ws_hs_err e =
            ws_hs_verify(t_place(g, c->head, n), n, T_SAMPLE_KEY, c->subprotocol, &status);

        ok(e == c->want && status == c->status, "verify %s: %s (%d), status %d; want %s, %d",
           c->name, ws_hs_strerror(e), e, status, ws_hs_strerror(c->want), c->status);
    }
    for (int e = 0; e <= WS_HS_ERR_NR; e++)
        ok(ws_hs_strerror((enum ws_hs_err)e) && *ws_hs_strerror((enum ws_hs_err)e), "strerror %d",
           e);
}

/* The whole path: build, patch a fresh key, answer it, feed, verify. */
static void t_round_trip(void)
{
    const struct ws_upgrade_spec spec = {.path = "/", .host = "h"};
    char req[512], key[WS_KEY_LEN + 1], acc[WS_ACCEPT_LEN + 1], resp[256];
    struct ws_hs h = {0};
    size_t off, used;
    int status, n;

    ok(ws_upgrade_build(req, sizeof(req), &spec, &off) > 0, "round trip: build");
    ws_make_key(0x0123456789abcdefull, 0xfedcba9876543210ull, key);
    memcpy(req + off, key, WS_KEY_LEN);
    ws_accept_for(key, acc);
    n = snprintf(resp, sizeof(resp), T_ST T_UPG T_CON "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
    ok(ws_hs_feed(&h, resp, (size_t)n, &used) == 1 && used == (size_t)n, "round trip: feed");
    ok(ws_hs_verify(h.head, h.len, key, NULL, &status) == WS_HS_OK, "round trip: verify");
    ok(ws_hs_verify(h.head, h.len, T_SAMPLE_KEY, NULL, &status) == WS_HS_BAD_ACCEPT,
       "round trip: another key fails");
}

int main(void)
{
    struct t_guard g;

    t_guard_init(&g, T_GUARD_ROOM);
    t_accept();
    t_keys();
    t_upgrade();
    t_feed(&g);
    t_verify(&g);
    t_round_trip();
    return done();
}
