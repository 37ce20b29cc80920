#include "keys.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

/* The one key table.  Scoped rows come before global ones in dispatch. */
const key_row key_table[] = {
    /* global */
    { SC_GLOBAL, A_MOVE_DOWN, "move-down", "j Down", "Move down" },
    { SC_GLOBAL, A_MOVE_UP, "move-up", "k Up", "Move up" },
    { SC_GLOBAL, A_MOVE_LEFT, "move-left", "h Left", "Previous column (SID level, token, beam level)" },
    { SC_GLOBAL, A_MOVE_RIGHT, "move-right", "l Right", "Next column (SID level, token, beam level)" },
    { SC_GLOBAL, A_PAGE_DOWN, "page-down", "PgDn C-f C-d", "Page down" },
    { SC_GLOBAL, A_PAGE_UP, "page-up", "PgUp C-b C-u", "Page up" },
    { SC_GLOBAL, A_FIRST, "first", "g Home", "Go to the first line" },
    { SC_GLOBAL, A_LAST, "last", "G End", "Go to the last line (Reasoning: follow the stream)" },
    { SC_GLOBAL, A_FOCUS_NEXT, "focus-next", "Tab", "Focus the next pane" },
    { SC_GLOBAL, A_FOCUS_PREV, "focus-prev", "BackTab", "Focus the previous pane" },
    { SC_GLOBAL, A_FOCUS_USERS, "focus-users", "1", "Focus Users" },
    { SC_GLOBAL, A_FOCUS_HISTORY, "focus-history", "2", "Focus History" },
    { SC_GLOBAL, A_FOCUS_REASONING, "focus-reasoning", "3", "Focus Reasoning" },
    { SC_GLOBAL, A_FOCUS_BEAM, "focus-beam", "4", "Focus Beam" },
    { SC_GLOBAL, A_FOCUS_CODEBOOK, "focus-codebook", "5", "Focus Codebook" },
    { SC_GLOBAL, A_FOCUS_ALIGN, "focus-alignment", "6", "Focus Alignment: title<->SID of the item under the cursor (in place of panes 3-5)" },
    { SC_GLOBAL, A_GROW, "grow", "+ >", "Grow the focused pane" },
    { SC_GLOBAL, A_SHRINK, "shrink", "- <", "Shrink the focused pane" },
    { SC_GLOBAL, A_ZOOM, "zoom", "z", "Zoom the focused pane (again: back to all panes)" },
    { SC_GLOBAL, A_SEARCH, "search", "/", "Search the focused pane" },
    { SC_GLOBAL, A_SEARCH_NEXT, "search-next", "n", "Next match" },
    { SC_GLOBAL, A_SEARCH_PREV, "search-prev", "N", "Previous match" },
    { SC_GLOBAL, A_COMMAND, "command", ":", "Command line (:help lists the commands)" },
    { SC_GLOBAL, A_RUN, "run", "r", "Run the recommendation for the current user" },
    { SC_GLOBAL, A_CANCEL, "cancel", "Esc C-c", "Cancel the run or the alignment sample (or close help, leave zoom)" },
    { SC_GLOBAL, A_PAUSE, "pause", "p", "Pause / resume the run" },
    { SC_GLOBAL, A_STEP, "step", "s", "Pause and do one engine step (a token, a beam level)" },
    { SC_GLOBAL, A_THINK, "toggle-think", "t", "Thinking mode on/off for the next run" },
    { SC_GLOBAL, A_WHY, "why", "w", "Why: attention, occlusion, gradient (History); lens (Beam)" },
    { SC_GLOBAL, A_DIFF, "diff", "D", "Diff view: the original and the edited history's runs side by side (again: back)" },
    { SC_GLOBAL, A_COMPARE, "compare", "C", "Compare view: model A and model B (:compare DIR) on the last run's row (again: back)" },
    { SC_GLOBAL, A_CODEBOOK, "codebook", "c", "Codebook of the selected SID token" },
    { SC_GLOBAL, A_BACK, "back", "Backspace", "Back to the previous codebook token" },
    { SC_GLOBAL, A_REDRAW, "redraw", "C-l", "Redraw the screen" },
    { SC_GLOBAL, A_HELP, "help", "? F1", "This help" },
    { SC_GLOBAL, A_QUIT, "quit", "q", "Quit (closes help first)" },
    /* panes */
    { SC_USERS, A_USER_RUN, "users.open-run", "Enter", "Open the user and run the recommendation" },
    { SC_USERS, A_USER_OPEN, "users.open", "Space o", "Open the user (history only, no run)" },
    { SC_USERS, A_FILTER_SPLIT, "users.filter-split", "f", "Filter by split: all, test, valid, train" },
    { SC_USERS, A_FILTER_OUTCOME, "users.filter-outcome", "F", "Filter by outcome: all, hit, miss, not run" },
    { SC_HISTORY, A_CODEBOOK, "history.codebook", "Enter", "Codebook of the selected SID token (h/l picks the level)" },
    { SC_HISTORY, A_HIST_DELETE, "history.delete", "d Del", "Edit: delete the item under the cursor (r runs the edited history)" },
    { SC_HISTORY, A_HIST_MOVE_UP, "history.move-up", "K", "Edit: move the item up" },
    { SC_HISTORY, A_HIST_MOVE_DOWN, "history.move-down", "J", "Edit: move the item down" },
    { SC_HISTORY, A_HIST_INSERT, "history.insert", "i Ins", "Edit: insert before the cursor; / picks a catalogue item by title or SID, n/N, Enter" },
    { SC_HISTORY, A_UNDO, "history.undo", "u", "Undo the last edit (all levels; opening another user drops the edits)" },
    { SC_HISTORY, A_REVERT, "history.revert", "U", "Undo every edit: back to the dataset's history" },
    { SC_REASONING, A_FOLLOW, "reasoning.follow", "Enter", "SID mention: open its item and codebook; else alternatives" },
    { SC_REASONING, A_ALTS, "reasoning.alternatives", "a", "Show / hide the top alternatives of the selected token" },
    { SC_REASONING, A_PREV_LINK, "reasoning.prev-link", "[", "Previous SID mention" },
    { SC_REASONING, A_NEXT_LINK, "reasoning.next-link", "]", "Next SID mention" },
    { SC_BEAM, A_CODEBOOK, "beam.codebook", "Enter", "Codebook of the beam's token (h/l: step, or lens after w)" },
    { SC_CODEBOOK, A_FOLLOW, "codebook.follow", "Enter", "Go to the code or item on this line" },
    { SC_ALIGN, A_FOLLOW, "alignment.open", "Enter", "Worst-aligned line: open the item; item or beam line: its codebook entry" },
    { SC_ALIGN, A_SEARCH, "alignment.search", "/", "Pick an item by title, SID or id (n, N: next, previous match)" },
    { SC_ALIGN, A_ALIGN_SORT, "alignment.sort", "o", "Sort the worst-aligned list: levels right, title F1, sample order" },
    { SC_ALIGN, A_ALIGN_SAMPLE, "alignment.sample", "m", "Measure the seeded sample again (Esc cancels)" },
    { SC_DIFF, A_DIFF, "diff.close", "Esc", "Close the diff view (D too)" },
    { SC_COMPARE, A_COMPARE, "compare.close", "Esc", "Close the compare view (C too)" },
};
const int key_table_len = (int)(sizeof key_table / sizeof key_table[0]);

