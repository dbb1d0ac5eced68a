/*
 * hdrlog.c - HdrHistogram interval log writer (format 1.3, V2 compressed
 * histograms), see hdrlog.h.
 *
 * V2 encoding (HdrHistogram AbstractHistogram.encodeIntoByteBuffer), all
 * big-endian:
 *   int32 cookie 0x1c849313, int32 payload length, int32 normalizing index
 *   offset (0), int32 significant digits (3), int64 lowest discernible value
 *   (1), int64 highest trackable value (3600000000), double integer to
 *   double conversion ratio (1.0), then the payload: counts[0..last non-zero]
 *   as ZigZag LEB128-64b9B words, a run of k >= 2 zeros written as -k.
 * Compressed: int32 cookie 0x1c849314, int32 length, then the zlib stream
 * (zlib header, as java.util.zip.Deflater writes it) of the above; the log
 * line carries it in standard base64.
 *
 * Our counts[] index is HdrHistogram's counts index for that configuration
 * (hist.h), so the payload is written straight from h->counts. Samples in
 * h->overflow (above one hour) have no slot in that layout and are left
 * out: clamping them into the last slot would invent a value.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "hdrlog.h"

struct hdrlog {
    FILE *f;
    pthread_mutex_t mu;
    int err; /* first write error, -errno */
};

