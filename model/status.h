/* Status codes of the sidr engine.  Every fallible function in model/ returns
 * a sidr_status; on failure it also leaves a message (naming the file, the
 * field and what was expected) that sidr_last_error() returns.  The library
 * never prints and never exits: callers decide what to show. */
#ifndef SIDR_STATUS_H
#define SIDR_STATUS_H

typedef enum {
    SIDR_OK = 0,
    SIDR_ERR_IO,          /* a file could not be opened, read, mapped or written */
    SIDR_ERR_FORMAT,      /* a file is malformed (JSON, safetensors header, CSV...) */
    SIDR_ERR_SHAPE,       /* a tensor's shape or dtype does not match the config */
    SIDR_ERR_MISSING,     /* a required tensor, key or file is absent */
    SIDR_ERR_UNSUPPORTED, /* a valid input that sidr does not handle */
    SIDR_ERR_ARG,         /* a caller passed an invalid argument */
    SIDR_ERR_RANGE,       /* an id, position or size outside its bounds */
    SIDR_ERR_CANCELLED,   /* a callback asked to stop */
    SIDR_STATUS_COUNT
} sidr_status;

/* Short name of a status ("format error"). */
const char *sidr_status_name(sidr_status s);

/* Records a detailed message for the calling thread and returns s, so that
 * error paths read `return sidr_fail(SIDR_ERR_FORMAT, "%s: ...", path);`. */
sidr_status sidr_fail(sidr_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The last message recorded on this thread ("" if none). */
const char *sidr_last_error(void);

/* Prefixes the current message with more context ("loading model: ..."). */
sidr_status sidr_fail_context(sidr_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
