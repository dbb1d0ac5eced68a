/*
 * cli.h - argv -> struct plan.
 *
 * One option table drives parsing, validation messages and --help. Every
 * bad value is reported with the flag and the offending text; the caller
 * exits with the returned code.
 */
#ifndef STAMPEDE_CLI_H
#define STAMPEDE_CLI_H

#include <stdio.h>

#include "plan.h"

enum cli_rc {
    CLI_RUN = 0,     /* plan is ready */
    CLI_EXIT_OK,     /* --help / --version printed */
    CLI_EXIT_USAGE,  /* error printed; exit 2 */
    CLI_EXIT_RUNTIME, /* e.g. host name did not resolve; exit 1 */
};

enum cli_rc cli_parse(int argc, char **argv, struct plan *p);

void cli_usage(FILE *f);

/* Edit distance, for "did you mean" (exposed for tests). */
unsigned cli_distance(const char *a, const char *b);

#endif
