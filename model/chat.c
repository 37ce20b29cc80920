/* Qwen3 ChatML rendering: a transcription of the chat_template in Qwen3's
 * tokenizer_config.json (without tools), checked byte for byte against
 * jinja2 renderings in tests/fixtures/tokenizer/chat_cases.json.
 *
 * The template's rules that matter here:
 *  - a first "system" message opens the prompt; later system messages are
 *    rendered like user turns;
 *  - the last user turn that is not a bare <tool_response> is "the query";
 *  - an assistant turn after the query gets a think block if it is the last
 *    message or has reasoning; other assistant turns show only the answer
 *    (reasoning that was inside <think>...</think> is dropped);
 *  - the generation prompt is "<|im_start|>assistant\n", plus an empty think
 *    block when thinking is disabled. */
#include "chat.h"

#include <stddef.h>
#include <string.h>

#include "util.h"

typedef struct {
    char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        b->cap = (b->n + n + 1) * 2;
        b->p = xrealloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void puts_(buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A view into a string, for Python's split/strip on content. */
typedef struct {
    const char *s;
    size_t n;
} view;

static view lstrip_nl(view v)
{
    while (v.n && v.s[0] == '\n') v.s++, v.n--;
    return v;
}

static view rstrip_nl(view v)
{
    while (v.n && v.s[v.n - 1] == '\n') v.n--;
    return v;
}

/* Last occurrence of needle in v, or NULL. */
static const char *find_last(view v, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = v.n >= k ? v.n - k + 1 : 0; i-- > 0;)
        if (!memcmp(v.s + i, needle, k)) return v.s + i;
    return NULL;
}

static const char *find_first(view v, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= v.n; i++)
        if (!memcmp(v.s + i, needle, k)) return v.s + i;
    return NULL;
}

static int starts_with(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

static int ends_with(const char *s, const char *p)
{
    size_t n = strlen(s), k = strlen(p);
    return n >= k && !memcmp(s + n - k, p, k);
}

static const char *text_of(const sidr_chat_msg *m)
{
    return m->content ? m->content : "";
}

static int role_is(const sidr_chat_msg *m, const char *r)
{
    return m->role && !strcmp(m->role, r);
}

char *sidr_chat_render(const sidr_chat_msg *msgs, int n, int flags)
{
    buf b = {0};
    put(&b, "", 0);
    if (n > 0 && role_is(&msgs[0], "system")) {
        puts_(&b, "<|im_start|>system\n");
        puts_(&b, text_of(&msgs[0]));
        puts_(&b, "<|im_end|>\n");
    }
    int last_query = n - 1;
    for (int i = n - 1; i >= 0; i--) {
        const char *c = text_of(&msgs[i]);
        if (role_is(&msgs[i], "user") && !(starts_with(c, "<tool_response>") && ends_with(c, "</tool_response>"))) {
            last_query = i;
            break;
        }
    }
    for (int i = 0; i < n; i++) {
        const sidr_chat_msg *m = &msgs[i];
        const char *c = text_of(m);
        if (role_is(m, "user") || (role_is(m, "system") && i > 0)) {
            puts_(&b, "<|im_start|>");
            puts_(&b, m->role);
            puts_(&b, "\n");
            puts_(&b, c);
            puts_(&b, "<|im_end|>\n");
        } else if (role_is(m, "assistant")) {
            view content = {c, strlen(c)}, reasoning = {"", 0};
            const char *close = find_last(content, "</think>");
            if (close) {
                /* content = after the last </think>; reasoning = before the
                 * first </think>, after the last <think> there */
                view whole = content;
                content = lstrip_nl((view){close + 8, (size_t)(whole.s + whole.n - close - 8)});
                const char *first = find_first(whole, "</think>");
                reasoning = rstrip_nl((view){whole.s, (size_t)(first - whole.s)});
                const char *open = find_last(reasoning, "<think>");
                if (open) reasoning = (view){open + 7, (size_t)(reasoning.s + reasoning.n - open - 7)};
                reasoning = lstrip_nl(reasoning);
            }
            puts_(&b, "<|im_start|>assistant\n");
            if (i > last_query && (i == n - 1 || reasoning.n)) {
                reasoning = rstrip_nl(lstrip_nl(reasoning));
                puts_(&b, "<think>\n");
                put(&b, reasoning.s, reasoning.n);
                puts_(&b, "\n</think>\n\n");
                content = lstrip_nl(content);
            }
            put(&b, content.s, content.n);
            puts_(&b, "<|im_end|>\n");
        } else if (role_is(m, "tool")) {
            if (i == 0 || !role_is(&msgs[i - 1], "tool")) puts_(&b, "<|im_start|>user");
            puts_(&b, "\n<tool_response>\n");
            puts_(&b, c);
            puts_(&b, "\n</tool_response>");
            if (i == n - 1 || !role_is(&msgs[i + 1], "tool")) puts_(&b, "<|im_end|>\n");
        }
        /* other roles render nothing, as in the template */
    }
    if (flags & SIDR_CHAT_GENERATION_PROMPT) {
        puts_(&b, "<|im_start|>assistant\n");
        if (flags & SIDR_CHAT_NO_THINKING) puts_(&b, "<think>\n\n</think>\n\n");
    }
    return b.p;
}
