/* Training texts and loss masks (src/tasks.c): the eight Stage-1 tasks and
 * the Stage-2 format rendered byte for byte as SPEC §1.2/§1.3 write them,
 * exactly which token positions carry loss (chat: the response without
 * <|im_end|>; narratives: everything but the first token; reasoning: from
 * <think> to the end), on the tiny tokenizer with ChatML tokens and, when
 * ../shared is present, on the real Qwen3 tokenizer (where the prompt/answer
 * split must equal encoding the whole text); the rule reasoning never names
 * the target; the enrichment files (item_enhanced_v2.json,
 * integrated_narrative.csv keyed by split+row, by user+target, by
 * user+target+history) and the general JSONL (task 8). */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>

#include "prompts.h"
#include "tasks.h"
#include "trainfix.h"

#define P SIDR_PREAMBLE

static char *dec(const sidr_tokenizer *tok, const int *ids, int n)
{
    char *t;
    size_t len;
    if (sidr_tokenizer_decode(tok, ids, n, 0, &t, &len)) return strdup("<decode error>");
    return t;
}

static void check_str(const char *got, const char *want, const char *name)
{
    int same = got && want && !strcmp(got, want);
    tap_ok(same, "%s", name);
    if (!same && got && want) {
        size_t i = 0;
        while (got[i] && got[i] == want[i]) i++;
        tap_diag("first difference at byte %zu: got \"%.60s\" want \"%.60s\"", i, got + i, want + i);
    }
}

static char *chat_text(const char *s, const char *u, const char *r)
{
    size_t n = strlen(s) + strlen(u) + strlen(r) + 256;
    char *t = malloc(n);
    snprintf(t, n,
             "<|im_start|>system\n%s<|im_end|>\n<|im_start|>user\n%s<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
             "%s<|im_end|>\n",
             s, u, r);
    return t;
}

/* Checks a sample's tokens against its text: the prompt part, the trained
 * part and the tail, and that weights are 1 exactly on [lo, hi). */
static void check_mask(const sidr_tokenizer *tok, const task_text *t, const char *name, int qwen)
{
    char *prompt = NULL, *full = task_render(t, &prompt);
    task_tokens tk;
    sidr_status s = task_tokenize(t, tok, &tk);
    if (!tap_ok(s == SIDR_OK, "%s: tokenises (%s)", name, s ? sidr_last_error() : "ok")) {
        free(prompt);
        free(full);
        return;
    }
    int mask_ok = tk.weight[0] == 0;
    for (int i = 0; i < tk.n; i++) mask_ok &= tk.weight[i] == (i >= tk.lo && i < tk.hi ? 1.0f : 0.0f);
    tap_ok(mask_ok && tk.lo >= 1 && tk.hi > tk.lo, "%s: weights are 1 exactly on positions [%d, %d) of %d", name, tk.lo, tk.hi,
           tk.n);
    char *all = dec(tok, tk.ids, tk.n);
    check_str(all, full, qwen ? "  the ids decode to the rendered text (Qwen3)" : "  the ids decode to the rendered text");
    free(all);
    if (!t->chat) {
        tap_ok(tk.lo == 1 && tk.hi == tk.n, "%s: plain text: every token but the first is trained", name);
    } else {
        char *pre = dec(tok, tk.ids, tk.lo), *mid = dec(tok, tk.ids + tk.lo, tk.hi - tk.lo),
             *tail = dec(tok, tk.ids + tk.hi, tk.n - tk.hi);
        check_str(pre, prompt, "  the untrained head is exactly the prompt");
        if (t->kind == TASK_REASONING) {
            check_str(mid, full + strlen(prompt), "  reasoning: trained from <think> to the end, <|im_end|>\\n included");
            tap_ok(tk.hi == tk.n && tk.ids[tk.lo] == sidr_tokenizer_find(tok, "<think>") &&
                       tk.ids[tk.n - 2] == sidr_tokenizer_find(tok, "<|im_end|>"),
                   "  reasoning: the first trained token is <think>, the last two <|im_end|> \\n");
        } else {
            size_t fl = strlen(full), pl = strlen(prompt);
            char *resp = strndup(full + pl, fl - pl - strlen("<|im_end|>\n"));
            check_str(mid, resp, "  the trained part is exactly the response");
            check_str(tail, "<|im_end|>\n", "  <|im_end|>\\n follows, untrained");
            free(resp);
        }
        free(pre);
        free(mid);
        free(tail);
        if (qwen) {
            /* The prompt/answer split must not change the tokens. */
            int *ids, n;
            sidr_tokenizer_encode(tok, full, strlen(full), &ids, &n);
            int same = n == tk.n && !memcmp(ids, tk.ids, (size_t)n * sizeof(int));
            tap_ok(same, "%s: Qwen3: prompt + answer encoded apart equal the whole text encoded (%d vs %d ids)", name, tk.n, n);
            free(ids);
        }
    }
    task_tokens_free(&tk);
    free(prompt);
    free(full);
}

