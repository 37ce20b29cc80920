/* Shared by the fuzz harnesses: libFuzzer hands each harness bytes; the
 * loaders sidr fuzzes read files, so the bytes go to a private scratch
 * folder first.  A harness fails only by crashing, hanging, leaking or
 * tripping a sanitizer, or by an explicit property abort(). */
#ifndef SIDR_FUZZ_UTIL_H
#define SIDR_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char fuzz_dir[256];

/* A scratch folder per process (created once). */
static inline const char *fuzz_scratch(void)
{
    if (!fuzz_dir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(fuzz_dir, sizeof fuzz_dir, "%s/sidr-fuzz-%ld", t && *t ? t : "/tmp", (long)getpid());
        mkdir(fuzz_dir, 0777);
    }
    return fuzz_dir;
}

/* Writes n bytes to scratch/rel (creating one level of folder) and returns the path (static). */
static inline const char *fuzz_file(const char *rel, const uint8_t *data, size_t n)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", fuzz_scratch(), rel);
    char *slash = strrchr(path, '/');
    if (slash && slash > path + strlen(fuzz_scratch())) {
        *slash = 0;
        mkdir(path, 0777);
        *slash = '/';
    }
    FILE *f = fopen(path, "wb");
    if (!f) abort();
    if (n && fwrite(data, 1, n, f) != n) abort();
    fclose(f);
    return path;
}

/* Splits data at the byte string sep into at most max parts (pointers into data). */
static inline int fuzz_split(const uint8_t *data, size_t n, const char *sep, const uint8_t **part, size_t *len, int max)
{
    size_t sl = strlen(sep), start = 0;
    int k = 0;
    for (size_t i = 0; i + sl <= n && k < max - 1; i++)
        if (!memcmp(data + i, sep, sl)) {
            part[k] = data + start;
            len[k++] = i - start;
            start = i + sl;
            i += sl - 1;
        }
    part[k] = data + start;
    len[k++] = n - start;
    return k;
}

#endif
