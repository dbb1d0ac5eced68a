/*
 * wsp.h - one client WebSocket session over caller-owned buffers, on
 * wslay 1.1.1's event API (after the handshake, see ws.h).
 *
 * The engine receives bytes in provided buffers and sends one output
 * buffer per send SQE, at most one send in flight per connection. wsp
 * hides wslay's callbacks behind feed / queue / output:
 *   wsp_feed(bytes)     wslay's recv callback copies from them; complete
 *                       messages, pongs and the server's close come back
 *                       through struct wsp_cb, during the call;
 *   wsp_queue_*()       a message, ping or close for the server;
 *   wsp_output()        moves queued frames (masked) into p->out as far as
 *                       they fit; the caller sends out[0..out_len), then
 *                       calls wsp_sent(). Frames larger than out go out
 *                       over several sends.
 * Memory: a wslay client context is ~8.6 KiB (NOTES.md), so struct wsp is
 * meant for a pool attached to busy connections only; wsp_idle() says when
 * the context can be given back. wslay allocates per queued message (3
 * mallocs) and per received message.
 *
 * Masking keys come from the caller's xorshift64* state (the worker's RNG,
 * seeded from getrandom unless --seed is given): never a fixed key (RFC
 * 6455 5.3). Queued messages are capped at WSP_QUEUE_MAX (wslay queues a
 * pong per ping and has no cap of its own): wsp_queue_* refuses beyond
 * it, and a server whose pings pile up WSP_FLOOD_MAX unsent pongs is
 * dropped (close 1008).
 *
 * Fast path: a text/binary message queued when nothing is queued in wslay,
 * no output is waiting to be sent (out_len == 0 or not yet handed out by
 * wsp_output) and the whole frame fits in out, is encoded straight into
 * out (header, mask key, payload masked 8 bytes at a time) instead of
 * through wslay. Order is kept: wslay only ever appends after out_len, and
 * holds nothing older. Otherwise the message is queued in wslay (masked
 * byte by byte when output). Measured by test_wsp's cost notes (gcc 12
 * -O2, one core of the 2-CPU dev VM, 10^5 messages, median of 3 runs):
 *   queue + output + sent, fast path     0.025 us per 64 B, 0.06 us per 1 KiB
 *   queue + output + sent, through wslay 0.10 us per 64 B,  0.55 us per 1 KiB
 *   feed, 64 frames of 64 B per call     0.18 us per message
 * Receiving dominates: wslay mallocs ~5 times per received message (chunk,
 * queue cell, flattened copy); its no-buffering mode with our own
 * reassembly would avoid that if profiles ever show it.
 *
 * Errors are negative WSP_ERR_*. After a fatal one (wsp_feed's), wslay has
 * queued a close (1002 protocol error, 1007 invalid UTF-8, 1009 too big,
 * 1008 pong flood; none for a framing error wslay cannot parse): flush
 * wsp_output() if no send is in flight, then drop the connection
 * (wsp_closed() is true).
 */
#ifndef STAMPEDE_WSP_H
#define STAMPEDE_WSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <wslay/wslay.h>

#define WSP_QUEUE_MAX 64  /* messages queued in wslay before wsp_queue_* refuses */
#define WSP_FLOOD_MAX 128 /* queued (mostly pongs) when a ping arrives: drop the server */
#define WSP_HDR_MAX 14    /* longest frame header: 2 + 8 length + 4 mask key */

enum wsp_err {
    WSP_OK = 0,
    WSP_ERR_PROTO = -1,   /* the server broke RFC 6455 (bad frame, bad UTF-8, bad close code) */
    WSP_ERR_TOO_BIG = -2, /* a message (or control frame) longer than max_msg */
    WSP_ERR_FLOOD = -3,   /* pings faster than their pongs can be sent */
    WSP_ERR_QUEUE = -4,   /* WSP_QUEUE_MAX messages already queued: try after output */
    WSP_ERR_CLOSED = -5,  /* closing or closed: no more messages */
    WSP_ERR_INVAL = -6,   /* bad opcode, ping payload over 125 bytes */
    WSP_ERR_NOMEM = -7,
};

struct wsp_cb {
    /* a complete data message; data is valid during the call only */
    void (*on_msg)(void *user, int opcode /* 1 text, 2 binary */, const uint8_t *data, size_t len);
    void (*on_pong)(void *user, const uint8_t *data, size_t len);
    /* the server's close frame arrived (our reply is queued) */
    void (*on_close)(void *user, uint16_t code /* 1005 if none */);
};