static void all_masks(const sidr_dataset *ds, const sidr_tokenizer *tok, const task_general *g, int qwen)
{
    const char *tag = qwen ? "qwen3" : "tiny";
    char name[96];
    for (int k = TASK_SID_TO_SID; k < TASK_COUNT; k++) {
        if (k == TASK_GENERAL) {
            for (int i = 0; i < g->n; i++) {
                task_text t;
                task_general_get(g, i, &t);
                snprintf(name, sizeof name, "%s: general #%d", tag, i);
                check_mask(tok, &t, name, qwen);
                task_text_free(&t);
            }
            continue;
        }
        for (int v = 0; v < 2; v++) {
            task_text t;
            int item = k == TASK_TITLE_TO_SID_ITEM || k == TASK_ITEM_NARRATIVE ? 1 : -1;
            if (task_build(&t, (task_kind)k, ds, NULL, SIDR_SPLIT_TRAIN, v, item, (uint64_t)v)) {
                tap_ok(0, "%s: task %s builds", tag, task_name(k));
                continue;
            }
            snprintf(name, sizeof name, "%s: %s (variant %d)", tag, task_name(k), v);
            check_mask(tok, &t, name, qwen);
            task_text_free(&t);
        }
    }
}

/* ---- exact texts ------------------------------------------------------------------------ */

