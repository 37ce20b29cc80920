/* Small helpers shared by the engine: allocation that aborts on OOM (the
 * only place model/ may stop the process), whole-file reads, joined paths. */
#ifndef SIDR_UTIL_H
#define SIDR_UTIL_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "status.h"

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* 64-byte aligned allocation for SIMD buffers; release with free(). */
void *xaligned(size_t n);

/* Reads a whole file into a NUL-terminated buffer. */
sidr_status read_file(const char *path, char **out, size_t *len);
/* "dir/name" in a fresh string. */
char *path_join(const char *dir, const char *name);
int file_exists(const char *path);
int dir_exists(const char *path);
/* Removes a file or a directory tree (best effort). */
void rm_tree(const char *path);

/* mkdir -p. */
sidr_status make_dirs(const char *dir);
/* Writes data to path through a temporary file and a rename, so a reader or
 * a kill never sees half a file. */
sidr_status write_file_atomic(const char *path, const void *data, size_t len);
/* fwrite for the files sidr saves.  For tests, SIDR_TEST_FAIL_WRITE=N[:EIO]
 * makes the N-th such call of the process fail with ENOSPC (or EIO), so
 * fault-injection tests can show what a full disk does to saved work. */
size_t sidr_fwrite(const void *data, size_t size, size_t n, FILE *f);

/* Monotonic seconds. */
double now_seconds(void);

#endif
