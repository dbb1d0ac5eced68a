/*
 * load.h - the load model inside a worker: phases (connecting, warm-up,
 * run), open-loop pacing, how many connections are wanted, and the pacing
 * of new connections.
 *
 * Open loop: arrivals come from a pace_stream (pace.h) anchored at the
 * phase's start; each due arrival joins the backlog with its intended send
 * time and is handed to the first free connection. Latency is measured
 * from the intended time, so a slow server cannot slow the clock down
 * (no coordinated omission). A request still in the backlog --timeout
 * after its intended time is dropped and counted.
 *
 * Closed loop: every wanted connection keeps --pipeline requests in
 * flight; stages of connections move `want` up and down.
 *
 * Connections are slots [0, want); a slot past `want` finishes what it has
 * in flight and closes. All of it runs on the worker's own thread.
 */
#ifndef STAMPEDE_LOAD_H
#define STAMPEDE_LOAD_H

#include <stdbool.h>
#include <stdint.h>

struct worker;
struct conn;

int load_init(struct worker *w);
void load_fini(struct worker *w);

/* Open the connections wanted before the clock starts. */
void load_begin(struct worker *w);

/* Once per loop turn, after completions and timers. */
void load_tick(struct worker *w);

/* How long the loop may sleep before the load model needs it. */
uint64_t load_wait_ns(const struct worker *w, uint64_t cap_ns);

/* Connect c now or when --connect-rate allows. */
void load_connect(struct worker *w, struct conn *c);

/* c's first connect of the run succeeded or failed. */
void load_conn_resolved(struct worker *w, struct conn *c);

/* c can take another request (open loop). */
void load_conn_free(struct worker *w, struct conn *c);

/* Hand the current interval's snapshot to the main thread. */
void load_series_publish(struct worker *w);

/* Intended send time of the oldest backlog request, removed. */
uint64_t load_backlog_pop(struct worker *w);

/* --sessions: may another session start? */
bool load_session_allowed(const struct worker *w);

/* A session (connect attempt) ended; `finished`: it did all its work. */
void load_session_over(struct worker *w, bool finished);

/* Is c one of the connections the model wants open now? */
bool load_conn_wanted(const struct worker *w, const struct conn *c);

#endif
