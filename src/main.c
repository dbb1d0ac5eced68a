/*
 * main.c - parse, run, report, exit. Exit codes: 0 ok, 1 runtime failure,
 * 2 usage or config error, 130 interrupted (report still written).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "report.h"
#include "sysinfo.h"

int main(int argc, char **argv)
{
    static struct plan plan;
    struct result *r;
    FILE *ts_out = NULL;
    int code;

    /* a peer closing mid-send must never kill the process */
    signal(SIGPIPE, SIG_IGN);
    switch (cli_parse(argc, argv, &plan)) {
    case CLI_RUN:
        break;
    case CLI_EXIT_OK:
        return EXIT_OK;
    case CLI_EXIT_RUNTIME:
        return EXIT_RUNTIME;
    default:
        return EXIT_USAGE;
    }
    r = malloc(sizeof(*r));
    if (!r) {
        fputs("stampede: out of memory\n", stderr);
        return EXIT_RUNTIME;
    }
    if (plan.timeseries_path) {
        ts_out = fopen(plan.timeseries_path, "w");
        if (!ts_out) {
            fprintf(stderr, "stampede: cannot write --timeseries %s: %s\n",
                    plan.timeseries_path, strerror(errno));
            free(r);
            return EXIT_USAGE;
        }
    }
    sysinfo_check(stderr, &plan);
    code = engine_run(&plan, r, ts_out);
    if (ts_out && fclose(ts_out) && code == EXIT_OK)
        code = EXIT_RUNTIME;
    if (!plan.quiet)
        report_text(plan.json_path && !strcmp(plan.json_path, "-") ? stderr : stdout, &plan, r);
    else if (code != EXIT_OK)
        fprintf(stderr, "stampede: %s\n", r->exit_reason);
    if (plan.json_path) {
        int err = report_json_file(plan.json_path, &plan, r);

        if (err) {
            fprintf(stderr, "stampede: cannot write %s: %s\n", plan.json_path, strerror(-err));
            if (code == EXIT_OK)
                code = EXIT_RUNTIME;
        }
    }
    free(r);
    plan_fini(&plan);
    return code;
}
