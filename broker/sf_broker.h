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

//  The largest --max-job-bytes and --max-result-bytes: well under the
//  journal's record limit (SF_JOURNAL_MAX_PAYLOAD, 256 MiB), so that what
//  the broker accepts it can also record, and under 4 GiB, so that every
//  size the broker keeps fits its 32-bit fields.
#define SF_BROKER_ITEM_MAX (128 * 1024 * 1024)

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
    size_t max_job_bytes;       //  Bytes of one job's encoding
    size_t max_result_bytes;    //  Bytes of one result's payload
    size_t result_max_bytes;    //  Bytes of finished results kept for fetching
    size_t peer_max_bytes;      //  Bytes of copies a peer may ask for per second
    size_t dead_max;            //  Dead letters kept
} sf_broker_config_t;

//  Defaults of every setting (endpoints from sheaf.h).
void sf_broker_config_defaults (sf_broker_config_t *config);

typedef struct _sf_broker_t sf_broker_t;

//  Bind both endpoints and open the store. Returns NULL with error: code
//  FRONTEND or BACKEND when an endpoint cannot be bound, STORE when the
//  store cannot open, LOOP when the event loop cannot take a socket or a
//  timer. The config's strings must outlive the broker; max_job_bytes and
//  max_result_bytes must not pass SF_BROKER_ITEM_MAX.
sf_broker_t *sf_broker_new (const sf_broker_config_t *config, sf_error_t *error);

//  Serve until SIGINT/SIGTERM. Returns 0.
int sf_broker_run (sf_broker_t *self);

void sf_broker_destroy (sf_broker_t **self_p);

#endif
