/*  =========================================================================
    sf_stops - the jobs a worker was told to stop (cancelled, or past their
    deadline at the broker)

    The I/O thread adds ids as STOP messages come and removes them once the
    job is answered; analyzer threads ask, through sf_actx_cancelled, while
    they run. Asking costs one atomic load while nothing is to be stopped.
    ========================================================================= */

#ifndef SF_STOPS_H_INCLUDED
#define SF_STOPS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "sf_uuid.h"

typedef struct _sf_stops_t sf_stops_t;

sf_stops_t *sf_stops_new (void);
void sf_stops_destroy (sf_stops_t **self_p);

void sf_stops_add (sf_stops_t *self, const uint8_t id [SF_UUID_SIZE]);
void sf_stops_remove (sf_stops_t *self, const uint8_t id [SF_UUID_SIZE]);

//  Stop every job, held now or later (the worker gives up on them).
void sf_stops_all (sf_stops_t *self);

//  True when the job id should stop. Safe from any thread.
bool sf_stops_has (sf_stops_t *self, const uint8_t id [SF_UUID_SIZE]);

#endif
