/*
 * xtls.h - the TLS transport under the HTTP and WebSocket clients.
 *
 * Sits on the transport seam of conn.h: after TCP connects it runs the
 * handshake over memory BIOs (tls.h), times it (tls_handshake_time, full
 * and resumed apart), counts failures by OpenSSL's reason and the
 * negotiated version and cipher, then opens the protocol. The protocol's
 * writes are encrypted into the write BIO and the ciphertext leaves from
 * the connection's output buffer, one send in flight at a time; received
 * ciphertext is decrypted into the worker's plaintext buffer and handed to
 * the protocol as if it had come from the socket.
 *
 * Resumption: the newest session each connection slot received is kept
 * (TLS 1.3 tickets are single-use and arrive after the handshake) and
 * offered on that slot's next connect; --tls-resume=off offers none.
 *
 * Memory: TLS state comes from a per-worker pool and is attached only
 * while a connection exists; OpenSSL's own buffers are released when idle
 * (SSL_MODE_RELEASE_BUFFERS).
 */
#ifndef STAMPEDE_XTLS_H
#define STAMPEDE_XTLS_H

#include "conn.h"
#include "tls.h"

struct worker;

extern const struct xport_ops xport_tls;

/* Called once on the shared client context: installs the session callback. */
void xtls_ctx_setup(SSL_CTX *ctx, const struct tls_client_cfg *cfg);

/* Per-worker pool and buffers; 0 or -ENOMEM. */
int xtls_pool_init(struct worker *w);
void xtls_pool_fini(struct worker *w);

#endif
