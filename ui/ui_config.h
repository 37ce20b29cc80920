/* The explorer's config file (JSON, documented in sidr-config(5)):
 *
 *   { "model": DIR, "data": DIR,
 *     "think": true, "beams": 10, "temperature": 0, "top_p": 1, "seed": 0, "max_reasoning": 1024,
 *     "color": "auto" | "always" | "never",  "ascii": false,
 *     "colors": { "level.a": "cyan", "title.focus": "white on blue bold", ... },
 *     "keys": { "move-down": "j Down", "users.open-run": ["Enter", "o"], ... },
 *     "history_size": 500, "numerics": "exact" | "fast" }
 *
 * Searched in order: --config FILE, $SIDR_CONFIG, $XDG_CONFIG_HOME/sidr/config.json
 * (~/.config/sidr/config.json), each $XDG_CONFIG_DIRS entry (/etc/xdg)/sidr/config.json;
 * the first that exists is used. */
#ifndef SIDR_UI_CONFIG_H
#define SIDR_UI_CONFIG_H

#include <stddef.h>

#include "keys.h"
#include "recommend.h"
#include "screen.h"
#include "status.h"

/* Colours: -1 the terminal's default, 0..7 standard, 8..15 bright, up to 255. */
enum { AT_BOLD = 1, AT_DIM = 2, AT_UNDERLINE = 4, AT_REVERSE = 8, AT_ITALIC = 16 };

typedef struct {
    short fg, bg;
    int attrs;          /* with colours */
    int mono;           /* attributes without colours */
} ui_style_spec;

typedef struct {
    char *path;             /* the file read, NULL when none */
    char *model, *data;     /* defaults for --model / --data */
    rec_settings set;
    int color;              /* -1 auto, 0 never, 1 always */
    int ascii;              /* 1: ASCII box and marker characters */
    int history_size;
    int numerics;           /* -1 unset, else sidr_numerics */
    ui_style_spec styles[ST_COUNT];
    keymap km;
} ui_config;

void ui_config_defaults(ui_config *c);
/* Loads the config: path when given, else the XDG search (when search is
 * non-zero).  A missing file is fine; a malformed one is an error naming the
 * file and the field. */
sidr_status ui_config_load(ui_config *c, const char *path, int search);
void ui_config_free(ui_config *c);
/* Parses a style spec ("yellow on blue bold") into s. */
int ui_style_spec_parse(const char *spec, ui_style_spec *s, char *err, size_t cap);
/* Where the command history is kept ($XDG_STATE_HOME/sidr/history); a fresh
 * string or NULL. */
char *ui_state_path(const char *leaf);

#endif
