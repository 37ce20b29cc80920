#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

void progress_start(progress *p, const char *label, long total, const char *unit)
{
    memset(p, 0, sizeof *p);
    p->label = label;
    p->unit = unit;
    p->total = total > 0 ? total : 1;
    p->t0 = now_seconds();
    p->tty = isatty(2);
    p->last_pct = -1;
}

static void eta_string(double s, char *buf, size_t cap)
{
    if (s < 0 || s > 1e7) snprintf(buf, cap, "--:--");
    else if (s >= 3600) snprintf(buf, cap, "%d:%02d:%02d", (int)s / 3600, (int)s / 60 % 60, (int)s % 60);
    else snprintf(buf, cap, "%02d:%02d", (int)s / 60, (int)s % 60);
}

static void draw(progress *p, long done, const char *note, int final)
{
    double el = now_seconds() - p->t0, rate = el > 0 ? done / el : 0;
    char eta[32];
    eta_string(rate > 0 ? (p->total - done) / rate : -1, eta, sizeof eta);
    int pct = (int)(100.0 * done / p->total);
    if (p->tty) {
        char bar[31];
        int fill = (int)(30.0 * done / p->total);
        for (int i = 0; i < 30; i++) bar[i] = i < fill ? '#' : '.';
        bar[30] = 0;
        fprintf(stderr, "\r%s [%s] %ld/%ld %3d%% %.2f %s/s ETA %s%s%s\033[K", p->label, bar, done, p->total, pct, rate,
                p->unit, eta, note ? "  " : "", note ? note : "");
        if (final) fputc('\n', stderr);
    } else {
        fprintf(stderr, "%s: %ld/%ld (%d%%) %.2f %s/s, ETA %s%s%s\n", p->label, done, p->total, pct, rate, p->unit, eta,
                note ? ", " : "", note ? note : "");
    }
    fflush(stderr);
}

void progress_update(progress *p, long done, const char *note)
{
    double t = now_seconds();
    int pct = (int)(100.0 * done / p->total);
    if (p->tty) {
        if (t - p->last_draw < 0.1) return;
    } else if (pct / 5 == p->last_pct / 5 || done >= p->total) {
        return; /* plain lines: every 5%, and the last one is progress_end's */
    }
    p->last_draw = t;
    p->last_pct = pct;
    draw(p, done, note, 0);
}

void progress_end(progress *p, long done, const char *note)
{
    draw(p, done, note, 1);
}
