/*  =========================================================================
    sf_actx - the context one analyzer call runs in (the analyzer's view is
    in analyzer.h); one per pool thread, reset for every job
    ========================================================================= */

#ifndef SF_ACTX_H_INCLUDED
#define SF_ACTX_H_INCLUDED

#include <jansson.h>
#include "sheaf_analyzer.h"

struct _sf_actx_t {
    const char *data_dir;           //  CSV data source or NULL (borrowed)
    const msgpack_object *job;      //  Job map (borrowed)
    const msgpack_object *params;   //  Its params map or NULL (borrowed)
    uint32_t attempt;               //  Lease token
    msgpack_sbuffer output;         //  The result being packed
    msgpack_packer packer;          //  Packs into output
    bool failed;                    //  sf_actx_fail was called
    char code [32];                 //  Failure code
    char message [256];             //  Failure message
    json_t *context;                //  Failure context (owned) or NULL
};

//  Prepare a context for a pool thread; data_dir (may be NULL) must
//  outlive it.
void sf_actx_init (sf_actx_t *self, const char *data_dir);
void sf_actx_destroy (sf_actx_t *self);

//  Prepare for a job; keeps the output buffer's memory.
void sf_actx_reset (sf_actx_t *self, const msgpack_object *job, uint32_t attempt);

//  Pack the failure as an error map {code, message, context}.
void sf_actx_pack_error (sf_actx_t *self, msgpack_packer *pk);

#endif
