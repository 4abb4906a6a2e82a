/*  =========================================================================
    sf_store_memory - the memory store: the broker's memory is the only copy

    Nothing survives a broker restart. It is the right store for tests,
    benchmarks and fleets whose jobs can be resubmitted. Every operation
    succeeds at once, so a broker on it never degrades.
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

//  accepted, finished, revived, forgotten: nothing to keep
static int
s_job_noop (void *backend, const sf_store_job_t *job, sf_error_t *error)
{
    (void) backend, (void) job, (void) error;
    return 0;
}

static int
s_state_saved (void *backend, const sf_store_state_t *state, sf_error_t *error)
{
    (void) backend, (void) state, (void) error;
    return 0;
}

//  group accepted, launched, answered, forgotten: nothing to keep
static int
s_group_noop (void *backend, const sf_store_group_t *group, sf_error_t *error)
{
    (void) backend, (void) group, (void) error;
    return 0;
}

static int
s_commit (void *backend, const sf_store_live_t *live, sf_error_t *error)
{
    (void) backend, (void) live, (void) error;
    return 0;
}

static int
s_recover (void *backend, const sf_store_recovery_t *recovery, sf_error_t *error)
{
    (void) backend, (void) recovery, (void) error;
    return 0;
}

static void
s_destroy (void **backend_p)
{
    *backend_p = NULL;
}

const sf_store_ops_t sf_store_memory_ops = {
    "memory", s_job_noop, s_job_noop, s_job_noop, s_job_noop, s_state_saved,
    s_group_noop, s_group_noop, s_group_noop, s_group_noop, s_commit, s_recover, s_destroy
};
