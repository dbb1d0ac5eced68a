/*
 * wsp.c - a client WebSocket session over buffers, on wslay's event API;
 * see wsp.h.
 *
 * wslay pulls bytes through the recv callback (copied from p->in until it
 * is exhausted, then WSLAY_ERR_WOULDBLOCK) and pushes frames through the
 * send callback (appended to p->out until it is full, then WOULDBLOCK).
 * wslay_event_recv only asks for more bytes once everything it holds is
 * processed, so after wsp_feed the only bytes wslay keeps are a partial
 * frame; rx_fed - rx_done counts them (header bytes included), which is
 * what wsp_idle needs and what on_frame_recv_start/end alone cannot tell.
 *
 * wslay reports most protocol errors by queueing a close and disabling
 * reads, with a 0 return: wsp_feed turns "reads disabled, no close
 * received" into an error. To tell "too big" (1009) from the rest it looks
 * at the header wslay refused, which starts at stream offset rx_done: in
 * this call's input, or in p->hdr, the unstarted header bytes of earlier
 * calls.
 *
 * Known wslay 1.1.1 quirk (upstream too): the UTF-8 check of a close
 * frame's reason runs per received chunk and skips the first 2 bytes of
 * every chunk, not only the code. A close frame split across reads whose
 * reason is not ASCII may be refused (1007) or an invalid one accepted,
 * depending on the split; code-only and ASCII reasons are unaffected.
 *
 * Hot path: wsp_feed, wsp_queue_msg, wsp_output on every message.
 */
#include "wsp.h"

#include <string.h>

enum {
    WSP_F_IN_FRAME = 1 << 0,     /* between on_frame_recv_start and _end */
    WSP_F_IN_MSG = 1 << 1,       /* a fragmented data message is under way */
    WSP_F_CLOSE_QUEUED = 1 << 2, /* wsp_queue_close was called */
    WSP_F_HANDED = 1 << 3,       /* out[0..out_len) was returned by wsp_output */
    WSP_F_CLOSE_END = 1 << 4,    /* a close frame was received whole */
};

static void wsp_fail(struct wsp *p, int err)
{
    if (!p->err)
        p->err = (int8_t)err;
}

/* xorshift64*, as worker_rand; a zero state would stick at zero. */
static uint32_t wsp_rand32(struct wsp *p)
{
    uint64_t x = *p->rng ? *p->rng : 0x9e3779b97f4a7c15ull;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *p->rng = x;
    return (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 32);
}

static ssize_t wsp_recv_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                           void *user)
{
    struct wsp *p = user;
    size_t n = p->in_len - p->in_off;

    (void)flags;
    if (!n) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(buf, p->in + p->in_off, n);
    p->in_off += n;
    p->rx_fed += n;
    return (ssize_t)n;
}

static ssize_t wsp_send_cb(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                           void *user)
{
    struct wsp *p = user;
    size_t n = p->out_cap - p->out_len;

    (void)flags;
    if (!n) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    if (n > len)
        n = len;
    memcpy(p->out + p->out_len, data, n);
    p->out_len += (uint32_t)n;
    return (ssize_t)n;
}

static int wsp_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
    struct wsp *p = user;

    (void)ctx;
    for (size_t i = 0; i < len; i += 4) {
        uint32_t r = wsp_rand32(p);
        memcpy(buf + i, &r, len - i < 4 ? len - i : 4);
    }
    return 0;
}

static bool wsp_is_data(uint8_t op)
{
    return op == WSLAY_CONTINUATION_FRAME || op == WSLAY_TEXT_FRAME || op == WSLAY_BINARY_FRAME;
}

static bool wsp_is_ctrl(uint8_t op)
{
    return op == WSLAY_CONNECTION_CLOSE || op == WSLAY_PING || op == WSLAY_PONG;
}

/* Wire size of an unmasked frame header: wslay rejects non-minimal
 * lengths, so the payload length decides it. */
static uint64_t wsp_hdr_size(uint64_t len)
{
    return len < 126 ? 2 : len < 65536 ? 4 : 10;
}

static void wsp_frame_start_cb(wslay_event_context_ptr ctx,
                               const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    struct wsp *p = user;

    p->flags |= WSP_F_IN_FRAME;
    p->frame_len = arg->payload_length;
    p->frame_op = (uint8_t)(arg->opcode | (arg->fin ? 0x80 : 0));
    if (arg->opcode == WSLAY_TEXT_FRAME || arg->opcode == WSLAY_BINARY_FRAME)
        p->msg_len = arg->payload_length;
    else if (arg->opcode == WSLAY_CONTINUATION_FRAME)
        p->msg_len += arg->payload_length;
    if (arg->opcode == WSLAY_PING && wslay_event_get_queued_msg_count(ctx) >= WSP_FLOOD_MAX) {
        /* this ping's pong is still queued, and dropped behind the close */
        wsp_fail(p, WSP_ERR_FLOOD);
        wslay_event_shutdown_read(ctx);
        wslay_event_queue_close(ctx, WSLAY_CODE_POLICY_VIOLATION, NULL, 0);
    }
}

