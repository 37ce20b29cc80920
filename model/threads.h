/* One pool of worker threads for all of sidr's parallel work.  OpenMP's
 * spinning workers and OpenBLAS's own threads fought over the cores (with 2
 * cores, a decode step ran 4x slower); here there is exactly one thread per
 * core, workers spin briefly and then sleep, and BLAS runs single-threaded
 * inside the pool's tasks. */
#ifndef SIDR_THREADS_H
#define SIDR_THREADS_H

/* fn(ctx, begin, end, thread) handles items [begin, end); thread is 0..n-1. */
typedef void (*sidr_range_fn)(void *ctx, int begin, int end, int thread);

/* Splits [0, n) into one contiguous range per thread (the caller takes one)
 * and returns when all are done.  Nested calls run serially. */
void sidr_parallel_for(int n, sidr_range_fn fn, void *ctx);

/* The same, except that the threads claim ranges of grain items as they
 * finish the last one, so a core that is interrupted (another process, a
 * shared host) takes fewer: for items of equal cost whose results do not
 * depend on the thread that runs them. */
void sidr_parallel_claim(int n, int grain, sidr_range_fn fn, void *ctx);

/* Threads in the pool (including the caller); from SIDR_THREADS, else
 * OMP_NUM_THREADS, else the cores this process may run on. */
int sidr_threads_count(void);
/* Sets the count before first use (0 = default).  A child forked after the
 * pool started gets a fresh, unstarted pool. */
void sidr_threads_set(int n);

#endif
