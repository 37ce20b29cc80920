/* Grounding of a reasoning trace: the SIDs it cites, and whether they are
 * catalogue SIDs, SIDs of the user's own history, and the final top-1.
 * A mention is a maximal run of adjacent SID tokens of consecutive levels
 * ("<a_3><b_7><c_1>"; a run that stops early or starts past level a is a
 * mention too, and never a catalogue SID). */
#ifndef SIDR_GROUNDING_H
#define SIDR_GROUNDING_H

#include "dataset.h"
#include "metrics.h"

/* Calls fn for every mention of text (its bytes and length) and returns
 * the count; fn may be NULL. */
int grounding_mentions(const char *text, void (*fn)(const char *sid, size_t len, void *ctx), void *ctx);

/* Measures one trace against the dataset's catalogue, the history's SID
 * strings and the top-1 SID (NULL when the beam found none). */
void grounding_measure(const char *text, const sidr_dataset *ds, const char *const *history, int n_history,
                       const char *top1, metrics_grounding *g);

#endif
