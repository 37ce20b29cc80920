/* The explorer's state and its main operations.  One app holds the loaded
 * session (model, tokenizer, dataset, catalogue), the run being streamed
 * (a rec_run driven one rec_step at a time between input polls), the five
 * panes (views, ui/view.h) and the screen they draw into.  The terminal loop
 * (ui/term.c) and the headless script runner (ui/script.c) both feed events
 * to app_event and let app_tick do the work between them. */
#ifndef SIDR_UI_APP_H
#define SIDR_UI_APP_H

#include <stddef.h>

#include "ui_config.h"
#include "align_report.h"
#include "compare.h"
#include "edit.h"
#include "explain.h"
#include "keys.h"
#include "recommend.h"
#include "screen.h"
#include "session.h"
#include "view.h"

#define UI_MIN_W 60
#define UI_MIN_H 16
#define UI_MAX_LEVELS 8

typedef enum { PANE_USERS, PANE_HISTORY, PANE_REASONING, PANE_BEAM, PANE_CODEBOOK, PANE_ALIGN, PANE_DIFF, PANE_COMPARE, PANE_COUNT } pane_id;

typedef enum { RUN_NONE, RUN_ACTIVE, RUN_DONE, RUN_CANCELLED, RUN_FAILED } run_state;
typedef enum { WHY_NONE, WHY_RUNNING, WHY_DONE, WHY_FAILED } why_state;

/* The tour (ui/tour.c). */
typedef struct {
    int on, phase, started, beam_said, own_pace;
    int rows[8], n_rows, i;     /* test rows to show, the one playing */
    int scouted, miss;          /* test rows looked at; the instructive miss, -1 */
    double until;               /* a caption's hold on a terminal */
    int ticks;                  /* ... in a headless script */
} tour_state;

/* One user of the Users pane and the row a run uses for them. */
typedef struct {
    int user;
    int split;
    int row;
} user_entry;

/* What one beam step did, kept for the Beam pane. */
typedef struct {
    int step;           /* 0-based; < depth: SID level, then the forced "\n" and EOS steps */
    int allowed, kept;
    int n;              /* live beams after the step (finished hypotheses after the last) */
    sidr_beam *beams;
} beam_snap;

/* A run of SID tokens in the reasoning trace. */
typedef struct {
    int first_tok, n_tok;
    int from_level;     /* level of the first token (0 = a full prefix from <a_>) */
    int codes[UI_MAX_LEVELS];
} mention;

/* The SID token the Codebook pane shows: codes[from..n-1] are known, level
 * is the selected one (from <= level < n).  from > 0: the prefix is unknown
 * (a lone token in the trace). */
typedef struct {
    int valid;
    int level, from, n;
    int codes[UI_MAX_LEVELS];
} cb_sel;

/* Codebook facts, computed once, and the lazily computed neighbourhoods. */
typedef struct {
    int levels;
    int K[UI_MAX_LEVELS];                /* codes per level */
    int *usage[UI_MAX_LEVELS];           /* items with code c at level l */
    int *prefixes[UI_MAX_LEVELS];        /* distinct parent prefixes using code c at level l */
    int *token[UI_MAX_LEVELS];           /* vocabulary id of <x_c>, -1 when absent */
    /* code vectors: 0 not tried, 1 ready, -1 unavailable, 2 derivation pending, 3 deriving (a thread) */
    int vec_state;
    int vec_derived;
    int dim;
    float *vec[UI_MAX_LEVELS];           /* K x dim */
    char vec_note[700];
    /* nearest tokens in the model's embedding space, computed in chunks */
    int nt_query;                        /* token id, -1 none */
    int nt_next;                         /* next vocabulary row to score */
    float *nt_qvec;
    int nt_lang_id[8], nt_sid_id[8];
    float nt_lang_s[8], nt_sid_s[8];
} cbdata;

/* The Alignment pane: the chosen item measured live (title -> SID beams,
 * SID -> title) and a seeded sample measured one item per tick, both with
 * align_report_item, so they equal what `sidr align-report` reports. */
#define ALIGN_SAMPLE_ITEMS 64
typedef enum { AL_IDLE, AL_RUNNING, AL_DONE, AL_CANCELLED, AL_FAILED } al_state;
typedef struct {
    int shown;                  /* the layout shows Alignment in place of Reasoning, Beam and Codebook */
    align_opts opts;            /* align-report's defaults (beams 10, seed 42), 64 items */
    align_ctx ctx;
    int ctx_state;              /* 0 not made, 1 ready, -1 failed */
    /* the chosen item */
    int item;                   /* dataset item, -1 none */
    int item_state;             /* 0 none, 1 pending, 2 done, -1 failed */
    align_item res;
    align_beams beams;
    char err[256];
    /* the sample */
    al_state s_state;
    int *pool, s_total, s_done;
    align_item *s_items;
    int *order;                 /* s_items sorted for the worst-aligned list */
    int sort;                   /* 0 levels right, 1 title F1, 2 sample order */
    int codes_a;
    int *confusion;             /* [true][predicted] level-a codes of the top beams */
    int s_hit1, s_lev[8];
    double s_f1;
    int seen_pane, seen_item;   /* the cursor item last seen in the focused pane */
} aldata;

