/*  =========================================================================
    sf_stops - the jobs a worker was told to stop
    ========================================================================= */

#include <czmq.h>
#include <pthread.h>
#include <stdatomic.h>
#include "sf_alloc.h"
#include "sf_stops.h"

struct _sf_stops_t {
    pthread_mutex_t lock;       //  Guards ids
    zhashx_t *ids;              //  Set of job ids (keys copied)
    atomic_size_t size;         //  Its size, read without the lock
    atomic_bool all;            //  Every job stops
};

sf_stops_t *
sf_stops_new (void)
{
    sf_stops_t *self = (sf_stops_t *) sf_alloc (sizeof *self);
    pthread_mutex_init (&self->lock, NULL);
    self->ids = sf_uuid_table (true);
    atomic_init (&self->size, 0);
    atomic_init (&self->all, false);
    return self;
}

void
sf_stops_destroy (sf_stops_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sf_stops_t *self = *self_p;
    zhashx_destroy (&self->ids);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}

void
sf_stops_add (sf_stops_t *self, const uint8_t id [SF_UUID_SIZE])
{
    pthread_mutex_lock (&self->lock);
    zhashx_update (self->ids, id, (void *) 1);      //  A set: the value is unused
    atomic_store (&self->size, zhashx_size (self->ids));
    pthread_mutex_unlock (&self->lock);
}

void
sf_stops_remove (sf_stops_t *self, const uint8_t id [SF_UUID_SIZE])
{
    if (atomic_load (&self->size) == 0)
        return;
    pthread_mutex_lock (&self->lock);
    zhashx_delete (self->ids, id);
    atomic_store (&self->size, zhashx_size (self->ids));
    pthread_mutex_unlock (&self->lock);
}

void
sf_stops_all (sf_stops_t *self)
{
    atomic_store (&self->all, true);
}

bool
sf_stops_has (sf_stops_t *self, const uint8_t id [SF_UUID_SIZE])
{
    if (atomic_load (&self->all))
        return true;
    if (atomic_load (&self->size) == 0)
        return false;
    pthread_mutex_lock (&self->lock);
    bool found = zhashx_lookup (self->ids, id) != NULL;
    pthread_mutex_unlock (&self->lock);
    return found;
}
