/* Qwen ChatML rendering, byte-exact with the Qwen3 chat template for the
 * cases sidr uses: system/user/assistant turns, the generation prompt, and
 * the empty think block Qwen3 puts before a final assistant answer. */
#ifndef SIDR_CHAT_H
#define SIDR_CHAT_H

typedef struct {
    const char *role;    /* "system", "user" or "assistant" */
    const char *content;
} sidr_chat_msg;

enum {
    SIDR_CHAT_GENERATION_PROMPT = 1, /* end with "<|im_start|>assistant\n" */
    SIDR_CHAT_NO_THINKING = 2,       /* with the generation prompt: add "<think>\n\n</think>\n\n" */
};

/* Renders messages to a malloc'd NUL-terminated string. */
char *sidr_chat_render(const sidr_chat_msg *msgs, int n, int flags);

#endif
