/*
 * t_guard.h - test inputs placed so their last byte sits just before a
 * PROT_NONE page: a parser that reads one byte past its input faults
 * instead of passing by luck.
 */
#ifndef STAMPEDE_T_GUARD_H
#define STAMPEDE_T_GUARD_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

struct t_guard {
    char *end; /* the first byte of the guard page */
};

/* Room for inputs of up to `room` bytes, then the guard page. */
static inline void t_guard_init(struct t_guard *g, size_t room)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    char *m;

    room = (room + page - 1) / page * page;
    m = mmap(NULL, room + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED || mprotect(m + room, page, PROT_NONE)) {
        perror("mmap/mprotect");
        exit(1);
    }
    g->end = m + room;
}

/* Copy n bytes of src to end right before the guard page. */
static inline char *t_place(const struct t_guard *g, const void *src, size_t n)
{
    char *dst = g->end - n;

    if (n)
        memcpy(dst, src, n);
    return dst;
}

#endif
