#include "csv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "util.h"

/* ---- CSV -------------------------------------------------------------------- */

void sidr_csv_init(sidr_csv *c, const char *path, const char *buf, size_t len)
{
    memset(c, 0, sizeof *c);
    c->path = path ? path : "<csv>";
    c->buf = buf;
    c->len = len;
    c->line = 1;
    if (len >= 3 && (unsigned char)buf[0] == 0xEF && (unsigned char)buf[1] == 0xBB &&
        (unsigned char)buf[2] == 0xBF)
        c->pos = 3;
}

void sidr_csv_free(sidr_csv *c)
{
    for (int i = 0; i < c->n_names; i++) free(c->names[i]);
    free(c->names);
    free(c->field_off);
    free(c->field_len);
    free(c->scratch);
    memset(c, 0, sizeof *c);
}

static void scratch_put(sidr_csv *c, const char *s, size_t n)
{
    if (c->scratch_len + n + 1 > c->scratch_cap) {
        size_t cap = c->scratch_cap ? c->scratch_cap : 4096;
        while (c->scratch_len + n + 1 > cap) cap *= 2;
        c->scratch = xrealloc(c->scratch, cap);
        c->scratch_cap = cap;
    }
    memcpy(c->scratch + c->scratch_len, s, n);
    c->scratch_len += n;
}

static void field_begin(sidr_csv *c)
{
    if (c->n_fields == c->field_cap) {
        c->field_cap = c->field_cap ? 2 * c->field_cap : 16;
        c->field_off = xrealloc(c->field_off, (size_t)c->field_cap * sizeof *c->field_off);
        c->field_len = xrealloc(c->field_len, (size_t)c->field_cap * sizeof *c->field_len);
    }
    c->field_off[c->n_fields] = c->scratch_len;
}

static void field_end(sidr_csv *c)
{
    size_t off = c->field_off[c->n_fields];
    c->field_len[c->n_fields] = c->scratch_len - off;
    scratch_put(c, "", 0);
    c->scratch[c->scratch_len++] = 0;
    c->n_fields++;
}

static const char *field_name(const sidr_csv *c, int i, char *tmp, size_t cap)
{
    if (i < c->n_names) return c->names[i];
    snprintf(tmp, cap, "#%d", i + 1);
    return tmp;
}

sidr_status sidr_csv_next(sidr_csv *c, int *got)
{
    *got = 0;
    c->n_fields = 0;
    c->scratch_len = 0;
    const char *b = c->buf;
    size_t n = c->len;
    /* skip blank lines */
    while (c->pos < n && (b[c->pos] == '\n' || b[c->pos] == '\r')) {
        if (b[c->pos] == '\r' && c->pos + 1 < n && b[c->pos + 1] == '\n') c->pos++;
        c->pos++;
        c->line++;
    }
    if (c->pos >= n) return SIDR_OK;
    c->record_line = c->line;
    for (;;) {
        field_begin(c);
        if (c->pos < n && b[c->pos] == '"') {
            int open_line = c->line;
            c->pos++;
            for (;;) {
                const char *q = memchr(b + c->pos, '"', n - c->pos);
                size_t end = q ? (size_t)(q - b) : n;
                for (size_t k = c->pos; k < end; k++)
                    if (b[k] == '\n' || (b[k] == '\r' && (k + 1 >= n || b[k + 1] != '\n'))) c->line++;
                scratch_put(c, b + c->pos, end - c->pos);
                if (!q) {
                    char tmp[16];
                    return sidr_fail(SIDR_ERR_FORMAT,
                                     "%s:%d: field '%s': unbalanced quotes: the quoted field opened on "
                                     "this line is still open at the end of the file",
                                     c->path, open_line, field_name(c, c->n_fields, tmp, sizeof tmp));
                }
                c->pos = end + 1;
                if (c->pos < n && b[c->pos] == '"') { /* "" -> " */
                    scratch_put(c, "\"", 1);
                    c->pos++;
                    continue;
                }
                break;
            }
            if (c->pos < n && b[c->pos] != ',' && b[c->pos] != '\n' && b[c->pos] != '\r') {
                char tmp[16];
                unsigned char ch = (unsigned char)b[c->pos];
                char shown[8];
                if (ch >= 0x20 && ch < 0x7f) snprintf(shown, sizeof shown, "'%c'", ch);
                else snprintf(shown, sizeof shown, "0x%02X", ch);
                return sidr_fail(SIDR_ERR_FORMAT,
                                 "%s:%d: field '%s': expected ',' or the end of the line after the closing "
                                 "quote of a field opened on line %d, got %s (unbalanced quotes?)",
                                 c->path, c->line, field_name(c, c->n_fields, tmp, sizeof tmp), open_line,
                                 shown);
            }
        } else {
            size_t k = c->pos;
            while (k < n && b[k] != ',' && b[k] != '\n' && b[k] != '\r') k++;
            scratch_put(c, b + c->pos, k - c->pos);
            c->pos = k;
        }
        field_end(c);
        if (c->pos >= n) break;
        if (b[c->pos] == ',') {
            c->pos++;
            continue;
        }
        /* end of record */
        if (b[c->pos] == '\r' && c->pos + 1 < n && b[c->pos + 1] == '\n') c->pos++;
        c->pos++;
        c->line++;
        break;
    }
    *got = 1;
    return SIDR_OK;
}

