/*  =========================================================================
    sf_registry - the workers the broker knows, by routing id

    A worker record holds what the worker told READY (name, analyzers,
    slots), its in-flight jobs, its heartbeat deadline and the DISPATCH body
    being built for it in this loop iteration. The registry owns the
    records.
    ========================================================================= */

#ifndef SF_REGISTRY_H_INCLUDED
#define SF_REGISTRY_H_INCLUDED

#include <stdbool.h>
#include "sf_codec.h"
#include "sf_entry.h"

#define SF_ROUTING_MAX 255      //  Longest ZeroMQ routing id

struct _sf_wrec_t {
    uint8_t identity [SF_ROUTING_MAX];  //  Routing id on the backend
    size_t identity_size;               //  Its length
    char name [SF_NAME_MAX + 1];        //  Name the worker gave
    sf_queue_t **queues;                //  Queues of its analyzers (borrowed)
    char **versions;                    //  Analyzer versions (owned)
    size_t queue_count;                 //  Analyzers it serves
    uint32_t slots;                     //  Most jobs it may hold
    sf_entry_list_t inflight;           //  Jobs it holds
    int64_t expires_us;                 //  Declared dead after this
    int64_t last_seen_us;               //  Last message from it
    uint64_t done;                      //  Results it returned
    sf_batchw_t out;                    //  DISPATCH body being built
    bool flagged;                       //  In the broker's send list
};

typedef struct _sf_registry_t sf_registry_t;

//  Write the hex text of a routing id (at most SF_ROUTING_MAX bytes) to key.
void sf_routing_key (const void *identity, size_t size, char key [2 * SF_ROUTING_MAX + 1]);

sf_registry_t *sf_registry_new (void);

//  Destroy the registry and its records (their in-flight lists must be
//  empty or owned elsewhere; entries are not touched).
void sf_registry_destroy (sf_registry_t **self_p);

//  Record by routing id, or NULL.
sf_wrec_t *sf_registry_find (sf_registry_t *self, const void *identity, size_t size);

//  A new record for routing id with this name and slot count; the registry
//  owns it. The caller adds its analyzers with sf_registry_serve.
sf_wrec_t *sf_registry_add (sf_registry_t *self, const void *identity, size_t size,
                            const char *name, uint32_t slots);

//  Note that worker serves queue at version (copied).
void sf_registry_serve (sf_wrec_t *worker, sf_queue_t *queue, const char *version);

//  Remove and free a record.
void sf_registry_remove (sf_registry_t *self, sf_wrec_t **worker_p);

size_t sf_registry_size (sf_registry_t *self);

//  Iterate over the records; the registry must not change meanwhile.
sf_wrec_t *sf_registry_first (sf_registry_t *self);
sf_wrec_t *sf_registry_next (sf_registry_t *self);

#endif
