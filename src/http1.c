/*
 * http1.c - request encoding and the streaming HTTP/1.x response parser.
 *
 * Hot path: http1_resp_feed, on every received buffer. The head is a
 * byte-at-a-time state machine (a switch on r->state), so a response split
 * at any byte needs no reassembly and no copy. Only framing headers are
 * interpreted: a name whole in the buffer is looked up in a three-entry
 * table, one split across buffers is matched byte by byte (word_step); no
 * name is stored. Other lines are skipped with memchr, bodies by arithmetic
 * (~70-80 ns for a typical 126-byte response in one buffer).
 * Invariants: nothing at or past buf + len is read; a call on a non-empty
 * buffer consumes a byte or returns HTTP1_ERR (callers cannot spin); a head
 * is at most HTTP1_MAX_HEAD bytes. http1_req_build is start-up only.
 */
#include "http1.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Parser states. Head states come first so "in the head" is one compare. */
enum {
    ST_VERSION,    /* "HTTP/1." matched up to match_pos */
    ST_MINOR,      /* the x of HTTP/1.x */
    ST_STATUS_SP,  /* the space before the status code */
    ST_STATUS,     /* match_pos digits of the status code seen, value in acc */
    ST_STATUS_END, /* after 3 digits: SP, CR or LF */
    ST_REASON,     /* skipped up to LF */
    ST_HDR_START,  /* start of a header line, or of the empty line */
    ST_HDR_NAME,   /* name split across buffers: hstate/match_pos track it */
    ST_HDR_SKIP,   /* value of a header we ignore, skipped up to LF */
    ST_CL_PRE,     /* Content-Length: OWS before the digits */
    ST_CL_DIGITS,
    ST_CL_POST, /* OWS after the digits */
    ST_TE,      /* Transfer-Encoding value (a token list) */
    ST_CONN,    /* Connection value (a token list) */
    ST_LINE_LF, /* CR seen at the end of a header line */
    ST_HEAD_LF, /* CR seen on the empty line that ends the head */
    ST_HEAD_LAST = ST_HEAD_LF,
    ST_INTERIM, /* a 1xx head ended: start over, same response */
    ST_BODY_LENGTH,
    ST_BODY_EOF,
    ST_CHUNK_SIZE0, /* first hex digit of a chunk size (required) */
    ST_CHUNK_SIZE,
    ST_CHUNK_EXT, /* chunk extensions, skipped up to LF */
    ST_CHUNK_LF,  /* CR seen after a chunk size */
    ST_CHUNK_DATA,
    ST_CHUNK_DATA_CR, /* the CRLF that closes chunk data */
    ST_CHUNK_DATA_LF,
    ST_TRAILER_START, /* start of a trailer line, or of the final empty line */
    ST_TRAILER_LINE,  /* skipped up to LF */
    ST_TRAILER_LF,    /* CR seen on the final empty line */
    ST_DONE,
    ST_ERR,
};

/* r->flags: what the head said so far. F_STARTED survives 1xx responses. */
enum {
    F_STARTED = 1 << 0,
    F_HAVE_CL = 1 << 1,
    F_HAVE_TE = 1 << 2,
    F_TE_CHUNKED = 1 << 3, /* the last transfer coding seen is "chunked" */
    F_CONN_CLOSE = 1 << 4,
    F_CONN_KEEP_ALIVE = 1 << 5,
};

/* r->hstate: index into a word table, or one of these. */
enum {
    H_NONE = 0xff,  /* matches no word */
    H_EMPTY = 0xfe, /* list element with no token character yet */
};

/* Set in match_pos once OWS followed a list token: more token chars
 * after it mean the element is not a single token. */
#define M_TRAIL 0x80000000u

#define CL_MAX (1ull << 62)
#define CHUNK_MAX (1ull << 60)

/* Lower-case; the words below hold only [a-z-], and c | 0x20 maps a token
 * character onto them only if it is that letter in either case, or '-'. */
