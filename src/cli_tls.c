/*
 * cli_tls.c - TLS flags and the shared client context; see cli_tls.h.
 *
 * Files are checked here (readable, not a directory) so a typo reads
 * "--cacert 'x.pem': No such file or directory" rather than OpenSSL's
 * library-level reason; what OpenSSL then refuses (not PEM, key does not
 * match) it names itself, through tls_client_ctx_new.
 */
#include "cli_tls.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "tls.h"
#include "xtls.h"

static enum cli_rc tls_bad(const char *opt, const char *val, const char *expect)
{
    fprintf(CLI_ERR, "stampede: %s: invalid value '%s': expected %s\n", opt, val, expect);
    return CLI_EXIT_USAGE;
}

static enum cli_rc tls_file(const char *opt, const char *path, const char **dst)
{
    struct stat st;

    if (stat(path, &st)) {
        fprintf(CLI_ERR, "stampede: %s '%s': %s\n", opt, path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (S_ISDIR(st.st_mode)) {
        fprintf(CLI_ERR, "stampede: %s '%s': is a directory, not a PEM file\n", opt, path);
        return CLI_EXIT_USAGE;
    }
    *dst = path;
    return CLI_RUN;
}

static enum cli_rc tls_onoff(const char *opt, const char *arg, bool *dst)
{
    if (!strcasecmp(arg, "on") || !strcasecmp(arg, "yes") || !strcmp(arg, "1"))
        *dst = true;
    else if (!strcasecmp(arg, "off") || !strcasecmp(arg, "no") || !strcmp(arg, "0"))
        *dst = false;
    else
        return tls_bad(opt, arg, "on or off");
    return CLI_RUN;
}

enum cli_rc cli_tls_opt(struct plan *p, int c, const char *arg)
{
    struct tls_client_cfg *t = &p->tls_cfg;

    p->tls_flags_given = true;
    switch (c) {
    case O_TLS_CACERT:
        return tls_file("--cacert", arg, &t->cacert);
    case O_TLS_INSECURE:
        t->insecure = true;
        return CLI_RUN;
    case O_TLS_MIN:
        if (!strcmp(arg, "1.2"))
            t->min_version = TLS1_2_VERSION;
        else if (!strcmp(arg, "1.3"))
            t->min_version = TLS1_3_VERSION;
        else
            return tls_bad("--tls-min", arg, "1.2 or 1.3");
        return CLI_RUN;
    case O_TLS_CIPHERS:
        t->ciphers = arg;
        return CLI_RUN;
    case O_TLS13_CIPHERS:
        t->tls13_ciphers = arg;
        return CLI_RUN;
    case O_TLS_ALPN:
        t->alpn = arg;
        return CLI_RUN;
    case O_TLS_CERT:
        return tls_file("--cert", arg, &t->cert);
    case O_TLS_KEY:
        return tls_file("--key", arg, &t->key);
    case O_TLS_RESUME:
        return tls_onoff("--tls-resume", arg, &t->resume);
    default:
        return CLI_EXIT_USAGE;
    }
}

enum cli_rc cli_tls_finish(struct plan *p)
{
    char err[512];

    if (!p->tls) {
        if (!p->tls_flags_given)
            return CLI_RUN;
        fprintf(CLI_ERR, "stampede: TLS options apply to https:// and wss:// URLs only, not "
                        "'%s'\n", p->url);
        return CLI_EXIT_USAGE;
    }
    if (p->tls_cfg.key && !p->tls_cfg.cert) {
        fputs("stampede: --key needs --cert\n", CLI_ERR);
        return CLI_EXIT_USAGE;
    }
    p->tls_ctx = tls_client_ctx_new(&p->tls_cfg, err, sizeof(err));
    if (!p->tls_ctx) {
        fprintf(CLI_ERR, "stampede: %s\n", err);
        return CLI_EXIT_USAGE;
    }
    xtls_ctx_setup(p->tls_ctx, &p->tls_cfg);
    return CLI_RUN;
}

void cli_tls_fini(struct plan *p)
{
    SSL_CTX_free(p->tls_ctx);
    p->tls_ctx = NULL;
}
