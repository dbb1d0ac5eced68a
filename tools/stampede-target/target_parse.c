/*
 * target_parse.c - incremental HTTP/1.1 request framing for stampede-target.
 *
 * The target only needs to know where each request ends and whether it
 * said "Connection: close", so this is a byte state machine rather than a
 * full parser: it skips the request line, matches two header names
 * (Content-Length, Connection) case-insensitively as bytes arrive, and
 * skips a Content-Length body. All state lives in 16 bytes per connection,
 * so a request split at any byte across receives needs no carry buffer and
 * no provided buffer is ever held past its CQE.
 *
 * Hot path: yes. Lines the target does not care about are skipped with
 * memchr; only header-name bytes go through the per-byte switch.
 */
#include <string.h>

#include "target.h"

enum {
    TGT_PS_START,     /* before the request line; stray CR/LF skipped */
    TGT_PS_SKIP,      /* rest of a line we ignore */
    TGT_PS_LINE,      /* first byte of a header line */
    TGT_PS_NAME,      /* inside a header name */
    TGT_PS_CLEN,      /* Content-Length value */
    TGT_PS_CONN,      /* Connection value: looking for "close" */
    TGT_PS_END_CR,    /* CR of the blank line ending the head */
    TGT_PS_BODY,      /* skipping clen body bytes */
};

#define CAND_CLEN 1u
#define CAND_CONN 2u
#define FLAG_CLOSE 1u
#define CLEN_MAX (1ull << 62) /* anything larger is a malformed length */

static const char clen_name[] = "content-length";
static const char conn_name[] = "connection";
static const char close_token[] = "close";

static inline unsigned char lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c | 0x20) : c;
}

/* One byte of a header name: drop candidates that stop matching. */
static void name_byte(struct tgt_req_parser *p, unsigned char c)
{
    unsigned char lc = lower(c);

    if ((p->cand & CAND_CLEN) && (p->idx >= sizeof(clen_name) - 1 || clen_name[p->idx] != lc))
        p->cand &= ~CAND_CLEN;
    if ((p->cand & CAND_CONN) && (p->idx >= sizeof(conn_name) - 1 || conn_name[p->idx] != lc))
        p->cand &= ~CAND_CONN;
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
    } else {
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

/* Substring search for "close"; its letters never repeat a prefix, so
 * restarting at 0 (or 1 on a 'c') is exact. */
static void conn_byte(struct tgt_req_parser *p, unsigned char c)
{
    unsigned char lc = lower(c);

    if (lc == (unsigned char)close_token[p->idx]) {
        if (++p->idx == sizeof(close_token) - 1) {
            p->flags |= FLAG_CLOSE;
            p->st = TGT_PS_SKIP;
        }
    } else {
        p->idx = lc == 'c';
    }
}

/* One head byte (never LF in SKIP, never BODY). Returns 1 when the head is
 * complete, -1 on a malformed length, 0 otherwise. */
static int head_byte(struct tgt_req_parser *p, unsigned char c)
{
    if (c == '\n' && p->st != TGT_PS_START) {
        if (p->st == TGT_PS_LINE || p->st == TGT_PS_END_CR)
            return 1; /* blank line (bare LF tolerated) */
        p->st = TGT_PS_LINE;
        return 0;
    }
    switch (p->st) {
    case TGT_PS_START:
        if (c != '\r' && c != '\n')
            p->st = TGT_PS_SKIP; /* request line: nothing in it matters */
        return 0;
    case TGT_PS_LINE:
        if (c == '\r') {
            p->st = TGT_PS_END_CR;
            return 0;
        }
        p->cand = CAND_CLEN | CAND_CONN;
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

static int finish(struct tgt_req_parser *p)
{
    int r = (p->flags & FLAG_CLOSE) ? TGT_PARSE_REQ_CLOSE : TGT_PARSE_REQ;

    memset(p, 0, sizeof(*p));
    return r;
}

/* Head complete: either the request is done or its body follows. */
static int head_done(struct tgt_req_parser *p)
{
    if (p->clen == 0)
        return finish(p);
    p->st = TGT_PS_BODY;
    return TGT_PARSE_MORE;
}

/* Consume an ignored line up to and including its LF. */
static size_t skip_line(struct tgt_req_parser *p, const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    size_t n = nl ? (size_t)(nl - buf) : len;

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
        if (p->st == TGT_PS_SKIP) {
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
