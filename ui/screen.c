#include "screen.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static const char *const style_names[ST_COUNT] = {
    [ST_NORMAL] = "normal",
    [ST_DIM] = "dim",
    [ST_BOLD] = "bold",
    [ST_HEADER] = "header",
    [ST_TITLE] = "title",
    [ST_TITLE_FOCUS] = "title.focus",
    [ST_BORDER] = "border",
    [ST_STATUS] = "status",
    [ST_STATUS_ACCENT] = "status.accent",
    [ST_MESSAGE] = "message",
    [ST_ERROR] = "error",
    [ST_LEVEL0] = "level.a",
    [ST_LEVEL1] = "level.b",
    [ST_LEVEL2] = "level.c",
    [ST_LEVEL3] = "level.d",
    [ST_LEVEL4] = "level.e",
    [ST_PROB0] = "prob.0",
    [ST_PROB1] = "prob.1",
    [ST_PROB2] = "prob.2",
    [ST_PROB3] = "prob.3",
    [ST_PROB4] = "prob.4",
    [ST_HIT] = "hit",
    [ST_MISS] = "miss",
    [ST_TARGET] = "target",
    [ST_SPECIAL] = "special",
    [ST_NUMBER] = "number",
    [ST_BAR] = "bar",
};

const char *ui_style_name(int style)
{
    return style >= 0 && style < ST_COUNT ? style_names[style] : "?";
}

int ui_style_parse(const char *name)
{
    for (int i = 0; i < ST_COUNT; i++)
        if (!strcmp(style_names[i], name)) return i;
    return -1;
}

void scr_setup(ui_screen *s, int w, int h)
{
    memset(s, 0, sizeof *s);
    scr_resize(s, w, h);
}

void scr_resize(ui_screen *s, int w, int h)
{
    if (w < 1) w = 1;
    if (h < 1) h = 1;
    free(s->cells);
    s->w = w;
    s->h = h;
    s->cells = xcalloc((size_t)w * h, sizeof *s->cells);
    scr_clear(s);
}

void scr_free(ui_screen *s)
{
    free(s->cells);
    s->cells = NULL;
    s->w = s->h = 0;
}

void scr_clear(ui_screen *s)
{
    for (int i = 0; i < s->w * s->h; i++) s->cells[i] = (ui_cell){ ' ', { 0, 0 }, ST_NORMAL, 0 };
    s->cur_y = s->cur_x = -1;
}

ui_cell *scr_at(ui_screen *s, int y, int x)
{
    if (y < 0 || y >= s->h || x < 0 || x >= s->w) return NULL;
    return &s->cells[(size_t)y * s->w + x];
}

uint32_t scr_glyph(const ui_screen *s, uint32_t unicode, char ascii)
{
    return s->ascii ? (uint32_t)(unsigned char)ascii : unicode;
}

/* Puts one narrow or wide character, repairing wide characters it cuts. */
static void put_cell(ui_screen *s, int y, int x, uint32_t ch, int wide, int style, int flags)
{
    ui_cell *c = scr_at(s, y, x);
    if (!c) return;
    if (c->ch == 0 && x > 0) { /* overwriting the right half of a wide char */
        ui_cell *l = scr_at(s, y, x - 1);
        l->ch = ' ';
        l->comb[0] = l->comb[1] = 0;
    }
    int span = wide ? 2 : 1;
    ui_cell *last = scr_at(s, y, x + span - 1);
    ui_cell *after = scr_at(s, y, x + span);
    if (last && after && after->ch == 0) after->ch = ' '; /* the left half of a wide char we cut */
    *c = (ui_cell){ ch, { 0, 0 }, (uint8_t)style, (uint8_t)flags };
    if (wide && last) *last = (ui_cell){ 0, { 0, 0 }, (uint8_t)style, (uint8_t)flags };
}

