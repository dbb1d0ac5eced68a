/*
 * target_wsconn.c - WebSocket connections of one stampede-target worker:
 * what happens to frames once target_ws.c has parsed them, output
 * queueing, the close handshake, and rooms. Hot path for WebSocket.
 *
 * Output: at most one send is in flight per connection (sbuf, which must
 * not move until its CQE); what is queued meanwhile collects in pbuf and
 * leaves as one send when sbuf completes. A connection that gains output
 * during a batch goes on the dirty list, and every dirty connection with
 * no send in flight starts one after the batch (tgt_ws_flush): an echo of
 * many frames from one receive, or a broadcast to a room, costs one send
 * per connection per loop turn. Buffers of TGT_CHUNK_BYTES come from a
 * per-thread cache, bigger ones from malloc; either goes back as soon as
 * it is sent, so an idle connection holds no buffer at all.
 *
 * A connection whose queued output (pbuf plus the unsent part of sbuf)
 * would pass out_max (4 MiB, or twice the largest message when that is
 * bigger) is a member that cannot keep up: its queue is dropped and it is
 * closed with 1008 (conns_closed_slow), so it never holds up the others.
 *
 * Closing: a close frame (ours or the echo of the peer's) is queued after
 * whatever output is pending, input is ignored from then on, and the
 * connection closes once it has left. If we closed first (protocol error,
 * 1009, 1008) the peer may still be sending, so the worker lingers
 * (shutdown, drain to EOF) instead of resetting it. A deadline of
 * LINGER_NS bounds both waits.
 *
 * Rooms (per thread): the handshakes on /rooms/N fill rooms in order, N
 * per room; the k-th (from 0) joins room k/N of its N. A room is a list of
 * live member slots; a member leaving is swapped out in O(1). A room is
 * freed when it is complete and its last member has left; a room still
 * forming is kept, so later handshakes still find it.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "target_loop.h"

#define TGT_CHUNK_BYTES 4096u
#define CHUNK_CACHE_MAX 256u /* 1 MiB of spare output buffers per thread at most */
#define DIRTY_INIT 1024u

static uint8_t *buf_get(struct loop *l, uint32_t cap)
{
    if (cap == TGT_CHUNK_BYTES && l->nchunks)
        return l->chunks[--l->nchunks];
    return malloc(cap);
}

static void buf_put(struct loop *l, uint8_t *b, uint32_t cap)
{
    if (b && cap == TGT_CHUNK_BYTES && l->nchunks < CHUNK_CACHE_MAX)
        l->chunks[l->nchunks++] = b;
    else
        free(b);
}

/* pbuf can take want bytes; 0 or -ENOMEM. */
static int out_grow(struct loop *l, struct conn *c, uint64_t want)
{
    uint64_t cap = TGT_CHUNK_BYTES;
    uint8_t *b;

    while (cap < want)
        cap *= 2;
    if (cap > UINT32_MAX)
        return -ENOMEM;
    if (!c->pbuf || c->pcap == TGT_CHUNK_BYTES) {
        b = buf_get(l, (uint32_t)cap);
        if (b && c->plen)
            memcpy(b, c->pbuf, c->plen);
        if (b)
            buf_put(l, c->pbuf, c->pcap);
    } else {
        b = realloc(c->pbuf, (size_t)cap);
    }
    if (!b)
        return -ENOMEM;
    c->pbuf = b;
    c->pcap = (uint32_t)cap;
    return 0;
}

/* Append a frame header and payload to c's output. force skips the cap
 * (a close frame must go out). 0, -ENOBUFS over the cap, or -ENOMEM. */
static int out_put(struct loop *l, struct conn *c, const uint8_t *hdr, size_t hl,
                   const void *data, size_t len, bool force)
{
    uint64_t want = (uint64_t)c->plen + hl + len;

    if (!force && want + (c->slen - c->soff) > l->out_max)
        return -ENOBUFS;
    if (want > c->pcap && out_grow(l, c, want) < 0)
        return -ENOMEM;
    if (hl)
        memcpy(c->pbuf + c->plen, hdr, hl);
    if (len)
        memcpy(c->pbuf + c->plen + hl, data, len);
    c->plen = (uint32_t)want;
    return 0;
}

