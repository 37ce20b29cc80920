/* Training texts of the three SIDReasoner stages (SPEC §1.2–§1.4), built
 * from a dataset: the eight Stage-1 alignment tasks, the Stage-2 reasoning
 * format, and the token ids with the loss mask each stage trains on.
 *
 * Chat samples are rendered with the Qwen3 chat template (model/chat.h):
 *   <|im_start|>system\n{S}<|im_end|>\n<|im_start|>user\n{U}<|im_end|>\n
 *   <|im_start|>assistant\n<think>\n\n</think>\n\n{R}<|im_end|>\n
 * and tokenised as what a model sees at inference: the prompt (everything up
 * to and including the assistant header, and for Stage 1 the empty think
 * block) is encoded on its own, the part after it on its own, and the ids
 * are concatenated.  With the Qwen3 tokenizer this equals encoding the whole
 * text (tests/test_tasks.c checks it); with tokenizers whose pre-tokeniser
 * merges across the boundary ("\n\n" + text) it keeps the prompt's ids
 * exactly those of the inference prompt. */
#ifndef SIDR_TASKS_H
#define SIDR_TASKS_H

#include <stdint.h>

#include "dataset.h"
#include "status.h"
#include "tokenizer.h"

typedef enum {
    TASK_SID_TO_SID = 1,      /* SID history -> next SID */
    TASK_TITLE_TO_SID_ITEM,   /* which item has this title -> SID (variant & 1: the reverse) */
    TASK_SID_TO_TITLE,        /* SID history -> next title */
    TASK_TITLES_TO_TITLE,     /* title history -> next title */
    TASK_TITLES_TO_SID,       /* title history -> next SID */
    TASK_ITEM_NARRATIVE,      /* plain text about one item, mentions by SID */
    TASK_USER_NARRATIVE,      /* plain text over a user's history ending in the next SID */
    TASK_GENERAL,             /* general instruction data (chat messages from a file) */
    TASK_REASONING,           /* Stage 2: <think> reasoning </think> SID */
    TASK_COUNT
} task_kind;

/* Variant bits of a TASK_REASONING sample, kept clear of the row numbers
 * other callers pass as variants (the tokenizer's corpus, the tests): the
 * prompt hides the history, so only the reasoning can lead to the answer
 * (train reason --trace-answer); and with it, the reasoning's SID mentions
 * become "an item" as well, so only its words (types, brands, tiers) do. */
#define TASK_VARIANT_HIDDEN_HISTORY (1ull << 63)
#define TASK_VARIANT_WORDS_ONLY (1ull << 62)

/* "sid-history-to-sid", ... ("?" for others). */
const char *task_name(task_kind k);

/* One training text: a chat or plain text.  Chat tasks: system, user and
 * response (the final assistant answer); TASK_GENERAL keeps its whole
 * conversation in msgs (roles and contents, ending with the assistant turn
 * that is trained on). */
typedef struct {
    task_kind kind;
    int chat;              /* 1: chat sample; 0: plain LM text in response */
    char *system, *user, *response;
    int n_msgs;
    char **roles, **contents;
} task_text;

void task_text_free(task_text *t);

/* Enriched texts of the paper's format, when the dataset has them:
 *  - index/<Cat>.item_enhanced_v2.json: an object keyed by item id whose
 *    values carry "llm_stage2" (the item narrative, Stage-1 task 6);
 *  - index/<Cat>.integrated_narrative.csv: per sample "reasoning_path"
 *    (Stage-2 reasoning) and/or "integrated_narrative" (task 7).
 * The CSV's rows are matched to dataset rows by, in order of preference,
 *   (split, row) columns (split = train|valid|test; row / row_index / index /
 *   idx / sample_index = 0-based row of that split), checked against
 *   user_id and the target (item_id or item_sid) when those columns exist;
 *   else user_id + target item (item_id, else item_sid), narrowed by
 *   history_item_id when present and by split when a split column exists:
 *   every dataset row with that user, target (and history) gets the text.
 * Empty texts are ignored; a reasoning text containing "<think>" or
 * "</think>" is refused (it would break the Stage-2 format) and counted. */
typedef struct {
    char **item_narrative;           /* per dataset item, NULL when absent */
    char **reasoning[SIDR_SPLIT_COUNT];      /* per split, per row, NULL when absent */
    char **user_narrative[SIDR_SPLIT_COUNT];
    int n_item_narratives, n_reasoning, n_user_narratives;  /* dataset rows (items) that got a text */
    int csv_rows, csv_unmatched, csv_refused;  /* integrated_narrative.csv: rows read, matching no dataset row, refused */
    int reasoning_names_target;      /* reasoning texts that contain their row's target SID
                                        while it is not in the history */
    char *item_path, *narrative_path; /* the files read, NULL when absent */
    const char *key;                 /* how CSV rows were matched: "split+row", "user+target(+history)" */
} task_enrichment;

/* Loads whichever of the two files exist (none: an empty enrichment, OK).
 * Malformed files are errors naming the file, line and field. */
sidr_status task_enrichment_load(task_enrichment *e, const sidr_dataset *ds);
void task_enrichment_free(task_enrichment *e, const sidr_dataset *ds);

/* Builders.  `variant` picks among phrasings/directions deterministically.
 * Row-based tasks (1, 3, 4, 5, 7, reasoning) use (split, row); item tasks
 * (2, 6) use item.  Returns 0, or -1 (out left empty) when the sample cannot
 * be built: an item or history item without a SID, a row out of range. */
int task_build(task_text *out, task_kind kind, const sidr_dataset *ds, const task_enrichment *e,
               sidr_split_id split, int row, int item, uint64_t variant);

/* The rule-based analyst reasoning over a history: a first-person monologue
 * that names items only by SID, from the history's brands, categories and
 * recency.  It never names the target (its SIDs are all history SIDs). */
char *task_rule_reasoning(const sidr_dataset *ds, const sidr_sample *row);

/* General instruction data (task 8): a JSONL file, one {"messages": [{"role":
 * "system"|"user"|"assistant", "content": "..."}, ...]} per line, the last
 * message an assistant turn (trained on).  Lines that do not end in an
 * assistant turn are skipped and counted; malformed JSON is an error naming
 * the line. */
typedef struct {
    task_text *v;
    int n, skipped;
} task_general;

sidr_status task_general_load(task_general *g, const char *path);
void task_general_free(task_general *g);
/* A copy of sample i as a task_text (free with task_text_free). */
void task_general_get(const task_general *g, int i, task_text *out);

/* Token ids and per-token loss weights: weight[i] = 1 when ids[i] is trained
 * on (predicted from ids[0..i-1]), on the positions [lo, hi).
 *  - Chat tasks: the response only, without <|im_end|>\n.
 *  - Plain texts: every token but the first.
 *  - Reasoning: from <think> to the end, <|im_end|>\n included. */
typedef struct {
    int *ids;
    float *weight;
    int n;
    int lo, hi;
    int n_prompt;          /* ids of the prompt (chat) */
} task_tokens;

sidr_status task_tokenize(const task_text *t, const sidr_tokenizer *tok, task_tokens *out);
void task_tokens_free(task_tokens *t);

/* The text a chat task renders to (the whole sample, as the template writes
 * it) and the prompt part of it; malloc'd; NULL prompt for plain texts. */
char *task_render(const task_text *t, char **prompt);

#endif
