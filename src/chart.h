/* Terminal line charts: a series of (x, y) points drawn with braille dots
 * (2x4 per character cell) in a UTF-8 locale, or with ASCII marks otherwise,
 * framed by a y-axis with its range and an x-axis with its range. */
#ifndef SIDR_CHART_H
#define SIDR_CHART_H

#include <stdio.h>

typedef struct {
    int width, height;   /* plot area in character cells (without the axes) */
    int utf8;            /* braille and box drawing; else ASCII */
    const char *x_label; /* under the x-axis, e.g. "step" */
} chart_style;

/* Prints a titled chart of n points (x ascending). Non-finite points are
 * skipped; with fewer than one finite point it prints the title and "no data". */
void chart_print(FILE *f, const char *title, const double *x, const double *y, int n, const chart_style *st);

#endif
