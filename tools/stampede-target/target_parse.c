/*
 * target_parse.c - incremental HTTP/1.1 request framing for stampede-target.
 *
 * The target only needs to know where each request ends, whether it is a
 * HEAD, and whether the connection ends after it ("Connection: close", or
 * HTTP/1.0 without "Connection: keep-alive"), so this is a byte state
 * machine rather than a full parser: it matches "HEAD " at the start of the
 * request line, keeps the line's last bytes to recognise "HTTP/1.0" at its
 * end, matches three header names (Content-Length, Connection, Upgrade)
 * case-insensitively as bytes arrive, looks for "close" and "keep-alive"
 * in a Connection value, and skips a Content-Length body. An Upgrade
 * header only flags the request (TGT_REQ_UPGRADE): the worker then reads
 * the whole head again (target_ws.c), which it keeps for that purpose when
 * a head spans receives (tgt_req_mid_head). All state lives
 * in 16 bytes per connection, so a request split at any byte across
 * receives needs no carry buffer and no provided buffer is ever held past
 * its CQE.
 *
 * Hot path: yes. Lines the target does not care about are skipped with
 * memchr; only the first byte of the method (all of it for HEAD), the last
 * 9 bytes of the request line and header-name bytes go through the
 * per-byte code.
 */
#include <string.h>

#include "target.h"

enum {
    TGT_PS_START,  /* before the request line; stray CR/LF skipped */
    TGT_PS_METHOD, /* request line, still matching "HEAD " */
    TGT_PS_RLINE,  /* rest of the request line: only its end matters */
    TGT_PS_SKIP,   /* rest of a header line we ignore */
    TGT_PS_LINE,   /* first byte of a header line */
    TGT_PS_NAME,   /* inside a header name */
    TGT_PS_CLEN,   /* Content-Length value */
    TGT_PS_CONN,   /* Connection value: looking for "close", "keep-alive" */
    TGT_PS_END_CR, /* CR of the blank line ending the head */
    TGT_PS_BODY,   /* skipping clen body bytes */
};

#define CAND_CLEN 1u
#define CAND_CONN 2u
#define CAND_UPGRADE 4u
#define CAND_ALL (CAND_CLEN | CAND_CONN | CAND_UPGRADE)
#define FLAG_CLOSE 1u     /* "Connection: close" */
#define FLAG_HEAD 2u      /* method HEAD */
#define FLAG_HTTP10 4u    /* request line ends in "HTTP/1.0" */
#define FLAG_KEEPALIVE 8u /* "Connection: keep-alive" */
#define FLAG_UPGRADE 16u  /* an Upgrade header */
#define CLEN_MAX (1ull << 62) /* anything larger is a malformed length */
#define LINE_TAIL_BYTES 9     /* "HTTP/1.0\r" */

/* "HTTP/1.0" as the request-line shift register holds it. */
#define VERSION_10                                                                                 \
    ((uint64_t)'H' << 56 | (uint64_t)'T' << 48 | (uint64_t)'T' << 40 | (uint64_t)'P' << 32 |       \
     (uint64_t)'/' << 24 | (uint64_t)'1' << 16 | (uint64_t)'.' << 8 | (uint64_t)'0')

static const char head_method[] = "HEAD ";
static const char clen_name[] = "content-length";
static const char conn_name[] = "connection";
static const char upgrade_name[] = "upgrade";
static const char close_token[] = "close";
static const char keep_alive_token[] = "keep-alive";

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/*
 * Request line: no Content-Length can have been seen yet, so clen is free
 * and serves as a shift register of the line's last 8 bytes, cand keeping
 * the one shifted out. At the LF that is enough to see "HTTP/1.0" before
 * an optional CR however the line was split, and only the last 9 bytes of
 * each received piece of the line need shifting in.
 */
static inline void line_shift(struct tgt_req_parser *p, unsigned char c)
{
    p->cand = (uint8_t)(p->clen >> 56);
    p->clen = p->clen << 8 | c;
}

static void line_tail(struct tgt_req_parser *p, const char *s, size_t n)
{
    for (size_t i = n > LINE_TAIL_BYTES ? n - LINE_TAIL_BYTES : 0; i < n; i++)
        line_shift(p, (unsigned char)s[i]);
}

