/* What the diff view (ui/view_diff.c: original vs edited history) and the
 * compare view (ui/view_compare.c: model A vs model B) share: two run
 * summaries (run_sum, ui/edit.h) laid out side by side -- the target's rank
 * in both, the top-K with each SID's rank move, and the reasoning with the
 * words only one run wrote marked [-...-] / {+...+} (a word LCS, as
 * `git diff --word-diff`); stacked under SBS_WIDE columns. */
#ifndef SIDR_UI_SIDEBYSIDE_H
#define SIDR_UI_SIDEBYSIDE_H

#include "edit.h"
#include "text.h"

struct app;

#define SBS_WIDE 100

/* The reasoning's word diff, cached by the summaries' stamps. */
typedef struct {
    int off, len;
    int changed;
} sbs_word;

typedef struct {
    int stamp_a, stamp_b;
    sbs_word *wa, *wb;
    int na, nb, del, add;
} sbs_wdiff;

void sbs_wdiff_ensure(sbs_wdiff *d, const run_sum *a, const run_sum *b);
void sbs_wdiff_free(sbs_wdiff *d);

/* The built lines of a view (rebuilt on every n_lines). */
typedef struct {
    tline *lines;
    int n, cap;
} sbs_lines;

tline *sbs_add(sbs_lines *L, int selectable);
/* A blank line, then "- TEXT ----" across the pane. */
void sbs_rule(struct app *a, sbs_lines *L, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A selectable line " TEXT" in a style. */
void sbs_note(sbs_lines *L, int style, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Line i into out (the list drawer's line callback). */
void sbs_copy(const sbs_lines *L, int i, tline *out);
/* Shows a side-by-side view over the pane area: pane's view from its top, focused. */
void sbs_open(struct app *a, int pane);
void sbs_free(sbs_lines *L);
/* " | " or its box-drawing form. */
const char *sbs_sep(const struct app *a);
/* "rank 3 of 10" or "miss (not among 10)". */
void sbs_rank_text(const run_sum *s, char *buf, size_t cap);

/* The sections; left is a, right is b, named name_a and name_b. */
void sbs_target(struct app *a, sbs_lines *L, const run_sum *l, const run_sum *r, const char *name_a, const char *name_b,
                const sidr_item *target);
void sbs_topk(struct app *a, sbs_lines *L, const run_sum *l, const run_sum *r, const char *name_a, const char *name_b,
              int width, const char *target_sid);
/* The reasoning of both under a rule the caller drew; mark_l / mark_r: a
 * byte offset in each text whose word gets a ">>" marker (-1: none). */
void sbs_reasoning(struct app *a, sbs_lines *L, const run_sum *l, const run_sum *r, const sbs_wdiff *d, const char *name_a,
                   const char *name_b, int width, int mark_l, int mark_r);

#endif
