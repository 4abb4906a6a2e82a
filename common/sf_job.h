/*  =========================================================================
    sf_job - internal view of a job: its msgpack encoding (the job map that
    goes on the wire). The public API is in sheaf.h.
    ========================================================================= */

#ifndef SF_JOB_H_INCLUDED
#define SF_JOB_H_INCLUDED

#include <msgpack.h>
#include "sheaf.h"

//  Pack the job map into pk.
void sf_job_pack (sf_job_t *self, msgpack_packer *pk);

//  The job's idempotency key (borrowed), or NULL when it has none.
const char *sf_job_key (const sf_job_t *self);

#endif
