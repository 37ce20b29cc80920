#ifndef SIDR_BENCH_BEAM_H
#define SIDR_BENCH_BEAM_H

#include "transformer.h"

/* Median seconds of a B-beam SID search and of 5 plain batched decode steps
 * of B sequences after the same prompt; 0 on success. */
int bench_beam(sidr_model *m, int prompt, int beams, int repeats, double *beam_s, double *plain_s);

#endif
