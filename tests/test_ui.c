/* The explorer's building blocks: UTF-8 widths, the virtual screen, rich
 * lines, key names, the key table and the config file. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keys.h"
#include "screen.h"
#include "tap.h"
#include "text.h"
#include "ui_config.h"

static void row(ui_screen *s, int y, char *buf, size_t cap)
{
    scr_row_text(s, y, buf, cap);
    size_t n = strlen(buf);
    while (n && buf[n - 1] == ' ') buf[--n] = 0;
}

static void test_utf8(void)
{
    uint32_t cp;
    tap_ok(utf8_decode("a", 1, &cp) == 1 && cp == 'a', "ASCII decodes as itself");
    tap_ok(utf8_decode("\xC3\xA9", 2, &cp) == 2 && cp == 0xE9, "two-byte sequence (é)");
    tap_ok(utf8_decode("\xE6\x97\xA5", 3, &cp) == 3 && cp == 0x65E5, "three-byte sequence (日)");
    tap_ok(utf8_decode("\xF0\x9F\x98\x80", 4, &cp) == 4 && cp == 0x1F600, "four-byte sequence (emoji)");
    tap_ok(utf8_decode("\x80", 1, &cp) == 1 && cp == 0xFFFD, "a lone continuation byte is U+FFFD, one byte");
    tap_ok(utf8_decode("\xE6\x97", 2, &cp) == 1 && cp == 0xFFFD, "a truncated sequence is U+FFFD, one byte");
    tap_ok(utf8_decode("\xC0\xAF", 2, &cp) == 1 && cp == 0xFFFD, "an overlong encoding is rejected");
    tap_ok(utf8_decode("\xED\xA0\x80", 3, &cp) == 1 && cp == 0xFFFD, "a surrogate is rejected");
    tap_ok(utf8_decode("\xE0\x80\xAF", 3, &cp) == 1 && utf8_decode("\xF0\x80\x80\xAF", 4, &cp) == 1,
           "three- and four-byte overlongs are rejected");
    tap_ok(utf8_decode("\xF4\x90\x80\x80", 4, &cp) == 1 && cp == 0xFFFD, "a code point past U+10FFFF is rejected");
    tap_ok(utf8_decode("\xF4\x8F\xBF\xBF", 4, &cp) == 4 && cp == 0x10FFFF && sidr_utf8_invalid_at("a\xC3\xA9\xFF", 4) == 3,
           "U+10FFFF decodes; the checker finds the first bad byte");
    char b[8];
    int ok = 1;
    const uint32_t cps[] = { 'x', 0xE9, 0x65E5, 0x1F321, 0x10FFFF };
    for (size_t i = 0; i < 5; i++) {
        int n = sidr_utf8_encode(cps[i], b);
        ok &= utf8_decode(b, (size_t)n, &cp) == n && cp == cps[i];
    }
    tap_ok(ok, "encode and decode round-trip");
    tap_ok(cp_width('a') == 1 && cp_width(0x65E5) == 2 && cp_width(0x1F600) == 2 && cp_width(0x301) == 0 && cp_width(7) == 1,
           "widths: ASCII 1, CJK 2, emoji 2, combining 0, control 1 (drawn as a substitute)");
    const char *t = "Caf\xC3\xA9 \xE2\x80\x93 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD";
    tap_ok(text_width(t, strlen(t)) == 13, "text width of a mixed title (got %d)", text_width(t, strlen(t)));
    tap_ok(text_fit("\xE6\x97\xA5\xE6\x9C\xAC", 6, 3) == 3, "text_fit never splits a wide character");
    tap_ok(text_find("Hello World", "world") != NULL && text_find("abc", "abd") == NULL, "case-insensitive find");
}

static void test_screen(void)
{
    ui_screen s;
    char buf[512];
    scr_setup(&s, 10, 3);
    scr_str(&s, 0, 0, 10, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD\xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD", ST_NORMAL, 0);
    row(&s, 0, buf, sizeof buf);
    tap_ok(!strcmp(buf, "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD\xE6\x97\xA5\xE6\x9C\xAC"), "five wide characters fill ten columns");
    scr_clear(&s);
    int used = scr_str(&s, 0, 0, 5, "ab\xE6\x97\xA5\xE6\x9C\xAC", ST_NORMAL, 0);
    row(&s, 0, buf, sizeof buf);
    tap_ok(used == 5 && !strcmp(buf, "ab\xE6\x97\xA5"), "a wide character that does not fit becomes a space (%d '%s')", used, buf);
    scr_clear(&s);
    scr_str(&s, 0, 0, 10, "\xE6\x97\xA5\xE6\x9C\xAC", ST_NORMAL, 0);
    scr_str(&s, 0, 1, 1, "x", ST_NORMAL, 0);
    row(&s, 0, buf, sizeof buf);
    tap_ok(!strcmp(buf, " x\xE6\x9C\xAC"), "overwriting half of a wide character blanks the other half ('%s')", buf);
    scr_clear(&s);
    scr_str(&s, 0, 0, 10, "a\tb\x01" "c", ST_NORMAL, 0);
    row(&s, 0, buf, sizeof buf);
    tap_ok(!strcmp(buf, "a b\xC2\xB7" "c"), "tabs become spaces, control characters a visible dot");
    scr_clear(&s);
    scr_str(&s, 0, 0, 10, "e\xCC\x81x", ST_NORMAL, 0);
    ui_cell *c = scr_at(&s, 0, 0);
    tap_ok(c->ch == 'e' && c->comb[0] == 0x301 && scr_at(&s, 0, 1)->ch == 'x', "combining marks join the previous cell");
    scr_clear(&s);
    scr_str(&s, 0, 0, 10, "Find HERE", ST_NORMAL, 0);
    scr_mark_matches(&s, 0, 0, 10, "here");
    tap_ok((scr_at(&s, 0, 5)->flags & CF_MATCH) && (scr_at(&s, 0, 8)->flags & CF_MATCH) && !(scr_at(&s, 0, 4)->flags & CF_MATCH),
           "search matches are marked case-insensitively");
    scr_free(&s);

    /* rich lines: a flexible column keeps the next column aligned whatever the title's script */
    scr_setup(&s, 30, 3);
    const char *titles[3] = { "Plain title that is long", "Caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD \xF0\x9F\x98\x80 x",
                              "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD\xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD\xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD" };
    for (int i = 0; i < 3; i++) {
        tline l;
        tline_init(&l);
        tline_add(&l, ST_NUMBER, 3, SPAN_RIGHT, "%d", i + 1);
        tline_add(&l, ST_NORMAL, -1, 0, " %s", titles[i]);
        tline_add(&l, ST_DIM, 6, SPAN_RIGHT, "%s", "|end");
        scr_tline(&s, i, 0, 30, &l);
        tline_free(&l);
    }
    int aligned = 1;
    for (int i = 0; i < 3; i++) aligned &= scr_at(&s, i, 26)->ch == '|' && scr_at(&s, i, 29)->ch == 'd';
    tap_ok(aligned, "columns after a flexible title line up for ASCII, CJK and emoji titles");
    row(&s, 0, buf, sizeof buf);
    tap_ok(strstr(buf, "\xE2\x80\xA6") != NULL, "a truncated flexible span ends with an ellipsis ('%s')", buf);
    scr_free(&s);
}

