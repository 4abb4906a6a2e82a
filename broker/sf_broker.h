/*  =========================================================================
    sf_broker - the broker: takes jobs from clients, hands them to workers,
    routes results back
    ========================================================================= */

#ifndef SF_BROKER_H_INCLUDED
#define SF_BROKER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sheaf.h"

typedef struct {
    const char *frontend;       //  Clients' endpoint (bind)
    const char *backend;        //  Workers' endpoint (bind)
    const char *store;          //  Store URI ("memory")
    int heartbeat_ms;           //  Heartbeat interval, both directions
    int liveness;               //  Missed heartbeats before a worker is dead
    size_t result_max;          //  Finished results kept for fetching
    int64_t result_ttl_ms;      //  How long a finished result is kept
    size_t max_analyzers;       //  Distinct analyzer queues allowed
    int64_t backoff_max_ms;     //  Longest delay before a retry
    uint32_t max_losses;        //  Worker deaths a job may witness before it is dead
    size_t max_jobs;            //  Unfinished jobs held, in all queues
    size_t max_queued;          //  Unfinished jobs held for one analyzer
    size_t max_bytes;           //  Bytes of unfinished jobs held
    size_t dead_max;            //  Dead letters kept
} sf_broker_config_t;

//  Defaults of every setting (endpoints from sheaf.h).
void sf_broker_config_defaults (sf_broker_config_t *config);

typedef struct _sf_broker_t sf_broker_t;

//  Bind both endpoints and open the store. Returns NULL with error: code
//  FRONTEND or BACKEND when an endpoint cannot be bound, STORE when the
//  store cannot open. The config's strings must outlive the broker.
sf_broker_t *sf_broker_new (const sf_broker_config_t *config, sf_error_t *error);

//  Serve until SIGINT/SIGTERM. Returns 0.
int sf_broker_run (sf_broker_t *self);

void sf_broker_destroy (sf_broker_t **self_p);

#endif