sidr_status sidr_csv_read_header(sidr_csv *c)
{
    int got = 0;
    sidr_status st = sidr_csv_next(c, &got);
    if (st != SIDR_OK) return st;
    if (!got) return sidr_fail(SIDR_ERR_FORMAT, "%s:1: empty file: expected a header line", c->path);
    c->names = xcalloc((size_t)c->n_fields, sizeof *c->names);
    c->n_names = c->n_fields;
    for (int i = 0; i < c->n_fields; i++) {
        const char *f = c->scratch + c->field_off[i];
        size_t len = c->field_len[i];
        /* tolerate surrounding blanks in names */
        while (len && (*f == ' ' || *f == '\t')) f++, len--;
        while (len && (f[len - 1] == ' ' || f[len - 1] == '\t')) len--;
        c->names[i] = xstrndup(f, len);
        for (int j = 0; j < i; j++)
            if (strcmp(c->names[j], c->names[i]) == 0)
                return sidr_fail(SIDR_ERR_FORMAT, "%s:%d: header: column '%s' appears twice", c->path,
                                 c->record_line, c->names[i]);
    }
    return SIDR_OK;
}

int sidr_csv_column(const sidr_csv *c, const char *name)
{
    for (int i = 0; i < c->n_names; i++)
        if (strcmp(c->names[i], name) == 0) return i;
    return -1;
}

const char *sidr_csv_field(const sidr_csv *c, int i, size_t *len)
{
    if (i < 0 || i >= c->n_fields) {
        if (len) *len = 0;
        return "";
    }
    if (len) *len = c->field_len[i];
    return c->scratch + c->field_off[i];
}


char *sidr_latin1_to_utf8(const char *s, size_t n, size_t *out_len)
{
    char *out = xmalloc(2 * n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += (size_t)sidr_utf8_encode((unsigned char)s[i], out + k);
    out[k] = 0;
    if (out_len) *out_len = k;
    return out;
}

/* ---- Python list literals -------------------------------------------------------- */

void sidr_pylist_init(sidr_pylist *l)
{
    memset(l, 0, sizeof *l);
}

void sidr_pylist_free(sidr_pylist *l)
{
    free(l->items);
    free(l->lens);
    free(l->kind);
    free(l->offs);
    free(l->arena);
    memset(l, 0, sizeof *l);
}

static void arena_reserve(sidr_pylist *l, size_t extra)
{
    if (l->arena_len + extra <= l->arena_cap) return;
    size_t cap = l->arena_cap ? l->arena_cap : 256;
    while (l->arena_len + extra > cap) cap *= 2;
    l->arena = xrealloc(l->arena, cap);
    l->arena_cap = cap;
}

static void elem_push(sidr_pylist *l, size_t off, size_t len, sidr_py_kind kind)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 16;
        l->items = xrealloc(l->items, (size_t)l->cap * sizeof *l->items);
        l->lens = xrealloc(l->lens, (size_t)l->cap * sizeof *l->lens);
        l->kind = xrealloc(l->kind, (size_t)l->cap);
        l->offs = xrealloc(l->offs, (size_t)l->cap * sizeof *l->offs);
    }
    l->offs[l->n] = off;
    l->lens[l->n] = len;
    l->kind[l->n] = (unsigned char)kind;
    l->n++;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

#define WHY(...) (snprintf(why, why_cap, __VA_ARGS__), SIDR_ERR_FORMAT)

