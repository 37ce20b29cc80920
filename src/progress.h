/* Progress for long work on stderr: a bar with rate and ETA on a terminal,
 * a plain line every few percent otherwise. */
#ifndef SIDR_PROGRESS_H
#define SIDR_PROGRESS_H

typedef struct {
    const char *label;
    const char *unit;
    long total;
    double t0, last_draw;
    int tty;
    int last_pct;
} progress;

void progress_start(progress *p, const char *label, long total, const char *unit);
/* done items so far; note is a short suffix (e.g. "HR@10 0.143"), may be NULL. */
void progress_update(progress *p, long done, const char *note);
void progress_end(progress *p, long done, const char *note);

#endif