/* Caller-allocated; fields are private to wsp.c except where noted. */
struct wsp {
    wslay_event_context_ptr ctx; /* NULL once freed */
    const struct wsp_cb *cb;
    void *user;
    uint64_t *rng;  /* caller's xorshift64* state, used for masking keys */
    const char *in; /* bytes being fed (during wsp_feed only) */
    size_t in_len, in_off;
    char *out; /* caller-provided output buffer: out[0..out_len) is ready */
    uint32_t out_len, out_cap;
    uint64_t max_msg;
    /* receive accounting: bytes handed to wslay, and bytes of frames it
     * finished (equal: no partial frame, header bytes included) */
    uint64_t rx_fed, rx_done;
    uint64_t frame_len;       /* payload length of the frame being received */
    uint64_t msg_len;         /* payload bytes of the data message being received */
    uint8_t hdr[WSP_HDR_MAX]; /* unstarted header bytes fed by earlier calls */
    uint8_t hdr_len;
    uint8_t frame_op; /* opcode | 0x80 (fin) of the frame being received */
    uint8_t flags;    /* WSP_F_* in wsp.c */
    int8_t err;       /* first fatal enum wsp_err, sticky */
};

/* Start a session (a fresh wslay client context, which keeps a pointer to
 * p: p must not move until wsp_free). out[0..out_cap) is where output goes
 * (out_cap >= WSP_HDR_MAX); it must not be part of a send in flight (the
 * fast path writes into it at queue time), and from now on only
 * out[0..wsp_output()) may be sent. max_msg caps a received message, a
 * control frame included (wslay_event_config_set_max_recv_msg_length).
 * Returns 0, WSP_ERR_NOMEM, or WSP_ERR_INVAL for a tiny out_cap. */
int wsp_open(struct wsp *p, const struct wsp_cb *cb, void *user, uint64_t *rng, char *out,
             uint32_t out_cap, uint64_t max_msg);

/* Free the wslay context; idempotent. Output not yet sent is lost. */
void wsp_free(struct wsp *p);

/* Feed received bytes; the callbacks fire for every complete message, pong
 * and close, during the call (they may queue but must not free p). Bytes
 * after the server's close frame are ignored. Returns 0, or a fatal
 * negative WSP_ERR_* (PROTO, TOO_BIG, FLOOD, NOMEM; CLOSED without a
 * context): a close is queued, flush output then drop. Sticky. */
int wsp_feed(struct wsp *p, const char *buf, size_t len);

/* Queue a text (1) or binary (2) message; data is copied. 0, or
 * WSP_ERR_QUEUE (cap reached, not fatal), WSP_ERR_CLOSED, WSP_ERR_INVAL,
 * WSP_ERR_NOMEM. */
int wsp_queue_msg(struct wsp *p, int opcode, const void *data, size_t len);

/* Queue a ping (len <= 125). Same returns as wsp_queue_msg. */
int wsp_queue_ping(struct wsp *p, const void *data, size_t len);

/* Queue a close with `code` (0: no code), outside the queue cap. wslay
 * sends control frames first and nothing after the close: data messages
 * still queued in wslay are dropped (fast-path ones are already in out,
 * ahead of the close). 0 or WSP_ERR_CLOSED (a close is already queued or
 * sent). */
int wsp_queue_close(struct wsp *p, uint16_t code);

/* Move queued frames into p->out (masked) as far as they fit; returns
 * p->out_len, the bytes ready to send. The caller sends out[0..out_len)
 * and then calls wsp_sent(). Must not be called while a send is in flight
 * (the caller guarantees it); calling it again before sending is fine. */
uint32_t wsp_output(struct wsp *p);

/* The output went out: out_len = 0. */
void wsp_sent(struct wsp *p);

/* True when the context can be freed without losing anything: no partially
 * received frame or message, nothing queued, no pending output, no close
 * in progress, no error. True without a context. */
bool wsp_idle(const struct wsp *p);

/* True when close frames were sent (into out) and received, or after a
 * fatal error, or without a context: once out is flushed, drop the TCP
 * connection. */
bool wsp_closed(const struct wsp *p);

/* The close code we sent (1005: none in the frame), e.g. 1009 after
 * WSP_ERR_TOO_BIG; 0 while no close was sent. */
uint16_t wsp_close_code_sent(const struct wsp *p);

const char *wsp_strerror(int err);

#endif
