/*
 * target.h - shared declarations of stampede-target, the bundled io_uring
 * HTTP/1.1 sink that tests and benchmarks aim stampede at.
 *
 * Split: target_main.c (flags, signals, threads, exit codes), target_net.c
 * (listening sockets, prebuilt responses), target_parse.c (incremental
 * request framing), target_worker.c (one ring per thread: the hot path).
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

#define TGT_MAX_THREADS 256
#define TGT_MAX_BODY_BYTES (64u << 20)
#define TGT_MAX_HEAD_BYTES (64u << 10) /* longer heads get 400 and a close */

struct tgt_config {
    struct sockaddr_storage addr; /* host and port to bind */
    socklen_t addr_len;
    unsigned threads;
    uint64_t delay_ns;    /* response sent this long after its request arrived */
    uint64_t body_bytes;  /* response body size */
    uint64_t close_after; /* close after this many responses; 0 = never */
};

/*
 * Prebuilt response bytes. `many` holds `copies` back-to-back copies of the
 * plain response so k pipelined answers leave in one send; `close` adds
 * "Connection: close"; `bad` is the 400 for oversized heads.
 */
struct tgt_resp {
    char *many;
    uint32_t one_bytes;
    uint32_t copies;
    char *close;
    uint32_t close_bytes;
    char *bad;
    uint32_t bad_bytes;
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
    int err;                       /* -errno of a setup or runtime failure */
    const char *err_what;          /* the call that failed */
};

/* target_net.c */
int tgt_listen_all(const struct tgt_config *cfg, int *fds, uint16_t *port);
void tgt_format_addr(const struct sockaddr_storage *ss, uint16_t port, char *buf, size_t len);
int tgt_resp_build(struct tgt_resp *r, uint64_t body_bytes);
void tgt_resp_free(struct tgt_resp *r);

/* target_worker.c: thread entry; arg is a struct tgt_worker. */
void *tgt_worker_main(void *arg);

/*
 * Incremental request framing (target_parse.c). Never copies: the state
 * survives a request split at any byte. 16 bytes, embedded in each
 * connection.
 */
struct tgt_req_parser {
    uint64_t clen;       /* Content-Length while in the head, then body left */
    uint32_t head_bytes; /* bytes of the current head seen so far */
    uint8_t st;          /* TGT_PS_* in target_parse.c */
    uint8_t idx;         /* match position in a header name or "close" */
    uint8_t cand;        /* header names still matching */
    uint8_t flags;       /* saw "Connection: close" */
};

enum tgt_parse_result {
    TGT_PARSE_BAD = -1,      /* head over TGT_MAX_HEAD_BYTES or bad length */
    TGT_PARSE_MORE = 0,      /* all input consumed, request incomplete */
    TGT_PARSE_REQ = 1,       /* one request complete */
    TGT_PARSE_REQ_CLOSE = 2, /* one request complete; it asked to close */
};

/* Parse from buf; *used_bytes says how much was consumed. Stops after each
 * complete request so the caller can decide whether to read on. The parser
 * resets itself after a complete request; after BAD it must not be reused. */
int tgt_req_parse(struct tgt_req_parser *p, const char *buf, size_t len, size_t *used_bytes);

#endif
