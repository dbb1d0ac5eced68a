/*
 * replay.c - run a libFuzzer target as a plain program, so the normal test
 * suite replays its corpus without libFuzzer (and under any sanitizer).
 *
 * Usage: replay_<target> [file|dir]...  Every file named, and every regular
 * file directly inside each directory named (in name order), is passed to
 * LLVMFuzzerTestOneInput; with no argument one empty input is. A target
 * that finds a bug aborts, so the exit status is the verdict: 0 when all
 * inputs ran, 1 when one could not be read.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long len;
    int rc = -1;

    if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        goto out;
    buf = malloc(len ? (size_t)len : 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
        goto out;
    LLVMFuzzerTestOneInput(buf, (size_t)len);
    rc = 0;
out:
    if (rc)
        perror(path);
    free(buf);
    if (f)
        fclose(f);
    return rc;
}

static int replay_dir(const char *dir, int *count)
{
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort), rc = 0;
    char path[4096];
    struct stat st;

    if (n < 0) {
        perror(dir);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]->d_name);
        if (!stat(path, &st) && S_ISREG(st.st_mode)) {
            rc |= replay_file(path);
            ++*count;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    struct stat st;
    int count = 0, rc = 0;

    if (argc < 2) {
        LLVMFuzzerTestOneInput((const uint8_t *)"", 0);
        count++;
    }
    for (int i = 1; i < argc; i++) {
        if (!stat(argv[i], &st) && S_ISDIR(st.st_mode)) {
            rc |= replay_dir(argv[i], &count);
        } else {
            rc |= replay_file(argv[i]);
            count++;
        }
    }
    fprintf(stderr, "# replayed %d inputs%s\n", count, rc ? ", some unreadable" : "");
    return rc ? 1 : 0;
}
