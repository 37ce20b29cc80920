#include "tasks.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "csv.h"
#include "grounding.h"
#include "prompts.h"
#include "util.h"

static const char *const names[TASK_COUNT] = {
    [TASK_SID_TO_SID] = "sid-history-to-sid",   [TASK_TITLE_TO_SID_ITEM] = "title-sid-identification",
    [TASK_SID_TO_TITLE] = "sid-history-to-title", [TASK_TITLES_TO_TITLE] = "title-history-to-title",
    [TASK_TITLES_TO_SID] = "title-history-to-sid", [TASK_ITEM_NARRATIVE] = "item-narrative",
    [TASK_USER_NARRATIVE] = "user-narrative",     [TASK_GENERAL] = "general",
    [TASK_REASONING] = "reasoning",
};

const char *task_name(task_kind k)
{
    return k > 0 && k < TASK_COUNT ? names[k] : "?";
}

void task_text_free(task_text *t)
{
    free(t->system);
    free(t->user);
    free(t->response);
    for (int i = 0; i < t->n_msgs; i++) {
        free(t->roles[i]);
        free(t->contents[i]);
    }
    free(t->roles);
    free(t->contents);
    memset(t, 0, sizeof *t);
}

/* ---- a growing string ------------------------------------------------------- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) return;
    if (b->n + (size_t)need + 1 > b->cap) {
        b->cap = (b->n + (size_t)need + 1) * 2 + 64;
        b->s = xrealloc(b->s, b->cap);
    }
    va_start(ap, fmt);
    vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)need;
}

static char *sb_take(sbuf *b)
{
    if (!b->s) return xstrdup("");
    return b->s;
}

/* ---- builders --------------------------------------------------------------- */

static const sidr_item *item(const sidr_dataset *ds, int i) { return &ds->items[i]; }

static int history_has_sids(const sidr_dataset *ds, const sidr_sample *r)
{
    for (int i = 0; i < r->n_hist; i++)
        if (!item(ds, r->hist[i])->sid) return 0;
    return r->n_hist > 0;
}

static char *sid_history(const sidr_dataset *ds, const sidr_sample *r)
{
    const char *sids[SIDR_MAX_HISTORY];
    for (int i = 0; i < r->n_hist; i++) sids[i] = item(ds, r->hist[i])->sid ? item(ds, r->hist[i])->sid : "";
    return prompt_join_sids(sids, r->n_hist);
}

static char *title_history(const sidr_dataset *ds, const sidr_sample *r)
{
    sbuf b = { 0 };
    for (int i = 0; i < r->n_hist; i++) sb_add(&b, "%s\"%s\"", i ? ", " : "", item(ds, r->hist[i])->title);
    return sb_take(&b);
}

/* The most frequent non-empty brand (or category) of a history, the first
 * such on ties. */
static const char *most_common(const sidr_dataset *ds, const sidr_sample *r, int brand, int *count)
{
    const char *best = NULL;
    *count = 0;
    for (int i = 0; i < r->n_hist; i++) {
        const char *v = brand ? item(ds, r->hist[i])->brand : item(ds, r->hist[i])->categories;
        if (!v || !*v) continue;
        int c = 0;
        for (int j = 0; j < r->n_hist; j++) {
            const char *w = brand ? item(ds, r->hist[j])->brand : item(ds, r->hist[j])->categories;
            if (w && !strcmp(v, w)) c++;
        }
        if (c > *count) { *count = c; best = v; }
    }
    return best;
}

/* The last segment of a category path ("A > B > C" or "A, B" -> "C" / "B"). */
static void leaf_category(const char *path, char *out, size_t cap)
{
    const char *p = path, *leaf = path;
    for (; *p; p++)
        if (*p == '>' || *p == ',' || *p == '|') leaf = p + 1;
    while (*leaf == ' ') leaf++;
    snprintf(out, cap, "%s", leaf);
    size_t n = strlen(out);
    while (n && (out[n - 1] == ' ' || out[n - 1] == ']' || out[n - 1] == '\'')) out[--n] = 0;
}

