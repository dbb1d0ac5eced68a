/*
 * html.c - the HTML report (stub: being written).
 */
#include "html.h"

#include <errno.h>
#include <stdio.h>

int html_write(const char *path, const char *json, size_t len)
{
    (void)path;
    (void)json;
    (void)len;
    return -ENOSYS;
}

int html_cmd_report(int argc, char **argv, const char *html_path)
{
    (void)html_path;
    (void)argc;
    (void)argv;
    fputs("stampede: report: not implemented yet\n", stderr);
    return 2;
}
