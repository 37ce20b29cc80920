#ifndef SIDR_BENCH_TRAIN_H
#define SIDR_BENCH_TRAIN_H

#include "status.h"

/* Median training tokens/s of full steps on B x T random tokens of the model
 * in dir, and the process's peak resident memory in MB. */
sidr_status bench_train(const char *dir, int B, int T, int repeats, double *tok_s, double *peak_mb);

#endif
