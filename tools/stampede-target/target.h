/*
 * target.h - shared declarations of stampede-target, the bundled io_uring
 * HTTP/1.1 and WebSocket server that tests and benchmarks aim stampede at.
 *
 * Split: target_main.c (flags, signals, threads, exit codes), target_net.c
 * (listening sockets, prebuilt responses), target_parse.c (incremental
 * request framing), target_worker.c (one ring per thread: the hot path),
 * target_ws.c (WebSocket protocol: upgrade check, frame parser),
 * target_wsconn.c (WebSocket connections and rooms on the ring),
 * target_tls.c (TLS on the ring: OpenSSL over memory BIOs between the
 * receive/send ops and the HTTP/WebSocket code, and the server context),
 * target_api.c (--api: the mock REST API under /api/);
 * target_loop.h is the worker's internal header.
 *
 * Every external symbol carries a tgt_ prefix because the target links with
 * every object of src/ except main.o, whose names (worker_*, conn_*, ...)
 * it must not collide with. Configuration and responses are built once by the main thread and
 * are read-only afterwards, so workers share them without locks.
 */
#ifndef STAMPEDE_TARGET_H
#define STAMPEDE_TARGET_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "target_api.h"

struct ssl_ctx_st; /* OpenSSL's SSL_CTX: only target_tls.c needs its header */

#define TGT_MAX_THREADS 256
#define TGT_MAX_BODY_BYTES (64u << 20)
#define TGT_MAX_HEAD_BYTES (64u << 10) /* longer heads get 400 and a close */
#define TGT_WS_MAX_MSG_DEFAULT (1u << 20)
#define TGT_WS_MAX_MSG_LIMIT (1u << 30)
#define TGT_WS_OUT_MAX_BYTES (4u << 20) /* queued output per connection before 1008 */

/* Connections open now and at most, over all threads: shared, because a
 * sum of per-thread peaks would overstate the process's peak. Touched once
 * per accept and close, never per message. */
struct tgt_live {
    _Atomic uint64_t held;
    _Atomic uint64_t held_peak;
};

/* Per-thread counters, summed by the main thread after the join. */
struct tgt_counters {
    uint64_t ws_handshakes; /* 101s sent */
    uint64_t ws_msgs_in;    /* data messages received */
    uint64_t ws_msgs_out;   /* data frames queued to send, every broadcast copy counted */
    uint64_t closed_slow;   /* members dropped with 1008: output queue over its cap */
    uint64_t tls_handshakes; /* TLS handshakes completed, resumed ones included */
    uint64_t tls_resumed;    /* ... of which resumed a session (ticket or session id) */
    uint64_t tls_failed;     /* handshakes that failed or whose peer left mid-way */
    uint32_t tls_fail_reason; /* the first failure's tls_io_reason() key, 0 if none */
    uint64_t api[TGT_API_NR]; /* --api answers by enum tgt_api_ctr */
};

struct tgt_config {
    struct sockaddr_storage addr; /* host and port to bind */
    socklen_t addr_len;
    unsigned threads;
    uint64_t delay_ns;    /* response sent this long after its request arrived */
    uint64_t body_bytes;  /* response body size */
    uint64_t close_after; /* close after this many responses; 0 = never */
    uint64_t stall_ns;    /* --stall D@T: answer nothing for D ... */
    uint64_t stall_at_ns; /* ... starting T after the first request */
    _Atomic uint64_t *first_req_ns; /* shared by all threads; 0 until then */
    uint32_t ws_max_msg;  /* longest WebSocket message accepted (1009 beyond) */
    bool api;             /* --api: the mock REST API under /api/ (target_api.h) */
    uint64_t report_ns;   /* --report-interval: print "held N" this often; 0 = never */
    struct tgt_live *live;
    const char *tls_cert;      /* --tls-cert PEM (chain); NULL: plain TCP */
    const char *tls_key;       /* --tls-key PEM; NULL: the key is in tls_cert */
    const char *tls_client_ca; /* --tls-client-ca PEM: require and verify client certificates */
    struct ssl_ctx_st *tls_ctx; /* built from those by the main thread; NULL: plain */
};

/*
 * Kinds of response. Bit 0: head only (the request was HEAD: same headers,
 * Content-Length of the body it would carry, no body). Bit 1: the head
 * echoes "Connection: keep-alive" (an HTTP/1.0 peer that asked for it must
 * see it, or it closes, e.g. `ab -k`). HTTP/1.1 requests get kinds 0 and 1.
 */
enum tgt_kind { TGT_KIND_BODY, TGT_KIND_HEAD, TGT_KIND_BODY_KA, TGT_KIND_HEAD_KA, TGT_KIND_NR };
#define TGT_KIND_F_HEAD 1u
#define TGT_KIND_F_KA 2u
/* Not prebuilt: the next of a connection's queued --api responses, each
 * formatted for its request (HEAD and keep-alive included). */
