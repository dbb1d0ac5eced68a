/*
 * fuzz_ws_hs.c - libFuzzer target for the WebSocket handshake response:
 * ws_hs_feed (accumulating the head) and ws_hs_verify (checking it).
 *
 * Input layout: byte 0 picks how the stream is cut into pieces (mode in
 * the low 2 bits, seed in the rest), byte 1 bit 0 says whether we offered
 * the subprotocol "chat", the remaining bytes are what the server sent.
 * The key is RFC 6455's sample, so a corpus entry can carry its accept.
 *
 * The stream is accumulated whole and cut into pieces; both must agree
 * with a plain reference scan for the first empty line (where the head
 * ends, or -1 past WS_HS_MAX, or 0). Each piece is copied to the end of a
 * heap block so ASan catches a read past it. ws_hs_verify runs on the head
 * and on the whole input. Aborts when the feed contract breaks (used >
 * len, 0 without using everything), when the ways disagree, or when a
 * verdict is out of range (status outside 0..999, OK without 101).
 */
#include "ws.h"

#include <stdlib.h>
#include <string.h>

#define FZ_KEY "dGhlIHNhbXBsZSBub25jZQ=="

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fz_assert(bool cond)
{
    if (!cond)
        abort();
}

/* What ws_hs_feed must say about in[0..len): 1 with *end, -1 or 0. */
static int fz_reference(const char *in, size_t len, size_t *end)
{
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '\n')
            continue;
        if (i + 1 < len && in[i + 1] == '\n')
            *end = i + 2;
        else if (i + 2 < len && in[i + 1] == '\r' && in[i + 2] == '\n')
            *end = i + 3;
        else
            continue;
        if (*end <= WS_HS_MAX)
            return 1;
        break;
    }
    return len >= WS_HS_MAX ? -1 : 0;
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

/* Accumulate in[0..len) in pieces (whole: one). Returns the last rc and
 * the stream offset where the head ended (*end). */
static int fz_feed(struct ws_hs *h, const char *in, size_t len, uint8_t cut, bool whole,
                   size_t *end)
{
    char *buf = malloc(len ? len : 1);
    uint32_t seed = 0x9e3779b9u ^ cut;
    size_t off = 0, n, used;
    int rc = 0;
    bool first = true;

    h->len = 0;
    do {
        n = whole ? len : fz_piece(&seed, cut & 3, len - off, first);
        first = false;
        memcpy(buf + len - n, in + off, n);
        rc = ws_hs_feed(h, buf + len - n, n, &used);
        fz_assert(used <= n && (rc != 0 || used == n) && h->len <= WS_HS_MAX);
        off += used;
    } while (rc == 0 && off < len);
    free(buf);
    *end = off;
    return rc;
}

static void fz_verify(const char *head, size_t len, const char *sub)
{
    char *copy = malloc(len ? len : 1);
    int status = -1;
    enum ws_hs_err e;

    memcpy(copy, head, len);
    e = ws_hs_verify(copy, len, FZ_KEY, sub, &status);
    fz_assert((unsigned)e < WS_HS_ERR_NR && status >= 0 && status <= 999);
    fz_assert(e != WS_HS_OK || status == 101);
    fz_assert(e != WS_HS_BAD_STATUS || (status != 101 && status > 0));
    fz_assert(ws_hs_strerror(e) != NULL);
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ws_hs *h = malloc(sizeof(*h));
    const char *in = (const char *)data + 2, *sub;
    size_t len, ref_end = 0, end_whole, end_cut;
    int ref, rc_whole, rc_cut;
    char head[WS_HS_MAX];
    uint32_t head_len;

    if (size < 2 || !h) {
        free(h);
        return 0;
    }
    len = size - 2;
    sub = data[1] & 1 ? "chat" : NULL;
    ref = fz_reference(in, len, &ref_end);
    rc_whole = fz_feed(h, in, len, data[0], true, &end_whole);
    memcpy(head, h->head, h->len);
    head_len = h->len;
    rc_cut = fz_feed(h, in, len, data[0], false, &end_cut);
    fz_assert(rc_whole == ref && rc_cut == ref);
    if (ref == 1) {
        fz_assert(end_whole == ref_end && end_cut == ref_end);
        fz_assert(head_len == ref_end && h->len == ref_end);
        fz_assert(!memcmp(head, in, ref_end) && !memcmp(h->head, in, ref_end));
        fz_verify(h->head, h->len, sub);
    }
    fz_verify(in, len, sub);
    free(h);
    return 0;
}
