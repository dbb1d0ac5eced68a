/*
 * test_timer.c - timer wheel: firing time, order, re-arm and cancel from
 * callbacks, far-future timers, many timers, timer_wait_ns bounds.
 *
 * The central property, checked on random schedules: a timer fires on the
 * first timer_expire() whose now >= its due time (never early, never
 * skipped), exactly once per arming. Randomness comes from a local
 * xorshift so every run is identical. Each t_item embeds its timer and a
 * pointer back to the test context; callbacks find it with container_of.
 */
#include "t.h"
#include "timer.h"

#include <stddef.h>
#include <stdlib.h>

#define T_MS TIMER_TICK_NS
#define T_CONTAINER(p, type, member) ((type *)((char *)(p)-offsetof(type, member)))

struct t_ctx;

struct t_item {
    struct timer t;
    struct t_ctx *ctx;
    int id;
    unsigned fires;
    uint64_t due_ns;      /* what the test armed */
    uint64_t fired_at_ns; /* now passed to the last firing */
    uint64_t period_ns;   /* re-arm period for t_periodic */
    unsigned arm_call;    /* expire calls started when last armed */
    struct t_item *other; /* victim/target of the cancel and arm callbacks */
};

struct t_ctx {
    struct timer_wheel *w;
    uint64_t prev_now_ns; /* now of the previous expire call */
    unsigned calls;       /* expire calls started */
    int order[256];       /* ids in firing order (first 256) */
    unsigned nfired;
    unsigned early, late; /* violations of the firing rule */
};

static uint64_t t_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Record a firing and check it against the first-expire-after-due rule. */
static struct t_item *t_note_fire(struct timer *t, uint64_t now_ns)
{
    struct t_item *it = T_CONTAINER(t, struct t_item, t);
    struct t_ctx *c = it->ctx;

    it->fires++;
    it->fired_at_ns = now_ns;
    c->early += now_ns < it->due_ns;
    /* Late: an expire call that began after arming already had now >= due. */
    c->late += it->arm_call + 1 < c->calls && c->prev_now_ns >= it->due_ns;
    if (c->nfired < 256)
        c->order[c->nfired] = it->id;
    c->nfired++;
    return it;
}

/* (Re-)arm an item, remembering when, for the lateness check. */
static void t_set(struct t_item *it, uint64_t due_ns)
{
    it->due_ns = due_ns;
    it->arm_call = it->ctx->calls;
    timer_arm(it->ctx->w, &it->t, due_ns);
}

static void t_plain(struct timer *t, uint64_t now_ns)
{
    t_note_fire(t, now_ns);
}

static void t_periodic(struct timer *t, uint64_t now_ns)
{
    struct t_item *it = t_note_fire(t, now_ns);

    t_set(it, it->due_ns + it->period_ns);
}

/* Re-arms itself for "now": must fire once per expire call, not loop. */
static void t_rearm_now(struct timer *t, uint64_t now_ns)
{
    struct t_item *it = t_note_fire(t, now_ns);

    if (it->fires < 5)
        t_set(it, now_ns);
}

static void t_cancel_other(struct timer *t, uint64_t now_ns)
{
    struct t_item *it = t_note_fire(t, now_ns);

    timer_cancel(it->ctx->w, &it->other->t);
}

static void t_arm_other_past(struct timer *t, uint64_t now_ns)
{
    struct t_item *it = t_note_fire(t, now_ns);

    t_set(it->other, 0);
}

static void t_push_other(struct timer *t, uint64_t now_ns)
{
    struct t_item *it = t_note_fire(t, now_ns);

    t_set(it->other, now_ns + 50 * T_MS);
}

static struct timer_wheel *t_wheel_new(uint64_t now_ns)
{
    struct timer_wheel *w = malloc(sizeof(*w));

    if (!w)
        abort();
    timer_wheel_init(w, now_ns);
    return w;
}

static void t_item_arm(struct t_ctx *c, struct t_item *it, int id, timer_fn fn, uint64_t due)
{
    timer_init(&it->t, fn);
    it->ctx = c;
    it->id = id;
    it->fires = 0;
    t_set(it, due);
}

