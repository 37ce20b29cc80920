/* Writers shared by everything that produces a dataset in the MiniOneRec
 * layout (sidr sids build, sidr demo build). */
#ifndef SIDR_LAYOUT_WRITE_H
#define SIDR_LAYOUT_WRITE_H

#include <stddef.h>
#include <stdio.h>

#include "status.h"

/* A file written under a temporary name and renamed by out_close. */
typedef struct {
    FILE *f;
    char *path, *tmp;
} out_file;

sidr_status out_open(out_file *o, const char *path);
sidr_status out_close(out_file *o);

/* A JSON string literal. */
void json_str(FILE *f, const char *s);
/* A Python str literal as repr() writes it inside a list. */
void py_str(FILE *f, const char *s);
/* One CSV field, quoted when it needs to be. */
void csv_field(FILE *f, const char *s, size_t n);

/* A field built with stdio in memory (open_memstream), then emitted. */
typedef struct {
    char *buf;
    size_t len;
    FILE *f;
} mem_field;

FILE *mf_open(mem_field *m);
void mf_emit(mem_field *m, FILE *out);

#endif
