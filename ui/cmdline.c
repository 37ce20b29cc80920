/* The ':' command line and the '/' search prompt: GNU readline in callback
 * mode inside the explorer.  Readline never touches the terminal: keys reach
 * it through rl_getc_function from a small queue we fill (special keys are
 * turned back into the escape sequences readline's keymaps expect), and it
 * draws through rl_redisplay_function into the app's command buffer, which
 * the message line shows.  History (Up/Down, C-r) persists in
 * $XDG_STATE_HOME/sidr/history; Tab completes commands and their arguments. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "app.h"
#include "util.h"

static app *A;
static unsigned char queue[256];
static int q_head, q_tail;
static char *pending_line;
static int got_line, got_eof;
static FILE *devnull;
static char *history_path;
static int installed;

static int getc_cb(FILE *f)
{
    (void)f;
    if (q_head == q_tail) return EOF;
    return queue[q_head++];
}

static int input_available_cb(void)
{
    return q_head != q_tail;
}

static void redisplay_cb(void)
{
    if (!A) return;
    snprintf(A->cmd_buf, sizeof A->cmd_buf, "%s", rl_line_buffer ? rl_line_buffer : "");
    A->cmd_cursor = rl_point < (int)strlen(A->cmd_buf) ? rl_point : (int)strlen(A->cmd_buf);
    const char *p = rl_display_prompt ? rl_display_prompt : rl_prompt;
    snprintf(A->cmd_prompt, sizeof A->cmd_prompt, "%s", p ? p : "");
    A->dirty = 1;
}

static void prep_cb(int meta)
{
    (void)meta;
}

static void deprep_cb(void)
{
}

static void line_cb(char *line)
{
    got_line = 1;
    if (!line) got_eof = 1;
    free(pending_line);
    pending_line = line;
}

/* ---- completion ------------------------------------------------------------ */

static const char *const *gen_list;
static int gen_n, gen_i;
static int gen_users;

static char *generator(const char *text, int state)
{
    size_t len = strlen(text);
    if (!state) gen_i = 0;
    if (gen_users) {
        while (gen_i < A->ss.ds.n_users) {
            const char *id = A->ss.ds.users[gen_i++].id;
            if (!strncmp(id, text, len)) return xstrdup(id);
        }
        return NULL;
    }
    while (gen_i < gen_n) {
        const char *s = gen_list[gen_i++];
        if (!strncmp(s, text, len)) return xstrdup(s);
    }
    return NULL;
}

static char *command_generator(const char *text, int state)
{
    static int i;
    size_t len = strlen(text);
    if (!state) i = 0;
    while (i < ui_commands_len) {
        const char *s = ui_commands[i++].name;
        if (i > 1 && !strcmp(s, ui_commands[i - 2].name)) continue; /* a second form of the same command */
        if (!strncmp(s, text, len)) return xstrdup(s);
    }
    return NULL;
}

static char **complete_cb(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1;
    A->cmd_matches[0] = 0;
    if (A->cmd_active != ':') return NULL;
    /* the command word */
    int i = 0;
    while (i < start && rl_line_buffer[i] == ' ') i++;
    if (i == start) return rl_completion_matches(text, command_generator);
    char cmd[32];
    int k = 0;
    while (i < start && rl_line_buffer[i] != ' ' && k < 31) cmd[k++] = rl_line_buffer[i++];
    cmd[k] = 0;
    static const char *const onoff[] = { "on", "off" };
    static const char *const keys[] = { "beams", "think", "temp", "seed", "maxtok", "top_p", "numerics", "color", "ascii" };
    static const char *const splits[] = { "all", "test", "valid", "train" };
    static const char *const outcomes[] = { "all", "hit", "miss", "notrun", "off", "eval-diff" };
    static const char *const rows[] = { "test:", "valid:", "train:" };
    gen_users = 0;
    gen_list = NULL;
    if (!strcmp(cmd, "think") || !strcmp(cmd, "mono")) { gen_list = onoff; gen_n = 2; }
    else if (!strcmp(cmd, "set")) {
        /* "set KEY VALUE": keys first, then on/off for the switches */
        int words = 0;
        for (int j = 0; j < start; j++)
            if (rl_line_buffer[j] != ' ' && (j == 0 || rl_line_buffer[j - 1] == ' ')) words++;
        if (words <= 1) { gen_list = keys; gen_n = 8; }
        else { gen_list = onoff; gen_n = 2; }
    } else if (!strcmp(cmd, "split")) { gen_list = splits; gen_n = 4; }
    else if (!strcmp(cmd, "filter") && strncmp(rl_line_buffer + i, " eval-diff ", 11)) { gen_list = outcomes; gen_n = 6; }
    else if (!strcmp(cmd, "row")) { gen_list = rows; gen_n = 3; }
    else if (!strcmp(cmd, "user")) gen_users = 1;
    else if (!strcmp(cmd, "export") || !strcmp(cmd, "load-eval") || !strcmp(cmd, "compare") || !strcmp(cmd, "filter")) {
        rl_attempted_completion_over = 0; /* readline's file names */
        return NULL;
    } else return NULL;
    if (!strcmp(cmd, "row")) rl_completion_append_character = '\0';
    return rl_completion_matches(text, generator);
}

