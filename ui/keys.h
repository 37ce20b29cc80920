/* The explorer's one key table.  Every row binds an action in a scope (global
 * or one pane) to default keys and carries the line the help screen shows;
 * dispatch, the config file's "keys" and the help screen all read it, so what
 * '?' lists is exactly what the keys do. */
#ifndef SIDR_UI_KEYS_H
#define SIDR_UI_KEYS_H

#include <stddef.h>

/* Key codes: characters are their Unicode code points (Ctrl-L is 12, Enter
 * '\n', Tab '\t', Esc 27, Backspace 127); other keys lie above Unicode. */
enum {
    UK_BASE = 0x110000,
    UK_UP = UK_BASE, UK_DOWN, UK_LEFT, UK_RIGHT,
    UK_PGUP, UK_PGDN, UK_HOME, UK_END,
    UK_BTAB, UK_DEL, UK_INS,
    UK_F1, UK_F2, UK_F3, UK_F4, UK_F5, UK_F6, UK_F7, UK_F8, UK_F9, UK_F10, UK_F11, UK_F12,
    UK_RESIZE,
    UK_MOUSE,
    UK_END_OF_KEYS
};
#define UK_ENTER '\n'
#define UK_ESC 27
#define UK_TAB '\t'
#define UK_BACKSPACE 127
#define UK_CTRL(c) ((c) & 0x1f)

/* Mouse buttons of a UK_MOUSE event. */
enum { MB_CLICK = 1, MB_WHEEL_UP = 4, MB_WHEEL_DOWN = 5 };

typedef struct {
    int key;
    int y, x, button;   /* UK_MOUSE */
} ui_event;

/* "j", "G", "C-l", "Enter", "Space", "Tab", "BackTab", "Esc", "Up", "PgDn",
 * "F1", ... -> key code; -1 when unknown. */
int key_parse(const char *name);
/* The display name of a key ("j", "C-l", "Enter", "PgDn"). */
void ui_key_name(int key, char *buf, size_t cap);

typedef enum { SC_GLOBAL, SC_USERS, SC_HISTORY, SC_REASONING, SC_BEAM, SC_CODEBOOK, SC_ALIGN, SC_DIFF, SC_COMPARE, SC_HELP, SC_COUNT } key_scope;

const char *scope_name(int scope);   /* "global", "users", ... */

typedef enum {
    A_NONE = 0,
    A_MOVE_UP, A_MOVE_DOWN, A_MOVE_LEFT, A_MOVE_RIGHT,
    A_PAGE_UP, A_PAGE_DOWN, A_FIRST, A_LAST,
    A_FOCUS_NEXT, A_FOCUS_PREV,
    A_FOCUS_USERS, A_FOCUS_HISTORY, A_FOCUS_REASONING, A_FOCUS_BEAM, A_FOCUS_CODEBOOK, A_FOCUS_ALIGN,
    A_GROW, A_SHRINK, A_ZOOM,
    A_SEARCH, A_SEARCH_NEXT, A_SEARCH_PREV,
    A_COMMAND, A_HELP, A_QUIT, A_REDRAW,
    A_RUN, A_CANCEL, A_PAUSE, A_STEP, A_THINK, A_WHY,
    A_CODEBOOK, A_BACK,
    /* pane actions */
    A_USER_RUN, A_USER_OPEN, A_FILTER_SPLIT, A_FILTER_OUTCOME,
    A_FOLLOW, A_ALTS, A_PREV_LINK, A_NEXT_LINK,
    A_ALIGN_SORT, A_ALIGN_SAMPLE,
    A_HIST_DELETE, A_HIST_MOVE_UP, A_HIST_MOVE_DOWN, A_HIST_INSERT, A_UNDO, A_REVERT, A_DIFF, A_COMPARE,
    A_COUNT
} ui_action;

typedef struct {
    int scope;
    ui_action action;
    const char *name;       /* config name: "move-down", "users.open-run" */
    const char *keys;       /* default keys, space-separated */
    const char *help;       /* the help screen's line */
} key_row;

extern const key_row key_table[];
extern const int key_table_len;

#define KEYS_PER_ROW 6

/* The bindings in effect: per table row, its keys. */
typedef struct {
    int keys[96][KEYS_PER_ROW];
    int n_keys[96];
} keymap;

void keymap_default(keymap *km);
/* Replaces a row's keys from a config entry: name is the row's config name,
 * spec the keys ("j Down").  Returns 0, or -1 with a message in err. */
int keymap_bind(keymap *km, const char *name, const char *spec, char *err, size_t cap);
/* The action for a key in a scope: the scope's rows first, then global. */
ui_action keymap_lookup(const keymap *km, int scope, int key);
/* The keys of a row as display text ("j, Down"). */
void keymap_row_keys(const keymap *km, int row, char *buf, size_t cap);
/* The first key bound to an action in a scope (or global), for hints; "" if none. */
void keymap_hint(const keymap *km, int scope, ui_action a, char *buf, size_t cap);

#endif
