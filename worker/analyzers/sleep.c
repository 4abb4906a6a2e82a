/*  =========================================================================
    sleep - waits params.ms milliseconds (0-3600000), then returns
    {"slept_ms": ms}; stands in for a slow analysis in tests
    ========================================================================= */

#include <time.h>
#include "sheaf_analyzer.h"

static int
s_analyze (sf_actx_t *ctx)
{
    const msgpack_object *ms = sf_actx_param (ctx, "ms");
    if (!ms || ms->type != MSGPACK_OBJECT_POSITIVE_INTEGER || ms->via.u64 > 3600000) {
        sf_actx_context_str (ctx, "param", "ms");
        return sf_actx_fail (ctx, "BAD_INPUT", "param \"ms\" must be an integer 0-3600000");
    }
    //  Sleep in slices so that a shutdown is noticed within 10 ms
    uint64_t left = ms->via.u64;
    while (left > 0) {
        if (sf_actx_cancelled (ctx))
            return sf_actx_fail (ctx, "CANCELLED", "cancelled after %llu of %llu ms",
                                 (unsigned long long) (ms->via.u64 - left),
                                 (unsigned long long) ms->via.u64);
        uint64_t slice = left < 10? left: 10;
        struct timespec pause = { 0, (long) slice * 1000000 };
        nanosleep (&pause, NULL);
        left -= slice;
    }
    msgpack_packer *out = sf_actx_output (ctx);
    msgpack_pack_map (out, 1);
    msgpack_pack_str (out, 8);
    msgpack_pack_str_body (out, "slept_ms", 8);
    msgpack_pack_uint64 (out, ms->via.u64);
    return 0;
}

const sf_analyzer_t sf_analyzer_sleep = {
    .name = "sleep", .version = "1", .summary = "waits params.ms milliseconds",
    .analyze = s_analyze
};
