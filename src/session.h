/* What a recommendation needs loaded together: the model, its tokenizer, a
 * dataset and the SID catalogue built from it against that tokenizer. */
#ifndef SIDR_SESSION_H
#define SIDR_SESSION_H

#include "catalog.h"
#include "dataset.h"
#include "tokenizer.h"
#include "transformer.h"

typedef struct {
    const char *model_dir, *data_dir;
    sidr_model model;
    sidr_tokenizer *tok;
    sidr_dataset ds;
    sidr_catalog cat;
    int loaded;
} session;

sidr_status session_open(session *s, const char *model_dir, const char *data_dir, const sidr_dataset_opts *opts);

/* The command whose name prefixes dataset warnings on stderr ("sidr CMD:
 * warning: ..."); set by main before it runs a command.  When NULL (the
 * tests), session_open prints nothing. */
extern const char *session_warn_cmd;
/* The run's numerics policy (see kernels.h), set by main from --numerics;
 * every model sidr loads for a run takes it. */
extern sidr_numerics session_numerics;
extern int session_numerics_given;   /* on the command line (it beats a config file) */
/* sidr_model_load, then the run's numerics policy. */
sidr_status session_load_model(sidr_model *m, const char *dir);
/* Prints each of the dataset loader's warnings once to stderr. */
void session_print_warnings(const sidr_dataset *ds, const char *cmd);
void session_close(session *s);

/* The SID strings of a sample's history (pointers into the dataset); the
 * count, or -1 when an item has no SID (the message says which). */
int session_history(const session *s, const sidr_sample *row, const char **sids);

/* Picks a row: "test:12" (split and row number), written to split and row. */
sidr_status session_parse_row(const session *s, const char *spec, sidr_split_id *split, int *row);
/* The row to recommend for a user: their last row of test, else valid, else
 * train. */
sidr_status session_user_row(const session *s, const char *user_id, sidr_split_id *split, int *row);

#endif