static void send_prep(struct loop *l, struct conn *c, uint32_t slot)
{
    tgt_conn_send(l, c, slot, c->sbuf + c->soff, c->slen - c->soff);
}

/* Pending output becomes the send in flight, if none is. */
static void send_start(struct loop *l, struct conn *c, uint32_t slot)
{
    if ((c->flags & F_SEND) || !c->plen)
        return;
    c->sbuf = c->pbuf;
    c->slen = c->plen;
    c->scap = c->pcap;
    c->soff = 0;
    c->pbuf = NULL;
    c->plen = c->pcap = 0;
    c->flags |= F_SEND;
    send_prep(l, c, slot);
}

/* c has new output: send it after this batch (file header). */
static void out_dirty(struct loop *l, struct conn *c, uint32_t slot)
{
    if (c->flags & F_WS_DIRTY)
        return;
    if (l->ndirty == l->dirty_cap) {
        uint32_t *d = realloc(l->dirty, sizeof(*d) * l->dirty_cap * 2);

        if (!d) {
            send_start(l, c, slot); /* no list: send now instead */
            return;
        }
        l->dirty = d;
        l->dirty_cap *= 2;
    }
    c->flags |= F_WS_DIRTY;
    l->dirty[l->ndirty++] = slot;
}

void tgt_ws_flush(struct loop *l)
{
    for (uint32_t i = 0; i < l->ndirty; i++) {
        uint32_t slot = l->dirty[i];
        struct conn *c = &l->conns[slot];

        if (!(c->flags & F_WS_DIRTY))
            continue; /* listed twice: its slot was reused in this batch */
        c->flags &= ~F_WS_DIRTY;
        if (c->state == ST_OPEN && c->mode == MODE_WS)
            send_start(l, c, slot);
    }
    l->ndirty = 0;
}

static struct room_group *room_group_get(struct rooms *rs, uint32_t n)
{
    for (uint32_t i = 0; i < rs->ng; i++)
        if (rs->g[i].n == n)
            return &rs->g[i];
    if (rs->ng == rs->gcap) {
        uint32_t cap = rs->gcap ? rs->gcap * 2 : 8;
        struct room_group *g = realloc(rs->g, sizeof(*g) * cap);

        if (!g)
            return NULL;
        rs->g = g;
        rs->gcap = cap;
    }
    rs->g[rs->ng] = (struct room_group){.n = n};
    return &rs->g[rs->ng++];
}

/* A new empty room's id, or 0 without memory. Ids stay valid as v grows. */
static uint32_t room_new(struct rooms *rs)
{
    uint32_t id;

    if (!rs->free) {
        uint32_t cap = rs->cap ? rs->cap * 2 : 64;
        struct room *v = realloc(rs->v, sizeof(*v) * cap);

        if (!v)
            return 0;
        for (uint32_t i = cap - 1; i >= (rs->cap ? rs->cap : 1); i--) {
            v[i] = (struct room){.next_free = rs->free};
            rs->free = i;
        }
        rs->v = v;
        rs->cap = cap;
    }
    id = rs->free;
    rs->free = rs->v[id].next_free;
    rs->v[id] = (struct room){.forming = true};
    return id;
}

static void room_free(struct rooms *rs, uint32_t id)
{
    free(rs->v[id].members);
    rs->v[id] = (struct room){.next_free = rs->free};
    rs->free = id;
}

/* The next handshake on /rooms/n joins the room now forming. 0 or -ENOMEM. */
static int room_join(struct loop *l, struct conn *c, uint32_t slot, uint32_t n)
{
    struct rooms *rs = &l->rooms;
    struct room_group *g = room_group_get(rs, n);
    struct room *r;

    if (!g)
        return -ENOMEM;
    if (!g->cur && !(g->cur = room_new(rs)))
        return -ENOMEM;
    r = &rs->v[g->cur];
    if (r->live == r->cap) {
        uint32_t cap = r->cap ? r->cap * 2 : 4;
        uint32_t *m = realloc(r->members, sizeof(*m) * (cap < n ? cap : n));

        if (!m)
            return -ENOMEM;
        r->members = m;
        r->cap = cap < n ? cap : n;
    }
    r->members[r->live] = slot;
    c->room = g->cur;
    c->room_pos = r->live++;
    if (++g->joined == n) {
        r->forming = false; /* full: the next handshake starts a new room */
        g->cur = 0;
        g->joined = 0;
    }
    return 0;
}