static const char *const scope_names[SC_COUNT] = { "global", "users", "history", "reasoning", "beam", "codebook", "alignment", "diff", "compare", "help" };

const char *scope_name(int scope)
{
    return scope >= 0 && scope < SC_COUNT ? scope_names[scope] : "?";
}

static const struct {
    const char *name;
    int key;
} named[] = {
    { "Enter", UK_ENTER }, { "Return", UK_ENTER }, { "Space", ' ' }, { "Tab", UK_TAB }, { "BackTab", UK_BTAB },
    { "S-Tab", UK_BTAB }, { "Esc", UK_ESC }, { "Escape", UK_ESC }, { "Backspace", UK_BACKSPACE }, { "BS", UK_BACKSPACE },
    { "Up", UK_UP }, { "Down", UK_DOWN }, { "Left", UK_LEFT }, { "Right", UK_RIGHT }, { "PgUp", UK_PGUP },
    { "PageUp", UK_PGUP }, { "PgDn", UK_PGDN }, { "PageDown", UK_PGDN }, { "Home", UK_HOME }, { "End", UK_END },
    { "Del", UK_DEL }, { "Delete", UK_DEL }, { "Ins", UK_INS }, { "Insert", UK_INS }, { "Resize", UK_RESIZE },
};

int key_parse(const char *name)
{
    if (!name || !*name) return -1;
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        if (!strcmp(name, named[i].name)) return named[i].key;
    if ((name[0] == 'C' || name[0] == 'c') && name[1] == '-' && name[2] && !name[3]) {
        char c = name[2];
        if (c >= 'a' && c <= 'z') return UK_CTRL(c);
        if (c >= 'A' && c <= 'Z') return UK_CTRL(c);
        if (c == '[') return UK_ESC;
        return -1;
    }
    if (name[0] == 'F' && name[1] >= '1' && name[1] <= '9') {
        int n = atoi(name + 1);
        if (n >= 1 && n <= 12) return UK_F1 + n - 1;
    }
    uint32_t cp;
    size_t len = strlen(name);
    int k = utf8_decode(name, len, &cp);
    if ((size_t)k == len && cp >= 0x20 && cp != 0x7F) return (int)cp;
    return -1;
}

