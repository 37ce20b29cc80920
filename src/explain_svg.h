/* One self-contained SVG of an explanation: the history items with their
 * attention and occlusion bars, and the logit lens as a layer x step heat
 * strip (rank of the chosen token; darker = ranked higher). */
#ifndef SIDR_EXPLAIN_SVG_H
#define SIDR_EXPLAIN_SVG_H

#include "explain.h"

/* titles[i]: history item i's title; top_sid and target_sid for the caption. */
sidr_status explain_svg_write(const char *path, const explain_result *ex, const char *const *titles,
                              const char *caption);

/* The SVG of one dataset row's explanation, titled and captioned from the
 * session (what `sidr explain --svg` and the explorer's :export write). */
sidr_status explain_svg_write_row(const char *path, const explain_result *ex, const session *ss, sidr_split_id split,
                                  int row);

#endif