enum { HDR_CONTENT_LENGTH, HDR_TRANSFER_ENCODING, HDR_CONNECTION, HDR_NR };
static const char *const hdr_names[HDR_NR] = {
    [HDR_CONTENT_LENGTH] = "content-length",
    [HDR_TRANSFER_ENCODING] = "transfer-encoding",
    [HDR_CONNECTION] = "connection",
};

enum { W_CHUNKED, W_CLOSE, W_KEEP_ALIVE, W_NR };
static const char *const list_words[W_NR] = {
    [W_CHUNKED] = "chunked",
    [W_CLOSE] = "close",
    [W_KEEP_ALIVE] = "keep-alive",
};

/* RFC 9110 tchar: what header names and list tokens are made of. */
static const uint8_t tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1,         ['&'] = 1,         ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1,         ['^'] = 1,         ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1, ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
};

static inline bool is_ows(uint8_t c)
{
    return c == ' ' || c == '\t';
}

static inline unsigned digit_val(uint8_t c)
{
    return (unsigned)c - '0'; /* >= 10 when not a digit */
}

static inline unsigned hex_val(uint8_t c)
{
    if ((unsigned)c - '0' < 10)
        return (unsigned)c - '0';
    c |= 0x20;
    if ((unsigned)c - 'a' < 6)
        return (unsigned)c - 'a' + 10;
    return 16;
}

static inline void set_err(struct http1_resp *r)
{
    r->state = ST_ERR;
}

void http1_resp_reset(struct http1_resp *r)
{
    bool head = r->head_request;

    memset(r, 0, sizeof(*r));
    r->head_request = head;
}

bool http1_resp_started(const struct http1_resp *r)
{
    return r->flags & F_STARTED;
}

/*
 * Advance the case-insensitive match of a token against a word table by
 * one token character c. Words sharing a prefix ("content-length",
 * "connection") are handled by switching, on a mismatch, to another word
 * with the same prefix. The search is short (three words) and off the
 * common path: whole header names go through name_lookup instead.
 */
static void word_step(struct http1_resp *r, const char *const *words, unsigned n, uint8_t c)
{
    const char *w = words[r->hstate];
    uint32_t pos = r->match_pos;
    uint8_t lc = c | 0x20;

    if ((uint8_t)w[pos] == lc) {
        r->match_pos = pos + 1;
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        /* strncmp first: it proves words[i] is at least pos long */
        if (!strncmp(words[i], w, pos) && (uint8_t)words[i][pos] == lc) {
            r->hstate = (uint8_t)i;
            r->match_pos = pos + 1;
            return;
        }
    }
    r->hstate = H_NONE;
}

/* The index of the word fully matched so far, or H_NONE. */
static unsigned word_done(const struct http1_resp *r, const char *const *words, unsigned n)
{
    if (r->hstate >= n || words[r->hstate][r->match_pos & ~M_TRAIL])
        return H_NONE;
    return r->hstate;
}

/* One byte of a comma-separated token list element (not CR, LF or ','). */
static void list_step(struct http1_resp *r, uint8_t c)
{
    if (is_ows(c)) {
        if (r->hstate != H_EMPTY)
            r->match_pos |= M_TRAIL;
        return;
    }
    if (!tchar[c] || (r->match_pos & M_TRAIL)) {
        r->hstate = H_NONE;
        return;
    }
    if (r->hstate == H_EMPTY)
        r->hstate = 0;
    if (r->hstate != H_NONE)
        word_step(r, list_words, W_NR, c);
}

/* A list element ended: record what it was, start the next one. For
 * Transfer-Encoding only the last coding matters (RFC 9112 6.3). */
static void list_elem_end(struct http1_resp *r)
{
    unsigned w = word_done(r, list_words, W_NR);

    if (r->hstate != H_EMPTY) {
        if (r->state == ST_TE)
            r->flags = (r->flags & ~F_TE_CHUNKED) | (w == W_CHUNKED ? F_TE_CHUNKED : 0);
        else if (w == W_CLOSE)
            r->flags |= F_CONN_CLOSE;
        else if (w == W_KEEP_ALIVE)
            r->flags |= F_CONN_KEEP_ALIVE;
    }
    r->hstate = H_EMPTY;
    r->match_pos = 0;
}