/* One ZigZag LEB128-64b9B word: 7 bits a byte, the 9th byte holds 8. */
static size_t zz_put(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;

    while (n < 8 && z >= 0x80) {
        p[n++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    p[n++] = (uint8_t)z;
    return n;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static int32_t last_nonzero(const struct hist *h)
{
    for (int32_t i = HIST_COUNTS_LEN - 1; i >= 0; i--)
        if (h->counts[i])
            return i;
    return -1;
}

/* The payload: counts up to the last non-zero one, zero runs folded. */
static size_t v2_payload(const struct hist *h, uint8_t *out)
{
    int32_t last = last_nonzero(h), i = 0;
    size_t n = 0;

    while (i <= last) {
        int64_t run = 0;

        if (h->counts[i]) {
            /* a count above INT64_MAX cannot be written; 2^63 samples never happen */
            uint64_t c = h->counts[i++];

            n += zz_put(out + n, c > INT64_MAX ? INT64_MAX : (int64_t)c);
            continue;
        }
        while (i <= last && !h->counts[i]) {
            run++;
            i++;
        }
        n += zz_put(out + n, run > 1 ? -run : 0);
    }
    return n;
}

/* Uncompressed V2 form into out (HDRLOG_V2_HEADER_BYTES + 9 per slot). */
static size_t v2_encode(const struct hist *h, uint8_t *out)
{
    double ratio = 1.0;
    uint64_t ratio_bits;
    size_t len = v2_payload(h, out + HDRLOG_V2_HEADER_BYTES);

    memcpy(&ratio_bits, &ratio, sizeof(ratio_bits));
    put_be(out, HDRLOG_V2_COOKIE, 4);
    put_be(out + 4, len, 4);
    put_be(out + 8, 0, 4); /* normalizingIndexOffset */
    put_be(out + 12, HIST_SIG_DIGITS, 4);
    put_be(out + 16, 1, 8); /* lowestDiscernibleValue: 1 us */
    put_be(out + 24, HIST_MAX_US, 8);
    put_be(out + 32, ratio_bits, 8);
    return HDRLOG_V2_HEADER_BYTES + len;
}

/* Standard base64 with padding, one line: OpenSSL's, as ws.c uses. */
static char *base64(const uint8_t *p, size_t n)
{
    char *out = malloc((n + 2) / 3 * 4 + 1);

    if (out)
        EVP_EncodeBlock((unsigned char *)out, p, (int)n); /* NUL-terminated */
    return out;
}

char *hdrlog_encode_b64(const struct hist *h)
{
    size_t raw_cap = HDRLOG_V2_HEADER_BYTES + (size_t)HIST_COUNTS_LEN * 9;
    uint8_t *raw = malloc(raw_cap), *z = NULL;
    uLongf zlen = 0;
    char *out = NULL;
    size_t raw_len;

    errno = ENOMEM;
    if (!raw)
        goto out;
    raw_len = v2_encode(h, raw);
    zlen = compressBound(raw_len);
    z = malloc(8 + zlen);
    if (!z)
        goto out;
    if (compress2(z + 8, &zlen, raw, raw_len, Z_DEFAULT_COMPRESSION) != Z_OK) {
        errno = EIO;
        goto out;
    }
    put_be(z, HDRLOG_V2_ZCOOKIE, 4);
    put_be(z + 4, zlen, 4);
    out = base64(z, 8 + zlen);
out:
    free(raw);
    free(z);
    return out;
}

/* fprintf's failure as -errno (EIO when it set none). */
static int write_err(void)
{
    return -(errno ? errno : EIO);
}

static int write_header(FILE *f, double start_epoch_s)
{
    time_t t = (time_t)start_epoch_s;
    struct tm tm;
    char date[64] = "";

    if (gmtime_r(&t, &tm))
        strftime(date, sizeof(date), "%a %b %d %H:%M:%S UTC %Y", &tm);
    errno = 0;
    /* HdrHistogram_c reads header lines with a 128-byte buffer: keep them short */
    if (fprintf(f, "#[stampede: values in microseconds, Interval_Max in milliseconds]\n"
                   "#[Histogram log format version 1.3]\n"
                   "#[StartTime: %.3f (seconds since epoch), %s]\n"
                   "#[BaseTime: %.3f (seconds since epoch)]\n"
                   "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                   "\"Interval_Compressed_Histogram\"\n",
                start_epoch_s, date, start_epoch_s) < 0)
        return write_err();
    return 0;
}

struct hdrlog *hdrlog_open(const char *path, double start_epoch_s)
{
    struct hdrlog *l = calloc(1, sizeof(*l));
    int err;

    if (!l)
        return NULL;
    l->f = fopen(path, "w");
    if (!l->f)
        goto fail;
    err = write_header(l->f, start_epoch_s);
    if (!err && fflush(l->f))
        err = write_err();
    if (err) {
        fclose(l->f);
        errno = -err;
        goto fail;
    }
    pthread_mutex_init(&l->mu, NULL);
    return l;
fail:
    err = errno;
    free(l);
    errno = err;
    return NULL;
}

/* Tags may not hold ',' or blanks (HistogramLogWriter refuses them): ','
 * between two tags ({step:a,scenario:b}) becomes ';', a blank '_'. */
static void tag_clean(char *dst, size_t cap, const char *tag)
{
    size_t i = 0;

    for (; tag[i] && i + 1 < cap; i++) {
        char c = tag[i];

        dst[i] = c == ',' ? ';' : c == ' ' || c == '\t' || c == '\n' || c == '\r' ? '_' : c;
    }
    dst[i] = '\0';
}

int hdrlog_write(struct hdrlog *l, const char *tag, double start_s, double len_s,
                 const struct hist *h)
{
    char *b64 = hdrlog_encode_b64(h), t[160];
    double max_ms = h->count ? (double)h->max_ns / 1e6 : 0.0;
    int err = b64 ? 0 : -errno;

    tag_clean(t, sizeof(t), tag);
    pthread_mutex_lock(&l->mu);
    errno = 0;
    if (!err && fprintf(l->f, "Tag=%s,%.3f,%.3f,%.3f,%s\n", t, start_s, len_s, max_ms, b64) < 0)
        err = write_err();
    if (err && !l->err)
        l->err = err;
    pthread_mutex_unlock(&l->mu);
    free(b64);
    return err;
}

void hdrlog_series_hook(void *ctx, uint64_t start_ns, uint64_t len_ns,
                        const struct series_snap *a)
{
    const struct hdrlog_hook *k = ctx;

    /* an error is kept in the log and reported by hdrlog_close */
    hdrlog_write(k->log, k->tag, (double)start_ns / 1e9, (double)len_ns / 1e9, &a->dur);
}

int hdrlog_close(struct hdrlog *l)
{
    int err;

    if (!l)
        return 0;
    err = l->err;
    errno = 0;
    if (ferror(l->f) && !err)
        err = -EIO;
    if (fclose(l->f) && !err)
        err = write_err();
    pthread_mutex_destroy(&l->mu);
    free(l);
    return err;
}