char *task_rule_reasoning(const sidr_dataset *ds, const sidr_sample *r)
{
    sbuf b = { 0 };
    int n = r->n_hist;
    if (n <= 0) return xstrdup("The user has no history, so I can only suggest a popular item.");
    const sidr_item *first = item(ds, r->hist[0]), *last = item(ds, r->hist[n - 1]);
    const char *fs = first->sid ? first->sid : "an unlisted item", *ls = last->sid ? last->sid : "an unlisted item";
    if (n == 1)
        sb_add(&b, "The user has interacted with one item so far, %s.", ls);
    else
        sb_add(&b, "The user has interacted with %d items, starting with %s and most recently %s.", n, fs, ls);
    int bc, cc;
    const char *brand = most_common(ds, r, 1, &bc), *cat = most_common(ds, r, 0, &cc);
    if (brand && bc > 1) {
        sb_add(&b, " %s appears %d times (", brand, bc);
        int k = 0;
        for (int i = 0; i < n; i++)
            if (item(ds, r->hist[i])->brand && !strcmp(item(ds, r->hist[i])->brand, brand) && item(ds, r->hist[i])->sid)
                sb_add(&b, "%s%s", k++ ? ", " : "", item(ds, r->hist[i])->sid);
        sb_add(&b, "), so I see some loyalty to that brand.");
    } else if (last->brand && *last->brand) {
        sb_add(&b, " No brand repeats; the latest, %s, is from %s.", ls, last->brand);
    }
    if (cat && cc > 1) {
        char leaf[128];
        leaf_category(cat, leaf, sizeof leaf);
        if (*leaf) sb_add(&b, " Most of these are %s products, which suggests an ongoing need in that area.", leaf);
    }
    if (n >= 2) {
        const sidr_item *prev = item(ds, r->hist[n - 2]);
        sb_add(&b, " The two most recent items, %s and %s, show where the interest is heading now.",
               prev->sid ? prev->sid : "an unlisted item", ls);
    }
    sb_add(&b, " I would recommend an item that complements %s%s%s.", ls, brand && bc > 1 ? ", preferably from " : "",
           brand && bc > 1 ? brand : "");
    return sb_take(&b);
}

/* Descriptions in the MiniOneRec item.json are often a Python list literal
 * ("['Bonds in seconds.', 'Pack of 12.']"); the loader keeps them as text.
 * The first sentence (or 300 bytes), without list brackets and quotes. */
static void first_sentence(const char *d, sbuf *b)
{
    while (*d == '[' || *d == '\'' || *d == '"' || *d == ' ') d++;
    size_t len = strlen(d), cut = len < 300 ? len : 300;
    for (size_t i = 0; i < cut; i++)
        if (d[i] == '.' || d[i] == '!' || d[i] == '?') { cut = i + 1; break; }
    /* do not cut a UTF-8 sequence */
    while (cut < len && ((unsigned char)d[cut] & 0xC0) == 0x80) cut++;
    while (cut && (d[cut - 1] == '\'' || d[cut - 1] == '"' || d[cut - 1] == ']' || d[cut - 1] == ' ' || d[cut - 1] == ','))
        cut--;
    if (cut) sb_add(b, " %.*s", (int)cut, d);
}

static char *rule_item_narrative(const sidr_item *it)
{
    sbuf b = { 0 };
    sb_add(&b, "%s is %s.", it->sid, it->title);
    if (it->brand && *it->brand) sb_add(&b, " %s is made by %s.", it->sid, it->brand);
    if (it->categories && *it->categories) {
        char leaf[128];
        leaf_category(it->categories, leaf, sizeof leaf);
        if (*leaf) sb_add(&b, " %s belongs to %s.", it->sid, leaf);
    }
    if (it->description && *it->description) first_sentence(it->description, &b);
    return sb_take(&b);
}

static char *rule_user_narrative(const sidr_dataset *ds, const sidr_sample *r)
{
    char *h = sid_history(ds, r), *why = task_rule_reasoning(ds, r);
    sbuf b = { 0 };
    sb_add(&b, "The user interacted with %s in that order. %s Next, the user chose %s.", h, why, item(ds, r->target)->sid);
    free(h);
    free(why);
    return sb_take(&b);
}

static void chat(task_text *t, task_kind k, const char *system, char *user, char *response)
{
    t->kind = k;
    t->chat = 1;
    t->system = xstrdup(system);
    t->user = user;
    t->response = response;
}

static char *cat3(const char *a, const char *b, const char *c)
{
    sbuf s = { 0 };
    sb_add(&s, "%s%s%s", a, b, c);
    return sb_take(&s);
}

/* The dataset's category as words: "Industrial_and_Scientific" -> "Industrial and Scientific". */
static char *category_words(const sidr_dataset *ds)
{
    char *c = xstrdup(ds->name ? ds->name : "");
    for (char *p = c; *p; p++)
        if (*p == '_') *p = ' ';
    return c;
}

typedef struct {
    const char *text;
    sbuf out;
    size_t done;
} words_job;

static void word_mention(const char *sid, size_t len, void *ctx)
{
    words_job *w = ctx;
    size_t at = (size_t)(sid - w->text);
    sb_add(&w->out, "%.*san item", (int)(at - w->done), w->text + w->done);
    w->done = at + len;
}