static void exact_texts(const sidr_dataset *ds, const sidr_tokenizer *tok)
{
    /* train row 0 (derived from U1's earliest valid row): history [item 0] -> item 5 */
    const sidr_sample *r = sidr_dataset_row(ds, SIDR_SPLIT_TRAIN, 0);
    tap_ok(r && r->n_hist == 1 && !strcmp(ds->items[r->hist[0]].id, "0") && !strcmp(ds->items[r->target].id, "5"),
           "derived train row 0 is [0] -> 5");
    task_text t;
    char *want, *got;

    task_build(&t, TASK_SID_TO_SID, ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, 0);
    want = chat_text(P " Can you predict the next possible item that the user may expect?",
                     "The user has interacted with items <a_1><b_2><c_3> in chronological order. Can you predict the next "
                     "possible item that the user may expect?",
                     "<a_0><b_7><c_10>");
    check_str(got = task_render(&t, NULL), want, "task 1 renders as SPEC §1.2 with the empty think block");
    free(got);
    free(want);
    task_tokens tk;
    task_tokenize(&t, tok, &tk);
    int a0 = sidr_tokenizer_find(tok, "<a_0>"), b7 = sidr_tokenizer_find(tok, "<b_7>"), c10 = sidr_tokenizer_find(tok, "<c_10>");
    tap_ok(tk.hi - tk.lo == 3 && tk.ids[tk.lo] == a0 && tk.ids[tk.lo + 1] == b7 && tk.ids[tk.lo + 2] == c10,
           "task 1: loss on exactly the three SID tokens");
    tap_ok(tk.n == tk.hi + 2 && tk.ids[tk.hi] == sidr_tokenizer_find(tok, "<|im_end|>") &&
               tk.ids[tk.hi + 1] == sidr_tokenizer_find(tok, "\n") && tk.weight[tk.hi] == 0 && tk.weight[tk.hi + 1] == 0,
           "task 1: then <|im_end|> and \\n without loss");
    char *pre = dec(tok, tk.ids, tk.lo);
    size_t pl = strlen(pre);
    const char *empty = "<|im_start|>assistant\n<think>\n\n</think>\n\n";
    tap_ok(pl > strlen(empty) && !strcmp(pre + pl - strlen(empty), empty), "task 1: the prompt ends with the empty think block");
    free(pre);
    task_tokens_free(&tk);
    task_text_free(&t);

    task_build(&t, TASK_TITLE_TO_SID_ITEM, ds, NULL, SIDR_SPLIT_TRAIN, -1, 0, 0);
    want = chat_text(P " \nAnswer the question about item identification.\n", "Which item has the title: Super Glue, 12-Pack?",
                     "<a_1><b_2><c_3>");
    check_str(got = task_render(&t, NULL), want, "task 2 (title -> SID)");
    free(got);
    free(want);
    task_text_free(&t);
    task_build(&t, TASK_TITLE_TO_SID_ITEM, ds, NULL, SIDR_SPLIT_TRAIN, -1, 0, 1);
    want = chat_text(P " \nAnswer the question about item identification.\n",
                     "What is the title of item \"<a_1><b_2><c_3>\"?", "Super Glue, 12-Pack");
    check_str(got = task_render(&t, NULL), want, "task 2 (SID -> title)");
    free(got);
    free(want);
    task_text_free(&t);

    task_build(&t, TASK_SID_TO_TITLE, ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, 0);
    want = chat_text(P "\nCan you recommend the next item for the user based on their interaction history?\n",
                     "The user has sequentially interacted with items <a_1><b_2><c_3>. Can you recommend the next item for "
                     "him? Tell me the title of the item?",
                     "Nitrile Gloves (100 ct)");
    check_str(got = task_render(&t, NULL), want, "task 3 (SID history -> title)");
    free(got);
    free(want);
    task_text_free(&t);

    task_build(&t, TASK_TITLES_TO_SID, ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, 0);
    want = chat_text(P " \nBased on the user's historical interaction with item titles, predict the semantic ID of the next "
                       "item they may expect.\n",
                     "The user has interacted with the following Mini items in chronological order: \"Super Glue, 12-Pack\". "
                     "Can you predict the next item the user may expect?",
                     "<a_0><b_7><c_10>");
    check_str(got = task_render(&t, NULL), want, "task 5 (title history -> SID)");
    free(got);
    free(want);
    task_text_free(&t);

    task_build(&t, TASK_TITLES_TO_TITLE, ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, 0);
    tap_ok(t.chat && !strcmp(t.response, "Nitrile Gloves (100 ct)") && strstr(t.user, "\"Super Glue, 12-Pack\""),
           "task 4 (title history -> title) quotes the titles and answers with the title");
    task_text_free(&t);

    task_build(&t, TASK_ITEM_NARRATIVE, ds, NULL, SIDR_SPLIT_TRAIN, -1, 0, 0);
    tap_ok(!t.chat && !strncmp(t.response, "<a_1><b_2><c_3> is Super Glue, 12-Pack.", 39) && strstr(t.response, "Loctite") &&
               !strstr(t.response, "['"),
           "task 6 (item narrative, rule): mentions the item by SID, no list brackets: %s", t.response);
    task_text_free(&t);

    task_build(&t, TASK_USER_NARRATIVE, ds, NULL, SIDR_SPLIT_TRAIN, 1, -1, 0);
    size_t rl = strlen(t.response);
    const char *end = "Next, the user chose <a_10><b_1><c_1>.";
    tap_ok(!t.chat && strstr(t.response, "<a_1><b_2><c_3>, <a_0><b_7><c_10>") && rl > strlen(end) &&
               !strcmp(t.response + rl - strlen(end), end),
           "task 7 (user narrative, rule): recites the history and ends naming the next SID");
    task_text_free(&t);

    /* Stage 2: the prompt is the inference/RL prompt, the answer the §1.3 format. */
    task_build(&t, TASK_REASONING, ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, 0);
    char *prompt;
    got = task_render(&t, &prompt);
    char *ref = prompt_reasoning("<a_1><b_2><c_3>");
    check_str(prompt, ref, "reasoning: the prompt is prompt_reasoning() (what rl and inference feed)");
    char *why = task_rule_reasoning(ds, r);
    size_t n = strlen(ref) + strlen(why) + 128;
    want = malloc(n);
    snprintf(want, n, "%s<think>\n%s\n</think>\n\n<a_0><b_7><c_10><|im_end|>\n", ref, why);
    check_str(got, want, "reasoning: <think>\\n{reasoning}\\n</think>\\n\\n{SID}<|im_end|>\\n after the prompt");
    free(want);
    {
        /* the hidden-history variant (train reason --trace-answer): the same
         * reasoning and answer, the prompt without the history's SIDs */
        task_text h;
        char *hprompt, *hgot;
        task_build(&h, TASK_REASONING, ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, TASK_VARIANT_HIDDEN_HISTORY);
        hgot = task_render(&h, &hprompt);
        char *href = prompt_reasoning("that are not shown");
        check_str(hprompt, href, "reasoning, history hidden: the prompt names no history item");
        tap_ok(!strcmp(hgot + strlen(hprompt), got + strlen(prompt)) && !strstr(hprompt, "<a_1><b_2><c_3>"),
               "reasoning, history hidden: the same reasoning and answer follow");
        free(href);
        free(hprompt);
        free(hgot);
        task_text_free(&h);
        /* ... and with --trace-answer-words the reasoning's SIDs read "an item" */
        task_build(&h, TASK_REASONING, ds, NULL, SIDR_SPLIT_TRAIN, 0, -1,
                   TASK_VARIANT_HIDDEN_HISTORY | TASK_VARIANT_WORDS_ONLY);
        hgot = task_render(&h, &hprompt);
        const char *think = strstr(hgot, "</think>");
        char *masked = strdup(why);
        for (char *p; (p = strstr(masked, "<a_1><b_2><c_3>"));) memmove(p + 7, p + 15, strlen(p + 15) + 1), memcpy(p, "an item", 7);
        char *head = think ? strndup(hgot, (size_t)(think - hgot)) : NULL;
        tap_ok(strstr(why, "<a_1><b_2><c_3>") && head && strstr(hgot, masked) && !strstr(head, "<a_") &&
                   !strcmp(think, "</think>\n\n<a_0><b_7><c_10><|im_end|>\n"),
               "reasoning, words only: the reasoning's SID mentions read 'an item', the answer stays the SID");
        free(masked);
        free(head);
        free(hprompt);
        free(hgot);
        task_text_free(&h);
    }
    free(got);
    free(ref);
    free(prompt);
    free(why);
    task_text_free(&t);
}

