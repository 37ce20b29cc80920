/* The terminal front end: ncurses (wide), input polled between engine steps.
 *
 * The loop never blocks on input while a run streams: it polls with a zero
 * timeout, handles every pending key, then does one engine step (a token, a
 * beam level) and redraws (at most ~30 times a second while busy, at once
 * after a key).  So no key waits longer than one engine step.  KEY_RESIZE
 * resizes the cell grid and redraws, mid-stream included. */
#include <ncursesw/curses.h>
#include <ncursesw/term.h> /* tigetstr: can the terminal address the cursor? */
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ui.h"
#include "util.h"

static volatile sig_atomic_t got_signal;

/* Benchmark: a thread notes when input becomes readable (it never reads), so
 * key-to-redraw latency includes the wait for the engine step in progress. */
static pthread_mutex_t arrival_lock = PTHREAD_MUTEX_INITIALIZER;
static double arrival;
static volatile int watching;

static void *watch_input(void *unused)
{
    (void)unused;
    while (watching) {
        struct pollfd p = { STDIN_FILENO, POLLIN, 0 };
        if (poll(&p, 1, 20) > 0) {
            pthread_mutex_lock(&arrival_lock);
            if (arrival == 0) arrival = now_seconds();
            pthread_mutex_unlock(&arrival_lock);
            usleep(200);
        }
    }
    return NULL;
}

static void on_signal(int sig)
{
    got_signal = sig;
}

static attr_t attrs_of(int at)
{
    attr_t r = 0;
    if (at & AT_BOLD) r |= A_BOLD;
    if (at & AT_DIM) r |= A_DIM;
    if (at & AT_UNDERLINE) r |= A_UNDERLINE;
    if (at & AT_REVERSE) r |= A_REVERSE;
#ifdef A_ITALIC
    if (at & AT_ITALIC) r |= A_ITALIC;
#endif
    return r;
}

static int have_colors;

static void init_colors(app *a)
{
    have_colors = has_colors();
    if (!have_colors) return;
    start_color();
    use_default_colors();
    for (int s = 0; s < ST_COUNT; s++) {
        short fg = a->cfg.styles[s].fg, bg = a->cfg.styles[s].bg;
        if (fg >= COLORS) fg = fg % 8;
        if (bg >= COLORS) bg = bg % 8;
        init_pair((short)(s + 1), fg, bg);
    }
}

static void flush(app *a)
{
    ui_screen *s = &a->scr;
    int color = a->color && have_colors;
    for (int y = 0; y < s->h && y < LINES; y++) {
        for (int x = 0; x < s->w && x < COLS; x++) {
            const ui_cell *c = &s->cells[(size_t)y * s->w + x];
            if (!c->ch) continue;
            const ui_style_spec *sp = &a->cfg.styles[c->style];
            attr_t at = attrs_of(color ? sp->attrs : sp->mono);
            if (c->flags & (CF_SEL | CF_CURSOR)) at ^= A_REVERSE;
            if (c->flags & CF_SEL_DIM) at |= A_BOLD;
            if (c->flags & CF_LINK) at |= A_UNDERLINE;
            if (c->flags & CF_MATCH) at = (at ^ A_REVERSE) | A_BOLD | A_UNDERLINE;
            wchar_t w[4] = { (wchar_t)c->ch, (wchar_t)c->comb[0], (wchar_t)(c->comb[0] ? c->comb[1] : 0), 0 };
            cchar_t cc;
            setcchar(&cc, w, at, color ? (short)(c->style + 1) : 0, NULL);
            mvadd_wch(y, x, &cc);
        }
    }
    if (a->cmd_active && s->cur_y >= 0) {
        curs_set(1);
        move(s->cur_y, s->cur_x);
    } else {
        curs_set(0);
        move(s->h - 1, 0);
    }
    if (a->dirty == 2) clearok(curscr, TRUE);
    refresh();
}