static void test_keys(void)
{
    tap_ok(key_parse("j") == 'j' && key_parse("G") == 'G' && key_parse("C-l") == 12 && key_parse("Enter") == '\n' &&
               key_parse("Space") == ' ' && key_parse("PgDn") == UK_PGDN && key_parse("F1") == UK_F1 && key_parse("Esc") == 27 &&
               key_parse("BackTab") == UK_BTAB && key_parse("\xC3\xA9") == 0xE9,
           "key names parse");
    tap_ok(key_parse("Foo") < 0 && key_parse("C-") < 0 && key_parse("") < 0 && key_parse("F13") < 0, "bad key names are rejected");
    const int keys[] = { 'j', 12, '\n', ' ', UK_PGUP, UK_F5, 27, UK_BTAB, UK_BACKSPACE, 0xE9, '?' };
    int ok = 1;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char nm[32];
        ui_key_name(keys[i], nm, sizeof nm);
        ok &= key_parse(nm) == keys[i];
    }
    tap_ok(ok, "key names round-trip");

    /* the key table */
    int names_unique = 1, help = 1, dup = 0;
    for (int r = 0; r < key_table_len; r++) {
        help &= key_table[r].help && *key_table[r].help;
        for (int q = r + 1; q < key_table_len; q++) names_unique &= strcmp(key_table[r].name, key_table[q].name) != 0;
    }
    keymap km;
    keymap_default(&km);
    for (int r = 0; r < key_table_len; r++)
        for (int q = r; q < key_table_len; q++)
            for (int i = 0; i < km.n_keys[r]; i++)
                for (int k = 0; k < km.n_keys[q]; k++)
                    if ((q != r || k != i) && key_table[r].scope == key_table[q].scope && km.keys[r][i] == km.keys[q][k]) {
                        char nm[32];
                        ui_key_name(km.keys[r][i], nm, sizeof nm);
                        tap_diag("key %s bound twice in scope %s (%s, %s)", nm, scope_name(key_table[r].scope), key_table[r].name,
                                 key_table[q].name);
                        dup++;
                    }
    tap_ok(names_unique && help, "every key-table row has a unique config name and a help line");
    tap_ok(dup == 0, "no key is bound twice within one scope");
    tap_ok(key_table_len <= 64, "the key map has room for the table");
    tap_ok(keymap_lookup(&km, SC_USERS, '\n') == A_USER_RUN && keymap_lookup(&km, SC_HISTORY, '\n') == A_CODEBOOK &&
               keymap_lookup(&km, SC_REASONING, '\n') == A_FOLLOW && keymap_lookup(&km, SC_BEAM, 'j') == A_MOVE_DOWN &&
               keymap_lookup(&km, SC_GLOBAL, 'q') == A_QUIT && keymap_lookup(&km, SC_USERS, UK_CTRL('l')) == A_REDRAW,
           "dispatch: pane rows first, then global ones");
    char err[256];
    tap_ok(keymap_bind(&km, "move-down", "x C-n", err, sizeof err) == 0 && keymap_lookup(&km, SC_USERS, 'x') == A_MOVE_DOWN &&
               keymap_lookup(&km, SC_USERS, UK_CTRL('n')) == A_MOVE_DOWN && keymap_lookup(&km, SC_USERS, 'j') == A_NONE,
           "rebinding replaces an action's keys");
    tap_ok(keymap_bind(&km, "no-such-action", "x", err, sizeof err) < 0 && strstr(err, "no-such-action"), "an unknown action is an error naming it");
    tap_ok(keymap_bind(&km, "quit", "Bogus", err, sizeof err) < 0 && strstr(err, "Bogus"), "an unknown key name is an error naming it");
    char hint[32];
    keymap_hint(&km, SC_USERS, A_USER_RUN, hint, sizeof hint);
    tap_ok(!strcmp(hint, "Enter"), "hints show the first bound key");
}

