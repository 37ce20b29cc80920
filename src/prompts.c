#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "prompts.h"
#include "util.h"

char *prompt_join_sids(const char *const *sids, int n)
{
    size_t len = 1;
    for (int i = 0; i < n; i++) len += strlen(sids[i]) + 2;
    char *out = xmalloc(len), *p = out;
    for (int i = 0; i < n; i++) {
        if (i) { memcpy(p, ", ", 2); p += 2; }
        size_t l = strlen(sids[i]);
        memcpy(p, sids[i], l);
        p += l;
    }
    *p = 0;
    return out;
}

static char *concat3(const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
    char *out = xmalloc(la + lb + lc + 1);
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    memcpy(out + la + lb, c, lc + 1);
    return out;
}

static char *render(const char *system, const char *user, const char *tail)
{
    sidr_chat_msg msgs[2] = { { "system", system }, { "user", user } };
    char *chat = sidr_chat_render(msgs, 2, SIDR_CHAT_GENERATION_PROMPT);
    char *out = concat3(chat, tail, "");
    free(chat);
    return out;
}

char *prompt_reasoning(const char *h)
{
    char *user = concat3("The user has sequentially interacted with items ", h,
                         ". Can you recommend the next item for him? Let's think step by step before making "
                         "recommendation. Directly output the item SID after thinking.");
    char *out = render(SIDR_PREAMBLE "\nCan you recommend the next item for the user based on their interaction history?\n",
                       user, "");
    free(user);
    return out;
}

char *prompt_direct(const char *h)
{
    char *user = concat3("Can you predict the next possible item the user may expect, given the following "
                         "chronological interaction history: ", h, "");
    char *out = render(SIDR_PREAMBLE " \nCan you predict the next possible item that the user may expect?\n", user,
                       SIDR_EMPTY_THINK);
    free(user);
    return out;
}

size_t reasoning_cut(const char *text, size_t len)
{
    const char *close = "</think>";
    size_t n = len;
    for (size_t i = 0; i + 8 <= len; i++)
        if (!memcmp(text + i, close, 8)) { n = i; break; }
    while (n > 0 && (text[n - 1] == ' ' || text[n - 1] == '\n' || text[n - 1] == '\t' || text[n - 1] == '\r')) n--;
    return n;
}