/* One expire call that keeps prev_now_ns for the lateness check. */
static unsigned t_expire(struct t_ctx *c, uint64_t now_ns)
{
    unsigned n;

    c->calls++;
    n = timer_expire(c->w, now_ns);
    c->prev_now_ns = now_ns;
    return n;
}

/* Timers at distinct ms, armed shuffled, fire in due order in one call. */
static void t_order(void)
{
    struct t_ctx c = {.w = t_wheel_new(0)};
    struct t_item it[100];
    uint64_t seed = 3;
    int ids[100], bad = 0;

    for (int i = 0; i < 100; i++)
        ids[i] = i;
    for (int i = 99; i > 0; i--) {
        int j = (int)(t_rand(&seed) % (uint64_t)(i + 1)), tmp = ids[i];

        ids[i] = ids[j];
        ids[j] = tmp;
    }
    for (int i = 0; i < 100; i++)
        t_item_arm(&c, &it[ids[i]], ids[i], t_plain, (uint64_t)(ids[i] + 1) * T_MS + 123);
    ok(c.w->armed == 100, "100 armed");
    ok(t_expire(&c, T_MS) == 0, "nothing due at 1 ms");
    ok(t_expire(&c, 200 * T_MS) == 100, "all 100 fire at 200 ms");
    for (int i = 0; i < 100; i++)
        bad += c.order[i] != i;
    ok(bad == 0, "fired in due order (%d out of place)", bad);
    ok(c.w->armed == 0 && !timer_armed(&it[0].t), "none armed after firing");
    free(c.w);
}

/* Random due times (up to ~5 revolutions) and random clock steps: every
 * timer fires exactly once, at the first expire with now >= due. */
static void t_random(uint64_t seed, unsigned ntimers, uint64_t max_step_ns)
{
    uint64_t now = 1000 * T_MS + t_rand(&seed) % T_MS;
    struct t_ctx c = {.w = t_wheel_new(now), .prev_now_ns = now};
    struct t_item *it = calloc(ntimers, sizeof(*it));
    unsigned once = 0, total = 0;

    for (unsigned i = 0; i < ntimers; i++)
        t_item_arm(&c, &it[i], (int)i, t_plain, now + t_rand(&seed) % (5 * TIMER_SLOTS * T_MS));
    while (c.w->armed > 0) {
        now += t_rand(&seed) % 4 == 0 ? 0 : t_rand(&seed) % max_step_ns;
        total += t_expire(&c, now);
    }
    for (unsigned i = 0; i < ntimers; i++)
        once += it[i].fires == 1;
    ok(once == ntimers && total == ntimers, "seed %llu: %u/%u fired exactly once",
       (unsigned long long)seed, once, ntimers);
    ok(c.early == 0 && c.late == 0, "seed %llu step %llu: %u early, %u late",
       (unsigned long long)seed, (unsigned long long)max_step_ns, c.early, c.late);
    free(it);
    free(c.w);
}

static void t_rearm(void)
{
    struct t_ctx c = {.w = t_wheel_new(0)};
    struct t_item per, self;
    unsigned n = 0;

    per.period_ns = 10 * T_MS;
    t_item_arm(&c, &per, 1, t_periodic, 10 * T_MS);
    for (uint64_t now = 0; now <= 1000 * T_MS; now += T_MS / 4)
        t_expire(&c, now);
    ok(per.fires == 100, "periodic 10 ms over 1 s: %u fires", per.fires);
    ok(c.early == 0 && c.late == 0, "periodic never early or late");
    timer_cancel(c.w, &per.t);
    t_item_arm(&c, &self, 2, t_rearm_now, 0);
    for (int i = 0; i < 10; i++)
        n += t_expire(&c, 2000 * T_MS);
    ok(n == 5 && self.fires == 5, "re-arm at now: one fire per expire call (%u)", n);
    ok(c.w->armed == 0, "armed count back to 0");
    free(c.w);
}

