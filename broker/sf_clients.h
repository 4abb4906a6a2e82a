/*  =========================================================================
    sf_clients - the clients with work in the broker, by routing id

    A client record exists while something refers to it: each unfinished
    job it submitted, each job it waits on, and a pending outgoing batch
    each hold one reference. The record also builds the RESULT body for
    its client during one loop iteration.
    ========================================================================= */

#ifndef SF_CLIENTS_H_INCLUDED
#define SF_CLIENTS_H_INCLUDED

#include <stdbool.h>
#include "sf_codec.h"
#include "sf_entry.h"
#include "sf_registry.h"

struct _sf_crec_t {
    uint8_t identity [SF_ROUTING_MAX];  //  Routing id on the frontend
    size_t identity_size;               //  Its length
    size_t refs;                        //  References held
    sf_batchw_t out;                    //  RESULT body being built
    bool flagged;                       //  In the broker's send list
};

typedef struct _sf_clients_t sf_clients_t;

sf_clients_t *sf_clients_new (void);
void sf_clients_destroy (sf_clients_t **self_p);

//  The record for routing id, created if needed, with one more reference
//  held by the caller. Returns NULL if the id is empty or too long.
sf_crec_t *sf_clients_hold (sf_clients_t *self, const void *identity, size_t size);

//  Take one more reference to a record.
void sf_clients_ref (sf_crec_t *client);

//  Drop a reference; the record is freed with the last one. Nulls *client_p.
void sf_clients_release (sf_clients_t *self, sf_crec_t **client_p);

//  True when record is the client with this routing id.
bool sf_clients_is (const sf_crec_t *client, const void *identity, size_t size);

size_t sf_clients_size (sf_clients_t *self);

#endif
