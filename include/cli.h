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

/* Where messages go (stderr when NULL): the scenario loader captures them
 * to attribute them to a file position. */
extern FILE *cli_err;
#define CLI_ERR (cli_err ? cli_err : stderr)

enum cli_rc cli_parse(int argc, char **argv, struct plan *p);

/* Does long option `name` exist (1 takes a value, 0 a switch)? -1: unknown. */
int cli_opt_kind(const char *name);

void cli_usage(FILE *f);

/* Edit distance, for "did you mean" (exposed for tests). */
unsigned cli_distance(const char *a, const char *b);

#endif