int scr_text(ui_screen *s, int y, int x, int maxw, const char *t, size_t n, int style, int flags)
{
    if (y < 0 || y >= s->h || maxw <= 0) return 0;
    if (x < 0) return 0;
    if (x + maxw > s->w) maxw = s->w - x;
    int used = 0;
    size_t i = 0;
    int last_x = -1;
    while (i < n && used < maxw) {
        uint32_t cp;
        i += utf8_decode(t + i, n - i, &cp);
        if (cp == '\t') cp = ' ';
        else if (cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) cp = scr_glyph(s, 0xB7, '?');
        int w = cp_width(cp);
        if (w == 0) {
            if (last_x >= 0) {
                ui_cell *c = scr_at(s, y, last_x);
                if (!c->comb[0]) c->comb[0] = cp;
                else if (!c->comb[1]) c->comb[1] = cp;
            }
            continue;
        }
        if (used + w > maxw) {
            put_cell(s, y, x + used, ' ', 0, style, flags);
            used++;
            break;
        }
        put_cell(s, y, x + used, cp, w == 2, style, flags);
        last_x = x + used;
        used += w;
    }
    return used;
}

int scr_str(ui_screen *s, int y, int x, int maxw, const char *t, int style, int flags)
{
    return scr_text(s, y, x, maxw, t, strlen(t), style, flags);
}

int scr_printf(ui_screen *s, int y, int x, int maxw, int style, int flags, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return scr_str(s, y, x, maxw, buf, style, flags);
}

void scr_fill(ui_screen *s, ui_rect r, int style)
{
    for (int y = r.y; y < r.y + r.h; y++)
        for (int x = r.x; x < r.x + r.w; x++) put_cell(s, y, x, ' ', 0, style, 0);
}

void scr_hline(ui_screen *s, int y, int x, int n, uint32_t cp, int style)
{
    for (int i = 0; i < n; i++) put_cell(s, y, x + i, cp, 0, style, 0);
}

void scr_vline(ui_screen *s, int y, int x, int n, uint32_t cp, int style)
{
    for (int i = 0; i < n; i++) put_cell(s, y + i, x, cp, 0, style, 0);
}

void scr_flag(ui_screen *s, int y, int x, int n, int flags)
{
    for (int i = 0; i < n; i++) {
        ui_cell *c = scr_at(s, y, x + i);
        if (c) c->flags |= (uint8_t)flags;
    }
}

