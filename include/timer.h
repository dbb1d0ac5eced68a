/*
 * timer.h - per-worker hashed timer wheel (user space, no kernel timers).
 *
 * One wheel per worker, owned by that thread: no locks. Timers are
 * intrusive (embedded in the connection), so arming never allocates.
 * Resolution is TIMER_TICK_NS (1 ms); a timer fires on the first
 * timer_expire() call whose `now` is >= its due time, never earlier.
 * Slots: TIMER_SLOTS (power of two); a timer due further away than one
 * revolution sits in its slot and is skipped until its round comes, so
 * arm and cancel are O(1) and expire is O(timers in the passed slots).
 *
 * The worker drives the wheel: it waits in io_uring at most
 * timer_wait_ns() and then calls timer_expire() with the clock it read.
 */
#ifndef STAMPEDE_TIMER_H
#define STAMPEDE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define TIMER_TICK_NS 1000000ull
#define TIMER_SLOTS 1024u

struct timer;
typedef void (*timer_fn)(struct timer *t, uint64_t now_ns);

struct timer {
    struct timer *next, *prev; /* NULL prev == not armed */
    uint64_t due_ns;
    timer_fn fn;
};

struct timer_wheel {
    struct timer slots[TIMER_SLOTS]; /* list heads (sentinels) */
    uint64_t tick;                   /* next tick to process */
    uint64_t armed;                  /* number of armed timers */
};

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ns);

/* Prepare an embedded timer (not armed) with its callback. */
void timer_init(struct timer *t, timer_fn fn);

/* Arm (or re-arm) t to fire at due_ns. A due time in the past fires at the
 * next timer_expire(). */
void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t due_ns);

/* Disarm t; no-op when not armed. */
void timer_cancel(struct timer_wheel *w, struct timer *t);

static inline bool timer_armed(const struct timer *t)
{
    return t->prev != 0;
}

/* Fire every timer due at or before now_ns (callbacks may re-arm or arm
 * other timers). Returns the number fired. */
unsigned timer_expire(struct timer_wheel *w, uint64_t now_ns);

/* How long the owner may sleep before the next timer can be due:
 * TIMER_TICK_NS-granular, `cap_ns` when nothing is armed. */
uint64_t timer_wait_ns(const struct timer_wheel *w, uint64_t now_ns, uint64_t cap_ns);

#endif
