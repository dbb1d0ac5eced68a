/*
 * test_hdrlog.c - the V2 compressed encoder, round-tripped through a decoder
 * written here from the format description (base64 -> cookie -> inflate ->
 * V2 header -> ZigZag LEB128-64b9B words with zero runs), slot by slot.
 * Cases: empty, one value, values across every bucket, huge counts (> 2^32,
 * and > 2^56 for the 9-byte word), values at the 1 h limit, overflow left
 * out. Also the log file: header lines, one interval line per write, the
 * tag cleaned, and a write error (/dev/full) reported at open.
 * hdr-histogram-js is the independent oracle in tests/e2e/hdr_log.sh.
 */
#include "t.h"
#include "hdrlog.h"
#include "hist.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static int t_b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Standard base64 with padding; returns bytes or -1. */
static long t_unbase64(const char *s, uint8_t *out, size_t cap)
{
    size_t n = strlen(s), o = 0;

    if (n % 4)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];

        for (int k = 0; k < 4; k++)
            v[k] = s[i + k] == '=' && i + 4 == n && k >= 2 ? 0 : t_b64val(s[i + k]);
        if (v[0] < 0 || v[1] < 0 || v[2] < 0 || v[3] < 0 || o + 3 > cap)
            return -1;
        out[o++] = (uint8_t)(v[0] << 2 | v[1] >> 4);
        if (s[i + 2] != '=')
            out[o++] = (uint8_t)(v[1] << 4 | v[2] >> 2);
        if (s[i + 3] != '=')
            out[o++] = (uint8_t)(v[2] << 6 | v[3]);
    }
    return (long)o;
}

static uint64_t t_be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/* One ZigZag LEB128-64b9B word at *p (bounded by end); -1 on truncation. */
static int t_zz(const uint8_t **p, const uint8_t *end, int64_t *out)
{
    uint64_t v = 0;
    int shift = 0;

    for (int i = 0; i < 9; i++) {
        if (*p >= end)
            return -1;
        uint8_t b = *(*p)++;

        v |= (uint64_t)(i == 8 ? b : (b & 0x7f)) << shift;
        shift += 7;
        if (i < 8 && !(b & 0x80))
            break;
    }
    *out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
    return 0;
}

/* Decode a log line's histogram into counts[HIST_COUNTS_LEN]; 0 or a
 * negative step number telling what failed. */
static int t_decode(const char *b64, uint64_t *counts)
{
    static uint8_t z[1 << 20], raw[1 << 20];
    long zn = t_unbase64(b64, z, sizeof(z));
    uLongf rn = sizeof(raw);
    const uint8_t *p, *end;
    double ratio;
    uint64_t bits;
    size_t i = 0;

    if (zn < 8 || t_be(z, 4) != 0x1c849314u || (long)t_be(z + 4, 4) != zn - 8)
        return -1;
    if (uncompress(raw, &rn, z + 8, (uLong)(zn - 8)) != Z_OK || rn < 40)
        return -2;
    bits = t_be(raw + 32, 8);
    memcpy(&ratio, &bits, sizeof(ratio));
    if (t_be(raw, 4) != 0x1c849313u || t_be(raw + 4, 4) != rn - 40 || t_be(raw + 8, 4) != 0 ||
        t_be(raw + 12, 4) != 3 || t_be(raw + 16, 8) != 1 || t_be(raw + 24, 8) != 3600000000ull ||
        ratio != 1.0)
        return -3;
    memset(counts, 0, HIST_COUNTS_LEN * sizeof(*counts));
    for (p = raw + 40, end = raw + rn; p < end;) {
        int64_t v;

        if (t_zz(&p, end, &v))
            return -4;
        if (v < 0) {
            i += (size_t)-v;
        } else {
            if (i >= HIST_COUNTS_LEN)
                return -5;
            counts[i++] = (uint64_t)v;
        }
    }
    return i > HIST_COUNTS_LEN ? -6 : 0;
}

/* Encode, decode, compare every slot. */
static void t_roundtrip(const char *name, const struct hist *h)
{
    static uint64_t got[HIST_COUNTS_LEN];
    char *b64 = hdrlog_encode_b64(h);
    int rc, bad = -1;

    ok(b64 != NULL, "%s: encoded", name);
    if (!b64)
        return;
    ok(!strncmp(b64, "HISTF", 5), "%s: starts with the V2 compressed cookie 'HISTF' (%.8s)", name,
       b64);
    rc = t_decode(b64, got);
    ok(rc == 0, "%s: decoded (%d)", name, rc);
    for (uint32_t i = 0; rc == 0 && i < HIST_COUNTS_LEN && bad < 0; i++)
        if (got[i] != h->counts[i])
            bad = (int)i;
    ok(rc == 0 && bad < 0, "%s: slot %d: %llu != %llu", name, bad,
       bad < 0 ? 0ull : (unsigned long long)got[bad],
       bad < 0 ? 0ull : (unsigned long long)h->counts[bad]);
    free(b64);
}

