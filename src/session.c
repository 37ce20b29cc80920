#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

const char *session_warn_cmd;

void session_print_warnings(const sidr_dataset *ds, const char *cmd)
{
    if (!cmd) return;
    for (int i = 0; i < ds->n_warnings; i++) {
        /* a session never reads the train split (the embedded demo ships without one) */
        if (!strncmp(ds->warnings[i], "train split missing: no train/", 30)) continue;
        fprintf(stderr, "sidr %s: warning: %s\n", cmd, ds->warnings[i]);
    }
}

sidr_numerics session_numerics = SIDR_NUMERICS_EXACT;
int session_numerics_given;

sidr_status session_load_model(sidr_model *m, const char *dir)
{
    sidr_status st = sidr_model_load(m, dir);
    if (!st) m->numerics = session_numerics;
    return st;
}

sidr_status session_open(session *s, const char *model_dir, const char *data_dir, const sidr_dataset_opts *opts)
{
    memset(s, 0, sizeof *s);
    s->model_dir = model_dir;
    s->data_dir = data_dir;
    sidr_status st = session_load_model(&s->model, model_dir);
    if (st) return st;
    char *tok_path = path_join(model_dir, "tokenizer.json");
    st = sidr_tokenizer_load(&s->tok, tok_path);
    if (!st) st = sidr_tokenizer_check_model(s->tok, tok_path, s->model.cfg.vocab_size, model_dir);
    free(tok_path);
    if (!st) st = sidr_dataset_load(&s->ds, data_dir, opts);
    if (!st) session_print_warnings(&s->ds, session_warn_cmd);
    if (!st) st = catalog_from_dataset(&s->cat, &s->ds, s->tok);
    if (st) {
        session_close(s);
        return st;
    }
    s->loaded = 1;
    return SIDR_OK;
}

void session_close(session *s)
{
    catalog_free(&s->cat);
    sidr_dataset_free(&s->ds);
    sidr_tokenizer_free(s->tok);
    sidr_model_free(&s->model);
    memset(s, 0, sizeof *s);
}

int session_history(const session *s, const sidr_sample *row, const char **sids)
{
    for (int i = 0; i < row->n_hist; i++) {
        const sidr_item *it = &s->ds.items[row->hist[i]];
        if (!it->sid) {
            sidr_fail(SIDR_ERR_MISSING, "%s: history item %s has no SID", s->data_dir, it->id);
            return -1;
        }
        sids[i] = it->sid;
    }
    return row->n_hist;
}

sidr_status session_parse_row(const session *s, const char *spec, sidr_split_id *split, int *row)
{
    const char *colon = strchr(spec, ':');
    char name[16];
    if (!colon || colon - spec >= (long)sizeof name)
        return sidr_fail(SIDR_ERR_ARG, "row '%s': expected SPLIT:N, e.g. test:0", spec);
    memcpy(name, spec, colon - spec);
    name[colon - spec] = 0;
    int sp = sidr_split_parse(name);
    if (sp < 0) return sidr_fail(SIDR_ERR_ARG, "row '%s': unknown split '%s' (expected train, valid or test)", spec, name);
    char *end;
    long n = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || *end || n < 0)
        return sidr_fail(SIDR_ERR_ARG, "row '%s': expected a row number >= 0 after the colon", spec);
    const sidr_split *spl = &s->ds.split[sp];
    if (!spl->present) return sidr_fail(SIDR_ERR_MISSING, "%s: the dataset has no %s split", s->data_dir, name);
    if (spl->n == 0) {
        const char *where = spl->path ? spl->path : s->data_dir;
        int dropped = spl->skipped_empty + spl->skipped_bad;
        if (dropped)
            return sidr_fail(SIDR_ERR_RANGE, "row '%s': %s: the %s split has no usable rows (%d skipped: %d with an "
                             "empty history, %d malformed); expected at least one row with a history", spec, where,
                             name, dropped, spl->skipped_empty, spl->skipped_bad);
        return sidr_fail(SIDR_ERR_RANGE, "row '%s': %s: the %s split has no rows (only a header); expected at least "
                         "one row", spec, where, name);
    }
    if (n >= spl->n)
        return sidr_fail(SIDR_ERR_RANGE, "row '%s': the %s split has %d row%s (0..%d)", spec, name, spl->n,
                         spl->n == 1 ? "" : "s", spl->n - 1);
    *split = (sidr_split_id)sp;
    *row = (int)n;
    return SIDR_OK;
}

sidr_status session_user_row(const session *s, const char *user_id, sidr_split_id *split, int *row)
{
    int u = sidr_dataset_user(&s->ds, user_id);
    if (u < 0) return sidr_fail(SIDR_ERR_MISSING, "%s: unknown user '%s'", s->data_dir, user_id);
    const sidr_split_id order[3] = { SIDR_SPLIT_TEST, SIDR_SPLIT_VALID, SIDR_SPLIT_TRAIN };
    for (int k = 0; k < 3; k++) {
        int n = sidr_dataset_user_rows(&s->ds, order[k], u, NULL, 0);
        if (n <= 0) continue;
        int *rows = xmalloc((size_t)n * sizeof(int));
        sidr_dataset_user_rows(&s->ds, order[k], u, rows, n);
        *split = order[k];
        *row = rows[n - 1];
        free(rows);
        return SIDR_OK;
    }
    return sidr_fail(SIDR_ERR_MISSING, "%s: user '%s' has no rows with a history", s->data_dir, user_id);
}
