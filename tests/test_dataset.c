/* Dataset readers: the CSV reader and Python-literal parser, the MiniOneRec
 * and RecBole layouts on the hand-made fixtures in tests/fixtures/data, every
 * malformed case on small files written here at test time, and the real data
 * in ../shared/data (skipped with a message when ../shared is absent). */
#ifndef _XOPEN_SOURCE
#define _XOPEN_SOURCE 700
#endif
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csv.h"
#include "dataset.h"
#include "tap.h"
#include "util.h"

static char FIX[4096], TMP[4096];

/* ---- files ---------------------------------------------------------------------- */

static int spit(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t n = strlen(text);
    int ok = fwrite(text, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static char *slurp(const char *path)
{
    char *buf = NULL;
    size_t n;
    if (read_file(path, &buf, &n) != SIDR_OK) return NULL;
    return buf;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static void rm_rf(const char *dir)
{
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(const char *dir, const char *sub)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, sub);
    mkdir(p, 0755);
}

/* A fresh copy of the MiniOneRec fixture in TMP/name; returns its path. */
static const char *mini_copy(const char *name)
{
    static char dst[4200];
    char src[4300], to[4300];
    snprintf(dst, sizeof dst, "%s/%s", TMP, name);
    rm_rf(dst);
    mkdir(dst, 0755);
    static const char *const files[] = {"index/Mini.index.json", "index/Mini.item.json", "info/Mini_5_2016.txt",
                                        "valid/Mini_5_2016.csv", "test/Mini_5_2016.csv"};
    mkdirs(dst, "index");
    mkdirs(dst, "info");
    mkdirs(dst, "valid");
    mkdirs(dst, "test");
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(src, sizeof src, "%s/minionerec/%s", FIX, files[i]);
        snprintf(to, sizeof to, "%s/%s", dst, files[i]);
        char *t = slurp(src);
        if (!t || spit(to, t) != 0) {
            printf("Bail out! cannot copy %s\n", src);
            exit(1);
        }
        free(t);
    }
    return dst;
}

static void put(const char *dir, const char *rel, const char *text)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/%s", dir, rel);
    if (spit(p, text) != 0) {
        printf("Bail out! cannot write %s\n", p);
        exit(1);
    }
}

static int has_warning(const sidr_dataset *ds, const char *needle)
{
    for (int i = 0; i < ds->n_warnings; i++)
        if (strstr(ds->warnings[i], needle)) return 1;
    return 0;
}

/* Loads dir expecting failure st with every needle in the message. */
static void expect_fail(const char *what, const char *dir, const sidr_dataset_opts *o, sidr_status want,
                        const char *n1, const char *n2, const char *n3)
{
    sidr_dataset ds;
    sidr_status st = sidr_dataset_load(&ds, dir, o);
    const char *msg = sidr_last_error();
    int ok = st == want && (!n1 || strstr(msg, n1)) && (!n2 || strstr(msg, n2)) && (!n3 || strstr(msg, n3));
    tap_ok(ok, "%s is refused: %s", what, msg);
    if (!ok) tap_diag("status %s, wanted %s", sidr_status_name(st), sidr_status_name(want));
    sidr_dataset_free(&ds);
}

static const char *HDR = "user_id,history_item_title,item_title,history_item_id,item_id,history_item_sid,item_sid\n";
static const char *ROW_U1 = "U1,\"['Super Glue, 12-Pack', 'Nitrile Gloves (100 ct)', \"\"O'Brien Solder Wire\"\"]\","
                            "\"Kid's \"\"Pro\"\" Caliper 6\"\"\",\"[0, 5, 8]\",1,"
                            "\"['<a_1><b_2><c_3>', '<a_0><b_7><c_10>', '<a_10><b_1><c_1>']\",<a_1><b_2><c_4>\n";

/* A valid CSV whose line 3 is `bad`. */
static void write_valid(const char *dir, const char *bad)
{
    size_t n = strlen(HDR) + strlen(ROW_U1) * 2 + strlen(bad) + 1;
    char *t = malloc(n);
    snprintf(t, n, "%s%s%s%s", HDR, ROW_U1, bad, ROW_U1);
    put(dir, "valid/Mini_5_2016.csv", t);
    free(t);
}

/* ---- CSV and Python literals ----------------------------------------------------------- */

static void test_csv(void)
{
    const char *text = "\xEF\xBB\xBF"
                       "a,b,c\r\n"
                       "1,\"x, \"\"y\"\"\",z\r\n"
                       "\r\n"
                       "2,\"multi\nline\",\n"
                       "3,plain \"quote\",last";
    sidr_csv c;
    sidr_csv_init(&c, "t.csv", text, strlen(text));
    int ok = sidr_csv_read_header(&c) == SIDR_OK && c.n_names == 3 && !strcmp(c.names[0], "a") &&
             sidr_csv_column(&c, "c") == 2 && sidr_csv_column(&c, "d") == -1;
    tap_ok(ok, "csv: header after a BOM, CRLF line ends");
    int got;
    size_t n;
    ok = sidr_csv_next(&c, &got) == SIDR_OK && got && c.n_fields == 3 && c.record_line == 2 &&
         !strcmp(sidr_csv_field(&c, 1, &n), "x, \"y\"") && n == 6;
    tap_ok(ok, "csv: quoted field with a comma and doubled quotes");
    ok = sidr_csv_next(&c, &got) == SIDR_OK && got && c.record_line == 4 &&
         !strcmp(sidr_csv_field(&c, 1, NULL), "multi\nline") && !strcmp(sidr_csv_field(&c, 2, NULL), "");
    tap_ok(ok, "csv: blank line skipped, quoted newline kept, empty last field, line numbers follow");
    ok = sidr_csv_next(&c, &got) == SIDR_OK && got && c.record_line == 6 &&
         !strcmp(sidr_csv_field(&c, 1, NULL), "plain \"quote\"") && !strcmp(sidr_csv_field(&c, 2, NULL), "last");
    tap_ok(ok, "csv: quotes inside an unquoted field taken literally; last line without newline");
    ok = sidr_csv_next(&c, &got) == SIDR_OK && !got;
    tap_ok(ok, "csv: end of input");
    sidr_csv_free(&c);

    const char *bad = "a,b\n1,\"open\n2,3\n";
    sidr_csv_init(&c, "bad.csv", bad, strlen(bad));
    sidr_csv_read_header(&c);
    sidr_status st = sidr_csv_next(&c, &got);
    tap_ok(st == SIDR_ERR_FORMAT && strstr(sidr_last_error(), "bad.csv:2: field 'b': unbalanced quotes"),
           "csv: a quote that never closes: %s", sidr_last_error());
    sidr_csv_free(&c);
    const char *bad2 = "a,b\n1,\"x\"y\n";
    sidr_csv_init(&c, "bad2.csv", bad2, strlen(bad2));
    sidr_csv_read_header(&c);
    st = sidr_csv_next(&c, &got);
    tap_ok(st == SIDR_ERR_FORMAT && strstr(sidr_last_error(), "bad2.csv:2: field 'b'"),
           "csv: text after a closing quote: %s", sidr_last_error());
    sidr_csv_free(&c);
    const char *dup = "a,b,a\n";
    sidr_csv_init(&c, "dup.csv", dup, strlen(dup));
    st = sidr_csv_read_header(&c);
    tap_ok(st == SIDR_ERR_FORMAT && strstr(sidr_last_error(), "'a' appears twice"), "csv: repeated column: %s",
           sidr_last_error());
    sidr_csv_free(&c);
}