/* ---- rule reasoning ------------------------------------------------------------------------ */

static void rule_reasoning(const sidr_dataset *ds)
{
    int rows = 0, bad = 0, mentions = 0;
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++)
        for (int i = 0; i < ds->split[s].n; i++) {
            const sidr_sample *r = &ds->split[s].rows[i];
            char *why = task_rule_reasoning(ds, r);
            rows++;
            /* every SID token run in the text is a history SID */
            for (const char *p = strstr(why, "<a_"); p; p = strstr(p + 1, "<a_")) {
                const char *e = p;
                while (*e == '<') {
                    const char *q = strchr(e, '>');
                    if (!q) break;
                    e = q + 1;
                }
                int found = 0;
                for (int h = 0; h < r->n_hist; h++) {
                    const char *sid = ds->items[r->hist[h]].sid;
                    if (strlen(sid) == (size_t)(e - p) && !memcmp(sid, p, (size_t)(e - p))) found = 1;
                }
                if (!found) bad++;
                mentions++;
            }
            const char *tsid = ds->items[r->target].sid;
            int in_hist = 0;
            for (int h = 0; h < r->n_hist; h++) in_hist |= !strcmp(ds->items[r->hist[h]].sid, tsid);
            if (!in_hist && strstr(why, tsid)) bad++;
            if (strstr(why, ds->items[r->target].title) && *ds->items[r->target].title) bad++;
            free(why);
        }
    tap_ok(rows > 0 && mentions > 0 && bad == 0,
           "rule reasoning names only history SIDs, never the target (%d rows, %d SID mentions, %d bad)", rows, mentions, bad);
}

/* ---- enrichment files ------------------------------------------------------------------------ */

