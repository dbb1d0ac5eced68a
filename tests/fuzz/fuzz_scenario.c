/*
 * fuzz_scenario.c - libFuzzer target for the scenario loader: arbitrary
 * bytes as a scenario file through scen_load (validate mode: nothing is
 * sent), then scen_free. The loader must refuse or accept every input
 * without crashing, leaking or reading out of bounds; ASan and UBSan
 * judge. The input goes to a memfd, since libfyaml reads a path.
 *
 * Network safety: an input whose URLs are not all loopback literals is
 * skipped, so the fuzzer never makes the loader resolve a name (cli_parse
 * resolves targets even when only validating).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool fz_loopback_only(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data, *end = p + size;

    while ((p = memmem(p, (size_t)(end - p), "://", 3))) {
        p += 3;
        if (!((size_t)(end - p) >= 9 && !memcmp(p, "127.0.0.1", 9)) &&
            !((size_t)(end - p) >= 5 && !memcmp(p, "[::1]", 5)))
            return false;
    }
    /* a target may also be written without a scheme ("localhost:1") */
    return !memmem(data, size, "target", 6) || memmem(data, size, "://", 3);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct scen_file sf;
    struct scen_opts so = {.validate_only = true};
    static FILE *devnull;
    char path[64];
    int fd;

    if (!fz_loopback_only(data, size))
        return 0;
    if (!devnull)
        devnull = fopen("/dev/null", "w");
    fd = memfd_create("scenario", 0);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (scen_load(&sf, path, &so, devnull) == 0)
        scen_free(&sf);
    close(fd);
    return 0;
}