/* CR or LF ends a header line; a lone LF is accepted as a line end. */
static void line_end(struct http1_resp *r, uint8_t c)
{
    r->state = c == '\r' ? ST_LINE_LF : ST_HDR_START;
}

static void hd_list(struct http1_resp *r, uint8_t c)
{
    if (c == '\r' || c == '\n') {
        list_elem_end(r);
        line_end(r, c);
    } else if (c == ',') {
        list_elem_end(r);
    } else {
        list_step(r, c);
    }
}

/* Duplicate Content-Length fields must agree (RFC 9112 6.3 item 5). */
static void cl_commit(struct http1_resp *r, uint8_t c)
{
    if ((r->flags & F_HAVE_CL) && r->content_length != r->acc) {
        set_err(r);
        return;
    }
    r->content_length = r->acc;
    r->flags |= F_HAVE_CL;
    line_end(r, c);
}

static void hd_cl_digit(struct http1_resp *r, uint8_t c)
{
    unsigned d = digit_val(c);

    if (d < 10) {
        if (r->acc > CL_MAX / 10)
            set_err(r);
        else if ((r->acc = r->acc * 10 + d) > CL_MAX)
            set_err(r);
    } else if (is_ows(c)) {
        r->state = ST_CL_POST;
    } else if (c == '\r' || c == '\n') {
        cl_commit(r, c);
    } else {
        set_err(r);
    }
}

static void hd_cl_pre(struct http1_resp *r, uint8_t c)
{
    if (digit_val(c) < 10) {
        r->acc = digit_val(c);
        r->state = ST_CL_DIGITS;
    } else if (!is_ows(c)) {
        set_err(r); /* empty value or not a number */
    }
}

static void hd_cl_post(struct http1_resp *r, uint8_t c)
{
    if (c == '\r' || c == '\n')
        cl_commit(r, c);
    else if (!is_ows(c))
        set_err(r);
}

static void hd_status(struct http1_resp *r, uint8_t c)
{
    unsigned d = digit_val(c);

    if (d >= 10 || (r->match_pos == 0 && d == 0)) {
        set_err(r);
        return;
    }
    r->acc = r->acc * 10 + d;
    if (++r->match_pos == 3) {
        r->status = (int)r->acc;
        r->state = ST_STATUS_END;
    }
}

/* The value of header h (an HDR_* or H_NONE) follows: pick its state. */
static void name_end(struct http1_resp *r, unsigned h)
{
    r->hstate = H_EMPTY;
    r->match_pos = 0;
    if (h == HDR_CONTENT_LENGTH) {
        r->state = ST_CL_PRE;
    } else if (h == HDR_TRANSFER_ENCODING) {
        r->flags |= F_HAVE_TE;
        r->state = ST_TE;
    } else if (h == HDR_CONNECTION) {
        r->state = ST_CONN;
    } else {
        r->state = ST_HDR_SKIP;
    }
}

static void body_set_eof(struct http1_resp *r)
{
    r->framing = HTTP1_BODY_EOF;
    r->keep_alive = false;
    r->content_length = 0;
    r->state = ST_BODY_EOF;
}

/* Framing per RFC 9112 6.3, in its order of precedence. */
static void body_select(struct http1_resp *r)
{
    if (r->head_request || r->status == 204 || r->status == 304) {
        r->state = ST_DONE;
    } else if (r->flags & F_HAVE_TE) {
        if (!(r->flags & F_TE_CHUNKED)) {
            body_set_eof(r); /* RFC 9112 6.3 item 4: read until close */
            return;
        }
        r->framing = HTTP1_BODY_CHUNKED;
        r->content_length = 0;
        r->acc = 0;
        r->state = ST_CHUNK_SIZE0;
        if (r->minor_version == 0) /* RFC 9112 6.1: framing suspect, close */
            r->keep_alive = false;
    } else if (r->flags & F_HAVE_CL) {
        r->framing = r->content_length ? HTTP1_BODY_LENGTH : HTTP1_BODY_NONE;
        r->remaining = r->content_length;
        r->state = r->content_length ? ST_BODY_LENGTH : ST_DONE;
    } else {
        body_set_eof(r);
    }
}

