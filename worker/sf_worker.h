/*  =========================================================================
    sf_worker - a worker process's I/O side: talks to the broker, feeds the
    analyzer pool
    ========================================================================= */

#ifndef SF_WORKER_H_INCLUDED
#define SF_WORKER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sheaf.h"

typedef struct {
    const char *broker;         //  Broker backend endpoint (connect)
    const char *name;           //  Worker name; NULL: host-pid
    size_t threads;             //  Analyzer threads
    uint32_t slots;             //  Jobs the broker may send ahead
    int heartbeat_ms;           //  Heartbeat interval
    int liveness;               //  Missed heartbeats before reconnecting
    bool tests;                 //  Serve test-only analyzers
    const char *data_dir;       //  CSV data source directory or NULL
    const char *data_db;        //  PostgreSQL data source (conninfo) or NULL
    size_t data_db_connections; //  PostgreSQL connections fetching at once; 0: threads
    size_t data_cache;          //  Bytes of candles kept in memory; 0: none
    const char **plugins;       //  Plugin files to load (NULL-terminated) or NULL
    int grace_ms;               //  Drain time after SIGTERM; 0: stop at once
} sf_worker_config_t;

//  Defaults: the broker's default backend, one thread per core, 8 slots a
//  thread, 1000 ms heartbeats, liveness 3, 10 s grace, a data cache of
//  SF_CACHE_DEFAULT bytes.
void sf_worker_config_defaults (sf_worker_config_t *config);

typedef struct _sf_worker_t sf_worker_t;

//  Load the plugins, start the pool and connect. SIGINT and SIGTERM reach
//  the worker through a signalfd: the caller blocks them in every thread,
//  before it starts any (sf_worker_block_signals). Returns NULL with error
//  (code PLUGIN when a plugin cannot be loaded, ANALYZER when an
//  analyzer's init failed, BROKER when the endpoint is malformed, SIGNALS
//  when the signalfd cannot be made).
sf_worker_t *sf_worker_new (const sf_worker_config_t *config, sf_error_t *error);

//  Block SIGINT and SIGTERM in the calling thread and the threads it starts
//  later, so that only the worker's signalfd sees them.
void sf_worker_block_signals (void);

//  Serve until SIGINT/SIGTERM, then drain: start no more jobs, return the
//  ones not started to the broker, finish the running ones within the
//  grace period (then cancel and return them), send their results and
//  leave. A second signal, or a grace of 0, leaves at once. Returns 0.
int sf_worker_run (sf_worker_t *self);

void sf_worker_destroy (sf_worker_t **self_p);

#endif
