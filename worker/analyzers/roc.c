/*  =========================================================================
    roc - rate of change in percent (TA-Lib ROC)

    roc = 100 × (close / close[-period] - 1); 0 when close[-period] is 0.
    Params: period (1-100000, default 10); lookback period.
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
    double *roc = sf_series_alloc (candles->size);
    for (size_t i = n; i < candles->size; i++) {
        double before = candles->close [i - n];
        roc [i] = before == 0? 0.0: 100.0 * (candles->close [i] / before - 1.0);
    }
    const char *names [] = { "roc" };
    const double *outputs [] = { roc };
    sf_series_pack (ctx, candles, n, last, names, outputs, 1);
    free (roc);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    { "period", SF_PARAM_INT, 10, 1, 100000, NULL, "window length in candles" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_roc = {
    .name = "roc", .version = "1", .summary = "rate of change in percent (period 10)",
    .analyze = s_analyze, .params = s_params
};
