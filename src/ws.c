/*
 * ws.c - the RFC 6455 client handshake; see ws.h.
 *
 * ws_upgrade_build runs once at start-up. ws_hs_feed copies the head into
 * the caller's struct ws_hs and scans for the empty line from where the
 * last call stopped. ws_hs_verify walks the complete head once, line by
 * line, remembering only verdicts (no header value is stored), and hashes
 * the key once. Invariants: nothing at or past head + len is read; the
 * head may hold any byte (NULs included), lengths are explicit throughout.
 */
#include "ws.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_KEY_PLACEHOLDER "AAAAAAAAAAAAAAAAAAAAAA==" /* valid base64: the request parses as is */

_Static_assert(sizeof(WS_KEY_PLACEHOLDER) == WS_KEY_LEN + 1, "placeholder is one key long");

void ws_make_key(uint64_t r1, uint64_t r2, char key[WS_KEY_LEN + 1])
{
    unsigned char raw[16];

    memcpy(raw, &r1, 8);
    memcpy(raw + 8, &r2, 8);
    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw)); /* writes 24 + NUL */
}

void ws_accept_for(const char *key, char out[WS_ACCEPT_LEN + 1])
{
    char buf[WS_KEY_IN_MAX + sizeof(WS_GUID)];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    size_t n = strlen(key);

    out[0] = 0;
    if (n > WS_KEY_IN_MAX)
        return;
    memcpy(buf, key, n);
    memcpy(buf + n, WS_GUID, sizeof(WS_GUID) - 1);
    if (!EVP_Digest(buf, n + sizeof(WS_GUID) - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
        return;
    EVP_EncodeBlock((unsigned char *)out, md, 20); /* writes 28 + NUL */
}

/* RFC 9110 token characters: visible ASCII except delimiters. */
static bool ws_is_tchar(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static bool ws_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!ws_is_tchar((unsigned char)*s))
            return false;
    return true;
}

/* No CR or LF (a value); a target also no whitespace or control bytes. */
static bool ws_is_clean(const char *s, bool target)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\r' || c == '\n' || (target && (c <= ' ' || c == 0x7f)))
            return false;
    }
    return true;
}

/* Headers the handshake owns: the user may not set them. */
static bool ws_is_reserved(const char *name)
{
    return !strcasecmp(name, "upgrade") || !strcasecmp(name, "connection") ||
           !strncasecmp(name, "sec-websocket-", 14);
}

static bool ws_user_has(const struct ws_upgrade_spec *s, const char *name)
{
    for (size_t i = 0; i < s->nheaders; i++)
        if (!strcasecmp(s->headers[i].name, name))
            return true;
    return false;
}

static bool ws_spec_valid(const struct ws_upgrade_spec *s, const char *path)
{
    if (!ws_is_clean(path, true) || (s->host && !ws_is_clean(s->host, false)) ||
        (s->origin && !ws_is_clean(s->origin, false)) ||
        (s->subprotocol && !ws_is_token(s->subprotocol)))
        return false;
    for (size_t i = 0; i < s->nheaders; i++) {
        const struct http1_header *h = &s->headers[i];
        if (!h->name || !h->value || !ws_is_token(h->name) || !ws_is_clean(h->value, false) ||
            ws_is_reserved(h->name))
            return false;
    }
    return true;
}

/* Bounded writer: remembers that something did not fit. */
struct ws_wbuf {
    char *p;
    size_t cap, len;
    bool full;
};

