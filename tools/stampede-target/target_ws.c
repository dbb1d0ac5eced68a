/*
 * target_ws.c - RFC 6455 server-side protocol pieces for stampede-target:
 * the upgrade check and 101 answer (not on the hot path: once per
 * connection), and the frame parser, unmasking and frame headers (hot
 * path: every message of an echo benchmark goes through tgt_ws_feed).
 *
 * Frame parser invariants: rx->in_payload is 0 exactly at frame
 * boundaries, where a header (maybe cut, gathered in rx->hdr) comes next;
 * rx->msg_op is non-zero exactly while a data message is under way, which
 * is what makes a continuation legal and a new TEXT/BINARY frame illegal;
 * rx->msg_len counts the bytes of that message gathered so far, so the
 * size check at each header covers fragmented messages too. A message
 * whose only frame arrives whole in one buffer skips rx->msg entirely.
 *
 * Not checked: UTF-8 validity of text messages and close reasons (a load
 * target echoes bytes; a client that wants 1007 is testing itself).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "target_ws.h"

#define ROOM_N_MAX 1000000u
#define FIN 0x80u

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* s[0..n) equals lit, ignoring ASCII case. */
static bool ieq(const char *s, size_t n, const char *lit)
{
    size_t i = 0;

    for (; i < n && lit[i]; i++)
        if (lower((unsigned char)s[i]) != (unsigned char)lit[i])
            return false;
    return i == n && !lit[i];
}

static bool is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* Strip optional white space around s[0..*n). */
static const char *trim(const char *s, size_t *n)
{
    while (*n && is_ows(*s)) {
        s++;
        (*n)--;
    }
    while (*n && is_ows(s[*n - 1]))
        (*n)--;
    return s;
}

/* The first element of a comma-separated list, trimmed, into *n. */
static const char *list_first(const char *v, size_t len, size_t *n)
{
    const char *comma = memchr(v, ',', len);

    *n = comma ? (size_t)(comma - v) : len;
    return trim(v, n);
}

/* Does the comma-separated list v[0..len) hold tok (case-insensitive)? */
static bool list_has(const char *v, size_t len, const char *tok)
{
    while (len) {
        size_t n;
        const char *e = list_first(v, len, &n);
        const char *comma = memchr(v, ',', len);

        if (ieq(e, n, tok))
            return true;
        if (!comma)
            break;
        len -= (size_t)(comma + 1 - v);
        v = comma + 1;
    }
    return false;
}

/* "/echo", "/" or "/rooms/N" (1 <= N <= ROOM_N_MAX), query ignored. */
static bool path_parse(const char *t, size_t n, struct tgt_ws_hs *hs)
{
    const char *q = memchr(t, '?', n);
    uint64_t v = 0;

    if (q)
        n = (size_t)(q - t);
    if ((n == 1 && t[0] == '/') || (n == 5 && memcmp(t, "/echo", 5) == 0)) {
        hs->path = TGT_WS_PATH_ECHO;
        return true;
    }
    if (n <= 7 || memcmp(t, "/rooms/", 7) != 0 || n > 7 + 10)
        return false;
    for (size_t i = 7; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(t[i] - '0');
    }
    if (v < 1 || v > ROOM_N_MAX)
        return false;
    hs->path = TGT_WS_PATH_ROOM;
    hs->room_n = (uint32_t)v;
    return true;
}

/* 24 base64 characters decoding to 16 bytes (RFC 6455 4.1). */
static bool key_valid(const char *k, size_t n)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

    if (n != 24 || k[22] != '=' || k[23] != '=')
        return false;
    for (size_t i = 0; i < 22; i++)
        if (!k[i] || !strchr(b64, k[i]))
            return false;
    return true;
}

/* What the header lines said. */
struct hs_scan {
    bool ws, conn_upgrade, v13, has_body;
    const char *key;
    size_t key_len;
};