static void t_cancel(void)
{
    struct t_ctx c = {.w = t_wheel_new(0)};
    struct t_item a, b, d, e, f, g;

    t_item_arm(&c, &a, 1, t_plain, 5 * T_MS);
    t_item_arm(&c, &b, 2, t_plain, 5 * T_MS);
    timer_cancel(c.w, &b.t);
    timer_cancel(c.w, &b.t);
    ok(!timer_armed(&b.t) && c.w->armed == 1, "cancel disarms; twice is a no-op");
    ok(t_expire(&c, 6 * T_MS) == 1 && a.fires == 1 && b.fires == 0, "cancelled does not fire");
    /* Same tick: d's callback cancels e, queued behind it in the batch. */
    t_item_arm(&c, &d, 3, t_cancel_other, 10 * T_MS);
    t_item_arm(&c, &e, 4, t_plain, 10 * T_MS);
    d.other = &e;
    /* f pushes g (also due now) 50 ms out; g must not fire this time. */
    t_item_arm(&c, &f, 5, t_push_other, 10 * T_MS);
    t_item_arm(&c, &g, 6, t_plain, 10 * T_MS);
    f.other = &g;
    ok(t_expire(&c, 10 * T_MS) == 2 && e.fires == 0 && g.fires == 0,
       "callback cancels / re-arms a timer still in the batch");
    ok(c.w->armed == 1 && timer_armed(&g.t), "pushed timer still armed");
    t_expire(&c, 59 * T_MS);
    ok(g.fires == 0, "pushed timer not early");
    t_expire(&c, 60 * T_MS);
    ok(g.fires == 1, "pushed timer fires at its new due time");
    /* a's callback arms e in the past: it fires at the next call. */
    t_item_arm(&c, &a, 1, t_arm_other_past, 70 * T_MS);
    a.other = &e;
    e.fires = 0;
    ok(t_expire(&c, 70 * T_MS) == 1 && e.fires == 0, "armed-in-callback past timer waits");
    ok(t_expire(&c, 70 * T_MS) == 1 && e.fires == 1, "... and fires at the next expire");
    ok(c.w->armed == 0, "all disarmed");
    free(c.w);
}

/* Due several revolutions away: skipped while its slot comes round. */
static void t_far(void)
{
    static const uint64_t due_ms[] = {1500, 2048, 3 * TIMER_SLOTS, 10 * TIMER_SLOTS + 7, 20000};
    enum { NF = sizeof(due_ms) / sizeof(due_ms[0]) };
    struct t_ctx c = {.w = t_wheel_new(0)};
    struct t_item it[NF], jump;
    unsigned bad = 0;

    for (int i = 0; i < NF; i++)
        t_item_arm(&c, &it[i], i, t_plain, due_ms[i] * T_MS + 1);
    for (uint64_t now = 0; c.w->armed > 0 && now < 30000 * T_MS; now += T_MS / 2)
        t_expire(&c, now);
    for (int i = 0; i < NF; i++)
        bad += it[i].fires != 1 || it[i].fired_at_ns != due_ms[i] * T_MS + T_MS / 2;
    ok(bad == 0 && c.early == 0 && c.late == 0, "far timers fire once, on time (%u bad)", bad);
    /* One jump over several revolutions: due ones fire, the rest wait. */
    t_item_arm(&c, &jump, 9, t_plain, 40000 * T_MS);
    t_item_arm(&c, &it[0], 0, t_plain, 36000 * T_MS);
    t_item_arm(&c, &it[1], 1, t_plain, 39999 * T_MS + 1);
    ok(t_expire(&c, 39999 * T_MS) == 1 && it[0].fires == 1, "jump: due timer fires");
    ok(it[1].fires == 0 && jump.fires == 0, "jump: not-yet-due ones wait");
    ok(t_expire(&c, 40000 * T_MS) == 2, "then fire at their time");
    free(c.w);
}

/* A stall longer than a revolution: one expire must visit every slot. */
static void t_stall(void)
{
    struct t_ctx c = {.w = t_wheel_new(7 * T_MS)};
    struct t_item *it = calloc(TIMER_SLOTS + 1, sizeof(*it));
    unsigned once = 0;

    for (unsigned i = 0; i <= TIMER_SLOTS; i++)
        t_item_arm(&c, &it[i], (int)i, t_plain, (7 + i) * T_MS + T_MS / 2);
    ok(t_expire(&c, 5000 * T_MS) == TIMER_SLOTS + 1, "stall: every slot visited once");
    for (unsigned i = 0; i <= TIMER_SLOTS; i++)
        once += it[i].fires == 1;
    ok(once == TIMER_SLOTS + 1 && c.w->armed == 0, "stall: each fired once");
    free(it);
    free(c.w);
}