/* The empty line that ends the head. */
static void head_finish(struct http1_resp *r)
{
    if (r->status < 200 && r->status != 101) {
        r->state = ST_INTERIM;
        return;
    }
    if (r->minor_version == 0)
        r->keep_alive = (r->flags & (F_CONN_KEEP_ALIVE | F_CONN_CLOSE)) == F_CONN_KEEP_ALIVE;
    else
        r->keep_alive = !(r->flags & F_CONN_CLOSE);
    r->framing = HTTP1_BODY_NONE;
    if (r->status == 101)
        r->state = ST_DONE;
    else
        body_select(r);
}

static void hd_minor(struct http1_resp *r, uint8_t c)
{
    if (digit_val(c) < 10) {
        r->minor_version = (int)digit_val(c);
        r->state = ST_STATUS_SP;
    } else {
        set_err(r);
    }
}

static void hd_head_lf(struct http1_resp *r, uint8_t c)
{
    if (c == '\n')
        head_finish(r);
    else
        set_err(r);
}

static void hd_status_end(struct http1_resp *r, uint8_t c)
{
    if (c == ' ' || c == '\r')
        r->state = ST_REASON;
    else if (c == '\n')
        r->state = ST_HDR_START;
    else
        set_err(r);
}

/* "HTTP/1.x SSS" in one go when the buffer holds it all (the usual case);
 * false sends the bytes through the byte-at-a-time path instead. */
static bool hd_status_fast(struct http1_resp *r, const uint8_t *p)
{
    unsigned minor = digit_val(p[7]), d0 = digit_val(p[9]), d1 = digit_val(p[10]),
             d2 = digit_val(p[11]);

    if (memcmp(p, "HTTP/1.", 7) || minor >= 10 || p[8] != ' ' || d0 - 1 >= 9 || d1 >= 10 ||
        d2 >= 10)
        return false;
    r->minor_version = (int)minor;
    r->status = (int)(d0 * 100 + d1 * 10 + d2);
    r->state = ST_STATUS_END;
    return true;
}

static const uint8_t *hd_version(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    static const char ver[] = "HTTP/1.";

    if (r->match_pos == 0 && end - p >= 12 && hd_status_fast(r, p))
        return p + 12;
    if (*p != (uint8_t)ver[r->match_pos]) {
        set_err(r);
        return p;
    }
    if (++r->match_pos == 7) {
        r->match_pos = 0;
        r->state = ST_MINOR;
    }
    return p + 1;
}

/* A name split across buffers: match it byte by byte (word_step). */
static const uint8_t *hd_name(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    for (; p < end && tchar[*p]; p++)
        if (r->hstate != H_NONE)
            word_step(r, hdr_names, HDR_NR, *p);
    if (p == end)
        return p;
    if (*p != ':') {
        set_err(r); /* no colon, or whitespace before it (RFC 9112 5.1) */
        return p;
    }
    name_end(r, word_done(r, hdr_names, HDR_NR));
    return p + 1;
}

/* Case-insensitive compare of n token characters with a lower-case word
 * (c | 0x20 is safe on token characters, see hdr_names). */
static bool token_is(const uint8_t *p, size_t n, const char *word)
{
    for (size_t i = 0; i < n; i++)
        if ((p[i] | 0x20) != (uint8_t)word[i])
            return false;
    return word[n] == '\0';
}

