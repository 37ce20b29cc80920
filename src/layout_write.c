/* Writing datasets in the MiniOneRec layout: files replaced atomically,
 * JSON strings, Python list literals, CSV fields, and in-memory fields that
 * are built with stdio and quoted when complete. */
#include "layout_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

sidr_status out_open(out_file *o, const char *path)
{
    o->path = xstrdup(path);
    size_t n = strlen(path) + 16;
    o->tmp = xmalloc(n);
    snprintf(o->tmp, n, "%s.tmp%d", path, (int)getpid());
    o->f = fopen(o->tmp, "wb");
    if (!o->f) {
        sidr_status s = sidr_fail(SIDR_ERR_IO, "%s: cannot write (%s)", o->tmp, strerror(errno));
        free(o->path);
        free(o->tmp);
        return s;
    }
    return SIDR_OK;
}

sidr_status out_close(out_file *o)
{
    int ok = !ferror(o->f);
    ok &= fclose(o->f) == 0;
    sidr_status s = SIDR_OK;
    if (!ok || rename(o->tmp, o->path) != 0) {
        s = sidr_fail(SIDR_ERR_IO, "%s: write failed (%s)", o->path, strerror(errno));
        remove(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    return s;
}

void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", f); break;
        case '\\': fputs("\\\\", f); break;
        case '\n': fputs("\\n", f); break;
        case '\r': fputs("\\r", f); break;
        case '\t': fputs("\\t", f); break;
        default:
            if (*p < 0x20) fprintf(f, "\\u%04x", *p);
            else fputc(*p, f);
        }
    }
    fputc('"', f);
}

void py_str(FILE *f, const char *s)
{
    char q = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    fputc(q, f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '\\') fputs("\\\\", f);
        else if (*p == (unsigned char)q) { fputc('\\', f); fputc(q, f); }
        else if (*p == '\n') fputs("\\n", f);
        else if (*p == '\r') fputs("\\r", f);
        else if (*p == '\t') fputs("\\t", f);
        else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\x%02x", *p);
        else fputc(*p, f);
    }
    fputc(q, f);
}

void csv_field(FILE *f, const char *s, size_t n)
{
    int q = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r') q = 1;
    if (!q) {
        fwrite(s, 1, n, f);
        return;
    }
    fputc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') fputc('"', f);
        fputc(s[i], f);
    }
    fputc('"', f);
}

FILE *mf_open(mem_field *m)
{
    m->buf = NULL;
    m->len = 0;
    m->f = open_memstream(&m->buf, &m->len);
    return m->f;
}

void mf_emit(mem_field *m, FILE *out)
{
    fclose(m->f);
    csv_field(out, m->buf, m->len);
    free(m->buf);
}