#define TGT_KIND_API TGT_KIND_NR

/* Cap on the copies in one prebuilt batch (a connection counts them in a byte). */
#define TGT_RESP_MAX_COPIES 64u

/* `copies` back-to-back copies of one response, so k pipelined answers of
 * the same kind leave in one send. */
struct tgt_resp_batch {
    char *many;
    uint32_t one_bytes;
    uint32_t copies;
};

/*
 * Prebuilt response bytes: a batch per kind; `close` adds "Connection:
 * close" (index 1: its head-only variant); `bad` is the 400 for oversized
 * heads.
 */
struct tgt_resp {
    struct tgt_resp_batch kind[TGT_KIND_NR];
    char *close[2];
    uint32_t close_bytes[2];
    char *bad;
    uint32_t bad_bytes;
    const char *ws_404, *ws_400; /* refused WebSocket upgrades (static) */
    uint32_t ws_404_bytes, ws_400_bytes;
};

/* Per-thread handle shared with the main thread. */
struct tgt_worker {
    pthread_t thread;
    unsigned id;
    int listen_fd;
    const struct tgt_config *cfg;
    const struct tgt_resp *resp;
    atomic_bool *stop;             /* set by main; polled every loop turn */
    pthread_barrier_t *ready;      /* main + workers meet after ring setup */
    _Atomic uint64_t answered;     /* responses fully sent; final at exit */
    struct tgt_counters n;         /* written by the worker as it exits */
    int err;                       /* -errno of a setup or runtime failure */
    const char *err_what;          /* the call that failed */
};

/* target_net.c */
int tgt_listen_all(const struct tgt_config *cfg, int *fds, uint16_t *port);
void tgt_format_addr(const struct sockaddr_storage *ss, uint16_t port, char *buf, size_t len);
int tgt_resp_build(struct tgt_resp *r, uint64_t body_bytes);
void tgt_resp_free(struct tgt_resp *r);

/* target_tls.c: the server context for cfg's --tls-* files into
 * cfg->tls_ctx (left NULL without --tls-cert). 0, or -1 with a message
 * naming the file at fault in err. */
int tgt_tls_ctx_build(struct tgt_config *cfg, char *err, size_t errlen);
void tgt_tls_ctx_free(struct tgt_config *cfg);

/* target_worker.c: thread entry; arg is a struct tgt_worker. */
void *tgt_worker_main(void *arg);

/*
 * Incremental request framing (target_parse.c). Never copies: the state
 * survives a request split at any byte. 16 bytes, embedded in each
 * connection.
 */
struct tgt_req_parser {
    uint64_t clen;       /* request line: its last 8 bytes; head: Content-Length; then body left */
    uint32_t head_bytes; /* bytes of the current head seen so far */
    uint8_t st;          /* TGT_PS_* in target_parse.c */
    uint8_t idx;         /* match position in "HEAD ", a header name or "close" */
    uint8_t cand;        /* header names still matching; request line: 9th last byte;
                            Connection value: match position in "keep-alive" */
    uint8_t flags;       /* FLAG_* in target_parse.c */
};

enum tgt_parse_result {
    TGT_PARSE_BAD = -1, /* head over TGT_MAX_HEAD_BYTES or bad length */
    TGT_PARSE_MORE = 0, /* all input consumed, request incomplete */
    TGT_PARSE_REQ = 1,  /* one request complete; TGT_REQ_* bits may be or-ed in */
};
/* Bits of a complete request's result; bits 1-2 are its enum tgt_kind. */
#define TGT_REQ_HEAD (TGT_KIND_F_HEAD << 1)
#define TGT_REQ_KA (TGT_KIND_F_KA << 1)
#define TGT_REQ_CLOSE 8 /* "Connection: close", or HTTP/1.0 without keep-alive */
#define TGT_REQ_UPGRADE 16 /* an Upgrade header and no body: see tgt_ws_hs_parse */

static inline enum tgt_kind tgt_req_kind(int r)
{
    return (enum tgt_kind)(((unsigned)r >> 1) & 3u);
}

/* Parse from buf; *used_bytes says how much was consumed. Stops after each
 * complete request so the caller can decide whether to read on. The parser
 * resets itself after a complete request; after BAD it must not be reused. */
int tgt_req_parse(struct tgt_req_parser *p, const char *buf, size_t len, size_t *used_bytes);

/* Inside a request head (not between requests, not in a body): a receive
 * ending now leaves part of a head the next one completes. */
bool tgt_req_mid_head(const struct tgt_req_parser *p);

/* Inside a request, head or body (not between requests): --api keeps a
 * request cut by a receive whole, its body included. */
bool tgt_req_started(const struct tgt_req_parser *p);

#endif
