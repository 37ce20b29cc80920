/* Training a byte-level BPE vocabulary for models sidr trains from scratch,
 * written as a Hugging Face tokenizer.json that sidr and the Python
 * ecosystem both load: NFC, Qwen's pre-tokenizer regex, ByteLevel, and the
 * ChatML / think added tokens. */
#ifndef SIDR_BPE_TRAIN_H
#define SIDR_BPE_TRAIN_H

#include "status.h"

typedef struct {
    int vocab_size;             /* base 256 bytes + merges + added tokens */
    int min_frequency;          /* a pair must occur this often to merge (default 2) */
    const char *const *skip;    /* tokens split out of the corpus but not added (e.g. SID tokens) */
    int n_skip;
    /* progress: merges done of total; return non-zero to cancel */
    int (*progress)(void *user, int done, int total);
    void *user;
} sidr_bpe_opts;

/* Trains on n texts and returns the tokenizer.json text (malloc'd). */
sidr_status sidr_bpe_train(const char *const *texts, int n, const sidr_bpe_opts *o, char **json);

/* The added tokens every sidr tokenizer carries, Qwen's ids order:
 * <|endoftext|>, <|im_start|>, <|im_end|> (special), <think>, </think>. */
extern const char *const sidr_bpe_added[5];

#endif