static void room_leave(struct loop *l, struct conn *c)
{
    struct rooms *rs = &l->rooms;
    struct room *r;
    uint32_t last;

    if (!c->room)
        return;
    r = &rs->v[c->room];
    last = r->members[--r->live];
    r->members[c->room_pos] = last;
    l->conns[last].room_pos = c->room_pos;
    if (!r->live && !r->forming)
        room_free(rs, c->room);
    c->room = 0;
}

/* Queue a close frame (code 0: none) and close once it has left; linger
 * when we close first (file header). */
static void ws_close(struct loop *l, struct conn *c, uint32_t slot, uint16_t code, bool linger)
{
    uint8_t f[4] = {0x80 | TGT_WS_OP_CLOSE, code ? 2 : 0, (uint8_t)(code >> 8), (uint8_t)code};

    if (c->flags & F_WS_CLOSING)
        return;
    room_leave(l, c);
    c->flags |= F_WS_CLOSING | (linger ? F_WS_LINGER : 0);
    if (out_put(l, c, NULL, 0, f, code ? 4 : 2, true) < 0 || tgt_conn_deadline(l, c, slot) < 0) {
        tgt_conn_close(l, c, slot);
        return;
    }
    out_dirty(l, c, slot);
}

/* out_put failed for c: over its cap (a slow member: drop what it has
 * queued, 1008) or out of memory (close). */
static void ws_drop(struct loop *l, struct conn *c, uint32_t slot, int err)
{
    if (err != -ENOBUFS) {
        tgt_conn_close(l, c, slot);
        return;
    }
    l->n.closed_slow++;
    buf_put(l, c->pbuf, c->pcap);
    c->pbuf = NULL;
    c->plen = c->pcap = 0;
    ws_close(l, c, slot, TGT_WS_CLOSE_POLICY, true);
}

/* One frame to c; data frames count in ws_msgs_out. */
static void ws_send_frame(struct loop *l, struct conn *c, uint32_t slot, uint8_t op,
                          const uint8_t *data, uint32_t len)
{
    uint8_t hdr[10];
    size_t hl = tgt_ws_hdr(hdr, op, len);
    int err = out_put(l, c, hdr, hl, data, len, false);

    if (err) {
        ws_drop(l, c, slot, err);
        return;
    }
    if (op != TGT_WS_OP_PONG)
        l->n.ws_msgs_out++;
    out_dirty(l, c, slot);
}

/*
 * A message to every member, its sender included. Members are visited
 * from the last: one dropped on the way (ws_drop, room_leave) is replaced
 * at its index by the last member, which has had its copy already. ev's
 * data stays valid through drops: a connection's reassembly buffer is
 * freed only when its own input is done (tgt_ws_on_data).
 */
static void room_broadcast(struct loop *l, uint32_t id, const struct tgt_ws_ev *ev)
{
    struct room *r = &l->rooms.v[id];
    uint8_t hdr[10];
    size_t hl = tgt_ws_hdr(hdr, ev->op, ev->len);

    for (uint32_t i = r->live; i-- > 0;) {
        uint32_t slot = r->members[i];
        struct conn *m = &l->conns[slot];
        int err = out_put(l, m, hdr, hl, ev->data, ev->len, false);

        if (err) {
            ws_drop(l, m, slot, err);
            continue;
        }
        l->n.ws_msgs_out++;
        out_dirty(l, m, slot);
    }
}

static void ws_on_event(struct loop *l, struct conn *c, uint32_t slot, enum tgt_ws_ev_type t,
                        const struct tgt_ws_ev *ev)
{
    switch (t) {
    case TGT_WS_EV_MSG:
        l->n.ws_msgs_in++;
        if (c->room)
            room_broadcast(l, c->room, ev);
        else
            ws_send_frame(l, c, slot, ev->op, ev->data, ev->len);
        break;
    case TGT_WS_EV_PING:
        ws_send_frame(l, c, slot, TGT_WS_OP_PONG, ev->data, ev->len);
        break;
    case TGT_WS_EV_CLOSE:
        ws_close(l, c, slot, ev->code, false); /* the peer closed: it sends no more */
        break;
    case TGT_WS_EV_ERROR:
        ws_close(l, c, slot, ev->code, true);
        break;
    default: /* pong: nothing to do */
        break;
    }
}