/* Headless / benchmark bookkeeping. */
typedef struct {
    double *key_ms, *step_ms;
    int *key_code;
    int n_key, n_step, cap_key, cap_step;
} ui_bench;

typedef struct app {
    ui_config cfg;
    keymap km;
    int headless;           /* virtual screen, scripted input */
    int color;              /* colours in use (0: monochrome) */

    /* the session */
    session ss;
    char model_label[128], data_label[128];
    signed char *tok_level; /* per vocabulary id: SID level, -1 if not a SID token */
    int *tok_code;
    int n_vocab;
    int sid_width;          /* widest SID string in columns */

    /* Users */
    user_entry *entries;
    int n_entries;
    int user_id_width;
    int f_split;            /* -1 all, else a split */
    int f_outcome;          /* 0 all, 1 hit, 2 miss, 3 not run */
    int *outcome[SIDR_SPLIT_COUNT];      /* per row: -2 not run, -1 miss, rank >= 0 */
    int *last_row[SIDR_SPLIT_COUNT];     /* per user: their last row in a split, -1 */

    /* the current user (History) */
    int cur_user, cur_split, cur_row;    /* cur_user -1: none */

    /* the run */
    rec_settings set;       /* settings for the next run */
    rec_run run;
    int run_live;           /* run holds engine state */
    run_state rstate;
    int paused;
    int pace;               /* reasoning tokens and beam levels per second on a terminal; 0: as fast as it goes */
    double paced_at;        /* when the last paced step ran */
    int run_user, run_split, run_row;
    char run_error[512];
    int rank;               /* hit rank (0-based), -1 miss, -2 unknown */
    beam_snap *snaps;
    int n_snaps;
    char *trace;            /* reasoning bytes so far */
    size_t trace_len, trace_cap;
    int *tok_off;           /* byte offset per reasoning token, n_gen + 1 */
    int *tok_mention;       /* mention index per token, -1 */
    int tok_cap;
    int n_tok;              /* tokens accounted for */
    mention *mentions;
    int n_mentions, cap_mentions;
    double run_t0, run_t1;  /* wall time of the run */
    long steps;

    /* why the run recommended what it did (ui/why.c) */
    explain_result why;
    why_state why_state;
    int why_user, why_split, why_row;

    tour_state tour;

    /* Codebook */
    cb_sel sel;
    cb_sel back[32];
    int n_back;
    cbdata cb;

    /* Alignment */
    aldata al;

    /* counterfactual history edits and the runs they are compared by */
    hist_edits edit;

    /* A/B: the second model and the Users pane's eval-diff filter (ui/compare.c) */
    cmpdata cmp;
    evfilter evf;

    /* screen and panes */
    ui_screen scr;
    view views[PANE_COUNT];
    int focus;
    int zoom;
    int lay_users, lay_hist, lay_reas, lay_beam;  /* permille */
    int help;               /* help screen shown */
    int help_top;
    char msg[512];
    int msg_err;
    char search[256];
    int search_dir;
    /* command line */
    int cmd_active;         /* ':' or '/' while the line is open */
    char cmd_buf[1024];
    char cmd_prompt[128];   /* ':' or '/', or readline's own (reverse-i-search) */
    int cmd_cursor;         /* cursor column in the buffer (bytes) */
    char cmd_matches[512];  /* completions shown under the line */

    int quit;
    int dirty;
    ui_bench bench;
    int bench_on;
} app;

/* Opens the session and sets up the panes; on failure the message is in
 * sidr_last_error(). */
sidr_status app_open(app *a, const ui_config *cfg, const char *model_dir, const char *data_dir, int headless,
                     int w, int h);
void app_close(app *a);

/* Handles one input event (key or mouse). */
void app_event(app *a, const ui_event *ev);
/* Does one unit of background work: an engine step when a run is active and
 * not paused, else a chunk of codebook work.  Returns 1 if it did something,
 * 0 when idle. */
int app_tick(app *a);
/* Finishes pending codebook work (for dumps). */
void app_settle(app *a);
/* Draws everything into a->scr. */
void app_draw(app *a);
void app_resize(app *a, int w, int h);