/* text with every SID mention replaced by "an item" */
static char *without_sids(const char *text)
{
    words_job w = { text, { 0 }, 0 };
    grounding_mentions(text, word_mention, &w);
    sb_add(&w.out, "%s", text + w.done);
    return sb_take(&w.out);
}

int task_build(task_text *out, task_kind kind, const sidr_dataset *ds, const task_enrichment *e,
               sidr_split_id split, int row, int it, uint64_t variant)
{
    memset(out, 0, sizeof *out);
    const sidr_sample *r = NULL;
    const sidr_item *tg = NULL;
    int row_task = kind == TASK_SID_TO_SID || kind == TASK_SID_TO_TITLE || kind == TASK_TITLES_TO_TITLE ||
                   kind == TASK_TITLES_TO_SID || kind == TASK_USER_NARRATIVE || kind == TASK_REASONING;
    if (row_task) {
        if (!(r = sidr_dataset_row(ds, split, row)) || r->n_hist < 1) return -1;
        tg = item(ds, r->target);
        if (kind != TASK_TITLES_TO_TITLE && (!tg->sid || !history_has_sids(ds, r))) return -1;
    } else if (kind == TASK_TITLE_TO_SID_ITEM || kind == TASK_ITEM_NARRATIVE) {
        if (it < 0 || it >= ds->n_items || !item(ds, it)->sid) return -1;
    } else {
        return -1;
    }
    switch (kind) {
    case TASK_SID_TO_SID: {
        char *h = sid_history(ds, r);
        chat(out, kind, SIDR_PREAMBLE " Can you predict the next possible item that the user may expect?",
             cat3("The user has interacted with items ", h,
                  " in chronological order. Can you predict the next possible item that the user may expect?"),
             xstrdup(tg->sid));
        free(h);
        break;
    }
    case TASK_TITLE_TO_SID_ITEM: {
        const sidr_item *x = item(ds, it);
        if (!*x->title) return -1;
        if (variant & 1)
            chat(out, kind, SIDR_PREAMBLE " \nAnswer the question about item identification.\n",
                 cat3("What is the title of item \"", x->sid, "\"?"), xstrdup(x->title));
        else
            chat(out, kind, SIDR_PREAMBLE " \nAnswer the question about item identification.\n",
                 cat3("Which item has the title: ", x->title, "?"), xstrdup(x->sid));
        break;
    }
    case TASK_SID_TO_TITLE: {
        if (!*tg->title) return -1;
        char *h = sid_history(ds, r);
        chat(out, kind, SIDR_PREAMBLE "\nCan you recommend the next item for the user based on their interaction history?\n",
             cat3("The user has sequentially interacted with items ", h,
                  ". Can you recommend the next item for him? Tell me the title of the item?"),
             xstrdup(tg->title));
        free(h);
        break;
    }
    case TASK_TITLES_TO_TITLE: {
        static const char *const phr[3][2] = {
            { "Given the items the user bought, in order: ", ". What will the user buy next? Answer with the item title." },
            { "The user has purchased the following items in chronological order: ", ". Recommend the next item and tell me its title." },
            { "Here is a user's purchase history: ", ". Which item title comes next?" },
        };
        if (!*tg->title) return -1;
        char *h = title_history(ds, r);
        int p = (int)(variant % 3);
        chat(out, kind, SIDR_PREAMBLE "\nCan you recommend the next item for the user based on their interaction history?\n",
             cat3(phr[p][0], h, phr[p][1]), xstrdup(tg->title));
        free(h);
        break;
    }
    case TASK_TITLES_TO_SID: {
        char *h = title_history(ds, r), *cw = category_words(ds);
        sbuf u = { 0 };
        sb_add(&u, "The user has interacted with the following %s items in chronological order: %s. Can you predict the next "
                   "item the user may expect?", cw, h);
        chat(out, kind,
             SIDR_PREAMBLE " \nBased on the user's historical interaction with item titles, predict the semantic ID of the "
                           "next item they may expect.\n",
             sb_take(&u), xstrdup(tg->sid));
        free(h);
        free(cw);
        break;
    }
    case TASK_ITEM_NARRATIVE: {
        const char *given = e && e->item_narrative ? e->item_narrative[it] : NULL;
        out->kind = kind;
        out->response = given ? xstrdup(given) : rule_item_narrative(item(ds, it));
        break;
    }
    case TASK_USER_NARRATIVE: {
        const char *given = e && e->user_narrative[split] ? e->user_narrative[split][row] : NULL;
        out->kind = kind;
        out->response = given ? xstrdup(given) : rule_user_narrative(ds, r);
        break;
    }
    case TASK_REASONING: {
        const char *given = e && e->reasoning[split] ? e->reasoning[split][row] : NULL;
        char *h = sid_history(ds, r);
        char *why = given ? xstrdup(given) : task_rule_reasoning(ds, r);
        if ((variant & TASK_VARIANT_HIDDEN_HISTORY) && (variant & TASK_VARIANT_WORDS_ONLY)) {
            char *w = without_sids(why);
            free(why);
            why = w;
        }
        out->kind = kind;
        out->chat = 1;
        out->system = xstrdup(SIDR_PREAMBLE "\nCan you recommend the next item for the user based on their interaction history?\n");
        out->user = cat3("The user has sequentially interacted with items ",
                         variant & TASK_VARIANT_HIDDEN_HISTORY ? "that are not shown" : h,
                         ". Can you recommend the next item for him? Let's think step by step before making "
                         "recommendation. Directly output the item SID after thinking.");
        sbuf resp = { 0 };
        sb_add(&resp, "<think>\n%s\n</think>\n\n%s", why, tg->sid);
        out->response = sb_take(&resp);
        free(h);
        free(why);
        break;
    }
    default:
        return -1;
    }
    return 0;
}

