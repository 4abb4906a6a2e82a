/*  =========================================================================
    wma - weighted moving average of closes (TA-Lib WMA)

    Weights 1 .. period, the newest heaviest, divided by period (period + 1)
    / 2. Params: period (2-100000, default 20); lookback period - 1.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the last `period`
    closes, in a ring indexed by candle number; each value is the weighted
    sum over the ring, O(period) a candle as before.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

//  One close. State: the ring of the last n closes.
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    size_t n = (size_t) stream->args [0];
    state [seen % n] = candles->close [i];
    if (seen + 1 < n)
        return;
    //  Oldest first: the ring from the slot after this one, then from 0
    size_t oldest = (size_t) ((seen + 1) % n), w = 1;
    double sum = 0;
    for (size_t j = oldest; j < n; j++)
        sum += (double) w++ * state [j];
    for (size_t j = 0; j < oldest; j++)
        sum += (double) w++ * state [j];
    out [0] = sum / ((double) n * ((double) n + 1) / 2);
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t n = (size_t) period;
    const char *names [] = { "wma" };
    double args [] = { (double) n };
    sf_stream_t stream = { .lookback = n - 1, .outputs = 1, .names = names,
                           .state_size = n, .args = args, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_wma = {
    .name = "wma", .version = "1", .summary = "weighted moving average (period 20)",
    .analyze = s_analyze, .params = s_params
};
