/* A pane of the explorer behind a small vtable, as tig's views: the list
 * panes hand out their lines one at a time (only visible ones are built) and
 * the shared list drawer scrolls, selects and highlights search matches; a
 * pane with its own geometry (Reasoning) draws itself. */
#ifndef SIDR_UI_VIEW_H
#define SIDR_UI_VIEW_H

#include <stddef.h>

#include "keys.h"
#include "screen.h"
#include "text.h"

struct app;
struct view;

typedef struct view_ops {
    const char *name;       /* "Users" */
    int scope;              /* key scope (keys.h) */
    /* called once the session is loaded */
    void (*open)(struct app *a, struct view *v);
    /* list panes */
    int (*n_lines)(struct app *a, struct view *v);
    int (*n_fixed)(struct app *a, struct view *v);          /* header lines kept at the top; may be NULL */
    void (*line)(struct app *a, struct view *v, int i, int width, tline *out);
    /* custom drawing (NULL: the list drawer) into the content rectangle */
    void (*draw)(struct app *a, struct view *v, ui_rect r);
    /* a key's action; returns 1 when handled (else generic handling applies) */
    int (*key)(struct app *a, struct view *v, ui_action act);
    /* the cursor moved */
    void (*selected)(struct app *a, struct view *v);
    /* the title bar's text after the name */
    void (*title)(struct app *a, struct view *v, char *buf, size_t cap);
    /* custom search from the cursor (dir +1/-1); returns 1 when found (NULL: line text) */
    int (*search)(struct app *a, struct view *v, const char *pattern, int dir, int skip_current);
    /* a click at (row, col) of the content rectangle; NULL: select the line */
    void (*click)(struct app *a, struct view *v, int row, int col);
    /* the catalogue item under the cursor (what Alignment measures), -1 none; may be NULL */
    int (*item)(struct app *a, struct view *v);
} view_ops;

typedef struct view {
    const view_ops *ops;
    int id;
    int sel;                /* cursor line (list panes) */
    int top;                /* first scrolled line shown */
    int col;                /* a column within the line (SID level, beam step) */
    int follow;             /* keep the cursor at the end while streaming */
    int alts;               /* Reasoning: the alternatives box is open */
    ui_rect r;              /* the whole pane as last laid out (title row included) */
} view;

extern const view_ops view_users_ops, view_history_ops, view_reasoning_ops, view_beam_ops, view_codebook_ops, view_align_ops,
    view_diff_ops, view_compare_ops;

/* The shared list drawer and cursor movement. */
void list_draw(struct app *a, view *v, ui_rect r);
int list_move(struct app *a, view *v, ui_action act);   /* 1 when the action was a movement */
void list_set_sel(struct app *a, view *v, int line);    /* moves to the nearest selectable line */
int list_search(struct app *a, view *v, const char *pattern, int dir, int skip_current);
/* Releases the Codebook pane's line cache. */
void codebook_free_cache(void);
void align_free_cache(void);
void diff_free_cache(void);
void compare_free_cache(void);
void help_free_cache(void);

#endif
