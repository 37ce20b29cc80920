#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[SIDR_STATUS_COUNT] = {
    [SIDR_OK] = "ok",
    [SIDR_ERR_IO] = "I/O error",
    [SIDR_ERR_FORMAT] = "format error",
    [SIDR_ERR_SHAPE] = "shape mismatch",
    [SIDR_ERR_MISSING] = "missing",
    [SIDR_ERR_UNSUPPORTED] = "unsupported",
    [SIDR_ERR_ARG] = "invalid argument",
    [SIDR_ERR_RANGE] = "out of range",
    [SIDR_ERR_CANCELLED] = "cancelled",
};

static _Thread_local char last_error[2048];

const char *sidr_status_name(sidr_status s)
{
    if ((unsigned)s >= SIDR_STATUS_COUNT) return "unknown status";
    return status_names[s];
}

sidr_status sidr_fail(sidr_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

sidr_status sidr_fail_context(sidr_status s, const char *fmt, ...)
{
    char prefix[512], old[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, last_error, sizeof old);
    /* prefix, ": ", then as much of the old message as fits */
    size_t p = strlen(prefix), cap = sizeof last_error;
    if (p > cap - 3) p = cap - 3;
    memcpy(last_error, prefix, p);
    memcpy(last_error + p, ": ", 2);
    size_t room = cap - p - 3, o = strnlen(old, room);
    memcpy(last_error + p + 2, old, o);
    last_error[p + 2 + o] = 0;
    return s;
}

const char *sidr_last_error(void)
{
    return last_error;
}
