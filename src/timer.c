/*
 * timer.c - hashed timer wheel: 1 ms ticks, TIMER_SLOTS slots, intrusive
 * doubly linked lists with a sentinel head per slot.
 *
 * A timer due at due_ns lives in the slot of tick ceil(due_ns / tick),
 * clamped to w->tick, so every timer of tick k is due by k * tick: waking
 * at a tick boundary fires the whole slot, never late. expire(now) visits
 * ticks w->tick .. ceil(now / tick) and fires what is due by now; timers
 * of later revolutions (and of the current tick, due later than now) share
 * those slots and are skipped by comparing due_ns, so nothing fires early.
 * w->tick stays at ceil(now / tick), so a timer armed with a past due time
 * always lands in a slot the next expire visits. A redis-style unsorted
 * timer list would make each expire O(all timers) with thousands of
 * connection timeouts; the wheel keeps arm/cancel O(1) and expire
 * O(timers in the slots passed). One owner thread, no locks; hot path.
 */
#include "timer.h"

#include <stddef.h>

static void timer_list_init(struct timer *head)
{
    head->next = head;
    head->prev = head;
}

static void timer_link_tail(struct timer *head, struct timer *t)
{
    t->prev = head->prev;
    t->next = head;
    head->prev->next = t;
    head->prev = t;
}

/* Unlink from whatever list t is on (a wheel slot or expire's batch). */
static void timer_unlink(struct timer *t)
{
    t->prev->next = t->next;
    t->next->prev = t->prev;
    t->next = NULL;
    t->prev = NULL;
}

/* First tick at whose start the timer is due: ceil without overflow. */
static uint64_t timer_due_tick(uint64_t due_ns)
{
    return due_ns / TIMER_TICK_NS + (due_ns % TIMER_TICK_NS != 0);
}

static struct timer *timer_slot(struct timer_wheel *w, uint64_t tick)
{
    return &w->slots[tick & (TIMER_SLOTS - 1)];
}

void timer_wheel_init(struct timer_wheel *w, uint64_t now_ns)
{
    for (unsigned i = 0; i < TIMER_SLOTS; i++)
        timer_list_init(&w->slots[i]);
    w->tick = timer_due_tick(now_ns);
    w->armed = 0;
}

void timer_init(struct timer *t, timer_fn fn)
{
    t->next = NULL;
    t->prev = NULL;
    t->due_ns = 0;
    t->fn = fn;
}

void timer_arm(struct timer_wheel *w, struct timer *t, uint64_t due_ns)
{
    uint64_t tick = timer_due_tick(due_ns);

    timer_cancel(w, t);
    if (tick < w->tick)
        tick = w->tick;
    t->due_ns = due_ns;
    timer_link_tail(timer_slot(w, tick), t);
    w->armed++;
}

void timer_cancel(struct timer_wheel *w, struct timer *t)
{
    if (!timer_armed(t))
        return;
    timer_unlink(t);
    w->armed--;
}

/* Move the timers of one slot that are due by now onto `batch`. */
static void timer_collect_slot(struct timer *head, struct timer *batch, uint64_t now_ns)
{
    struct timer *t = head->next, *next;

    for (; t != head; t = next) {
        next = t->next;
        if (t->due_ns > now_ns)
            continue; /* a later revolution */
        timer_unlink(t);
        timer_link_tail(batch, t);
    }
}

/*
 * Due timers are first moved to a local batch list and w->tick is moved
 * to the last tick visited; only then do callbacks run. So a callback can
 * cancel or re-arm any timer, including one still waiting in the batch (it
 * is unlinked from the batch like from a slot: both are plain lists), and
 * whatever it arms lands in a slot already drained: a callback re-arming
 * itself for `now` fires on the next call instead of looping here forever.
 * Fire order is by tick, then by arm order within a tick.
 */
unsigned timer_expire(struct timer_wheel *w, uint64_t now_ns)
{
    uint64_t end = timer_due_tick(now_ns), tick = w->tick;
    struct timer batch, *t;
    unsigned fired = 0;

    if (end < tick)
        return 0; /* clock behind the last call: nothing can be due */
    w->tick = end;
    if (w->armed == 0)
        return 0;
    timer_list_init(&batch);
    /* After a stall of more than one revolution each slot is visited once;
     * the due_ns test still picks every due timer, though then the batch
     * is in slot order rather than due order. */
    for (uint64_t n = 0; tick + n <= end && n < TIMER_SLOTS; n++)
        timer_collect_slot(timer_slot(w, tick + n), &batch, now_ns);
    while ((t = batch.next) != &batch) {
        timer_unlink(t);
        w->armed--;
        t->fn(t, now_ns);
        fired++;
    }
    return fired;
}

static bool timer_slot_has_due(const struct timer *head, uint64_t now_ns)
{
    for (const struct timer *t = head->next; t != head; t = t->next)
        if (t->due_ns <= now_ns)
            return true;
    return false;
}

/*
 * Sleep until the start of the first non-empty slot at or after w->tick,
 * scanning no further than cap_ns reaches (at most one revolution). An
 * empty slot proves no timer is due during its tick; a non-empty one may
 * hold only later revolutions, which just wakes the owner early, never
 * late. A slot whose tick has already begun holds only timers due by now
 * or a revolution later, so it is searched (normally just one slot, when
 * now sits exactly on a tick edge): skipping it blindly would oversleep,
 * returning 0 for it blindly would spin until the clock moves.
 */
uint64_t timer_wait_ns(const struct timer_wheel *w, uint64_t now_ns, uint64_t cap_ns)
{
    uint64_t end;

    if (w->armed == 0)
        return cap_ns;
    for (uint64_t k = w->tick; k < w->tick + TIMER_SLOTS; k++) {
        const struct timer *head = &w->slots[k & (TIMER_SLOTS - 1)];
        uint64_t at = k * TIMER_TICK_NS;

        if (at <= now_ns) {
            if (timer_slot_has_due(head, now_ns))
                return 0;
            continue;
        }
        if (at - now_ns >= cap_ns)
            return cap_ns;
        if (head->next != head)
            return at - now_ns;
    }
    /* Only skipped slots were non-empty: their timers are a revolution on. */
    end = (w->tick + TIMER_SLOTS) * TIMER_TICK_NS;
    if (end <= now_ns)
        return 0;
    return end - now_ns < cap_ns ? end - now_ns : cap_ns;
}