static uint32_t lower(uint32_t c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

void scr_mark_matches(ui_screen *s, int y, int x, int w, const char *pattern)
{
    if (!pattern || !*pattern || y < 0 || y >= s->h) return;
    uint32_t pat[256];
    int np = 0;
    size_t i = 0, n = strlen(pattern);
    while (i < n && np < 256) i += utf8_decode(pattern + i, n - i, &pat[np++]);
    if (x + w > s->w) w = s->w - x;
    /* cells holding characters (skip right halves) */
    int idx[1024], nc = 0;
    for (int k = 0; k < w && nc < 1024; k++) {
        ui_cell *c = scr_at(s, y, x + k);
        if (c->ch) idx[nc++] = x + k;
    }
    for (int a = 0; a + np <= nc; a++) {
        int j = 0;
        while (j < np && lower(scr_at(s, y, idx[a + j])->ch) == lower(pat[j])) j++;
        if (j < np) continue;
        int x0 = idx[a], x1 = idx[a + np - 1];
        if (x1 + 1 < x + w && scr_at(s, y, x1 + 1)->ch == 0) x1++;
        scr_flag(s, y, x0, x1 - x0 + 1, CF_MATCH);
        a += np - 1;
    }
}

int scr_tline(ui_screen *s, int y, int x, int w, const tline *l)
{
    int fixed = 0, n_flex = 0;
    for (int i = 0; i < l->n; i++) {
        const tspan *sp = &l->spans[i];
        if (sp->width > 0) fixed += sp->width;
        else if (sp->width < 0) n_flex++;
        else fixed += text_width(sp->text, strlen(sp->text));
    }
    int flex = w - fixed;
    if (flex < 0) flex = 0;
    int col = 0;
    for (int i = 0; i < l->n && col < w; i++) {
        const tspan *sp = &l->spans[i];
        size_t len = strlen(sp->text);
        int tw = text_width(sp->text, len);
        int cw = sp->width > 0 ? sp->width : sp->width < 0 ? (n_flex ? flex / n_flex : 0) : tw;
        if (cw > w - col) cw = w - col;
        int cflags = (sp->flags >> SPAN_CELL_SHIFT) & 0xFF;
        if (cw <= 0) continue;
        int pad = 0;
        if (tw <= cw) {
            if (sp->flags & SPAN_RIGHT) pad = cw - tw;
            for (int k = 0; k < pad; k++) put_cell(s, y, x + col + k, ' ', 0, sp->style, 0);
            scr_text(s, y, x + col + pad, cw - pad, sp->text, len, sp->style, cflags);
            for (int k = pad + tw; k < cw; k++) put_cell(s, y, x + col + k, ' ', 0, sp->style, 0);
        } else {
            /* truncate, with an ellipsis when asked (default for flexible spans) */
            int ell = ((sp->flags & SPAN_ELLIPSIS) || sp->width < 0) && !(sp->flags & SPAN_CLIP);
            int room = ell ? cw - 1 : cw;
            size_t fit = text_fit(sp->text, len, room);
            int used = scr_text(s, y, x + col, room, sp->text, fit, sp->style, cflags);
            for (int k = used; k < room; k++) put_cell(s, y, x + col + k, ' ', 0, sp->style, cflags);
            if (ell) put_cell(s, y, x + col + room, scr_glyph(s, 0x2026, '~'), 0, sp->style, cflags);
        }
        col += cw;
    }
    return col;
}

void scr_row_text(const ui_screen *s, int y, char *buf, size_t cap)
{
    size_t o = 0;
    for (int x = 0; x < s->w && o + 13 < cap; x++) {
        const ui_cell *c = &s->cells[(size_t)y * s->w + x];
        if (!c->ch) continue;
        o += sidr_utf8_encode(c->ch, buf + o);
        for (int k = 0; k < 2; k++)
            if (c->comb[k]) o += sidr_utf8_encode(c->comb[k], buf + o);
    }
    buf[o] = 0;
}

void scr_dump_text(const ui_screen *s, FILE *f)
{
    size_t cap = (size_t)s->w * 13 + 16;
    char *buf = xmalloc(cap);
    for (int y = 0; y < s->h; y++) {
        scr_row_text(s, y, buf, cap);
        size_t n = strlen(buf);
        while (n && buf[n - 1] == ' ') n--;
        fwrite(buf, 1, n, f);
        fputc('\n', f);
    }
    free(buf);
}

static void flag_names(int flags, FILE *f)
{
    if (flags & CF_SEL) fputs("+sel", f);
    if (flags & CF_SEL_DIM) fputs("+seldim", f);
    if (flags & CF_MATCH) fputs("+match", f);
    if (flags & CF_LINK) fputs("+link", f);
    if (flags & CF_CURSOR) fputs("+cursor", f);
}

void scr_dump_attrs(const ui_screen *s, FILE *f)
{
    for (int y = 0; y < s->h; y++) {
        fprintf(f, "%2d:", y);
        int x = 0;
        while (x < s->w) {
            const ui_cell *c = &s->cells[(size_t)y * s->w + x];
            int x1 = x;
            while (x1 + 1 < s->w) {
                const ui_cell *d = &s->cells[(size_t)y * s->w + x1 + 1];
                if (d->style != c->style || d->flags != c->flags) break;
                x1++;
            }
            if (c->style != ST_NORMAL || c->flags) {
                fprintf(f, " %d-%d %s", x, x1, ui_style_name(c->style));
                flag_names(c->flags, f);
            }
            x = x1 + 1;
        }
        fputc('\n', f);
    }
}