/* ---- rendering, tokens and loss masks --------------------------------------- */

#define IM_END_NL "<|im_end|>\n"

char *task_render(const task_text *t, char **prompt)
{
    if (prompt) *prompt = NULL;
    if (!t->chat) return xstrdup(t->response ? t->response : "");
    sidr_chat_msg stack[3], *m = stack;
    int n = 0;
    if (t->kind == TASK_GENERAL) {
        m = xmalloc((size_t)(t->n_msgs ? t->n_msgs : 1) * sizeof *m);
        for (int i = 0; i < t->n_msgs; i++) m[n++] = (sidr_chat_msg){ t->roles[i], t->contents[i] };
    } else {
        if (t->system) m[n++] = (sidr_chat_msg){ "system", t->system };
        m[n++] = (sidr_chat_msg){ "user", t->user ? t->user : "" };
        m[n++] = (sidr_chat_msg){ "assistant", t->response ? t->response : "" };
    }
    char *full = sidr_chat_render(m, n, 0);
    if (prompt && n > 0) {
        /* The inference prompt: with the empty think block when the answer
         * has none (Stage 1), else the bare assistant header (Stage 2). */
        char *p = sidr_chat_render(m, n - 1, SIDR_CHAT_GENERATION_PROMPT | SIDR_CHAT_NO_THINKING);
        if (strncmp(full, p, strlen(p)) != 0) {
            free(p);
            p = sidr_chat_render(m, n - 1, SIDR_CHAT_GENERATION_PROMPT);
        }
        *prompt = p;
    }
    if (m != stack) free(m);
    return full;
}

static sidr_status encode(const sidr_tokenizer *tok, const char *s, size_t n, int **ids, int *k)
{
    return sidr_tokenizer_encode(tok, s, n, ids, k);
}

sidr_status task_tokenize(const task_text *t, const sidr_tokenizer *tok, task_tokens *out)
{
    memset(out, 0, sizeof *out);
    char *prompt = NULL, *full = task_render(t, &prompt);
    sidr_status s = SIDR_OK;
    int *a = NULL, *b = NULL, *c = NULL, na = 0, nb = 0, nc = 0;
    if (!t->chat) {
        s = encode(tok, full, strlen(full), &a, &na);
        if (!s) {
            out->ids = a;
            out->n = na;
            out->lo = na > 1 ? 1 : na;
            out->hi = na;
            a = NULL;
        }
    } else {
        size_t pl = strlen(prompt), fl = strlen(full), el = strlen(IM_END_NL);
        if (fl < pl + el || memcmp(full, prompt, pl) || memcmp(full + fl - el, IM_END_NL, el)) {
            s = sidr_fail(SIDR_ERR_FORMAT, "task %s: the rendered chat does not start with its prompt and end with "
                          "<|im_end|>", task_name(t->kind));
        } else if (t->kind == TASK_REASONING) {
            /* loss from <think> to the end */
            if (!(s = encode(tok, prompt, pl, &a, &na))) s = encode(tok, full + pl, fl - pl, &b, &nb);
        } else {
            /* loss on the answer only, not on <|im_end|>\n */
            if (!(s = encode(tok, prompt, pl, &a, &na)) && !(s = encode(tok, full + pl, fl - pl - el, &b, &nb)))
                s = encode(tok, IM_END_NL, el, &c, &nc);
        }
        if (!s) {
            out->n = na + nb + nc;
            out->ids = xmalloc((size_t)(out->n ? out->n : 1) * sizeof(int));
            if (na) memcpy(out->ids, a, (size_t)na * sizeof(int));
            if (nb) memcpy(out->ids + na, b, (size_t)nb * sizeof(int));
            if (nc) memcpy(out->ids + na + nb, c, (size_t)nc * sizeof(int));
            out->n_prompt = na;
            out->lo = na > 0 ? na : (nb > 0 ? 1 : 0);
            out->hi = na + nb;
            if (out->hi < out->lo) out->hi = out->lo;
        }
    }
    if (!s) {
        out->weight = xcalloc((size_t)(out->n ? out->n : 1), sizeof(float));
        for (int i = out->lo; i < out->hi; i++) out->weight[i] = 1;
    }
    free(a);
    free(b);
    free(c);
    free(prompt);
    free(full);
    if (s) task_tokens_free(out);
    return s;
}