static sidr_status load_copy(const char *tmp, const char *name, const char *csv, const char *json, sidr_dataset *ds,
                             task_enrichment *e)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", tmp, name);
    char *src = fix_dataset_dir();
    fix_sh("cp -r '%s' '%s'", src, dir);
    free(src);
    if (csv) {
        snprintf(path, sizeof path, "%s/index/Mini.integrated_narrative.csv", dir);
        fix_write(path, csv);
    }
    if (json) {
        snprintf(path, sizeof path, "%s/index/Mini.item_enhanced_v2.json", dir);
        fix_write(path, json);
    }
    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);
    o.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    sidr_status s = sidr_dataset_load(ds, dir, &o);
    if (s) return s;
    return task_enrichment_load(e, ds);
}

static void enrichment(const char *tmp)
{
    sidr_dataset ds;
    task_enrichment e;
    /* valid rows: 0 U1 [0,5,8]->1, 1 U1 [0,5,8,1]->2, 2 U2 [3,4,6]->7?, ... keyed by split+row */
    sidr_status s = load_copy(tmp, "byrow",
                              "split,row,user_id,item_id,reasoning_path,integrated_narrative\n"
                              "valid,0,U1,1,Reason for valid 0.,Narrative for valid 0.\n"
                              "valid,1,U1,2,\"Reason, with comma\nand newline.\",\n"
                              "valid,2,WRONG,7,Mismatched user.,\n"
                              "test,0,U1,3,Bad </think> reason.,Narrative for test 0.\n"
                              "train,99,U1,3,Out of range.,\n",
                              NULL, &ds, &e);
    if (tap_ok(s == SIDR_OK, "integrated_narrative.csv keyed by split+row loads (%s)", s ? sidr_last_error() : "ok")) {
        tap_ok(!strcmp(e.key, "split+row") && e.reasoning[SIDR_SPLIT_VALID] &&
                   !strcmp(e.reasoning[SIDR_SPLIT_VALID][0], "Reason for valid 0.") &&
                   !strcmp(e.reasoning[SIDR_SPLIT_VALID][1], "Reason, with comma\nand newline.") &&
                   !strcmp(e.user_narrative[SIDR_SPLIT_VALID][0], "Narrative for valid 0."),
               "split+row: texts land on their rows (quoted CSV fields kept whole)");
        tap_ok(!e.reasoning[SIDR_SPLIT_VALID][2] && e.csv_unmatched == 2 && e.csv_refused == 1 &&
                   (!e.reasoning[SIDR_SPLIT_TEST] || !e.reasoning[SIDR_SPLIT_TEST][0]) &&
                   !strcmp(e.user_narrative[SIDR_SPLIT_TEST][0], "Narrative for test 0."),
               "split+row: a row whose user_id disagrees and an out-of-range row are unmatched; a reasoning with "
               "</think> is refused, its narrative kept (unmatched %d, refused %d)", e.csv_unmatched, e.csv_refused);
        task_text t;
        task_build(&t, TASK_REASONING, &ds, &e, SIDR_SPLIT_VALID, 0, -1, 0);
        tap_ok(!strcmp(t.response, "<think>\nReason for valid 0.\n</think>\n\n<a_1><b_2><c_4>"),
               "the Stage-2 answer uses reasoning_path when given");
        task_text_free(&t);
        task_build(&t, TASK_USER_NARRATIVE, &ds, &e, SIDR_SPLIT_VALID, 0, -1, 0);
        tap_ok(!strcmp(t.response, "Narrative for valid 0."), "task 7 uses integrated_narrative when given");
        task_text_free(&t);
        task_enrichment_free(&e, &ds);
        sidr_dataset_free(&ds);
    }

    /* user + target (item_id), no split: every split's matching rows; the
     * derived train rows too */
    s = load_copy(tmp, "byuser",
                  "user_id,item_id,reasoning_path\n"
                  "U1,5,Derived train reason.\n"
                  "U2,7,Test reason for U2.\n"
                  "U9,1,Unknown user.\n",
                  NULL, &ds, &e);
    if (tap_ok(s == SIDR_OK, "integrated_narrative.csv keyed by user+target loads")) {
        int tr0 = e.reasoning[SIDR_SPLIT_TRAIN] && e.reasoning[SIDR_SPLIT_TRAIN][0] &&
                  !strcmp(e.reasoning[SIDR_SPLIT_TRAIN][0], "Derived train reason.");
        int te = 0;
        for (int i = 0; i < ds.split[SIDR_SPLIT_TEST].n; i++)
            if (e.reasoning[SIDR_SPLIT_TEST] && e.reasoning[SIDR_SPLIT_TEST][i] &&
                !strcmp(e.reasoning[SIDR_SPLIT_TEST][i], "Test reason for U2."))
                te++;
        tap_ok(!strcmp(e.key, "user+target") && tr0 && te == 1 && e.csv_unmatched == 1,
               "user+target: matched in the derived train split and in test; unknown users unmatched");
        task_enrichment_free(&e, &ds);
        sidr_dataset_free(&ds);
    }

    /* user + target SID + history ids */
    s = load_copy(tmp, "byhist",
                  "user_id,history_item_id,item_sid,reasoning_path\n"
                  "U1,\"[0, 5, 8, 1]\",<a_2><b_10><c_0>,Long history.\n"
                  "U1,\"[0, 5]\",<a_2><b_10><c_0>,Wrong history.\n",
                  NULL, &ds, &e);
    if (tap_ok(s == SIDR_OK, "integrated_narrative.csv keyed by user+target SID+history loads")) {
        tap_ok(!strcmp(e.key, "user+target+history") && e.reasoning[SIDR_SPLIT_VALID] &&
                   e.reasoning[SIDR_SPLIT_VALID][1] && !strcmp(e.reasoning[SIDR_SPLIT_VALID][1], "Long history.") &&
                   e.csv_unmatched == 1 && e.n_reasoning == 1,
               "user+target+history: only the row with that history matches");
        task_enrichment_free(&e, &ds);
        sidr_dataset_free(&ds);
    }

    s = load_copy(tmp, "nokey", "reasoning_path\nNo key.\n", NULL, &ds, &e);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), "integrated_narrative.csv") && strstr(sidr_last_error(), "user_id"),
           "a CSV without key columns is refused naming the file and the columns: %s", sidr_last_error());
    sidr_dataset_free(&ds);
    s = load_copy(tmp, "nocol", "user_id,item_id,text\nU1,5,x\n", NULL, &ds, &e);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), "reasoning_path"), "a CSV without text columns is refused");
    sidr_dataset_free(&ds);
    s = load_copy(tmp, "badrow", "split,row,reasoning_path\nvalid,x,Text\n", NULL, &ds, &e);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), ":2:") && strstr(sidr_last_error(), "'row'"),
           "a bad row number names the line and field: %s", sidr_last_error());
    sidr_dataset_free(&ds);

    s = load_copy(tmp, "items", NULL,
                  "{\"0\": {\"llm_stage2\": \"<a_1><b_2><c_3> bonds in seconds.\"}, \"5\": {\"other\": 1}, \"77\": "
                  "{\"llm_stage2\": \"unknown item\"}}",
                  &ds, &e);
    if (tap_ok(s == SIDR_OK, "item_enhanced_v2.json loads")) {
        task_text t;
        task_build(&t, TASK_ITEM_NARRATIVE, &ds, &e, SIDR_SPLIT_TRAIN, -1, 0, 0);
        tap_ok(e.n_item_narratives == 1 && !strcmp(t.response, "<a_1><b_2><c_3> bonds in seconds."),
               "task 6 uses llm_stage2 when given (unknown items ignored)");
        task_text_free(&t);
        task_enrichment_free(&e, &ds);
        sidr_dataset_free(&ds);
    }
    s = load_copy(tmp, "items2", NULL, "[1, 2]", &ds, &e);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), "item_enhanced_v2.json"), "a malformed item_enhanced_v2.json is refused");
    sidr_dataset_free(&ds);
}