void tgt_ws_on_data(struct loop *l, struct conn *c, uint32_t slot, uint8_t *buf, size_t len)
{
    while (c->state == ST_OPEN && !(c->flags & F_WS_CLOSING)) {
        struct tgt_ws_ev ev;
        size_t used;
        enum tgt_ws_ev_type t = tgt_ws_feed(&c->rx, buf, len, l->cfg->ws_max_msg, &ev, &used);

        buf += used;
        len -= used;
        if (t == TGT_WS_EV_NONE)
            break;
        ws_on_event(l, c, slot, t, &ev);
    }
    if (c->state == ST_OPEN && !(c->flags & F_WS_CLOSING))
        tgt_ws_rx_release(&c->rx);
    else
        tgt_ws_rx_fini(&c->rx); /* no more input will be read */
}

void tgt_ws_on_send(struct loop *l, struct conn *c, uint32_t slot, int res)
{
    if (c->state != ST_OPEN)
        return; /* closing: the buffers go at the close's CQE */
    if (res <= 0) {
        c->flags &= ~F_SEND;
        tgt_conn_close(l, c, slot);
        return;
    }
    c->soff += (uint32_t)res;
    if (c->soff < c->slen) {
        send_prep(l, c, slot); /* short send: the rest */
        return;
    }
    buf_put(l, c->sbuf, c->scap);
    c->sbuf = NULL;
    c->slen = c->soff = c->scap = 0;
    c->flags &= ~F_SEND;
    if (c->plen)
        send_start(l, c, slot);
    else if (c->flags & F_WS_CLOSING)
        tgt_conn_linger(l, c, slot, c->flags & F_WS_LINGER);
}

int tgt_ws_open(struct loop *l, struct conn *c, uint32_t slot, const struct tgt_ws_hs *hs)
{
    char resp[TGT_WS_101_MAX];
    int n = tgt_ws_101(hs, resp), ret;

    c->mode = MODE_WS;
    c->flags &= F_RECV;
    memset(&c->rx, 0, sizeof(*c) - offsetof(struct conn, rx));
    if (n < 0)
        return n;
    if ((ret = out_put(l, c, NULL, 0, resp, (size_t)n, true)) < 0)
        return ret;
    out_dirty(l, c, slot);
    if (hs->path == TGT_WS_PATH_ROOM && (ret = room_join(l, c, slot, hs->room_n)) < 0)
        return ret;
    l->n.ws_handshakes++;
    return 0;
}

void tgt_ws_on_close(struct loop *l, struct conn *c)
{
    room_leave(l, c);
}

void tgt_ws_release(struct loop *l, struct conn *c)
{
    room_leave(l, c);
    tgt_ws_rx_fini(&c->rx);
    buf_put(l, c->sbuf, c->scap);
    buf_put(l, c->pbuf, c->pcap);
    c->sbuf = c->pbuf = NULL;
    c->slen = c->soff = c->scap = c->plen = c->pcap = 0;
}

int tgt_ws_init(struct loop *l)
{
    uint64_t twice = 2 * ((uint64_t)l->cfg->ws_max_msg + TGT_WS_HDR_MAX);

    l->out_max = twice > TGT_WS_OUT_MAX_BYTES ? twice : TGT_WS_OUT_MAX_BYTES;
    l->chunks = malloc(sizeof(*l->chunks) * CHUNK_CACHE_MAX);
    l->dirty = malloc(sizeof(*l->dirty) * DIRTY_INIT);
    l->dirty_cap = DIRTY_INIT;
    return l->chunks && l->dirty ? 0 : -ENOMEM;
}

void tgt_ws_fini(struct loop *l)
{
    struct rooms *rs = &l->rooms;

    while (l->nchunks)
        free(l->chunks[--l->nchunks]);
    free(l->chunks);
    free(l->dirty);
    for (uint32_t i = 1; i < rs->cap; i++)
        free(rs->v[i].members);
    free(rs->v);
    free(rs->g);
}
