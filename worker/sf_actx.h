/*  =========================================================================
    sf_actx - the context one analyzer call runs in (the analyzer's view is
    in analyzer.h); one per pool thread, reset for every job
    ========================================================================= */

#ifndef SF_ACTX_H_INCLUDED
#define SF_ACTX_H_INCLUDED

#include <jansson.h>
#include "sheaf_analyzer.h"
#include "sf_cache.h"
#include "sf_stops.h"

struct _sf_actx_t {
    sf_cache_t *cache;              //  Market data, shared by the threads (borrowed)
    sf_source_t *source;            //  The data source in cache, or NULL (borrowed)
    sf_cache_t *own_cache;          //  The cache sf_actx_init made, or NULL (owned)
    const sf_analyzer_t *analyzer;  //  The analyzer running (borrowed)
    const msgpack_object *job;      //  Job map (borrowed)
    const msgpack_object *params;   //  Its params map or NULL (borrowed)
    uint32_t attempt;               //  Lease token
    const uint8_t *id;              //  Job id (borrowed) or NULL
    sf_stops_t *stops;              //  Jobs to stop (borrowed) or NULL
    msgpack_sbuffer output;         //  The result being packed
    msgpack_packer packer;          //  Packs into output
    bool failed;                    //  sf_actx_fail was called
    char code [32];                 //  Failure code
    char message [256];             //  Failure message
    json_t *context;                //  Failure context (owned) or NULL
    const char *state;              //  The job's "state" bytes or NULL (borrowed)
    size_t state_size;              //  Their size
    bool wants_state;               //  The job has a "state_key"
    bool has_new_state;             //  sf_actx_set_state was called
    msgpack_sbuffer new_state;      //  The state to return with the result
};

//  Prepare a context for a pool thread whose candles come from source
//  through cache (both borrowed, both may be NULL: no data source).
void sf_actx_init_shared (sf_actx_t *self, sf_cache_t *cache, sf_source_t *source);

//  Prepare a context with a cache of its own (SF_CACHE_DEFAULT bytes):
//  candles come from PostgreSQL when data_db (a libpq conninfo) is given,
//  else from the CSV files in data_dir; either may be NULL.
void sf_actx_init (sf_actx_t *self, const char *data_dir, const char *data_db);
void sf_actx_destroy (sf_actx_t *self);

//  Prepare for a job of analyzer (may be NULL when none serves it); keeps
//  the output buffer's memory.
void sf_actx_reset (sf_actx_t *self, const sf_analyzer_t *analyzer, const msgpack_object *job,
                    uint32_t attempt);

//  Check the job's params against the analyzer's declarations: every
//  param declared, each of its kind and in its range. "previous", which
//  the broker adds to a chained follow-up (the result it follows), is
//  accepted by every analyzer and left to those that read it. Returns 0, or -1
//  after failing the job with BAD_INPUT naming the param and what it must
//  be (context: param, and min/max where they apply).
int sf_actx_check_params (sf_actx_t *self);

//  The job's candles with ts after after_ms (and not after its "to"),
//  from inline candles or the data source (which is asked for those only);
//  "from" and "limit" do not apply (a state fixes where its series
//  continues). Returns 0 with *candles_p (the caller destroys it; it may
//  be empty), or -1 after failing the job as sf_actx_candles does.
int sf_actx_candles_after (sf_actx_t *self, double after_ms, sf_candles_t **candles_p);

//  Pack the failure as an error map {code, message, context}.
void sf_actx_pack_error (sf_actx_t *self, msgpack_packer *pk);

#endif
