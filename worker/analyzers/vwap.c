/*  =========================================================================
    vwap - cumulative volume-weighted average price

    vwap = Σ (typical × volume) / Σ volume over every candle since the
    first, typical = (high + low + close) / 3, no session reset. While no
    volume has traded yet it is the typical price. No params; lookback 0.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the two sums.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

//  One candle. State: [Σ typical × volume, Σ volume].
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    (void) stream, (void) seen;
    double typical = (candles->high [i] + candles->low [i] + candles->close [i]) / 3.0;
    state [0] += typical * candles->volume [i];
    state [1] += candles->volume [i];
    out [0] = state [1] > 0? state [0] / state [1]: typical;
}

static int
s_analyze (sf_actx_t *ctx)
{
    bool last = sf_actx_choice (ctx, "output") == 1;
    const char *names [] = { "vwap" };
    sf_stream_t stream = { .lookback = 0, .outputs = 1, .names = names,
                           .state_size = 2, .args = NULL, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_vwap = {
    .name = "vwap", .version = "1", .summary = "cumulative volume-weighted average price",
    .analyze = s_analyze, .params = s_params
};
