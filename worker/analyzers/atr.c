/*  =========================================================================
    atr - average true range with Wilder smoothing (TA-Lib ATR)

    tr[i] = max (high - low, |high - close[i-1]|, |low - close[i-1]|) from
    index 1. The first atr, at index period, is the mean of tr[1 ..
    period]; then atr = (atr × (period - 1) + tr) / period. Params: period
    (1-100000, default 14); lookback period.

    Incremental (docs/PROTOCOL.md 4.5.3): the state is the previous close
    and the atr (the sum of true ranges while the first is being built).
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"
#include "sf_series.h"

static double
s_true_range (const sf_candles_t *c, size_t i)
{
    double range = c->high [i] - c->low [i];
    double up = fabs (c->high [i] - c->close [i - 1]);
    double down = fabs (c->low [i] - c->close [i - 1]);
    return fmax (range, fmax (up, down));
}

void
sf_indicator_atr (const sf_candles_t *candles, size_t n, double *out)
{
    double sum = 0;
    for (size_t i = 1; i <= n; i++)
        sum += s_true_range (candles, i);
    out [n] = sum / (double) n;
    for (size_t i = n + 1; i < candles->size; i++)
        out [i] = (out [i - 1] * (double) (n - 1) + s_true_range (candles, i)) / (double) n;
}

//  One candle, as sf_indicator_atr does it. State: [previous close, atr
//  or the sum of the first true ranges].
static void
s_step (const sf_stream_t *stream, double *state, uint64_t seen, const sf_candles_t *candles,
        size_t i, double *out)
{
    size_t n = (size_t) stream->args [0];
    double high = candles->high [i], low = candles->low [i], previous = state [0];
    state [0] = candles->close [i];
    if (seen == 0)
        return;
    double range = fmax (high - low, fmax (fabs (high - previous), fabs (low - previous)));
    if (seen < n)
        state [1] += range;
    else
    if (seen == n)
        state [1] = (state [1] + range) / (double) n;
    else
        state [1] = (state [1] * (double) (n - 1) + range) / (double) n;
    out [0] = state [1];
}

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    size_t n = (size_t) period;
    const char *names [] = { "atr" };
    double args [] = { (double) n };
    sf_stream_t stream = { .lookback = n, .outputs = 1, .names = names,
                           .state_size = 2, .args = args, .step = s_step };
    return sf_series_stream (ctx, &stream, last);
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 14, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_atr = {
    .name = "atr", .version = "1", .summary = "average true range, Wilder (period 14)",
    .analyze = s_analyze, .params = s_params
};
