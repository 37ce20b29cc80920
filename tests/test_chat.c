/* sidr_chat_render against the real Qwen3 chat template: every conversation
 * in tests/fixtures/tokenizer/chat_cases.json (rendered by jinja2 from
 * tokenizer_config.json by tests/ref/chat_reference.py) must come out byte
 * for byte.  The fixture is committed, so this runs without ../shared. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat.h"
#include "tap.h"
#include "util.h"

/* Shows where two renderings part, with newlines made visible. */
static void diag_diff(const char *got, const char *want)
{
    size_t i = 0;
    while (got[i] && got[i] == want[i]) i++;
    size_t from = i > 40 ? i - 40 : 0;
    char g[200], w[200];
    size_t o = 0;
    for (size_t k = from; got[k] && k < from + 90 && o < sizeof g - 3; k++) {
        if (got[k] == '\n') g[o++] = '\\', g[o++] = 'n';
        else g[o++] = got[k];
    }
    g[o] = 0;
    o = 0;
    for (size_t k = from; want[k] && k < from + 90 && o < sizeof w - 3; k++) {
        if (want[k] == '\n') w[o++] = '\\', w[o++] = 'n';
        else w[o++] = want[k];
    }
    w[o] = 0;
    tap_diag("first difference at byte %zu", i);
    tap_diag("got  ...%s", g);
    tap_diag("want ...%s", w);
}

static void test_fixture(void)
{
    char *path = path_join(tap_testdir(), "fixtures/tokenizer/chat_cases.json"), *text;
    size_t len;
    if (!tap_ok(read_file(path, &text, &len) == SIDR_OK, "read %s", path)) {
        free(path);
        return;
    }
    cJSON *doc = cJSON_ParseWithLength(text, len);
    free(text);
    free(path);
    const cJSON *cases = cJSON_GetObjectItem(doc, "cases"), *c;
    tap_ok(cJSON_GetArraySize(cases) >= 30, "chat_cases.json has %d conversations", cJSON_GetArraySize(cases));
    cJSON_ArrayForEach(c, cases) {
        const cJSON *msgs = cJSON_GetObjectItem(c, "messages"), *m;
        int n = cJSON_GetArraySize(msgs), i = 0;
        sidr_chat_msg *v = xcalloc((size_t)n + 1, sizeof *v);
        cJSON_ArrayForEach(m, msgs) {
            v[i].role = cJSON_GetObjectItem(m, "role")->valuestring;
            v[i].content = cJSON_GetObjectItem(m, "content")->valuestring;
            i++;
        }
        const char *want = cJSON_GetObjectItem(c, "expected")->valuestring;
        char *got = sidr_chat_render(v, n, cJSON_GetObjectItem(c, "flags")->valueint);
        if (!tap_ok(got && !strcmp(got, want), "%s", cJSON_GetObjectItem(c, "name")->valuestring) && got)
            diag_diff(got, want);
        free(got);
        free(v);
    }
    cJSON_Delete(doc);
}

/* SPEC 1.2 spelled out, independent of the fixture. */
static void test_spec_form(void)
{
    sidr_chat_msg m[] = {{"system", "S"}, {"user", "U"}, {"assistant", "R"}};
    char *s = sidr_chat_render(m, 3, 0);
    tap_ok(!strcmp(s, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                      "<|im_start|>assistant\n<think>\n\n</think>\n\nR<|im_end|>\n"),
           "SPEC 1.2: final answer carries the empty think block");
    free(s);
    s = sidr_chat_render(m, 2, SIDR_CHAT_GENERATION_PROMPT);
    tap_ok(!strcmp(s, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n<|im_start|>assistant\n"),
           "generation prompt");
    free(s);
    s = sidr_chat_render(m, 2, SIDR_CHAT_GENERATION_PROMPT | SIDR_CHAT_NO_THINKING);
    tap_ok(!strcmp(s, "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nU<|im_end|>\n"
                      "<|im_start|>assistant\n<think>\n\n</think>\n\n"),
           "generation prompt with thinking disabled");
    free(s);
    s = sidr_chat_render(NULL, 0, SIDR_CHAT_GENERATION_PROMPT);
    tap_ok(s && !strcmp(s, "<|im_start|>assistant\n"), "no messages: just the generation prompt");
    free(s);
    s = sidr_chat_render(NULL, 0, 0);
    tap_ok(s && !strcmp(s, ""), "no messages, no prompt: empty string");
    free(s);
    sidr_chat_msg nul[] = {{"user", NULL}};
    s = sidr_chat_render(nul, 1, 0);
    tap_ok(s && !strcmp(s, "<|im_start|>user\n<|im_end|>\n"), "NULL content renders as empty");
    free(s);
}

int main(void)
{
    test_spec_form();
    test_fixture();
    return tap_done();
}