static int py_ok(sidr_pylist *l, const char *src, int n, const char *const *want)
{
    char why[200];
    if (sidr_pylist_parse(l, src, strlen(src), why, sizeof why) != SIDR_OK) {
        tap_diag("parse failed: %s", why);
        return 0;
    }
    if (l->n != n) return 0;
    for (int i = 0; i < n; i++)
        if (strcmp(l->items[i], want[i]) != 0 || strlen(want[i]) != l->lens[i]) {
            tap_diag("element %d: got '%s' want '%s'", i, l->items[i], want[i]);
            return 0;
        }
    return 1;
}

static void test_pylist(void)
{
    sidr_pylist l;
    sidr_pylist_init(&l);
    const char *w1[] = {"3112", "114", "-7"};
    tap_ok(py_ok(&l, "[3112, 114,-7]", 3, w1) && l.kind[0] == SIDR_PY_INT, "pylist: integers");
    tap_ok(py_ok(&l, "  [ ]  ", 0, NULL), "pylist: empty list");
    const char *w2[] = {"Kid's \"Pro\" 6\"", "O'Brien", "a,b"};
    tap_ok(py_ok(&l, "['Kid\\'s \"Pro\" 6\"', \"O'Brien\", 'a,b']", 3, w2) && l.kind[0] == SIDR_PY_STR,
           "pylist: single/double quotes with escaped quotes and commas");
    const char *w3[] = {"A\xC3\xA9\xF0\x9F\x8C\xA1" "A\t\n\\", "1kg\\2.2lbs \\d"};
    tap_ok(py_ok(&l, "['\\x41\\u00e9\\U0001F321\\101\\t\\n\\\\', u'1kg\\\\2.2lbs \\d',]", 2, w3),
           "pylist: \\x \\u \\U octal escapes to UTF-8, unknown escape kept, u-prefix, trailing comma");
    const char *w4[] = {"\xE6\x97\xA5\xE6\x9C\xAC"};
    tap_ok(py_ok(&l, "['\xE6\x97\xA5\xE6\x9C\xAC']", 1, w4), "pylist: raw UTF-8 passes through");
    static const struct {
        const char *src, *why;
    } bad[] = {
        {"[1, 2", "missing ']'"},
        {"['abc", "unterminated string"},
        {"[1.5]", "not an integer"},
        {"[None]", "expected a quoted string or an integer"},
        {"[[1]]", "nested list"},
        {"[1 2]", "expected ',' or ']'"},
        {"[,]", "unexpected ','"},
        {"1, 2", "expected '['"},
        {"['\\N{DASH}']", "\\N{...}"},
        {"['\\ud800']", "not a Unicode scalar"},
        {"['\\x4']", "truncated \\x escape"},
        {"[1] x", "after the closing ']'"},
        {"", "empty value"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char why[200] = "";
        sidr_status st = sidr_pylist_parse(&l, bad[i].src, strlen(bad[i].src), why, sizeof why);
        tap_ok(st == SIDR_ERR_FORMAT && strstr(why, bad[i].why), "pylist refuses %s: %s", bad[i].src, why);
    }
    sidr_pylist_free(&l);

    tap_ok(sidr_utf8_invalid_at("ok \xC3\xA9", 5) == (size_t)-1 && sidr_utf8_invalid_at("ab\xE9z", 4) == 2 &&
               sidr_utf8_invalid_at("\xC0\xAF", 2) == 0 && sidr_utf8_invalid_at("\xED\xA0\x80", 3) == 0 &&
               sidr_utf8_invalid_at("\xE6\x97", 2) == 0,
           "utf8: latin-1 byte, overlong, surrogate and truncated sequences found");
    size_t n;
    char *u = sidr_latin1_to_utf8("Caf\xE9", 4, &n);
    tap_ok(!strcmp(u, "Caf\xC3\xA9") && n == 5, "latin-1 to UTF-8");
    free(u);
    int codes[8];
    tap_ok(sidr_sid_parse("<a_60><b_159><c_203>", 20, codes, 8) == 3 && codes[0] == 60 && codes[2] == 203 &&
               sidr_sid_parse("<a_1><c_2>", 10, codes, 8) == -1 && sidr_sid_parse("<a_01>", 6, codes, 8) == -1 &&
               sidr_sid_parse("<a_1> ", 6, codes, 8) == -1 && sidr_sid_parse("", 0, codes, 8) == -1,
           "SID strings: levels in order, no leading zeros, nothing else");
}

/* ---- MiniOneRec fixture ---------------------------------------------------------------------- */

static int hist_is(const sidr_dataset *ds, const sidr_sample *s, const char *user, const char *hist, const char *target)
{
    char buf[256] = "";
    size_t k = 0;
    for (int i = 0; i < s->n_hist; i++)
        k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%s", i ? " " : "", ds->items[s->hist[i]].id);
    int ok = !strcmp(ds->users[s->user].id, user) && !strcmp(buf, hist) && !strcmp(ds->items[s->target].id, target);
    if (!ok)
        tap_diag("sample %s: [%s] -> %s; wanted %s: [%s] -> %s", ds->users[s->user].id, buf,
                 ds->items[s->target].id, user, hist, target);
    return ok;
}

static void test_minionerec_fixture(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/minionerec", FIX);
    sidr_dataset ds;
    sidr_status st = sidr_dataset_load(&ds, dir, NULL);
    if (!tap_ok(st == SIDR_OK, "minionerec fixture loads: %s", st ? sidr_last_error() : "ok")) return;
    tap_ok(ds.layout == SIDR_LAYOUT_MINIONEREC && !strcmp(ds.name, "Mini") && ds.n_items == 9 && ds.sid_levels == 3,
           "layout detected, category 'Mini', 9 items, 3 SID levels");
    tap_ok(!ds.split[SIDR_SPLIT_TRAIN].present && ds.split[SIDR_SPLIT_VALID].n == 4 && ds.split[SIDR_SPLIT_TEST].n == 3,
           "no train split; 4 valid rows, 3 test rows");
    tap_ok(has_warning(&ds, "train split missing"), "a missing train split is a warning, not an error");
    int i1 = sidr_dataset_item(&ds, "1"), i2 = sidr_dataset_item(&ds, "2"), i3 = sidr_dataset_item(&ds, "3");
    tap_ok(i1 == 1 && !strcmp(ds.items[i1].title, "Kid's \"Pro\" Caliper 6\"") &&
               !strcmp(ds.items[i2].title, "Caf\xC3\xA9 Thermometer \xE2\x80\x93 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xA3\xBD "
                                           "\xF0\x9F\x8C\xA1") &&
               !strcmp(ds.items[i3].title, "Filament (1kg\\2.2lbs) 1.75mm"),
           "titles with quotes, unicode (JSON surrogate pairs) and backslashes");
    tap_ok(!strcmp(ds.items[0].description, "Bonds in seconds. Pack of 12.") &&
               !strcmp(ds.items[4].description, "It's tough.") && !strcmp(ds.items[0].brand, "Loctite") &&
               !strcmp(ds.items[5].description, ""),
           "item.json descriptions (Python-list text) joined, brand read");
    tap_ok(!strcmp(ds.items[1].sid, "<a_1><b_2><c_4>") && ds.items[1].code[2] == 4 && ds.n_title_mismatch == 0,
           "SID string and codes per level; CSV titles agree with the catalogue");
    const sidr_sid_group *g = sidr_dataset_sid(&ds, "<a_3><b_0><c_7>");
    tap_ok(g && g->n == 2 && g->items[0] == 6 && g->items[1] == 7 && ds.n_sid_collisions == 1 &&
               ds.n_sid_groups == 8 && !sidr_dataset_sid(&ds, "<a_9><b_9><c_9>"),
           "a SID shared by two items keeps both; unknown SID -> NULL");
    tap_ok(has_warning(&ds, "1 SIDs are shared by more than one item (2 items"), "collisions reported");
    const sidr_sample *r = sidr_dataset_row(&ds, SIDR_SPLIT_VALID, 1);
    tap_ok(r && hist_is(&ds, r, "U1", "0 5 8 1", "2") && r->line == 3 && r->time == -1, "valid row 1: history, target, line");
    r = sidr_dataset_row(&ds, SIDR_SPLIT_TEST, 2);
    tap_ok(r && hist_is(&ds, r, "U5", "8", "0") && !sidr_dataset_row(&ds, SIDR_SPLIT_TEST, 3) &&
               !sidr_dataset_row(&ds, SIDR_SPLIT_TRAIN, 0),
           "test row 2; out-of-range rows are NULL");
    int u1 = sidr_dataset_user(&ds, "U1"), rows[8];
    tap_ok(u1 >= 0 && ds.n_users == 4 && sidr_dataset_user(&ds, "U9") == -1 &&
               sidr_dataset_user_rows(&ds, SIDR_SPLIT_VALID, u1, rows, 8) == 2 && rows[0] == 0 && rows[1] == 1,
           "users by id; a user's rows in a split");
    int nt;
    char **toks = sidr_dataset_sid_tokens(&ds, &nt);
    /* byte order, as Python's sorted() in MiniOneRec's get_new_tokens:
     * '>' (0x3E) sorts after the digits, so <a_10> comes before <a_1> */
    tap_ok(nt == 19 && !strcmp(toks[0], "<a_0>") && !strcmp(toks[1], "<a_10>") && !strcmp(toks[2], "<a_1>") &&
               !strcmp(toks[3], "<a_2>") && !strcmp(toks[nt - 1], "<c_9>"),
           "distinct SID tokens in byte order, as Python's sorted() (%d)", nt);
    sidr_dataset_free_tokens(toks, nt);
    char tok[16];
    tap_ok(sidr_item_sid_token(&ds.items[2], 1, tok, sizeof tok) == 0 && !strcmp(tok, "<b_10>") &&
               sidr_item_sid_token(&ds.items[2], 3, tok, sizeof tok) == -1,
           "one token of an item's SID");
    sidr_dataset_free(&ds);

    /* derive_train: train-period prefixes of the earliest valid row per user */
    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);
    o.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    st = sidr_dataset_load(&ds, dir, &o);
    const sidr_split *t = &ds.split[SIDR_SPLIT_TRAIN];
    int ok = st == SIDR_OK && t->present && t->derived && t->n == 6 && hist_is(&ds, &t->rows[0], "U1", "0", "5") &&
             hist_is(&ds, &t->rows[1], "U1", "0 5", "8") && hist_is(&ds, &t->rows[2], "U2", "3", "4") &&
             hist_is(&ds, &t->rows[5], "U3", "2 7 1", "0") && t->rows[0].line == 0;
    tap_ok(ok, "derive_train: 6 samples from the train-period prefixes, never a valid or test target");
    tap_ok(has_warning(&ds, "built 6 training samples"), "derive_train says what it built");
    sidr_dataset_free(&ds);
    o.derive_train = SIDR_DERIVE_LONGEST;
    st = sidr_dataset_load(&ds, dir, &o);
    t = &ds.split[SIDR_SPLIT_TRAIN];
    ok = st == SIDR_OK && t->n == 7 && hist_is(&ds, &t->rows[2], "U1", "0 5 8", "1");
    tap_ok(ok, "derive_train longest: one sample per position of each user's longest valid history (7)");
    sidr_dataset_free(&ds);

    /* a user with test rows only (U7): the earliest test history is train
     * period too; a user with valid rows (U2) never takes a test history */
    const char *dd = mini_copy("derive-test");
    char tp[4300];
    snprintf(tp, sizeof tp, "%s/test/Mini_5_2016.csv", dd);
    char *test_csv = slurp(tp);
    size_t tn = strlen(test_csv) + 512;
    char *t2 = malloc(tn);
    snprintf(t2, tn, "%s%s", test_csv,
             "U7,\"['A', 'B', 'C', 'D']\",X,\"[3, 4, 6, 7]\",0,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_9>', "
             "'<a_3><b_0><c_7>', '<a_3><b_0><c_7>']\",<a_1><b_2><c_3>\n"
             "U7,\"['A', 'B', 'C']\",X,\"[3, 4, 6]\",7,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_9>', "
             "'<a_3><b_0><c_7>']\",<a_3><b_0><c_7>\n");
    put(dd, "test/Mini_5_2016.csv", t2);
    free(t2);
    free(test_csv);
    o.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    st = sidr_dataset_load(&ds, dd, &o);
    t = &ds.split[SIDR_SPLIT_TRAIN];
    ok = st == SIDR_OK && t->n == 8 && hist_is(&ds, &t->rows[2], "U2", "3", "4") &&
         hist_is(&ds, &t->rows[6], "U7", "3", "4") && hist_is(&ds, &t->rows[7], "U7", "3 4", "6");
    tap_ok(ok, "derive_train: a user with no valid row adds the prefixes of its earliest test history (8)");
    tap_ok(has_warning(&ds, "built 8 training samples") && has_warning(&ds, "for the 2 users with no valid row"),
           "derive_train says how many users came from the test histories");
    sidr_dataset_free(&ds);
    o.derive_train = SIDR_DERIVE_LONGEST;
    st = sidr_dataset_load(&ds, dd, &o);
    tap_ok(st == SIDR_OK && ds.split[SIDR_SPLIT_TRAIN].n == 7, "derive_train longest reads the valid histories only");
    sidr_dataset_free(&ds);

    /* max_history */
    sidr_dataset_opts_default(&o);
    o.max_history = 2;
    st = sidr_dataset_load(&ds, dir, &o);
    r = sidr_dataset_row(&ds, SIDR_SPLIT_VALID, 1);
    tap_ok(st == SIDR_OK && r && hist_is(&ds, r, "U1", "8 1", "2") && ds.split[SIDR_SPLIT_VALID].truncated == 3 &&
               has_warning(&ds, "cut to their last 2"),
           "max_history 2 keeps the last 2 items and counts the cuts");
    sidr_dataset_free(&ds);
    o.max_history = 11;
    expect_fail("max_history above 10", dir, &o, SIDR_ERR_ARG, "max_history 11", NULL, NULL);
}