static int translate(int r, wint_t ch, ui_event *ev)
{
    memset(ev, 0, sizeof *ev);
    if (r == KEY_CODE_YES) {
        switch (ch) {
        case KEY_UP: ev->key = UK_UP; return 1;
        case KEY_DOWN: ev->key = UK_DOWN; return 1;
        case KEY_LEFT: ev->key = UK_LEFT; return 1;
        case KEY_RIGHT: ev->key = UK_RIGHT; return 1;
        case KEY_PPAGE: ev->key = UK_PGUP; return 1;
        case KEY_NPAGE: ev->key = UK_PGDN; return 1;
        case KEY_HOME: ev->key = UK_HOME; return 1;
        case KEY_END: ev->key = UK_END; return 1;
        case KEY_BTAB: ev->key = UK_BTAB; return 1;
        case KEY_DC: ev->key = UK_DEL; return 1;
        case KEY_IC: ev->key = UK_INS; return 1;
        case KEY_BACKSPACE: ev->key = UK_BACKSPACE; return 1;
        case KEY_ENTER: ev->key = UK_ENTER; return 1;
        case KEY_RESIZE: ev->key = UK_RESIZE; return 1;
        case KEY_MOUSE: {
            MEVENT me;
            if (getmouse(&me) != OK) return 0;
            ev->key = UK_MOUSE;
            ev->y = me.y;
            ev->x = me.x;
            if (me.bstate & BUTTON4_PRESSED) ev->button = MB_WHEEL_UP;
#ifdef BUTTON5_PRESSED
            else if (me.bstate & BUTTON5_PRESSED) ev->button = MB_WHEEL_DOWN;
#endif
            else if (me.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON1_RELEASED)) ev->button = MB_CLICK;
            else return 0;
            return 1;
        }
        default:
            if (ch >= KEY_F(1) && ch <= KEY_F(12)) { ev->key = UK_F1 + (int)(ch - KEY_F(1)); return 1; }
            return 0;
        }
    }
    if (ch == '\r') ch = '\n';
    if (ch == 8) ch = UK_BACKSPACE;
    ev->key = (int)ch;
    return 1;
}

int ui_run_terminal(app *a, const char *bench)
{
    /* no SA_RESTART: a blocked read returns so the loop can end cleanly */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (!getenv("ESCDELAY")) set_escdelay(25);
    /* newterm, not initscr: initscr prints its own message and exits on an
     * unknown TERM, past our cleanup */
    const char *term = getenv("TERM") ? getenv("TERM") : "";
    SCREEN *screen = newterm(NULL, stdout, stdin);
    if (!screen) {
        fprintf(stderr, "sidr explore: TERM=%s: no such terminal type in terminfo; set TERM (e.g. TERM=xterm-256color), "
                        "or use --script FILE for a headless run\n", term);
        return 1;
    }
    const char *cup = tigetstr("cup");
    if (!cup || cup == (const char *)-1) {
        endwin();
        delscreen(screen);
        fprintf(stderr, "sidr explore: TERM=%s cannot move the cursor, which the explorer needs; set TERM (e.g. "
                        "TERM=xterm-256color), or use --script FILE for a headless run\n", term);
        return 1;
    }
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    intrflush(stdscr, FALSE);
    curs_set(0);
    mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
                  | BUTTON5_PRESSED
#endif
              ,
              NULL);
    mouseinterval(0);
    int want_color = a->color;
    init_colors(a);
    a->color = want_color && have_colors;
    app_resize(a, COLS, LINES);
    a->bench_on = bench != NULL;
    pthread_t watcher;
    watching = a->bench_on;
    if (watching && pthread_create(&watcher, NULL, watch_input, NULL)) watching = 0;
    double last_draw = 0;
    while (!a->quit && !got_signal) {
        int busy = (a->rstate == RUN_ACTIVE && !a->paused) || tour_active(a) || cmp_busy(a) || why_busy(a);
        int cbw = busy ? 0 : cb_busy(a);
        int bg = cbw == 1 || (!busy && al_busy(a));
        int pace_ms = busy ? app_pace_wait_ms(a) : 0;
        if (tour_active(a) && a->rstate != RUN_ACTIVE && !why_busy(a)) pace_ms = tour_wait_ms(a);
        if (a->dirty) {
            double t = now_seconds();
            /* while busy, at most ~30 frames a second -- but always before a wait */
            if ((!busy && !bg) || pace_ms > 0 || t - last_draw > 0.033) {
                app_draw(a);
                flush(a);
                a->dirty = 0;
                last_draw = t;
            }
        }
        timeout(pace_ms ? pace_ms : busy || bg ? 0 : a->dirty || cbw == 2 ? 30 : -1);
        wint_t ch;
        int r = get_wch(&ch);
        if (r == ERR) {
            if (busy || bg || cbw == 2) app_tick(a);
            continue;
        }
        double t_key = now_seconds();
        ui_event ev;
        if (!translate(r, ch, &ev)) continue;
        if (ev.key == UK_RESIZE) app_resize(a, COLS, LINES);
        app_event(a, &ev);
        app_draw(a);
        flush(a);
        a->dirty = 0;
        last_draw = now_seconds();
        if (a->bench_on) {
            pthread_mutex_lock(&arrival_lock);
            double t0 = arrival > 0 && arrival < t_key ? arrival : t_key;
            arrival = 0;
            pthread_mutex_unlock(&arrival_lock);
            bench_key(a, ev.key, (last_draw - t0) * 1e3);
        }
    }
    if (watching) {
        watching = 0;
        pthread_join(watcher, NULL);
    }
    endwin();
    delscreen(screen);
    if (bench) bench_report(a, bench);
    return 0;
}