static void wsp_frame_end_cb(wslay_event_context_ptr ctx, void *user)
{
    struct wsp *p = user;
    uint8_t op = p->frame_op & 0x0f;

    (void)ctx;
    p->flags &= (uint8_t)~WSP_F_IN_FRAME;
    p->rx_done += wsp_hdr_size(p->frame_len) + p->frame_len;
    if (wsp_is_data(op)) {
        if (p->frame_op & 0x80) {
            p->flags &= (uint8_t)~WSP_F_IN_MSG;
            p->msg_len = 0;
        } else {
            p->flags |= WSP_F_IN_MSG;
        }
    } else if (op == WSLAY_CONNECTION_CLOSE) {
        p->flags |= WSP_F_CLOSE_END;
    }
}

static void wsp_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                       void *user)
{
    struct wsp *p = user;
    const uint8_t *data = arg->msg ? arg->msg : (const uint8_t *)"";

    (void)ctx;
    switch (arg->opcode) {
    case WSLAY_TEXT_FRAME:
    case WSLAY_BINARY_FRAME:
        if (p->cb->on_msg)
            p->cb->on_msg(p->user, arg->opcode, data, arg->msg_length);
        break;
    case WSLAY_PONG:
        if (p->cb->on_pong)
            p->cb->on_pong(p->user, data, arg->msg_length);
        break;
    case WSLAY_CONNECTION_CLOSE:
        if (p->cb->on_close)
            p->cb->on_close(p->user, arg->status_code ? arg->status_code : 1005);
        break;
    default:
        break; /* a ping: wslay queued its pong */
    }
}

static const struct wslay_event_callbacks wsp_wslay_cb = {
    .recv_callback = wsp_recv_cb,
    .send_callback = wsp_send_cb,
    .genmask_callback = wsp_genmask_cb,
    .on_frame_recv_start_callback = wsp_frame_start_cb,
    .on_frame_recv_end_callback = wsp_frame_end_cb,
    .on_msg_recv_callback = wsp_msg_cb,
};

int wsp_open(struct wsp *p, const struct wsp_cb *cb, void *user, uint64_t *rng, char *out,
             uint32_t out_cap, uint64_t max_msg)
{
    memset(p, 0, sizeof(*p));
    if (out_cap < WSP_HDR_MAX)
        return WSP_ERR_INVAL;
    if (wslay_event_context_client_init(&p->ctx, &wsp_wslay_cb, p)) {
        p->ctx = NULL;
        return WSP_ERR_NOMEM;
    }
    wslay_event_config_set_max_recv_msg_length(p->ctx, max_msg);
    p->cb = cb;
    p->user = user;
    p->rng = rng;
    p->out = out;
    p->out_cap = out_cap;
    p->max_msg = max_msg;
    return 0;
}

void wsp_free(struct wsp *p)
{
    if (p->ctx)
        wslay_event_context_free(p->ctx);
    p->ctx = NULL;
}

/* Stream byte `off` (absolute offset), from p->hdr or this call's input;
 * fed0 is rx_fed when the call began. -1 if it is in neither. */
static int wsp_stream_byte(const struct wsp *p, uint64_t fed0, uint64_t off)
{
    if (off >= fed0)
        return off - fed0 < p->in_off ? (uint8_t)p->in[off - fed0] : -1;
    return fed0 - off <= p->hdr_len ? p->hdr[p->hdr_len - (fed0 - off)] : -1;
}

/* wslay stopped reading without a close: 1009 if the header it refused
 * (at rx_done, no frame started) makes the message longer than max_msg
 * (a control frame counts alone), with the checks in wslay_event_recv's
 * order (reserved bits and mask, then the opcode, then the size); else
 * 1002 or 1007. */
