/*
 * cli_ws.h - flags for WebSocket, sessions (--reconnect, --sessions,
 * --requests-per-conn) and connection holding (--hold, --ping, --source),
 * and the parts of the plan they build (upgrade request, message
 * template or payload, source addresses).
 */
#ifndef STAMPEDE_CLI_WS_H
#define STAMPEDE_CLI_WS_H

#include <getopt.h>

#include "cli.h"
#include "plan.h"

enum cli_ws_opt {
    O_WS_MSG = 512,
    O_WS_MSG_FILE,
    O_WS_MSG_SIZE,
    O_WS_BINARY,
    O_WS_PIPELINE,
    O_WS_RATE,
    O_WS_SUBPROTOCOL,
    O_WS_MSGS_PER_CONN,
    O_WS_MAX_MSG,
    O_PING,
    O_RECONNECT,
    O_RECONNECT_DELAY,
    O_SESSIONS,
    O_REQUESTS_PER_CONN,
    O_HOLD,
    O_SOURCE,
    O_WS_EXPECT_CONTAINS,
    O_WS_EXPECT_JSON,
};

#define CLI_WS_LONG_OPTS                                                   \
    {"ws-msg", required_argument, NULL, O_WS_MSG},                         \
    {"ws-msg-file", required_argument, NULL, O_WS_MSG_FILE},               \
    {"ws-msg-size", required_argument, NULL, O_WS_MSG_SIZE},               \
    {"ws-binary", no_argument, NULL, O_WS_BINARY},                         \
    {"ws-pipeline", required_argument, NULL, O_WS_PIPELINE},               \
    {"ws-rate", required_argument, NULL, O_WS_RATE},                       \
    {"ws-subprotocol", required_argument, NULL, O_WS_SUBPROTOCOL},         \
    {"ws-msgs-per-conn", required_argument, NULL, O_WS_MSGS_PER_CONN},     \
    {"ws-max-msg", required_argument, NULL, O_WS_MAX_MSG},                 \
    {"ping", required_argument, NULL, O_PING},                             \
    {"reconnect", no_argument, NULL, O_RECONNECT},                         \
    {"reconnect-delay", required_argument, NULL, O_RECONNECT_DELAY},       \
    {"sessions", required_argument, NULL, O_SESSIONS},                     \
    {"requests-per-conn", required_argument, NULL, O_REQUESTS_PER_CONN},   \
    {"hold", no_argument, NULL, O_HOLD},                                   \
    {"source", required_argument, NULL, O_SOURCE},                         \
    {"ws-expect-contains", required_argument, NULL, O_WS_EXPECT_CONTAINS}, \
    {"ws-expect-json", required_argument, NULL, O_WS_EXPECT_JSON}

#define CLI_WS_USAGE                                                                   \
    "websocket (ws:// URLs):\n"                                                        \
    "      --ws-msg STR        message; {{conn}} {{seq}} {{ts}} are filled per message\n" \
    "      --ws-msg-file FILE  message from a file\n"                                  \
    "      --ws-msg-size SIZE  random message of SIZE bytes (default 64)\n"            \
    "      --ws-binary         binary frames (default text)\n"                         \
    "      --ws-pipeline N     messages in flight per connection (default 1)\n"        \
    "      --ws-rate R         per connection: one message per period (1/5s, 10/s)\n"  \
    "      --ws-subprotocol P  offer Sec-WebSocket-Protocol P\n"                       \
    "      --ws-max-msg SIZE   largest message accepted (default 16MiB)\n"             \
    "      --ws-expect-contains S  a reply is the next message containing S\n"        \
    "      --ws-expect-json F=V    a reply is the next message whose JSON field F\n"  \
    "                          equals V (default: the echo of the message sent)\n"    \
    "      --ping D            send a ping every D per connection (ws_ping_rtt)\n"     \
    "sessions and connections:\n"                                                      \
    "      --reconnect         close after each session and connect again\n"           \
    "      --ws-msgs-per-conn N  WebSocket messages per session (default 0)\n"         \
    "      --requests-per-conn N HTTP requests per connection (default 1 with\n"       \
    "                          --reconnect)\n"                                         \
    "      --reconnect-delay D wait about D (jittered) before reconnecting\n"          \
    "      --sessions N        stop after exactly N sessions\n"                        \
    "      --hold              open -c connections and keep them alive (--ping D,\n"   \
    "                          default 30s: a WebSocket ping or an HTTP request)\n"    \
    "      --source A,B,...    local addresses to connect from (default: spread\n"     \
    "                          over 127.0.0.x for loopback targets past 8000)\n"

/* Parse one of the options above. */
enum cli_rc cli_ws_opt(struct plan *p, int c, const char *arg);

/* After the URL and the load model are known: check combinations, build
 * the upgrade request and the payload, choose source addresses. */
enum cli_rc cli_ws_finish(struct plan *p, const char *target);

void cli_ws_fini(struct plan *p);

#endif
