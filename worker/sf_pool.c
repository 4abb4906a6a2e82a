/*  =========================================================================
    sf_pool - the analyzer threads of a worker process

    Messages between the I/O thread and a pool thread:
      to the thread:   [items: DISPATCH items]
      from the thread: [items: RESULTS items] [count: uint32] [ids: count x 16]
    Chunks are sized so that the waiting jobs spread over the threads with
    room (at most 128 a chunk): long jobs go one or two at a time, floods of
    short ones in large chunks.

    Withdrawing (a worker draining before it stops) must know which of the
    jobs handed to a thread have started. Each thread claims its jobs one by
    one on a counter it shares with the I/O thread (a compare-and-swap from
    n to n + 1); the I/O thread freezes the counter by setting its top bit,
    which makes every later claim fail. The value it saw is the number of
    jobs the thread started, so the jobs after those, in the order they
    were handed over, are exactly the ones that will never run.
    ========================================================================= */

#include <stdatomic.h>
#include <time.h>
#include "sf_actx.h"
#include "sf_alloc.h"
#include "sf_analyzers.h"
#include "sf_log.h"
#include "sf_mp.h"
#include "sf_pool.h"

#define S_CHUNK_MAX 128         //  Most jobs in one chunk (smaller chunks keep
                                //  the results flowing while the rest run)
#define S_CHUNKS_PER_THREAD 2   //  Chunks a thread may hold
#define S_FROZEN ((uint64_t) 1 << 63)   //  A claim counter's freeze bit

//  What every thread is started with (read-only while threads run).
typedef struct {
    bool tests;                 //  Serve test-only analyzers
    sf_stops_t *stops;          //  Jobs to stop (owned)
    sf_cache_t *cache;          //  The worker's market data (borrowed) or NULL
    sf_source_t *source;        //  Its data source (borrowed) or NULL
} s_settings_t;

typedef struct {
    zactor_t *actor;            //  The thread
    const s_settings_t *settings;       //  Shared settings (the pool's)
    _Atomic uint64_t claimed;   //  Jobs the thread started, | S_FROZEN
    size_t chunks;              //  Chunks it holds
    size_t jobs;                //  Jobs in them
    size_t sizes [S_CHUNKS_PER_THREAD];  //  Their sizes, oldest first
    uint8_t (*ids) [SF_UUID_SIZE];      //  Ids of the jobs it holds, in order
    size_t id_count;            //  How many (withdrawn ones are cut off)
    uint64_t handed;            //  Jobs ever handed to it
} s_thread_t;

struct _sf_pool_t {
    s_thread_t *threads;        //  The analyzer threads
    size_t thread_count;        //  How many
    s_settings_t settings;      //  Given to every thread
    char *waiting;              //  Waiting jobs' encodings, back to back
    size_t waiting_start;       //  Offset of the first unsent byte
    size_t waiting_size;        //  Bytes in use
    size_t waiting_max;         //  Room
    size_t *ends;               //  End offset of each waiting job
    uint8_t (*ids) [SF_UUID_SIZE];      //  Id of each waiting job
    size_t first;               //  Index of the first unsent job in ends
    size_t job_count;           //  Entries in ends
    size_t job_max;             //  Room in ends
    size_t running;             //  Jobs handed to threads, not answered
    bool withdrawn;             //  No more jobs start (sf_pool_withdraw)
};

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

//  ==========================================================================
//  The thread side