static struct t_cases {
    struct hist h;
} t_c;

static void t_cases_encode(void)
{
    struct hist *h = &t_c.h;

    hist_init(h);
    t_roundtrip("empty", h);

    hist_init(h);
    hist_record(h, 1000);
    t_roundtrip("one value (1 us)", h);

    hist_init(h);
    hist_record(h, 0);
    t_roundtrip("zero", h);

    /* a slot's lowest value every 37 slots (every bucket), varied counts */
    hist_init(h);
    for (uint32_t i = 0; i < HIST_COUNTS_LEN; i += 37)
        if (hist_lowest_us(i) <= HIST_MAX_US)
            hist_record_n_us(h, hist_lowest_us(i), i % 7 + 1);
    t_roundtrip("across every bucket", h);

    hist_init(h);
    h->counts[hist_index(5000)] = (1ull << 40) + 7;
    h->counts[hist_index(5)] = 1ull << 33;
    h->count = (1ull << 40) + 7 + (1ull << 33);
    t_roundtrip("counts above 2^32", h);

    hist_init(h);
    h->counts[0] = (1ull << 62) + 3; /* zigzag needs the 9th byte */
    h->counts[HIST_COUNTS_LEN - 1] = 1;
    t_roundtrip("a count above 2^56 (9-byte word)", h);

    hist_init(h);
    hist_record_n_us(h, HIST_MAX_US, 3);
    hist_record_n_us(h, HIST_MAX_US - 5000000, 2);
    t_roundtrip("values near the 1 h limit", h);

    /* alternating single zeros and runs */
    hist_init(h);
    for (uint32_t i = 0; i < 300; i += (i % 3) + 1)
        h->counts[i] = i + 1;
    t_roundtrip("single zeros and short runs", h);

    hist_init(h);
    hist_record(h, 2000);
    hist_record(h, (HIST_MAX_US + 1000) * 1000ull); /* overflow: left out */
    ok(h->overflow == 1, "overflow counted by hist");
    t_roundtrip("overflow is not in counts", h);
}

static char *t_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    static char buf[1 << 20];
    size_t n;

    if (!f)
        return NULL;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void t_log_file(void)
{
    char path[] = "/tmp/test_hdrlog.XXXXXX";
    static uint64_t got[HIST_COUNTS_LEN];
    struct hdrlog *l;
    char *s, *line, *b64, tag[64];
    double start, len, max;
    int fd = mkstemp(path), n;

    ok(fd >= 0, "mkstemp");
    if (fd < 0)
        return;
    close(fd);
    l = hdrlog_open(path, 1700000000.25);
    ok(l != NULL, "hdrlog_open");
    if (!l)
        return;
    hist_init(&t_c.h);
    hist_record(&t_c.h, 1500000); /* 1.5 ms */
    hist_record(&t_c.h, 250000);
    ok(hdrlog_write(l, "http_req_duration{step:log in,now}", 1.5, 0.25, &t_c.h) == 0, "write");
    ok(hdrlog_close(l) == 0, "close");
    s = t_slurp(path);
    unlink(path);
    ok(s && strstr(s, "#[Histogram log format version 1.3]\n"), "version line");
    ok(s && strstr(s, "\n#[StartTime: 1700000000.250 (seconds since epoch), "), "StartTime line");
    ok(s && strstr(s, "\n\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                      "\"Interval_Compressed_Histogram\"\n"), "legend line");
    line = s ? strstr(s, "\nTag=") : NULL;
    ok(line != NULL, "an interval line");
    if (!line)
        return;
    n = sscanf(line + 1, "Tag=%63[^,],%lf,%lf,%lf,%ms", tag, &start, &len, &max, &b64);
    ok(n == 5, "interval line fields (%d)", n);
    if (n != 5)
        return;
    ok(!strcmp(tag, "http_req_duration{step:log_in;now}"), "tag cleaned: %s", tag);
    ok(start == 1.5 && len == 0.25 && max == 1.5, "start %g len %g max(ms) %g", start, len, max);
    ok(t_decode(b64, got) == 0 && got[hist_index(1500)] == 1 && got[hist_index(250)] == 1,
       "line's histogram decodes");
    free(b64);
}

static void t_errors(void)
{
    struct hdrlog *l;

    errno = 0;
    ok(hdrlog_open("/nonexistent-dir/x.hlog", 0) == NULL && errno == ENOENT,
       "unwritable path: NULL + ENOENT (%d)", errno);
    if (access("/dev/full", W_OK)) {
        note("no /dev/full: write error case skipped");
        return;
    }
    /* the header is flushed at open: /dev/full fails there already */
    errno = 0;
    l = hdrlog_open("/dev/full", 0);
    ok(l == NULL && errno == ENOSPC, "/dev/full: open reports ENOSPC (%d)", errno);
    if (l)
        hdrlog_close(l);
}

int main(void)
{
    t_cases_encode();
    t_log_file();
    t_errors();
    return done();
}
