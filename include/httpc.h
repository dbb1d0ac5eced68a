/*
 * httpc.h - the HTTP/1.1 client protocol on one connection (closed loop).
 *
 * Keeps up to --pipeline requests in flight per connection, times each one
 * from the moment it is handed to the kernel to the last byte of its
 * response, and settles every request exactly once: as a response, or as
 * an error of some kind recorded at the moment it failed (so failures never
 * flatter the percentiles).
 */
#ifndef STAMPEDE_HTTPC_H
#define STAMPEDE_HTTPC_H

#include <stddef.h>

#include "stats.h"

struct conn;

/* The connection is ready: fill its pipeline. */
void httpc_on_open(struct conn *c);

/* Response bytes (plaintext). Returns 0, or -1 after settling the in-flight
 * requests as protocol errors (the caller closes). */
int httpc_on_data(struct conn *c, const char *buf, size_t len);

/* The server closed the connection. Settles what is left. */
void httpc_on_eof(struct conn *c);

/* The previous write has been fully sent. */
void httpc_on_sent(struct conn *c);

/* Settle every in-flight request as an error of this kind. */
void httpc_fail(struct conn *c, enum err_kind kind);

/* The connection's timer fired while ACTIVE: time out the oldest request if
 * it is late, else re-arm for it. */
void httpc_on_timer(struct conn *c);

/* The connection can send again: closed loop refills its pipeline, open
 * loop offers it to the dispatcher; a retired connection closes. */
void httpc_flush(struct conn *c);

/* Open loop: send as many backlog requests as c's pipeline has room for. */
void httpc_send_backlog(struct conn *c);

#endif