//  Run one DISPATCH item and pack its RESULTS item into results.
static void
s_run_job (sf_actx_t *ctx, bool tests, const msgpack_object *head, const msgpack_object *job,
           msgpack_packer *results, msgpack_sbuffer *ids)
{
    uint8_t id [SF_UUID_SIZE];
    uint32_t attempt, timeout_ms;
    sf_error_t error;
    if (sf_codec_read_dispatch_head (head, id, &attempt, &timeout_ms, &error)) {
        //  Without an id there is nothing to answer; the job stays in flight
        //  at the broker until this worker registers again or is lost
        sf_log_error ("worker: dropped a job with a malformed header: %s", error.message);
        return;
    }
    sf_mp_write (ids, (const char *) id, SF_UUID_SIZE);
    const msgpack_object *name = sf_mp_get (job, "analyzer");
    const sf_analyzer_t *analyzer = NULL;
    if (name && name->type == MSGPACK_OBJECT_STR)
        analyzer = sf_analyzers_find (name->via.str.ptr, name->via.str.size, tests);
    sf_actx_reset (ctx, analyzer, job, attempt);
    ctx->id = id;

    int64_t started = s_now_us ();
    if (sf_actx_cancelled (ctx))
        sf_actx_fail (ctx, "CANCELLED", "stopped before it started");
    else
    if (!analyzer) {
        sf_actx_context_str (ctx, "analyzer", "");
        if (name && name->type == MSGPACK_OBJECT_STR) {
            char text [SF_NAME_MAX + 1];
            if (sf_mp_strcpy (name, text, sizeof text) == 0)
                sf_actx_context_str (ctx, "analyzer", text);
        }
        sf_actx_fail (ctx, "UNKNOWN_ANALYZER", "this worker does not serve that analyzer");
    }
    else
    if (sf_actx_check_params (ctx))
        ;                       //  Failed, with the param named
    else
    if (analyzer->analyze (ctx) == 0 && !ctx->failed) {
        const char *why;
        if (ctx->output.size == 0
        ||  sf_mp_check (ctx->output.data, ctx->output.size, &why) != ctx->output.size)
            sf_actx_fail (ctx, "ANALYSIS", "analyzer %s produced no single result value",
                          analyzer->name);
    }
    else
    if (!ctx->failed)
        sf_actx_fail (ctx, "ANALYSIS", "analyzer %s failed without saying why", analyzer->name);
    uint64_t run_us = (uint64_t) (s_now_us () - started);

    if (ctx->failed) {
        sf_codec_pack_outcome_head (results, id, attempt, SF_STATUS_ERROR, run_us);
        sf_actx_pack_error (ctx, results);
    }
    else {
        bool state = ctx->wants_state && ctx->has_new_state;
        sf_codec_pack_outcome_head_state (results, id, attempt, SF_STATUS_OK, run_us,
                                          state? ctx->new_state.data: NULL,
                                          state? ctx->new_state.size: 0);
        sf_mp_write (results->data, ctx->output.data, ctx->output.size);
    }
    ctx->id = NULL;             //  id lives on this frame only
}

//  The body of an analyzer thread.
static void
s_thread (zsock_t *pipe, void *args)
{
    s_thread_t *self = (s_thread_t *) args;
    const s_settings_t *settings = self->settings;
    bool tests = settings->tests;
    uint64_t started = 0;       //  Jobs claimed so far
    sf_actx_t ctx;
    sf_actx_init_shared (&ctx, settings->cache, settings->source);
    ctx.stops = settings->stops;
    msgpack_sbuffer results, ids;
    msgpack_sbuffer_init (&results);
    msgpack_sbuffer_init (&ids);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &results, sf_mp_write);
    msgpack_unpacked head, job;
    msgpack_unpacked_init (&head);
    msgpack_unpacked_init (&job);
    zsock_signal (pipe, 0);

    while (true) {
        zmsg_t *msg = zmsg_recv (pipe);
        if (!msg)
            break;              //  Interrupted
        zframe_t *items = zmsg_first (msg);
        if (zframe_streq (items, "$TERM")) {
            zmsg_destroy (&msg);
            break;
        }
        msgpack_sbuffer_clear (&results);
        msgpack_sbuffer_clear (&ids);
        const char *data = (const char *) zframe_data (items);
        size_t size = zframe_size (items), offset = 0;
        uint32_t count = 0;
        msgpack_object head_object, job_object;
        const char *why;
        while (sf_mp_next (&head, data, size, &offset, &head_object, NULL, NULL, &why) == 0
           &&  sf_mp_next (&job, data, size, &offset, &job_object, NULL, NULL, &why) == 0) {
            //  A failed claim: the I/O thread withdrew this job (and the rest)
            uint64_t expected = started;
            if (!atomic_compare_exchange_strong (&self->claimed, &expected, started + 1))
                continue;
            started++;
            size_t before = ids.size;
            s_run_job (&ctx, tests, &head_object, &job_object, &packer, &ids);
            if (ids.size > before)
                count++;
        }
        zmsg_destroy (&msg);
        msg = zmsg_new ();
        zmsg_addmem (msg, results.data, results.size);
        zmsg_addmem (msg, &count, sizeof count);
        zmsg_addmem (msg, ids.data, ids.size);
        if (zmsg_send (&msg, pipe))
            break;
    }
    msgpack_unpacked_destroy (&head);
    msgpack_unpacked_destroy (&job);
    msgpack_sbuffer_destroy (&results);
    msgpack_sbuffer_destroy (&ids);
    sf_actx_destroy (&ctx);
}

