/* Hugging Face tokenizer.json: byte-level BPE with merge ranks, the declared
 * normalizer (NFC) and pre-tokenizer (Split regex + ByteLevel), and added
 * tokens (special and not) that are split out before BPE. */
#ifndef SIDR_TOKENIZER_H
#define SIDR_TOKENIZER_H

#include <stddef.h>

#include "status.h"

typedef struct sidr_tokenizer sidr_tokenizer;

/* Loads a tokenizer.json file. */
sidr_status sidr_tokenizer_load(sidr_tokenizer **out, const char *path);
/* The same from tokenizer.json text in memory; name is used in messages. */
sidr_status sidr_tokenizer_load_json(sidr_tokenizer **out, const char *json, size_t len,
                                     const char *name);
void sidr_tokenizer_free(sidr_tokenizer *t);

/* A tokenizer paired with a model: every id must lie inside the model's
 * vocab_size (tok_name and model_dir only name the files in the message). */
sidr_status sidr_tokenizer_check_model(const sidr_tokenizer *t, const char *tok_name, int model_vocab,
                                       const char *model_dir);

/* Adds tokens the way HF tokenizer.add_tokens([...]) does: non-special,
 * "normalized": true added tokens with ids from n_vocab upward, in the order
 * given; tokens already known are skipped.  For SIDs pass the distinct tokens
 * sorted by strcmp (Python's sorted(), what MiniOneRec does): <a_10> comes
 * after <a_109>.  *n_new (may be NULL) gets the number added.  Not
 * thread-safe with encode. */
sidr_status sidr_tokenizer_add_tokens(sidr_tokenizer *t, const char *const *tokens, int n,
                                      int *n_new);

/* One past the largest id (base vocabulary and added tokens). */
int sidr_tokenizer_n_vocab(const sidr_tokenizer *t);

/* Encodes len bytes of UTF-8 text; *ids is malloc'd, caller frees.
 * Text that is not valid UTF-8 is an error, never silent garbage.  Added
 * tokens in the text (<|im_start|>, <think>, <a_12>) become their ids; no
 * BOS/EOS is added.  Safe to call from several threads at once. */
sidr_status sidr_tokenizer_encode(const sidr_tokenizer *t, const char *text, size_t len,
                                  int **ids, int *n_ids);

/* Runs normalisation, the added-token split and the pre-tokenizer, and calls
 * fn with each piece BPE would see (in the byte-level alphabet when the
 * pre-tokenizer ends with ByteLevel).  For training a BPE vocabulary. */
typedef void (*sidr_piece_fn)(void *user, const char *piece, size_t len);
sidr_status sidr_tokenizer_pretokenize(const sidr_tokenizer *t, const char *text, size_t len, sidr_piece_fn fn,
                                       void *user);

/* The byte-level alphabet (GPT-2's byte to unicode map): the UTF-8 of the
 * character standing for byte (0..255) into out; returns its length. */
int sidr_byte_level_char(int byte, char out[4]);

/* Decodes ids back to the exact bytes (skip_special=0 keeps special tokens).
 * *text is malloc'd and NUL-terminated. */
sidr_status sidr_tokenizer_decode(const sidr_tokenizer *t, const int *ids, int n_ids,
                                  int skip_special, char **text, size_t *len);

/* The bytes of one token (for streaming; a token may end mid UTF-8 sequence).
 * Returns a pointer into the tokenizer, valid for its lifetime, or NULL for an
 * unknown id. */
const char *sidr_tokenizer_token_bytes(const sidr_tokenizer *t, int id, size_t *len);

/* Id of a token given its text form (an added token's content, or a base
 * vocabulary token's decoded bytes); -1 when there is none. */
int sidr_tokenizer_find(const sidr_tokenizer *t, const char *text);

/* 1 if id is an added token marked "special". */
int sidr_tokenizer_is_special(const sidr_tokenizer *t, int id);

/* Number of added tokens and access to them (in id order). */
int sidr_tokenizer_n_added(const sidr_tokenizer *t);
const char *sidr_tokenizer_added(const sidr_tokenizer *t, int i, int *id, int *special);

#endif