static void display_matches_cb(char **matches, int num, int max_len)
{
    (void)max_len;
    size_t o = 0;
    char *b = A->cmd_matches;
    size_t cap = sizeof A->cmd_matches;
    b[0] = 0;
    o += snprintf(b, cap, "%d: ", num);
    for (int i = 1; i <= num && o + 1 < cap; i++) {
        o += snprintf(b + o, cap - o, "%s%s", i > 1 ? " " : "", matches[i]);
        if (o >= cap) o = cap - 1;
    }
    A->dirty = 1;
    rl_forced_update_display();
}

/* ---- life cycle ------------------------------------------------------------ */

void cmdline_init(app *a)
{
    A = a;
    if (a->headless) setenv("INPUTRC", "/dev/null", 1);
    if (!devnull) devnull = fopen("/dev/null", "w+");
    rl_readline_name = "sidr";
    rl_catch_signals = 0;
    rl_catch_sigwinch = 0;
    rl_change_environment = 0;
    rl_getc_function = getc_cb;
    rl_input_available_hook = input_available_cb;
    rl_redisplay_function = redisplay_cb;
    rl_prep_term_function = prep_cb;
    rl_deprep_term_function = deprep_cb;
    rl_attempted_completion_function = complete_cb;
    rl_completion_display_matches_hook = display_matches_cb;
    rl_instream = devnull;
    rl_outstream = devnull;
    using_history();
    if (a->cfg.history_size > 0) stifle_history(a->cfg.history_size);
    if (!a->headless) {
        history_path = ui_state_path("history");
        if (history_path) read_history(history_path);
    }
}

void cmdline_open(app *a, int kind)
{
    A = a;
    a->cmd_active = kind;
    a->cmd_buf[0] = 0;
    a->cmd_cursor = 0;
    a->cmd_matches[0] = 0;
    q_head = q_tail = 0;
    got_line = got_eof = 0;
    char prompt[2] = { (char)kind, 0 };
    rl_callback_handler_install(prompt, line_cb);
    installed = 1;
    rl_variable_bind("show-all-if-ambiguous", "on");
    rl_variable_bind("bell-style", "none");
    rl_variable_bind("completion-ignore-case", "on");
    snprintf(a->cmd_prompt, sizeof a->cmd_prompt, "%s", prompt);
    a->dirty = 1;
}

void cmdline_close(app *a)
{
    if (installed) {
        rl_callback_sigcleanup();
        rl_callback_handler_remove();
        installed = 0;
    }
    a->cmd_active = 0;
    a->cmd_buf[0] = 0;
    a->cmd_matches[0] = 0;
    a->dirty = 1;
}

static void push_bytes(const char *b, int n)
{
    for (int i = 0; i < n && q_tail < (int)sizeof queue; i++) queue[q_tail++] = (unsigned char)b[i];
}

void cmdline_key(app *a, int key)
{
    A = a;
    if (key == UK_ESC || key == UK_CTRL('c') || key == UK_CTRL('g')) {
        cmdline_close(a);
        return;
    }
    if (key == UK_RESIZE || key == UK_MOUSE) return;
    q_head = q_tail = 0;
    char b[8];
    switch (key) {
    case UK_UP: push_bytes("\033[A", 3); break;
    case UK_DOWN: push_bytes("\033[B", 3); break;
    case UK_RIGHT: push_bytes("\033[C", 3); break;
    case UK_LEFT: push_bytes("\033[D", 3); break;
    case UK_HOME: push_bytes("\033[H", 3); break;
    case UK_END: push_bytes("\033[F", 3); break;
    case UK_DEL: push_bytes("\033[3~", 4); break;
    case UK_ENTER: push_bytes("\n", 1); break;
    default:
        if (key >= 0 && key < UK_BASE) push_bytes(b, sidr_utf8_encode((uint32_t)key, b));
        else return;
    }
    if (key != UK_TAB) a->cmd_matches[0] = 0;
    while (q_head != q_tail && !got_line) rl_callback_read_char();
    if (!got_line) return;
    /* a whole line: close the prompt first, then act on it */
    int kind = a->cmd_active;
    char *line = pending_line;
    int eof = got_eof;
    pending_line = NULL;
    got_line = got_eof = 0;
    cmdline_close(a);
    if (eof || !line) { free(line); return; }
    if (kind == ':') {
        if (*line) {
            HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
            if (!last || strcmp(last->line, line)) add_history(line);
            app_command(a, line);
        }
    } else if (kind == '/') {
        if (*line) {
            a->search_dir = 1;
            app_search(a, line, 1, 0);
        } else if (a->search[0]) app_search(a, a->search, a->search_dir, 1);
    }
    free(line);
}

void cmdline_shutdown(app *a)
{
    if (installed) cmdline_close(a);
    rl_free_undo_list(); /* a line abandoned mid-edit keeps its undo list (LeakSanitizer saw it) */
    if (history_path) {
        char *dir = xstrdup(history_path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = 0;
            /* mkdir -p of the state directory */
            for (char *p = dir + 1; *p; p++)
                if (*p == '/') { *p = 0; mkdir(dir, 0700); *p = '/'; }
            mkdir(dir, 0700);
        }
        free(dir);
        write_history(history_path);
        free(history_path);
        history_path = NULL;
    }
    rl_clear_history(); /* unlike clear_history, also frees the undo lists kept on edited history lines */
    free(pending_line);
    pending_line = NULL;
    if (devnull) { fclose(devnull); devnull = NULL; }
    rl_instream = rl_outstream = NULL;
    A = NULL;
}