/* Which framing header a whole name is, or H_NONE. */
static unsigned name_lookup(const uint8_t *p, size_t n)
{
    for (unsigned h = 0; h < HDR_NR; h++)
        if (token_is(p, n, hdr_names[h]))
            return h;
    return H_NONE;
}

/* Start of a header line: the empty line, or a name. When the whole name
 * is in this buffer (the usual case) it is looked up at once. */
static const uint8_t *hd_line(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *q = p;

    while (q < end && tchar[*q])
        q++;
    if (q == p) {
        if (*p == '\r')
            r->state = ST_HEAD_LF;
        else if (*p == '\n')
            head_finish(r);
        else
            set_err(r); /* obs-fold (SP/HT), empty name, or garbage */
        return r->state == ST_ERR ? p : p + 1;
    }
    if (q == end) {
        r->hstate = 0;
        r->match_pos = 0;
        r->state = ST_HDR_NAME;
        return hd_name(r, p, end);
    }
    if (*q != ':') {
        set_err(r);
        return q;
    }
    name_end(r, name_lookup(p, (size_t)(q - p)));
    return q + 1;
}

/* Reason phrase and ignored header values: anything up to LF (a CR before
 * it is part of what we skip). */
static const uint8_t *hd_skip_line(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));

    if (!lf)
        return end;
    r->state = ST_HDR_START;
    return lf + 1;
}

/* One step of the head: a run of bytes for the states that can take
 * several, else one byte (not consumed if it was an error). */
static const uint8_t *head_step(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    switch (r->state) {
    case ST_VERSION:
        return hd_version(r, p, end);
    case ST_HDR_START:
        return hd_line(r, p, end);
    case ST_HDR_NAME:
        return hd_name(r, p, end);
    case ST_REASON:
    case ST_HDR_SKIP:
        return hd_skip_line(r, p, end);
    case ST_MINOR:
        hd_minor(r, *p);
        break;
    case ST_STATUS_SP:
        r->state = *p == ' ' ? ST_STATUS : ST_ERR;
        break;
    case ST_STATUS:
        hd_status(r, *p);
        break;
    case ST_STATUS_END:
        hd_status_end(r, *p);
        break;
    case ST_CL_PRE:
        hd_cl_pre(r, *p);
        break;
    case ST_CL_DIGITS:
        hd_cl_digit(r, *p);
        break;
    case ST_CL_POST:
        hd_cl_post(r, *p);
        break;
    case ST_TE:
    case ST_CONN:
        hd_list(r, *p);
        break;
    case ST_LINE_LF:
        r->state = *p == '\n' ? ST_HDR_START : ST_ERR;
        break;
    case ST_HEAD_LF:
        hd_head_lf(r, *p);
        break;
    default:
        set_err(r); /* not reached: no other state is a head state */
    }
    return r->state == ST_ERR ? p : p + 1;
}

/* Parse head bytes until the head ends or the buffer does, then charge
 * them to the HTTP1_MAX_HEAD budget (once per call, not per byte). */
static const uint8_t *head_parse(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *start = p;

    do
        p = head_step(r, p, end);
    while (p < end && r->state <= ST_HEAD_LAST);
    if ((size_t)(p - start) > HTTP1_MAX_HEAD - r->head_len) {
        set_err(r);
        return p;
    }
    r->head_len += (uint32_t)(p - start);
    if (r->state == ST_INTERIM) { /* 100/102/103: the real response follows */
        http1_resp_reset(r);
        r->flags = F_STARTED;
    }
    return p;
}

static void chunk_size_done(struct http1_resp *r)
{
    if (r->acc == 0) {
        r->state = ST_TRAILER_START;
    } else {
        r->remaining = r->acc;
        r->state = ST_CHUNK_DATA;
    }
}

static void ck_size(struct http1_resp *r, uint8_t c)
{
    unsigned v = hex_val(c);

    if (v < 16) {
        if (r->acc > CHUNK_MAX >> 4)
            set_err(r);
        else if ((r->acc = r->acc << 4 | v) > CHUNK_MAX)
            set_err(r);
    } else if (c == ';' || is_ows(c)) {
        r->state = ST_CHUNK_EXT;
    } else if (c == '\r') {
        r->state = ST_CHUNK_LF;
    } else if (c == '\n') {
        chunk_size_done(r);
    } else {
        set_err(r);
    }
}

