#include "ui_config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* Colours with colour, attributes in monochrome. */
static const struct {
    int style;
    const char *spec;
    int mono;
} style_defaults[] = {
    { ST_NORMAL, "default", 0 },
    { ST_DIM, "default dim", AT_DIM },
    { ST_BOLD, "default bold", AT_BOLD },
    { ST_HEADER, "default bold", AT_BOLD | AT_UNDERLINE },
    { ST_TITLE, "black on white", AT_REVERSE },
    { ST_TITLE_FOCUS, "white on blue bold", AT_REVERSE | AT_BOLD },
    { ST_BORDER, "blue", 0 },
    { ST_STATUS, "black on cyan", AT_REVERSE },
    { ST_STATUS_ACCENT, "white on magenta bold", AT_REVERSE | AT_BOLD },
    { ST_MESSAGE, "default", 0 },
    { ST_ERROR, "red bold", AT_BOLD },
    { ST_LEVEL0, "cyan", 0 },
    { ST_LEVEL1, "yellow", 0 },
    { ST_LEVEL2, "green", 0 },
    { ST_LEVEL3, "magenta", 0 },
    { ST_LEVEL4, "red", 0 },
    { ST_PROB0, "default bold", AT_BOLD },
    { ST_PROB1, "default", 0 },
    { ST_PROB2, "default dim", 0 },
    { ST_PROB3, "yellow dim", AT_DIM },
    { ST_PROB4, "red", AT_DIM | AT_UNDERLINE },
    { ST_HIT, "green bold", AT_BOLD },
    { ST_MISS, "red", 0 },
    { ST_TARGET, "yellow bold", AT_BOLD | AT_UNDERLINE },
    { ST_SPECIAL, "magenta", AT_DIM },
    { ST_NUMBER, "default", 0 },
    { ST_BAR, "cyan", 0 },
};

static const char *const color_names[] = { "black", "red", "green", "yellow", "blue", "magenta", "cyan", "white" };

static int parse_color(const char *w, short *out)
{
    if (!strcmp(w, "default")) { *out = -1; return 0; }
    for (int i = 0; i < 8; i++) {
        if (!strcmp(w, color_names[i])) { *out = (short)i; return 0; }
        char b[32];
        snprintf(b, sizeof b, "bright-%s", color_names[i]);
        if (!strcmp(w, b)) { *out = (short)(8 + i); return 0; }
    }
    char *end;
    long n = strtol(w, &end, 10);
    if (end != w && !*end && n >= 0 && n <= 255) { *out = (short)n; return 0; }
    return -1;
}

static int parse_attr(const char *w, int *attrs)
{
    static const struct { const char *n; int a; } names[] = {
        { "bold", AT_BOLD }, { "dim", AT_DIM }, { "underline", AT_UNDERLINE }, { "reverse", AT_REVERSE },
        { "italic", AT_ITALIC }, { "normal", 0 },
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(w, names[i].n)) { *attrs |= names[i].a; return 0; }
    return -1;
}

int ui_style_spec_parse(const char *spec, ui_style_spec *s, char *err, size_t cap)
{
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", spec);
    short fg = -1, bg = -1;
    int attrs = 0, have_fg = 0, expect_bg = 0;
    for (char *save = NULL, *w = strtok_r(tmp, " \t,", &save); w; w = strtok_r(NULL, " \t,", &save)) {
        if (!strcmp(w, "on")) { expect_bg = 1; continue; }
        short c;
        if (expect_bg) {
            if (parse_color(w, &c)) goto bad;
            bg = c;
            expect_bg = 0;
            continue;
        }
        if (!parse_attr(w, &attrs)) continue;
        if (!have_fg && !parse_color(w, &c)) { fg = c; have_fg = 1; continue; }
    bad:
        snprintf(err, cap, "'%s' in \"%s\": expected a colour (default, black, red, green, yellow, blue, magenta, "
                 "cyan, white, bright-NAME, 0-255), 'on COLOUR' or an attribute (bold, dim, underline, reverse, italic)",
                 w, spec);
        return -1;
    }
    if (expect_bg) {
        snprintf(err, cap, "\"%s\": 'on' must be followed by a background colour", spec);
        return -1;
    }
    s->fg = fg;
    s->bg = bg;
    s->attrs = attrs;
    return 0;
}

