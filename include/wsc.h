/*
 * wsc.h - the WebSocket client protocol on one connection (ws:// URLs).
 *
 * After TCP connects, the RFC 6455 upgrade goes out (the plan's encoded
 * request with a fresh random key patched in); the 101 is verified
 * (ws.h), and from then on messages flow through wsp (wslay over
 * buffers). Workloads:
 *   closed loop   --ws-pipeline messages in flight, each reply sends the next;
 *   --ws-rate     one message per connection per period (random phase);
 *   -R / stages   open loop: the worker's backlog, like HTTP;
 *   --ping        a ping every interval (ws_ping_rtt);
 *   --reconnect   --ws-msgs-per-conn messages, then a clean close (1000).
 * Replies: with a template carrying {{conn}} and {{seq}}, a message is ours
 * when its conn is this connection's id, and then answers the oldest
 * message in flight when its seq is that message's (an older seq is a
 * late reply to a message already timed out: counted, not timed); another
 * connection's message carrying {{ts}} gives ws_fanout_latency. Without
 * such a template replies are matched first in, first out.
 *
 * Memory: a connection owns a context (struct wsx: the wslay context, the
 * handshake buffer, the output buffer) only while it is busy; with --hold
 * an idle connection gives it back to the worker's pool and keeps a few
 * dozen bytes in struct conn. Contexts are recycled, never freed before
 * the worker ends.
 */
#ifndef STAMPEDE_WSC_H
#define STAMPEDE_WSC_H

#include <stdint.h>

struct worker;
struct conn;

/* Longest rendering of a scenario's ws_connect path. */
#define WSC_PATH_MAX 1024

int wsc_pool_init(struct worker *w);
void wsc_pool_fini(struct worker *w);

/* The id {{conn}} renders for c: unique in the run. */
uint64_t wsc_conn_id(const struct conn *c);

#endif
