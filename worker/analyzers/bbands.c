/*  =========================================================================
    bbands - Bollinger bands (TA-Lib BBANDS with SMA)

    middle = SMA(period) of closes; upper/lower = middle ± multiplier ×
    population standard deviation of the same closes, from a sliding
    window (sf_window_push), O(1) a candle. Params: period (2-100000,
    default 20), multiplier (0-100, default 2.0); lookback period - 1.
    Outputs upper, middle, lower.
    ========================================================================= */

#include <math.h>
#include <stdlib.h>
#include "indicators.h"
#include "sf_series.h"

static int
s_analyze (sf_actx_t *ctx)
{
    int period = sf_actx_int (ctx, "period");
    double multiplier = sf_actx_real (ctx, "multiplier");
    bool last = sf_actx_choice (ctx, "output") == 1;
    sf_candles_t *candles;
    if (sf_series_candles (ctx, (size_t) period - 1, &candles))
        return -1;
    size_t n = (size_t) period;
    double *upper = sf_series_alloc (candles->size);
    double *middle = sf_series_alloc (candles->size);
    double *lower = sf_series_alloc (candles->size);
    sf_indicator_sma (candles->close, candles->size, n, middle);
    double *window = sf_series_alloc (SF_WINDOW_SIZE (n));
    for (size_t i = 0; i < candles->size; i++) {
        sf_window_push (window, n, i, candles->close [i]);
        if (i + 1 < n)
            continue;
        double band = multiplier * sqrt (sf_window_variance (window, n, 0));
        upper [i] = middle [i] + band;
        lower [i] = middle [i] - band;
    }
    free (window);
    const char *names [] = { "upper", "middle", "lower" };
    const double *outputs [] = { upper, middle, lower };
    sf_series_pack (ctx, candles, n - 1, last, names, outputs, 3);
    free (upper);
    free (middle);
    free (lower);
    sf_candles_destroy (&candles);
    return 0;
}

static const sf_param_t s_params [] = {
    SF_PARAM_PERIOD (20),
    { "multiplier", SF_PARAM_REAL, 2.0, 0, 100, NULL, "band width in standard deviations" },
    SF_PARAM_OUTPUT,
    { NULL }
};

const sf_analyzer_t sf_analyzer_bbands = {
    .name = "bbands", .version = "2", .summary = "Bollinger bands (period 20, multiplier 2)",
    .analyze = s_analyze, .params = s_params
};
