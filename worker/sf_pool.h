/*  =========================================================================
    sf_pool - the analyzer threads of a worker process

    Each thread is a czmq actor behind an inproc pipe and shares no state
    with the others but the worker's data cache (sf_cache, which is built
    for it): the I/O thread sends it a chunk of jobs (DISPATCH items
    as they came from the broker) and it answers with the chunk's results
    (RESULTS items, ready to forward). Jobs wait in the pool's own FIFO
    until a thread has room; each thread holds at most two chunks, so it
    never idles while the I/O thread hands it the next one.
    ========================================================================= */

#ifndef SF_POOL_H_INCLUDED
#define SF_POOL_H_INCLUDED

#include <czmq.h>
#include "sf_cache.h"
#include "sf_codec.h"

typedef struct _sf_pool_t sf_pool_t;

//  Start threads analyzer threads. tests: serve test-only analyzers;
//  jobs naming a symbol and timeframe find their candles in source through
//  cache, which the threads share (both borrowed, to outlive the pool; both
//  may be NULL: no data source). A thread that cannot be started (the
//  process is out of threads or sockets) ends the process with a message,
//  as running out of memory does (sf_alloc.h).
sf_pool_t *sf_pool_new (size_t threads, bool tests, sf_cache_t *cache, sf_source_t *source);

//  Stop the threads (each finishes or cancels the job it runs) and free
//  the pool; jobs still waiting are dropped.
void sf_pool_destroy (sf_pool_t **self_p);

size_t sf_pool_threads (sf_pool_t *self);

//  The pipe of thread index, for the I/O loop to read results from.
zsock_t *sf_pool_pipe (sf_pool_t *self, size_t index);

//  Queue one job: id and its DISPATCH item (header and job map encodings,
//  size bytes, copied).
void sf_pool_add (sf_pool_t *self, const uint8_t id [SF_UUID_SIZE], const char *item,
                  size_t size);

//  Hand waiting jobs to threads with room.
void sf_pool_kick (sf_pool_t *self);

//  Stop the job id, held by this pool: one still waiting is answered
//  CANCELLED without running; a running analyzer sees sf_actx_cancelled.
void sf_pool_stop (sf_pool_t *self, const uint8_t id [SF_UUID_SIZE]);

//  Jobs waiting or running (withdrawn ones count until their chunk is
//  answered).
size_t sf_pool_load (sf_pool_t *self);

//  Start no more jobs: the jobs that have not started, whether waiting in
//  the pool or handed to a thread, will never run and are not answered;
//  calls withdrawn (arg, id) for each, and returns how many. Jobs running
//  now run to their end and are answered as usual. Lasts for the pool's
//  life (sf_pool_add and sf_pool_kick then start nothing).
size_t sf_pool_withdraw (sf_pool_t *self,
                         void (*withdrawn) (void *arg, const uint8_t id [SF_UUID_SIZE]),
                         void *arg);

//  Cancel every job, running or to come: analyzers see sf_actx_cancelled.
void sf_pool_cancel_all (sf_pool_t *self);

//  Receive one answer from thread index: append its RESULTS items to out
//  and call done (arg, id) for each job it answers. Returns the number of
//  results, or -1 if nothing could be read.
int sf_pool_collect (sf_pool_t *self, size_t index, sf_batchw_t *out,
                     void (*done) (void *arg, const uint8_t id [SF_UUID_SIZE]), void *arg);

#endif
