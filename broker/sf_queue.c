/*  =========================================================================
    sf_queue - the ready queue of one analyzer
    ========================================================================= */

#include <czmq.h>
#include "sf_queue.h"

sf_queue_t *
sf_queue_new (const char *name, size_t size)
{
    assert (size <= SF_NAME_MAX);
    sf_queue_t *self = (sf_queue_t *) zmalloc (sizeof *self);
    memcpy (self->name, name, size);
    self->name [size] = 0;
    return self;
}

void
sf_queue_destroy (sf_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free ((*self_p)->workers);
    free (*self_p);
    *self_p = NULL;
}

void
sf_queue_push (sf_queue_t *self, sf_entry_t *entry)
{
    sf_entry_list_append (&self->fifo [entry->priority], entry);
    entry->state = SF_JOB_QUEUED;
    self->depth++;
}

void
sf_queue_push_front (sf_queue_t *self, sf_entry_t *entry)
{
    sf_entry_list_prepend (&self->fifo [entry->priority], entry);
    entry->state = SF_JOB_QUEUED;
    self->depth++;
}

void
sf_queue_remove (sf_queue_t *self, sf_entry_t *entry)
{
    sf_entry_list_remove (&self->fifo [entry->priority], entry);
    self->depth--;
}

sf_entry_t *
sf_queue_pop (sf_queue_t *self)
{
    if (self->depth == 0)
        return NULL;
    for (int priority = SF_PRIORITY_MAX; priority >= 0; priority--) {
        sf_entry_t *entry = self->fifo [priority].head;
        if (entry) {
            sf_entry_list_remove (&self->fifo [priority], entry);
            self->depth--;
            return entry;
        }
    }
    return NULL;
}

void
sf_queue_add_worker (sf_queue_t *self, sf_wrec_t *worker)
{
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers [i] == worker)
            return;
    if (self->worker_count == self->worker_max) {
        self->worker_max = self->worker_max? self->worker_max * 2: 4;
        self->workers = (sf_wrec_t **) realloc (self->workers,
                                                self->worker_max * sizeof (sf_wrec_t *));
        if (!self->workers)
            abort ();
    }
    self->workers [self->worker_count++] = worker;
}

void
sf_queue_remove_worker (sf_queue_t *self, sf_wrec_t *worker)
{
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers [i] == worker) {
            self->workers [i] = self->workers [--self->worker_count];
            if (self->turn >= self->worker_count)
                self->turn = 0;
            return;
        }
}
