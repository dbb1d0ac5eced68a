/*
 * target_net.c - start-up pieces of stampede-target that are not the ring:
 * the per-thread SO_REUSEPORT listening sockets and the prebuilt response
 * bytes (one batch per kind of response, target.h; the refusals of bad
 * WebSocket upgrades).
 *
 * Listening sockets stay plain fds: there is one per thread, so they cost
 * nothing against RLIMIT_NOFILE, and binding them before any thread starts
 * lets a bind failure be reported with its errno before "listening" is
 * printed. Accepted connections are direct descriptors (target_worker.c).
 * Not on the hot path.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "target.h"

/* The kernel caps it at net.core.somaxconn; a hold test's ramp needs the
 * queue to absorb bursts of tens of thousands of connects. */
#define LISTEN_BACKLOG 65535
/* Cap on one prebuilt batch; bigger responses are sent one copy per send. */
#define RESP_BATCH_BYTES (256u << 10)

static void addr_set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
}

static uint16_t addr_get_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

/* One SO_REUSEPORT listener on ss; returns the fd or -errno. */
static int listen_one(const struct sockaddr_storage *ss, socklen_t len)
{
    int one = 1;
    int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return -errno;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
        int err = -errno;

        close(fd);
        return err;
    }
    return fd;
}

/*
 * Bind cfg->threads listeners on the same port. With port 0 the first one
 * picks it and the rest reuse what it got. On failure every fd opened so far
 * is closed and -errno returned; *port is the port that was being bound.
 */
int tgt_listen_all(const struct tgt_config *cfg, int *fds, uint16_t *port)
{
    struct sockaddr_storage ss = cfg->addr;
    socklen_t len = sizeof(ss);
    unsigned i;

    *port = addr_get_port(&ss);
    for (i = 0; i < cfg->threads; i++) {
        fds[i] = listen_one(&ss, cfg->addr_len);
        if (fds[i] < 0)
            goto fail;
        if (i == 0 && getsockname(fds[0], (struct sockaddr *)&ss, &len) == 0) {
            *port = addr_get_port(&ss);
            addr_set_port(&ss, *port);
        }
    }
    return 0;
fail:;
    int err = fds[i];

    while (i-- > 0)
        close(fds[i]);
    return err;
}

/* "127.0.0.1:8080" or "[::1]:8080". */
void tgt_format_addr(const struct sockaddr_storage *ss, uint16_t port, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, port);
    } else {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, port);
    }
}

/* Head, then unless head_only the body ("Hello, World!" repeated and
 * truncated), into a new buffer. A head-only response keeps the body's
 * Content-Length: it answers a HEAD. */
static char *resp_make(const char *extra, uint64_t body_bytes, bool head_only, uint32_t *out_bytes)
{
    static const char hello[] = "Hello, World!";
    char head[160];
    int hlen = snprintf(head, sizeof(head),
                        "HTTP/1.1 200 OK\r\nContent-Length: %llu\r\n"
                        "Content-Type: text/plain\r\n%s\r\n",
                        (unsigned long long)body_bytes, extra);
    uint64_t body = head_only ? 0 : body_bytes;
    char *b = malloc((size_t)hlen + body);

    if (!b)
        return NULL;
    memcpy(b, head, (size_t)hlen);
    for (uint64_t i = 0; i < body; i++)
        b[hlen + i] = hello[i % (sizeof(hello) - 1)];
    *out_bytes = (uint32_t)(hlen + body);
    return b;
}

static uint32_t resp_copies(uint32_t one_bytes)
{
    uint32_t n = RESP_BATCH_BYTES / one_bytes;

    return n < 1 ? 1 : n > TGT_RESP_MAX_COPIES ? TGT_RESP_MAX_COPIES : n;
}

/* One kind's batch of back-to-back copies; 0 or -ENOMEM. */
static int resp_batch_build(struct tgt_resp_batch *b, enum tgt_kind kind, uint64_t body_bytes)
{
    const char *extra = (kind & TGT_KIND_F_KA) ? "Connection: keep-alive\r\n" : "";
    char *one = resp_make(extra, body_bytes, kind & TGT_KIND_F_HEAD, &b->one_bytes);

    if (!one)
        return -ENOMEM;
    b->copies = resp_copies(b->one_bytes);
    b->many = malloc((size_t)b->one_bytes * b->copies);
    if (b->many)
        for (uint32_t i = 0; i < b->copies; i++)
            memcpy(b->many + (size_t)i * b->one_bytes, one, b->one_bytes);
    free(one);
    return b->many ? 0 : -ENOMEM;
}

/* Build all response variants; 0 or -ENOMEM. */
int tgt_resp_build(struct tgt_resp *r, uint64_t body_bytes)
{
    static const char bad[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                              "Connection: close\r\n\r\n";
    static const char close[] = "Connection: close\r\n";
    int ret = 0;

    memset(r, 0, sizeof(*r));
    for (unsigned k = 0; k < TGT_KIND_NR && ret == 0; k++)
        ret = resp_batch_build(&r->kind[k], (enum tgt_kind)k, body_bytes);
    r->close[0] = resp_make(close, body_bytes, false, &r->close_bytes[0]);
    r->close[1] = resp_make(close, body_bytes, true, &r->close_bytes[1]);
    static const char ws_404[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                 "Connection: close\r\n\r\n";
    static const char ws_400[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                                 "Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n";

    r->bad = strdup(bad);
    r->bad_bytes = sizeof(bad) - 1;
    r->ws_404 = ws_404;
    r->ws_404_bytes = sizeof(ws_404) - 1;
    r->ws_400 = ws_400;
    r->ws_400_bytes = sizeof(ws_400) - 1;
    if (ret < 0 || !r->close[0] || !r->close[1] || !r->bad) {
        tgt_resp_free(r);
        return -ENOMEM;
    }
    return 0;
}

void tgt_resp_free(struct tgt_resp *r)
{
    for (unsigned k = 0; k < TGT_KIND_NR; k++)
        free(r->kind[k].many);
    free(r->close[0]);
    free(r->close[1]);
    free(r->bad);
    memset(r, 0, sizeof(*r));
}
