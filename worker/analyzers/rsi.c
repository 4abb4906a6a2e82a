/*  =========================================================================
    rsi - relative strength index with Wilder smoothing (TA-Lib RSI)

    Changes d_i = close[i] - close[i-1]. The first averages of gains and
    losses are the plain means over d_1 .. d_period, placed at index
    period; after that avg = (avg * (period - 1) + x) / period. rsi =
    100 * gain / (gain + loss), 0 when gain + loss < 1e-14. Params: period
    (2-100000, default 14); lookback period.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close
    and the two averages (sums while the first ones are being built).
    ========================================================================= */

#include <stdlib.h>
#include "indicators.h"
#include "sf_series.h"

static double
s_rsi (double gain, double loss)
{
    return gain + loss < 1e-14? 0.0: 100.0 * gain / (gain + loss);
}

void
sf_indicator_rsi (const double *close, size_t size, size_t n, double *out)
{
    double gain = 0, loss = 0;
    for (size_t i = 1; i <= n; i++) {
        double change = close [i] - close [i - 1];
        if (change > 0)
            gain += change;
        else
            loss -= change;
    }
    gain /= (double) n;
    loss /= (double) n;
    out [n] = s_rsi (gain, loss);
    for (size_t i = n + 1; i < size; i++) {
        double change = close [i] - close [i - 1];
        gain = (gain * (double) (n - 1) + (change > 0? change: 0)) / (double) n;
        loss = (loss * (double) (n - 1) + (change < 0? -change: 0)) / (double) n;
        out [i] = s_rsi (gain, loss);
    }
}

//  One close, as sf_indicator_rsi does it. State: [previous close, gain,
//  loss].
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    size_t n = (size_t) stream->args [0];
    double close = candles->close [i], change = close - state [0];
    state [0] = close;
    if (seen == 0)
        return;
    if (seen <= n) {
        if (change > 0)
            state [1] += change;
        else
            state [2] -= change;
        if (seen == n) {
            state [1] /= (double) n;
            state [2] /= (double) n;
        }
    }
    else {
        state [1] = (state [1] * (double) (n - 1) + (change > 0? change: 0)) / (double) n;
        state [2] = (state [2] * (double) (n - 1) + (change < 0? -change: 0)) / (double) n;
    }
    out [0] = s_rsi (state [1], state [2]);
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t n = (size_t) period;
    const char *names [] = { "rsi" };
    double args [] = { (double) n };
    sf_stream_t stream = { .lookback = n, .outputs = 1, .names = names,
                           .state_size = 3, .args = args, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_rsi = {
    .name = "rsi", .version = "1", .summary = "relative strength index, Wilder (period 14)",
    .analyze = s_analyze, .params = s_params
};
