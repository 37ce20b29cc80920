#include "chart.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* braille dot bits by (column 0..1, row 0..3) */
static const uint8_t dot_bit[2][4] = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } };

typedef struct {
    int w, h;        /* cells */
    uint8_t *cell;   /* dots per cell */
} canvas;

static void set_px(canvas *c, int px, int py)
{
    if (px < 0 || py < 0 || px >= 2 * c->w || py >= 4 * c->h) return;
    c->cell[(py / 4) * c->w + px / 2] |= dot_bit[px % 2][py % 4];
}

static void line(canvas *c, int x0, int y0, int x1, int y1)
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
    for (;;) {
        set_px(c, x0, y0);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) err += dy, x0 += sx;
        if (e2 <= dx) err += dx, y0 += sy;
    }
}

static void put_utf8(FILE *f, unsigned cp)
{
    if (cp < 0x80) fputc((int)cp, f);
    else if (cp < 0x800) fputc(0xC0 | (cp >> 6), f), fputc(0x80 | (cp & 0x3F), f);
    else fputc(0xE0 | (cp >> 12), f), fputc(0x80 | ((cp >> 6) & 0x3F), f), fputc(0x80 | (cp & 0x3F), f);
}

/* A compact number for an axis label: 4 significant digits. */
static void fmt_num(char *buf, size_t cap, double v)
{
    if (v == 0) snprintf(buf, cap, "0");
    else if (fabs(v) >= 1e5 || fabs(v) < 1e-3) snprintf(buf, cap, "%.3g", v);
    else snprintf(buf, cap, "%.4g", v);
}

void chart_print(FILE *f, const char *title, const double *x, const double *y, int n, const chart_style *st)
{
    int W = st->width < 8 ? 8 : st->width, H = st->height < 2 ? 2 : st->height;
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int finite = 0;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        finite++;
        if (x[i] < x0) x0 = x[i];
        if (x[i] > x1) x1 = x[i];
        if (y[i] < y0) y0 = y[i];
        if (y[i] > y1) y1 = y[i];
    }
    fprintf(f, "%s\n", title);
    if (finite == 0) {
        fprintf(f, "  no data\n");
        return;
    }
    if (x1 == x0) x1 = x0 + 1;
    double ylo = y0, yhi = y1;
    if (yhi == ylo) ylo -= 0.5, yhi += 0.5;
    canvas c = { W, H, xcalloc((size_t)W * H, 1) };
    int px_prev = -1, py_prev = -1;
    for (int i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i])) continue;
        int px = (int)lround((x[i] - x0) / (x1 - x0) * (2 * W - 1));
        int py = (int)lround((yhi - y[i]) / (yhi - ylo) * (4 * H - 1));
        if (px_prev >= 0) line(&c, px_prev, py_prev, px, py);
        else set_px(&c, px, py);
        px_prev = px, py_prev = py;
    }
    char top[32], bot[32];
    fmt_num(top, sizeof top, yhi);
    fmt_num(bot, sizeof bot, ylo);
    int lw = (int)(strlen(top) > strlen(bot) ? strlen(top) : strlen(bot));
    for (int r = 0; r < H; r++) {
        const char *lab = r == 0 ? top : r == H - 1 ? bot : "";
        fprintf(f, "%*s ", lw, lab);
        if (st->utf8) put_utf8(f, r == 0 || r == H - 1 ? 0x2524 : 0x2502);   /* ┤ │ */
        else fputc(r == 0 || r == H - 1 ? '+' : '|', f);
        int last = W - 1;
        while (last >= 0 && !c.cell[r * W + last]) last--;
        for (int k = 0; k <= last; k++) {
            uint8_t b = c.cell[r * W + k];
            if (st->utf8) put_utf8(f, b ? 0x2800u + b : ' ');
            else fputc(b ? '*' : ' ', f);
        }
        fputc('\n', f);
    }
    fprintf(f, "%*s ", lw, "");
    if (st->utf8) {
        put_utf8(f, 0x2514);   /* └ */
        for (int k = 0; k < W; k++) put_utf8(f, 0x2500);
    } else {
        fputc('+', f);
        for (int k = 0; k < W; k++) fputc('-', f);
    }
    fputc('\n', f);
    char xa[32], xb[32];
    fmt_num(xa, sizeof xa, x0);
    fmt_num(xb, sizeof xb, x1);
    int gap = W + 1 - (int)strlen(xa) - (int)strlen(xb);
    fprintf(f, "%*s %s%*s%s %s\n", lw, "", xa, gap > 1 ? gap : 1, "", xb, st->x_label ? st->x_label : "");
    free(c.cell);
}
