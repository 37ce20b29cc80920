#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oom(size_t n)
{
    /* Out of memory is not recoverable for an inference engine; say so once. */
    fprintf(stderr, "sidr: out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

void *xaligned(size_t n)
{
    void *p = NULL;
    size_t rounded = (n + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, rounded ? rounded : 64) != 0) oom(n);
    return p;
}

sidr_status read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return sidr_fail(SIDR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, n = 0;
    char *buf = xmalloc(cap);
    for (;;) {
        if (n + 1 >= cap) buf = xrealloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
    }
    int err = ferror(f);
    fclose(f);
    if (err) {
        free(buf);
        return sidr_fail(SIDR_ERR_IO, "%s: read error", path);
    }
    buf[n] = 0;
    *out = buf;
    if (len) *len = n;
    return SIDR_OK;
}

char *path_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    int slash = a > 0 && dir[a - 1] != '/';
    char *p = xmalloc(a + b + 2);
    memcpy(p, dir, a);
    if (slash) p[a] = '/';
    memcpy(p + a + slash, name, b + 1);
    return p;
}

int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

sidr_status make_dirs(const char *dir)
{
    char *path = xstrdup(dir);
    sidr_status s = SIDR_OK;
    for (char *q = path + 1;; q++) {
        if (*q == '/' || !*q) {
            char saved = *q;
            *q = 0;
            if (mkdir(path, 0777) != 0 && errno != EEXIST) {
                s = sidr_fail(SIDR_ERR_IO, "%s: cannot create directory: %s", path, strerror(errno));
                break;
            }
            *q = saved;
            if (!saved) break;
        }
    }
    free(path);
    return s;
}

size_t sidr_fwrite(const void *data, size_t size, size_t n, FILE *f)
{
    static long calls;
    const char *e = getenv("SIDR_TEST_FAIL_WRITE");
    if (e && *e) {
        char *end;
        long k = strtol(e, &end, 10);
        if (++calls == k) {
            errno = strstr(end, "EIO") ? EIO : ENOSPC;
            return 0;
        }
    }
    return fwrite(data, size, n, f);
}

sidr_status write_file_atomic(const char *path, const void *data, size_t len)
{
    size_t n = strlen(path);
    char *tmp = xmalloc(n + 32);
    snprintf(tmp, n + 32, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    sidr_status s = SIDR_OK;
    if (!f) s = sidr_fail(SIDR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    else {
        int ok = sidr_fwrite(data, 1, len, f) == len;
        ok &= fflush(f) == 0;
        ok &= fsync(fileno(f)) == 0;
        ok &= fclose(f) == 0;
        if (!ok || rename(tmp, path) != 0) {
            s = sidr_fail(SIDR_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
            unlink(tmp);
        }
    }
    free(tmp);
    return s;
}

int dir_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

void rm_tree(const char *path)
{
    DIR *d = opendir(path);
    if (!d) {
        unlink(path);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char *p = path_join(path, e->d_name);
        if (dir_exists(p)) rm_tree(p);
        else unlink(p);
        free(p);
    }
    closedir(d);
    rmdir(path);
}