void ui_config_defaults(ui_config *c)
{
    c->numerics = -1;
    memset(c, 0, sizeof *c);
    rec_settings_default(&c->set);
    c->color = -1;
    c->ascii = -1;
    c->history_size = 500;
    for (size_t i = 0; i < sizeof style_defaults / sizeof style_defaults[0]; i++) {
        ui_style_spec *s = &c->styles[style_defaults[i].style];
        char err[64];
        ui_style_spec_parse(style_defaults[i].spec, s, err, sizeof err);
        s->mono = style_defaults[i].mono;
    }
    keymap_default(&c->km);
}

void ui_config_free(ui_config *c)
{
    free(c->path);
    free(c->model);
    free(c->data);
    c->path = c->model = c->data = NULL;
}

static char *xdg_path(const char *env, const char *fallback_home_rel, const char *leaf)
{
    const char *base = getenv(env);
    char buf[4096];
    if (base && *base) snprintf(buf, sizeof buf, "%s/sidr/%s", base, leaf);
    else {
        const char *home = getenv("HOME");
        if (!home || !*home) return NULL;
        snprintf(buf, sizeof buf, "%s/%s/sidr/%s", home, fallback_home_rel, leaf);
    }
    return xstrdup(buf);
}

char *ui_state_path(const char *leaf)
{
    return xdg_path("XDG_STATE_HOME", ".local/state", leaf);
}

static char *find_config(void)
{
    const char *env = getenv("SIDR_CONFIG");
    if (env && *env) return xstrdup(env);
    char *p = xdg_path("XDG_CONFIG_HOME", ".config", "config.json");
    if (p && file_exists(p)) return p;
    free(p);
    const char *dirs = getenv("XDG_CONFIG_DIRS");
    if (!dirs || !*dirs) dirs = "/etc/xdg";
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dirs);
    for (char *save = NULL, *d = strtok_r(tmp, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char buf[4200];
        snprintf(buf, sizeof buf, "%s/sidr/config.json", d);
        if (file_exists(buf)) return xstrdup(buf);
    }
    return NULL;
}

static sidr_status field_err(const char *path, const char *field, const char *expected)
{
    return sidr_fail(SIDR_ERR_FORMAT, "%s: field '%s': expected %s", path, field, expected);
}

static sidr_status get_num(const char *path, const cJSON *root, const char *k, double lo, double hi, double *out, int *have)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, k);
    *have = 0;
    if (!v) return SIDR_OK;
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        char e[96];
        snprintf(e, sizeof e, "a number in [%g, %g]", lo, hi);
        return field_err(path, k, e);
    }
    *out = v->valuedouble;
    *have = 1;
    return SIDR_OK;
}

