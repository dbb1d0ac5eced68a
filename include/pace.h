/*
 * pace.h - arrival schedules for open-loop load, as pure functions.
 *
 * A schedule is a list of stages, each a duration and a target rate
 * (requests per second); the rate moves linearly from the previous target
 * (or `start_per_s`) to the stage's target over the stage (k6's ramping
 * arrival rate). A constant rate -R is one stage. After the last stage the
 * rate is 0.
 *
 * Uniform spacing (the default): arrivals are numbered globally, arrival j
 * is due when the cumulative count N(t) = integral of rate from 0 to t
 * reaches j, and with W workers worker i takes arrivals i, i + W, i + 2W,
 * ...: together they make exactly the schedule, with no overlap and no
 * gap, and no worker talks to another. Poisson (--arrival poisson): each
 * worker runs its own seeded stream at 1/W of the rate (Exp gaps in the
 * N(t) time scale); independent Poisson streams add up to a Poisson
 * process at the full rate. Everything here is a pure function of its inputs, so
 * it is table-tested and the same seed gives the same run.
 *
 * Times are nanoseconds from the start of the schedule.
 */
#ifndef STAMPEDE_PACE_H
#define STAMPEDE_PACE_H

#include <stdbool.h>
#include <stdint.h>

#define PACE_MAX_STAGES 64
#define PACE_NEVER UINT64_MAX

struct pace_stage {
    uint64_t duration_ns;
    double target;      /* rate (per second) or connections at the stage's end */
};

struct pace_plan {
    struct pace_stage stages[PACE_MAX_STAGES];
    unsigned nstages;
    double start;            /* value at t = 0 */
    bool is_rate;            /* targets are rates (open loop), else connections */
};

/* Parse a rate: "N", "N/s" (per second), "N/m" (per minute), also
 * "N/h"; decimals allowed ("0.5/s"), and a k/m suffix on N ("20k/s").
 * Returns 0 or -EINVAL; result in requests per second (> 0 unless
 * allow_zero). */
int pace_parse_rate(const char *s, bool allow_zero, double *per_s);

/* Parse --stages "30s:1000/s,2m:1000/s,30s:0/s" (rates) or
 * "30s:500,5m:500,30s:0" (connections). Mixing the two kinds, an empty
 * list, a zero-length stage or more than PACE_MAX_STAGES is an error.
 * Returns 0, or -EINVAL with *err_at pointing at the offending item. */
int pace_parse_stages(const char *s, struct pace_plan *p, const char **err_at);

/* Total length of the stages. */
uint64_t pace_total_ns(const struct pace_plan *p);

/* Value (rate or connections) at time t (linear interpolation). */
double pace_value_at(const struct pace_plan *p, uint64_t t_ns);

/* Cumulative arrivals N(t) (rate plans only). */
double pace_count_at(const struct pace_plan *p, uint64_t t_ns);

/* Smallest t with N(t) >= a; PACE_NEVER if the schedule never gets there. */
uint64_t pace_time_of(const struct pace_plan *p, double a);

/* Per-worker arrival stream. */
struct pace_stream {
    const struct pace_plan *plan;
    uint32_t worker, workers;
    bool poisson;
    uint64_t rng;      /* xorshift64* state (poisson) */
    double a;          /* cumulative position of the next arrival */
    uint64_t next_ns;  /* due time of the next arrival, PACE_NEVER at the end */
    uint64_t index;    /* arrivals handed out so far */
};

void pace_stream_init(struct pace_stream *s, const struct pace_plan *p, uint32_t worker,
                      uint32_t workers, bool poisson, uint64_t seed);

/* Advance past the current arrival (whose due time was s->next_ns). */
void pace_stream_next(struct pace_stream *s);

#endif
