/*  =========================================================================
    sf_supervisor - keeps N worker processes running: starts them, restarts
    one that dies (with backoff), reports its death to the broker, and
    stops them all on SIGTERM
    ========================================================================= */

#ifndef SF_SUPERVISOR_H_INCLUDED
#define SF_SUPERVISOR_H_INCLUDED

#include <stddef.h>
#include "sheaf.h"

typedef struct {
    size_t processes;           //  Worker processes to keep running (1-1024)
    const char *name;           //  Base name (child i is NAME-i); NULL: host-pid
    const char *broker;         //  Broker backend endpoint, for LOST reports
    int grace_ms;               //  The workers' drain time after SIGTERM
    char *const *argv;          //  The supervisor's own command line, which
                                //  every child runs again with
                                //  "--processes 1 --name NAME-i" appended
} sf_supervisor_config_t;

typedef struct _sf_supervisor_t sf_supervisor_t;

//  A supervisor; starts nothing yet. SIGINT, SIGTERM and SIGCHLD reach it
//  through a signalfd: the caller blocks them in every thread before it
//  starts any (sf_supervisor_block_signals). Returns NULL with error.
sf_supervisor_t *sf_supervisor_new (const sf_supervisor_config_t *config, sf_error_t *error);

//  Block SIGINT, SIGTERM and SIGCHLD in the calling thread and the threads
//  it starts later.
void sf_supervisor_block_signals (void);

//  Start the children and keep them running until SIGINT/SIGTERM; then
//  forward SIGTERM to every child, wait for them (at most the grace period
//  and 5 s more, then SIGKILL) and return 0. A child that fails at start-up
//  5 times in a row (exit status 2-6 or 127 within 10 s of its start)
//  makes the supervisor stop the others and return that status.
int sf_supervisor_run (sf_supervisor_t *self);

void sf_supervisor_destroy (sf_supervisor_t **self_p);

#endif
