#include "grounding.h"

#include <string.h>

/* Length of the SID token "<L_N>" of the given level letter at s, else 0. */
static size_t sid_token_at(const char *s, char level)
{
    if (s[0] != '<' || s[1] != level || s[2] != '_' || s[3] < '0' || s[3] > '9') return 0;
    size_t i = 3;
    while (s[i] >= '0' && s[i] <= '9' && i < 12) i++;
    return s[i] == '>' ? i + 1 : 0;
}

int grounding_mentions(const char *text, void (*fn)(const char *sid, size_t len, void *ctx), void *ctx)
{
    int n = 0;
    if (!text) return 0;
    for (const char *p = text; *p;) {
        size_t k = 0;
        char level = 0;
        if (p[0] == '<' && p[1] >= 'a' && p[1] <= 'z') {
            level = p[1];
            k = sid_token_at(p, level);
        }
        if (!k) {
            p++;
            continue;
        }
        size_t len = k;
        while (level < 'z' && (k = sid_token_at(p + len, (char)(level + 1)))) {
            len += k;
            level++;
        }
        if (fn) fn(p, len, ctx);
        n++;
        p += len;
    }
    return n;
}

typedef struct {
    const sidr_dataset *ds;
    const char *const *history;
    int n_history;
    const char *top1;
    metrics_grounding *g;
} measure_ctx;

static int same(const char *sid, size_t len, const char *s)
{
    return s && strlen(s) == len && !memcmp(sid, s, len);
}

static void count_one(const char *sid, size_t len, void *vctx)
{
    measure_ctx *c = vctx;
    char buf[256];
    c->g->mentions++;
    if (len < sizeof buf) {
        memcpy(buf, sid, len);
        buf[len] = 0;
        if (sidr_dataset_sid(c->ds, buf)) c->g->catalogue++;
    }
    for (int h = 0; h < c->n_history; h++)
        if (same(sid, len, c->history[h])) {
            c->g->history++;
            break;
        }
    if (same(sid, len, c->top1)) c->g->top1 = 1;
}

void grounding_measure(const char *text, const sidr_dataset *ds, const char *const *history, int n_history,
                       const char *top1, metrics_grounding *g)
{
    memset(g, 0, sizeof *g);
    measure_ctx c = { ds, history, n_history, top1 && *top1 ? top1 : NULL, g };
    grounding_mentions(text, count_one, &c);
}
