/*
 * fuzz_merge.c - libFuzzer target for stampede merge: arbitrary bytes as
 * result files through merge_cmd (-q, no output file: the merged JSON is
 * still built in memory, thresholds judged). The input is split at its
 * first NUL byte into two files (without one, the file is merged with
 * itself), so both the checks between files and the merge of two
 * different results are reached. Every input must be merged or refused
 * (exit 2) without crashing, leaking or reading out of bounds; ASan and
 * UBSan judge. The files are memfds: libfyaml reads a path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "merge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
    int fd = memfd_create("result", 0);

    if (fd < 0)
        return -1;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return -1;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n1 = nul ? (size_t)(nul - data) : size;
    char p1[64], p2[64], q[] = "-q";
    char *argv[] = {p1, p2, q, NULL};
    struct ci_opts ci;
    int fd1, fd2 = -1;

    memset(&ci, 0, sizeof(ci));
    fd1 = fz_file(data, n1, p1, sizeof(p1));
    if (fd1 < 0)
        return 0;
    if (nul)
        fd2 = fz_file(nul + 1, size - n1 - 1, p2, sizeof(p2));
    else
        snprintf(p2, sizeof(p2), "%s", p1);
    if (!nul || fd2 >= 0)
        merge_cmd(3, argv, &ci);
    close(fd1);
    if (fd2 >= 0)
        close(fd2);
    return 0;
}
