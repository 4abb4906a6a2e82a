/*  =========================================================================
    cci - commodity channel index (TA-Lib CCI)

    typical = (high + low + close) / 3; cci = (typical - SMA(typical)) /
    (0.015 × mean |typical - SMA(typical)|) over the same `period`
    candles; 0 when that mean deviation is 0. Params: period (2-100000,
    default 20); lookback period - 1.
    ========================================================================= */

#include <math.h>
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
    double *typical = sf_series_alloc (candles->size);
    double *cci = sf_series_alloc (candles->size);
    for (size_t i = 0; i < candles->size; i++)
        typical [i] = (candles->high [i] + candles->low [i] + candles->close [i]) / 3.0;
    for (size_t i = n - 1; i < candles->size; i++) {
        double mean = 0;
        for (size_t j = i + 1 - n; j <= i; j++)
            mean += typical [j];
        mean /= (double) n;
        double deviation = 0;
        for (size_t j = i + 1 - n; j <= i; j++)
            deviation += fabs (typical [j] - mean);
        deviation /= (double) n;
        cci [i] = deviation == 0? 0.0: (typical [i] - mean) / (0.015 * deviation);
    }
    const char *names [] = { "cci" };
    const double *outputs [] = { cci };
    sf_series_pack (ctx, candles, n - 1, last, names, outputs, 1);
    free (typical);
    free (cci);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_cci = {
    .name = "cci", .version = "1", .summary = "commodity channel index (period 20)",
    .analyze = s_analyze, .params = s_params
};
