/* One self-contained SVG of an explanation: the history items with their
 * attention and occlusion bars, and the logit lens as a layer x step heat
 * strip (rank of the chosen token; darker = ranked higher). */
#ifndef SIDR_EXPLAIN_SVG_H
#define SIDR_EXPLAIN_SVG_H

#include "explain.h"

/* titles[i]: history item i's title; top_sid and target_sid for the caption. */
sidr_status explain_svg_write(const char *path, const explain_result *ex, const char *const *titles,
                              const char *caption);

#endif
