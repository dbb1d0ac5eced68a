/*
 * t.h - tiny TAP-ish helpers shared by the unit programs in tests/unit.
 *
 * ok(cond, fmt, ...) records one check; note() prints a comment; done()
 * prints the tally and returns the process exit code (0 all passed, 1 some
 * failed). A program that cannot run here returns T_SKIP (77).
 */
#ifndef STAMPEDE_T_H
#define STAMPEDE_T_H

#include <stdarg.h>
#include <stdio.h>

#define T_SKIP 77

static int t_pass, t_fail;

static inline void t_vok(int cond, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static inline void t_vok(int cond, const char *file, int line, const char *fmt, ...)
{
    va_list ap;

    if (cond) {
        t_pass++;
        return;
    }
    t_fail++;
    fprintf(stderr, "not ok %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

#define ok(cond, ...) t_vok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define note(...) (fprintf(stderr, "# " __VA_ARGS__), fputc('\n', stderr))

static inline int done(void)
{
    fprintf(stderr, "# %d checks passed, %d failed\n", t_pass, t_fail);
    return t_fail ? 1 : 0;
}

#endif
