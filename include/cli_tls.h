/*
 * cli_tls.h - flags for TLS (https:// and wss:// URLs), curl's names:
 * --cacert, -k/--insecure, --tls-min, --ciphers, --tls13-ciphers, --alpn,
 * --cert, --key, --tls-resume. cli_tls_finish builds the shared client
 * context once, before any worker starts; a bad file or value is a usage
 * error (exit 2) that names it.
 */
#ifndef STAMPEDE_CLI_TLS_H
#define STAMPEDE_CLI_TLS_H

#include <getopt.h>

#include "cli.h"
#include "plan.h"

enum cli_tls_opt {
    O_TLS_CACERT = 768,
    O_TLS_MIN,
    O_TLS_CIPHERS,
    O_TLS13_CIPHERS,
    O_TLS_ALPN,
    O_TLS_CERT,
    O_TLS_KEY,
    O_TLS_RESUME,
    O_TLS_INSECURE = 'k',
};

#define CLI_TLS_LONG_OPTS                                               \
    {"cacert", required_argument, NULL, O_TLS_CACERT},                  \
    {"insecure", no_argument, NULL, O_TLS_INSECURE},                    \
    {"tls-min", required_argument, NULL, O_TLS_MIN},                    \
    {"ciphers", required_argument, NULL, O_TLS_CIPHERS},                \
    {"tls13-ciphers", required_argument, NULL, O_TLS13_CIPHERS},        \
    {"alpn", required_argument, NULL, O_TLS_ALPN},                      \
    {"cert", required_argument, NULL, O_TLS_CERT},                      \
    {"key", required_argument, NULL, O_TLS_KEY},                        \
    {"tls-resume", required_argument, NULL, O_TLS_RESUME}

#define CLI_TLS_USAGE                                                                  \
    "tls (https:// and wss:// URLs; the certificate is verified by default):\n"        \
    "      --cacert FILE       trust the CA certificates in FILE (PEM) instead of\n"   \
    "                          the system store\n"                                     \
    "  -k, --insecure          do not verify the server's certificate or name\n"       \
    "      --tls-min V         lowest protocol version: 1.2 or 1.3\n"                  \
    "      --ciphers LIST      TLS 1.2 cipher list (OpenSSL syntax)\n"                 \
    "      --tls13-ciphers L   TLS 1.3 cipher suites\n"                                \
    "      --alpn LIST         protocols offered (default http/1.1; '' for none)\n"    \
    "      --cert FILE         client certificate (PEM) for mutual TLS\n"              \
    "      --key FILE          its private key (default: in --cert's file)\n"          \
    "      --tls-resume on|off resume sessions on reconnect (default on)\n"

/* Parse one of the options above. */
enum cli_rc cli_tls_opt(struct plan *p, int c, const char *arg);

/* After the URL is known: refuse TLS flags on a plain URL, build the
 * client context for a TLS one. */
enum cli_rc cli_tls_finish(struct plan *p);

void cli_tls_fini(struct plan *p);

#endif
