/*
 * target_loop.h - internal to stampede-target's worker: one ring's loop
 * state and one connection's state, shared by target_worker.c (ring,
 * accept, CQE dispatch, closing), target_http.c (HTTP connections, with
 * --api answers from target_api.c) and
 * target_wsconn.c (WebSocket connections, rooms) and target_tls.c (TLS
 * between the ring and those two). Nothing here is used by the main thread.
 *
 * A connection is HTTP until a successful upgrade turns it into WebSocket
 * (mode); the two modes share one union, so a connection costs 112 bytes
 * whatever it speaks. Buffers (a partial HTTP head, WebSocket output and
 * reassembly) are attached only while in use.
 *
 * TLS state is not in struct conn: a TLS target keeps it in a per-slot
 * array of its own (loop.tls), so a plain one pays neither memory nor a
 * test per request for it; the HTTP and WebSocket code see plaintext and
 * call tgt_conn_send, whichever the transport.
 */
#ifndef STAMPEDE_TARGET_LOOP_H
#define STAMPEDE_TARGET_LOOP_H

#include <liburing.h>

#include "target.h"
#include "target_ws.h"

#define LINGER_NS 2000000000ull /* longest wait for the peer's EOF, or for a close frame to leave */

/* OP_TLS_SEND: ciphertext from target_tls.c's buffer; OP_SEND: plaintext */
enum { OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_CLOSE, OP_CANCEL, OP_SHUTDOWN, OP_TLS_SEND };
#define UD_GEN_MASK 0xffffffu

enum { ST_FREE, ST_OPEN, ST_LINGER, ST_CLOSING };
enum { MODE_HTTP, MODE_WS };
/* FINAL_API: the last of the connection's queued --api responses */
enum {
    FINAL_NONE, FINAL_CLOSE, FINAL_CLOSE_HEAD, FINAL_BAD, FINAL_WS_404, FINAL_WS_400, FINAL_API
};
enum {
    F_RECV = 1 << 0,        /* multishot recv armed */
    F_SEND = 1 << 1,        /* a send in flight */
    F_SEND_FINAL = 1 << 2,  /* HTTP: ... carrying the final response */
    F_EOF = 1 << 3,         /* HTTP: peer finished sending */
    F_DONE = 1 << 4,        /* HTTP: final request seen: further input is ignored */
    F_FINAL_READY = 1 << 5, /* HTTP: final response due now */
    F_SHUT = 1 << 6,        /* lingering: shutdown(SHUT_WR) in flight */
    F_CLOSE_WAIT = 1 << 7,  /* close as soon as that shutdown completes */
    F_PIPELINED = 1 << 8,   /* HTTP: peer sent a request before its last answer */
    F_WS_CLOSING = 1 << 9,  /* WS: close frame queued; input ignored; close once it left */
    F_WS_LINGER = 1 << 10,  /* WS: ... and linger then (we closed first: peer may still send) */
    F_WS_DIRTY = 1 << 11,   /* WS: output queued this turn, on the dirty list */
    F_API_TRUNC = 1 << 12,  /* HTTP --api: carry stopped at TGT_API_KEEP_BYTES */
};

/*
 * 112 bytes. HTTP keeps no buffer but `carry`, a head cut by the end of a
 * receive (so an upgrade can be read whole; with --api the whole request),
 * and with --api `api`, its queue of formatted responses; WebSocket keeps rx (frame
 * parser), output in two buffers (sbuf is being sent and must not move,
 * pbuf collects what comes meanwhile) and its place in a room.
 */
struct conn {
    uint32_t gen;
    uint16_t flags;
    /* ST_*, MODE_*, FINAL_*, enum tgt_kind or TGT_KIND_API */
    uint16_t state : 2, mode : 1, final : 3, ready_kind : 3, send_kind : 3;
    union {
        struct { /* MODE_HTTP */
            struct tgt_req_parser p;
            char *carry;
            uint32_t carry_len;
            uint32_t nreq;       /* requests counted for --close-after */
            uint32_t ready;      /* plain responses of ready_kind due now, not yet sent */
            uint32_t runq;       /* tail of the runs due after those (pool index), 0 = none */
            uint32_t delayed;    /* responses (final included) in the delay FIFO */
            uint32_t send_off;   /* bytes of the send in flight sent so far (short sends) */
            uint32_t send_bytes;
            uint8_t send_n;      /* responses in it, at most TGT_RESP_MAX_COPIES */
            struct tgt_api_out *api; /* --api responses owed (NULL until the first) */
        };
        struct { /* MODE_WS */
            struct tgt_ws_rx rx;
            uint8_t *sbuf, *pbuf;
            uint32_t slen, soff, scap; /* in flight: bytes, sent so far, allocated */
            uint32_t plen, pcap;       /* pending */
            uint32_t room, room_pos;   /* room id (0 = none) and index in its member list */
        };
    };
};

/* A run of responses of one kind; pool nodes form circular lists. */
struct run {
    uint32_t next;
    uint32_t n;
    uint8_t kind;
};

/* Per-thread pool of run nodes; node 0 is never used, so 0 means none.
 * Free nodes are a stack linked through next. */
struct runpool {
    struct run *v;
    uint32_t cap, free;
};

/* A delayed run of responses, or (n, final, kind unused) a deadline. */
struct due {
    uint64_t due_ns;
    uint32_t slot, gen;
    uint32_t n;     /* plain responses */
    uint16_t final; /* 1 when the final response follows them */
    uint16_t kind;  /* enum tgt_kind of the n */
};

/* FIFO of deadlines; head/tail run free, cap is a power of two. */
struct dueq {
    struct due *v;
    uint32_t cap, head, tail;
};

