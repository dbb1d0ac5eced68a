/*
 * target_api.h - stampede-target's --api mode: a mock REST API under /api/
 * for multi-step flows (log in, add to cart, check out) in tests and
 * example scenarios. Other paths keep their usual answers.
 *
 *   POST /api/login     200 {"token":"tok-N","user":"U"}, header X-Session: s-N
 *   POST /api/cart      Authorization: Bearer tok-DIGITS, else 401;
 *                       200 {"cart_id":"cart-M","items":1}
 *   POST /api/checkout  same Authorization, else 401; a body holding
 *                       "cart_id":"cart-DIGITS", else 400;
 *                       200 {"order_id":"ord-K","status":"confirmed"}
 *   GET|HEAD /api/health  200 {"status":"ok"}
 *   other /api paths 404; a known path with another method 405; a
 *   Transfer-Encoding (chunked) request 411 and a close; a request longer
 *   than TGT_API_KEEP_BYTES 413.
 *
 * Tokens are checked for shape only: nothing is remembered per client.
 * N, M, K count per thread from worker id << 40, so they are unique in
 * the process without any shared write (1, 2, 3, ... with one thread).
 *
 * Responses are formatted when their request is framed (the request's
 * bytes are gone by the time a --delay lets it leave) into a per-connection
 * FIFO, struct tgt_api_out, taken from a per-thread pool at the
 * connection's first /api request and given back at its close: after
 * warm-up no request allocates. The worker sends from the out's own send
 * area, which stays put while a send is in flight. On the hot path only in
 * --api mode.
 */
#ifndef STAMPEDE_TARGET_API_H
#define STAMPEDE_TARGET_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request cut across receives is kept (carried) up to this size, head
 * (at most TGT_MAX_HEAD_BYTES, 64 KiB) and body together. */
#define TGT_API_KEEP_BYTES (128u << 10)

/* What the API answered, summed over threads and printed on exit as
 * "api login N cart N ... not_found N". `bad` is 400, 405, 411 and 413. */
enum tgt_api_ctr {
    TGT_API_LOGIN,
    TGT_API_CART,
    TGT_API_CHECKOUT,
    TGT_API_HEALTH,
    TGT_API_UNAUTHORIZED,
    TGT_API_BAD,
    TGT_API_NOT_FOUND,
    TGT_API_NR
};
extern const char *const tgt_api_ctr_name[TGT_API_NR];

/* Request flags for tgt_api_answer. */
#define TGT_API_F_HEAD 1u  /* HEAD: the head only, Content-Length of the body */
#define TGT_API_F_KA 2u    /* echo "Connection: keep-alive" (HTTP/1.0 that asked) */
#define TGT_API_F_CLOSE 4u /* the connection's last response: "Connection: close" */
#define TGT_API_F_TRUNC 8u /* the request was longer than what was kept of it */

enum tgt_api_res {
    TGT_API_PASS,  /* not an /api path: answer it as usual */
    TGT_API_KEEP,  /* response queued */
    TGT_API_CLOSE, /* response queued; it is the last on the connection */
};

struct tgt_api_out;

/* Per worker thread; only that thread touches it. */
struct tgt_api {
    uint64_t *n;        /* counters by enum tgt_api_ctr (the worker's) */
    uint64_t id_base;   /* worker id << 40 */
    uint64_t logins, carts, orders;
    struct tgt_api_out *pool; /* free outs */
};

void tgt_api_init(struct tgt_api *a, unsigned worker_id, uint64_t *counters);
void tgt_api_fini(struct tgt_api *a);

/*
 * Answer one complete request req[0..len) (head and body, as received)
 * with flags TGT_API_F_*. For an /api path the response is formatted and
 * queued on *out (taken from the pool if NULL). Returns enum tgt_api_res,
 * or -ENOMEM (nothing queued).
 */
int tgt_api_answer(struct tgt_api *a, struct tgt_api_out **out, const char *req, size_t len,
                   unsigned flags);

/*
 * Move up to max_n queued responses, whole and in order, into o's send
 * area; *bytes is their length. Returns how many (0 only if none is
 * queued). The area stays put until the next take.
 */
uint32_t tgt_api_take(struct tgt_api_out *o, uint32_t max_n, uint32_t *bytes);
const char *tgt_api_sendbuf(const struct tgt_api_out *o);

/* Give *o (may be NULL) back to the pool, whatever it still holds. */
void tgt_api_out_put(struct tgt_api *a, struct tgt_api_out **o);

#endif