void task_tokens_free(task_tokens *t)
{
    free(t->ids);
    free(t->weight);
    memset(t, 0, sizeof *t);
}

/* ---- general instruction data (task 8) -------------------------------------- */

sidr_status task_general_load(task_general *g, const char *path)
{
    memset(g, 0, sizeof *g);
    char *text;
    size_t len;
    sidr_status s = read_file(path, &text, &len);
    if (s) return s;
    int line = 0, cap = 0;
    for (char *p = text; p < text + len && !s;) {
        char *end = memchr(p, '\n', (size_t)(text + len - p));
        size_t n = end ? (size_t)(end - p) : (size_t)(text + len - p);
        line++;
        char *next = end ? end + 1 : text + len;
        size_t k = n;
        while (k && isspace((unsigned char)p[k - 1])) k--;
        size_t b = 0;
        while (b < k && isspace((unsigned char)p[b])) b++;
        if (b == k) { p = next; continue; }
        cJSON *o = cJSON_ParseWithLength(p + b, k - b);
        const cJSON *msgs = o ? cJSON_GetObjectItemCaseSensitive(o, "messages") : NULL;
        if (!o) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: not valid JSON (expected {\"messages\": [...]})", path, line);
        } else if (!cJSON_IsArray(msgs)) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'messages': expected a list of {role, content}", path, line);
        } else {
            int nm = cJSON_GetArraySize(msgs), ok = nm > 0;
            const cJSON *m;
            cJSON_ArrayForEach(m, msgs) {
                const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role"), *c = cJSON_GetObjectItemCaseSensitive(m, "content");
                if (!cJSON_IsString(r) || !cJSON_IsString(c)) {
                    s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'messages': every message needs string 'role' and 'content'",
                                  path, line);
                    break;
                }
                if (strcmp(r->valuestring, "system") && strcmp(r->valuestring, "user") && strcmp(r->valuestring, "assistant"))
                    ok = 0;
                if (sidr_utf8_invalid_at(c->valuestring, strlen(c->valuestring)) != (size_t)-1) {
                    s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'content': not valid UTF-8", path, line);
                    break;
                }
            }
            if (!s && ok) {
                const cJSON *last = cJSON_GetArrayItem(msgs, nm - 1);
                ok = !strcmp(cJSON_GetObjectItemCaseSensitive(last, "role")->valuestring, "assistant");
            }
            if (!s && !ok) g->skipped++;
            if (!s && ok) {
                if (g->n == cap) g->v = xrealloc(g->v, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *g->v);
                task_text *t = &g->v[g->n++];
                memset(t, 0, sizeof *t);
                t->kind = TASK_GENERAL;
                t->chat = 1;
                t->n_msgs = nm;
                t->roles = xcalloc((size_t)nm, sizeof(char *));
                t->contents = xcalloc((size_t)nm, sizeof(char *));
                int i = 0;
                cJSON_ArrayForEach(m, msgs) {
                    t->roles[i] = xstrdup(cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring);
                    t->contents[i] = xstrdup(cJSON_GetObjectItemCaseSensitive(m, "content")->valuestring);
                    i++;
                }
            }
        }
        cJSON_Delete(o);
        p = next;
    }
    free(text);
    if (s) task_general_free(g);
    return s;
}

void task_general_free(task_general *g)
{
    for (int i = 0; i < g->n; i++) task_text_free(&g->v[i]);
    free(g->v);
    memset(g, 0, sizeof *g);
}

