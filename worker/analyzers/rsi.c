/*  =========================================================================
    rsi - relative strength index with Wilder smoothing (TA-Lib RSI)

    Changes d_i = close[i] - close[i-1]. The first averages of gains and
    losses are the plain means over d_1 .. d_period, placed at index
    period; after that avg = (avg * (period - 1) + x) / period. rsi =
    100 * gain / (gain + loss), 0 when gain + loss < 1e-14. Params: period
    (2-100000, default 14); lookback period.
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

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period, &candles))
        return -1;
    size_t n = (size_t) period;
    double *rsi = sf_series_alloc (candles->size);
    sf_indicator_rsi (candles->close, candles->size, n, rsi);
    const char *names [] = { "rsi" };
    const double *outputs [] = { rsi };
    sf_series_pack (ctx, candles, n, last, names, outputs, 1);
    free (rsi);
    sf_candles_destroy (&candles);
    return 0;
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
