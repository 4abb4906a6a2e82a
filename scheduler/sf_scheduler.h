/*  =========================================================================
    sf_scheduler - the scheduler's loop: leadership, firing due entries as
    jobs, following their outcomes, reloading the schedule on SIGHUP
    ========================================================================= */

#ifndef SF_SCHEDULER_H_INCLUDED
#define SF_SCHEDULER_H_INCLUDED

#include "sheaf.h"
#include "sf_schedule.h"

typedef struct {
    const char *schedule;       //  Path of the schedule file
    const char *state;          //  State directory (checkpoint, leader lock)
    const char *broker;         //  Broker frontend, NULL for the default
    int submit_timeout_ms;      //  How long a submit waits for the broker
} sf_scheduler_config_t;

typedef struct _sf_scheduler_t sf_scheduler_t;

//  Load the schedule and open the state directory. Returns the scheduler,
//  or NULL with error: code SCHEDULE (the file has mistakes; the message
//  holds the first, every one is logged), STATE (the state directory) or
//  BROKER (a malformed endpoint).
sf_scheduler_t *sf_scheduler_new (const sf_scheduler_config_t *config, sf_error_t *error);

void sf_scheduler_destroy (sf_scheduler_t **self_p);

//  Wait to be the leader, then fire entries until SIGINT or SIGTERM.
//  Returns 0, or -1 when the leader lock or the checkpoint cannot be read
//  (writes that fail are retried with backoff while firings go on).
int sf_scheduler_run (sf_scheduler_t *self);

#endif
