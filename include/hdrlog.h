/*
 * hdrlog.h - the HdrHistogram interval log (--hdr-log FILE), format 1.3.
 *
 * One text line per interval and metric, each holding a V2 compressed
 * histogram in base64, so HdrHistogram's own tools (HistogramLogProcessor,
 * HistogramLogAnalyzer, hdr-histogram-js's HistogramLogReader) read our
 * results. struct hist already has HdrHistogram's counts layout for
 * lowestDiscernibleValue 1, highestTrackableValue 3600000000 and 3
 * significant digits, so encoding is a walk over counts[]: no re-binning.
 * Values are microseconds.
 *
 * Cold path: called once per interval by the main thread of each engine.
 * Several engines (scenarios of one file) may share one log: a mutex
 * serializes the lines.
 */
#ifndef STAMPEDE_HDRLOG_H
#define STAMPEDE_HDRLOG_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "series.h"

/* The V2 encoding's constants (HdrHistogram AbstractHistogram). */
#define HDRLOG_V2_COOKIE 0x1c849313u       /* V2EncodingCookieBase | 0x10 */
#define HDRLOG_V2_ZCOOKIE 0x1c849314u      /* V2CompressedEncodingCookieBase | 0x10 */
#define HDRLOG_V2_HEADER_BYTES 40

struct hdrlog;

/* Create (truncate) `path` and write the log header; start_epoch_s is the
 * wall-clock time every interval's start is relative to. NULL + errno. */
struct hdrlog *hdrlog_open(const char *path, double start_epoch_s);

/* One interval line: `tag` (',' becomes ';', blanks '_'), start and length in
 * seconds from the start time, the histogram (its overflow samples, above
 * one hour, are not in counts[] and are left out). 0 or -errno; the first
 * error is also kept for hdrlog_close. */
int hdrlog_write(struct hdrlog *l, const char *tag, double start_s, double len_s,
                 const struct hist *h);

/* Context for hdrlog_series_hook: which log, and the tag of the lines. */
struct hdrlog_hook {
    struct hdrlog *log;
    const char *tag;
};

/* A series_hook_fn (series.h): ctx is a struct hdrlog_hook; writes the
 * interval's merged `dur` histogram. */
void hdrlog_series_hook(void *ctx, uint64_t start_ns, uint64_t len_ns,
                        const struct series_snap *a);

/* Flush and close; 0, or -errno of the first write error. Frees `l`. */
int hdrlog_close(struct hdrlog *l);

/* The histogram as a V2 compressed, base64 string (NUL-terminated, malloc'd,
 * the caller frees it). NULL + errno (ENOMEM, or EIO if zlib fails). */
char *hdrlog_encode_b64(const struct hist *h);

#endif
