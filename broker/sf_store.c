/*  =========================================================================
    sf_store - where the broker makes jobs durable: the backend switch
    ========================================================================= */

#include <czmq.h>
#include "sf_store.h"

struct _sf_store_t {
    const sf_store_ops_t *ops;  //  The backend
    void *backend;              //  Its state (owned through ops->destroy)
};

//  Backends by URI scheme. Checklist when adding one: this table, the
//  --store help in broker/main.c, docs/OPERATIONS.md.
static const struct {
    const char *scheme;
    const sf_store_ops_t *ops;
    void *(*open) (const char *argument, sf_error_t *error);
} s_backends [] = {
    { "memory", &sf_store_memory_ops, sf_store_memory_open },
    { "journal", &sf_store_journal_ops, sf_store_journal_open },
};

sf_store_t *
sf_store_new (const char *uri, sf_error_t *error)
{
    const char *colon = strchr (uri, ':');
    size_t scheme_size = colon? (size_t) (colon - uri): strlen (uri);
    const char *argument = colon? colon + 1: "";
    for (size_t i = 0; i < sizeof s_backends / sizeof s_backends [0]; i++) {
        if (strlen (s_backends [i].scheme) != scheme_size
        ||  memcmp (s_backends [i].scheme, uri, scheme_size) != 0)
            continue;
        void *backend = s_backends [i].open (argument, error);
        if (!backend)
            return NULL;
        sf_store_t *self = (sf_store_t *) zmalloc (sizeof *self);
        self->ops = s_backends [i].ops;
        self->backend = backend;
        return self;
    }
    sf_error_set (error, "STORE", "unknown store \"%s\" (this broker has: memory, journal:DIR)", uri);
    return NULL;
}

void
sf_store_destroy (sf_store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    (*self_p)->ops->destroy (&(*self_p)->backend);
    free (*self_p);
    *self_p = NULL;
}

int
sf_store_accepted (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error)
{
    return self->ops->accepted (self->backend, job, error);
}

int
sf_store_finished (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error)
{
    return self->ops->finished (self->backend, job, error);
}

int
sf_store_revived (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error)
{
    return self->ops->revived (self->backend, job, error);
}

int
sf_store_forgotten (sf_store_t *self, const sf_store_job_t *job, sf_error_t *error)
{
    return self->ops->forgotten (self->backend, job, error);
}

int
sf_store_state_saved (sf_store_t *self, const sf_store_state_t *state, sf_error_t *error)
{
    return self->ops->state_saved (self->backend, state, error);
}

int
sf_store_group_accepted (sf_store_t *self, const sf_store_group_t *group, sf_error_t *error)
{
    return self->ops->group_accepted (self->backend, group, error);
}

int
sf_store_group_launched (sf_store_t *self, const sf_store_group_t *group, sf_error_t *error)
{
    return self->ops->group_launched (self->backend, group, error);
}

int
sf_store_group_answered (sf_store_t *self, const sf_store_group_t *group, sf_error_t *error)
{
    return self->ops->group_answered (self->backend, group, error);
}

int
sf_store_group_forgotten (sf_store_t *self, const sf_store_group_t *group, sf_error_t *error)
{
    return self->ops->group_forgotten (self->backend, group, error);
}

int
sf_store_commit (sf_store_t *self, const sf_store_live_t *live, sf_error_t *error)
{
    return self->ops->commit (self->backend, live, error);
}

int
sf_store_recover (sf_store_t *self, const sf_store_recovery_t *recovery, sf_error_t *error)
{
    return self->ops->recover (self->backend, recovery, error);
}

const char *
sf_store_name (sf_store_t *self)
{
    return self->ops->name;
}

//  --------------------------------------------------------------------------
//  Blobs: a state key's latest state, in the broker's and a store's tables.

sf_store_blob_t *
sf_store_blob_new (const void *data, size_t size)
{
    sf_store_blob_t *blob = (sf_store_blob_t *) malloc (sizeof *blob);
    if (!blob || !(blob->data = malloc (size? size: 1)))
        abort ();
    memcpy (blob->data, data, size);
    blob->size = size;
    return blob;
}

void
sf_store_blob_destructor (void **item)
{
    sf_store_blob_t *blob = (sf_store_blob_t *) *item;
    if (blob) {
        free (blob->data);
        free (blob);
    }
    *item = NULL;
}