static int wsp_classify(const struct wsp *p, uint64_t fed0)
{
    uint8_t b[10];
    uint64_t len, have = p->rx_fed - p->rx_done;
    size_t need = 2;
    uint8_t op;
    bool cont;

    if (p->flags & (WSP_F_IN_FRAME | WSP_F_CLOSE_END))
        return WSP_ERR_PROTO;
    for (size_t i = 0; i < sizeof(b) && i < have; i++) {
        int c = wsp_stream_byte(p, fed0, p->rx_done + i);
        if (c < 0)
            return WSP_ERR_PROTO;
        b[i] = (uint8_t)c;
    }
    if (have < 2 || (b[0] & 0x70) || (b[1] & 0x80))
        return WSP_ERR_PROTO;
    /* opcodes wslay accepts here; the size check covers control frames too */
    op = b[0] & 0x0f;
    cont = op == WSLAY_CONTINUATION_FRAME;
    if (!wsp_is_ctrl(op) && (!wsp_is_data(op) || cont != !!(p->flags & WSP_F_IN_MSG)))
        return WSP_ERR_PROTO;
    len = b[1] & 0x7f;
    if (len >= 126)
        need += len == 126 ? 2 : 8;
    if (have < need)
        return WSP_ERR_PROTO;
    if (need > 2) {
        len = 0;
        for (size_t i = 2; i < need; i++)
            len = len << 8 | b[i];
    }
    return (cont ? p->msg_len : 0) + len > p->max_msg ? WSP_ERR_TOO_BIG : WSP_ERR_PROTO;
}

/* After a call: keep the unstarted header bytes for wsp_classify. */
static void wsp_keep_hdr(struct wsp *p, uint64_t fed0)
{
    uint64_t pending = p->rx_fed - p->rx_done;
    uint8_t tmp[WSP_HDR_MAX];

    if ((p->flags & WSP_F_IN_FRAME) || pending > WSP_HDR_MAX) {
        p->hdr_len = 0;
        return;
    }
    for (uint64_t i = 0; i < pending; i++) {
        int c = wsp_stream_byte(p, fed0, p->rx_done + i);
        tmp[i] = (uint8_t)(c < 0 ? 0 : c);
    }
    memcpy(p->hdr, tmp, pending);
    p->hdr_len = (uint8_t)pending;
}

int wsp_feed(struct wsp *p, const char *buf, size_t len)
{
    uint64_t fed0 = p->rx_fed;
    int rc;

    if (p->err)
        return p->err;
    if (!p->ctx)
        return WSP_ERR_CLOSED;
    if (!wslay_event_get_read_enabled(p->ctx))
        return 0; /* after the server's close */
    p->in = buf;
    p->in_len = len;
    p->in_off = 0;
    rc = wslay_event_recv(p->ctx);
    if (rc)
        wsp_fail(p, rc == WSLAY_ERR_NOMEM ? WSP_ERR_NOMEM : WSP_ERR_PROTO);
    else if (!wslay_event_get_read_enabled(p->ctx) && !wslay_event_get_close_received(p->ctx))
        wsp_fail(p, wsp_classify(p, fed0));
    else
        wsp_keep_hdr(p, fed0);
    p->in = NULL;
    p->in_len = p->in_off = 0;
    return p->err;
}

/* Why a message cannot be queued now, or 0. */
static int wsp_can_queue(struct wsp *p)
{
    if (!p->ctx || p->err || (p->flags & WSP_F_CLOSE_QUEUED) ||
        !wslay_event_get_read_enabled(p->ctx) || !wslay_event_get_write_enabled(p->ctx))
        return WSP_ERR_CLOSED;
    if (wslay_event_get_queued_msg_count(p->ctx) >= WSP_QUEUE_MAX)
        return WSP_ERR_QUEUE;
    return 0;
}

/* XOR-copy with the 4-byte key, 8 bytes at a time: the payload starts at
 * offset 0, so every 8-byte block sees the key twice, in order. */
static void wsp_mask_copy(uint8_t *dst, const uint8_t *src, size_t len, const uint8_t key[4])
{
    uint64_t m, x;
    size_t i = 0;

    memcpy(&m, key, 4);
    memcpy((uint8_t *)&m + 4, key, 4);
    for (; i + 8 <= len; i += 8) {
        memcpy(&x, src + i, 8);
        x ^= m;
        memcpy(dst + i, &x, 8);
    }
    for (; i < len; i++)
        dst[i] = src[i] ^ key[i & 3];
}

/* The fast path (wsp.h): encode a whole frame into out. False if it does
 * not fit. */