/* ---- malformed MiniOneRec inputs ------------------------------------------------------------- */

static void test_minionerec_bad(void)
{
    const char *d;
    sidr_dataset ds;
    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);

    d = mini_copy("unbalanced");
    write_valid(d, "U2,\"['Filament (1kg\\\\2.2lbs) 1.75mm'],Hex Key Set,[3],6,['<a_2><b_11><c_5>'],<a_3><b_0><c_7>\n");
    expect_fail("unbalanced CSV quotes", d, NULL, SIDR_ERR_FORMAT, "valid/Mini_5_2016.csv:", "unbalanced quotes",
                "history_item_title");

    /* found by fuzzing: the message named the item after freeing its JSON */
    d = mini_copy("itemnotobject");
    {
        char ij[4400];
        snprintf(ij, sizeof ij, "%s/index/Mini.item.json", d);
        spit(ij, "{\"0\": {\"title\": \"Super Glue, 12-Pack\"}, \"item-1\": 5}");
    }
    expect_fail("an item.json entry that is not an object", d, NULL, SIDR_ERR_FORMAT, "Mini.item.json: item 'item-1'",
                "expected an object", NULL);
    d = mini_copy("itemtitle");
    {
        char ij[4400];
        snprintf(ij, sizeof ij, "%s/index/Mini.item.json", d);
        spit(ij, "{\"item-7\": {\"title\": [1]}}");
    }
    expect_fail("an item.json title that is not a string", d, NULL, SIDR_ERR_FORMAT, "item 'item-7': field 'title'",
                "expected a string", NULL);

    d = mini_copy("badlist");
    write_valid(d, "U2,\"['Filament']\",Hex Key Set,\"[3, \",6,\"['<a_2><b_11><c_5>']\",<a_3><b_0><c_7>\n");
    expect_fail("a list that does not parse", d, NULL, SIDR_ERR_FORMAT, "valid/Mini_5_2016.csv:3: field 'history_item_id'",
                "expected a Python list", NULL);

    d = mini_copy("badstr");
    write_valid(d, "U2,\"['Filament', Hex]\",Hex Key Set,\"[3, 4]\",6,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_9>']\",<a_3><b_0><c_7>\n");
    expect_fail("an unquoted string in a title list", d, NULL, SIDR_ERR_FORMAT,
                "Mini_5_2016.csv:3: field 'history_item_title'", "got 'Hex'", NULL);

    d = mini_copy("unknown");
    write_valid(d, "U2,\"['Filament', 'X']\",Hex Key Set,\"[3, 99]\",6,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_9>']\",<a_3><b_0><c_7>\n");
    expect_fail("an unknown history item id", d, NULL, SIDR_ERR_FORMAT, "Mini_5_2016.csv:3: field 'history_item_id'",
                "unknown item id '99'", NULL);
    write_valid(d, "U2,\"['Filament']\",Hex Key Set,\"[3]\",42,\"['<a_2><b_11><c_5>']\",<a_3><b_0><c_7>\n");
    expect_fail("an unknown target item id", d, NULL, SIDR_ERR_FORMAT, "Mini_5_2016.csv:3: field 'item_id'",
                "unknown item id '42'", NULL);

    d = mini_copy("lengths");
    write_valid(d, "U2,\"['Filament (1kg\\\\2.2lbs) 1.75mm']\",Hex Key Set,\"[3, 4]\",6,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_9>']\",<a_3><b_0><c_7>\n");
    expect_fail("history ids and titles of different lengths", d, NULL, SIDR_ERR_FORMAT,
                "Mini_5_2016.csv:3: field 'history_item_title'", "expected 2 titles (one per history_item_id), got 1",
                NULL);
    write_valid(d, "U2,\"['A', 'B']\",Hex Key Set,\"[3, 4]\",6,\"['<a_2><b_11><c_5>']\",<a_3><b_0><c_7>\n");
    expect_fail("history ids and SIDs of different lengths", d, NULL, SIDR_ERR_FORMAT,
                "field 'history_item_sid'", "expected 2 SIDs", NULL);

    d = mini_copy("sidmismatch");
    write_valid(d, "U2,\"['A', 'B']\",Hex Key Set,\"[3, 4]\",6,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_10>']\",<a_3><b_0><c_7>\n");
    expect_fail("a history SID that differs from the index", d, NULL, SIDR_ERR_FORMAT,
                "Mini_5_2016.csv:3: field 'history_item_sid'", "element 2: expected <a_0><b_7><c_9>",
                "got '<a_0><b_7><c_10>'");
    write_valid(d, "U2,\"['A', 'B']\",Hex Key Set,\"[3, 4]\",6,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_9>']\",<a_3><b_0><c_8>\n");
    expect_fail("a target SID that differs from the index", d, NULL, SIDR_ERR_FORMAT,
                "Mini_5_2016.csv:3: field 'item_sid'", "expected <a_3><b_0><c_7>", NULL);
    write_valid(d, "U2,\"['A']\",Hex Key Set,\"[3]\",6,\"['<a_2><c_11><b_5>']\",<a_3><b_0><c_7>\n");
    expect_fail("a malformed SID", d, NULL, SIDR_ERR_FORMAT, "field 'history_item_sid'",
                "expected a SID like <a_1><b_2><c_3>", NULL);

    d = mini_copy("empty");
    write_valid(d, "U2,[],Hex Key Set,[],6,[],<a_3><b_0><c_7>\n");
    sidr_status st = sidr_dataset_load(&ds, d, NULL);
    tap_ok(st == SIDR_OK && ds.split[SIDR_SPLIT_VALID].n == 2 && ds.split[SIDR_SPLIT_VALID].skipped_empty == 1 &&
               has_warning(&ds, "1 row with an empty history skipped (first on line 3)"),
           "an empty history is skipped, counted and reported");
    sidr_dataset_free(&ds);

    d = mini_copy("latin1");
    write_valid(d, "U2,\"['Caf\xE9']\",Hex Key Set,[3],6,\"['<a_2><b_11><c_5>']\",<a_3><b_0><c_7>\n");
    expect_fail("a CSV that is not UTF-8", d, NULL, SIDR_ERR_FORMAT, "valid/Mini_5_2016.csv:3: invalid UTF-8",
                "byte 0xE9 at column 10", NULL);

    d = mini_copy("header");
    put(d, "valid/Mini_5_2016.csv",
        "user_id,history_item_title,item_title,history_item_ids,item_id,history_item_sid,item_sid\n");
    expect_fail("a wrong header", d, NULL, SIDR_ERR_FORMAT, "valid/Mini_5_2016.csv:1: header",
                "column 'history_item_ids' is not one sidr reads; did you mean 'history_item_id'?", NULL);
    put(d, "valid/Mini_5_2016.csv", "");
    expect_fail("an empty CSV", d, NULL, SIDR_ERR_FORMAT, "empty file", NULL, NULL);

    d = mini_copy("fields");
    write_valid(d, "U2,['A'],Hex Key Set,[3],6,['<a_2><b_11><c_5>'],<a_3><b_0><c_7>,extra\n");
    expect_fail("a row with too many fields", d, NULL, SIDR_ERR_FORMAT, "Mini_5_2016.csv:3: expected 7 comma-separated fields",
                "got 8", NULL);

    /* skip_bad_rows turns row-level errors into counted warnings */
    d = mini_copy("skip");
    write_valid(d, "U2,\"['Filament', 'X']\",Hex Key Set,\"[3, 99]\",6,\"['<a_2><b_11><c_5>', '<a_0><b_7><c_9>']\",<a_3><b_0><c_7>\n");
    o.skip_bad_rows = 1;
    st = sidr_dataset_load(&ds, d, &o);
    tap_ok(st == SIDR_OK && ds.split[SIDR_SPLIT_VALID].n == 2 && ds.split[SIDR_SPLIT_VALID].skipped_bad == 1 &&
               has_warning(&ds, "skipped: ") && has_warning(&ds, "unknown item id '99'") && ds.n_users == 3,
           "skip_bad_rows: the bad row is skipped, counted and named; it adds no user");
    sidr_dataset_free(&ds);
    o.skip_bad_rows = 0;

    /* a history longer than max_history */
    d = mini_copy("long");
    write_valid(d, "U9,\"['a','b','c','d','e','f','g','h','i','j','k','l']\",Hex Key Set,"
                   "\"[0,1,2,3,4,5,8,0,1,2,3,4]\",6,"
                   "\"['<a_1><b_2><c_3>','<a_1><b_2><c_4>','<a_2><b_10><c_0>','<a_2><b_11><c_5>','<a_0><b_7><c_9>',"
                   "'<a_0><b_7><c_10>','<a_10><b_1><c_1>','<a_1><b_2><c_3>','<a_1><b_2><c_4>','<a_2><b_10><c_0>',"
                   "'<a_2><b_11><c_5>','<a_0><b_7><c_9>']\",<a_3><b_0><c_7>\n");
    st = sidr_dataset_load(&ds, d, NULL);
    const sidr_sample *r = sidr_dataset_row(&ds, SIDR_SPLIT_VALID, 1);
    tap_ok(st == SIDR_OK && r && hist_is(&ds, r, "U9", "2 3 4 5 8 0 1 2 3 4", "6") &&
               ds.split[SIDR_SPLIT_VALID].truncated == 1 && ds.n_title_mismatch > 0 &&
               has_warning(&ds, "differs from the catalogue"),
           "a 12-item history keeps its last 10; CSV titles that disagree are counted, the catalogue's kept");
    sidr_dataset_free(&ds);

    /* the catalogue itself */
    d = mini_copy("index");
    put(d, "index/Mini.index.json", "{\"0\": [\"<a_1>\", \"<b_2>\", \"<x_3>\"]}");
    expect_fail("a bad SID token in index.json", d, NULL, SIDR_ERR_FORMAT, "Mini.index.json: item '0': SID token 3",
                "expected \"<c_N>\"", NULL);
    put(d, "index/Mini.index.json", "{\"0\": [\"<a_1>\", \"<b_2>\", \"<c_3>\"],\n \"1\": [\"<a_1>\", \"<b_2>\"]}");
    expect_fail("SIDs of different lengths in index.json", d, NULL, SIDR_ERR_FORMAT, "item '1': expected 3 SID tokens",
                NULL, NULL);
    put(d, "index/Mini.index.json", "{\"0\": [\"<a_1>\",\n\n \"<b_2>\" \"<c_3>\"]}");
    expect_fail("malformed JSON", d, NULL, SIDR_ERR_FORMAT, "Mini.index.json:3: malformed JSON", NULL, NULL);
    put(d, "index/Mini.index.json", "[1, 2]");
    expect_fail("index.json that is not an object", d, NULL, SIDR_ERR_FORMAT, "expected a JSON object", NULL, NULL);

    d = mini_copy("info");
    put(d, "info/Mini_5_2016.txt", "<a_1><b_2><c_3>\tSuper Glue, 12-Pack\t0\n<a_1><b_2><c_5>\tKid's\t1\n");
    expect_fail("info.txt disagreeing with index.json", d, NULL, SIDR_ERR_FORMAT, "info/Mini_5_2016.txt:2: field 'SID'",
                "expected <a_1><b_2><c_4>", NULL);
    put(d, "info/Mini_5_2016.txt", "<a_1><b_2><c_3> Super Glue 0\n");
    expect_fail("info.txt without tabs", d, NULL, SIDR_ERR_FORMAT, "info/Mini_5_2016.txt:1: expected 3 tab-separated",
                NULL, NULL);

    /* several categories, no dataset, a train split present */
    d = mini_copy("twocats");
    put(d, "index/Other.index.json", "{}");
    expect_fail("two categories without a choice", d, NULL, SIDR_ERR_ARG, "2 categories", "choose one", NULL);
    o.category = "Mini";
    st = sidr_dataset_load(&ds, d, &o);
    tap_ok(st == SIDR_OK && ds.n_items == 9, "opts.category picks one: %s", st ? sidr_last_error() : "ok");
    sidr_dataset_free(&ds);
    o.category = NULL;

    d = mini_copy("withtrain");
    mkdirs(d, "train");
    {
        size_t n = strlen(HDR) + strlen(ROW_U1) + 1;
        char *t = malloc(n);
        snprintf(t, n, "%s%s", HDR, ROW_U1);
        put(d, "train/Mini_5_2016.csv", t);
        free(t);
    }
    o.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    st = sidr_dataset_load(&ds, d, &o);
    tap_ok(st == SIDR_OK && ds.split[SIDR_SPLIT_TRAIN].n == 1 && !ds.split[SIDR_SPLIT_TRAIN].derived &&
               !has_warning(&ds, "train split missing") && has_warning(&ds, "derive_train ignored"),
           "a present train split is read, and derive_train leaves it alone");
    sidr_dataset_free(&ds);
    o.derive_train = SIDR_DERIVE_OFF;

    /* only CSVs: the catalogue is built from the rows */
    d = mini_copy("nocat");
    char p[4300];
    snprintf(p, sizeof p, "%s/index/Mini.index.json", d), remove(p);
    snprintf(p, sizeof p, "%s/index/Mini.item.json", d), remove(p);
    snprintf(p, sizeof p, "%s/info/Mini_5_2016.txt", d), remove(p);
    st = sidr_dataset_load(&ds, d, NULL);
    int i1 = sidr_dataset_item(&ds, "1");
    tap_ok(st == SIDR_OK && ds.n_items == 9 && i1 >= 0 && !strcmp(ds.items[i1].sid, "<a_1><b_2><c_4>") &&
               !strcmp(ds.items[i1].title, "Kid's \"Pro\" Caliper 6\"") && ds.sid_levels == 3,
           "without index/ and info/ items, titles and SIDs come from the rows (%s)", st ? sidr_last_error() : "ok");
    sidr_dataset_free(&ds);

    char empty[4200];
    snprintf(empty, sizeof empty, "%s/emptydir", TMP);
    mkdir(empty, 0755);
    expect_fail("a folder with no dataset", empty, NULL, SIDR_ERR_MISSING, "no dataset found", NULL, NULL);
    snprintf(empty, sizeof empty, "%s/does-not-exist", TMP);
    expect_fail("a folder that does not exist", empty, NULL, SIDR_ERR_IO, "not a directory", NULL, NULL);
}

