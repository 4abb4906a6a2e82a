/*  =========================================================================
    willr - Williams %R (TA-Lib WILLR)

    -100 × (highest high - close) / (highest high - lowest low) over the
    last `period` candles; 0 when the range is empty. Params: period
    (2-100000, default 14); lookback period - 1.
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
    double *willr = sf_series_alloc (candles->size);
    for (size_t i = n - 1; i < candles->size; i++) {
        double highest = candles->high [i], lowest = candles->low [i];
        for (size_t j = i + 1 - n; j < i; j++) {
            highest = candles->high [j] > highest? candles->high [j]: highest;
            lowest = candles->low [j] < lowest? candles->low [j]: lowest;
        }
        willr [i] = highest == lowest? 0.0
                  : -100.0 * (highest - candles->close [i]) / (highest - lowest);
    }
    const char *names [] = { "willr" };
    const double *outputs [] = { willr };
    sf_series_pack (ctx, candles, n - 1, last, names, outputs, 1);
    free (willr);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (14),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_willr = {
    .name = "willr", .version = "1", .summary = "Williams %R (period 14)",
    .analyze = s_analyze, .params = s_params
};
