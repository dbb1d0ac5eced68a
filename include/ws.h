/*
 * ws.h - the RFC 6455 client opening handshake: the upgrade request, the
 * accept value, and the server's 101 response (accumulated, then verified).
 *
 * The request is encoded once at start-up with a placeholder key; each
 * connection copies it and patches in its own key (ws_make_key) at
 * *key_off, so no per-connection formatting happens. The response head is
 * short (a 101 has no body) and read once per connection, so it is
 * accumulated into a small fixed buffer (struct ws_hs, caller-owned) and
 * then verified in one pass: the streaming parser in http1.c would be
 * overkill and stores no header values, and the accept check needs one.
 *
 * Not on the per-message hot path: one ws_make_key, one feed or two and
 * one ws_hs_verify (a SHA-1 through EVP, ~1 us) per connection.
 * Pure: no globals, no allocation.
 */
#ifndef STAMPEDE_WS_H
#define STAMPEDE_WS_H

#include <stddef.h>
#include <stdint.h>

#include "http1.h"

#define WS_KEY_LEN 24    /* base64 of 16 bytes */
#define WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define WS_HS_MAX 4096   /* max bytes of the server's 101 response head */

/* Sec-WebSocket-Key from 16 random bytes given as two u64 (the caller's
 * RNG; RFC 6455 4.1 wants a fresh random nonce per connection). key is
 * NUL-terminated. */
void ws_make_key(uint64_t r1, uint64_t r2, char key[WS_KEY_LEN + 1]);

/* base64(SHA1(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11")), NUL-terminated.
 * key is NUL-terminated, at most WS_KEY_IN_MAX characters (a real key has
 * WS_KEY_LEN); a longer one gives "" (which matches no header). */
#define WS_KEY_IN_MAX 128
void ws_accept_for(const char *key, char out[WS_ACCEPT_LEN + 1]);

struct ws_upgrade_spec {
    const char *path;                   /* request target; "/" when NULL or empty */
    const char *host;                   /* Host value (with :port when not default); NULL: none */
    const struct http1_header *headers; /* user headers, sent after ours */
    size_t nheaders;
    const char *subprotocol; /* Sec-WebSocket-Protocol offered; NULL: none */
    const char *origin;      /* Origin; NULL: none */
};

/* Encode the GET upgrade request into buf (cap bytes), with a placeholder
 * key of WS_KEY_LEN bytes at *key_off: the caller copies the request per
 * connection and patches the key there. Headers, in order: Host, Upgrade,
 * Connection, Sec-WebSocket-Key, Sec-WebSocket-Version: 13, then
 * Sec-WebSocket-Protocol and Origin when given, then the user's. A user
 * Host replaces ours and a user Origin replaces spec->origin (like
 * http1_req_build). A user Upgrade, Connection or Sec-WebSocket-* header is
 * -EINVAL: the handshake is ours, and an extension we did not negotiate
 * (permessage-deflate) would break framing. Returns the length, -EINVAL
 * (CR/LF in a value, a name that is not a token, whitespace in the path, a
 * subprotocol that is not a token; checked before space), -ENOSPC. */
long ws_upgrade_build(char *buf, size_t cap, const struct ws_upgrade_spec *s, size_t *key_off);

/* Accumulates the response head. Zero it (or set len = 0) to start over. */
struct ws_hs {
    uint32_t len;
    char head[WS_HS_MAX];
};

/* Streaming accumulation of the response head: feed received bytes until
 * the empty line that ends it (CRLF CRLF; bare LF line ends are accepted).
 * Returns 1 when the head is complete (*used = bytes of buf that belonged
 * to it; the rest belongs to the WebSocket stream; head[0..len) is the
 * head), 0 when more is needed (*used = len), -1 when the head would be
 * longer than WS_HS_MAX (*used = bytes copied). Only the last 2 bytes
 * already held are scanned again (picohttpparser's last_len). */
int ws_hs_feed(struct ws_hs *h, const char *buf, size_t len, size_t *used);

enum ws_hs_err {
    WS_HS_OK = 0,
    WS_HS_BAD_STATUS, /* not 101: status in *status */
    WS_HS_MALFORMED,  /* status line or a header line unparsable, no empty line */
    WS_HS_NO_UPGRADE, /* Upgrade is not "websocket", or Connection lacks "upgrade" */
    WS_HS_BAD_ACCEPT, /* Sec-WebSocket-Accept missing or wrong */
    WS_HS_BAD_SUBPROTOCOL,
    WS_HS_BAD_EXTENSION, /* the server selected an extension we did not offer */
    WS_HS_ERR_NR,
};

/* Verify a complete head against the key we sent and the subprotocol we
 * offered (NULL: none, then the server must not select one; offered: the
 * server must select exactly it, as browsers require). *status gets the
 * HTTP status (0 if the status line is unparsable). Checks, in this order
 * (the first failure is returned): status line, status 101, header syntax,
 * Upgrade (every one) is "websocket" and a Connection lists the token
 * "upgrade" (case-insensitive), Sec-WebSocket-Accept (every one) is
 * ws_accept_for(key), Sec-WebSocket-Protocol, no non-empty
 * Sec-WebSocket-Extensions. Header names are case-insensitive. */
enum ws_hs_err ws_hs_verify(const char *head, size_t len, const char *key, const char *subprotocol,
                            int *status);

const char *ws_hs_strerror(enum ws_hs_err e);

#endif
