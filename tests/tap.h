/* A minimal TAP producer for sidr's C tests: one "ok N - name" line per
 * check, a plan at the end, diagnostics as "# ..." lines. */
#ifndef SIDR_TAP_H
#define SIDR_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static inline int tap_ok(int cond, const char *fmt, ...)
{
    va_list ap;
    printf("%s %d - ", cond ? "ok" : "not ok", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
    if (!cond) tap_failed++;
    return cond;
}

static inline void tap_skip(const char *fmt, ...)
{
    va_list ap;
    printf("ok %d # SKIP ", ++tap_n);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

static inline void tap_diag(const char *fmt, ...)
{
    va_list ap;
    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    fflush(stdout);
}

/* Skips the whole file (used when ../shared is absent). */
static inline int tap_skip_all(const char *why)
{
    printf("1..0 # SKIP %s\n", why);
    return 0;
}

static inline int tap_done(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

/* Directories the tests read: the source tests/ folder and ../shared. */
static inline const char *tap_testdir(void)
{
    const char *d = getenv("SIDR_TESTDIR");
    return d ? d : "tests";
}
static inline const char *tap_shared(void)
{
    const char *d = getenv("SIDR_SHARED");
    return d ? d : "../shared";
}

#endif