static void hs_header(struct hs_scan *s, struct tgt_ws_hs *hs, const char *name, size_t nlen,
                      const char *v, size_t vlen)
{
    v = trim(v, &vlen);
    if (ieq(name, nlen, "upgrade")) {
        s->ws |= list_has(v, vlen, "websocket");
    } else if (ieq(name, nlen, "connection")) {
        s->conn_upgrade |= list_has(v, vlen, "upgrade");
    } else if (ieq(name, nlen, "sec-websocket-version")) {
        s->v13 = vlen == 2 && v[0] == '1' && v[1] == '3';
    } else if (ieq(name, nlen, "sec-websocket-key")) {
        if (!s->key) {
            s->key = v;
            s->key_len = vlen;
        }
    } else if (ieq(name, nlen, "sec-websocket-protocol")) {
        size_t n;
        const char *p = list_first(v, vlen, &n);

        if (!hs->proto && n) {
            hs->proto = p;
            hs->proto_len = (uint32_t)(n > UINT32_MAX ? UINT32_MAX : n);
        }
    } else if (ieq(name, nlen, "content-length") || ieq(name, nlen, "transfer-encoding")) {
        s->has_body |= !(vlen == 1 && v[0] == '0');
    }
}

/* Next line of head[*pos..len) without its CR LF; false at the end. */
static bool next_line(const char *head, size_t len, size_t *pos, const char **line, size_t *n)
{
    const char *s = head + *pos;
    const char *nl = memchr(s, '\n', len - *pos);
    size_t l = nl ? (size_t)(nl - s) : len - *pos;

    if (*pos >= len)
        return false;
    *pos += l + (nl != NULL);
    if (l && s[l - 1] == '\r')
        l--;
    *line = s;
    *n = l;
    return true;
}

/* "GET /path HTTP/1.1": the method and version checks, the path into hs. */
static enum tgt_hs_result hs_request_line(const char *l, size_t n, struct tgt_ws_hs *hs, bool *get11)
{
    const char *sp1 = memchr(l, ' ', n), *sp2;

    if (!sp1)
        return TGT_HS_BAD;
    sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - l));
    if (!sp2)
        return TGT_HS_BAD;
    *get11 = sp1 - l == 3 && memcmp(l, "GET", 3) == 0 && l + n - (sp2 + 1) == 8 &&
             memcmp(sp2 + 1, "HTTP/1.1", 8) == 0;
    return path_parse(sp1 + 1, (size_t)(sp2 - sp1 - 1), hs) ? TGT_HS_OK : TGT_HS_NOT_FOUND;
}

enum tgt_hs_result tgt_ws_hs_parse(const char *head, size_t len, struct tgt_ws_hs *hs)
{
    struct hs_scan s = {0};
    enum tgt_hs_result path;
    size_t pos = 0, n;
    const char *line;
    bool get11 = false;

    memset(hs, 0, sizeof(*hs));
    while (pos < len && (head[pos] == '\r' || head[pos] == '\n'))
        pos++;
    if (!next_line(head, len, &pos, &line, &n))
        return TGT_HS_NOT_WS;
    path = hs_request_line(line, n, hs, &get11);
    while (next_line(head, len, &pos, &line, &n) && n) {
        const char *colon = memchr(line, ':', n);

        if (colon)
            hs_header(&s, hs, line, (size_t)(colon - line), colon + 1,
                      n - (size_t)(colon + 1 - line));
    }
    if (!s.ws)
        return TGT_HS_NOT_WS;
    if (path != TGT_HS_OK)
        return path;
    if (!get11 || !s.conn_upgrade || !s.v13 || s.has_body || !key_valid(s.key, s.key_len) ||
        hs->proto_len > TGT_WS_PROTO_MAX)
        return TGT_HS_BAD;
    hs->key = s.key;
    return TGT_HS_OK;
}

int tgt_ws_accept(const char *key, size_t key_len, char out[29])
{
    unsigned char in[64 + sizeof(ws_guid)], md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (key_len > 64)
        return -EINVAL;
    memcpy(in, key, key_len);
    memcpy(in + key_len, ws_guid, sizeof(ws_guid) - 1);
    if (!EVP_Digest(in, key_len + sizeof(ws_guid) - 1, md, &md_len, EVP_sha1(), NULL) ||
        md_len != 20)
        return -EIO;
    EVP_EncodeBlock((unsigned char *)out, md, 20);
    return 0;
}

