#include "text.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#include "utf8.h"
#include "util.h"

int utf8_decode(const char *s, size_t n, uint32_t *cp)
{
    if (n == 0) { *cp = 0; return 0; }
    int k = sidr_utf8_decode(s, n, cp);
    if (!k) { *cp = 0xFFFD; return 1; } /* one bad byte shows as U+FFFD and is stepped over */
    return k;
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