/* ---- RecBole fixtures ------------------------------------------------------------------------- */

static void test_recbole_plain(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/recbole-plain", FIX);
    sidr_dataset ds;
    sidr_status st = sidr_dataset_load(&ds, dir, NULL);
    if (!tap_ok(st == SIDR_OK, "recbole plain .inter loads: %s", st ? sidr_last_error() : "ok")) return;
    /* Expected rows from a Python reimplementation of MiniOneRec's
     * generate_interaction_list_json2csv_style + the 8:1:1 cut, run once on
     * the fixture: 13 samples -> train 10, valid 1, test 2.  Ties (A's i1
     * and i2 at t=100, D's i5 and i1 at t=70, E's i4 and i1 at t=6) keep
     * file order, as Python's stable sort does. */
    static const char *const want[3][10][3] = {
        {{"E", "i3", "i4"},
         {"E", "i3 i4", "i1"},
         {"B", "i2", "i4"},
         {"D", "i5", "i1"},
         {"D", "i5 i1", "i2"},
         {"D", "i5 i1 i2", "i4"},
         {"A", "i3", "i5"},
         {"A", "i3 i5", "i1"},
         {"A", "i3 i5 i1", "i2"},
         {"C", "i4", "i2"}},
        {{"B", "i2 i4", "i1"}},
        {{"C", "i4 i2", "i5"}, {"D", "i5 i1 i2 i4", "i3"}},
    };
    static const int want_n[3] = {10, 1, 2};
    int ok = ds.layout == SIDR_LAYOUT_RECBOLE && !strcmp(ds.name, "Mini");
    for (int s = 0; s < 3; s++) {
        ok &= ds.split[s].present && ds.split[s].derived && ds.split[s].n == want_n[s];
        for (int i = 0; ok && i < want_n[s]; i++)
            ok &= hist_is(&ds, &ds.split[s].rows[i], want[s][i][0], want[s][i][1], want[s][i][2]);
    }
    tap_ok(ok, "plain .inter: per-user windows, stable time sort, 8:1:1 cut as the reference script");
    const sidr_sample *r = sidr_dataset_row(&ds, SIDR_SPLIT_TEST, 1);
    tap_ok(r && r->time == 400 && r->line == 14, "samples keep the target's timestamp and .inter line");
    int ok_time = 1;
    int64_t last = -1;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < ds.split[s].n; i++) ok_time &= ds.split[s].rows[i].time >= last, last = ds.split[s].rows[i].time;
    tap_ok(ok_time, "train, valid, test are chronological");
    int i1 = sidr_dataset_item(&ds, "i1");
    tap_ok(i1 == 0 && ds.n_items == 5 && !strcmp(ds.items[i1].title, "Mis\xC3\xA9rables, Les") &&
               !strcmp(ds.items[i1].categories, "Drama Musical") &&
               !strcmp(ds.items[i1].description, "release_year: 1995") && ds.items[i1].sid == NULL &&
               ds.sid_levels == 0,
           "Latin-1 .item converted to UTF-8; title, class and extra fields mapped; no SIDs");
    tap_ok(has_warning(&ds, "not UTF-8; read as Latin-1"), "the Latin-1 fallback is reported");
    sidr_dataset_free(&ds);

    /* malformed .inter files */
    char d[4200];
    snprintf(d, sizeof d, "%s/rb-bad", TMP);
    rm_rf(d);
    mkdir(d, 0755);
    put(d, "X.inter", "user_id:token\titem_id:float\ttimestamp:float\n1\t2\t3\n");
    expect_fail("a .inter header with a wrong type", d, NULL, SIDR_ERR_FORMAT, "X.inter:1: header field 'item_id'",
                "expected type 'token'", NULL);
    put(d, "X.inter", "user_id:token\titem_id:token\n1\t2\n");
    expect_fail("a plain .inter without timestamps", d, NULL, SIDR_ERR_FORMAT, "expected a field 'timestamp:float'",
                NULL, NULL);
    put(d, "X.inter", "user_id:token\titem_id:token\ttimestamp:float\n1\t2\t3\n1\t4\tsoon\n");
    expect_fail("a timestamp that is not a number", d, NULL, SIDR_ERR_FORMAT, "X.inter:3: field 'timestamp'",
                "got 'soon'", NULL);
    put(d, "X.inter", "user_id:token\titem_id:token\ttimestamp:float\n1\t2\n");
    expect_fail("a row with a missing field", d, NULL, SIDR_ERR_FORMAT, "X.inter:2: expected 3 tab-separated fields",
                NULL, NULL);
    put(d, "X.inter", "user_id item_id timestamp\n");
    expect_fail("a header without types", d, NULL, SIDR_ERR_FORMAT, "expected NAME:TYPE", NULL, NULL);
}