int tgt_ws_101(const struct tgt_ws_hs *hs, char *out)
{
    char accept[29];
    int n;

    if (tgt_ws_accept(hs->key, 24, accept) < 0)
        return -EIO;
    n = snprintf(out, TGT_WS_101_MAX,
                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n",
                 accept);
    if (hs->proto)
        n += snprintf(out + n, TGT_WS_101_MAX - (size_t)n, "Sec-WebSocket-Protocol: %.*s\r\n",
                      (int)hs->proto_len, hs->proto);
    n += snprintf(out + n, TGT_WS_101_MAX - (size_t)n, "\r\n");
    return n;
}

void tgt_ws_unmask(uint8_t *p, size_t n, uint32_t mask)
{
    size_t i = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* a 64-bit load of p[i..i+8) puts p[i] in the low byte, like the key */
    uint64_t m = (uint64_t)mask << 32 | mask;

    for (; i + 8 <= n; i += 8) {
        uint64_t v;

        memcpy(&v, p + i, 8);
        v ^= m;
        memcpy(p + i, &v, 8);
    }
#endif
    for (; i < n; i++)
        p[i] ^= (uint8_t)(mask >> (8 * (i & 3)));
}

size_t tgt_ws_hdr(uint8_t *out, uint8_t op, uint64_t len)
{
    out[0] = (uint8_t)(FIN | op);
    if (len < 126) {
        out[1] = (uint8_t)len;
        return 2;
    }
    if (len <= 0xffff) {
        out[1] = 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        return 4;
    }
    out[1] = 127;
    for (int i = 0; i < 8; i++)
        out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    return 10;
}

static inline uint32_t ror32(uint32_t v, unsigned s)
{
    s &= 31;
    return s ? v >> s | v << (32 - s) : v;
}

/* Header size its first two bytes imply. */
static size_t hdr_need(const uint8_t *h)
{
    unsigned l7 = h[1] & 0x7fu;

    return 2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) + ((h[1] & 0x80u) ? 4 : 0);
}

/* Is the opcode legal here? Returns 0 or the close code. */
static uint16_t op_check(const struct tgt_ws_rx *rx, uint8_t b0, uint64_t len)
{
    unsigned op = b0 & 0x0fu;

    if (op >= TGT_WS_OP_CLOSE)
        return op > TGT_WS_OP_PONG || !(b0 & FIN) || len > TGT_WS_CTL_MAX ? TGT_WS_CLOSE_PROTOCOL : 0;
    if (op == TGT_WS_OP_CONT)
        return rx->msg_op ? 0 : TGT_WS_CLOSE_PROTOCOL;
    if (op > TGT_WS_OP_BINARY || rx->msg_op)
        return TGT_WS_CLOSE_PROTOCOL; /* unknown, or a new message inside one */
    return 0;
}

/* Check a complete header and start its frame. Returns 0 or the close code. */
static uint16_t frame_start(struct tgt_ws_rx *rx, const uint8_t *h, uint32_t max_msg)
{
    uint64_t len = h[1] & 0x7fu;
    const uint8_t *p = h + 2;
    uint16_t code;

    if ((h[0] & 0x70u) || !(h[1] & 0x80u))
        return TGT_WS_CLOSE_PROTOCOL; /* reserved bits, or not masked */
    if (len == 126) {
        len = (uint64_t)p[0] << 8 | p[1];
        p += 2;
    } else if (len == 127) {
        len = 0;
        for (int i = 0; i < 8; i++)
            len = len << 8 | p[i];
        p += 8;
        if (len >> 63)
            return TGT_WS_CLOSE_PROTOCOL;
    }
    if ((code = op_check(rx, h[0], len)))
        return code;
    if ((h[0] & 0x0fu) < TGT_WS_OP_CLOSE && (uint64_t)rx->msg_len + len > max_msg)
        return TGT_WS_CLOSE_TOO_BIG;
    rx->mask = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    rx->left = len;
    rx->op = h[0] & (FIN | 0x0fu);
    if ((h[0] & 0x0fu) == TGT_WS_OP_TEXT || (h[0] & 0x0fu) == TGT_WS_OP_BINARY)
        rx->msg_op = h[0] & 0x0fu;
    rx->in_payload = 1;
    return 0;
}