static int write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    fputs(text, f);
    return fclose(f);
}

static void test_config(void)
{
    ui_style_spec sp;
    char err[512];
    tap_ok(ui_style_spec_parse("yellow on blue bold", &sp, err, sizeof err) == 0 && sp.fg == 3 && sp.bg == 4 && sp.attrs == AT_BOLD,
           "style spec: fg on bg attributes");
    tap_ok(ui_style_spec_parse("bright-red underline", &sp, err, sizeof err) == 0 && sp.fg == 9 && sp.bg == -1, "style spec: bright colours");
    tap_ok(ui_style_spec_parse("245 on default", &sp, err, sizeof err) == 0 && sp.fg == 245, "style spec: 256-colour numbers");
    tap_ok(ui_style_spec_parse("chartreuse", &sp, err, sizeof err) < 0 && strstr(err, "chartreuse"), "style spec: an unknown colour is named");
    tap_ok(ui_style_spec_parse("red on", &sp, err, sizeof err) < 0, "style spec: 'on' needs a colour");

    char dir[] = "/tmp/sidr-ui-test-XXXXXX";
    if (!mkdtemp(dir)) { tap_skip("no temporary directory"); return; }
    char path[256];
    snprintf(path, sizeof path, "%s/config.json", dir);
    ui_config c;
    write_file(path, "{\"model\": \"/m\", \"data\": \"/d\", \"think\": false, \"beams\": 4, \"temperature\": 0.7, \"seed\": 9,"
                     " \"max_reasoning\": 77, \"color\": \"never\", \"ascii\": true, \"numerics\": \"fast\","
                     " \"colors\": {\"level.a\": \"magenta bold\"}, \"keys\": {\"quit\": [\"Q\", \"C-q\"], \"users.open\": \"o\"}}");
    ui_config_defaults(&c);
    sidr_status s = ui_config_load(&c, path, 0);
    tap_ok(s == SIDR_OK && c.model && !strcmp(c.model, "/m") && !strcmp(c.data, "/d") && !c.set.think && c.set.beams == 4 &&
               c.set.temperature > 0.69f && c.set.seed == 9 && c.set.max_reasoning == 77 && c.color == 0 && c.ascii == 1 &&
               c.numerics == SIDR_NUMERICS_FAST && c.styles[ST_LEVEL0].fg == 5 && c.styles[ST_LEVEL0].attrs == AT_BOLD,
           "a config file sets paths, decoding settings, numerics, colours (%s)", s ? sidr_last_error() : "ok");
    tap_ok(keymap_lookup(&c.km, SC_GLOBAL, 'Q') == A_QUIT && keymap_lookup(&c.km, SC_GLOBAL, 'q') == A_NONE &&
               keymap_lookup(&c.km, SC_USERS, 'o') == A_USER_OPEN && keymap_lookup(&c.km, SC_USERS, ' ') == A_NONE,
           "a config file rebinds keys");
    ui_config_free(&c);
    static const struct { const char *json, *want; } bad[] = {
        { "{\"beams\": 0}", "beams" },
        { "{\"beams\": \"ten\"}", "beams" },
        { "{\"think\": 1}", "think" },
        { "{\"numerics\": \"bf16\"}", "numerics" },
        { "{\"numerics\": 1}", "numerics" },
        { "{\"colour\": \"never\"}", "colour" },
        { "{\"colors\": {\"level.z\": \"red\"}}", "level.z" },
        { "{\"colors\": {\"level.a\": \"chartreuse\"}}", "chartreuse" },
        { "{\"keys\": {\"frobnicate\": \"x\"}}", "frobnicate" },
        { "{\"keys\": {\"quit\": \"NotAKey\"}}", "NotAKey" },
        { "[1, 2]", "JSON object" },
        { "{\"model\": ", "JSON object" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_file(path, bad[i].json);
        ui_config_defaults(&c);
        s = ui_config_load(&c, path, 0);
        tap_ok(s != SIDR_OK && strstr(sidr_last_error(), bad[i].want) && strstr(sidr_last_error(), "config.json"),
               "bad config %s: error names the file and '%s' (%s)", bad[i].json, bad[i].want, sidr_last_error());
        ui_config_free(&c);
    }
    ui_config_defaults(&c);
    snprintf(path, sizeof path, "%s/absent.json", dir);
    s = ui_config_load(&c, path, 0);
    tap_ok(s != SIDR_OK && strstr(sidr_last_error(), "absent.json"), "an explicit config file that is missing is an error");
    ui_config_free(&c);
    /* XDG search: nothing there is fine */
    setenv("XDG_CONFIG_HOME", dir, 1);
    setenv("XDG_CONFIG_DIRS", dir, 1);
    unsetenv("SIDR_CONFIG");
    ui_config_defaults(&c);
    s = ui_config_load(&c, NULL, 1);
    tap_ok(s == SIDR_OK && c.path == NULL, "no config file in the XDG locations is fine");
    ui_config_free(&c);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/sidr", dir);
    mkdir(sub, 0700);
    snprintf(path, sizeof path, "%s/sidr/config.json", dir);
    write_file(path, "{\"beams\": 3}");
    ui_config_defaults(&c);
    s = ui_config_load(&c, NULL, 1);
    tap_ok(s == SIDR_OK && c.path && c.set.beams == 3, "the XDG config file is found");
    ui_config_free(&c);
    unlink(path);
    rmdir(sub);
    snprintf(path, sizeof path, "%s/config.json", dir);
    unlink(path);
    rmdir(dir);
}

/* The man page documents every action and style (names with '-' as '\-'). */
static void test_manpage(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/../man/sidr-config.5", tap_testdir());
    FILE *f = fopen(path, "r");
    if (!f) { tap_skip("%s not found", path); return; }
    static char text[200000];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    int missing = 0;
    char esc[128];
    for (int r = 0; r < key_table_len; r++) {
        size_t o = 0;
        for (const char *p = key_table[r].name; *p && o + 3 < sizeof esc; p++) {
            if (*p == '-') esc[o++] = '\\';
            esc[o++] = *p;
        }
        esc[o] = 0;
        if (!strstr(text, esc)) { tap_diag("action %s is not in sidr-config(5)", key_table[r].name); missing++; }
    }
    for (int st = 0; st < ST_COUNT; st++) {
        const char *nm = ui_style_name(st);
        if (!strstr(text, nm) && !(st > ST_LEVEL0 && st < ST_LEVEL4) && !(st > ST_PROB0 && st < ST_PROB4)) {
            tap_diag("style %s is not in sidr-config(5)", nm);
            missing++;
        }
    }
    tap_ok(missing == 0, "sidr-config(5) documents every action of the key table and every style");
}

int main(void)
{
    if (!setlocale(LC_ALL, "C.UTF-8")) setlocale(LC_ALL, "en_US.UTF-8");
    test_utf8();
    test_screen();
    test_keys();
    test_config();
    test_manpage();
    return tap_done();
}