void task_general_get(const task_general *g, int i, task_text *out)
{
    const task_text *t = &g->v[i];
    memset(out, 0, sizeof *out);
    out->kind = TASK_GENERAL;
    out->chat = 1;
    out->n_msgs = t->n_msgs;
    out->roles = xcalloc((size_t)(t->n_msgs ? t->n_msgs : 1), sizeof(char *));
    out->contents = xcalloc((size_t)(t->n_msgs ? t->n_msgs : 1), sizeof(char *));
    for (int k = 0; k < t->n_msgs; k++) {
        out->roles[k] = xstrdup(t->roles[k]);
        out->contents[k] = xstrdup(t->contents[k]);
    }
}

/* ---- enrichment files ------------------------------------------------------- */

static sidr_status load_item_enhanced(task_enrichment *e, const sidr_dataset *ds, const char *path)
{
    char *text;
    sidr_status s = read_file(path, &text, NULL);
    if (s) return s;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return sidr_fail(SIDR_ERR_FORMAT, "%s: expected a JSON object keyed by item id", path);
    }
    e->item_narrative = xcalloc((size_t)(ds->n_items ? ds->n_items : 1), sizeof(char *));
    for (cJSON *it = root->child; it; it = it->next) {
        const cJSON *v = cJSON_IsObject(it) ? cJSON_GetObjectItemCaseSensitive(it, "llm_stage2") : NULL;
        if (v && !cJSON_IsString(v)) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s': field 'llm_stage2': expected a string", path, it->string);
            break;
        }
        int idx = sidr_dataset_item(ds, it->string);
        if (idx < 0 || !v || !*v->valuestring || !ds->items[idx].sid) continue;
        if (sidr_utf8_invalid_at(v->valuestring, strlen(v->valuestring)) != (size_t)-1) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s: item '%s': field 'llm_stage2': not valid UTF-8", path, it->string);
            break;
        }
        if (!e->item_narrative[idx]) e->n_item_narratives++;
        free(e->item_narrative[idx]);
        e->item_narrative[idx] = xstrdup(v->valuestring);
    }
    cJSON_Delete(root);
    return s;
}

/* A trimmed copy, NULL when empty. */
static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) s++, n--;
    while (n && isspace((unsigned char)s[n - 1])) n--;
    return n ? xstrndup(s, n) : NULL;
}

static int first_column(const sidr_csv *c, const char *const *names_, int n)
{
    for (int i = 0; i < n; i++) {
        int k = sidr_csv_column(c, names_[i]);
        if (k >= 0) return k;
    }
    return -1;
}

typedef struct {
    const sidr_dataset *ds;
    int *head[SIDR_SPLIT_COUNT];   /* per split: first row of each user, -1 */
    int *next[SIDR_SPLIT_COUNT];   /* per split: next row of the same user */
} user_rows;

static void user_rows_build(user_rows *u, const sidr_dataset *ds)
{
    memset(u, 0, sizeof *u);
    u->ds = ds;
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        const sidr_split *sp = &ds->split[s];
        u->head[s] = xmalloc((size_t)(ds->n_users ? ds->n_users : 1) * sizeof(int));
        u->next[s] = xmalloc((size_t)(sp->n ? sp->n : 1) * sizeof(int));
        for (int i = 0; i < ds->n_users; i++) u->head[s][i] = -1;
        for (int r = sp->n - 1; r >= 0; r--) {
            u->next[s][r] = u->head[s][sp->rows[r].user];
            u->head[s][sp->rows[r].user] = r;
        }
    }
}

static void user_rows_free(user_rows *u)
{
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        free(u->head[s]);
        free(u->next[s]);
    }
}

typedef struct {
    int c_reason, c_narr, c_split, c_row, c_user, c_item, c_sid, c_hist;
} narr_cols;

/* Does dataset row r match the CSV record's user / target / history columns
 * (those present)?  The history is compared on the dataset's window (the
 * last max_history ids). */
static int row_matches(const sidr_dataset *ds, const sidr_csv *c, const narr_cols *k, const sidr_sample *r)
{
    size_t n;
    const char *f;
    if (k->c_user >= 0) {
        f = sidr_csv_field(c, k->c_user, &n);
        const char *uid = ds->users[r->user].id;
        if (strlen(uid) != n || memcmp(uid, f, n)) return 0;
    }
    const sidr_item *tg = &ds->items[r->target];
    if (k->c_item >= 0) {
        f = sidr_csv_field(c, k->c_item, &n);
        if (strlen(tg->id) != n || memcmp(tg->id, f, n)) return 0;
    } else if (k->c_sid >= 0) {
        f = sidr_csv_field(c, k->c_sid, &n);
        if (!tg->sid || strlen(tg->sid) != n || memcmp(tg->sid, f, n)) return 0;
    }
    if (k->c_hist >= 0) {
        f = sidr_csv_field(c, k->c_hist, &n);
        sidr_pylist l;
        sidr_pylist_init(&l);
        char why[128];
        int ok = sidr_pylist_parse(&l, f, n, why, sizeof why) == SIDR_OK && l.n >= r->n_hist;
        for (int i = 0; ok && i < r->n_hist; i++) {
            const char *want = ds->items[r->hist[i]].id;
            int j = l.n - r->n_hist + i;
            ok = strlen(want) == l.lens[j] && !memcmp(want, l.items[j], l.lens[j]);
        }
        sidr_pylist_free(&l);
        if (!ok) return 0;
    }
    return 1;
}