static void test_recbole_split(void)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/recbole-split", FIX);
    sidr_dataset ds;
    sidr_status st = sidr_dataset_load(&ds, dir, NULL);
    if (!tap_ok(st == SIDR_OK, "recbole pre-split .inter loads: %s", st ? sidr_last_error() : "ok")) return;
    tap_ok(ds.n_items == 13 && ds.n_users == 3 && ds.split[0].n == 12 && ds.split[1].n == 3 && ds.split[2].n == 3 &&
               !ds.split[0].derived && !has_warning(&ds, "train split missing"),
           "13 items, 3 users, 12/3/3 rows");
    const sidr_sample *r = sidr_dataset_row(&ds, SIDR_SPLIT_VALID, 0);
    tap_ok(r && hist_is(&ds, r, "AXX1", "B00B B00C B00D B00E B00F B00G B00H B00I B00J B00K", "B00L") && r->line == 2 &&
               ds.split[SIDR_SPLIT_VALID].truncated == 1 && ds.split[SIDR_SPLIT_TEST].truncated == 1,
           "indices map through item2index/user2index; an 11-item history keeps its last 10");
    r = sidr_dataset_row(&ds, SIDR_SPLIT_TRAIN, 0);
    tap_ok(r && r->n_hist == 10 && !strcmp(ds.items[r->target].id, "B00K"), "train rows as written (prefix order kept)");
    const sidr_item *a = &ds.items[0], *h = &ds.items[3], *f = &ds.items[4];
    tap_ok(!strcmp(a->title, "Widget 0 \xE2\x80\x93 \xC2\xB5m grade") &&
               !strcmp(a->categories, "Industrial & Scientific Widgets") && !strcmp(a->brand, "Acme") &&
               !strcmp(f->title, "CE24 Exhaust Fan, 120 Volt") && !strcmp(f->categories, "") &&
               !strcmp(f->brand, "TPI") && !strcmp(h->brand, "Heater"),
           ".text 'title. categories. brand.' split from the right (a brand with '. ' is cut: '%s')", h->brand);
    sidr_dataset_free(&ds);

    char d[4200];
    snprintf(d, sizeof d, "%s/rb-split-bad", TMP);
    rm_rf(d);
    mkdir(d, 0755);
    put(d, "S.item2index", "X\t0\nY\t1\n");
    put(d, "S.test.inter", "user_id:token\titem_id_list:token_seq\titem_id:token\n7\t0 1\t1\n7\t\t0\n7\t0 5\t1\n");
    expect_fail("an item index outside item2index", d, NULL, SIDR_ERR_FORMAT, "S.test.inter:4: field 'item_id_list'",
                "expected an item index in 0..1", NULL);
    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);
    o.skip_bad_rows = 1;
    st = sidr_dataset_load(&ds, d, &o);
    tap_ok(st == SIDR_OK && ds.split[2].n == 1 && ds.split[2].skipped_empty == 1 && ds.split[2].skipped_bad == 1 &&
               !ds.split[0].present && has_warning(&ds, "train split missing") &&
               has_warning(&ds, "1 row with an empty history skipped (first on line 3)"),
           "empty history skipped and counted; bad row skipped under skip_bad_rows; missing train reported");
    sidr_dataset_free(&ds);
    put(d, "S.item2index", "X\t0\nY\t0\n");
    expect_fail("a repeated index in item2index", d, NULL, SIDR_ERR_FORMAT, "S.item2index:2: field 'index'", NULL, NULL);
    put(d, "S.item2index", "X\t0\nY\t1\n");
    put(d, "S.test.inter", "user_id:token\titem_id:token\n");
    expect_fail("a pre-split .inter without item_id_list", d, NULL, SIDR_ERR_FORMAT,
                "expected a field 'item_id_list:token_seq'", NULL, NULL);
}

