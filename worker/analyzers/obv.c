/*  =========================================================================
    obv - on-balance volume (TA-Lib OBV)

    obv[0] = volume[0]; then + volume when the close rose, - volume when it
    fell, unchanged when equal. No params; lookback 0.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close
    and the obv.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

//  One candle. State: [previous close, obv].
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    (void) stream;
    double close = candles->close [i], volume = candles->volume [i];
    if (seen == 0)
        state [1] = volume;
    else
        state [1] = state [1] + (close > state [0]? volume: close < state [0]? -volume: 0.0);
    state [0] = close;
    out [0] = state [1];
}

static int
s_analyze (sf_actx_t *ctx)
{
    bool last = sf_actx_choice (ctx, "output") == 1;
    const char *names [] = { "obv" };
    sf_stream_t stream = { .lookback = 0, .outputs = 1, .names = names,
                           .state_size = 2, .args = NULL, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_obv = {
    .name = "obv", .version = "1", .summary = "on-balance volume",
    .analyze = s_analyze, .params = s_params
};