/* A room: the live members' slots, in no order (target_wsconn.c). */
struct room {
    uint32_t *members;
    uint32_t live, cap;
    uint32_t next_free; /* free list link while unused */
    bool forming;       /* handshakes are still joining it */
};

/* Rooms of one /rooms/N: the one now forming and how many joined it. */
struct room_group {
    uint32_t n, cur, joined;
};

struct rooms {
    struct room *v; /* v[0] unused: room id 0 means none */
    uint32_t cap, free;
    struct room_group *g;
    uint32_t ng, gcap;
};

struct loop {
    struct io_uring ring;
    struct tgt_worker *w;
    const struct tgt_config *cfg;
    const struct tgt_resp *resp;
    struct conn *conns;
    uint32_t nconns;
    struct io_uring_buf_ring *br;
    char *bufs;
    int br_added;        /* buffers given back in this batch, not yet visible */
    struct dueq dq;      /* delayed responses */
    struct dueq lq;      /* linger and close deadlines */
    struct runpool runs; /* runs queued behind a connection's ready ones */
    uint64_t now_ns;     /* read once per wake-up */
    uint64_t answered;
    uint64_t accept_retry_ns;
    uint32_t open;       /* slots in use, by our count (released at the close's CQE) */
    uint32_t accept_reserve; /* free slots below which single-shot accepts take over */
    uint32_t accept_singles; /* single-shot accepts in flight */
    bool accept_armed;       /* the multishot accept */
    bool accept_cancelling;  /* ... is being cancelled */
    bool ring_ok;
    /* WebSocket */
    uint64_t out_max;    /* queued output past which a member is dropped (1008) */
    uint8_t **chunks;    /* free output buffers of TGT_CHUNK_BYTES */
    uint32_t nchunks;
    uint32_t *dirty;     /* slots with output queued this turn */
    uint32_t ndirty, dirty_cap;
    struct rooms rooms;
    struct tgt_counters n; /* this thread's counters; copied to w at exit */
    /* TLS (target_tls.c); tls is NULL on a plain target */
    struct tgt_tls *tls;   /* per slot, like conns */
    char *tls_plain;       /* SSL_read lands here, then goes to the HTTP/WS code */
    uint8_t **tls_bufs;    /* free ciphertext output buffers */
    uint32_t tls_nbufs;
    struct tgt_api api;    /* --api ids and its pool of response queues */
};

static inline uint64_t ud_pack(unsigned op, uint32_t gen, uint32_t slot)
{
    return (uint64_t)op << 56 | (uint64_t)(gen & UD_GEN_MASK) << 32 | slot;
}

/* target_worker.c */
struct io_uring_sqe *tgt_sqe_get(struct loop *l);
void tgt_conn_input(struct loop *l, struct conn *c, uint32_t slot, char *buf, size_t len);
int tgt_dueq_push(struct dueq *q, const struct due *d);
void tgt_conn_close(struct loop *l, struct conn *c, uint32_t slot);
void tgt_conn_linger(struct loop *l, struct conn *c, uint32_t slot, bool may_send);
int tgt_conn_deadline(struct loop *l, struct conn *c, uint32_t slot);

/* target_http.c */
void tgt_http_on_data(struct loop *l, struct conn *c, uint32_t slot, char *buf, size_t len);
void tgt_http_on_send(struct loop *l, struct conn *c, uint32_t slot, int res);
void tgt_http_on_eof(struct loop *l, struct conn *c, uint32_t slot);
void tgt_http_on_close(struct loop *l, struct conn *c);
void tgt_http_release(struct loop *l, struct conn *c);
void tgt_http_release_due(struct loop *l);

/* target_wsconn.c */
int tgt_ws_init(struct loop *l);
void tgt_ws_fini(struct loop *l);
int tgt_ws_open(struct loop *l, struct conn *c, uint32_t slot, const struct tgt_ws_hs *hs);
void tgt_ws_on_data(struct loop *l, struct conn *c, uint32_t slot, uint8_t *buf, size_t len);
void tgt_ws_on_send(struct loop *l, struct conn *c, uint32_t slot, int res);
void tgt_ws_on_close(struct loop *l, struct conn *c);
void tgt_ws_release(struct loop *l, struct conn *c);
void tgt_ws_flush(struct loop *l);

/* target_tls.c (called only when l->tls is set, except tgt_tls_init) */
int tgt_tls_init(struct loop *l);
void tgt_tls_fini(struct loop *l);
int tgt_tls_open(struct loop *l, uint32_t slot);
void tgt_tls_release(struct loop *l, uint32_t slot);
void tgt_tls_on_data(struct loop *l, struct conn *c, uint32_t slot, const char *buf, size_t len);
void tgt_tls_send(struct loop *l, struct conn *c, uint32_t slot, const void *buf, uint32_t len);
void tgt_tls_on_send(struct loop *l, struct conn *c, uint32_t slot, int res);
bool tgt_tls_sending(const struct loop *l, uint32_t slot);
bool tgt_tls_linger(struct loop *l, struct conn *c, uint32_t slot, bool may_send);

/*
 * Send buf[0..len) for the HTTP or WebSocket code: one send op, or with
 * TLS its encryption and as many ciphertext sends as it takes. Either way
 * the caller's on_send sees a single completion for (a prefix of) it, and
 * buf must stay put until then.
 */
static inline void tgt_conn_send(struct loop *l, struct conn *c, uint32_t slot, const void *buf,
                                 uint32_t len)
{
    struct io_uring_sqe *sqe;

    if (l->tls) {
        tgt_tls_send(l, c, slot, buf, len);
        return;
    }
    sqe = tgt_sqe_get(l);
    io_uring_prep_send(sqe, (int)slot, buf, len, MSG_NOSIGNAL);
    sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data64(sqe, ud_pack(OP_SEND, c->gen, slot));
}

#endif