/* ---- general data (task 8) ---------------------------------------------------------------------- */

static void general(const char *tmp, task_general *g)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/general.jsonl", tmp);
    fix_write(path,
              "{\"messages\": [{\"role\": \"user\", \"content\": \"What is 2+2?\"}, {\"role\": \"assistant\", \"content\": \"4\"}]}\n"
              "\n"
              "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}, "
              "{\"role\": \"assistant\", \"content\": \"Hello.\"}, {\"role\": \"user\", \"content\": \"Name a colour.\"}, "
              "{\"role\": \"assistant\", \"content\": \"Blue.\"}]}\n"
              "{\"messages\": [{\"role\": \"user\", \"content\": \"no answer\"}]}\n");
    sidr_status s = task_general_load(g, path);
    tap_ok(s == SIDR_OK && g->n == 2 && g->skipped == 1, "general JSONL: 2 conversations, 1 without a final answer skipped");
    snprintf(path, sizeof path, "%s/bad.jsonl", tmp);
    fix_write(path, "{\"messages\": []}\n{\"messages\": [\n");
    task_general bad;
    s = task_general_load(&bad, path);
    tap_ok(s == SIDR_ERR_FORMAT && strstr(sidr_last_error(), "bad.jsonl:2:"), "malformed JSON names the line: %s", sidr_last_error());
}

