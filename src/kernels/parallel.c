/* parallel.c: see parallel.h. One generation counter wakes the workers for
 * each job; the caller works as thread 0 and waits for the others. */
#include "parallel.h"

#include "../common.h"

static int g_threads = 1;

int fm_threads(void) { return g_threads; }

#if defined(__EMSCRIPTEN__) || defined(FM_NO_THREADS)

int fm_set_threads(int n) {
  if (n != 1) return fm_fail("this build is single-threaded");
  return 1;
}

void fm_parallel_for(int n, int max_tasks, void (*fn)(void *, int, int, int), void *ctx) {
  (void)max_tasks;
  if (n > 0) fn(ctx, 0, n, 0);
}

#else
#include <pthread.h>

static pthread_t g_workers[FM_MAX_THREADS];
static int g_started;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_go = PTHREAD_COND_INITIALIZER, g_done = PTHREAD_COND_INITIALIZER;
static unsigned long g_generation;
static int g_pending, g_tasks, g_n;
static void (*g_fn)(void *, int, int, int);
static void *g_ctx;

static void run_chunk(int tid) {
  int begin = (int)((long)g_n * tid / g_tasks), end = (int)((long)g_n * (tid + 1) / g_tasks);
  if (begin < end) g_fn(g_ctx, begin, end, tid);
}

static void *worker(void *arg) {
  int tid = (int)(long)arg;
  unsigned long seen = 0;
  for (;;) {
    pthread_mutex_lock(&g_mu);
    while (g_generation == seen) pthread_cond_wait(&g_go, &g_mu);
    seen = g_generation;
    int mine = tid < g_tasks;
    pthread_mutex_unlock(&g_mu);
    if (mine) run_chunk(tid);
    pthread_mutex_lock(&g_mu);
    if (mine && --g_pending == 0) pthread_cond_signal(&g_done);
    pthread_mutex_unlock(&g_mu);
  }
  return NULL;
}

int fm_set_threads(int n) {
  if (n < 1 || n > FM_MAX_THREADS) return fm_fail("threads must be 1..%d", FM_MAX_THREADS);
  for (; g_started < n - 1; g_started++)
    if (pthread_create(&g_workers[g_started], NULL, worker, (void *)(long)(g_started + 1)))
      return fm_fail("cannot start a thread");
  g_threads = n;
  return 1;
}

void fm_parallel_for(int n, int max_tasks, void (*fn)(void *, int, int, int), void *ctx) {
  int tasks = g_threads < max_tasks ? g_threads : max_tasks;
  if (tasks > n) tasks = n;
  if (tasks <= 1) {
    if (n > 0) fn(ctx, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&g_mu);
  g_fn = fn, g_ctx = ctx, g_n = n, g_tasks = tasks;
  g_pending = tasks - 1;
  g_generation++;
  pthread_cond_broadcast(&g_go);
  pthread_mutex_unlock(&g_mu);
  run_chunk(0);
  pthread_mutex_lock(&g_mu);
  while (g_pending > 0) pthread_cond_wait(&g_done, &g_mu);
  pthread_mutex_unlock(&g_mu);
}
#endif