/* Take a header from buf at *pos, straight from buf when it is all there,
 * else gathered in rx->hdr. 0 when a frame started, 1 when input ran out,
 * or a close code. */
static int hdr_take(struct tgt_ws_rx *rx, const uint8_t *buf, size_t len, size_t *pos,
                    uint32_t max_msg)
{
    const uint8_t *h = buf + *pos;
    size_t avail = len - *pos;

    if (rx->hdr_len == 0 && avail >= 2 && avail >= hdr_need(h)) {
        *pos += hdr_need(h);
    } else {
        for (;;) {
            size_t need = rx->hdr_len < 2 ? 2 : hdr_need(rx->hdr);
            size_t n = need - rx->hdr_len < len - *pos ? need - rx->hdr_len : len - *pos;

            if (rx->hdr_len == need)
                break;
            memcpy(rx->hdr + rx->hdr_len, buf + *pos, n);
            rx->hdr_len = (uint8_t)(rx->hdr_len + n);
            *pos += n;
            if (rx->hdr_len < need)
                return 1;
        }
        h = rx->hdr;
        rx->hdr_len = 0;
    }
    return frame_start(rx, h, max_msg);
}

static enum tgt_ws_ev_type ev_error(struct tgt_ws_ev *ev, uint16_t code)
{
    *ev = (struct tgt_ws_ev){.code = code};
    return TGT_WS_EV_ERROR;
}

/* Valid close codes a peer may send (RFC 6455 7.4, IANA registry). */
static bool close_code_ok(unsigned c)
{
    return (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999);
}

/* A whole control frame's payload p[0..n). */
static enum tgt_ws_ev_type ctl_event(struct tgt_ws_rx *rx, uint8_t *p, size_t n,
                                     struct tgt_ws_ev *ev)
{
    unsigned op = rx->op & 0x0fu;

    rx->in_payload = 0;
    ev->op = (uint8_t)op;
    ev->data = p;
    ev->len = (uint32_t)n;
    ev->code = 0;
    if (op == TGT_WS_OP_PING)
        return TGT_WS_EV_PING;
    if (op == TGT_WS_OP_PONG)
        return TGT_WS_EV_PONG;
    if (n == 1)
        return ev_error(ev, TGT_WS_CLOSE_PROTOCOL);
    if (n >= 2) {
        ev->code = (uint16_t)(p[0] << 8 | p[1]);
        if (!close_code_ok(ev->code))
            return ev_error(ev, TGT_WS_CLOSE_PROTOCOL);
        ev->data = p + 2;
        ev->len = (uint32_t)n - 2;
    }
    return TGT_WS_EV_CLOSE;
}

/* n unmasked payload bytes of a control frame; whole = they end it. */
static enum tgt_ws_ev_type ctl_take(struct tgt_ws_rx *rx, uint8_t *p, size_t n, bool whole,
                                    struct tgt_ws_ev *ev)
{
    if (whole && rx->ctl_len == 0)
        return ctl_event(rx, p, n, ev);
    if (!rx->ctl && !(rx->ctl = malloc(TGT_WS_CTL_MAX)))
        return ev_error(ev, TGT_WS_CLOSE_INTERNAL);
    memcpy(rx->ctl + rx->ctl_len, p, n);
    rx->ctl_len = (uint8_t)(rx->ctl_len + n);
    rx->left -= n;
    if (rx->left)
        return TGT_WS_EV_NONE;
    rx->release = 1;
    n = rx->ctl_len;
    rx->ctl_len = 0;
    return ctl_event(rx, rx->ctl, n, ev);
}

/* Room for the rest of the current frame in rx->msg: exact for a single
 * frame, doubling for fragments (the total is unknown), never past max. */