static void assign(task_enrichment *e, const sidr_dataset *ds, int split, int row, const char *reason, const char *narr)
{
    int n = ds->split[split].n;
    if (reason) {
        if (!e->reasoning[split]) e->reasoning[split] = xcalloc((size_t)n, sizeof(char *));
        if (!e->reasoning[split][row]) e->n_reasoning++;
        free(e->reasoning[split][row]);
        e->reasoning[split][row] = xstrdup(reason);
    }
    if (narr) {
        if (!e->user_narrative[split]) e->user_narrative[split] = xcalloc((size_t)n, sizeof(char *));
        if (!e->user_narrative[split][row]) e->n_user_narratives++;
        free(e->user_narrative[split][row]);
        e->user_narrative[split][row] = xstrdup(narr);
    }
}

static sidr_status load_narratives(task_enrichment *e, const sidr_dataset *ds, const char *path)
{
    char *text;
    size_t len;
    sidr_status s = read_file(path, &text, &len);
    if (s) return s;
    sidr_csv c;
    sidr_csv_init(&c, path, text, len);
    if ((s = sidr_csv_read_header(&c))) {
        sidr_csv_free(&c);
        free(text);
        return s;
    }
    static const char *const row_names[] = { "row", "row_index", "index", "idx", "sample_index" };
    static const char *const item_names[] = { "item_id", "target_item_id", "target_id" };
    static const char *const sid_names[] = { "item_sid", "target_sid", "target_item_sid" };
    narr_cols k = {
        sidr_csv_column(&c, "reasoning_path"), sidr_csv_column(&c, "integrated_narrative"), sidr_csv_column(&c, "split"),
        first_column(&c, row_names, 5), sidr_csv_column(&c, "user_id"), first_column(&c, item_names, 3),
        first_column(&c, sid_names, 3), sidr_csv_column(&c, "history_item_id"),
    };
    int by_row = k.c_split >= 0 && k.c_row >= 0, by_user = k.c_user >= 0 && (k.c_item >= 0 || k.c_sid >= 0);
    if (k.c_reason < 0 && k.c_narr < 0)
        s = sidr_fail(SIDR_ERR_FORMAT, "%s:1: expected a column 'reasoning_path' or 'integrated_narrative'", path);
    else if (!by_row && !by_user)
        s = sidr_fail(SIDR_ERR_FORMAT, "%s:1: cannot match rows to samples: expected columns 'split' and 'row' (or "
                      "'row_index'), or 'user_id' and 'item_id' (or 'item_sid')", path);
    e->key = by_row ? "split+row" : k.c_hist >= 0 ? "user+target+history" : "user+target";
    user_rows ur;
    memset(&ur, 0, sizeof ur);
    if (!s && by_user) user_rows_build(&ur, ds);
    int got;
    while (!s && !(s = sidr_csv_next(&c, &got)) && got) {
        e->csv_rows++;
        if (c.n_fields != c.n_names) {
            s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: %d fields, expected %d (as the header)", path, c.record_line, c.n_fields,
                          c.n_names);
            break;
        }
        size_t n;
        const char *f;
        char *reason = NULL, *narr = NULL;
        if (k.c_reason >= 0) {
            f = sidr_csv_field(&c, k.c_reason, &n);
            reason = trimmed(f, n);
        }
        if (k.c_narr >= 0) {
            f = sidr_csv_field(&c, k.c_narr, &n);
            narr = trimmed(f, n);
        }
        if (reason && sidr_utf8_invalid_at(reason, strlen(reason)) != (size_t)-1)
            s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'reasoning_path': not valid UTF-8", path, c.record_line);
        else if (narr && sidr_utf8_invalid_at(narr, strlen(narr)) != (size_t)-1)
            s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'integrated_narrative': not valid UTF-8", path, c.record_line);
        if (s) { free(reason); free(narr); break; }
        if (reason && (strstr(reason, "<think>") || strstr(reason, "</think>"))) {
            e->csv_refused++;
            free(reason);
            reason = NULL;
        }
        if (!reason && !narr) continue; /* nothing to use */
        int matched = 0, want_split = -1;
        if (k.c_split >= 0) {
            f = sidr_csv_field(&c, k.c_split, &n);
            char name[16];
            snprintf(name, sizeof name, "%.*s", (int)(n < 15 ? n : 15), f);
            want_split = sidr_split_parse(name);
            if (want_split < 0) {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field 'split': expected train, valid or test, got '%s'", path,
                              c.record_line, name);
                free(reason);
                free(narr);
                break;
            }
        }
        if (by_row) {
            f = sidr_csv_field(&c, k.c_row, &n);
            char *end;
            long row = strtol(f, &end, 10);
            if (n == 0 || end != f + n || row < 0) {
                s = sidr_fail(SIDR_ERR_FORMAT, "%s:%d: field '%s': expected a row number >= 0, got '%.*s'", path,
                              c.record_line, c.names[k.c_row], (int)(n < 40 ? n : 40), f);
                free(reason);
                free(narr);
                break;
            }
            const sidr_sample *r = sidr_dataset_row(ds, want_split, (int)row);
            if (r && row_matches(ds, &c, &k, r)) {
                assign(e, ds, want_split, (int)row, reason, narr);
                matched = 1;
            }
        }
        if (!matched && by_user) {
            f = sidr_csv_field(&c, k.c_user, &n);
            char *uid = xstrndup(f, n);
            int u = sidr_dataset_user(ds, uid);
            free(uid);
            for (int sp = 0; u >= 0 && sp < SIDR_SPLIT_COUNT; sp++) {
                if (want_split >= 0 && sp != want_split) continue;
                for (int r = ur.head[sp][u]; r >= 0; r = ur.next[sp][r])
                    if (row_matches(ds, &c, &k, &ds->split[sp].rows[r])) {
                        assign(e, ds, sp, r, reason, narr);
                        matched = 1;
                    }
            }
        }
        if (!matched) e->csv_unmatched++;
        free(reason);
        free(narr);
    }
    if (by_user) user_rows_free(&ur);
    sidr_csv_free(&c);
    free(text);
    return s;
}

