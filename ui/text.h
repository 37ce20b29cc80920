/* UTF-8 text for a terminal: decoding with replacement, display widths
 * (wcwidth: CJK and emoji take two columns, combining marks none), and rich
 * lines of styled spans that the views build and the screen lays out. */
#ifndef SIDR_UI_TEXT_H
#define SIDR_UI_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "utf8.h" /* sidr_utf8_encode, sidr_utf8_lead_len */

/* Decodes one code point at s (at most n bytes) for display.  Invalid or truncated
 * sequences decode as U+FFFD consuming one byte.  Returns bytes consumed
 * (>= 1 when n >= 1). */
int utf8_decode(const char *s, size_t n, uint32_t *cp);

/* Display width of one code point: 0 (combining, zero-width), 1 or 2;
 * control characters count as 1 (they are drawn as a visible substitute). */
int cp_width(uint32_t cp);
/* Display width of n bytes of UTF-8. */
int text_width(const char *s, size_t n);
/* Bytes of s that fit in w columns (never splitting a character). */
size_t text_fit(const char *s, size_t n, int w);

/* ---- rich lines ------------------------------------------------------------ */

enum { SPAN_RIGHT = 1, SPAN_ELLIPSIS = 2, SPAN_CLIP = 4 /* a flexible span cut without an ellipsis */ };

typedef struct {
    char *text;
    int style;
    int flags;      /* SPAN_RIGHT, SPAN_ELLIPSIS, plus screen cell flags in the high bits */
    int width;      /* 0: natural width; > 0: padded/truncated to it; -1: takes what is left */
} tspan;

typedef struct {
    tspan *spans;
    int n, cap;
    int selectable;     /* the cursor may rest here */
    int tag;            /* the view's own meaning (an index) */
} tline;

void tline_init(tline *l);
void tline_reset(tline *l);     /* keeps the allocation */
void tline_free(tline *l);
/* Appends a span; fmt is printf-style. */
void tline_add(tline *l, int style, int width, int flags, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Appends a span of raw bytes (not a format). */
void tline_addn(tline *l, int style, int width, int flags, const char *s, size_t n);
/* The concatenated text of the spans (for search), into buf. */
void tline_text(const tline *l, char *buf, size_t cap);

/* Case-insensitive (ASCII) substring search; NULL when absent. */
const char *text_find(const char *hay, const char *needle);

#endif
