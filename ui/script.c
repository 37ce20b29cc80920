/* The headless front end: a script of keys and commands drives the explorer
 * on a virtual screen, and screens are dumped for golden tests.
 *
 * The script language, one command per line ('#' starts a comment):
 *
 *   j j Enter            key names, as in the config file (j, G, C-l, Enter,
 *                        Space, Tab, BackTab, Esc, Up, PgDn, F1, ...)
 *   : "beams 4" Enter    a double-quoted string types its characters
 *   key NAME...          the same, explicitly
 *   type TEXT            types the rest of the line
 *   wait-run [N]         engine steps until the run ends, is paused or
 *                        cancelled (at most N steps); in compare mode also
 *                        model B's run of the same row
 *   tick [N]             N rounds of the event loop's idle work (one engine
 *                        step each while a run is active, else one item of
 *                        the Alignment pane's work)
 *   wait-align [N]       idle work until the Alignment sample is measured
 *                        (at most N items)
 *   wait-msg TEXT        idle work until the message line contains TEXT (a
 *                        tour's caption; fails after a million ticks)
 *   resize WxH           the terminal is resized (a KEY_RESIZE event)
 *   click ROW COL        a mouse click; wheel up|down ROW COL: the wheel
 *   dump NAME            writes DIR/NAME.txt (and DIR/NAME.attr with --attrs)
 *   expect TEXT          fails unless TEXT is on the screen (quoted or not)
 *   expect-not TEXT      fails if TEXT is on the screen
 *   quit                 stops (also: the app quitting)
 *
 * Engine steps happen only in wait-run and tick, so dumps are deterministic:
 * the same script gives the same screens. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ui.h"
#include "util.h"

static int fail(const char *path, int line, const char *fmt, const char *arg)
{
    fprintf(stderr, "sidr explore: %s:%d: ", path, line);
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    return 1;
}

static void feed(app *a, int key)
{
    ui_event ev = { key, 0, 0, 0 };
    double t0 = now_seconds();
    app_event(a, &ev);
    if (a->bench_on) {
        app_draw(a);
        bench_key(a, key, (now_seconds() - t0) * 1e3);
    }
}

static void render(app *a)
{
    app_draw(a);
    app_settle(a);
    app_draw(a);
}

static int screen_has(app *a, const char *text)
{
    render(a);
    size_t cap = (size_t)a->scr.w * 13 + 16;
    char *buf = xmalloc(cap);
    int found = 0;
    for (int y = 0; y < a->scr.h && !found; y++) {
        scr_row_text(&a->scr, y, buf, cap);
        found = strstr(buf, text) != NULL;
    }
    free(buf);
    return found;
}

static int dump(app *a, const char *dir, const char *name, int attrs)
{
    render(a);
    char path[4200];
    snprintf(path, sizeof path, "%s/%s.txt", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) { fprintf(stderr, "sidr explore: %s: %s\n", path, strerror(errno)); return 1; }
    scr_dump_text(&a->scr, f);
    fclose(f);
    if (attrs) {
        snprintf(path, sizeof path, "%s/%s.attr", dir, name);
        f = fopen(path, "w");
        if (!f) { fprintf(stderr, "sidr explore: %s: %s\n", path, strerror(errno)); return 1; }
        scr_dump_attrs(&a->scr, f);
        fclose(f);
    }
    return 0;
}

/* Splits a line into words; "quoted strings" keep spaces (\" and \\ escape)
 * and are marked with a leading '\1'. */
static int split_words(char *line, char **w, int max)
{
    int n = 0;
    char *p = line, *o;
    while (*p && n < max) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p || *p == '#') break;
        if (*p == '"') {
            o = p;
            w[n++] = o;
            *o++ = '\1';
            p++;
            while (*p && *p != '"') {
                if (*p == '\\' && p[1]) p++;
                *o++ = *p++;
            }
            if (*p) p++;
            *o = 0;
            if (o == p) { /* closing quote right after: keep the terminator */ }
            continue;
        }
        w[n++] = p;
        while (*p && *p != ' ' && *p != '\t') p++;
        if (*p) *p++ = 0;
    }
    return n;
}

static void type_text(app *a, const char *t)
{
    size_t n = strlen(t), i = 0;
    while (i < n && !a->quit) {
        uint32_t cp;
        i += utf8_decode(t + i, n - i, &cp);
        feed(a, (int)cp);
    }
}

