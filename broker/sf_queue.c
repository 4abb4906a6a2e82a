/*  =========================================================================
    sf_queue - the ready queue of one analyzer
    ========================================================================= */

#include <czmq.h>
#include "sf_alloc.h"
#include "sf_queue.h"
#include "sf_registry.h"

//  Emptied source FIFOs kept for reuse: enough for the sources that come
//  and go while workers keep up, small next to a queue's jobs.
#define SPARE_MAX 64

//  --------------------------------------------------------------------------
//  The sources hash: keyed by the FIFO itself, on (owner, priority).

static size_t
s_source_hash (const void *key)
{
    const sf_qsource_t *source = (const sf_qsource_t *) key;
    uintptr_t bits = (uintptr_t) source->owner;
    //  Pointers are aligned: fold the low zero bits away, mix in the priority
    return (size_t) ((bits >> 4) ^ (bits >> 20) ^ ((uintptr_t) source->priority << 7));
}

static int
s_source_compare (const void *item1, const void *item2)
{
    const sf_qsource_t *a = (const sf_qsource_t *) item1, *b = (const sf_qsource_t *) item2;
    if (a->owner != b->owner)
        return a->owner < b->owner? -1: 1;
    return (int) a->priority - (int) b->priority;
}

//  --------------------------------------------------------------------------
//  Create a queue for the analyzer name (size bytes).

sf_queue_t *
sf_queue_new (const char *name, size_t size)
{
    assert (size <= SF_NAME_MAX);
    sf_queue_t *self = (sf_queue_t *) zmalloc (sizeof *self);
    memcpy (self->name, name, size);
    self->name [size] = 0;
    self->sources = zhashx_new ();
    zhashx_set_key_duplicator (self->sources, NULL);
    zhashx_set_key_destructor (self->sources, NULL);
    zhashx_set_key_hasher (self->sources, s_source_hash);
    zhashx_set_key_comparator (self->sources, s_source_compare);
    return self;
}

//  --------------------------------------------------------------------------
//  Destroy a queue and its source FIFOs; entries and workers are untouched.

void
sf_queue_destroy (sf_queue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_queue_t *self = *self_p;
    for (void *source = zhashx_first (self->sources); source;
         source = zhashx_next (self->sources))
        free (source);
    zhashx_destroy (&self->sources);
    while (self->spare) {
        sf_qsource_t *next = self->spare->next;
        free (self->spare);
        self->spare = next;
    }
    free (self->workers);
    free (self);
    *self_p = NULL;
}

//  --------------------------------------------------------------------------
//  The source an entry is queued under: its group, else its client.

const void *
sf_queue_source_of (const sf_entry_t *entry)
{
    return entry->group? (const void *) entry->group: (const void *) entry->client;
}

//  --------------------------------------------------------------------------
//  The FIFO of entry's source at its priority, created (and linked into the
//  ring: last, or next to serve when first is set) when there is none.

static sf_qsource_t *
s_source_for (sf_queue_t *self, const sf_entry_t *entry, bool first)
{
    sf_qsource_t probe = { sf_queue_source_of (entry), entry->priority, { NULL, NULL, 0 },
                           NULL, NULL };
    sf_qsource_t *source = self->last;
    if (source && source->owner == probe.owner && source->priority == probe.priority)
        return source;
    source = (sf_qsource_t *) zhashx_lookup (self->sources, &probe);
    if (!source) {
        if (self->spare) {
            source = self->spare;
            self->spare = source->next;
            self->spare_count--;
        }
        else
            source = (sf_qsource_t *) sf_alloc (sizeof *source);
        *source = probe;
        zhashx_insert (self->sources, source, source);
        sf_qsource_t **ring = &self->ring [probe.priority];
        if (*ring) {
            //  Just before the one served next: last in this round
            source->next = *ring;
            source->prev = (*ring)->prev;
            source->prev->next = source;
            (*ring)->prev = source;
            if (first)
                *ring = source;
        }
        else {
            source->next = source->prev = source;
            *ring = source;
            self->levels |= 1u << probe.priority;
        }
    }
    self->last = source;
    return source;
}

