/*  =========================================================================
    sf_store - where the broker makes jobs durable: the backend switch
    ========================================================================= */

#include <czmq.h>
#include "sf_store.h"

struct _sf_store_t {
    const sf_store_ops_t *ops;  //  The backend
    void *state;                //  Its state (owned through ops->destroy)
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
        void *state = s_backends [i].open (argument, error);
        if (!state)
            return NULL;
        sf_store_t *self = (sf_store_t *) zmalloc (sizeof *self);
        self->ops = s_backends [i].ops;
        self->state = state;
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
    (*self_p)->ops->destroy (&(*self_p)->state);
    free (*self_p);
    *self_p = NULL;
}

int
sf_store_accepted (sf_store_t *self, sf_entry_t **entries, size_t count, sf_error_t *error)
{
    return self->ops->accepted (self->state, entries, count, error);
}

int
sf_store_finished (sf_store_t *self, sf_entry_t *entry, sf_error_t *error)
{
    return self->ops->finished (self->state, entry, error);
}

int
sf_store_revived (sf_store_t *self, sf_entry_t *entry, sf_error_t *error)
{
    return self->ops->revived (self->state, entry, error);
}

int
sf_store_forgotten (sf_store_t *self, sf_entry_t *entry, sf_error_t *error)
{
    return self->ops->forgotten (self->state, entry, error);
}

int
sf_store_state_saved (sf_store_t *self, const char *key, const void *blob, size_t size,
                      sf_error_t *error)
{
    return self->ops->state_saved (self->state, key, blob, size, error);
}

int
sf_store_group_accepted (sf_store_t *self, sf_group_t *group, sf_error_t *error)
{
    return self->ops->group_accepted (self->state, group, error);
}

int
sf_store_group_launched (sf_store_t *self, sf_group_t *group, sf_error_t *error)
{
    return self->ops->group_launched (self->state, group, error);
}

int
sf_store_group_answered (sf_store_t *self, sf_group_t *group, sf_error_t *error)
{
    return self->ops->group_answered (self->state, group, error);
}

int
sf_store_group_forgotten (sf_store_t *self, sf_group_t *group, sf_error_t *error)
{
    return self->ops->group_forgotten (self->state, group, error);
}

int
sf_store_commit (sf_store_t *self, sf_ledger_t *ledger, zhashx_t *states, zlistx_t *groups,
                 sf_error_t *error)
{
    return self->ops->commit (self->state, ledger, states, groups, error);
}

int
sf_store_recover (sf_store_t *self, const sf_store_recovery_t *recovery, sf_error_t *error)
{
    return self->ops->recover (self->state, recovery, error);
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