static void line_end(struct tgt_req_parser *p)
{
    uint64_t v = p->clen;

    if ((v & 0xff) == '\r')
        v = v >> 8 | (uint64_t)p->cand << 56;
    if (v == VERSION_10)
        p->flags |= FLAG_HTTP10;
    p->clen = 0;
}

/* First bytes of the request line. Methods are case-sensitive. */
static void method_byte(struct tgt_req_parser *p, unsigned char c)
{
    line_shift(p, c);
    if (c != (unsigned char)head_method[p->idx]) {
        p->st = TGT_PS_RLINE;
    } else if (++p->idx == sizeof(head_method) - 1) {
        p->flags |= FLAG_HEAD;
        p->st = TGT_PS_RLINE;
    }
}

/* One byte of a header name: drop candidates that stop matching. */
static void name_byte(struct tgt_req_parser *p, unsigned char c)
{
    unsigned char lc = lower(c);

    if ((p->cand & CAND_CLEN) && (p->idx >= sizeof(clen_name) - 1 || clen_name[p->idx] != lc))
        p->cand &= ~CAND_CLEN;
    if ((p->cand & CAND_CONN) && (p->idx >= sizeof(conn_name) - 1 || conn_name[p->idx] != lc))
        p->cand &= ~CAND_CONN;
    if ((p->cand & CAND_UPGRADE) &&
        (p->idx >= sizeof(upgrade_name) - 1 || upgrade_name[p->idx] != lc))
        p->cand &= ~CAND_UPGRADE;
    if (p->idx < 255)
        p->idx++;
    p->st = p->cand ? TGT_PS_NAME : TGT_PS_SKIP;
}

static void name_colon(struct tgt_req_parser *p)
{
    if ((p->cand & CAND_CLEN) && p->idx == sizeof(clen_name) - 1) {
        p->st = TGT_PS_CLEN;
        p->clen = 0; /* the last Content-Length wins */
    } else if ((p->cand & CAND_CONN) && p->idx == sizeof(conn_name) - 1) {
        p->st = TGT_PS_CONN;
        p->idx = 0;
        p->cand = 0;
    } else {
        if ((p->cand & CAND_UPGRADE) && p->idx == sizeof(upgrade_name) - 1)
            p->flags |= FLAG_UPGRADE;
        p->st = TGT_PS_SKIP;
    }
}

/* Returns -1 on an absurd length, 0 otherwise. */
static int clen_byte(struct tgt_req_parser *p, unsigned char c)
{
    if (c == ' ' || c == '\t')
        return 0;
    if (c < '0' || c > '9') {
        p->st = TGT_PS_SKIP; /* CR or trailing junk: skip to the LF */
        return 0;
    }
    p->clen = p->clen * 10 + (c - '0');
    return p->clen > CLEN_MAX ? -1 : 0;
}

/*
 * Substring searches for "close" (position in idx) and "keep-alive" (in
 * cand). Neither token repeats its first letter, so on a mismatch
 * restarting at 0 (or 1 on that letter) is exact. "close" wins over
 * "keep-alive", so once it is seen the rest of the line is skipped.
 */
static void conn_byte(struct tgt_req_parser *p, unsigned char c)
{
    unsigned char lc = lower(c);

    if (lc == (unsigned char)keep_alive_token[p->cand]) {
        if (++p->cand == sizeof(keep_alive_token) - 1) {
            p->flags |= FLAG_KEEPALIVE;
            p->cand = 0;
        }
    } else {
        p->cand = lc == 'k';
    }
    if (lc == (unsigned char)close_token[p->idx]) {
        if (++p->idx == sizeof(close_token) - 1) {
            p->flags |= FLAG_CLOSE;
            p->st = TGT_PS_SKIP;
        }
    } else {
        p->idx = lc == 'c';
    }
}

/* One head byte (never LF in RLINE or SKIP, never BODY). Returns 1 when the
 * head is complete, -1 on a malformed length, 0 otherwise. */
