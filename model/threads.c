#define _GNU_SOURCE
#include "threads.h"

#include <cblas.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_THREADS 256
/* Spin this many rounds before sleeping: covers the gap between the back to
 * back parallel loops of one forward pass, not the gap between user actions. */
#define SPIN_ROUNDS 20000

/* OpenBLAS runs inside our tasks, one thread each. */
extern void openblas_set_num_threads(int n);

static struct {
    pthread_once_t once;
    int n;
    pthread_t tid[MAX_THREADS];
    pthread_mutex_t lock, dispatch;
    pthread_cond_t wake;
    atomic_uint generation;
    atomic_int pending;
    sidr_range_fn fn;
    void *ctx;
    int items;
    int grain;              /* > 0: claimed ranges (sidr_parallel_claim) */
    atomic_int next;        /* the next unclaimed item */
} pool = { .once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER,
           .dispatch = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER };

static _Thread_local int in_pool_task;
static int requested;

static int default_threads(void)
{
    const char *e = getenv("SIDR_THREADS");
    if (!e) e = getenv("OMP_NUM_THREADS");
    if (e && atoi(e) > 0) return atoi(e) < MAX_THREADS ? atoi(e) : MAX_THREADS;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set) < MAX_THREADS ? CPU_COUNT(&set) : MAX_THREADS;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (n < MAX_THREADS ? (int)n : MAX_THREADS) : 1;
}

static void run_share(int t)
{
    if (pool.grain > 0) {
        for (;;) {
            int b = atomic_fetch_add_explicit(&pool.next, pool.grain, memory_order_relaxed);
            if (b >= pool.items) return;
            pool.fn(pool.ctx, b, pool.items - b < pool.grain ? pool.items : b + pool.grain, t);
        }
    }
    int per = pool.items / pool.n, extra = pool.items % pool.n;
    int begin = t * per + (t < extra ? t : extra), end = begin + per + (t < extra);
    if (begin < end) pool.fn(pool.ctx, begin, end, t);
}

static void *worker(void *arg)
{
    int t = (int)(long)arg;
    unsigned seen = 0;
    in_pool_task = 1;
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen && spins < SPIN_ROUNDS) {
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
            spins++;
        }
        if (g == seen) {
            pthread_mutex_lock(&pool.lock);
            while ((g = atomic_load(&pool.generation)) == seen) pthread_cond_wait(&pool.wake, &pool.lock);
            pthread_mutex_unlock(&pool.lock);
        }
        seen = g;
        run_share(t);
        atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
    }
    return NULL;
}

/* A forked child has only the forking thread: it starts a pool of its own
 * (sized by SIDR_THREADS or sidr_threads_set in the child) on first use. */
static void after_fork_child(void)
{
    pthread_once_t fresh = PTHREAD_ONCE_INIT;
    pool.once = fresh;
    pool.n = 0;
    pthread_mutex_init(&pool.lock, NULL);
    pthread_mutex_init(&pool.dispatch, NULL);
    pthread_cond_init(&pool.wake, NULL);
    atomic_store(&pool.generation, 0);
    atomic_store(&pool.pending, 0);
    in_pool_task = 0;
    requested = 0;
}

static void start(void)
{
    static int atfork_registered;
    if (!atfork_registered) {
        pthread_atfork(NULL, NULL, after_fork_child);
        atfork_registered = 1;
    }
    pool.n = requested > 0 ? requested : default_threads();
    openblas_set_num_threads(1);
    for (int t = 1; t < pool.n; t++) {
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 1 << 20);
        if (pthread_create(&pool.tid[t], &attr, worker, (void *)(long)t) != 0) {
            pool.n = t; /* run with the threads we got */
            pthread_attr_destroy(&attr);
            break;
        }
        pthread_detach(pool.tid[t]);
        pthread_attr_destroy(&attr);
    }
}

int sidr_threads_count(void)
{
    pthread_once(&pool.once, start);
    return pool.n;
}

void sidr_threads_set(int n)
{
    requested = n;
}

static void dispatch(int n, int grain, sidr_range_fn fn, void *ctx)
{
    if (n <= 0) return;
    pthread_once(&pool.once, start);
    if (pool.n == 1 || n == 1 || in_pool_task) {
        fn(ctx, 0, n, 0);
        return;
    }
    /* One dispatch at a time: a second caller thread waits its turn. */
    pthread_mutex_lock(&pool.dispatch);
    pool.fn = fn;
    pool.ctx = ctx;
    pool.items = n;
    pool.grain = grain;
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    atomic_store(&pool.pending, pool.n - 1);
    pthread_mutex_lock(&pool.lock);
    atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    in_pool_task = 1;
    run_share(0);
    in_pool_task = 0;
    for (int spins = 0; atomic_load_explicit(&pool.pending, memory_order_acquire) > 0; spins++) {
        if (spins > 2000) sched_yield(); /* a worker was asleep or preempted: give it the core */
#if defined(__x86_64__) || defined(__i386__)
        else __builtin_ia32_pause();
#endif
    }
    pthread_mutex_unlock(&pool.dispatch);
}

void sidr_parallel_for(int n, sidr_range_fn fn, void *ctx)
{
    dispatch(n, 0, fn, ctx);
}

void sidr_parallel_claim(int n, int grain, sidr_range_fn fn, void *ctx)
{
    dispatch(n, grain > 0 ? grain : 1, fn, ctx);
}