/* ---- the real data in ../shared ----------------------------------------------------------------- */

static void test_industrial(const char *shared)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data/amazon18-industrial", shared);
    sidr_dataset ds;
    double t0 = now_seconds();
    sidr_status st = sidr_dataset_load(&ds, dir, NULL);
    double dt = now_seconds() - t0;
    if (!tap_ok(st == SIDR_OK, "Industrial loads: %s", st ? sidr_last_error() : "ok")) return;
    tap_diag("Industrial: %d items, %d users, valid %d, test %d rows, %d SIDs shared by %d items, loaded in %.3f s",
             ds.n_items, ds.n_users, ds.split[1].n, ds.split[2].n, ds.n_sid_collisions,
             ds.n_items_with_sid - ds.n_sid_groups + ds.n_sid_collisions, dt);
    for (int i = 0; i < ds.n_warnings; i++) tap_diag("warning: %s", ds.warnings[i]);
    /* SPEC §1.7: 3,686 items, 4,532 valid and 4,533 test rows (wc -l minus
     * the header line gives the same; no row has an empty history). */
    tap_ok(ds.n_items == 3686 && ds.split[SIDR_SPLIT_VALID].n == 4532 && ds.split[SIDR_SPLIT_TEST].n == 4533,
           "Industrial: 3,686 items, 4,532 valid rows, 4,533 test rows");
    tap_ok(!ds.split[SIDR_SPLIT_TRAIN].present && has_warning(&ds, "train split missing"),
           "Industrial: the missing train CSV is reported");
    /* every SID of every row is in the index: the loader already compares
     * each history_item_sid / item_sid with index.json; check the result */
    int bad = 0;
    for (int s = 1; s < 3; s++)
        for (int r = 0; r < ds.split[s].n; r++) {
            const sidr_sample *x = &ds.split[s].rows[r];
            for (int i = 0; i <= x->n_hist; i++) {
                const sidr_item *it = &ds.items[i < x->n_hist ? x->hist[i] : x->target];
                const sidr_sid_group *g = sidr_dataset_sid(&ds, it->sid);
                bad += !g || it->n_levels != 3;
            }
        }
    tap_ok(bad == 0, "Industrial: every SID in the rows exists in the index");
    /* python3 -c over index.json: 15 SID strings are shared, by 31 items;
     * the SPEC's "~30 items sharing a SID" */
    tap_ok(ds.n_sid_collisions == 15 && ds.n_items_with_sid - ds.n_sid_groups + ds.n_sid_collisions == 31,
           "Industrial: 15 SIDs shared by 31 items");
    int nt;
    char **toks = sidr_dataset_sid_tokens(&ds, &nt);
    tap_ok(nt == 560, "Industrial: 560 distinct SID tokens (SPEC §1.9: vocab 151,669 + 560)");
    sidr_dataset_free_tokens(toks, nt);
    /* cut -d, -f1 of both CSVs | sort -u: 2,011 valid users, 1,987 test
     * users, 3,285 together */
    tap_ok(ds.n_users == 3285 && ds.n_title_mismatch == 0, "Industrial: 3,285 users; CSV titles match item.json");
    const sidr_sample *r0 = sidr_dataset_row(&ds, SIDR_SPLIT_VALID, 0);
    tap_ok(r0 && hist_is(&ds, r0, "A4042", "3112", "114") && !strcmp(ds.items[114].sid, "<a_165><b_214><c_252>") &&
               !strcmp(ds.items[114].title, "Super Glue 15187 Super Glue, 12-Pack"),
           "Industrial: first valid row as in the CSV");
    sidr_dataset_free(&ds);

    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);
    o.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    st = sidr_dataset_load(&ds, dir, &o);
    /* derived/..recovered_sequences.tsv: for the 2,011 valid users, the 'h'
     * items before the first 'v' number 8,435; one sample per item after the
     * first: 8,435 - 2,011 = 6,424; the 1,274 users with test rows only add
     * 3,969 from their earliest test histories */
    tap_ok(st == SIDR_OK && ds.split[SIDR_SPLIT_TRAIN].n == 10393, "Industrial derive_train: %d samples (10,393)",
           ds.split[SIDR_SPLIT_TRAIN].n);
    sidr_dataset_free(&ds);
    o.derive_train = SIDR_DERIVE_LONGEST;
    st = sidr_dataset_load(&ds, dir, &o);
    tap_ok(st == SIDR_OK && ds.split[SIDR_SPLIT_TRAIN].n == 8705,
           "Industrial derive_train longest: %d samples (8,705)", ds.split[SIDR_SPLIT_TRAIN].n);
    sidr_dataset_free(&ds);
}