static int contains_sid(const char *text, const char *sid)
{
    return sid && strstr(text, sid) != NULL;
}

sidr_status task_enrichment_load(task_enrichment *e, const sidr_dataset *ds)
{
    memset(e, 0, sizeof *e);
    if (!ds->name || !ds->dir) return SIDR_OK;
    char name[512];
    sidr_status s = SIDR_OK;
    snprintf(name, sizeof name, "index/%s.item_enhanced_v2.json", ds->name);
    char *path = path_join(ds->dir, name);
    if (file_exists(path)) {
        e->item_path = path;
        s = load_item_enhanced(e, ds, path);
    } else {
        free(path);
    }
    snprintf(name, sizeof name, "index/%s.integrated_narrative.csv", ds->name);
    path = path_join(ds->dir, name);
    if (!s && file_exists(path)) {
        e->narrative_path = path;
        s = load_narratives(e, ds, path);
    } else {
        free(path);
    }
    if (s) {
        task_enrichment_free(e, ds);
        return s;
    }
    /* Reasoning that gives the answer away: the target SID appears while it
     * is not one of the history's SIDs. */
    for (int sp = 0; sp < SIDR_SPLIT_COUNT; sp++)
        for (int r = 0; e->reasoning[sp] && r < ds->split[sp].n; r++) {
            const char *t = e->reasoning[sp][r];
            const sidr_sample *row = &ds->split[sp].rows[r];
            const char *tsid = ds->items[row->target].sid;
            if (!t || !contains_sid(t, tsid)) continue;
            int in_hist = 0;
            for (int i = 0; i < row->n_hist; i++)
                if (ds->items[row->hist[i]].sid && !strcmp(ds->items[row->hist[i]].sid, tsid)) in_hist = 1;
            if (!in_hist) e->reasoning_names_target++;
        }
    return SIDR_OK;
}

void task_enrichment_free(task_enrichment *e, const sidr_dataset *ds)
{
    if (e->item_narrative)
        for (int i = 0; i < ds->n_items; i++) free(e->item_narrative[i]);
    free(e->item_narrative);
    for (int s = 0; s < SIDR_SPLIT_COUNT; s++) {
        for (int i = 0; e->reasoning[s] && i < ds->split[s].n; i++) free(e->reasoning[s][i]);
        for (int i = 0; e->user_narrative[s] && i < ds->split[s].n; i++) free(e->user_narrative[s][i]);
        free(e->reasoning[s]);
        free(e->user_narrative[s]);
    }
    free(e->item_path);
    free(e->narrative_path);
    memset(e, 0, sizeof *e);
}