static void ck_trailer_start(struct http1_resp *r, uint8_t c)
{
    if (c == '\r')
        r->state = ST_TRAILER_LF;
    else if (c == '\n')
        r->state = ST_DONE;
    else if (tchar[c])
        r->state = ST_TRAILER_LINE;
    else
        set_err(r);
}

static void ck_lf(struct http1_resp *r, uint8_t c)
{
    if (c == '\n')
        chunk_size_done(r);
    else
        set_err(r);
}

/* Skip up to `remaining` body bytes; `next` once they are all gone. */
static const uint8_t *bd_skip(struct http1_resp *r, const uint8_t *p, const uint8_t *end,
                              uint8_t next)
{
    uint64_t n = (uint64_t)(end - p);

    if (n > r->remaining)
        n = r->remaining;
    r->remaining -= n;
    if (r->remaining == 0)
        r->state = next;
    return p + n;
}

/* Skip an ignored line (chunk extensions, a trailer) up to its LF. */
static const uint8_t *bd_skip_line(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));

    if (!lf)
        return end;
    if (r->state == ST_CHUNK_EXT)
        chunk_size_done(r);
    else
        r->state = ST_TRAILER_START;
    return lf + 1;
}

/* One step of the body: a run of bytes, or one byte of chunked framing
 * (not consumed if it was an error). */
static const uint8_t *body_step(struct http1_resp *r, const uint8_t *p, const uint8_t *end)
{
    switch (r->state) {
    case ST_BODY_LENGTH:
        return bd_skip(r, p, end, ST_DONE);
    case ST_CHUNK_DATA:
        return bd_skip(r, p, end, ST_CHUNK_DATA_CR);
    case ST_BODY_EOF:
        return end;
    case ST_CHUNK_EXT:
    case ST_TRAILER_LINE:
        return bd_skip_line(r, p, end);
    case ST_CHUNK_SIZE0:
        r->acc = hex_val(*p);
        r->state = r->acc < 16 ? ST_CHUNK_SIZE : ST_ERR;
        break;
    case ST_CHUNK_SIZE:
        ck_size(r, *p);
        break;
    case ST_CHUNK_LF:
        ck_lf(r, *p);
        break;
    case ST_CHUNK_DATA_CR:
        r->state = *p == '\r' ? ST_CHUNK_DATA_LF : *p == '\n' ? ST_CHUNK_SIZE0 : ST_ERR;
        break;
    case ST_CHUNK_DATA_LF:
        r->state = *p == '\n' ? ST_CHUNK_SIZE0 : ST_ERR;
        break;
    case ST_TRAILER_START:
        ck_trailer_start(r, *p);
        break;
    case ST_TRAILER_LF:
        r->state = *p == '\n' ? ST_DONE : ST_ERR;
        break;
    default:
        set_err(r); /* not reached: no other state is a body state */
    }
    return r->state == ST_ERR ? p : p + 1;
}

/* A feed after HTTP1_DONE without http1_resp_reset() starts the next
 * response, as if reset had been called: a caller that forgets cannot
 * loop on DONE with nothing consumed. */
enum http1_rc http1_resp_feed(struct http1_resp *r, const char *buf, size_t len, size_t *used)
{
    const uint8_t *p = (const uint8_t *)buf, *end = p + len;

    if (r->state == ST_DONE)
        http1_resp_reset(r);
    while (p < end && r->state < ST_DONE) {
        if (r->state <= ST_HEAD_LAST)
            p = head_parse(r, p, end);
        else
            p = body_step(r, p, end);
    }
    *used = (size_t)(p - (const uint8_t *)buf);
    if (*used)
        r->flags |= F_STARTED;
    if (r->state == ST_DONE)
        return HTTP1_DONE;
    return r->state == ST_ERR ? HTTP1_ERR : HTTP1_MORE;
}