static void test_unisrec(const char *shared)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data/unisrec-scientific", shared);
    sidr_dataset ds;
    sidr_status st = sidr_dataset_load(&ds, dir, NULL);
    if (!tap_ok(st == SIDR_OK, "unisrec-scientific loads: %s", st ? sidr_last_error() : "ok")) return;
    tap_diag("unisrec-scientific: %d items, %d users, train %d (cut %d), valid %d (cut %d), test %d (cut %d)",
             ds.n_items, ds.n_users, ds.split[0].n, ds.split[0].truncated, ds.split[1].n, ds.split[1].truncated,
             ds.split[2].n, ds.split[2].truncated);
    for (int i = 0; i < ds.n_warnings; i++) tap_diag("warning: %s", ds.warnings[i]);
    /* wc -l: item2index 4,385, user2index 8,442; *.inter minus the header:
     * train 34,101, valid 8,442, test 8,442 (no empty history lists) */
    tap_ok(ds.n_items == 4385 && ds.n_users == 8442 && ds.split[0].n == 34101 && ds.split[1].n == 8442 &&
               ds.split[2].n == 8442,
           "unisrec-scientific: 4,385 items, 8,442 users, 34,101 / 8,442 / 8,442 rows");
    tap_ok(!strcmp(ds.items[0].id, "B00TNNWMXI") && !strcmp(ds.users[0].id, "ABW8NXS7SV55K") && ds.items[0].title[0] &&
               ds.items[0].description[0],
           "unisrec-scientific: ids from item2index / user2index; every item has text");
    const sidr_sample *r = sidr_dataset_row(&ds, SIDR_SPLIT_TEST, 0);
    /* first test row: "0\t0 1 ... 12\t13" */
    tap_ok(r && r->n_hist == 10 && r->hist[0] == 3 && r->hist[9] == 12 && r->target == 13,
           "unisrec-scientific: a 13-item history keeps its last 10");
    sidr_dataset_free(&ds);
}

