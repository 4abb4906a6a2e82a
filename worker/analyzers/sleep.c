/*  =========================================================================
    sleep - waits params.ms milliseconds (0-3600000, default 0), then
    returns {"slept_ms": ms}; stands in for a slow analysis in tests
    ========================================================================= */

#include <time.h>
#include "sheaf_analyzer.h"

static int
s_analyze (sf_actx_t *ctx)
{
    uint64_t total = (uint64_t) sf_actx_int (ctx, "ms");
    //  Sleep in slices so that a shutdown is noticed within 10 ms
    uint64_t left = total;
    while (left > 0) {
        if (sf_actx_cancelled (ctx))
            return sf_actx_fail (ctx, "CANCELLED", "cancelled after %llu of %llu ms",
                                 (unsigned long long) (total - left),
                                 (unsigned long long) total);
        uint64_t slice = left < 10? left: 10;
        struct timespec pause = { 0, (long) slice * 1000000 };
        nanosleep (&pause, NULL);
        left -= slice;
    }
    msgpack_packer *out = sf_actx_output (ctx);
    msgpack_pack_map (out, 1);
    msgpack_pack_str (out, 8);
    msgpack_pack_str_body (out, "slept_ms", 8);
    msgpack_pack_uint64 (out, total);
    return 0;
}

static const sf_param_t s_params [] = {
    { "ms", SF_PARAM_INT, 0, 0, 3600000, NULL, "how long to wait, in milliseconds" },
    { NULL }
};

const sf_analyzer_t sf_analyzer_sleep = {
    .name = "sleep", .version = "1", .summary = "waits params.ms milliseconds",
    .analyze = s_analyze, .params = s_params
};
