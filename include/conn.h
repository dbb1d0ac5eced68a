/*
 * conn.h - one client connection: lifecycle state machine over direct
 * descriptors, and the transport seam.
 *
 * States: IDLE -> CONNECTING [-> HANDSHAKE] -> ACTIVE -> CLOSING ->
 * (BACKOFF ->) CONNECTING ... or DONE once the run stops. HANDSHAKE is the
 * transport's own (TLS): TCP is up and reading, the protocol is not open
 * yet, so nothing that offers work (it all tests ACTIVE) reaches it. The connection's registered
 * file slot equals its index in the worker's array, so socket and connect
 * go out linked in one submission. Every teardown bumps the generation:
 * completions still in flight for the old incarnation carry the old one
 * and are dropped (their provided buffers are still recycled).
 *
 * The transport seam: the protocol (httpc.c, wsc.c) writes through
 * conn_write() and reads through struct xport_ops::recv, so TLS (xtls.c)
 * sits between the socket and the protocol without either noticing: the
 * protocol's on_open comes after the TLS handshake, its bytes are
 * plaintext, and its on_sent comes once their ciphertext has gone out.
 * The transport sends raw bytes with conn_send_raw().
 *
 * Hot fields first; a connection is ~200 bytes plus its timestamp ring.
 */
#ifndef STAMPEDE_CONN_H
#define STAMPEDE_CONN_H

#include <liburing.h>
#include <stdint.h>

#include "http1.h"
#include "stats.h"
#include "timer.h"

struct worker;
struct conn;
struct wsx;
struct xtls;

enum conn_state {
    CONN_ST_IDLE,
    CONN_ST_CONNECTING,
    CONN_ST_HANDSHAKE,  /* TCP connected, the transport's handshake under way */
    CONN_ST_ACTIVE,
    CONN_ST_CLOSING,
    CONN_ST_BACKOFF,
    CONN_ST_DONE,
};

#define CONN_F_SENDING 0x01      /* a send SQE is in flight */
#define CONN_F_SERVER_CLOSE 0x02 /* the server announced it will close */
#define CONN_F_STAMP 0x04        /* on the worker's stamp list this turn */
#define CONN_F_ANSWERED 0x08     /* got at least one response this session */
#define CONN_F_ESTABLISHED 0x10  /* connect succeeded this session */
#define CONN_F_FREE 0x20         /* on the worker's free list (open loop) */
#define CONN_F_DONE 0x40         /* session finished (--reconnect, --requests-per-conn) */
#define CONN_F_HANDSHAKE 0x80    /* WebSocket: upgrade sent, 101 not yet received */
#define CONN_F_BAD_CLOSE 0x100   /* WebSocket: the server closed with an error code */

enum conn_op {
    OP_SOCKET = 1,
    OP_CONNECT,
    OP_RECV,
    OP_SEND,
    OP_CANCEL,
    OP_CLOSE,
};

/* The protocol on top of the transport (httpc.c or wsc.c); the worker picks
 * one for the run. */
struct proto_ops {
    void (*on_open)(struct conn *c);                   /* connected (after TLS, if any) */
    int (*on_data)(struct conn *c, const char *buf, size_t len); /* 0, or -1: drop */
    void (*on_eof)(struct conn *c);                    /* the server closed */
    void (*on_sent)(struct conn *c);                   /* the last write went out */
    void (*fail)(struct conn *c, enum err_kind kind);  /* settle everything in flight */
    void (*on_timer)(struct conn *c);                  /* c->timer fired while ACTIVE */
    void (*flush)(struct conn *c);                     /* may send again */
    void (*send_backlog)(struct conn *c);              /* open loop: take backlog work */
    void (*on_close)(struct conn *c);                  /* closing: settle what is left */
    void (*release)(struct conn *c);                   /* closed: nothing can use its buffers */
};

extern const struct proto_ops proto_http;
extern const struct proto_ops proto_ws;
extern const struct proto_ops proto_flow;

/* Transport under the protocol: plain TCP or TLS (xtls.c). */
struct xport_ops {
    /* TCP connected: start the transport, then the protocol's on_open */
    void (*open)(struct conn *c);
    /* bytes arrived from the socket; returns 0, or -1 to drop the connection
     * (the callee has already counted why) */
    int (*recv)(struct conn *c, const char *buf, size_t len);
    /* the protocol's write (conn_write) */
    void (*write)(struct conn *c, const char *buf, uint32_t len);
    /* the raw send in flight went out in full */
    void (*sent)(struct conn *c);
    /* c's timer fired during the transport's own handshake (CONN_ST_HANDSHAKE) */
    void (*on_timer)(struct conn *c);
    /* closing (any state): account for a handshake cut short */
    void (*on_close)(struct conn *c);
    /* closed: nothing can use the transport's buffers any more */
    void (*release)(struct conn *c);
};

extern const struct xport_ops xport_plain;

struct conn {
    uint32_t slot;
    uint32_t gen;
    uint8_t state;
    uint16_t flags;
    uint8_t backoff;        /* consecutive failed sessions */
    uint8_t initial;        /* opened before the clock: the engine waits for it */
    uint32_t in_flight;     /* requests sent, not yet answered */
    uint32_t warm_n;        /* of those, sent before the run: never counted */
    uint32_t ts_head;       /* oldest in-flight request in ts[] */
    uint32_t ts_tail;       /* next free entry in ts[] */
    uint32_t send_len;
    uint32_t send_off;
    uint32_t stamp_from;    /* ts[] entries to stamp at submit time */
    uint32_t stamp_n;
    const char *send_buf;
    uint64_t *ts;           /* latency start of each in-flight request (ring) */
    uint64_t *ts_sent;      /* actual send time of each (ring) */
    struct worker *w;
    uint64_t connect_start_ns;
    uint32_t sess_n;        /* requests / messages answered this session */
    uint32_t seq;           /* WebSocket: next message sequence number */
    uint32_t late;          /* WebSocket: replies owed to timed-out messages (FIFO) */
    uint64_t next_ns;       /* next paced send or keep-alive (0: none) */
    uint64_t ping_ns;       /* WebSocket ping in flight since (0: none) */
    uint64_t ping_due;      /* next keep-alive ping (0: none) */
    struct wsx *ws;         /* WebSocket context, attached while busy */
    struct xtls *tls;       /* TLS state, attached from connect to close */
    struct http1_resp resp;
    struct timer timer;
};

void conn_init(struct conn *c, struct worker *w, uint32_t slot, uint64_t *ts, uint64_t *ts_sent);

/* Start (or restart) connecting. */
void conn_connect(struct conn *c);

/* Handle one completion addressed to this connection's current generation. */
void conn_on_cqe(struct conn *c, unsigned op, const struct io_uring_cqe *cqe);

/* The protocol's write: len bytes of buf (which must stay valid until
 * on_sent), through the transport. */
void conn_write(struct conn *c, const char *buf, uint32_t len);

/* Send len raw bytes of buf (valid until sent) on the socket. At most one
 * send is in flight per connection (CONN_F_SENDING); short sends are
 * resumed here; xport_ops::sent follows the last byte. */
void conn_send_raw(struct conn *c, const char *buf, uint32_t len);

/* Settle the oldest request/message in flight: its latency ends now
 * (recorded unless it belongs to the warm-up: then false). */
bool conn_settle(struct conn *c);

/* Close the connection; `failed` counts it as a failed session (the next
 * reconnect backs off). Requests in flight must have been settled. */
void conn_close(struct conn *c, bool failed);

#endif
