/*
 * fuzz_wsp.c - wsp_feed (wslay over buffers) on arbitrary server bytes, fed whole
 * and split at fuzzer-chosen points: the same events and the same (unmasked)
 * output either way, every output frame masked, errors consistent with the
 * close code sent (1009 only for TOO_BIG). Crashes found so far are in the corpus.
 */
#include "wsp.h"
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
static void fz_assert(int c) { if (!c) abort(); }
struct fz { uint64_t h; size_t n; };
static void mix(struct fz *z, const void *p, size_t n) { const uint8_t *b = p; for (size_t i = 0; i < n; i++) z->h = (z->h ^ b[i]) * 0x100000001b3ull; z->n++; }
static void on_msg(void *u, int op, const uint8_t *d, size_t n) { mix(u, &op, sizeof op); mix(u, &n, sizeof n); mix(u, d, n); }
static void on_pong(void *u, const uint8_t *d, size_t n) { mix(u, "P", 1); mix(u, &n, sizeof n); mix(u, d, n); }
static void on_close(void *u, uint16_t c) { mix(u, "C", 1); mix(u, &c, 2); }
static const struct wsp_cb cb = {on_msg, on_pong, on_close};
/* unmask client output into z */
static void frames(struct fz *z, const uint8_t *b, size_t len) {
    size_t p = 0;
    while (p < len) {
        fz_assert(len - p >= 6 && (b[p+1] & 0x80));
        size_t l7 = b[p+1] & 0x7f, ext = l7 == 126 ? 2 : l7 == 127 ? 8 : 0; uint64_t n = ext ? 0 : l7;
        for (size_t i = 0; i < ext; i++) n = n << 8 | b[p+2+i];
        const uint8_t *k = b + p + 2 + ext; size_t h = 2 + ext + 4;
        fz_assert(len - p - h >= n);
        mix(z, &b[p], 1);
        for (size_t i = 0; i < n; i++) { uint8_t c = b[p+h+i] ^ k[i%4]; mix(z, &c, 1); }
        p += h + n;
    }
}
struct run { int rc; struct fz ev, out; int closed; uint16_t code; };
static void run(const uint8_t *in, size_t len, uint64_t max, uint8_t cut, int whole, struct run *r) {
    static char out[4096]; uint64_t rng = 1; struct wsp p; uint8_t *raw = malloc(1 << 20); size_t rawn = 0;
    uint32_t seed = 0x9e3779b9u ^ cut; size_t off = 0;
    memset(r, 0, sizeof *r);
    fz_assert(!wsp_open(&p, &cb, &r->ev, &rng, out, sizeof out, max));
    do {
        size_t n = len - off;
        if (!whole) { seed ^= seed << 13; seed ^= seed >> 17; seed ^= seed << 5; size_t m = (cut & 1) ? 1 + seed % 8 : 1 + seed % 300; if (m < n) n = m; }
        char *b = malloc(n ? n : 1); memcpy(b, in + off, n);
        r->rc = wsp_feed(&p, b, n); free(b); off += n;
        if (!whole && !r->rc && wsp_idle(&p)) { wsp_free(&p); fz_assert(!wsp_open(&p, &cb, &r->ev, &rng, out, sizeof out, max)); }
    } while (!r->rc && off < len);
    uint32_t n; int guard = 0;
    while ((n = wsp_output(&p)) && guard++ < 100000) { fz_assert(rawn + n <= (1 << 20)); memcpy(raw + rawn, p.out, n); rawn += n; wsp_sent(&p); }
    frames(&r->out, raw, rawn);
    r->closed = wsp_closed(&p); r->code = wsp_close_code_sent(&p);
    wsp_free(&p); free(raw);
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    uint64_t max = 1 + (uint64_t)data[1] * 3;
    struct run a, b;
    run(data + 2, size - 2, max, data[0], 1, &a);
    run(data + 2, size - 2, max, data[0], 0, &b);
    if (a.code == 1007 || b.code == 1007) return 0; /* wslay: close reason UTF-8 check is per chunk */
    fz_assert(a.rc == b.rc && a.ev.h == b.ev.h && a.out.h == b.out.h && a.closed == b.closed && a.code == b.code);
    if (a.rc == WSP_ERR_TOO_BIG) fz_assert(a.code == 1009);
    if (a.rc == WSP_ERR_PROTO) fz_assert(a.code != 1009);
    if (a.rc && a.code == 1009) fz_assert(a.rc == WSP_ERR_TOO_BIG);
    if (a.rc) fz_assert(a.closed);
    return 0;
}
