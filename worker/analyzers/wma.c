/*  =========================================================================
    wma - weighted moving average of closes (TA-Lib WMA)

    Weights 1 .. period, the newest heaviest, divided by period (period + 1)
    / 2. Params: period (2-100000, default 20); lookback period - 1.
    ========================================================================= */

#include <stdlib.h>
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period - 1, &candles))
        return -1;
    size_t n = (size_t) period;
    double *wma = sf_series_alloc (candles->size);
    double divisor = (double) n * ((double) n + 1) / 2;
    for (size_t i = n - 1; i < candles->size; i++) {
        double sum = 0;
        for (size_t w = 1; w <= n; w++)
            sum += (double) w * candles->close [i + w - n];
        wma [i] = sum / divisor;
    }
    const char *names [] = { "wma" };
    const double *outputs [] = { wma };
    sf_series_pack (ctx, candles, n - 1, last, names, outputs, 1);
    free (wma);
    sf_candles_destroy (&candles);
    return 0;
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
