/*  =========================================================================
    mfi - money flow index (TA-Lib MFI)

    typical = (high + low + close) / 3, flow = typical × volume, positive
    when typical rose from the candle before, negative when it fell,
    neither when equal; mfi = 100 × Σpos / (Σpos + Σneg) over the last
    `period` changes, 0 when the sum is below 1. Params: period (1-100000,
    default 14); lookback period.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period, &candles))
        return -1;
    size_t n = (size_t) period;
    size_t size = candles->size;
    double *typical = sf_series_alloc (size);
    double *mfi = sf_series_alloc (size);
    for (size_t i = 0; i < size; i++)
        typical [i] = (candles->high [i] + candles->low [i] + candles->close [i]) / 3.0;
    for (size_t i = n; i < size; i++) {
        double positive = 0, negative = 0;
        for (size_t j = i + 1 - n; j <= i; j++) {
            double flow = typical [j] * candles->volume [j];
            if (typical [j] > typical [j - 1])
                positive += flow;
            else
            if (typical [j] < typical [j - 1])
                negative += flow;
        }
        mfi [i] = positive + negative < 1.0? 0.0: 100.0 * positive / (positive + negative);
    }
    const char *names [] = { "mfi" };
    const double *outputs [] = { mfi };
    sf_series_pack (ctx, candles, n, last, names, outputs, 1);
    free (typical);
    free (mfi);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 14, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_mfi = {
    .name = "mfi", .version = "1", .summary = "money flow index (period 14)",
    .analyze = s_analyze, .params = s_params
};
