#include "text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "util.h"

int utf8_seq_len(unsigned char b)
{
    if (b < 0x80) return 1;
    if (b >= 0xC2 && b <= 0xDF) return 2;
    if (b >= 0xE0 && b <= 0xEF) return 3;
    if (b >= 0xF0 && b <= 0xF4) return 4;
    return 1;
}

int utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    if (n == 0) { *cp = 0; return 0; }
    const unsigned char *u = (const unsigned char *)s;
    if (u[0] < 0x80) { *cp = u[0]; return 1; }
    int len = utf8_seq_len(u[0]);
    if (len == 1 || (size_t)len > n) { *cp = 0xFFFD; return 1; }
    uint32_t c = u[0] & (0xFF >> (len + 1));
    for (int i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) { *cp = 0xFFFD; return 1; }
        c = (c << 6) | (u[i] & 0x3F);
    }
    /* overlongs, surrogates, beyond U+10FFFF */
    if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) || (c >= 0xD800 && c <= 0xDFFF)) {
        *cp = 0xFFFD;
        return 1;
    }
    *cp = c;
    return len;
}

int utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xC0 | (cp >> 6)); out[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int cp_width(uint32_t cp)
{
    if (cp < 0x20 || cp == 0x7F) return 1;       /* drawn as a substitute glyph */
    if (cp < 0x7F) return 1;
    if (cp >= 0x80 && cp < 0xA0) return 1;       /* C1 controls: substitute */
    int w = wcwidth((wchar_t)cp);
    if (w < 0) return 1;                         /* unassigned / non-printable: substitute */
    return w > 2 ? 2 : w;
}

int text_width(const char *s, size_t n)
{
    int w = 0;
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        i += utf8_decode(s + i, n - i, &cp);
        w += cp_width(cp);
    }
    return w;
}

size_t text_fit(const char *s, size_t n, int w)
{
    size_t i = 0;
    int used = 0;
    while (i < n) {
        uint32_t cp;
        int k = utf8_decode(s + i, n - i, &cp);
        int cw = cp_width(cp);
        if (used + cw > w) break;
        used += cw;
        i += k;
    }
    return i;
}

/* ---- rich lines ------------------------------------------------------------ */

void tline_init(tline *l)
{
    memset(l, 0, sizeof *l);
    l->selectable = 1;
}

void tline_reset(tline *l)
{
    for (int i = 0; i < l->n; i++) free(l->spans[i].text);
    l->n = 0;
    l->selectable = 1;
    l->tag = 0;
}

void tline_free(tline *l)
{
    tline_reset(l);
    free(l->spans);
    memset(l, 0, sizeof *l);
}

void tline_addn(tline *l, int style, int width, int flags, const char *s, size_t n)
{
    if (l->n == l->cap) l->spans = xrealloc(l->spans, (size_t)(l->cap = l->cap * 2 + 8) * sizeof *l->spans);
    tspan *sp = &l->spans[l->n++];
    sp->text = xstrndup(s, n);
    sp->style = style;
    sp->width = width;
    sp->flags = flags;
}

void tline_add(tline *l, int style, int width, int flags, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if (n >= (int)sizeof buf) {
        char *big = xmalloc((size_t)n + 1);
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        tline_addn(l, style, width, flags, big, (size_t)n);
        free(big);
        return;
    }
    tline_addn(l, style, width, flags, buf, (size_t)n);
}

void tline_text(const tline *l, char *buf, size_t cap)
{
    size_t o = 0;
    if (!cap) return;
    for (int i = 0; i < l->n && o + 1 < cap; i++) {
        size_t k = strlen(l->spans[i].text);
        if (o + k + 1 > cap) k = cap - 1 - o;
        memcpy(buf + o, l->spans[i].text, k);
        o += k;
        if (o + 1 < cap && i + 1 < l->n && l->spans[i].width != 0 && k && buf[o - 1] != ' ') buf[o++] = ' ';
    }
    buf[o] = 0;
}

const char *text_find(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (!n) return hay;
    for (const char *p = hay; *p; p++) {
        size_t i = 0;
        while (i < n && p[i] && tolower((unsigned char)p[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return p;
    }
    return NULL;
}
