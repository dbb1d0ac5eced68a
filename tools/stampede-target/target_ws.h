/*
 * target_ws.h - the WebSocket protocol pieces of stampede-target (RFC 6455,
 * server side), kept apart from the ring so they can be tested alone:
 * the upgrade request check and the 101 answer, the receive-side frame
 * parser with message reassembly, unmasking, and frame headers.
 *
 * The frame parser takes receive buffers as they come: a frame may be cut
 * at any byte and one buffer may hold many frames. It never copies a
 * message that arrives whole in one buffer (it is unmasked in place and
 * handed out by pointer); only a message spanning buffers, or a control
 * frame cut in two, is gathered in a buffer the parser allocates while the
 * message is partial and frees at the next call after handing it out.
 */
#ifndef STAMPEDE_TARGET_WS_H
#define STAMPEDE_TARGET_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TGT_WS_OP_CONT 0x0
#define TGT_WS_OP_TEXT 0x1
#define TGT_WS_OP_BINARY 0x2
#define TGT_WS_OP_CLOSE 0x8
#define TGT_WS_OP_PING 0x9
#define TGT_WS_OP_PONG 0xa

#define TGT_WS_CLOSE_NORMAL 1000
#define TGT_WS_CLOSE_PROTOCOL 1002
#define TGT_WS_CLOSE_POLICY 1008
#define TGT_WS_CLOSE_TOO_BIG 1009
#define TGT_WS_CLOSE_INTERNAL 1011

#define TGT_WS_HDR_MAX 14          /* 2 + 8 (length) + 4 (mask) */
#define TGT_WS_CTL_MAX 125         /* control frame payload limit */
#define TGT_WS_PROTO_MAX 128       /* longest subprotocol token echoed */
#define TGT_WS_101_MAX (160 + TGT_WS_PROTO_MAX)

/* Where an upgrade may go: "/echo" (and "/", its alias) or "/rooms/N". */
enum tgt_ws_path { TGT_WS_PATH_ECHO, TGT_WS_PATH_ROOM };

/* What to do with a request head that carries an Upgrade header. */
enum tgt_hs_result {
    TGT_HS_NOT_WS,    /* no "websocket" token in Upgrade: plain HTTP request */
    TGT_HS_OK,        /* answer 101 */
    TGT_HS_NOT_FOUND, /* WebSocket upgrade on a path we do not serve: 404 */
    TGT_HS_BAD,       /* malformed upgrade (method, version, key, ...): 400 */
};

/* A parsed upgrade; pointers into the head that was parsed. */
struct tgt_ws_hs {
    enum tgt_ws_path path;
    uint32_t room_n;    /* N of /rooms/N */
    const char *key;    /* Sec-WebSocket-Key, 24 base64 characters */
    const char *proto;  /* first offered subprotocol, or NULL */
    uint32_t proto_len;
};

/* Classify one complete request head (request line to the blank line). */
enum tgt_hs_result tgt_ws_hs_parse(const char *head, size_t len, struct tgt_ws_hs *hs);

/* base64(SHA1(key + GUID)) into out (28 characters and a NUL). 0 or -EIO. */
int tgt_ws_accept(const char *key, size_t key_len, char out[29]);

/* The 101 answer for hs into out (TGT_WS_101_MAX bytes); its length, or
 * -EIO when the digest fails. */
int tgt_ws_101(const struct tgt_ws_hs *hs, char *out);

/* Events of tgt_ws_feed. */
enum tgt_ws_ev_type {
    TGT_WS_EV_NONE,  /* all input used, nothing complete */
    TGT_WS_EV_MSG,   /* a whole data message: op is TEXT or BINARY */
    TGT_WS_EV_PING,
    TGT_WS_EV_PONG,
    TGT_WS_EV_CLOSE, /* code 0 when the frame carried none */
    TGT_WS_EV_ERROR, /* code says which close to send; do not feed again */
};

struct tgt_ws_ev {
    uint8_t *data; /* unmasked payload; valid until the next tgt_ws_feed call and
                      while the fed buffer is */
    uint32_t len;
    uint8_t op;
    uint16_t code;
};

/*
 * Receive state of one connection: 56 bytes, no allocation while idle.
 * msg holds a data message that spans buffers (or is fragmented), ctl a
 * control frame's payload that was cut; both are freed once handed out.
 */
struct tgt_ws_rx {
    uint64_t left;     /* payload bytes of the current frame still to come */
    uint8_t *msg;
    uint8_t *ctl;
    uint32_t msg_len, msg_cap;
    uint32_t mask;     /* the frame's key, rotated so its low byte masks the next byte */
    uint8_t hdr[TGT_WS_HDR_MAX]; /* a header cut between buffers */
    uint8_t hdr_len;   /* its bytes gathered so far */
    uint8_t op;        /* current frame: opcode | 0x80 for FIN */
    uint8_t msg_op;    /* data message under way (TEXT/BINARY), 0 if none */
    uint8_t ctl_len;
    uint8_t in_payload; /* header done, payload (maybe empty) under way */
    uint8_t release;   /* msg or ctl was handed out: free it at the next call */
};

/*
 * Parse from buf (unmasked in place, so it must be writable) until one
 * event or the end of the input; *used says how much was consumed. Data
 * messages over max_msg bytes give ERROR 1009, protocol violations ERROR
 * 1002, allocation failure ERROR 1011.
 */
enum tgt_ws_ev_type tgt_ws_feed(struct tgt_ws_rx *rx, uint8_t *buf, size_t len, uint32_t max_msg,
                                struct tgt_ws_ev *ev, size_t *used);

/* Free the buffers of messages already handed out (the next tgt_ws_feed
 * does it too): call when the input is used up, so nothing is kept. */
void tgt_ws_rx_release(struct tgt_ws_rx *rx);

/* Free what rx holds; it may be reused after (zeroed). */
void tgt_ws_rx_fini(struct tgt_ws_rx *rx);

/* XOR n bytes at p with the 4-byte key (low byte first), 8 at a time. */
void tgt_ws_unmask(uint8_t *p, size_t n, uint32_t mask);

/* Unmasked FIN frame header for a payload of len bytes into out; its size (2, 4 or 10). */
size_t tgt_ws_hdr(uint8_t *out, uint8_t op, uint64_t len);

#endif