static void general_multi_turn(const sidr_tokenizer *tok, const task_general *g)
{
    if (g->n < 2) return;
    task_text t;
    task_general_get(g, 1, &t);
    task_tokens tk;
    task_tokenize(&t, tok, &tk);
    char *mid = dec(tok, tk.ids + tk.lo, tk.hi - tk.lo), *all = dec(tok, tk.ids, tk.n);
    check_str(mid, "Blue.", "general multi-turn: loss on the last answer only");
    check_str(all,
              "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n"
              "<|im_start|>user\nName a colour.<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nBlue.<|im_end|>\n",
              "general multi-turn: earlier answers without a think block, the last with the empty one");
    free(mid);
    free(all);
    task_tokens_free(&tk);
    task_text_free(&t);
}

int main(void)
{
    char *dir = fix_dataset_dir();
    sidr_dataset ds;
    sidr_dataset_opts o;
    sidr_dataset_opts_default(&o);
    o.derive_train = SIDR_DERIVE_TRAIN_PERIOD;
    if (sidr_dataset_load(&ds, dir, &o)) {
        tap_ok(0, "fixture dataset loads: %s", sidr_last_error());
        return tap_done();
    }
    sidr_tokenizer *tok = fix_chat_tokenizer(&ds);
    if (!tap_ok(tok != NULL, "tiny tokenizer with ChatML and SID tokens")) return tap_done();
    char *tmp = fix_tempdir("tasks");
    task_general g;
    memset(&g, 0, sizeof g);
    general(tmp, &g);
    exact_texts(&ds, tok);
    all_masks(&ds, tok, &g, 0);
    general_multi_turn(tok, &g);
    rule_reasoning(&ds);
    enrichment(tmp);

    sidr_tokenizer *q = fix_qwen_tokenizer(&ds);
    if (q) {
        all_masks(&ds, q, &g, 1);
        task_text t;
        task_build(&t, TASK_SID_TO_SID, &ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, 0);
        task_tokens tk;
        task_tokenize(&t, q, &tk);
        tap_ok(tk.ids[tk.lo - 1] == 271 && tk.ids[tk.lo - 2] == 151668 && tk.ids[tk.hi] == 151645 && tk.ids[tk.hi + 1] == 198 &&
                   tk.n == tk.hi + 2,
               "Qwen3 ids: </think> (151668) \"\\n\\n\" (271) | SID | <|im_end|> (151645) \"\\n\" (198)");
        task_tokens_free(&tk);
        task_text_free(&t);
        task_build(&t, TASK_REASONING, &ds, NULL, SIDR_SPLIT_TRAIN, 0, -1, 0);
        task_tokenize(&t, q, &tk);
        tap_ok(tk.ids[tk.lo] == 151667 && tk.ids[tk.lo - 1] == 198 && tk.ids[tk.n - 2] == 151645,
               "Qwen3 ids: reasoning loss starts at <think> (151667) after \"assistant\\n\" and ends with <|im_end|> \\n");
        task_tokens_free(&tk);
        task_text_free(&t);
        sidr_tokenizer_free(q);
    } else {
        tap_skip("the Qwen3 tokenizer is not in %s/tokenizers/qwen3 (../shared absent)", tap_shared());
    }

    task_general_free(&g);
    fix_sh("rm -rf '%s'", tmp);
    free(tmp);
    sidr_tokenizer_free(tok);
    sidr_dataset_free(&ds);
    free(dir);
    return tap_done();
}
