/*  =========================================================================
    echo - returns its params unchanged (a test analyzer for the fleet
    itself: throughput, routing, benchmarks)
    ========================================================================= */

#include "sheaf_analyzer.h"

static int
s_analyze (sf_actx_t *ctx)
{
    const msgpack_object *params = sf_actx_params (ctx);
    if (params)
        msgpack_pack_object (sf_actx_output (ctx), *params);
    else
        msgpack_pack_map (sf_actx_output (ctx), 0);
    return 0;
}

const sf_analyzer_t sf_analyzer_echo = {
    .name = "echo", .version = "1", .summary = "returns its params",
    .analyze = s_analyze
};