/* one side of WxH: digits only, in 1..UI_MAX_SIZE */
static int size_side(const char *s, const char *end, const char *name, int *out, char *why, size_t n)
{
    if (s == end) { snprintf(why, n, "%s is missing", name); return -1; }
    long v = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9') { snprintf(why, n, "%s '%.*s' is not a whole number", name, (int)(end - s), s); return -1; }
        if (v <= UI_MAX_SIZE) v = v * 10 + (*p - '0');
    }
    if (v < 1 || v > UI_MAX_SIZE) {
        snprintf(why, n, "%s %.*s is outside 1..%d", name, (int)(end - s), s, UI_MAX_SIZE);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int ui_parse_size(const char *s, int *w, int *h, char *why, size_t n)
{
    const char *x = strchr(s, 'x');
    if (!x) { snprintf(why, n, "no 'x' between the width and the height"); return -1; }
    if (size_side(s, x, "the width", w, why, n) || size_side(x + 1, x + 1 + strlen(x + 1), "the height", h, why, n))
        return -1;
    return 0;
}

int ui_run_script(app *a, const char *path, const char *dump_dir, int attrs, const char *bench)
{
    FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "r");
    if (!f) { fprintf(stderr, "sidr explore: %s: %s\n", path, strerror(errno)); return 1; }
    if (dump_dir) mkdir(dump_dir, 0777);
    a->bench_on = bench != NULL;
    char line[4096];
    int ln = 0, rc = 0;
    while (!rc && !a->quit && fgets(line, sizeof line, f)) {
        ln++;
        size_t len = strlen(line);
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = 0;
        char raw[4096];
        snprintf(raw, sizeof raw, "%s", line);
        char *w[128];
        int n = split_words(line, w, 128);
        if (!n) continue;
        const char *cmd = w[0];
        if (!strcmp(cmd, "wait-run")) {
            long max = n > 1 ? atol(w[1]) : 10000000L;
            for (long k = 0; k < max && ((a->rstate == RUN_ACTIVE && !a->paused) || cmp_busy(a)); k++) app_tick(a);
        } else if (!strcmp(cmd, "wait-align")) {
            long max = n > 1 ? atol(w[1]) : 10000000L;
            for (long k = 0; k < max && al_busy(a) && a->rstate != RUN_ACTIVE; k++) app_tick(a);
        } else if (!strcmp(cmd, "wait-msg")) {
            const char *t = strstr(raw, cmd) + strlen(cmd);
            while (*t == ' ') t++;
            char text[1024];
            snprintf(text, sizeof text, "%s", n > 1 && w[1][0] == '\1' ? w[1] + 1 : t);
            long k = 0;
            while (k < 1000000L && !strstr(a->msg, text) && !a->quit) app_tick(a), k++;
            if (!strstr(a->msg, text)) {
                rc = fail(path, ln, "the message line never said '%s'", text);
                fprintf(stderr, "(it says '%s')\n", a->msg);
            }
        } else if (!strcmp(cmd, "tick")) {
            long k = n > 1 ? atol(w[1]) : 1;
            while (k-- > 0) app_tick(a);
        } else if (!strcmp(cmd, "resize")) {
            int W, H;
            char why[160];
            if (n < 2) { rc = fail(path, ln, "resize expects WxH (e.g. 80x24)%s", ""); break; }
            if (ui_parse_size(w[1], &W, &H, why, sizeof why)) {
                char msg[400];
                snprintf(msg, sizeof msg, "resize expects WxH with W and H in 1..%d (e.g. 80x24), got '%.120s': %s",
                         UI_MAX_SIZE, w[1], why);
                rc = fail(path, ln, "%s", msg);
                break;
            }
            app_resize(a, W, H);
            feed(a, UK_RESIZE);
        } else if (!strcmp(cmd, "dump")) {
            if (n < 2) { rc = fail(path, ln, "dump expects a NAME%s", ""); break; }
            if (!dump_dir) continue;
            rc = dump(a, dump_dir, w[1], attrs);
        } else if (!strcmp(cmd, "expect") || !strcmp(cmd, "expect-not")) {
            const char *t = strstr(raw, cmd) + strlen(cmd);
            while (*t == ' ') t++;
            char text[4096];
            snprintf(text, sizeof text, "%s", n > 1 && w[1][0] == '\1' ? w[1] + 1 : t);
            int has = screen_has(a, text);
            if (has != !strcmp(cmd, "expect")) {
                rc = fail(path, ln, has ? "'%s' is on the screen" : "'%s' is not on the screen", text);
                fprintf(stderr, "--- screen ---\n");
                scr_dump_text(&a->scr, stderr);
            }
        } else if (!strcmp(cmd, "type")) {
            const char *t = strstr(raw, "type") + 4;
            if (*t == ' ') t++;
            type_text(a, t);
        } else if (!strcmp(cmd, "click") || !strcmp(cmd, "wheel")) {
            int wheel = !strcmp(cmd, "wheel");
            int off = wheel ? 2 : 1;
            if (n < off + 2 || (wheel && strcmp(w[1], "up") && strcmp(w[1], "down"))) {
                rc = fail(path, ln, "%s", wheel ? "wheel expects up|down ROW COL" : "click expects ROW COL");
                break;
            }
            ui_event ev = { UK_MOUSE, atoi(w[off]), atoi(w[off + 1]),
                            wheel ? (!strcmp(w[1], "up") ? MB_WHEEL_UP : MB_WHEEL_DOWN) : MB_CLICK };
            render(a); /* clicks land on the layout as drawn */
            app_event(a, &ev);
        } else if (!strcmp(cmd, "quit")) {
            break;
        } else {
            int first = !strcmp(cmd, "key") ? 1 : 0;
            for (int i = first; i < n && !a->quit; i++) {
                if (w[i][0] == '\1') { type_text(a, w[i] + 1); continue; }
                int k = key_parse(w[i]);
                if (k < 0) { rc = fail(path, ln, "unknown key or command '%s'", w[i]); break; }
                /* a mouse-free script may still need the layout for paging */
                if (i == first) render(a);
                feed(a, k);
            }
        }
    }
    if (f != stdin) fclose(f);
    if (bench) bench_report(a, bench);
    return rc;
}
