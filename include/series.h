/*
 * series.h - the per-interval time series: workers hand snapshots to the
 * main thread without locks, the main thread merges them, writes NDJSON
 * (--timeseries) and draws the progress line.
 *
 * Each worker owns a ring of SERIES_SLOTS snapshots (single producer, single
 * consumer): it fills slot seq % SERIES_SLOTS, then publishes seq + 1 with a
 * release store; the reader acquires the sequence and copies what is new.
 * The main thread polls every 50 ms and intervals are >= 10 ms, so a ring of
 * 8 is never lapped in practice; if it were, the lapped snapshot is
 * counted in `lost` and skipped: the writer never waits for the reader.
 *
 * A snapshot carries the interval's counters (deltas) and its own latency
 * and send-lag histograms (HdrHistogram layout), so intervals merge exactly
 * across workers. Cold path except series_record_*, which are one histogram
 * increment each.
 */
#ifndef STAMPEDE_SERIES_H
#define STAMPEDE_SERIES_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hist.h"

#define SERIES_SLOTS 8

struct series_counts {
    uint64_t requests, responses, errors, dropped, scheduled;
    uint64_t status_class[6]; /* [1]..[5] = 1xx..5xx; [0] anything else */
};

struct series_snap {
    uint64_t index;           /* interval number from the clock start */
    struct series_counts d;   /* this interval's counts */
    uint32_t connections;     /* established at the end of the interval */
    struct hist dur, lag;
};

struct series_ring {
    struct series_snap slot[SERIES_SLOTS];
    _Atomic uint64_t seq;     /* snapshots published */
    /* writer side */
    uint64_t index;           /* interval being filled */
    struct series_counts last; /* cumulative counts at the last snapshot */
    struct hist dur, lag;     /* the interval being filled */
};

struct series_ring *series_ring_new(void);
void series_ring_free(struct series_ring *r);

static inline void series_record_dur(struct series_ring *r, uint64_t ns)
{
    hist_record(&r->dur, ns);
}
static inline void series_record_lag(struct series_ring *r, uint64_t ns)
{
    hist_record(&r->lag, ns);
}

/* Writer: publish the interval `index` ended with these cumulative counts. */
void series_publish(struct series_ring *r, const struct series_counts *cum, uint32_t conns);

/* Writer: the cumulative counters were reset (end of warm-up). */
void series_counts_reset(struct series_ring *r);

/* One emitted interval, kept for the result (JSON "timeseries", the HTML
 * report). Percentiles in microseconds. */
struct series_point {
    double t_s;               /* end of the interval, from the clock start */
    const char *phase;        /* "warmup", "run", "drain" (static strings) */
    double target;            /* stage target: req/s (open loop) or connections */
    struct series_counts d;
    uint64_t p50_us, p90_us, p99_us, lag_p99_us;
    double max_us;
    uint32_t connections;
};

/* Called on every emitted interval with its merged histograms (the
 * HdrHistogram interval log): start and length in ns from the clock start. */
typedef void (*series_hook_fn)(void *ctx, uint64_t start_ns, uint64_t len_ns,
                               const struct series_snap *a);

/* Reader side, owned by the main thread. */
struct series_reader {
    struct series_ring **rings;
    uint32_t nrings;
    uint64_t *seen;           /* per ring: snapshots consumed */
    uint64_t *latest;         /* per ring: intervals it has published up to */
    uint64_t emit;            /* next interval to emit */
    uint64_t lost;
    struct series_snap *acc;  /* intervals being merged, SERIES_SLOTS of them */
    uint32_t *have;           /* per accumulated interval: workers merged */
    FILE *out;                /* NDJSON, or NULL */
    bool tty;                 /* progress line on stderr */
    bool plain;               /* --progress: a line every 10 s */
    uint64_t interval_ns;
    uint64_t total_ns;        /* warm-up + run, for "elapsed / total" */
    uint64_t warmup_ns;
    const void *plan;         /* struct plan, for the stage target */
    bool drew;
    struct series_snap *cum;  /* every emitted interval past the warm-up, merged
                               * (thresholds with abort_on_fail read it) */
    struct series_point *points; /* every emitted interval (grown by doubling) */
    uint32_t npoints, cap_points;
    series_hook_fn hook;      /* optional, see series_hook_fn */
    void *hook_ctx;
};

int series_reader_init(struct series_reader *s, struct series_ring **rings, uint32_t n,
                       const void *plan, FILE *out, bool tty, bool plain);
void series_reader_fini(struct series_reader *s);

/* One point as a JSON object (the NDJSON line's and the result's keys). */
struct json;
void series_point_json(struct json *j, const struct series_point *pt, uint64_t interval_ns);

/* Hand the emitted points over to the caller (who frees them). */
struct series_point *series_take_points(struct series_reader *s, uint32_t *n);

/* Consume what the workers published; emit every interval all workers are
 * past (or all of them when `final`). */
void series_poll(struct series_reader *s, bool final);

#endif