static int head_byte(struct tgt_req_parser *p, unsigned char c)
{
    if (c == '\n' && p->st != TGT_PS_START) {
        if (p->st == TGT_PS_LINE || p->st == TGT_PS_END_CR)
            return 1; /* blank line (bare LF tolerated) */
        if (p->st == TGT_PS_METHOD || p->st == TGT_PS_RLINE)
            line_end(p);
        p->st = TGT_PS_LINE;
        return 0;
    }
    switch (p->st) {
    case TGT_PS_START:
        if (c != '\r' && c != '\n') {
            p->st = TGT_PS_METHOD; /* idx is 0 */
            method_byte(p, c);
        }
        return 0;
    case TGT_PS_METHOD:
        method_byte(p, c);
        return 0;
    case TGT_PS_LINE:
        if (c == '\r') {
            p->st = TGT_PS_END_CR;
            return 0;
        }
        p->cand = CAND_ALL;
        p->idx = 0;
        name_byte(p, c);
        return 0;
    case TGT_PS_NAME:
        if (c == ':')
            name_colon(p);
        else
            name_byte(p, c);
        return 0;
    case TGT_PS_CLEN:
        return clen_byte(p, c);
    case TGT_PS_CONN:
        conn_byte(p, c);
        return 0;
    default: /* TGT_PS_END_CR followed by junk */
        p->st = TGT_PS_SKIP;
        return 0;
    }
}

/* HTTP/1.0 closes unless the peer asked for keep-alive, which it then
 * expects to see echoed. */
static int finish(struct tgt_req_parser *p)
{
    unsigned f = p->flags;
    int r = TGT_PARSE_REQ;

    memset(p, 0, sizeof(*p));
    if (f == 0)
        return r; /* the common case: HTTP/1.1 GET, keep-alive */
    if (f & FLAG_HEAD)
        r |= TGT_REQ_HEAD;
    if (f & FLAG_UPGRADE)
        r |= TGT_REQ_UPGRADE;
    if ((f & FLAG_CLOSE) || (f & (FLAG_HTTP10 | FLAG_KEEPALIVE)) == FLAG_HTTP10)
        r |= TGT_REQ_CLOSE;
    else if (f & FLAG_HTTP10)
        r |= TGT_REQ_KA;
    return r;
}

/* Head complete: either the request is done or its body follows. A body
 * makes an upgrade a plain request (no WebSocket upgrade carries one). */
static int head_done(struct tgt_req_parser *p)
{
    if (p->clen == 0)
        return finish(p);
    p->flags &= ~FLAG_UPGRADE;
    p->st = TGT_PS_BODY;
    return TGT_PARSE_MORE;
}

/* Consume an ignored line (or the rest of the request line) up to its LF. */
static size_t skip_line(struct tgt_req_parser *p, const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) : len;

    if (p->st == TGT_PS_RLINE)
        line_tail(p, buf, n);
    p->head_bytes += (uint32_t)n;
    return n; /* the LF itself goes through head_byte */
}

int tgt_req_parse(struct tgt_req_parser *p, const char *buf, size_t len, size_t *used_bytes)
{
    size_t i = 0;
    int r = TGT_PARSE_MORE;

    while (i < len && r == TGT_PARSE_MORE) {
        if (p->st == TGT_PS_BODY) {
            size_t n = len - i < p->clen ? len - i : (size_t)p->clen;

            i += n;
            p->clen -= n;
            if (p->clen == 0)
                r = finish(p);
            continue;
        }
        if (p->st == TGT_PS_SKIP || p->st == TGT_PS_RLINE) {
            i += skip_line(p, buf + i, len - i);
            if (p->head_bytes > TGT_MAX_HEAD_BYTES) {
                r = TGT_PARSE_BAD;
                break;
            }
            if (i == len)
                break;
        }
        if (p->st != TGT_PS_START)
            p->head_bytes++;
        int h = head_byte(p, (unsigned char)buf[i++]);
        if (h < 0)
            r = TGT_PARSE_BAD;
        else if (h > 0)
            r = head_done(p);
        if (r == TGT_PARSE_MORE && p->st != TGT_PS_BODY && p->head_bytes > TGT_MAX_HEAD_BYTES)
            r = TGT_PARSE_BAD;
    }
    *used_bytes = i;
    return r;
}

bool tgt_req_mid_head(const struct tgt_req_parser *p)
{
    return p->st != TGT_PS_START && p->st != TGT_PS_BODY;
}

bool tgt_req_started(const struct tgt_req_parser *p)
{
    return p->st != TGT_PS_START;
}