static void test_ml100k(const char *shared)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/data/ml-100k", shared);
    sidr_dataset ds;
    sidr_status st = sidr_dataset_load(&ds, dir, NULL);
    if (!tap_ok(st == SIDR_OK, "ml-100k loads: %s", st ? sidr_last_error() : "ok")) return;
    tap_diag("ml-100k: %d items, %d users, train %d, valid %d, test %d", ds.n_items, ds.n_users, ds.split[0].n,
             ds.split[1].n, ds.split[2].n);
    for (int i = 0; i < ds.n_warnings; i++) tap_diag("warning: %s", ds.warnings[i]);
    /* 100,000 interactions (wc -l minus the header) of 943 users (cut -f1 |
     * sort -u): every interaction but each user's first is a sample, so
     * 99,057; int(99057*0.8) = 79,245 and int(99057*0.9) = 89,151 give
     * 79,245 / 9,906 / 9,906.  1,682 items in ml-100k.item. */
    tap_ok(ds.n_items == 1682 && ds.n_users == 943 && ds.split[0].n == 79245 && ds.split[1].n == 9906 &&
               ds.split[2].n == 9906,
           "ml-100k: 1,682 items, 943 users, 79,245 / 9,906 / 9,906 samples");
    int mono = 1;
    int64_t last = -1;
    for (int s = 0; s < 3; s++)
        for (int i = 0; i < ds.split[s].n; i++) mono &= ds.split[s].rows[i].time >= last, last = ds.split[s].rows[i].time;
    tap_ok(mono, "ml-100k: samples sorted by target time across the splits");
    int it = sidr_dataset_item(&ds, "543");
    tap_ok(it >= 0 && !strcmp(ds.items[it].title, "Mis\xC3\xA9rables, Les") &&
               !strcmp(ds.items[it].categories, "Drama Musical"),
           "ml-100k: accented titles arrive as UTF-8 ('%s')", it >= 0 ? ds.items[it].title : "?");
    const sidr_sample *r = sidr_dataset_row(&ds, SIDR_SPLIT_TEST, 0);
    tap_ok(r && r->n_hist >= 1 && r->n_hist <= 10, "ml-100k: histories of 1..10 items");
    sidr_dataset_free(&ds);
}

int main(void)
{
    snprintf(FIX, sizeof FIX, "%s/fixtures/data", tap_testdir());
    const char *tmpd = getenv("TMPDIR");
    snprintf(TMP, sizeof TMP, "%s/sidr-test-dataset-XXXXXX", tmpd && *tmpd ? tmpd : "/tmp");
    if (!mkdtemp(TMP)) {
        printf("Bail out! cannot create a temporary folder\n");
        return 1;
    }

    test_csv();
    test_pylist();
    test_minionerec_fixture();
    test_minionerec_bad();
    test_recbole_plain();
    test_recbole_split();

    const char *shared = tap_shared();
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/data", shared);
    struct stat sb;
    if (stat(probe, &sb) != 0) {
        tap_skip("real datasets: %s not found (../shared is absent on this machine)", probe);
    } else {
        test_industrial(shared);
        test_unisrec(shared);
        test_ml100k(shared);
    }
    rm_rf(TMP);
    return tap_done();
}
