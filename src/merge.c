/*
 * merge.c - stampede merge (stub: being written).
 */
#include "merge.h"

#include <stdio.h>

int merge_cmd(int argc, char **argv, struct ci_opts *ci)
{
    (void)argc;
    (void)argv;
    (void)ci;
    fputs("stampede: merge: not implemented yet\n", stderr);
    return 2;
}
