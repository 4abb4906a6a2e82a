/*  =========================================================================
    sf_dispatch - the analyzers' queues, and credit dispatch to workers

    A queue is marked dirty when it gains jobs or one of its workers gains
    credit (a result, a job taken back, a new worker); the flush walks only
    the dirty queues. Dispatch hands each queue's jobs to its workers in
    turn, one job each round (sf_queue_next_worker), while they have
    credit, so a worker never holds more jobs than the slots it announced
    and load spreads. Each job taken is started by the state machine
    (sf_jobs_start) and staged in the worker's DISPATCH (sf_outbox).
    ========================================================================= */

#include "sf_broker_private.h"

//  --------------------------------------------------------------------------
//  Queues by analyzer name.

sf_queue_t *
sf_dispatch_find (sf_broker_t *self, const char *name, size_t size)
{
    if (self->last_queue && strlen (self->last_queue->name) == size
    &&  memcmp (self->last_queue->name, name, size) == 0)
        return self->last_queue;
    char key [SF_NAME_MAX + 1];
    memcpy (key, name, size);
    key [size] = 0;
    sf_queue_t *queue = (sf_queue_t *) zhashx_lookup (self->queues, key);
    if (queue)
        self->last_queue = queue;
    return queue;
}

sf_queue_t *
sf_dispatch_queue (sf_broker_t *self, const char *name, size_t size)
{
    sf_queue_t *queue = sf_dispatch_find (self, name, size);
    if (!queue) {
        if (zhashx_size (self->queues) >= self->config.max_analyzers)
            return NULL;
        char key [SF_NAME_MAX + 1];
        memcpy (key, name, size);
        key [size] = 0;
        queue = sf_queue_new (name, size);
        zhashx_insert (self->queues, key, queue);
    }
    self->last_queue = queue;
    return queue;
}

sf_queue_t *
sf_dispatch_queue_of (sf_broker_t *self, sf_entry_t *entry)
{
    msgpack_unpacked unpacked;
    msgpack_object job;
    sf_queue_t *queue = NULL;
    if (sf_entry_job (entry, &unpacked, &job) == 0) {
        //  The job map passed sf_codec_job_check: its analyzer is a valid name
        const msgpack_object *name = sf_mp_get (&job, "analyzer");
        queue = sf_dispatch_queue (self, name->via.str.ptr, name->via.str.size);
    }
    msgpack_unpacked_destroy (&unpacked);
    return queue;
}

//  --------------------------------------------------------------------------
//  Mark a queue for the next dispatch.

void
sf_dispatch_mark (sf_broker_t *self, sf_queue_t *queue)
{
    if (!queue->dirty && queue->depth > 0) {
        queue->dirty = true;
        sf_ptrs_push (&self->dirty, queue);
    }
}

void
sf_dispatch_credit (sf_broker_t *self, sf_wrec_t *worker)
{
    for (size_t i = 0; i < worker->queue_count; i++)
        sf_dispatch_mark (self, worker->queues [i]);
}

//  --------------------------------------------------------------------------
//  Hand queued jobs to workers with free credit, one job to each in turn.

void
sf_dispatch_run (sf_broker_t *self)
{
    for (size_t q = 0; q < self->dirty.size; q++) {
        sf_queue_t *queue = (sf_queue_t *) self->dirty.items [q];
        queue->dirty = false;
        sf_wrec_t *worker;
        while (queue->depth > 0 && (worker = sf_queue_next_worker (queue))) {
            sf_entry_t *entry = sf_queue_pop (queue);
            sf_jobs_start (self, entry, worker);
            sf_outbox_dispatch (self, worker, entry);
        }
    }
    self->dirty.size = 0;
}