static void ws_put(struct ws_wbuf *w, const char *s)
{
    size_t n = strlen(s);

    if (w->full || n > w->cap - w->len) {
        w->full = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
}

static void ws_put_header(struct ws_wbuf *w, const char *name, const char *value)
{
    ws_put(w, name);
    ws_put(w, ": ");
    ws_put(w, value);
    ws_put(w, "\r\n");
}

long ws_upgrade_build(char *buf, size_t cap, const struct ws_upgrade_spec *s, size_t *key_off)
{
    const char *path = s->path && *s->path ? s->path : "/";
    struct ws_wbuf w = {.p = buf, .cap = cap};
    size_t off;

    if (!ws_spec_valid(s, path))
        return -EINVAL;
    ws_put(&w, "GET ");
    ws_put(&w, path);
    ws_put(&w, " HTTP/1.1\r\n");
    if (s->host && !ws_user_has(s, "host"))
        ws_put_header(&w, "Host", s->host);
    ws_put(&w, "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ");
    off = w.len;
    ws_put(&w, WS_KEY_PLACEHOLDER "\r\nSec-WebSocket-Version: 13\r\n");
    if (s->subprotocol)
        ws_put_header(&w, "Sec-WebSocket-Protocol", s->subprotocol);
    if (s->origin && !ws_user_has(s, "origin"))
        ws_put_header(&w, "Origin", s->origin);
    for (size_t i = 0; i < s->nheaders; i++)
        ws_put_header(&w, s->headers[i].name, s->headers[i].value);
    ws_put(&w, "\r\n");
    if (w.full)
        return -ENOSPC;
    *key_off = off;
    return (long)w.len;
}

/* The end of the head in h->head[from, to): the index just past the LF of
 * the empty line, or 0. The empty line is LF LF or LF CR LF. */
static size_t ws_hs_scan(const struct ws_hs *h, size_t from, size_t to)
{
    const char *p = h->head + from, *end = h->head + to;

    while ((p = memchr(p, '\n', (size_t)(end - p)))) {
        if (end - p >= 2 && p[1] == '\n')
            return (size_t)(p + 2 - h->head);
        if (end - p >= 3 && p[1] == '\r' && p[2] == '\n')
            return (size_t)(p + 3 - h->head);
        p++;
    }
    return 0;
}

int ws_hs_feed(struct ws_hs *h, const char *buf, size_t len, size_t *used)
{
    size_t old = h->len, room = WS_HS_MAX - old, n = len < room ? len : room;
    size_t end;

    if (n)
        memcpy(h->head + old, buf, n);
    /* an empty line not seen last time starts at most 2 bytes back */
    end = ws_hs_scan(h, old >= 2 ? old - 2 : 0, old + n);
    if (end) {
        h->len = (uint32_t)end;
        *used = end - old;
        return 1;
    }
    h->len = (uint32_t)(old + n);
    *used = n;
    return h->len == WS_HS_MAX ? -1 : 0;
}

/* One line of the head: [p, p + n) without its LF and one CR before it. */
struct ws_line {
    const char *p;
    size_t n;
};

/* The next line at *pos; false at the end of the head, when the line has
 * no LF, or when it holds a bare CR (RFC 9112 2.2: reject). */
static bool ws_next_line(const char *head, size_t len, size_t *pos, struct ws_line *l)
{
    const char *p = head + *pos, *lf = memchr(p, '\n', len - *pos);

    if (!lf)
        return false;
    l->p = p;
    l->n = (size_t)(lf - p);
    if (l->n && p[l->n - 1] == '\r')
        l->n--;
    *pos = (size_t)(lf + 1 - head);
    return !memchr(l->p, '\r', l->n);
}

/* "HTTP/1.x SP 3DIGIT [SP reason]": the status, or 0. */
static int ws_status_line(const struct ws_line *l)
{
    const char *p = l->p;

    if (l->n < 12 || memcmp(p, "HTTP/1.", 7) || p[7] < '0' || p[7] > '9' || p[8] != ' ')
        return 0;
    for (int i = 9; i < 12; i++)
        if (p[i] < '0' || p[i] > '9')
            return 0;
    if (l->n > 12 && p[12] != ' ')
        return 0;
    return (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
}

static bool ws_eq(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && !memcmp(p, s, n);
}

static bool ws_eq_nocase(const char *p, size_t n, const char *s)
{
    return strlen(s) == n && !strncasecmp(p, s, n);
}

static void ws_trim(const char **p, size_t *n)
{
    while (*n && (**p == ' ' || **p == '\t')) {
        (*p)++;
        (*n)--;
    }
    while (*n && ((*p)[*n - 1] == ' ' || (*p)[*n - 1] == '\t'))
        (*n)--;
}

/* Does a comma-separated list hold `word` (case-insensitive)? */
static bool ws_list_has(const char *p, size_t n, const char *word)
{
    while (n) {
        const char *comma = memchr(p, ',', n);
        size_t k = comma ? (size_t)(comma - p) : n;
        const char *e = p;
        size_t en = k;

        ws_trim(&e, &en);
        if (ws_eq_nocase(e, en, word))
            return true;
        p += k + (comma != NULL);
        n -= k + (comma != NULL);
    }
    return false;
}

/* What the headers said, folded into verdicts as they go by. */
struct ws_seen {
    const char *accept;      /* the expected accept value */
    const char *subprotocol; /* what we offered, or NULL */
    bool upgrade, upgrade_bad, conn_upgrade;
    bool accept_ok, accept_bad;
    bool proto_ok, proto_bad;
    bool extension;
};

static void ws_header(struct ws_seen *s, const char *name, size_t nn, const char *v, size_t vn)
{
    if (ws_eq_nocase(name, nn, "upgrade")) {
        if (ws_eq_nocase(v, vn, "websocket"))
            s->upgrade = true;
        else
            s->upgrade_bad = true;
    } else if (ws_eq_nocase(name, nn, "connection")) {
        s->conn_upgrade |= ws_list_has(v, vn, "upgrade");
    } else if (ws_eq_nocase(name, nn, "sec-websocket-accept")) {
        if (ws_eq(v, vn, s->accept))
            s->accept_ok = true;
        else
            s->accept_bad = true;
    } else if (ws_eq_nocase(name, nn, "sec-websocket-protocol")) {
        if (s->subprotocol && ws_eq(v, vn, s->subprotocol))
            s->proto_ok = true;
        else
            s->proto_bad = true;
    } else if (ws_eq_nocase(name, nn, "sec-websocket-extensions")) {
        s->extension |= vn > 0;
    }
}

/* Header lines up to the empty line; false on a syntax error. */
static bool ws_headers(const char *head, size_t len, size_t pos, struct ws_seen *s)
{
    struct ws_line l;

    while (ws_next_line(head, len, &pos, &l)) {
        const char *colon, *v;
        size_t nn, vn;

        if (!l.n)
            return true;
        colon = memchr(l.p, ':', l.n);
        if (!colon || colon == l.p)
            return false;
        nn = (size_t)(colon - l.p);
        for (size_t i = 0; i < nn; i++)
            if (!ws_is_tchar((unsigned char)l.p[i]))
                return false; /* also rejects obs-fold and space before ':' */
        v = colon + 1;
        vn = l.n - nn - 1;
        ws_trim(&v, &vn);
        ws_header(s, l.p, nn, v, vn);
    }
    return false;
}

enum ws_hs_err ws_hs_verify(const char *head, size_t len, const char *key, const char *subprotocol,
                            int *status)
{
    char accept[WS_ACCEPT_LEN + 1];
    struct ws_seen s = {.accept = accept, .subprotocol = subprotocol};
    struct ws_line l;
    size_t pos = 0;

    *status = 0;
    if (!ws_next_line(head, len, &pos, &l) || !(*status = ws_status_line(&l)))
        return WS_HS_MALFORMED;
    if (*status != 101)
        return WS_HS_BAD_STATUS;
    ws_accept_for(key, accept);
    if (!ws_headers(head, len, pos, &s))
        return WS_HS_MALFORMED;
    if (!s.upgrade || s.upgrade_bad || !s.conn_upgrade)
        return WS_HS_NO_UPGRADE;
    if (!s.accept_ok || s.accept_bad || !accept[0])
        return WS_HS_BAD_ACCEPT;
    if (s.proto_bad || (subprotocol && !s.proto_ok))
        return WS_HS_BAD_SUBPROTOCOL;
    if (s.extension)
        return WS_HS_BAD_EXTENSION;
    return WS_HS_OK;
}

static const char *const ws_hs_names[WS_HS_ERR_NR] = {
    [WS_HS_OK] = "ok",
    [WS_HS_BAD_STATUS] = "status is not 101",
    [WS_HS_MALFORMED] = "malformed response head",
    [WS_HS_NO_UPGRADE] = "no upgrade to websocket",
    [WS_HS_BAD_ACCEPT] = "missing or wrong Sec-WebSocket-Accept",
    [WS_HS_BAD_SUBPROTOCOL] = "subprotocol not the one offered",
    [WS_HS_BAD_EXTENSION] = "extension not offered",
};

const char *ws_hs_strerror(enum ws_hs_err e)
{
    return (unsigned)e < WS_HS_ERR_NR ? ws_hs_names[e] : "unknown handshake error";
}