enum http1_rc http1_resp_eof(struct http1_resp *r)
{
    switch (r->state) {
    case ST_BODY_EOF:
        r->state = ST_DONE;
        return HTTP1_DONE;
    case ST_DONE:
        return HTTP1_MORE; /* that response was already reported */
    case ST_ERR:
        return HTTP1_ERR;
    default:
        if (!(r->flags & F_STARTED))
            return HTTP1_MORE;
        r->state = ST_ERR;
        return HTTP1_ERR;
    }
}

/* Bounded writer for http1_req_build: counts what does not fit. */
struct wbuf {
    char *p;
    size_t left;
    size_t len;
    bool full;
};

static void wb_put(struct wbuf *w, const char *s, size_t n)
{
    if (w->full || n > w->left) {
        w->full = true;
        return;
    }
    memcpy(w->p + w->len, s, n);
    w->len += n;
    w->left -= n;
}

static void wb_str(struct wbuf *w, const char *s)
{
    wb_put(w, s, strlen(s));
}

static bool str_is_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!tchar[(uint8_t)*s])
            return false;
    return true;
}

/* Request targets and field values must not break the framing: no CR or
 * LF; a target also no whitespace or control bytes. */
static bool str_is_clean(const char *s, bool target)
{
    for (; *s; s++) {
        uint8_t c = (uint8_t)*s;
        if (c == '\r' || c == '\n' || (target && (c <= ' ' || c == 0x7f)))
            return false;
    }
    return true;
}

static bool req_valid(const struct http1_req_spec *spec, const char *method, const char *path)
{
    if (!str_is_token(method) || !str_is_clean(path, true))
        return false;
    if (spec->host && !str_is_clean(spec->host, false))
        return false;
    if (spec->body_len && !spec->body)
        return false;
    for (size_t i = 0; i < spec->nheaders; i++) {
        const struct http1_header *h = &spec->headers[i];
        if (!h->name || !h->value || !str_is_token(h->name) || !str_is_clean(h->value, false))
            return false;
    }
    return true;
}

static bool req_has_host(const struct http1_req_spec *spec)
{
    for (size_t i = 0; i < spec->nheaders; i++)
        if (!strcasecmp(spec->headers[i].name, "host"))
            return true;
    return false;
}

/* RFC 9110 8.6: a body-carrying method with no body still says 0, or some
 * servers wait for a body that never comes. */
static bool req_wants_length(const char *method, size_t body_len)
{
    return body_len || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
           !strcmp(method, "PATCH");
}

long http1_req_build(char *buf, size_t cap, const struct http1_req_spec *spec)
{
    const char *method = spec->method ? spec->method : "GET";
    const char *path = spec->path && *spec->path ? spec->path : "/";
    struct wbuf w = {.p = buf, .left = cap};
    char num[32];

    if (!req_valid(spec, method, path))
        return -EINVAL;
    wb_str(&w, method);
    wb_str(&w, " ");
    wb_str(&w, path);
    wb_str(&w, " HTTP/1.1\r\n");
    if (spec->host && !req_has_host(spec)) {
        wb_str(&w, "Host: ");
        wb_str(&w, spec->host);
        wb_str(&w, "\r\n");
    }
    for (size_t i = 0; i < spec->nheaders; i++) {
        wb_str(&w, spec->headers[i].name);
        wb_str(&w, ": ");
        wb_str(&w, spec->headers[i].value);
        wb_str(&w, "\r\n");
    }
    if (req_wants_length(method, spec->body_len)) {
        snprintf(num, sizeof(num), "Content-Length: %zu\r\n", spec->body_len);
        wb_str(&w, num);
    }
    wb_str(&w, "\r\n");
    if (spec->body_len)
        wb_put(&w, spec->body, spec->body_len);
    return w.full ? -ENOSPC : (long)w.len;
}
