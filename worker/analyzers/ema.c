/*  =========================================================================
    ema - exponential moving average of closes (TA-Lib EMA)

    alpha = 2 / (period + 1); the first value, at index period - 1, is the
    SMA of the first `period` closes; then ema = alpha * close + (1 - alpha)
    * ema. Params: period (2-100000, default 20); lookback period - 1.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the ema and the sum
    of the first closes while the seed is being built.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

//  One close. State: [ema, sum of the first n closes].
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    size_t n = (size_t) stream->args [0];
    double alpha = 2.0 / ((double) n + 1.0), close = candles->close [i];
    if (seen < n) {
        state [1] += close;
        if (seen == n - 1)
            state [0] = state [1] / (double) n;
    }
    else
        state [0] = alpha * close + (1.0 - alpha) * state [0];
    out [0] = state [0];
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t n = (size_t) period;
    const char *names [] = { "ema" };
    double args [] = { (double) n };
    sf_stream_t stream = { .lookback = n - 1, .outputs = 1, .names = names,
                           .state_size = 2, .args = args, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_ema = {
    .name = "ema", .version = "1", .summary = "exponential moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
