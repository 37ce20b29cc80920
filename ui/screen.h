/* A grid of character cells that every view draws into.  The terminal
 * backend (ui/term.c) copies it to ncurses; the headless backend dumps it to
 * text (and attributes) for screen tests.  The same drawing code therefore
 * targets both, and a golden screen is exactly what a terminal would show.
 *
 * Cells hold a code point (0 in the right half of a two-column character),
 * up to two combining marks, a semantic style and flags.  Styles are named
 * (they are what the config file's "colors" assigns); the backend maps them
 * to colours, or to attributes only in monochrome. */
#ifndef SIDR_UI_SCREEN_H
#define SIDR_UI_SCREEN_H

#include <stdint.h>
#include <stdio.h>

#include "text.h"

typedef enum {
    ST_NORMAL,
    ST_DIM,
    ST_BOLD,
    ST_HEADER,          /* column headers */
    ST_TITLE,           /* pane title bar, unfocused */
    ST_TITLE_FOCUS,     /* pane title bar, focused */
    ST_BORDER,
    ST_STATUS,          /* status bar */
    ST_STATUS_ACCENT,   /* run state in the status bar */
    ST_MESSAGE,
    ST_ERROR,
    ST_LEVEL0, ST_LEVEL1, ST_LEVEL2, ST_LEVEL3, ST_LEVEL4,   /* SID tokens by level: <a_>, <b_>, ... */
    ST_PROB0, ST_PROB1, ST_PROB2, ST_PROB3, ST_PROB4,        /* reasoning tokens by probability, high to low */
    ST_HIT,
    ST_MISS,
    ST_TARGET,
    ST_SPECIAL,         /* special tokens, markers */
    ST_NUMBER,
    ST_BAR,             /* small bar charts */
    ST_COUNT
} ui_style;

#define ST_LEVEL(l) ((l) < 5 ? ST_LEVEL0 + (l) : ST_LEVEL4)

/* Cell flags (rendered on top of the style). */
enum {
    CF_SEL = 1 << 0,        /* selected line of the focused pane: reverse */
    CF_SEL_DIM = 1 << 1,    /* selected line of an unfocused pane: bold */
    CF_MATCH = 1 << 2,      /* search match */
    CF_LINK = 1 << 3,       /* underlined link */
    CF_CURSOR = 1 << 4,     /* the selected token / the command-line cursor: reverse */
};
/* tspan flags carry cell flags shifted by this much. */
#define SPAN_CELL_SHIFT 8

const char *ui_style_name(int style);   /* "level.a", "title.focus", ... */
int ui_style_parse(const char *name);   /* -1 when unknown */

typedef struct {
    uint32_t ch;            /* 0: right half of a wide character */
    uint32_t comb[2];       /* combining marks */
    uint8_t style;
    uint8_t flags;
} ui_cell;

typedef struct {
    int w, h;
    ui_cell *cells;
    int cur_y, cur_x;       /* where the terminal cursor goes (-1: hidden) */
    int ascii;              /* draw box and marker characters in ASCII */
} ui_screen;

typedef struct {
    int y, x, h, w;
} ui_rect;

void scr_setup(ui_screen *s, int w, int h);
void scr_resize(ui_screen *s, int w, int h);
void scr_free(ui_screen *s);
void scr_clear(ui_screen *s);
ui_cell *scr_at(ui_screen *s, int y, int x);

/* Fills a rectangle with spaces of a style. */
void scr_fill(ui_screen *s, ui_rect r, int style);
/* Draws n bytes of UTF-8 at (y, x), at most maxw columns (clipped to the
 * screen).  A wide character that does not fit becomes a space; control
 * characters show as a substitute.  Returns the columns used. */
int scr_text(ui_screen *s, int y, int x, int maxw, const char *t, size_t n, int style, int flags);
/* The same for a NUL-terminated string. */
int scr_str(ui_screen *s, int y, int x, int maxw, const char *t, int style, int flags);
/* printf-style, NUL-terminated. */
int scr_printf(ui_screen *s, int y, int x, int maxw, int style, int flags, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* One code point repeated n times (box lines). */
void scr_hline(ui_screen *s, int y, int x, int n, uint32_t cp, int style);
void scr_vline(ui_screen *s, int y, int x, int n, uint32_t cp, int style);
/* ORs flags into n cells of a row. */
void scr_flag(ui_screen *s, int y, int x, int n, int flags);
/* Marks case-insensitive matches of pattern within a row segment. */
void scr_mark_matches(ui_screen *s, int y, int x, int w, const char *pattern);

/* Lays out a rich line in w columns at (y, x): fixed-width spans first, then
 * one flexible span (width -1) takes what is left; natural spans as they come.
 * Returns the columns used. */
int scr_tline(ui_screen *s, int y, int x, int w, const tline *l);

/* Dumps: the text (one line per row, trailing blanks trimmed), and the
 * attributes as runs "x0-x1 style[+flags]" per row. */
void scr_dump_text(const ui_screen *s, FILE *f);
void scr_dump_attrs(const ui_screen *s, FILE *f);
/* The text of a row into buf (UTF-8, untrimmed). */
void scr_row_text(const ui_screen *s, int y, char *buf, size_t cap);

/* Box and marker glyphs that fall back to ASCII. */
uint32_t scr_glyph(const ui_screen *s, uint32_t unicode, char ascii);

#endif