//  ==========================================================================
//  The I/O thread side

sf_pool_t *
sf_pool_new (size_t threads, bool tests, sf_cache_t *cache, sf_source_t *source)
{
    assert (threads > 0);
    sf_pool_t *self = (sf_pool_t *) sf_alloc (sizeof *self);
    self->settings.tests = tests;
    self->settings.stops = sf_stops_new ();
    self->settings.cache = cache;
    self->settings.source = source;
    self->thread_count = threads;
    self->threads = (s_thread_t *) sf_alloc_array (threads, sizeof (s_thread_t));
    for (size_t i = 0; i < threads; i++) {
        s_thread_t *thread = &self->threads [i];
        thread->settings = &self->settings;
        atomic_init (&thread->claimed, 0);
        thread->ids = (uint8_t (*) [SF_UUID_SIZE])
                      sf_alloc_array (S_CHUNKS_PER_THREAD * S_CHUNK_MAX, SF_UUID_SIZE);
        thread->actor = zactor_new (s_thread, thread);
        if (!thread->actor) {
            sf_log_error ("worker: cannot start analyzer thread %zu of %zu: %s", i + 1,
                          threads, strerror (errno));
            abort ();
        }
    }
    return self;
}

void
sf_pool_destroy (sf_pool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_pool_t *self = *self_p;
    for (size_t i = 0; i < self->thread_count; i++) {
        zactor_destroy (&self->threads [i].actor);
        free (self->threads [i].ids);
    }
    free (self->threads);
    sf_stops_destroy (&self->settings.stops);
    free (self->waiting);
    free (self->ends);
    free (self->ids);
    free (self);
    *self_p = NULL;
}

size_t
sf_pool_threads (sf_pool_t *self)
{
    return self->thread_count;
}

zsock_t *
sf_pool_pipe (sf_pool_t *self, size_t index)
{
    return zactor_sock (self->threads [index].actor);
}

void
sf_pool_stop (sf_pool_t *self, const uint8_t id [SF_UUID_SIZE])
{
    sf_stops_add (self->settings.stops, id);
}

size_t
sf_pool_load (sf_pool_t *self)
{
    return (self->job_count - self->first) + self->running;
}

void
sf_pool_add (sf_pool_t *self, const uint8_t id [SF_UUID_SIZE], const char *item, size_t size)
{
    //  Reclaim the space of sent jobs before growing
    if (self->first == self->job_count) {
        self->first = self->job_count = 0;
        self->waiting_start = self->waiting_size = 0;
    }
    if (self->waiting_size + size > self->waiting_max) {
        self->waiting_max = (self->waiting_size + size) * 2;
        self->waiting = (char *) sf_alloc_resize (self->waiting, self->waiting_max, 1);
    }
    if (self->job_count == self->job_max) {
        self->job_max = self->job_max? self->job_max * 2: 256;
        self->ends = (size_t *) sf_alloc_resize (self->ends, self->job_max, sizeof (size_t));
        self->ids = (uint8_t (*) [SF_UUID_SIZE]) sf_alloc_resize (self->ids, self->job_max,
                                                                  SF_UUID_SIZE);
    }
    memcpy (self->waiting + self->waiting_size, item, size);
    self->waiting_size += size;
    memcpy (self->ids [self->job_count], id, SF_UUID_SIZE);
    self->ends [self->job_count++] = self->waiting_size;
}

