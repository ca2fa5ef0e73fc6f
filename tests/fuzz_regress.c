/*
 * Runs a fuzz target without libFuzzer over every file of its seed corpus,
 * $top_srcdir/tests/corpus/FUZZ_NAME (FUZZ_NAME is set when it is built:
 * parser, session, component), or $XB_CORPUS_DIR if set, and over those
 * named on the command line; a property violation aborts, so make check
 * fails on it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef FUZZ_NAME
#define FUZZ_NAME "parser"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file and runs the target on it. Returns 0 or -1. */
static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL, *p;
    size_t len = 0, cap = 0, n;

    if (!f) {
        fprintf(stderr, "fuzz_regress: %s: %s\n", path, strerror(errno));
        return -1;
    }
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 4096;
            p = realloc(buf, cap);
            if (!p) {
                fprintf(stderr, "fuzz_regress: %s: out of memory\n", path);
                free(buf);
                fclose(f);
                return -1;
            }
            buf = p;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    if (ferror(f)) {
        fprintf(stderr, "fuzz_regress: %s: read error\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

/* Runs every regular file in dir (dot files skipped), in name order. */
static int run_dir(const char *dir, int *count)
{
    struct dirent **names;
    struct stat sb;
    char path[4096];
    int i, n, rc = 0;

    n = scandir(dir, &names, NULL, alphasort);
    if (n < 0) {
        fprintf(stderr, "fuzz_regress: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.' &&
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name) <
                (int)sizeof path &&
            stat(path, &sb) == 0 && S_ISREG(sb.st_mode)) {
            if (run_file(path) == 0)
                (*count)++;
            else
                rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("XB_CORPUS_DIR"), *top = getenv("top_srcdir");
    char path[4096];
    int count = 0, failed = 0, i;

    if (!dir || !*dir) {
        snprintf(path, sizeof path, "%s/tests/corpus/" FUZZ_NAME,
                 top && *top ? top : ".");
        dir = path;
    }
    if (run_dir(dir, &count) != 0)
        failed = 1;
    for (i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue; /* libFuzzer-style options */
        if (run_file(argv[i]) == 0)
            count++;
        else
            failed = 1;
    }
    printf("fuzz_regress: %d %s inputs ran\n", count, FUZZ_NAME);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