//  --------------------------------------------------------------------------
//  Unlink an emptied FIFO from its ring and the hash; keep it as a spare.

static void
s_source_drop (sf_queue_t *self, sf_qsource_t *source)
{
    sf_qsource_t **ring = &self->ring [source->priority];
    if (source->next == source) {
        *ring = NULL;
        self->levels &= ~(1u << source->priority);
    }
    else {
        if (*ring == source)
            *ring = source->next;
        source->prev->next = source->next;
        source->next->prev = source->prev;
    }
    if (self->last == source)
        self->last = NULL;
    zhashx_delete (self->sources, source);   //  The hash frees nothing: ours to keep
    if (self->spare_count < SPARE_MAX) {
        source->next = self->spare;
        self->spare = source;
        self->spare_count++;
    }
    else
        free (source);
}

//  --------------------------------------------------------------------------
//  Append entry to its source's FIFO (a new job).

void
sf_queue_push (sf_queue_t *self, sf_entry_t *entry)
{
    sf_qsource_t *source = s_source_for (self, entry, false);
    sf_entry_list_append (&source->fifo, entry);
    entry->source = source;
    entry->state = SF_JOB_QUEUED;
    self->depth++;
}

//  --------------------------------------------------------------------------
//  Put entry back in front of its source's FIFO (a requeued job).

void
sf_queue_push_front (sf_queue_t *self, sf_entry_t *entry)
{
    sf_qsource_t *source = s_source_for (self, entry, true);
    sf_entry_list_prepend (&source->fifo, entry);
    entry->source = source;
    entry->state = SF_JOB_QUEUED;
    self->depth++;
}

//  --------------------------------------------------------------------------
//  Take a queued entry out of its FIFO (a cancelled job).

void
sf_queue_remove (sf_queue_t *self, sf_entry_t *entry)
{
    sf_qsource_t *source = entry->source;
    assert (source);
    sf_entry_list_remove (&source->fifo, entry);
    entry->source = NULL;
    if (source->fifo.size == 0)
        s_source_drop (self, source);
    self->depth--;
}

//  --------------------------------------------------------------------------
//  Take the next entry: highest priority, the source whose turn it is.

sf_entry_t *
sf_queue_pop (sf_queue_t *self)
{
    if (self->levels == 0)
        return NULL;
    int priority = (int) (sizeof (unsigned) * 8 - 1) - __builtin_clz (self->levels);
    sf_qsource_t *source = self->ring [priority];
    sf_entry_t *entry = source->fifo.head;
    sf_entry_list_remove (&source->fifo, entry);
    entry->source = NULL;
    if (source->fifo.size == 0)
        s_source_drop (self, source);
    else
        self->ring [priority] = source->next;
    self->depth--;
    return entry;
}

//  --------------------------------------------------------------------------
//  The next worker with credit, in turn: load spreads over the workers.

sf_wrec_t *
sf_queue_next_worker (sf_queue_t *self)
{
    for (size_t tries = 0; tries < self->worker_count; tries++) {
        sf_wrec_t *candidate = self->workers [self->turn];
        self->turn = (self->turn + 1) % self->worker_count;
        if (candidate->inflight.size < candidate->slots)
            return candidate;
    }
    return NULL;
}

//  --------------------------------------------------------------------------
//  Add a worker that serves this analyzer (once).

void
sf_queue_add_worker (sf_queue_t *self, sf_wrec_t *worker)
{
    for (size_t i = 0; i < self->worker_count; i++)
        if (self->workers [i] == worker)
            return;
    if (self->worker_count == self->worker_max) {
        self->worker_max = self->worker_max? self->worker_max * 2: 4;
        self->workers = (sf_wrec_t **) sf_alloc_resize (self->workers, self->worker_max,
                                                        sizeof (sf_wrec_t *));
    }
    self->workers [self->worker_count++] = worker;
}

//  --------------------------------------------------------------------------
//  Remove a worker (a no-op when it does not serve this analyzer).

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
