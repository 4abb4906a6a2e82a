/*  =========================================================================
    sf_store_memory - the memory store: the ledger is the only copy

    Nothing survives a broker restart. It is the right store for tests,
    benchmarks and fleets whose jobs can be resubmitted.
    ========================================================================= */

#include <stdlib.h>
#include "sf_store.h"

//  The backend has no state of its own; this marks it open.
static int s_open_token;

void *
sf_store_memory_open (const char *argument, sf_error_t *error)
{
    if (argument && *argument) {
        sf_error_set (error, "STORE", "the memory store takes no argument (got \"%s\")",
                      argument);
        return NULL;
    }
    return &s_open_token;
}

static int
s_accepted (void *state, sf_entry_t **entries, size_t count, sf_error_t *error)
{
    (void) state, (void) entries, (void) count, (void) error;
    return 0;
}

static int
s_finished (void *state, sf_entry_t *entry, sf_error_t *error)
{
    (void) state, (void) entry, (void) error;
    return 0;
}

static int
s_commit (void *state, sf_error_t *error)
{
    (void) state, (void) error;
    return 0;
}

static void
s_destroy (void **state_p)
{
    *state_p = NULL;
}

const sf_store_ops_t sf_store_memory_ops = {
    "memory", s_accepted, s_finished, s_commit, s_destroy
};