/* Messages in the bottom line. */
void app_msg(app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void app_err(app *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Users and runs. */
void app_open_entry(app *a, int entry, int run);
sidr_status app_set_user(app *a, const char *user_id);
/* Opens a dataset row (its user becomes the current one). */
void app_open_row(app *a, int split, int row);
void app_start_run(app *a);
void app_cancel_run(app *a, const char *why);
void app_refilter(app *a);
const sidr_sample *app_cur_sample(const app *a);
/* The outcome of a (split, row): -2 not run, -1 miss, rank. */
int app_outcome(const app *a, int split, int row);
sidr_status app_load_eval(app *a, const char *path);

/* Codebook selection. */
void app_select_sid(app *a, const int *codes, int n, int from, int level, int push);
void app_select_item(app *a, int item, int level);
void app_sel_back(app *a);
/* Codebook helpers (ui/cbdata.c). */
void cb_init(app *a);
void cb_free(app *a);
int cb_need_vectors(app *a);            /* requests vectors; 1 when ready */
int cb_work(app *a);                    /* a chunk of pending work; 1 if any done */
int cb_busy(app *a);                    /* 1: work to do now, 2: waiting for the derivation thread, 0: idle */
void cb_settle(app *a);                 /* finishes all pending work (waits for the thread) */
void cb_request_neighbours(app *a, int token);

/* Alignment (ui/view_align.c). */
void al_init(app *a);
void al_free(app *a);
void al_set_item(app *a, int item);     /* measures it between input polls */
int al_busy(app *a);                    /* 1: work pending */
int al_work(app *a);                    /* one item; 1 if any done */
void al_settle(app *a);                 /* finishes the chosen item (not the sample) */
void al_start_sample(app *a);
void al_cancel_sample(app *a, const char *why);
/* The tour (ui/tour.c): plays curated test rows; any key takes over. */
void tour_start(app *a);
void tour_stop(app *a, const char *why);
int tour_active(const app *a);
int tour_tick(app *a);                  /* its next move; 1 if it did something */
int tour_wait_ms(const app *a);         /* ms left of the caption's hold (terminal) */

/* Milliseconds until the run's next step is due under :set pace (0: now). */
int app_pace_wait_ms(const app *a);

/* Why (ui/why.c): sidr explain's methods for the finished run. */
void why_start(app *a);                 /* attention, grad, lens now; occlusion queued */
int why_busy(const app *a);             /* 1: occlusion runs pending */
int why_work(app *a);                   /* one occlusion run; 1 if any done */
void why_cancel(app *a, const char *reason);
void why_release(app *a);
int why_for_row(const app *a);          /* 1: an explanation of the current row is held */
int why_most_influential(const app *a); /* the item whose removal lowers the top SID's log-probability most, -1 */

/* The next catalogue item (with a SID) from item `from` in direction dir whose
 * title or SID contains pattern or whose id is pattern; -1 none. */
int app_find_item(const app *a, const char *pattern, int from, int dir, int skip_current);

/* Focuses a pane (the layout follows: Alignment or Reasoning/Beam/Codebook). */
void app_focus(app *a, int pane);
/* The item under the cursor of a pane, -1. */
int app_pane_item(app *a, int pane);

/* The views' shared helpers. */
int app_style_level(int level);
/* "<a_1>" for level l, code c. */
void sid_token_str(int level, int code, char *buf, size_t cap);
/* "<a_1><b_2>" for codes[0..n-1] starting at level from. */
void sid_codes_str(const int *codes, int from, int n, char *buf, size_t cap);
/* Adds SID tokens to a line, each coloured by level. */
void tline_sid(tline *l, const char *sid, int width, int cell_flags);
/* A token's text made visible: quoted, \n and \t escaped, stray bytes as \xNN. */
void app_token_display(app *a, int id, char *buf, size_t cap);
/* Items under a prefix of codes (trie walk); returns the trie node or -1. */
int app_prefix_node(const app *a, const int *codes, int n);

/* The command line (ui/cmdline.c). */
void cmdline_init(app *a);
void cmdline_open(app *a, int kind);
void cmdline_key(app *a, int key);
void cmdline_close(app *a);
void cmdline_shutdown(app *a);
/* Executes a ':' command line. */
void app_command(app *a, const char *line);
/* The command table, for completion and help. */
typedef struct {
    const char *name;
    const char *args;
    const char *help;
} ui_command_info;
extern const ui_command_info ui_commands[];
extern const int ui_commands_len;

/* Searching the focused pane. */
void app_search(app *a, const char *pattern, int dir, int skip_current);

/* Export (ui/export.c): FILE.json and FILE.md. */
sidr_status app_export(app *a, const char *base, char *written, size_t cap);
/* s as one Markdown table cell: '|' escaped, line breaks made spaces. */
void export_md_cell(FILE *f, const char *s);

/* Layout (ui/app.c). */
void app_layout(app *a);

/* Benchmark hooks. */
void bench_key(app *a, int key, double ms);
void bench_step(app *a, double ms);
void bench_report(app *a, const char *path);

#endif