/* Decodes one quoted string starting at s[*i] (the quote); appends to arena. */
static sidr_status parse_string(sidr_pylist *l, const char *s, size_t n, size_t *i, char *why,
                                size_t why_cap)
{
    size_t start = *i;
    char q = s[*i];
    size_t k = *i + 1;
    size_t off = l->arena_len;
    /* decoded text is never longer than the source + 4 bytes per escape */
    arena_reserve(l, (n - k) * 2 + 8);
    char *dst = l->arena;
    size_t w = l->arena_len;
    for (;;) {
        if (k >= n) return WHY("unterminated string starting at character %zu", start + 1);
        char c = s[k];
        if (c == q) {
            k++;
            break;
        }
        if (c == '\n' || c == '\r')
            return WHY("line break inside the string starting at character %zu", start + 1);
        if (c != '\\') {
            dst[w++] = c;
            k++;
            continue;
        }
        if (k + 1 >= n) return WHY("unterminated string starting at character %zu", start + 1);
        char e = s[k + 1];
        k += 2;
        uint32_t cp;
        int digits = 0;
        switch (e) {
        case '\\': dst[w++] = '\\'; continue;
        case '\'': dst[w++] = '\''; continue;
        case '"': dst[w++] = '"'; continue;
        case 'a': dst[w++] = '\a'; continue;
        case 'b': dst[w++] = '\b'; continue;
        case 'f': dst[w++] = '\f'; continue;
        case 'n': dst[w++] = '\n'; continue;
        case 'r': dst[w++] = '\r'; continue;
        case 't': dst[w++] = '\t'; continue;
        case 'v': dst[w++] = '\v'; continue;
        case '\n': continue;
        case '\r':
            if (k < n && s[k] == '\n') k++;
            continue;
        case 'x': digits = 2; break;
        case 'u': digits = 4; break;
        case 'U': digits = 8; break;
        case 'N':
            return WHY("unsupported escape \\N{...} at character %zu", k - 1);
        default:
            if (e >= '0' && e <= '7') {
                cp = (uint32_t)(e - '0');
                for (int d = 0; d < 2 && k < n && s[k] >= '0' && s[k] <= '7'; d++)
                    cp = cp * 8 + (uint32_t)(s[k++] - '0');
                w += (size_t)sidr_utf8_encode(cp, dst + w);
                continue;
            }
            /* Python keeps unknown escapes verbatim */
            dst[w++] = '\\';
            k--;
            continue;
        }
        cp = 0;
        for (int d = 0; d < digits; d++) {
            int h = k < n ? hexval(s[k]) : -1;
            if (h < 0)
                return WHY("truncated \\%c escape at character %zu: expected %d hex digits", e, k, digits);
            cp = cp * 16 + (uint32_t)h;
            k++;
        }
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return WHY("escape \\%c names U+%04X, which is not a Unicode scalar value", e, (unsigned)cp);
        w += (size_t)sidr_utf8_encode(cp, dst + w);
    }
    dst[w++] = 0;
    l->arena_len = w;
    elem_push(l, off, w - 1 - off, SIDR_PY_STR);
    *i = k;
    return SIDR_OK;
}

sidr_status sidr_pylist_parse(sidr_pylist *l, const char *s, size_t n, char *why, size_t why_cap)
{
    l->n = 0;
    l->arena_len = 0;
    size_t i = 0;
    while (i < n && is_ws(s[i])) i++;
    if (i >= n) return WHY("empty value: expected a list like [...]");
    if (s[i] != '[') return WHY("expected '[' at character %zu, got '%c'", i + 1, s[i]);
    i++;
    int expect_elem = 1; /* after '[' or ',' */
    for (;;) {
        while (i < n && is_ws(s[i])) i++;
        if (i >= n) return WHY("missing ']' at the end of the list");
        char c = s[i];
        if (c == ']') {
            i++;
            break;
        }
        if (!expect_elem) return WHY("expected ',' or ']' at character %zu, got '%c'", i + 1, c);
        if (c == ',') return WHY("unexpected ',' at character %zu", i + 1);
        if ((c == 'u' || c == 'U') && i + 1 < n && (s[i + 1] == '\'' || s[i + 1] == '"')) c = s[++i];
        if (c == '\'' || c == '"') {
            sidr_status st = parse_string(l, s, n, &i, why, why_cap);
            if (st != SIDR_OK) return st;
        } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
            size_t b = i;
            if (c == '-' || c == '+') i++;
            size_t d0 = i;
            while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) i++;
            if (i == d0) return WHY("expected digits after '%c' at character %zu", c, b + 1);
            if (i < n && (s[i] == '.' || s[i] == 'e' || s[i] == 'E' || s[i] == 'x' || s[i] == 'j'))
                return WHY("not an integer at character %zu (floats and other numbers are not item ids)",
                           b + 1);
            size_t off = l->arena_len;
            arena_reserve(l, i - b + 1);
            size_t w = l->arena_len;
            for (size_t k = b; k < i; k++)
                if (s[k] != '_' && s[k] != '+') l->arena[w++] = s[k];
            l->arena[w++] = 0;
            l->arena_len = w;
            elem_push(l, off, w - 1 - off, SIDR_PY_INT);
        } else if (c == '[') {
            return WHY("nested list at character %zu", i + 1);
        } else {
            size_t e = i;
            while (e < n && e - i < 12 && !is_ws(s[e]) && s[e] != ',' && s[e] != ']') e++;
            return WHY("expected a quoted string or an integer at character %zu, got '%.*s'", i + 1,
                       (int)(e - i), s + i);
        }
        while (i < n && is_ws(s[i])) i++;
        if (i < n && s[i] == ',') {
            i++;
            expect_elem = 1;
            /* allow a trailing comma before ']' */
            size_t j = i;
            while (j < n && is_ws(s[j])) j++;
            if (j < n && s[j] == ']') expect_elem = 0;
        } else {
            expect_elem = 0;
        }
    }
    while (i < n && is_ws(s[i])) i++;
    if (i < n) return WHY("unexpected text after the closing ']' at character %zu", i + 1);
    for (int k = 0; k < l->n; k++) l->items[k] = l->arena + l->offs[k];
    return SIDR_OK;
}
