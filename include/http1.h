/*
 * http1.h - HTTP/1.1 request templates and an incremental response parser.
 *
 * Requests are encoded once at start-up (http1_req_build) into bytes the
 * workers send as they are; pipelining sends several copies back to back.
 *
 * The response parser is a push state machine: the caller hands it each
 * received chunk as it arrives (from the kernel's provided buffers), with
 * no copy and no reassembly: a response may be split at any byte across
 * chunks. Header bytes are scanned once; only the status line and the
 * headers that frame the message (Content-Length, Transfer-Encoding,
 * Connection) are interpreted. Body bytes are skipped in bulk (chunked
 * bodies chunk by chunk, trailers included). 1xx interim responses (other
 * than 101) are skipped transparently; 101 ends a response with no body.
 * A response to HEAD, and 204/304 responses, have no body.
 *
 * Contract (like picohttpparser's: caller-owned buffers, no callbacks,
 * integer returns):
 *   http1_resp_feed() consumes bytes of `buf` up to the end of one
 *   response. It returns HTTP1_DONE when a response completed (`*used` =
 *   bytes of buf that belonged to it; the rest belongs to the next
 *   response), HTTP1_MORE when all of buf was consumed and the response is
 *   not complete yet (*used = len), HTTP1_ERR on malformed input (*used is
 *   where it stopped; the connection must be dropped).
 *   After HTTP1_DONE the result fields (status, keep_alive...) describe
 *   that response until the next feed call after http1_resp_reset().
 *
 * Limits: status line + headers at most HTTP1_MAX_HEAD bytes; chunk sizes
 * up to 2^60; Content-Length up to 2^62. Not on these paths: header values
 * are not stored (later issues that capture values add it explicitly).
 */
#ifndef STAMPEDE_HTTP1_H
#define STAMPEDE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HTTP1_MAX_HEAD (64 * 1024)

enum http1_rc {
    HTTP1_ERR = -1,
    HTTP1_MORE = 0,
    HTTP1_DONE = 1,
};

enum http1_framing {
    HTTP1_BODY_NONE,    /* no body (HEAD, 1xx, 204, 304, Content-Length: 0) */
    HTTP1_BODY_LENGTH,  /* Content-Length bytes */
    HTTP1_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    HTTP1_BODY_EOF,     /* until the server closes the connection */
};

struct http1_resp {
    /* parser state (private) */
    uint8_t state;
    uint8_t hstate;   /* header-name matching state */
    uint8_t flags;
    uint32_t head_len; /* bytes of status line + headers so far */
    uint64_t remaining; /* body or chunk bytes left */
    uint64_t acc;       /* number being accumulated (status, length, chunk size) */
    uint32_t match_pos; /* position inside a header name / token being matched */
    /* results, valid after HTTP1_DONE */
    int status;              /* 100..999 */
    int minor_version;       /* HTTP/1.x */
    enum http1_framing framing;
    uint64_t content_length; /* when framing == HTTP1_BODY_LENGTH */
    bool keep_alive;         /* false: server will close after this response */
    bool head_request;       /* set by the caller: response to HEAD (no body) */
};

/* Prepare for the next response; keeps `head_request`. */
void http1_resp_reset(struct http1_resp *r);

enum http1_rc http1_resp_feed(struct http1_resp *r, const char *buf, size_t len, size_t *used);

/* The server closed the connection. Returns HTTP1_DONE if that ends the
 * current response (a body delimited by close), HTTP1_MORE if no byte of a
 * response had been received, HTTP1_ERR if a response was cut short. */
enum http1_rc http1_resp_eof(struct http1_resp *r);

/* True once at least one byte of the current response has been consumed. */
bool http1_resp_started(const struct http1_resp *r);

struct http1_header {
    const char *name;
    const char *value;
};

struct http1_req_spec {
    const char *method;    /* "GET" when NULL */
    const char *path;      /* request target, "/" when NULL or empty */
    const char *host;      /* Host header value (with :port when not default) */
    const struct http1_header *headers; /* user headers; a user "Host" replaces ours */
    size_t nheaders;
    const char *body;      /* may contain NULs; Content-Length added when body_len > 0 */
    size_t body_len;
};

/* Encode one request into buf (cap bytes). Adds Host unless the user gave
 * one, Content-Length when there is a body (or for POST/PUT/PATCH with an
 * empty body), nothing else. Returns the length, or -ENOSPC if it does not
 * fit, -EINVAL on a header name/value with CR or LF. */
long http1_req_build(char *buf, size_t cap, const struct http1_req_spec *spec);

#endif
