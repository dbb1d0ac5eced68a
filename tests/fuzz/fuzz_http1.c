/*
 * fuzz_http1.c - libFuzzer target for the HTTP/1.x response parser.
 *
 * Input layout: byte 0 says which responses answer a HEAD (bit i for
 * response i % 8), byte 1 picks how the stream is cut into pieces (mode in
 * the low 2 bits, seed in the rest), the remaining bytes are what the
 * server sent. The stream is parsed twice, whole and cut into pieces,
 * through every pipelined response, then http1_resp_eof. Each piece is
 * copied to the end of a heap block, so ASan catches a read past its end.
 *
 * Aborts when the feed contract breaks (used > len, MORE without using
 * everything, no progress without ERR, DONE with nothing used), when a
 * result is out of range, or when the two parses disagree: a response must
 * parse the same whatever the split.
 */
#include "http1.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_run {
    uint64_t hash; /* of every result, in order */
    size_t responses;
    int end; /* last rc: ERR from feed, or what eof said */
};

static void fz_assert(bool cond)
{
    if (!cond)
        abort();
}

static void fz_mix(struct fz_run *z, uint64_t v)
{
    z->hash = (z->hash ^ v) * 0x100000001b3ull; /* FNV-1a style */
}

static void fz_record(struct fz_run *z, const struct http1_resp *r, size_t used)
{
    fz_assert(r->status >= 100 && r->status <= 999);
    fz_assert(r->minor_version >= 0 && r->minor_version <= 9);
    fz_assert(r->framing != HTTP1_BODY_LENGTH ||
              (r->content_length > 0 && r->content_length <= 1ull << 62));
    fz_assert(r->framing != HTTP1_BODY_EOF || !r->keep_alive);
    fz_mix(z, (uint64_t)r->status << 8 | (uint64_t)r->minor_version << 4 | r->framing);
    fz_mix(z, r->content_length);
    fz_mix(z, r->keep_alive);
    fz_mix(z, used);
    z->responses++;
}

/* Size of the next piece: mode 0 byte by byte, 1 and 2 small random
 * sizes, 3 two pieces cut at a seed-chosen offset. */
static size_t fz_piece(uint32_t *seed, unsigned mode, size_t left, bool first)
{
    size_t n;

    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    if (mode == 0)
        n = 1;
    else if (mode == 1)
        n = 1 + *seed % 8;
    else if (mode == 2)
        n = 1 + *seed % 64;
    else
        n = first ? *seed % (left + 1) : left;
    return n < left ? n : left;
}

/* Feed one piece to the end, from the end of `buf` (a heap block of the
 * whole input's size) so ASan sees a read past the piece. False after
 * HTTP1_ERR. */
static bool fz_feed(struct http1_resp *r, char *buf, size_t cap, const uint8_t *src, size_t n,
                    uint8_t head_bits, struct fz_run *z, size_t *cur)
{
    char *p = buf + cap - n;
    size_t off = 0, used;
    enum http1_rc rc = HTTP1_MORE;

    memcpy(p, src, n);
    do {
        rc = http1_resp_feed(r, p + off, n - off, &used);
        fz_assert(used <= n - off);
        fz_assert(rc != HTTP1_MORE || used == n - off);
        fz_assert(rc != HTTP1_DONE || used > 0);
        off += used;
        *cur += used;
        if (rc == HTTP1_DONE) {
            fz_record(z, r, *cur);
            *cur = 0;
            http1_resp_reset(r);
            r->head_request = head_bits >> (z->responses % 8) & 1;
        }
    } while (rc != HTTP1_ERR && off < n);
    z->end = rc;
    return rc != HTTP1_ERR;
}

static void fz_parse(const uint8_t *in, size_t len, uint8_t head_bits, uint8_t cut, bool whole,
                     struct fz_run *z)
{
    struct http1_resp r = {.head_request = head_bits & 1};
    uint32_t seed = 0x9e3779b9u ^ cut;
    size_t off = 0, cur = 0, n, used;
    char *buf = malloc(len ? len : 1);
    bool first = true;

    memset(z, 0, sizeof(*z));
    do {
        n = whole ? len : fz_piece(&seed, cut & 3, len - off, first);
        first = false;
        if (!fz_feed(&r, buf, len, in + off, n, head_bits, z, &cur)) {
            /* an error is sticky: nothing more is consumed */
            fz_assert(http1_resp_feed(&r, "x", 1, &used) == HTTP1_ERR && used == 0);
            free(buf);
            return;
        }
        off += n;
    } while (off < len);
    free(buf);
    z->end = http1_resp_eof(&r);
    if (z->end == HTTP1_DONE)
        fz_record(z, &r, cur);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_run whole, cut;

    if (size < 2)
        return 0;
    fz_parse(data + 2, size - 2, data[0], data[1], true, &whole);
    fz_parse(data + 2, size - 2, data[0], data[1], false, &cut);
    fz_assert(whole.hash == cut.hash && whole.responses == cut.responses && whole.end == cut.end);
    return 0;
}