void ui_key_name(int key, char *buf, size_t cap)
{
    static const char *const specials[] = { "Up", "Down", "Left", "Right", "PgUp", "PgDn", "Home", "End",
                                            "BackTab", "Del", "Ins" };
    if (key == UK_ENTER) snprintf(buf, cap, "Enter");
    else if (key == ' ') snprintf(buf, cap, "Space");
    else if (key == UK_TAB) snprintf(buf, cap, "Tab");
    else if (key == UK_ESC) snprintf(buf, cap, "Esc");
    else if (key == UK_BACKSPACE) snprintf(buf, cap, "Backspace");
    else if (key >= 0 && key < 0x20) snprintf(buf, cap, "C-%c", key + 'a' - 1);
    else if (key >= UK_UP && key <= UK_INS) snprintf(buf, cap, "%s", specials[key - UK_UP]);
    else if (key >= UK_F1 && key <= UK_F12) snprintf(buf, cap, "F%d", key - UK_F1 + 1);
    else if (key == UK_RESIZE) snprintf(buf, cap, "Resize");
    else if (key == UK_MOUSE) snprintf(buf, cap, "Mouse");
    else if (key >= 0x20 && key < UK_BASE) {
        char u[8];
        int n = sidr_utf8_encode((uint32_t)key, u);
        u[n] = 0;
        snprintf(buf, cap, "%s", u);
    } else snprintf(buf, cap, "?");
}

static int parse_keys(const char *spec, int *keys, int *n, char *err, size_t cap)
{
    *n = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", spec);
    for (char *save = NULL, *t = strtok_r(tmp, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        int k = key_parse(t);
        if (k < 0) {
            if (err) snprintf(err, cap, "unknown key name '%s' (expected e.g. j, G, C-l, Enter, Space, Tab, Esc, Up, PgDn, F1)", t);
            return -1;
        }
        if (*n < KEYS_PER_ROW) keys[(*n)++] = k;
    }
    return 0;
}

void keymap_default(keymap *km)
{
    memset(km, 0, sizeof *km);
    for (int r = 0; r < key_table_len && r < 96; r++) parse_keys(key_table[r].keys, km->keys[r], &km->n_keys[r], NULL, 0);
}

int keymap_bind(keymap *km, const char *name, const char *spec, char *err, size_t cap)
{
    for (int r = 0; r < key_table_len; r++) {
        if (strcmp(key_table[r].name, name)) continue;
        int keys[KEYS_PER_ROW], n;
        if (parse_keys(spec, keys, &n, err, cap)) return -1;
        memcpy(km->keys[r], keys, sizeof keys);
        km->n_keys[r] = n;
        return 0;
    }
    snprintf(err, cap, "unknown action '%s' (the actions are listed in sidr-config(5) and on the help screen)", name);
    return -1;
}

ui_action keymap_lookup(const keymap *km, int scope, int key)
{
    for (int pass = 0; pass < 2; pass++) {
        int want = pass == 0 ? scope : SC_GLOBAL;
        if (pass == 1 && scope == SC_GLOBAL) break;
        for (int r = 0; r < key_table_len; r++) {
            if (key_table[r].scope != want) continue;
            for (int k = 0; k < km->n_keys[r]; k++)
                if (km->keys[r][k] == key) return key_table[r].action;
        }
    }
    return A_NONE;
}

void keymap_row_keys(const keymap *km, int row, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = 0;
    for (int k = 0; k < km->n_keys[row] && o + 1 < cap; k++) {
        char nm[32];
        ui_key_name(km->keys[row][k], nm, sizeof nm);
        o += snprintf(buf + o, cap - o, "%s%s", k ? " " : "", nm);
        if (o >= cap) o = cap - 1;
    }
}

void keymap_hint(const keymap *km, int scope, ui_action a, char *buf, size_t cap)
{
    buf[0] = 0;
    for (int pass = 0; pass < 2; pass++) {
        int want = pass == 0 ? scope : SC_GLOBAL;
        for (int r = 0; r < key_table_len; r++)
            if (key_table[r].scope == want && key_table[r].action == a && km->n_keys[r]) {
                ui_key_name(km->keys[r][0], buf, cap);
                return;
            }
    }
}