/* Past due: fires on the next expire, even within an already seen tick. */
static void t_past(void)
{
    struct t_ctx c = {.w = t_wheel_new(5000 * T_MS)};
    struct t_item a, b, d;
    uint64_t now = 5000 * T_MS + T_MS / 3;

    t_item_arm(&c, &a, 1, t_plain, 0);
    ok(t_expire(&c, now) == 1 && a.fires == 1, "due 0 fires at the first expire");
    t_item_arm(&c, &b, 2, t_plain, now - 7 * T_MS);
    t_item_arm(&c, &d, 3, t_plain, now + 10);
    ok(t_expire(&c, now) == 1 && b.fires == 1, "due in the past, same now: fires");
    ok(t_expire(&c, now + 9) == 0 && d.fires == 0, "10 ns ahead: not early");
    ok(t_expire(&c, now + 10) == 1 && d.fires == 1, "sub-ms due inside the same tick fires");
    ok(t_expire(&c, now - T_MS) == 0, "clock behind: nothing");
    free(c.w);
}

/* wait never sleeps past the earliest due by a tick or more, never past
 * cap, and is exact for what the wheel can know. */
static void t_wait(void)
{
    struct t_ctx c = {.w = t_wheel_new(0)};
    struct t_item it[64];
    uint64_t seed = 11, now = 0, bad = 0;

    ok(timer_wait_ns(c.w, 0, 7 * T_MS) == 7 * T_MS, "nothing armed: cap");
    t_item_arm(&c, &it[0], 0, t_plain, 5 * T_MS + T_MS / 2);
    ok(timer_wait_ns(c.w, 0, 100 * T_MS) == 6 * T_MS, "5.5 ms due: wake at the 6 ms tick");
    ok(timer_wait_ns(c.w, 0, 2 * T_MS) == 2 * T_MS, "capped");
    ok(timer_wait_ns(c.w, 0, 0) == 0, "cap 0");
    t_set(&it[0], 30000 * T_MS);
    ok(timer_wait_ns(c.w, 0, 100 * T_MS) == 100 * T_MS, "far timer beyond cap: cap");
    ok(timer_wait_ns(c.w, 0, 5000 * T_MS) <= 1024 * T_MS, "far timer: wake within a turn");
    t_set(&it[0], 0);
    ok(timer_wait_ns(c.w, 0, 5000 * T_MS) == 0, "due now: 0");
    t_expire(&c, 0);
    for (int i = 0; i < 64; i++)
        t_item_arm(&c, &it[i], i, t_plain, t_rand(&seed) % (3000 * T_MS));
    while (c.w->armed > 0) {
        uint64_t cap = 1 + t_rand(&seed) % (50 * T_MS), w = timer_wait_ns(c.w, now, cap);
        uint64_t min_due = UINT64_MAX;

        for (int i = 0; i < 64; i++)
            if (timer_armed(&it[i].t) && it[i].due_ns < min_due)
                min_due = it[i].due_ns;
        min_due = min_due < now ? now : min_due;
        bad += w > cap || now + w >= min_due + T_MS;
        now += w; /* the owner sleeps exactly as told */
        t_expire(&c, now);
    }
    ok(bad == 0 && c.early == 0 && c.late == 0, "sleep loop: %llu bad waits",
       (unsigned long long)bad);
    free(c.w);
}

int main(void)
{
    t_order();
    t_rearm();
    t_cancel();
    t_far();
    t_past();
    t_stall();
    t_wait();
    t_random(1, 1000, T_MS / 2);
    t_random(2, 1000, 5 * T_MS);
    t_random(3, 10000, 3 * T_MS);
    t_random(4, 300, 1500 * T_MS); /* steps longer than a revolution */
    return done();
}
