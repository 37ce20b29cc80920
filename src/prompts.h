/* The prompts of SIDReasoner (SPEC §1.2–§1.5), rendered with the Qwen3 chat
 * format.  The strings are the paper's, byte for byte. */
#ifndef SIDR_PROMPTS_H
#define SIDR_PROMPTS_H

#define SIDR_PREAMBLE "Below is an instruction that describes a task, paired with an input that provides " \
                      "further context. Write a response that appropriately completes the request."

/* History SIDs joined by ", " (malloc'd). */
char *prompt_join_sids(const char *const *sids, int n);

/* Thinking mode (Stage-2 prompt, reused by RL): the chat up to and including
 * "<|im_start|>assistant\n"; the model writes "<think>\n..." itself. */
char *prompt_reasoning(const char *history_sids);
/* Non-thinking mode (the official evaluation prompt), ending with the empty
 * think block "<think>\n</think>\n\n" so the SID follows directly. */
char *prompt_direct(const char *history_sids);

/* The separator appended after a reasoning trace cut at its first "</think>". */
#define SIDR_THINK_CLOSE "\n</think>\n\n"
#define SIDR_EMPTY_THINK "<think>\n</think>\n\n"

/* Cuts generated reasoning at the first "</think>" (exclusive) and strips
 * trailing white space; returns the kept length. */
size_t reasoning_cut(const char *text, size_t len);

#endif