void
sf_pool_kick (sf_pool_t *self)
{
    size_t waiting = self->job_count - self->first;
    while (waiting > 0 && !self->withdrawn) {
        //  The thread with room holding the fewest jobs
        s_thread_t *thread = NULL;
        size_t with_room = 0;
        for (size_t i = 0; i < self->thread_count; i++) {
            s_thread_t *candidate = &self->threads [i];
            if (candidate->chunks >= S_CHUNKS_PER_THREAD)
                continue;
            with_room++;
            if (!thread || candidate->jobs < thread->jobs)
                thread = candidate;
        }
        if (!thread)
            return;
        size_t chunk = (waiting + with_room - 1) / with_room;
        if (chunk > S_CHUNK_MAX)
            chunk = S_CHUNK_MAX;
        size_t end = self->ends [self->first + chunk - 1];
        //  One frame, so that a send either hands over the whole chunk or
        //  nothing: a failed send in the middle of a multipart message
        //  would leave its first frames to join the next one
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, self->waiting + self->waiting_start, end - self->waiting_start);
        if (zmsg_send (&msg, thread->actor)) {
            //  Interrupted, or the context is ending: the chunk never
            //  reached the thread, so its jobs stay waiting here (and in
            //  the worker's holding list) for the next kick or a withdraw
            int error = zmq_errno ();
            zmsg_destroy (&msg);
            sf_log_warning ("worker: cannot hand %zu jobs to an analyzer thread: %s",
                            chunk, zmq_strerror (error));
            return;
        }
        memcpy (thread->ids [thread->id_count], self->ids [self->first], chunk * SF_UUID_SIZE);
        thread->id_count += chunk;
        thread->handed += chunk;
        thread->sizes [thread->chunks] = chunk;
        thread->chunks++;
        thread->jobs += chunk;
        self->running += chunk;
        self->first += chunk;
        self->waiting_start = end;
        waiting -= chunk;
    }
}

int
sf_pool_collect (sf_pool_t *self, size_t index, sf_batchw_t *out,
                 void (*done) (void *arg, const uint8_t id [SF_UUID_SIZE]), void *arg)
{
    s_thread_t *thread = &self->threads [index];
    zmsg_t *msg = zmsg_recv (thread->actor);
    if (!msg)
        return -1;
    zframe_t *items = zmsg_first (msg);
    zframe_t *count_frame = zmsg_next (msg);
    zframe_t *ids = zmsg_next (msg);
    //  Frames from our own thread: their shape is ours, checked all the same
    uint32_t count = 0;
    if (!items || !count_frame || !ids || zframe_size (count_frame) != sizeof count) {
        zmsg_destroy (&msg);
        return -1;
    }
    memcpy (&count, zframe_data (count_frame), sizeof count);
    if (zframe_size (ids) != (size_t) count * SF_UUID_SIZE) {
        zmsg_destroy (&msg);
        return -1;
    }
    sf_mp_write (&out->buffer, (const char *) zframe_data (items), zframe_size (items));
    out->count += count;
    for (uint32_t i = 0; i < count; i++) {
        const uint8_t *id = zframe_data (ids) + (size_t) i * SF_UUID_SIZE;
        sf_stops_remove (self->settings.stops, id);
        done (arg, id);
    }
    //  Answers come in the order the chunks went; a chunk may answer fewer
    //  jobs than it held (an item without an id is dropped)
    size_t chunk = thread->sizes [0];
    for (size_t i = 1; i < thread->chunks; i++)
        thread->sizes [i - 1] = thread->sizes [i];
    //  Withdrawn jobs were cut off the end of the ids already
    size_t gone = chunk < thread->id_count? chunk: thread->id_count;
    memmove (thread->ids [0], thread->ids [gone], (thread->id_count - gone) * SF_UUID_SIZE);
    thread->id_count -= gone;
    thread->chunks--;
    thread->jobs -= chunk;
    self->running -= chunk;
    zmsg_destroy (&msg);
    return (int) count;
}

size_t
sf_pool_withdraw (sf_pool_t *self, void (*withdrawn) (void *arg, const uint8_t id [SF_UUID_SIZE]),
                  void *arg)
{
    size_t count = 0;
    if (self->withdrawn)
        return 0;
    self->withdrawn = true;
    //  Waiting in the pool: never handed over
    for (size_t i = self->first; i < self->job_count; i++, count++)
        withdrawn (arg, self->ids [i]);
    self->first = self->job_count = 0;
    self->waiting_start = self->waiting_size = 0;
    //  Handed to a thread: those after the ones it claimed
    for (size_t i = 0; i < self->thread_count; i++) {
        s_thread_t *thread = &self->threads [i];
        uint64_t started = atomic_fetch_or (&thread->claimed, S_FROZEN) & ~S_FROZEN;
        //  Every job of the chunks answered so far was claimed, so the jobs
        //  never started are the last ones of the ids it holds
        size_t unstarted = (size_t) (thread->handed - started);
        assert (unstarted <= thread->id_count);
        for (size_t j = thread->id_count - unstarted; j < thread->id_count; j++, count++)
            withdrawn (arg, thread->ids [j]);
        thread->id_count -= unstarted;
    }
    return count;
}

void
sf_pool_cancel_all (sf_pool_t *self)
{
    sf_stops_all (self->settings.stops);
}
