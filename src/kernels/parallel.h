/* parallel.h: a fork-join parallel-for over a small thread pool.
 * Natively (gcc build) it runs on pthreads; in the wasm module, which is
 * single-threaded, it runs the loop on the calling thread. Work is split
 * into fixed contiguous chunks, so for a given thread count the result is
 * deterministic; different counts differ only in float rounding. */
#ifndef FM_PARALLEL_H
#define FM_PARALLEL_H

#define FM_MAX_THREADS 64

/* Sets the number of threads (1 = serial). Call before creating networks:
 * layers size their per-thread scratch when they are first used. */
int fm_set_threads(int n);
int fm_threads(void);

/* Calls fn(ctx, begin, end, tid) for tid in [0, T) on a contiguous chunk of
 * [0, n); returns when all are done. T = min(threads, max_tasks, n). */
void fm_parallel_for(int n, int max_tasks, void (*fn)(void *ctx, int begin, int end, int tid),
                     void *ctx);

#endif
