/*  =========================================================================
    sf_registry - the workers the broker knows, by routing id
    ========================================================================= */

#include <czmq.h>
#include "sf_alloc.h"
#include "sf_registry.h"

struct _sf_registry_t {
    zhashx_t *workers;          //  routing id (hex text) -> record; owns them
};

static void
s_wrec_destroy (sf_wrec_t **self_p)
{
    sf_wrec_t *self = *self_p;
    for (size_t i = 0; i < self->queue_count; i++)
        free (self->versions [i]);
    free (self->versions);
    free (self->queues);
    sf_batchw_destroy (&self->out);
    free (self);
    *self_p = NULL;
}

static void
s_wrec_destructor (void **item)
{
    s_wrec_destroy ((sf_wrec_t **) item);
}

//  --------------------------------------------------------------------------
//  Routing ids are binary; tables key them by their hex text.

void
sf_routing_key (const void *identity, size_t size, char key [2 * SF_ROUTING_MAX + 1])
{
    static const char hex [] = "0123456789abcdef";
    const uint8_t *bytes = (const uint8_t *) identity;
    for (size_t i = 0; i < size; i++) {
        key [2 * i] = hex [bytes [i] >> 4];
        key [2 * i + 1] = hex [bytes [i] & 15];
    }
    key [2 * size] = 0;
}

sf_registry_t *
sf_registry_new (void)
{
    sf_registry_t *self = (sf_registry_t *) zmalloc (sizeof *self);
    self->workers = zhashx_new ();
    zhashx_set_destructor (self->workers, s_wrec_destructor);
    return self;
}

void
sf_registry_destroy (sf_registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy (&(*self_p)->workers);
    free (*self_p);
    *self_p = NULL;
}

sf_wrec_t *
sf_registry_find (sf_registry_t *self, const void *identity, size_t size)
{
    if (size == 0 || size > SF_ROUTING_MAX)
        return NULL;
    char key [2 * SF_ROUTING_MAX + 1];
    sf_routing_key (identity, size, key);
    return (sf_wrec_t *) zhashx_lookup (self->workers, key);
}

sf_wrec_t *
sf_registry_add (sf_registry_t *self, const void *identity, size_t size,
                 const char *name, uint32_t slots)
{
    assert (size > 0 && size <= SF_ROUTING_MAX);
    sf_wrec_t *worker = (sf_wrec_t *) zmalloc (sizeof *worker);
    memcpy (worker->identity, identity, size);
    worker->identity_size = size;
    snprintf (worker->name, sizeof worker->name, "%s", name);
    worker->slots = slots;
    sf_batchw_init (&worker->out);
    char key [2 * SF_ROUTING_MAX + 1];
    sf_routing_key (identity, size, key);
    zhashx_insert (self->workers, key, worker);
    return worker;
}

void
sf_registry_serve (sf_wrec_t *worker, sf_queue_t *queue, const char *version)
{
    size_t count = worker->queue_count + 1;
    worker->queues = (sf_queue_t **) sf_alloc_resize (worker->queues, count,
                                                      sizeof (sf_queue_t *));
    worker->versions = (char **) sf_alloc_resize (worker->versions, count, sizeof (char *));
    worker->queues [worker->queue_count] = queue;
    worker->versions [worker->queue_count] = sf_alloc_strdup (version);
    worker->queue_count = count;
}

void
sf_registry_remove (sf_registry_t *self, sf_wrec_t **worker_p)
{
    char key [2 * SF_ROUTING_MAX + 1];
    sf_routing_key ((*worker_p)->identity, (*worker_p)->identity_size, key);
    zhashx_delete (self->workers, key);
    *worker_p = NULL;
}

size_t
sf_registry_size (sf_registry_t *self)
{
    return zhashx_size (self->workers);
}

sf_wrec_t *
sf_registry_first (sf_registry_t *self)
{
    return (sf_wrec_t *) zhashx_first (self->workers);
}

sf_wrec_t *
sf_registry_next (sf_registry_t *self)
{
    return (sf_wrec_t *) zhashx_next (self->workers);
}
