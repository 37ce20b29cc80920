/* Entry points of the explorer's two front ends: a real terminal (ncurses)
 * and the headless script runner used by the screen tests. */
#ifndef SIDR_UI_UI_H
#define SIDR_UI_UI_H

#include "app.h"

/* Runs the explorer on the terminal until the user quits; returns the exit
 * status.  bench (may be NULL) receives key-to-redraw and engine-step
 * latencies as JSON on exit. */
int ui_run_terminal(app *a, const char *bench);

/* Runs a script of keys and commands against a virtual screen (see
 * ui/script.c for the language); screens go to dump_dir.  Returns 0, or 1
 * with a message on stderr (a bad line, a failed expect). */
int ui_run_script(app *a, const char *script_path, const char *dump_dir, int attrs, const char *bench);

/* Parses a screen size "WxH" (decimal W and H in 1..UI_MAX_SIZE, nothing
 * else).  Returns 0, or -1 with why (n bytes) saying what is wrong. */
#define UI_MAX_SIZE 1000
int ui_parse_size(const char *s, int *w, int *h, char *why, size_t n);

#endif