static bool wsp_encode(struct wsp *p, int opcode, const uint8_t *data, size_t len)
{
    size_t ext = len < 126 ? 0 : len < 65536 ? 2 : 8, hdr = 2 + ext + 4;
    uint8_t *o = (uint8_t *)p->out + p->out_len;
    uint32_t key;

    if (hdr + len > p->out_cap - p->out_len)
        return false;
    key = wsp_rand32(p);
    o[0] = (uint8_t)(0x80 | opcode);
    o[1] = (uint8_t)(0x80 | (ext == 0 ? len : ext == 2 ? 126 : 127));
    for (size_t i = 0; i < ext; i++)
        o[2 + i] = (uint8_t)((uint64_t)len >> (8 * (ext - 1 - i)));
    memcpy(o + 2 + ext, &key, 4);
    wsp_mask_copy(o + hdr, data, len, o + 2 + ext);
    p->out_len += (uint32_t)(hdr + len);
    return true;
}

static int wsp_wslay_err(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case WSLAY_ERR_NO_MORE_MSG:
        return WSP_ERR_CLOSED;
    case WSLAY_ERR_NOMEM:
        return WSP_ERR_NOMEM;
    default:
        return WSP_ERR_INVAL;
    }
}

int wsp_queue_msg(struct wsp *p, int opcode, const void *data, size_t len)
{
    struct wslay_event_msg m = {.opcode = (uint8_t)opcode, .msg = data, .msg_length = len};
    int rc;

    if (opcode != WSLAY_TEXT_FRAME && opcode != WSLAY_BINARY_FRAME)
        return WSP_ERR_INVAL;
    rc = wsp_can_queue(p);
    if (rc)
        return rc;
    if (!(p->flags & WSP_F_HANDED) && !wslay_event_get_queued_msg_count(p->ctx) &&
        wsp_encode(p, opcode, data, len))
        return 0;
    return wsp_wslay_err(wslay_event_queue_msg(p->ctx, &m));
}

int wsp_queue_ping(struct wsp *p, const void *data, size_t len)
{
    struct wslay_event_msg m = {.opcode = WSLAY_PING, .msg = data, .msg_length = len};
    int rc;

    if (len > 125)
        return WSP_ERR_INVAL;
    rc = wsp_can_queue(p);
    return rc ? rc : wsp_wslay_err(wslay_event_queue_msg(p->ctx, &m));
}

int wsp_queue_close(struct wsp *p, uint16_t code)
{
    int rc;

    if (!p->ctx || (p->flags & WSP_F_CLOSE_QUEUED))
        return WSP_ERR_CLOSED;
    rc = wsp_wslay_err(wslay_event_queue_close(p->ctx, code, NULL, 0));
    if (!rc)
        p->flags |= WSP_F_CLOSE_QUEUED;
    return rc;
}

uint32_t wsp_output(struct wsp *p)
{
    int rc;

    if (p->ctx) {
        rc = wslay_event_send(p->ctx);
        if (rc)
            wsp_fail(p, rc == WSLAY_ERR_NOMEM ? WSP_ERR_NOMEM : WSP_ERR_PROTO);
    }
    if (p->out_len)
        p->flags |= WSP_F_HANDED;
    return p->out_len;
}

void wsp_sent(struct wsp *p)
{
    p->out_len = 0;
    p->flags &= (uint8_t)~WSP_F_HANDED;
}

bool wsp_idle(const struct wsp *p)
{
    if (!p->ctx)
        return true;
    return !p->err && p->rx_fed == p->rx_done && !p->out_len &&
           !(p->flags & (WSP_F_IN_MSG | WSP_F_CLOSE_QUEUED)) &&
           !wslay_event_get_queued_msg_count(p->ctx) && wslay_event_get_read_enabled(p->ctx) &&
           wslay_event_get_write_enabled(p->ctx);
}

bool wsp_closed(const struct wsp *p)
{
    if (!p->ctx || p->err)
        return true;
    return wslay_event_get_close_sent(p->ctx) && wslay_event_get_close_received(p->ctx);
}

uint16_t wsp_close_code_sent(const struct wsp *p)
{
    if (!p->ctx || !wslay_event_get_close_sent(p->ctx))
        return 0;
    return wslay_event_get_status_code_sent(p->ctx);
}

static const char *const wsp_err_names[] = {
    [0] = "ok",
    [-WSP_ERR_PROTO] = "protocol error",
    [-WSP_ERR_TOO_BIG] = "message too big",
    [-WSP_ERR_FLOOD] = "ping flood",
    [-WSP_ERR_QUEUE] = "send queue full",
    [-WSP_ERR_CLOSED] = "closed",
    [-WSP_ERR_INVAL] = "invalid argument",
    [-WSP_ERR_NOMEM] = "out of memory",
};

const char *wsp_strerror(int err)
{
    if (err > 0 || -err >= (int)(sizeof(wsp_err_names) / sizeof(wsp_err_names[0])))
        return "unknown error";
    return wsp_err_names[-err];
}
