/*  =========================================================================
    sf_store - where the broker makes jobs durable

    The broker keeps its working state in memory (ledger, queues) and tells
    the store what changed: jobs accepted, jobs finished. A store may make
    those changes durable when told (commit); the broker acknowledges a
    submit only after the commit that covers it succeeded. Every backend
    (memory here; the embedded journal and PostgreSQL implement the same
    operations) is chosen by a URI: "memory", "journal:DIR",
    "postgres:CONNINFO".
    ========================================================================= */

#ifndef SF_STORE_H_INCLUDED
#define SF_STORE_H_INCLUDED

#include "sf_entry.h"

//  Operations of a backend. Each returns 0, or -1 with error filled.
typedef struct {
    const char *name;                               //  "memory", …
    int (*accepted) (void *state, sf_entry_t **entries, size_t count, sf_error_t *error);
    int (*finished) (void *state, sf_entry_t *entry, sf_error_t *error);
    int (*commit) (void *state, sf_error_t *error);
    void (*destroy) (void **state_p);
} sf_store_ops_t;

typedef struct _sf_store_t sf_store_t;

//  Open the store named by uri. Returns NULL with error (code STORE) when
//  the URI is unknown or the backend cannot open.
sf_store_t *sf_store_new (const char *uri, sf_error_t *error);

void sf_store_destroy (sf_store_t **self_p);

//  Record newly accepted jobs (not yet durable).
int sf_store_accepted (sf_store_t *self, sf_entry_t **entries, size_t count, sf_error_t *error);

//  Record a job's final status (not yet durable).
int sf_store_finished (sf_store_t *self, sf_entry_t *entry, sf_error_t *error);

//  Make everything recorded so far durable.
int sf_store_commit (sf_store_t *self, sf_error_t *error);

//  The backend's name.
const char *sf_store_name (sf_store_t *self);

//  The memory backend: nothing survives the broker; every call succeeds.
extern const sf_store_ops_t sf_store_memory_ops;
void *sf_store_memory_open (const char *argument, sf_error_t *error);

#endif