sidr_status ui_config_load(ui_config *c, const char *path, int search)
{
    char *p = path ? xstrdup(path) : search ? find_config() : NULL;
    if (!p) return SIDR_OK;
    if (!path && !file_exists(p)) { /* $SIDR_CONFIG naming a missing file is an error; XDG misses are not */
        if (!getenv("SIDR_CONFIG")) { free(p); return SIDR_OK; }
    }
    char *text;
    size_t len;
    sidr_status s = read_file(p, &text, &len);
    if (s) { free(p); return s; }
    cJSON *root = cJSON_ParseWithLength(text, len);
    free(text);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        s = sidr_fail(SIDR_ERR_FORMAT, "%s: not a JSON object (see sidr-config(5))", p);
        free(p);
        return s;
    }
    c->path = p;
    static const char *const known[] = { "model", "data", "think", "beams", "temperature", "top_p", "seed",
                                         "max_reasoning", "color", "ascii", "colors", "keys", "history_size",
                                         "numerics" };
    for (const cJSON *it = root->child; it; it = it->next) {
        int ok = 0;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) ok |= !strcmp(it->string, known[k]);
        if (!ok) { s = sidr_fail(SIDR_ERR_FORMAT, "%s: unknown field '%s' (see sidr-config(5))", p, it->string); goto out; }
    }
    const cJSON *v;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "model"))) {
        if (!cJSON_IsString(v)) { s = field_err(p, "model", "a directory name (string)"); goto out; }
        c->model = xstrdup(v->valuestring);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "data"))) {
        if (!cJSON_IsString(v)) { s = field_err(p, "data", "a directory name (string)"); goto out; }
        c->data = xstrdup(v->valuestring);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "think"))) {
        if (!cJSON_IsBool(v)) { s = field_err(p, "think", "true or false"); goto out; }
        c->set.think = cJSON_IsTrue(v);
    }
    double d;
    int have;
    if ((s = get_num(p, root, "beams", 1, 256, &d, &have))) goto out;
    if (have) c->set.beams = (int)d;
    if ((s = get_num(p, root, "temperature", 0, 10, &d, &have))) goto out;
    if (have) c->set.temperature = (float)d;
    if ((s = get_num(p, root, "top_p", 0.01, 1, &d, &have))) goto out;
    if (have) c->set.top_p = (float)d;
    if ((s = get_num(p, root, "seed", 0, 9007199254740991.0, &d, &have))) goto out;
    if (have) c->set.seed = (uint64_t)d;
    if ((s = get_num(p, root, "max_reasoning", 1, 32768, &d, &have))) goto out;
    if (have) c->set.max_reasoning = (int)d;
    if ((s = get_num(p, root, "history_size", 0, 100000, &d, &have))) goto out;
    if (have) c->history_size = (int)d;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "color"))) {
        if (cJSON_IsString(v) && !strcmp(v->valuestring, "auto")) c->color = -1;
        else if ((cJSON_IsString(v) && !strcmp(v->valuestring, "always")) || cJSON_IsTrue(v)) c->color = 1;
        else if ((cJSON_IsString(v) && !strcmp(v->valuestring, "never")) || cJSON_IsFalse(v)) c->color = 0;
        else { s = field_err(p, "color", "\"auto\", \"always\" or \"never\""); goto out; }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "numerics"))) {
        int nm = cJSON_IsString(v) ? sidr_numerics_parse(v->valuestring) : -1;
        if (nm < 0) { s = field_err(p, "numerics", "\"exact\" or \"fast\""); goto out; }
        c->numerics = nm;
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "ascii"))) {
        if (!cJSON_IsBool(v)) { s = field_err(p, "ascii", "true or false"); goto out; }
        c->ascii = cJSON_IsTrue(v);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "colors"))) {
        if (!cJSON_IsObject(v)) { s = field_err(p, "colors", "an object of style name -> \"fg [on bg] [attributes]\""); goto out; }
        for (const cJSON *e = v->child; e; e = e->next) {
            int st = ui_style_parse(e->string);
            char err[512];
            if (st < 0) {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: colors: unknown style '%s' (the styles are listed in sidr-config(5))", p, e->string);
                goto out;
            }
            if (!cJSON_IsString(e)) {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: colors.%s: expected a string like \"yellow on blue bold\"", p, e->string);
                goto out;
            }
            int mono = c->styles[st].mono;
            if (ui_style_spec_parse(e->valuestring, &c->styles[st], err, sizeof err)) {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: colors.%s: %s", p, e->string, err);
                goto out;
            }
            c->styles[st].mono = mono;
        }
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "keys"))) {
        if (!cJSON_IsObject(v)) { s = field_err(p, "keys", "an object of action -> keys"); goto out; }
        for (const cJSON *e = v->child; e; e = e->next) {
            char spec[256] = "", err[256];
            if (cJSON_IsString(e)) snprintf(spec, sizeof spec, "%s", e->valuestring);
            else if (cJSON_IsArray(e)) {
                size_t o = 0;
                for (const cJSON *k = e->child; k; k = k->next) {
                    if (!cJSON_IsString(k) || strchr(k->valuestring, ' ')) {
                        s = sidr_fail(SIDR_ERR_FORMAT, "%s: keys.%s: expected key names (strings)", p, e->string);
                        goto out;
                    }
                    o += snprintf(spec + o, sizeof spec - o, "%s%s", o ? " " : "", k->valuestring);
                    if (o >= sizeof spec) o = sizeof spec - 1;
                }
            } else {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: keys.%s: expected \"KEY KEY ...\" or [\"KEY\", ...]", p, e->string);
                goto out;
            }
            if (keymap_bind(&c->km, e->string, spec, err, sizeof err)) {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s: keys.%s: %s", p, e->string, err);
                goto out;
            }
        }
    }
out:
    cJSON_Delete(root);
    return s;
}
