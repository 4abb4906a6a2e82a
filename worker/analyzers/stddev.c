/*  =========================================================================
    stddev - population standard deviation of closes (TA-Lib STDDEV, nbDev 1)

    Over the last `period` closes, divided by n, computed in two passes
    (more exact than running sums on long series at high prices); 0 when
    the variance is below 1e-14. Params: period (2-100000, default 20);
    lookback period - 1.
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
    double *stddev = sf_series_alloc (candles->size);
    for (size_t i = n - 1; i < candles->size; i++)
        stddev [i] = sf_series_stddev (candles->close, i, n);
    const char *names [] = { "stddev" };
    const double *outputs [] = { stddev };
    sf_series_pack (ctx, candles, n - 1, last, names, outputs, 1);
    free (stddev);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_stddev = {
    .name = "stddev", .version = "1", .summary = "population standard deviation (period 20)",
    .analyze = s_analyze, .params = s_params
};
