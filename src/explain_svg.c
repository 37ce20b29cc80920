#include "explain_svg.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void esc(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* Lens cell colour: rank 0 dark blue, fading to white by rank 50. */
static void rank_color(char *buf, size_t cap, int rank)
{
    double t = rank <= 0 ? 1 : 1 - log1p((double)rank) / log1p(50.0);
    if (t < 0) t = 0;
    int r = (int)lround(255 - t * (255 - 31)), g = (int)lround(255 - t * (255 - 78)), b = (int)lround(255 - t * (255 - 160));
    snprintf(buf, cap, "#%02x%02x%02x", r, g, b);
}

sidr_status explain_svg_write(const char *path, const explain_result *ex, const char *const *titles, const char *caption)
{
    FILE *f = fopen(path, "w");
    if (!f) return sidr_fail(SIDR_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    const int row_h = 22, left = 20, sid_w = 170, bar_w = 160, gap = 20, title_w = 360;
    int n = ex->n_hist, L = ex->n_layers;
    int lens_rows = 0;
    for (int k = 0; k < ex->depth && k < 8; k++) lens_rows += ex->chosen[k].rank != NULL;
    int hist_top = 70, lens_top = hist_top + (n + 1) * row_h + 40;
    int width = left + sid_w + 2 * (bar_w + gap) + title_w + left;
    int height = lens_top + (lens_rows ? (lens_rows + 2) * row_h + 30 : 0) + 20;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "font-family=\"DejaVu Sans Mono, monospace\" font-size=\"12\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
            width, height, width, height);
    fprintf(f, "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">Why this recommendation</text>\n", left);
    fprintf(f, "<text x=\"%d\" y=\"44\">", left);
    esc(f, caption);
    fputs("</text>\n", f);
    /* the history with its bars */
    double amax = 0, omax = 0;
    for (int i = 0; i < n; i++) {
        if (ex->attention && ex->attention[i] > amax) amax = ex->attention[i];
        if (ex->occl_delta && i < ex->occl_done && isfinite(ex->occl_delta[i]) && fabs(ex->occl_delta[i]) > omax)
            omax = fabs(ex->occl_delta[i]);
    }
    int xa = left + sid_w, xo = xa + bar_w + gap, xt = xo + bar_w + gap;
    fprintf(f, "<g font-weight=\"bold\"><text x=\"%d\" y=\"%d\">history SID</text>", left, hist_top);
    fprintf(f, "<text x=\"%d\" y=\"%d\">attention (sum over layers)</text>", xa, hist_top);
    fprintf(f, "<text x=\"%d\" y=\"%d\">occlusion: change in log p</text>", xo, hist_top);
    fprintf(f, "<text x=\"%d\" y=\"%d\">title</text></g>\n", xt, hist_top);
    for (int i = 0; i < n; i++) {
        int y = hist_top + (i + 1) * row_h;
        fprintf(f, "<text x=\"%d\" y=\"%d\">", left, y);
        esc(f, ex->hist[i]);
        fputs("</text>\n", f);
        if (ex->attention) {
            double w = amax > 0 ? ex->attention[i] / amax * (bar_w - 50) : 0;
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"#1f4ea0\"><title>attention %.4f</title></rect>"
                       "<text x=\"%.1f\" y=\"%d\">%.3f</text>\n",
                    xa, y - 11, w, ex->attention[i], xa + w + 4, y, ex->attention[i]);
        }
        if (ex->occl_delta && i < ex->occl_done && isfinite(ex->occl_delta[i])) {
            double d = ex->occl_delta[i], w = omax > 0 ? fabs(d) / omax * (bar_w - 60) : 0;
            /* removing the item lowers the SID's probability: the item supported it (orange) */
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"14\" fill=\"%s\"><title>delta log p %+.4f, new rank %d</title></rect>"
                       "<text x=\"%.1f\" y=\"%d\">%+.3f</text>\n",
                    xo, y - 11, w, d < 0 ? "#d9661f" : "#7a7a7a", d, ex->occl_rank[i] >= 0 ? ex->occl_rank[i] + 1 : 0,
                    xo + w + 4, y, d);
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\">", xt, y);
        /* long titles are cut at a character boundary */
        char t[64];
        const char *src = titles && titles[i] ? titles[i] : "";
        size_t len = strlen(src);
        if (len < sizeof t) memcpy(t, src, len + 1);
        else {
            size_t k = sizeof t - 4;
            while (k > 0 && ((unsigned char)src[k] & 0xC0) == 0x80) k--;
            memcpy(t, src, k);
            memcpy(t + k, "...", 4);
        }
        esc(f, t);
        fputs("</text>\n", f);
    }
    /* the lens */
    if (lens_rows) {
        int cw = 44;
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">logit lens: rank of the chosen token by layer (1 = most probable)</text>\n", left,
                lens_top);
        for (int l = 0; l < L; l++)
            fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">L%d</text>\n", left + sid_w + l * cw + cw / 2,
                    lens_top + row_h, l);
        int r = 0;
        for (int k = 0; k < ex->depth && k < 8; k++) {
            if (!ex->chosen[k].rank) continue;
            int y = lens_top + (r + 2) * row_h;
            fprintf(f, "<text x=\"%d\" y=\"%d\">step %c</text>\n", left, y, 'a' + k);
            for (int l = 0; l < L; l++) {
                char col[16];
                rank_color(col, sizeof col, ex->chosen[k].rank[l]);
                fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"18\" fill=\"%s\" stroke=\"#ffffff\">"
                           "<title>layer %d: rank %d, log p %.4f</title></rect>"
                           "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">%d</text>\n",
                        left + sid_w + l * cw, y - 13, cw, col, l, ex->chosen[k].rank[l] + 1, ex->chosen[k].logprob[l],
                        left + sid_w + l * cw + cw / 2, y, ex->chosen[k].rank[l] < 3 ? "#ffffff" : "#000000",
                        ex->chosen[k].rank[l] + 1); /* shown 1-based, as the beam ranks */
            }
            r++;
        }
    }
    fputs("</svg>\n", f);
    if (fclose(f) != 0) return sidr_fail(SIDR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
    return SIDR_OK;
}

sidr_status explain_svg_write_row(const char *path, const explain_result *ex, const session *ss, sidr_split_id split,
                                  int row)
{
    const sidr_sample *r = sidr_dataset_row(&ss->ds, split, row);
    if (!r) return sidr_fail(SIDR_ERR_ARG, "%s: no %s row %d", path, sidr_split_name(split), row);
    const char *titles[SIDR_MAX_HISTORY];
    for (int i = 0; i < ex->n_hist && i < r->n_hist; i++) titles[i] = ss->ds.items[r->hist[i]].title;
    const char *target = ss->ds.items[r->target].sid;
    int rank = target ? rec_rank(&ex->run, target) : -1;
    char top[512], cap[1024];
    rec_beam_sid(&ex->run, 0, top, sizeof top);
    snprintf(cap, sizeof cap, "user %s, %s:%d: top-1 %s, target %s (%s)", ss->ds.users[r->user].id,
             sidr_split_name(split), row, top, target ? target : "-", rank >= 0 ? "hit" : "miss");
    return explain_svg_write(path, ex, titles, cap);
}
