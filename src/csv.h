/* A small RFC 4180 CSV reader over an in-memory buffer (the dataset CSVs are a
 * few MB; read_file() them whole), and a parser for the Python list literals
 * that MiniOneRec stores inside CSV fields (['a', "b's"], [3, 14]).
 *
 * Both report problems as text and return SIDR_ERR_FORMAT; the caller adds
 * "FILE:LINE: field 'NAME':" because only it knows which file and column a
 * value came from.  Nothing here prints or exits. */
#ifndef SIDR_CSV_H
#define SIDR_CSV_H

#include <stddef.h>

#include "status.h"

/* ---- CSV ------------------------------------------------------------------
 * Fields are separated by ',', records by "\n", "\r\n" or "\r".  A field that
 * starts with '"' is quoted: '""' inside it is one '"', and it may span lines.
 * Blank lines are skipped.  A UTF-8 byte order mark at the start is ignored.
 * Unquoted fields are taken literally (as Python's csv module does). */
typedef struct {
    const char *path; /* for messages only; not owned */
    const char *buf;
    size_t len, pos;
    int line;         /* physical line (1-based) of the next unread byte */
    /* the current record */
    int record_line;  /* line on which the current record starts */
    int n_fields;
    size_t *field_off; /* offsets into scratch, NUL-terminated fields */
    size_t *field_len;
    int field_cap;
    char *scratch;
    size_t scratch_len, scratch_cap;
    /* column names, taken from the first record by sidr_csv_read_header */
    char **names;
    int n_names;
} sidr_csv;

/* buf must stay alive (and NUL-terminated at len) while the reader is used. */
void sidr_csv_init(sidr_csv *c, const char *path, const char *buf, size_t len);
void sidr_csv_free(sidr_csv *c);

/* Reads the next record.  *got = 0 at end of input.  On a framing error
 * (a quoted field that never closes, text after a closing quote) returns
 * SIDR_ERR_FORMAT with "PATH:LINE: field 'NAME': ..." already recorded. */
sidr_status sidr_csv_next(sidr_csv *c, int *got);

/* Reads the first record and keeps it as the column names.  SIDR_ERR_FORMAT
 * when the input is empty or a name repeats. */
sidr_status sidr_csv_read_header(sidr_csv *c);

/* Column index of a name in the header, -1 if absent. */
int sidr_csv_column(const sidr_csv *c, const char *name);

/* Field i of the current record (NUL-terminated; valid until the next call). */
const char *sidr_csv_field(const sidr_csv *c, int i, size_t *len);

/* ---- Python list literals ---------------------------------------------------
 * Accepts what Python's repr() of a list of str/int writes and a little more:
 * '[' elements separated by ',' (a trailing comma allowed) ']', with ASCII
 * whitespace anywhere between tokens.  An element is an integer (optional
 * sign) or a string in single or double quotes with an optional u/U prefix
 * and Python's escapes: \\ \' \" \a \b \f \n \r \t \v, \ooo, \xhh, \uXXXX,
 * \UXXXXXXXX, backslash-newline; an unknown escape keeps its backslash (as
 * Python does).  \N{...}, byte strings, nested lists, floats and None are
 * refused.  Strings are decoded to UTF-8; a \u escape naming a surrogate is
 * refused. */
typedef enum { SIDR_PY_INT = 0, SIDR_PY_STR = 1 } sidr_py_kind;

typedef struct {
    int n;
    const char **items;  /* n decoded elements; ints as their decimal text */
    size_t *lens;
    unsigned char *kind; /* sidr_py_kind per element */
    /* storage */
    size_t *offs;
    int cap;
    char *arena;
    size_t arena_len, arena_cap;
} sidr_pylist;

void sidr_pylist_init(sidr_pylist *l);
void sidr_pylist_free(sidr_pylist *l);

/* Parses s[0..n).  On failure returns SIDR_ERR_FORMAT and writes a short
 * reason ("unterminated string starting at character 17") into why. */
sidr_status sidr_pylist_parse(sidr_pylist *l, const char *s, size_t n, char *why, size_t why_cap);

/* UTF-8 checks (sidr_utf8_invalid_at) live in utf8.h. */
#include "utf8.h"

/* Latin-1 to UTF-8 in a fresh string. */
char *sidr_latin1_to_utf8(const char *s, size_t n, size_t *out_len);

#endif