static int msg_reserve(struct tgt_ws_rx *rx)
{
    uint64_t need = rx->msg_len + rx->left;
    uint64_t cap = rx->msg_cap;
    uint8_t *m;

    if (need <= cap)
        return 0;
    if (!(rx->op & FIN) || rx->msg_len)
        cap = cap * 2 > need ? cap * 2 : need;
    else
        cap = need;
    m = realloc(rx->msg, (size_t)cap);
    if (!m)
        return -ENOMEM;
    rx->msg = m;
    rx->msg_cap = (uint32_t)cap;
    return 0;
}

/* n unmasked payload bytes of a data frame at p. */
static enum tgt_ws_ev_type data_take(struct tgt_ws_rx *rx, uint8_t *p, size_t n,
                                     struct tgt_ws_ev *ev)
{
    bool fin = rx->op & FIN;

    if (fin && n == rx->left && rx->msg_len == 0) {
        rx->in_payload = 0; /* the whole message is here: hand it out in place */
        *ev = (struct tgt_ws_ev){.data = p, .len = (uint32_t)n, .op = rx->msg_op};
        rx->msg_op = 0;
        return TGT_WS_EV_MSG;
    }
    if (msg_reserve(rx) < 0)
        return ev_error(ev, TGT_WS_CLOSE_INTERNAL);
    if (n)
        memcpy(rx->msg + rx->msg_len, p, n);
    rx->msg_len += (uint32_t)n;
    rx->left -= n;
    if (rx->left)
        return TGT_WS_EV_NONE;
    rx->in_payload = 0;
    if (!fin)
        return TGT_WS_EV_NONE;
    *ev = (struct tgt_ws_ev){.data = rx->msg, .len = rx->msg_len, .op = rx->msg_op};
    rx->msg_op = 0;
    rx->release = 1;
    return TGT_WS_EV_MSG;
}

/* Payload bytes of the current frame from buf at *pos. */
static enum tgt_ws_ev_type payload_take(struct tgt_ws_rx *rx, uint8_t *buf, size_t len,
                                        size_t *pos, struct tgt_ws_ev *ev)
{
    size_t avail = len - *pos;
    size_t n = avail < rx->left ? avail : (size_t)rx->left;
    uint8_t *p = buf + *pos;
    bool whole = n == rx->left;

    if (!n && !whole)
        return TGT_WS_EV_NONE;
    tgt_ws_unmask(p, n, rx->mask);
    rx->mask = ror32(rx->mask, 8 * (unsigned)(n & 3));
    *pos += n;
    if ((rx->op & 0x0fu) >= TGT_WS_OP_CLOSE)
        return ctl_take(rx, p, n, whole, ev);
    return data_take(rx, p, n, ev);
}

void tgt_ws_rx_release(struct tgt_ws_rx *rx)
{
    if (!rx->release)
        return;
    rx->release = 0;
    if (!rx->msg_op && !rx->in_payload) {
        free(rx->msg);
        rx->msg = NULL;
        rx->msg_len = rx->msg_cap = 0;
    }
    if (!rx->ctl_len) {
        free(rx->ctl);
        rx->ctl = NULL;
    }
}

enum tgt_ws_ev_type tgt_ws_feed(struct tgt_ws_rx *rx, uint8_t *buf, size_t len, uint32_t max_msg,
                                struct tgt_ws_ev *ev, size_t *used)
{
    size_t pos = 0;

    tgt_ws_rx_release(rx);
    for (;;) {
        if (!rx->in_payload) {
            int r;

            if (pos == len)
                break;
            r = hdr_take(rx, buf, len, &pos, max_msg);
            if (r == 1)
                break;
            if (r) {
                *used = pos;
                return ev_error(ev, (uint16_t)r);
            }
        }
        enum tgt_ws_ev_type t = payload_take(rx, buf, len, &pos, ev);

        if (t != TGT_WS_EV_NONE) {
            *used = pos;
            return t;
        }
        if (rx->in_payload)
            break; /* input ran out inside the frame */
    }
    *used = len;
    return TGT_WS_EV_NONE;
}

void tgt_ws_rx_fini(struct tgt_ws_rx *rx)
{
    free(rx->msg);
    free(rx->ctl);
    memset(rx, 0, sizeof(*rx));
}
