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

//  finished, revived, forgotten: nothing to keep
static int
s_entry_noop (void *state, sf_entry_t *entry, sf_error_t *error)
{
    (void) state, (void) entry, (void) error;
    return 0;
}

static int
s_state_saved (void *state, const char *key, const void *blob, size_t size, sf_error_t *error)
{
    (void) state, (void) key, (void) blob, (void) size, (void) error;
    return 0;
}

//  group accepted, launched, answered, forgotten: nothing to keep
static int
s_group_noop (void *state, sf_group_t *group, sf_error_t *error)
{
    (void) state, (void) group, (void) error;
    return 0;
}

static int
s_commit (void *state, sf_ledger_t *ledger, zhashx_t *states, zlistx_t *groups,
          sf_error_t *error)
{
    (void) state, (void) ledger, (void) states, (void) groups, (void) error;
    return 0;
}

static int
s_recover (void *state, const sf_store_recovery_t *recovery, sf_error_t *error)
{
    (void) state, (void) recovery, (void) error;
    return 0;
}

static void
s_destroy (void **state_p)
{
    *state_p = NULL;
}

const sf_store_ops_t sf_store_memory_ops = {
    "memory", s_accepted, s_entry_noop, s_entry_noop, s_entry_noop, s_state_saved,
    s_group_noop, s_group_noop, s_group_noop, s_group_noop, s_commit, s_recover, s_destroy
};
